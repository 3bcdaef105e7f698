/* decide.c - the verdict on a message to one of our addresses (decide.h):
 * every decision, in order, reading the database in one read transaction
 * and writing nothing. The moderation reply's own checks are in
 * decide-moderation.c.
 */
#include "decide-internal.h"

#include <string.h>
#include <sysexits.h>

#include "soarlist/db.h"
#include "soarlist/policy.h"
#include "soarlist/rewrite.h"

static const struct {
	int status;
	const char *name;
	gboolean tell;
} outcomes[] = {
	[OUTCOME_DISTRIBUTE] = { EX_OK, "distribute", FALSE },
	[OUTCOME_HOLD] = { EX_OK, "hold", FALSE },
	[OUTCOME_DISCARD] = { EX_OK, "discard", FALSE },
	[OUTCOME_DROP_LOOP] = { EX_OK, "drop-loop", FALSE },
	[OUTCOME_DROP_AUTO_SUBMITTED] = { EX_OK, "drop-auto-submitted", FALSE },
	[OUTCOME_DROP_DUPLICATE] = { EX_OK, "drop-duplicate", FALSE },
	[OUTCOME_OWNER_FORWARD] = { EX_OK, "owner-forward", FALSE },
	[OUTCOME_BOUNCE] = { EX_OK, "bounce", FALSE },
	[OUTCOME_BOUNCE_FORWARD] = { EX_OK, "bounce-forward", FALSE },
	[OUTCOME_BOUNCE_SCORED] = { EX_OK, "bounce-scored", FALSE },
	[OUTCOME_BOUNCE_IGNORED] = { EX_OK, "bounce-ignored", FALSE },
	[OUTCOME_BOUNCE_DISABLED] = { EX_OK, "bounce-disabled", FALSE },
	[OUTCOME_BOUNCE_UNVERIFIED] = { EX_OK, "bounce-unverified", FALSE },
	[OUTCOME_MODERATE_APPROVE] = { EX_OK, "moderate-approve", FALSE },
	[OUTCOME_MODERATE_REJECT] = { EX_OK, "moderate-reject", FALSE },
	[OUTCOME_MODERATE_DISCARD] = { EX_OK, "moderate-discard", FALSE },
	[OUTCOME_REFUSE] = { EX_NOPERM, "reject", TRUE },
	[OUTCOME_TOO_BIG] = { EX_NOPERM, "reject", TRUE },
	[OUTCOME_NO_MEMBERS] = { EX_NOPERM, "no-members", TRUE },
	[OUTCOME_MODERATE_REFUSED] = { EX_NOPERM, "moderate-refused", TRUE },
	[OUTCOME_NOUSER] = { EX_NOUSER, "nouser", TRUE },
	[OUTCOME_UNPARSABLE] = { EX_DATAERR, "reject", TRUE },
	[OUTCOME_DEFER] = { EX_TEMPFAIL, "defer", TRUE },
};

int
outcome_status(enum outcome outcome)
{
	return outcomes[outcome].status;
}

const char *
outcome_name(enum outcome outcome)
{
	return outcomes[outcome].name;
}

gboolean
outcome_tells_mta(enum outcome outcome)
{
	return outcomes[outcome].tell;
}

void
verdict_set(struct verdict *v, enum outcome outcome, char *line)
{
	v->outcome = outcome;
	g_free(v->line);
	v->line = line;
}

/* The owners of the list (or dev_redirect) receive -owner mail and what
 * comes to -bounces that is no DSN; the loop marker stops a forwarding
 * loop when an owner address is itself one of ours. */
