/* test-db.c - the db helpers against a real SQLite database made by
 * db_open(DB_CREATE) in a scratch directory: the statement cache (one
 * statement per SQL text, reset and cleared on every use, finalized by
 * db_close), the row loop, and the transaction helpers (a failed COMMIT
 * reported and rolled back, ROLLBACK outside a transaction harmless). */
#include "soarlist/db.h"

#include "unit.h"
#include "unit-db.h"

static char *tmpdir;
static sqlite3 *db;

static void
setup(void)
{
	GError *err = NULL;

	db = unit_db_create("db", &tmpdir);
	db_exec(db,
		"CREATE TABLE t (n INTEGER PRIMARY KEY, v TEXT);"
		"INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three');"
		"CREATE TABLE parent (id INTEGER PRIMARY KEY);"
		"CREATE TABLE child (p INTEGER REFERENCES parent(id) "
		"DEFERRABLE INITIALLY DEFERRED);",
		&err);
	g_assert_no_error(err);
}

static void
teardown(void)
{
	db_close(&db);
	g_assert_null(db);
	unit_rmtree(tmpdir);
	g_free(tmpdir);
}

static int
count_stmts(void)
{
	int n = 0;

	for (sqlite3_stmt *s = sqlite3_next_stmt(db, NULL); s != NULL;
	     s = sqlite3_next_stmt(db, s))
		n++;
	return n;
}

static void
test_cache_same(void)
{
	const char sql[] = "SELECT v FROM t WHERE n = ?1";
	char copy[sizeof(sql)];
	sqlite3_stmt *a = NULL, *b = NULL, *c = NULL;
	GError *err = NULL;
	int before;

	setup();
	before = count_stmts();
	g_assert_cmpint(db_stmt(db, sql, &a, &err), ==, 0);
	g_assert_no_error(err);
	/* the same text from another buffer is the same statement */
	memcpy(copy, sql, sizeof(sql));
	g_assert_cmpint(db_stmt(db, copy, &b, &err), ==, 0);
	check_int(a == b, 1, "same SQL, same statement");
	check_int(count_stmts() - before, 1, "statements compiled");
	g_assert_cmpint(db_stmt(db, "SELECT count(*) FROM t", &c, &err), ==, 0);
	check_int(a != c, 1, "other SQL, another statement");
	check_int(count_stmts() - before, 2, "statements compiled");
	teardown();
}

static void
test_cache_reset(void)
{
	const char sql[] = "SELECT ?1, v FROM t ORDER BY n";
	sqlite3_stmt *st = NULL, *again = NULL;
	GError *err = NULL;

	setup();
	g_assert_cmpint(db_stmt(db, sql, &st, &err), ==, 0);
	sqlite3_bind_text(st, 1, "bound", -1, SQLITE_STATIC);
	check_int(db_row(st, &err), 1, "first row");
	check_str((const char *)sqlite3_column_text(st, 0), "bound",
		  "the binding");
	check_int(db_row(st, &err), 1, "second row");
	check_str((const char *)sqlite3_column_text(st, 1), "two",
		  "second row's v");
	check_int(sqlite3_stmt_busy(st), 1, "busy in the middle of its rows");
	/* asked again in the middle of its rows: from the start, unbound */
	g_assert_cmpint(db_stmt(db, sql, &again, &err), ==, 0);
	check_int(again == st, 1, "same statement");
	check_int(sqlite3_stmt_busy(st), 0, "reset");
	check_int(db_row(again, &err), 1, "first row again");
	check_str((const char *)sqlite3_column_text(again, 1), "one",
		  "first row's v");
	check_int(sqlite3_column_type(again, 0), SQLITE_NULL,
		  "bindings cleared");
	g_assert_no_error(err);
	teardown();
}

static void
test_row_loop(void)
{
	sqlite3_stmt *st = NULL;
	GError *err = NULL;
	GString *seen = g_string_new(NULL);
	int rc;

	setup();
	g_assert_cmpint(db_stmt(db, "SELECT v FROM t ORDER BY n", &st, &err),
			==, 0);
	while ((rc = db_row(st, &err)) > 0)
		g_string_append_printf(seen, "%s;", sqlite3_column_text(st, 0));
	check_int(rc, 0, "end of the rows");
	g_assert_no_error(err);
	check_str(seen->str, "one;two;three;", "rows");
	check_int(sqlite3_stmt_busy(st), 0, "reset at the end");

	/* an error: reported, the statement reset */
	g_assert_cmpint(
		db_stmt(db, "INSERT INTO t VALUES (?1, 'dup')", &st, &err), ==,
		0);
	sqlite3_bind_int(st, 1, 1);
	check_int(db_row(st, &err), -1, "constraint violation");
	g_assert_error(err, DB_ERROR, DB_ERROR_FAILED);
	check_contains(err->message, "UNIQUE", "message");
	g_clear_error(&err);

	/* db_run */
	sqlite3_bind_int(st, 1, 4);
	check_int(db_run(st, &err), 0, "insert");
	g_assert_no_error(err);
	sqlite3_bind_int(st, 1, 4);
	check_int(db_run(st, &err), -1, "second insert of 4");
	g_assert_error(err, DB_ERROR, DB_ERROR_FAILED);
	g_clear_error(&err);
	g_string_free(seen, TRUE);
	teardown();
}

