/* archive.c - the per-list Maildir archive and its mboxrd export (see
 * archive.h).
 *
 * Each list has its own Maildir, archive_dir/CLUB/LIST/{tmp,new,cur}. A post
 * is written the Maildir way: a unique name in tmp/, fsync, rename into
 * new/, fsync new/, so a crash leaves either the whole message or a stray
 * file in tmp/, never half a message in new/. The file name starts with the
 * archive time (SECONDS.MMICROSECONDS...); the export sorts and filters on
 * it, falling back to the file's mtime for names that do not carry it (files
 * put there by other tools).
 *
 * The export streams each file through a 64 KB buffer and quotes mboxrd
 * style (one more '>' before any line matching ^>*From ) with a small state
 * machine, so memory does not grow with the size of a message or of a line.
 */
#include "soarlist/archive.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "soarlist/fdio.h"

#define ARCHIVE_ERROR (g_quark_from_static_string("soarlist-archive"))

/* the archive is private to the list's administrators */
#define DIR_MODE 0750
#define FILE_MODE 0640
#define EXPORT_BUF (64 * 1024)

static unsigned int name_counter;

/* mkdir PATH (mode 0750, whatever the umask) unless it is a directory
 * already; a new directory's parent is fsynced so the entry survives a
 * crash with the message that will be put in it. Returns 0 or -1. */
static int
make_dir(const char *path, GError **error)
{
	struct stat st;
	g_autofree char *parent = NULL;

	if (mkdir(path, DIR_MODE) < 0) {
		if (errno == EEXIST && stat(path, &st) == 0 &&
		    S_ISDIR(st.st_mode))
			return 0;
		if (errno == EEXIST)
			errno = ENOTDIR;
		goto fail;
	}
	if (chmod(path, DIR_MODE) < 0)
		goto fail;
	parent = g_path_get_dirname(path);
	if (fdio_fsync_dir(parent) < 0)
		goto fail;
	return 0;
fail:
	g_set_error(error, ARCHIVE_ERROR, 0, "cannot create %s: %s", path,
		    g_strerror(errno));
	return -1;
}

/* Create (as needed) MAILDIR = archive_dir/CLUB/LIST, its CLUB directory
 * and its tmp/, new/ and cur/. Returns 0 or -1 with *error. */
static int
maildir_make(const char *maildir, GError **error)
{
	g_autofree char *club_dir = g_path_get_dirname(maildir);
	const char *const subdirs[] = { "tmp", "new", "cur" };

	if (make_dir(club_dir, error) < 0 || make_dir(maildir, error) < 0)
		return -1;
	for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree char *p = g_build_filename(maildir, subdirs[i],
						      NULL);
		if (make_dir(p, error) < 0)
			return -1;
	}
	return 0;
}

/* TIME.MUSECPPID_COUNTER.HOST, with '/' and ':' in the host name written
 * as \057 and \072 as the Maildir convention has it. Newly allocated. */
static char *
unique_name(void)
{
	char host[HOST_NAME_MAX + 1];
	gint64 now = g_get_real_time();
	GString *h = g_string_new(NULL);
	char *name;

	if (gethostname(host, sizeof(host)) < 0)
		g_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (const char *p = host; *p != '\0'; p++) {
		if (*p == '/')
			g_string_append(h, "\\057");
		else if (*p == ':')
			g_string_append(h, "\\072");
		else
			g_string_append_c(h, *p);
	}
	name = g_strdup_printf("%" G_GINT64_FORMAT ".M%" G_GINT64_FORMAT
			       "P%ld_%u.%s",
			       now / G_USEC_PER_SEC, now % G_USEC_PER_SEC,
			       (long)getpid(), name_counter++, h->str);
	g_string_free(h, TRUE);
	return name;
}

/* Open a new file in MAILDIR/tmp; *name_r is its base name. Returns the
 * descriptor or -1 with *error. */
static int
tmp_open(const char *maildir, char **name_r, GError **error)
{
	for (int attempt = 0; attempt < 10; attempt++) {
		char *name = unique_name();
		g_autofree char *path = g_build_filename(maildir, "tmp", name,
							 NULL);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			      FILE_MODE);
		if (fd >= 0) {
			/* the umask may have taken group read away */
			if (fchmod(fd, FILE_MODE) == 0) {
				*name_r = name;
				return fd;
			}
			int e = errno;
			close(fd);
			unlink(path);
			errno = e;
		}
		g_free(name);
		if (errno != EEXIST) {
			g_set_error(error, ARCHIVE_ERROR, 0,
				    "cannot create "
				    "%s: %s",
				    path, g_strerror(errno));
			return -1;
		}
	}
	g_set_error(error, ARCHIVE_ERROR, 0,
		    "cannot find a unique file name "
		    "in %s/tmp",
		    maildir);
	return -1;
}

/* SLUG and NAME become path components: a defence in depth on top of the
 * config's and the sync's own checks. */
