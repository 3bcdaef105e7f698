/* held.c - keeping a post for a moderator, in the database.
 *
 * The row is inserted with a zeroblob of the message's size and filled
 * with sqlite3_blob_write() from the spool file in chunks, inside one
 * IMMEDIATE transaction: the copy is either wholly committed or absent.
 * Holding is idempotent: the very post held already on the list (same
 * sender, Message-ID and bytes) is not stored again but answered with its
 * row. A hold whose commit reached the disk although SQLite reported the
 * fsync failed, or an agent killed (an abort in g_malloc) after the commit
 * and before its exit status, makes Postfix retry a post that is held; the
 * retry must not hold it twice (issue 11, found by tests/blackbox/
 * test_faults.py).
 *
 * Acting on a post (moderate.c, expiry) starts with a claim: the row is
 * marked with the acting process (PID:STARTTIME, as seen.c names them) in
 * an IMMEDIATE transaction, so of two moderators acting at once one acts
 * and the other is told it was handled. The claim is given back when the
 * action fails, and only counts while its process lives (and for at most
 * an hour, seen_blocks()), so a crash leaves the post held.
 */
#include "soarlist/held.h"

#include <errno.h>
#include <sys/random.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/db.h"
#include "soarlist/fdio.h"
#include "soarlist/notice.h"
#include "soarlist/printable.h"
#include "soarlist/recipient.h"
#include "soarlist/seen.h"

#define HELD_CHUNK (256 * 1024)

/* The next chunk of MSG's bytes, at POS, into BUF (HELD_CHUNK bytes at
 * most): its length, or -1 with *error (a read error, or a spool file
 * shorter than the message). */
static ssize_t
read_chunk(const struct message *msg, char *buf, off_t pos, GError **error)
{
	ssize_t n;

	do
		n = pread(msg->fd, buf, (size_t)MIN(msg->end - pos, HELD_CHUNK),
			  pos);
	while (n < 0 && errno == EINTR);
	if (n > 0)
		return n;
	g_set_error(error, DB_ERROR, DB_ERROR_FAILED,
		    "reading the spool file: %s",
		    n < 0 ? g_strerror(errno) : "short file");
	return -1;
}

static int
copy_into_blob(sqlite3 *db, gint64 rowid, const struct message *msg,
	       GError **error)
{
	sqlite3_blob *blob = NULL;
	char *buf = g_malloc(HELD_CHUNK);
	off_t pos = msg->start;
	int rc = sqlite3_blob_open(db, "main", "held_message", "content", rowid,
				   1, &blob);

	while (rc == SQLITE_OK && pos < msg->end) {
		ssize_t n = read_chunk(msg, buf, pos, error);

		if (n < 0) {
			sqlite3_blob_close(blob);
			g_free(buf);
			return -1;
		}
		rc = sqlite3_blob_write(blob, buf, (int)n,
					(int)(pos - msg->start));
		pos += n;
	}
	g_free(buf);
	if (blob != NULL) {
		int crc = sqlite3_blob_close(blob);
		if (rc == SQLITE_OK)
			rc = crc;
	}
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "storing the held message", error);
	return 0;
}

/* 1 when the blob of row ROWID holds exactly the bytes of MSG, 0 when
 * not, -1 on an error. */
static int
same_content(sqlite3 *db, gint64 rowid, const struct message *msg,
	     GError **error)
{
	g_autofree char *ours = g_malloc(HELD_CHUNK);
	g_autofree char *theirs = g_malloc(HELD_CHUNK);
	sqlite3_blob *blob = NULL;
	off_t pos = msg->start;
	int rc = sqlite3_blob_open(db, "main", "held_message", "content", rowid,
				   0, &blob);
	int same = 1;

	while (rc == SQLITE_OK && same && pos < msg->end) {
		ssize_t n = read_chunk(msg, ours, pos, error);

		if (n < 0) {
			sqlite3_blob_close(blob);
			return -1;
		}
		rc = sqlite3_blob_read(blob, theirs, (int)n,
				       (int)(pos - msg->start));
		same = rc == SQLITE_OK && memcmp(ours, theirs, (size_t)n) == 0;
		pos += n;
	}
	if (blob != NULL) {
		int crc = sqlite3_blob_close(blob);
		if (rc == SQLITE_OK)
			rc = crc;
	}
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "comparing with a held message", error);
	return same;
}

