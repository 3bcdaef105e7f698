/* figures.c - the state of the server read for `soarlist metrics` and
 * `soarlist health` (figures.h): held posts, syncs, Postfix's queues.
 */
#include "soarlist/figures.h"

#include <cjson/cJSON.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/db.h"
#include "soarlist/proc.h"

const char *const figures_queues[FIGURES_QUEUES] = { "incoming", "active",
						     "deferred", "hold",
						     "maildrop" };

/* postqueue -j writes a line per message of at most a few KB; a longer
 * one is no message of Postfix's */
#define QUEUE_LINE_MAX (64 * 1024)

static void
queue_line(const char *line, struct queue_figures *q)
{
	cJSON *o = cJSON_Parse(line);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "queue_name");
	const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "arrival_time");

	for (int i = 0; cJSON_IsString(name) && i < FIGURES_QUEUES; i++) {
		if (strcmp(name->valuestring, figures_queues[i]) != 0)
			continue;
		q->messages[i]++;
		if (cJSON_IsNumber(at) && at->valuedouble >= 1 &&
		    at->valuedouble < 1e15 &&
		    (q->oldest[i] == 0 || at->valuedouble < q->oldest[i]))
			q->oldest[i] = (gint64)at->valuedouble;
		break;
	}
	cJSON_Delete(o);
}

void
figures_parse_queue(int fd, struct queue_figures *q)
{
	GString *line = g_string_new(NULL);
	char buf[8192];
	ssize_t n;

	q->known = TRUE;
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (line->len < QUEUE_LINE_MAX)
					g_string_append_c(line, buf[i]);
				continue;
			}
			queue_line(line->str, q);
			g_string_truncate(line, 0);
		}
	}
	if (line->len > 0)
		queue_line(line->str, q);
	g_string_free(line, TRUE);
}

static void
postfix_queue(const struct config *cfg, struct queue_figures *q)
{
	g_autofree char *dir = g_path_get_dirname(cfg->postconf);
	g_autofree char *prog = g_build_filename(dir, "postqueue", NULL);
	char *argv[] = { prog, "-j", NULL, NULL, NULL };
	GError *err = NULL;
	int fd;

	if (cfg->postfix_config_dir != NULL) {
		argv[1] = "-c";
		argv[2] = cfg->postfix_config_dir;
		argv[3] = "-j";
	}
	if (proc_run_fd(argv, &fd, &err) < 0) {
		q->error = g_strdup(err->message);
		g_error_free(err);
		return;
	}
	figures_parse_queue(fd, q);
	close(fd);
}

static void
held_figures_free(gpointer p)
{
	struct held_figures *h = p;

	g_free(h->club);
	g_free(h->list);
	g_free(h);
}

/* Every list's held posts (0 for a list with none); a post whose list is
 * gone counts under its recipient's list name and domain's club. */
static int
read_held(sqlite3 *db, const struct config *cfg, GPtrArray *out, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_prepare(db,
		       "SELECT c.slug, l.name, count(h.id), min(h.held_at) "
		       "FROM list l JOIN club c ON c.id = l.club_id LEFT JOIN "
		       "held_message h ON h.list_id = l.id GROUP BY l.id "
		       "UNION ALL SELECT NULL, lower(h.recipient), count(*), "
		       "min(h.held_at) FROM held_message h WHERE h.list_id IS "
		       "NULL GROUP BY lower(h.recipient) ORDER BY 1, 2",
		       &st, error) < 0)
		return -1;
	while ((rc = db_row(st, error)) == 1) {
		struct held_figures *h = g_new0(struct held_figures, 1);
		const char *club = (const char *)sqlite3_column_text(st, 0);

		h->list = g_strdup((const char *)sqlite3_column_text(st, 1));
		h->count = sqlite3_column_int64(st, 2);
		h->oldest = h->count > 0 ? sqlite3_column_int64(st, 3) : 0;
		if (club == NULL) {
			/* LIST@DOMAIN of a list that is gone */
			char *at = strrchr(h->list, '@');
			const struct club_config *c =
				at ? config_club_by_domain(cfg, at + 1) : NULL;

			if (at != NULL)
				*at = '\0';
			club = c ? c->slug : "";
		}
		h->club = g_strdup(club);
		g_ptr_array_add(out, h);
	}
	sqlite3_finalize(st);
	return rc < 0 ? -1 : 0;
}

/* Each configured club's last successful sync, but a suspended club's. */
static int
read_syncs(sqlite3 *db, const struct config *cfg, GArray *out, GError **error)
{
	sqlite3_stmt *st = NULL;
	int rc = 0;

	if (db_prepare(db,
		       "SELECT max(finished_at) FROM sync_run WHERE "
		       "club_slug = ?1 AND ok",
		       &st, error) < 0)
		return -1;
	for (guint i = 0; i < cfg->clubs->len; i++) {
		struct sync_figures s = { .club = g_ptr_array_index(cfg->clubs,
								    i) };

		if (s.club->state == CLUB_SUSPENDED)
			continue; /* not synced on purpose: never stale */
		sqlite3_bind_text(st, 1, s.club->slug, -1, SQLITE_STATIC);
		if ((rc = db_row(st, error)) != 1)
			break;
		s.last_success = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		g_array_append_val(out, s);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc < 0 ? -1 : 0;
}

int
figures_collect(sqlite3 *db, const struct config *cfg, gboolean queue,
		struct server_figures *f, GError **error)
{
	f->held = g_ptr_array_new_with_free_func(held_figures_free);
	f->syncs = g_array_new(FALSE, TRUE, sizeof(struct sync_figures));
	if (db_begin_read(db, error) < 0)
		return -1;
	if (read_held(db, cfg, f->held, error) < 0 ||
	    read_syncs(db, cfg, f->syncs, error) < 0) {
		db_rollback(db);
		return -1;
	}
	db_rollback(db); /* read only: one snapshot */
	if (queue)
		postfix_queue(cfg, &f->queue);
	return 0;
}

void
figures_clear(struct server_figures *f)
{
	g_clear_pointer(&f->held, g_ptr_array_unref);
	g_clear_pointer(&f->syncs, g_array_unref);
	g_clear_pointer(&f->queue.error, g_free);
}
