/* footer-internal.h - what footer.c, footer-text.c, footer-wrap.c and
 * footer-out.c share: one footer_apply() call (struct footer_job) and the
 * helpers that write the new body. Private to src/lib.
 */
#ifndef SOARLIST_FOOTER_INTERNAL_H
#define SOARLIST_FOOTER_INTERNAL_H

#include <sys/types.h>

#include <gmime/gmime.h>

#include "soarlist/footer.h"

#define FOOTER_ERROR (g_quark_from_static_string("soarlist-footer"))
#define FOOTER_BUF (64 * 1024)
/* RFC 5322: a line is at most 998 characters without its CRLF */
#define MAX_LINE 998

/*
 * One footer_apply() call.
 */
struct footer_job {
	struct message *msg;
	const struct list_ref *ref;
	char *footer;           /* UTF-8, "\n" line ends, ends with "\n" */
	const char *nl;         /* the body's line end: "\n" or "\r\n" */
	GMimeContentType *type; /* top level; text/plain if none */
	GMimeContentEncoding encoding; /* top-level transfer encoding */
	gboolean encoding_unknown;     /* one GMime cannot decode */
	GMimeStream *out; /* a footer_out stream on the new body's file */
	/* what changes in the top-level header section */
	char *new_type;      /* raw Content-Type value, NULL: unchanged */
	const char *new_cte; /* Content-Transfer-Encoding, NULL: unchanged,
			      * "": removed */
	gboolean wrapped;    /* the Content-* headers moved into a part */
};

/* footer-out.c */

/* A GMime stream that writes to FD in large blocks and keeps its first
 * write error: every later write, flush or close fails with it. It cannot
 * read or seek. FD stays the caller's. Returns a new reference. */
GMimeStream *footer_out_new(int fd);

/* The bytes STREAM (from footer_out_new()) has handed to the kernel. */
gint64 footer_out_written(GMimeStream *stream);

/* footer.c */

/* Are the LEN bytes at S all ASCII? */
gboolean footer_is_ascii(const char *s, size_t len);

/* The length of the longest line of S, its "\n" not counted. */
size_t footer_longest_line(const char *s);

/* Is H a Content-* header field? */
gboolean footer_is_content_header(GMimeHeader *h);

/* Set *error from errno as "WHAT: reason". Returns -1. */
int footer_set_io_error(GError **error, const char *what);

/* The top-level Content-* header fields of MSG, raw, in their order.
 * Newly allocated: g_string_free() it. */
GString *footer_content_headers(const struct message *msg);

/* Write S to j->out with each "\n" as the body's line end. Returns 0 or
 * -1 with errno (no *error: the caller says what it was writing). */
int footer_put(struct footer_job *j, const char *s);

/* Copy [FROM, TO) of the body's file to j->out. Returns 0 or -1 with
 * *error. */
int footer_copy_raw(struct footer_job *j, off_t from, off_t to, GError **error);

/* The stream to write text to in transfer encoding ENC, in front of
 * j->out. Returns a new reference. */
GMimeStream *footer_encoder_stream(struct footer_job *j,
				   GMimeContentEncoding enc);

/* footer-text.c */

/* Append the footer to a text/plain post. Returns 1 (written), 0 when the
 * footer cannot be appended to this text (nothing written: the caller
 * wraps the post), or -1 with *error. */
int footer_text_append(struct footer_job *j, GError **error);

/* footer-wrap.c */

/* multipart/mixed with BOUNDARY: the footer part goes in before the close
 * delimiter. Returns 0 or -1 with *error. */
int footer_wrap_add_part(struct footer_job *j, const char *boundary,
			 GError **error);

/* Anything else: wrap the original entity in a new multipart/mixed with
 * the footer as its second part. Returns 0 or -1 with *error. */
int footer_wrap_entity(struct footer_job *j, GError **error);

#endif
