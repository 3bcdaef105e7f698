/* doctor-files.c - doctor's checks of who owns and who may read soarlist's
 * files: the generated tables belong to the pipe user (sync, run as that
 * user, replaces them), and the database and the archive, which hold board
 * posts and moderation tokens, are not readable by others.
 */
#include <string.h>
#include <sys/stat.h>

#include "doctor-internal.h"
#include "soarlist/postfix-maps.h"

#define SHOWN 5 /* paths named in one line; the rest are counted */

static void
note(GString *bad, guint *n, const char *fmt, const char *path,
     unsigned value)
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
	doctor_add(d, bad->len == 0, bad->len == 0
		? g_strdup_printf("tables in %s belong to the pipe user %s",
				  dir, d->pipe_user->name)
		: g_strdup_printf("tables not owned or writable by the pipe "
				  "user %s:%s", d->pipe_user->name, bad->str),
		g_strdup_printf("chown -R %s %s, and run soarlist sync and "
				"postfix-maps only as %s", d->pipe_user->name,
				dir, d->pipe_user->name));
	g_free(why);
	g_string_free(bad, TRUE);
}

/* Add PATH to BAD when others may read it (or enter it, a directory). */
static void
private_path(const char *path, GString *bad, guint *n)
{
	struct stat st;
	mode_t others = S_IROTH;

	if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode))
		return;
	if (S_ISDIR(st.st_mode))
		others |= S_IXOTH;
	if (st.st_mode & others)
		note(bad, n, "%s (mode %04o)", path, st.st_mode & 07777);
}

/* Every file and directory under DIR, DIR included. */
static void
private_tree(const char *dir, GString *bad, guint *n, int depth)
{
	GDir *gd;
	const char *name;

	private_path(dir, bad, n);
	if (depth > 8 || (gd = g_dir_open(dir, 0, NULL)) == NULL)
		return;
	while ((name = g_dir_read_name(gd)) != NULL) {
		char *p = g_build_filename(dir, name, NULL);
		if (g_file_test(p, G_FILE_TEST_IS_DIR) &&
		    !g_file_test(p, G_FILE_TEST_IS_SYMLINK))
			private_tree(p, bad, n, depth + 1);
		else
			private_path(p, bad, n);
		g_free(p);
	}
	g_dir_close(gd);
}

/* The database files and the archive are not readable by others. */
void
doctor_check_private(struct doctor *d)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	const char *archive = d->cfg->archive_dir;
	GString *bad = g_string_new(NULL);
	guint n = 0;

	for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
		char *p = g_strconcat(d->cfg->database, suffixes[i], NULL);
		private_path(p, bad, &n);
		g_free(p);
	}
	if (archive != NULL)
		private_tree(archive, bad, &n, 0);
	note_more(bad, n);
	doctor_add(d, n == 0, n == 0
		? g_strdup_printf("database%s not readable by others",
				  archive ? " and archive" : "")
		: g_strdup_printf("database or archive readable by others:%s",
				  bad->str),
		g_strdup_printf("chmod o-rwx %s*%s%s", d->cfg->database,
				archive ? "; chmod -R o-rwx " : "",
				archive ? archive : ""));
	g_string_free(bad, TRUE);
}
