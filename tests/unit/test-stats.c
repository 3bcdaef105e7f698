/* test-stats.c - stats_sparkline(): one character per day, nothing shown
 * as a dot (a blank in ASCII), every other day at least the lowest bar,
 * the busiest the tallest. */
#include "soarlist/stats.h"

#include "unit.h"

static void
test_sparkline(void)
{
	static const guint64 week[] = { 0, 1, 2, 4, 8, 0, 3 };
	static const guint64 flat[] = { 5, 5, 5 };
	static const guint64 one_big[] = { 1, 1000 };
	char *s;

	s = stats_sparkline(week, G_N_ELEMENTS(week), FALSE);
	check_str(s, "\u00b7\u2581\u2582\u2584\u2588\u00b7\u2583",
		  "a week, blocks");
	g_free(s);
	s = stats_sparkline(week, G_N_ELEMENTS(week), TRUE);
	check_str(s, " .:=# -", "a week, ASCII");
	g_free(s);
	s = stats_sparkline(flat, G_N_ELEMENTS(flat), FALSE);
	check_str(s, "\u2588\u2588\u2588", "the same every day");
	g_free(s);
	s = stats_sparkline(one_big, G_N_ELEMENTS(one_big), TRUE);
	check_str(s, ".#", "one post still shows beside a thousand");
	g_free(s);
	s = stats_sparkline(week, 0, FALSE);
	check_str(s, "", "no day");
	g_free(s);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/stats/sparkline", test_sparkline);
	return g_test_run();
}
