/* spool.h - copying the incoming message to an unlinked temporary file, so
 * that its size never costs memory and sendmail can be fed from disk.
 */
#ifndef SOARLIST_SPOOL_H
#define SOARLIST_SPOOL_H

#include <glib.h>
#include <sys/types.h>

struct spool {
	int fd;     /* read/write, already unlinked */
	off_t size; /* bytes written */
};

/* Read IN_FD to its end into a new unlinked file in DIR (NULL: $TMPDIR or
 * /tmp). Returns 0 or -1 with *error (read or write failure, disk full). */
int spool_from_fd(int in_fd, const char *dir, struct spool *spool_r,
		  GError **error);

/* A new, empty, unlinked file in DIR (NULL: $TMPDIR or /tmp), open for
 * reading and writing. Returns its descriptor (the caller closes it) or -1
 * with *error. */
int spool_tmpfile(const char *dir, GError **error);

void spool_close(struct spool *spool);

/* g_auto(Spool) s = { .fd = -1 }; calls spool_close() when s goes out of
 * scope (initialize fd to -1: a zeroed struct would close descriptor 0).
 * g_auto() and g_autoptr() paste one identifier into a function name,
 * hence a typedef for each type that has them; the code says struct. */
typedef struct spool Spool;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Spool, spool_close)

#endif