/* The row (and *TOKEN_R) of the post MSG from INFO->sender held already on
 * list REF, inside the caller's transaction: 0 when there is none, -1 on
 * an error. */
static gint64
held_already(sqlite3 *db, const struct list_ref *ref, const struct message *msg,
	     const struct held_info *info, char **token_r, GError **error)
{
	g_autofree char *sender = printable_escape(info->sender);
	g_autofree char *msgid = printable_escape(info->message_id);
	sqlite3_stmt *st = NULL;
	gint64 found = 0;
	int rc;

	if (db_prepare(db,
		       "SELECT id, token FROM held_message WHERE list_id = ?1 "
		       "AND sender = ?2 AND message_id IS ?3 AND size = ?4 "
		       "AND token IS NOT NULL ORDER BY id",
		       &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, ref->id);
	sqlite3_bind_text(st, 2, sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, msgid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (gint64)(msg->end - msg->start));
	while (found == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		gint64 id = sqlite3_column_int64(st, 0);
		int same = same_content(db, id, msg, error);

		if (same < 0) {
			sqlite3_finalize(st);
			return -1;
		}
		if (same) {
			found = id;
			*token_r = g_strdup(
				(const char *)sqlite3_column_text(st, 1));
		}
	}
	if (found == 0 && rc != SQLITE_DONE) {
		db_fail(db, rc, "looking for the held message", error);
		found = -1;
	}
	sqlite3_finalize(st);
	return found;
}

/* 16 bytes from the kernel's CSPRNG as hex. Newly allocated. */
static char *
new_token(GError **error)
{
	guint8 raw[16];
	GString *hex;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		g_set_error(error, DB_ERROR, DB_ERROR_FAILED, "getrandom: %s",
			    g_strerror(errno));
		return NULL;
	}
	hex = g_string_new(NULL);
	for (gsize i = 0; i < sizeof(raw); i++)
		g_string_append_printf(hex, "%02x", raw[i]);
	return g_string_free(hex, FALSE);
}

gint64
held_find_token(sqlite3 *db, const char *token, GError **error)
{
	sqlite3_stmt *st = NULL;
	gint64 id = 0;
	int rc;

	if (db_stmt(db, "SELECT id FROM held_message WHERE token = ?1", &st,
		    error) < 0)
		return -1;
	sqlite3_bind_text(st, 1, token, -1, SQLITE_STATIC);
	rc = db_row(st, error);
	if (rc > 0)
		id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc < 0) {
		g_prefix_error(error, "looking up the token: ");
		return -1;
	}
	return id;
}

gint64
held_store(sqlite3 *db, const struct list_ref *ref, const struct message *msg,
	   const struct held_info *info, char **token_r, GError **error)
{
	g_autofree char *token = new_token(error);

	sqlite3_stmt *st = NULL;
	gint64 size = (gint64)(msg->end - msg->start), rowid;
	int rc;

	if (token == NULL)
		return -1;
	if (size > G_MAXINT) {
		g_set_error(error, DB_ERROR, DB_ERROR_FAILED,
			    "message too large to hold");
		return -1;
	}
	if (db_begin_write(db, DB_SYNCED, error) < 0)
		return -1;
	rowid = held_already(db, ref, msg, info, token_r, error);
	if (rowid < 0)
		goto fail;
	if (rowid > 0) {
		/* a retry of a post held already: nothing to write */
		db_rollback(db);
		return rowid;
	}
	if (db_prepare(db,
		       "INSERT INTO held_message (list_id, recipient, "
		       "sender, author, subject, message_id, reason, held_at, "
		       "size, content, token, club_id) VALUES (?1, ?2, ?3, "
		       "?4, ?5, ?6, ?7, ?8, ?9, zeroblob(?9), ?10, ?11)",
		       &st, error) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, ref->id);
	/* stored printable: `soarlist held` shows them on a terminal */
	sqlite3_bind_text(st, 2, printable_escape(info->recipient), -1, g_free);
	sqlite3_bind_text(st, 3, printable_escape(info->sender), -1, g_free);
	sqlite3_bind_text(st, 4, printable_escape(info->author), -1, g_free);
	sqlite3_bind_text(st, 5, printable_escape(info->subject), -1, g_free);
	sqlite3_bind_text(st, 6, printable_escape(info->message_id), -1,
			  g_free);
	sqlite3_bind_text(st, 7, printable_escape(info->reason), -1, g_free);
	sqlite3_bind_int64(st, 8, g_get_real_time() / G_USEC_PER_SEC);
	sqlite3_bind_int64(st, 9, size);
	sqlite3_bind_text(st, 10, token, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 11, ref->club_id);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_fail(db, rc, "storing the held message", error);
		goto fail;
	}
	rowid = sqlite3_last_insert_rowid(db);
	if (copy_into_blob(db, rowid, msg, error) < 0)
		goto fail;
	/* a count that fails is lost, the post is not */
	if (info->count != NULL)
		stats_count(db, info->count, NULL);
	if (db_commit(db, error) < 0)
		goto fail;
	*token_r = g_steal_pointer(&token);
	return rowid;
