/* dns-check.h - soarlist dns --check: each record dns-records.h says a
 * club domain needs, looked up in the DNS (libresolv, the resolvers of
 * /etc/resolv.conf) and judged ok, missing or different.
 *
 * What counts as the same: MX, the mail host among the domain's MX hosts;
 * SPF, one SPF record with every mechanism soarlist asks for and an "all"
 * (the qualifier is the domain's to tighten); DKIM, a record at the
 * selector with the same public key (p=); DMARC, one DMARC record with a
 * policy and the report address among its rua= (its policy is the
 * domain's to tighten); the report authorization, a DMARC1 record.
 */
#ifndef SOARLIST_DNS_CHECK_H
#define SOARLIST_DNS_CHECK_H

#include <glib.h>

#include "soarlist/dns-records.h"

enum dns_verdict {
	DNS_OK,
	DNS_MISSING,
	DNS_DIFFERENT,
	DNS_FAILED, /* the lookup failed (SERVFAIL, no answer in time) */
};

/* The values published at NAME for TYPE (ns_t_mx: the hosts, lowercased,
 * without the final dot; ns_t_txt: each record's strings joined): a new
 * array of strings, empty when there is none (no such name, or no record
 * of that type), or NULL with *error when the lookup failed. */
GPtrArray *dns_lookup(const char *name, int type, GError **error);

/* The verdict on WANT given FOUND, the values published (dns_lookup());
 * the rules are at the top of this file. */
enum dns_verdict dns_judge(const struct dns_record *want, GPtrArray *found);

/* "ok", "missing", "different" or "failed". */
const char *dns_verdict_name(enum dns_verdict v);

#endif
