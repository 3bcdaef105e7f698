/* cmd-stats.c - soarlist stats [--days N] [--json]: each list's traffic
 * over the last N days (default 14, UTC days ending today) at a terminal:
 * posts distributed and their copies, held, refused, dropped, bounces
 * that scored, and a sparkline of the posts distributed per day (ASCII
 * when the locale's charset is not UTF-8). Exit 0; 1 when the database
 * failed; 64 on a usage error; 75 when the database is busy. */
#include <cjson/cJSON.h>
#include <locale.h>
#include <stdio.h>

#include "cli.h"
#include "soarlist/stats.h"

static gint opt_days = 14;
static gboolean opt_json;

static const GOptionEntry entries[] = {
	{ "days", 'd', 0, G_OPTION_ARG_INT, &opt_days,
	  "The last N days, today included (1-366; 14)", "N" },
	{ "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
	G_OPTION_ENTRY_NULL,
};

static cJSON *
to_json(const struct list_traffic *t)
{
	cJSON *o = cJSON_CreateObject(), *totals = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "club", t->club);
	cJSON_AddStringToObject(o, "list", t->list);
	for (int k = 0; k < STATS_KINDS; k++) {
		cJSON *days = cJSON_CreateArray();

		for (guint d = 0; d < t->days; d++)
			cJSON_AddItemToArray(
				days,
				cJSON_CreateNumber((double)t->per_day[k][d]));
		cJSON_AddItemToObject(o, stats_kind_names[k], days);
		cJSON_AddNumberToObject(totals, stats_kind_names[k],
					(double)t->total[k]);
	}
	cJSON_AddItemToObject(o, "totals", totals);
	return o;
}

static void
print_json(const GPtrArray *all, const char *first_day)
{
	cJSON *root = cJSON_CreateObject(), *lists = cJSON_CreateArray();
	char *out;

	cJSON_AddNumberToObject(root, "days", opt_days);
	if (first_day != NULL)
		cJSON_AddStringToObject(root, "first_day", first_day);
	else
		cJSON_AddNullToObject(root, "first_day");
	for (guint i = 0; i < all->len; i++)
		cJSON_AddItemToArray(lists, to_json(g_ptr_array_index(all, i)));
	cJSON_AddItemToObject(root, "lists", lists);
	out = cJSON_Print(root);
	printf("%s\n", out);
	cJSON_free(out);
	cJSON_Delete(root);
}

static void
print_table(const GPtrArray *all)
{
	const char *charset = NULL;
	gboolean ascii;

	/* the terminal's charset, from the environment (LC_CTYPE only:
	 * nothing else of the output depends on the locale) */
	setlocale(LC_CTYPE, "");
	ascii = !g_get_charset(&charset);

	if (all->len == 0) {
		printf("No list had any mail in the last %d days.\n", opt_days);
		return;
	}
	printf("%-12s %-20s %6s %7s %5s %7s %7s %7s  %s\n", "CLUB", "LIST",
	       "POSTS", "COPIES", "HELD", "REFUSED", "DROPPED", "BOUNCES",
	       "POSTS PER DAY");
	for (guint i = 0; i < all->len; i++) {
		const struct list_traffic *t = g_ptr_array_index(all, i);
		g_autofree char *line = stats_sparkline(
			t->per_day[STATS_DISTRIBUTED], t->days, ascii);

		printf("%-12s %-20s %6" G_GUINT64_FORMAT " %7" G_GUINT64_FORMAT
		       " %5" G_GUINT64_FORMAT " %7" G_GUINT64_FORMAT
		       " %7" G_GUINT64_FORMAT " %7" G_GUINT64_FORMAT "  %s\n",
		       t->club, t->list, t->total[STATS_DISTRIBUTED],
		       t->total[STATS_RECIPIENTS], t->total[STATS_HELD],
		       t->total[STATS_REFUSED], t->total[STATS_DROPPED],
		       t->total[STATS_BOUNCES], line);
	}
}

int
cmd_stats(struct cli *cli, int argc, char **argv)
{
	g_autofree char *first_day = NULL;
	GError *err = NULL;
	GPtrArray *all;
	int rc = cli_parse(cli, entries, 0, 0, &argc, &argv);

	if (rc != 0)
		return rc;
	if (opt_days < 1 || opt_days > 366) {
		cli_error("--days %d: want 1 to 366", opt_days);
		return CLI_USAGE;
	}
	if ((rc = cli_open(cli)) != 0)
		return rc;
	all = stats_traffic(cli->db, (guint)opt_days, &first_day, &err);
	if (all == NULL)
		return cli_fail(&err, NULL);
	if (opt_json)
		print_json(all, first_day);
	else
		print_table(all);
	g_ptr_array_unref(all);
	return CLI_OK;
}
