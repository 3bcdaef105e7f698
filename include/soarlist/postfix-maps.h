/* postfix-maps.h - the lookup tables Postfix needs, generated from the
 * database and the config into postfix_dir:
 *   domains        every domain of every synced club      -> OK
 *   transport      every domain of every synced club      -> soarlist:
 *   recipients     LIST, LIST-owner, LIST-bounces, LIST-request @DOMAIN
 *                                                          -> OK
 *   sender_logins  noreply@DOMAIN                          -> app_login
 * Each is written to a temporary name, postmap-ed, and renamed into place,
 * and only when its content changed.
 */
#ifndef SOARLIST_POSTFIX_MAPS_H
#define SOARLIST_POSTFIX_MAPS_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

/* the table names, NULL-terminated */
extern const char *const postfix_map_names[];

/* the Postfix transport that runs soarlist-deliver */
#define POSTFIX_TRANSPORT "soarlist"

/* What table NAME should contain now. Newly allocated, or NULL with
 * *error. */
char *postfix_maps_render(sqlite3 *db, const struct config *cfg,
			  const char *name, GError **error);

/* TRUE when the database of the table source PATH exists and is at least
 * as new as PATH. */
gboolean postfix_maps_db_current(const char *path);

/* Bring every table in cfg->postfix_dir up to date. CHANGED_R (may be NULL)
 * receives the names of the tables rewritten (a new array of strings).
 * Returns 0, or -1 with *error: then no table was replaced (all changed
 * tables are built before any is put in place). */
int postfix_maps_write(sqlite3 *db, const struct config *cfg,
		       GPtrArray **changed_r, GError **error);

#endif
