/* dsn.c - reading a delivery status notification (see dsn.h).
 *
 * GMime parses the MIME structure and every block of DSN fields (each
 * block is handed to GMime as a header section of its own), so folding,
 * encoded words and odd spacing are GMime's business. What is left to us is
 * the text of the non-standard forms: there, an address and a status code
 * are found with two regular expressions, the code being the first one
 * after the failed address.
 */
#include "soarlist/dsn.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/address-list.h"
#include "soarlist/address.h"
#include "soarlist/bounce-proof.h"
#include "soarlist/printable.h"

#define DSN_MAX_DEPTH 8       /* multiparts inside multiparts */
#define DSN_MAX_CANDIDATES 50 /* addresses of a text DSN we look up */
#define DSN_LINE_MAX 200
#define DSN_NEAR 1024          /* from a text DSN's address to its code */
#define DSN_MAX_RECIPIENTS 100 /* failed blocks of one DSN we read */

/* What the walk through the MIME structure found. */
struct scan {
	gboolean report;  /* the top is multipart/report; delivery-status */
	char *fields;     /* content of the message/delivery-status part */
	char *text;       /* the first text/plain part, valid UTF-8 */
	char *message_id; /* of the returned message (message/rfc822 or
			   * text/rfc822-headers) */
	char *proof;      /* its X-Soarlist-Proof (bounce-proof.h) */
};

static void
scan_clear(struct scan *s)
{
	g_free(s->fields);
	g_free(s->text);
	g_free(s->message_id);
	g_free(s->proof);
}

void
dsn_clear(struct dsn *dsn)
{
	g_clear_pointer(&dsn->recipient, g_free);
	g_clear_pointer(&dsn->action, g_free);
	g_clear_pointer(&dsn->status, g_free);
	g_clear_pointer(&dsn->diagnostic, g_free);
	g_clear_pointer(&dsn->message_id, g_free);
	g_clear_pointer(&dsn->proof, g_free);
	dsn->standard = FALSE;
	while (dsn->next != NULL) {
		struct dsn *next = dsn->next;
		dsn->next = next->next;
		next->next = NULL;
		dsn_clear(next);
		g_free(next);
	}
}

/* LEN bytes of S as one printable line: runs of control characters and
 * blanks (an unfolded field keeps its folding whitespace) become one space,
 * invalid UTF-8 is replaced, C1 controls are escaped (printable.h), at most
 * DSN_LINE_MAX bytes. */
static char *
printable(const char *s, gssize len)
{
	char *valid = g_utf8_make_valid(s, len);
	char *out = valid, *end;

	for (const char *p = valid; *p; p++) {
		gboolean blank = (unsigned char)*p <= 0x20 || *p == 0x7f;
		if (!blank)
			*out++ = *p;
		else if (out > valid && out[-1] != ' ')
			*out++ = ' ';
	}
	*out = '\0';
	g_strchomp(valid);
	valid = printable_take(valid); /* `soarlist bounces` shows it */
	if (strlen(valid) > DSN_LINE_MAX) {
		end = g_utf8_find_prev_char(valid, valid + DSN_LINE_MAX + 1);
		*end = '\0';
	}
	return valid;
}

/* Parse TEXT (LEN bytes) as a header section with GMime. Returns its
 * header list (unref it) or NULL. */
static GMimeHeaderList *
parse_fields(const char *text, gsize len)
{
	GMimeStream *s = g_mime_stream_mem_new();
	GMimeHeaderList *h = NULL;
	GMimeParser *p;
	GMimeObject *o;

	g_mime_stream_write(s, text, len);
	g_mime_stream_write_string(s, "\n\n");
	g_mime_stream_reset(s);
	p = g_mime_parser_new_with_stream(s);
	g_object_unref(s);
	o = g_mime_parser_construct_part(p, NULL);
	g_object_unref(p);
	if (o != NULL) {
		h = g_object_ref(g_mime_object_get_header_list(o));
		g_object_unref(o);
	}
	return h;
}

