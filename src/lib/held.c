/* held.c - keeping a post for a moderator, in the database.
 *
 * The row is inserted with a zeroblob of the message's size and filled
 * with sqlite3_blob_write() from the spool file in chunks, inside one
 * IMMEDIATE transaction: the copy is either wholly committed or absent.
 */
#include "soarlist/held.h"

#include <errno.h>
#include <unistd.h>

#include "soarlist/db.h"

#define HELD_CHUNK (256 * 1024)

static int
copy_into_blob(sqlite3 *db, gint64 rowid, const struct message *msg,
	       GError **error)
{
	sqlite3_blob *blob = NULL;
	char *buf = g_malloc(HELD_CHUNK);
	off_t pos = msg->start;
	int rc = sqlite3_blob_open(db, "main", "held_message", "content",
				   rowid, 1, &blob);

	while (rc == SQLITE_OK && pos < msg->end) {
		ssize_t n = pread(msg->fd, buf,
				  (size_t)MIN(msg->end - pos, HELD_CHUNK), pos);
		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			g_set_error(error, DB_ERROR, DB_ERROR_FAILED,
				    "reading the spool file: %s",
				    n < 0 ? g_strerror(errno) : "short file");
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

gint64
held_store(sqlite3 *db, const struct list_ref *ref, const struct message *msg,
	   const struct held_info *info, GError **error)
{
	sqlite3_stmt *st = NULL;
	gint64 size = (gint64)(msg->end - msg->start), rowid;
	int rc;

	if (size > G_MAXINT) {
		g_set_error(error, DB_ERROR, DB_ERROR_FAILED,
			    "message too large to hold");
		return -1;
	}
	if (db_exec(db, "BEGIN IMMEDIATE", error) < 0)
		return -1;
	if (db_prepare(db, "INSERT INTO held_message (list_id, recipient, "
		       "sender, author, subject, message_id, reason, held_at, "
		       "size, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
		       "?9, zeroblob(?9))", &st, error) < 0)
		goto fail;
	sqlite3_bind_int64(st, 1, ref->id);
	sqlite3_bind_text(st, 2, info->recipient, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, info->sender, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, info->author, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, info->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, info->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, info->reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, g_get_real_time() / G_USEC_PER_SEC);
	sqlite3_bind_int64(st, 9, size);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		db_fail(db, rc, "storing the held message", error);
		goto fail;
	}
	rowid = sqlite3_last_insert_rowid(db);
	if (copy_into_blob(db, rowid, msg, error) < 0 ||
	    db_exec(db, "COMMIT", error) < 0)
		goto fail;
	return rowid;
fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}
