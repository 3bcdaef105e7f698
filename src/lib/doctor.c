/* doctor.c - `soarlist doctor`: is this installation able to deliver?
 *
 * Each check says what it found and, when it fails, what to do about it,
 * in the words a volunteer administrator needs. Postfix is asked through
 * postconf(1) (with postfix_config_dir when set), never by parsing its
 * files ourselves.
 */
#include "soarlist/doctor.h"

#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soarlist/db.h"
#include "soarlist/postfix-maps.h"
#include "soarlist/proc.h"

static void
add(GPtrArray *out, gboolean ok, char *what, char *fix)
{
	struct doctor_result *r = g_new0(struct doctor_result, 1);

	r->ok = ok;
	r->what = what;
	r->fix = ok ? (g_free(fix), NULL) : fix;
	g_ptr_array_add(out, r);
}

static void
result_free(gpointer p)
{
	struct doctor_result *r = p;

	g_free(r->what);
	g_free(r->fix);
	g_free(r);
}

/* postconf ARGS... with -c when configured; its output, trimmed, or NULL
 * with *error. */
static char *
postconf(const struct config *cfg, const char *a1, const char *a2,
	 GError **error)
{
	char *argv[6], *out = NULL;
	int n = 0;

	argv[n++] = cfg->postconf;
	if (cfg->postfix_config_dir != NULL) {
		argv[n++] = "-c";
		argv[n++] = cfg->postfix_config_dir;
	}
	argv[n++] = (char *)a1;
	argv[n++] = (char *)a2;
	argv[n] = NULL;
	if (proc_run(argv, &out, error) < 0) {
		g_free(out);
		return NULL;
	}
	return g_strstrip(out);
}

/* May user PW read (and write, when WRITE) PATH, by its mode bits? */
static gboolean
user_may(const struct passwd *pw, const char *path, gboolean write)
{
	struct stat st;
	gid_t groups[256];
	int ngroups = G_N_ELEMENTS(groups);
	mode_t r = write ? 06 : 04;

	if (stat(path, &st) < 0)
		return FALSE;
	if (pw->pw_uid == 0)
		return TRUE;
	if (st.st_uid == pw->pw_uid)
		return ((st.st_mode >> 6) & r) == r;
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) >= 0)
		for (int i = 0; i < ngroups; i++)
			if (groups[i] == st.st_gid)
				return ((st.st_mode >> 3) & r) == r;
	return (st.st_mode & r) == r;
}

/* The user= of the soarlist pipe transport in master.cf, or NULL. */
static char *
master_user(const char *entry)
{
	const char *u = strstr(entry, " user=");

	if (u == NULL)
		return NULL;
	u += strlen(" user=");
	return g_strndup(u, strcspn(u, " :\t\n"));
}

static void
check_database(GPtrArray *out, const struct config *cfg)
{
	GError *err = NULL;
	sqlite3 *db = db_open(cfg->database, DB_EXISTING, &err);

	if (db == NULL) {
		add(out, FALSE, g_strdup_printf("database: %s", err->message),
		    g_strdup("run 'soarlist sync' (as the pipe user) to create "
			     "or migrate it; check database = in [soarlist]"));
		g_error_free(err);
		return;
	}
	add(out, TRUE, g_strdup_printf("database %s opens, schema version %d",
				       cfg->database, db_schema_version()),
	    NULL);
	db_close(&db);
}

/* The pipe user must read and write the database, its WAL files and its
 * directory (SQLite creates the -wal and -shm files there). */
static void
check_pipe_user(GPtrArray *out, const struct config *cfg, const char *user)
{
	struct passwd *pw = user && *user ? getpwnam(user) : NULL;
	char *dir = g_path_get_dirname(cfg->database);
	const char *suffixes[] = { "", "-wal", "-shm" };
	GString *bad = g_string_new(NULL);

	if (pw == NULL) {
		add(out, FALSE, g_strdup_printf("pipe user %s does not exist",
						user && *user ? user : "(none)"),
		    g_strdup("create it (adduser --system --group soarlist) or "
			     "fix user= of the soarlist transport in master.cf"));
		g_free(dir);
		g_string_free(bad, TRUE);
		return;
	}
	if (!user_may(pw, dir, TRUE))
		g_string_append_printf(bad, " %s", dir);
	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		char *p = g_strconcat(cfg->database, suffixes[i], NULL);
		if ((i == 0 || g_file_test(p, G_FILE_TEST_EXISTS)) &&
		    !user_may(pw, p, TRUE))
			g_string_append_printf(bad, " %s", p);
		g_free(p);
	}
	if (bad->len == 0)
		add(out, TRUE, g_strdup_printf("pipe user %s can read and write "
					       "the database", user), NULL);
	else
		add(out, FALSE, g_strdup_printf("pipe user %s cannot read and "
						"write:%s", user, bad->str),
		    g_strdup_printf("chown -R %s %s", user, dir));
	g_string_free(bad, TRUE);
	g_free(dir);
}

