/* address-list.c - the addresses of a header, parsed by GMime, with what
 * its parser gets wrong worked around.
 *
 * GMime 3.2.13 (Debian 12) leaks 128 bytes on an address whose domain
 * literal is followed by a comment that never ends ("b@[a] (", found by
 * fuzz-message with LeakSanitizer). It finds no address in that address
 * (nor in anything after it: the comment runs to the end), so it is given
 * the value without that address. Closing the comment instead would not
 * do: it would make GMime find an address it drops, and the header
 * soarlist writes would then differ from what GMime reads back (found by
 * fuzz-message too).
 *
 * Where GMime starts an address is its own affair: after an address it
 * cannot parse it goes on after the next comma, even one inside what RFC
 * 5322 reads as a comment or a quoted string ("<a@b(x>, 0@[](y" and
 * 'x b", c@[d](e' leak too; found by the long fuzz run). So every ']' is
 * suspect, wherever it stands, and a comment is taken as never ending if
 * it does not end in either reading, with or without backslash quoting.
 * The value is cut at the last comma before the suspect ']' that
 * separates addresses in RFC 5322's reading, and the cut value is checked
 * again, until nothing is suspect: that costs the addresses after the
 * cut, in values no mail client writes.
 */
#include "soarlist/address-list.h"

#include "soarlist/address.h"

#include <string.h>

/* TRUE if the comment opening at RAW[I] does not end before LEN, read
 * with nesting and with or without backslash quoting. Else *END_R is
 * where it ends in RFC 5322's reading (its ')'). */
static gboolean
comment_unended(const char *raw, size_t len, size_t i, size_t *end_r)
{
	int rfc = 0, plain = 0;
	gboolean plain_ended = FALSE;

	for (size_t k = i; k < len && !plain_ended; k++) {
		plain += raw[k] == '(' ? 1 : raw[k] == ')' ? -1 : 0;
		plain_ended = plain == 0;
	}
	*end_r = len;
	for (size_t k = i; k < len && *end_r == len; k++) {
		if (raw[k] == '\\') {
			k++;
			continue;
		}
		rfc += raw[k] == '(' ? 1 : raw[k] == ')' ? -1 : 0;
		if (rfc == 0)
			*end_r = k;
	}
	return *end_r == len || !plain_ended;
}

/* TRUE if what follows RAW[I] (a ']') is white space and comments, the
 * last of which never ends (comment_unended()). */
static gboolean
unended_comment_after(const char *raw, size_t len, size_t i)
{
	for (size_t k = i + 1; k < len; k++) {
		size_t end;

		if (raw[k] == ' ' || raw[k] == '\t' || raw[k] == '\r' ||
		    raw[k] == '\n')
			continue;
		if (raw[k] != '(')
			return FALSE;
		if (comment_unended(raw, len, k, &end))
			return TRUE;
		k = end;
	}
	return FALSE;
}

/* LEN if the first LEN bytes of RAW hold nothing suspect, else where to
 * cut them (see the top of the file). */
static size_t
suspect_cut(const char *raw, size_t len)
{
	gboolean quoted = FALSE, literal = FALSE;
	size_t last_comma = 0;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = raw[i];

		if (c == ']' && unended_comment_after(raw, len, i))
			return last_comma;
		if (c == '\\') {
			i++;
		} else if (quoted) {
			quoted = c != '"';
		} else if (depth > 0) {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
		} else if (literal) {
			literal = c != ']';
		} else if (c == '(') {
			depth = 1;
		} else if (c == '[') {
			literal = TRUE;
		} else if (c == '"') {
			quoted = TRUE;
		} else if (c == ',') {
			last_comma = i;
		}
	}
	return len;
}

size_t
address_list_parse_length(const char *raw)
{
	size_t n = strlen(raw), cut;

	while ((cut = suspect_cut(raw, n)) < n)
		n = cut;
	return n;
}

InternetAddressList *
address_list_parse(const char *raw)
{
	size_t n;
	InternetAddressList *list;
	char *cut;

	if (raw == NULL)
		return NULL;
	n = address_list_parse_length(raw);
	if (raw[n] == '\0')
		return internet_address_list_parse(NULL, raw);
	cut = g_strndup(raw, n);
	list = internet_address_list_parse(NULL, cut);
	g_free(cut);
	return list;
}

char *
address_of_mailbox(InternetAddressMailbox *mailbox)
{
	return address_normalize(internet_address_mailbox_get_idn_addr(mailbox),
				 NULL);
}
