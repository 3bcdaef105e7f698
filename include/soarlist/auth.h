/* auth.h - is the From domain of a post authenticated? (require_auth =
 * dmarc)
 *
 * soarlist verifies nothing itself: a verifier on this server (OpenDKIM,
 * OpenDMARC, an SPF policy daemon) writes Authentication-Results headers
 * (RFC 8601), and soarlist reads those it can trust. Trusted means written
 * here: the authserv-id is the configured authserv_id, and the header
 * stands above every Received header added by another host, i.e. one whose
 * "by" is not the authserv-id (one below was in the message before it
 * reached us). The From domain is authenticated
 * by a trusted dkim=pass whose header.d is aligned with it, an spf=pass
 * whose smtp.mailfrom domain is aligned with it, or a dmarc=pass for it;
 * aligned means the same organizational domain (relaxed alignment, RFC
 * 7489), found with the Public Suffix List (libpsl).
 */
#ifndef SOARLIST_AUTH_H
#define SOARLIST_AUTH_H

#include <gmime/gmime.h>

struct post_auth {
	/* the From domain is authenticated */
	gboolean from_ok;
	/* SPF passed for the envelope sender's own domain */
	gboolean envelope_ok;
	/* one printable line: what authenticated the From domain, or why
	 * nothing did (what the trusted headers said, what was ignored) */
	char *detail;
};

/* Read the Authentication-Results of HEADERS (the message's headers, in
 * order) that AUTHSERV_ID wrote, for a post with envelope SENDER (may be
 * NULL or ""), into *auth_r (clear with post_auth_clear). Never fails:
 * whatever cannot be read authenticates nothing. */
void auth_evaluate(GMimeHeaderList *headers, const char *authserv_id,
		   const char *sender, struct post_auth *auth_r);

void post_auth_clear(struct post_auth *auth);

/* g_auto(PostAuth) auth = { 0 }; calls post_auth_clear() at the end of the
 * scope. The typedef is for g_auto(), which pastes one identifier. */
typedef struct post_auth PostAuth;
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PostAuth, post_auth_clear)

/* TRUE when domains A and B have the same organizational domain (the
 * registrable domain of the Public Suffix List), or are equal; any case. */
gboolean auth_domains_aligned(const char *a, const char *b);

/* One Authentication-Results result, as parsed by auth_parse_results(). */
struct auth_result {
	char *method; /* lowercased, without its version: "dkim" */
	char *result; /* lowercased: "pass" */
	char *header_d, *header_i, *smtp_mailfrom, *header_from; /* or NULL */
};

/* Parse the value of one Authentication-Results header (RFC 8601). Returns
 * its authserv-id (newly allocated) and fills RESULTS (struct auth_result
 * *, free with auth_result_free), or returns NULL when the header is
 * malformed. */
char *auth_parse_results(const char *value, GPtrArray *results);

void auth_result_free(gpointer result);

/* g_autoptr(AuthResult) r calls auth_result_free() at the end of the scope.
 * (For auth_parse_results(), give the GPtrArray auth_result_free as its
 * free function instead.) */
typedef struct auth_result AuthResult;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AuthResult, auth_result_free)

/* The host a Received header's value names after "by", lowercased without
 * a final dot (newly allocated), or NULL. */
char *auth_received_by(const char *value);

#endif
