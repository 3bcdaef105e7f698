/* purge.c - what soarlist keeps of a club removed from the configuration,
 * counted and deleted (purge.h). The club's row goes, and with it, by the
 * schema's ON DELETE CASCADE, its lists, members, whitelist, Message-IDs,
 * bounce scores, disabled addresses, VERP probes and counters; the held
 * posts (no foreign key: see schema/013-held-club.sql) and the sync
 * history (keyed by slug) are deleted explicitly, in the same transaction.
 * The archive goes last, once the database part is committed.
 */
#include "soarlist/purge.h"

#include <errno.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soarlist/db.h"

G_DEFINE_QUARK(soarlist - purge - error - quark, purge_error)

/* The held posts of club ?1: by club, or by a list of it (a post held
 * before schema 13 named no club). */
#define HELD_OF_CLUB \
	"FROM held_message WHERE club_id = ?1 OR list_id IN (SELECT id FROM " \
	"list WHERE club_id = ?1)"

static const char count_sql[] =
	"SELECT "
	" (SELECT count(*) FROM list WHERE club_id = ?1),"
	" (SELECT count(*) FROM list_member m JOIN list l ON l.id = m.list_id"
	"   WHERE l.club_id = ?1),"
	" (SELECT count(*) FROM whitelist WHERE club_id = ?1),"
	" (SELECT count(*) " HELD_OF_CLUB "),"
	" (SELECT count(*) FROM bounce_score WHERE club_id = ?1)"
	" + (SELECT count(*) FROM bounce_seen WHERE club_id = ?1)"
	" + (SELECT count(*) FROM bounce_list_problem WHERE club_id = ?1)"
	" + (SELECT count(*) FROM bounce_unverified WHERE club_id = ?1)"
	" + (SELECT count(*) FROM verp_probe WHERE club_id = ?1)"
	" + (SELECT count(*) FROM verp_probe_list WHERE club_id = ?1),"
	" (SELECT count(*) FROM disabled_address WHERE club_id = ?1),"
	" (SELECT count(*) FROM list_stat WHERE club_id = ?1),"
	" (SELECT count(*) FROM recent_message r JOIN list l ON l.id ="
	"   r.list_id WHERE l.club_id = ?1),"
	" (SELECT count(*) FROM sync_run WHERE club_slug = ?2)";

static guint archive_count; /* nftw() callbacks take no user pointer */

static int
count_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)path;
	(void)st;
	(void)f;
	if (type == FTW_F || type == FTW_SL)
		archive_count++;
	return 0;
}

static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *f)
{
	(void)st;
	(void)f;
	/* FTW_PHYS: a symbolic link is removed, never followed */
	return (type == FTW_DP ? rmdir(path) : unlink(path)) < 0 ? -1 : 0;
}

/* archive_dir/SLUG when it is a directory (not a link to one). */
static char *
archive_path(const struct config *cfg, const char *slug)
{
	struct stat st;
	char *path;

	if (cfg->archive_dir == NULL)
		return NULL;
	path = g_build_filename(cfg->archive_dir, slug, NULL);
	if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
		g_clear_pointer(&path, g_free);
	return path;
}

static int
count_rows(sqlite3 *db, struct purge_plan *p, GError **error)
{
	sqlite3_stmt *st = NULL;
	gint64 *out[] = { &p->lists, &p->members,  &p->whitelist,
			  &p->held,  &p->bounces,  &p->disabled,
			  &p->stats, &p->messages, &p->syncs };
	int rc;

	if (db_stmt(db, "SELECT id FROM club WHERE slug = ?1", &st, error) < 0)
		return -1;
	sqlite3_bind_text(st, 1, p->slug, -1, SQLITE_STATIC);
	rc = db_row(st, error);
	if (rc < 0)
		return -1;
	p->club_id = rc > 0 ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (db_stmt(db, count_sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, p->club_id);
	sqlite3_bind_text(st, 2, p->slug, -1, SQLITE_STATIC);
	if (db_row(st, error) <= 0) {
		g_prefix_error(error, "counting the club's data: ");
		return -1;
	}
	for (gsize i = 0; i < G_N_ELEMENTS(out); i++)
		*out[i] = sqlite3_column_int64(st, (int)i);
	sqlite3_reset(st);
	return 0;
}

static void
find_archive(const struct config *cfg, struct purge_plan *p)
{
	g_free(p->archive);
	p->archive = archive_path(cfg, p->slug);
	p->archive_files = 0;
	if (p->archive != NULL) {
		archive_count = 0;
		nftw(p->archive, count_entry, 16, FTW_PHYS);
		p->archive_files = archive_count;
	}
}

/* -1 with *error when CFG still has [club SLUG]: never purged. */
static int
refuse_configured(const struct config *cfg, const char *slug, GError **error)
{
	if (config_club_by_slug(cfg, slug) == NULL)
		return 0;
	g_set_error(error, PURGE_ERROR, PURGE_ERROR_CONFIGURED,
		    "club %s is still in %s: remove its [club %s] group "
		    "first (state = suspended keeps a club without syncing it)",
		    slug, cfg->path, slug);
	return -1;
}

int
purge_plan(sqlite3 *db, const struct config *cfg, const char *slug,
	   struct purge_plan *p, GError **error)
{
	if (refuse_configured(cfg, slug, error) < 0)
		return -1;
	p->slug = g_strdup(slug);
	if (db_begin_read(db, error) < 0)
		return -1;
	if (count_rows(db, p, error) < 0) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db, error) < 0)
		return -1;
	find_archive(cfg, p);
	return p->club_id != 0 || p->syncs > 0 || p->held > 0 ||
	       p->archive != NULL;
}

