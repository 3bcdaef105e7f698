/* health.h - `soarlist health`: the server's state (figures.h) judged
 * against thresholds, as a monitoring plugin in the Nagios/Icinga
 * convention says it: one line "SOARLIST STATUS - text | perfdata" and
 * the exit status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
 */
#ifndef SOARLIST_HEALTH_H
#define SOARLIST_HEALTH_H

#include <glib.h>

#include "soarlist/figures.h"

enum health_status {
	HEALTH_OK = 0,
	HEALTH_WARNING = 1,
	HEALTH_CRITICAL = 2,
	HEALTH_UNKNOWN = 3,
};

/* A figure is WARNING above WARN and CRITICAL above CRIT. */
struct health_limit {
	gint64 warn, crit;
};

struct health_limits {
	struct health_limit deferred;     /* messages in the deferred queue */
	struct health_limit deferred_age; /* seconds, its oldest message */
	struct health_limit sync_age;     /* seconds, the stalest club's */
	struct health_limit held_age;     /* seconds, the oldest held post */
};

/* 50 and 200 deferred messages; the oldest deferred 1 h and 4 h (Postfix
 * retries for days, but mail a day late is news); a sync 2 h and 6 h old
 * (the timer syncs every 15 minutes); a post held 1 and 3 days */
#define HEALTH_LIMITS_DEFAULT \
	{ \
		{ 50, 200 }, { 3600, 14400 }, { 7200, 21600 }, \
		{ \
			86400, 259200 \
		} \
	}

/* Parse "WARN,CRIT" into *L: counts, or with SECONDS durations with an
 * optional unit (s, m, h, d: "1h,4h"); CRIT must not be below WARN.
 * FALSE when TEXT is no such pair. */
gboolean health_parse_limit(const char *text, gboolean seconds,
			    struct health_limit *l);

/* Judge F against L at NOW (unix time): the status, and in *LINE_R (newly
 * allocated) the plugin's line, every problem named, worst first, with
 * performance data for each figure. Postfix not answering is CRITICAL;
 * a club that never synced too. */
enum health_status health_judge(const struct server_figures *f,
				const struct health_limits *l, gint64 now,
				char **line_r);

#endif
