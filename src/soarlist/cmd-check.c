/* cmd-check.c - soarlist check SENDER LIST@DOMAIN [FILE]: the decision the
 * delivery agent would take for a post from SENDER, and why. With FILE (a
 * message, "-" for standard input), SENDER is its envelope sender and the
 * message's From and Authentication-Results count as for the agent
 * (policy_decide_post); without, SENDER is the author too. Exit 0 when the
 * post would be distributed, 1 when not (or no such list), 64 on a usage
 * error or a message that cannot be read, 75 when the database is busy. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "soarlist/address.h"
#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/message.h"
#include "soarlist/policy.h"
#include "soarlist/spool.h"

/* Read the message in PATH ("-": standard input) into *spool_r and *msg_r.
 * 0, or a CLI status after saying why. */
static int
read_message(const struct config *cfg, const char *path,
	     struct spool *spool_r, struct message *msg_r)
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
print_result(const struct list_ref *ref, const char *sender,
	     const struct policy_result *pr, gboolean with_message)
{
	printf("%s: %s\n", decision_name(pr->decision), pr->reason);
	if (!with_message && pr->decision == DECISION_DISTRIBUTE &&
	    ref->settings.require_auth == REQUIRE_AUTH_DMARC &&
	    policy_effective(ref) != POSTING_ANYONE &&
	    !policy_is_app_sender(ref->club, sender))
		printf("note: %s has require_auth = dmarc: a post is "
		       "distributed only if its From domain is authenticated, "
		       "else %s\n", ref->address,
		       ref->settings.unauthenticated_action == UNAUTH_REJECT
		       ? "rejected" : "held");
}

int
cmd_check(struct cli *cli, int argc, char **argv)
{
	struct list_ref ref = { 0 };
	struct policy_result pr = { 0 };
	struct spool spool = { .fd = -1 };
	struct message msg = { 0 };
	GError *err = NULL;
	const char *why = NULL;
	g_autofree char *sender = NULL, *author = NULL;
	int rc = cli_parse(cli, NULL, 2, 3, &argc, &argv);

	if (rc != 0)
		return rc;
	sender = address_normalize(argv[1], &why);
	if (sender == NULL) {
		cli_error("check: %s is not a valid address: %s", argv[1], why);
		return CLI_USAGE;
	}
	if ((rc = cli_open(cli)) != 0 ||
	    (argc > 3 && (rc = read_message(cli->cfg, argv[3], &spool,
					    &msg)) != 0) ||
	    (rc = cli_resolve(cli, argv[2], &ref)) != 0)
		goto out;
	author = argc > 3 ? message_author(&msg) : g_strdup(sender);
	/* without a message, what the policy service decides at RCPT TO */
	if (db_exec(cli->db, "BEGIN", &err) < 0 ||
	    (argc > 3 ? policy_decide_post(cli->db, cli->cfg, &ref, sender,
					   msg.headers, author, &pr, &err)
		      : policy_decide(cli->db, &ref, sender, author, NULL,
				      &pr, &err)) < 0) {
		rc = cli_fail(&err, NULL);
	} else {
		print_result(&ref, sender, &pr, argc > 3);
		rc = pr.decision == DECISION_DISTRIBUTE ? CLI_OK : CLI_FAIL;
	}
	sqlite3_exec(cli->db, "COMMIT", NULL, NULL, NULL);
out:
	policy_result_clear(&pr);
	list_ref_clear(&ref);
	if (argc > 3 && msg.headers != NULL)
		message_clear(&msg);
	spool_close(&spool);
	return rc;
}
