/* deliver.h - the delivery agent's whole job for one message: spool, parse,
 * resolve, decide, rewrite, reinject, record. Returns a sysexits status.
 */
#ifndef SOARLIST_DELIVER_H
#define SOARLIST_DELIVER_H

#include <glib.h>

#include "soarlist/config.h"

struct deliver_request {
	const struct config *cfg;
	const char *sender;    /* envelope sender, "" for the null sender */
	const char *recipient; /* the address Postfix delivers to */
	int in_fd;             /* the message */
	gboolean approved;     /* a held post a moderator approved: the
				* posting policy is not applied again */
};

/* Deliver one message. Returns EX_OK, EX_NOUSER, EX_NOPERM or EX_TEMPFAIL
 * (see DESIGN.md); for anything but EX_OK one line for the MTA has been
 * written to stderr, and every outcome has been logged. */
int deliver_run(const struct deliver_request *req);

#endif
