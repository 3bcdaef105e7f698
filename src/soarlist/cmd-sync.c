/* cmd-sync.c - soarlist sync [--force] [--dry-run] [--quiet] [--verbose]
 * [CLUB...]: fetch the clubs from M2S, store what changed, update
 * Postfix's tables. Exit 0 when every club synced; 1 when some failed
 * (each named) or the Postfix tables could not be written; 64 for a usage
 * error; 75 when the database was busy or locked (the next run will do
 * it); 78 for a configuration error. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "soarlist/db.h"
#include "soarlist/held.h"
#include "soarlist/maillog.h"
#include "soarlist/seen.h"
#include "soarlist/sync.h"

static gboolean opt_quiet, opt_force, opt_dry_run, opt_verbose;

static const GOptionEntry entries[] = {
	{ "force", 0, 0, G_OPTION_ARG_NONE, &opt_force,
	  "Apply changes the shrink guard holds back", NULL },
	{ "dry-run", 'n', 0, G_OPTION_ARG_NONE, &opt_dry_run,
	  "Print the changes per list, write nothing", NULL },
	{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet, "Print only failures",
	  NULL },
	{ "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
	  "Describe each transfer", NULL },
	G_OPTION_ENTRY_NULL,
};

struct progress {
	gboolean tty;
	guint done, total, failed;
};

/* Lists M2S names that get no address here: said on every run, even
 * --quiet, until M2S renames them (members think the list works). */
static void
report_unusable(const struct sync_result *r)
{
	for (guint i = 0; r->unusable != NULL && i < r->unusable->len; i++) {
		const struct api_unusable *u = g_ptr_array_index(r->unusable,
								 i);
		char *fix = api_unusable_fix(u);

		cli_error(
			"sync %s: list \"%s\" has no address, its posts cannot "
			"be delivered: %s; %s",
			r->club->slug, u->name, u->why, fix);
		if (!opt_dry_run)
			maillog_warning(
				"sync club=%s list=\"%s\" status=unusable "
				"reason=\"%s\"",
				r->club->slug, u->name, u->why);
		g_free(fix);
	}
}

static void
report(const struct sync_result *r)
{
	if (r->warnings != NULL && !opt_quiet)
		for (guint i = 0; i < r->warnings->len; i++)
			cli_error("warning: sync %s: %s", r->club->slug,
				  (char *)g_ptr_array_index(r->warnings, i));
	if (!r->ok) {
		cli_error("sync %s failed, previous data kept: %s",
			  r->club->slug, r->error ? r->error : "unknown error");
		if (!opt_dry_run)
			maillog_error("sync club=%s status=failed http=%ld "
				      "attempts=%u reason=%s",
				      r->club->slug, r->http_status,
				      r->attempts,
				      r->error ? r->error : "unknown");
		return;
	}
	report_unusable(r);
	if (opt_dry_run) {
		for (guint i = 0; r->diff != NULL && i < r->diff->len; i++)
			printf("%s\n", (char *)g_ptr_array_index(r->diff, i));
		return;
	}
	if (!opt_quiet)
		printf("%s: %u lists, %u members, %u whitelisted, %u invalid "
		       "dropped, %u added, %u removed\n",
		       r->club->slug, r->lists, r->members, r->whitelisted,
		       r->dropped, r->added, r->removed);
	maillog_info("sync club=%s status=ok http=%ld lists=%u members=%u "
		     "whitelist=%u dropped=%u added=%u removed=%u",
		     r->club->slug, r->http_status, r->lists, r->members,
		     r->whitelisted, r->dropped, r->added, r->removed);
}

/* Called as each club finishes: on a terminal, one live line. */
static void
on_progress(const struct sync_result *r, void *user)
{
	struct progress *p = user;

	p->done++;
	if (!r->ok)
		p->failed++;
	if (p->tty) {
		fprintf(stderr, "\r\033[K");
		report(r);
		fprintf(stderr, "\rsync: %u/%u clubs done, %u failed", p->done,
			p->total, p->failed);
		if (p->done == p->total)
			fprintf(stderr, "\n");
	} else {
		report(r);
	}
	fflush(stdout);
	fflush(stderr);
}

static void
expire_held(struct cli *cli)
{
	GError *err = NULL;
	int n = held_expire(cli->db, cli->cfg, &err);

	if (n < 0) {
		cli_error("warning: expiring held posts: %s", err->message);
		g_error_free(err);
	} else if (n > 0) {
		maillog_info("held expired=%d", n);
	}
}