/* The stripped value of field NAME, or NULL. Newly allocated. */
static char *
field(GMimeHeaderList *h, const char *name)
{
	GMimeHeader *f = g_mime_header_list_get_header(h, name);
	const char *v = f != NULL ? g_mime_header_get_value(f) : NULL;

	return v != NULL ? g_strstrip(g_strdup(v)) : NULL;
}

/* The address of a recipient field, "rfc822; addr" (or utf-8 of RFC
 * 6533), normalised; NULL for other address types or a bad address. */
static char *
field_address(GMimeHeaderList *h, const char *name)
{
	g_autofree char *v = field(h, name);
	char *a = v, *semi;
	size_t n;

	if (v == NULL)
		return NULL;
	semi = strchr(v, ';');
	if (semi != NULL) {
		*semi = '\0';
		g_strstrip(v);
		if (g_ascii_strcasecmp(v, "rfc822") != 0 &&
		    g_ascii_strcasecmp(v, "utf-8") != 0)
			return NULL;
		a = g_strstrip(semi + 1);
	}
	n = strlen(a);
	if (n >= 2 && a[0] == '<' && a[n - 1] == '>') {
		a[n - 1] = '\0';
		a++;
	}
	return address_normalize(a, NULL);
}

gssize
dsn_find_status(const char *text, gsize from, const char *classes,
		char **code_r)
{
	static const char *const pattern =
		"(?<![0-9A-Za-z.])([245])\\.([0-7])\\.[0-9]{1,3}"
		"(?![0-9]|\\.[0-9])";
	GRegex *re = g_regex_new(pattern, G_REGEX_RAW, 0, NULL);
	GMatchInfo *mi = NULL;
	gssize at = -1;

	*code_r = NULL;
	if (from > strlen(text))
		from = strlen(text);
	g_regex_match_full(re, text, -1, (gint)from, 0, &mi, NULL);
	for (; g_match_info_matches(mi); g_match_info_next(mi, NULL)) {
		char *class = g_match_info_fetch(mi, 1);
		gboolean ok = strchr(classes, class[0]) != NULL;
		gint start = 0;

		g_free(class);
		if (!ok)
			continue;
		*code_r = g_match_info_fetch(mi, 0);
		g_match_info_fetch_pos(mi, 0, &start, NULL);
		at = start;
		break;
	}
	g_match_info_free(mi);
	g_regex_unref(re);
	return at;
}

/* One recipient block into *b. Returns FALSE when it names no recipient
 * (the per-message block, or garbage); *match_r tells whether it is the
 * block of WANT. */
static gboolean
read_block(const char *text, gsize len, const char *want, struct dsn *b,
	   gboolean *match_r)
{
	GMimeHeaderList *h = parse_fields(text, len);
	char *final, *original, *diag;

	if (h == NULL)
		return FALSE;
	final = field_address(h, "Final-Recipient");
	original = field_address(h, "Original-Recipient");
	*match_r = want != NULL &&
		   ((final && g_ascii_strcasecmp(final, want) == 0) ||
		    (original && g_ascii_strcasecmp(original, want) == 0));
	/* the address the list sent to, before any forwarding */
	b->recipient = original ? original : g_strdup(final);
	g_free(final);
	if (b->recipient != NULL) {
		char *status = field(h, "Status");
		char *action = field(h, "Action");
		diag = field(h, "Diagnostic-Code");
		if (status == NULL ||
		    dsn_find_status(status, 0, "245", &b->status) < 0)
			dsn_find_status(diag ? diag : "", 0, "45", &b->status);
		/* one printable word for the log: decoded, the field may
		 * hold any byte (an encoded word can make a newline) */
		if (action != NULL) {
			g_autofree char *line = printable(action, -1);
			b->action = g_ascii_strdown(line, -1);
		}
		if (diag != NULL)
			b->diagnostic = printable(diag, -1);
		g_free(action);
		g_free(status);
		g_free(diag);
	}
	g_object_unref(h);
	return b->recipient != NULL;
}

