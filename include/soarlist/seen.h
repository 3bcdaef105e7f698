/* seen.h - duplicate suppression: Message-IDs distributed on a list in the
 * last SEEN_DAYS days. A post is claimed before sendmail runs (so that two
 * copies delivered at once, e.g. to two domains of one club, go out once)
 * and recorded as sent only after sendmail succeeded. The claim also gives
 * one copy per person across the lists of a club (seen.c).
 */
#ifndef SOARLIST_SEEN_H
#define SOARLIST_SEEN_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/stats.h"
#include <sys/types.h>

#define SEEN_DAYS 7

/* "PID:STARTTIME" naming process PID for claims (newly allocated). */
char *seen_process_owner(pid_t pid);

/* TRUE when a stored row (STATE 'sending' or 'sent', by OWNER, at AT)
 * still stands at time NOW for the process SELF: a 'sent' row for
 * SEEN_DAYS, a 'sending' row while its process lives (at most an hour). */
gboolean seen_blocks(const char *state, const char *owner, gint64 at,
		     gint64 now, const char *self);

/* Claim MESSAGE_ID on list LIST_ID of club CLUB_ID for this process.
 * Returns 1 when claimed, 0 when it was already distributed on the list
 * (or is being distributed right now by a live process), -1 with *error.
 * When claimed and MEMBERS_IO is not NULL (*MEMBERS_IO: the list's
 * members, catalog_recipients()), *RCPTS_R is set, in the same transaction,
 * to those of *MEMBERS_IO who do not have the post through another list of
 * the club (one on which MESSAGE_ID was sent): a new array of strings
 * borrowed from *MEMBERS_IO; otherwise it is NULL. While another list of
 * the club is sending the post (a live 'sending' claim), it waits for that
 * claim to end, and fails (DB_ERROR_BUSY: the caller defers) after a
 * minute. After such a wait, or when another list sent the post,
 * *MEMBERS_IO is replaced by the members read in the claim's transaction. */
int seen_claim(sqlite3 *db, gint64 club_id, gint64 list_id,
	       const char *message_id, GPtrArray **members_io,
	       GPtrArray **rcpts_r, GError **error);

/* After sendmail succeeded: mark the claim sent and, in the same
 * transaction, add COUNT (may be NULL) to the list's figures (stats.h).
 * Returns 0 or -1. */
int seen_commit(sqlite3 *db, gint64 list_id, const char *message_id,
		const struct stat_event *count, GError **error);

/* Forget the entries older than SEEN_DAYS, which block nothing any more:
 * `soarlist sync` does, from its timer, so that the delivery agent need
 * not. Returns how many or -1. */
int seen_expire(sqlite3 *db, GError **error);

/* After a failure: drop our claim so that Postfix's retry is not mistaken
 * for a duplicate. Returns 0 or -1. */
int seen_release(sqlite3 *db, gint64 list_id, const char *message_id,
		 GError **error);

#endif
