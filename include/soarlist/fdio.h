/* fdio.h - small file-descriptor helpers shared by the spool and the
 * sendmail writer.
 */
#ifndef SOARLIST_FDIO_H
#define SOARLIST_FDIO_H

#include <stddef.h>

/* Write all LEN bytes of BUF to FD, retrying on EINTR and short writes.
 * Returns 0, or -1 with errno set. */
int fdio_write_all(int fd, const char *buf, size_t len);

#endif
