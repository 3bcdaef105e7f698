/* decide-moderation.c - the verdict on an owner's reply to a moderation
 * notice, at LIST-request+TOKEN@DOMAIN: which held post the token names,
 * whether the reply comes from one of the list's owners, and what its
 * first line asks (approve, reject or discard). The token works once:
 * acting on it (moderate(), from deliver.c) forgets the post and token.
 */
#include "decide-internal.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/held.h"
#include "soarlist/moderate.h"
#include "soarlist/printable.h"

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
reply_text(const struct message *msg)
{
	GMimeStream *s;
	GMimeParser *p;
	GMimeMessage *m;
	GMimeObject *body;
	char *text = NULL;
	int fd;

	if (msg->end - msg->start > 1024 * 1024 ||
	    (fd = fcntl(msg->fd, F_DUPFD_CLOEXEC, 0)) < 0)
		goto raw;
	s = g_mime_stream_fs_new_with_bounds(fd, msg->start, msg->end);
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
raw : {
	char buf[8192];
	ssize_t n = pread(msg->body_fd, buf, sizeof(buf) - 1, msg->body);
	buf[n > 0 ? n : 0] = '\0';
	return g_strdup(buf);
}
}

/* The moderator's command: the first line of the reply's text that is
 * neither empty nor quoted. Newly allocated, or NULL. */
static char *
command_line(const struct message *msg)
{
	char *text = reply_text(msg);
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

static gboolean
is_owner(const struct decide_input *in, const struct verdict *v)
{
	g_autoptr(GPtrArray) owners = g_ptr_array_new();

	if (v->author == NULL)
		return FALSE;
	list_ref_owners(&v->list, in->cfg, owners);
	for (guint i = 0; i < owners->len; i++)
		if (g_ascii_strcasecmp(g_ptr_array_index(owners, i),
				       v->author) == 0)
			return TRUE;
	return FALSE;
}

static void
refuse(struct verdict *v, const char *line)
{
	verdict_set(v, OUTCOME_MODERATE_REFUSED, g_strdup(line));
}

int
decide_moderation_reply(sqlite3 *db, const struct decide_input *in,
			struct verdict *v, GError **error)
{
	static const struct {
		const char *word;
		enum outcome outcome;
	} words[] = {
		{ "approve", OUTCOME_MODERATE_APPROVE },
		{ "reject", OUTCOME_MODERATE_REJECT },
		{ "discard", OUTCOME_MODERATE_DISCARD },
	};
	g_auto(HeldRow) row = { 0 };
	g_autofree char *cmd = NULL;
	gint64 id = held_find_token(db, v->rcpt.token, error);

	if (id < 0 || (id > 0 && held_get(db, id, &row, error) < 0))
		return -1;
	if (id == 0) {
		refuse(v, "5.7.1 this moderation address is unknown or was "
			  "used already");
		return 0;
	}
	/* a token answers for its own list, through its own owners */
	if (row.list_id != v->list.id) {
		refuse(v, "5.7.1 this moderation address is unknown or was "
			  "used already");
		return 0;
	}
	if (!is_owner(in, v)) {
		refuse(v,
		       "5.7.1 only the list's owners may moderate its posts");
		return 0;
	}
	cmd = command_line(in->msg);
	for (guint i = 0; cmd != NULL && i < G_N_ELEMENTS(words); i++) {
		size_t n = strlen(words[i].word);
		if (g_ascii_strncasecmp(cmd, words[i].word, n) == 0 &&
		    (cmd[n] == '\0' || g_ascii_isspace(cmd[n]))) {
			verdict_set(v, words[i].outcome, NULL);
			v->held_id = id;
			if (words[i].outcome == OUTCOME_MODERATE_REJECT &&
			    cmd[n] != '\0')
				/* one printable line (printable.h): the
				 * text is the owner's, sent on to the
				 * sender and logged; a CR inside a line
				 * or a control byte stays out */
				v->reject_reason = printable_take(
					g_strdup(g_strstrip(cmd + n)));
			return 0;
		}
	}
	refuse(v, "5.5.2 the first line of the reply must be approve, reject "
		  "or discard");
	return 0;
}