static void
check_sendmail(GPtrArray *out, const struct config *cfg)
{
	gboolean ok = g_file_test(cfg->sendmail, G_FILE_TEST_IS_REGULAR) &&
		      access(cfg->sendmail, X_OK) == 0;

	add(out, ok, g_strdup_printf("sendmail %s %s", cfg->sendmail,
				     ok ? "is executable" : "is not executable"),
	    g_strdup("install postfix, or set sendmail = in [soarlist] to "
		     "Postfix's sendmail"));
}

/* master.cf has the pipe transport, and main.cf limits it to one
 * recipient per delivery. Returns the pipe user found, or NULL. */
static char *
check_transport(GPtrArray *out, const struct config *cfg)
{
	GError *err = NULL;
	char *entry = postconf(cfg, "-M", POSTFIX_TRANSPORT "/unix", &err);
	char *limit, *user = NULL;

	if (entry == NULL || *entry == '\0' || strstr(entry, " pipe ") == NULL ||
	    strstr(entry, "soarlist-deliver") == NULL) {
		add(out, FALSE, g_strdup_printf("postconf -M shows no soarlist "
						"pipe transport%s%s",
						err ? ": " : "",
						err ? err->message : ""),
		    g_strdup("add the soarlist entry of contrib/postfix/"
			     "master.cf.fragment to master.cf, then postfix "
			     "reload"));
		g_clear_error(&err);
		g_free(entry);
		return NULL;
	}
	user = master_user(entry);
	if (user == NULL)
		user = g_strdup(""); /* found, but without user=: a failure */
	g_free(entry);
	limit = postconf(cfg, "-hx", POSTFIX_TRANSPORT
			 "_destination_recipient_limit", &err);
	g_clear_error(&err);
	add(out, g_strcmp0(limit, "1") == 0,
	    g_strdup_printf("soarlist pipe transport in master.cf, recipient "
			    "limit %s", limit && *limit ? limit : "(unset)"),
	    g_strdup("set soarlist_destination_recipient_limit = 1 in "
		     "main.cf (soarlist-deliver takes one recipient)"));
	g_free(limit);
	return user;
}

/* Each table exists, has its database, and says what the database says. */
static void
check_tables(GPtrArray *out, const struct config *cfg, sqlite3 *db)
{
	GString *bad = g_string_new(NULL);

	if (db == NULL) {
		add(out, FALSE, g_strdup("tables: cannot be compared with an "
					 "unreadable database"),
		    g_strdup("fix the database first (see above)"));
		g_string_free(bad, TRUE);
		return;
	}
	if (cfg->postfix_dir == NULL) {
		add(out, FALSE, g_strdup("postfix_dir is not set: no lookup "
					 "tables for Postfix"),
		    g_strdup("set postfix_dir = /var/lib/soarlist/postfix in "
			     "[soarlist] and run 'soarlist postfix-maps'"));
		g_string_free(bad, TRUE);
		return;
	}
	for (int i = 0; postfix_map_names[i] != NULL; i++) {
		const char *name = postfix_map_names[i];
		char *path = g_build_filename(cfg->postfix_dir, name, NULL);
		char *want = postfix_maps_render(db, cfg, name, NULL);
		char *have = NULL;

		if (!g_file_get_contents(path, &have, NULL, NULL))
			g_string_append_printf(bad, " %s (missing)", name);
		else if (want == NULL || strcmp(want, have) != 0)
			g_string_append_printf(bad, " %s (out of date)", name);
		else if (!postfix_maps_db_current(path))
			g_string_append_printf(bad, " %s.db (missing or older "
					       "than %s)", name, name);
		g_free(have);
		g_free(want);
		g_free(path);
	}
	if (bad->len == 0)
		add(out, TRUE, g_strdup_printf("tables in %s match the database",
					       cfg->postfix_dir), NULL);
	else
		add(out, FALSE, g_strdup_printf("tables in %s:%s",
						cfg->postfix_dir, bad->str),
		    g_strdup("run 'soarlist postfix-maps'"));
	g_string_free(bad, TRUE);
}

