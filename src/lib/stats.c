/* stats.c - the delivery agent's counters (stats.h): the labels a
 * verdict is counted under, the one statement that counts it, and the
 * per-day traffic `soarlist stats` shows, with its sparklines.
 */
#include "soarlist/stats.h"

#include <string.h>

#include "soarlist/db.h"

/* PREFIX and V's cause ("nonmember", "moderated"...): "held_moderated" */
static const char *
with_cause(const char *prefix, const struct verdict *v)
{
	g_autofree char *s = g_strconcat(
		prefix, v->cause != NULL ? v->cause : "other", NULL);

	return g_intern_string(s);
}

const char *
stats_outcome(const struct verdict *v)
{
	if (v->list.id == 0)
		return NULL; /* no list: nothing to count it under */
	switch (v->outcome) {
	case OUTCOME_DISTRIBUTE:
		return "distributed";
	case OUTCOME_HOLD:
		return with_cause("held_", v);
	case OUTCOME_DISCARD:
		return with_cause("dropped_", v);
	case OUTCOME_REFUSE:
		return with_cause("refused_", v);
	case OUTCOME_DROP_LOOP:
		return "dropped_loop";
	case OUTCOME_DROP_AUTO_SUBMITTED:
		return "dropped_auto_submitted";
	case OUTCOME_DROP_DUPLICATE:
		return "dropped_duplicate";
	case OUTCOME_TOO_BIG:
		return "refused_too_big";
	case OUTCOME_NO_MEMBERS:
		return "refused_no_members";
	case OUTCOME_UNPARSABLE:
		return "refused_unparsable";
	case OUTCOME_OWNER_FORWARD:
	case OUTCOME_BOUNCE_FORWARD:
		return "owner_forwarded";
	default:
		/* bounces count per address (bounce.c); a moderator's reply
		 * is no post, the post it approves is counted when sent; a
		 * deferral records nothing (DESIGN.md: 75 leaves no state),
		 * Postfix's retry is counted */
		return NULL;
	}
}

gboolean
stats_event(const struct verdict *v, struct stat_event *ev)
{
	ev->outcome = stats_outcome(v);
	if (ev->outcome == NULL)
		return FALSE;
	ev->club_id = v->list.club_id;
	ev->list = v->list.name;
	ev->recipients = v->outcome == OUTCOME_DISTRIBUTE && v->rcpts != NULL
				 ? v->rcpts->len
				 : 0;
	return TRUE;
}

static const char count_sql[] =
	"INSERT INTO list_stat (club_id, list, day, outcome, messages, "
	"recipients) VALUES (?1, ?2, date('now'), ?3, 1, ?4) ON CONFLICT "
	"(club_id, list, day, outcome) DO UPDATE SET messages = messages + "
	"1, recipients = recipients + ?4";

void
stats_prepare(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;

	db_stmt(db, count_sql, &st, NULL);
}

