/* test-seen.c - the claim of a post on a list and who gets it
 * (seen_claim), the members who receive a list's mail (catalog_recipients:
 * disabled addresses left out, as SQLite's NOCASE compares) and the
 * forgetting of old Message-IDs (seen_expire), against a real database
 * made by db_open(DB_CREATE) in a scratch directory. */
#include <time.h>

#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/seen.h"

#include "unit.h"
#include "unit-db.h"

static char *tmpdir;
static sqlite3 *db;

static void
setup(void)
{
	GError *err = NULL;

	db = unit_db_create("seen", &tmpdir);
	db_exec(db,
		"INSERT INTO club (id, slug, name) VALUES (1, 'ssc', 'S'),"
		" (2, 'other', 'O');"
		"INSERT INTO list (id, club_id, name) VALUES (1, 1, "
		"'members'), (2, 1, 'board'), (3, 2, 'members');"
		"INSERT INTO list_member VALUES (1, 'ann@x.org'), "
		"(1, 'Bob@X.org'), (1, 'cat@x.org'), (3, 'dan@x.org');"
		"INSERT INTO disabled_address VALUES (1, 'CAT@x.org', 0, "
		"'bounces'), (2, 'ann@x.org', 0, 'bounces');",
		&err);
	g_assert_no_error(err);
}

static void
teardown(void)
{
	db_close(&db);
	unit_rmtree(tmpdir);
	g_free(tmpdir);
}

static char *
joined(GPtrArray *a)
{
	g_ptr_array_add(a, NULL);
	char *s = g_strjoinv(",", (char **)a->pdata);
	g_ptr_array_remove_index(a, a->len - 1);
	return s;
}

static GPtrArray *
strv(const char *s)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
	char **v = g_strsplit(s, ",", -1);

	for (char **p = v; *p != NULL; p++)
		g_ptr_array_add(a, g_strdup(*p));
	g_strfreev(v);
	return a;
}

static void
test_recipients(void)
{
	GError *err = NULL;
	GPtrArray *r;
	char *s;

	setup();
	/* cat disabled in club 1 (whatever the case); ann only in club 2 */
	r = catalog_recipients(db, 1, &err);
	g_assert_no_error(err);
	check_str(s = joined(r), "ann@x.org,Bob@X.org", "list 1");
	g_free(s);
	g_ptr_array_unref(r);
	r = catalog_recipients(db, 3, &err);
	check_str(s = joined(r), "dan@x.org", "list 3");
	g_free(s);
	g_ptr_array_unref(r);
	check_int(catalog_has_recipients(db, 1, &err), 1, "list 1 has some");
	check_int(catalog_has_recipients(db, 2, &err), 0, "list 2 none");
	g_assert_no_error(err);
	teardown();
}

static void
test_claim(void)
{
	GError *err = NULL;
	GPtrArray *members = strv("ann@x.org,Bob@X.org,cat@x.org");
	/* the board as read before a sync replaced gil by fay */
	GPtrArray *board = strv("bob@x.org,eve@x.org,gil@x.org");
	GPtrArray *r = NULL;
	char *s;

	setup();
	db_exec(db,
		"INSERT INTO list_member VALUES (2, 'bob@x.org'), "
		"(2, 'cat@x.org'), (2, 'eve@x.org'), (2, 'fay@x.org')",
		&err);
	g_assert_no_error(err);
	/* nobody else has it: all of the members */
	check_int(seen_claim(db, 1, 1, "<m1@x>", &members, &r, &err), 1,
		  "first claim");
	g_assert_no_error(err);
	check_str(s = joined(r), "ann@x.org,Bob@X.org,cat@x.org", "rcpts");
	check_int(r->pdata[0] == members->pdata[0], 1, "borrowed");
	g_free(s);
	g_ptr_array_unref(r);
	check_int(sqlite3_get_autocommit(db), 1, "transaction ended");
	/* a claim of this very process does not stand for it (a retry);
	 * sent, it does: the same post to the board then goes to those not
	 * on members, bob (any case) having it; cat, disabled in the club,
	 * is on neither. Both lists are read in the claim's transaction
	 * (the board's members as they are now, fay and not gil) */
	check_int(seen_commit(db, 1, "<m1@x>", NULL, &err), 0, "commit");
	check_int(seen_claim(db, 1, 2, "<m1@x>", &board, &r, &err), 1,
		  "board claim");
	g_assert_no_error(err);
	check_str(s = joined(r), "eve@x.org,fay@x.org", "board rcpts");
	g_free(s);
	g_ptr_array_unref(r);
	check_str(s = joined(board), "bob@x.org,eve@x.org,fay@x.org",
		  "board read again");
	g_free(s);
	/* sent on members: a duplicate there */
	check_int(seen_claim(db, 1, 1, "<m1@x>", &members, &r, &err), 0,
		  "duplicate");
	g_assert_no_error(err);
	check_int(r == NULL, 1, "no recipients for a duplicate");
	check_int(sqlite3_get_autocommit(db), 1, "transaction ended");
	/* released on the board: claimed again from scratch */
	check_int(seen_release(db, 2, "<m1@x>", &err), 0, "release");
	check_int(seen_claim(db, 1, 2, "<m1@x>", &board, &r, &err), 1,
		  "board again");
	check_str(s = joined(r), "eve@x.org,fay@x.org", "board rcpts again");
	g_free(s);
	g_ptr_array_unref(r);
	g_assert_no_error(err);
	g_ptr_array_unref(members);
	g_ptr_array_unref(board);
	teardown();
}

static int
count(const char *sql)
{
	sqlite3_stmt *st = NULL;
	GError *err = NULL;
	int n = -1;

	g_assert_cmpint(db_prepare(db, sql, &st, &err), ==, 0);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return n;
}

static void
test_expire(void)
{
	GError *err = NULL;
	char *sql;
	gint64 now = (gint64)time(NULL);

	setup();
	sql = g_strdup_printf(
		"INSERT INTO recent_message "
		"(list_id, message_id, state, owner, at) VALUES "
		"(1, '<old@x>', 'sent', '1:', %" G_GINT64_FORMAT "), "
		"(1, '<stale@x>', 'sending', '1:', %" G_GINT64_FORMAT "), "
		"(2, '<new@x>', 'sent', '1:', %" G_GINT64_FORMAT ")",
		now - SEEN_DAYS * 86400 - 60, now - SEEN_DAYS * 86400 - 1,
		now - SEEN_DAYS * 86400 + 3600);
	db_exec(db, sql, &err);
	g_assert_no_error(err);
	g_free(sql);
	/* the delivery agent's commit leaves them to sync */
	check_int(seen_commit(db, 2, "<new@x>", NULL, &err), 0, "commit");
	check_int(count("SELECT count(*) FROM recent_message"), 3,
		  "rows after seen_commit");
	check_int(seen_expire(db, &err), 2, "expired");
	g_assert_no_error(err);
	check_int(count("SELECT count(*) FROM recent_message WHERE "
			"message_id = '<new@x>'"),
		  1, "the recent one kept");
	check_int(count("SELECT count(*) FROM recent_message"), 1,
		  "rows after seen_expire");
	check_int(seen_expire(db, &err), 0, "nothing more");
	teardown();
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/catalog/recipients", test_recipients);
	g_test_add_func("/seen/claim", test_claim);
	g_test_add_func("/seen/expire", test_expire);
	return g_test_run();
}
