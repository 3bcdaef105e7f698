/* cmd-sync.c - soarlist sync [CLUB...]: fetch every club (or the named
 * ones) from M2S and store the result; one summary line per club. */
#include <stdio.h>

#include "cli.h"
#include "soarlist/maillog.h"
#include "soarlist/sync.h"

static gboolean opt_quiet;

static const GOptionEntry entries[] = {
	{ "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
	  "Print only errors and warnings", NULL },
	G_OPTION_ENTRY_NULL,
};

static int
report(const struct sync_result *r)
{
	if (r->warnings != NULL)
		for (guint i = 0; i < r->warnings->len; i++)
			cli_error("warning: sync %s: %s", r->club->slug,
				  (char *)g_ptr_array_index(r->warnings, i));
	if (!r->ok) {
		cli_error("sync %s failed, previous data kept: %s",
			  r->club->slug, r->error ? r->error : "unknown error");
		maillog_error("sync club=%s status=failed reason=%s",
			      r->club->slug, r->error ? r->error : "unknown");
		return CLI_FAIL;
	}
	if (!opt_quiet)
		printf("%s: %u lists, %u members, %u whitelisted, %u invalid "
		       "dropped\n", r->club->slug, r->lists, r->members,
		       r->whitelisted, r->dropped);
	maillog_info("sync club=%s status=ok lists=%u members=%u whitelist=%u "
		     "dropped=%u", r->club->slug, r->lists, r->members,
		     r->whitelisted, r->dropped);
	return CLI_OK;
}

/* Sync SLUG (NULL: every club); *any_ok_r is set when a club synced. */
static int
sync_one(struct cli *cli, const char *slug, gboolean *any_ok_r)
{
	GError *err = NULL;
	GPtrArray *results = sync_run(cli->db, cli->cfg, slug, &err);
	int rc = CLI_OK;

	if (results == NULL) {
		cli_error("sync: %s", err->message);
		g_error_free(err);
		return CLI_FAIL;
	}
	for (guint i = 0; i < results->len; i++) {
		const struct sync_result *r = g_ptr_array_index(results, i);
		if (report(r) != CLI_OK)
			rc = CLI_FAIL;
		else
			*any_ok_r = TRUE;
	}
	g_ptr_array_unref(results);
	return rc;
}

int
cmd_sync(struct cli *cli, int argc, char **argv)
{
	int rc = cli_parse(cli, entries, 0, -1, &argc, &argv);
	gboolean any_ok = FALSE;

	if (rc != 0)
		return rc;
	if ((rc = cli_open(cli)) != 0)
		return rc;
	for (int i = 1; i < argc; i++) {
		if (config_club_by_slug(cli->cfg, argv[i]) == NULL) {
			cli_error("sync: no [club %s] in %s", argv[i],
				  cli->cfg->path);
			return CLI_USAGE;
		}
	}
	if (cli->cfg->clubs->len == 0) {
		cli_error("sync: %s defines no [club ...]", cli->cfg->path);
		return CLI_FAIL;
	}
	if (argc == 1) {
		rc = sync_one(cli, NULL, &any_ok);
	} else {
		for (int i = 1; i < argc; i++)
			if (sync_one(cli, argv[i], &any_ok) != CLI_OK)
				rc = CLI_FAIL;
	}
	/* Postfix must know about what was just stored */
	if (any_ok && cli->cfg->postfix_dir != NULL &&
	    cli_write_postfix_maps(cli, opt_quiet) != CLI_OK)
		rc = CLI_FAIL;
	return rc;
}
