/* deliver-internal.h - what deliver.c shares with deliver-moderation.c:
 * the state of one delivery and the helpers that report its outcome.
 * Private to the library.
 */
#ifndef SOARLIST_DELIVER_INTERNAL_H
#define SOARLIST_DELIVER_INTERNAL_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/catalog.h"
#include "soarlist/deliver.h"
#include "soarlist/message.h"
#include "soarlist/recipient.h"
#include "soarlist/spool.h"

struct job {
	const struct deliver_request *req;
	gint64 t0;
	struct spool spool;
	struct recipient rcpt;
	sqlite3 *db;
	struct message msg;
	struct list_ref list;
	char *author;
	char *msgid;
	/* why a post under require_auth = dmarc was distributed (the trusted
	 * result that authenticated it): the reason of its log line */
	char *auth_why;
	gboolean in_read_txn;
};

/* One printable line for the MTA on stderr (pipe(8) puts it in the bounce
 * or the defer reason). */
void deliver_tell_mta(const char *text);

/* The one log line for the message: DECISION, RECIPIENTS, DETAIL (may be
 * NULL). */
void deliver_log(const struct job *j, const char *decision, guint recipients,
		 const char *detail);

/* Tell the MTA and the log that WHAT failed (ERR may be NULL). Returns
 * EX_TEMPFAIL. */
int deliver_tempfail(struct job *j, const char *what, const GError *err);

/* End the read transaction of the resolution, if one is open. */
void deliver_end_read(struct job *j);

/* Add the list's owners (list_ref_owners) to RCPTS. */
void deliver_add_owners(const struct job *j, GPtrArray *rcpts);

/* deliver-moderation.c: store the post for the moderators and tell them.
 * Returns EX_OK or EX_TEMPFAIL. */
int deliver_hold(struct job *j, const char *reason);

/* deliver-moderation.c: an owner's reply to LIST-request+TOKEN@DOMAIN.
 * Returns EX_OK, EX_NOPERM or EX_TEMPFAIL. */
int deliver_moderation_reply(struct job *j);

#endif
