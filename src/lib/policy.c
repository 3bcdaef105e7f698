/* policy.c - who may post to a list. Shared by the delivery agent,
 * `soarlist check` and the SMTP policy service, so that the three never
 * disagree.
 *
 * A post has two senders: the envelope sender (all the policy service sees
 * at RCPT TO) and the author in From (what members see). The post counts as
 * coming from whichever of them the list allows, as Mailman checks every
 * sender of a message: so whatever the delivery agent would refuse, the
 * policy service has already refused at RCPT TO, and nothing it refuses
 * ever turns into a bounce (backscatter). The M2S app's own envelope
 * sender, noreply@ a domain of the club, may post to every list of its
 * club: the SMTP layer lets only the app use it.
 */
#include "soarlist/policy.h"

#include <string.h>

#include "soarlist/address.h"
#include "soarlist/auth.h"

#define APP_LOCAL "noreply"

gboolean
policy_is_app_sender(const struct club_config *club, const char *sender)
{
	const char *at;

	if (club == NULL || sender == NULL ||
	    (at = strrchr(sender, '@')) == NULL)
		return FALSE;
	if ((size_t)(at - sender) != strlen(APP_LOCAL) ||
	    g_ascii_strncasecmp(sender, APP_LOCAL, strlen(APP_LOCAL)) != 0)
		return FALSE;
	for (char **d = club->domains; *d != NULL; d++)
		if (g_ascii_strcasecmp(at + 1, *d) == 0)
			return TRUE;
	return FALSE;
}

const struct club_config *
policy_app_sender_club(const struct config *cfg, const char *sender)
{
	const char *at = sender ? strrchr(sender, '@') : NULL;
	const struct club_config *club;

	if (at == NULL)
		return NULL;
	club = config_club_by_domain(cfg, at + 1);
	return policy_is_app_sender(club, sender) ? club : NULL;
}

enum posting_policy
policy_effective(const struct list_ref *ref)
{
	if (ref->settings.posting != POSTING_DEFAULT)
		return ref->settings.posting;
	return ref->bypass ? POSTING_ANYONE : POSTING_WHITELIST;
}

static void
refuse(const struct list_ref *ref, enum posting_policy p,
       struct policy_result *r)
{
	switch (ref->settings.nonmember_action) {
	case NONMEMBER_DISCARD:
		r->decision = DECISION_DISCARD;
		break;
	case NONMEMBER_HOLD:
		r->decision = DECISION_HOLD;
		break;
	case NONMEMBER_REJECT:
		r->decision = DECISION_REJECT;
		break;
	}
	r->cause = "nonmember";
	if (p == POSTING_MEMBERS)
		r->reason = g_strdup_printf("5.7.1 only members of %s may post "
					    "to it",
					    ref->address);
	else
		r->reason = g_strdup_printf("5.7.1 only members of %s may post "
					    "to %s",
					    ref->club->name, ref->address);
}

/* 1 when ADDRESS may post under P, with why in *why_r (newly allocated);
 * 0 when not; -1 on error. */
static int
allowed(sqlite3 *db, const struct list_ref *ref, enum posting_policy p,
	const char *address, char **why_r, GError **error)
{
	int rc;

	if (p == POSTING_ANYONE) {
		*why_r = g_strdup(
			ref->bypass
				? "the list accepts posts from anyone (bypass list)"
				: "the list accepts posts from anyone");
		return 1;
	}
	if (address == NULL)
		return 0;
	rc = catalog_is_member(db, ref->id, address, error);
	if (rc == 1)
		*why_r = g_strdup_printf("%s is a member of %s", address,
					 ref->address);
	if (rc != 0 || p != POSTING_WHITELIST)
		return rc;
	rc = catalog_is_whitelisted(db, ref->club_id, address, error);
	if (rc == 1)
		*why_r = g_strdup_printf("%s is on the whitelist of %s",
					 address, ref->club->name);
	return rc;
}

/* Which of the two senders the list allows: a bit each. */
#define ALLOWED_AUTHOR 1
#define ALLOWED_ENVELOPE 2

/* ALLOWED_* bits for the author and the envelope sender (0 when neither
 * may post), with why the first allowed one may in *why_r; -1 on error. */
