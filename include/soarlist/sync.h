/* sync.h - fetching every club's lists from M2S (libcurl multi, in
 * parallel, with timeouts and bounded retries) and storing what changed,
 * one transaction per club, behind a shrink guard.
 */
#ifndef SOARLIST_SYNC_H
#define SOARLIST_SYNC_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/api.h"
#include "soarlist/config.h"

struct sync_result;

struct sync_options {
	gboolean force;   /* apply even what the shrink guard holds back */
	gboolean dry_run; /* compute the changes, write nothing */
	gboolean verbose; /* describe each transfer on stderr (never the key) */
	/* called as each club finishes (may be NULL) */
	void (*progress)(const struct sync_result *r, void *user);
	void *user;
};

struct sync_result {
	const struct club_config *club;
	gboolean ok;
	char *error; /* one line when !ok */
	/* the database was busy or locked: !ok, or ok but not recorded in
	 * the sync history */
	gboolean db_busy;
	long http_status; /* of the last attempt, 0 when none */
	guint attempts;
	guint lists, members, whitelisted, dropped;
	guint added, removed; /* list memberships */
	gboolean unchanged;   /* the same answer as stored: nothing written */
	GPtrArray *warnings;  /* dropped entries, may be NULL */
	/* struct api_unusable *: the lists M2S names that have no address
	 * here (stored for status and doctor); may be NULL */
	GPtrArray *unusable;
	GPtrArray *diff; /* "+3 \u22121 LIST@DOMAIN" per changed list */
};

/* TRUE when a sync of the clubs named in ONLY (a NULL-terminated array;
 * NULL: all) takes club C: named, and not suspended (soarlist.conf(5)). */
gboolean sync_takes(const struct club_config *c, char **only);

/* Fetch and store the clubs in CFG that sync_takes (all, or those named
 * in ONLY, when non-NULL; never a suspended one). Returns an array of struct
 * sync_result * (free with g_ptr_array_unref), one per club in config
 * order, or NULL with *error when nothing could be attempted. */
GPtrArray *sync_run(sqlite3 *db, const struct config *cfg, char **only,
		    const struct sync_options *opts, GError **error);

/* Store DATA (the answer whose SHA-256 is SHA, may be NULL) for the club
 * of R: only the rows that changed, in one transaction, unless the shrink
 * guard holds it back (then nothing is written and *error says why). Fills
 * R's counts and diff. Returns 0 or -1 with *error. */
int sync_store(sqlite3 *db, const struct config *cfg,
	       const struct api_data *data, const char *sha,
	       const struct sync_options *opts, struct sync_result *r,
	       GError **error);

/* When the club of R last stored an answer whose SHA-256 was SHA (and not
 * OPTS->force), fill R's counts from the database and mark it unchanged:
 * the same bytes cannot hold a change, so they need not even be parsed.
 * Returns 1 then, else 0. */
int sync_store_unchanged(sqlite3 *db, const char *sha,
			 const struct sync_options *opts,
			 struct sync_result *r);

/* Record a sync attempt in sync_run. Returns 0 or -1. */
int sync_record(sqlite3 *db, const struct sync_result *r, gint64 started,
		GError **error);

#endif
