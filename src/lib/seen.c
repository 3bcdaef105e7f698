/* seen.c - duplicate suppression by Message-ID, per list, and one copy per
 * person across the lists of a club.
 *
 * A claim ('sending') is taken in an IMMEDIATE transaction before sendmail
 * runs, so two copies of one post arriving at once (To: one domain, Cc:
 * the other) go out once. The same transaction decides who gets the post
 * through this list: the members who are not members of another list of
 * the club on which it was sent (To: members@, Cc: board@), so that a
 * delivery writes one row however many members the list has. This list's
 * members and the others' are read in that one transaction: read at two
 * moments, a sync between them that drops somebody from every list would
 * leave them on this list and on none of the others, and they would get
 * the post twice. While
 * another list of the club is still sending it, a delivery waits for that
 * claim to end (SEEN_WAIT_MS, then it defers): that list may yet fail, and
 * people left to it would then get the post from nobody (its retry would
 * leave them to the list that left them to it). A failed delivery drops
 * its claim, which gives its people back to the lists (and to Postfix's
 * retry). Memberships are read at the moment of the claim: a person whom
 * a sync moves from one list of a cross-post to another between the two
 * lists' deliveries gets it from both. A claim only counts while the very
 * process that made it lives (PID and start time, so a reused PID does not
 * count), and for at most an hour: a delivery agent killed mid-way must not
 * make Postfix's retry look like a duplicate.
 */
#include "soarlist/seen.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/stats.h"

#define CLAIM_MAX_AGE 3600
/* how long a delivery waits for another list of the club to finish
 * sending the same post before it defers */
#define SEEN_WAIT_MS (60 * 1000)

/* The statements that settle a claim once sendmail has run. seen_claim()
 * prepares them into the connection's cache before sendmail runs: an
 * allocation through GLib aborts the process when memory runs out, and an
 * abort between sendmail's success and the 'sent' record makes Postfix's
 * retry send the post again (found by tests/blackbox/test_faults.py).
 * SQLite's own allocations fail with SQLITE_NOMEM instead, which act()
 * logs. */
static const char commit_sql[] =
	"UPDATE recent_message SET state = 'sent', at = ?3 WHERE list_id = ?1 "
	"AND message_id = ?2";
static const char release_sql[] =
	"DELETE FROM recent_message WHERE list_id = ?1 AND message_id = ?2 "
	"AND state = 'sending' AND owner = ?3";

/* "PID:STARTTIME" of process PID (start time in clock ticks since boot,
 * field 22 of /proc/PID/stat), or "PID:" where /proc cannot tell.
 * Newly allocated. */
char *
seen_process_owner(pid_t pid)
{
	char *path = g_strdup_printf("/proc/%d/stat", (int)pid);
	char *text = NULL, *p, *out;
	int field = 2;

	if (!g_file_get_contents(path, &text, NULL, NULL)) {
		g_free(path);
		return g_strdup_printf("%d:", (int)pid);
	}
	g_free(path);
	/* the command name (field 2) may hold spaces: start after its ')' */
	p = strrchr(text, ')');
	while (p != NULL && field < 22) {
		p = strchr(p + 1, ' ');
		field++;
	}
	out = g_strdup_printf("%d:%.*s", (int)pid,
			      p ? (int)strcspn(p + 1, " ") : 0, p ? p + 1 : "");
	g_free(text);
	return out;
}

/* TRUE while the process that wrote OWNER still runs. */
static gboolean
owner_alive(const char *owner)
{
	gint64 pid = g_ascii_strtoll(owner, NULL, 10);
	char *now;
	gboolean same;

	if (pid <= 0 || pid > G_MAXINT)
		return FALSE;
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return FALSE;
	now = seen_process_owner((pid_t)pid);
	same = strcmp(now, owner) == 0;
	g_free(now);
	return same;
}

gboolean
seen_blocks(const char *state, const char *owner, gint64 at, gint64 now,
	    const char *self)
{
	if (g_strcmp0(state, "sent") == 0)
		return at > now - SEEN_DAYS * 86400;
	return at > now - CLAIM_MAX_AGE && g_strcmp0(owner, self) != 0 &&
	       owner != NULL && owner_alive(owner);
}

/* The claims on ID of the lists of club CLUB_ID: whether LIST_ID's own
 * stands (*blocked_r), the other lists on which it was sent (their ids, a
 * new array of gint64 in *others_r), and whether another list is sending it
 * right now (*sending_r). One query for all. 0 or -1. */
