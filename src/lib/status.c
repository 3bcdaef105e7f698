/* status.c - per club: the last good sync, the last error, the counts,
 * the lists whose names cannot be addresses. */
#include "soarlist/status.h"

#include "soarlist/db.h"

static void
club_status_free(gpointer p)
{
	struct club_status *s = p;

	g_free(s->last_error);
	if (s->unusable != NULL)
		g_ptr_array_unref(s->unusable);
	g_free(s);
}

GPtrArray *
status_unusable_lists(sqlite3 *db, const char *slug, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(api_unusable_free);
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_stmt(db,
		    "SELECT u.name, u.reason, u.rename FROM "
		    "unusable_list u "
		    "JOIN club c ON c.id = u.club_id WHERE c.slug = ?1 "
		    "ORDER BY u.name",
		    &st, error) < 0) {
		g_ptr_array_unref(out);
		return NULL;
	}
	sqlite3_bind_text(st, 1, slug, -1, SQLITE_STATIC);
	while ((rc = db_row(st, error)) > 0)
		g_ptr_array_add(
			out, api_unusable_new(
				     (const char *)sqlite3_column_text(st, 0),
				     (const char *)sqlite3_column_text(st, 1),
				     (const char *)sqlite3_column_text(st, 2)));
	if (rc < 0) {
		g_prefix_error(error, "reading the unusable lists: ");
		g_ptr_array_unref(out);
		return NULL;
	}
	return out;
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
			s->last_error = g_strdup(
				(const char *)sqlite3_column_text(st, 1));
		s->lists = (guint)sqlite3_column_int(st, 2);
		s->members = (guint)sqlite3_column_int(st, 3);
		sqlite3_reset(st);
		s->unusable = status_unusable_lists(db, s->club->slug, error);
		if (s->unusable == NULL) {
			sqlite3_finalize(st);
			g_ptr_array_unref(out);
			return NULL;
		}
	}
	sqlite3_finalize(st);
	return out;
}
