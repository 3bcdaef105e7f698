/* fdio.h - small file-descriptor helpers shared by the spool, the
 * sendmail writer, the archive, the Postfix and OpenDKIM tables and the
 * metrics file.
 */
#ifndef SOARLIST_FDIO_H
#define SOARLIST_FDIO_H

#include <stddef.h>
#include <sys/types.h>

/* Write all LEN bytes of BUF to FD, retrying on EINTR and short writes.
 * Returns 0, or -1 with errno set. */
int fdio_write_all(int fd, const char *buf, size_t len);

/* fsync() the directory PATH, so that a name just created, renamed or
 * removed in it survives a power cut. Returns 0, or -1 with errno set. */
int fdio_fsync_dir(const char *path);

/* Replace PATH with LEN bytes of DATA, atomically: written under the
 * name PATH.tmp (a stale one is removed first) with mode MODE and group
 * GID ((gid_t)-1: the process's), synced, renamed over PATH and the
 * directory synced. Readers see the old file or the new one, never a
 * part. Returns 0, or -1 with errno set and PATH.tmp removed. */
int fdio_replace(const char *path, const char *data, size_t len, mode_t mode,
		 gid_t gid);

#endif
