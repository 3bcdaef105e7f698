/* deliver-moderation.c - the moderation side of soarlist-deliver: storing
 * a held post and telling its owners, and acting on an owner's reply to
 * LIST-request+TOKEN@DOMAIN. The rest of the job is in deliver.c.
 */
#include "deliver-internal.h"

#include <fcntl.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/held.h"
#include "soarlist/maillog.h"
#include "soarlist/moderate.h"
#include "soarlist/notice.h"
#include "soarlist/recipient.h"

/* Up to LINES lines of the post's body, when it is plain text we can show
 * as it is; else a note saying so. Newly allocated. */
static char *
first_lines(const struct job *j, int lines)
{
	const char *ct = message_header(&j->msg, "Content-Type");
	const char *cte = message_header(&j->msg, "Content-Transfer-Encoding");
	char buf[2048];
	ssize_t n;
	GString *out = g_string_new(NULL);
	char **v;

	while (ct != NULL && g_ascii_isspace(*ct))
		ct++;
	while (cte != NULL && g_ascii_isspace(*cte))
		cte++;
	if ((ct != NULL && g_ascii_strncasecmp(ct, "text/plain", 10) != 0) ||
	    (cte != NULL && g_ascii_strncasecmp(cte, "quoted-printable", 16) == 0) ||
	    (cte != NULL && g_ascii_strncasecmp(cte, "base64", 6) == 0))
		return g_strdup("  (not plain text: see it with soarlist held)\n");
	n = pread(j->msg.body_fd, buf, sizeof(buf) - 1, j->msg.body);
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
notify_owners(struct job *j, gint64 id, const char *token, const char *reason,
	      GError **error)
{
	g_autofree char *reply = recipient_format(RECIPIENT_REQUEST,
						  j->list.name, j->list.domain,
						  token);
	g_autoptr(GPtrArray) rcpts = g_ptr_array_new();
	g_autofree char *lines = first_lines(j, 10);
	g_autofree char *display = g_strdelimit(g_strdup(j->list.display),
						 "\"\\", '\'');
	g_autofree char *owner = recipient_format(RECIPIENT_OWNER, j->list.name,
						  j->list.domain, NULL);
	g_autofree char *from = g_strdup_printf("\"%s moderation\" <%s>",
						display, owner);
	const char *subject = message_header(&j->msg, "Subject");
	g_autofree char *subj = g_strdup_printf("Held post %" G_GINT64_FORMAT
						" for %s: %s", id, j->list.address,
						subject ? subject : "(no subject)");
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
		j->list.address, id, j->author ? j->author : "(none)",
		j->req->sender, subject ? subject : "(no subject)",
		(long long)j->spool.size, reason, lines, id, id, id);

	deliver_add_owners(j, rcpts);
	/* null envelope sender: a notice that bounces must not come back as
	 * a bounce of the list (and score an owner) */
	return notice_send(j->req->cfg, "", from, reply, rcpts, subj, body,
			   error);
}

static gboolean
is_owner(const struct job *j, const char *address)
{
	g_autoptr(GPtrArray) owners = g_ptr_array_new();

	if (address == NULL)
		return FALSE;
	deliver_add_owners(j, owners);
	for (guint i = 0; i < owners->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(owners, i), address) == 0)
			return TRUE;
	return FALSE;
}

static void
first_plain(GMimeObject *parent, GMimeObject *part, gpointer user)
{
	GMimeObject **found = user;

	(void)parent;
	if (*found == NULL && GMIME_IS_TEXT_PART(part) &&
	    g_mime_content_type_is_type(g_mime_object_get_content_type(part),
					"text", "plain"))
		*found = part;
}

/* The text of the reply: its plain-text body, decoded (quoted-printable,
 * base64, multipart/alternative from mail clients), through GMime; the raw
 * body when GMime finds no text part. Newly allocated. */
static char *
reply_text(const struct job *j)
{
	GMimeStream *s;
	GMimeParser *p;
	GMimeMessage *m;
	GMimeObject *body;
	char *text = NULL;
	int fd;

	if (j->msg.end - j->msg.start > 1024 * 1024 ||
	    (fd = fcntl(j->msg.fd, F_DUPFD_CLOEXEC, 0)) < 0)
		goto raw;
	s = g_mime_stream_fs_new_with_bounds(fd, j->msg.start, j->msg.end);
	p = g_mime_parser_new_with_stream(s);
	g_object_unref(s);
	m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	body = NULL;
	if (m != NULL && GMIME_IS_MULTIPART(g_mime_message_get_mime_part(m)))
		g_mime_message_foreach(m, first_plain, &body);
	else if (m != NULL)
		body = g_mime_message_get_body(m);
	if (body != NULL && GMIME_IS_TEXT_PART(body))
		text = g_mime_text_part_get_text(GMIME_TEXT_PART(body));
	if (m != NULL)
		g_object_unref(m);
	if (text != NULL)
		return text;
raw: {
	char buf[8192];
	ssize_t n = pread(j->msg.body_fd, buf, sizeof(buf) - 1, j->msg.body);
	buf[n > 0 ? n : 0] = '\0';
	return g_strdup(buf);
	}
}

/* The moderator's command: the first line of the reply's text that is
 * neither empty nor quoted. Newly allocated, or NULL. */
static char *
command_line(const struct job *j)
{
	char *text = reply_text(j);
	char **lines = g_strsplit(text, "\n", -1), *out = NULL;

	for (int i = 0; lines[i] != NULL && out == NULL; i++) {
		char *l = g_strstrip(lines[i]);
		if (*l != '\0' && *l != '>')
			out = g_strdup(l);
	}
	g_strfreev(lines);
	g_free(text);
	return out;
}

