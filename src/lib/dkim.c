/* dkim.c - the DKIM keys of the club domains, and OpenDKIM's KeyTable and
 * SigningTable for them (dkim.h).
 *
 * A key is made with libcrypto and written before its row: a crash between
 * the two leaves a file that no table names and the next run writes over.
 * A retired key's file goes before its row, so a key that is still
 * published is never left without its file by a crash. The tables name
 * each configured domain's signing key only; they are rewritten when their
 * text changes, under a temporary name renamed into place, as sync does
 * for Postfix's tables. OpenDKIM reads them when it starts or reloads.
 */
#include "soarlist/dkim.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soarlist/db.h"
#include "soarlist/fdio.h"

/* the quark's name is one token: the formatter must not space it */
/* clang-format off */
G_DEFINE_QUARK(soarlist-dkim-error-quark, dkim_error)
/* clang-format on */

#define DKIM_BITS 2048

void
dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	g_free(k->domain);
	g_free(k->selector);
	g_free(k->public_key);
	g_free(k);
}

static int
sys_fail(GError **error, const char *what, const char *path)
{
	int e = errno;

	g_set_error(error, DKIM_ERROR, DKIM_ERROR_FAILED, "%s %s: %s", what,
		    path, g_strerror(e));
	return -1;
}

/* The id of dkim_group. 0 or -1 with *error (CONFIG_ERROR). */
static int
group_id(const struct config *cfg, gid_t *gid_r, GError **error)
{
	struct group *g;

	errno = 0;
	g = getgrnam(cfg->dkim_group);
	if (g == NULL) {
		g_set_error(error, CONFIG_ERROR, CONFIG_ERROR_INVALID,
			    "dkim_group = %s: %s (the group OpenDKIM runs "
			    "as, which reads the keys; install opendkim "
			    "first)",
			    cfg->dkim_group,
			    errno ? g_strerror(errno) : "no such group");
		return -1;
	}
	*gid_r = g->gr_gid;
	return 0;
}

/* PATH as a directory of mode 0750 and group GID, made (with its parents)
 * if missing; an existing one is left as it is. 0 or -1 with *error. */
static int
private_dir(const char *path, gid_t gid, GError **error)
{
	if (g_file_test(path, G_FILE_TEST_IS_DIR))
		return 0;
	if (g_mkdir_with_parents(path, 0750) < 0)
		return sys_fail(error, "cannot create", path);
	if (chown(path, (uid_t)-1, gid) < 0 || chmod(path, 0750) < 0)
		return sys_fail(error, "cannot give the DKIM group", path);
	return 0;
}

/* fdio_replace(), its failure in *error. */
static int
write_atomic(const char *path, const char *data, size_t len, mode_t mode,
	     gid_t gid, GError **error)
{
	if (fdio_replace(path, data, len, mode, gid) < 0)
		return sys_fail(error, "cannot write", path);
	return 0;
}

static int
crypto_fail(GError **error, const char *what)
{
	g_set_error(error, DKIM_ERROR, DKIM_ERROR_FAILED,
		    "%s failed (libcrypto)", what);
	return -1;
}

int
dkim_keygen(const char *path, int bits, gid_t gid, char **public_r,
	    GError **error)
{
	EVP_PKEY *pkey = EVP_RSA_gen((unsigned int)bits);
	BIO *bio = NULL;
	unsigned char *der = NULL;
	char *pem = NULL;
	long pem_len = 0;
	int der_len, rc = -1;

	*public_r = NULL;
	if (pkey == NULL)
		return crypto_fail(error, "making an RSA key");
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL ||
	    !PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL)) {
		crypto_fail(error, "writing the private key");
		goto out;
	}
	pem_len = BIO_get_mem_data(bio, &pem);
	der_len = i2d_PUBKEY(pkey, &der);
	if (pem_len <= 0 || der_len <= 0) {
		crypto_fail(error, "writing the public key");
		goto out;
	}
	if (write_atomic(path, pem, (size_t)pem_len, 0640, gid, error) < 0)
		goto out;
	*public_r = g_base64_encode(der, (gsize)der_len);
	rc = 0;