fail:
	db_rollback(db);
	return -1;
}

static char *
col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t != NULL ? g_strdup((const char *)t) : NULL;
}

#define HELD_COLUMNS \
	"id, recipient, sender, author, subject, message_id, " \
	"reason, held_at, size, list_id, claimed_by, claimed_at"

/* R from a row of HELD_COLUMNS, as process SELF sees it */
static void
fill_row(sqlite3_stmt *st, struct held_row *r, const char *self)
{
	const char *plus, *owner;

	r->id = sqlite3_column_int64(st, 0);
	r->recipient = col(st, 1);
	r->sender = col(st, 2);
	/* printable again: rows stored before they were kept printable */
	r->author = printable_take(col(st, 3));
	r->subject = printable_take(col(st, 4));
	r->message_id = printable_take(col(st, 5));
	r->reason = printable_take(col(st, 6));
	r->held_at = sqlite3_column_int64(st, 7);
	r->size = sqlite3_column_int64(st, 8);
	r->list_id = sqlite3_column_int64(st, 9);
	owner = (const char *)sqlite3_column_text(st, 10);
	r->busy = owner != NULL &&
		  seen_blocks("sending", owner, sqlite3_column_int64(st, 11),
			      g_get_real_time() / G_USEC_PER_SEC, self);
	/* the post address, without a +extension */
	plus = r->recipient ? strchr(r->recipient, '+') : NULL;
	if (plus != NULL && strrchr(plus, '@') != NULL) {
		char *local = g_strndup(r->recipient,
					(gsize)(plus - r->recipient));
		r->list_address = g_strconcat(local, strrchr(plus, '@'), NULL);
		g_free(local);
	} else {
		r->list_address = g_strdup(r->recipient);
	}
}

void
held_row_clear(struct held_row *r)
{
	g_clear_pointer(&r->list_address, g_free);
	g_clear_pointer(&r->recipient, g_free);
	g_clear_pointer(&r->sender, g_free);
	g_clear_pointer(&r->author, g_free);
	g_clear_pointer(&r->subject, g_free);
	g_clear_pointer(&r->message_id, g_free);
	g_clear_pointer(&r->reason, g_free);
}

void
held_row_free(gpointer row)
{
	held_row_clear(row);
	g_free(row);
}

GPtrArray *
held_list(sqlite3 *db, gint64 list_id, GError **error)
{
	g_autofree char *self = seen_process_owner(getpid());
	sqlite3_stmt *st = NULL;
	GPtrArray *out;
	int rc;

	if (db_prepare(db,
		       "SELECT " HELD_COLUMNS " FROM held_message WHERE "
		       "?1 = 0 OR list_id = ?1 ORDER BY id",
		       &st, error) < 0)
		return NULL;
	sqlite3_bind_int64(st, 1, list_id);
	out = g_ptr_array_new_with_free_func(held_row_free);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct held_row *r = g_new0(struct held_row, 1);
		fill_row(st, r, self);
		g_ptr_array_add(out, r);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		g_ptr_array_unref(out);
		db_fail(db, rc, "reading held posts", error);
		return NULL;
	}
	return out;
}

