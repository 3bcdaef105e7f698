/* seen.c - duplicate suppression by Message-ID, per list.
 *
 * A claim ('sending') is taken in an IMMEDIATE transaction before sendmail
 * runs, so two copies of one post arriving at once (To: one domain, Cc:
 * the other) go out once. A claim only counts while its process lives
 * and for at most an hour: a delivery agent killed mid-way must not make
 * Postfix's retry look like a duplicate.
 */
#include "soarlist/seen.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "soarlist/db.h"

#define CLAIM_MAX_AGE 3600

static gboolean
pid_alive(gint64 pid)
{
	if (pid <= 0 || pid > G_MAXINT)
		return FALSE;
	return kill((pid_t)pid, 0) == 0 || errno == EPERM;
}

/* 1 when the stored row still blocks a new distribution. */
static gboolean
blocks(const char *state, gint64 pid, gint64 at, gint64 now)
{
	if (g_strcmp0(state, "sent") == 0)
		return at > now - SEEN_DAYS * 86400;
	return at > now - CLAIM_MAX_AGE && pid != getpid() && pid_alive(pid);
}

static int
claim_in_txn(sqlite3 *db, gint64 list_id, const char *id, gint64 now,
	     GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, "SELECT state, pid, at FROM recent_message "
		       "WHERE list_id = ?1 AND message_id = ?2", &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW &&
	    blocks((const char *)sqlite3_column_text(st, 0),
		   sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		   now)) {
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(db, rc, "duplicate check", error);
	if (db_prepare(db, "INSERT OR REPLACE INTO recent_message "
		       "(list_id, message_id, state, pid, at) "
		       "VALUES (?1, ?2, 'sending', ?3, ?4)", &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, getpid());
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
	int rc;

	if (db_exec(db, "BEGIN IMMEDIATE", error) < 0)
		return -1;
	rc = claim_in_txn(db, list_id, message_id, g_get_real_time() / G_USEC_PER_SEC,
			  error);
	if (rc < 0 || db_exec(db, "COMMIT", error) < 0) {
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return rc;
}

static int
run(sqlite3 *db, const char *sql, gint64 list_id, const char *id,
    gint64 n, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, list_id);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
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

	if (db_exec(db, "BEGIN IMMEDIATE", error) < 0)
		return -1;
	if (run(db, "UPDATE recent_message SET state = 'sent', at = ?3 "
		"WHERE list_id = ?1 AND message_id = ?2", list_id, message_id,
		now, error) < 0 ||
	    run(db, "DELETE FROM recent_message WHERE ?1 = ?1 AND ?2 = ?2 "
		"AND at < ?3", list_id, message_id, now - SEEN_DAYS * 86400,
		error) < 0 ||
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
	return run(db, "DELETE FROM recent_message WHERE list_id = ?1 AND "
		   "message_id = ?2 AND state = 'sending' AND pid = ?3",
		   list_id, message_id, getpid(), error);
}
