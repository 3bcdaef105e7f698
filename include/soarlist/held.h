/* held.h - storing a post for a moderator (nonmember_action = hold). The
 * message is copied from the spool into a BLOB with SQLite's incremental
 * I/O, so its size does not cost memory, and committed before we exit 0.
 */
#ifndef SOARLIST_HELD_H
#define SOARLIST_HELD_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/stats.h"

#include "soarlist/catalog.h"
#include "soarlist/config.h"
#include "soarlist/message.h"

struct held_info {
	const char *recipient;
	const char *sender;
	const char *author;
	const char *subject;
	const char *message_id;
	const char *reason;
	/* added to the list's figures with the post (stats.h); may be NULL */
	const struct stat_event *count;
};

/* Store the whole spooled message (from msg->start to msg->end) with a new
 * unguessable token (*token_r, newly allocated: 32 lowercase hex digits).
 * The very post held already on the list (same sender, Message-ID, size
 * and bytes: Postfix retrying a hold that was stored) is not stored again:
 * its row and token are returned. Returns the row id (> 0) or -1 with
 * *error. */
gint64 held_store(sqlite3 *db, const struct list_ref *ref,
		  const struct message *msg, const struct held_info *info,
		  char **token_r, GError **error);

/* The id of the held post with TOKEN: > 0, 0 when none, -1 with *error. */
gint64 held_find_token(sqlite3 *db, const char *token, GError **error);

/* A held post as listed by held_list() (the content stays in the database). */
struct held_row {
	gint64 id;
	gint64 list_id;     /* 0 when the list is gone */
	char *list_address; /* LIST@DOMAIN as addressed, from recipient */
	char *recipient, *sender, *author, *subject, *message_id, *reason;
	gint64 held_at, size;
	gboolean busy; /* another process is acting on it right now */
};

void held_row_free(gpointer row);

/* Held posts, oldest first; only those addressed to list LIST_ID when it is
 * > 0. Returns a new array of struct held_row * or NULL with *error. */
GPtrArray *held_list(sqlite3 *db, gint64 list_id, GError **error);

/* Held post ID: 1 and *row_r filled (free its strings with held_row_free on
 * a heap copy, or held_row_clear), 0 when there is none, -1 with *error. */
int held_get(sqlite3 *db, gint64 id, struct held_row *row_r, GError **error);
void held_row_clear(struct held_row *row);

/* g_auto(HeldRow) row = { 0 } calls held_row_clear() at the end of the
 * scope; g_autoptr(HeldRow) p = g_new0(struct held_row, 1) calls
 * held_row_free(), and so does g_autoptr(GPtrArray) for held_list()'s
 * array. The typedef is for g_auto(), which pastes one identifier. */
typedef struct held_row HeldRow;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(HeldRow, held_row_clear)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HeldRow, held_row_free)

/* What held_claim() found. */
enum held_claim {
	HELD_CLAIMED, /* this process may act on it, then held_delete() it,
		       * or held_release() it when the action failed */
	HELD_UNKNOWN, /* no post ever had this id */
	HELD_HANDLED, /* it was held, and was acted on or expired since */
	HELD_BUSY,    /* another process is acting on it right now */
};

/* Claim held post ID for this process, in one IMMEDIATE transaction, so
 * that of several processes acting on it at once exactly one acts. A claim
 * by a process that is gone, or older than an hour, is taken over: a crash
 * mid-way leaves the post held, never lost. Returns an enum held_claim;
 * with HELD_CLAIMED *row_r is filled (free with held_row_clear); -1 with
 * *error. */
int held_claim(sqlite3 *db, gint64 id, struct held_row *row_r, GError **error);

/* Give this process's claim on held post ID back: the post is held again.
 * Returns 0 or -1 with *error. */
int held_release(sqlite3 *db, gint64 id, GError **error);

/* Write the content of held post ID to FD from offset 0, in chunks.
 * Returns 0 or -1 with *error. */
int held_extract(sqlite3 *db, gint64 id, int fd, GError **error);

/* Forget held post ID, which this process claimed. Returns 0, or -1 with
 * *error (also when the claim is no longer this process's). */
int held_delete(sqlite3 *db, gint64 id, GError **error);

/* Tell the sender of a held post that it was not accepted (REASON may be
 * NULL; WHY says what happened, e.g. "was not accepted by the list's
 * moderators"). Returns 0 or -1 with *error. */
int held_tell_sender(const struct config *cfg, const struct held_row *row,
		     const char *why, const char *reason, GError **error);

/* Posts held longer than cfg->hold_days: each is claimed, its sender is
 * told, then it is forgotten (a post a moderator is acting on is left to
 * them). Returns how many expired, or -1 with *error. */
int held_expire(sqlite3 *db, const struct config *cfg, GError **error);

#endif
