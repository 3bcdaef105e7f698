/* dkim.h - the DKIM keys of the club domains, and OpenDKIM's KeyTable and
 * SigningTable for them (soarlist dkim; soarlist dns publishes the keys).
 *
 * Under dkim_dir: keys/DOMAIN/SELECTOR.private (RSA 2048, PEM, mode 0640,
 * group dkim_group, directories 0750), KeyTable (OpenDKIM "file:" table:
 * "SELECTOR._domainkey.DOMAIN DOMAIN:SELECTOR:PATH") and SigningTable
 * ("refile:" table: "*@DOMAIN SELECTOR._domainkey.DOMAIN"), both naming
 * each domain's signing key only. The keys are rows of dkim_key (schema
 * 011-dkim.sql).
 */
#ifndef SOARLIST_DKIM_H
#define SOARLIST_DKIM_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

#define DKIM_ERROR (dkim_error_quark())
GQuark dkim_error_quark(void);

enum dkim_error {
	DKIM_ERROR_FAILED,  /* a file could not be written, a key made */
	DKIM_ERROR_CONFIG,  /* dkim_group does not exist */
	DKIM_ERROR_REFUSED, /* what was asked makes no sense (retire the
			     * signing key, a domain of no club) */
};

/* One key of a domain. */
struct dkim_key {
	char *domain;
	char *selector;
	char *public_key; /* base64 DER SubjectPublicKeyInfo: the p= tag */
	gint64 created_at;
	gboolean signing;
};

void dkim_key_free(struct dkim_key *k);
typedef struct dkim_key DkimKey;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DkimKey, dkim_key_free)

/* A new key of BITS bits whose private key is written (PEM, mode 0640,
 * group GID) to PATH atomically; *PUBLIC_R: the p= value, newly
 * allocated. 0 or -1 with *error. */
int dkim_keygen(const char *path, int bits, gid_t gid, char **public_r,
		GError **error);

/* Every key of DOMAIN (every domain when NULL), ordered by domain, the
 * signing key first, then newest first: a new array of struct dkim_key *,
 * or NULL with *error. */
GPtrArray *dkim_keys(sqlite3 *db, const char *domain, GError **error);

/* A key for every club domain that has no signing key (selector
 * dkim_selector, or as dkim_rotate() names it when that is taken).
 * *CREATED_R: the new keys (struct dkim_key *). 0 or -1 with *error; keys
 * made before a failure stay. The tables are the caller's:
 * dkim_write_tables(). */
int dkim_ensure(sqlite3 *db, const struct config *cfg, GPtrArray **created_r,
		GError **error);

/* A new signing key for DOMAIN, a domain of a configured club; the key
 * that signed until now stays published. Its selector is dkim_selector,
 * "-", the date (YYYYMMDD), and "-N" if that is taken. *KEY_R: the new
 * key. The tables are the caller's. 0 or -1 with *error. */
int dkim_rotate(sqlite3 *db, const struct config *cfg, const char *domain,
		struct dkim_key **key_r, GError **error);

/* Forget key SELECTOR of DOMAIN: its row and its file. Refused
 * (DKIM_ERROR_REFUSED) for the signing key and for a key that does not
 * exist. 0 or -1 with *error. */
int dkim_retire(sqlite3 *db, const struct config *cfg, const char *domain,
		const char *selector, GError **error);

/* The texts of KeyTable and SigningTable for the signing keys of the
 * configured clubs' domains (a key of a domain no longer configured is
 * left out), newly allocated. 0 or -1 with *error. */
int dkim_render_tables(sqlite3 *db, const struct config *cfg, char **keytable_r,
		       char **signingtable_r, GError **error);

/* Write KeyTable and SigningTable into dkim_dir, each only when its text
 * changed (written to a temporary name, synced, renamed: OpenDKIM never
 * reads half of one). *CHANGED_R (may be NULL): the names written, a new
 * array of static strings. 0 or -1 with *error. */
int dkim_write_tables(sqlite3 *db, const struct config *cfg,
		      GPtrArray **changed_r, GError **error);

#endif
