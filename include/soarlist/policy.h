/* policy.h - who may post to a list. One module, used by soarlist-deliver,
 * `soarlist check` and the policy service, so they never disagree.
 */
#ifndef SOARLIST_POLICY_H
#define SOARLIST_POLICY_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/auth.h"
#include "soarlist/catalog.h"

enum decision {
	DECISION_DISTRIBUTE = 0,
	DECISION_REJECT,
	DECISION_DISCARD,
	DECISION_HOLD,
};

struct policy_result {
	enum decision decision;
	/* one printable line: for a rejection "5.7.1 only members of ... may
	 * post to ...", otherwise why the post was accepted or held */
	char *reason;
	/* REJECT, DISCARD, HOLD: why, as a label (static): "nonmember",
	 * "unauthenticated" or "moderated" */
	const char *cause;
};

/* The effective posting policy of REF (the config override, else anyone on
 * bypass lists and the whitelist on others). */
enum posting_policy policy_effective(const struct list_ref *ref);

/* Decide whether a post may go to REF. SENDER is the envelope sender as
 * given (may be NULL or ""), AUTHOR the normalised From address (NULL when
 * the message has none we can read, or at RCPT TO). The post counts as
 * coming from either: the app's sender (policy_is_app_sender) always
 * passes; otherwise the author, else the envelope sender, must be allowed
 * by the list's posting policy. On a list with require_auth = dmarc that
 * does not accept anyone, AUTH (auth_evaluate() of the message) must also
 * show the From domain authenticated, and the envelope sender's domain
 * too when only the envelope sender is allowed; else the post is held or
 * rejected as unauthenticated_action says. AUTH is NULL where the headers
 * are not known yet (the policy service at RCPT TO, `soarlist check`):
 * then only what the envelope shows is decided. Returns 0 and fills
 * *result_r (clear with policy_result_clear) or -1 with *error. */
int policy_decide(sqlite3 *db, const struct list_ref *ref, const char *sender,
		  const char *author, const struct post_auth *auth,
		  struct policy_result *result_r, GError **error);

/* policy_decide() for a whole message, as the delivery agent decides it:
 * HEADERS are its headers (their Authentication-Results are read where
 * REF has require_auth = dmarc, with CFG's authserv_id), AUTHOR its
 * normalised From address (may be NULL). The one helper of the delivery
 * agent and of `soarlist check` with a message. */
int policy_decide_post(sqlite3 *db, const struct config *cfg,
		       const struct list_ref *ref, const char *sender,
		       GMimeHeaderList *headers, const char *author,
		       struct policy_result *result_r, GError **error);

/* TRUE when SENDER is noreply@ one of CLUB's domains (any case): the M2S
 * app's own sender, accepted on every list of the club and exempt from From
 * rewriting. Only the app can use it (the policy service refuses it to
 * every other client). */
gboolean policy_is_app_sender(const struct club_config *club,
			      const char *sender);

/* The club SENDER is the app's sender of, or NULL. Borrowed from CFG. */
const struct club_config *policy_app_sender_club(const struct config *cfg,
						 const char *sender);

void policy_result_clear(struct policy_result *r);

/* g_auto(PolicyResult) pr = { 0 }; calls policy_result_clear() at the end
 * of the scope. The typedef is for g_auto(), which pastes one identifier. */
typedef struct policy_result PolicyResult;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PolicyResult, policy_result_clear)

const char *decision_name(enum decision d);

#endif
