/* cmd-backup.c - soarlist backup DIR: the database (a consistent copy,
 * while deliveries run), the configuration, the M2S API key files and the
 * DKIM directory copied into DIR, a new private directory, with a
 * MANIFEST (backup.h). Run it as root: the DKIM keys and the API keys are
 * not the soarlist user's to read. Exit 0; 1 when something could not be
 * read or written, or DIR is not empty; 64 on a usage error; 75 when the
 * database is busy. */
#include <stdio.h>

#include "cli.h"
#include "soarlist/backup.h"
#include "soarlist/maillog.h"

int
cmd_backup(struct cli *cli, int argc, char **argv)
{
	GError *err = NULL;
	guint files = 0;
	int rc = cli_parse(cli, NULL, 1, 1, &argc, &argv);

	if (rc != 0 || (rc = cli_open(cli)) != 0)
		return rc;
	if (backup_write(cli->db, cli->cfg, argv[1], &files, &err) < 0) {
		maillog_error("backup dir=%s status=failed reason=%s", argv[1],
			      err->message);
		return cli_fail(&err, "backup");
	}
	maillog_info("backup dir=%s files=%u status=ok", argv[1], files);
	printf("backup: %u files in %s (see %s/MANIFEST)\n", files, argv[1],
	       argv[1]);
	return CLI_OK;
}
