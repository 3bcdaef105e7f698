/* address.c - validation and normalisation of e-mail addresses.
 *
 * The rules are deliberately stricter than RFC 5321 where the RFC allows
 * things no club member's address needs and that are dangerous on a command
 * line or in a header (quoted local parts, commas, leading dashes), and
 * control characters of every kind, C1 included, are refused.
 *
 * Internationalized domains are kept in their ASCII (A-label, "xn--")
 * form, the form SMTP and the DNS use. GMime decodes an A-label when it
 * parses an address and encodes it again (IDNA, through libidn2) when it
 * writes one, and that round trip is not always the identity: "xn--org"
 * goes out as "xn--uxa751l", "xn--a" as an empty label. So a domain with
 * an A-label is valid only if GMime writes it back unchanged: what passed
 * validation is then exactly what a header carries.
 */
#include "soarlist/address.h"

#include <gmime/gmime.h>
#include <string.h>

#include "soarlist/printable.h"

static gboolean
local_char_ok(unsigned char c)
{
	if (c <= 0x20 || c == 0x7f)
		return FALSE; /* whitespace and control characters */
	return strchr("\",<>()[]\\;:", c) == NULL;
}

static gboolean
domain_ok(const char *d, const char **why_r)
{
	size_t n = strlen(d);
	const char *label = d;

	if (n == 0 || n > 253) {
		*why_r = n == 0 ? "empty domain" : "domain too long";
		return FALSE;
	}
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t len = (size_t)(p - label);
			if (len == 0 || len > 63) {
				*why_r = "bad domain label";
				return FALSE;
			}
			if (label[0] == '-' || p[-1] == '-') {
				*why_r = "domain label starts or ends with '-'";
				return FALSE;
			}
			if (*p == '\0')
				break;
			label = p + 1;
			continue;
		}
		if (!g_ascii_isalnum(*p) && *p != '-') {
			*why_r = "invalid character in domain";
			return FALSE;
		}
	}
	return TRUE;
}

/* ADDRESS as GMime writes it into a header: its domain in IDNA ASCII
 * form where GMime can encode it (otherwise as it was). A new string. */
static char *
idna_form(const char *address)
{
	InternetAddress *m = internet_address_mailbox_new(NULL, address);
	char *out = g_strdup(internet_address_mailbox_get_idn_addr(
		INTERNET_ADDRESS_MAILBOX(m)));

	g_object_unref(m);
	return out;
}

/* TRUE if a label of DOMAIN (lowercased) is an A-label: GMime decodes
 * those, and only those, when it parses an address. */
static gboolean
has_a_label(const char *domain)
{
	return g_str_has_prefix(domain, "xn--") ||
	       strstr(domain, ".xn--") != NULL;
}

/* TRUE if DOMAIN holds a byte outside ASCII. */
static gboolean
non_ascii(const char *domain)
{
	for (const char *p = domain; *p; p++)
		if ((unsigned char)*p >= 0x80)
			return TRUE;
	return FALSE;
}

/* Check the local part [address, at). Returns TRUE, or FALSE with *why_r. */
static gboolean
local_ok(const char *address, const char *at, const char **why_r)
{
	if (at == address || (size_t)(at - address) > 64) {
		*why_r = at == address ? "empty local part"
				       : "local part too long";
		return FALSE;
	}
	for (const char *p = address; p < at; p++) {
		if (!local_char_ok((unsigned char)*p)) {
			*why_r =
				(unsigned char)*p <= 0x20 || *p == 0x7f
					? "whitespace or control character"
					: "character not allowed in a local part";
			return FALSE;
		}
	}
	if (address[0] == '.' || at[-1] == '.' ||
	    g_strstr_len(address, at - address, "..") != NULL) {
		*why_r = "misplaced '.' in local part";
		return FALSE;
	}
	return TRUE;
}

char *
address_normalize(const char *address, const char **why_r)
{
	const char *why = NULL, *at;
	const char *dummy;
	size_t len;

	if (why_r == NULL)
		why_r = &dummy;
	if (address == NULL || *address == '\0') {
		*why_r = "empty address";
		return NULL;
	}
	len = strlen(address);
	if (len > ADDRESS_MAX_LEN) {
		*why_r = "longer than 254 bytes";
		return NULL;
	}
	if (!g_utf8_validate(address, (gssize)len, NULL)) {
		*why_r = "not valid UTF-8";
		return NULL;
	}
	/* C0, DEL and the C1 controls of UTF-8 (U+0085 ends a line for
	 * some readers, U+009B starts a terminal escape): what printable.c
	 * would escape has no place in an address */
	if (!printable_is_clean(address)) {
		*why_r = "whitespace or control character";
		return NULL;
	}
	if (address[0] == '-') {
		*why_r = "starts with '-'";
		return NULL;
	}
	at = strchr(address, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL) {
		*why_r = "not exactly one '@'";
		return NULL;
	}
	if (!local_ok(address, at, why_r))
		return NULL;
	{
		g_autofree char *idna = NULL;
		char *domain, *out;

		/* a domain in Unicode is written in its A-labels */
		if (non_ascii(at + 1)) {
			size_t local = (size_t)(at - address) + 1;

			idna = idna_form(address);
			if (strncmp(idna, address, local) != 0) {
				*why_r = "not a valid internationalized domain";
				return NULL;
			}
			address = idna;
			at = idna + local - 1;
		}
		domain = g_ascii_strdown(at + 1, -1);

		if (!domain_ok(domain, &why)) {
			/* say "whitespace" rather than "invalid character"
			 * where that is the problem: it is the common one */
			for (const char *p = domain; *p; p++)
				if ((unsigned char)*p <= 0x20 || *p == 0x7f)
					why = "whitespace or control character";
			*why_r = why;
			g_free(domain);
			return NULL;
		}
		out = g_strdup_printf("%.*s@%s", (int)(at - address), address,
				      domain);
		g_free(domain);
		if (idna != NULL && strlen(out) > ADDRESS_MAX_LEN) {
			*why_r = "longer than 254 bytes";
			g_free(out);
			return NULL;
		}
		if (has_a_label(strrchr(out, '@') + 1)) {
			g_autofree char *back = idna_form(out);

			if (strcmp(back, out) != 0) {
				*why_r = "not a valid internationalized domain";
				g_free(out);
				return NULL;
			}
		}
		return out;
	}
}

gboolean
address_is_valid(const char *address)
{
	char *n = address_normalize(address, NULL);
	gboolean ok = n != NULL;

	g_free(n);
	return ok;
}

int
address_split(const char *address, char **local_r, char **domain_r)
{
	const char *at = strrchr(address, '@');

	if (at == NULL)
		return -1;
	*local_r = g_strndup(address, (gsize)(at - address));
	*domain_r = g_strdup(at + 1);
	return 0;
}
