/* seen.c - duplicate suppression by Message-ID, per list.
 *
 * A claim ('sending') is taken in an IMMEDIATE transaction before sendmail
 * runs, so two copies of one post arriving at once (To: one domain, Cc:
 * the other) go out once. A claim only counts while the very process that
 * made it lives (PID and start time, so a reused PID does not count), and
 * for at most an hour: a delivery agent killed mid-way must not make
 * Postfix's retry look like a duplicate.
 */
#include "soarlist/seen.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/db.h"

#define CLAIM_MAX_AGE 3600

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

static int
claim_in_txn(sqlite3 *db, gint64 list_id, const char *id, gint64 now,
	     const char *self, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, "SELECT state, owner, at FROM recent_message "
		       "WHERE list_id = ?1 AND message_id = ?2", &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW &&
	    seen_blocks((const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1),
		   sqlite3_column_int64(st, 2), now, self)) {
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, "duplicate check", error);
	if (db_prepare(db, "INSERT OR REPLACE INTO recent_message "
		       "(list_id, message_id, state, owner, at) "
		       "VALUES (?1, ?2, 'sending', ?3, ?4)", &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, self, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, "duplicate claim", error);
	return 1;
}

int
seen_claim(sqlite3 *db, gint64 list_id, const char *message_id,
	   GError **error)
{
	char *self = seen_process_owner(getpid());
	int rc;

	if (db_begin_write(db, DB_CHEAP, error) < 0) {
		g_free(self);
		return -1;
	}
	rc = claim_in_txn(db, list_id, message_id,
			  g_get_real_time() / G_USEC_PER_SEC, self, error);
	g_free(self);
	if (rc < 0 || db_exec(db, "COMMIT", error) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return rc;
}

/* Run SQL with ?1 = LIST_ID, ?2 = ID, ?3 = N (or TEXT when non-NULL). */
static int
run(sqlite3 *db, const char *sql, gint64 list_id, const char *id,
    gint64 n, const char *text, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	if (text != NULL)
		sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 3, n);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, "recording the Message-ID", error);
	return 0;
}

int
seen_commit(sqlite3 *db, gint64 list_id, const char *message_id,
	    GError **error)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (db_begin_write(db, DB_CHEAP, error) < 0)
		return -1;
	if (run(db, "UPDATE recent_message SET state = 'sent', at = ?3 "
		"WHERE list_id = ?1 AND message_id = ?2", list_id, message_id,
		now, NULL, error) < 0 ||
	    run(db, "DELETE FROM recent_message WHERE ?1 = ?1 AND ?2 = ?2 "
		"AND at < ?3", list_id, message_id, now - SEEN_DAYS * 86400,
		NULL, error) < 0 ||
	    db_exec(db, "COMMIT", error) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int
seen_release(sqlite3 *db, gint64 list_id, const char *message_id,
	     GError **error)
{
	char *self = seen_process_owner(getpid());
	int rc = run(db, "DELETE FROM recent_message WHERE list_id = ?1 AND "
		     "message_id = ?2 AND state = 'sending' AND owner = ?3",
		     list_id, message_id, 0, self, error);

	g_free(self);
	return rc;
}
