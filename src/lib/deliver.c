/* deliver.c - soarlist-deliver's job for one message.
 *
 * The order matters: stdin is read to its end before anything is decided;
 * a permanent status (67, 77) is only returned after a deliberate decision
 * about this message; everything unexpected is EX_TEMPFAIL; state (the
 * Message-ID) is recorded as sent only after sendmail succeeded.
 */
#include "deliver-internal.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/address.h"
#include "soarlist/archive.h"
#include "soarlist/bounce.h"
#include "soarlist/bounce-proof.h"
#include "soarlist/catalog.h"
#include "soarlist/db.h"
#include "soarlist/footer.h"
#include "soarlist/maillog.h"
#include "soarlist/message.h"
#include "soarlist/policy.h"
#include "soarlist/printable.h"
#include "soarlist/recipient.h"
#include "soarlist/rewrite.h"
#include "soarlist/seen.h"
#include "soarlist/sendmail.h"
#include "soarlist/spool.h"

/* One printable line for the MTA on stderr: pipe(8) puts it in the bounce
 * or the defer reason. */
static void
deliver_tell_mta(const char *text)
{
	char *clean = printable_escape(text);

	if (strlen(clean) > 200) /* cut on a character boundary */
		*g_utf8_find_prev_char(clean, clean + 201) = '\0';
	fprintf(stderr, "%s\n", clean);
	fflush(stderr);
	g_free(clean);
}

static long
elapsed_ms(const struct job *j)
{
	return (long)((g_get_monotonic_time() - j->t0) / 1000);
}

/* The one log line per message. */
static void
deliver_log(const struct job *j, const char *decision, guint recipients,
	    const char *detail)
{
	maillog_info("list=<%s> sender=<%s> author=<%s> decision=%s "
		     "recipients=%u msgid=<%s> size=%lld ms=%ld%s%s",
		     j->list.address ? j->list.address : j->req->recipient,
		     j->req->sender, j->author ? j->author : "",
		     decision, recipients, j->msgid ? j->msgid : "",
		     (long long)j->spool.size, elapsed_ms(j),
		     detail ? " reason=" : "", detail ? detail : "");
}

int
deliver_report(struct job *j, enum outcome outcome, guint recipients,
	       const char *line)
{
	static const struct {
		int status;
		const char *log;
		gboolean tell;
	} table[] = {
		[OUTCOME_DISTRIBUTE] = { EX_OK, "distribute", FALSE },
		[OUTCOME_HOLD] = { EX_OK, "hold", FALSE },
		[OUTCOME_DISCARD] = { EX_OK, "discard", FALSE },
		[OUTCOME_DROP_LOOP] = { EX_OK, "drop-loop", FALSE },
		[OUTCOME_DROP_AUTO_SUBMITTED] = { EX_OK, "drop-auto-submitted",
						  FALSE },
		[OUTCOME_DROP_DUPLICATE] = { EX_OK, "drop-duplicate", FALSE },
		[OUTCOME_OWNER_FORWARD] = { EX_OK, "owner-forward", FALSE },
		[OUTCOME_BOUNCE_FORWARD] = { EX_OK, "bounce-forward", FALSE },
		[OUTCOME_BOUNCE_SCORED] = { EX_OK, "bounce-scored", FALSE },
		[OUTCOME_BOUNCE_IGNORED] = { EX_OK, "bounce-ignored", FALSE },
		[OUTCOME_BOUNCE_DISABLED] = { EX_OK, "bounce-disabled", FALSE },
		[OUTCOME_BOUNCE_UNVERIFIED] = { EX_OK, "bounce-unverified",
						FALSE },
		[OUTCOME_MODERATE_APPROVE] = { EX_OK, "moderate-approve", FALSE },
		[OUTCOME_MODERATE_REJECT] = { EX_OK, "moderate-reject", FALSE },
		[OUTCOME_MODERATE_DISCARD] = { EX_OK, "moderate-discard", FALSE },
		[OUTCOME_REFUSE] = { EX_NOPERM, "reject", TRUE },
		[OUTCOME_NO_MEMBERS] = { EX_NOPERM, "no-members", TRUE },
		[OUTCOME_MODERATE_REFUSED] = { EX_NOPERM, "moderate-refused",
					       TRUE },
		[OUTCOME_NOUSER] = { EX_NOUSER, "nouser", TRUE },
		[OUTCOME_UNPARSABLE] = { EX_DATAERR, "reject", TRUE },
		[OUTCOME_DEFER] = { EX_TEMPFAIL, "defer", TRUE },
	};

	if (table[outcome].tell && line != NULL)
		deliver_tell_mta(line);
	deliver_log(j, table[outcome].log, recipients, line);
	return table[outcome].status;
}