static int
refuse_request(struct job *j, const char *line)
{
	return deliver_report(j, OUTCOME_MODERATE_REFUSED, 0, line);
}

static enum outcome
action_outcome(int action)
{
	return action == MODERATE_APPROVE ? OUTCOME_MODERATE_APPROVE
	       : action == MODERATE_REJECT ? OUTCOME_MODERATE_REJECT
					   : OUTCOME_MODERATE_DISCARD;
}

/* moderate() failed with ERR (freed here): the answer to the owner. One
 * who comes second is told by the bounce of this reply (77); while the
 * other is still at it, the reply waits in Postfix's queue (75), since the
 * other's action may fail and leave the post held. */
static int
moderation_failed(struct job *j, int action, GError *err)
{
	int rc;

	if (g_error_matches(err, MODERATE_ERROR, MODERATE_ERROR_HANDLED)) {
		rc = refuse_request(j, "5.7.1 the held post was already handled "
				    "by another moderator");
	} else if (g_error_matches(err, MODERATE_ERROR, MODERATE_ERROR_BUSY)) {
		rc = deliver_tempfail(j, "another moderator is acting on the "
				      "held post right now", NULL);
	} else if (g_error_matches(err, MODERATE_ERROR,
				   MODERATE_ERROR_REMAINS)) {
		/* done: a retry of this reply would do it again */
		rc = deliver_report(j, action_outcome(action), 0,
				    err->message);
	} else if (err->domain == MODERATE_STATUS_ERROR &&
		   (err->code == EX_NOPERM || err->code == EX_NOUSER)) {
		g_autofree char *line = g_strdup_printf(
			"5.7.1 the held post cannot be distributed (status %d); "
			"it stays held", err->code);
		rc = refuse_request(j, line);
	} else {
		rc = deliver_tempfail(j, "cannot act on the held post", err);
	}
	g_error_free(err);
	return rc;
}

/* A reply to a moderation notice, at LIST-request+TOKEN@DOMAIN: an owner
 * approves, rejects or discards the held post the token names. The token
 * works once: the post and its token are gone after the action, and of two
 * replies (or a reply and `soarlist approve`) at once one acts
 * (moderate()). */
int
deliver_moderation_reply(struct job *j)
{
	struct held_row row;
	static const char *const words[] = { "approve", "reject", "discard" };
	g_autofree char *cmd = NULL;
	GError *err = NULL;
	gint64 id;
	int rc, action = -1;

	deliver_end_read(j);
	id = held_find_token(j->db, j->rcpt.token, &err);
	if (id < 0 || (id > 0 && held_get(j->db, id, &row, &err) < 0)) {
		rc = deliver_tempfail(j, "list database unavailable", err);
		g_error_free(err);
		return rc;
	}
	if (id == 0)
		return refuse_request(j, "5.7.1 this moderation address is unknown "
				      "or was used already");
	if (row.list_id != j->list.id) {
		/* a token answers for its own list, through its own owners */
		held_row_clear(&row);
		return refuse_request(j, "5.7.1 this moderation address is unknown "
				      "or was used already");
	}
	if (!is_owner(j, j->author)) {
		held_row_clear(&row);
		return refuse_request(j, "5.7.1 only the list's owners may "
				      "moderate its posts");
	}
	cmd = command_line(j);
	for (int i = 0; cmd != NULL && i < 3 && action < 0; i++) {
		size_t n = strlen(words[i]);
		if (g_ascii_strncasecmp(cmd, words[i], n) == 0 &&
		    (cmd[n] == '\0' || g_ascii_isspace(cmd[n])))
			action = i;
	}
	if (action < 0) {
		held_row_clear(&row);
		return refuse_request(j, "5.5.2 the first line of the reply must "
				      "be approve, reject or discard");
	}
	rc = moderate(j->req->cfg, j->db, &row, (enum moderate_action)action,
		      action == MODERATE_REJECT && cmd[6] != '\0'
			      ? g_strstrip(cmd + 6) : NULL, &err);
	held_row_clear(&row);
	if (rc < 0)
		return moderation_failed(j, action, err);
	return deliver_report(j, action_outcome(action), 0, NULL);
}

int
deliver_hold(struct job *j, const char *reason)
{
	struct held_info info = {
		.recipient = j->req->recipient, .sender = j->req->sender,
		.author = j->author, .message_id = j->msgid, .reason = reason,
		.subject = message_header(&j->msg, "Subject"),
	};
	GError *err = NULL;
	g_autofree char *token = NULL;
	gint64 id;
	int rc;

	deliver_end_read(j);
	id = held_store(j->db, &j->list, &j->msg, &info, &token, &err);
	if (id < 0) {
		rc = deliver_tempfail(j, "cannot hold the message", err);
		g_error_free(err);
		return rc;
	}
	{
		g_autofree char *d = g_strdup_printf("held id=%" G_GINT64_FORMAT,
						     id);
		rc = deliver_report(j, OUTCOME_HOLD, 0, d);
	}
	/* the post is safe in the database: a notice that fails only costs
	 * the owners a mail, and is logged */
	if (notify_owners(j, id, token, reason, &err) < 0) {
		maillog_warning("list=<%s> held id=%" G_GINT64_FORMAT ": cannot "
				"notify the owners: %s", j->list.address, id,
				err->message);
		g_clear_error(&err);
	}
	return rc;
}
