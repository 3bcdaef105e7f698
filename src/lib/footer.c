/* footer.c - a list's footer, added MIME-correctly (see footer.h).
 *
 * The new body (everything after the top-level header section) is written
 * through GMime streams to an unlinked file next to the spool, and the
 * message is pointed at it; the spool file itself is never changed. The
 * shape of the post decides how the footer goes in:
 *
 *   text/plain     GMime parses the part through a persistent stream (its
 *                  content stays a window on the spool file); the text is
 *                  decoded, converted to UTF-8 only when the footer cannot
 *                  be written in the part's own charset, the footer
 *                  appended after a blank line, and the whole encoded again
 *                  in the part's transfer encoding (7bit becomes
 *                  quoted-printable when 8-bit text is added).
 *   multipart/mixed
 *                  a text/plain part goes in just before the close
 *                  delimiter; every other byte is copied as it came. We
 *                  look for the delimiter ourselves instead of having GMime
 *                  parse the tree: a parse makes an object per part, so
 *                  memory would grow with the number of parts.
 *   anything else  (multipart/alternative, multipart/signed, encrypted,
 *                  HTML, attachments, text we cannot append to)
 *                  the original entity, with its Content-* headers and its
 *                  body bytes unchanged, becomes the first part of a new
 *                  multipart/mixed; the footer is the second. A signature
 *                  stays valid because the signed bytes never change.
 *
 * A message/partial fragment is sent without a footer (wrapping it would
 * break reassembly), with a warning in the mail log.
 */
#include "soarlist/footer.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/fdio.h"
#include "soarlist/maillog.h"
#include "soarlist/spool.h"

#define FOOTER_ERROR (g_quark_from_static_string("soarlist-footer"))
#define FOOTER_BUF (64 * 1024)
#define SINK_BUF (256 * 1024)
/* RFC 5322: a line is at most 998 characters without its CRLF */
#define MAX_LINE 998

char *
footer_text(const struct list_ref *ref)
{
	const char *t = ref->settings.footer;
	GString *out;

	if (t == NULL)
		return NULL;
	out = g_string_new(t);
	g_string_replace(out, "{list_name}", ref->name, 0);
	g_string_replace(out, "{list_address}", ref->address, 0);
	g_string_replace(out, "{club_name}", ref->club->name, 0);
	return g_string_free(out, FALSE);
}

/*
 * The output: a GMime stream that writes to the new body's file in large
 * blocks. Its first write error is kept (GMime's filter and buffer streams
 * may lose a short write), so nothing truncated can go out as a success.
 */
typedef struct {
	GMimeStream parent;
	int fd;
	int error;      /* errno of the first failed write, 0: none */
	gint64 written; /* bytes handed to the kernel */
	size_t len;     /* bytes pending in buf */
	char *buf;
} FooterSink;

typedef struct {
	GMimeStreamClass parent_class;
} FooterSinkClass;

G_DEFINE_TYPE(FooterSink, footer_sink, GMIME_TYPE_STREAM)

static int
sink_drain(FooterSink *s)
{
	if (s->error != 0) {
		errno = s->error;
		return -1;
	}
	if (s->len > 0 && fdio_write_all(s->fd, s->buf, s->len) < 0) {
		s->error = errno != 0 ? errno : EIO;
		return -1;
	}
	s->written += (gint64)s->len;
	s->len = 0;
	return 0;
}

static ssize_t
sink_write(GMimeStream *stream, const char *buf, size_t len)
{
	FooterSink *s = (FooterSink *)stream;
	size_t done = 0;

	while (done < len) {
		size_t n = MIN(len - done, SINK_BUF - s->len);

		memcpy(s->buf + s->len, buf + done, n);
		s->len += n;
		done += n;
		if (s->len == SINK_BUF && sink_drain(s) < 0)
			return -1;
	}
	if (s->error != 0) {
		errno = s->error;
		return -1;
	}
	stream->position += (gint64)len;
	return (ssize_t)len;
}

