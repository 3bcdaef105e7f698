/* cmd-policy.c - soarlist policy: the Postfix SMTP access policy service,
 * on stdin/stdout, as spawn(8) runs it. It only reads the database (it
 * never creates or migrates it). */
#include <unistd.h>

#include "cli.h"
#include "soarlist/maillog.h"
#include "soarlist/policy-server.h"

int
cmd_policy(struct cli *cli, int argc, char **argv)
{
	GError *err = NULL;
	int rc = cli_parse(cli, NULL, 0, 0, &argc, &argv);

	if (rc != 0)
		return rc;
	cli->cfg = config_load(config_path(cli->config_arg), &err);
	if (cli->cfg == NULL) {
		/* stdout and stderr are smtpd's socket: log, do not print */
		maillog_open("soarlist/policy", NULL);
		maillog_error("%s", err->message);
		g_error_free(err);
		return CLI_CONFIG;
	}
	maillog_open("soarlist/policy", cli->cfg->log_file);
	return policy_server_run(cli->cfg, STDIN_FILENO, STDOUT_FILENO) < 0
		       ? CLI_FAIL
		       : CLI_OK;
}
