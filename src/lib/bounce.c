/* bounce.c - bounce processing (see bounce.h).
 *
 * dsn.c reads the notification; this file decides what it means for the
 * address and records it in one short IMMEDIATE transaction:
 *
 *  - a delay, a 4.x.x or any action but "failed" says nothing: ignored;
 *  - every permanent failure of a known post is recorded in bounce_seen
 *    (post, receiving domain, status, address). When BOUNCE_LIST_PROBLEM
 *    addresses at one domain failed one post with one status, the list's
 *    mail is the problem (a receiver's DMARC or spam policy, a block of our
 *    server): the scores that post gave them are taken back, nobody is
 *    scored, and the owners get one notice (bounce_list_problem);
 *  - a permanent mailbox failure (5.1.x, 5.2.x) scores the address once a
 *    day; other permanent failures (5.7.x policy, 5.3.x and 5.6.x content,
 *    5.2.3 message too large, 5.1.7 and 5.1.8 about our own sender
 *    address) say nothing about the member's mailbox: ignored;
 *  - bounce_threshold scores within bounce_window disable the address for
 *    the club's list mail (disabled_address) and the owners get one notice.
 *
 * A bounce to the plain LIST-bounces@DOMAIN (a post sent without VERP,
 * verp.h) is attributed from the DSN's recipient fields: a guess that a
 * forwarding or a rewriting server can get wrong. On a list with verp =
 * probe such a guess never disables: when its score reaches the
 * threshold the address is marked to probe (verp_probe) instead, the next
 * post of the club goes to it alone with -XV, and only a bounce of that
 * (to LIST-bounces+user=host@DOMAIN: confirmed) disables it, even when
 * the address was already scored that day. A verified bounce that names
 * no member of the club marks the list (verp_probe_list): its next post
 * goes to everyone with -XV, once. The marks expire with bounce_window.
 *
 * None of this happens for a DSN that does not prove it answers a post of
 * the list (bounce-proof.h): anyone can write a DSN naming a member. Such
 * a permanent failure is logged and, for a member of the club, counted in
 * bounce_unverified (one row a day) for `soarlist bounces`; it scores
 * nobody, takes back nothing and sends no notice.
 *
 * A notice is sent before the transaction commits: when it cannot be
 * sent, nothing is recorded and Postfix retries the whole bounce, so the
 * owners hear of every disabling and list problem once.
 */
#include "soarlist/bounce.h"

#include <string.h>

#include "soarlist/address.h"
#include "soarlist/bounce-proof.h"
#include "soarlist/db.h"
#include "soarlist/dsn.h"
#include "soarlist/maillog.h"
#include "soarlist/notice.h"
#include "soarlist/recipient.h"
#include "soarlist/stats.h"

enum failure {
	FAILURE_NONE,    /* not a permanent failure */
	FAILURE_OTHER,   /* permanent, but not the mailbox's fault */
	FAILURE_MAILBOX, /* permanent mailbox failure: scores */
};

/* One bounce being processed. The SQL statements below share numbered
 * parameters, bound by bind_all():
 *   ?1 club id      ?2 Message-ID of the post (may be NULL)
 *   ?3 domain       ?4 status        ?5 address     ?6 now
 *   ?7 start of the bounce window    ?8 day (now / 86400)
 *   ?9 diagnostic (may be NULL)      ?10 threshold  ?11 disabling reason
 *   ?12 list name */
struct bounce {
	sqlite3 *db;
	const struct config *cfg;
	const struct list_ref *ref;
	struct dsn dsn;
	char *domain;
	char *reason;
	gint64 now;
	/* the address comes from the VERP bounce address, not the DSN */
	gboolean confirmed;
};

static enum failure
classify(const struct dsn *d)
{
	int subject, detail;

	if (!g_str_has_prefix(d->action, "failed") || d->status[0] != '5')
		return FAILURE_NONE;
	subject = d->status[2] - '0';
	detail = atoi(d->status + 4);
	if (subject == 1 && (detail == 7 || detail == 8))
		return FAILURE_OTHER; /* our sender address, not theirs */
	if (subject == 2 && detail == 3)
		return FAILURE_OTHER; /* the post's size */
	return subject == 1 || subject == 2 ? FAILURE_MAILBOX : FAILURE_OTHER;
}

/* The first second inside the bounce window that ends at NOW. */
static gint64
bounce_window_start(const struct config *cfg, gint64 now)
{
	return now - (gint64)MIN(cfg->bounce_window, (guint64)G_MAXINT64 / 2);
}

