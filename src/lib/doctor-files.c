/* doctor-files.c - doctor's checks of who owns and who may read soarlist's
 * files: the generated tables belong to the pipe user (sync, run as that
 * user, replaces them), and the private data (the database, which holds
 * board posts, moderation tokens and the bounce key, the archive, the API
 * key files) allows others nothing and its group no writing.
 */
#include <string.h>
#include <sys/stat.h>

#include "doctor-internal.h"
#include "soarlist/postfix-maps.h"

#define SHOWN 5 /* paths named in one line; the rest are counted */

static void
note(GString *bad, guint *n, const char *fmt, const char *path, unsigned value)
{
	if (++*n <= SHOWN) {
		g_string_append_c(bad, ' ');
		g_string_append_printf(bad, fmt, path, value);
	}
}

static void
note_more(GString *bad, guint n)
{
	if (n > SHOWN)
		g_string_append_printf(bad, " and %u more", n - SHOWN);
}

/* The tables in postfix_dir, and their .db files, belong to the pipe
 * user, who can write into the directory. */
void
doctor_check_table_owner(struct doctor *d)
{
	const char *dir = d->cfg->postfix_dir;
	GString *bad;
	char *why = NULL;
	guint n = 0;

	if (dir == NULL || d->pipe_user == NULL)
		return; /* the tables and access checks say why */
	bad = g_string_new(NULL);
	for (int i = 0; postfix_map_names[i] != NULL; i++) {
		for (int db = 0; db < 2; db++) {
			char *p = g_strdup_printf("%s/%s%s", dir,
						  postfix_map_names[i],
						  db ? ".db" : "");
			struct stat st;
			if (stat(p, &st) == 0 && st.st_uid != d->pipe_user->uid)
				note(bad, &n, "%s (uid %u)", p, st.st_uid);
			g_free(p);
		}
	}
	note_more(bad, n);
	if (!doctor_user_may(d->pipe_user, dir, 3, &why))
		g_string_append_printf(bad, "%s %s", bad->len ? ";" : "", why);
	doctor_add(d, bad->len == 0,
		   bad->len == 0
			   ? g_strdup_printf(
				     "tables in %s belong to the pipe user %s",
				     dir, d->pipe_user->name)
			   : g_strdup_printf(
				     "tables not owned or writable by the pipe "
				     "user %s:%s",
				     d->pipe_user->name, bad->str),
		   g_strdup_printf("chown -R %s %s, and run soarlist sync and "
				   "postfix-maps only as %s",
				   d->pipe_user->name, dir,
				   d->pipe_user->name));
	g_free(why);
	g_string_free(bad, TRUE);
}

/* What a private file or directory must not allow (DESIGN.md, Data: files
 * 0600 or 0640, directories 0700 or 0750): anything for others, writing for
 * the group. An API key file allows its group nothing either (sync refuses
 * it otherwise). */
#define WIDER (S_IRWXO | S_IWGRP)
#define KEY_WIDER (S_IRWXO | S_IRWXG)

/* Add PATH to BAD when its mode allows any of WIDER. Returns TRUE then. */
static gboolean
private_path(const char *path, mode_t wider, GString *bad, guint *n)
{
	struct stat st;

	if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode) ||
	    (st.st_mode & wider) == 0)
		return FALSE;
	note(bad, n, "%s (mode %04o)", path, st.st_mode & 07777);
	return TRUE;
}

/* Every file and directory under DIR, DIR included. Returns TRUE when one
 * was added to BAD. */
static gboolean
private_tree(const char *dir, GString *bad, guint *n, int depth)
{
	gboolean found = private_path(dir, WIDER, bad, n);
	GDir *gd;
	const char *name;

	if (depth > 8 || (gd = g_dir_open(dir, 0, NULL)) == NULL)
		return found;
	while ((name = g_dir_read_name(gd)) != NULL) {
		char *p = g_build_filename(dir, name, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			found |= private_tree(p, bad, n, depth + 1);
		else
			found |= private_path(p, WIDER, bad, n);
		g_free(p);
	}
	g_dir_close(gd);
	return found;
}

/* The API key files of the config (each once) that allow their group or
 * others anything: added to BAD, their paths to FIX. Returns how many key
 * files the config names. */
static guint
private_keys(const struct config *cfg, GString *bad, guint *n, GString *fix)
{
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	guint count;

	for (guint i = 0; i <= cfg->clubs->len; i++) {
		const struct club_config *c = i < cfg->clubs->len
						      ? cfg->clubs->pdata[i]
						      : NULL;
		const char *key = c != NULL ? c->api_key_file
					    : cfg->api_key_file;
		if (key == NULL || !g_hash_table_add(seen, (gpointer)key))
			continue;
		if (private_path(key, KEY_WIDER, bad, n))
			g_string_append_printf(fix, " %s", key);
	}
	count = g_hash_table_size(seen);
	g_hash_table_destroy(seen);
	return count;
}

/* The files of private data (the database and its -wal, -shm and -journal
 * files, which hold held posts, moderation tokens and the bounce key; the
 * archive; the API key files) allow others nothing and the group no
 * writing. The database's directory is not judged: Postfix reads the
 * tables in postfix_dir under it. Spool files never have a name. */
void
doctor_check_private(struct doctor *d)
{
	static const char *const suffixes[] = { "", "-wal", "-shm",
						"-journal" };
	const char *archive = d->cfg->archive_dir;
	GString *bad = g_string_new(NULL), *fix = g_string_new(NULL);
	GString *keys = g_string_new(NULL);
	gboolean db = FALSE;
	guint n = 0, nkeys;

	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		char *p = g_strconcat(d->cfg->database, suffixes[i], NULL);
		db |= private_path(p, WIDER, bad, &n);
		g_free(p);
	}
	if (db)
		g_string_append_printf(fix, "chmod o-rwx,g-w %s*",
				       d->cfg->database);
	if (archive != NULL && private_tree(archive, bad, &n, 0))
		g_string_append_printf(fix, "%schmod -R o-rwx,g-w %s",
				       fix->len ? "; " : "", archive);
	nkeys = private_keys(d->cfg, bad, &n, keys);
	if (keys->len > 0)
		g_string_append_printf(fix, "%schmod 0600%s",
				       fix->len ? "; " : "", keys->str);
	note_more(bad, n);
	doctor_add(d, n == 0,
		   n == 0 ? g_strdup_printf(
				    "database%s%s closed to others and not "
				    "writable by the group",
				    archive == NULL ? ""
				    : nkeys > 0     ? ", archive"
						    : " and archive",
				    nkeys > 0 ? " and key files" : "")
			  : g_strdup_printf(
				    "database, archive or key files open to "
				    "others or writable by the group:%s",
				    bad->str),
		   g_string_free(fix, FALSE));
	g_string_free(keys, TRUE);
	g_string_free(bad, TRUE);
}
