/* auth.c - whether a post's From domain is authenticated, from the
 * Authentication-Results headers a verifier on this server wrote (see
 * auth.h for the rules, auth-parse.c for the syntax).
 */
#include "soarlist/auth.h"

#include <libpsl.h>
#include <string.h>

#include "soarlist/address-list.h"
#include "soarlist/address.h"
#include "soarlist/printable.h"

/* what a walk through the headers found, for the detail line */
struct walk {
	const char *authserv_id;
	const char *from_domain;   /* NULL: no single From address */
	const char *sender_domain; /* NULL: null or bad envelope sender */
	struct post_auth *auth;
	GString *how;    /* what authenticated the From domain */
	GString *seen;   /* trusted results that did not */
	guint other_id;  /* headers of another authserv-id */
	guint below;     /* ours, but below a foreign Received */
	guint malformed; /* unreadable ones */
};

static const psl_ctx_t *
psl(void)
{
	static const psl_ctx_t *ctx;
	static gboolean tried;

	if (!tried) {
		tried = TRUE;
		/* the newer of the built-in list and Debian's publicsuffix */
		ctx = psl_latest(NULL);
		if (ctx == NULL)
			ctx = psl_builtin();
	}
	return ctx;
}

gboolean
auth_domains_aligned(const char *a, const char *b)
{
	g_autofree char *la = NULL, *lb = NULL;
	const char *oa, *ob;

	if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
		return FALSE;
	la = g_ascii_strdown(a, -1);
	lb = g_ascii_strdown(b, -1);
	if (strcmp(la, lb) == 0)
		return TRUE;
	if (psl() == NULL)
		return FALSE;
	oa = psl_registrable_domain(psl(), la);
	ob = psl_registrable_domain(psl(), lb);
	return oa != NULL && ob != NULL && strcmp(oa, ob) == 0;
}

/* The domain of an address, or the value itself when it has no '@'
 * (header.i = @example.org, smtp.mailfrom = example.org). Borrowed. */
static const char *
domain_of(const char *value)
{
	const char *at = value ? strrchr(value, '@') : NULL;

	return at ? at + 1 : value;
}

/* The domain of the one address in the one From header, lowercased (newly
 * allocated), or NULL with *why_r. DMARC authenticates a single From
 * domain: a message with several is authenticated by none. */
static char *
from_domain(GMimeHeaderList *headers, const char **why_r)
{
	int n = g_mime_header_list_get_count(headers), froms = 0;
	GMimeHeader *from = NULL;
	InternetAddressList *list;
	char *domain = NULL;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		if (g_ascii_strcasecmp(g_mime_header_get_name(h), "From") ==
			    0 &&
		    froms++ == 0)
			from = h;
	}
	*why_r = froms > 1 ? "the message has several From headers"
			   : "the message has no usable From address";
	if (froms != 1)
		return NULL;
	list = address_list_parse(g_mime_header_get_raw_value(from));
	if (list != NULL && internet_address_list_length(list) == 1 &&
	    INTERNET_ADDRESS_IS_MAILBOX(
		    internet_address_list_get_address(list, 0))) {
		g_autofree char *addr = address_of_mailbox(
			INTERNET_ADDRESS_MAILBOX(
				internet_address_list_get_address(list, 0)));
		if (addr != NULL)
			domain = g_strdup(domain_of(addr));
	} else if (list != NULL && internet_address_list_length(list) > 1) {
		*why_r = "From holds several addresses";
	}
	g_clear_object(&list);
	return domain;
}

static void
note(GString *s, const char *method, const char *result, const char *key,
     const char *value)
{
	if (s->len > 300)
		return;
	g_string_append_printf(s, "%s%s=%s", s->len ? ", " : "", method,
			       result);
	if (value != NULL)
		g_string_append_printf(s, " %s=%s", key, value);
}

/* One trusted result: does it authenticate the From domain, or the
 * envelope sender's domain? */
static void
apply(struct walk *w, const struct auth_result *r)
{
	gboolean pass = strcmp(r->result, "pass") == 0;
	const char *d = NULL, *key = NULL;
	gboolean ok = FALSE;

	if (strcmp(r->method, "dkim") == 0) {
		d = r->header_d ? r->header_d : domain_of(r->header_i);
		key = r->header_d ? "header.d" : "header.i";
		ok = pass && auth_domains_aligned(d, w->from_domain);
	} else if (strcmp(r->method, "spf") == 0) {
		d = domain_of(r->smtp_mailfrom);
		key = "smtp.mailfrom";
		ok = pass && auth_domains_aligned(d, w->from_domain);
		if (pass && d != NULL && w->sender_domain != NULL &&
		    g_ascii_strcasecmp(d, w->sender_domain) == 0)
			w->auth->envelope_ok = TRUE;
	} else if (strcmp(r->method, "dmarc") == 0) {
		d = r->header_from;
		key = "header.from";
		ok = pass && d != NULL && w->from_domain != NULL &&
		     g_ascii_strcasecmp(d, w->from_domain) == 0;
	} else {
		return; /* iprev, auth, arc...: not about the From domain */
	}
	if (ok && !w->auth->from_ok) {
		w->auth->from_ok = TRUE;
		note(w->how, r->method, r->result, key, d);
	} else if (!ok) {
		note(w->seen, r->method, r->result, key, d);
	}
}

