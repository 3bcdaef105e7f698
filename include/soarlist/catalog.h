/* catalog.h - read-only queries on the synced cache: resolving a list
 * address, membership, whitelist and member lists.
 */
#ifndef SOARLIST_CATALOG_H
#define SOARLIST_CATALOG_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"
#include "soarlist/recipient.h"

/* A list as addressed in one message. */
struct list_ref {
	gint64 id;
	gint64 club_id;
	const struct club_config *club; /* borrowed from the config */
	char *name;                     /* "members" */
	char *domain;                   /* as addressed, lowercased */
	char *address;                  /* "members@ssc.manage2soar.com" */
	char *display; /* "Members", or the display_name override */
	gboolean bypass;
	struct list_settings settings; /* strings borrowed from the config */
};

/* Resolve list NAME at DOMAIN. Returns 1 and fills *ref_r (clear with
 * list_ref_clear), 0 when the domain or list does not exist, or -1 with
 * *error (database errors; a club in the config that was never synced is
 * DB_ERROR_OPEN: a temporary condition, not "no such list"). */
int catalog_resolve(sqlite3 *db, const struct config *cfg, const char *name,
		    const char *domain, struct list_ref *ref_r, GError **error);

void list_ref_clear(struct list_ref *ref);

/* g_auto(ListRef) ref = { 0 }; calls list_ref_clear() at the end of the
 * scope. The typedef is for g_auto(), which pastes one identifier. */
typedef struct list_ref ListRef;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(ListRef, list_ref_clear)

/* Add the owners of REF to OUT (borrowed strings): the list's own owners,
 * else its club's, else cfg->admin. */
void list_ref_owners(const struct list_ref *ref, const struct config *cfg,
		     GPtrArray *out);

/* 1 if ADDRESS is on list LIST_ID, 0 if not, -1 on error. */
int catalog_is_member(sqlite3 *db, gint64 list_id, const char *address,
		      GError **error);

/* 1 if ADDRESS is on the whitelist of club CLUB_ID, 0 if not, -1 on error. */
int catalog_is_whitelisted(sqlite3 *db, gint64 club_id, const char *address,
			   GError **error);

/* The members of LIST_ID, sorted. Returns a new array of strings (free with
 * g_ptr_array_unref) or NULL with *error. */
GPtrArray *catalog_members(sqlite3 *db, gint64 list_id, GError **error);

/* The members of LIST_ID who receive its mail: all but the addresses the
 * club disabled after bounces. Same contract as catalog_members(). */
GPtrArray *catalog_recipients(sqlite3 *db, gint64 list_id, GError **error);

/* 1 if LIST_ID has at least one such recipient, 0 if none, -1 with
 * *error. */
int catalog_has_recipients(sqlite3 *db, gint64 list_id, GError **error);

/* One row of catalog_all_lists(). */
struct catalog_list {
	char *club_slug;
	char *name;
	char *description; /* may be NULL */
	gint64 id;
	gboolean bypass;
	guint members;
};

/* Every stored list with its member count, ordered by club and name.
 * Returns a new array of struct catalog_list * (free with
 * g_ptr_array_unref) or NULL with *error. */
GPtrArray *catalog_all_lists(sqlite3 *db, GError **error);

#endif