static int
who_is_allowed(sqlite3 *db, const struct list_ref *ref, const char *sender,
	       const char *author, char **why_r, GError **error)
{
	enum posting_policy p = policy_effective(ref);
	g_autofree char *envelope = sender && *sender
					    ? address_normalize(sender, NULL)
					    : NULL;
	char *why = NULL;
	int rc, bits = 0;

	rc = allowed(db, ref, p, author, why_r, error);
	if (rc < 0)
		return -1;
	if (rc == 1)
		bits |= ALLOWED_AUTHOR;
	if (envelope == NULL || g_strcmp0(envelope, author) == 0) {
		if (rc == 1 && envelope != NULL)
			bits |= ALLOWED_ENVELOPE;
		return bits;
	}
	rc = allowed(db, ref, p, envelope, &why, error);
	if (rc < 0)
		return -1;
	if (rc == 1)
		bits |= ALLOWED_ENVELOPE;
	if (*why_r == NULL)
		*why_r = why;
	else
		g_free(why);
	return bits;
}

/* require_auth = dmarc: a post counts as a member's only when its From
 * domain is authenticated, and, when only the envelope sender is a
 * member, SPF has also passed for the envelope sender's own domain (the
 * envelope is as easy to forge as From). TRUE when it counts. */
static gboolean
authenticated(const struct list_ref *ref, int who, const struct post_auth *auth)
{
	if (ref->settings.require_auth != REQUIRE_AUTH_DMARC || auth == NULL ||
	    policy_effective(ref) == POSTING_ANYONE)
		return TRUE;
	if (!auth->from_ok)
		return FALSE;
	return (who & ALLOWED_AUTHOR) != 0 || auth->envelope_ok;
}

static void
unauthenticated(const struct list_ref *ref, const struct post_auth *auth,
		struct policy_result *r)
{
	r->decision = ref->settings.unauthenticated_action == UNAUTH_REJECT
			      ? DECISION_REJECT
			      : DECISION_HOLD;
	r->cause = "unauthenticated";
	r->reason = g_strdup_printf(
		"5.7.1 %s requires an authenticated From domain "
		"(require_auth = dmarc): %s%s",
		ref->address, auth->detail ? auth->detail : "not authenticated",
		auth->from_ok ? "; the envelope sender is not authenticated"
			      : "");
}

int
policy_decide(sqlite3 *db, const struct list_ref *ref, const char *sender,
	      const char *author, const struct post_auth *auth,
	      struct policy_result *result_r, GError **error)
{
	char *why = NULL;
	int who;

	result_r->decision = DECISION_DISTRIBUTE;
	result_r->reason = NULL;
	result_r->cause = NULL;
	if (policy_is_app_sender(ref->club, sender)) {
		/* authenticated by SMTP: only the app may use it */
		result_r->reason = g_strdup_printf(
			"%s is the Manage2Soar application's own sender",
			sender);
		return 0;
	}
	who = who_is_allowed(db, ref, sender, author, &why, error);
	if (who < 0)
		return -1;
	if (who == 0) {
		refuse(ref, policy_effective(ref), result_r);
		return 0;
	}
	if (!authenticated(ref, who, auth)) {
		g_free(why);
		unauthenticated(ref, auth, result_r);
		return 0;
	}
	if (ref->settings.moderated) {
		/* the moderators decide; a non-member's post still met the
		 * list's nonmember_action above */
		g_free(why);
		result_r->decision = DECISION_HOLD;
		result_r->cause = "moderated";
		result_r->reason = g_strdup_printf(
			"%s is moderated: every post waits for a moderator",
			ref->address);
		return 0;
	}
	if (auth != NULL && ref->settings.require_auth == REQUIRE_AUTH_DMARC &&
	    policy_effective(ref) != POSTING_ANYONE && auth->detail != NULL) {
		char *both = g_strdup_printf("%s; %s", why, auth->detail);
		g_free(why);
		why = both;
	}
	result_r->reason = why;
	return 0;
}

int
policy_decide_post(sqlite3 *db, const struct config *cfg,
		   const struct list_ref *ref, const char *sender,
		   GMimeHeaderList *headers, const char *author,
		   struct policy_result *result_r, GError **error)
{
	struct post_auth auth = { 0 };
	gboolean need = ref->settings.require_auth == REQUIRE_AUTH_DMARC;
	int rc;

	if (need) /* only then: libpsl is loaded on demand */
		auth_evaluate(headers, cfg->authserv_id, sender, &auth);
	rc = policy_decide(db, ref, sender, author, need ? &auth : NULL,
			   result_r, error);
	post_auth_clear(&auth);
	return rc;
}

void
policy_result_clear(struct policy_result *r)
{
	g_clear_pointer(&r->reason, g_free);
}

const char *
decision_name(enum decision d)
{
	switch (d) {
	case DECISION_REJECT:
		return "reject";
	case DECISION_DISCARD:
		return "discard";
	case DECISION_HOLD:
		return "hold";
	case DECISION_DISTRIBUTE:
		break;
	}
	return "distribute";
}
