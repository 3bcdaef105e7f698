/* footer.h - a list's footer added MIME-correctly to a post:
 *   text/plain                 -> appended to the text after a blank line,
 *                                 re-encoded in the part's own transfer
 *                                 encoding (7bit, 8bit, quoted-printable,
 *                                 base64; 7bit text that gains 8-bit
 *                                 characters becomes quoted-printable) and
 *                                 written in the part's charset when the
 *                                 footer fits it; otherwise the whole text
 *                                 is converted to UTF-8 and relabelled
 *   multipart/mixed            -> a new text/plain part (inline) just
 *                                 before the close delimiter; every other
 *                                 byte unchanged
 *   multipart/alternative,
 *   multipart/signed, encrypted,
 *   an attachment, text whose
 *   charset is not what it says,
 *   anything else              -> wrapped in a new multipart/mixed with the
 *                                 footer as a second, text/plain part; the
 *                                 original entity (its Content-* headers
 *                                 and body bytes) is unchanged, so a
 *                                 signature stays valid
 *   message/partial            -> sent without the footer (a wrapped
 *                                 fragment cannot be reassembled), with a
 *                                 warning in the mail log
 * Placeholders {list_name}, {list_address} and {club_name} are replaced.
 * A message without a Content-Type is text/plain in us-ascii; a message
 * without a body gets the footer as its body.
 */
#ifndef SOARLIST_FOOTER_H
#define SOARLIST_FOOTER_H

#include <glib.h>

#include "soarlist/catalog.h"
#include "soarlist/message.h"

/* The footer text of REF with its placeholders filled in, or NULL when the
 * list has none. Newly allocated. */
char *footer_text(const struct list_ref *ref);

/* Add REF's footer (if any) to MSG: the new body is written to an unlinked
 * temporary file in SPOOL_DIR (NULL: $TMPDIR) and MSG is pointed at it
 * (body_fd, body, end, own_body_fd, add_separator); top-level MIME headers
 * that change (Content-Type, Content-Transfer-Encoding, MIME-Version) are
 * changed in msg->headers. The spool file itself is never written. The
 * original body is read through GMime streams (a text/plain part is
 * parsed with a persistent stream), so memory does not grow with the
 * message. Returns 0 (footer added, none configured, or deliberately left
 * out with a log line) or -1 with *error (I/O, e.g. disk full: the caller
 * defers; MSG is then unchanged). */
int footer_apply(struct message *msg, const struct list_ref *ref,
		 const char *spool_dir, GError **error);

#endif
