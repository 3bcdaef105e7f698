/* dns-records.h - the DNS records each club domain needs (soarlist dns):
 * MX to mail_host, SPF allowing it and the relay (relay_spf), the DKIM
 * record of every key of the domain (dkim.h), DMARC at p=none with its
 * reports to dmarc_rua (admin when unset) and, when that address is in
 * another organizational domain, the record by which that domain agrees
 * to receive them (RFC 7489, 7.1).
 */
#ifndef SOARLIST_DNS_RECORDS_H
#define SOARLIST_DNS_RECORDS_H

#include <glib.h>
#include <sqlite3.h>

#include "soarlist/config.h"

struct dns_record {
	const char *club;    /* slug, borrowed from the config */
	char *domain;        /* the club domain it is for */
	char *name;          /* owner name, without the final dot */
	const char *type;    /* "MX" or "TXT" */
	const char *purpose; /* "mx", "spf", "dkim", "dmarc", "dmarc-report" */
	guint priority;      /* MX only */
	char *value;         /* MX: the host; TXT: the text, unsplit */
};

void dns_record_free(struct dns_record *r);

/* The records of every domain of CLUB (every configured club when NULL),
 * in config order: a new array of struct dns_record *, or NULL with
 * *error. mail_host must be set. */
GPtrArray *dns_records(sqlite3 *db, const struct config *cfg,
		       const struct club_config *club, GError **error);

/* VALUE as a TXT record's character-strings: quoted pieces of at most 255
 * bytes separated by spaces, '"' and '\\' escaped. Newly allocated. */
char *dns_txt_quote(const char *value);

#endif
