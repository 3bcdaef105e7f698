/* health.c - the monitoring plugin's judgement (health.h): each figure
 * against its limits, the worst status wins, one line says it all.
 */
#include "soarlist/health.h"

#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = { "OK", "WARNING", "CRITICAL",
					    "UNKNOWN" };

gboolean
health_parse_limit(const char *text, gboolean seconds, struct health_limit *l)
{
	g_auto(GStrv) parts = g_strsplit(text, ",", -1);
	gint64 v[2];

	if (g_strv_length(parts) != 2)
		return FALSE;
	for (int i = 0; i < 2; i++) {
		const char *p = g_strstrip(parts[i]);
		char *end;
		guint64 n, unit = 1;

		if (!g_ascii_isdigit(*p))
			return FALSE;
		n = g_ascii_strtoull(p, &end, 10);
		if (seconds && *end != '\0' && end[1] == '\0') {
			const char *u = strchr("smhd", *end);

			if (u == NULL)
				return FALSE;
			unit = (guint64[]){ 1, 60, 3600, 86400 }[u - "smhd"];
			end++;
		}
		if (*end != '\0' || n > G_MAXINT64 / 86400 / 1000)
			return FALSE;
		v[i] = (gint64)(n * unit);
	}
	if (v[1] < v[0])
		return FALSE;
	l->warn = v[0];
	l->crit = v[1];
	return TRUE;
}

static enum health_status
judge(gint64 value, const struct health_limit *l)
{
	return value > l->crit   ? HEALTH_CRITICAL
	       : value > l->warn ? HEALTH_WARNING
				 : HEALTH_OK;
}

/* "90s", "25m", "3h", "2d": an age as a person reads it */
static char *
age_text(gint64 s)
{
	if (s < 120)
		return g_strdup_printf("%" G_GINT64_FORMAT "s", s);
	if (s < 7200)
		return g_strdup_printf("%" G_GINT64_FORMAT "m", s / 60);
	if (s < 2 * 86400)
		return g_strdup_printf("%" G_GINT64_FORMAT "h", s / 3600);
	return g_strdup_printf("%" G_GINT64_FORMAT "d", s / 86400);
}

/* A problem found: its status and text, kept to sort them. */
struct problem {
	enum health_status status;
	char *text;
};

static void
add(GArray *problems, enum health_status status, char *text)
{
	struct problem p = { status, text };

	if (status == HEALTH_OK)
		g_free(text);
	else
		g_array_append_val(problems, p);
}

static int
worse_first(gconstpointer a, gconstpointer b)
{
	return (int)((const struct problem *)b)->status -
	       (int)((const struct problem *)a)->status;
}

/* One performance datum: 'LABEL'=VALUE[UOM];WARN;CRIT;0 (VALUE "U" when
 * unknown). */
static void
perf(GString *out, const char *label, const char *value, const char *uom,
     const struct health_limit *l)
{
	g_string_append_printf(
		out, " %s=%s%s;%" G_GINT64_FORMAT ";%" G_GINT64_FORMAT ";0",
		label, value, strcmp(value, "U") ? uom : "", l->warn, l->crit);
}

static char *
num(gint64 v)
{
	return g_strdup_printf("%" G_GINT64_FORMAT, v);
}

enum health_status
health_judge(const struct server_figures *f, const struct health_limits *l,
	     gint64 now, char **line_r)
{
	GArray *problems = g_array_new(FALSE, FALSE, sizeof(struct problem));
	GString *line = g_string_new(NULL), *data = g_string_new(" |");
	const struct queue_figures *q = &f->queue;
	gint64 deferred = q->messages[QUEUE_DEFERRED];
	gint64 deferred_age = q->oldest[QUEUE_DEFERRED] > 0
				      ? MAX(now - q->oldest[QUEUE_DEFERRED], 0)
				      : 0;
	gint64 sync_age = -1, held_age = 0;
	const char *stalest = NULL, *held_list = NULL, *held_club = NULL;
	gboolean never = FALSE;
	enum health_status status = HEALTH_OK;
	g_autofree char *d = num(deferred), *da = num(deferred_age);
	g_autofree char *sa = NULL, *ha = NULL;

	for (guint i = 0; i < f->syncs->len; i++) {
		const struct sync_figures *s = &g_array_index(
			f->syncs, struct sync_figures, i);
		gint64 age = MAX(now - s->last_success, 0);

		if (never)
			continue;
		if (s->last_success == 0) {
			never = TRUE;
			stalest = s->club->slug;
		} else if (age > sync_age) {
			sync_age = age;
			stalest = s->club->slug;
		}
	}
	for (guint i = 0; i < f->held->len; i++) {
		const struct held_figures *h = g_ptr_array_index(f->held, i);

		if (h->count > 0 && now - h->oldest > held_age) {
			held_age = now - h->oldest;
			held_list = h->list;
			held_club = h->club;
		}
	}

	if (!q->known) {
		add(problems, HEALTH_CRITICAL,
		    g_strdup_printf("Postfix does not answer (%s)",
				    q->error ? q->error : "postqueue failed"));
	} else {
		g_autofree char *age = age_text(deferred_age);

		add(problems, judge(deferred, &l->deferred),
		    g_strdup_printf(
			    "%" G_GINT64_FORMAT
			    " messages deferred (over %" G_GINT64_FORMAT ")",
			    deferred,
			    judge(deferred, &l->deferred) == HEALTH_CRITICAL
				    ? l->deferred.crit
				    : l->deferred.warn));
		add(problems, judge(deferred_age, &l->deferred_age),
		    g_strdup_printf("oldest deferred message %s old", age));
	}
	if (never) {
		add(problems, HEALTH_CRITICAL,
		    g_strdup_printf("club %s never synced", stalest));
	} else if (stalest != NULL) {
		g_autofree char *age = age_text(sync_age);

		add(problems, judge(sync_age, &l->sync_age),
		    g_strdup_printf("club %s last synced %s ago", stalest,
				    age));
	}
	if (held_list != NULL) {
		g_autofree char *age = age_text(held_age);

		add(problems, judge(held_age, &l->held_age),
		    g_strdup_printf("a post to %s of %s held for %s", held_list,
				    held_club, age));
	}

	g_array_sort(problems, worse_first);
	if (problems->len > 0)
		status = g_array_index(problems, struct problem, 0).status;
	g_string_append_printf(line, "SOARLIST %s - ", status_names[status]);
	for (guint i = 0; i < problems->len; i++) {
		struct problem *p = &g_array_index(problems, struct problem, i);

		g_string_append_printf(line, "%s%s", i ? "; " : "", p->text);
		g_free(p->text);
	}
	if (problems->len == 0) {
		g_autofree char *s = age_text(MAX(sync_age, 0));
		g_autofree char *h = age_text(held_age);

		g_string_append_printf(line,
				       "%" G_GINT64_FORMAT
				       " deferred; syncs at most %s old; "
				       "oldest held post %s",
				       deferred, s, h);
	}
	g_array_free(problems, TRUE);

	sa = never || sync_age < 0 ? g_strdup("U") : num(sync_age);
	ha = num(held_age);
	perf(data, "deferred", q->known ? d : "U", "", &l->deferred);
	perf(data, "deferred_age", q->known ? da : "U", "s", &l->deferred_age);
	perf(data, "sync_age", sa, "s", &l->sync_age);
	perf(data, "held_age", ha, "s", &l->held_age);
	g_string_append(line, data->str);
	g_string_free(data, TRUE);
	*line_r = g_string_free(line, FALSE);
	return status;
}