static void
decide_forward(const struct decide_input *in, struct verdict *v)
{
	g_autofree char *marker = recipient_format(
		v->rcpt.kind == RECIPIENT_BOUNCES ? RECIPIENT_BOUNCES
						  : RECIPIENT_OWNER,
		v->list.name, v->list.domain, NULL);
	GMimeHeaderList *headers = in->msg->headers;
	int n = g_mime_header_list_get_count(headers);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "X-Loop") ==
			    0 &&
		    strstr(g_mime_header_get_value(h), marker) != NULL)
			v->forward_loops = TRUE;
	}
	/* a DSN is scored whatever its headers; only a forward loops */
	if (v->forward_loops && v->rcpt.kind != RECIPIENT_BOUNCES) {
		verdict_set(v, OUTCOME_DROP_LOOP, NULL);
		return;
	}
	v->rcpts = g_ptr_array_new();
	if (in->cfg->dev_redirect != NULL)
		g_ptr_array_add(v->rcpts, in->cfg->dev_redirect);
	else
		list_ref_owners(&v->list, in->cfg, v->rcpts);
	verdict_set(v,
		    v->rcpt.kind == RECIPIENT_BOUNCES ? OUTCOME_BOUNCE
						      : OUTCOME_OWNER_FORWARD,
		    NULL);
}

/* The posting policy's verdict, as the agent reads the message (with its
 * Authentication-Results) or, at RCPT TO, the envelope alone. */
static int
decide_policy(sqlite3 *db, const struct decide_input *in, struct verdict *v,
	      GError **error)
{
	static const enum outcome of[] = {
		[DECISION_DISTRIBUTE] = OUTCOME_DISTRIBUTE,
		[DECISION_REJECT] = OUTCOME_REFUSE,
		[DECISION_DISCARD] = OUTCOME_DISCARD,
		[DECISION_HOLD] = OUTCOME_HOLD,
	};
	struct policy_result pr = { 0 };
	int rc;

	if (in->approved) {
		verdict_set(v, OUTCOME_DISTRIBUTE,
			    g_strdup("approved by a moderator"));
		return 0;
	}
	if (in->msg != NULL)
		rc = policy_decide_post(db, in->cfg, &v->list, in->sender,
					in->msg->headers, v->author, &pr,
					error);
	else
		rc = policy_decide(db, &v->list, in->sender, v->author, NULL,
				   &pr, error);
	if (rc < 0)
		return -1;
	verdict_set(v, of[pr.decision], pr.reason);
	v->cause = pr.cause;
	pr.reason = NULL;
	return 0;
}

/* Who receives a post the policy let through, and what to claim. */
static int
decide_recipients(sqlite3 *db, const struct decide_input *in, struct verdict *v,
		  GError **error)
{
	const struct config *cfg = in->cfg;

	v->members = catalog_recipients(db, v->list.id, error);
	if (v->members == NULL)
		return -1;
	if (v->members->len == 0) {
		/* not a silent drop: the sender learns nobody got it */
		verdict_set(
			v, OUTCOME_NO_MEMBERS,
			g_strdup_printf(
				"5.2.1 %s has no members: nobody would receive "
				"this post",
				v->list.address));
		return 0;
	}
	v->rcpts = g_ptr_array_new();
	if (cfg->dev_redirect != NULL) {
		/* a dev_redirect copy reaches no member: it must not make the
		 * real post look like a duplicate once dev mode is off */
		g_ptr_array_add(v->rcpts, cfg->dev_redirect);
		v->redirected = v->members->len;
		return 0;
	}
	for (guint i = 0; i < v->members->len; i++)
		g_ptr_array_add(v->rcpts, g_ptr_array_index(v->members, i));
	v->claim = v->msgid;
	return 0;
}

/* A post to a list that exists: loops, auto-replies, size, policy,
 * members. Without a message only size (when announced), policy and
 * members. */
static int
decide_post(sqlite3 *db, const struct decide_input *in, struct verdict *v,
	    GError **error)
{
	guint64 max = v->list.settings.max_size;

	if (in->msg != NULL &&
	    rewrite_has_loop_marker(in->msg->headers, &v->list)) {
		verdict_set(v, OUTCOME_DROP_LOOP, NULL);
		return 0;
	}
	if (in->msg != NULL && rewrite_is_auto_submitted(in->msg->headers)) {
		verdict_set(v, OUTCOME_DROP_AUTO_SUBMITTED, NULL);
		return 0;
	}
	if (max > 0 && in->size >= 0 && (guint64)in->size > max) {
		verdict_set(v, OUTCOME_TOO_BIG,
			    g_strdup_printf("5.3.4 message of %" G_GINT64_FORMAT
					    " bytes exceeds "
					    "the %" G_GUINT64_FORMAT
					    "-byte limit of %s",
					    in->size, max, v->list.address));
		return 0;
	}
	if (decide_policy(db, in, v, error) < 0)
		return -1;
	if (v->outcome != OUTCOME_DISTRIBUTE)
		return 0;
	return decide_recipients(db, in, v, error);
}