/* main.cf uses the tables, and master.cf has the policy service. */
static void
check_postfix_uses(GPtrArray *out, const struct config *cfg)
{
	static const char *const params[][2] = {
		{ "relay_domains", "domains" },
		{ "transport_maps", "transport" },
		{ "relay_recipient_maps", "recipients" },
		{ "smtpd_sender_login_maps", "sender_logins" },
		{ "smtpd_recipient_restrictions", "soarlist-policy" },
	};
	GString *bad = g_string_new(NULL);
	GError *err = NULL;
	char *entry;

	for (gsize i = 0; cfg->postfix_dir && i < G_N_ELEMENTS(params); i++) {
		char *v = postconf(cfg, "-hx", params[i][0], &err);
		char *want = i < 4 ? g_build_filename(cfg->postfix_dir,
						      params[i][1], NULL)
				   : g_strdup(params[i][1]);
		g_clear_error(&err);
		if (v == NULL || strstr(v, want) == NULL)
			g_string_append_printf(bad, " %s", params[i][0]);
		g_free(want);
		g_free(v);
	}
	entry = postconf(cfg, "-M", "soarlist-policy/unix", &err);
	g_clear_error(&err);
	if (entry == NULL || strstr(entry, " spawn ") == NULL)
		g_string_append(bad, " master.cf:soarlist-policy");
	g_free(entry);
	if (bad->len == 0)
		add(out, TRUE, g_strdup("main.cf uses the tables and the policy "
					"service"), NULL);
	else
		add(out, FALSE, g_strdup_printf("main.cf/master.cf do not use "
						"soarlist for:%s", bad->str),
		    g_strdup("merge contrib/postfix/main.cf.fragment and "
			     "master.cf.fragment, then postfix reload"));
	g_string_free(bad, TRUE);
}

/* The newest sync of each club succeeded, within sync_max_age. */
static void
check_syncs(GPtrArray *out, const struct config *cfg, sqlite3 *db)
{
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;
	sqlite3_stmt *st = NULL;

	if (db == NULL || db_prepare(db, "SELECT ok, finished_at, error FROM "
				     "sync_run WHERE club_slug = ?1 ORDER BY id "
				     "DESC LIMIT 1", &st, NULL) < 0)
		return; /* the database check has said why */
	for (guint i = 0; i < cfg->clubs->len; i++) {
		const struct club_config *c = g_ptr_array_index(cfg->clubs, i);
		gboolean found, ok;
		gint64 age = 0;

		sqlite3_bind_text(st, 1, c->slug, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
		ok = found && sqlite3_column_int(st, 0) == 1;
		if (found)
			age = now - sqlite3_column_int64(st, 1);
		if (!found)
			add(out, FALSE, g_strdup_printf("club %s has never been "
							"synced", c->slug),
			    g_strdup("run 'soarlist sync'"));
		else if (!ok)
			add(out, FALSE, g_strdup_printf("club %s: last sync "
				"failed: %s", c->slug,
				(const char *)sqlite3_column_text(st, 2)),
			    g_strdup("fix the cause, then run 'soarlist sync'"));
		else
			add(out, (guint64)age <= cfg->sync_max_age,
			    g_strdup_printf("club %s: last sync succeeded %" G_GINT64_FORMAT
					    " s ago (limit %" G_GUINT64_FORMAT " s)",
					    c->slug, age, cfg->sync_max_age),
			    g_strdup("check the soarlist-sync.timer (systemctl "
				     "status soarlist-sync.timer)"));
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
}

GPtrArray *
doctor_run(const struct config *cfg, const char *pipe_user)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(result_free);
	sqlite3 *db;
	char *user;

	add(out, TRUE, g_strdup_printf("config %s parses", cfg->path), NULL);
	check_database(out, cfg);
	db = db_open(cfg->database, DB_EXISTING, NULL);
	check_sendmail(out, cfg);
	user = check_transport(out, cfg);
	if (pipe_user != NULL || user != NULL)
		check_pipe_user(out, cfg, pipe_user ? pipe_user : user);
	check_tables(out, cfg, db);
	check_postfix_uses(out, cfg);
	check_syncs(out, cfg, db);
	db_close(&db);
	g_free(user);
	return out;
}