static void
bind_all(const struct bounce *b, sqlite3_stmt *st)
{
	gint64 since = bounce_window_start(b->cfg, b->now);

	/* a statement that lacks a parameter answers SQLITE_RANGE: harmless */
	sqlite3_bind_int64(st, 1, b->ref->club_id);
	sqlite3_bind_text(st, 2, b->dsn.message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, b->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, b->dsn.status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, b->dsn.recipient, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, b->now);
	sqlite3_bind_int64(st, 7, since);
	sqlite3_bind_int64(st, 8, b->now / 86400);
	sqlite3_bind_text(st, 9, b->dsn.diagnostic, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, b->cfg->bounce_threshold);
	sqlite3_bind_text(st, 11, b->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 12, b->ref->name, -1, SQLITE_STATIC);
}

/* Run SQL; with VALUE_R, the first column of its first row (0 if none).
 * Returns 0 or -1 with *error. */
static int
step(const struct bounce *b, const char *sql, gint64 *value_r, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(b->db, sql, &st, error) < 0)
		return -1;
	bind_all(b, st);
	rc = sqlite3_step(st);
	if (value_r != NULL)
		*value_r = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_fail(b->db, rc, "recording the bounce", error);
	return 0;
}

/* The first column of every row of SQL, as one comma-separated line.
 * Newly allocated, or NULL with *error. */
