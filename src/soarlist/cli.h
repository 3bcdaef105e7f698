/* cli.h - what the soarlist subcommands share: the command table, option
 * parsing with the common -c, and opening the config and database.
 */
#ifndef SOARLIST_CLI_H
#define SOARLIST_CLI_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

/* The exit statuses of soarlist, the same for every subcommand (sysexits
 * where one fits). A subcommand returns one of these and nothing else; a
 * failure carried by a GError is mapped by cli_error_status(), whose table
 * in cli.c is the only place that decides between them. */
enum cli_status {
	CLI_OK = 0,        /* done */
	CLI_FAIL = 1,      /* done, and what it reports is a problem */
	CLI_USAGE = 64,    /* EX_USAGE: a bad command line */
	CLI_TEMPFAIL = 75, /* EX_TEMPFAIL: database busy or locked: retry */
	CLI_CONFIG = 78,   /* EX_CONFIG: the configuration is wrong */
};

struct cli_command;

struct cli {
	const struct cli_command *cmd; /* the subcommand being run */
	const char *config_arg;        /* -c as given, may be NULL */
	struct config *cfg;
	sqlite3 *db;
};

struct cli_command {
	const char *name;
	const char *args; /* synopsis after the name */
	const char *summary;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/* Parse the options of the current subcommand (ENTRIES may be NULL; -c is
 * always accepted). On success argv holds the positional arguments, argv[0]
 * the command name; NARGS_MIN..NARGS_MAX of them are required (-1: any).
 * Returns 0, or CLI_USAGE after printing why. */
int cli_parse(struct cli *cli, const GOptionEntry *entries, int nargs_min,
	      int nargs_max, int *argc, char ***argv);

/* Load the config and open (creating and migrating) the database. Returns 0
 * or an exit status after printing the error. */
int cli_open(struct cli *cli);

void cli_close(struct cli *cli);

/* Print "soarlist: MESSAGE" to stderr. */
void cli_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/* The exit status that the failure ERR calls for: CLI_TEMPFAIL when the
 * database was busy or locked past the busy timeout, CLI_CONFIG for a
 * configuration error or a database that cannot be opened, else CLI_FAIL. */
enum cli_status cli_error_status(const GError *err);

/* Print "soarlist: PREFIX: MESSAGE" (or "soarlist: MESSAGE" when PREFIX is
 * NULL) for *ERR, free it (*ERR becomes NULL) and return
 * cli_error_status() of it. */
enum cli_status cli_fail(GError **err, const char *prefix);

/* The address of list NAME of club SLUG on the club's first domain, or NULL
 * when the club is not in the config. Newly allocated. */
char *cli_list_address(const struct config *cfg, const char *slug,
		       const char *name);

/* Resolve ADDRESS (a post address LIST@DOMAIN) into *ref_r. Returns 0, or
 * an exit status after printing why: CLI_USAGE when ADDRESS is not a list
 * address, CLI_FAIL when there is no such list, cli_error_status() of a
 * database error. */
struct list_ref;
int cli_resolve(struct cli *cli, const char *address, struct list_ref *ref_r);

/* Update the Postfix tables; print what changed unless QUIET. Returns
 * CLI_OK, or an exit status after printing why. */
int cli_write_postfix_maps(struct cli *cli, gboolean quiet);

int cmd_archive(struct cli *cli, int argc, char **argv);
int cmd_bounces(struct cli *cli, int argc, char **argv);
int cmd_held(struct cli *cli, int argc, char **argv);
int cmd_approve(struct cli *cli, int argc, char **argv);
int cmd_reject(struct cli *cli, int argc, char **argv);
int cmd_discard(struct cli *cli, int argc, char **argv);
int cmd_doctor(struct cli *cli, int argc, char **argv);
int cmd_policy(struct cli *cli, int argc, char **argv);
int cmd_postfix_maps(struct cli *cli, int argc, char **argv);
int cmd_status(struct cli *cli, int argc, char **argv);
int cmd_sync(struct cli *cli, int argc, char **argv);
int cmd_lists(struct cli *cli, int argc, char **argv);
int cmd_members(struct cli *cli, int argc, char **argv);
int cmd_check(struct cli *cli, int argc, char **argv);
int cmd_dkim(struct cli *cli, int argc, char **argv);
int cmd_dns(struct cli *cli, int argc, char **argv);
int cmd_metrics(struct cli *cli, int argc, char **argv);
int cmd_health(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_backup(struct cli *cli, int argc, char **argv);
int cmd_purge(struct cli *cli, int argc, char **argv);

#endif
