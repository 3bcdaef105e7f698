/* cmd-postfix-maps.c - soarlist postfix-maps: bring Postfix's lookup
 * tables in postfix_dir up to date with the database (sync does this after
 * every run; this is for after a config change). Exit 0; 1 when a table
 * could not be written; 75 when the database is busy; 78 when postfix_dir
 * is not set. */
#include <stdio.h>

#include "cli.h"
#include "soarlist/maillog.h"
#include "soarlist/postfix-maps.h"

int
cli_write_postfix_maps(struct cli *cli, gboolean quiet)
{
	GPtrArray *changed = NULL;
	GError *err = NULL;

	if (postfix_maps_write(cli->db, cli->cfg, &changed, &err) < 0) {
		maillog_error("postfix-maps status=failed reason=%s",
			      err->message);
		return cli_fail(&err, "postfix tables not updated, previous "
				      "ones kept");
	}
	for (guint i = 0; i < changed->len; i++) {
		const char *name = g_ptr_array_index(changed, i);
		if (!quiet)
			printf("postfix: updated %s/%s\n",
			       cli->cfg->postfix_dir, name);
		maillog_info("postfix-maps table=%s/%s status=updated",
			     cli->cfg->postfix_dir, name);
	}
	g_ptr_array_unref(changed);
	return CLI_OK;
}

int
cmd_postfix_maps(struct cli *cli, int argc, char **argv)
{
	int rc = cli_parse(cli, NULL, 0, 0, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0)
		return rc;
	if (cli->cfg->postfix_dir == NULL) {
		cli_error("postfix-maps: postfix_dir is not set in the "
			  "[soarlist] section of %s",
			  cli->cfg->path);
		return CLI_CONFIG;
	}
	return cli_write_postfix_maps(cli, FALSE);
}