static int
read_claims(sqlite3 *db, gint64 club_id, gint64 list_id, const char *id,
	    gint64 now, const char *self, gboolean *blocked_r,
	    gboolean *sending_r, GArray **others_r, GError **error)
{
	g_autoptr(GArray) others = g_array_new(FALSE, FALSE, sizeof(gint64));
	sqlite3_stmt *st = NULL;
	int rc;

	*blocked_r = FALSE;
	*sending_r = FALSE;
	if (db_stmt(db,
		    "SELECT r.list_id, r.state, r.owner, r.at FROM "
		    "recent_message r JOIN list l ON l.id = r.list_id "
		    "WHERE r.message_id = ?1 AND l.club_id = ?2",
		    &st, error) < 0)
		return -1;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, club_id);
	while ((rc = db_row(st, error)) > 0) {
		gint64 list = sqlite3_column_int64(st, 0);

		if (!seen_blocks((const char *)sqlite3_column_text(st, 1),
				 (const char *)sqlite3_column_text(st, 2),
				 sqlite3_column_int64(st, 3), now, self))
			continue;
		if (list == list_id)
			*blocked_r = TRUE;
		else if (g_strcmp0((const char *)sqlite3_column_text(st, 1),
				   "sent") == 0)
			g_array_append_val(others, list);
		else
			*sending_r = TRUE;
	}
	if (rc < 0) {
		g_prefix_error(error, "reading the club's claims: ");
		return -1;
	}
	*others_r = g_steal_pointer(&others);
	return 0;
}