int
held_get(sqlite3 *db, gint64 id, struct held_row *row_r, GError **error)
{
	g_autofree char *self = seen_process_owner(getpid());
	sqlite3_stmt *st = NULL;
	int rc;

	memset(row_r, 0, sizeof(*row_r));
	if (db_prepare(db,
		       "SELECT " HELD_COLUMNS " FROM held_message "
		       "WHERE id = ?1",
		       &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		fill_row(st, row_r, self);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return db_fail(db, rc, "reading the held post", error);
}

/* Run SQL with ?1 = ID, ?2 = this process and, where SQL uses it, ?3 =
 * now, and check that it changed one row. Returns 1, 0 when it changed
 * none, -1 with *error. */
static int
claim_step(sqlite3 *db, const char *sql, gint64 id, const char *what,
	   GError **error)
{
	g_autofree char *self = seen_process_owner(getpid());
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db, sql, &st, error) < 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, self, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, g_get_real_time() / G_USEC_PER_SEC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_fail(db, rc, what, error);
	return sqlite3_changes(db) == 1;
}

/* TRUE when held post ID once existed: ids come from AUTOINCREMENT, never
 * reused, and sqlite_sequence keeps the largest one given. 1, 0 or -1. */
static int
id_was_used(sqlite3 *db, gint64 id, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc, used = 0;

	if (db_stmt(db,
		    "SELECT seq FROM sqlite_sequence WHERE name = "
		    "'held_message'",
		    &st, error) < 0)
		return -1;
	rc = db_row(st, error);
	if (rc > 0)
		used = id <= sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc < 0) {
		g_prefix_error(error, "reading held post ids: ");
		return -1;
	}
	return used;
}

int
held_claim(sqlite3 *db, gint64 id, struct held_row *row_r, GError **error)
{
	int rc;

	memset(row_r, 0, sizeof(*row_r));
	if (db_begin_write(db, DB_SYNCED, error) < 0)
		return -1;
	/* nobody else writes until COMMIT: what we read is what we change */
	rc = held_get(db, id, row_r, error);
	if (rc == 1 && row_r->busy) {
		rc = HELD_BUSY;
	} else if (rc == 1) {
		rc = claim_step(db,
				"UPDATE held_message SET claimed_by = ?2, "
				"claimed_at = ?3 WHERE id = ?1",
				id, "claiming the held post", error);
		rc = rc < 0 ? -1 : rc == 1 ? HELD_CLAIMED : HELD_HANDLED;
	} else if (rc == 0) {
		rc = id_was_used(db, id, error);
		rc = rc < 0 ? -1 : rc == 1 ? HELD_HANDLED : HELD_UNKNOWN;
	}
	if (rc < 0 || db_commit(db, error) < 0) {
		db_rollback(db);
		held_row_clear(row_r);
		return -1;
	}
	if (rc != HELD_CLAIMED)
		held_row_clear(row_r);
	return rc;
}

int
held_release(sqlite3 *db, gint64 id, GError **error)
{
	if (db_durability(db, DB_SYNCED, error) < 0)
		return -1;
	return claim_step(db,
			  "UPDATE held_message SET claimed_by = NULL, "
			  "claimed_at = NULL WHERE id = ?1 AND claimed_by = ?2",
			  id, "giving the held post back", error) < 0
		       ? -1
		       : 0;
}

int
held_extract(sqlite3 *db, gint64 id, int fd, GError **error)
{
	sqlite3_blob *blob = NULL;
	char *buf;
	int size, rc;

	rc = sqlite3_blob_open(db, "main", "held_message", "content", id, 0,
			       &blob);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "reading the held post", error);
	size = sqlite3_blob_bytes(blob);
	buf = g_malloc(HELD_CHUNK);
	for (int off = 0; off < size && rc == SQLITE_OK; off += HELD_CHUNK) {
		int n = MIN(HELD_CHUNK, size - off);
		rc = sqlite3_blob_read(blob, buf, n, off);
		if (rc == SQLITE_OK && fdio_write_all(fd, buf, (size_t)n) < 0) {
			g_set_error(error, DB_ERROR, DB_ERROR_FAILED,
				    "writing the held post: %s",
				    g_strerror(errno));
			sqlite3_blob_close(blob);
			g_free(buf);
			return -1;
		}
	}
	g_free(buf);
	sqlite3_blob_close(blob);
	if (rc != SQLITE_OK)
		return db_fail(db, rc, "reading the held post", error);
	return 0;
}

