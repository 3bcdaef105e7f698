/* bounce-proof.h - proving that a bounce answers a post this list sent.
 *
 * Every copy a list distributes carries the header
 * "X-Soarlist-Proof: TOKEN", where TOKEN is a keyed hash (HMAC-SHA256,
 * 128 bits in hex) of the period, the list (club slug and list name) and
 * the Message-ID of the outgoing copy. A delivery status notification
 * returns the headers of the message that failed; only one whose returned
 * headers carry the token of their own Message-ID for this list, made in
 * the current or the previous period, proves that it answers one of our
 * posts. A stranger cannot make one: the key never leaves the database
 * (schema/008-bounce-proof.sql creates it once, 32 bytes from SQLite's
 * randomness, which reads /dev/urandom; the database is private to the
 * soarlist user).
 *
 * Postfix's sendmail -XV makes the VERP addresses itself, one per
 * recipient, from one envelope sender: a key per address would cost one
 * sendmail run per member. The token is therefore per post: a recipient of
 * a post sees it and could forge a bounce of that post for another
 * recipient; nobody else can.
 */
#ifndef SOARLIST_BOUNCE_PROOF_H
#define SOARLIST_BOUNCE_PROOF_H

#include <glib.h>
#include <gmime/gmime.h>
#include <sqlite3.h>

#include "soarlist/catalog.h"

#define BOUNCE_PROOF_HEADER "X-Soarlist-Proof"
/* seconds a key period lasts: a token is accepted in its own period and
 * in the next one, so for one to two weeks (Postfix gives up on a
 * message after 5 days) */
#define BOUNCE_PROOF_PERIOD (7 * 86400)

/* The token of MESSAGE_ID (without <>; NULL for a copy without one) on
 * list SLUG/LIST in period PERIOD (unix time / BOUNCE_PROOF_PERIOD), from
 * KEY. Newly allocated. */
char *bounce_proof_token(GBytes *key, gint64 period, const char *slug,
			 const char *list, const char *message_id);

/* The key, from DB. Returns a new GBytes or NULL with *error. */
GBytes *bounce_proof_key(sqlite3 *db, GError **error);

/* Remove every X-Soarlist-Proof header from HEADERS (a sender may have
 * written one), then add the token of the copy's Message-ID on list REF
 * for the current period. Returns 0, or -1 with *error (the key cannot be
 * read: the headers then carry no token). */
int bounce_proof_stamp(sqlite3 *db, const struct list_ref *ref,
		       GMimeHeaderList *headers, GError **error);

/* Whether PROOF (the token the returned headers carried, may be NULL) is
 * the token of MESSAGE_ID (may be NULL) on list REF for the period of NOW
 * or the one before. Returns 1 (proven), 0 (not) or -1 with *error. */
int bounce_proof_check(sqlite3 *db, const struct list_ref *ref,
		       const char *message_id, const char *proof, gint64 now,
		       GError **error);

#endif
