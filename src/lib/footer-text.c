/* footer-text.c - the footer appended to a text/plain post.
 *
 * GMime parses the part through a persistent stream (its content stays a
 * window on the spool file); the text is decoded, converted to UTF-8 only
 * when the footer cannot be written in the part's own charset, the footer
 * (made safe for format=flowed) appended after a blank line, and the
 * whole encoded again in the part's transfer encoding (7bit becomes
 * quoted-printable when 8-bit text is added).
 */
#include "footer-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <string.h>

/*
 * text/plain: the text is decoded, maybe converted, extended and encoded
 * again. A charset converter that can stop in the middle of a character
 * at the end of a chunk carries those bytes over to the next one.
 */
struct text_out {
	GMimeStream *stream; /* the encoder in front of the output */
	gboolean any;        /* some text was written */
	gboolean crlf;       /* its first line ended in CRLF */
	gboolean seen_nl;
	char last; /* its last byte */
};

static int
text_put(struct text_out *t, const char *buf, size_t len)
{
	if (t == NULL || len == 0)
		return 0; /* validation only */
	if (!t->seen_nl) {
		const char *lf = memchr(buf, '\n', len);

		if (lf != NULL) {
			t->seen_nl = TRUE;
			t->crlf = lf > buf ? lf[-1] == '\r' : t->last == '\r';
		}
	}
	t->any = TRUE;
	t->last = buf[len - 1];
	return g_mime_stream_write(t->stream, buf, len) < 0 ? -1 : 0;
}

enum { CONV_OK = 0, CONV_INVALID = 1 };

struct conv {
	iconv_t cd; /* NULL: the text passes unchanged */
	char carry[16];
	size_t ncarry;
	struct text_out *out; /* NULL: only check that the text converts */
};

/* Convert LEN bytes at IN (NULL: the end of the text) to c->out. Returns
 * CONV_OK, CONV_INVALID (the text is not in that charset) or -1 (write
 * error). */
static int
conv_feed(struct conv *c, const char *in, size_t len)
{
	char out[16 * 1024];
	char *joined = NULL, *ip;
	size_t il = len;
	int rc = CONV_OK;

	if (in == NULL && c->ncarry > 0)
		return CONV_INVALID; /* cut off in mid-character */
	if (in != NULL && c->ncarry > 0) {
		joined = g_malloc(c->ncarry + len);
		memcpy(joined, c->carry, c->ncarry);
		memcpy(joined + c->ncarry, in, len);
		in = joined;
		il = len + c->ncarry;
		c->ncarry = 0;
	}
	ip = (char *)in;
	for (;;) {
		char *op = out;
		size_t ol = sizeof(out);
		/* with no input, a stateful charset returns to its initial
		 * shift state */
		size_t r = in == NULL ? iconv(c->cd, NULL, NULL, &op, &ol)
				      : iconv(c->cd, &ip, &il, &op, &ol);
		int e = r == (size_t)-1 ? errno : 0;

		if (text_put(c->out, out, (size_t)(op - out)) < 0) {
			rc = -1;
			break;
		}
		if (e == E2BIG)
			continue;
		if (e == EINVAL && il < sizeof(c->carry)) {
			memcpy(c->carry, ip, il);
			c->ncarry = il;
		} else if (e != 0) {
			rc = CONV_INVALID;
		}
		break;
	}
	g_free(joined);
	return rc;
}

/* A stream of CONTENT's text, the transfer encoding ENC undone. */
static GMimeStream *
decoded_stream(GMimeStream *content, GMimeContentEncoding enc)
{
	GMimeStream *f;

	g_mime_stream_reset(content);
	f = g_mime_stream_filter_new(content);
	if (enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE) {
		GMimeFilter *dec = g_mime_filter_basic_new(enc, FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), dec);
		g_object_unref(dec);
	}
	return f;
}

static int
conv_or_put(struct conv *c, const char *buf, size_t len)
{
	return c->cd != NULL ? conv_feed(c, buf, len)
			     : text_put(c->out, buf, len);
}

/* Pass the decoded text of CONTENT (NULL: none) through C. Returns
 * CONV_OK, CONV_INVALID or -1 with *error. */
