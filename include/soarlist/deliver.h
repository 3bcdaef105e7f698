/* deliver.h - the delivery agent's whole job for one message: spool, parse,
 * resolve, decide, rewrite, reinject, record. Returns a sysexits status.
 */
#ifndef SOARLIST_DELIVER_H
#define SOARLIST_DELIVER_H

#include <glib.h>

#include <sqlite3.h>

#include "soarlist/config.h"
#include "soarlist/held.h"

struct deliver_request {
	const struct config *cfg;
	const char *sender;    /* envelope sender, "" for the null sender */
	const char *recipient; /* the address Postfix delivers to */
	int in_fd;             /* the message */
};

/* Deliver one message. Returns EX_OK, EX_NOUSER, EX_NOPERM or EX_TEMPFAIL
 * (see DESIGN.md); for anything but EX_OK one line for the MTA has been
 * written to stderr, and every outcome has been logged. */
int deliver_run(const struct deliver_request *req);

/* Distribute held post ROW, which a moderator approved, as the delivery
 * agent would (decide without the posting policy, act), in DB. Logged;
 * nothing is written to stderr: the caller reports. 0, or -1 with *error:
 * MODERATE_STATUS_ERROR, its code the exit status the agent would have
 * returned, when the post was not distributed (moderate.h's
 * moderate_distribute_fn). */
int deliver_approved(const struct config *cfg, sqlite3 *db,
		     const struct held_row *row, GError **error);

#endif
