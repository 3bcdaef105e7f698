/* message.h - the parsed form of a spooled message: GMime reads it through a
 * persistent stream, so the body stays on disk; we keep the top-level header
 * list (all headers, in their original order) and where the body starts.
 */
#ifndef SOARLIST_MESSAGE_H
#define SOARLIST_MESSAGE_H

#include <gmime/gmime.h>

struct message {
	GMimeObject *top;         /* top-level MIME object, owns the headers */
	GMimeHeaderList *headers; /* borrowed from top */
	int fd;                   /* the spool file (borrowed) */
	off_t start;              /* first byte of the headers (after "From ") */
	off_t body;               /* first byte after the headers: the blank
				   * line and the body, copied verbatim */
	off_t end;                /* file size */
};

/* Parse the message in FD (SIZE bytes). Returns 0 or -1 with *error. */
int message_parse(int fd, off_t size, struct message *msg_r, GError **error);

void message_clear(struct message *msg);

/* Decoded value of the first header NAME, or NULL. Borrowed. */
const char *message_header(const struct message *msg, const char *name);

/* The first mailbox of the From header, normalised (newly allocated), or NULL
 * when there is none or it is invalid. */
char *message_author(const struct message *msg);

/* The Message-ID without angle brackets (newly allocated), or NULL. */
char *message_id(const struct message *msg);

/* Write the (possibly rewritten) headers, then the body bytes unchanged,
 * to OUT_FD. Returns 0 or -1 with errno set. */
int message_write(const struct message *msg, int out_fd);

#endif
