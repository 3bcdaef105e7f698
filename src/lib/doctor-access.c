/* doctor-access.c - doctor's checks of what the users of the Postfix
 * services may do, judged by owner, groups and mode bits as the kernel
 * would: the pipe and policy users may execute their programs (every
 * directory on the way included: a clone under /root is not reachable by
 * nobody), read the config and the API key files, and read and write the
 * database and its directory (SQLite's WAL needs it).
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "doctor-internal.h"
#include "soarlist-build.h"

struct doctor_user *
doctor_user_new(const char *name)
{
	struct passwd *pw = getpwnam(name);
	struct doctor_user *u;
	int n = 64;

	if (pw == NULL)
		return NULL;
	u = g_new0(struct doctor_user, 1);
	u->name = g_strdup(name);
	u->uid = pw->pw_uid;
	u->groups = g_new(gid_t, n);
	if (getgrouplist(name, pw->pw_gid, u->groups, &n) < 0) {
		u->groups = g_renew(gid_t, u->groups, n);
		if (getgrouplist(name, pw->pw_gid, u->groups, &n) < 0)
			n = 0;
	}
	u->ngroups = n;
	return u;
}

void
doctor_user_free(struct doctor_user **up)
{
	struct doctor_user *u = *up;

	if (u == NULL)
		return;
	g_free(u->name);
	g_free(u->groups);
	g_free(u);
	*up = NULL;
}

/* Do the mode bits of ST give U every permission in MODE (4 r, 2 w, 1 x)? */
static gboolean
perm_ok(const struct doctor_user *u, const struct stat *st, mode_t mode)
{
	if (u->uid == 0) /* root executes only what has an x bit */
		return !(mode & 1) || S_ISDIR(st->st_mode) ||
		       (st->st_mode & 0111) != 0;
	if (st->st_uid == u->uid)
		return ((st->st_mode >> 6) & mode) == mode;
	for (int i = 0; i < u->ngroups; i++)
		if (u->groups[i] == st->st_gid)
			return ((st->st_mode >> 3) & mode) == mode;
	return (st->st_mode & mode) == mode;
}

static char *
denied(const struct doctor_user *u, const char *path, const struct stat *st,
       int mode)
{
	struct passwd *pw = getpwuid(st->st_uid);
	gboolean dir = S_ISDIR(st->st_mode);
	const char *verb = mode == 1   ? (dir ? "search" : "execute")
			   : mode == 4 ? "read"
			   : mode == 6 ? "read and write"
			   : dir       ? "write into"
				       : "use";

	return g_strdup_printf("%s (mode %04o, owner %s) does not let %s %s it",
			       path, (unsigned)(st->st_mode & 07777),
			       pw ? pw->pw_name : "?", u->name, verb);
}

gboolean
doctor_user_may(const struct doctor_user *u, const char *path, int mode,
		char **why_r)
{
	char **parts;
	GString *dir = g_string_new("/");
	struct stat st;
	gboolean ok = TRUE;
	int last;

	*why_r = NULL;
	if (!g_path_is_absolute(path)) {
		*why_r = g_strdup_printf("%s is not an absolute path", path);
		g_string_free(dir, TRUE);
		return FALSE;
	}
	parts = g_strsplit(path, "/", -1);
	for (last = g_strv_length(parts) - 1; last > 0 && !*parts[last]; last--)
		;
	for (int i = 0; ok && i <= last; i++) {
		int need = i < last ? 1 : mode;
		if (i > 0 && *parts[i] == '\0')
			continue;
		if (i > 1)
			g_string_append_c(dir, '/');
		g_string_append(dir, parts[i]);
		if (stat(dir->str, &st) < 0)
			*why_r = g_strdup_printf("%s: %s", dir->str,
						 g_strerror(errno));
		else if (!perm_ok(u, &st, need))
			*why_r = denied(u, dir->str, &st, need);
		ok = *why_r == NULL;
	}
	g_strfreev(parts);
	g_string_free(dir, TRUE);
	return ok;
}

/* The config file a service runs with: its -c (--config) option as
 * GOption reads it, else the built-in default (pipe(8) and spawn(8) pass
 * no environment). */
static const char *
service_config(const struct doctor_service *s)
{
	const char *conf = SOARLIST_DEFAULT_CONFIG;

	for (char **a = s->argv + 1; *a != NULL && strcmp(*a, "--"); a++) {
		if ((!strcmp(*a, "-c") || !strcmp(*a, "--config")) && a[1])
			conf = *++a;
		else if (g_str_has_prefix(*a, "--config="))
			conf = *a + strlen("--config=");
		else if (g_str_has_prefix(*a, "-c") && (*a)[2] != '\0')
			conf = *a + 2;
	}
	return conf;
}

static gboolean
same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return strcmp(a, b) == 0;
	return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Service S runs argv[0] as U, with the config doctor reads. */
