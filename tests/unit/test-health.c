/* test-health.c - health_judge(): each figure against its limits, crossed
 * one by one, the worst status first in the line, the performance data;
 * health_parse_limit(). */
#include "soarlist/health.h"

#include "unit.h"

#define NOW 1800000000

static struct club_config ssc = { .slug = (char *)"ssc" };
static struct club_config other = { .slug = (char *)"other" };

/* A healthy server: an empty queue, both clubs synced 5 minutes ago, one
 * post held on board@ for an hour. */
static void
healthy(struct server_figures *f)
{
	struct sync_figures s1 = { &ssc, NOW - 300 },
			    s2 = { &other, NOW - 300 };
	struct held_figures *h = g_new0(struct held_figures, 1);

	f->held = g_ptr_array_new();
	f->syncs = g_array_new(FALSE, TRUE, sizeof(struct sync_figures));
	g_array_append_val(f->syncs, s1);
	g_array_append_val(f->syncs, s2);
	h->club = (char *)"ssc";
	h->list = (char *)"board";
	h->count = 1;
	h->oldest = NOW - 3600;
	g_ptr_array_add(f->held, h);
	f->queue.known = TRUE;
}

static void
clear(struct server_figures *f)
{
	g_free(g_ptr_array_index(f->held, 0));
	g_ptr_array_unref(f->held);
	g_array_unref(f->syncs);
}

/* Judge F with the default limits: the status, the line checked to start
 * with "SOARLIST WANT_NAME - " and to contain NEEDLE. */
static void
check_judge(const struct server_figures *f, enum health_status want,
	    const char *want_name, const char *needle, const char *what)
{
	struct health_limits l = HEALTH_LIMITS_DEFAULT;
	char *line = NULL;
	g_autofree char *start = g_strdup_printf("SOARLIST %s - ", want_name);

	check_int(health_judge(f, &l, NOW, &line), want, "%s: status", what);
	check_int(g_str_has_prefix(line, start), TRUE, "%s: %s", what, line);
	check_contains(line, needle, "%s", what);
	check_lacks(line, "\n", "%s", what);
	g_free(line);
}