/* The decisions once the list is resolved, inside the read transaction. */
static int
decide(sqlite3 *db, const struct decide_input *in, struct verdict *v,
       GError **error)
{
	if (in->msg == NULL && v->rcpt.kind != RECIPIENT_POST) {
		/* RCPT TO: nothing to decide before the message */
		verdict_set(v, OUTCOME_OWNER_FORWARD, NULL);
		return 0;
	}
	switch (v->rcpt.kind) {
	case RECIPIENT_POST:
		return decide_post(db, in, v, error);
	case RECIPIENT_REQUEST:
		if (v->rcpt.token != NULL)
			return decide_moderation_reply(db, in, v, error);
		/* -request without a token reaches the owners */
		G_GNUC_FALLTHROUGH;
	case RECIPIENT_OWNER:
	case RECIPIENT_BOUNCES:
		decide_forward(in, v);
		return 0;
	}
	return 0;
}

static void
nouser(const struct decide_input *in, struct verdict *v)
{
	verdict_set(v, OUTCOME_NOUSER,
		    g_strdup_printf("5.1.1 <%s>: no such "
				    "list",
				    in->recipient));
}

gboolean
decide_address(const struct decide_input *in, struct verdict *v)
{
	const struct config *cfg = in->cfg;
	const struct club_config *club;

	if (in->client == CLIENT_OTHER &&
	    policy_app_sender_club(cfg, in->sender) != NULL) {
		verdict_set(
			v, OUTCOME_REFUSE,
			g_strdup_printf(
				"5.7.1 <%s> is reserved for the Manage2Soar "
				"application",
				in->sender));
		v->cause = "reserved_sender";
		return TRUE;
	}
	if (recipient_parse(in->recipient, &v->rcpt) < 0 ||
	    (club = config_club_by_domain(cfg, v->rcpt.domain)) == NULL) {
		nouser(in, v);
		return TRUE;
	}
	if (club->state == CLUB_SUSPENDED) {
		/* X.2.1: mailbox disabled, not accepting messages. Every
		 * address of the club: posts, owners, bounces, replies */
		verdict_set(v, OUTCOME_REFUSE,
			    g_strdup_printf("5.2.1 the lists of %s are "
					    "suspended",
					    club->name));
		v->cause = "suspended";
		return TRUE;
	}
	return FALSE;
}

int
decide_resolve(sqlite3 *db, const struct decide_input *in, struct verdict *v,
	       GError **error)
{
	int rc;

	if (v->rcpt.list == NULL && decide_address(in, v))
		return 0;
	if (in->msg != NULL) {
		v->author = message_author(in->msg);
		v->msgid = message_id(in->msg);
	} else {
		v->author = g_strdup(in->sender);
	}
	if (db_begin_read(db, error) < 0)
		return -1;
	rc = catalog_resolve(db, in->cfg, v->rcpt.list, v->rcpt.domain,
			     &v->list, error);
	if (rc == 0)
		nouser(in, v);
	else if (rc > 0)
		rc = decide(db, in, v, error);
	if (rc < 0) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db, error);
}

void
verdict_clear(struct verdict *v)
{
	g_free(v->line);
	recipient_clear(&v->rcpt);
	list_ref_clear(&v->list);
	g_free(v->author);
	g_free(v->msgid);
	if (v->rcpts != NULL)
		g_ptr_array_unref(v->rcpts);
	if (v->members != NULL)
		g_ptr_array_unref(v->members);
	g_free(v->reject_reason);
	*v = (struct verdict){ 0 };
}
