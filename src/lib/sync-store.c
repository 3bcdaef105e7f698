/* sync-store.c - replacing one club's cached data in one transaction.
 *
 * Readers (the delivery agent, the policy service) see the old set or the
 * new one, never half: WAL gives them a snapshot, and everything below
 * happens between BEGIN IMMEDIATE and COMMIT.
 */
#include "soarlist/sync.h"

#include "soarlist/db.h"

struct stmts {
	sqlite3_stmt *club, *club_id, *list, *list_id, *del_members,
		*member, *del_white, *white, *mark, *del_lists;
};

static const char *const sql[] = {
	"INSERT INTO club (slug, name) VALUES (?1, ?2) "
	"ON CONFLICT (slug) DO UPDATE SET name = excluded.name",
	"SELECT id FROM club WHERE slug = ?1",
	"INSERT INTO list (club_id, name, description, bypass) "
	"VALUES (?1, ?2, ?3, ?4) ON CONFLICT (club_id, name) DO UPDATE SET "
	"description = excluded.description, bypass = excluded.bypass",
	"SELECT id FROM list WHERE club_id = ?1 AND name = ?2",
	"DELETE FROM list_member WHERE list_id = ?1",
	"INSERT OR IGNORE INTO list_member (list_id, address) VALUES (?1, ?2)",
	"DELETE FROM whitelist WHERE club_id = ?1",
	"INSERT OR IGNORE INTO whitelist (club_id, address) VALUES (?1, ?2)",
	"UPDATE club SET synced_at = ?2 WHERE id = ?1",
	/* lists M2S no longer names; their members go with them */
	"DELETE FROM list WHERE club_id = ?1 AND name NOT IN "
	"(SELECT value FROM json_each(?2))",
};

static void
stmts_finalize(struct stmts *s)
{
	sqlite3_stmt **all = (sqlite3_stmt **)s;

	for (size_t i = 0; i < sizeof(*s) / sizeof(sqlite3_stmt *); i++)
		sqlite3_finalize(all[i]);
}

static int
stmts_prepare(sqlite3 *db, struct stmts *s, GError **error)
{
	sqlite3_stmt **all = (sqlite3_stmt **)s;

	for (size_t i = 0; i < G_N_ELEMENTS(sql); i++)
		if (db_prepare(db, sql[i], &all[i], error) < 0)
			return -1;
	return 0;
}

/* Step ST to completion and reset it. */
static int
step(sqlite3 *db, sqlite3_stmt *st, GError **error)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(db, rc, "storing the sync", error);
	return 0;
}

static int
select_id(sqlite3 *db, sqlite3_stmt *st, gint64 *id_r, GError **error)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_ROW)
		return db_fail(db, rc, "storing the sync", error);
	return 0;
}

static int
store_addresses(sqlite3 *db, sqlite3_stmt *st, gint64 owner, GPtrArray *a,
		GError **error)
{
	for (guint i = 0; i < a->len; i++) {
		sqlite3_bind_int64(st, 1, owner);
		sqlite3_bind_text(st, 2, g_ptr_array_index(a, i), -1,
				  SQLITE_STATIC);
		if (step(db, st, error) < 0)
			return -1;
	}
	return 0;
}

static int
store_list(sqlite3 *db, struct stmts *s, gint64 club_id,
	   const struct api_list *l, GError **error)
{
	gint64 list_id = 0;

	sqlite3_bind_int64(s->list, 1, club_id);
	sqlite3_bind_text(s->list, 2, l->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->list, 3, l->description, -1, SQLITE_STATIC);
	sqlite3_bind_int(s->list, 4, l->bypass ? 1 : 0);
	if (step(db, s->list, error) < 0)
		return -1;
	sqlite3_bind_int64(s->list_id, 1, club_id);
	sqlite3_bind_text(s->list_id, 2, l->name, -1, SQLITE_STATIC);
	if (select_id(db, s->list_id, &list_id, error) < 0)
		return -1;
	sqlite3_bind_int64(s->del_members, 1, list_id);
	if (step(db, s->del_members, error) < 0)
		return -1;
	return store_addresses(db, s->member, list_id, l->members, error);
}

static char *
list_names_json(const struct api_data *data)
{
	GString *j = g_string_new("[");

	for (guint i = 0; i < data->lists->len; i++) {
		const struct api_list *l = g_ptr_array_index(data->lists, i);
		/* names are validated: [a-z0-9._-], nothing to escape */
		g_string_append_printf(j, "%s\"%s\"", i ? "," : "", l->name);
	}
	g_string_append_c(j, ']');
	return g_string_free(j, FALSE);
}

static int
store_all(sqlite3 *db, struct stmts *s, const struct club_config *club,
	  const struct api_data *data, GError **error)
{
	gint64 club_id = 0;
	char *names;
	int rc;

	sqlite3_bind_text(s->club, 1, club->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->club, 2, club->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s->club_id, 1, club->slug, -1, SQLITE_STATIC);
	if (step(db, s->club, error) < 0 ||
	    select_id(db, s->club_id, &club_id, error) < 0)
		return -1;
	for (guint i = 0; i < data->lists->len; i++)
		if (store_list(db, s, club_id, g_ptr_array_index(data->lists, i),
			       error) < 0)
			return -1;
	names = list_names_json(data);
	sqlite3_bind_int64(s->del_lists, 1, club_id);
	sqlite3_bind_text(s->del_lists, 2, names, -1, SQLITE_TRANSIENT);
	g_free(names);
	sqlite3_bind_int64(s->del_white, 1, club_id);
	sqlite3_bind_int64(s->mark, 1, club_id);
	sqlite3_bind_int64(s->mark, 2, g_get_real_time() / G_USEC_PER_SEC);
	rc = step(db, s->del_lists, error);
	if (rc == 0)
		rc = step(db, s->del_white, error);
	if (rc == 0)
		rc = store_addresses(db, s->white, club_id, data->whitelist,
				     error);
	if (rc == 0)
		rc = step(db, s->mark, error);
	return rc;
}

int
sync_store(sqlite3 *db, const struct club_config *club,
	   const struct api_data *data, GError **error)
{
	struct stmts s = { 0 };
	int rc = -1;

	if (db_exec(db, "BEGIN IMMEDIATE", error) < 0)
		return -1;
	if (stmts_prepare(db, &s, error) == 0 &&
	    store_all(db, &s, club, data, error) == 0 &&
	    db_exec(db, "COMMIT", error) == 0)
		rc = 0;
	stmts_finalize(&s);
	if (rc < 0)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
sync_record(sqlite3 *db, const struct sync_result *r, gint64 started,
	    GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, "INSERT INTO sync_run (club_slug, started_at, "
		       "finished_at, ok, error, lists, members, whitelisted, "
		       "dropped) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		       &st, error) < 0)
		return -1;
	sqlite3_bind_text(st, 1, r->club->slug, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, started);
	sqlite3_bind_int64(st, 3, g_get_real_time() / G_USEC_PER_SEC);
	sqlite3_bind_int(st, 4, r->ok ? 1 : 0);
	sqlite3_bind_text(st, 5, r->error, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, (int)r->lists);
	sqlite3_bind_int(st, 7, (int)r->members);
	sqlite3_bind_int(st, 8, (int)r->whitelisted);
	sqlite3_bind_int(st, 9, (int)r->dropped);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, "recording the sync", error);
	return 0;
}
