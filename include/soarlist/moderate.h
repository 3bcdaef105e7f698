/* moderate.h - acting on a held post: approve (the post goes through
 * exactly the delivery agent's path, the posting policy skipped), reject
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
#define MODERATE_STATUS_ERROR (g_quark_from_static_string("soarlist-moderate-status"))

enum moderate_action {
	MODERATE_APPROVE,
	MODERATE_REJECT,
	MODERATE_DISCARD,
};

/* Act on held post ROW. REASON (may be NULL) goes to the sender with a
 * rejection. On success the post is forgotten and 0 is returned; on
 * failure it stays held and -1 is returned with *error. */
int moderate(const struct config *cfg, sqlite3 *db, const struct held_row *row,
	     enum moderate_action action, const char *reason, GError **error);

const char *moderate_action_name(enum moderate_action a);

#endif
