/* catalog.c - read-only queries on the synced cache. */
#include "soarlist/catalog.h"

#include <string.h>

#include "soarlist/db.h"

void
list_ref_clear(struct list_ref *ref)
{
	g_clear_pointer(&ref->name, g_free);
	g_clear_pointer(&ref->domain, g_free);
	g_clear_pointer(&ref->address, g_free);
	g_clear_pointer(&ref->display, g_free);
}

void
list_ref_owners(const struct list_ref *ref, const struct config *cfg,
		GPtrArray *out)
{
	char **owners = ref->settings.owners ? ref->settings.owners
			: ref->club != NULL  ? ref->club->owners
					     : NULL;

	if (owners == NULL) {
		g_ptr_array_add(out, cfg->admin);
		return;
	}
	for (char **o = owners; *o != NULL; o++)
		g_ptr_array_add(out, *o);
}

static int
club_id(sqlite3 *db, const struct club_config *club, gint64 *id_r,
	GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_stmt(db, "SELECT id FROM club WHERE slug = ?1", &st, error) < 0)
		return -1;
	sqlite3_bind_text(st, 1, club->slug, -1, SQLITE_STATIC);
	rc = db_row(st, error);
	if (rc > 0) {
		*id_r = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		return 0;
	}
	if (rc < 0) {
		g_prefix_error(error, "looking up the club: ");
		return -1;
	}
	g_set_error(error, DB_ERROR, DB_ERROR_OPEN,
		    "club %s has never been synced: run 'soarlist sync'",
		    club->slug);
	return -1;
}

