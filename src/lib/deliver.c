/* deliver.c - soarlist-deliver's job for one message.
 *
 * The order matters: stdin is read to its end before anything is decided;
 * a permanent status (67, 77) is only returned after a deliberate decision
 * about this message; everything unexpected is EX_TEMPFAIL; state (the
 * Message-ID) is recorded as sent only after sendmail succeeded.
 */
#include "soarlist/deliver.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "soarlist/address.h"
#include "soarlist/archive.h"
#include "soarlist/bounce.h"
#include "soarlist/catalog.h"
#include "soarlist/copies.h"
#include "soarlist/db.h"
#include "soarlist/footer.h"
#include "soarlist/held.h"
#include "soarlist/maillog.h"
#include "soarlist/message.h"
#include "soarlist/moderate.h"
#include "soarlist/notice.h"
#include "soarlist/policy.h"
#include "soarlist/recipient.h"
#include "soarlist/rewrite.h"
#include "soarlist/seen.h"
#include "soarlist/sendmail.h"
#include "soarlist/spool.h"

struct job {
	const struct deliver_request *req;
	gint64 t0;
	struct spool spool;
	struct recipient rcpt;
	sqlite3 *db;
	struct message msg;
	struct list_ref list;
	char *author;
	char *msgid;
	gboolean in_read_txn;
};

/* One printable line for the MTA on stderr: pipe(8) puts it in the bounce
 * or the defer reason. */
static void
tell_mta(const char *text)
{
	char *clean = g_strdup(text);

	for (char *p = clean; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (strlen(clean) > 200)
		clean[200] = '\0';
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
log_outcome(const struct job *j, const char *decision, guint recipients,
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

static int
tempfail(struct job *j, const char *what, const GError *err)
{
	char *line = g_strdup_printf("4.3.0 %s%s%s", what, err ? ": " : "",
				     err ? err->message : "");

	tell_mta(line);
	log_outcome(j, "defer", 0, line);
	g_free(line);
	return EX_TEMPFAIL;
}

static void
end_read(struct job *j)
{
	if (j->in_read_txn) {
		sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
		j->in_read_txn = FALSE;
	}
}

static void
add_owners(const struct job *j, GPtrArray *rcpts)
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
	g_autofree char *marker = g_strdup_printf("%s-%s@%s", j->list.name,
		j->rcpt.kind != RECIPIENT_BOUNCES ? "owner" : "bounces",
		j->list.domain);
	g_autofree char *sender = j->rcpt.kind != RECIPIENT_BOUNCES
		? g_strdup_printf("%s-bounces@%s", j->list.name, j->list.domain)
		: g_strdup("");
	int n = g_mime_header_list_get_count(j->msg.headers);

	end_read(j);
	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(j->msg.headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "X-Loop") == 0 &&
		    strstr(g_mime_header_get_value(h), marker) != NULL) {
			log_outcome(j, "drop-loop", 0, NULL);
			return EX_OK;
		}
	}
	if (cfg->dev_redirect != NULL)
		g_ptr_array_add(rcpts, cfg->dev_redirect);
	else
		add_owners(j, rcpts);
	while (g_mime_header_list_remove(j->msg.headers, "Return-Path"))
		;
	g_mime_header_list_append(j->msg.headers, "X-Loop", marker, NULL);
	if (sendmail_send(cfg->sendmail, sender, FALSE, rcpts, &j->msg,
			  &err) < 0) {
		int rc = tempfail(j, "cannot forward to the list owner", err);
		g_error_free(err);
		return rc;
	}
	log_outcome(j, j->rcpt.kind != RECIPIENT_BOUNCES ? "owner-forward"
						       : "bounce-forward",
		    rcpts->len, NULL);
	return EX_OK;
}

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
	g_autofree char *reply = g_strdup_printf("%s-request+%s@%s", j->list.name,
						 token, j->list.domain);
	g_autoptr(GPtrArray) rcpts = g_ptr_array_new();
	g_autofree char *lines = first_lines(j, 10);
	g_autofree char *display = g_strdelimit(g_strdup(j->list.display),
						 "\"\\", '\'');
	g_autofree char *from = g_strdup_printf("\"%s moderation\" <%s-owner@%s>",
						display, j->list.name,
						j->list.domain);
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

	add_owners(j, rcpts);
	/* null envelope sender: a notice that bounces must not come back as
	 * a bounce of the list (and score an owner) */
	return notice_send(j->req->cfg, "", from, reply, rcpts, subj, body,
			   error);
}

