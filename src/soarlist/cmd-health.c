/* cmd-health.c - soarlist health [--queue W,C] [--queue-age W,C]
 * [--sync-age W,C] [--held-age W,C]: a monitoring plugin in the
 * Nagios/Icinga convention (health.h). Unlike every other subcommand, its
 * exit status is the plugin's: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
 * (a bad option, a configuration or database that cannot be read), with
 * the one line on stdout that the monitoring system shows. */
#include <stdio.h>

#include "cli.h"
#include "soarlist/health.h"

static char *opt_queue, *opt_queue_age, *opt_sync_age, *opt_held_age;

static const GOptionEntry entries[] = {
	{ "queue", 0, 0, G_OPTION_ARG_STRING, &opt_queue,
	  "Deferred messages: warning and critical above (50,200)", "W,C" },
	{ "queue-age", 0, 0, G_OPTION_ARG_STRING, &opt_queue_age,
	  "Age of the oldest deferred message (1h,4h)", "W,C" },
	{ "sync-age", 0, 0, G_OPTION_ARG_STRING, &opt_sync_age,
	  "Age of the stalest club's last successful sync (2h,6h)", "W,C" },
	{ "held-age", 0, 0, G_OPTION_ARG_STRING, &opt_held_age,
	  "Age of the oldest held post (1d,3d)", "W,C" },
	G_OPTION_ENTRY_NULL,
};

static int
unknown(const char *why)
{
	printf("SOARLIST UNKNOWN - %s\n", why);
	fflush(stdout);
	return HEALTH_UNKNOWN;
}

/* Parse each option given into LIMITS. FALSE (said) for a bad one. */
static gboolean
parse_limits(struct health_limits *limits)
{
	const struct {
		const char *name, *text;
		gboolean seconds;
		struct health_limit *l;
	} opts[] = {
		{ "--queue", opt_queue, FALSE, &limits->deferred },
		{ "--queue-age", opt_queue_age, TRUE, &limits->deferred_age },
		{ "--sync-age", opt_sync_age, TRUE, &limits->sync_age },
		{ "--held-age", opt_held_age, TRUE, &limits->held_age },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(opts); i++) {
		if (opts[i].text == NULL ||
		    health_parse_limit(opts[i].text, opts[i].seconds,
				       opts[i].l))
			continue;
		cli_error("%s %s: want WARNING,CRITICAL (%s), critical not "
			  "below warning",
			  opts[i].name, opts[i].text,
			  opts[i].seconds ? "durations such as 1h,4h"
					  : "numbers");
		return FALSE;
	}
	return TRUE;
}

int
cmd_health(struct cli *cli, int argc, char **argv)
{
	struct health_limits limits = HEALTH_LIMITS_DEFAULT;
	struct server_figures f = { 0 };
	g_autofree char *line = NULL;
	GError *err = NULL;
	enum health_status status;

	if (cli_parse(cli, entries, 0, 0, &argc, &argv) != 0 ||
	    !parse_limits(&limits))
		return unknown("bad command line (see soarlist health --help)");
	if (cli_open(cli) != 0)
		return unknown("cannot read the configuration or the database");
	if (figures_collect(cli->db, cli->cfg, TRUE, &f, &err) < 0) {
		g_autofree char *why = g_strdup_printf("database: %s",
						       err->message);

		g_error_free(err);
		figures_clear(&f);
		return unknown(why);
	}
	status = health_judge(&f, &limits, g_get_real_time() / G_USEC_PER_SEC,
			      &line);
	figures_clear(&f);
	printf("%s\n", line);
	fflush(stdout);
	return status;
}
