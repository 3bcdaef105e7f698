/* copies.c - one copy per person across the lists of a club (copies.h). */
#include "soarlist/copies.h"

#include <unistd.h>

#include "soarlist/db.h"
#include "soarlist/seen.h"

/* lowercase address -> TRUE for every row that still stands */
static GHashTable *
served(sqlite3 *db, gint64 club_id, const char *id, const char *self,
       gint64 now, GError **error)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						NULL);
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, "SELECT address, state, owner, at FROM recipient_copy "
		       "WHERE club_id = ?1 AND message_id = ?2", &st, error) < 0) {
		g_hash_table_unref(set);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, club_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if (seen_blocks((const char *)sqlite3_column_text(st, 1),
				(const char *)sqlite3_column_text(st, 2),
				sqlite3_column_int64(st, 3), now, self))
			g_hash_table_add(set, g_ascii_strdown(
				(const char *)sqlite3_column_text(st, 0), -1));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_fail(db, rc, "reading copies", error);
		g_hash_table_unref(set);
		return NULL;
	}
	return set;
}

static int
claim(sqlite3 *db, gint64 club_id, const char *id, GPtrArray *members,
      const char *self, gint64 now, GPtrArray *out, GError **error)
{
	GHashTable *done = served(db, club_id, id, self, now, error);
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (done == NULL || db_prepare(db, "INSERT OR REPLACE INTO recipient_copy "
				       "(club_id, message_id, address, state, "
				       "owner, at) VALUES (?1, ?2, ?3, 'sending', "
				       "?4, ?5)", &st, error) < 0) {
		if (done != NULL)
			g_hash_table_unref(done);
		return -1;
	}
	for (guint i = 0; i < members->len && rc == 0; i++) {
		const char *a = g_ptr_array_index(members, i);
		char *k = g_ascii_strdown(a, -1);

		if (!g_hash_table_contains(done, k)) {
			sqlite3_bind_int64(st, 1, club_id);
			sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, a, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, self, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, now);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = db_fail(db, sqlite3_errcode(db), "claiming "
					     "copies", error);
			sqlite3_reset(st);
			g_ptr_array_add(out, (gpointer)a);
		}
		g_free(k);
	}
	sqlite3_finalize(st);
	g_hash_table_unref(done);
	return rc;
}

GPtrArray *
copies_claim(sqlite3 *db, gint64 club_id, const char *message_id,
	     GPtrArray *members, GError **error)
{
	GPtrArray *out = g_ptr_array_new();
	char *self = seen_process_owner(getpid());
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (db_begin_write(db, DB_CHEAP, error) < 0 ||
	    claim(db, club_id, message_id, members, self, now, out, error) < 0 ||
	    db_exec(db, "COMMIT", error) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		g_ptr_array_unref(out);
		out = NULL;
	}
	g_free(self);
	return out;
}

static int
update(sqlite3 *db, const char *sql, gint64 club_id, const char *id,
       GError **error)
{
	char *self = seen_process_owner(getpid());
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, sql, &st, error) < 0) {
		g_free(self);
		return -1;
	}
	sqlite3_bind_int64(st, 1, club_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, self, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	g_free(self);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, "recording copies", error);
	return 0;
}

int
copies_commit(sqlite3 *db, gint64 club_id, const char *message_id,
	      GError **error)
{
	if (update(db, "UPDATE recipient_copy SET state = 'sent', at = ?4 "
		   "WHERE club_id = ?1 AND message_id = ?2 AND owner = ?3 "
		   "AND state = 'sending'", club_id, message_id, error) < 0)
		return -1;
	return update(db, "DELETE FROM recipient_copy WHERE ?1 = ?1 AND "
		      "?2 = ?2 AND ?3 = ?3 AND at < ?4 - "
		      G_STRINGIFY(SEEN_DAYS) " * 86400", club_id,
		      message_id, error);
}

int
copies_release(sqlite3 *db, gint64 club_id, const char *message_id,
	       GError **error)
{
	return update(db, "DELETE FROM recipient_copy WHERE club_id = ?1 AND "
		      "message_id = ?2 AND owner = ?3 AND state = 'sending' AND "
		      "?4 = ?4", club_id, message_id, error);
}