int
deliver_tempfail(struct job *j, const char *what, const GError *err)
{
	g_autofree char *line = g_strdup_printf("4.3.0 %s%s%s", what,
						err ? ": " : "",
						err ? err->message : "");

	return deliver_report(j, OUTCOME_DEFER, 0, line);
}

void
deliver_end_read(struct job *j)
{
	if (j->in_read_txn) {
		sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
		j->in_read_txn = FALSE;
	}
}

void
deliver_add_owners(const struct job *j, GPtrArray *rcpts)
{
	list_ref_owners(&j->list, j->req->cfg, rcpts);
}

/* -owner and -bounces mail goes to the list's owners, unmodified but for
 * trace headers (bounce processing comes later); the loop marker stops a
 * forwarding loop when an owner address is itself one of ours. */
static int
forward_to_owners(struct job *j)
{
	const struct config *cfg = j->req->cfg;
	GError *err = NULL;
	g_autoptr(GPtrArray) rcpts = g_ptr_array_new();
	g_autofree char *marker = recipient_format(
		j->rcpt.kind != RECIPIENT_BOUNCES ? RECIPIENT_OWNER
						  : RECIPIENT_BOUNCES,
		j->list.name, j->list.domain, NULL);
	g_autofree char *sender = j->rcpt.kind != RECIPIENT_BOUNCES
		? recipient_format(RECIPIENT_BOUNCES, j->list.name,
				   j->list.domain, NULL)
		: g_strdup("");
	int n = g_mime_header_list_get_count(j->msg.headers);

	deliver_end_read(j);
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(j->msg.headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "X-Loop") == 0 &&
		    strstr(g_mime_header_get_value(h), marker) != NULL) {
			return deliver_report(j, OUTCOME_DROP_LOOP, 0, NULL);
		}
	}
	if (cfg->dev_redirect != NULL)
		g_ptr_array_add(rcpts, cfg->dev_redirect);
	else
		deliver_add_owners(j, rcpts);
	while (g_mime_header_list_remove(j->msg.headers, "Return-Path"))
		;
	rewrite_clean_headers(j->msg.headers); /* DESIGN: header invariant */
	g_mime_header_list_append(j->msg.headers, "X-Loop", marker, NULL);
	if (sendmail_send(cfg->sendmail, sender, FALSE, rcpts, &j->msg,
			  &err) < 0) {
		int rc = deliver_tempfail(j, "cannot forward to the list owner", err);
		g_error_free(err);
		return rc;
	}
	return deliver_report(j, j->rcpt.kind != RECIPIENT_BOUNCES
			      ? OUTCOME_OWNER_FORWARD : OUTCOME_BOUNCE_FORWARD,
			      rcpts->len, NULL);
}

/* Mail to LIST-bounces: a DSN is scored (or not); anything else goes to the
 * owners, never to the list. */
