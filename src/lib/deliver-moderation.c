/* deliver-moderation.c - act()'s moderation branches: storing a held post
 * and telling its owners, and acting on an owner's reply to
 * LIST-request+TOKEN@DOMAIN (decide-moderation.c decided what it asks).
 */
#include "deliver-internal.h"

#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/held.h"
#include "soarlist/maillog.h"
#include "soarlist/stats.h"
#include "soarlist/moderate.h"
#include "soarlist/notice.h"
#include "soarlist/recipient.h"

/* Up to LINES lines of the post's body, when it is plain text we can show
 * as it is; else a note saying so. Newly allocated. */
static char *
first_lines(const struct message *msg, int lines)
{
	const char *ct = message_header(msg, "Content-Type");
	const char *cte = message_header(msg, "Content-Transfer-Encoding");
	char buf[2048];
	ssize_t n;
	GString *out = g_string_new(NULL);
	char **v;

	while (ct != NULL && g_ascii_isspace(*ct))
		ct++;
	while (cte != NULL && g_ascii_isspace(*cte))
		cte++;
	if ((ct != NULL && g_ascii_strncasecmp(ct, "text/plain", 10) != 0) ||
	    (cte != NULL &&
	     g_ascii_strncasecmp(cte, "quoted-printable", 16) == 0) ||
	    (cte != NULL && g_ascii_strncasecmp(cte, "base64", 6) == 0))
		return g_strdup(
			"  (not plain text: see it with soarlist held)\n");
	n = pread(msg->body_fd, buf, sizeof(buf) - 1, msg->body);
	buf[n > 0 ? n : 0] = '\0';
	v = g_strsplit(g_strstrip(buf), "\n", lines + 1);
	for (int i = 0; v[i] != NULL && i < lines; i++) {
		char *clean = g_utf8_make_valid(v[i], -1);
		g_string_append_printf(out, "  > %s\n", g_strchomp(clean));
		g_free(clean);
	}
	g_strfreev(v);
	return g_string_free(out, FALSE);
}

/* Tell the owners a post is held, what it is, and how to act on it. */
static int
notify_owners(struct job *j, const struct verdict *v, gint64 id,
	      const char *token, GError **error)
{
	g_autofree char *reply = recipient_format(
		RECIPIENT_REQUEST, v->list.name, v->list.domain, token);
	g_autoptr(GPtrArray) rcpts = g_ptr_array_new();
	g_autofree char *lines = first_lines(&j->msg, 10);
	g_autofree char *display = g_strdelimit(g_strdup(v->list.display),
						"\"\\", '\'');
	g_autofree char *owner = recipient_format(RECIPIENT_OWNER, v->list.name,
						  v->list.domain, NULL);
	g_autofree char *from = g_strdup_printf("\"%s moderation\" <%s>",
						display, owner);
	const char *subject = message_header(&j->msg, "Subject");
	g_autofree char *subj = g_strdup_printf(
		"Held post %" G_GINT64_FORMAT " for %s: %s", id,
		v->list.address, subject ? subject : "(no subject)");
	g_autofree char *body = g_strdup_printf(
		"A post to %s is held for moderation.\n\n"
		"  Id:       %" G_GINT64_FORMAT "\n  From:     %s\n"
		"  Sender:   %s\n  Subject:  %s\n  Size:     %lld bytes\n"
		"  Reason:   %s\n\nFirst lines:\n%s\n"
		"To act on it, reply to this message with approve, reject or "
		"discard\nas the first line (the address to reply to works once), "
		"or on the mail server:\n"
		"  soarlist approve %" G_GINT64_FORMAT "\n"
		"  soarlist reject %" G_GINT64_FORMAT " --reason \"...\"\n"
		"  soarlist discard %" G_GINT64_FORMAT "\n",
		v->list.address, id, v->author ? v->author : "(none)",
		j->sender, subject ? subject : "(no subject)",
		(long long)j->spool.size, v->line, lines, id, id, id);

	list_ref_owners(&v->list, j->cfg, rcpts);
	/* null envelope sender: a notice that bounces must not come back as
	 * a bounce of the list (and score an owner) */
	return notice_send(j->cfg, "", from, reply, rcpts, subj, body, error);
}

/* moderate() failed with ERR (freed here): the answer to the owner. One
 * who comes second is told by the bounce of this reply (77); while the
 * other is still at it, the reply waits in Postfix's queue (75), since the
 * other's action may fail and leave the post held. */
static void
moderation_failed(struct verdict *v, GError *err)
{
	if (g_error_matches(err, MODERATE_ERROR, MODERATE_ERROR_HANDLED)) {
		verdict_set(
			v, OUTCOME_MODERATE_REFUSED,
			g_strdup(
				"5.7.1 the held post was already handled by another "
				"moderator"));
	} else if (g_error_matches(err, MODERATE_ERROR, MODERATE_ERROR_BUSY)) {
		act_defer(v,
			  "another moderator is acting on the held post "
			  "right now",
			  NULL);
	} else if (g_error_matches(err, MODERATE_ERROR,
				   MODERATE_ERROR_REMAINS)) {
		/* done: a retry of this reply would do it again */
		verdict_set(v, v->outcome, g_strdup(err->message));
	} else if (err->domain == MODERATE_STATUS_ERROR &&
		   (err->code == EX_NOPERM || err->code == EX_NOUSER)) {
		verdict_set(
			v, OUTCOME_MODERATE_REFUSED,
			g_strdup_printf(
				"5.7.1 the held post cannot be distributed (status "
				"%d); it stays held",
				err->code));
	} else {
		act_defer(v, "cannot act on the held post", err);
	}
	g_error_free(err);
}

void
act_moderate(struct job *j, struct verdict *v)
{
	static const enum moderate_action actions[] = {
		[OUTCOME_MODERATE_APPROVE] = MODERATE_APPROVE,
		[OUTCOME_MODERATE_REJECT] = MODERATE_REJECT,
		[OUTCOME_MODERATE_DISCARD] = MODERATE_DISCARD,
	};
	g_auto(HeldRow) row = { 0 };
	GError *err = NULL;

	if (held_get(j->db, v->held_id, &row, &err) < 0) {
		act_defer(v, "list database unavailable", err);
		g_error_free(err);
		return;
	}
	if (moderate(j->cfg, j->db, &row, actions[v->outcome], v->reject_reason,
		     deliver_approved, &err) < 0)
		moderation_failed(v, err);
}

void
act_hold(struct job *j, struct verdict *v)
{
	struct stat_event count;
	struct held_info info = {
		.recipient = j->recipient,
		.sender = j->sender,
		.author = v->author,
		.message_id = v->msgid,
		.reason = v->line,
		.subject = message_header(&j->msg, "Subject"),
		.count = stats_event(v, &count) ? &count : NULL,
	};
	GError *err = NULL;
	g_autofree char *token = NULL;
	gint64 id = held_store(j->db, &v->list, &j->msg, &info, &token, &err);

	if (id < 0) {
		act_defer(v, "cannot hold the message", err);
		g_error_free(err);
		return;
	}
	/* the post is safe in the database: a notice that fails only costs
	 * the owners a mail, and is logged */
	if (notify_owners(j, v, id, token, &err) < 0) {
		maillog_warning("list=<%s> held id=%" G_GINT64_FORMAT
				": cannot "
				"notify the owners: %s",
				v->list.address, id, err->message);
		g_clear_error(&err);
	}
	verdict_set(v, OUTCOME_HOLD,
		    g_strdup_printf("held id=%" G_GINT64_FORMAT, id));
}
