/* policy.h - who may post to a list. One module, used by soarlist-deliver,
 * `soarlist check` and the policy service, so they never disagree.
 */
#ifndef SOARLIST_POLICY_H
#define SOARLIST_POLICY_H

#include <glib.h>
#include <sqlite3.h>

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
};

/* The effective posting policy of REF (the config override, else anyone on
 * bypass lists and the whitelist on others). */
enum posting_policy policy_effective(const struct list_ref *ref);

/* Decide whether AUTHOR (a normalised address, or NULL when the message has
 * none we can read) may post to REF. Returns 0 and fills *result_r (clear
 * with policy_result_clear) or -1 with *error. */
int policy_decide(sqlite3 *db, const struct list_ref *ref, const char *author,
		  struct policy_result *result_r, GError **error);

void policy_result_clear(struct policy_result *r);

const char *decision_name(enum decision d);

#endif