/* no fsync: the file is unlinked and only lives as long as this process */
static int
sink_flush(GMimeStream *stream)
{
	return sink_drain((FooterSink *)stream);
}

static ssize_t
sink_read(GMimeStream *stream, char *buf, size_t len)
{
	(void)stream;
	(void)buf;
	(void)len;
	errno = EBADF;
	return -1;
}

static int
sink_close(GMimeStream *stream)
{
	return sink_drain((FooterSink *)stream);
}

static gboolean
sink_eos(GMimeStream *stream)
{
	(void)stream;
	return FALSE;
}

static int
sink_reset(GMimeStream *stream)
{
	(void)stream;
	return -1;
}

static gint64
sink_seek(GMimeStream *stream, gint64 offset, GMimeSeekWhence whence)
{
	(void)stream;
	(void)offset;
	(void)whence;
	return -1;
}

static gint64
sink_tell(GMimeStream *stream)
{
	return stream->position;
}

static gint64
sink_length(GMimeStream *stream)
{
	(void)stream;
	return -1;
}

static GMimeStream *
sink_substream(GMimeStream *stream, gint64 start, gint64 end)
{
	(void)stream;
	(void)start;
	(void)end;
	return NULL;
}

static void
footer_sink_finalize(GObject *object)
{
	g_free(((FooterSink *)object)->buf);
	G_OBJECT_CLASS(footer_sink_parent_class)->finalize(object);
}

static void
footer_sink_class_init(FooterSinkClass *klass)
{
	GMimeStreamClass *sc = GMIME_STREAM_CLASS(klass);

	G_OBJECT_CLASS(klass)->finalize = footer_sink_finalize;
	sc->read = sink_read;
	sc->write = sink_write;
	sc->flush = sink_flush;
	sc->close = sink_close;
	sc->eos = sink_eos;
	sc->reset = sink_reset;
	sc->seek = sink_seek;
	sc->tell = sink_tell;
	sc->length = sink_length;
	sc->substream = sink_substream;
}

static void
footer_sink_init(FooterSink *s)
{
	s->fd = -1;
	s->buf = g_malloc(SINK_BUF);
}

static GMimeStream *
footer_sink_new(int fd)
{
	FooterSink *s = g_object_new(footer_sink_get_type(), NULL);

	s->fd = fd;
	g_mime_stream_construct(GMIME_STREAM(s), 0, -1);
	return GMIME_STREAM(s);
}

/*
 * One footer_apply() call.
 */
struct job {
	struct message *msg;
	const struct list_ref *ref;
	char *footer;          /* UTF-8, "\n" line ends, ends with "\n" */
	const char *nl;        /* the body's line end: "\n" or "\r\n" */
	GMimeContentType *type;        /* top level; text/plain if none */
	GMimeContentEncoding encoding; /* top-level transfer encoding */
	gboolean encoding_unknown;     /* one GMime cannot decode */
	GMimeStream *out;      /* a FooterSink on the new body's file */
	/* what changes in the top-level header section */
	char *new_type;        /* raw Content-Type value, NULL: unchanged */
	const char *new_cte;   /* Content-Transfer-Encoding, NULL: unchanged,
				* "": removed */
	gboolean wrapped;      /* the Content-* headers moved into a part */
};

static gboolean
is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return FALSE;
	return TRUE;
}

static size_t
longest_line(const char *s)
{
	size_t longest = 0, n = 0;

	for (; *s; s++) {
		n = *s == '\n' ? 0 : n + 1;
		longest = MAX(longest, n);
	}
	return longest;
}

static gboolean
is_content_header(GMimeHeader *h)
{
	return g_ascii_strncasecmp(g_mime_header_get_name(h), "Content-",
				   strlen("Content-")) == 0;
}

static int
set_io_error(GError **error, const char *what)
{
	g_set_error(error, FOOTER_ERROR, errno, "%s: %s", what,
		    g_strerror(errno));
	return -1;
}