static int
bounce(struct job *j)
{
	static const enum outcome outcomes[] = {
		[BOUNCE_NOT_A_DSN] = OUTCOME_BOUNCE_FORWARD,
		[BOUNCE_SCORED] = OUTCOME_BOUNCE_SCORED,
		[BOUNCE_IGNORED] = OUTCOME_BOUNCE_IGNORED,
		[BOUNCE_DISABLED] = OUTCOME_BOUNCE_DISABLED,
		[BOUNCE_UNVERIFIED] = OUTCOME_BOUNCE_UNVERIFIED,
	};
	GError *err = NULL;
	char *detail = NULL;
	int rc;

	deliver_end_read(j);
	rc = bounce_process(j->db, j->req->cfg, &j->list, &j->rcpt, &j->msg,
			    &detail, &err);
	if (rc < 0) {
		rc = deliver_tempfail(j, "cannot process the bounce", err);
		g_error_free(err);
		return rc;
	}
	if (rc == BOUNCE_NOT_A_DSN) {
		g_free(detail);
		return forward_to_owners(j);
	}
	rc = deliver_report(j, outcomes[rc], 0, detail);
	g_free(detail);
	return rc;
}

/* Rewrite and hand the post to sendmail for RCPTS; DEDUPE_ID (may be
 * NULL) was claimed by the caller and is recorded as sent only once
 * sendmail has succeeded, or released so that Postfix's retry goes out. */
static int
reinject(struct job *j, GPtrArray *rcpts, const char *dedupe_id,
	 guint redirected)
{
	GError *err = NULL;
	g_autofree char *bounces = recipient_format(RECIPIENT_BOUNCES,
						    j->list.name,
						    j->list.domain, NULL);
	struct rewrite_input in = {
		.list = &j->list, .envelope_sender = j->req->sender,
		.redirected_members = redirected,
	};

	if (footer_apply(&j->msg, &j->list, j->req->cfg->spool_dir, &err) < 0) {
		int rc = deliver_tempfail(j, "cannot add the list footer", err);
		g_clear_error(&err);
		if (dedupe_id != NULL)
			seen_release(j->db, j->list.id, dedupe_id, NULL);
		return rc;
	}
	rewrite_headers(j->msg.headers, &in);
	/* without the token the post's bounces score nobody: better than no
	 * post (bounce-proof.h) */
	if (bounce_proof_stamp(j->db, &j->list, j->msg.headers, &err) < 0) {
		maillog_warning("list=<%s> msgid=<%s>: its bounces will not be "
				"verified: %s", j->list.address, j->msgid,
				err->message);
		g_clear_error(&err);
	}
	if (sendmail_send(j->req->cfg->sendmail, bounces, TRUE, rcpts, &j->msg,
			  &err) < 0) {
		int rc = deliver_tempfail(j, "cannot reinject the message", err);
		g_clear_error(&err);
		if (dedupe_id != NULL &&
		    seen_release(j->db, j->list.id, dedupe_id, &err) < 0) {
			maillog_warning("list=<%s> msgid=<%s>: cannot release "
					"the duplicate claim: %s",
					j->list.address, j->msgid, err->message);
			g_clear_error(&err);
		}
		return rc;
	}
	/* sendmail has the message: from here on, success is final */
	if (archive_store(j->req->cfg, &j->list, &j->msg, &err) < 0) {
		maillog_warning("list=<%s> msgid=<%s>: distributed, but not "
				"archived: %s", j->list.address, j->msgid,
				err->message);
		g_clear_error(&err);
	}
	if (dedupe_id != NULL &&
	    seen_commit(j->db, j->list.id, dedupe_id, &err) < 0) {
		maillog_warning("list=<%s> msgid=<%s>: distributed, but not "
				"recorded for duplicate checks: %s",
				j->list.address, j->msgid, err->message);
		g_clear_error(&err);
	}
	return deliver_report(j, OUTCOME_DISTRIBUTE, rcpts->len, j->auth_why);
}

/* One copy per person: RCPTS are the members who do not already have this
 * post through another list of the club (To: members@, Cc: board@), as
 * seen_claim() found them. */
static int
distribute_once(struct job *j, GPtrArray *rcpts, const char *dedupe_id)
{
	GError *err = NULL;

	if (rcpts->len == 0) {
		if (seen_commit(j->db, j->list.id, dedupe_id, &err) < 0) {
			maillog_warning("list=<%s> msgid=<%s>: %s",
					j->list.address, j->msgid, err->message);
			g_clear_error(&err);
		}
		return deliver_report(j, OUTCOME_DROP_DUPLICATE, 0, "every member "
				      "has it through another list of the club");
	}
	return reinject(j, rcpts, dedupe_id, 0);
}