out:
	if (pem != NULL)
		OPENSSL_cleanse(pem, (size_t)pem_len);
	BIO_free(bio);
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	return rc;
}

static char *
key_path(const struct config *cfg, const char *domain, const char *selector)
{
	g_autofree char *file = g_strconcat(selector, ".private", NULL);

	return g_build_filename(cfg->dkim_dir, "keys", domain, file, NULL);
}

GPtrArray *
dkim_keys(sqlite3 *db, const char *domain, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)dkim_key_free);
	sqlite3_stmt *st = NULL;
	int rc;

	if (db_stmt(db,
		    "SELECT domain, selector, public_key, created_at, signing "
		    "FROM dkim_key WHERE ?1 IS NULL OR domain = ?1 "
		    "ORDER BY domain, signing DESC, created_at DESC, selector",
		    &st, error) < 0)
		return NULL;
	sqlite3_bind_text(st, 1, domain, -1, SQLITE_STATIC);
	while ((rc = db_row(st, error)) > 0) {
		struct dkim_key *k = g_new0(struct dkim_key, 1);

		k->domain = g_strdup((const char *)sqlite3_column_text(st, 0));
		k->selector = g_strdup(
			(const char *)sqlite3_column_text(st, 1));
		k->public_key = g_strdup(
			(const char *)sqlite3_column_text(st, 2));
		k->created_at = sqlite3_column_int64(st, 3);
		k->signing = sqlite3_column_int(st, 4) != 0;
		g_ptr_array_add(out, k);
	}
	if (rc < 0) {
		g_prefix_error(error, "reading the DKIM keys: ");
		return NULL;
	}
	return g_steal_pointer(&out);
}

/* Record K as DOMAIN's signing key; the one before it stays, published. */
static int
store_signing(sqlite3 *db, const struct dkim_key *k, GError **error)
{
	sqlite3_stmt *st = NULL;

	if (db_begin_write(db, DB_SYNCED, error) < 0)
		return -1;
	if (db_stmt(db,
		    "UPDATE dkim_key SET signing = 0 WHERE domain = ?1 AND "
		    "signing = 1",
		    &st, error) < 0)
		goto fail;
	sqlite3_bind_text(st, 1, k->domain, -1, SQLITE_STATIC);
	if (db_run(st, error) < 0)
		goto fail;
	if (db_stmt(db,
		    "INSERT INTO dkim_key (domain, selector, public_key, "
		    "created_at, signing) VALUES (?1, ?2, ?3, ?4, 1)",
		    &st, error) < 0)
		goto fail;
	sqlite3_bind_text(st, 1, k->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->selector, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, k->public_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, k->created_at);
	if (db_run(st, error) < 0)
		goto fail;
	return db_commit(db, error);
fail:
	g_prefix_error(error, "recording the DKIM key: ");
	db_rollback(db);
	return -1;
}

/* A new signing key SELECTOR for DOMAIN: the file, then the row. Only
 * root makes keys: OpenDKIM (RequireSafeKeys, its default) uses a private
 * key only when root or its own user owns it and no directory above it is
 * writable by another user; a key the soarlist user made would defer all
 * the clubs' mail. */
static struct dkim_key *
make_key(sqlite3 *db, const struct config *cfg, gid_t gid, const char *domain,
	 const char *selector, GError **error)
{
	g_autoptr(DkimKey) k = g_new0(struct dkim_key, 1);
	g_autofree char *path = key_path(cfg, domain, selector);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *keys = g_path_get_dirname(dir);

	if (geteuid() != 0) {
		g_set_error(error, DKIM_ERROR, DKIM_ERROR_REFUSED,
			    "run it as root: OpenDKIM uses a private key only "
			    "when root or its own user owns it");
		return NULL;
	}
	if (private_dir(cfg->dkim_dir, gid, error) < 0 ||
	    private_dir(keys, gid, error) < 0 ||
	    private_dir(dir, gid, error) < 0)
		return NULL;
	k->domain = g_strdup(domain);
	k->selector = g_strdup(selector);
	k->created_at = g_get_real_time() / G_USEC_PER_SEC;
	k->signing = TRUE;
	if (dkim_keygen(path, DKIM_BITS, gid, &k->public_key, error) < 0 ||
	    store_signing(db, k, error) < 0)
		return NULL;
	return g_steal_pointer(&k);
}

