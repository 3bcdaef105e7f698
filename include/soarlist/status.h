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
	const struct club_config *club;
	gint64 last_success; /* unix time, 0: never */
	char *last_error;    /* of the newest run when it failed, else NULL */
	guint lists, members;
	/* struct api_unusable *, by name: lists of the last successful sync
	 * whose names cannot be addresses (never NULL) */
	GPtrArray *unusable;
};

/* One entry per club of CFG, in config order. Returns a new array of
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
