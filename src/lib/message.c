/* message.c - parsing a spooled message's headers with GMime and writing
 * the message back out.
 *
 * We find the end of the header section ourselves, with Postfix's rule, so
 * that what we treat as headers is exactly what Postfix (header_checks,
 * milters) treated as headers, and so that GMime only ever sees the header
 * section: a body with a million MIME parts costs nothing. GMime reads that
 * section through a persistent stream; the rewritten header block is
 * written from its header list (untouched headers keep their raw bytes) and
 * the body is copied from the spool file byte for byte.
 */
#include "soarlist/message.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "soarlist/address-list.h"
#include "soarlist/address.h"
#include "soarlist/fdio.h"
#include "soarlist/header-check.h"
#include "soarlist/printable.h"

#define COPY_BUF (256 * 1024)
#define SCAN_BUF (64 * 1024)

/* the quark's name is one token: the formatter must not space it */
/* clang-format off */
G_DEFINE_QUARK(soarlist-message-error-quark, message_error)
/* clang-format on */

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

/* One line of the header section, judged byte by byte as it is read, so
 * that a line of any length costs no memory: Postfix's is_header() (one or
 * more printable characters other than ':' and space, optional blanks,
 * then ':') as a state machine. */
struct line_scan {
	off_t len;
	size_t name_len;
	char head[2]; /* the first two bytes: an empty line, a continuation */
	enum { LINE_NAME, LINE_BLANK, LINE_HEADER, LINE_OTHER } state;
};

static void
line_feed(struct line_scan *l, char c)
{
	unsigned char u = (unsigned char)c;

	if (l->len < 2)
		l->head[l->len] = c;
	l->len++;
	if (l->state == LINE_NAME && u > 32 && u < 127 && c != ':') {
		l->name_len++;
	} else if (l->state == LINE_NAME || l->state == LINE_BLANK) {
		if (l->name_len > 0 && c == ':')
			l->state = LINE_HEADER;
		else if (l->name_len > 0 && (c == ' ' || c == '\t'))
			l->state = LINE_BLANK;
		else
			l->state = LINE_OTHER;
	}
}

/* What a whole line L (the last one may lack its newline) means, FIRST
 * when it is the first line: 1 a header or a continuation, 0 the end of
 * the headers, -1 with *error for a header no parser accepts. */
static int
line_end(const struct line_scan *l, gboolean first, gboolean *separator_r,
	 GError **error)
{
	if ((l->len == 1 && l->head[0] == '\n') ||
	    (l->len == 2 && l->head[0] == '\r' && l->head[1] == '\n'))
		return 0;
	if ((l->head[0] == ' ' || l->head[0] == '\t') && !first)
		return 1; /* continuation of the previous header */
	if (l->state != LINE_HEADER) {
		*separator_r = TRUE;
		return 0;
	}
	if (l->name_len > MESSAGE_MAX_NAME) {
		g_set_error(error, MESSAGE_ERROR, MESSAGE_ERROR_UNPARSABLE,
			    "header field name longer than %d bytes",
			    MESSAGE_MAX_NAME);
		return -1;
	}
	return 1;
}

static int
too_big(GError **error)
{
	g_set_error(error, MESSAGE_ERROR, MESSAGE_ERROR_TOO_BIG,
		    "header section larger than %d bytes", MESSAGE_MAX_HEADER);
	return -1;
}

/* Find where the header section that starts at msg->start ends: set
 * msg->body to the first byte that is not header, and add_separator when
 * that byte does not start an empty line. */
static int
find_body(struct message *msg, GError **error)
{
	char *buf = g_malloc(SCAN_BUF);
	struct line_scan line = { 0 };
	off_t pos = msg->start, line_start = msg->start;
	int more = 1; /* line_end(): 1 go on, 0 done, -1 error */

	while (more > 0 && pos < msg->end) {
		ssize_t n = pread(msg->fd, buf, SCAN_BUF, pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			g_set_error(error, MESSAGE_ERROR, MESSAGE_ERROR_IO,
				    "reading the spool file: %s",
				    n < 0 ? g_strerror(errno) : "short file");
			more = -1;
			break;
		}
		for (ssize_t i = 0; i < n && more > 0; i++) {
			line_feed(&line, buf[i]);
			if (buf[i] != '\n' && pos + i + 1 < msg->end)
				continue;
			more = line_end(&line, line_start == msg->start,
					&msg->add_separator, error);
			if (more > 0) {
				line_start = pos + i + 1;
				memset(&line, 0, sizeof(line));
			}
			if (more > 0 &&
			    line_start - msg->start > MESSAGE_MAX_HEADER)
				more = too_big(error);
		}
		pos += n;
		/* a header whose line goes on past the limit (a line of name
		 * characters is judged at its end: header, 65, or body) */
		if (more > 0 && line.state == LINE_HEADER &&
		    pos - msg->start > MESSAGE_MAX_HEADER)
			more = too_big(error);
	}
	msg->body = more == 0 ? line_start : msg->end;
	g_free(buf);
	return more < 0 ? -1 : 0;
}

