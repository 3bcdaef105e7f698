/* backup.h - `soarlist backup DIR`: what a restore needs, copied into a
 * new private directory while the server runs: the database (SQLite's
 * online backup API: a consistent copy whatever deliveries and syncs do
 * meanwhile), the configuration, the M2S API key files and the DKIM
 * directory (keys and OpenDKIM's tables), with a MANIFEST saying where
 * each file came from, its owner, group and mode, and its SHA-256.
 */
#ifndef SOARLIST_BACKUP_H
#define SOARLIST_BACKUP_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

#define BACKUP_ERROR (backup_error_quark())
GQuark backup_error_quark(void);

enum {
	BACKUP_ERROR_FAILED, /* a file could not be read or written */
	BACKUP_ERROR_EXISTS, /* DIR exists and is not empty */
};

/* Copy DB (opened on CFG's database) and the files of CFG into DIR, made
 * with mode 0700 (it must not exist, or be an empty directory); every
 * file in it has mode 0600. *FILES_R (may be NULL) receives the number
 * of files copied. Returns 0, or -1 with *error; DIR is then left as it
 * is, for a look. */
int backup_write(sqlite3 *db, const struct config *cfg, const char *dir,
		 guint *files_r, GError **error);

#endif