/* The blocks of a message/delivery-status part, separated by blank
 * lines. A new array of strings. */
static GPtrArray *
split_blocks(const char *fields)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	char **lines = g_strsplit(fields, "\n", -1);
	GString *cur = g_string_new(NULL);

	for (char **l = lines;; l++) {
		char *line = *l ? g_strchomp(*l) : NULL; /* also drops \r */
		if (line == NULL || *line == '\0') {
			if (cur->len > 0)
				g_ptr_array_add(out, g_strdup(cur->str));
			g_string_truncate(cur, 0);
			if (line == NULL)
				break;
			continue;
		}
		g_string_append(cur, line);
		g_string_append_c(cur, '\n');
	}
	g_string_free(cur, TRUE);
	g_strfreev(lines);
	return out;
}

static gboolean
is_failed(const struct dsn *d)
{
	return d->action != NULL && g_str_has_prefix(d->action, "failed");
}

/* A block's action from its status when it has none (RFC 3464 requires
 * one; the class tells). */
static void
default_action(struct dsn *d)
{
	if (d->action == NULL)
		d->action = g_strdup(d->status[0] == '5'   ? "failed"
				     : d->status[0] == '4' ? "delayed"
							   : "delivered");
}

/* The standard form: the block of WANT, else the first failed one, else
 * the first. Without WANT, the other failed blocks with a status follow
 * it in ->next, in their order. Returns 1 with *dsn_r, or 0. */
static int
read_fields(const char *fields, const char *want, struct dsn *dsn_r)
{
	GPtrArray *blocks = split_blocks(fields);
	GPtrArray *failed = g_ptr_array_new();
	struct dsn best = { 0 };
	struct dsn **tail;

	for (guint i = 0; i < blocks->len; i++) {
		const char *text = g_ptr_array_index(blocks, i);
		struct dsn b = { 0 };
		gboolean match = FALSE;

		if (!read_block(text, strlen(text), want, &b, &match)) {
			dsn_clear(&b);
			continue;
		}
		if (match || best.recipient == NULL ||
		    (!is_failed(&best) && is_failed(&b))) {
			dsn_clear(&best);
			best = b;
			if (match)
				break;
		} else if (want == NULL && is_failed(&b) && b.status != NULL &&
			   failed->len < DSN_MAX_RECIPIENTS) {
			g_ptr_array_add(failed, g_memdup2(&b, sizeof(b)));
		} else {
			dsn_clear(&b);
		}
	}
	g_ptr_array_unref(blocks);
	/* the others were read after a failed best: they follow it */
	tail = &best.next;
	for (guint i = 0; i < failed->len; i++) {
		struct dsn *d = g_ptr_array_index(failed, i);
		if (best.recipient != NULL && is_failed(&best) &&
		    g_ascii_strcasecmp(d->recipient, best.recipient) != 0) {
			default_action(d);
			d->standard = TRUE;
			*tail = d;
			tail = &d->next;
		} else {
			dsn_clear(d);
			g_free(d);
		}
	}
	g_ptr_array_unref(failed);
	if (best.recipient == NULL || best.status == NULL) {
		dsn_clear(&best);
		return 0;
	}
	if (want != NULL) {
		g_free(best.recipient);
		best.recipient = g_strdup(want);
	}
	default_action(&best);
	best.standard = TRUE;
	*dsn_r = best;
	return 1;
}