static int
count_rows(const char *table)
{
	char *sql = g_strdup_printf("SELECT count(*) FROM %s", table);
	sqlite3_stmt *st = NULL;
	GError *err = NULL;
	int n = -1;

	g_assert_cmpint(db_stmt(db, sql, &st, &err), ==, 0);
	if (db_row(st, &err) > 0)
		n = sqlite3_column_int(st, 0);
	sqlite3_reset(st);
	g_assert_no_error(err);
	g_free(sql);
	return n;
}

static void
test_commit(void)
{
	sqlite3_stmt *st = NULL;
	GError *err = NULL;

	setup();
	/* a read transaction, a cached statement left in its rows: COMMIT
	 * still ends it */
	g_assert_cmpint(db_begin_read(db, &err), ==, 0);
	check_int(sqlite3_get_autocommit(db), 0, "inside a transaction");
	g_assert_cmpint(db_stmt(db, "SELECT n FROM t", &st, &err), ==, 0);
	check_int(db_row(st, &err), 1, "a row");
	check_int(db_commit(db, &err), 0, "commit of a read");
	g_assert_no_error(err);
	check_int(sqlite3_get_autocommit(db), 1, "transaction ended");
	check_int(sqlite3_stmt_busy(st), 0, "cached statement reset");

	/* a write that commits */
	g_assert_cmpint(db_begin_write(db, DB_CHEAP, &err), ==, 0);
	g_assert_cmpint(db_exec(db,
				"INSERT INTO parent VALUES (1);"
				"INSERT INTO child VALUES (1)",
				&err),
			==, 0);
	check_int(db_commit(db, &err), 0, "commit");
	g_assert_no_error(err);
	check_int(count_rows("child"), 1, "committed child rows");

	/* COMMIT refused (a deferred foreign key): reported, rolled back */
	g_assert_cmpint(db_begin_write(db, DB_CHEAP, &err), ==, 0);
	g_assert_cmpint(db_exec(db, "INSERT INTO child VALUES (7)", &err), ==,
			0);
	check_int(db_commit(db, &err), -1, "commit of a dangling reference");
	g_assert_error(err, DB_ERROR, DB_ERROR_FAILED);
	check_contains(err->message, "committing", "message");
	check_contains(err->message, "FOREIGN KEY", "message");
	g_clear_error(&err);
	check_int(sqlite3_get_autocommit(db), 1, "not left in the transaction");
	check_int(count_rows("child"), 1, "child rows after the failure");

	/* COMMIT with no transaction is an error too */
	check_int(db_commit(db, &err), -1, "commit outside a transaction");
	g_assert_error(err, DB_ERROR, DB_ERROR_FAILED);
	g_clear_error(&err);
	teardown();
}

static void
test_rollback(void)
{
	GError *err = NULL;

	setup();
	/* outside a transaction: nothing happens, the connection works */
	db_rollback(db);
	db_rollback(db);
	check_int(sqlite3_get_autocommit(db), 1, "still outside");
	check_int(count_rows("t"), 3, "rows");

	/* inside one: undone */
	g_assert_cmpint(db_begin_write(db, DB_CHEAP, &err), ==, 0);
	g_assert_cmpint(db_exec(db, "DELETE FROM t", &err), ==, 0);
	check_int(count_rows("t"), 0, "rows inside");
	db_rollback(db);
	check_int(sqlite3_get_autocommit(db), 1, "transaction ended");
	check_int(count_rows("t"), 3, "rows after the rollback");
	g_assert_no_error(err);
	teardown();
}

static void
test_close(void)
{
	sqlite3_stmt *st = NULL;
	GError *err = NULL;
	char *path;
	sqlite3 *again;

	setup();
	g_assert_cmpint(db_stmt(db, "SELECT n FROM t", &st, &err), ==, 0);
	check_int(db_row(st, &err), 1, "a row, left unfinished");
	path = g_build_filename(tmpdir, "cache.db", NULL);
	/* db_close finalizes its statements, or SQLite would not close; a
	 * new connection starts with an empty cache */
	db_close(&db);
	g_assert_null(db);
	db = db_open(path, DB_EXISTING, DB_BUSY_TIMEOUT_MS, &err);
	g_assert_no_error(err);
	again = db;
	check_int(count_stmts(), 0, "statements of a new connection");
	g_assert_cmpint(db_stmt(again, "SELECT n FROM t", &st, &err), ==, 0);
	check_int(count_stmts(), 1, "statements after db_stmt");
	g_free(path);
	teardown();
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/db/stmt/same", test_cache_same);
	g_test_add_func("/db/stmt/reset", test_cache_reset);
	g_test_add_func("/db/row-loop", test_row_loop);
	g_test_add_func("/db/commit", test_commit);
	g_test_add_func("/db/rollback", test_rollback);
	g_test_add_func("/db/close", test_close);
	return g_test_run();
}
