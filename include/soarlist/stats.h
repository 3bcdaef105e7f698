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

/* What each list did over the last days, for `soarlist stats`. */
enum stats_kind {
	STATS_DISTRIBUTED, /* posts sent to the members */
	STATS_RECIPIENTS,  /* the copies of them */
	STATS_HELD,
	STATS_REFUSED,
	STATS_DROPPED,
	STATS_BOUNCES, /* bounces that scored */
	STATS_KINDS,
};

struct list_traffic {
	char *club, *list;
	guint days;
	/* per kind, per day, oldest first: DAYS values each */
	guint64 *per_day[STATS_KINDS];
	guint64 total[STATS_KINDS];
};

/* The names of the kinds ("distributed", "recipients"...), for JSON. */
extern const char *const stats_kind_names[STATS_KINDS];

/* The traffic of every list with a row in the DAYS UTC days that end
 * with today, by club and list: a new array of struct list_traffic *
 * (freed with it), or NULL with *error. *FIRST_DAY_R (may be NULL)
 * receives the first day, YYYY-MM-DD, newly allocated. */
GPtrArray *stats_traffic(sqlite3 *db, guint days, char **first_day_r,
			 GError **error);

/* A sparkline of the N values V: one character per value, a middle dot for
 * 0 and the eight block elements U+2581..U+2588 scaled to the largest;
 * with ASCII, " .:-=+*#" instead (the first for 0). Newly allocated. */
char *stats_sparkline(const guint64 *v, guint n, gboolean ascii);

#endif
