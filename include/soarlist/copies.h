/* copies.h - one copy per person: a post addressed to several lists of one
 * club (To: members@, Cc: board@) reaches each person once, whichever list
 * Postfix hands to soarlist-deliver first. Per club and Message-ID, each
 * address is claimed by the delivery that serves it ('sending'), marked
 * 'sent' after sendmail succeeded, or released after a failure.
 */
#ifndef SOARLIST_COPIES_H
#define SOARLIST_COPIES_H

#include <glib.h>
#include <sqlite3.h>

/* Of MEMBERS, those not yet given MESSAGE_ID through another list of club
 * CLUB_ID (nor being given it now by a live process); they are claimed for
 * this process. Returns a new array whose strings are borrowed from
 * MEMBERS, or NULL with *error. */
GPtrArray *copies_claim(sqlite3 *db, gint64 club_id, const char *message_id,
			GPtrArray *members, GError **error);

/* After sendmail succeeded: our claims become 'sent'; rows older than
 * SEEN_DAYS are forgotten. Returns 0 or -1 with *error. */
int copies_commit(sqlite3 *db, gint64 club_id, const char *message_id,
		  GError **error);

/* After a failure: drop our claims so the retry serves those people.
 * Returns 0 or -1 with *error. */
int copies_release(sqlite3 *db, gint64 club_id, const char *message_id,
		   GError **error);

#endif