static int
claim(sqlite3 *db, gint64 list_id, const char *id, gint64 now, const char *self,
      GError **error)
{
	sqlite3_stmt *st = NULL;

	if (db_stmt(db,
		    "INSERT OR REPLACE INTO recent_message "
		    "(list_id, message_id, state, owner, at) "
		    "VALUES (?1, ?2, 'sending', ?3, ?4)",
		    &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, self, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	if (db_run(st, error) < 0) {
		g_prefix_error(error, "duplicate claim: ");
		return -1;
	}
	return 0;
}

/* Of MEMBERS, those who are on none of the lists OTHERS: *rcpts_r, a new
 * array of strings borrowed from MEMBERS. 0 or -1. */
static int
not_served(sqlite3 *db, GArray *others, GPtrArray *members, GPtrArray **rcpts_r,
	   GError **error)
{
	g_autoptr(GHashTable) served = NULL;
	GPtrArray *out = g_ptr_array_sized_new(members->len);

	/* the usual case, no other list of the club has the post: all */
	if (others->len == 0) {
		for (guint i = 0; i < members->len; i++)
			g_ptr_array_add(out, members->pdata[i]);
		*rcpts_r = out;
		return 0;
	}
	served = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < others->len; i++) {
		GPtrArray *m = catalog_recipients(
			db, g_array_index(others, gint64, i), error);
		if (m == NULL) {
			g_ptr_array_unref(out);
			return -1;
		}
		for (guint k = 0; k < m->len; k++)
			g_hash_table_add(served,
					 g_ascii_strdown(m->pdata[k], -1));
		g_ptr_array_unref(m);
	}
	for (guint i = 0; i < members->len; i++) {
		char *key = g_ascii_strdown(members->pdata[i], -1);

		if (!g_hash_table_contains(served, key))
			g_ptr_array_add(out, members->pdata[i]);
		g_free(key);
	}
	*rcpts_r = out;
	return 0;
}

/* One try of seen_claim(): 1, 0, -1, or 2 when another list of the club
 * is sending the post right now (nothing written). */
static int
try_claim(sqlite3 *db, gint64 club_id, gint64 list_id, const char *message_id,
	  GPtrArray **members_io, gboolean reread, GPtrArray **rcpts_r,
	  GError **error)
{
	GPtrArray *members = members_io ? *members_io : NULL;
	g_autoptr(GPtrArray) fresh = NULL;
	g_autofree char *self = seen_process_owner(getpid());
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	g_autoptr(GArray) others = NULL;
	gboolean blocked = FALSE, sending = FALSE;

	*rcpts_r = NULL;
	if (db_begin_write(db, DB_CHEAP, error) < 0)
		return -1;
	if (read_claims(db, club_id, list_id, message_id, now, self, &blocked,
			&sending, &others, error) < 0)
		goto fail;
	if (blocked || sending) {
		/* nothing written: ends the transaction */
		if (db_commit(db, error) < 0)
			return -1;
		return blocked ? 0 : 2;
	}
	if (claim(db, list_id, message_id, now, self, error) < 0)
		goto fail;
	/* with the others' memberships, in one transaction, whenever they
	 * count: after a wait, or when another list sent the post. Alone,
	 * the members read before (decide.c) serve. */
	if (members != NULL && (reread || others->len > 0) &&
	    (members = fresh = catalog_recipients(db, list_id, error)) == NULL)
		goto fail;
	if (members != NULL &&
	    not_served(db, others, members, rcpts_r, error) < 0)
		goto fail;
	if (db_commit(db, error) < 0) {
		g_clear_pointer(rcpts_r, g_ptr_array_unref);
		return -1;
	}
	if (fresh != NULL) { /* *RCPTS_R borrows from it */
		g_ptr_array_unref(*members_io);
		*members_io = g_steal_pointer(&fresh);
	}
	return 1;
fail:
	db_rollback(db);
	g_clear_pointer(rcpts_r, g_ptr_array_unref);
	return -1;
}

int
seen_claim(sqlite3 *db, gint64 club_id, gint64 list_id, const char *message_id,
	   GPtrArray **members_io, GPtrArray **rcpts_r, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + SEEN_WAIT_MS * 1000;
	gboolean waited = FALSE;
	int rc;

	/* after a wait, the list's members are read again with the others':
	 * a sync may have moved somebody from one to another meanwhile */
	while ((rc = try_claim(db, club_id, list_id, message_id, members_io,
			       waited, rcpts_r, error)) == 2) {
		waited = TRUE;
		if (g_get_monotonic_time() >= deadline) {
			g_set_error(error, DB_ERROR, DB_ERROR_BUSY,
				    "another list of the club is still sending "
				    "this post after %d s",
				    SEEN_WAIT_MS / 1000);
			return -1;
		}
		g_usleep(50 * 1000);
	}
	if (rc == 1) {
		sqlite3_stmt *st = NULL;

		/* cached now, not after sendmail (commit_sql says why); a
		 * failure here only leaves them to be prepared then */
		if (db_stmt(db, commit_sql, &st, NULL) == 0 &&
		    db_stmt(db, release_sql, &st, NULL) == 0)
			stats_prepare(db);
	}
	return rc;
}

/* Run SQL with ?1 = LIST_ID, ?2 = ID, ?3 = N (or TEXT when non-NULL). */
static int
run(sqlite3 *db, const char *sql, gint64 list_id, const char *id, gint64 n,
    const char *text, GError **error)
{
	sqlite3_stmt *st = NULL;

	if (db_stmt(db, sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (text != NULL)
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 3, n);
	if (db_run(st, error) < 0) {
		g_prefix_error(error, "recording the Message-ID: ");
		return -1;
	}
	return 0;
}

int
seen_commit(sqlite3 *db, gint64 list_id, const char *message_id,
	    const struct stat_event *count, GError **error)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	gint64 deadline = g_get_monotonic_time() + DB_AFTER_THE_FACT_MS * 1000;
	int rc;

	/* the post went out: if this is not recorded, the claim lapses with
	 * this process and a copy through the other domain goes out again,
	 * so a lock only delays it. The count goes in the same transaction;
	 * its failure loses a count, never the record. */
	do {
		rc = db_begin_write(db, DB_CHEAP, error) < 0
			     ? -1
			     : run(db, commit_sql, list_id, message_id, now,
				   NULL, error);
		if (rc == 0 && count != NULL)
			stats_count(db, count, NULL);
		if (rc == 0)
			rc = db_commit(db, error);
		else
			db_rollback(db);
	} while (rc < 0 && db_retry_busy(deadline, error));
	return rc;
}

int
seen_expire(sqlite3 *db, GError **error)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	sqlite3_stmt *st = NULL;

	/* a 'sent' entry stands SEEN_DAYS, a 'sending' claim an hour at
	 * most: anything older blocks nothing (seen_blocks) */
	if (db_durability(db, DB_CHEAP, error) < 0 ||
	    db_stmt(db, "DELETE FROM recent_message WHERE at < ?1", &st,
		    error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, now - SEEN_DAYS * 86400);
	if (db_run(st, error) < 0) {
		g_prefix_error(error, "forgetting old Message-IDs: ");
		return -1;
	}
	return sqlite3_changes(db);
}

int
seen_release(sqlite3 *db, gint64 list_id, const char *message_id,
	     GError **error)
{
	char *self = seen_process_owner(getpid());
	int rc = run(db, release_sql, list_id, message_id, 0, self, error);

	g_free(self);
	return rc;
}
