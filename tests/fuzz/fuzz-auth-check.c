/* fuzz-auth-check.c - the oracle of authenticated posting: whatever a
 * sender writes, only headers our verifier wrote above every Received of
 * another host may authenticate a post (auth.h).
 */
#include "fuzz-auth-check.h"

#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "soarlist/auth.h"
#include "soarlist/message.h"
#include "soarlist/printable.h"

#define SENDER "alice@example.org"
#define FOREIGN \
	"Received: from relay.example by mx.other.example with " \
	"ESMTP id 1; Mon, 30 Nov 2026 00:00:00 +0000\n"

/* auth_evaluate() of the message PREFIX + DATA; -1 if it does not parse
 * as soarlist parses. */
static int
evaluate(const char *prefix, const uint8_t *data, size_t size,
	 gboolean strip_results, struct post_auth *auth_r)
{
	struct message msg;
	size_t plen = strlen(prefix);
	int fd = memfd_create("fuzz-auth", 0), rc = -1;

	if (fd < 0 || write(fd, prefix, plen) != (ssize_t)plen ||
	    write(fd, data, size) != (ssize_t)size)
		abort();
	if (message_parse(fd, (off_t)(plen + size), &msg, NULL) == 0) {
		if (strip_results)
			while (g_mime_header_list_remove(
				msg.headers, "Authentication-Results"))
				;
		auth_evaluate(msg.headers, FUZZ_AUTHSERV_ID, SENDER, auth_r);
		message_clear(&msg);
		rc = 0;
	}
	close(fd);
	return rc;
}

/* Each Authentication-Results header parses the same twice, and what it
 * yields has a method and a result in lowercase. */
static gboolean
results_sane(const uint8_t *data, size_t size)
{
	struct message msg;
	int fd = memfd_create("fuzz-auth-ar", 0);
	gboolean ok = TRUE;

	if (fd < 0 || write(fd, data, size) != (ssize_t)size)
		abort();
	if (message_parse(fd, (off_t)size, &msg, NULL) < 0) {
		close(fd);
		return TRUE;
	}
	for (int i = 0; ok && i < g_mime_header_list_get_count(msg.headers);
	     i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(msg.headers,
								  i);
		const char *raw = g_mime_header_get_raw_value(h);
		GPtrArray *a = g_ptr_array_new_with_free_func(auth_result_free);
		GPtrArray *b = g_ptr_array_new_with_free_func(auth_result_free);
		char *ida = raw ? auth_parse_results(raw, a) : NULL;
		char *idb = raw ? auth_parse_results(raw, b) : NULL;

		ok = g_strcmp0(ida, idb) == 0 && a->len == b->len &&
		     (ida != NULL || a->len == 0);
		for (guint k = 0; ok && k < a->len; k++) {
			const struct auth_result *r = a->pdata[k];
			char *lm = g_ascii_strdown(r->method, -1);
			char *lr = g_ascii_strdown(r->result, -1);
			ok = *r->method != '\0' && strcmp(lm, r->method) == 0 &&
			     strcmp(lr, r->result) == 0;
			g_free(lm);
			g_free(lr);
		}
		g_free(ida);
		g_free(idb);
		g_ptr_array_unref(a);
		g_ptr_array_unref(b);
		g_free(raw ? auth_received_by(raw) : NULL);
	}
	message_clear(&msg);
	close(fd);
	return ok;
}

/* DATA holds the authserv-id in any case, or a quoted string (where
 * backslashes may hide it). */
static gboolean
names_authserv_id(const uint8_t *data, size_t size)
{
	char *lower = g_malloc(size + 1);
	gboolean found;

	/* byte by byte: a NUL in the header section ends no search */
	for (size_t i = 0; i < size; i++)
		lower[i] = g_ascii_tolower((char)data[i]);
	found = memmem(lower, size, FUZZ_AUTHSERV_ID,
		       strlen(FUZZ_AUTHSERV_ID)) != NULL ||
		memchr(lower, '"', size) != NULL;
	g_free(lower);
	return found;
}

int
fuzz_auth_check(const uint8_t *data, size_t size, const char **why_r)
{
	struct post_auth plain = { 0 }, below = { 0 }, stripped = { 0 };
	int rc = 0;

	if (evaluate("", data, size, FALSE, &plain) < 0)
		return 0; /* soarlist refuses it before any policy */
	if (evaluate(FOREIGN, data, size, FALSE, &below) < 0 ||
	    evaluate("", data, size, TRUE, &stripped) < 0) {
		*why_r =
			"parses alone, not with a Received above or fewer headers";
		rc = -1;
	} else if (plain.detail == NULL || !printable_is_clean(plain.detail) ||
		   strchr(plain.detail, '\n') != NULL) {
		*why_r = "the detail is not one printable line";
		rc = -1;
	} else if (below.from_ok || below.envelope_ok) {
		*why_r = "authenticated below a Received of another host";
		rc = -1;
	} else if (stripped.from_ok || stripped.envelope_ok) {
		*why_r = "authenticated without any Authentication-Results";
		rc = -1;
	} else if ((plain.from_ok || plain.envelope_ok) &&
		   !names_authserv_id(data, size)) {
		*why_r = "authenticated by no header naming the authserv-id";
		rc = -1;
	} else if (!results_sane(data, size)) {
		*why_r = "Authentication-Results parsed inconsistently";
		rc = -1;
	}
	post_auth_clear(&plain);
	post_auth_clear(&below);
	post_auth_clear(&stripped);
	return rc;
}