/* Mail to LIST-bounces: a DSN is scored (or not); anything else goes to the
 * owners, never to the list. */
static int
bounce(struct job *j)
{
	static const char *const decisions[] = {
		[BOUNCE_NOT_A_DSN] = "bounce-forward",
		[BOUNCE_SCORED] = "bounce-scored",
		[BOUNCE_IGNORED] = "bounce-ignored",
		[BOUNCE_DISABLED] = "bounce-disabled",
	};
	GError *err = NULL;
	char *detail = NULL;
	int rc;

	end_read(j);
	rc = bounce_process(j->db, j->req->cfg, &j->list, &j->rcpt, &j->msg,
			    &detail, &err);
	if (rc < 0) {
		rc = tempfail(j, "cannot process the bounce", err);
		g_error_free(err);
		return rc;
	}
	if (rc == BOUNCE_NOT_A_DSN) {
		g_free(detail);
		return forward_to_owners(j);
	}
	log_outcome(j, decisions[rc], 0, detail);
	g_free(detail);
	return EX_OK;
}

static gboolean
is_owner(const struct job *j, const char *address)
{
	g_autoptr(GPtrArray) owners = g_ptr_array_new();

	if (address == NULL)
		return FALSE;
	add_owners(j, owners);
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
	tell_mta(line);
	log_outcome(j, "moderate-refused", 0, line);
	return EX_NOPERM;
}

/* A reply to a moderation notice, at LIST-request+TOKEN@DOMAIN: an owner
 * approves, rejects or discards the held post the token names. The token
 * works once: the post and its token are gone after the action. */
