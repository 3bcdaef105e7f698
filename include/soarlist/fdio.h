/* fdio.h - small file-descriptor helpers shared by the spool, the
 * sendmail writer, the archive and the Postfix tables.
 */
#ifndef SOARLIST_FDIO_H
#define SOARLIST_FDIO_H

#include <stddef.h>

/* Write all LEN bytes of BUF to FD, retrying on EINTR and short writes.
 * Returns 0, or -1 with errno set. */
int fdio_write_all(int fd, const char *buf, size_t len);

/* fsync() the directory PATH, so that a name just created, renamed or
 * removed in it survives a power cut. Returns 0, or -1 with errno set. */
int fdio_fsync_dir(const char *path);

#endif
