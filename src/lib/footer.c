/* footer.c - a list's footer, added MIME-correctly (see footer.h).
 *
 * The new body (everything after the top-level header section) is written
 * through GMime streams (footer-out.c) to an unlinked file next to the
 * spool, and the message is pointed at it; the spool file itself is never
 * changed. The shape of the post decides how the footer goes in:
 *
 *   text/plain     appended to the text after a blank line, in the part's
 *                  own charset and transfer encoding where it fits
 *                  (footer-text.c).
 *   multipart/mixed
 *                  a text/plain part goes in just before the close
 *                  delimiter; every other byte is copied as it came
 *                  (footer-wrap.c).
 *   anything else  (multipart/alternative, multipart/signed, encrypted,
 *                  HTML, attachments, text we cannot append to)
 *                  the original entity, with its Content-* headers and its
 *                  body bytes unchanged, becomes the first part of a new
 *                  multipart/mixed; the footer is the second. A signature
 *                  stays valid because the signed bytes never change
 *                  (footer-wrap.c).
 *
 * A message/partial fragment is sent without a footer (wrapping it would
 * break reassembly), with a warning in the mail log.
 *
 * This file holds the dispatch, the top-level header edits and the helpers
 * the others share for writing the new body (footer-internal.h).
 */
#include "soarlist/footer.h"

#include "footer-internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/maillog.h"
#include "soarlist/spool.h"

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

gboolean
footer_is_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return FALSE;
	return TRUE;
}

size_t
footer_longest_line(const char *s)
{
	size_t longest = 0, n = 0;

	for (; *s; s++) {
		n = *s == '\n' ? 0 : n + 1;
		longest = MAX(longest, n);
	}
	return longest;
}

gboolean
footer_is_content_header(GMimeHeader *h)
{
	return g_ascii_strncasecmp(g_mime_header_get_name(h), "Content-",
				   strlen("Content-")) == 0;
}

int
footer_set_io_error(GError **error, const char *what)
{
	g_set_error(error, FOOTER_ERROR, errno, "%s: %s", what,
		    g_strerror(errno));
	return -1;
}

/* The top-level Content-* header fields, raw, in their order. */
GString *
footer_content_headers(const struct message *msg)
{
	GString *s = g_string_new(NULL);
	int n = g_mime_header_list_get_count(msg->headers);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(msg->headers,
								  i);
		const char *raw = g_mime_header_get_raw_value(h);

		if (!footer_is_content_header(h))
			continue;
		if (raw != NULL)
			g_string_append_printf(
				s, "%s:%s", g_mime_header_get_raw_name(h), raw);
		else
			g_string_append_printf(s, "%s: %s\n",
					       g_mime_header_get_name(h),
					       g_mime_header_get_value(h));
	}
	return s;
}

/* Write S to the output with each "\n" as the body's line end (a "\r"
 * already before it is dropped, so raw header values come out right). */
int
footer_put(struct footer_job *j, const char *s)
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
int
footer_copy_raw(struct footer_job *j, off_t from, off_t to, GError **error)
{
	GMimeStream *src;
	int fd;
	ssize_t n;

	if (from >= to)
		return 0;
	fd = fcntl(j->msg->body_fd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return footer_set_io_error(error, "dup");
	src = g_mime_stream_fs_new_with_bounds(fd, from, to);
	n = g_mime_stream_write_to_stream(src, j->out);
	g_object_unref(src);
	if (n < 0 || n != to - from) {
		if (n >= 0)
			errno = EIO; /* the spool file shrank */
		return footer_set_io_error(error, "copying the body");
	}
	return 0;
}

/* The stream text is written to: an encoder for quoted-printable and
 * base64 (whose lines end in LF, made CRLF if the body uses CRLF), the
 * output itself for 7bit, 8bit and binary, whose bytes pass unchanged. */
GMimeStream *
footer_encoder_stream(struct footer_job *j, GMimeContentEncoding enc)
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

/* The body's line end, from the first line after the headers: Postfix
 * hands us LF, but a message piped by other means may use CRLF. */
static int
detect_newline(struct footer_job *j, GError **error)
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
		return footer_set_io_error(error, "reading the spool file");
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
read_top_headers(struct footer_job *j)
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
				      j->encoding ==
					      GMIME_CONTENT_ENCODING_DEFAULT;
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

/* A part the sender means as a file (Content-Disposition: attachment, or
 * a file name): the footer must not change its bytes. */
static gboolean
is_attachment(const struct footer_job *j)
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
write_body(struct footer_job *j, GError **error)
{
	const char *boundary = g_mime_content_type_get_parameter(j->type,
								 "boundary");

	if (g_mime_content_type_is_type(j->type, "text", "plain") &&
	    !j->encoding_unknown && !is_attachment(j)) {
		int rc = footer_text_append(j, error);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
	}
	if (g_mime_content_type_is_type(j->type, "multipart", "mixed") &&
	    boundary != NULL && *boundary != '\0' && !j->encoding_unknown &&
	    is_multipart_encoding(j->encoding))
		return footer_wrap_add_part(j, boundary, error);
	return footer_wrap_entity(j, error);
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
edit_headers(const struct footer_job *j)
{
	GMimeHeaderList *h = j->msg->headers;

	if (!j->wrapped && j->new_type == NULL && j->new_cte == NULL)
		return;
	if (!g_mime_header_list_contains(h, "MIME-Version"))
		g_mime_header_list_append(h, "MIME-Version", "1.0", NULL);
	for (int i = g_mime_header_list_get_count(h) - 1; j->wrapped && i >= 0;
	     i--)
		if (footer_is_content_header(
			    g_mime_header_list_get_header_at(h, i)))
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
warn_skipped(const struct footer_job *j, const char *why)
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
	struct footer_job j = { .msg = msg, .ref = ref };
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
	j.out = footer_out_new(fd);
	if (write_body(&j, error) < 0)
		goto done;
	if (g_mime_stream_flush(j.out) < 0) {
		footer_set_io_error(error, "writing the new body");
		goto done;
	}
	if (msg->own_body_fd && msg->body_fd >= 0)
		close(msg->body_fd);
	msg->body_fd = fd;
	msg->own_body_fd = TRUE;
	msg->body = 0;
	msg->end = (off_t)footer_out_written(j.out);
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
