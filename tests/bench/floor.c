/* floor.c - the floor of a delivery's cost (bench_cost.py): a process that
 * only starts GMime and SQLite (sqlite3_initialize); with a DATABASE, it
 * also opens it and reads one row, which every delivery must, and
 * nothing of a delivery. */
#include <gmime/gmime.h>
#include <sqlite3.h>
#include <stdio.h>

int
main(int argc, char **argv)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = 1;

	if (argc > 2) {
		fprintf(stderr, "usage: bench-floor [DATABASE]\n");
		return 64;
	}
	g_mime_init();
	if (argc == 1) {
		rc = sqlite3_initialize() == SQLITE_OK ? 0 : 1;
		g_mime_shutdown();
		return rc;
	}
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) ==
		    SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM list", -1, &st,
			       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		rc = 0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	g_mime_shutdown();
	return rc;
}
