/* verp.h - handing a post to sendmail with or without VERP, as the list's
 * verp setting asks (soarlist.conf(5)).
 *
 * With -XV (VERP) Postfix makes one SMTP transaction per member and each
 * bounce comes back to LIST-bounces+user=host@DOMAIN, naming its member
 * for sure; without it, one transaction per destination, and a bounce
 * comes back to LIST-bounces@DOMAIN, its member read from the DSN's
 * Final-Recipient / Original-Recipient (bounce.h). verp = always sends
 * every post with -XV; never, none; probe (the default) sends none but to
 * the addresses to probe: those whose unconfirmed bounces would have
 * disabled them (schema/010-verp-probe.sql), or every member of a list
 * when a verified bounce of it named nobody the club knows.
 */
#ifndef SOARLIST_VERP_H
#define SOARLIST_VERP_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/catalog.h"
#include "soarlist/config.h"
#include "soarlist/message.h"

/* Hand MSG to sendmail (CFG's) for RCPTS (members' addresses) of LIST as
 * the list's verp setting asks: every run with -f LIST-bounces@DOMAIN
 * (DOMAIN as LIST was addressed); always: one -XV run; never: one plain
 * run; probe: a -XV run for the addresses to probe among RCPTS (all of
 * them when the list is to be probed), then one plain run for the others.
 * Returns 0 when every run succeeded (sendmail has queued the post for
 * every recipient), or -1 with *error when a run failed: then the caller
 * defers and Postfix retries the whole post. When the plain run fails
 * after the probe run succeeded, the probed addresses already have the
 * post and get it a second time from the retry (a handful of addresses at
 * most, never a loss); when the probe run fails, nothing was handed over.
 *
 * A successful probe run marks its addresses (or the list) as probed.
 * That write joins the caller's transaction if one is open (then a
 * rollback forgets it), else is a short one of its own; when it fails it
 * is logged and not an error: the post is out, and the worst outcome is a
 * second probe. RCPTS is not changed. */
int verp_send(const struct config *cfg, sqlite3 *db,
	      const struct list_ref *list, GPtrArray *rcpts,
	      struct message *msg, GError **error);

/* The addresses of club CLUB_ID to probe (not yet sent) and whether list
 * LIST of the club is to be probed as a whole: a new set of lowercased
 * addresses in *addresses_r (free with g_hash_table_unref) and *all_r.
 * Marks older than CFG's bounce_window do not count. Returns 0 or -1 with
 * *error. */
int verp_pending(const struct config *cfg, sqlite3 *db, gint64 club_id,
		 const char *list, GHashTable **addresses_r, gboolean *all_r,
		 GError **error);

#endif
