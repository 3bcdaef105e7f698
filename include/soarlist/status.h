/* status.h - the sync state of each club, for `soarlist status` and
 * `soarlist doctor`: the last good sync, the last error, the counts, and
 * the lists M2S names that cannot have an address here. */
#ifndef SOARLIST_STATUS_H
#define SOARLIST_STATUS_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/api.h"
#include "soarlist/config.h"

struct club_status {
	/* NULL for a club the database keeps that the config no longer
	 * names (removed, not purged: state "removed") */
	const struct club_config *club;
	char *slug;
	const char *state;   /* "active", "suspended" or "removed" */
	guint held;          /* held posts */
	gint64 last_success; /* unix time, 0: never */
	char *last_error;    /* of the newest run when it failed, else NULL */
	guint lists, members;
	/* struct api_unusable *, by name: lists of the last successful sync
	 * whose names cannot be addresses (never NULL) */
	GPtrArray *unusable;
};

/* One entry per club of CFG, in config order, then one per club the
 * database keeps that CFG does not name, by slug. Returns a new array of
 * struct club_status * (free with g_ptr_array_unref) or NULL with *error. */
GPtrArray *status_collect(sqlite3 *db, const struct config *cfg,
			  GError **error);

/* The lists that the last successful sync of club SLUG found M2S naming
 * but that cannot have an address here ("Board Members"), sorted by name.
 * Returns a new array of struct api_unusable * (free with
 * g_ptr_array_unref; empty when there are none or the club never synced)
 * or NULL with *error. */
GPtrArray *status_unusable_lists(sqlite3 *db, const char *slug, GError **error);

#endif
