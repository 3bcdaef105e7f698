/* address-list.c - the addresses of a header, parsed by GMime, with what
 * its parser gets wrong worked around.
 *
 * GMime 3.2.13 (Debian 12) leaks 128 bytes on an address whose domain
 * literal is followed by a comment that never ends ("b@[a] (", found by
 * fuzz-message with LeakSanitizer). It finds no address in that address
 * (nor in anything after it: the comment runs to the end), so it is given
 * the value without that address, which it parses the same without the
 * leak. Closing the comment instead would not do: it would make GMime
 * find an address it drops, and the header soarlist writes would then
 * differ from what GMime reads back (found by fuzz-message too).
 */
#include "soarlist/address-list.h"

#include "soarlist/address.h"

#include <string.h>

size_t
address_list_parse_length(const char *raw)
{
	gboolean quoted = FALSE, literal = FALSE, after_literal = FALSE;
	gboolean open_after_literal = FALSE;
	size_t last_comma = 0, cut = 0, i;
	int depth = 0;

	for (i = 0; raw[i] != '\0'; i++) {
		char c = raw[i];

		if (c == '\\') {
			if (raw[i + 1] == '\0')
				break;
			i++;
			if (!quoted && !literal && depth == 0)
				after_literal = FALSE;
		} else if (quoted) {
			quoted = c != '"';
		} else if (depth > 0) {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
		} else if (literal) {
			literal = c != ']';
			after_literal = !literal;
		} else if (c == '(') {
			depth = 1;
			open_after_literal = after_literal;
			cut = last_comma;
		} else if (c == '[') {
			literal = TRUE;
		} else if (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			quoted = c == '"';
			after_literal = FALSE;
			if (c == ',')
				last_comma = i;
		}
	}
	return depth > 0 && open_after_literal ? cut : i;
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
