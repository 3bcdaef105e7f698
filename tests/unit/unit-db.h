/* unit-db.h - for the unit tests that need the synced cache: a new
 * database with the current schema in a scratch directory, and an M2S
 * answer stored into it as `soarlist sync` stores it.
 */
#ifndef SOARLIST_TEST_UNIT_DB_H
#define SOARLIST_TEST_UNIT_DB_H

#include <glib.h>
#include <string.h>

#include "soarlist/api.h"
#include "soarlist/config.h"
#include "soarlist/db.h"
#include "soarlist/sync.h"

/* A new database (db_open, DB_CREATE) in a new scratch directory named
 * after NAME: *TMPDIR_R (newly allocated; the caller removes it). */
static inline sqlite3 *
unit_db_create(const char *name, char **tmpdir_r)
{
	GError *err = NULL;
	char *tmpl = g_strdup_printf("soarlist-test-%s-XXXXXX", name);
	char *path;
	sqlite3 *db;

	*tmpdir_r = g_dir_make_tmp(tmpl, &err);
	g_assert_no_error(err);
	path = g_build_filename(*tmpdir_r, "cache.db", NULL);
	db = db_open(path, DB_CREATE, DB_BUSY_TIMEOUT_MS, &err);
	g_assert_no_error(err);
	g_free(path);
	g_free(tmpl);
	return db;
}

/* Store JSON, an M2S answer, for club SLUG of CFG in DB (sync_store, as
 * with --force). */
static inline void
unit_store(sqlite3 *db, const struct config *cfg, const char *slug,
	   const char *json)
{
	GError *err = NULL;
	struct api_data *data = api_parse(json, strlen(json), &err);
	struct sync_options opts = { .force = TRUE };
	struct sync_result r = { .club = config_club_by_slug(cfg, slug) };

	g_assert_no_error(err);
	sync_store(db, cfg, data, NULL, &opts, &r, &err);
	g_assert_no_error(err);
	if (r.warnings != NULL)
		g_ptr_array_unref(r.warnings);
	if (r.diff != NULL)
		g_ptr_array_unref(r.diff);
	api_data_free(&data);
}

#endif
