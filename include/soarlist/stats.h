/* stats.h - per list and day, what the delivery agent did with each
 * message (schema 012, list_stat): the figures of `soarlist metrics`
 * (soarlist_posts_total and friends) and `soarlist stats`.
 *
 * A delivery adds to its row in the transaction that records what it did
 * (the claim of a distributed post, a held post, a bounce score), or in
 * a statement of its own when it records nothing else (a refusal, a
 * drop): never a second transaction. A deferral records nothing.
 */
#ifndef SOARLIST_STATS_H
#define SOARLIST_STATS_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/decide.h"

/* One message (or one bounce, one address disabled) to count. */
struct stat_event {
	gint64 club_id;
	const char *list;    /* the list's name */
	const char *outcome; /* a label: stats_outcome(), or below */
	guint recipients;    /* copies sent: 'distributed' only */
};

/* the bounce labels, counted by bounce.c per address scored */
#define STATS_BOUNCE_SCORED "bounce_scored"
#define STATS_ADDRESS_DISABLED "address_disabled"

/* The label V's message is counted under ("distributed", "held_moderated",
 * "refused_nonmember", "dropped_duplicate"...), or NULL when
 * V is no message to a list (no list resolved, a bounce, a moderator's
 * reply). The one table of labels. */
const char *stats_outcome(const struct verdict *v);

/* Fill *EV for V (its list, stats_outcome(), its recipients). FALSE when
 * V is not counted. */
gboolean stats_event(const struct verdict *v, struct stat_event *ev);

/* Prepare stats_count()'s statement into DB's cache (db_stmt), so that
 * counting after sendmail allocates nothing through GLib (seen.c). */
void stats_prepare(sqlite3 *db);

/* Add EV to today's (UTC) row: one statement, inside the caller's
 * transaction when one is open. Returns 0 or -1 with *error. */
int stats_count(sqlite3 *db, const struct stat_event *ev, GError **error);

#endif
