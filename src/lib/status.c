/* status.c - per club: the last good sync, the last error, the counts. */
#include "soarlist/status.h"

#include "soarlist/db.h"

static void
club_status_free(gpointer p)
{
	struct club_status *s = p;

	g_free(s->last_error);
	g_free(s);
}

static const char *const status_sql =
	"SELECT "
	" (SELECT max(finished_at) FROM sync_run WHERE club_slug = ?1 AND ok),"
	" (SELECT CASE WHEN ok THEN NULL ELSE error END FROM sync_run"
	"   WHERE club_slug = ?1 ORDER BY id DESC LIMIT 1),"
	" (SELECT count(*) FROM list l JOIN club c ON c.id = l.club_id"
	"   WHERE c.slug = ?1),"
	" (SELECT count(DISTINCT m.address) FROM list_member m"
	"   JOIN list l ON l.id = m.list_id JOIN club c ON c.id = l.club_id"
	"   WHERE c.slug = ?1)";

GPtrArray *
status_collect(sqlite3 *db, const struct config *cfg, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(club_status_free);
	sqlite3_stmt *st = NULL;

	if (db_prepare(db, status_sql, &st, error) < 0) {
		g_ptr_array_unref(out);
		return NULL;
	}
	for (guint i = 0; i < cfg->clubs->len; i++) {
		struct club_status *s = g_new0(struct club_status, 1);
		int rc;

		s->club = g_ptr_array_index(cfg->clubs, i);
		g_ptr_array_add(out, s);
		sqlite3_bind_text(st, 1, s->club->slug, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			db_fail(db, rc, "reading the sync history", error);
			sqlite3_finalize(st);
			g_ptr_array_unref(out);
			return NULL;
		}
		s->last_success = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			s->last_error = g_strdup((const char *)
						 sqlite3_column_text(st, 1));
		s->lists = (guint)sqlite3_column_int(st, 2);
		s->members = (guint)sqlite3_column_int(st, 3);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return out;
}
