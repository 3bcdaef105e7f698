/*
 * NAME
 *	soarlist-deliver - mailing-list delivery agent for Postfix pipe(8)
 * SYNOPSIS
 *	soarlist-deliver [-c CONFIG] -f SENDER [--] RECIPIENT < message
 * DESCRIPTION
 *	Delivers one message to one list address: checks the posting policy,
 *	rewrites the headers and reinjects through sendmail. See
 *	soarlist-deliver(8).
 * EXIT STATUS
 *	0 (EX_OK)	distributed, held, or deliberately dropped
 *	65 (EX_DATAERR)	a header section no parser accepts (permanent)
 *	67 (EX_NOUSER)	no such list or domain
 *	77 (EX_NOPERM)	refused by list policy; stderr says why
 *	75 (EX_TEMPFAIL) anything else, including a bad command line or
 *			config: Postfix keeps the message and retries
 * SIGNALS
 *	SIGTERM, SIGINT, SIGHUP, SIGPIPE: 75, nothing recorded, and a
 *	sendmail still reading the message killed with SIGKILL; once the
 *	delivery acts they wait for its end. sendmail_timeout bounds
 *	sendmail the same way. See soarlist-deliver(8).
 */
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist-build.h"
#include "soarlist/config.h"
#include "soarlist/deliver.h"
#include "soarlist/maillog.h"
#include "soarlist/proc.h"

static char *opt_config;
static char *opt_sender;
static gboolean opt_version;

static const GOptionEntry entries[] = {
	{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &opt_config,
	  "Configuration file", "CONFIG" },
	/* FILENAME: the bytes as given, no locale conversion (an SMTPUTF8
	 * sender must not make every delivery fail) */
	{ "from", 'f', 0, G_OPTION_ARG_FILENAME, &opt_sender,
	  "Envelope sender (empty for the null sender)", "SENDER" },
	{ "version", 'V', 0, G_OPTION_ARG_NONE, &opt_version,
	  "Print the version and exit", NULL },
	G_OPTION_ENTRY_NULL,
};

/* Usage and config errors defer: the administrator fixes master.cf or the
 * config while Postfix keeps the mail. */
static int
usage_tempfail(const char *what)
{
	fprintf(stderr, "4.3.5 soarlist-deliver: %s\n", what);
	maillog_open("soarlist-deliver", NULL);
	maillog_error("%s", what);
	return EX_TEMPFAIL;
}

int
main(int argc, char **argv)
{
	GOptionContext *ctx = g_option_context_new("[--] RECIPIENT");
	GError *err = NULL;
	struct config *cfg;
	const char *recipient;
	int rc;

	/* first: a signal from here on defers, never kills us mid-way */
	proc_signals_init();
	g_option_context_add_main_entries(ctx, entries, NULL);
	g_option_context_set_summary(ctx, "Deliver the message on stdin to a "
					  "soarlist mailing list.");
	if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
		rc = usage_tempfail(err->message);
		g_error_free(err);
		g_option_context_free(ctx);
		return rc;
	}
	g_option_context_free(ctx);
	if (opt_version) {
		printf("soarlist-deliver %s\n", SOARLIST_VERSION);
		return EX_OK;
	}
	if (argc > 1 && strcmp(argv[1], "--") == 0) {
		argv++;
		argc--;
	}
	if (opt_sender == NULL || argc != 2)
		return usage_tempfail("usage: soarlist-deliver [-c CONFIG] "
				      "-f SENDER [--] RECIPIENT");
	recipient = argv[1];
	cfg = config_load(config_path(opt_config), &err);
	if (cfg == NULL) {
		rc = usage_tempfail(err->message);
		g_error_free(err);
		return rc;
	}
	maillog_open("soarlist-deliver", cfg->log_file);
	for (guint i = 0; i < cfg->warnings->len; i++)
		maillog_warning("%s",
				(char *)g_ptr_array_index(cfg->warnings, i));
	g_mime_init();
	{
		struct deliver_request req = {
			.cfg = cfg,
			.sender = opt_sender,
			.recipient = recipient,
			.in_fd = STDIN_FILENO,
		};
		rc = deliver_run(&req);
	}
	g_mime_shutdown();
	maillog_close();
	config_free(&cfg);
	return rc;
}
