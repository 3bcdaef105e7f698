/* deliver.c - soarlist-deliver's job for one message, as DESIGN.md draws
 * it: intake (spool, parse) -> decide (decide.h: resolve the list and take
 * every decision, without side effects) -> act (one switch: distribute,
 * hold, forward, score a bounce, moderate, or nothing for a refusal or a
 * drop) -> report (one table: outcome -> exit status, log word, the line
 * for the MTA).
 *
 * The order matters: stdin is read to its end before anything is decided;
 * a permanent status (67, 77) is only returned after a deliberate decision
 * about this message; everything unexpected is EX_TEMPFAIL; the one claim
 * of a post is recorded as sent only after sendmail succeeded, and given
 * back otherwise, in one place (act()).
 */
#include "deliver-internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/db.h"
#include "soarlist/held.h"
#include "soarlist/maillog.h"
#include "soarlist/moderate.h"
#include "soarlist/printable.h"
#include "soarlist/proc.h"
#include "soarlist/seen.h"
#include "soarlist/stats.h"

void
act_defer(struct verdict *v, const char *what, const GError *err)
{
	verdict_set(v, OUTCOME_DEFER,
		    g_strdup_printf("4.3.0 %s%s%s", what, err ? ": " : "",
				    err ? err->message : ""));
}

/* The one claim of a post, settled: recorded when the post went out (or
 * every member had it already), with its count (stats.h), given back
 * otherwise so that Postfix's retry distributes it. A failure to record
 * costs at worst a duplicate. TRUE when the count went in. */
static gboolean
settle_claim(struct job *j, const struct verdict *v)
{
	gboolean sent = v->outcome == OUTCOME_DISTRIBUTE ||
			v->outcome == OUTCOME_DROP_DUPLICATE;
	struct stat_event count;
	gboolean counted = sent && stats_event(v, &count);
	GError *err = NULL;
	int rc = sent ? seen_commit(j->db, v->list.id, v->claim,
				    counted ? &count : NULL, &err)
		      : seen_release(j->db, v->list.id, v->claim, &err);

	if (rc < 0) {
		maillog_warning("list=<%s> msgid=<%s>: %s: %s", v->list.address,
				v->msgid,
				sent ? "distributed, but not recorded for "
				       "duplicate checks"
				     : "cannot release the duplicate claim",
				err->message);
		g_error_free(err);
		return FALSE;
	}
	return counted;
}

/* Count V in a statement of its own: for what records nothing else (a
 * refusal, a drop, a post sent without a claim). A count that fails is
 * lost, and logged. */
static void
count_alone(struct job *j, const struct verdict *v)
{
	struct stat_event count;
	GError *err = NULL;

	if (j->db == NULL || !stats_event(v, &count))
		return;
	if (db_durability(j->db, DB_CHEAP, &err) < 0 ||
	    stats_count(j->db, &count, &err) < 0) {
		maillog_warning("list=<%s>: %s", v->list.address, err->message);
		g_error_free(err);
	}
}

/* Carry out V, and count it (stats.h) in the transaction that records
 * it, or alone. Refusals and drops need nothing done. */
static void
act(struct job *j, struct verdict *v)
{
	gboolean claimed = FALSE, counted = FALSE;

	switch (v->outcome) {
	case OUTCOME_DISTRIBUTE:
		claimed = act_distribute(j, v);
		break;
	case OUTCOME_HOLD:
		act_hold(j, v);
		/* held_store() counted it, or it was held already */
		counted = v->outcome == OUTCOME_HOLD;
		break;
	case OUTCOME_OWNER_FORWARD:
		act_forward(j, v);
		break;
	case OUTCOME_BOUNCE:
		act_bounce(j, v);
		break;
	case OUTCOME_MODERATE_APPROVE:
	case OUTCOME_MODERATE_REJECT:
	case OUTCOME_MODERATE_DISCARD:
		act_moderate(j, v);
		break;
	default:
		break;
	}
	if (claimed)
		counted = settle_claim(j, v);
	if (!counted && v->outcome != OUTCOME_DEFER)
		count_alone(j, v);
}

/* One printable line for the MTA on stderr: pipe(8) puts it in the bounce
 * or the defer reason. */
static void
tell_mta(const char *text)
{
	char *clean = printable_escape(text);

	if (strlen(clean) > 200) /* cut on a character boundary */
		*g_utf8_find_prev_char(clean, clean + 201) = '\0';
	fprintf(stderr, "%s\n", clean);
	fflush(stderr);
	g_free(clean);
}

/* Report V: the MTA's line (when the outcome tells it), the one log line,
 * and the exit status, which it returns. */
static int
report(const struct job *j, const struct verdict *v)
{
	guint recipients = v->outcome == OUTCOME_DISTRIBUTE ||
					   v->outcome ==
						   OUTCOME_OWNER_FORWARD ||
					   v->outcome == OUTCOME_BOUNCE_FORWARD
				   ? (v->rcpts ? v->rcpts->len : 0)
				   : 0;

	if (j->tell_mta && outcome_tells_mta(v->outcome) && v->line != NULL)
		tell_mta(v->line);
	maillog_info("list=<%s> sender=<%s> author=<%s> decision=%s "
		     "recipients=%u msgid=<%s> size=%lld ms=%ld%s%s",
		     v->list.address ? v->list.address : j->recipient,
		     j->sender, v->author ? v->author : "",
		     outcome_name(v->outcome), recipients,
		     v->msgid ? v->msgid : "", (long long)j->spool.size,
		     (long)((g_get_monotonic_time() - j->t0) / 1000),
		     v->line ? " reason=" : "", v->line ? v->line : "");
	return outcome_status(v->outcome);
}

