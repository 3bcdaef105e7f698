/* verp.c - one plain sendmail run per post, -XV only where it pays (see
 * verp.h).
 *
 * The probe run goes first: it is small, and when it fails nothing has
 * been handed over yet. The plain run follows. Only after the probe run
 * succeeded are its addresses marked as probed, so a failed run probes
 * again with the retry.
 */
#include "soarlist/verp.h"

#include "soarlist/db.h"
#include "soarlist/maillog.h"
#include "soarlist/recipient.h"
#include "soarlist/sendmail.h"

/* The start of the bounce window: older marks do not count. */
static gint64
window_start(const struct config *cfg, gint64 now)
{
	return now - (gint64)MIN(cfg->bounce_window, (guint64)G_MAXINT64 / 2);
}

int
verp_pending(const struct config *cfg, sqlite3 *db, gint64 club_id,
	     const char *list, GHashTable **addresses_r, gboolean *all_r,
	     GError **error)
{
	/* '' stands for the whole list: no member's address is empty */
	static const char sql[] =
		"SELECT address FROM verp_probe WHERE club_id = ?1 AND "
		"sent_at IS NULL AND at >= ?3 UNION ALL SELECT '' FROM "
		"verp_probe_list WHERE club_id = ?1 AND list = ?2 AND "
		"sent_at IS NULL AND at >= ?3";
	sqlite3_stmt *st = NULL;
	g_autoptr(GHashTable) set = g_hash_table_new_full(
		g_str_hash, g_str_equal, g_free, NULL);
	int rc;

	*all_r = FALSE;
	/* every post of a list with verp = probe asks: compiled once */
	if (db_stmt(db, sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, club_id);
	sqlite3_bind_text(st, 2, list, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(
		st, 3, window_start(cfg, g_get_real_time() / G_USEC_PER_SEC));
	while ((rc = db_row(st, error)) > 0) {
		const char *a = (const char *)sqlite3_column_text(st, 0);
		if (a == NULL || *a == '\0')
			*all_r = TRUE;
		else
			g_hash_table_add(set, g_ascii_strdown(a, -1));
	}
	if (rc < 0) {
		g_prefix_error(error, "reading the VERP probes: ");
		return -1;
	}
	*addresses_r = g_steal_pointer(&set);
	return 0;
}

/* Mark PROBED (addresses) of club CLUB_ID, and list LIST when ALL, as
 * probed now. Returns 0 or -1 with *error. */
static int
mark_sent(sqlite3 *db, gint64 club_id, const char *list, GPtrArray *probed,
	  gboolean all, GError **error)
{
	gboolean own = sqlite3_get_autocommit(db) != 0;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_DONE;

	/* losing the mark costs a second probe, nothing more: not synced */
	if (own && db_begin_write(db, DB_CHEAP, error) < 0)
		return -1;
	if (db_prepare(
		    db,
		    all ? "UPDATE verp_probe_list SET sent_at = ?3 "
			  "WHERE club_id = ?1 AND list = ?2 AND sent_at IS NULL"
			: "SELECT 1",
		    &st, error) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, club_id);
	sqlite3_bind_text(st, 2, list, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, now);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		goto sql_fail;
	if (db_prepare(db,
		       "UPDATE verp_probe SET sent_at = ?3 WHERE club_id = "
		       "?1 AND address = ?2 AND sent_at IS NULL",
		       &st, error) < 0)
		goto fail;
	for (guint i = 0; i < probed->len; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, club_id);
		sqlite3_bind_text(st, 2, g_ptr_array_index(probed, i), -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		if ((rc = sqlite3_step(st)) != SQLITE_DONE)
			break;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		goto sql_fail;
	if (own && db_exec(db, "COMMIT", error) < 0)
		goto fail;
	return 0;
sql_fail:
	db_fail(db, rc, "marking the VERP probes sent", error);
fail:
	if (own)
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* Split RCPTS into the addresses to probe and the others (borrowed
 * strings, new arrays). ALL: every one is probed. */
static void
split(GPtrArray *rcpts, GHashTable *pending, gboolean all, GPtrArray **probe_r,
      GPtrArray **plain_r)
{
	GPtrArray *probe = g_ptr_array_new(), *plain = g_ptr_array_new();

	for (guint i = 0; i < rcpts->len; i++) {
		char *a = g_ptr_array_index(rcpts, i);
		g_autofree char *key = all ? NULL : g_ascii_strdown(a, -1);

		g_ptr_array_add(all || g_hash_table_contains(pending, key)
					? probe
					: plain,
				a);
	}
	*probe_r = probe;
	*plain_r = plain;
}

static int
send_probe(const struct config *cfg, sqlite3 *db, const struct list_ref *list,
	   const char *bounces, GPtrArray *rcpts, struct message *msg,
	   GError **error)
{
	g_autoptr(GHashTable) pending = NULL;
	g_autoptr(GPtrArray) probe = NULL, plain = NULL;
	gboolean all = FALSE;
	GError *err = NULL;

	if (verp_pending(cfg, db, list->club_id, list->name, &pending, &all,
			 &err) < 0) {
		/* without the marks, a plain run: the probe waits for the
		 * next post, and the post is not held up by it */
		maillog_warning("list=<%s>: VERP probes not read, none sent: "
				"%s",
				list->address, err->message);
		g_clear_error(&err);
		return sendmail_send_timed(cfg->sendmail, cfg->sendmail_timeout,
					   bounces, FALSE, rcpts, msg, error);
	}
	if (!all && g_hash_table_size(pending) == 0) /* the usual case */
		return sendmail_send_timed(cfg->sendmail, cfg->sendmail_timeout,
					   bounces, FALSE, rcpts, msg, error);
	split(rcpts, pending, all, &probe, &plain);
	if (probe->len > 0 &&
	    sendmail_send_timed(cfg->sendmail, cfg->sendmail_timeout, bounces,
				TRUE, probe, msg, error) < 0)
		return -1;
	if (probe->len > 0 &&
	    mark_sent(db, list->club_id, list->name, probe, all, &err) < 0) {
		maillog_warning("list=<%s>: VERP probe sent to %u, not "
				"recorded (it will be sent again): %s",
				list->address, probe->len, err->message);
		g_clear_error(&err);
	}
	if (plain->len > 0 &&
	    sendmail_send_timed(cfg->sendmail, cfg->sendmail_timeout, bounces,
				FALSE, plain, msg, error) < 0) {
		if (probe->len > 0)
			g_prefix_error(error,
				       "(the VERP probe to %u went out) ",
				       probe->len);
		return -1;
	}
	return 0;
}

int
verp_send(const struct config *cfg, sqlite3 *db, const struct list_ref *list,
	  GPtrArray *rcpts, struct message *msg, GError **error)
{
	g_autofree char *bounces = recipient_format(
		RECIPIENT_BOUNCES, list->name, list->domain, NULL);

	switch (list->settings.verp) {
	case VERP_ALWAYS:
		return sendmail_send_timed(cfg->sendmail, cfg->sendmail_timeout,
					   bounces, TRUE, rcpts, msg, error);
	case VERP_NEVER:
		return sendmail_send_timed(cfg->sendmail, cfg->sendmail_timeout,
					   bounces, FALSE, rcpts, msg, error);
	case VERP_PROBE:
	case VERP_INHERIT:
		break;
	}
	return send_probe(cfg, db, list, bounces, rcpts, msg, error);
}
