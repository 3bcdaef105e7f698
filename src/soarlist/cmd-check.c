/* cmd-check.c - soarlist check SENDER LIST@DOMAIN: the decision the
 * delivery agent would take for a post from SENDER, and why. Exit 0 when
 * the post would be distributed, 1 when not (or no such list), 64 on a
 * usage error, 75 when the database is busy. */
#include <stdio.h>

#include "cli.h"
#include "soarlist/address.h"
#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/policy.h"

int
cmd_check(struct cli *cli, int argc, char **argv)
{
	struct list_ref ref = { 0 };
	struct policy_result pr = { 0 };
	GError *err = NULL;
	const char *why = NULL;
	char *sender;
	int rc = cli_parse(cli, NULL, 2, 2, &argc, &argv);

	if (rc != 0)
		return rc;
	sender = address_normalize(argv[1], &why);
	if (sender == NULL) {
		cli_error("check: %s is not a valid address: %s", argv[1], why);
		return CLI_USAGE;
	}
	if ((rc = cli_open(cli)) != 0 ||
	    (rc = cli_resolve(cli, argv[2], &ref)) != 0) {
		g_free(sender);
		return rc;
	}
	if (db_exec(cli->db, "BEGIN", &err) < 0 ||
	    policy_decide(cli->db, &ref, sender, sender, NULL, &pr, &err) < 0) {
		rc = cli_fail(&err, NULL);
	} else {
		printf("%s: %s\n", decision_name(pr.decision), pr.reason);
		if (pr.decision == DECISION_DISTRIBUTE &&
		    ref.settings.require_auth == REQUIRE_AUTH_DMARC &&
		    policy_effective(&ref) != POSTING_ANYONE &&
		    !policy_is_app_sender(ref.club, sender))
			printf("note: %s has require_auth = dmarc: a post is "
			       "distributed only if its From domain is "
			       "authenticated, else %s\n", ref.address,
			       ref.settings.unauthenticated_action ==
			       UNAUTH_REJECT ? "rejected" : "held");
		rc = pr.decision == DECISION_DISTRIBUTE ? CLI_OK : CLI_FAIL;
	}
	sqlite3_exec(cli->db, "COMMIT", NULL, NULL, NULL);
	policy_result_clear(&pr);
	list_ref_clear(&ref);
	g_free(sender);
	return rc;
}