static void
read_results(struct walk *w, const char *value, gboolean trusted)
{
	g_autoptr(GPtrArray)
		results = g_ptr_array_new_with_free_func(auth_result_free);
	g_autofree char *id = auth_parse_results(value, results);

	if (id == NULL) {
		w->malformed++;
		return;
	}
	if (g_ascii_strcasecmp(id, w->authserv_id) != 0) {
		w->other_id++;
		return;
	}
	if (!trusted) {
		w->below++;
		return;
	}
	for (guint i = 0; i < results->len; i++)
		apply(w, g_ptr_array_index(results, i));
}

/* Top down: a Received header of this host (its "by" names the
 * authserv-id) may stand above a trusted result; from the first Received
 * of another host down, nothing is trusted: that part of the header was
 * written before the message reached us. A verifier whose authserv-id is
 * not the host name Postfix writes in Received therefore has its results
 * trusted only above Postfix's own Received, where milters and policy
 * services put them, and never below it, where a client's own are. */
static void
walk_headers(struct walk *w, GMimeHeaderList *headers)
{
	int n = g_mime_header_list_get_count(headers);
	gboolean trusted = TRUE;

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(headers, i);
		const char *name = g_mime_header_get_name(h);
		const char *raw = g_mime_header_get_raw_value(h);

		if (raw == NULL)
			continue;
		if (g_ascii_strcasecmp(name, "Authentication-Results") == 0) {
			read_results(w, raw, trusted);
		} else if (trusted &&
			   g_ascii_strcasecmp(name, "Received") == 0) {
			g_autofree char *by = auth_received_by(raw);

			if (by == NULL ||
			    g_ascii_strcasecmp(by, w->authserv_id) != 0)
				trusted = FALSE;
		}
	}
}

static void
describe(struct walk *w, const char *why_no_from)
{
	GString *d = g_string_new(NULL);

	if (w->auth->from_ok)
		g_string_printf(d, "From domain %s authenticated by %s",
				w->from_domain, w->how->str);
	else if (w->from_domain == NULL)
		g_string_printf(d, "not authenticated: %s", why_no_from);
	else if (w->seen->len > 0)
		g_string_printf(d, "From domain %s not authenticated: %s",
				w->from_domain, w->seen->str);
	else
		g_string_printf(d,
				"From domain %s not authenticated: no "
				"Authentication-Results of %s",
				w->from_domain, w->authserv_id);
	if (w->below > 0)
		g_string_append_printf(d,
				       "; ignored %u of %s below a Received "
				       "of another host",
				       w->below, w->authserv_id);
	if (w->other_id > 0)
		g_string_append_printf(d, "; ignored %u of another authserv-id",
				       w->other_id);
	if (w->malformed > 0)
		g_string_append_printf(d, "; ignored %u malformed",
				       w->malformed);
	w->auth->detail = printable_take(g_string_free(d, FALSE));
}

void
auth_evaluate(GMimeHeaderList *headers, const char *authserv_id,
	      const char *sender, struct post_auth *auth_r)
{
	const char *why = NULL;
	g_autofree char *from = from_domain(headers, &why);
	g_autofree char *envelope = sender && *sender
					    ? address_normalize(sender, NULL)
					    : NULL;
	struct walk w = {
		.authserv_id = authserv_id ? authserv_id : "",
		.from_domain = from,
		.sender_domain = envelope ? domain_of(envelope) : NULL,
		.auth = auth_r,
		.how = g_string_new(NULL),
		.seen = g_string_new(NULL),
	};

	memset(auth_r, 0, sizeof(*auth_r));
	if (authserv_id != NULL && *authserv_id != '\0')
		walk_headers(&w, headers);
	describe(&w, why);
	g_string_free(w.how, TRUE);
	g_string_free(w.seen, TRUE);
}

void
post_auth_clear(struct post_auth *auth)
{
	g_clear_pointer(&auth->detail, g_free);
}
