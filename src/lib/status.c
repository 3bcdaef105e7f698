/* status.c - per club: the last good sync, the last error, the counts,
 * the lists whose names cannot be addresses. */
#include "soarlist/status.h"

#include "soarlist/db.h"

static void
club_status_free(gpointer p)
{
	struct club_status *s = p;

	g_free(s->slug);
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
	"   WHERE c.slug = ?1),"
	" (SELECT count(*) FROM held_message h JOIN club c ON"
	"   c.id = h.club_id OR h.list_id IN (SELECT id FROM list WHERE"
	"   club_id = c.id) WHERE c.slug = ?1)";

/* Read the status of S->slug with ST (status_sql). 0 or -1 with *error. */
static int
read_status(sqlite3 *db, sqlite3_stmt *st, struct club_status *s,
	    GError **error)
{
	int rc;

	sqlite3_bind_text(st, 1, s->slug, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		db_fail(db, rc, "reading the sync history", error);
		return -1;
	}
	s->last_success = sqlite3_column_int64(st, 0);
	if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		s->last_error = g_strdup(
			(const char *)sqlite3_column_text(st, 1));
	s->lists = (guint)sqlite3_column_int(st, 2);
	s->members = (guint)sqlite3_column_int(st, 3);
	s->held = (guint)sqlite3_column_int(st, 4);
	sqlite3_reset(st);
	s->unusable = status_unusable_lists(db, s->slug, error);
	return s->unusable == NULL ? -1 : 0;
}

/* The clubs of the database that CFG does not name, by slug. */
static GPtrArray *
removed_clubs(sqlite3 *db, const struct config *cfg, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_stmt(db,
		    "SELECT slug FROM club UNION SELECT club_slug FROM "
		    "sync_run ORDER BY 1",
		    &st, error) < 0) {
		g_ptr_array_unref(out);
		return NULL;
	}
	while ((rc = db_row(st, error)) > 0) {
		const char *slug = (const char *)sqlite3_column_text(st, 0);

		if (config_club_by_slug(cfg, slug) == NULL)
			g_ptr_array_add(out, g_strdup(slug));
	}
	if (rc < 0)
		g_clear_pointer(&out, g_ptr_array_unref);
	return out;
}

GPtrArray *
status_collect(sqlite3 *db, const struct config *cfg, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(club_status_free);
	GPtrArray *removed = removed_clubs(db, cfg, error);
	sqlite3_stmt *st = NULL;
	int rc = removed != NULL ? 0 : -1;

	if (rc == 0 && db_prepare(db, status_sql, &st, error) < 0)
		rc = -1;
	for (guint i = 0; rc == 0 && i < cfg->clubs->len; i++) {
		struct club_status *s = g_new0(struct club_status, 1);

		s->club = g_ptr_array_index(cfg->clubs, i);
		s->slug = g_strdup(s->club->slug);
		s->state = club_state_name(s->club->state);
		g_ptr_array_add(out, s);
		rc = read_status(db, st, s, error);
	}
	for (guint i = 0; rc == 0 && i < removed->len; i++) {
		struct club_status *s = g_new0(struct club_status, 1);

		s->slug = g_strdup(g_ptr_array_index(removed, i));
		s->state = "removed";
		g_ptr_array_add(out, s);
		rc = read_status(db, st, s, error);
	}
	sqlite3_finalize(st);
	if (removed != NULL)
		g_ptr_array_unref(removed);
	if (rc < 0)
		g_clear_pointer(&out, g_ptr_array_unref);
	return out;
}
