/* sync-store.c - storing one club's answer: only what changed.
 *
 * Everything happens in one IMMEDIATE transaction, so readers (the delivery
 * agent, the policy service) see the old set or the new one, never half;
 * with WAL they are not even blocked. Membership is diffed against the
 * database and only added and removed rows are written: an unchanged
 * answer writes nothing. The shrink guard runs inside the same transaction,
 * before anything is committed: a list losing more than max_shrink percent
 * of its members, or a club whose lists all vanish, keeps its previous data
 * unless --force. A dry run does all of it and rolls back. The lists whose
 * names cannot be addresses are stored by name too (unusable_list), for
 * status and doctor.
 */
#include "soarlist/sync.h"

#include <string.h>

#include "soarlist/db.h"
#include "soarlist/status.h"

#define STORE_ERROR (g_quark_from_static_string("soarlist-sync-store"))
#define MINUS "\u2212" /* U+2212 MINUS SIGN, as in "+3 −1 LIST@DOMAIN" */

struct store {
	sqlite3 *db;
	const struct config *cfg;
	const struct club_config *club;
	const struct sync_options *opts;
	struct sync_result *r;
	gint64 club_id;
	GString *guard; /* why the shrink guard holds, empty when it does not */
};

/* Run SQL with up to two int64 and two text parameters (?1 ?2 int64,
 * ?3 ?4 text; unused ones are left NULL). */
static int
run(struct store *s, const char *sql, gint64 a, gint64 b, const char *t1,
    const char *t2, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(s->db, sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	sqlite3_bind_int64(st, 2, b);
	sqlite3_bind_text(st, 3, t1, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, t2, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return db_fail(s->db, rc, "storing the sync", error);
	return 0;
}

/* The rows of a one-column query with ?1 = ID, keyed by their lowercase
 * form (the database compares addresses case-insensitively). */
static GHashTable *
column_set(struct store *s, const char *sql, gint64 id, GError **error)
{
	GHashTable *set = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						g_free);
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(s->db, sql, &st, error) < 0) {
		g_hash_table_unref(set);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		g_hash_table_insert(set, g_ascii_strdown(v, -1), g_strdup(v));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_fail(s->db, rc, "reading stored data", error);
		g_hash_table_unref(set);
		return NULL;
	}
	return set;
}

/* Bring the address set stored under OWNER (a list or the club) from OLD
 * to NEW with the INSERT and DELETE statements given (?1 owner, ?3
 * address); count the changes. An address whose spelling changed only in
 * case is rewritten in place: the member is the same, the new spelling is
 * what M2S says now. */
