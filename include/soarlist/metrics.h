/* metrics.h - `soarlist metrics`: the server's figures in the Prometheus
 * text exposition format (version 0.0.4), for node_exporter's textfile
 * collector: what the delivery agent counted (stats.h) and the server's
 * state (figures.h: held posts, syncs, Postfix's queues).
 */
#ifndef SOARLIST_METRICS_H
#define SOARLIST_METRICS_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"
#include "soarlist/figures.h"

/* Every metric, appended to OUT in the text format: the counters of
 * DB (stats.h) and F's state (figures.h) at NOW (unix time). Returns 0
 * or -1 with *error. */
int metrics_write(sqlite3 *db, const struct config *cfg,
		  const struct server_figures *f, gint64 now, GString *out,
		  GError **error);

#endif
