/* message.c - parsing a spooled message with GMime and writing it back out.
 *
 * GMime parses the spool file through a persistent stream: MIME parts refer
 * to ranges of the file instead of holding copies, so memory does not grow
 * with the message. The rewritten header block is written from GMime's
 * header list (untouched headers keep their raw bytes); the body is then
 * copied from the spool file byte for byte.
 */
#include "soarlist/message.h"

#include <errno.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "soarlist/fdio.h"

#include "soarlist/address.h"

#define MESSAGE_ERROR (g_quark_from_static_string("soarlist-message"))
#define COPY_BUF (256 * 1024)

/* An mbox "From " line (pipe(8) flag F) is not a header: skip it. */
static off_t
skip_mbox_line(int fd, off_t size)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 5 || memcmp(buf, "From ", 5) != 0)
		return 0;
	for (ssize_t i = 5; i < n; i++)
		if (buf[i] == '\n')
			return (off_t)i + 1;
	return size < (off_t)n ? size : 0;
}

/* A header at the very end of the input may lack its newline: give it one,
 * or the headers we append would run on in the same line. */
static void
terminate_headers(GMimeHeaderList *headers)
{
	int n = g_mime_header_list_get_count(headers);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *raw = g_mime_header_get_raw_value(h);

		if (raw != NULL && !g_str_has_suffix(raw, "\n")) {
			char *fixed = g_strconcat(raw, "\n", NULL);
			g_mime_header_set_raw_value(h, fixed);
			g_free(fixed);
		}
	}
}

int
message_parse(int fd, off_t size, struct message *msg_r, GError **error)
{
	GMimeStream *stream;
	GMimeParser *parser;
	gint64 end;
	int dupfd;

	memset(msg_r, 0, sizeof(*msg_r));
	msg_r->fd = fd;
	msg_r->end = size;
	msg_r->start = skip_mbox_line(fd, size);
	dupfd = dup(fd);
	if (dupfd < 0) {
		g_set_error(error, MESSAGE_ERROR, errno, "dup: %s",
			    g_strerror(errno));
		return -1;
	}
	stream = g_mime_stream_fs_new_with_bounds(dupfd, msg_r->start, size);
	parser = g_mime_parser_new_with_stream(stream);
	g_object_unref(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	msg_r->top = g_mime_parser_construct_part(parser, NULL);
	end = g_mime_parser_get_headers_end(parser);
	g_object_unref(parser);
	if (msg_r->top == NULL) {
		g_set_error(error, MESSAGE_ERROR, 0,
			    "the message could not be parsed");
		return -1;
	}
	msg_r->headers = g_mime_object_get_header_list(msg_r->top);
	terminate_headers(msg_r->headers);
	/* no blank line after the headers: the message has no body */
	msg_r->body = end < 0 ? size : (off_t)end;
	if (msg_r->body < msg_r->start || msg_r->body > size)
		msg_r->body = size;
	return 0;
}

void
message_clear(struct message *msg)
{
	g_clear_object(&msg->top);
	msg->headers = NULL;
}

const char *
message_header(const struct message *msg, const char *name)
{
	GMimeHeader *h = g_mime_header_list_get_header(msg->headers, name);

	return h != NULL ? g_mime_header_get_value(h) : NULL;
}

char *
message_author(const struct message *msg)
{
	GMimeHeader *h = g_mime_header_list_get_header(msg->headers, "From");
	InternetAddressList *list;
	char *out = NULL;

	if (h == NULL)
		return NULL;
	list = internet_address_list_parse(NULL, g_mime_header_get_raw_value(h));
	if (list == NULL)
		return NULL;
	for (int i = 0; i < internet_address_list_length(list) && !out; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			out = address_normalize(internet_address_mailbox_get_addr(
				INTERNET_ADDRESS_MAILBOX(ia)), NULL);
		/* only the first mailbox counts; a bad one is no author */
		break;
	}
	g_object_unref(list);
	return out;
}

char *
message_id(const struct message *msg)
{
	GMimeHeader *h = g_mime_header_list_get_header(msg->headers,
						       "Message-ID");
	char *id;

	if (h == NULL)
		return NULL;
	id = g_mime_utils_decode_message_id(g_mime_header_get_raw_value(h));
	if (id != NULL && (*id == '\0' || strlen(id) > 998)) {
		g_free(id);
		return NULL;
	}
	return id;
}

/* Copy [from, to) of IN_FD to OUT_FD: sendfile() where the kernel can,
 * large pread()/write() pairs where it cannot. */
static int
copy_range(int in_fd, off_t from, off_t to, int out_fd)
{
	char *buf = NULL;

	while (from < to) {
		ssize_t n = sendfile(out_fd, in_fd, &from,
				     (size_t)MIN(to - from, 1 << 30));
		if (n > 0)
			continue;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EINVAL && errno != ENOSYS)
			return -1;
		break; /* not supported here: fall back */
	}
	while (from < to) {
		ssize_t n;

		if (buf == NULL)
			buf = g_malloc(COPY_BUF);
		n = pread(in_fd, buf, (size_t)MIN(to - from, COPY_BUF), from);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || fdio_write_all(out_fd, buf, (size_t)n) < 0) {
			if (n == 0)
				errno = EIO; /* the spool file shrank */
			g_free(buf);
			return -1;
		}
		from += n;
	}
	g_free(buf);
	return 0;
}

int
message_write(const struct message *msg, int out_fd)
{
	char *head = g_mime_header_list_to_string(msg->headers, NULL);
	int rc = fdio_write_all(out_fd, head, strlen(head));

	g_free(head);
	if (rc < 0)
		return -1;
	if (msg->body >= msg->end)
		return fdio_write_all(out_fd, "\n", 1);
	return copy_range(msg->fd, msg->body, msg->end, out_fd);
}
