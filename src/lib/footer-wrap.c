/* footer-wrap.c - the footer as a MIME part of its own.
 *
 * A multipart/mixed post gets the footer part just before its close
 * delimiter; every other byte is copied as it came. We look for the
 * delimiter ourselves instead of having GMime parse the tree: a parse
 * makes an object per part, so memory would grow with the number of
 * parts. Any other post is wrapped: the original entity, its Content-*
 * headers and body bytes unchanged, becomes the first part of a new
 * multipart/mixed and the footer the second.
 */
#include "footer-internal.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/*
 * The footer as a part of its own: text/plain, inline, 7bit when it is
 * ASCII with sane lines, else quoted-printable (a 7-bit body survives any
 * relay, so OpenDKIM's signature does too).
 */
static int
put_footer_part(struct footer_job *j, const char *boundary)
{
	gboolean plain = footer_is_ascii(j->footer, strlen(j->footer)) &&
			 footer_longest_line(j->footer) <= MAX_LINE;
	char *head = g_strdup_printf(
		"--%s\nContent-Type: text/plain; charset=%s\n"
		"Content-Transfer-Encoding: %s\n"
		"Content-Disposition: inline\n\n",
		boundary, plain ? "us-ascii" : "utf-8",
		plain ? "7bit" : "quoted-printable");
	GMimeStream *enc;
	int rc = footer_put(j, head);

	g_free(head);
	if (rc < 0)
		return -1;
	if (plain)
		return footer_put(j, j->footer);
	enc = footer_encoder_stream(j, GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	rc = g_mime_stream_write_string(enc, j->footer) < 0 ||
			     g_mime_stream_flush(enc) < 0
		     ? -1
		     : 0;
	g_object_unref(enc);
	return rc;
}

/* The close delimiter "--BOUNDARY--" on a line of its own. */
static int
put_close_delimiter(struct footer_job *j, const char *boundary)
{
	if (footer_put(j, "\n--") < 0 || footer_put(j, boundary) < 0 ||
	    footer_put(j, "--\n") < 0)
		return -1;
	return 0;
}

/* The blank line that ends the top-level headers, when the spool file has
 * none before the body (or no body at all). */
static int
put_header_end(struct footer_job *j)
{
	const struct message *msg = j->msg;

	if ((msg->add_separator || msg->body >= msg->end) &&
	    footer_put(j, "\n") < 0)
		return -1;
	return 0;
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
int
footer_wrap_entity(struct footer_job *j, GError **error)
{
	struct message *msg = j->msg;
	char *boundary = new_boundary();
	GString *head = footer_content_headers(msg);
	int rc = -1;

	if (footer_put(j, "\n--") < 0 || footer_put(j, boundary) < 0 ||
	    footer_put(j, "\n") < 0 || footer_put(j, head->str) < 0 ||
	    put_header_end(j) < 0)
		goto fail;
	if (footer_copy_raw(j, msg->body, msg->end, error) < 0)
		goto done;
	/* the line end before a delimiter belongs to the delimiter: the
	 * original body keeps every byte, its last newline included */
	if (footer_put(j, "\n") < 0 || put_footer_part(j, boundary) < 0 ||
	    put_close_delimiter(j, boundary) < 0)
		goto fail;
	j->wrapped = TRUE;
	j->new_type = g_strdup_printf(" multipart/mixed; boundary=\"%s\"\n",
				      boundary);
	/* a multipart is 7bit unless a part is 8bit or binary */
	j->new_cte = j->encoding == GMIME_CONTENT_ENCODING_8BIT ||
				     j->encoding ==
					     GMIME_CONTENT_ENCODING_BINARY
			     ? g_mime_content_encoding_to_string(j->encoding)
			     : "";
	rc = 0;
	goto done;
fail:
	footer_set_io_error(error, "writing the new body");
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
find_close_delimiter(struct footer_job *j, const char *boundary, off_t *at_r,
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
			rc = footer_set_io_error(error,
						 "reading the spool file");
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
int
footer_wrap_add_part(struct footer_job *j, const char *boundary, GError **error)
{
	struct message *msg = j->msg;
	off_t close_at;
	int found = find_close_delimiter(j, boundary, &close_at, error);

	if (found < 0)
		return -1;
	if (put_header_end(j) < 0)
		return footer_set_io_error(error, "writing the new body");
	if (found) {
		if (footer_copy_raw(j, msg->body, close_at, error) < 0)
			return -1;
		if (put_footer_part(j, boundary) < 0 || footer_put(j, "\n") < 0)
			return footer_set_io_error(error,
						   "writing the new body");
		return footer_copy_raw(j, close_at, msg->end, error);
	}
	/* no close delimiter: the last part runs to the end of the file */
	if (footer_copy_raw(j, msg->body, msg->end, error) < 0)
		return -1;
	if (footer_put(j, "\n") < 0 || put_footer_part(j, boundary) < 0 ||
	    put_close_delimiter(j, boundary) < 0)
		return footer_set_io_error(error, "writing the new body");
	return 0;
}