static void
test_thresholds(void)
{
	struct server_figures f = { 0 };
	struct sync_figures *ssc_sync;

	healthy(&f);
	ssc_sync = &g_array_index(f.syncs, struct sync_figures, 0);
	check_judge(&f, HEALTH_OK, "OK",
		    "0 deferred; syncs at most 5m old; oldest held post 60m | "
		    "deferred=0;50;200;0 deferred_age=0s;3600;14400;0 "
		    "sync_age=300s;7200;21600;0 held_age=3600s;86400;259200;0",
		    "healthy");

	/* the deferred queue: count, then age */
	f.queue.messages[QUEUE_DEFERRED] = 50;
	check_judge(&f, HEALTH_OK, "OK", "deferred=50;", "50 deferred");
	f.queue.messages[QUEUE_DEFERRED] = 51;
	check_judge(&f, HEALTH_WARNING, "WARNING",
		    "51 messages deferred (over 50)", "51 deferred");
	f.queue.messages[QUEUE_DEFERRED] = 201;
	check_judge(&f, HEALTH_CRITICAL, "CRITICAL",
		    "201 messages deferred (over 200)", "201 deferred");
	f.queue.messages[QUEUE_DEFERRED] = 1;
	f.queue.oldest[QUEUE_DEFERRED] = NOW - 3601;
	check_judge(&f, HEALTH_WARNING, "WARNING",
		    "oldest deferred message 60m old", "deferred 1 h");
	f.queue.oldest[QUEUE_DEFERRED] = NOW - 14401;
	check_judge(&f, HEALTH_CRITICAL, "CRITICAL", "deferred_age=14401s;",
		    "deferred 4 h");
	f.queue.messages[QUEUE_DEFERRED] = 0;
	f.queue.oldest[QUEUE_DEFERRED] = 0;

	/* the stalest club's sync */
	ssc_sync->last_success = NOW - 7201;
	check_judge(&f, HEALTH_WARNING, "WARNING",
		    "club ssc last synced 2h ago", "sync 2 h");
	ssc_sync->last_success = NOW - 21601;
	check_judge(&f, HEALTH_CRITICAL, "CRITICAL", "sync_age=21601s;",
		    "sync 6 h");
	ssc_sync->last_success = 0;
	check_judge(&f, HEALTH_CRITICAL, "CRITICAL", "club ssc never synced",
		    "never synced");
	check_judge(&f, HEALTH_CRITICAL, "CRITICAL", "sync_age=U;", "U");
	ssc_sync->last_success = NOW - 300;

	/* the oldest held post */
	((struct held_figures *)g_ptr_array_index(f.held, 0))->oldest = NOW -
									86401;
	check_judge(&f, HEALTH_WARNING, "WARNING",
		    "a post to board of ssc held for 24h", "held 1 d");
	((struct held_figures *)g_ptr_array_index(f.held, 0))->oldest = NOW -
									259201;
	check_judge(&f, HEALTH_CRITICAL, "CRITICAL", "held for 3d", "held 3 d");

	/* several problems: the worst first; Postfix down is critical */
	f.queue.messages[QUEUE_DEFERRED] = 60;
	f.queue.known = FALSE;
	f.queue.error = (char *)"postqueue: mail system is down";
	check_judge(&f, HEALTH_CRITICAL, "CRITICAL",
		    "Postfix does not answer (postqueue: mail system is "
		    "down); a post to board",
		    "Postfix down");
	check_judge(&f, HEALTH_CRITICAL, "CRITICAL", "deferred=U;50;200;0",
		    "Postfix down: no queue figure");
	f.queue.known = TRUE;
	f.queue.error = NULL;
	((struct held_figures *)g_ptr_array_index(f.held, 0))->oldest = NOW -
									86401;
	check_judge(&f, HEALTH_WARNING, "WARNING",
		    "60 messages deferred (over 50); a post to board",
		    "two warnings");
	clear(&f);
}

static void
test_parse(void)
{
	static const struct {
		const char *text;
		gboolean seconds, ok;
		gint64 warn, crit;
	} cases[] = {
		{ "50,200", FALSE, TRUE, 50, 200 },
		{ " 5 , 5 ", FALSE, TRUE, 5, 5 },
		{ "1h,4h", TRUE, TRUE, 3600, 14400 },
		{ "90,2m", TRUE, TRUE, 90, 120 },
		{ "1d,3d", TRUE, TRUE, 86400, 259200 },
		{ "30s,1h", TRUE, TRUE, 30, 3600 },
		{ "1h,4h", FALSE, FALSE, 0, 0 },  /* a count has no unit */
		{ "200,50", FALSE, FALSE, 0, 0 }, /* critical below warning */
		{ "50", FALSE, FALSE, 0, 0 },
		{ "50,200,300", FALSE, FALSE, 0, 0 },
		{ "-1,5", FALSE, FALSE, 0, 0 },
		{ "1w,2w", TRUE, FALSE, 0, 0 },
		{ "1hh,2h", TRUE, FALSE, 0, 0 },
		{ ",", FALSE, FALSE, 0, 0 },
		{ "99999999999999999999,1", FALSE, FALSE, 0, 0 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct health_limit l = { 0, 0 };
		gboolean ok = health_parse_limit(cases[i].text,
						 cases[i].seconds, &l);

		check_int(ok, cases[i].ok, "parse \"%s\"", cases[i].text);
		if (ok && cases[i].ok) {
			check_int((int)l.warn, (int)cases[i].warn,
				  "\"%s\" warning", cases[i].text);
			check_int((int)l.crit, (int)cases[i].crit,
				  "\"%s\" critical", cases[i].text);
		}
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/health/thresholds", test_thresholds);
	g_test_add_func("/health/parse", test_parse);
	return g_test_run();
}
