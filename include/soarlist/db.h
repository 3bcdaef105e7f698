/* db.h - opening the SQLite cache and applying schema migrations.
 *
 * The schema lives in schema/NNN-*.sql, compiled in as a GResource, and is
 * applied in order by db_open(..., DB_CREATE), tracked by PRAGMA
 * user_version. The delivery agent opens with DB_EXISTING: a missing, empty
 * or outdated database is an error (and a temporary failure for Postfix).
 */
#ifndef SOARLIST_DB_H
#define SOARLIST_DB_H

#include <glib.h>
#include <sqlite3.h>

#define DB_ERROR (db_error_quark())
GQuark db_error_quark(void);

enum db_error_code {
	DB_ERROR_OPEN,   /* cannot open or not initialised */
	DB_ERROR_SCHEMA, /* schema too old or too new */
	DB_ERROR_BUSY,   /* locked past the busy timeout */
	DB_ERROR_FAILED, /* any other SQLite error */
};

enum db_open_mode {
	DB_EXISTING, /* must exist with the current schema */
	DB_CREATE,   /* create if missing and migrate to the current schema */
};

/* milliseconds a statement waits for a lock before failing, by default
 * (busy_timeout in soarlist.conf) */
#define DB_BUSY_TIMEOUT_MS 10000

/* Open PATH; a statement waits up to BUSY_MS for a lock before failing
 * with SQLITE_BUSY. Returns a handle (close with db_close) or NULL with
 * *error. */
sqlite3 *db_open(const char *path, enum db_open_mode mode, guint busy_ms,
		 GError **error);

/* Finalize the cached statements (db_stmt), close *DB, set it to NULL. */
void db_close(sqlite3 **db);

/* The schema version this build writes and expects. */
int db_schema_version(void);

/* Run SQL (no results). Returns 0 or -1 with *error. */
int db_exec(sqlite3 *db, const char *sql, GError **error);

/* Prepare SQL. Returns 0 or -1 with *error. */
int db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt_r,
	       GError **error);

/* How a write transaction is made durable (DESIGN.md, Data). */
enum db_durability {
	/* on disk before COMMIT returns (SQLite's synchronous = FULL): held
	 * posts, disabled addresses, moderation claims */
	DB_SYNCED,
	/* not synced (synchronous = NORMAL: in WAL mode a power cut may
	 * lose the last transactions, never corrupt the database): the
	 * duplicate and one-copy bookkeeping, whose loss costs at worst one
	 * duplicate copy */
	DB_CHEAP,
};

/* Set the durability of what DB writes from now on (transactions and
 * single statements alike): every write declares its own. 0 or -1. */
int db_durability(sqlite3 *db, enum db_durability d, GError **error);

/* How long a write that records what already happened (sendmail has the
 * post) keeps trying past busy_timeout: giving up would send it again. */
#define DB_AFTER_THE_FACT_MS (120 * 1000)

/* For such a write: TRUE when *ERROR is a lock timeout (DB_ERROR_BUSY) and
 * the monotonic time DEADLINE (microseconds) has not passed; then *ERROR
 * is cleared and it has waited a little (up to 50 ms), so the caller
 * tries again. FALSE leaves *ERROR as it is. */
gboolean db_retry_busy(gint64 deadline, GError **error);

/* BEGIN IMMEDIATE, after db_durability(D). 0 or -1 with *error. */
int db_begin_write(sqlite3 *db, enum db_durability d, GError **error);

/* The connection of a process that runs once per message (the delivery
 * agent, the policy service per request): many at once, each holding the
 * write lock only for its short claim and commit. It never checkpoints the
 * WAL, not even when it closes last, and never deletes it (the `soarlist`
 * commands do, db_command_mode()), and its writes are DB_CHEAP unless they
 * say otherwise. */
int db_agent_mode(sqlite3 *db, GError **error);

/* The connection of a `soarlist` command: as db_agent_mode(), but a
 * commit that finds the WAL past SQLite's 1000 pages checkpoints it and
 * truncates it to 4 MB. Sync, every 15 minutes from its timer, commits
 * every time: the WAL the deliveries leave stays bounded, and a sync that
 * changes nothing syncs nothing to disk. */
int db_command_mode(sqlite3 *db, GError **error);

/* BEGIN (deferred): a read transaction, one snapshot for what follows
 * (it becomes a write if a statement writes). 0 or -1 with *error. */
int db_begin_read(sqlite3 *db, GError **error);

/* COMMIT, its result checked: 0, or -1 with *error and the transaction
 * rolled back (the connection is never left inside it). The cached
 * statements (db_stmt) are reset first, so none holds the snapshot on. */
int db_commit(sqlite3 *db, GError **error);

/* ROLLBACK if DB is inside a transaction; harmless outside one, never
 * fails (a failed ROLLBACK leaves nothing to do). Resets the cached
 * statements as db_commit() does. */
void db_rollback(sqlite3 *db);

/* The statement for SQL, compiled once per connection (statements compiled
 * once per process at most: the policy service answers many requests on
 * one connection): the first call prepares it, later calls return the same
 * statement reset and with its bindings cleared. Never finalize it:
 * db_close() does. Reset it when done (db_row() does at the end of the
 * rows; after reading one row, sqlite3_reset()) so that it holds no read
 * snapshot. Asking for the same SQL again resets the statement: not for
 * a statement that a caller up the stack is still stepping through.
 * 0 or -1 with *error. */
int db_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **stmt_r,
	    GError **error);

/* Step ST: 1 with a row to read, 0 when there are no more rows (ST is
 * reset), -1 with *error (ST is reset). The row loop:
 *	while ((rc = db_row(st, error)) > 0) ...;
 *	if (rc < 0) ...; */
int db_row(sqlite3_stmt *st, GError **error);

/* Run ST, a statement that writes (its changes are made by its first
 * step; a row it returns, as with RETURNING, is not read), and reset it.
 * 0 or -1 with *error. */
int db_run(sqlite3_stmt *st, GError **error);

/* Copy the WAL into the database file and start it again (a TRUNCATE
 * checkpoint), after a sync that stored something: a connection that
 * opens the database alone rebuilds the WAL's index by reading all of it,
 * so the delivery agents start faster on a short WAL. Waits for the
 * readers at most the busy timeout; a checkpoint that cannot complete is
 * left for the next (never an error: nothing is lost). The new WAL is
 * started here, so that the sync of its header falls on this command and
 * not on the next delivery. */
void db_checkpoint(sqlite3 *db);

/* Set *error from the connection's last error; RC decides the code
 * (SQLITE_BUSY/LOCKED become DB_ERROR_BUSY). Always returns -1. */
int db_fail(sqlite3 *db, int rc, const char *what, GError **error);

#endif
