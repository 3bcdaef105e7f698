/* status.h - the sync state of each club, for `soarlist status`. */
#ifndef SOARLIST_STATUS_H
#define SOARLIST_STATUS_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

struct club_status {
	const struct club_config *club;
	gint64 last_success; /* unix time, 0: never */
	char *last_error;    /* of the newest run when it failed, else NULL */
	guint lists, members;
};

/* One entry per club of CFG, in config order. Returns a new array of
 * struct club_status * (free with g_ptr_array_unref) or NULL with *error. */
GPtrArray *status_collect(sqlite3 *db, const struct config *cfg,
			  GError **error);

#endif
