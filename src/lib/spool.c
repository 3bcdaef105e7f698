/* spool.c - stdin to an unlinked temporary file.
 *
 * O_TMPFILE gives a file that never had a name; where the file system
 * lacks it we fall back to mkostemp() and unlink at once. Either way
 * nothing is left behind, whatever happens to the process.
 */
#include "soarlist/spool.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "soarlist/fdio.h"

#define SPOOL_ERROR (g_quark_from_static_string("soarlist-spool"))
#define SPOOL_BUF (256 * 1024)

static int
open_tmp(const char *dir, GError **error)
{
	int fd;
	char *tmpl;

#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
	tmpl = g_build_filename(dir, "soarlist-XXXXXX", NULL);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0) {
		g_set_error(error, SPOOL_ERROR, errno,
			    "cannot create a spool file in %s: %s", dir,
			    g_strerror(errno));
	} else {
		unlink(tmpl);
	}
	g_free(tmpl);
	return fd;
}

int
spool_from_fd(int in_fd, const char *dir, struct spool *spool_r, GError **error)
{
	char *buf;
	int fd;

	spool_r->fd = -1;
	spool_r->size = 0;
	fd = open_tmp(dir != NULL ? dir : g_get_tmp_dir(), error);
	if (fd < 0)
		return -1;
	buf = g_malloc(SPOOL_BUF);
	for (;;) {
		ssize_t n = read(in_fd, buf, SPOOL_BUF);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			g_set_error(error, SPOOL_ERROR, errno,
				    "reading the message: %s",
				    g_strerror(errno));
			goto fail;
		}
		if (fdio_write_all(fd, buf, (size_t)n) < 0) {
			g_set_error(error, SPOOL_ERROR, errno,
				    "writing the spool file: %s",
				    g_strerror(errno));
			goto fail;
		}
		spool_r->size += n;
	}
	g_free(buf);
	spool_r->fd = fd;
	return 0;
fail:
	g_free(buf);
	close(fd);
	spool_r->size = 0;
	return -1;
}

int
spool_tmpfile(const char *dir, GError **error)
{
	return open_tmp(dir != NULL ? dir : g_get_tmp_dir(), error);
}

void
spool_close(struct spool *spool)
{
	if (spool->fd >= 0) {
		close(spool->fd);
		spool->fd = -1;
	}
}
