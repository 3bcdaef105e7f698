/* stats.c - the delivery agent's counters (stats.h): the labels a
 * verdict is counted under, and the one statement that counts it.
 */
#include "soarlist/stats.h"

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