/* Step the prepared ST with ?1 = OWNER and ?3 = ADDRESS, then reset it. */
static int
step_address(struct store *s, sqlite3_stmt *st, gint64 owner,
	     const char *address, GError **error)
{
	int rc;

	sqlite3_bind_int64(st, 1, owner);
	sqlite3_bind_text(st, 3, address, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_fail(s->db, rc, "storing the sync", error);
	return 0;
}

static int
apply_set(struct store *s, GHashTable *old, GPtrArray *fresh, gint64 owner,
	  const char *insert, const char *delete, guint *added, guint *removed,
	  GError **error)
{
	GHashTable *keep = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	sqlite3_stmt *ins = NULL, *del = NULL;
	GHashTableIter it;
	gpointer key, value;
	int rc = 0;

	/* prepared once per set: a club is thousands of rows */
	if (db_prepare(s->db, insert, &ins, error) < 0 ||
	    db_prepare(s->db, delete, &del, error) < 0)
		rc = -1;
	for (guint i = 0; i < fresh->len && rc == 0; i++) {
		const char *a = g_ptr_array_index(fresh, i);
		char *k = g_ascii_strdown(a, -1);
		const char *was = g_hash_table_lookup(old, k);

		if (was == NULL) {
			rc = step_address(s, ins, owner, a, error);
			(*added)++;
		} else if (strcmp(was, a) != 0) {
			rc = step_address(s, del, owner, was, error);
			if (rc == 0)
				rc = step_address(s, ins, owner, a, error);
		}
		g_hash_table_add(keep, k);
	}
	g_hash_table_iter_init(&it, old);
	while (rc == 0 && g_hash_table_iter_next(&it, &key, &value)) {
		if (!g_hash_table_contains(keep, key)) {
			rc = step_address(s, del, owner, value, error);
			(*removed)++;
		}
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	g_hash_table_unref(keep);
	return rc;
}

static char *
list_address(const struct store *s, const char *name)
{
	return g_strconcat(name, "@", s->club->domains[0], NULL);
}

static void
add_diff(struct store *s, guint added, guint removed, const char *what)
{
	if (added == 0 && removed == 0)
		return;
	if (s->r->diff == NULL)
		s->r->diff = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(s->r->diff, g_strdup_printf("+%u " MINUS "%u %s", added,
						    removed, what));
}

static void
add_note(struct store *s, const char *guard)
{
	if (s->r->diff == NULL)
		s->r->diff = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(s->r->diff,
			g_strdup_printf("%s: the shrink guard would "
					"hold (%s); sync --force applies it",
					s->club->slug, guard));
}

/* Insert or update list L; *id_r gets its id. */
static int
upsert_list(struct store *s, const struct api_list *l, GHashTable *stored,
	    gint64 *id_r, GError **error)
{
	gpointer id;

	if (g_hash_table_lookup_extended(stored, l->name, NULL, &id)) {
		*id_r = *(gint64 *)id;
		return run(s,
			   "UPDATE list SET bypass = ?2, description = ?3 "
			   "WHERE id = ?1 AND (bypass IS NOT ?2 OR description "
			   "IS NOT ?3)",
			   *id_r, l->bypass, l->description, NULL, error);
	}
	if (run(s,
		"INSERT INTO list (club_id, bypass, description, name) "
		"VALUES (?1, ?2, ?3, ?4)",
		s->club_id, l->bypass, l->description, l->name, error) < 0)
		return -1;
	*id_r = sqlite3_last_insert_rowid(s->db);
	return 0;
}

static int
store_list(struct store *s, const struct api_list *l, GHashTable *stored,
	   GError **error)
{
	gboolean existed = g_hash_table_contains(stored, l->name);
	guint added = 0, removed = 0, before;
	GHashTable *old;
	gint64 id = 0;
	char *addr;
	int rc;

	if (upsert_list(s, l, stored, &id, error) < 0)
		return -1;
	old = column_set(s,
			 "SELECT address FROM list_member WHERE list_id = ?1",
			 id, error);
	if (old == NULL)
		return -1;
	before = g_hash_table_size(old);
	rc = apply_set(
		s, old, l->members, id,
		"INSERT INTO list_member (list_id, address) VALUES (?1, ?3)",
		"DELETE FROM list_member WHERE list_id = ?1 AND address = ?3",
		&added, &removed, error);
	g_hash_table_unref(old);
	addr = list_address(s, l->name);
	if (existed && before > 0 &&
	    (guint64)removed * 100 > (guint64)s->cfg->max_shrink * before)
		g_string_append_printf(s->guard,
				       "%s%s would lose %u of its %u "
				       "members",
				       s->guard->len ? "; " : "", addr, removed,
				       before);
	add_diff(s, added, removed, addr);
	g_free(addr);
	s->r->added += added;
	s->r->removed += removed;
	return rc;
}

/* Lists stored before: name -> id (a gint64 *). */
static GHashTable *
stored_lists(struct store *s, GError **error)
{
	GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						g_free);
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(s->db, "SELECT id, name FROM list WHERE club_id = ?1",
		       &st, error) < 0) {
		g_hash_table_unref(out);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, s->club_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_hash_table_insert(
			out, g_strdup((const char *)sqlite3_column_text(st, 1)),
			g_memdup2(&(gint64){ sqlite3_column_int64(st, 0) },
				  sizeof(gint64)));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_fail(s->db, rc, "reading stored lists", error);
		g_hash_table_unref(out);
		return NULL;
	}
	return out;
}

/* Lists M2S no longer names are removed (their members with them): that
 * is M2S's decision, not a shrink. */
static int
remove_lists(struct store *s, const struct api_data *data, GHashTable *stored,
	     GError **error)
{
	GHashTableIter it;
	gpointer name, id;
	int rc = 0;

	g_hash_table_iter_init(&it, stored);
	while (rc == 0 && g_hash_table_iter_next(&it, &name, &id)) {
		gboolean kept = FALSE;
		GHashTable *old;
		char *addr;

		for (guint i = 0; i < data->lists->len && !kept; i++)
			kept = strcmp(((struct api_list *)g_ptr_array_index(
					       data->lists, i))
					      ->name,
				      name) == 0;
		if (kept)
			continue;
		old = column_set(s,
				 "SELECT address FROM list_member "
				 "WHERE list_id = ?1",
				 *(gint64 *)id, error);
		if (old == NULL)
			return -1;
		addr = list_address(s, name);
		add_diff(s, 0, g_hash_table_size(old), addr);
		s->r->removed += g_hash_table_size(old);
		g_free(addr);
		g_hash_table_unref(old);
		rc = run(s, "DELETE FROM list WHERE id = ?1", *(gint64 *)id, 0,
			 NULL, NULL, error);
	}
	return rc;
}