static char *
joined(const struct bounce *b, const char *sql, GError **error)
{
	sqlite3_stmt *st = NULL;
	GString *out = g_string_new(NULL);
	int rc;

	if (db_prepare(b->db, sql, &st, error) < 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	bind_all(b, st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		g_string_append_printf(
			out, "%s%s", out->len ? ", " : "",
			(const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		g_string_free(out, TRUE);
		db_fail(b->db, rc, "reading the bounces", error);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* The list's owners (list_ref_owners). A new array of borrowed strings. */
static GPtrArray *
owners(const struct bounce *b)
{
	GPtrArray *out = g_ptr_array_new();

	list_ref_owners(b->ref, b->cfg, out);
	return out;
}

/* Send the owners a notice. The null envelope sender: a notice about
 * bounces must never cause one. */
static int
notify(const struct bounce *b, const char *subject, const char *body,
       GError **error)
{
	GPtrArray *to = owners(b);
	char *display = g_strdelimit(g_strdup(b->ref->display), "\"\\", ' ');
	g_autofree char *owner = recipient_format(RECIPIENT_OWNER, b->ref->name,
						  b->ref->domain, NULL);
	char *from = g_strdup_printf("\"%s bounce processing\" <%s>", display,
				     owner);
	int rc = notice_send(b->cfg, "", from, NULL, to, subject, body, error);

	if (rc < 0)
		g_prefix_error(error, "cannot notify the owners: ");
	g_free(from);
	g_free(display);
	g_ptr_array_unref(to);
	return rc;
}

/* "30 days", or seconds when the window is not whole days. */
static char *
window_text(const struct config *cfg)
{
	guint64 w = cfg->bounce_window;

	if (w % 86400 == 0)
		return g_strdup_printf("%" G_GUINT64_FORMAT " day%s", w / 86400,
				       w == 86400 ? "" : "s");
	return g_strdup_printf("%" G_GUINT64_FORMAT " seconds", w);
}

static int
notify_disabled(const struct bounce *b, gint64 scores, GError **error)
{
	const struct dsn *d = &b->dsn;
	char *window = window_text(b->cfg);
	char *subject = g_strdup_printf("%s: %s disabled after bounces",
					b->ref->address, d->recipient);
	char *body = g_strdup_printf(
		"An address no longer receives mail from the lists of %s:\n"
		"its mail server refused list mail too often.\n\n"
		"  Address:     %s\n"
		"  Bounces:     %" G_GINT64_FORMAT
		" within %s (one a day counts "
		"at most)\n"
		"  Last status: %s\n  Diagnostic:  %s\n  Post:        %s%s%s to "
		"%s\n\n"
		"The address stays a member in Manage2Soar. Once its mailbox "
		"works again\n(or after it is corrected in Manage2Soar), "
		"re-enable it on the mail server\nwith:\n\n"
		"  soarlist bounces reset %s\n",
		b->ref->club->name, d->recipient, scores, window, d->status,
		d->diagnostic ? d->diagnostic : "(none)",
		d->message_id ? "<" : "",
		d->message_id ? d->message_id : "(unknown)",
		d->message_id ? ">" : "", b->ref->address, d->recipient);
	int rc = notify(b, subject, body, error);

	g_free(body);
	g_free(subject);
	g_free(window);
	return rc;
}

static int
notify_list_problem(const struct bounce *b, gint64 reenabled, GError **error)
{
	const struct dsn *d = &b->dsn;
	char *who = joined(b,
			   "SELECT address FROM bounce_seen WHERE "
			   "club_id = ?1 AND message_id = ?2 AND domain = ?3 "
			   "AND status = ?4 ORDER BY at, address",
			   error);
	char *subject, *body;
	int rc;

	if (who == NULL)
		return -1;
	subject = g_strdup_printf("%s: %s refused a post (%s)", b->ref->address,
				  b->domain, d->status);
	body = g_strdup_printf(
		"Several recipients at %s had the same post to %s refused\n"
		"with the same status. That is a problem with the list's mail "
		"(for example\nthe receiver's DMARC, spam or content policy, or "
		"a block of this server),\nnot with the members' addresses: "
		"none of them is counted as a bounce.\n\n"
		"  Post:        <%s>\n  Domain:      %s\n  Status:      %s\n"
		"  Diagnostic:  %s\n  Recipients:  %s\n%s\n"
		"Further refusals of this post by %s are not reported.\n",
		b->domain, b->ref->address, d->message_id, b->domain, d->status,
		d->diagnostic ? d->diagnostic : "(none)", who,
		reenabled > 0 ? "\nAddresses disabled by this post's bounces "
				"were re-enabled.\n"
			      : "",
		b->domain);
	rc = notify(b, subject, body, error);
	g_free(body);
	g_free(subject);
	g_free(who);
	return rc;
}

/* Record a permanent failure of a known post; when it makes a list
 * problem, take back what the post scored and tell the owners once.
 * Returns 1 (a list problem: *detail_r set), 0 (not one) or -1. */
static int
list_problem(struct bounce *b, char **detail_r, GError **error)
{
	gint64 n = 0, reenabled;

	if (step(b,
		 "INSERT OR IGNORE INTO bounce_seen (club_id, message_id, "
		 "domain, status, address, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		 NULL, error) < 0 ||
	    step(b,
		 "SELECT count(*) FROM bounce_seen WHERE club_id = ?1 AND "
		 "message_id = ?2 AND domain = ?3 AND status = ?4",
		 &n, error) < 0)
		return -1;
	if (n < BOUNCE_LIST_PROBLEM)
		return 0;
	/* an address this post's scores disabled is re-enabled when the
	 * others do not reach the threshold */
	if (step(b,
		 "DELETE FROM disabled_address WHERE club_id = ?1 AND "
		 "address IN (SELECT s.address FROM bounce_score s JOIN "
		 "bounce_seen n ON n.club_id = s.club_id AND n.address = "
		 "s.address WHERE s.club_id = ?1 AND s.message_id = ?2 AND "
		 "n.message_id = ?2 AND n.domain = ?3 AND n.status = ?4) AND "
		 "(SELECT count(*) FROM bounce_score s WHERE s.club_id = ?1 AND "
		 "s.address = disabled_address.address AND s.at >= ?7 AND "
		 "s.message_id IS NOT ?2) < ?10",
		 NULL, error) < 0)
		return -1;
	reenabled = sqlite3_changes(b->db);
	if (step(b,
		 "DELETE FROM bounce_score WHERE club_id = ?1 AND "
		 "message_id = ?2 AND address IN (SELECT address FROM "
		 "bounce_seen WHERE club_id = ?1 AND message_id = ?2 AND "
		 "domain = ?3 AND status = ?4)",
		 NULL, error) < 0 ||
	    step(b,
		 "DELETE FROM verp_probe WHERE club_id = ?1 AND message_id "
		 "= ?2 AND address IN (SELECT address FROM bounce_seen WHERE "
		 "club_id = ?1 AND message_id = ?2 AND domain = ?3 AND status "
		 "= ?4)",
		 NULL, error) < 0 ||
	    step(b,
		 "INSERT OR IGNORE INTO bounce_list_problem (club_id, "
		 "message_id, domain, status, at) VALUES (?1, ?2, ?3, ?4, ?6)",
		 NULL, error) < 0)
		return -1;
	if (sqlite3_changes(b->db) > 0 &&
	    notify_list_problem(b, reenabled, error) < 0)
		return -1;
	*detail_r = g_strdup_printf("%s %s list problem: %" G_GINT64_FORMAT
				    " addresses at %s failed post <%s>",
				    b->dsn.recipient, b->dsn.status, n,
				    b->domain, b->dsn.message_id);
	return 1;
}

/* An unconfirmed bounce that would disable on a list with verp = probe:
 * mark the address to probe instead (unless it is disabled already).
 * Returns BOUNCE_SCORED or -1. */
static int
probe_instead(struct bounce *b, gint64 n, char **detail_r, GError **error)
{
	if (step(b,
		 "INSERT INTO verp_probe (club_id, address, status, "
		 "message_id, at) SELECT ?1, ?5, ?4, ?2, ?6 WHERE NOT EXISTS "
		 "(SELECT 1 FROM disabled_address WHERE club_id = ?1 AND "
		 "address = ?5) ON CONFLICT (club_id, address) DO UPDATE SET "
		 "status = ?4, message_id = ?2, at = ?6, sent_at = NULL",
		 NULL, error) < 0)
		return -1;
	*detail_r = g_strdup_printf(
		"%s %s scored %" G_GINT64_FORMAT " of %u%s", b->dsn.recipient,
		b->dsn.status, n, b->cfg->bounce_threshold,
		sqlite3_changes(b->db) > 0
			? ", unconfirmed: its next post is a VERP "
			  "probe"
			: " (already disabled)");
	return BOUNCE_SCORED;
}

/* Has ADDRESS of the bounce been sent a probe that is still pending?
 * 1, 0 or -1. */
static int
probed(struct bounce *b, GError **error)
{
	gint64 n = 0;

	if (step(b,
		 "SELECT count(*) FROM verp_probe WHERE club_id = ?1 AND "
		 "address = ?5 AND sent_at IS NOT NULL",
		 &n, error) < 0)
		return -1;
	return n > 0;
}

/* Score a permanent mailbox failure (once a day) and disable the address
 * at the threshold (with verp = probe, only when the bounce is confirmed;
 * a confirmed answer to a probe disables even when the address was
 * scored that day already). Returns the outcome or -1. */
static int
score(struct bounce *b, char **detail_r, GError **error)
{
	const char *addr = b->dsn.recipient, *status = b->dsn.status;
	gboolean probe = b->ref->settings.verp == VERP_PROBE;
	gboolean inserted;
	int answer = 0;
	gint64 n = 0;

	if (step(b,
		 "INSERT OR IGNORE INTO bounce_score (club_id, address, "
		 "day, status, message_id, diagnostic, at) VALUES (?1, ?5, ?8, "
		 "?4, ?2, ?9, ?6)",
		 NULL, error) < 0)
		return -1;
	inserted = sqlite3_changes(b->db) > 0;
	if (b->confirmed && (answer = probed(b, error)) < 0)
		return -1;
	if (!inserted && answer == 0) {
		*detail_r = g_strdup_printf("%s %s already scored today", addr,
					    status);
		return BOUNCE_IGNORED;
	}
	if (step(b,
		 "SELECT count(*) FROM bounce_score WHERE club_id = ?1 "
		 "AND address = ?5 AND at >= ?7",
		 &n, error) < 0)
		return -1;
	/* a confirmed bounce answers the probe, whatever it decides */
	if (b->confirmed && step(b,
				 "DELETE FROM verp_probe WHERE club_id = "
				 "?1 AND address = ?5",
				 NULL, error) < 0)
		return -1;
	if (n >= b->cfg->bounce_threshold && probe && !b->confirmed)
		return probe_instead(b, n, detail_r, error);
	/* disabled: a probe mark (of a list with another setting) is moot */
	if (n >= b->cfg->bounce_threshold &&
	    (step(b,
		  "DELETE FROM verp_probe WHERE club_id = ?1 AND address = "
		  "?5",
		  NULL, error) < 0 ||
	     step(b,
		  "INSERT OR IGNORE INTO disabled_address (club_id, "
		  "address, disabled_at, reason) VALUES (?1, ?5, ?6, ?11)",
		  NULL, error) < 0))
		return -1;
	if (n < b->cfg->bounce_threshold || sqlite3_changes(b->db) == 0) {
		*detail_r = g_strdup_printf(
			"%s %s scored %" G_GINT64_FORMAT " of %u%s", addr,
			status, n, b->cfg->bounce_threshold,
			n >= b->cfg->bounce_threshold ? " (already disabled)"
						      : "");
		return BOUNCE_SCORED;
	}
	if (notify_disabled(b, n, error) < 0)
		return -1;
	*detail_r = g_strdup_printf(
		"%s %s disabled after %" G_GINT64_FORMAT " bounces%s", addr,
		status, n, answer ? " (confirmed by a VERP probe)" : "");
	return BOUNCE_DISABLED;
}

/* Add one OUTCOME (stats.h) to the bounce's list, in the transaction
 * that records it; a count that fails is lost, the score is not. */
static void
count(struct bounce *b, const char *outcome)
{
	struct stat_event ev = { .club_id = b->ref->club_id,
				 .list = b->ref->name,
				 .outcome = outcome };

	stats_count(b->db, &ev, NULL);
}

/* A permanent failure: the list-problem rule, then the score, all in one
 * transaction. Returns the outcome or -1. */
static int
record(struct bounce *b, enum failure kind, char **detail_r, GError **error)
{
	int rc = 0;

	/* a disabled address is durable (DESIGN.md, Data) */
	if (db_begin_write(b->db, DB_SYNCED, error) < 0)
		return -1;
	/* what left the window counts no more */
	if (step(b, "DELETE FROM bounce_score WHERE club_id = ?1 AND at < ?7",
		 NULL, error) < 0 ||
	    step(b, "DELETE FROM bounce_seen WHERE club_id = ?1 AND at < ?7",
		 NULL, error) < 0 ||
	    step(b,
		 "DELETE FROM bounce_list_problem WHERE club_id = ?1 AND "
		 "at < ?7",
		 NULL, error) < 0 ||
	    step(b, "DELETE FROM verp_probe WHERE club_id = ?1 AND at < ?7",
		 NULL, error) < 0 ||
	    step(b,
		 "DELETE FROM verp_probe_list WHERE club_id = ?1 AND "
		 "at < ?7",
		 NULL, error) < 0)
		rc = -1;
	if (rc == 0 && b->dsn.message_id != NULL)
		rc = list_problem(b, detail_r, error);
	if (rc == 1) {
		rc = BOUNCE_IGNORED;
	} else if (rc == 0 && kind == FAILURE_MAILBOX) {
		rc = score(b, detail_r, error);
	} else if (rc == 0) {
		*detail_r = g_strdup_printf("%s %s not a mailbox failure",
					    b->dsn.recipient, b->dsn.status);
		rc = BOUNCE_IGNORED;
	}
	if (rc == BOUNCE_SCORED || rc == BOUNCE_DISABLED)
		count(b, STATS_BOUNCE_SCORED);
	if (rc == BOUNCE_DISABLED)
		count(b, STATS_ADDRESS_DISABLED);
	if (rc < 0 || db_exec(b->db, "COMMIT", error) < 0) {
		sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
		g_clear_pointer(detail_r, g_free);
		return -1;
	}
	return rc;
}

/* A candidate recipient of a text DSN is a member of one of the club's
 * lists: the text also names hosts, our own addresses and the author. */
static int
club_member(const char *address, gpointer data, GError **error)
{
	const struct bounce *b = data;
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(
		    b->db,
		    "SELECT 1 FROM list_member m JOIN list l ON "
		    "l.id = m.list_id WHERE l.club_id = ?1 AND m.address = ?2 "
		    "LIMIT 1",
		    &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, b->ref->club_id);
	sqlite3_bind_text(st, 2, address, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(b->db, rc, "membership lookup", error);
}

/* A permanent failure without proof: counted for a member of the club,
 * once a row a day. Returns BOUNCE_UNVERIFIED or -1. */
static int
unverified(struct bounce *b, char **detail_r, GError **error)
{
	int member = club_member(b->dsn.recipient, b, error);

	if (member < 0 ||
	    step(b,
		 "DELETE FROM bounce_unverified WHERE club_id = ?1 AND "
		 "at < ?7",
		 NULL, error) < 0 ||
	    (member == 1 &&
	     step(b,
		  "INSERT INTO bounce_unverified (club_id, address, day, "
		  "status, message_id, diagnostic, at) VALUES (?1, ?5, ?8, ?4, "
		  "?2, ?9, ?6) ON CONFLICT (club_id, address, day) DO UPDATE "
		  "SET count = count + 1, status = ?4, message_id = ?2, "
		  "diagnostic = ?9, at = ?6",
		  NULL, error) < 0))
		return -1;
	*detail_r = g_strdup_printf("%s %s unverified: the DSN does not prove "
				    "it answers a post of the list (%s), not "
				    "scored%s",
				    b->dsn.recipient, b->dsn.status,
				    b->dsn.proof ? "wrong " BOUNCE_PROOF_HEADER
						 : "no " BOUNCE_PROOF_HEADER
						   " returned",
				    member ? "" : "; not a member");
	return BOUNCE_UNVERIFIED;
}

/* Mark the list of the bounce to probe: its next post goes to every
 * member with -XV, once. Returns 0 or -1. */
static int
mark_list(struct bounce *b, GError **error)
{
	if (db_begin_write(b->db, DB_SYNCED, error) < 0)
		return -1;
	if (step(b,
		 "DELETE FROM verp_probe_list WHERE club_id = ?1 AND at < "
		 "?7",
		 NULL, error) < 0 ||
	    step(b,
		 "INSERT INTO verp_probe_list (club_id, list, message_id, "
		 "at) VALUES (?1, ?12, ?2, ?6) ON CONFLICT (club_id, list) DO "
		 "UPDATE SET message_id = ?2, at = ?6, sent_at = NULL",
		 NULL, error) < 0 ||
	    db_exec(b->db, "COMMIT", error) < 0) {
		sqlite3_exec(b->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* A verified bounce, not confirmed by VERP, on a list with verp = probe:
 * when the address it names is no member of the club, mark the list so
 * that its next post goes to everyone with -XV. Returns 1 (marked:
 * *detail_r set), 0 (a member: score it as usual) or -1. */
static int
unattributed(struct bounce *b, char **detail_r, GError **error)
{
	int member = club_member(b->dsn.recipient, b, error);

	if (member != 0)
		return member < 0 ? -1 : 0;
	if (mark_list(b, error) < 0)
		return -1;
	*detail_r = g_strdup_printf("%s %s names no member of the club: the "
				    "list's next post is a VERP probe to every "
				    "member",
				    b->dsn.recipient, b->dsn.status);
	return 1;
}

/* A report dsn_parse() found no member in (a DSN in free text naming a
 * forwarding address, say), to the plain bounce address of a list with
 * verp = probe: when it proves it answers a post of the list, the list is
 * marked as by unattributed(). It is forwarded to the owners all the
 * same. Returns 0 or -1. */
static int
unattributed_text(struct bounce *b, const struct message *msg, GError **error)
{
	int rc = dsn_returned(msg, &b->dsn.message_id, &b->dsn.proof, error);

	if (rc == 1 && b->dsn.proof != NULL)
		rc = bounce_proof_check(b->db, b->ref, b->dsn.message_id,
					b->dsn.proof, b->now, error);
	else if (rc == 1)
		rc = 0;
	if (rc == 1 && (rc = mark_list(b, error)) == 0)
		maillog_info("list=<%s> msgid=<%s>: a verified bounce names no "
			     "member of the club: the list's next post is a "
			     "VERP probe to every member",
			     b->ref->address, b->dsn.message_id);
	dsn_clear(&b->dsn);
	return rc < 0 ? -1 : 0;
}

/* "user=host" -> "user@host" (split at the last '='), or NULL. */
static char *
verp_address(const char *verp)
{
	const char *eq = verp ? strrchr(verp, '=') : NULL;
	char *addr, *out;

	if (eq == NULL || eq == verp || eq[1] == '\0')
		return NULL;
	addr = g_strdup_printf("%.*s@%s", (int)(eq - verp), verp, eq + 1);
	out = address_normalize(addr, NULL);
	g_free(addr);
	return out;
}

/* S as one printable line for the log. Takes S. */
static char *
log_line(char *s)
{
	for (char *p = s; p != NULL && *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

/* One failed recipient of the DSN, B->dsn. Returns the outcome, with
 * *detail_r, or -1. */
static int
one_recipient(struct bounce *b, char **detail_r, GError **error)
{
	gboolean probe = b->ref->settings.verp == VERP_PROBE;
	enum failure kind = classify(&b->dsn);
	int rc;

	b->domain = g_strdup(strrchr(b->dsn.recipient, '@') + 1);
	b->reason = g_strdup_printf("%s %s", b->dsn.status,
				    b->dsn.diagnostic ? b->dsn.diagnostic
						      : "(no diagnostic)");
	if (kind == FAILURE_NONE) {
		*detail_r = g_strdup_printf("%s %s %s: not scored",
					    b->dsn.recipient, b->dsn.status,
					    b->dsn.action);
		rc = BOUNCE_IGNORED;
	} else if ((rc = bounce_proof_check(b->db, b->ref, b->dsn.message_id,
					    b->dsn.proof, b->now, error)) ==
		   1) {
		rc = probe && !b->confirmed && kind == FAILURE_MAILBOX
			     ? unattributed(b, detail_r, error)
			     : 0;
		if (rc == 1)
			rc = BOUNCE_IGNORED;
		else if (rc == 0)
			rc = record(b, kind, detail_r, error);
	} else if (rc == 0) {
		rc = unverified(b, detail_r, error);
	}
	g_clear_pointer(&b->domain, g_free);
	g_clear_pointer(&b->reason, g_free);
	return rc;
}

/* Which of two recipients' outcomes the DSN's is: the one that did most. */
static int
rank(int outcome)
{
	switch (outcome) {
	case BOUNCE_DISABLED:
		return 4;
	case BOUNCE_SCORED:
		return 3;
	case BOUNCE_UNVERIFIED:
		return 2;
	default:
		return 1;
	}
}

int
bounce_process(sqlite3 *db, const struct config *cfg,
	       const struct list_ref *ref, const struct recipient *rcpt,
	       const struct message *msg, char **detail_r, GError **error)
{
	struct bounce b = { .db = db,
			    .cfg = cfg,
			    .ref = ref,
			    .now = g_get_real_time() / G_USEC_PER_SEC };
	char *want = verp_address(rcpt->verp);
	GString *details = g_string_new(NULL);
	struct dsn head;
	int rc, outcome = BOUNCE_IGNORED;
	guint n = 0;

	if (detail_r != NULL)
		*detail_r = NULL;
	b.confirmed = want != NULL;
	rc = dsn_parse(msg, want, club_member, &b, &head, error);
	g_free(want);
	if (rc == 0 && !b.confirmed && ref->settings.verp == VERP_PROBE)
		rc = unattributed_text(&b, msg, error);
	if (rc <= 0) {
		g_string_free(details, TRUE);
		return rc < 0 ? -1 : BOUNCE_NOT_A_DSN;
	}
	/* a DSN of a post sent without VERP may name several members, each
	 * recorded in a transaction of its own: when one fails, Postfix
	 * retries the DSN and those already recorded are scored today */
	for (const struct dsn *d = &head; d != NULL; d = d->next, n++) {
		char *detail = NULL;

		b.dsn = *d;
		b.dsn.message_id = head.message_id;
		b.dsn.proof = head.proof;
		rc = one_recipient(&b, &detail, error);
		if (rc < 0)
			break;
		if (rank(rc) > rank(outcome))
			outcome = rc;
		if (n < 5)
			g_string_append_printf(details, "%s%s", n ? "; " : "",
					       detail);
		g_free(detail);
	}
	if (n > 5)
		g_string_append_printf(details, "; and %u more", n - 5);
	dsn_clear(&head);
	if (rc < 0) {
		g_string_free(details, TRUE);
		return -1;
	}
	if (detail_r != NULL)
		*detail_r = log_line(g_string_free(details, FALSE));
	else
		g_string_free(details, TRUE);
	return outcome;
}

static void
bounce_row_free(gpointer p)
{
	struct bounce_row *r = p;

	g_free(r->club_slug);
	g_free(r->address);
	g_free(r->last_status);
	g_free(r->reason);
	g_free(r->unverified_status);
	g_free(r);
}

/* The cached statement for SQL (db_stmt) with ?1 bound to the start of
 * the bounce window now and ?2 to CLUB_ID (0: every club); NULL with
 * *error. The caller binds the rest and reads it with db_row(). */
static sqlite3_stmt *
window_stmt(sqlite3 *db, const struct config *cfg, const char *sql,
	    gint64 club_id, GError **error)
{
	sqlite3_stmt *st;

	if (db_stmt(db, sql, &st, error) < 0)
		return NULL;
	sqlite3_bind_int64(
		st, 1,
		bounce_window_start(cfg, g_get_real_time() / G_USEC_PER_SEC));
	sqlite3_bind_int64(st, 2, club_id);
	return st;
}

GPtrArray *
bounce_report(sqlite3 *db, const struct config *cfg, gint64 club_id,
	      gint64 list_id, GError **error)
{
	static const char sql[] =
		"WITH a(club_id, address) AS (SELECT club_id, address FROM "
		"bounce_score WHERE at >= ?1 UNION SELECT club_id, address FROM "
		"disabled_address UNION SELECT club_id, address FROM "
		"bounce_unverified WHERE at >= ?1), s AS (SELECT club_id, "
		"address, count(*) n, max(at) last FROM bounce_score WHERE at >= "
		"?1 GROUP BY club_id, address), u AS (SELECT club_id, address, "
		"sum(count) n, max(at) last FROM bounce_unverified WHERE at >= ?1 "
		"GROUP BY club_id, address) SELECT c.slug, a.address, "
		"coalesce(s.n, 0), coalesce(s.last, 0), (SELECT status FROM "
		"bounce_score x WHERE x.club_id = a.club_id AND x.address = "
		"a.address AND x.at = s.last LIMIT 1), coalesce(d.disabled_at, 0), "
		"d.reason, coalesce(u.n, 0), coalesce(u.last, 0), (SELECT status "
		"FROM bounce_unverified y WHERE y.club_id = a.club_id AND "
		"y.address = a.address AND y.at = u.last LIMIT 1), "
		"coalesce(p.at, 0), coalesce(p.sent_at, 0) FROM a JOIN club "
		"c ON c.id = a.club_id LEFT JOIN s ON s.club_id = a.club_id AND "
		"s.address = a.address LEFT JOIN u ON u.club_id = a.club_id AND "
		"u.address = a.address LEFT JOIN disabled_address d ON d.club_id "
		"= a.club_id AND d.address = a.address LEFT JOIN verp_probe p ON "
		"p.club_id = a.club_id AND p.address = a.address AND p.at >= ?1 "
		"WHERE (?2 = 0 OR "
		"a.club_id = ?2) AND (?3 = 0 OR a.address IN (SELECT address FROM "
		"list_member WHERE list_id = ?3)) ORDER BY d.disabled_at IS NULL, "
		"s.n IS NULL, c.slug, a.address";
	sqlite3_stmt *st = window_stmt(db, cfg, sql, club_id, error);
	g_autoptr(GPtrArray) out = NULL;
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_int64(st, 3, list_id);
	out = g_ptr_array_new_with_free_func(bounce_row_free);
	while ((rc = db_row(st, error)) > 0) {
		struct bounce_row *r = g_new0(struct bounce_row, 1);
		r->club_slug = g_strdup(
			(const char *)sqlite3_column_text(st, 0));
		r->address = g_strdup((const char *)sqlite3_column_text(st, 1));
		r->scores = (guint)sqlite3_column_int64(st, 2);
		r->last_at = sqlite3_column_int64(st, 3);
		r->last_status = g_strdup(
			(const char *)sqlite3_column_text(st, 4));
		r->disabled_at = sqlite3_column_int64(st, 5);
		r->reason = g_strdup((const char *)sqlite3_column_text(st, 6));
		r->unverified = (guint)sqlite3_column_int64(st, 7);
		r->unverified_at = sqlite3_column_int64(st, 8);
		r->unverified_status = g_strdup(
			(const char *)sqlite3_column_text(st, 9));
		r->probe_at = sqlite3_column_int64(st, 10);
		r->probe_sent_at = sqlite3_column_int64(st, 11);
		g_ptr_array_add(out, r);
	}
	if (rc < 0) {
		g_prefix_error(error, "reading the bounces: ");
		return NULL;
	}
	return g_steal_pointer(&out);
}

int
bounce_reset(sqlite3 *db, const char *address, GError **error)
{
	static const char *const sql[] = {
		"DELETE FROM verp_probe WHERE address = ?1",
		"DELETE FROM disabled_address WHERE address = ?1",
		"DELETE FROM bounce_score WHERE address = ?1",
		"DELETE FROM bounce_unverified WHERE address = ?1",
	};
	int removed = 0;

	if (db_begin_write(db, DB_SYNCED, error) < 0)
		return -1;
	for (size_t i = 0; i < G_N_ELEMENTS(sql); i++) {
		sqlite3_stmt *st = NULL;
		int rc;

		if (db_prepare(db, sql[i], &st, error) < 0)
			goto fail;
		sqlite3_bind_text(st, 1, address, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			db_fail(db, rc, "resetting the bounces", error);
			goto fail;
		}
		removed += sqlite3_changes(db);
	}
	if (db_exec(db, "COMMIT", error) < 0)
		goto fail;
	return removed;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

static void
bounce_list_probe_free(gpointer p)
{
	struct bounce_list_probe *r = p;

	g_free(r->club_slug);
	g_free(r->list);
	g_free(r);
}

GPtrArray *
bounce_list_probes(sqlite3 *db, const struct config *cfg, gint64 club_id,
		   const char *list, GError **error)
{
	static const char sql[] =
		"SELECT c.slug, p.list, p.at, coalesce(p.sent_at, 0) FROM "
		"verp_probe_list p JOIN club c ON c.id = p.club_id WHERE p.at >= "
		"?1 AND (?2 = 0 OR p.club_id = ?2) AND (?3 IS NULL OR p.list = "
		"?3) ORDER BY c.slug, p.list";
	sqlite3_stmt *st = window_stmt(db, cfg, sql, club_id, error);
	g_autoptr(GPtrArray) out = NULL;
	int rc;

	if (st == NULL)
		return NULL;
	sqlite3_bind_text(st, 3, list, -1, SQLITE_STATIC);
	out = g_ptr_array_new_with_free_func(bounce_list_probe_free);
	while ((rc = db_row(st, error)) > 0) {
		struct bounce_list_probe *r = g_new0(struct bounce_list_probe,
						     1);
		r->club_slug = g_strdup(
			(const char *)sqlite3_column_text(st, 0));
		r->list = g_strdup((const char *)sqlite3_column_text(st, 1));
		r->at = sqlite3_column_int64(st, 2);
		r->sent_at = sqlite3_column_int64(st, 3);
		g_ptr_array_add(out, r);
	}
	if (rc < 0) {
		g_prefix_error(error, "reading the VERP probes: ");
		return NULL;
	}
	return g_steal_pointer(&out);
}