static void
check_program(struct doctor *d, const struct doctor_service *s,
	      const struct doctor_user *u)
{
	const char *conf = service_config(s);
	char *why = NULL;

	if (doctor_user_privileged(d, s->user)) {
		doctor_add(
			d, FALSE,
			g_strdup_printf(
				"master.cf service %s has "
				"user=%s: %s refuses to run a command as root or as "
				"Postfix's mail_owner",
				s->name, s->user, s->command),
			g_strdup_printf(
				"set user= of %s to the owner of the "
				"database (soarlist), then postfix reload",
				s->name));
		return;
	}
	if (u == NULL)
		return; /* the access check says why */
	if (!doctor_user_may(u, s->argv[0], 1, &why))
		doctor_add(
			d, FALSE,
			g_strdup_printf("master.cf service %s "
					"argv=%s: %s",
					s->name, s->argv[0], why),
			g_strdup_printf(
				"install the program where %s can run "
				"it (this build installs soarlist in " SOARLIST_BINDIR
				" and soarlist-deliver in " SOARLIST_LIBEXECDIR
				") and make argv= name "
				"it; then postfix reload",
				u->name));
	else if (!same_file(conf, d->cfg->path))
		doctor_add(d, FALSE,
			   g_strdup_printf("master.cf service %s reads "
					   "the config %s, not %s",
					   s->name, conf, d->cfg->path),
			   g_strdup_printf(
				   "run soarlist -c %s doctor, or make "
				   "argv= of %s say -c %s; then postfix reload",
				   conf, s->name, d->cfg->path));
	else
		doctor_add(d, TRUE,
			   g_strdup_printf("master.cf service %s: %s "
					   "may execute %s",
					   s->name, u->name, s->argv[0]),
			   NULL);
	g_free(why);
}

/* The programs in argv= of the pipe and policy services can be run by
 * their users. */
void
doctor_check_programs(struct doctor *d)
{
	if (d->deliver != NULL)
		check_program(d, d->deliver, d->pipe_user);
	if (d->policy != NULL)
		check_program(d, d->policy, d->policy_user);
}

/* Add to BAD what keeps U from PATH with MODE. */
static void
need(const struct doctor_user *u, const char *path, int mode, GString *bad)
{
	char *why = NULL;

	/* a directory in the way of several files is named once */
	if (!doctor_user_may(u, path, mode, &why) && !strstr(bad->str, why))
		g_string_append_printf(bad, "%s%s", bad->len ? "; " : "", why);
	g_free(why);
}

/* What U must reach: the config, the database (and its -wal and -shm where
 * they exist) and its directory, and, with KEYS, the API key files. */
static void
check_user(struct doctor *d, const char *role, const struct doctor_user *u,
	   gboolean keys)
{
	GString *bad = g_string_new(NULL);
	char *dir = g_path_get_dirname(d->cfg->database);
	char *conf = realpath(d->cfg->path, NULL);

	need(u, conf ? conf : d->cfg->path, 4, bad);
	need(u, dir, 3, bad);
	need(u, d->cfg->database, 6, bad);
	for (int i = 0; i < 2; i++) {
		char *p = g_strconcat(d->cfg->database, i ? "-shm" : "-wal",
				      NULL);
		if (g_file_test(p, G_FILE_TEST_EXISTS))
			need(u, p, 6, bad);
		g_free(p);
	}
	if (keys && d->cfg->api_key_file != NULL)
		need(u, d->cfg->api_key_file, 4, bad);
	for (guint i = 0; keys && i < d->cfg->clubs->len; i++) {
		const struct club_config *c = d->cfg->clubs->pdata[i];
		if (c->api_key_file != NULL)
			need(u, c->api_key_file, 4, bad);
	}
	doctor_add(
		d, bad->len == 0,
		bad->len == 0
			? g_strdup_printf(
				  "%s user %s can read the config%s and read and "
				  "write the database",
				  role, u->name,
				  keys ? " and the key files" : "")
			: g_strdup_printf("%s user %s cannot: %s", role,
					  u->name, bad->str),
		g_strdup_printf("let %s read the config%s and own the database "
				"and its directory (chown %s %s %s*), every "
				"directory above them searchable",
				u->name, keys ? " and the key files" : "",
				u->name, dir, d->cfg->database));
	g_string_free(bad, TRUE);
	g_free(conf);
	g_free(dir);
}

static void
user_missing(struct doctor *d, const char *role, const char *name)
{
	doctor_add(d, FALSE,
		   g_strdup_printf("%s user %s does not exist", role, name),
		   g_strdup("create it (adduser --system --group soarlist) or "
			    "correct user= of the service in master.cf"));
}

/* The pipe user (-u, else user= of the soarlist transport) and the policy
 * service's user can reach what they need. Left out when neither is
 * known (the transport check says why). */
void
doctor_check_access(struct doctor *d)
{
	const char *pipe = d->user_arg  ? d->user_arg
			   : d->deliver ? d->deliver->user
					: NULL;
	const char *policy = d->policy ? d->policy->user : NULL;

	/* a privileged user= is reported by the programs check; -u is not */
	if (pipe != NULL && d->user_arg == NULL &&
	    doctor_user_privileged(d, pipe))
		;
	else if (pipe != NULL && d->pipe_user == NULL)
		user_missing(d, "pipe", pipe);
	else if (pipe != NULL)
		check_user(d, "pipe", d->pipe_user, TRUE);
	if (policy == NULL || g_strcmp0(policy, pipe) == 0 ||
	    doctor_user_privileged(d, policy))
		return;
	if (d->policy_user == NULL)
		user_missing(d, "policy", policy);
	else
		check_user(d, "policy", d->policy_user, FALSE);
}
