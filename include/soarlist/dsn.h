/* dsn.h - reading a delivery status notification.
 *
 * The standard form is RFC 3464: multipart/report (report-type
 * delivery-status) holding a human-readable part, a message/delivery-status
 * part (a block of per-message fields, then one block of fields per
 * recipient: Final-Recipient, Original-Recipient, Action, Status,
 * Diagnostic-Code) and the returned message (message/rfc822) or its
 * headers (text/rfc822-headers). The common non-standard forms (Exim's
 * "This message was created automatically by mail delivery software",
 * qmail's "failure notice", old Microsoft servers) carry a status code such
 * as "5.1.1" in their text only; they are read as DSNs when they look like
 * one (from MAILER-DAEMON or postmaster, a delivery-failure subject, a
 * multipart/report) and a status is found next to the failed address.
 *
 * Only the header section and the first DSN_MAX_SCAN bytes of the body are
 * given to GMime, so memory stays bounded whatever the sender makes of the
 * body; every part that matters comes first in a real DSN.
 */
#ifndef SOARLIST_DSN_H
#define SOARLIST_DSN_H

#include <glib.h>

#include "soarlist/message.h"

#define DSN_MAX_SCAN (128 * 1024)

struct dsn {
	char *recipient;  /* the failed address, normalised */
	char *action;     /* "failed", "delayed", "delivered", ... lowercased */
	char *status;     /* "5.1.1": class.subject.detail, digits only */
	char *diagnostic; /* one printable line of at most 200 bytes, or NULL */
	char *message_id; /* of the returned post (no <>), or NULL */
	char *proof;      /* its X-Soarlist-Proof token, lowercased, or NULL */
	gboolean standard; /* from a message/delivery-status part */
	/* without a VERP address, the other failed recipients of a standard
	 * DSN (one notice may list several: a post sent without VERP), each
	 * with recipient, action, status and diagnostic only; or NULL */
	struct dsn *next;
};

/* Tells whether ADDRESS may be the failed recipient named in the text of a
 * non-standard DSN: 1 yes, 0 no, -1 with *error. */
typedef int (*dsn_candidate_fn)(const char *address, gpointer data,
				GError **error);

/* Read MSG as a DSN. WANT (may be NULL) is the address the DSN is about,
 * known from the VERP bounce address: its recipient block is used (else
 * the first failed one), and it is the recipient whatever the DSN says.
 * Without WANT the recipient comes from the first failed block (and the
 * other failed blocks with a status follow in dsn_r->next), or for a
 * non-standard DSN from the first address in its text that CANDIDATE (may
 * be NULL: any) accepts. Returns 1 and fills *dsn_r (clear with
 * dsn_clear), 0 when MSG is not a DSN (no recipient or no status found),
 * or -1 with *error (I/O on the spool file, a CANDIDATE error). */
int dsn_parse(const struct message *msg, const char *want,
	      dsn_candidate_fn candidate, gpointer data, struct dsn *dsn_r,
	      GError **error);

void dsn_clear(struct dsn *dsn);

/* g_auto(Dsn): dsn_clear() at the end of the scope (zeroed is cleared). */
typedef struct dsn Dsn;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Dsn, dsn_clear)

/* For a message dsn_parse() found no recipient in: when it looks like a
 * report all the same (a multipart/report, from a mail system, a subject
 * such as "Undelivered Mail"), the Message-ID and X-Soarlist-Proof of the
 * post it returns. Returns 1 with *message_id_r and *proof_r (newly
 * allocated; either may be NULL), 0 when it does not look like a report
 * (both NULL), or -1 with *error. */
int dsn_returned(const struct message *msg, char **message_id_r, char **proof_r,
		 GError **error);

/* The first status code "C.S.D" in TEXT (C 2, 4 or 5; S 0 to 7, D up to
 * three digits; not part of a longer dotted number), searched from byte
 * FROM; CLASSES lists the acceptable classes ("45"). Returns the byte
 * offset of the match (and *code_r, newly allocated) or -1. */
gssize dsn_find_status(const char *text, gsize from, const char *classes,
		       char **code_r);

#endif
