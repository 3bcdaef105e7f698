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

/* How a delivery ends: each outcome has one exit status (DESIGN.md's
 * table), one log word, and says whether the MTA is told a line (the
 * bounce or defer reason); deliver_report() is the one place they are
 * looked up. */
enum outcome {
	OUTCOME_DISTRIBUTE,
	OUTCOME_HOLD,
	OUTCOME_DISCARD,
	OUTCOME_DROP_LOOP,
	OUTCOME_DROP_AUTO_SUBMITTED,
	OUTCOME_DROP_DUPLICATE,
	OUTCOME_OWNER_FORWARD,    /* -owner mail to the owners */
	OUTCOME_BOUNCE_FORWARD,   /* -bounces mail that is no DSN */
	OUTCOME_BOUNCE_SCORED,
	OUTCOME_BOUNCE_IGNORED,
	OUTCOME_BOUNCE_DISABLED,
	OUTCOME_BOUNCE_UNVERIFIED,
	OUTCOME_MODERATE_APPROVE, /* a moderation reply acted on */
	OUTCOME_MODERATE_REJECT,
	OUTCOME_MODERATE_DISCARD,
	OUTCOME_REFUSE,           /* list policy or size: 77 */
	OUTCOME_NO_MEMBERS,       /* 77 */
	OUTCOME_MODERATE_REFUSED, /* a moderation reply refused: 77 */
	OUTCOME_NOUSER,           /* 67 */
	OUTCOME_UNPARSABLE,       /* 65 */
	OUTCOME_DEFER,            /* 75 */
};

/* Report OUTCOME of the delivery: the MTA's line (LINE; when the outcome
 * tells the MTA), the one log line (LINE as its reason, RECIPIENTS), and
 * the exit status, which it returns. */
int deliver_report(struct job *j, enum outcome outcome, guint recipients,
		   const char *line);

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
