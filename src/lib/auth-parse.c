/* auth-parse.c - reading Authentication-Results (RFC 8601) and the "by"
 * host of Received (RFC 5321) header values.
 *
 * Both are sequences of words separated by CFWS: white space, folds and
 * comments in parentheses (nested, with backslash escapes). The parser is
 * strict where it matters: an Authentication-Results header it cannot read
 * whole is malformed and authenticates nothing, rather than read in part.
 */
#include "soarlist/auth.h"

#include <string.h>

struct lex {
	const char *p;
	gboolean bad; /* an unterminated comment or quoted string */
};

static void
skip_cfws(struct lex *x)
{
	for (;;) {
		while (*x->p == ' ' || *x->p == '\t' || *x->p == '\r' ||
		       *x->p == '\n')
			x->p++;
		if (*x->p != '(')
			return;
		for (int depth = 0; *x->p != '\0'; x->p++) {
			if (*x->p == '\\' && x->p[1] != '\0')
				x->p++;
			else if (*x->p == '(')
				depth++;
			else if (*x->p == ')' && --depth == 0)
				break;
		}
		if (*x->p == '\0') {
			x->bad = TRUE;
			return;
		}
		x->p++;
	}
}

/* A word: a quoted string (unquoted) or a run of characters up to white
 * space, a comment, ';', or (unless EQUALS) '='. NULL when there is none. */
static char *
lex_word(struct lex *x, gboolean equals)
{
	const char *start = x->p;

	if (*x->p == '"') {
		GString *s = g_string_new(NULL);

		for (x->p++; *x->p != '\0' && *x->p != '"'; x->p++) {
			if (*x->p == '\\' && x->p[1] != '\0')
				x->p++;
			if (*x->p != '\r' && *x->p != '\n')
				g_string_append_c(s, *x->p);
		}
		if (*x->p != '"') {
			x->bad = TRUE;
			g_string_free(s, TRUE);
			return NULL;
		}
		x->p++;
		return g_string_free(s, FALSE);
	}
	while (*x->p != '\0' && !strchr(" \t\r\n();\"", *x->p) &&
	       (equals || *x->p != '='))
		x->p++;
	return x->p > start ? g_strndup(start, (gsize)(x->p - start)) : NULL;
}

void
auth_result_free(gpointer p)
{
	struct auth_result *r = p;

	g_free(r->method);
	g_free(r->result);
	g_free(r->header_d);
	g_free(r->header_i);
	g_free(r->smtp_mailfrom);
	g_free(r->header_from);
	g_free(r);
}

/* The property KEY (ptype.property, any case) of R that we use, or NULL. */
static char **
property_slot(struct auth_result *r, const char *key)
{
	if (g_ascii_strcasecmp(key, "header.d") == 0)
		return &r->header_d;
	if (g_ascii_strcasecmp(key, "header.i") == 0)
		return &r->header_i;
	if (g_ascii_strcasecmp(key, "smtp.mailfrom") == 0)
		return &r->smtp_mailfrom;
	if (g_ascii_strcasecmp(key, "header.from") == 0)
		return &r->header_from;
	return NULL;
}

/* The properties after "method=result": "key = value" pairs up to the next
 * ';' or the end. 0, or -1 when malformed. */
static int
parse_properties(struct lex *x, struct auth_result *r)
{
	for (;;) {
		g_autofree char *key = NULL, *value = NULL;
		char **slot;

		skip_cfws(x);
		if (x->bad)
			return -1;
		if (*x->p == '\0' || *x->p == ';')
			return 0;
		key = lex_word(x, FALSE);
		skip_cfws(x);
		if (key == NULL || *x->p != '=')
			return -1;
		x->p++;
		skip_cfws(x);
		value = lex_word(x, TRUE);
		if (value == NULL || x->bad)
			return -1;
		slot = property_slot(r, key);
		if (slot != NULL && *slot == NULL) /* the first one counts */
			*slot = g_steal_pointer(&value);
	}
}

/* One "method[/version] = result properties" after a ';'. */
static struct auth_result *
parse_resinfo(struct lex *x)
{
	struct auth_result *r = g_new0(struct auth_result, 1);
	char *slash;

	r->method = lex_word(x, FALSE);
	skip_cfws(x);
	if (r->method == NULL || *x->p != '=')
		goto bad;
	x->p++;
	skip_cfws(x);
	r->result = lex_word(x, FALSE);
	if (r->result == NULL || x->bad || parse_properties(x, r) < 0)
		goto bad;
	if ((slash = strchr(r->method, '/')) != NULL)
		*slash = '\0';
	g_strstrip(r->method);
	if (*r->method == '\0')
		goto bad;
	r->method = g_ascii_strdown(slash = r->method, -1);
	g_free(slash);
	r->result = g_ascii_strdown(slash = r->result, -1);
	g_free(slash);
	return r;
bad:
	auth_result_free(r);
	return NULL;
}

static gboolean
all_digits(const char *s)
{
	for (; *s; s++)
		if (!g_ascii_isdigit(*s))
			return FALSE;
	return TRUE;
}

/* auth_parse_results() without the clean-up of a failure. */
static char *
parse_results(const char *value, GPtrArray *results)
{
	struct lex x = { .p = value };
	g_autofree char *id = NULL;

	skip_cfws(&x);
	id = lex_word(&x, FALSE);
	skip_cfws(&x);
	if (id == NULL || x.bad)
		return NULL;
	if (g_ascii_isdigit(*x.p)) { /* authres-version */
		g_autofree char *version = lex_word(&x, FALSE);

		if (version == NULL || !all_digits(version))
			return NULL;
		skip_cfws(&x);
	}
	while (*x.p != '\0') {
		struct auth_result *r;

		if (*x.p != ';')
			return NULL;
		x.p++;
		skip_cfws(&x);
		if (x.bad)
			return NULL;
		if (*x.p == '\0')
			break; /* a final ';' */
		if (g_ascii_strncasecmp(x.p, "none", 4) == 0) {
			struct lex after = { .p = x.p + 4 };

			skip_cfws(&after);
			if (*after.p == '\0' && !after.bad)
				break; /* no-result */
		}
		if ((r = parse_resinfo(&x)) == NULL)
			return NULL;
		g_ptr_array_add(results, r);
	}
	return g_steal_pointer(&id);
}

char *
auth_parse_results(const char *value, GPtrArray *results)
{
	guint before = results->len;
	char *id = parse_results(value, results);

	if (id == NULL) /* nothing of a malformed header is kept */
		g_ptr_array_set_size(results, before);
	return id;
}

char *
auth_received_by(const char *value)
{
	struct lex x = { .p = value };
	gboolean next_is_host = FALSE;

	for (;;) {
		g_autofree char *word = NULL;
		size_t n;

		skip_cfws(&x);
		if (x.bad || *x.p == '\0' || *x.p == ';')
			return NULL;
		word = lex_word(&x, TRUE);
		if (word == NULL) {
			if (x.bad) /* an unterminated quoted string */
				return NULL;
			x.p++; /* a stray ')' */
			continue;
		}
		if (next_is_host) {
			n = strlen(word);
			if (n > 1 && word[n - 1] == '.')
				word[n - 1] = '\0';
			return g_ascii_strdown(word, -1);
		}
		next_is_host = g_ascii_strcasecmp(word, "by") == 0;
	}
}