/* Distribute a post that passed the policy to MEMBERS (or dev_redirect). */
static int
distribute(struct job *j, GPtrArray *members)
{
	const struct config *cfg = j->req->cfg;
	g_autoptr(GPtrArray) rcpts = g_ptr_array_new();
	g_autoptr(GPtrArray) once = NULL;
	const char *dedupe_id;
	GError *err = NULL;

	if (members->len == 0) {
		/* not a silent drop: the sender learns nobody got it */
		g_autofree char *line = g_strdup_printf(
			"5.2.1 %s has no members: nobody would receive this post",
			j->list.address);
		return deliver_report(j, OUTCOME_NO_MEMBERS, 0, line);
	}
	/* a dev_redirect copy reached no member: it must not make the real
	 * post look like a duplicate once dev mode is off */
	dedupe_id = cfg->dev_redirect == NULL ? j->msgid : NULL;
	if (dedupe_id != NULL) {
		int c = seen_claim(j->db, j->list.club_id, j->list.id, dedupe_id,
				   members, &once, &err);
		if (c < 0) {
			c = deliver_tempfail(j, "list database unavailable", err);
			g_error_free(err);
			return c;
		}
		if (c == 0)
			return deliver_report(j, OUTCOME_DROP_DUPLICATE, 0, NULL);
	}
	if (cfg->dev_redirect != NULL) {
		g_ptr_array_add(rcpts, cfg->dev_redirect);
		return reinject(j, rcpts, NULL, members->len);
	}
	if (dedupe_id == NULL) {
		for (guint i = 0; i < members->len; i++)
			g_ptr_array_add(rcpts, g_ptr_array_index(members, i));
		return reinject(j, rcpts, NULL, 0);
	}
	return distribute_once(j, once, dedupe_id);
}

static int
size_refusal(struct job *j)
{
	g_autofree char *line = g_strdup_printf(
		"5.3.4 message of %lld bytes exceeds the %llu-byte limit of %s",
		(long long)j->spool.size,
		(unsigned long long)j->list.settings.max_size, j->list.address);

	deliver_end_read(j);
	return deliver_report(j, OUTCOME_REFUSE, 0, line);
}

/* A post to a list that exists: loops, auto-replies, size, policy. */
static int
post(struct job *j)
{
	struct policy_result pr = { 0 };
	GError *err = NULL;
	GPtrArray *members;
	int rc;

	if (rewrite_has_loop_marker(j->msg.headers, &j->list)) {
		deliver_end_read(j);
		return deliver_report(j, OUTCOME_DROP_LOOP, 0, NULL);
	}
	if (rewrite_is_auto_submitted(j->msg.headers)) {
		deliver_end_read(j);
		return deliver_report(j, OUTCOME_DROP_AUTO_SUBMITTED, 0, NULL);
	}
	if (j->list.settings.max_size > 0 &&
	    (guint64)j->spool.size > j->list.settings.max_size)
		return size_refusal(j);
	if (j->req->approved) {
		pr.decision = DECISION_DISTRIBUTE;
	} else {
		if (policy_decide_post(j->db, j->req->cfg, &j->list,
				       j->req->sender, j->msg.headers, j->author,
				       &pr, &err) < 0)
			goto fail_db;
		if (j->list.settings.require_auth == REQUIRE_AUTH_DMARC &&
		    pr.decision == DECISION_DISTRIBUTE)
			j->auth_why = g_strdup(pr.reason);
	}
	switch (pr.decision) {
	case DECISION_REJECT:
	case DECISION_DISCARD:
		deliver_end_read(j);
		rc = deliver_report(j, pr.decision == DECISION_REJECT
				    ? OUTCOME_REFUSE : OUTCOME_DISCARD, 0,
				    pr.reason);
		policy_result_clear(&pr);
		return rc;
	case DECISION_HOLD:
		rc = deliver_hold(j, pr.reason);
		policy_result_clear(&pr);
		return rc;
	case DECISION_DISTRIBUTE:
		break;
	}
	policy_result_clear(&pr);
	members = catalog_recipients(j->db, j->list.id, &err);
	if (members == NULL)
		goto fail_db;
	deliver_end_read(j);
	rc = distribute(j, members);
	g_ptr_array_unref(members);
	return rc;
fail_db:
	rc = deliver_tempfail(j, "list database unavailable", err);
	g_error_free(err);
	return rc;
}