/* TRUE when DOMAIN has a key SELECTOR (any case), per KEYS. */
static gboolean
taken(GPtrArray *keys, const char *selector)
{
	for (guint i = 0; i < keys->len; i++) {
		const struct dkim_key *k = keys->pdata[i];

		if (g_ascii_strcasecmp(k->selector, selector) == 0)
			return TRUE;
	}
	return FALSE;
}

/* A selector for a new key of a domain that has KEYS: BASE if free, else
 * BASE-YYYYMMDD, then BASE-YYYYMMDD-N. */
static char *
new_selector(const char *base, GPtrArray *keys, gboolean dated)
{
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();
	g_autofree char *day = g_date_time_format(now, "%Y%m%d");
	char *s;

	if (!dated && !taken(keys, base))
		return g_strdup(base);
	s = g_strdup_printf("%s-%s", base, day);
	for (int n = 2; taken(keys, s); n++) {
		g_free(s);
		s = g_strdup_printf("%s-%s-%d", base, day, n);
	}
	return s;
}

int
dkim_ensure(sqlite3 *db, const struct config *cfg, GPtrArray **created_r,
	    GError **error)
{
	g_autoptr(GPtrArray) created = g_ptr_array_new_with_free_func(
		(GDestroyNotify)dkim_key_free);
	gid_t gid;

	*created_r = NULL;
	if (group_id(cfg, &gid, error) < 0)
		return -1;
	for (guint c = 0; c < cfg->clubs->len; c++) {
		const struct club_config *club = cfg->clubs->pdata[c];

		for (char **d = club->domains; *d != NULL; d++) {
			g_autoptr(GPtrArray) keys = dkim_keys(db, *d, error);
			g_autofree char *selector = NULL;
			struct dkim_key *k;

			if (keys == NULL)
				return -1;
			if (keys->len > 0 &&
			    ((struct dkim_key *)keys->pdata[0])->signing)
				continue;
			selector = new_selector(cfg->dkim_selector, keys,
						FALSE);
			k = make_key(db, cfg, gid, *d, selector, error);
			if (k == NULL)
				return -1;
			g_ptr_array_add(created, k);
		}
	}
	*created_r = g_steal_pointer(&created);
	return 0;
}

/* TRUE when DOMAIN is a domain of a configured club. */
static gboolean
configured(const struct config *cfg, const char *domain)
{
	g_autofree char *lower = g_ascii_strdown(domain, -1);

	return g_hash_table_contains(cfg->domain_club, lower);
}

int
dkim_rotate(sqlite3 *db, const struct config *cfg, const char *domain,
	    struct dkim_key **key_r, GError **error)
{
	g_autofree char *lower = g_ascii_strdown(domain, -1);
	g_autoptr(GPtrArray) keys = NULL;
	g_autofree char *selector = NULL;
	gid_t gid;

	*key_r = NULL;
	if (!configured(cfg, lower)) {
		g_set_error(error, DKIM_ERROR, DKIM_ERROR_REFUSED,
			    "%s is not a domain of any club in %s", domain,
			    cfg->path);
		return -1;
	}
	if (group_id(cfg, &gid, error) < 0 ||
	    (keys = dkim_keys(db, lower, error)) == NULL)
		return -1;
	selector = new_selector(cfg->dkim_selector, keys, TRUE);
	*key_r = make_key(db, cfg, gid, lower, selector, error);
	return *key_r == NULL ? -1 : 0;
}