/* The decoded content of PART, as text. Newly allocated. */
static char *
part_content(GMimePart *part)
{
	GMimeDataWrapper *w = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *bytes;
	char *out;

	if (w == NULL)
		return g_strdup("");
	mem = g_mime_stream_mem_new();
	g_mime_data_wrapper_write_to_stream(w, mem);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	/* an empty part has no data at all (NULL), which
	 * g_utf8_make_valid() refuses */
	out = bytes->len > 0
		      ? g_utf8_make_valid((const char *)bytes->data, bytes->len)
		      : g_strdup("");
	g_object_unref(mem);
	return out;
}

/* A proof token as returned: one word of at most 64 hex digits,
 * lowercased, or NULL. Takes TOKEN. */
static char *
valid_proof(char *token)
{
	if (token != NULL) {
		g_strstrip(token);
		if (*token == '\0' || strlen(token) > 64 ||
		    strspn(token, "0123456789abcdefABCDEF") != strlen(token))
			g_clear_pointer(&token, g_free);
	}
	for (char *p = token; p != NULL && *p; p++)
		*p = g_ascii_tolower(*p);
	return token;
}

/* The Message-ID and the proof token of the returned header section H
 * (of the first returned message: later ones are not looked at). */
static void
scan_returned(GMimeHeaderList *h, struct scan *s)
{
	GMimeHeader *f;

	if (h == NULL || s->message_id != NULL || s->proof != NULL)
		return;
	f = g_mime_header_list_get_header(h, "Message-ID");
	/* decoded as the post's own: the one stored when it was sent */
	s->message_id = f ? message_id_decode(g_mime_header_get_raw_value(f))
			  : NULL;
	f = g_mime_header_list_get_header(h, BOUNCE_PROOF_HEADER);
	s->proof = valid_proof(f ? g_strdup(g_mime_header_get_value(f)) : NULL);
}

static void
scan_leaf(GMimeObject *obj, struct scan *s)
{
	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (s->fields == NULL &&
	    (g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	     g_mime_content_type_is_type(ct, "message",
					 "global-delivery-status"))) {
		s->fields = part_content(GMIME_PART(obj));
	} else if (g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
		   g_mime_content_type_is_type(ct, "message",
					       "rfc822-headers") ||
		   g_mime_content_type_is_type(ct, "message",
					       "global-headers")) {
		char *text = part_content(GMIME_PART(obj));
		GMimeHeaderList *h = parse_fields(text, strlen(text));

		scan_returned(h, s);
		if (h != NULL)
			g_object_unref(h);
		g_free(text);
	} else if (s->text == NULL &&
		   g_mime_content_type_is_type(ct, "text", "plain") &&
		   GMIME_IS_TEXT_PART(obj)) {
		char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
		s->text = t ? g_utf8_make_valid(t, -1) : NULL;
		g_free(t);
	}
}

/* Collect what matters from OBJ and below; the returned message is not
 * entered (its text is the post, not the report). */
static void
scan_walk(GMimeObject *obj, struct scan *s, int depth)
{
	if (obj == NULL || depth > DSN_MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		for (int i = 0; i < g_mime_multipart_get_count(mp); i++)
			scan_walk(g_mime_multipart_get_part(mp, i), s,
				  depth + 1);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
			GMIME_MESSAGE_PART(obj));
		if (m != NULL)
			scan_returned(
				g_mime_object_get_header_list(GMIME_OBJECT(m)),
				s);
	} else if (GMIME_IS_PART(obj)) {
		scan_leaf(obj, s);
	}
}

/* Parse the header section and the first DSN_MAX_SCAN bytes of the body.
 * Returns 0 with *m_r (NULL when GMime makes nothing of it) or -1. */
static int
parse_window(const struct message *msg, GMimeMessage **m_r, GError **error)
{
	off_t end = MIN(msg->end, msg->body + DSN_MAX_SCAN);
	GMimeStream *stream;
	GMimeParser *parser;
	int fd = fcntl(msg->fd, F_DUPFD_CLOEXEC, 0);

	*m_r = NULL;
	if (fd < 0) {
		g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(errno),
			    "dup: %s", g_strerror(errno));
		return -1;
	}
	stream = g_mime_stream_fs_new_with_bounds(fd, msg->start, end);
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	*m_r = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	return 0;
}

