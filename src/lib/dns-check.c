/* dns-check.c - the records a club domain needs, looked up and judged
 * (dns-check.h). The lookup uses libresolv's res_nquery() and ns_parserr():
 * the resolvers of /etc/resolv.conf, as every program on the host, and the
 * records exactly as published (getaddrinfo() knows nothing of MX or TXT).
 */
#include "soarlist/dns-check.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <string.h>

#define DNS_CHECK_ERROR (g_quark_from_static_string("soarlist-dns-check"))

/* The strings of a TXT record's RDATA, joined. */
static char *
txt_value(const unsigned char *rd, size_t len)
{
	GString *s = g_string_new(NULL);

	for (size_t at = 0; at < len;) {
		size_t n = rd[at++];

		if (n > len - at)
			n = len - at;
		g_string_append_len(s, (const char *)rd + at, (gssize)n);
		at += n;
	}
	return g_string_free(s, FALSE);
}

GPtrArray *
dns_lookup(const char *name, int type, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(g_free);
	struct __res_state rs;
	unsigned char *answer = g_malloc(NS_MAXMSG);
	ns_msg msg;
	int len;

	memset(&rs, 0, sizeof rs);
	if (res_ninit(&rs) < 0) {
		g_set_error(error, DNS_CHECK_ERROR, 0,
			    "cannot read the resolver configuration");
		g_free(answer);
		return NULL;
	}
	len = res_nquery(&rs, name, ns_c_in, type, answer, NS_MAXMSG);
	if (len < 0) {
		int h = rs.res_h_errno;

		res_nclose(&rs);
		g_free(answer);
		if (h == HOST_NOT_FOUND || h == NO_DATA)
			return g_steal_pointer(&out);
		g_set_error(error, DNS_CHECK_ERROR, h, "looking up %s: %s",
			    name, hstrerror(h));
		return NULL;
	}
	res_nclose(&rs);
	if (ns_initparse(answer, len, &msg) < 0) {
		g_set_error(error, DNS_CHECK_ERROR, 0,
			    "looking up %s: an answer that does not parse",
			    name);
		g_free(answer);
		return NULL;
	}
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		char host[NS_MAXDNAME];
		ns_rr rr;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 ||
		    (int)ns_rr_type(rr) != type)
			continue;
		if (type == ns_t_txt) {
			g_ptr_array_add(out, txt_value(ns_rr_rdata(rr),
						       ns_rr_rdlen(rr)));
		} else if (type == ns_t_mx && ns_rr_rdlen(rr) > 2 &&
			   ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg),
					      ns_rr_rdata(rr) + 2, host,
					      sizeof host) >= 0) {
			size_t n = strlen(host);

			if (n > 0 && host[n - 1] == '.')
				host[n - 1] = '\0';
			g_ptr_array_add(out, g_ascii_strdown(host, -1));
		}
	}
	g_free(answer);
	return g_steal_pointer(&out);
}

/* TRUE when VALUE starts with the version tag TAG ("v=spf1"), followed by
 * its end, a space or a ';'. */
static gboolean
has_version(const char *value, const char *tag)
{
	size_t n = strlen(tag);

	while (*value == ' ')
		value++;
	return g_ascii_strncasecmp(value, tag, n) == 0 &&
	       strchr(" ;", value[n]) != NULL;
}

/* The one value of FOUND with version TAG; NULL when none, or several
 * (*several_r). */
static const char *
only_one(GPtrArray *found, const char *tag, gboolean *several_r)
{
	const char *one = NULL;

	*several_r = FALSE;
	for (guint i = 0; i < found->len; i++) {
		if (!has_version(found->pdata[i], tag))
			continue;
		if (one != NULL)
			*several_r = TRUE;
		one = found->pdata[i];
	}
	return *several_r ? NULL : one;
}

/* The value of tag NAME in a tag=value list (DKIM, DMARC), spaces
 * removed; NULL when absent. Newly allocated. */
