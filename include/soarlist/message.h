/* message.h - the parsed form of a spooled message.
 *
 * The header section ends where Postfix says it ends: at the first line
 * that is neither a header ("Name:") nor a continuation. Only that section
 * is given to GMime (through a persistent stream bounded to it), so memory
 * depends on the headers alone, never on the body or its MIME structure;
 * the body stays on disk and is copied out byte for byte.
 */
#ifndef SOARLIST_MESSAGE_H
#define SOARLIST_MESSAGE_H

#include <gmime/gmime.h>

/* a header section larger than this is refused (Postfix's own limit per
 * header is 100 KB; no real message comes near) */
#define MESSAGE_MAX_HEADER (4 * 1024 * 1024)

/* a header field name longer than this is refused for good: RFC 5322
 * limits a whole line to 998 bytes, and GMime's parser fails on a name
 * that does not fit its 4 KB buffer (the message would wait in the queue
 * forever) */
#define MESSAGE_MAX_NAME 998

struct message {
	GMimeHeaderList *headers; /* all top-level headers, in order (owned) */
	int fd;                   /* the spool file (borrowed) */
	off_t start;            /* first byte of the headers (after "From ") */
	off_t body;             /* first byte after the headers: the blank
				 * line and the body, copied verbatim */
	off_t end;              /* file size */
	gboolean add_separator; /* no blank line ended the headers: write
				 * one before the body */
	/* where message_write() copies the body from: [body, end) of body_fd.
	 * message_parse() sets body_fd = fd; a footer (footer.c) points it at
	 * a file of its own holding the new body. */
	int body_fd;
	gboolean own_body_fd; /* body_fd is ours to close */
};

#define MESSAGE_ERROR (message_error_quark())
GQuark message_error_quark(void);

enum message_error_code {
	MESSAGE_ERROR_IO,         /* reading the spool failed: temporary */
	MESSAGE_ERROR_TOO_BIG,    /* header section over MESSAGE_MAX_HEADER */
	MESSAGE_ERROR_UNPARSABLE, /* a header section no parser accepts (a
				   * name over MESSAGE_MAX_NAME, or GMime
				   * refuses it): permanent */
};

/* Parse the message in FD (SIZE bytes). Returns 0 or -1 with *error. */
int message_parse(int fd, off_t size, struct message *msg_r, GError **error);

void message_clear(struct message *msg);

/* g_auto(Message) msg = { 0 }; calls message_clear() when msg goes out of
 * scope (safe on a zeroed or already cleared struct). The typedef is for
 * g_auto(), which pastes one identifier into a function name. */
typedef struct message Message;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Message, message_clear)

/* Decoded value of the first header NAME, or NULL. Borrowed. */
const char *message_header(const struct message *msg, const char *name);

/* The first mailbox of the From header, normalised (newly allocated), or NULL
 * when there is none or it is invalid. */
char *message_author(const struct message *msg);

/* The Message-ID without angle brackets, unfolded and made printable
 * (printable.h) for the log and the database (newly allocated), or NULL. */
char *message_id(const struct message *msg);

/* RAW, the raw value of a Message-ID field, decoded as message_id() does
 * (newly allocated), or NULL when empty or longer than 998 bytes. */
char *message_id_decode(const char *raw);

/* Write the (possibly rewritten) headers, then the body bytes unchanged,
 * to OUT_FD. Returns 0 or -1 with errno set. */
int message_write(const struct message *msg, int out_fd);

/* The MIME part (a whole message: headers, then body) read from STREAM
 * (taken), parsed through a persistent stream so that its content stays
 * where it is rather than in memory. NULL when GMime cannot parse it. */
GMimeObject *message_parse_part(GMimeStream *stream);

/* message_write() with the header block already serialized (HEAD,
 * HEAD_LEN bytes, from header_block_serialize()): what sendmail_send()
 * checked is exactly what is written. */
int message_write_head(const struct message *msg, const char *head,
		       size_t head_len, int out_fd);

#endif