/* TRUE when the From address is a mail system's own. */
static gboolean
from_mail_system(const struct message *msg)
{
	static const char *const locals[] = { "mailer-daemon", "postmaster",
					      "mail-daemon",   "mailerdaemon",
					      "mdaemon",       NULL };
	GMimeHeader *h = g_mime_header_list_get_header(msg->headers, "From");
	InternetAddressList *l = h ? address_list_parse(
					     g_mime_header_get_raw_value(h))
				   : NULL;
	InternetAddress *ia;
	gboolean yes = FALSE;

	if (l == NULL)
		return FALSE;
	ia = internet_address_list_length(l) > 0
		     ? internet_address_list_get_address(l, 0)
		     : NULL;
	if (ia != NULL && INTERNET_ADDRESS_IS_MAILBOX(ia)) {
		const char *addr = internet_address_mailbox_get_idn_addr(
			INTERNET_ADDRESS_MAILBOX(ia));
		char *local = g_ascii_strdown(addr, (gssize)strcspn(addr, "@"));
		yes = g_strv_contains(locals, local) ||
		      g_str_has_prefix(local, "microsoftexchange");
		g_free(local);
	}
	g_object_unref(l);
	return yes;
}

/* TRUE when the Subject is a delivery report's (and not a reply to one). */
static gboolean
subject_is_report(const struct message *msg)
{
	static const char *const words[] = {
		"undeliver",           "delivery status",
		"delivery fail",       "failure notice",
		"returned mail",       "non-delivery",
		"nondeliver",          "could not be delivered",
		"delivery has failed", "mail delivery",
		"delivery problem",    "delayed",
		"delivery delay",      NULL
	};
	const char *subject = message_header(msg, "Subject");
	char *s = g_ascii_strdown(subject ? subject : "", -1);
	gboolean yes = FALSE;

	g_strstrip(s);
	if (!g_str_has_prefix(s, "re:") && !g_str_has_prefix(s, "fw:") &&
	    !g_str_has_prefix(s, "fwd:"))
		for (int i = 0; words[i] != NULL && !yes; i++)
			yes = strstr(s, words[i]) != NULL;
	g_free(s);
	return yes;
}

/* The first address in TEXT that CANDIDATE accepts and that a status code
 * follows within DSN_NEAR bytes (a member's address also appears in the
 * returned post's From or Reply-To, with no status after it): 1 with
 * *addr_r and *pos_r (its offset), 0 when there is none, -1 with *error. */
static int
text_recipient(const char *text, dsn_candidate_fn candidate, gpointer data,
	       char **addr_r, gsize *pos_r, GError **error)
{
	GRegex *re = g_regex_new("[A-Za-z0-9][A-Za-z0-9._%+=!#$&'*/?^`{|}~-]*"
				 "@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)+",
				 G_REGEX_RAW, 0, NULL);
	GHashTable *tried = g_hash_table_new_full(g_str_hash, g_str_equal,
						  g_free, NULL);
	GMatchInfo *mi = NULL;
	int rc = 0;

	g_regex_match(re, text, 0, &mi);
	for (; rc == 0 && g_match_info_matches(mi) &&
	       g_hash_table_size(tried) < DSN_MAX_CANDIDATES;
	     g_match_info_next(mi, NULL)) {
		char *m = g_match_info_fetch(mi, 0);
		char *a = address_normalize(m, NULL), *code = NULL;
		char *key = a ? g_ascii_strdown(a, -1) : NULL;
		gint start = 0, end = 0;
		gssize at;

		g_free(m);
		if (a == NULL || !g_hash_table_add(tried, key)) {
			g_free(a);
			continue;
		}
		g_match_info_fetch_pos(mi, 0, &start, &end);
		at = dsn_find_status(text, (gsize)end, "45", &code);
		g_free(code);
		if (at >= 0 && at - end <= DSN_NEAR)
			rc = candidate != NULL ? candidate(a, data, error) : 1;
		if (rc == 1) {
			*addr_r = a;
			*pos_r = (gsize)start;
		} else {
			g_free(a);
		}
	}
	g_match_info_free(mi);
	g_regex_unref(re);
	g_hash_table_unref(tried);
	return rc;
}

