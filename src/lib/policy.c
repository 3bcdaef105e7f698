/* policy.c - who may post to a list. Shared by the delivery agent,
 * `soarlist check` and the SMTP policy service.
 */
#include "soarlist/policy.h"

#include "soarlist/address.h"

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
	if (p == POSTING_MEMBERS)
		r->reason = g_strdup_printf("5.7.1 only members of %s may post "
					    "to it", ref->address);
	else
		r->reason = g_strdup_printf("5.7.1 only members of %s may post "
					    "to %s", ref->club->name,
					    ref->address);
}

/* 1 when AUTHOR may post under P, 0 when not, -1 on error. */
static int
policy_allowed(sqlite3 *db, const struct list_ref *ref, enum posting_policy p,
	       const char *author, GError **error)
{
	int rc;

	if (p == POSTING_ANYONE)
		return 1;
	rc = catalog_is_member(db, ref->id, author, error);
	if (rc != 0 || p != POSTING_WHITELIST)
		return rc;
	return catalog_is_whitelisted(db, ref->club_id, author, error);
}

int
policy_decide(sqlite3 *db, const struct list_ref *ref, const char *author,
	      struct policy_result *result_r, GError **error)
{
	enum posting_policy p = policy_effective(ref);
	int rc;

	result_r->decision = DECISION_DISTRIBUTE;
	result_r->reason = NULL;
	if (ref->settings.moderated) {
		/* the moderators decide; a non-member's post still meets the
		 * list's nonmember_action first */
		rc = policy_allowed(db, ref, p, author, error);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			result_r->decision = DECISION_HOLD;
			result_r->reason = g_strdup_printf(
				"%s is moderated: every post waits for a moderator",
				ref->address);
			return 0;
		}
		refuse(ref, p, result_r);
		return 0;
	}
	if (p == POSTING_ANYONE) {
		result_r->reason = g_strdup(ref->bypass
			? "the list accepts posts from anyone (bypass list)"
			: "the list accepts posts from anyone");
		return 0;
	}
	rc = catalog_is_member(db, ref->id, author, error);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		result_r->reason = g_strdup_printf("%s is a member of %s",
						   author, ref->address);
		return 0;
	}
	if (p == POSTING_WHITELIST) {
		rc = catalog_is_whitelisted(db, ref->club_id, author, error);
		if (rc < 0)
			return -1;
		if (rc == 1) {
			result_r->reason = g_strdup_printf(
				"%s is on the whitelist of %s", author,
				ref->club->name);
			return 0;
		}
	}
	refuse(ref, p, result_r);
	return 0;
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
	case DECISION_REJECT: return "reject";
	case DECISION_DISCARD: return "discard";
	case DECISION_HOLD: return "hold";
	case DECISION_DISTRIBUTE: break;
	}
	return "distribute";
}