int
dkim_retire(sqlite3 *db, const struct config *cfg, const char *domain,
	    const char *selector, GError **error)
{
	g_autofree char *lower = g_ascii_strdown(domain, -1);
	g_autoptr(GPtrArray) keys = dkim_keys(db, lower, error);
	const struct dkim_key *k = NULL;
	g_autofree char *path = NULL;
	sqlite3_stmt *st = NULL;

	if (keys == NULL)
		return -1;
	for (guint i = 0; i < keys->len && k == NULL; i++)
		if (g_ascii_strcasecmp(
			    ((struct dkim_key *)keys->pdata[i])->selector,
			    selector) == 0)
			k = keys->pdata[i];
	if (k == NULL || k->signing) {
		g_set_error(error, DKIM_ERROR, DKIM_ERROR_REFUSED,
			    k == NULL ? "%s has no DKIM key %s"
				      : "%s signs with key %s: rotate it "
					"first (soarlist dkim rotate %s)",
			    lower, selector, lower);
		return -1;
	}
	path = key_path(cfg, k->domain, k->selector);
	if (unlink(path) < 0 && errno != ENOENT)
		return sys_fail(error, "cannot remove", path);
	if (db_durability(db, DB_SYNCED, error) < 0 ||
	    db_stmt(db,
		    "DELETE FROM dkim_key WHERE domain = ?1 AND selector = ?2",
		    &st, error) < 0)
		return -1;
	sqlite3_bind_text(st, 1, k->domain, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->selector, -1, SQLITE_STATIC);
	return db_run(st, error);
}

int
dkim_render_tables(sqlite3 *db, const struct config *cfg, char **keytable_r,
		   char **signingtable_r, GError **error)
{
	static const char head[] =
		"# Written by soarlist dkim from its database: edits are "
		"lost.\n";
	g_autoptr(GString) keytable = g_string_new(head);
	g_autoptr(GString) signing = g_string_new(head);

	*keytable_r = *signingtable_r = NULL;
	for (guint c = 0; c < cfg->clubs->len; c++) {
		const struct club_config *club = cfg->clubs->pdata[c];

		for (char **d = club->domains; *d != NULL; d++) {
			g_autoptr(GPtrArray) keys = dkim_keys(db, *d, error);
			const struct dkim_key *k;
			g_autofree char *path = NULL;

			if (keys == NULL)
				return -1;
			if (keys->len == 0 ||
			    !((struct dkim_key *)keys->pdata[0])->signing)
				continue;
			k = keys->pdata[0];
			path = key_path(cfg, *d, k->selector);
			g_string_append_printf(
				keytable, "%s._domainkey.%s %s:%s:%s\n",
				k->selector, *d, *d, k->selector, path);
			g_string_append_printf(signing,
					       "*@%s %s._domainkey.%s\n", *d,
					       k->selector, *d);
		}
	}
	*keytable_r = g_string_free(g_steal_pointer(&keytable), FALSE);
	*signingtable_r = g_string_free(g_steal_pointer(&signing), FALSE);
	return 0;
}

int
dkim_write_tables(sqlite3 *db, const struct config *cfg, GPtrArray **changed_r,
		  GError **error)
{
	static const char *const names[] = { "KeyTable", "SigningTable" };
	g_autoptr(GPtrArray) changed = g_ptr_array_new();
	char *texts[2] = { NULL, NULL };
	int rc = -1;
	gid_t gid;

	if (changed_r != NULL)
		*changed_r = NULL;
	if (group_id(cfg, &gid, error) < 0 ||
	    private_dir(cfg->dkim_dir, gid, error) < 0 ||
	    dkim_render_tables(db, cfg, &texts[0], &texts[1], error) < 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		g_autofree char *path = g_build_filename(cfg->dkim_dir,
							 names[i], NULL);
		g_autofree char *old = NULL;

		if (g_file_get_contents(path, &old, NULL, NULL) &&
		    strcmp(old, texts[i]) == 0)
			continue;
		if (write_atomic(path, texts[i], strlen(texts[i]), 0640, gid,
				 error) < 0)
			goto out;
		g_ptr_array_add(changed, (gpointer)names[i]);
	}
	if (changed_r != NULL)
		*changed_r = g_steal_pointer(&changed);
	rc = 0;
out:
	g_free(texts[0]);
	g_free(texts[1]);
	return rc;
}
