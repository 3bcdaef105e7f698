/* doctor-data.c - doctor's checks of soarlist's own data: the database
 * opens, sendmail is there, the generated tables say what the database
 * says, every club synced recently, and no removed club left data.
 */
#include <string.h>
#include <unistd.h>

#include "doctor-internal.h"
#include "soarlist/db.h"
#include "soarlist/postfix-maps.h"
#include "soarlist/status.h"

void
doctor_check_database(struct doctor *d)
{
	GError *err = NULL;
	sqlite3 *db = db_open(d->cfg->database, DB_EXISTING,
			      d->cfg->busy_timeout_ms, &err);

	if (db == NULL) {
		doctor_add(d, FALSE,
			   g_strdup_printf("database: %s", err->message),
			   g_strdup("run 'soarlist sync' (as the pipe user) to "
				    "create or migrate it; check database = in "
				    "[soarlist]"));
		g_error_free(err);
		return;
	}
	doctor_add(d, TRUE,
		   g_strdup_printf("database %s opens, schema "
				   "version %d",
				   d->cfg->database, db_schema_version()),
		   NULL);
	db_close(&db);
}

void
doctor_check_sendmail(struct doctor *d)
{
	const char *path = d->cfg->sendmail;
	gboolean ok = g_file_test(path, G_FILE_TEST_IS_REGULAR) &&
		      access(path, X_OK) == 0;

	doctor_add(d, ok,
		   g_strdup_printf("sendmail %s %s", path,
				   ok ? "is executable" : "is not executable"),
		   g_strdup("install postfix, or set sendmail = in [soarlist] "
			    "to Postfix's sendmail"));
}

/* Why table NAME differs from what the database says, or NULL. */
static char *
table_problem(struct doctor *d, const char *name)
{
	char *path = g_build_filename(d->cfg->postfix_dir, name, NULL);
	char *want = postfix_maps_render(d->db, d->cfg, name, NULL);
	char *have = NULL, *why = NULL;

	if (!g_file_get_contents(path, &have, NULL, NULL))
		why = g_strdup_printf("%s (missing)", name);
	else if (want == NULL || strcmp(want, have) != 0)
		why = g_strdup_printf("%s (out of date)", name);
	else if (!postfix_maps_db_current(path))
		why = g_strdup_printf("%s.db (missing or older than %s)", name,
				      name);
	g_free(have);
	g_free(want);
	g_free(path);
	return why;
}

/* Each table exists, has its database, and says what the database says. */
void
doctor_check_tables(struct doctor *d)
{
	GString *bad = g_string_new(NULL);

	if (d->db == NULL) {
		doctor_add(d, FALSE,
			   g_strdup("tables: cannot be compared with "
				    "an unreadable database"),
			   g_strdup("fix the database first (see above)"));
	} else if (d->cfg->postfix_dir == NULL) {
		doctor_add(d, FALSE,
			   g_strdup("postfix_dir is not set: no "
				    "lookup tables for Postfix"),
			   g_strdup("set postfix_dir = /var/lib/soarlist/"
				    "postfix in [soarlist] and run 'soarlist "
				    "postfix-maps'"));
	} else {
		for (int i = 0; postfix_map_names[i] != NULL; i++) {
			char *why = table_problem(d, postfix_map_names[i]);
			if (why != NULL)
				g_string_append_printf(bad, " %s", why);
			g_free(why);
		}
		doctor_add(d, bad->len == 0,
			   bad->len == 0
				   ? g_strdup_printf("tables in %s match the "
						     "database",
						     d->cfg->postfix_dir)
				   : g_strdup_printf("tables in %s:%s",
						     d->cfg->postfix_dir,
						     bad->str),
			   g_strdup("run 'soarlist postfix-maps' as the pipe "
				    "user"));
	}
	g_string_free(bad, TRUE);
}

/* One result for club C from its newest sync_run row (ST on it), or none. */
static void
sync_result(struct doctor *d, const struct club_config *c, sqlite3_stmt *st,
	    gboolean found)
{
	gint64 age = g_get_real_time() / G_USEC_PER_SEC;

	if (!found) {
		doctor_add(d, FALSE,
			   g_strdup_printf("club %s has never been "
					   "synced",
					   c->slug),
			   g_strdup("run 'soarlist sync'"));
		return;
	}
	if (sqlite3_column_int(st, 0) != 1) {
		doctor_add(d, FALSE,
			   g_strdup_printf(
				   "club %s: last sync "
				   "failed: %s",
				   c->slug,
				   (const char *)sqlite3_column_text(st, 2)),
			   g_strdup("fix the cause, then run 'soarlist sync'"));
		return;
	}
	age -= sqlite3_column_int64(st, 1);
	doctor_add(
		d, (guint64)age <= d->cfg->sync_max_age,
		g_strdup_printf("club %s: last sync succeeded %" G_GINT64_FORMAT
				" s ago (limit %" G_GUINT64_FORMAT " s)",
				c->slug, age, d->cfg->sync_max_age),
		g_strdup("check that 'soarlist sync' runs (systemctl status "
			 "soarlist-sync.timer, or its cron entry)"));
}

/* The newest sync of each club succeeded, within sync_max_age. */
void
doctor_check_syncs(struct doctor *d)
{
	sqlite3_stmt *st = NULL;

	if (d->db == NULL ||
	    db_prepare(d->db,
		       "SELECT ok, finished_at, error FROM sync_run "
		       "WHERE club_slug = ?1 ORDER BY id DESC LIMIT 1",
		       &st, NULL) < 0)
		return; /* the database check has said why */
	for (guint i = 0; i < d->cfg->clubs->len; i++) {
		const struct club_config *c = g_ptr_array_index(d->cfg->clubs,
								i);

		if (c->state == CLUB_SUSPENDED) {
			doctor_add(d, TRUE,
				   g_strdup_printf("club %s is suspended: not "
						   "synced, mail to its lists "
						   "refused",
						   c->slug),
				   NULL);
			continue;
		}
		sqlite3_bind_text(st, 1, c->slug, -1, SQLITE_STATIC);
		sync_result(d, c, st, sqlite3_step(st) == SQLITE_ROW);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

/* No club the config no longer names has data left: its members'
 * addresses are no longer this server's to keep. */
void
doctor_check_removed(struct doctor *d)
{
	GPtrArray *all;

	if (d->db == NULL ||
	    (all = status_collect(d->db, d->cfg, NULL)) == NULL)
		return; /* the database check has said why */
	for (guint i = 0; i < all->len; i++) {
		const struct club_status *s = g_ptr_array_index(all, i);

		if (s->club != NULL)
			continue;
		doctor_add(d, FALSE,
			   g_strdup_printf("club %s is not in %s but its data "
					   "is kept (%u lists, %u members, %u "
					   "held posts)",
					   s->slug, d->cfg->path, s->lists,
					   s->members, s->held),
			   g_strdup_printf("run 'soarlist purge --yes %s', or "
					   "put its [club %s] back (with "
					   "state = suspended to keep it "
					   "without syncing it)",
					   s->slug, s->slug));
	}
	g_ptr_array_unref(all);
}
