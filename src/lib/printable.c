/* printable.c - untrusted text as one printable line (see printable.h for
 * the escaping).
 *
 * A folded Message-ID, a Subject with an encoded newline or a U+009B (a
 * terminal's CSI) in an address must never forge a log line, split a
 * stored field or drive the administrator's terminal: every such value
 * goes through printable_escape() first, and only this file decides what
 * printable means.
 */
#include "soarlist/printable.h"

#include <string.h>

/* The length of the valid UTF-8 character at P (at most LEFT bytes), or 0
 * when P does not start one. */
static gsize
utf8_char_len(const char *p, gsize left)
{
	const char *end;

	if ((unsigned char)*p < 0x80) /* ASCII, the usual case: no call */
		return 1;
	if (!g_utf8_validate(p, (gssize)MIN(left, 4), &end) && end == p)
		return 0;
	return (gsize)(g_utf8_next_char(p) - p);
}

/* Append the escape of the character at P (LEN bytes of valid UTF-8, or
 * one invalid byte when LEN is 0) to OUT (NULL: only tell) when it needs
 * one. Returns TRUE when it was escaped. */
static gboolean
escape_char(GString *out, const unsigned char *p, gsize len)
{
	if (len == 0 || (len == 1 && (p[0] < 0x20 || p[0] == 0x7f))) {
		if (out != NULL)
			g_string_append_printf(out, "\\x%02x", p[0]);
		return TRUE;
	}
	if (len == 2 && p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
		if (out != NULL)
			g_string_append_printf(out, "\\u%04x", p[1]);
		return TRUE;
	}
	return FALSE;
}

char *
printable_escape(const char *s)
{
	GString *out;
	gsize n;

	if (s == NULL)
		return NULL;
	n = strlen(s);
	out = g_string_sized_new(n);
	for (gsize i = 0; i < n;) {
		gsize len = utf8_char_len(s + i, n - i);

		if (!escape_char(out, (const unsigned char *)s + i, len))
			g_string_append_len(out, s + i, (gssize)len);
		i += len > 0 ? len : 1;
	}
	return g_string_free(out, FALSE);
}

gboolean
printable_is_clean(const char *s)
{
	gsize n = strlen(s);
	gboolean clean = TRUE;

	for (gsize i = 0; i < n && clean;) {
		gsize len = utf8_char_len(s + i, n - i);

		clean = !escape_char(NULL, (const unsigned char *)s + i, len);
		i += len > 0 ? len : 1;
	}
	return clean;
}

char *
printable_take(char *s)
{
	char *out;

	if (s == NULL || printable_is_clean(s))
		return s;
	out = printable_escape(s);
	g_free(s);
	return out;
}
