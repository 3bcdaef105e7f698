/* bounce-proof.c - the keyed token that proves a bounce answers a post of
 * the list (see bounce-proof.h).
 *
 * The token is HMAC-SHA256(key, "soarlist-bounce-proof 1\n" PERIOD "\n"
 * SLUG "/" LIST "\n" MESSAGE-ID), its first 128 bits in lowercase hex.
 * Nothing but the key is secret: the period rotates the token, so a token
 * that leaked stops proving anything after at most two periods.
 */
#include "soarlist/bounce-proof.h"

#include <string.h>

#include "soarlist/db.h"

#define TOKEN_HEX 32

char *
bounce_proof_token(GBytes *key, gint64 period, const char *slug,
		   const char *list, const char *message_id)
{
	gsize len = 0;
	const guchar *k = g_bytes_get_data(key, &len);
	char *data = g_strdup_printf(
		"soarlist-bounce-proof 1\n%" G_GINT64_FORMAT "\n%s/%s\n%s",
		period, slug, list, message_id ? message_id : "");
	char *mac = g_compute_hmac_for_string(G_CHECKSUM_SHA256, k, len, data,
					      -1);

	g_free(data);
	mac[TOKEN_HEX] = '\0';
	return mac;
}

GBytes *
bounce_proof_key(sqlite3 *db, GError **error)
{
	sqlite3_stmt *st = NULL;
	GBytes *key = NULL;
	int rc;

	if (db_stmt(db, "SELECT secret FROM bounce_key WHERE id = 1", &st,
		    error) < 0)
		return NULL;
	rc = db_row(st, error);
	if (rc > 0 && sqlite3_column_bytes(st, 0) >= 16)
		key = g_bytes_new(sqlite3_column_blob(st, 0),
				  (gsize)sqlite3_column_bytes(st, 0));
	sqlite3_reset(st);
	if (rc < 0) {
		g_prefix_error(error, "reading the bounce key: ");
		return NULL;
	}
	if (key == NULL)
		g_set_error(
			error, DB_ERROR, DB_ERROR_SCHEMA,
			"the database has no bounce key (table bounce_key): "
			"run 'soarlist sync' to migrate it");
	return key;
}

static const char *
club_slug(const struct list_ref *ref)
{
	return ref->club != NULL ? ref->club->slug : "";
}

int
bounce_proof_stamp(sqlite3 *db, const struct list_ref *ref,
		   GMimeHeaderList *headers, GError **error)
{
	GMimeHeader *h;
	GBytes *key;
	char *id = NULL, *token;

	while (g_mime_header_list_remove(headers, BOUNCE_PROOF_HEADER))
		;
	if ((key = bounce_proof_key(db, error)) == NULL)
		return -1;
	h = g_mime_header_list_get_header(headers, "Message-ID");
	if (h != NULL)
		id = g_mime_utils_decode_message_id(
			g_mime_header_get_raw_value(h));
	token = bounce_proof_token(
		key, g_get_real_time() / G_USEC_PER_SEC / BOUNCE_PROOF_PERIOD,
		club_slug(ref), ref->name, id);
	g_mime_header_list_append(headers, BOUNCE_PROOF_HEADER, token, NULL);
	g_free(token);
	g_free(id);
	g_bytes_unref(key);
	return 0;
}

/* A comparison whose time does not tell how much of A matches B. */
static gboolean
same(const char *a, const char *b)
{
	size_t n = strlen(a);
	unsigned char diff = 0;

	if (n != strlen(b))
		return FALSE;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

int
bounce_proof_check(sqlite3 *db, const struct list_ref *ref,
		   const char *message_id, const char *proof, gint64 now,
		   GError **error)
{
	gint64 period = now / BOUNCE_PROOF_PERIOD;
	gboolean ok = FALSE;
	GBytes *key;

	if (proof == NULL || strlen(proof) != TOKEN_HEX)
		return 0;
	if ((key = bounce_proof_key(db, error)) == NULL)
		return -1;
	for (gint64 p = period; p >= period - 1 && !ok; p--) {
		char *want = bounce_proof_token(key, p, club_slug(ref),
						ref->name, message_id);
		ok = same(want, proof);
		g_free(want);
	}
	g_bytes_unref(key);
	return ok ? 1 : 0;
}