/* The top-level Content-* header fields, raw, in their order. */
static GString *
content_headers(const struct message *msg)
{
	GString *s = g_string_new(NULL);
	int n = g_mime_header_list_get_count(msg->headers);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(msg->headers,
								  i);
		const char *raw = g_mime_header_get_raw_value(h);

		if (!is_content_header(h))
			continue;
		if (raw != NULL)
			g_string_append_printf(s, "%s:%s",
					       g_mime_header_get_raw_name(h),
					       raw);
		else
			g_string_append_printf(s, "%s: %s\n",
					       g_mime_header_get_name(h),
					       g_mime_header_get_value(h));
	}
	return s;
}

/* Write S to the output with each "\n" as the body's line end (a "\r"
 * already before it is dropped, so raw header values come out right). */
static int
put(struct job *j, const char *s)
{
	const char *p = s;

	while (*p) {
		size_t n = strcspn(p, "\r\n");

		if (n > 0 && g_mime_stream_write(j->out, p, n) < 0)
			return -1;
		p += n;
		if (*p == '\r' && p[1] == '\n') {
			p++;
		} else if (*p == '\r') {
			if (g_mime_stream_write(j->out, "\r", 1) < 0)
				return -1;
			p++;
			continue;
		}
		if (*p == '\n') {
			if (g_mime_stream_write_string(j->out, j->nl) < 0)
				return -1;
			p++;
		}
	}
	return 0;
}

/* Copy [FROM, TO) of the body's file to the output, through a GMime
 * stream on a descriptor of its own (the stream seeks it). */
static int
copy_raw(struct job *j, off_t from, off_t to, GError **error)
{
	GMimeStream *src;
	int fd;
	ssize_t n;

	if (from >= to)
		return 0;
	fd = fcntl(j->msg->body_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return set_io_error(error, "dup");
	src = g_mime_stream_fs_new_with_bounds(fd, from, to);
	n = g_mime_stream_write_to_stream(src, j->out);
	g_object_unref(src);
	if (n < 0 || n != to - from) {
		if (n >= 0)
			errno = EIO; /* the spool file shrank */
		return set_io_error(error, "copying the body");
	}
	return 0;
}

/* The body's line end, from the first line after the headers: Postfix
 * hands us LF, but a message piped by other means may use CRLF. */
static int
detect_newline(struct job *j, GError **error)
{
	char buf[1024];
	const struct message *msg = j->msg;
	ssize_t n;

	j->nl = "\n";
	if (msg->body >= msg->end)
		return 0;
	do
		n = pread(msg->body_fd, buf, sizeof(buf), msg->body);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return set_io_error(error, "reading the spool file");
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (i > 0 && buf[i - 1] == '\r')
				j->nl = "\r\n";
			break;
		}
	}
	return 0;
}

/* The top-level Content-Type and transfer encoding. A message without a
 * Content-Type is text/plain in us-ascii (RFC 2045, 5.2). */
static void
read_top_headers(struct job *j)
{
	const char *ct = message_header(j->msg, "Content-Type");
	const char *cte = message_header(j->msg, "Content-Transfer-Encoding");

	if (ct == NULL)
		ct = "text/plain; charset=us-ascii";
	j->type = g_mime_content_type_parse(NULL, ct);
	j->encoding = GMIME_CONTENT_ENCODING_DEFAULT;
	if (cte != NULL) {
		char *v = g_strstrip(g_strdup(cte));

		j->encoding = g_mime_content_encoding_from_string(v);
		j->encoding_unknown = *v != '\0' &&
			j->encoding == GMIME_CONTENT_ENCODING_DEFAULT;
		g_free(v);
	}
}

/* The footer as configured, with a final newline. */
static char *
footer_line_ended(const struct list_ref *ref)
{
	char *t = footer_text(ref);

	if (t != NULL && !g_str_has_suffix(t, "\n")) {
		char *e = g_strconcat(t, "\n", NULL);
		g_free(t);
		t = e;
	}
	return t;
}

