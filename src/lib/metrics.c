/* metrics.c - the Prometheus text format of `soarlist metrics`
 * (metrics.h). Every metric has its HELP and TYPE lines; label values
 * are escaped as the format says (backslash, double quote, newline);
 * every configured club has its sync and bounce series even at zero, so
 * that an alert on a club sees it from the start.
 */
#include "soarlist/metrics.h"

#include <string.h>

#include "soarlist/db.h"
#include "soarlist/stats.h"

/* VALUE escaped for a label: backslash, double quote and newline. */
static void
label(GString *out, const char *name, const char *value)
{
	g_string_append_printf(out, "%s=\"", name);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			g_string_append_c(out, '\\');
		if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_c(out, '"');
}

static void
head(GString *out, const char *name, const char *type, const char *help)
{
	g_string_append_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
			       name, type);
}

/* One sample: NAME{K1="V1",K2="V2"...} VALUE; LABELS is NULL-ended
 * pairs. */
static void
sample(GString *out, const char *name, const char *const *labels,
       const char *value)
{
	g_string_append(out, name);
	if (labels != NULL && labels[0] != NULL) {
		g_string_append_c(out, '{');
		for (int i = 0; labels[i] != NULL; i += 2) {
			if (i > 0)
				g_string_append_c(out, ',');
			label(out, labels[i], labels[i + 1]);
		}
		g_string_append_c(out, '}');
	}
	g_string_append_printf(out, " %s\n", value);
}

static void
sample_int(GString *out, const char *name, const char *const *labels,
	   gint64 value)
{
	char v[32];

	g_snprintf(v, sizeof v, "%" G_GINT64_FORMAT, value);
	sample(out, name, labels, v);
}

/* Counter NAME for every configured club of CFG, its value in COUNTS
 * (slug -> count) or 0. */
static void
per_club(GString *out, const struct config *cfg, const char *name,
	 const char *help, GHashTable *counts)
{
	head(out, name, "counter", help);
	for (guint i = 0; i < cfg->clubs->len; i++) {
		const struct club_config *c = g_ptr_array_index(cfg->clubs, i);
		const char *labels[] = { "club", c->slug, NULL };

		sample_int(out, name, labels,
			   (gint64)GPOINTER_TO_SIZE(
				   g_hash_table_lookup(counts, c->slug)));
	}
}

/* The counters of list_stat: posts per outcome, recipients, bounces. */
static int
write_counts(sqlite3 *db, const struct config *cfg, GString *out,
	     GError **error)
{
	sqlite3_stmt *st = NULL;
	GHashTable *scored = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTable *disabled = g_hash_table_new(g_str_hash, g_str_equal);
	GString *rcpts = g_string_new(NULL);
	int rc = -1;

	head(out, "soarlist_posts_total", "counter",
	     "Messages to each list, by what the delivery agent did.");
	head(rcpts, "soarlist_recipients_total", "counter",
	     "Copies of posts sent to each list's members.");
	if (db_prepare(db,
		       "SELECT c.slug, s.list, s.outcome, sum(s.messages), "
		       "sum(s.recipients) FROM list_stat s JOIN club c ON "
		       "c.id = s.club_id GROUP BY c.slug, s.list, s.outcome "
		       "ORDER BY c.slug, s.list, s.outcome",
		       &st, error) < 0)
		goto out;
	while ((rc = db_row(st, error)) == 1) {
		const char *club = (const char *)sqlite3_column_text(st, 0);
		const char *list = (const char *)sqlite3_column_text(st, 1);
		const char *outcome = (const char *)sqlite3_column_text(st, 2);
		gint64 n = sqlite3_column_int64(st, 3);
		const char *labels[] = { "club",    club,    "list", list,
					 "outcome", outcome, NULL };
		GHashTable *per_club = strcmp(outcome, STATS_BOUNCE_SCORED) == 0
					       ? scored
				       : strcmp(outcome,
						STATS_ADDRESS_DISABLED) == 0
					       ? disabled
					       : NULL;

		if (per_club != NULL) {
			gint64 sum = GPOINTER_TO_SIZE(g_hash_table_lookup(
					     per_club, club)) +
				     n;
			g_hash_table_insert(per_club,
					    (gpointer)g_intern_string(club),
					    GSIZE_TO_POINTER(sum));
			continue;
		}
		sample_int(out, "soarlist_posts_total", labels, n);
		if (strcmp(outcome, "distributed") == 0) {
			labels[4] = NULL; /* per club and list */
			sample_int(rcpts, "soarlist_recipients_total", labels,
				   sqlite3_column_int64(st, 4));
		}
	}
	sqlite3_finalize(st);
	if (rc < 0)
		goto out;
	g_string_append_len(out, rcpts->str, (gssize)rcpts->len);
	per_club(out, cfg, "soarlist_bounces_scored_total",
		 "Bounces that scored a member's address.", scored);
	per_club(out, cfg, "soarlist_addresses_disabled_total",
		 "Member addresses disabled for bouncing.", disabled);
	rc = 0;
out:
	g_string_free(rcpts, TRUE);
	g_hash_table_unref(scored);
	g_hash_table_unref(disabled);
	return rc < 0 ? -1 : 0;
}