int
catalog_resolve(sqlite3 *db, const struct config *cfg, const char *name,
		const char *domain, struct list_ref *ref_r, GError **error)
{
	const struct club_config *club = config_club_by_domain(cfg, domain);
	sqlite3_stmt *st = NULL;
	int rc;

	memset(ref_r, 0, sizeof(*ref_r));
	if (club == NULL)
		return 0;
	/* the club and the list in one statement; the club alone only to
	 * tell an unknown list from a club never synced */
	if (db_stmt(db,
		    "SELECT l.club_id, l.id, l.bypass FROM list l "
		    "JOIN club c ON c.id = l.club_id "
		    "WHERE c.slug = ?1 AND l.name = ?2",
		    &st, error) < 0)
		return -1;
	sqlite3_bind_text(st, 1, club->slug, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	rc = db_row(st, error);
	if (rc <= 0) {
		if (rc < 0) {
			g_prefix_error(error, "looking up the list: ");
			return -1;
		}
		return club_id(db, club, &ref_r->club_id, error) < 0 ? -1 : 0;
	}
	ref_r->club_id = sqlite3_column_int64(st, 0);
	ref_r->id = sqlite3_column_int64(st, 1);
	ref_r->bypass = sqlite3_column_int(st, 2) != 0;
	sqlite3_reset(st);
	ref_r->club = club;
	ref_r->name = g_ascii_strdown(name, -1);
	ref_r->domain = g_ascii_strdown(domain, -1);
	ref_r->address = g_strconcat(ref_r->name, "@", ref_r->domain, NULL);
	config_list_settings(cfg, club->slug, ref_r->name, &ref_r->settings);
	ref_r->display = ref_r->settings.display_name
				 ? g_strdup(ref_r->settings.display_name)
				 : recipient_list_display(ref_r->name);
	return 1;
}

/* 1 if the one-parameter-pair query finds a row, 0 if not, -1 on error. */
static int
exists(sqlite3 *db, const char *sql, gint64 id, const char *address,
       GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (address == NULL)
		return 0;
	if (db_stmt(db, sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC);
	rc = db_row(st, error);
	sqlite3_reset(st);
	if (rc < 0)
		g_prefix_error(error, "membership lookup: ");
	return rc;
}

int
catalog_is_member(sqlite3 *db, gint64 list_id, const char *address,
		  GError **error)
{
	return exists(db,
		      "SELECT 1 FROM list_member "
		      "WHERE list_id = ?1 AND address = ?2",
		      list_id, address, error);
}

int
catalog_is_whitelisted(sqlite3 *db, gint64 club_id, const char *address,
		       GError **error)
{
	return exists(db,
		      "SELECT 1 FROM whitelist "
		      "WHERE club_id = ?1 AND address = ?2",
		      club_id, address, error);
}

static GPtrArray *
addresses(sqlite3 *db, const char *sql, gint64 list_id, GError **error)
{
	sqlite3_stmt *st = NULL;
	GPtrArray *out;
	int rc;

	if (db_stmt(db, sql, &st, error) < 0)
		return NULL;
	sqlite3_bind_int64(st, 1, list_id);
	out = g_ptr_array_new_full(64, g_free);
	while ((rc = db_row(st, error)) > 0)
		g_ptr_array_add(out, g_strdup((const char *)sqlite3_column_text(
					     st, 0)));
	if (rc < 0) {
		g_ptr_array_unref(out);
		g_prefix_error(error, "reading the members: ");
		return NULL;
	}
	return out;
}

GPtrArray *
catalog_members(sqlite3 *db, gint64 list_id, GError **error)
{
	return addresses(db,
			 "SELECT address FROM list_member WHERE list_id = ?1 "
			 "ORDER BY address",
			 list_id, error);
}

/* The members of list ?1 who receive its mail (catalog_recipients()
 * filters the same way in C). */
#define RECIPIENTS_OF_LIST \
	"FROM list_member m JOIN list l ON l.id = m.list_id " \
	"WHERE m.list_id = ?1 AND NOT EXISTS (SELECT 1 FROM disabled_address " \
	"d WHERE d.club_id = l.club_id AND d.address = m.address)"

GPtrArray *
catalog_recipients(sqlite3 *db, gint64 list_id, GError **error)
{
	g_autoptr(GPtrArray) disabled = NULL;
	g_autoptr(GHashTable) skip = NULL;
	GPtrArray *members;
	guint kept = 0;

	/* the club's disabled addresses (usually none) apart, then the
	 * members without them: a lookup per member in SQL would cost
	 * 0.2 M instructions for 300 members */
	disabled = addresses(
		db,
		"SELECT address FROM disabled_address WHERE "
		"club_id = (SELECT club_id FROM list WHERE id = ?1)",
		list_id, error);
	if (disabled == NULL)
		return NULL;
	members = addresses(db,
			    "SELECT address FROM list_member "
			    "WHERE list_id = ?1 ORDER BY address",
			    list_id, error);
	if (members == NULL || disabled->len == 0)
		return members;
	/* as SQLite's NOCASE compares: ASCII letters folded */
	skip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < disabled->len; i++)
		g_hash_table_add(skip, g_ascii_strdown(disabled->pdata[i], -1));
	for (guint i = 0; i < members->len; i++) {
		g_autofree char *key = g_ascii_strdown(members->pdata[i], -1);

		if (g_hash_table_contains(skip, key))
			g_free(members->pdata[i]);
		else
			members->pdata[kept++] = members->pdata[i];
	}
	members->len = kept;
	return members;
}

int
catalog_has_recipients(sqlite3 *db, gint64 list_id, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_stmt(db, "SELECT 1 " RECIPIENTS_OF_LIST " LIMIT 1", &st, error) <
	    0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	rc = db_row(st, error);
	sqlite3_reset(st);
	if (rc < 0)
		g_prefix_error(error, "recipient lookup: ");
	return rc;
}

static void
catalog_list_free(gpointer p)
{
	struct catalog_list *l = p;

	g_free(l->club_slug);
	g_free(l->name);
	g_free(l->description);
	g_free(l);
}

GPtrArray *
catalog_all_lists(sqlite3 *db, GError **error)
{
	sqlite3_stmt *st = NULL;
	GPtrArray *out;
	int rc;

	if (db_prepare(db,
		       "SELECT c.slug, l.name, l.description, l.id, "
		       "l.bypass, (SELECT count(*) FROM list_member m "
		       "WHERE m.list_id = l.id) FROM list l JOIN club c ON "
		       "c.id = l.club_id ORDER BY c.slug, l.name",
		       &st, error) < 0)
		return NULL;
	out = g_ptr_array_new_with_free_func(catalog_list_free);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct catalog_list *l = g_new0(struct catalog_list, 1);
		l->club_slug = g_strdup(
			(const char *)sqlite3_column_text(st, 0));
		l->name = g_strdup((const char *)sqlite3_column_text(st, 1));
		l->description = g_strdup(
			(const char *)sqlite3_column_text(st, 2));
		l->id = sqlite3_column_int64(st, 3);
		l->bypass = sqlite3_column_int(st, 4) != 0;
		l->members = (guint)sqlite3_column_int(st, 5);
		g_ptr_array_add(out, l);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		g_ptr_array_unref(out);
		db_fail(db, rc, "reading the lists", error);
		return NULL;
	}
	return out;
}
