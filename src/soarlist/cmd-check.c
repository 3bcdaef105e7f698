/* cmd-check.c - soarlist check SENDER LIST@DOMAIN [FILE]: the decision the
 * delivery agent would take for a post from SENDER, and why. With FILE (a
 * message, "-" for standard input), SENDER is its envelope sender and the
 * decision is the agent's own (decide.h: loops, auto-replies, size, From,
 * Authentication-Results, members); without, what the policy service
 * decides at RCPT TO, SENDER being the author too. Exit 0 when the
 * post would be distributed, 1 when not (or no such list), 64 on a usage
 * error or a message that cannot be read, 75 when the database is busy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "soarlist/address.h"
#include "soarlist/decide.h"
#include "soarlist/message.h"
#include "soarlist/policy.h"
#include "soarlist/recipient.h"
#include "soarlist/spool.h"

/* Read the message in PATH ("-": standard input) into *spool_r and *msg_r.
 * 0, or a CLI status after saying why. */
static int
read_message(const struct config *cfg, const char *path, struct spool *spool_r,
	     struct message *msg_r)
{
	GError *err = NULL;
	int fd = g_strcmp0(path, "-") == 0 ? 0
					   : open(path, O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (fd < 0) {
		cli_error("check: cannot open %s: %s", path, g_strerror(errno));
		return CLI_USAGE;
	}
	if (spool_from_fd(fd, cfg->spool_dir, spool_r, &err) < 0 ||
	    message_parse(spool_r->fd, spool_r->size, msg_r, &err) < 0) {
		cli_error("check: cannot read the message %s: %s", path,
			  err->message);
		g_error_free(err);
		rc = CLI_USAGE;
	}
	if (fd != 0)
		close(fd);
	return rc;
}

static void
print_verdict(const struct verdict *v, const char *sender,
	      gboolean with_message)
{
	const struct list_ref *ref = &v->list;

	printf("%s: %s\n", outcome_name(v->outcome), v->line ? v->line : "");
	if (!with_message && v->outcome == OUTCOME_DISTRIBUTE &&
	    ref->settings.require_auth == REQUIRE_AUTH_DMARC &&
	    policy_effective(ref) != POSTING_ANYONE &&
	    !policy_is_app_sender(ref->club, sender))
		printf("note: %s has require_auth = dmarc: a post is "
		       "distributed only if its From domain is authenticated, "
		       "else %s\n",
		       ref->address,
		       ref->settings.unauthenticated_action == UNAUTH_REJECT
			       ? "rejected"
			       : "held");
}

int
cmd_check(struct cli *cli, int argc, char **argv)
{
	struct spool spool = { .fd = -1 };
	struct message msg = { 0 };
	g_auto(Verdict) v = { 0 };
	g_auto(Recipient) r = { 0 };
	GError *err = NULL;
	const char *why = NULL;
	g_autofree char *sender = NULL;
	int rc = cli_parse(cli, NULL, 2, 3, &argc, &argv);

	if (rc != 0)
		return rc;
	sender = address_normalize(argv[1], &why);
	if (sender == NULL) {
		cli_error("check: %s is not a valid address: %s", argv[1], why);
		return CLI_USAGE;
	}
	if (recipient_parse(argv[2], &r) < 0 || r.kind != RECIPIENT_POST) {
		cli_error("%s: not a list address (LIST@DOMAIN)", argv[2]);
		return CLI_USAGE;
	}
	if ((rc = cli_open(cli)) != 0 ||
	    (argc > 3 &&
	     (rc = read_message(cli->cfg, argv[3], &spool, &msg)) != 0))
		goto out;
	{
		/* without a message, what the policy service decides at
		 * RCPT TO; with one, what the delivery agent decides */
		struct decide_input in = {
			.cfg = cli->cfg,
			.recipient = argv[2],
			.sender = sender,
			.msg = argc > 3 ? &msg : NULL,
			.size = argc > 3 ? (gint64)spool.size : -1,
		};
		if (decide_resolve(cli->db, &in, &v, &err) < 0) {
			rc = cli_fail(&err, NULL);
		} else if (v.outcome == OUTCOME_NOUSER) {
			cli_error("%s: no such list", argv[2]);
			rc = CLI_FAIL;
		} else {
			print_verdict(&v, sender, argc > 3);
			rc = v.outcome == OUTCOME_DISTRIBUTE ? CLI_OK
							     : CLI_FAIL;
		}
	}
out:
	if (argc > 3 && msg.headers != NULL)
		message_clear(&msg);
	spool_close(&spool);
	return rc;
}
