/* moderate.h - acting on a held post: approve (the post goes through
 * exactly the delivery agent's act(), the posting policy skipped), reject
 * (the sender is told), discard. Used by `soarlist approve|reject|discard`
 * and by a moderator's reply to LIST-request+TOKEN@DOMAIN.
 */
#ifndef SOARLIST_MODERATE_H
#define SOARLIST_MODERATE_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"
#include "soarlist/held.h"

/* the error domain of an approval the delivery agent did not distribute;
 * the code is its exit status (sysexits) */
#define MODERATE_STATUS_ERROR \
	(g_quark_from_static_string("soarlist-moderate-status"))

/* the error domain of moderate()'s other failures */
#define MODERATE_ERROR (g_quark_from_static_string("soarlist-moderate"))

enum moderate_error {
	MODERATE_ERROR_FAILED,  /* the action failed: the post stays held */
	MODERATE_ERROR_HANDLED, /* someone else acted on it already */
	MODERATE_ERROR_BUSY,    /* someone else is acting on it right now */
	MODERATE_ERROR_REMAINS, /* the action was done, but the post could
				 * not be forgotten: do not act again */
};

enum moderate_action {
	MODERATE_APPROVE,
	MODERATE_REJECT,
	MODERATE_DISCARD,
};

/* How an approved post is distributed: deliver_approved() (deliver.h),
 * given by the caller so that moderation does not depend on the delivery
 * agent it is part of. 0, or -1 with *error (MODERATE_STATUS_ERROR when
 * the post was not distributed, its code the agent's exit status). */
typedef int (*moderate_distribute_fn)(const struct config *cfg, sqlite3 *db,
				      const struct held_row *row,
				      GError **error);

/* Act on held post ROW, exactly once: the post is claimed first
 * (held_claim), so of several moderators acting on it at once one acts and
 * the others get MODERATE_ERROR_HANDLED or MODERATE_ERROR_BUSY. REASON (may
 * be NULL) goes to the sender with a rejection. On success the post is
 * forgotten and 0 is returned; on failure -1 with *error: the post stays
 * held (its claim given back), except with MODERATE_ERROR_REMAINS, when
 * the action was done. DISTRIBUTE distributes an approved post. */
int moderate(const struct config *cfg, sqlite3 *db, const struct held_row *row,
	     enum moderate_action action, const char *reason,
	     moderate_distribute_fn distribute, GError **error);

const char *moderate_action_name(enum moderate_action a);

#endif
