/* api-names.c - list names M2S allows but mail cannot use.
 *
 * M2S lets a club's webmaster name a list with free text of up to 100
 * characters ("Board Members"). A list here is LIST@DOMAIN, so its name
 * must be a mailbox local part soarlist can route: what
 * recipient_list_name_is_valid() accepts. A name that is not is never
 * silently dropped: this file says why, in words the webmaster can act on,
 * and suggests a name that would work.
 */
#include "soarlist/api.h"

#include <string.h>

#include "soarlist/recipient.h"

#define NAME_MAX_SHOWN 200 /* bytes of a name kept for reports */
#define LOCAL_PART_MAX 64  /* RFC 5321; recipient.c's limit */

struct api_unusable *
api_unusable_new(const char *name, const char *why, const char *rename)
{
	struct api_unusable *u = g_new0(struct api_unusable, 1);

	u->name = g_strdup(name);
	u->why = g_strdup(why);
	u->rename = g_strdup(rename);
	return u;
}

char *
api_unusable_fix(const struct api_unusable *u)
{
	if (u->rename != NULL)
		return g_strdup_printf("rename the list at M2S, e.g. to %s",
				       u->rename);
	return g_strdup("rename the list at M2S to lowercase letters, digits, "
			"'.', '-' or '_'");
}

void
api_unusable_free(gpointer p)
{
	struct api_unusable *u = p;

	if (u == NULL)
		return;
	g_free(u->name);
	g_free(u->why);
	g_free(u->rename);
	g_free(u);
}

static gboolean
allowed(char c)
{
	return g_ascii_islower(c) || g_ascii_isdigit(c) || strchr("._-", c);
}

/* The first thing wrong with LOWER (the name in lower case). */
static char *
problem(const char *lower)
{
	static const char *const reserved[][2] = {
		{ "-owner", "the address of a list's owners" },
		{ "-bounces", "the address of a list's bounces" },
		{ "-request", "the address of a list's moderation replies" },
	};

	if (*lower == '\0')
		return g_strdup("it is empty");
	for (const char *p = lower; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if (allowed(*p))
			continue;
		if (c == ' ')
			return g_strdup("it contains a space");
		if (c >= 0x80)
			return g_strdup(
				"it contains a letter that is not ASCII");
		if (c < 0x20 || c == 0x7f)
			return g_strdup("it contains a control character");
		return g_strdup_printf("it contains '%c'", c);
	}
	if (!g_ascii_isalnum(lower[0]))
		return g_strdup_printf("it starts with '%c'", lower[0]);
	if (strlen(lower) > LOCAL_PART_MAX)
		return g_strdup_printf("it is longer than %d characters",
				       LOCAL_PART_MAX);
	for (gsize i = 0; i < G_N_ELEMENTS(reserved); i++)
		if (g_str_has_suffix(lower, reserved[i][0]))
			return g_strdup_printf("it ends in %s, which soarlist "
					       "uses for %s",
					       reserved[i][0], reserved[i][1]);
	return g_strdup("it cannot be a mailbox name");
}

/* LOWER made usable: letters and digits kept, every run of anything else
 * one '-', none at either end. NULL when that is still not a usable name. */
static char *
suggestion(const char *lower)
{
	GString *s = g_string_new(NULL);

	for (const char *p = lower; *p; p++) {
		if (g_ascii_isalnum(*p))
			g_string_append_c(s, *p);
		else if (s->len > 0 && s->str[s->len - 1] != '-')
			g_string_append_c(s, '-');
	}
	while (s->len > 0 && s->str[s->len - 1] == '-')
		g_string_truncate(s, s->len - 1);
	if (s->len > LOCAL_PART_MAX)
		g_string_truncate(s, LOCAL_PART_MAX);
	while (s->len > 0 && s->str[s->len - 1] == '-')
		g_string_truncate(s, s->len - 1);
	if (!recipient_list_name_is_valid(s->str)) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_string_free(s, FALSE);
}

struct api_unusable *
api_name_unusable(const char *name)
{
	char *lower = g_ascii_strdown(name, -1);
	char *what = problem(lower);
	char *better = suggestion(lower);
	char *shown = api_printable(name, NAME_MAX_SHOWN);
	struct api_unusable *u = api_unusable_new(shown, what, better);

	g_free(lower);
	g_free(what);
	g_free(better);
	g_free(shown);
	return u;
}