static int
moderation_reply(struct job *j)
{
	struct held_row row;
	static const char *const words[] = { "approve", "reject", "discard" };
	g_autofree char *cmd = NULL;
	GError *err = NULL;
	gint64 id;
	int rc, action = -1;

	end_read(j);
	id = held_find_token(j->db, j->rcpt.token, &err);
	if (id < 0 || (id > 0 && held_get(j->db, id, &row, &err) < 0)) {
		rc = tempfail(j, "list database unavailable", err);
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
	if (rc < 0 && err->domain == MODERATE_STATUS_ERROR &&
	    (err->code == EX_NOPERM || err->code == EX_NOUSER)) {
		g_autofree char *line = g_strdup_printf(
			"5.7.1 the held post cannot be distributed (status %d); "
			"it stays held", err->code);
		g_error_free(err);
		return refuse_request(j, line);
	}
	if (rc < 0) {
		rc = tempfail(j, "cannot act on the held post", err);
		g_error_free(err);
		return rc;
	}
	log_outcome(j, action == MODERATE_APPROVE ? "moderate-approve" :
		    action == MODERATE_REJECT ? "moderate-reject"
					      : "moderate-discard", 0, NULL);
	return EX_OK;
}

static int
hold(struct job *j, const char *reason)
{
	struct held_info info = {
		.recipient = j->req->recipient, .sender = j->req->sender,
		.author = j->author, .message_id = j->msgid, .reason = reason,
		.subject = message_header(&j->msg, "Subject"),
	};
	GError *err = NULL;
	g_autofree char *token = NULL;
	gint64 id;

	end_read(j);
	id = held_store(j->db, &j->list, &j->msg, &info, &token, &err);
	if (id < 0) {
		int rc = tempfail(j, "cannot hold the message", err);
		g_error_free(err);
		return rc;
	}
	{
		g_autofree char *d = g_strdup_printf("held id=%" G_GINT64_FORMAT,
						     id);
		log_outcome(j, "hold", 0, d);
	}
	/* the post is safe in the database: a notice that fails only costs
	 * the owners a mail, and is logged */
	if (notify_owners(j, id, token, reason, &err) < 0) {
		maillog_warning("list=<%s> held id=%" G_GINT64_FORMAT ": cannot "
				"notify the owners: %s", j->list.address, id,
				err->message);
		g_clear_error(&err);
	}
	return EX_OK;
}

/* Rewrite and hand the post to sendmail for RCPTS; DEDUPE_ID (may be
 * NULL) was claimed by the caller and is recorded as sent only once
 * sendmail has succeeded, or released so that Postfix's retry goes out. */
static int
reinject(struct job *j, GPtrArray *rcpts, const char *dedupe_id,
	 guint redirected)
{
	GError *err = NULL;
	g_autofree char *bounces = g_strdup_printf("%s-bounces@%s",
						   j->list.name, j->list.domain);
	struct rewrite_input in = {
		.list = &j->list, .envelope_sender = j->req->sender,
		.redirected_members = redirected,
	};

	if (footer_apply(&j->msg, &j->list, j->req->cfg->spool_dir, &err) < 0) {
		int rc = tempfail(j, "cannot add the list footer", err);
		g_clear_error(&err);
		if (dedupe_id != NULL) {
			seen_release(j->db, j->list.id, dedupe_id, NULL);
			copies_release(j->db, j->list.club_id, dedupe_id, NULL);
		}
		return rc;
	}
	rewrite_headers(j->msg.headers, &in);
	if (sendmail_send(j->req->cfg->sendmail, bounces, TRUE, rcpts, &j->msg,
			  &err) < 0) {
		int rc = tempfail(j, "cannot reinject the message", err);
		g_clear_error(&err);
		if (dedupe_id != NULL &&
		    (seen_release(j->db, j->list.id, dedupe_id, &err) < 0 ||
		     copies_release(j->db, j->list.club_id, dedupe_id,
				    &err) < 0)) {
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
	    (seen_commit(j->db, j->list.id, dedupe_id, &err) < 0 ||
	     copies_commit(j->db, j->list.club_id, dedupe_id, &err) < 0)) {
		maillog_warning("list=<%s> msgid=<%s>: distributed, but not "
				"recorded for duplicate checks: %s",
				j->list.address, j->msgid, err->message);
		g_clear_error(&err);
	}
	log_outcome(j, "distribute", rcpts->len, NULL);
	return EX_OK;
}

/* One copy per person: leave out the members who already have this post
 * through another list of the club (To: members@, Cc: board@). */
static int
distribute_once(struct job *j, GPtrArray *members, const char *dedupe_id)
{
	GError *err = NULL;
	GPtrArray *rcpts = copies_claim(j->db, j->list.club_id, dedupe_id,
					members, &err);
	int rc;

	if (rcpts == NULL) {
		rc = tempfail(j, "list database unavailable", err);
		g_error_free(err);
		seen_release(j->db, j->list.id, dedupe_id, NULL);
		return rc;
	}
	if (rcpts->len == 0) {
		if (seen_commit(j->db, j->list.id, dedupe_id, &err) < 0) {
			maillog_warning("list=<%s> msgid=<%s>: %s",
					j->list.address, j->msgid, err->message);
			g_clear_error(&err);
		}
		log_outcome(j, "drop-duplicate", 0, "every member has it through "
			    "another list of the club");
		g_ptr_array_unref(rcpts);
		return EX_OK;
	}
	rc = reinject(j, rcpts, dedupe_id, 0);
	g_ptr_array_unref(rcpts);
	return rc;
}

/* Distribute a post that passed the policy to MEMBERS (or dev_redirect). */
static int
distribute(struct job *j, GPtrArray *members)
{
	const struct config *cfg = j->req->cfg;
	g_autoptr(GPtrArray) rcpts = g_ptr_array_new();
	const char *dedupe_id;
	GError *err = NULL;

	if (members->len == 0) {
		/* not a silent drop: the sender learns nobody got it */
		g_autofree char *line = g_strdup_printf(
			"5.2.1 %s has no members: nobody would receive this post",
			j->list.address);
		tell_mta(line);
		log_outcome(j, "no-members", 0, line);
		return EX_NOPERM;
	}
	/* a dev_redirect copy reached no member: it must not make the real
	 * post look like a duplicate once dev mode is off */
	dedupe_id = cfg->dev_redirect == NULL ? j->msgid : NULL;
	if (dedupe_id != NULL) {
		int c = seen_claim(j->db, j->list.id, dedupe_id, &err);
		if (c < 0) {
			c = tempfail(j, "list database unavailable", err);
			g_error_free(err);
			return c;
		}
		if (c == 0) {
			log_outcome(j, "drop-duplicate", 0, NULL);
			return EX_OK;
		}
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
	return distribute_once(j, members, dedupe_id);
}

static int
size_refusal(struct job *j)
{
	g_autofree char *line = g_strdup_printf(
		"5.3.4 message of %lld bytes exceeds the %llu-byte limit of %s",
		(long long)j->spool.size,
		(unsigned long long)j->list.settings.max_size, j->list.address);

	end_read(j);
	tell_mta(line);
	log_outcome(j, "reject", 0, line);
	return EX_NOPERM;
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
		end_read(j);
		log_outcome(j, "drop-loop", 0, NULL);
		return EX_OK;
	}
	if (rewrite_is_auto_submitted(j->msg.headers)) {
		end_read(j);
		log_outcome(j, "drop-auto-submitted", 0, NULL);
		return EX_OK;
	}
	if (j->list.settings.max_size > 0 &&
	    (guint64)j->spool.size > j->list.settings.max_size)
		return size_refusal(j);
	if (j->req->approved) {
		pr.decision = DECISION_DISTRIBUTE;
	} else if (policy_decide(j->db, &j->list, j->author, &pr, &err) < 0) {
		goto fail_db;
	}
	switch (pr.decision) {
	case DECISION_REJECT:
		end_read(j);
		tell_mta(pr.reason);
		log_outcome(j, "reject", 0, pr.reason);
		policy_result_clear(&pr);
		return EX_NOPERM;
	case DECISION_DISCARD:
		end_read(j);
		log_outcome(j, "discard", 0, pr.reason);
		policy_result_clear(&pr);
		return EX_OK;
	case DECISION_HOLD:
		rc = hold(j, pr.reason);
		policy_result_clear(&pr);
		return rc;
	case DECISION_DISTRIBUTE:
		break;
	}
	policy_result_clear(&pr);
	members = catalog_recipients(j->db, j->list.id, &err);
	if (members == NULL)
		goto fail_db;
	end_read(j);
	rc = distribute(j, members);
	g_ptr_array_unref(members);
	return rc;
fail_db:
	rc = tempfail(j, "list database unavailable", err);
	g_error_free(err);
	return rc;
}

static int
nouser(struct job *j)
{
	g_autofree char *line = g_strdup_printf("5.1.1 <%s>: no such list",
						j->req->recipient);

	tell_mta(line);
	log_outcome(j, "nouser", 0, NULL);
	return EX_NOUSER;
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
	if (j->db == NULL)
		goto tempfail;
	if (message_parse(j->spool.fd, j->spool.size, &j->msg, &err) < 0) {
		if (g_error_matches(err, MESSAGE_ERROR, MESSAGE_ERROR_TOO_BIG)) {
			g_autofree char *line = g_strdup_printf(
				"5.3.4 message refused: %s", err->message);
			g_error_free(err);
			tell_mta(line);
			log_outcome(j, "reject", 0, line);
			return EX_NOPERM;
		}
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
		end_read(j);
		return nouser(j);
	}
	if (j->rcpt.kind == RECIPIENT_BOUNCES)
		return bounce(j);
	if (j->rcpt.kind == RECIPIENT_REQUEST && j->rcpt.token != NULL)
		return moderation_reply(j);
	if (j->rcpt.kind != RECIPIENT_POST)
		return forward_to_owners(j);
	return post(j);
tempfail:
	rc = tempfail(j, "list delivery failed", err);
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
	list_ref_clear(&j.list);
	message_clear(&j.msg);
	db_close(&j.db);
	recipient_clear(&j.rcpt);
	spool_close(&j.spool);
	return rc;
}
