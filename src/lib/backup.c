/* backup.c - `soarlist backup DIR` (backup.h). The database is copied
 * with sqlite3_backup_step(-1) from a read transaction of its own, so the
 * copy is one snapshot; it is then checked (PRAGMA quick_check) before
 * the backup says it is done. Files are copied whole, synced, and listed
 * in DIR/MANIFEST, one line each:
 *
 *	SHA256  MODE  OWNER:GROUP  NAME-IN-DIR  ORIGINAL-PATH
 *
 * which soarlist(1) shows how to put back.
 */
#include "soarlist/backup.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soarlist/db.h"
#include "soarlist/fdio.h"

/* clang-format off */
G_DEFINE_QUARK(soarlist-backup-error-quark, backup_error)
/* clang-format on */

static int
fail(GError **error, const char *what, const char *path)
{
	g_set_error(error, BACKUP_ERROR, BACKUP_ERROR_FAILED, "%s %s: %s", what,
		    path, g_strerror(errno));
	return -1;
}

/* The hex SHA-256 of LEN bytes of DATA. */
static char *
sha256_hex(const char *data, gsize len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	GString *s = g_string_new(NULL);

	EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < n; i++)
		g_string_append_printf(s, "%02x", md[i]);
	return g_string_free(s, FALSE);
}

/* One MANIFEST line for ORIG (as it is now) copied to NAME with CONTENT. */
static void
manifest_line(GString *manifest, const char *name, const char *orig,
	      const char *content, gsize len)
{
	struct stat st;
	g_autofree char *sum = sha256_hex(content, len);
	const struct passwd *pw = NULL;
	const struct group *gr = NULL;

	if (orig != NULL && stat(orig, &st) == 0) {
		pw = getpwuid(st.st_uid);
		gr = getgrgid(st.st_gid);
	} else {
		st.st_mode = 0600;
	}
	g_string_append_printf(manifest, "%s  %04o  %s:%s  %s  %s\n", sum,
			       (unsigned)(st.st_mode & 07777),
			       pw ? pw->pw_name : "-", gr ? gr->gr_name : "-",
			       name, orig ? orig : "-");
}

/* Copy the file ORIG to DIR/NAME (mode 0600) and list it. */
static int
copy_file(const char *dir, const char *name, const char *orig,
	  GString *manifest, guint *files, GError **error)
{
	g_autofree char *content = NULL;
	g_autofree char *dest = g_build_filename(dir, name, NULL);
	g_autofree char *parent = g_path_get_dirname(dest);
	gsize len = 0;
	GError *err = NULL;

	if (!g_file_get_contents(orig, &content, &len, &err)) {
		g_set_error(error, BACKUP_ERROR, BACKUP_ERROR_FAILED, "%s",
			    err->message);
		g_error_free(err);
		return -1;
	}
	if (g_mkdir_with_parents(parent, 0700) < 0)
		return fail(error, "cannot create", parent);
	if (fdio_replace(dest, content, len, 0600, (gid_t)-1) < 0)
		return fail(error, "cannot write", dest);
	manifest_line(manifest, name, orig, content, len);
	(*files)++;
	return 0;
}

/* Copy every regular file under ORIG (the DKIM directory) to DIR/NAME/. */
static int
copy_tree(const char *dir, const char *name, const char *orig,
	  GString *manifest, guint *files, GError **error)
{
	GDir *d = g_dir_open(orig, 0, NULL);
	const char *entry;
	int rc = 0;

	if (d == NULL)
		return errno == ENOENT ? 0 : fail(error, "cannot read", orig);
	while (rc == 0 && (entry = g_dir_read_name(d)) != NULL) {
		g_autofree char *path = g_build_filename(orig, entry, NULL);
		g_autofree char *sub = g_build_filename(name, entry, NULL);
		struct stat st;

		if (lstat(path, &st) < 0)
			rc = fail(error, "cannot read", path);
		else if (S_ISDIR(st.st_mode))
			rc = copy_tree(dir, sub, path, manifest, files, error);
		else if (S_ISREG(st.st_mode) &&
			 !g_str_has_suffix(entry, ".tmp"))
			rc = copy_file(dir, sub, path, manifest, files, error);
	}
	g_dir_close(d);
	return rc;
}

/* The database, copied by SQLite's online backup into DIR/NAME, then
 * checked. */
