/* cmd-purge.c - soarlist purge [--yes] SLUG: say what soarlist keeps of a
 * club removed from the configuration and, with --yes, delete it (purge.h).
 * Exit 0 when deleted or when nothing is kept; 1 when the club is still
 * configured, without --yes (nothing deleted), or when the archive could
 * not be removed; 64 on a usage error; 75 when the database is busy. */
#include <stdio.h>

#include "cli.h"
#include "soarlist/maillog.h"
#include "soarlist/purge.h"

static gboolean opt_yes;

static const GOptionEntry entries[] = {
	{ "yes", 'y', 0, G_OPTION_ARG_NONE, &opt_yes,
	  "Delete (without it, only say what would go)", NULL },
	G_OPTION_ENTRY_NULL,
};

int
cmd_purge(struct cli *cli, int argc, char **argv)
{
	g_auto(PurgePlan) plan = { 0 };
	g_autofree char *what = NULL;
	GError *err = NULL;
	int rc = cli_parse(cli, entries, 1, 1, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0)
		return rc;
	rc = purge_plan(cli->db, cli->cfg, argv[1], &plan, &err);
	if (rc < 0)
		return cli_fail(&err, "purge");
	if (rc == 0) {
		printf("purge: soarlist keeps nothing of club %s\n", argv[1]);
		return CLI_OK;
	}
	what = purge_plan_describe(&plan);
	printf("purge: club %s%s:\n%s", argv[1],
	       opt_yes ? ", deleting" : " (not configured) has", what);
	if (!opt_yes) {
		cli_error("purge: nothing deleted: run 'soarlist purge --yes "
			  "%s' to delete the above",
			  argv[1]);
		return CLI_FAIL;
	}
	if (purge_apply(cli->db, cli->cfg, &plan, &err) < 0) {
		maillog_error("purge club=%s status=failed reason=%s", argv[1],
			      err->message);
		return cli_fail(&err, "purge");
	}
	maillog_info("purge club=%s lists=%" G_GINT64_FORMAT
		     " members=%" G_GINT64_FORMAT " held=%" G_GINT64_FORMAT
		     " archive_files=%u status=ok",
		     plan.slug, plan.lists, plan.members, plan.held,
		     plan.archive_files);
	printf("purge: club %s deleted\n", argv[1]);
	return CLI_OK;
}
