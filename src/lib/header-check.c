/* header-check.c - the header invariant, checked on the bytes that leave.
 *
 * DESIGN.md "Header policy": every header line that leaves is a header
 * field or its continuation. rewrite.c keeps that true by construction;
 * this is the net under it, called by sendmail_send() for every message
 * (posts, owner forwards, hold and bounce notices). A block that fails is
 * never sent: the caller defers (75) with the cause in its log line.
 */
#include "soarlist/header-check.h"

#include <string.h>

/* the quark's name is one token: the formatter must not space it */
/* clang-format off */
G_DEFINE_QUARK(soarlist-header-check, header_check_error)
/* clang-format on */

/* The cause of a bad line L (N bytes, without its LF), or NULL if good. */
static const char *
line_fault(const char *l, size_t n)
{
	size_t name;

	if (n > 0 && l[n - 1] == '\r')
		n--; /* CRLF */
	if (memchr(l, '\0', n) != NULL)
		return "NUL byte";
	if (memchr(l, '\r', n) != NULL)
		return "bare CR";
	if (n == 0)
		return "empty line inside the header block";
	if (l[0] == ' ' || l[0] == '\t') {
		for (size_t i = 0; i < n; i++)
			if (l[i] != ' ' && l[i] != '\t')
				return NULL;
		return "continuation line of white space only";
	}
	for (name = 0; name < n && l[name] != ':'; name++)
		if ((unsigned char)l[name] < 33 || (unsigned char)l[name] > 126)
			return "line is neither a header field nor a "
			       "continuation";
	if (name == n)
		return "line is neither a header field nor a continuation";
	if (name == 0)
		return "header field without a name";
	return NULL;
}

int
header_block_check(const char *block, size_t len, GError **error)
{
	size_t off = 0;
	guint lineno = 1;

	if (len == 0)
		return 0;
	while (off < len) {
		const char *l = block + off;
		const char *nl = memchr(l, '\n', len - off);
		size_t n = nl ? (size_t)(nl - l) : len - off;
		const char *why =
			nl ? line_fault(l, n)
			   : "header block does not end with a line end";

		if (why == NULL && lineno == 1 && (l[0] == ' ' || l[0] == '\t'))
			why = "continuation line without a header field";
		if (why != NULL) {
			g_set_error(error, HEADER_CHECK_ERROR, 0,
				    "header invariant violated: %s at line %u "
				    "of the header block; not sent",
				    why, lineno);
			return -1;
		}
		off += n + 1;
		lineno++;
	}
	return 0;
}

char *
header_block_serialize(GMimeHeaderList *headers, size_t *len_r)
{
	GByteArray *bytes = g_byte_array_new();
	GMimeStream *s = g_mime_stream_mem_new_with_byte_array(bytes);

	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(s), FALSE);
	g_mime_header_list_write_to_stream(headers, NULL, s);
	g_object_unref(s);
	*len_r = bytes->len;
	g_byte_array_append(bytes, (const guint8 *)"", 1);
	return (char *)g_byte_array_free(bytes, FALSE);
}

gboolean
header_raw_value_ok(const char *raw)
{
	/* "X:" and RAW must be a block of its own: the same rules */
	g_autofree char *block = g_strconcat("X:", raw ? raw : "", NULL);
	size_t len = strlen(block);
	gboolean ok;

	if (block[len - 1] != '\n') {
		char *t = g_strconcat(block, "\n", NULL);
		g_free(block);
		block = t;
		len++;
	}
	ok = header_block_check(block, len, NULL) == 0;
	return ok;
}