static void
expire_seen(struct cli *cli)
{
	GError *err = NULL;

	if (seen_expire(cli->db, &err) < 0) {
		cli_error("warning: forgetting old Message-IDs: %s",
			  err->message);
		g_error_free(err);
	}
}

/* The exit status for RESULTS: 1 when a club failed, else 75 when the
 * database was busy or locked for some club (the next run does it), else
 * 0. *any_ok_r says whether some club synced, *any_stored_r whether one
 * stored a changed answer. */
static int
outcome(GPtrArray *results, gboolean *any_ok_r, gboolean *any_stored_r)
{
	gboolean failed = FALSE, busy = FALSE;

	for (guint i = 0; i < results->len; i++) {
		const struct sync_result *r = g_ptr_array_index(results, i);
		if (r->ok)
			*any_ok_r = TRUE;
		if (r->ok && !r->unchanged)
			*any_stored_r = TRUE;
		if (r->db_busy)
			busy = TRUE;
		else if (!r->ok)
			failed = TRUE;
	}
	return failed ? CLI_FAIL : busy ? CLI_TEMPFAIL : CLI_OK;
}

static int
check_names(struct cli *cli, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const struct club_config *c = config_club_by_slug(cli->cfg,
								  argv[i]);
		if (c == NULL) {
			cli_error("sync: no [club %s] in %s", argv[i],
				  cli->cfg->path);
			return CLI_USAGE;
		}
		if (c->state == CLUB_SUSPENDED) {
			cli_error("sync: club %s is suspended (state = "
				  "suspended in %s): not synced",
				  argv[i], cli->cfg->path);
			return CLI_FAIL;
		}
	}
	return CLI_OK;
}

int
cmd_sync(struct cli *cli, int argc, char **argv)
{
	struct progress p = { .tty = isatty(STDERR_FILENO) && !opt_quiet };
	struct sync_options opts = { .progress = on_progress, .user = &p };
	GError *err = NULL;
	GPtrArray *results;
	gboolean any_ok = FALSE, any_stored = FALSE;
	int maps, rc = cli_parse(cli, entries, 0, -1, &argc, &argv);

	if (rc != 0)
		return rc;
	p.tty = isatty(STDERR_FILENO) && !opt_quiet && !opt_verbose;
	if ((rc = cli_open(cli)) != 0 ||
	    (rc = check_names(cli, argc, argv)) != CLI_OK)
		return rc;
	opts.force = opt_force;
	opts.dry_run = opt_dry_run;
	opts.verbose = opt_verbose;
	/* a club named twice is synced once, a suspended one never */
	for (guint i = 0; i < cli->cfg->clubs->len; i++)
		if (sync_takes(g_ptr_array_index(cli->cfg->clubs, i),
			       argc > 1 ? argv + 1 : NULL))
			p.total++;
	results = sync_run(cli->db, cli->cfg, argc > 1 ? argv + 1 : NULL, &opts,
			   &err);
	if (results == NULL)
		return cli_fail(&err, "sync");
	rc = outcome(results, &any_ok, &any_stored);
	/* nothing to fetch (no club, or only suspended ones): the tables
	 * still lose the clubs the config no longer names */
	if (results->len == 0)
		any_ok = TRUE;
	g_ptr_array_unref(results);
	if (rc == CLI_TEMPFAIL)
		cli_error(
			"sync: another process held the database locked: run "
			"the command again later (the timer's next run does)");
	/* the timer that syncs also retires held posts nobody handled and
	 * the Message-IDs past SEEN_DAYS */
	if (!opt_dry_run) {
		expire_held(cli);
		expire_seen(cli);
	}
	/* Postfix must know about what was just stored; an unchanged run
	 * touches nothing (postfix_maps_write writes only what differs) */
	if (!opt_dry_run && cli->cfg->postfix_dir != NULL && any_ok &&
	    (maps = cli_write_postfix_maps(cli, opt_quiet)) != CLI_OK &&
	    rc == CLI_OK)
		rc = maps;
	/* what was stored goes into the database file and the WAL starts
	 * again: every delivery agent that opens the database alone reads
	 * the whole WAL to rebuild its index, so it is kept short; an
	 * unchanged run leaves it alone and syncs nothing (db.h) */
	if (!opt_dry_run && any_stored)
		db_checkpoint(cli->db);
	return rc;
}
