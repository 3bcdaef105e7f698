/* cmd-archive.c - soarlist archive export LIST@DOMAIN [--since YYYY-MM-DD]
 * [--until YYYY-MM-DD]: a list's archive as mboxrd on stdout. Exit 0; 1
 * when the archive cannot be read or there is no such list; 64 on a usage
 * error; 75 when the database is busy; 78 when archive_dir is not set.
 *
 * The dates are days in local time: --since from its midnight on
 * (inclusive), --until up to its midnight (exclusive).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "soarlist/archive.h"
#include "soarlist/catalog.h"

static char *opt_since;
static char *opt_until;

static const GOptionEntry entries[] = {
	{ "since", 0, 0, G_OPTION_ARG_STRING, &opt_since,
	  "Only posts archived on or after this day (local time)",
	  "YYYY-MM-DD" },
	{ "until", 0, 0, G_OPTION_ARG_STRING, &opt_until,
	  "Only posts archived before this day (local time)", "YYYY-MM-DD" },
	G_OPTION_ENTRY_NULL,
};

/* Local midnight at the start of day S (YYYY-MM-DD) into *t_r. Returns 0,
 * or CLI_USAGE after printing why. */
static int
parse_day(const char *opt, const char *s, gint64 *t_r)
{
	struct tm tm = { 0 };
	int y, m, d;
	time_t t;

	for (int i = 0; i < 10; i++) {
		gboolean dash = i == 4 || i == 7;
		if (s[i] == '\0' ||
		    (dash ? s[i] != '-' : !g_ascii_isdigit(s[i])))
			goto bad;
	}
	if (s[10] != '\0')
		goto bad;
	y = atoi(s);
	m = atoi(s + 5);
	d = atoi(s + 8);
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	/* mktime normalises 2026-02-30 to March 2: refuse such days */
	if (t == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != m - 1 ||
	    tm.tm_mday != d)
		goto bad;
	*t_r = t;
	return 0;
bad:
	cli_error("archive: --%s %s: not a date (YYYY-MM-DD)", opt, s);
	return CLI_USAGE;
}

static int export(struct cli *cli, const char *address, gint64 since,
		  gint64 until)
{
	struct list_ref ref = { 0 };
	GError *err = NULL;
	int rc;

	if ((rc = cli_open(cli)) != 0)
		return rc;
	if (cli->cfg->archive_dir == NULL) {
		cli_error("archive: archive_dir is not set in the [soarlist] "
			  "section of the configuration: there is no archive");
		return CLI_CONFIG;
	}
	if ((rc = cli_resolve(cli, address, &ref)) != 0)
		return rc;
	if (archive_export(cli->cfg, ref.club->slug, ref.name, since, until,
			   stdout, &err) < 0)
		rc = cli_fail(&err, "archive");
	list_ref_clear(&ref);
	return rc;
}

int
cmd_archive(struct cli *cli, int argc, char **argv)
{
	gint64 since = 0, until = 0;
	int rc = cli_parse(cli, entries, 2, 2, &argc, &argv);

	if (rc != 0)
		goto out;
	if (strcmp(argv[1], "export") != 0) {
		cli_error("archive: unknown action '%s' (usage: soarlist "
			  "archive %s)",
			  argv[1], cli->cmd->args);
		rc = CLI_USAGE;
		goto out;
	}
	if ((opt_since != NULL &&
	     (rc = parse_day("since", opt_since, &since)) != 0) ||
	    (opt_until != NULL &&
	     (rc = parse_day("until", opt_until, &until)) != 0))
		goto out;
	/* 0 means "unbounded" to archive_export: an --until at the epoch
	 * itself must still exclude everything */
	if (opt_until != NULL && until == 0)
		until = -1;
	rc = export(cli, argv[2], since, until);
out:
	g_clear_pointer(&opt_since, g_free);
	g_clear_pointer(&opt_until, g_free);
	return rc;
}
