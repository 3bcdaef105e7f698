/* db.c - opening the SQLite cache, applying the migrations in schema/.
 *
 * The migrations are compiled in as a GResource; migration N is the file
 * whose name starts with N (zero-padded), applied in one transaction that
 * also sets PRAGMA user_version = N.
 */
#include "soarlist/db.h"

#include <fcntl.h>
#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soarlist-schema.h"
#include "soarlist/maillog.h"

#define SCHEMA_PREFIX "/org/manage2soar/soarlist/schema"

/* the quark's name is one token: the formatter must not space it */
/* clang-format off */
G_DEFINE_QUARK(soarlist-db-error-quark, db_error)
/* clang-format on */

gboolean
db_retry_busy(gint64 deadline, GError **error)
{
	gint64 now = g_get_monotonic_time();

	if (error == NULL ||
	    !g_error_matches(*error, DB_ERROR, DB_ERROR_BUSY) ||
	    now >= deadline)
		return FALSE;
	g_clear_error(error);
	/* the lock holder commits within milliseconds; with a short or no
	 * busy_timeout this is the only wait */
	g_usleep((gulong)MIN(50 * 1000, deadline - now));
	return TRUE;
}

/* TRUE when DB's file and its directory are there and writable, so that
 * SQLITE_CANTOPEN (of the WAL or the shared memory, on an I/O error or with
 * no file descriptor left) is no configuration to fix but a failure that a
 * retry may not meet (issue 11: tests/blackbox/test_faults.py). */
static gboolean
path_usable(sqlite3 *db)
{
	const char *path = db != NULL ? sqlite3_db_filename(db, "main") : NULL;
	g_autofree char *dir = NULL;

	if (path == NULL || *path == '\0' || access(path, R_OK | W_OK) != 0)
		return FALSE;
	dir = g_path_get_dirname(path);
	return access(dir, W_OK | X_OK) == 0;
}

int
db_fail(sqlite3 *db, int rc, const char *what, GError **error)
{
	int code = DB_ERROR_FAILED;
	int prim = rc & 0xff;

	if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
		code = DB_ERROR_BUSY;
	else if (prim == SQLITE_NOTADB ||
		 (prim == SQLITE_CANTOPEN && !path_usable(db)))
		code = DB_ERROR_OPEN;
	g_set_error(error, DB_ERROR, code, "%s: %s", what,
		    db != NULL ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	return -1;
}

int
db_exec(sqlite3 *db, const char *sql, GError **error)
{
	int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return db_fail(db, rc, "database", error);
	return 0;
}

int
db_prepare(sqlite3 *db, const char *sql, sqlite3_stmt **stmt_r, GError **error)
{
	int rc = sqlite3_prepare_v2(db, sql, -1, stmt_r, NULL);

	if (rc != SQLITE_OK)
		return db_fail(db, rc, "database", error);
	return 0;
}

/* The statements db_stmt() compiled: connection -> (SQL text -> its
 * statement). A process has one or two connections and a few dozen
 * statements; the programs are single-threaded. */
static GHashTable *stmt_caches;

static void
finalize_stmt(gpointer st)
{
	sqlite3_finalize(st);
}

static GHashTable *
stmt_cache(sqlite3 *db, gboolean create)
{
	GHashTable *cache;

	if (stmt_caches == NULL) {
		if (!create)
			return NULL;
		stmt_caches = g_hash_table_new_full(
			g_direct_hash, g_direct_equal, NULL,
			(GDestroyNotify)g_hash_table_unref);
	}
	cache = g_hash_table_lookup(stmt_caches, db);
	if (cache == NULL && create) {
		cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      finalize_stmt);
		g_hash_table_insert(stmt_caches, db, cache);
	}
	return cache;
}

int
db_stmt(sqlite3 *db, const char *sql, sqlite3_stmt **stmt_r, GError **error)
{
	GHashTable *cache = stmt_cache(db, TRUE);
	sqlite3_stmt *st = g_hash_table_lookup(cache, sql);
	int rc;

	if (st != NULL) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		*stmt_r = st;
		return 0;
	}
	rc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
				NULL);
	if (rc != SQLITE_OK) {
		*stmt_r = NULL;
		return db_fail(db, rc, "database", error);
	}
	g_hash_table_insert(cache, g_strdup(sql), st);
	*stmt_r = st;
	return 0;
}

/* Reset DB's cached statements left in the middle of their rows. */
static void
reset_cached(sqlite3 *db)
{
	GHashTable *cache = stmt_cache(db, FALSE);
	GHashTableIter it;
	gpointer st;

	if (cache == NULL)
		return;
	g_hash_table_iter_init(&it, cache);
	while (g_hash_table_iter_next(&it, NULL, &st))
		if (sqlite3_stmt_busy(st))
			sqlite3_reset(st);
}

int
db_row(sqlite3_stmt *st, GError **error)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return 1;
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(sqlite3_db_handle(st), rc, "database", error);
}

