/* held.h - storing a post for a moderator (nonmember_action = hold). The
 * message is copied from the spool into a BLOB with SQLite's incremental
 * I/O, so its size does not cost memory, and committed before we exit 0.
 */
#ifndef SOARLIST_HELD_H
#define SOARLIST_HELD_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/catalog.h"
#include "soarlist/message.h"

struct held_info {
	const char *recipient;
	const char *sender;
	const char *author;
	const char *subject;
	const char *message_id;
	const char *reason;
};

/* Store the whole spooled message (from msg->start to msg->end). Returns the
 * new row id (> 0) or -1 with *error. */
gint64 held_store(sqlite3 *db, const struct list_ref *ref,
		  const struct message *msg, const struct held_info *info,
		  GError **error);

#endif
