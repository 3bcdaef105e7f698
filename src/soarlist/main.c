/* main.c - soarlist [-c CONFIG] COMMAND [OPTIONS] [ARGS]: administer
 * soarlist mailing lists (soarlist(1)). The commands are sync, status,
 * lists, members, check, held, approve, reject, discard, archive, bounces,
 * doctor, policy, postfix-maps, dkim, dns, metrics, health, stats, backup
 * and purge; each is one file, cmd-NAME.c, dispatched from the table
 * below.
 *
 * Exit status, the same for every command but health (a monitoring plugin:
 * 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; cmd-health.c), mapped in cli.h
 * and cli.c only: 0 done; 1 done, and what it reports is a problem (a club
 * failed to sync, check would not distribute, a doctor check failed, no
 * such list); 64 usage error; 75 temporary (the database is busy or
 * locked: run it again); 78 configuration error.
 */
#include <gmime/gmime.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "soarlist-build.h"

/* one command to a line or two, as help prints them */
/* clang-format off */
static const struct cli_command commands[] = {
	{ "sync", "[--force] [-nqv] [CLUB...]", "Fetch the clubs' lists "
	  "from M2S and store what changed.", cmd_sync },
	{ "status", "[--json]", "Show each club's last sync, its age and "
	  "its last error.", cmd_status },
	{ "lists", "[--json]", "Show every list with its member count and "
	  "posting policy.", cmd_lists },
	{ "members", "LIST@DOMAIN [--json]", "Show the members of a list.",
	  cmd_members },
	{ "check", "SENDER LIST@DOMAIN [FILE]", "Say whether SENDER may post to the "
	  "list, and why.", cmd_check },
	{ "held", "[LIST@DOMAIN]", "List the posts held for moderation.",
	  cmd_held },
	{ "approve", "ID", "Distribute a held post.", cmd_approve },
	{ "reject", "ID [--reason TEXT]", "Refuse a held post; its sender is "
	  "told.", cmd_reject },
	{ "discard", "ID", "Drop a held post silently.", cmd_discard },
	{ "archive", "export LIST@DOMAIN [--since D] [--until D]", "Write a "
	  "list's archive as mboxrd to stdout.", cmd_archive },
	{ "bounces", "[LIST@DOMAIN] | reset ADDRESS", "Show bounce scores and "
	  "disabled addresses; re-enable one.", cmd_bounces },
	{ "doctor", "[--user USER]", "Check the installation; exit 0 only "
	  "when all is well.", cmd_doctor },
	{ "policy", "", "Serve Postfix's SMTP access policy protocol on "
	  "stdin/stdout.", cmd_policy },
	{ "postfix-maps", "", "Update Postfix's lookup tables in postfix_dir.",
	  cmd_postfix_maps },
	{ "dkim", "[list | rotate DOMAIN | retire DOMAIN SELECTOR]", "Make "
	  "the club domains' DKIM keys and OpenDKIM's tables.", cmd_dkim },
	{ "dns", "[CLUB] [--json]", "Show the DNS records the club domains "
	  "need.", cmd_dns },
	{ "metrics", "[-o FILE]", "Write the server's figures for "
	  "Prometheus.", cmd_metrics },
	{ "health", "[--queue W,C] [--sync-age W,C]...", "Judge the server "
	  "as a Nagios/Icinga plugin does (exit 0-3).", cmd_health },
	{ "stats", "[--days N] [--json]", "Show each list's traffic of the "
	  "last days.", cmd_stats },
	{ "backup", "DIR", "Copy the database, configuration and keys into "
	  "a new directory.", cmd_backup },
	{ "purge", "[--yes] CLUB", "Delete what is kept of a club removed "
	  "from the config.", cmd_purge },
};
/* clang-format on */

static void
usage(FILE *out)
{
	fprintf(out, "usage: soarlist [-c CONFIG] COMMAND [OPTIONS] [ARGS]\n\n"
		     "Commands:\n");
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fprintf(out, "  %-13s %-33s %s\n", commands[i].name,
			commands[i].args, commands[i].summary);
	fprintf(out,
		"\nOptions:\n"
		"  -c, --config=CONFIG  configuration file (default: "
		"$SOARLIST_CONFIG or %s)\n"
		"  -h, --help           show this help; COMMAND --help for a "
		"command's options\n"
		"  -V, --version        print the version\n",
		SOARLIST_DEFAULT_CONFIG);
}

int
main(int argc, char **argv)
{
	struct cli cli = { 0 };
	int i = 1;

	/* global options before the command: -c CONFIG, --help, --version */
	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return CLI_OK;
		} else if (strcmp(a, "-V") == 0 ||
			   strcmp(a, "--version") == 0) {
			printf("soarlist %s\n", SOARLIST_VERSION);
			return CLI_OK;
		} else if ((strcmp(a, "-c") == 0 ||
			    strcmp(a, "--config") == 0) &&
			   i + 1 < argc) {
			cli.config_arg = argv[i + 1];
			i += 2;
		} else if (g_str_has_prefix(a, "--config=")) {
			cli.config_arg = a + strlen("--config=");
			i++;
		} else {
			fprintf(stderr, "soarlist: unknown option '%s'\n", a);
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	for (size_t k = 0; k < G_N_ELEMENTS(commands); k++) {
		if (strcmp(argv[i], commands[k].name) == 0) {
			int rc;

			cli.cmd = &commands[k];
			g_mime_init();
			rc = commands[k].run(&cli, argc - i, argv + i);
			cli_close(&cli);
			g_mime_shutdown();
			return rc;
		}
	}
	fprintf(stderr, "soarlist: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return CLI_USAGE;
}