/* Held posts per list (0 for a list with none), and the oldest one's
 * age. */
static void
write_held(const struct server_figures *f, gint64 now, GString *out)
{
	GString *age = g_string_new(NULL);

	head(out, "soarlist_held_posts", "gauge",
	     "Posts waiting for a moderator.");
	head(age, "soarlist_held_oldest_seconds", "gauge",
	     "Age of the oldest post waiting for a moderator (0: none).");
	for (guint i = 0; i < f->held->len; i++) {
		const struct held_figures *h = g_ptr_array_index(f->held, i);
		const char *labels[] = { "club", h->club, "list", h->list,
					 NULL };

		sample_int(out, "soarlist_held_posts", labels, h->count);
		sample_int(age, "soarlist_held_oldest_seconds", labels,
			   h->count > 0 ? MAX(now - h->oldest, 0) : 0);
	}
	g_string_append_len(out, age->str, (gssize)age->len);
	g_string_free(age, TRUE);
}

/* Each configured club's last successful sync and its age (+Inf when it
 * never synced, so that a stale-sync alert sees it). */
static void
write_sync(const struct server_figures *f, gint64 now, GString *out)
{
	GString *age = g_string_new(NULL);

	head(out, "soarlist_sync_last_success_timestamp_seconds", "gauge",
	     "When the club's last successful sync ended (0: never).");
	head(age, "soarlist_sync_age_seconds", "gauge",
	     "Seconds since the club's last successful sync (+Inf: never).");
	for (guint i = 0; i < f->syncs->len; i++) {
		const struct sync_figures *s = &g_array_index(
			f->syncs, struct sync_figures, i);
		const char *labels[] = { "club", s->club->slug, NULL };

		sample_int(out, "soarlist_sync_last_success_timestamp_seconds",
			   labels, s->last_success);
		if (s->last_success > 0)
			sample_int(age, "soarlist_sync_age_seconds", labels,
				   MAX(now - s->last_success, 0));
		else
			sample(age, "soarlist_sync_age_seconds", labels,
			       "+Inf");
	}
	g_string_append_len(out, age->str, (gssize)age->len);
	g_string_free(age, TRUE);
}

static void
write_queue(const struct queue_figures *q, gint64 now, GString *out)
{
	head(out, "soarlist_postfix_up", "gauge",
	     "1 when postqueue -j answered (Postfix runs), else 0.");
	sample_int(out, "soarlist_postfix_up", NULL, q->known ? 1 : 0);
	if (!q->known)
		return;
	head(out, "soarlist_postfix_queue_messages", "gauge",
	     "Messages in each Postfix queue.");
	for (int i = 0; i < FIGURES_QUEUES; i++) {
		const char *labels[] = { "queue", figures_queues[i], NULL };

		sample_int(out, "soarlist_postfix_queue_messages", labels,
			   q->messages[i]);
	}
	head(out, "soarlist_postfix_queue_oldest_seconds", "gauge",
	     "Age of the oldest message in each Postfix queue (0: empty).");
	for (int i = 0; i < FIGURES_QUEUES; i++) {
		const char *labels[] = { "queue", figures_queues[i], NULL };

		sample_int(out, "soarlist_postfix_queue_oldest_seconds", labels,
			   q->oldest[i] > 0 ? MAX(now - q->oldest[i], 0) : 0);
	}
}

int
metrics_write(sqlite3 *db, const struct config *cfg,
	      const struct server_figures *f, gint64 now, GString *out,
	      GError **error)
{
	if (write_counts(db, cfg, out, error) < 0)
		return -1;
	write_held(f, now, out);
	write_sync(f, now, out);
	write_queue(&f->queue, now, out);
	return 0;
}