int
held_delete(sqlite3 *db, gint64 id, GError **error)
{
	gint64 deadline = g_get_monotonic_time() + DB_AFTER_THE_FACT_MS * 1000;
	int rc;

	/* synced: once handled, a held post must not come back. It was
	 * handled (sent, or its sender told): a lock only delays this, or
	 * the claim would lapse with this process and the post be handled
	 * twice. */
	do
		rc = db_durability(db, DB_SYNCED, error) < 0
			     ? -1
			     : claim_step(db,
					  "DELETE FROM held_message WHERE id = "
					  "?1 AND claimed_by = ?2",
					  id, "forgetting the held post",
					  error);
	while (rc < 0 && db_retry_busy(deadline, error));

	if (rc == 0)
		g_set_error(error, DB_ERROR, DB_ERROR_FAILED,
			    "held post %" G_GINT64_FORMAT
			    " is no longer claimed by this "
			    "process",
			    id);
	return rc == 1 ? 0 : -1;
}

int
held_tell_sender(const struct config *cfg, const struct held_row *row,
		 const char *why, const char *reason, GError **error)
{
	g_autoptr(GPtrArray) to = g_ptr_array_new();
	const char *at = strchr(row->list_address, '@');
	g_autofree char *local = g_strndup(row->list_address,
					   at ? (gsize)(at - row->list_address)
					      : strlen(row->list_address));
	g_autofree char *from = at ? recipient_format(RECIPIENT_OWNER, local,
						      at + 1, NULL)
				   : g_strdup_printf("%s-owner", local);
	g_autofree char *subject = g_strdup_printf("Your post to %s was not "
						   "accepted",
						   row->list_address);
	g_autofree char *body = g_strdup_printf(
		"Your post to %s %s.\n\n  Subject: %s\n%s%s%s\n",
		row->list_address, why, row->subject ? row->subject : "(none)",
		reason ? "  Reason:  " : "", reason ? reason : "",
		reason ? "\n" : "");

	if (row->sender == NULL || *row->sender == '\0')
		return 0; /* nobody to tell */
	g_ptr_array_add(to, row->sender);
	/* null envelope sender: an answer about a post must not bounce */
	return notice_send(cfg, "", from, NULL, to, subject, body, error);
}

/* TRUE when held post R is a suspended club's: its moderators cannot
 * approve it (the club refuses all mail), so it waits, never expires. */
static gboolean
of_suspended_club(const struct config *cfg, const struct held_row *r)
{
	const char *at = strrchr(r->recipient, '@');
	const struct club_config *club = at != NULL ? config_club_by_domain(
							      cfg, at + 1)
						    : NULL;

	return club != NULL && club->state == CLUB_SUSPENDED;
}

int
held_expire(sqlite3 *db, const struct config *cfg, GError **error)
{
	gint64 limit = g_get_real_time() / G_USEC_PER_SEC -
		       (gint64)cfg->hold_days * 86400;
	GPtrArray *rows = held_list(db, 0, error);
	char *why;
	int n = 0;

	if (rows == NULL)
		return -1;
	why = g_strdup_printf("was held for moderation and not handled within "
			      "%u days",
			      cfg->hold_days);
	for (guint i = 0; i < rows->len && n >= 0; i++) {
		const struct held_row *r = g_ptr_array_index(rows, i);
		struct held_row row;
		int rc;

		if (r->held_at >= limit || r->busy || of_suspended_club(cfg, r))
			continue;
		/* a moderator may be acting on it right now */
		rc = held_claim(db, r->id, &row, error);
		if (rc != HELD_CLAIMED) {
			n = rc < 0 ? -1 : n;
			continue;
		}
		if (held_tell_sender(cfg, &row, why, NULL, error) < 0) {
			held_release(db, row.id, NULL);
			n = -1;
		} else if (held_delete(db, row.id, error) < 0) {
			n = -1;
		} else {
			n++;
		}
		held_row_clear(&row);
	}
	g_free(why);
	g_ptr_array_unref(rows);
	return n;
}
