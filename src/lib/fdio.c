/* fdio.c - writing whole buffers to a file descriptor, syncing a
 * directory, replacing a file atomically. */
#include "soarlist/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

int
fdio_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
fdio_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc, e;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

int
fdio_replace(const char *path, const char *data, size_t len, mode_t mode,
	     gid_t gid)
{
	g_autofree char *tmp = g_strconcat(path, ".tmp", NULL);
	g_autofree char *dir = g_path_get_dirname(path);
	int fd, saved;

	unlink(tmp); /* left by a crash */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if ((gid != (gid_t)-1 && fchown(fd, (uid_t)-1, gid) < 0) ||
	    fchmod(fd, mode) < 0 || fdio_write_all(fd, data, len) < 0 ||
	    fsync(fd) < 0) {
		saved = errno;
		close(fd);
		goto fail;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		saved = errno;
		goto fail;
	}
	return fdio_fsync_dir(dir);
fail:
	unlink(tmp);
	errno = saved;
	return -1;
}
