/* dns-records.c - the DNS records each club domain needs (dns-records.h).
 *
 * SPF ends in ~all and DMARC starts at p=none: a domain that moves its
 * mail to this server should first see, in the DMARC reports, that all
 * of its mail passes before it tightens either. The DKIM records carry
 * every key of the domain, the one that signs and the ones kept published
 * after a rotation until retired.
 */
#include "soarlist/dns-records.h"

#include <string.h>

#include "soarlist/auth.h"
#include "soarlist/dkim.h"

void
dns_record_free(struct dns_record *r)
{
	if (r == NULL)
		return;
	g_free(r->domain);
	g_free(r->name);
	g_free(r->value);
	g_free(r);
}

static void
add(GPtrArray *out, const struct club_config *club, const char *domain,
    char *name, const char *type, const char *purpose, char *value)
{
	struct dns_record *r = g_new0(struct dns_record, 1);

	r->club = club->slug;
	r->domain = g_strdup(domain);
	r->name = name;
	r->type = type;
	r->purpose = purpose;
	r->priority = strcmp(type, "MX") == 0 ? 10 : 0;
	r->value = value;
	g_ptr_array_add(out, r);
}

static int
domain_records(GPtrArray *out, sqlite3 *db, const struct config *cfg,
	       const struct club_config *club, const char *domain,
	       GError **error)
{
	g_autoptr(GPtrArray) keys = dkim_keys(db, domain, error);
	const char *rua = cfg->dmarc_rua ? cfg->dmarc_rua : cfg->admin;
	const char *rua_domain = strrchr(rua, '@') + 1;

	if (keys == NULL)
		return -1;
	add(out, club, domain, g_strdup(domain), "MX", "mx",
	    g_strdup(cfg->mail_host));
	add(out, club, domain, g_strdup(domain), "TXT", "spf",
	    g_strdup_printf("v=spf1 mx%s%s ~all", cfg->relay_spf ? " " : "",
			    cfg->relay_spf ? cfg->relay_spf : ""));
	for (guint i = 0; i < keys->len; i++) {
		const struct dkim_key *k = keys->pdata[i];

		add(out, club, domain,
		    g_strdup_printf("%s._domainkey.%s", k->selector, domain),
		    "TXT", "dkim",
		    g_strdup_printf("v=DKIM1; k=rsa; p=%s", k->public_key));
	}
	add(out, club, domain, g_strdup_printf("_dmarc.%s", domain), "TXT",
	    "dmarc", g_strdup_printf("v=DMARC1; p=none; rua=mailto:%s", rua));
	/* needed across organizational domains only (RFC 7489, 7.1) */
	if (!auth_domains_aligned(rua_domain, domain))
		add(out, club, domain,
		    g_strdup_printf("%s._report._dmarc.%s", domain, rua_domain),
		    "TXT", "dmarc-report", g_strdup("v=DMARC1"));
	return 0;
}

GPtrArray *
dns_records(sqlite3 *db, const struct config *cfg,
	    const struct club_config *club, GError **error)
{
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)dns_record_free);

	for (guint c = 0; c < cfg->clubs->len; c++) {
		const struct club_config *cc = cfg->clubs->pdata[c];

		if (club != NULL && cc != club)
			continue;
		for (char **d = cc->domains; *d != NULL; d++)
			if (domain_records(out, db, cfg, cc, *d, error) < 0)
				return NULL;
	}
	return g_steal_pointer(&out);
}

char *
dns_txt_quote(const char *value)
{
	GString *s = g_string_new(NULL);
	size_t n = strlen(value);

	for (size_t at = 0; at < n || at == 0; at += 255) {
		if (at > 0)
			g_string_append_c(s, ' ');
		g_string_append_c(s, '"');
		for (size_t i = at; i < n && i < at + 255; i++) {
			if (value[i] == '"' || value[i] == '\\')
				g_string_append_c(s, '\\');
			g_string_append_c(s, value[i]);
		}
		g_string_append_c(s, '"');
		if (n == 0)
			break;
	}
	return g_string_free(s, FALSE);
}