static gboolean
component_ok(const char *s)
{
	return s != NULL && *s != '\0' && *s != '.' && strchr(s, '/') == NULL;
}

int
archive_store(const struct config *cfg, const struct list_ref *ref,
	      const struct message *msg, GError **error)
{
	g_autofree char *maildir = NULL, *name = NULL, *tmp = NULL;
	g_autofree char *dst = NULL, *new_dir = NULL;
	int fd = -1, e;

	if (cfg->archive_dir == NULL)
		return 0;
	if (!component_ok(ref->club->slug) || !component_ok(ref->name)) {
		g_set_error(error, ARCHIVE_ERROR, 0,
			    "list name %s/%s cannot "
			    "be a directory name",
			    ref->club->slug, ref->name);
		return -1;
	}
	maildir = g_build_filename(cfg->archive_dir, ref->club->slug, ref->name,
				   NULL);
	if (make_dir(cfg->archive_dir, error) < 0 ||
	    maildir_make(maildir, error) < 0 ||
	    (fd = tmp_open(maildir, &name, error)) < 0)
		return -1;
	tmp = g_build_filename(maildir, "tmp", name, NULL);
	new_dir = g_build_filename(maildir, "new", NULL);
	dst = g_build_filename(new_dir, name, NULL);
	if (message_write(msg, fd) < 0 || fsync(fd) < 0)
		goto fail;
	e = close(fd);
	fd = -1;
	if (e < 0 || rename(tmp, dst) < 0)
		goto fail;
	if (fdio_fsync_dir(new_dir) < 0) {
		/* the message is in new/; only its durability is in doubt */
		g_set_error(error, ARCHIVE_ERROR, 0, "cannot sync %s: %s",
			    new_dir, g_strerror(errno));
		return -1;
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	g_set_error(error, ARCHIVE_ERROR, 0, "cannot write %s: %s", tmp,
		    g_strerror(e));
	return -1;
}

/* One message of the export. */
struct entry {
	gint64 sec, usec; /* archive time */
	char *path;
};

static void
entry_clear(gpointer p)
{
	g_free(((struct entry *)p)->path);
}

static int
entry_cmp(gconstpointer a, gconstpointer b)
{
	const struct entry *x = a, *y = b;

	if (x->sec != y->sec)
		return x->sec < y->sec ? -1 : 1;
	if (x->usec != y->usec)
		return x->usec < y->usec ? -1 : 1;
	return strcmp(x->path, y->path);
}

/* The archive time of a file named SECONDS.[MUSEC]...: TRUE and *sec_r,
 * *usec_r, or FALSE when NAME does not start that way. */
static gboolean
name_time(const char *name, gint64 *sec_r, gint64 *usec_r)
{
	gint64 sec = 0, usec = 0;
	const char *p = name;

	for (; g_ascii_isdigit(*p) && p - name < 18; p++)
		sec = sec * 10 + (*p - '0');
	if (p == name || *p != '.')
		return FALSE;
	if (p[1] == 'M') {
		const char *q = p + 2;
		for (; g_ascii_isdigit(*q) && q - p < 9; q++)
			usec = usec * 10 + (*q - '0');
		if (usec >= G_USEC_PER_SEC)
			usec = 0;
	}
	*sec_r = sec;
	*usec_r = usec;
	return TRUE;
}

/* Add the messages of directory DIR archived in [SINCE, UNTIL) to
 * ENTRIES. A missing directory holds no messages. Returns 0 or -1. */
static int
scan_dir(const char *dir, gint64 since, gint64 until, GArray *entries,
	 GError **error)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		g_set_error(error, ARCHIVE_ERROR, 0, "cannot read %s: %s", dir,
			    g_strerror(errno));
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		struct entry e = { 0 };
		struct stat st;

		if (de->d_name[0] == '.' ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
			    0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!name_time(de->d_name, &e.sec, &e.usec)) {
			e.sec = st.st_mtim.tv_sec;
			e.usec = st.st_mtim.tv_nsec / 1000;
		}
		if ((since != 0 && e.sec < since) ||
		    (until != 0 && e.sec >= until))
			continue;
		e.path = g_build_filename(dir, de->d_name, NULL);
		g_array_append_val(entries, e);
	}
	if (errno != 0) {
		g_set_error(error, ARCHIVE_ERROR, 0, "cannot read %s: %s", dir,
			    g_strerror(errno));
		closedir(d);
		return -1;
	}
	closedir(d);
	return 0;
}

/* "From MAILER-DAEMON Thu Nov 24 18:22:48 1986": asctime's layout in UTC,
 * spelt out so that no locale changes it. */
static void
put_from_line(FILE *out, gint64 sec)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed",
					 "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
					    "May", "Jun", "Jul", "Aug",
					    "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)sec;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	fprintf(out, "From MAILER-DAEMON %s %s %2d %02d:%02d:%02d %d\n",
		days[tm.tm_wday], months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
		tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
}