static int
copy_database(sqlite3 *db, const char *dir, const char *name, const char *orig,
	      GString *manifest, guint *files, GError **error)
{
	g_autofree char *dest = g_build_filename(dir, name, NULL);
	g_autofree char *content = NULL;
	sqlite3 *out = NULL;
	sqlite3_backup *b;
	sqlite3_stmt *st = NULL;
	gsize len = 0;
	int rc, fd;

	fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return fail(error, "cannot create", dest);
	close(fd);
	rc = sqlite3_open_v2(dest, &out, SQLITE_OPEN_READWRITE, NULL);
	if (rc == SQLITE_OK) {
		b = sqlite3_backup_init(out, "main", db, "main");
		if (b == NULL) {
			rc = sqlite3_errcode(out);
		} else {
			/* one step: the whole database in one read
			 * transaction of the source, so one snapshot */
			rc = sqlite3_backup_step(b, -1);
			sqlite3_backup_finish(b);
			rc = rc == SQLITE_DONE ? sqlite3_errcode(out) : rc;
		}
	}
	if (rc == SQLITE_OK &&
	    (rc = sqlite3_prepare_v2(out, "PRAGMA quick_check", -1, &st,
				     NULL)) == SQLITE_OK) {
		rc = sqlite3_step(st) == SQLITE_ROW &&
				     strcmp((const char *)sqlite3_column_text(
						    st, 0),
					    "ok") == 0
			     ? SQLITE_OK
			     : SQLITE_CORRUPT;
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK) {
		g_set_error(error, BACKUP_ERROR, BACKUP_ERROR_FAILED,
			    "copying the database into %s: %s", dest,
			    out ? sqlite3_errmsg(out) : sqlite3_errstr(rc));
		sqlite3_close(out);
		return -1;
	}
	/* a rollback journal, not WAL: the copy is one file */
	sqlite3_exec(out, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL);
	sqlite3_close(out);
	if ((fd = open(dest, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) < 0) {
		if (fd >= 0)
			close(fd);
		return fail(error, "cannot sync", dest);
	}
	close(fd);
	if (!g_file_get_contents(dest, &content, &len, NULL))
		return fail(error, "cannot read", dest);
	manifest_line(manifest, name, orig, content, len);
	(*files)++;
	return 0;
}

/* Make DIR (mode 0700): it must not exist, or be empty. */
static int
make_dir(const char *dir, GError **error)
{
	GDir *d;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return fail(error, "cannot create", dir);
	d = g_dir_open(dir, 0, NULL);
	if (d == NULL)
		return fail(error, "cannot read", dir);
	if (g_dir_read_name(d) != NULL) {
		g_dir_close(d);
		g_set_error(error, BACKUP_ERROR, BACKUP_ERROR_EXISTS,
			    "%s is not empty: a backup goes into a new "
			    "directory",
			    dir);
		return -1;
	}
	g_dir_close(d);
	if (chmod(dir, 0700) < 0)
		return fail(error, "cannot chmod", dir);
	return 0;
}

int
backup_write(sqlite3 *db, const struct config *cfg, const char *dir,
	     guint *files_r, GError **error)
{
	g_autoptr(GString) manifest = g_string_new(
		"# soarlist backup: SHA256  MODE  OWNER:GROUP  NAME  "
		"ORIGINAL-PATH\n");
	g_autofree char *mpath = g_build_filename(dir, "MANIFEST", NULL);
	g_autoptr(GHashTable) keys = g_hash_table_new(g_str_hash, g_str_equal);
	guint files = 0;

	if (make_dir(dir, error) < 0 ||
	    copy_database(db, dir, "soarlist.db", cfg->database, manifest,
			  &files, error) < 0 ||
	    copy_file(dir, "soarlist.conf", cfg->path, manifest, &files,
		      error) < 0)
		return -1;
	/* the API key files, each once */
	if (cfg->api_key_file != NULL)
		g_hash_table_add(keys, cfg->api_key_file);
	for (guint i = 0; i < cfg->clubs->len; i++) {
		const struct club_config *c = g_ptr_array_index(cfg->clubs, i);

		if (c->api_key_file != NULL)
			g_hash_table_add(keys, c->api_key_file);
	}
	{
		g_autoptr(GList) list = g_hash_table_get_keys(keys);

		list = g_list_sort(list, (GCompareFunc)strcmp);
		for (GList *l = list; l != NULL; l = l->next) {
			g_autofree char *base = g_path_get_basename(l->data);
			g_autofree char *name = g_strdup_printf(
				"api-keys/%u-%s", g_list_position(list, l),
				base);

			if (copy_file(dir, name, l->data, manifest, &files,
				      error) < 0)
				return -1;
		}
	}
	if (copy_tree(dir, "dkim", cfg->dkim_dir, manifest, &files, error) < 0)
		return -1;
	if (fdio_replace(mpath, manifest->str, manifest->len, 0600, (gid_t)-1) <
	    0)
		return fail(error, "cannot write", mpath);
	if (fdio_fsync_dir(dir) < 0)
		return fail(error, "cannot sync", dir);
	if (files_r != NULL)
		*files_r = files;
	return 0;
}