static int
delete_rows(sqlite3 *db, struct purge_plan *p, GError **error)
{
	static const char *const sql[] = {
		"DELETE " HELD_OF_CLUB,
		"DELETE FROM sync_run WHERE club_slug = ?2",
		"DELETE FROM club WHERE id = ?1",
	};
	sqlite3_stmt *st = NULL;

	if (count_rows(db, p, error) < 0)
		return -1;
	for (gsize i = 0; i < G_N_ELEMENTS(sql); i++) {
		if (db_stmt(db, sql[i], &st, error) < 0)
			return -1;
		sqlite3_bind_int64(st, 1, p->club_id);
		if (sqlite3_bind_parameter_count(st) > 1)
			sqlite3_bind_text(st, 2, p->slug, -1, SQLITE_STATIC);
		if (db_run(st, error) < 0) {
			g_prefix_error(error, "deleting the club's data: ");
			return -1;
		}
	}
	return 0;
}

int
purge_apply(sqlite3 *db, const struct config *cfg, struct purge_plan *p,
	    GError **error)
{
	if (refuse_configured(cfg, p->slug, error) < 0)
		return -1;
	/* held posts and scores are worth a sync to disk: none comes back */
	if (db_begin_write(db, DB_SYNCED, error) < 0)
		return -1;
	if (delete_rows(db, p, error) < 0) {
		db_rollback(db);
		return -1;
	}
	if (db_commit(db, error) < 0)
		return -1;
	find_archive(cfg, p);
	if (p->archive != NULL &&
	    nftw(p->archive, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
		int e = errno;

		g_set_error(error, PURGE_ERROR, PURGE_ERROR_ARCHIVE,
			    "the database part is done, but the archive %s "
			    "could not be removed: %s",
			    p->archive, g_strerror(e));
		return -1;
	}
	return 0;
}

static void
line(GString *out, gint64 n, const char *one, const char *many)
{
	if (n > 0)
		g_string_append_printf(out, "  %" G_GINT64_FORMAT " %s\n", n,
				       n == 1 ? one : many);
}

char *
purge_plan_describe(const struct purge_plan *p)
{
	GString *out = g_string_new(NULL);

	if (p->club_id != 0)
		g_string_append(out, "  the club's record\n");
	line(out, p->lists, "list", "lists");
	line(out, p->members, "list membership", "list memberships");
	line(out, p->whitelist, "whitelisted address", "whitelisted addresses");
	line(out, p->held, "held post", "held posts");
	line(out, p->bounces, "bounce record", "bounce records");
	line(out, p->disabled, "disabled address", "disabled addresses");
	line(out, p->stats, "day of list counters", "days of list counters");
	line(out, p->messages, "Message-ID kept against duplicates",
	     "Message-IDs kept against duplicates");
	line(out, p->syncs, "sync run in the history",
	     "sync runs in the history");
	if (p->archive != NULL)
		g_string_append_printf(out, "  the archive %s (%u %s)\n",
				       p->archive, p->archive_files,
				       p->archive_files == 1 ? "file"
							     : "files");
	return g_string_free(out, FALSE);
}

void
purge_plan_clear(struct purge_plan *p)
{
	g_clear_pointer(&p->slug, g_free);
	g_clear_pointer(&p->archive, g_free);
}