/* mboxrd quoting of one message. At the start of a line the '>'s and the
 * part of "From " seen so far are held back as counts (GT, MATCHED): they
 * are written once it is known whether the line needs one more '>'. */
struct quote {
	guint64 gt;
	size_t matched;
	gboolean bol;
};

static const char from_[] = "From ";

static void
put_gts(FILE *out, guint64 n)
{
	static const char gts[] = ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>";

	while (n > 0) {
		size_t k = (size_t)MIN(n, sizeof(gts) - 1);
		fwrite(gts, 1, k, out);
		n -= k;
	}
}

/* Write what was held back, unquoted: the line is not a From_ line. */
static void
quote_release(struct quote *q, FILE *out)
{
	put_gts(out, q->gt);
	fwrite(from_, 1, q->matched, out);
	q->gt = 0;
	q->matched = 0;
	q->bol = FALSE;
}

static void
quote_feed(struct quote *q, const char *p, size_t len, FILE *out)
{
	const char *end = p + len;

	while (p < end) {
		if (!q->bol) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl + 1 - p)
				      : (size_t)(end - p);
			fwrite(p, 1, n, out);
			p += n;
			q->bol = nl != NULL;
		} else if (q->matched == 0 && *p == '>') {
			q->gt++;
			p++;
		} else if (*p == from_[q->matched]) {
			p++;
			if (++q->matched == sizeof(from_) - 1) {
				q->gt++;
				quote_release(q, out);
			}
		} else {
			quote_release(q, out);
		}
	}
}

/* Copy the file PATH (already open as FD) to OUT, quoted, then the blank
 * line that ends a message in an mbox. Returns 0 or -1 with *error. */
static int
export_one(int fd, const char *path, char *buf, FILE *out, GError **error)
{
	struct quote q = { .bol = TRUE };

	for (;;) {
		ssize_t n = read(fd, buf, EXPORT_BUF);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			g_set_error(error, ARCHIVE_ERROR, 0,
				    "cannot read %s: "
				    "%s",
				    path, g_strerror(errno));
			return -1;
		}
		if (n == 0)
			break;
		quote_feed(&q, buf, (size_t)n, out);
	}
	if (q.gt > 0 || q.matched > 0)
		quote_release(&q, out);
	/* a message without a final newline gets one: the From_ line of the
	 * next message must start a line */
	if (!q.bol)
		fputc('\n', out);
	fputc('\n', out);
	if (ferror(out)) {
		g_set_error(error, ARCHIVE_ERROR, 0,
			    "cannot write the export: "
			    "%s",
			    g_strerror(errno));
		return -1;
	}
	return 0;
}

/* Write each of ENTRIES to OUT. Returns the number written or -1. */
static int
export_entries(GArray *entries, FILE *out, GError **error)
{
	char *buf = g_malloc(EXPORT_BUF);
	int count = 0;

	for (guint i = 0; i < entries->len; i++) {
		const struct entry *e = &g_array_index(entries, struct entry,
						       i);
		int fd = open(e->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0 && errno == ENOENT)
			continue; /* moved new/ -> cur/ or expunged meanwhile */
		if (fd < 0) {
			g_set_error(error, ARCHIVE_ERROR, 0,
				    "cannot open %s: "
				    "%s",
				    e->path, g_strerror(errno));
			goto fail;
		}
		put_from_line(out, e->sec);
		if (export_one(fd, e->path, buf, out, error) < 0) {
			close(fd);
			goto fail;
		}
		close(fd);
		count++;
	}
	g_free(buf);
	return count;
fail:
	g_free(buf);
	return -1;
}

int
archive_export(const struct config *cfg, const char *slug, const char *name,
	       gint64 since, gint64 until, FILE *out, GError **error)
{
	g_autoptr(GArray)
		entries = g_array_new(FALSE, FALSE, sizeof(struct entry));
	g_autofree char *maildir = NULL;
	const char *const subdirs[] = { "new", "cur" };
	int count;

	if (cfg->archive_dir == NULL) {
		g_set_error(error, ARCHIVE_ERROR, 0, "archive_dir is not set");
		return -1;
	}
	if (!component_ok(slug) || !component_ok(name)) {
		g_set_error(error, ARCHIVE_ERROR, 0,
			    "list name %s/%s cannot "
			    "be a directory name",
			    slug, name);
		return -1;
	}
	g_array_set_clear_func(entries, entry_clear);
	maildir = g_build_filename(cfg->archive_dir, slug, name, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(subdirs); i++) {
		g_autofree char *dir = g_build_filename(maildir, subdirs[i],
							NULL);
		if (scan_dir(dir, since, until, entries, error) < 0)
			return -1;
	}
	g_array_sort(entries, entry_cmp);
	count = export_entries(entries, out, error);
	if (count >= 0 && fflush(out) != 0) {
		g_set_error(error, ARCHIVE_ERROR, 0,
			    "cannot write the export: "
			    "%s",
			    g_strerror(errno));
		return -1;
	}
	return count;
}
