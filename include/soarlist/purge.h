/* purge.h - `soarlist purge SLUG`: what soarlist keeps of a club that was
 * removed from the configuration (its synced lists, members and
 * whitelist, held posts, bounce scores, counters, sync history and
 * archive), counted, then deleted in one transaction. A club still in the
 * configuration, suspended or not, is never purged.
 */
#ifndef SOARLIST_PURGE_H
#define SOARLIST_PURGE_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

#define PURGE_ERROR (purge_error_quark())
GQuark purge_error_quark(void);

enum {
	PURGE_ERROR_CONFIGURED, /* the club is still in the configuration */
	PURGE_ERROR_ARCHIVE,    /* its archive could not be removed */
};

/* What soarlist keeps of one club. */
struct purge_plan {
	char *slug;
	gint64 club_id; /* 0: no club row (only history or an archive) */
	gint64 lists, members, whitelist, held, bounces, disabled, stats;
	gint64 messages; /* Message-IDs and copies kept against duplicates */
	gint64 syncs;    /* sync_run rows */
	char *archive;   /* archive_dir/SLUG when it exists, else NULL */
	guint archive_files;
};

/* Fill *PLAN (zeroed by the caller; clear with purge_plan_clear) with what
 * DB and CFG's archive keep of club SLUG. Returns 1, 0 when nothing at
 * all is kept, or -1 with *error: PURGE_ERROR_CONFIGURED when CFG still
 * has [club SLUG]. */
int purge_plan(sqlite3 *db, const struct config *cfg, const char *slug,
	       struct purge_plan *plan, GError **error);

/* Delete what PLAN found, counted again inside the transaction that
 * deletes it (*PLAN is updated: what it says is what went), then the
 * archive directory. Returns 0, or -1 with *error; a database failure
 * deletes nothing, an archive failure leaves the database part done. */
int purge_apply(sqlite3 *db, const struct config *cfg, struct purge_plan *plan,
		GError **error);

/* One line per kind of data PLAN names, each "  N what\n". */
char *purge_plan_describe(const struct purge_plan *plan);

void purge_plan_clear(struct purge_plan *plan);

typedef struct purge_plan PurgePlan;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PurgePlan, purge_plan_clear)

#endif
