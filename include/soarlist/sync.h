/* sync.h - fetching every club's lists from M2S (libcurl multi, in
 * parallel) and replacing each club's cached data in one transaction.
 */
#ifndef SOARLIST_SYNC_H
#define SOARLIST_SYNC_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/api.h"
#include "soarlist/config.h"

struct sync_result {
	const struct club_config *club;
	gboolean ok;
	char *error; /* one line when !ok */
	guint lists, members, whitelisted, dropped;
	GPtrArray *warnings; /* dropped entries, may be NULL */
};

/* Fetch and store every club in CFG (or only ONLY_SLUG when non-NULL).
 * Returns an array of struct sync_result * (free with g_ptr_array_unref),
 * one per club, or NULL with *error when nothing could be attempted. */
GPtrArray *sync_run(sqlite3 *db, const struct config *cfg,
		    const char *only_slug, GError **error);

/* Replace the stored data of CLUB with DATA in one transaction. Returns 0 or
 * -1 with *error (nothing changed then). */
int sync_store(sqlite3 *db, const struct club_config *club,
	       const struct api_data *data, GError **error);

/* Record a sync attempt in sync_run. Returns 0 or -1. */
int sync_record(sqlite3 *db, const struct sync_result *r, gint64 started,
		GError **error);

#endif