int
stats_count(sqlite3 *db, const struct stat_event *ev, GError **error)
{
	sqlite3_stmt *st = NULL;

	/* the day is SQLite's date('now'), UTC: nothing allocated here */
	if (db_stmt(db, count_sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, ev->club_id);
	sqlite3_bind_text(st, 2, ev->list, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ev->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, ev->recipients);
	if (db_run(st, error) < 0) {
		g_prefix_error(error, "counting: ");
		return -1;
	}
	return 0;
}

const char *const stats_kind_names[STATS_KINDS] = {
	"distributed", "recipients", "held", "refused", "dropped", "bounces",
};

/* The kind OUTCOME (a label) adds to, or -1. */
static int
kind_of(const char *outcome)
{
	if (strcmp(outcome, "distributed") == 0)
		return STATS_DISTRIBUTED;
	if (g_str_has_prefix(outcome, "held_"))
		return STATS_HELD;
	if (g_str_has_prefix(outcome, "refused_"))
		return STATS_REFUSED;
	if (g_str_has_prefix(outcome, "dropped_"))
		return STATS_DROPPED;
	if (strcmp(outcome, STATS_BOUNCE_SCORED) == 0)
		return STATS_BOUNCES;
	return -1;
}

static void
traffic_free(gpointer p)
{
	struct list_traffic *t = p;

	g_free(t->club);
	g_free(t->list);
	for (int k = 0; k < STATS_KINDS; k++)
		g_free(t->per_day[k]);
	g_free(t);
}

static struct list_traffic *
traffic_new(const char *club, const char *list, guint days)
{
	struct list_traffic *t = g_new0(struct list_traffic, 1);

	t->club = g_strdup(club);
	t->list = g_strdup(list);
	t->days = days;
	for (int k = 0; k < STATS_KINDS; k++)
		t->per_day[k] = g_new0(guint64, days);
	return t;
}

GPtrArray *
stats_traffic(sqlite3 *db, guint days, char **first_day_r, GError **error)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(traffic_free);
	struct list_traffic *t = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	/* ?1: the first day, DAYS - 1 days before today (UTC); the day's
	 * index is its distance from it */
	if (db_prepare(db,
		       "SELECT c.slug, s.list, s.outcome, "
		       "CAST(julianday(s.day) - julianday(date('now', ?1)) "
		       "AS INTEGER), s.messages, s.recipients, "
		       "date('now', ?1) FROM list_stat s JOIN club c ON c.id "
		       "= s.club_id WHERE s.day >= date('now', ?1) ORDER BY "
		       "c.slug, s.list",
		       &st, error) < 0) {
		g_ptr_array_unref(out);
		return NULL;
	}
	{
		g_autofree char *mod = g_strdup_printf("-%u days", days - 1);

		sqlite3_bind_text(st, 1, mod, -1, SQLITE_TRANSIENT);
	}
	if (first_day_r != NULL)
		*first_day_r = NULL;
	while ((rc = db_row(st, error)) == 1) {
		const char *club = (const char *)sqlite3_column_text(st, 0);
		const char *list = (const char *)sqlite3_column_text(st, 1);
		int kind = kind_of((const char *)sqlite3_column_text(st, 2));
		gint64 day = sqlite3_column_int64(st, 3);

		if (first_day_r != NULL && *first_day_r == NULL)
			*first_day_r = g_strdup(
				(const char *)sqlite3_column_text(st, 6));
		if (t == NULL || strcmp(t->club, club) != 0 ||
		    strcmp(t->list, list) != 0) {
			t = traffic_new(club, list, days);
			g_ptr_array_add(out, t);
		}
		if (kind < 0 || day < 0 || day >= (gint64)days)
			continue; /* a day in the future: a clock set back */
		t->per_day[kind][day] += (guint64)sqlite3_column_int64(st, 4);
		t->total[kind] += (guint64)sqlite3_column_int64(st, 4);
		if (kind == STATS_DISTRIBUTED) {
			t->per_day[STATS_RECIPIENTS][day] += (guint64)
				sqlite3_column_int64(st, 5);
			t->total[STATS_RECIPIENTS] += (guint64)
				sqlite3_column_int64(st, 5);
		}
	}
	sqlite3_finalize(st);
	if (rc < 0) {
		g_ptr_array_unref(out);
		if (first_day_r != NULL)
			g_clear_pointer(first_day_r, g_free);
		return NULL;
	}
	return out;
}

char *
stats_sparkline(const guint64 *v, guint n, gboolean ascii)
{
	static const char *const blocks[] = { "\u2581", "\u2582", "\u2583",
					      "\u2584", "\u2585", "\u2586",
					      "\u2587", "\u2588" };
	static const char levels[] = " .:-=+*#";
	GString *s = g_string_new(NULL);
	guint64 max = 0;

	for (guint i = 0; i < n; i++)
		max = MAX(max, v[i]);
	for (guint i = 0; i < n; i++) {
		/* 1..max onto levels 1..7 (ASCII) or blocks 0..7: every day
		 * with a post shows, the busiest day is the tallest */
		if (v[i] == 0)
			g_string_append(s, ascii ? " " : "\u00b7");
		else if (ascii)
			g_string_append_c(s,
					  levels[(v[i] * 7 + max - 1) / max]);
		else
			g_string_append(s,
					blocks[(v[i] * 8 + max - 1) / max - 1]);
	}
	return g_string_free(s, FALSE);
}