static int
nouser(struct job *j)
{
	g_autofree char *line = g_strdup_printf("5.1.1 <%s>: no such list",
						j->req->recipient);

	return deliver_report(j, OUTCOME_NOUSER, 0, line);
}

/* A header section no parser accepts fails the same way on every retry:
 * bounce it (pipe(8) maps 65 to a bounce) rather than keep it queued for
 * days. Takes ERR. */
static int
unparsable(struct job *j, GError *err)
{
	g_autofree char *line = g_strdup_printf(
		"5.6.0 message refused: %s", err->message);

	g_error_free(err);
	return deliver_report(j, OUTCOME_UNPARSABLE, 0, line);
}

static int
run(struct job *j)
{
	const struct config *cfg = j->req->cfg;
	GError *err = NULL;
	int rc;

	if (spool_from_fd(j->req->in_fd, cfg->spool_dir, &j->spool, &err) < 0)
		goto tempfail;
	if (recipient_parse(j->req->recipient, &j->rcpt) < 0 ||
	    config_club_by_domain(cfg, j->rcpt.domain) == NULL)
		return nouser(j);
	j->db = db_open(cfg->database, DB_EXISTING, &err);
	if (j->db == NULL || db_agent_mode(j->db, &err) < 0)
		goto tempfail;
	if (message_parse(j->spool.fd, j->spool.size, &j->msg, &err) < 0) {
		if (g_error_matches(err, MESSAGE_ERROR, MESSAGE_ERROR_TOO_BIG)) {
			g_autofree char *line = g_strdup_printf(
				"5.3.4 message refused: %s", err->message);
			g_error_free(err);
			return deliver_report(j, OUTCOME_REFUSE, 0, line);
		}
		if (g_error_matches(err, MESSAGE_ERROR,
				    MESSAGE_ERROR_UNPARSABLE))
			return unparsable(j, err);
		goto tempfail;
	}
	j->author = message_author(&j->msg);
	j->msgid = message_id(&j->msg);
	if (db_exec(j->db, "BEGIN", &err) < 0)
		goto tempfail;
	j->in_read_txn = TRUE;
	rc = catalog_resolve(j->db, cfg, j->rcpt.list, j->rcpt.domain, &j->list,
			     &err);
	if (rc < 0)
		goto tempfail;
	if (rc == 0) {
		deliver_end_read(j);
		return nouser(j);
	}
	if (j->rcpt.kind == RECIPIENT_BOUNCES)
		return bounce(j);
	if (j->rcpt.kind == RECIPIENT_REQUEST && j->rcpt.token != NULL)
		return deliver_moderation_reply(j);
	if (j->rcpt.kind != RECIPIENT_POST)
		return forward_to_owners(j);
	return post(j);
tempfail:
	rc = deliver_tempfail(j, "list delivery failed", err);
	g_error_free(err);
	return rc;
}

int
deliver_run(const struct deliver_request *req)
{
	struct job j = { .req = req, .t0 = g_get_monotonic_time(),
			 .spool = { .fd = -1 } };
	int rc = run(&j);

	if (j.in_read_txn)
		sqlite3_exec(j.db, "ROLLBACK", NULL, NULL, NULL);
	g_free(j.author);
	g_free(j.msgid);
	g_free(j.auth_why);
	list_ref_clear(&j.list);
	message_clear(&j.msg);
	db_close(&j.db);
	recipient_clear(&j.rcpt);
	spool_close(&j.spool);
	return rc;
}
