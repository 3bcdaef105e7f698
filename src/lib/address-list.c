/* address-list.c - the addresses of a header, parsed by GMime, with what
 * its parser gets wrong worked around.
 *
 * GMime 3.2.13 (Debian 12) leaks 128 bytes for an addr-spec with a domain
 * literal followed by a comment that never ends ("b@[a] (": found by
 * fuzz-message with LeakSanitizer). The parser reads such a comment to the
 * end of the value, so closing it there changes nothing it finds and takes
 * it off the leaking path.
 */
#include "soarlist/address-list.h"

int
address_list_open_comments(const char *raw)
{
	gboolean quoted = FALSE, literal = FALSE;
	int depth = 0;

	for (const char *p = raw; *p != '\0'; p++) {
		if (*p == '\\') {
			if (p[1] == '\0')
				break;
			p++;
		} else if (quoted) {
			quoted = *p != '"';
		} else if (depth > 0) {
			depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
		} else if (literal) {
			literal = *p != ']';
		} else if (*p == '"') {
			quoted = TRUE;
		} else if (*p == '[') {
			literal = TRUE;
		} else if (*p == '(') {
			depth = 1;
		}
	}
	return depth;
}

InternetAddressList *
address_list_parse(const char *raw)
{
	int open;
	InternetAddressList *list;
	GString *closed;

	if (raw == NULL)
		return NULL;
	open = address_list_open_comments(raw);
	if (open == 0)
		return internet_address_list_parse(NULL, raw);
	/* the space first: a backslash at the end quotes it, not a ')' */
	closed = g_string_new(raw);
	g_string_append_c(closed, ' ');
	for (int i = 0; i < open; i++)
		g_string_append_c(closed, ')');
	list = internet_address_list_parse(NULL, closed->str);
	g_string_free(closed, TRUE);
	return list;
}
