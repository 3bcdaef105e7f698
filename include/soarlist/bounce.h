/* bounce.h - bounce processing for LIST-bounces@DOMAIN and its VERP form
 * LIST-bounces+user=host@DOMAIN.
 *
 * A delivery status notification (RFC 3464 multipart/report;
 * report-type=delivery-status, and the common non-standard forms that only
 * carry a status code in their text) is parsed with GMime (see dsn.h). A
 * permanent mailbox failure (Action: failed with 5.1.x or 5.2.x, but for
 * 5.1.7/5.1.8 about our sender address and 5.2.3 about the post's size)
 * scores the address at most once per day for its club; delays, 4.x.x and
 * policy or content refusals (5.7.x ...) do not. When BOUNCE_LIST_PROBLEM or
 * more recipients at one receiving domain fail one post with one status, that
 * is a list problem: none of them is scored, and the owners get one notice. At
 * bounce_threshold scores within bounce_window the address is disabled for
 * the club's list mail and the owners get one notice.
 *
 * A DSN to the plain LIST-bounces@DOMAIN is attributed from its recipient
 * fields; on a list with verp = probe (verp.h) such an unconfirmed bounce
 * never disables: at the threshold the address is marked to probe, and
 * only a bounce of the probe (to the VERP address) disables it. A verified
 * one naming no member of the club marks the list, whose next post goes
 * to every member with VERP.
 *
 * Only a DSN that proves it answers a post of the list (its returned
 * headers carry the post's X-Soarlist-Proof token, see bounce-proof.h)
 * counts for any of this; any other permanent failure scores nobody, is
 * logged, and when it names a member of the club is recorded as
 * unverified for `soarlist bounces`.
 */
#ifndef SOARLIST_BOUNCE_H
#define SOARLIST_BOUNCE_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/catalog.h"
#include "soarlist/config.h"
#include "soarlist/message.h"
#include "soarlist/recipient.h"

#define BOUNCE_LIST_PROBLEM 3

enum bounce_outcome {
	BOUNCE_NOT_A_DSN = 0, /* forward it to the owners, never the list */
	BOUNCE_SCORED,        /* a permanent mailbox failure, counted */
	BOUNCE_IGNORED,       /* a DSN that says nothing about the address
			       * (delay, 4.x.x, 5.7.x, already scored today,
			       * part of a list problem) */
	BOUNCE_DISABLED,      /* scored, and the address is now disabled */
	BOUNCE_UNVERIFIED,    /* a permanent failure that does not prove it
			       * answers a post of the list (bounce-proof.h):
			       * nobody is scored; a member's is recorded */
};

/* Process the message MSG sent to RCPT (kind RECIPIENT_BOUNCES) of list
 * REF. Owner notices go out through notice_send(). Returns the outcome
 * (>= 0) and sets *detail_r (may be NULL; newly allocated, one printable
 * line for the log: address, status), or -1 with *error (temporary: the
 * caller defers). */
int bounce_process(sqlite3 *db, const struct config *cfg,
		   const struct list_ref *ref, const struct recipient *rcpt,
		   const struct message *msg, char **detail_r, GError **error);

/* One address in bounce_report(): its scores within bounce_window, and
 * whether it is disabled. */
struct bounce_row {
	char *club_slug;
	char *address;
	guint scores;            /* within bounce_window */
	gint64 last_at;          /* unix time of the latest score; 0: none */
	char *last_status;       /* of the latest score, or NULL */
	gint64 disabled_at;      /* 0: not disabled */
	char *reason;            /* why it was disabled, or NULL */
	guint unverified;        /* unproven DSNs within bounce_window */
	gint64 unverified_at;    /* unix time of the latest; 0: none */
	char *unverified_status; /* of the latest, or NULL */
	gint64 probe_at;      /* to probe with VERP since (unix time); 0: no */
	gint64 probe_sent_at; /* the probe went out at; 0: not yet */
};

/* The addresses with scores or unverified DSNs within CFG's bounce_window
 * or disabled, of
 * club CLUB_ID (0: every club) and, when LIST_ID is not 0, on that list;
 * disabled ones first, then the scored ones, then those with only
 * unverified DSNs, each by club and address. Returns a new array of
 * struct bounce_row * (free with g_ptr_array_unref) or NULL with *error. */
GPtrArray *bounce_report(sqlite3 *db, const struct config *cfg, gint64 club_id,
			 gint64 list_id, GError **error);

/* A list whose next post goes to every member with VERP (a verified
 * bounce named no member of the club), within bounce_window. */
struct bounce_list_probe {
	char *club_slug;
	char *list;     /* its name */
	gint64 at;      /* asked for at (unix time) */
	gint64 sent_at; /* the probe went out at; 0: not yet */
};

/* The list probes of club CLUB_ID (0: every club) and, when LIST is not
 * NULL, of that list (by name), by club and list. Returns a new array of
 * struct bounce_list_probe * (free with g_ptr_array_unref) or NULL with
 * *error. */
GPtrArray *bounce_list_probes(sqlite3 *db, const struct config *cfg,
			      gint64 club_id, const char *list, GError **error);

/* Re-enable ADDRESS in every club: lift its disabling and forget its
 * scores, unverified DSNs and VERP probe, so that the next bounce starts from
 * zero. Returns the number of rows removed (0: nothing to reset) or -1 with
 * *error. */
int bounce_reset(sqlite3 *db, const char *address, GError **error);

#endif