/* TEXT up to the copy of the returned message that the text forms append
 * (Exim, qmail), where the post's own addresses and words begin. */
static char *
report_text(const char *text)
{
	static const char *const markers[] = {
		"------ This is a copy of ",
		"--- Below this line is a copy of the message",
		"------ Original message ------", NULL
	};
	size_t end = strlen(text);

	for (int i = 0; markers[i] != NULL; i++) {
		const char *p = strstr(text, markers[i]);
		if (p != NULL && (size_t)(p - text) < end)
			end = (size_t)(p - text);
	}
	return g_strndup(text, end);
}

/* The Message-ID of the returned message quoted in TEXT after FROM. */
static char *
text_message_id(const char *text, gsize from)
{
	GRegex *re = g_regex_new(
		"^message-id:[ \\t]*(<[^>\\r\\n]+>)",
		G_REGEX_RAW | G_REGEX_CASELESS | G_REGEX_MULTILINE, 0, NULL);
	GMatchInfo *mi = NULL;
	char *id = NULL;

	if (g_regex_match_full(re, text, -1, (gint)from, 0, &mi, NULL)) {
		char *raw = g_match_info_fetch(mi, 1);
		id = message_id_decode(raw);
		g_free(raw);
	}
	g_match_info_free(mi);
	g_regex_unref(re);
	return id;
}

/* The proof token of the returned message quoted in TEXT after FROM. */
static char *
text_proof(const char *text, gsize from)
{
	GRegex *re = g_regex_new(
		"^" BOUNCE_PROOF_HEADER ":[ \\t]*([0-9A-Fa-f]+)"
		"[ \\t\\r]*$",
		G_REGEX_RAW | G_REGEX_CASELESS | G_REGEX_MULTILINE, 0, NULL);
	GMatchInfo *mi = NULL;
	char *proof = NULL;

	if (g_regex_match_full(re, text, -1, (gint)from, 0, &mi, NULL))
		proof = valid_proof(g_match_info_fetch(mi, 1));
	g_match_info_free(mi);
	g_regex_unref(re);
	return proof;
}

/* The line of TEXT around offset AT, printable. */
static char *
line_at(const char *text, gsize at)
{
	const char *start = text + at, *end = strchr(text + at, '\n');

	while (start > text && start[-1] != '\n')
		start--;
	if (end == NULL)
		end = text + strlen(text);
	return printable(start, end - start);
}

/* Where the failed address first appears in TEXT (any case), or 0. */
static gsize
text_position(const char *text, const char *address)
{
	char *t = g_ascii_strdown(text, -1), *a = g_ascii_strdown(address, -1);
	char *p = strstr(t, a);
	gsize at = p ? (gsize)(p - t) : 0;

	g_free(t);
	g_free(a);
	return at;
}

/* TRUE for a mail system's delay warning (Exim's has no status code). */
static gboolean
is_delay_warning(const struct message *msg)
{
	const char *subject = message_header(msg, "Subject");

	return from_mail_system(msg) && subject != NULL &&
	       strstr(subject, "elay") != NULL;
}

/* A non-standard DSN: the failed address (WANT, or the first candidate in
 * the text with a status code after it) and that status code. */