/* The stream text is written to: an encoder for quoted-printable and
 * base64 (whose lines end in LF, made CRLF if the body uses CRLF), the
 * output itself for 7bit, 8bit and binary, whose bytes pass unchanged. */
static GMimeStream *
encoder_stream(struct job *j, GMimeContentEncoding enc)
{
	GMimeStream *f;
	GMimeFilter *filter;

	if (enc != GMIME_CONTENT_ENCODING_BASE64 &&
	    enc != GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE)
		return g_object_ref(j->out);
	f = g_mime_stream_filter_new(j->out);
	filter = g_mime_filter_basic_new(enc, TRUE);
	g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), filter);
	g_object_unref(filter);
	if (strcmp(j->nl, "\r\n") == 0) {
		filter = g_mime_filter_unix2dos_new(FALSE);
		g_mime_stream_filter_add(GMIME_STREAM_FILTER(f), filter);
		g_object_unref(filter);
	}
	return f;
}

/*
 * The footer as a part of its own: text/plain, inline, 7bit when it is
 * ASCII with sane lines, else quoted-printable (a 7-bit body survives any
 * relay, so OpenDKIM's signature does too).
 */
static int
put_footer_part(struct job *j, const char *boundary)
{
	gboolean plain = is_ascii(j->footer, strlen(j->footer)) &&
			 longest_line(j->footer) <= MAX_LINE;
	char *head = g_strdup_printf(
		"--%s\nContent-Type: text/plain; charset=%s\n"
		"Content-Transfer-Encoding: %s\n"
		"Content-Disposition: inline\n\n", boundary,
		plain ? "us-ascii" : "utf-8",
		plain ? "7bit" : "quoted-printable");
	GMimeStream *enc;
	int rc = put(j, head);

	g_free(head);
	if (rc < 0)
		return -1;
	if (plain)
		return put(j, j->footer);
	enc = encoder_stream(j, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	rc = g_mime_stream_write_string(enc, j->footer) < 0 ||
	     g_mime_stream_flush(enc) < 0 ? -1 : 0;
	g_object_unref(enc);
	return rc;
}

static char *
new_boundary(void)
{
	char *uuid = g_uuid_string_random();
	/* "=_" can start no line of base64 or quoted-printable text */
	char *b = g_strconcat("=_soarlist_", uuid, NULL);

	g_free(uuid);
	return b;
}

/* Anything else: the original entity becomes the first part of a new
 * multipart/mixed, its Content-* headers and body bytes unchanged. */
static int
write_wrapped(struct job *j, GError **error)
{
	struct message *msg = j->msg;
	char *boundary = new_boundary();
	GString *head = content_headers(msg);
	int rc = -1;

	if (put(j, "\n--") < 0 || put(j, boundary) < 0 || put(j, "\n") < 0 ||
	    put(j, head->str) < 0)
		goto fail;
	if ((msg->add_separator || msg->body >= msg->end) && put(j, "\n") < 0)
		goto fail;
	if (copy_raw(j, msg->body, msg->end, error) < 0)
		goto done;
	/* the line end before a delimiter belongs to the delimiter: the
	 * original body keeps every byte, its last newline included */
	if (put(j, "\n") < 0 || put_footer_part(j, boundary) < 0 ||
	    put(j, "\n--") < 0 || put(j, boundary) < 0 || put(j, "--\n") < 0)
		goto fail;
	j->wrapped = TRUE;
	j->new_type = g_strdup_printf(" multipart/mixed; boundary=\"%s\"\n",
				      boundary);
	/* a multipart is 7bit unless a part is 8bit or binary */
	j->new_cte = j->encoding == GMIME_CONTENT_ENCODING_8BIT ||
		     j->encoding == GMIME_CONTENT_ENCODING_BINARY
		     ? g_mime_content_encoding_to_string(j->encoding) : "";
	rc = 0;
	goto done;
fail:
	set_io_error(error, "writing the new body");
done:
	g_string_free(head, TRUE);
	g_free(boundary);
	return rc;
}

/* Find the close delimiter "--BOUNDARY--" of the top-level multipart,
 * as GMime would: the first line that is exactly that, but for trailing
 * blanks. Returns 1 with *AT_R the offset where that line starts, 0 when
 * there is none (a truncated message), -1 with *error. */
static int
find_close_delimiter(struct job *j, const char *boundary, off_t *at_r,
		     GError **error)
{
	const struct message *msg = j->msg;
	char *want = g_strconcat("--", boundary, "--", NULL);
	size_t wlen = strlen(want), col = 0;
	char *buf = g_malloc(FOOTER_BUF);
	off_t pos = msg->body, line = msg->body;
	gboolean match = TRUE;
	int rc = 0;

	while (rc == 0 && pos < msg->end) {
		ssize_t n = pread(msg->body_fd, buf,
				  (size_t)MIN(msg->end - pos, FOOTER_BUF), pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = EIO;
			rc = set_io_error(error, "reading the spool file");
			break;
		}
		for (ssize_t i = 0; i < n && rc == 0; i++) {
			char c = buf[i];

			if (c == '\n') {
				if (match && col >= wlen)
					rc = 1;
				else
					line = pos + i + 1;
				col = 0;
				match = TRUE;
				continue;
			}
			if (match)
				match = col < wlen ? c == want[col]
						   : c == ' ' || c == '\t' ||
						     c == '\r';
			col++;
		}
		pos += n;
	}
	if (rc == 0 && match && col >= wlen)
		rc = 1; /* the last line, without a newline */
	*at_r = line;
	g_free(buf);
	g_free(want);
	return rc;
}

/* multipart/mixed: the footer part goes in before the close delimiter. */
static int
write_added_part(struct job *j, const char *boundary, GError **error)
{
	struct message *msg = j->msg;
	off_t close_at;
	int found = find_close_delimiter(j, boundary, &close_at, error);

	if (found < 0)
		return -1;
	if ((msg->add_separator || msg->body >= msg->end) && put(j, "\n") < 0)
		return set_io_error(error, "writing the new body");
	if (found) {
		if (copy_raw(j, msg->body, close_at, error) < 0)
			return -1;
		if (put_footer_part(j, boundary) < 0 || put(j, "\n") < 0)
			return set_io_error(error, "writing the new body");
		return copy_raw(j, close_at, msg->end, error);
	}
	/* no close delimiter: the last part runs to the end of the file */
	if (copy_raw(j, msg->body, msg->end, error) < 0)
		return -1;
	if (put(j, "\n") < 0 || put_footer_part(j, boundary) < 0 ||
	    put(j, "\n--") < 0 || put(j, boundary) < 0 || put(j, "--\n") < 0)
		return set_io_error(error, "writing the new body");
	return 0;
}

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
	char last;           /* its last byte */
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
	iconv_t cd;           /* NULL: the text passes unchanged */
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
			return set_io_error(error, "reading the spool file");
		}
	}
	if (rc == CONV_OK && c->cd != NULL)
		rc = conv_feed(c, NULL, 0);
	g_free(buf);
	g_clear_object(&in);
	if (rc < 0)
		set_io_error(error, "writing the new body");
	return rc;
}

