/* cli.c - the plumbing shared by soarlist's subcommands, and the one table
 * that maps a failure to soarlist's exit status. */
#include "cli.h"

#include <stdio.h>
#include <sysexits.h>

#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/maillog.h"

/* GError domain and code -> exit status, and what the error line adds so
 * that it says how to fix it; the first match wins, anything not listed is
 * CLI_FAIL. */
static const struct cli_error_map {
	const char *domain; /* the quark's string */
	int code;           /* -1: every code of the domain */
	enum cli_status status;
	const char *hint; /* appended to the message, or NULL */
} error_statuses[] = {
	/* another process holds the lock: the same command works later */
	{ "soarlist-db-error-quark", DB_ERROR_BUSY, CLI_TEMPFAIL,
	  "another process holds the database: run the command again later" },
	/* the database path of the config is missing or not writable */
	{ "soarlist-db-error-quark", DB_ERROR_OPEN, CLI_CONFIG,
	  "check database in the [soarlist] section of the configuration: "
	  "its directory must exist and be writable by this user" },
	{ "soarlist-config", -1, CLI_CONFIG, NULL },
	/* approve's delivery deferred (75: the database was locked, or
	 * sendmail failed): temporary either way, and the post stays held */
	{ "soarlist-moderate-status", EX_TEMPFAIL, CLI_TEMPFAIL,
	  "run the command again later" },
};

static char *opt_config;

static const struct cli_error_map *
error_map(const GError *err)
{
	for (size_t i = 0; err != NULL && i < G_N_ELEMENTS(error_statuses);
	     i++) {
		if (err->domain == g_quark_from_static_string(
					   error_statuses[i].domain) &&
		    (error_statuses[i].code == -1 ||
		     error_statuses[i].code == err->code))
			return &error_statuses[i];
	}
	return NULL;
}

enum cli_status
cli_error_status(const GError *err)
{
	const struct cli_error_map *m = error_map(err);

	return m != NULL ? m->status : CLI_FAIL;
}

enum cli_status
cli_fail(GError **err, const char *prefix)
{
	const struct cli_error_map *m = error_map(*err);
	const char *msg = *err ? (*err)->message : "failed";
	char *hint = m != NULL && m->hint != NULL
			     ? g_strdup_printf(" (%s)", m->hint)
			     : g_strdup("");

	if (prefix != NULL)
		cli_error("%s: %s%s", prefix, msg, hint);
	else
		cli_error("%s%s", msg, hint);
	g_free(hint);
	g_clear_error(err);
	return m != NULL ? m->status : CLI_FAIL;
}

void
cli_error(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "soarlist: %s\n", msg);
	g_free(msg);
}

int
cli_parse(struct cli *cli, const GOptionEntry *entries, int nargs_min,
	  int nargs_max, int *argc, char ***argv)
{
	const struct cli_command *cmd = cli->cmd;
	const GOptionEntry common[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
		  "Configuration file", "CONFIG" },
		G_OPTION_ENTRY_NULL,
	};
	char *prgname = g_strdup_printf("soarlist %s", cmd->name);
	GOptionContext *ctx = g_option_context_new(cmd->args);
	GError *err = NULL;
	gboolean ok;

	/* --help then reads "soarlist CMD [OPTION...] ARGS" */
	g_set_prgname(prgname);
	g_free(prgname);
	g_option_context_set_summary(ctx, cmd->summary);
	g_option_context_add_main_entries(ctx, common, NULL);
	if (entries != NULL)
		g_option_context_add_main_entries(ctx, entries, NULL);
	ok = g_option_context_parse(ctx, argc, argv, &err);
	g_option_context_free(ctx);
	if (!ok) {
		cli_error("%s: %s (see 'soarlist %s --help')", cmd->name,
			  err->message, cmd->name);
		g_error_free(err);
		return CLI_USAGE;
	}
	if (opt_config != NULL)
		cli->config_arg = opt_config;
	/* GOption leaves a "--" in place: drop it */
	for (int i = 1; i < *argc; i++) {
		if (g_strcmp0((*argv)[i], "--") == 0) {
			for (int k = i; k < *argc; k++)
				(*argv)[k] = (*argv)[k + 1];
			(*argc)--;
			break;
		}
	}
	if (*argc - 1 < nargs_min ||
	    (nargs_max >= 0 && *argc - 1 > nargs_max)) {
		cli_error("usage: soarlist %s %s", cmd->name, cmd->args);
		return CLI_USAGE;
	}
	return 0;
}

int
cli_open(struct cli *cli)
{
	GError *err = NULL;

	cli->cfg = config_load(config_path(cli->config_arg), &err);
	if (cli->cfg == NULL) {
		/* the config is what to fix, unless it could not be read for
		 * want of a resource (an I/O error, no memory): then later */
		gboolean transient = g_error_matches(err, CONFIG_ERROR,
						     CONFIG_ERROR_TRANSIENT);

		cli_fail(&err, NULL);
		return transient ? CLI_TEMPFAIL : CLI_CONFIG;
	}
	for (guint i = 0; i < cli->cfg->warnings->len; i++)
		cli_error("warning: %s",
			  (char *)g_ptr_array_index(cli->cfg->warnings, i));
	maillog_open("soarlist", cli->cfg->log_file);
	cli->db = db_open(cli->cfg->database, DB_CREATE,
			  cli->cfg->busy_timeout_ms, &err);
	if (cli->db == NULL || db_command_mode(cli->db, &err) < 0) {
		db_close(&cli->db);
		return cli_fail(&err, NULL);
	}
	return 0;
}

void
cli_close(struct cli *cli)
{
	db_close(&cli->db);
	config_free(&cli->cfg);
	maillog_close();
}

char *
cli_list_address(const struct config *cfg, const char *slug, const char *name)
{
	const struct club_config *c = config_club_by_slug(cfg, slug);

	return c ? g_strconcat(name, "@", c->domains[0], NULL) : NULL;
}

int
cli_resolve(struct cli *cli, const char *address, struct list_ref *ref_r)
{
	struct recipient r;
	GError *err = NULL;
	int rc;

	if (recipient_parse(address, &r) < 0 || r.kind != RECIPIENT_POST) {
		recipient_clear(&r);
		cli_error("%s: not a list address (LIST@DOMAIN)", address);
		return CLI_USAGE;
	}
	rc = catalog_resolve(cli->db, cli->cfg, r.list, r.domain, ref_r, &err);
	recipient_clear(&r);
	if (rc < 0)
		return cli_fail(&err, NULL);
	if (rc == 0) {
		cli_error("%s: no such list", address);
		return CLI_FAIL;
	}
	return 0;
}
