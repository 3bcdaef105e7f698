/* cmd-status.c - soarlist status [--json]: per club, the last successful
 * sync and its age, the last error, and list and member counts. */
#include <cjson/cJSON.h>
#include <stdio.h>

#include "cli.h"
#include "soarlist/status.h"

static gboolean opt_json;

static const GOptionEntry entries[] = {
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
	G_OPTION_ENTRY_NULL,
};

static cJSON *
to_json(const struct club_status *s, gint64 now)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "club", s->club->slug);
	if (s->last_success > 0) {
		cJSON_AddNumberToObject(o, "last_success", (double)s->last_success);
		cJSON_AddNumberToObject(o, "age_seconds",
					(double)(now - s->last_success));
	} else {
		cJSON_AddNullToObject(o, "last_success");
		cJSON_AddNullToObject(o, "age_seconds");
	}
	if (s->last_error != NULL)
		cJSON_AddStringToObject(o, "last_error", s->last_error);
	else
		cJSON_AddNullToObject(o, "last_error");
	cJSON_AddNumberToObject(o, "lists", s->lists);
	cJSON_AddNumberToObject(o, "members", s->members);
	return o;
}

static void
print_line(const struct club_status *s, gint64 now)
{
	char when[32] = "never", age[32] = "-";

	if (s->last_success > 0) {
		GDateTime *t = g_date_time_new_from_unix_local(s->last_success);
		char *f = g_date_time_format(t, "%Y-%m-%d %H:%M:%S");
		g_snprintf(when, sizeof(when), "%s", f);
		g_free(f);
		g_date_time_unref(t);
		g_snprintf(age, sizeof(age), "%" G_GINT64_FORMAT "s",
			   now - s->last_success);
	}
	printf("%-16s %-19s %8s %5u %7u  %s\n", s->club->slug, when, age,
	       s->lists, s->members, s->last_error ? s->last_error : "-");
}

int
cmd_status(struct cli *cli, int argc, char **argv)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	GError *err = NULL;
	GPtrArray *all;
	int rc = cli_parse(cli, entries, 0, 0, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0)
		return rc;
	all = status_collect(cli->db, cli->cfg, &err);
	if (all == NULL) {
		cli_error("%s", err->message);
		g_error_free(err);
		return CLI_FAIL;
	}
	if (opt_json) {
		cJSON *arr = cJSON_CreateArray();
		char *out;
		for (guint i = 0; i < all->len; i++)
			cJSON_AddItemToArray(arr, to_json(g_ptr_array_index(all, i),
							  now));
		out = cJSON_Print(arr);
		printf("%s\n", out);
		cJSON_free(out);
		cJSON_Delete(arr);
	} else {
		printf("%-16s %-19s %8s %5s %7s  %s\n", "CLUB", "LAST SUCCESS",
		       "AGE", "LISTS", "MEMBERS", "LAST ERROR");
		for (guint i = 0; i < all->len; i++)
			print_line(g_ptr_array_index(all, i), now);
	}
	g_ptr_array_unref(all);
	return CLI_OK;
}