static int
pump_text(GMimeStream *content, GMimeContentEncoding enc, struct conv *c,
	  GError **error)
{
	GMimeStream *in = content ? decoded_stream(content, enc) : NULL;
	char *buf = g_malloc(FOOTER_BUF);
	int rc = CONV_OK, idle = 0;

	while (in != NULL && rc == CONV_OK) {
		ssize_t n = g_mime_stream_read(in, buf, FOOTER_BUF);

		if (n > 0) {
			idle = 0;
			rc = conv_or_put(c, buf, (size_t)n);
		} else if (g_mime_stream_eos(in)) {
			break; /* a bounded stream reports its end as -1 */
		} else if (n < 0 || ++idle > 16) {
			if (n == 0)
				errno = EIO;
			g_free(buf);
			g_object_unref(in);
			return footer_set_io_error(error,
						   "reading the spool file");
		}
	}
	if (rc == CONV_OK && c->cd != NULL)
		rc = conv_feed(c, NULL, 0);
	g_free(buf);
	g_clear_object(&in);
	if (rc < 0)
		footer_set_io_error(error, "writing the new body");
	return rc;
}

/* Does CONTENT's text convert from FROM to UTF-8 without a loss?
 * Returns 1, 0 or -1 with *error. */
static int
text_converts(GMimeStream *content, GMimeContentEncoding enc, const char *from,
	      GError **error)
{
	struct conv c = { .cd = g_mime_iconv_open("UTF-8", from) };
	int rc;

	if (c.cd == (iconv_t)-1)
		return 0;
	rc = pump_text(content, enc, &c, error);
	g_mime_iconv_close(c.cd);
	return rc < 0 ? -1 : rc == CONV_OK;
}

/* TEXT (UTF-8) in CHARSET, or NULL when it cannot be written there
 * exactly (or iconv does not know CHARSET). */