static int
read_text(const struct message *msg, const struct scan *s, const char *want,
	  dsn_candidate_fn candidate, gpointer data, struct dsn *dsn_r,
	  GError **error)
{
	char *text;
	gsize pos = 0;
	gssize at;
	int rc = 1;

	if (s->text == NULL)
		return 0;
	text = report_text(s->text);
	if (want != NULL) {
		dsn_r->recipient = g_strdup(want);
		pos = text_position(text, want);
	} else {
		rc = text_recipient(text, candidate, data, &dsn_r->recipient,
				    &pos, error);
	}
	at = rc == 1 ? dsn_find_status(text, pos, "45", &dsn_r->status) : -1;
	if (at < 0 && rc == 1 && pos > 0)
		at = dsn_find_status(text, 0, "45", &dsn_r->status);
	if (at >= 0)
		dsn_r->diagnostic = line_at(text, (gsize)at);
	else if (rc == 1 && is_delay_warning(msg))
		dsn_r->status = g_strdup("4.0.0");
	g_free(text);
	if (dsn_r->status == NULL) {
		dsn_clear(dsn_r);
		return rc < 0 ? -1 : 0;
	}
	dsn_r->action = g_strdup(dsn_r->status[0] == '5' ? "failed"
							 : "delayed");
	if (s->message_id != NULL || s->proof != NULL) {
		dsn_r->message_id = g_strdup(s->message_id);
		dsn_r->proof = g_strdup(s->proof);
	} else {
		dsn_r->message_id = text_message_id(s->text, pos);
		dsn_r->proof = text_proof(s->text, pos);
	}
	return 1;
}

int
dsn_parse(const struct message *msg, const char *want,
	  dsn_candidate_fn candidate, gpointer data, struct dsn *dsn_r,
	  GError **error)
{
	struct scan s = { 0 };
	GMimeMessage *m = NULL;
	GMimeObject *top;
	int rc = 0;

	memset(dsn_r, 0, sizeof(*dsn_r));
	if (parse_window(msg, &m, error) < 0)
		return -1;
	if (m == NULL)
		return 0;
	top = g_mime_message_get_mime_part(m);
	if (top != NULL) {
		GMimeContentType *ct = g_mime_object_get_content_type(top);
		const char *type = g_mime_content_type_get_parameter(
			ct, "report-type");
		s.report = g_mime_content_type_is_type(ct, "multipart",
						       "report") &&
			   (type == NULL ||
			    g_ascii_strcasecmp(type, "delivery-status") == 0);
	}
	scan_walk(top, &s, 0);
	if (s.fields != NULL &&
	    (rc = read_fields(s.fields, want, dsn_r)) == 1) {
		dsn_r->message_id = g_strdup(s.message_id);
		dsn_r->proof = g_strdup(s.proof);
	} else if (s.report || from_mail_system(msg) || subject_is_report(msg))
		rc = read_text(msg, &s, want, candidate, data, dsn_r, error);
	scan_clear(&s);
	g_object_unref(m);
	return rc;
}

int
dsn_returned(const struct message *msg, char **message_id_r, char **proof_r,
	     GError **error)
{
	struct scan s = { 0 };
	GMimeMessage *m = NULL;
	GMimeObject *top;
	int rc = 0;

	*message_id_r = *proof_r = NULL;
	if (parse_window(msg, &m, error) < 0)
		return -1;
	if (m == NULL)
		return 0;
	top = g_mime_message_get_mime_part(m);
	if (top != NULL)
		s.report = g_mime_content_type_is_type(
			g_mime_object_get_content_type(top), "multipart",
			"report");
	scan_walk(top, &s, 0);
	if (s.report || from_mail_system(msg) || subject_is_report(msg)) {
		*message_id_r = s.message_id ? g_strdup(s.message_id)
				: s.text     ? text_message_id(s.text, 0)
					     : NULL;
		*proof_r = s.proof  ? g_strdup(s.proof)
			   : s.text ? text_proof(s.text, 0)
				    : NULL;
		rc = 1;
	}
	scan_clear(&s);
	g_object_unref(m);
	return rc;
}