static int
store_club(struct store *s, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (run(s,
		"INSERT INTO club (slug, name) VALUES (?3, ?4) "
		"ON CONFLICT (slug) DO UPDATE SET name = excluded.name "
		"WHERE name IS NOT excluded.name",
		0, 0, s->club->slug, s->club->name, error) < 0 ||
	    db_prepare(s->db,
		       "SELECT id, answer_sha256 FROM club WHERE slug = ?1",
		       &st, error) < 0)
		return -1;
	sqlite3_bind_text(st, 1, s->club->slug, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		s->club_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return db_fail(s->db, rc, "storing the club", error);
	return 0;
}

static int
insert_unusable(struct store *s, const struct api_unusable *u, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(s->db,
		       "INSERT OR REPLACE INTO unusable_list (club_id, "
		       "name, reason, rename) VALUES (?1, ?2, ?3, ?4)",
		       &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, s->club_id);
	sqlite3_bind_text(st, 2, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, u->why, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, u->rename, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(s->db, rc, "storing the unusable lists", error);
	return 0;
}

/* The club's unusable lists become those of DATA: rows written only
 * where a name or its reason changed. */
static int
store_unusable(struct store *s, const struct api_data *data, GError **error)
{
	GPtrArray *old = status_unusable_lists(s->db, s->club->slug, error);
	GHashTable *was;
	int rc = 0;

	if (old == NULL)
		return -1;
	was = g_hash_table_new(g_str_hash, g_str_equal);
	for (guint i = 0; i < old->len; i++) {
		struct api_unusable *u = g_ptr_array_index(old, i);
		g_hash_table_insert(was, u->name, u);
	}
	for (guint i = 0; i < data->unusable->len && rc == 0; i++) {
		const struct api_unusable *u = g_ptr_array_index(data->unusable,
								 i);
		const struct api_unusable *o = g_hash_table_lookup(was,
								   u->name);

		if (o == NULL || g_strcmp0(o->why, u->why) != 0 ||
		    g_strcmp0(o->rename, u->rename) != 0)
			rc = insert_unusable(s, u, error);
		g_hash_table_remove(was, u->name);
	}
	/* what is left is no longer in the answer: renamed or gone */
	if (rc == 0) {
		GHashTableIter it;
		gpointer name;

		g_hash_table_iter_init(&it, was);
		while (rc == 0 && g_hash_table_iter_next(&it, &name, NULL))
			rc = run(s,
				 "DELETE FROM unusable_list WHERE club_id = ?1 "
				 "AND name = ?3",
				 s->club_id, 0, name, NULL, error);
	}
	g_hash_table_unref(was);
	g_ptr_array_unref(old);
	return rc;
}

static int
store_all(struct store *s, const struct api_data *data, const char *sha,
	  GError **error)
{
	GHashTable *stored = stored_lists(s, error), *white;
	guint wa = 0, wr = 0;
	int rc = 0;

	if (stored == NULL)
		return -1;
	if (data->lists->len == 0 && g_hash_table_size(stored) > 0)
		g_string_append_printf(s->guard,
				       "the answer has no lists at all, "
				       "%u were stored",
				       g_hash_table_size(stored));
	for (guint i = 0; i < data->lists->len && rc == 0; i++)
		rc = store_list(s, g_ptr_array_index(data->lists, i), stored,
				error);
	if (rc == 0)
		rc = remove_lists(s, data, stored, error);
	if (rc == 0)
		rc = store_unusable(s, data, error);
	g_hash_table_unref(stored);
	white = rc == 0 ? column_set(s,
				     "SELECT address FROM whitelist WHERE "
				     "club_id = ?1",
				     s->club_id, error)
			: NULL;
	if (white == NULL)
		return -1;
	rc = apply_set(
		s, white, data->whitelist, s->club_id,
		"INSERT INTO whitelist (club_id, address) VALUES (?1, ?3)",
		"DELETE FROM whitelist WHERE club_id = ?1 AND address = ?3",
		&wa, &wr, error);
	g_hash_table_unref(white);
	if (rc == 0) {
		char *what = g_strdup_printf("whitelist of %s", s->club->slug);
		add_diff(s, wa, wr, what);
		g_free(what);
		rc = run(s,
			 "UPDATE club SET answer_sha256 = ?3 WHERE id = ?1 "
			 "AND answer_sha256 IS NOT ?3",
			 s->club_id, 0, sha, NULL, error);
	}
	return rc;
}

static void
fill_counts(struct sync_result *r, const struct api_data *data)
{
	r->lists = data->lists->len;
	r->members = api_data_member_count(data);
	r->whitelisted = data->whitelist->len;
	r->dropped = data->dropped;
	if (data->warnings->len > 0)
		r->warnings = g_ptr_array_ref(data->warnings);
	if (data->unusable->len > 0)
		r->unusable = g_ptr_array_ref(data->unusable);
}

int
sync_store_unchanged(sqlite3 *db, const char *sha,
		     const struct sync_options *opts, struct sync_result *r)
{
	/* the numbers of the run that stored this very answer: counting
	 * distinct members again took half of an unchanged sync (issue 10) */
	static const char *const sql =
		"SELECT r.lists, r.members, r.whitelisted, r.dropped"
		" FROM club c JOIN sync_run r ON r.club_slug = c.slug AND r.ok"
		" WHERE c.slug = ?1 AND c.answer_sha256 = ?2"
		" ORDER BY r.id DESC LIMIT 1";
	sqlite3_stmt *st = NULL;
	int found;

	if (opts->force || sha == NULL || db_prepare(db, sql, &st, NULL) < 0)
		return 0;
	sqlite3_bind_text(st, 1, r->club->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sha, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	if (found) {
		r->lists = (guint)sqlite3_column_int(st, 0);
		r->members = (guint)sqlite3_column_int(st, 1);
		r->whitelisted = (guint)sqlite3_column_int(st, 2);
		r->dropped = (guint)sqlite3_column_int(st, 3);
		r->unchanged = TRUE;
	}
	sqlite3_finalize(st);
	/* the same answer names the same unusable lists: report them again */
	if (found && (r->unusable = status_unusable_lists(db, r->club->slug,
							  NULL)) == NULL) {
		/* cannot tell: parse and store it instead */
		r->unchanged = FALSE;
		found = 0;
	}
	if (r->unusable != NULL && r->unusable->len == 0)
		g_clear_pointer(&r->unusable, g_ptr_array_unref);
	return found;
}

int
sync_store(sqlite3 *db, const struct config *cfg, const struct api_data *data,
	   const char *sha, const struct sync_options *opts,
	   struct sync_result *r, GError **error)
{
	struct store s = { .db = db,
			   .cfg = cfg,
			   .club = r->club,
			   .opts = opts,
			   .r = r,
			   .guard = g_string_new(NULL) };
	int rc = -1;

	fill_counts(r, data);
	/* not synced: a club's data lost to a power cut comes back with the
	 * next sync */
	if (db_begin_write(db, DB_CHEAP, error) < 0) {
		g_string_free(s.guard, TRUE);
		return -1;
	}
	if (store_club(&s, error) == 0 &&
	    store_all(&s, data, sha, error) == 0) {
		if (s.guard->len > 0 && !opts->force && !opts->dry_run) {
			g_set_error(error, STORE_ERROR, 0,
				    "shrink guard: %s "
				    "(sync --force applies it)",
				    s.guard->str);
			/* nothing was applied */
			r->added = r->removed = 0;
		} else if (opts->dry_run) {
			/* the preview matters most when the guard holds */
			if (s.guard->len > 0 && !opts->force)
				add_note(&s, s.guard->str);
			rc = 0;
		} else if (db_commit(db, error) == 0) {
			rc = 0;
		}
	}
	if (rc < 0 || opts->dry_run)
		db_rollback(db);
	g_string_free(s.guard, TRUE);
	return rc;
}

int
sync_record(sqlite3 *db, const struct sync_result *r, gint64 started,
	    GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db,
		       "INSERT INTO sync_run (club_slug, started_at, "
		       "finished_at, ok, error, lists, members, whitelisted, "
		       "dropped, http_status, added, removed) VALUES (?1, ?2, "
		       "?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
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
	if (r->http_status > 0)
		sqlite3_bind_int64(st, 10, r->http_status);
	sqlite3_bind_int(st, 11, (int)r->added);
	sqlite3_bind_int(st, 12, (int)r->removed);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, "recording the sync", error);
	return 0;
}