/* Hand the header section [start, body) to GMime. */
GMimeObject *
message_parse_part(GMimeStream *stream)
{
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeObject *obj;

	g_object_unref(stream);
	g_mime_parser_set_persist_stream(parser, TRUE);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	obj = g_mime_parser_construct_part(parser, NULL);
	g_object_unref(parser);
	return obj;
}

static int
parse_headers(struct message *msg, GError **error)
{
	GMimeStream *stream;
	GMimeObject *top;
	int dupfd;

	if (msg->body == msg->start) {
		msg->headers = g_mime_header_list_new(NULL);
		return 0;
	}
	dupfd = fcntl(msg->fd, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0) {
		g_set_error(error, MESSAGE_ERROR, MESSAGE_ERROR_IO, "dup: %s",
			    g_strerror(errno));
		return -1;
	}
	stream = g_mime_stream_fs_new_with_bounds(dupfd, msg->start, msg->body);
	top = message_parse_part(stream);
	if (top == NULL) {
		/* find_body() has just read these bytes whole, and GMime
		 * judges only them: the same bytes get the same refusal on
		 * every retry, so it is permanent */
		g_set_error(error, MESSAGE_ERROR, MESSAGE_ERROR_UNPARSABLE,
			    "GMime cannot parse the header section");
		return -1;
	}
	msg->headers = g_object_ref(g_mime_object_get_header_list(top));
	g_object_unref(top);
	terminate_headers(msg->headers);
	return 0;
}

int
message_parse(int fd, off_t size, struct message *msg_r, GError **error)
{
	memset(msg_r, 0, sizeof(*msg_r));
	msg_r->fd = fd;
	msg_r->body_fd = fd;
	msg_r->end = size;
	msg_r->start = skip_mbox_line(fd, size);
	if (find_body(msg_r, error) < 0 || parse_headers(msg_r, error) < 0) {
		message_clear(msg_r);
		return -1;
	}
	return 0;
}

void
message_clear(struct message *msg)
{
	g_clear_object(&msg->headers);
	if (msg->own_body_fd && msg->body_fd >= 0)
		close(msg->body_fd);
	msg->own_body_fd = FALSE;
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
	list = address_list_parse(g_mime_header_get_raw_value(h));
	if (list == NULL)
		return NULL;
	for (int i = 0; i < internet_address_list_length(list) && !out; i++) {
		InternetAddress *ia = internet_address_list_get_address(list,
									i);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			out = address_of_mailbox(INTERNET_ADDRESS_MAILBOX(ia));
		/* only the first mailbox counts; a bad one is no author */
		break;
	}
	g_object_unref(list);
	return out;
}

char *
message_id_decode(const char *raw)
{
	char *unfolded = g_strdup(raw), *id;

	/* unfolded (a folded Message-ID is one value), then made printable:
	 * the ID goes into log lines and stored fields */
	for (char *p = unfolded, *q = unfolded;; p++) {
		if (*p != '\r' && *p != '\n')
			*q++ = *p;
		if (*p == '\0')
			break;
	}
	id = printable_take(g_mime_utils_decode_message_id(unfolded));
	g_free(unfolded);
	if (id != NULL && (*id == '\0' || strlen(id) > 998))
		g_clear_pointer(&id, g_free);
	return id;
}

char *
message_id(const struct message *msg)
{
	GMimeHeader *h = g_mime_header_list_get_header(msg->headers,
						       "Message-ID");

	return h != NULL ? message_id_decode(g_mime_header_get_raw_value(h))
			 : NULL;
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
	size_t len;
	char *head = header_block_serialize(msg->headers, &len);
	int rc = message_write_head(msg, head, len, out_fd);

	g_free(head);
	return rc;
}

int
message_write_head(const struct message *msg, const char *head, size_t head_len,
		   int out_fd)
{
	if (fdio_write_all(out_fd, head, head_len) < 0)
		return -1;
	/* the blank line between headers and body, unless the body has it */
	if ((msg->add_separator || msg->body >= msg->end) &&
	    fdio_write_all(out_fd, "\n", 1) < 0)
		return -1;
	return copy_range(msg->body_fd, msg->body, msg->end, out_fd);
}