static char *
tag_value(const char *record, const char *name)
{
	g_auto(GStrv) tags = g_strsplit(record, ";", -1);

	for (char **t = tags; *t != NULL; t++) {
		char *eq = strchr(*t, '=');
		g_autofree char *key = NULL;

		if (eq == NULL)
			continue;
		key = g_strstrip(g_strndup(*t, (gsize)(eq - *t)));
		if (g_ascii_strcasecmp(key, name) == 0) {
			GString *v = g_string_new(NULL);

			for (const char *p = eq + 1; *p != '\0'; p++)
				if (!g_ascii_isspace(*p))
					g_string_append_c(v, *p);
			return g_string_free(v, FALSE);
		}
	}
	return NULL;
}

/* SPF: every mechanism of WANT but its "all" in HAVE, and an "all". */
static gboolean
spf_covers(const char *want, const char *have)
{
	g_auto(GStrv) w = g_strsplit(want, " ", -1);
	g_auto(GStrv) h = g_strsplit(have, " ", -1);
	gboolean all = FALSE;

	for (char **p = h; *p != NULL; p++) {
		const char *m = strchr("+-~?", **p) && **p ? *p + 1 : *p;

		all = all || g_ascii_strcasecmp(m, "all") == 0;
	}
	if (!all)
		return FALSE;
	for (char **p = w; *p != NULL; p++) {
		gboolean in = FALSE;

		if (**p == '\0' || g_str_has_suffix(*p, "all"))
			continue;
		for (char **q = h; *q != NULL && !in; q++)
			in = g_ascii_strcasecmp(*p, *q) == 0;
		if (!in)
			return FALSE;
	}
	return TRUE;
}

/* DMARC: a policy, and the report address of WANT among the rua=. */
static gboolean
dmarc_covers(const char *want, const char *have)
{
	g_autofree char *p = tag_value(have, "p");
	g_autofree char *rua = tag_value(have, "rua");
	g_autofree char *ours = tag_value(want, "rua");
	g_auto(GStrv) each = rua ? g_strsplit(rua, ",", -1) : NULL;

	if (p == NULL || *p == '\0' || each == NULL)
		return FALSE;
	for (char **e = each; *e != NULL; e++) {
		/* a size limit may follow: mailto:a@b.org!10m */
		char *bang = strchr(*e, '!');

		if (bang != NULL)
			*bang = '\0';
		if (g_ascii_strcasecmp(*e, ours) == 0)
			return TRUE;
	}
	return FALSE;
}

enum dns_verdict
dns_judge(const struct dns_record *want, GPtrArray *found)
{
	gboolean several = FALSE;
	const char *one;

	if (strcmp(want->purpose, "mx") == 0) {
		for (guint i = 0; i < found->len; i++)
			if (g_ascii_strcasecmp(found->pdata[i], want->value) ==
			    0)
				return DNS_OK;
		return found->len ? DNS_DIFFERENT : DNS_MISSING;
	}
	if (strcmp(want->purpose, "dkim") == 0) {
		g_autofree char *ours = tag_value(want->value, "p");

		for (guint i = 0; i < found->len; i++) {
			g_autofree char *p = tag_value(found->pdata[i], "p");

			if (p != NULL && strcmp(p, ours) == 0)
				return DNS_OK;
		}
		return found->len ? DNS_DIFFERENT : DNS_MISSING;
	}
	one = only_one(found,
		       strcmp(want->purpose, "spf") == 0 ? "v=spf1"
							 : "v=DMARC1",
		       &several);
	if (several)
		return DNS_DIFFERENT; /* a domain has one, or none counts */
	if (one == NULL)
		return DNS_MISSING;
	if (strcmp(want->purpose, "spf") == 0)
		return spf_covers(want->value, one) ? DNS_OK : DNS_DIFFERENT;
	if (strcmp(want->purpose, "dmarc") == 0)
		return dmarc_covers(want->value, one) ? DNS_OK : DNS_DIFFERENT;
	return DNS_OK; /* dmarc-report: a DMARC1 record is all it takes */
}

const char *
dns_verdict_name(enum dns_verdict v)
{
	static const char *const names[] = { "ok", "missing", "different",
					     "failed" };

	return names[v];
}