int
db_run(sqlite3_stmt *st, GError **error)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return db_fail(sqlite3_db_handle(st), rc, "database", error);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The migration files, in the order they apply (by name: NNN-...). */
static char **
migration_names(void)
{
	char **names = g_resources_enumerate_children(
		SCHEMA_PREFIX, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
	gsize n = names ? g_strv_length(names) : 0;

	if (names != NULL)
		qsort(names, n, sizeof(char *), cmp_names);
	return names;
}

int
db_schema_version(void)
{
	char **names = migration_names();
	int v = 0;

	for (int i = 0; names != NULL && names[i] != NULL; i++)
		v = MAX(v, atoi(names[i]));
	g_strfreev(names);
	return v;
}

static int
user_version(sqlite3 *db, int *v_r, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, "PRAGMA user_version", &st, error) < 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return db_fail(db, rc, "reading the schema version", error);
	}
	*v_r = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return 0;
}

static int
apply_migration(sqlite3 *db, const char *name, int version, GError **error)
{
	char *path = g_strconcat(SCHEMA_PREFIX "/", name, NULL);
	GBytes *sql = g_resources_lookup_data(path, 0, NULL);
	char *text, *pragma;
	int rc = -1;

	g_free(path);
	if (sql == NULL) {
		g_set_error(error, DB_ERROR, DB_ERROR_SCHEMA,
			    "migration %s is missing from the build", name);
		return -1;
	}
	text = g_strndup(g_bytes_get_data(sql, NULL), g_bytes_get_size(sql));
	pragma = g_strdup_printf("PRAGMA user_version = %d", version);
	if (db_exec(db, text, error) == 0 && db_exec(db, pragma, error) == 0)
		rc = 0;
	else
		g_prefix_error(error, "migration %s: ", name);
	g_free(pragma);
	g_free(text);
	g_bytes_unref(sql);
	return rc;
}

/* Bring the schema from its version to the newest one, all in one
 * IMMEDIATE transaction so that two `soarlist` runs cannot both migrate. */
static int
migrate(sqlite3 *db, GError **error)
{
	char **names = migration_names();
	int v = 0, rc = -1;

	/* up to date (the usual case): no write lock, so that a reader runs
	 * while another process writes */
	if (user_version(db, &v, error) < 0)
		goto out;
	if (v == db_schema_version()) {
		rc = 0;
		goto out;
	}
	if (db_exec(db, "BEGIN IMMEDIATE", error) < 0)
		goto out;
	if (user_version(db, &v, error) < 0)
		goto rollback;
	if (v > db_schema_version()) {
		g_set_error(error, DB_ERROR, DB_ERROR_SCHEMA,
			    "schema version %d is newer than this soarlist "
			    "(%d)",
			    v, db_schema_version());
		goto rollback;
	}
	for (int i = 0; names != NULL && names[i] != NULL; i++) {
		int n = atoi(names[i]);
		if (n > v && apply_migration(db, names[i], n, error) < 0)
			goto rollback;
	}
	if (db_exec(db, "COMMIT", error) < 0)
		goto rollback;
	rc = 0;
	goto out;
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	g_strfreev(names);
	return rc;
}

static int
check_version(sqlite3 *db, const char *path, GError **error)
{
	int v = 0;

	if (user_version(db, &v, error) < 0)
		return -1;
	if (v == 0) {
		g_set_error(error, DB_ERROR, DB_ERROR_OPEN,
			    "database %s is empty: run 'soarlist sync' first",
			    path);
		return -1;
	}
	if (v != db_schema_version()) {
		g_set_error(error, DB_ERROR, DB_ERROR_SCHEMA,
			    "database %s has schema version %d, this program "
			    "needs %d: run 'soarlist sync' with a matching "
			    "version",
			    path, v, db_schema_version());
		return -1;
	}
	return 0;
}

/* Before SQLite starts (the first open): the programs are single-threaded
 * and each connection is used by one thread, so no mutexes; and no
 * process-wide count of the memory SQLite holds (sqlite3_memory_used(),
 * which nothing reads), kept under a mutex at every allocation. Too late
 * if SQLite already started (SQLITE_MISUSE, ignored): only cheaper. */
