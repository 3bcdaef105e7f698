/* figures.h - the state of the server that `soarlist metrics` reports
 * and `soarlist health` judges: posts held per list and the oldest one,
 * each club's last successful sync, and Postfix's queues (postqueue -j).
 * Read in one snapshot of the database.
 */
#ifndef SOARLIST_FIGURES_H
#define SOARLIST_FIGURES_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

/* the queue names, in the order of struct queue_figures' arrays */
#define FIGURES_QUEUES 5
extern const char *const figures_queues[FIGURES_QUEUES];
enum {
	QUEUE_INCOMING,
	QUEUE_ACTIVE,
	QUEUE_DEFERRED,
	QUEUE_HOLD,
	QUEUE_MAILDROP
};

/* Postfix's queues as postqueue -j shows them. */
struct queue_figures {
	gboolean known; /* FALSE: postqueue failed (Postfix is down) */
	char *error;    /* then why */
	/* per queue: how many messages, the arrival time of the oldest (0:
	 * none) */
	guint messages[FIGURES_QUEUES];
	gint64 oldest[FIGURES_QUEUES];
};

/* One list's held posts. */
struct held_figures {
	char *club; /* its slug ("" when no club has its domain) */
	char *list; /* its name */
	gint64 count;
	gint64 oldest; /* held_at of the oldest, 0 when none */
};

/* One configured club's sync. */
struct sync_figures {
	const struct club_config *club;
	gint64 last_success; /* unix time, 0: never */
};

struct server_figures {
	GPtrArray *held; /* struct held_figures *: every list, by club */
	GArray *syncs;   /* struct sync_figures: every active club */
	struct queue_figures queue;
};

/* Read the held posts and syncs of DB and CFG into *F (zeroed by the
 * caller; clear with figures_clear) and, with QUEUE, Postfix's queues
 * (CFG's postqueue, beside its postconf, with its postfix_config_dir).
 * Returns 0 or -1 with *error (the database). */
int figures_collect(sqlite3 *db, const struct config *cfg, gboolean queue,
		    struct server_figures *f, GError **error);

/* Read postqueue -j's lines (one JSON object per message) from FD into
 * *Q. Lines that are no object with a known queue_name are skipped. */
void figures_parse_queue(int fd, struct queue_figures *q);

void figures_clear(struct server_figures *f);

#endif
