/* cmd-status.c - soarlist status [--json]: per club, the last successful
 * sync and its age, the last error, list and member counts, and the lists
 * M2S names that have no address here; then the suspended clubs, and those
 * removed from the config whose data is kept. Exit 0; 1 when the database
 * failed; 64 on a usage error; 75 when the database is busy. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "soarlist/status.h"

static gboolean opt_json;

static const GOptionEntry entries[] = {
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
	G_OPTION_ENTRY_NULL,
};

static cJSON *
unusable_json(const GPtrArray *unusable)
{
	cJSON *arr = cJSON_CreateArray();

	for (guint i = 0; i < unusable->len; i++) {
		const struct api_unusable *u = g_ptr_array_index(unusable, i);
		cJSON *o = cJSON_CreateObject();

		char *fix = api_unusable_fix(u);

		cJSON_AddStringToObject(o, "name", u->name);
		cJSON_AddStringToObject(o, "reason", u->why);
		cJSON_AddStringToObject(o, "fix", fix);
		cJSON_AddItemToArray(arr, o);
		g_free(fix);
	}
	return arr;
}

static cJSON *
to_json(const struct club_status *s, gint64 now)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "club", s->slug);
	cJSON_AddStringToObject(o, "state", s->state);
	if (s->last_success > 0) {
		cJSON_AddNumberToObject(o, "last_success",
					(double)s->last_success);
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
	cJSON_AddNumberToObject(o, "held", s->held);
	cJSON_AddItemToObject(o, "unusable_lists", unusable_json(s->unusable));
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
	printf("%-16s %-19s %8s %5u %7u  %s\n", s->slug, when, age, s->lists,
	       s->members, s->last_error ? s->last_error : "-");
}

/* After the table: each list M2S names that has no address, by name. */
static void
print_unusable(const GPtrArray *all)
{
	gboolean first = TRUE;

	for (guint i = 0; i < all->len; i++) {
		const struct club_status *s = g_ptr_array_index(all, i);

		for (guint k = 0; k < s->unusable->len; k++) {
			const struct api_unusable *u = g_ptr_array_index(
				s->unusable, k);
			char *fix = api_unusable_fix(u);

			if (first)
				printf("\nLists M2S names that have no address "
				       "(posts to them cannot be delivered):\n");
			first = FALSE;
			printf("  %-16s \"%s\": %s; %s\n", s->slug, u->name,
			       u->why, fix);
			g_free(fix);
		}
	}
}

/* After the table: the clubs that are not active, and what that means. */
static void
print_states(const GPtrArray *all)
{
	static const char *const heads[] = {
		"suspended",
		"\nSuspended clubs (not synced; mail to their lists is "
		"refused; their data is kept):\n",
		"removed",
		"\nClubs removed from the config whose data is kept (delete "
		"it with 'soarlist purge --yes CLUB'):\n",
	};

	for (gsize h = 0; h < G_N_ELEMENTS(heads); h += 2) {
		gboolean first = TRUE;

		for (guint i = 0; i < all->len; i++) {
			const struct club_status *s = g_ptr_array_index(all, i);
			if (strcmp(s->state, heads[h]) != 0)
				continue;
			if (first)
				fputs(heads[h + 1], stdout);
			first = FALSE;
			printf("  %-16s %u list%s, %u member%s, %u held "
			       "post%s\n",
			       s->slug, s->lists, s->lists == 1 ? "" : "s",
			       s->members, s->members == 1 ? "" : "s", s->held,
			       s->held == 1 ? "" : "s");
		}
	}
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
	if (all == NULL)
		return cli_fail(&err, NULL);
	if (opt_json) {
		cJSON *arr = cJSON_CreateArray();
		char *out;
		for (guint i = 0; i < all->len; i++)
			cJSON_AddItemToArray(
				arr, to_json(g_ptr_array_index(all, i), now));
		out = cJSON_Print(arr);
		printf("%s\n", out);
		cJSON_free(out);
		cJSON_Delete(arr);
	} else {
		printf("%-16s %-19s %8s %5s %7s  %s\n", "CLUB", "LAST SUCCESS",
		       "AGE", "LISTS", "MEMBERS", "LAST ERROR");
		for (guint i = 0; i < all->len; i++)
			print_line(g_ptr_array_index(all, i), now);
		print_unusable(all);
		print_states(all);
	}
	g_ptr_array_unref(all);
	return CLI_OK;
}