static void
configure_sqlite(void)
{
	static gboolean done;

	if (done)
		return;
	done = TRUE;
	sqlite3_config(SQLITE_CONFIG_SINGLETHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

sqlite3 *
db_open(const char *path, enum db_open_mode mode, guint busy_ms, GError **error)
{
	sqlite3 *db = NULL;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc;

	soarlist_schema_get_resource(); /* registers the resource */
	configure_sqlite();
	if (mode == DB_EXISTING && access(path, F_OK) != 0) {
		g_set_error(error, DB_ERROR, DB_ERROR_OPEN,
			    "database %s does not exist: run 'soarlist sync' "
			    "first",
			    path);
		return NULL;
	}
	if (mode == DB_CREATE) {
		/* private whatever the umask (DESIGN.md, Data): created 0640
		 * here, since SQLite would use 0644, and SQLite gives the -wal
		 * and -shm files the mode of the database */
		int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
		if (fd >= 0)
			close(fd);
		flags |= SQLITE_OPEN_CREATE;
	}
	rc = sqlite3_open_v2(path, &db, flags, NULL);
	if (rc != SQLITE_OK) {
		/* out of memory is no configuration to fix */
		g_set_error(error, DB_ERROR,
			    rc == SQLITE_NOMEM ? DB_ERROR_FAILED
					       : DB_ERROR_OPEN,
			    "cannot open database %s: %s", path,
			    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, (int)MIN(busy_ms, G_MAXINT));
	sqlite3_extended_result_codes(db, 1);
	/* through the C interface: no statement to compile */
	rc = sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_FKEY, 1, NULL);
	if (rc != SQLITE_OK) {
		db_fail(db, rc, "enabling foreign keys", error);
		goto fail;
	}
	if (mode == DB_CREATE) {
		/* WAL is persistent: set once here, readers inherit it */
		if (db_exec(db, "PRAGMA journal_mode = WAL", error) < 0 ||
		    migrate(db, error) < 0)
			goto fail;
	} else if (check_version(db, path, error) < 0) {
		goto fail;
	}
	return db;
fail:
	g_prefix_error(error, "%s: ", path);
	sqlite3_close(db);
	return NULL;
}

/* Run SQL, one statement without results, compiled once per connection
 * (db_stmt): the transaction and durability statements every write
 * issues. Returns SQLite's result code. */
static int
step_cached(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_stmt(db, sql, &st, NULL) < 0)
		return sqlite3_errcode(db);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
exec_cached(sqlite3 *db, const char *sql, GError **error)
{
	int rc = step_cached(db, sql);

	return rc == SQLITE_OK ? 0 : db_fail(db, rc, "database", error);
}

int
db_durability(sqlite3 *db, enum db_durability d, GError **error)
{
	return exec_cached(db,
			   d == DB_SYNCED ? "PRAGMA synchronous = FULL"
					  : "PRAGMA synchronous = NORMAL",
			   error);
}

int
db_begin_write(sqlite3 *db, enum db_durability d, GError **error)
{
	if (db_durability(db, d, error) < 0)
		return -1;
	return exec_cached(db, "BEGIN IMMEDIATE", error);
}

int
db_begin_read(sqlite3 *db, GError **error)
{
	return exec_cached(db, "BEGIN", error);
}

int
db_commit(sqlite3 *db, GError **error)
{
	int rc;

	reset_cached(db);
	rc = step_cached(db, "COMMIT");
	if (rc == SQLITE_OK)
		return 0;
	db_fail(db, rc, "committing", error);
	db_rollback(db);
	return -1;
}

void
db_rollback(sqlite3 *db)
{
	reset_cached(db);
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
}

/* No checkpoint when the connection closes, the WAL kept, writes
 * DB_CHEAP unless they say otherwise; AUTOCHECKPOINT: whether its commits
 * checkpoint a WAL that grew past SQLite's 1000 pages. */
static int
shared_mode(sqlite3 *db, gboolean autocheckpoint, GError **error)
{
	int persist = 1, rc;

	/* a checkpoint syncs the WAL and the database: two fdatasyncs and
	 * the write lock held meanwhile, in every process that happens to
	 * close last; and deleting the WAL makes the next one create it */
	rc = sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL,
					  &persist);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "setting up the connection", error);
	if (autocheckpoint) {
		if (db_exec(db, "PRAGMA journal_size_limit = 4194304", error) <
		    0)
			return -1;
	} else if ((rc = sqlite3_wal_autocheckpoint(db, 0)) != SQLITE_OK) {
		return db_fail(db, rc, "setting up the connection", error);
	}
	return db_durability(db, DB_CHEAP, error);
}

int
db_agent_mode(sqlite3 *db, GError **error)
{
	return shared_mode(db, FALSE, error);
}

int
db_command_mode(sqlite3 *db, GError **error)
{
	return shared_mode(db, TRUE, error);
}

void
db_checkpoint(sqlite3 *db)
{
	int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
					   NULL, NULL);
	g_autofree char *restart = NULL;

	if (rc != SQLITE_OK) {
		if (rc != SQLITE_BUSY)
			maillog_warning("database checkpoint: %s",
					sqlite3_errmsg(db));
		return;
	}
	/* the first write to an empty WAL writes and syncs its header (two
	 * fdatasyncs): made here, by this command, not by the next delivery
	 * or the next unchanged sync. Setting the schema version it already
	 * has is a write that changes nothing. */
	restart = g_strdup_printf("PRAGMA user_version = %d",
				  db_schema_version());
	if (db_durability(db, DB_CHEAP, NULL) < 0 ||
	    db_exec(db, restart, NULL) < 0)
		maillog_warning("database checkpoint: %s", sqlite3_errmsg(db));
}

void
db_close(sqlite3 **db)
{
	if (*db != NULL) {
		if (stmt_caches != NULL)
			g_hash_table_remove(stmt_caches, *db);
		sqlite3_close(*db);
		*db = NULL;
	}
}