/* What a message no parser accepts, or one too big to parse, becomes; a
 * read error defers. Takes ERR. */
static void
intake_failed(struct verdict *v, GError *err)
{
	if (g_error_matches(err, MESSAGE_ERROR, MESSAGE_ERROR_TOO_BIG))
		verdict_set(v, OUTCOME_TOO_BIG,
			    g_strdup_printf("5.3.4 message refused: %s",
					    err->message));
	else if (g_error_matches(err, MESSAGE_ERROR, MESSAGE_ERROR_UNPARSABLE))
		/* the same on every retry: bounce it (pipe(8) maps 65 to a
		 * bounce) rather than keep it queued for days */
		verdict_set(v, OUTCOME_UNPARSABLE,
			    g_strdup_printf("5.6.0 message refused: %s",
					    err->message));
	else
		act_defer(v, "list delivery failed", err);
	g_error_free(err);
}

/* Parse the spooled message, open the database and decide: the verdict
 * is in *V whatever happens. */
static void
resolve(struct job *j, const struct decide_input *in, struct verdict *v)
{
	GError *err = NULL;

	if (message_parse(j->spool.fd, j->spool.size, &j->msg, &err) < 0) {
		intake_failed(v, err);
		return;
	}
	if (j->db == NULL) {
		j->db = db_open(j->cfg->database, DB_EXISTING,
				j->cfg->busy_timeout_ms, &err);
		if (j->db == NULL || db_agent_mode(j->db, &err) < 0)
			goto fail;
	}
	if (decide_resolve(j->db, in, v, &err) == 0)
		return;
fail:
	act_defer(v, "list delivery failed", err);
	g_error_free(err);
}

/* Decide, act, report: the job once the message is spooled. *LINE_R (may
 * be NULL) is set to the verdict's line. */
static int
run(struct job *j, gboolean approved, char **line_r)
{
	g_auto(Verdict) v = { 0 };
	struct decide_input in = {
		.cfg = j->cfg,
		.recipient = j->recipient,
		.sender = j->sender,
		.msg = &j->msg,
		.size = j->spool.size,
		.approved = approved,
	};
	int rc;

	if (!decide_address(&in, &v)) {
		resolve(j, &in, &v);
		/* until exit, a signal can no longer end the agent with 75
		 * once something is recorded or handed over: it kills a
		 * sendmail still reading its input, or waits (proc.h) */
		proc_signals_hold();
		act(j, &v);
	}
	rc = report(j, &v);
	if (line_r != NULL)
		*line_r = g_steal_pointer(&v.line);
	return rc;
}

static void
job_clear(struct job *j, gboolean own_db)
{
	message_clear(&j->msg);
	if (own_db)
		db_close(&j->db);
	spool_close(&j->spool);
}

int
deliver_run(const struct deliver_request *req)
{
	struct job j = { .cfg = req->cfg,
			 .sender = req->sender,
			 .recipient = req->recipient,
			 .tell_mta = TRUE,
			 .t0 = g_get_monotonic_time(),
			 .spool = { .fd = -1 } };
	GError *err = NULL;
	int rc;

	if (spool_from_fd(req->in_fd, req->cfg->spool_dir, &j.spool, &err) <
	    0) {
		g_auto(Verdict) v = { 0 };
		act_defer(&v, "list delivery failed", err);
		g_error_free(err);
		rc = report(&j, &v);
	} else {
		rc = run(&j, FALSE, NULL);
	}
	job_clear(&j, TRUE);
	return rc;
}

int
deliver_approved(const struct config *cfg, sqlite3 *db,
		 const struct held_row *row, GError **error)
{
	struct job j = { .cfg = cfg,
			 .sender = row->sender,
			 .recipient = row->recipient,
			 .tell_mta = FALSE,
			 .t0 = g_get_monotonic_time(),
			 .db = db,
			 .spool = { .fd = -1 } };
	struct stat st;
	g_autofree char *line = NULL;
	int rc;

	/* the stored bytes, as Postfix handed them over; the policy is not
	 * asked again */
	j.spool.fd = spool_tmpfile(cfg->spool_dir, error);
	if (j.spool.fd < 0 || held_extract(db, row->id, j.spool.fd, error) < 0)
		goto fail;
	if (fstat(j.spool.fd, &st) < 0) {
		g_set_error(error, MODERATE_ERROR, MODERATE_ERROR_FAILED, "%s",
			    g_strerror(errno));
		goto fail;
	}
	j.spool.size = st.st_size;
	rc = run(&j, TRUE, &line);
	job_clear(&j, FALSE);
	if (rc != EX_OK) {
		g_set_error(error, MODERATE_STATUS_ERROR, rc,
			    "not distributed "
			    "(status %d: %s); the post stays held",
			    rc, line ? line : "no reason given");
		return -1;
	}
	return 0;
fail:
	job_clear(&j, FALSE);
	return -1;
}
