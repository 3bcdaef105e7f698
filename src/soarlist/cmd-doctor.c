/* cmd-doctor.c - soarlist doctor [--user USER]: check the installation,
 * one line per check: OK and what was found, or FAIL, what is wrong and
 * how to fix it; exit 0 only when all pass. It reads only: nothing is
 * created or changed. */
#include <stdio.h>

#include "cli.h"
#include "soarlist/doctor.h"

static char *opt_user;

static const GOptionEntry entries[] = {
	{ "user", 'u', 0, G_OPTION_ARG_STRING, &opt_user,
	  "Pipe user to check (default: user= of the soarlist transport)",
	  "USER" },
	G_OPTION_ENTRY_NULL,
};

int
cmd_doctor(struct cli *cli, int argc, char **argv)
{
	GError *err = NULL;
	GPtrArray *results;
	int rc = cli_parse(cli, entries, 0, 0, &argc, &argv);
	guint failed = 0;

	if (rc != 0)
		return rc;
	cli->cfg = config_load(config_path(cli->config_arg), &err);
	if (cli->cfg == NULL) {
		printf("FAIL  config: %s; fix: correct the file (see "
		       "soarlist.conf(5))\n",
		       err->message);
		g_error_free(err);
		return CLI_CONFIG;
	}
	results = doctor_run(cli->cfg, opt_user);
	for (guint i = 0; i < results->len; i++) {
		const struct doctor_result *r = g_ptr_array_index(results, i);
		if (r->ok) {
			printf("OK    %s\n", r->what);
		} else {
			printf("FAIL  %s; fix: %s\n", r->what, r->fix);
			failed++;
		}
	}
	printf("%u checks, %u failed\n", results->len, failed);
	g_ptr_array_unref(results);
	return failed == 0 ? CLI_OK : CLI_FAIL;
}