static char *
convert_to(const char *text, const char *charset)
{
	iconv_t cd = g_mime_iconv_open(charset, "UTF-8");
	GString *s;
	char out[1024], *ip = (char *)text;
	size_t il = strlen(text);
	gboolean done = FALSE, ok = TRUE;

	if (cd == (iconv_t)-1)
		return NULL;
	s = g_string_new(NULL);
	while (ok && !done) {
		char *op = out;
		size_t ol = sizeof(out);
		gboolean last = il == 0;
		size_t r = last ? iconv(cd, NULL, NULL, &op, &ol)
				: iconv(cd, &ip, &il, &op, &ol);

		g_string_append_len(s, out, op - out);
		/* a positive count means an inexact ("irreversible") one */
		if (r == (size_t)-1 ? errno != E2BIG : r > 0)
			ok = FALSE;
		done = last && r != (size_t)-1;
	}
	g_mime_iconv_close(cd);
	if (!ok) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

static gboolean
charset_in(const char *charset, const char *const *names)
{
	for (; *names != NULL; names++)
		if (g_ascii_strcasecmp(charset, *names) == 0)
			return TRUE;
	return FALSE;
}

static const char *const utf8_names[] = { "utf-8", "utf8", NULL };
static const char *const ascii_names[] = {
	"us-ascii", "ascii",    "us",    "ansi_x3.4-1968", "iso646-us",
	"csascii",  "iso-ir-6", "cp367", "ibm367",         NULL,
};

/* Is CHARSET a superset of ASCII (ISO-8859-x, windows-125x, ISO-2022-JP,
 * but not UTF-16)? One iconv does not know is assumed to be: every
 * charset in real mail is. */
static gboolean
ascii_compatible(const char *charset)
{
	char *t = convert_to("a\n", charset);
	gboolean yes = t == NULL || strcmp(t, "a\n") == 0;

	g_free(t);
	return yes;
}

/* format=flowed (RFC 3676): a footer line must not end in a space (it
 * would flow into the next) unless it is the "-- " signature separator,
 * and a line starting with a space, ">" or "From " is space-stuffed. */
static char *
flowed_footer(const char *footer)
{
	GString *s = g_string_new(NULL);
	char **lines = g_strsplit(footer, "\n", -1);

	for (char **l = lines; *l != NULL; l++) {
		if (l[1] == NULL) {
			g_string_append(s, *l); /* after the last newline */
			break;
		}
		if (strcmp(*l, "-- ") != 0)
			g_strchomp(*l);
		if (**l == ' ' || **l == '>' || g_str_has_prefix(*l, "From "))
			g_string_append_c(s, ' ');
		g_string_append(s, *l);
		g_string_append_c(s, '\n');
	}
	g_strfreev(lines);
	return g_string_free(s, FALSE);
}

/* How the footer goes into a text/plain part. */
struct text_plan {
	const char *from; /* convert the text from this charset to UTF-8;
			   * NULL: its bytes stay as they are */
	gboolean relabel; /* the charset parameter becomes utf-8 */
	char *tail;       /* the footer in the charset the text ends in */
	GMimeContentEncoding encoding; /* the transfer encoding written */
};

/* Decide the charset side of P for text in CHARSET. Returns 1, 0 when the
 * footer cannot be added to this text (the caller wraps the post instead)
 * or -1 with *error. */
static int
plan_charset(const char *footer, GMimeStream *content, GMimeContentEncoding enc,
	     const char *charset, struct text_plan *p, GError **error)
{
	int ok;

	if (charset_in(charset, utf8_names) ||
	    (footer_is_ascii(footer, strlen(footer)) &&
	     ascii_compatible(charset))) {
		p->tail = g_strdup(footer);
		return 1;
	}
	if (charset_in(charset, ascii_names)) {
		/* ASCII is UTF-8; so is 8-bit text whose sender forgot
		 * the charset, as long as it is valid UTF-8 */
		ok = text_converts(content, enc, "UTF-8", error);
		p->relabel = ok > 0;
		p->tail = ok > 0 ? g_strdup(footer) : NULL;
		return ok;
	}
	if (ascii_compatible(charset) &&
	    (p->tail = convert_to(footer, charset)) != NULL)
		return 1;
	/* the footer does not fit the charset: all of it becomes UTF-8,
	 * if the text really is in the charset it claims */
	ok = text_converts(content, enc, charset, error);
	if (ok <= 0)
		return ok;
	p->from = charset;
	p->relabel = TRUE;
	p->tail = g_strdup(footer);
	return 1;
}

/* The transfer encoding the extended text is written in: the part's own,
 * except that 7bit text that gains 8-bit characters (or a footer line too
 * long for 7bit or 8bit) becomes quoted-printable, which survives any
 * relay. */
static GMimeContentEncoding
plan_encoding(GMimeContentEncoding enc, const struct text_plan *p)
{
	gboolean long_lines = footer_longest_line(p->tail) > MAX_LINE;
	gboolean eight = !footer_is_ascii(p->tail, strlen(p->tail)) ||
			 p->from != NULL;
	const GMimeContentEncoding qp = GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE;

	switch (enc) {
	case GMIME_CONTENT_ENCODING_BASE64:
	case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
	case GMIME_CONTENT_ENCODING_BINARY:
		return enc;
	case GMIME_CONTENT_ENCODING_8BIT:
		return long_lines ? qp : enc;
	default:
		return long_lines || eight ? qp : enc;
	}
}

/* The text, a blank line, the footer; in the text's own line ends. */
static int
write_text(struct footer_job *j, GMimeStream *content, GMimeContentEncoding enc,
	   const struct text_plan *p, GError **error)
{
	struct text_out t = { 0 };
	struct conv c = { .cd = NULL, .out = &t };
	GString *tail = g_string_new(NULL);
	const char *nl;
	int rc;

	if (footer_put(j, "\n") < 0) /* the blank line after the headers */
		return footer_set_io_error(error, "writing the new body");
	t.stream = footer_encoder_stream(j, p->encoding);
	if (p->from != NULL)
		c.cd = g_mime_iconv_open("UTF-8", p->from);
	rc = pump_text(content, enc, &c, error);
	if (c.cd != NULL)
		g_mime_iconv_close(c.cd);
	if (rc == CONV_INVALID) { /* it converted a moment ago */
		errno = EIO;
		rc = footer_set_io_error(error, "reading the spool file");
	}
	nl = !t.seen_nl ? j->nl : t.crlf ? "\r\n" : "\n";
	if (t.any && t.last != '\n')
		g_string_append(tail, nl);
	if (t.any)
		g_string_append(tail, nl);
	for (const char *s = p->tail; *s; s++) {
		if (*s == '\n')
			g_string_append(tail, nl);
		else
			g_string_append_c(tail, *s);
	}
	if (rc == 0 &&
	    (g_mime_stream_write(t.stream, tail->str, tail->len) < 0 ||
	     g_mime_stream_flush(t.stream) < 0))
		rc = footer_set_io_error(error, "writing the new body");
	g_string_free(tail, TRUE);
	g_object_unref(t.stream);
	return rc;
}

/* The top-level entity as GMime sees it: the Content-* headers of the
 * header section that message.c found, then the body. The body is read
 * through a persistent stream: the part's content stays on disk. */
static GMimeObject *
parse_entity(struct footer_job *j, GError **error)
{
	struct message *msg = j->msg;
	GString *head = footer_content_headers(msg);
	GMimeStream *cat, *s;
	GMimeObject *obj;

	if (msg->add_separator || msg->body >= msg->end)
		g_string_append_c(head, '\n');
	cat = g_mime_stream_cat_new();
	s = g_mime_stream_mem_new_with_buffer(head->str, head->len);
	g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
	g_object_unref(s);
	g_string_free(head, TRUE);
	if (msg->body < msg->end) {
		int fd = fcntl(msg->body_fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0) {
			g_object_unref(cat);
			footer_set_io_error(error, "dup");
			return NULL;
		}
		s = g_mime_stream_fs_new_with_bounds(fd, msg->body, msg->end);
		g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
		g_object_unref(s);
	}
	obj = message_parse_part(cat);
	if (obj == NULL)
		g_set_error(error, FOOTER_ERROR, 0,
			    "GMime could not parse the body");
	return obj;
}

/* text/plain. Returns 1 (written), 0 when the footer cannot be appended
 * to this text (nothing written: the caller wraps the post), or -1 with
 * *error. */
int
footer_text_append(struct footer_job *j, GError **error)
{
	GMimeContentEncoding enc = j->encoding;
	const char *charset = g_mime_content_type_get_parameter(j->type,
								"charset");
	const char *flowed = g_mime_content_type_get_parameter(j->type,
							       "format");
	char *footer = flowed && g_ascii_strcasecmp(flowed, "flowed") == 0
			       ? flowed_footer(j->footer)
			       : g_strdup(j->footer);
	struct text_plan p = { 0 };
	GMimeObject *part = NULL;
	GMimeStream *content = NULL;
	int rc = 0;

	if (enc == GMIME_CONTENT_ENCODING_UUENCODE)
		goto done; /* nobody sends it; wrapping is safe */
	part = parse_entity(j, error);
	if (part == NULL) {
		rc = -1;
		goto done;
	}
	if (GMIME_IS_PART(part) && g_mime_part_get_content(GMIME_PART(part)))
		content = g_mime_data_wrapper_get_stream(
			g_mime_part_get_content(GMIME_PART(part)));
	if (charset == NULL || *charset == '\0')
		charset = "us-ascii";
	rc = plan_charset(footer, content, enc, charset, &p, error);
	if (rc <= 0)
		goto done;
	p.encoding = plan_encoding(enc, &p);
	if (write_text(j, content, enc, &p, error) < 0) {
		rc = -1;
		goto done;
	}
	if (p.relabel) {
		/* the other parameters (format=flowed) stay */
		g_mime_content_type_set_parameter(j->type, "charset", "utf-8");
		j->new_type = g_mime_content_type_encode(j->type, NULL);
	}
	if (p.encoding != enc)
		j->new_cte = g_mime_content_encoding_to_string(p.encoding);
	rc = 1;
done:
	if (part != NULL)
		g_object_unref(part);
	g_free(p.tail);
	g_free(footer);
	return rc;
}
