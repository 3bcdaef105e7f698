/* deliver-internal.h - what deliver.c shares with the files of act()'s
 * larger branches: deliver-post.c (distributing a post),
 * deliver-owners.c (forwarding to the owners, scoring a bounce) and
 * deliver-moderation.c (holding a post, acting on a moderator's reply).
 * Private to the library.
 */
#ifndef SOARLIST_DELIVER_INTERNAL_H
#define SOARLIST_DELIVER_INTERNAL_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/decide.h"
#include "soarlist/deliver.h"
#include "soarlist/message.h"
#include "soarlist/spool.h"

/* One message through intake, decide, act and report. */
struct job {
	const struct config *cfg;
	const char *sender;    /* envelope sender */
	const char *recipient; /* the address Postfix delivers to */
	/* FALSE for an approved post: the moderator's reply or command
	 * reports, so the MTA is told one line, by its caller */
	gboolean tell_mta;
	gint64 t0;
	struct spool spool;
	sqlite3 *db;
	struct message msg;
};

/* Turn V into a deferral: "4.3.0 WHAT: ERR" (ERR may be NULL). */
void act_defer(struct verdict *v, const char *what, const GError *err);

/* The branches of act(), each setting V's outcome to what happened (a
 * failure makes it OUTCOME_DEFER, act_defer()). */

/* deliver-post.c: claim the post for the list (one copy per person,
 * duplicates), rewrite it and hand it to sendmail. Returns TRUE when it
 * took the claim, which act() then commits or releases. */
gboolean act_distribute(struct job *j, struct verdict *v);

/* deliver-owners.c: forward -owner mail to the owners; score a DSN sent
 * to -bounces, or forward what is no DSN. */
void act_forward(struct job *j, struct verdict *v);
void act_bounce(struct job *j, struct verdict *v);

/* deliver-moderation.c: store the post for the moderators and tell them;
 * act on a moderator's reply. */
void act_hold(struct job *j, struct verdict *v);
void act_moderate(struct job *j, struct verdict *v);

#endif