/* Does CONTENT's text convert from FROM to UTF-8 without a loss?
 * Returns 1, 0 or -1 with *error. */
static int
text_converts(GMimeStream *content, GMimeContentEncoding enc,
	      const char *from, GError **error)
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
	"us-ascii", "ascii", "us", "ansi_x3.4-1968", "iso646-us", "csascii",
	"iso-ir-6", "cp367", "ibm367", NULL,
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
	const char *from;  /* convert the text from this charset to UTF-8;
			    * NULL: its bytes stay as they are */
	gboolean relabel;  /* the charset parameter becomes utf-8 */
	char *tail;        /* the footer in the charset the text ends in */
	GMimeContentEncoding encoding; /* the transfer encoding written */
};

/* Decide the charset side of P for text in CHARSET. Returns 1, 0 when the
 * footer cannot be added to this text (the caller wraps the post instead)
 * or -1 with *error. */
static int
plan_charset(const char *footer, GMimeStream *content,
	     GMimeContentEncoding enc, const char *charset,
	     struct text_plan *p, GError **error)
{
	int ok;

	if (charset_in(charset, utf8_names) ||
	    (is_ascii(footer, strlen(footer)) && ascii_compatible(charset))) {
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
	gboolean long_lines = longest_line(p->tail) > MAX_LINE;
	gboolean eight = !is_ascii(p->tail, strlen(p->tail)) || p->from != NULL;
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
write_text(struct job *j, GMimeStream *content, GMimeContentEncoding enc,
	   const struct text_plan *p, GError **error)
{
	struct text_out t = { 0 };
	struct conv c = { .cd = NULL, .out = &t };
	GString *tail = g_string_new(NULL);
	const char *nl;
	int rc;

	if (put(j, "\n") < 0) /* the blank line after the headers */
		return set_io_error(error, "writing the new body");
	t.stream = encoder_stream(j, p->encoding);
	if (p->from != NULL)
		c.cd = g_mime_iconv_open("UTF-8", p->from);
	rc = pump_text(content, enc, &c, error);
	if (c.cd != NULL)
		g_mime_iconv_close(c.cd);
	if (rc == CONV_INVALID) { /* it converted a moment ago */
		errno = EIO;
		rc = set_io_error(error, "reading the spool file");
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
		rc = set_io_error(error, "writing the new body");
	g_string_free(tail, TRUE);
	g_object_unref(t.stream);
	return rc;
}

/* The top-level entity as GMime sees it: the Content-* headers of the
 * header section that message.c found, then the body. The body is read
 * through a persistent stream: the part's content stays on disk. */
static GMimeObject *
parse_entity(struct job *j, GError **error)
{
	struct message *msg = j->msg;
	GString *head = content_headers(msg);
	GMimeStream *cat, *s;
	GMimeParser *parser;
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
			set_io_error(error, "dup");
			return NULL;
		}
		s = g_mime_stream_fs_new_with_bounds(fd, msg->body, msg->end);
		g_mime_stream_cat_add_source(GMIME_STREAM_CAT(cat), s);
		g_object_unref(s);
	}
	parser = g_mime_parser_new_with_stream(cat);
	g_object_unref(cat);
	g_mime_parser_set_persist_stream(parser, TRUE);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	obj = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	if (obj == NULL)
		g_set_error(error, FOOTER_ERROR, 0,
			    "GMime could not parse the body");
	return obj;
}

/* text/plain. Returns 1 (written), 0 when the footer cannot be appended
 * to this text (nothing written: the caller wraps the post), or -1 with
 * *error. */
static int
write_text_plain(struct job *j, GError **error)
{
	GMimeContentEncoding enc = j->encoding;
	const char *charset = g_mime_content_type_get_parameter(j->type,
								"charset");
	const char *flowed = g_mime_content_type_get_parameter(j->type,
							       "format");
	char *footer = flowed && g_ascii_strcasecmp(flowed, "flowed") == 0
			       ? flowed_footer(j->footer) : g_strdup(j->footer);
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

/* A part the sender means as a file (Content-Disposition: attachment, or
 * a file name): the footer must not change its bytes. */
static gboolean
is_attachment(const struct job *j)
{
	const char *v = message_header(j->msg, "Content-Disposition");
	GMimeContentDisposition *d;
	gboolean yes;

	if (g_mime_content_type_get_parameter(j->type, "name") != NULL)
		return TRUE;
	if (v == NULL)
		return FALSE;
	d = g_mime_content_disposition_parse(NULL, v);
	yes = g_mime_content_disposition_is_attachment(d) ||
	      g_mime_content_disposition_get_parameter(d, "filename") != NULL;
	g_object_unref(d);
	return yes;
}

static gboolean
is_multipart_encoding(GMimeContentEncoding enc)
{
	return enc == GMIME_CONTENT_ENCODING_DEFAULT ||
	       enc == GMIME_CONTENT_ENCODING_7BIT ||
	       enc == GMIME_CONTENT_ENCODING_8BIT ||
	       enc == GMIME_CONTENT_ENCODING_BINARY;
}

static int
write_body(struct job *j, GError **error)
{
	const char *boundary = g_mime_content_type_get_parameter(j->type,
								 "boundary");

	if (g_mime_content_type_is_type(j->type, "text", "plain") &&
	    !j->encoding_unknown && !is_attachment(j)) {
		int rc = write_text_plain(j, error);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	if (g_mime_content_type_is_type(j->type, "multipart", "mixed") &&
	    boundary != NULL && *boundary != '\0' && !j->encoding_unknown &&
	    is_multipart_encoding(j->encoding))
		return write_added_part(j, boundary, error);
	return write_wrapped(j, error);
}

/* Replace header NAME by the raw value RAW, dropping duplicates. */
static void
set_raw_header(GMimeHeaderList *headers, const char *name, const char *raw)
{
	GMimeHeader *h;

	g_mime_header_list_set(headers, name, "", NULL);
	h = g_mime_header_list_get_header(headers, name);
	g_mime_header_set_raw_value(h, raw);
}

static void
edit_headers(const struct job *j)
{
	GMimeHeaderList *h = j->msg->headers;

	if (!j->wrapped && j->new_type == NULL && j->new_cte == NULL)
		return;
	if (!g_mime_header_list_contains(h, "MIME-Version"))
		g_mime_header_list_append(h, "MIME-Version", "1.0", NULL);
	for (int i = g_mime_header_list_get_count(h) - 1;
	     j->wrapped && i >= 0; i--)
		if (is_content_header(g_mime_header_list_get_header_at(h, i)))
			g_mime_header_list_remove_at(h, i);
	if (j->new_type != NULL)
		set_raw_header(h, "Content-Type", j->new_type);
	if (j->new_cte != NULL && *j->new_cte != '\0')
		g_mime_header_list_set(h, "Content-Transfer-Encoding",
				       j->new_cte, NULL);
	else if (j->new_cte != NULL)
		while (g_mime_header_list_remove(h,
						 "Content-Transfer-Encoding"))
			;
}

static void
warn_skipped(const struct job *j, const char *why)
{
	char *id = message_id(j->msg);

	maillog_warning("list=<%s> msgid=<%s>: sent without the footer: %s",
			j->ref->address, id ? id : "", why);
	g_free(id);
}

int
footer_apply(struct message *msg, const struct list_ref *ref,
	     const char *spool_dir, GError **error)
{
	struct job j = { .msg = msg, .ref = ref };
	int fd = -1, rc = -1;

	j.footer = footer_line_ended(ref);
	if (j.footer == NULL)
		return 0;
	read_top_headers(&j);
	if (g_mime_content_type_is_type(j.type, "message", "partial")) {
		/* a fragment wrapped in a multipart cannot be reassembled */
		warn_skipped(&j, "message/partial");
		rc = 0;
		goto done;
	}
	if (detect_newline(&j, error) < 0 ||
	    (fd = spool_tmpfile(spool_dir, error)) < 0)
		goto done;
	j.out = footer_sink_new(fd);
	if (write_body(&j, error) < 0)
		goto done;
	if (g_mime_stream_flush(j.out) < 0) {
		set_io_error(error, "writing the new body");
		goto done;
	}
	if (msg->own_body_fd && msg->body_fd >= 0)
		close(msg->body_fd);
	msg->body_fd = fd;
	msg->own_body_fd = TRUE;
	msg->body = 0;
	msg->end = (off_t)((FooterSink *)j.out)->written;
	msg->add_separator = FALSE;
	fd = -1;
	edit_headers(&j);
	rc = 0;
done:
	if (fd >= 0)
		close(fd);
	g_clear_object(&j.out);
	g_clear_object(&j.type);
	g_free(j.new_type);
	g_free(j.footer);
	return rc;
}
