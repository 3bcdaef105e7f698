/* recipient.c - parsing and writing LIST[-owner|-bounces[+verp]|
 * -request+token]@DOMAIN. */
#include "soarlist/recipient.h"

#include <string.h>

#include "soarlist/address.h"

#define LIST_NAME_MAX 64

static gboolean
has_suffix(const char *s, const char *suffix)
{
	return g_str_has_suffix(s, suffix) && strlen(s) > strlen(suffix);
}

char *
recipient_format(enum recipient_kind kind, const char *list, const char *domain,
		 const char *extension)
{
	static const char *const suffix[] = {
		[RECIPIENT_POST] = "",
		[RECIPIENT_OWNER] = "-owner",
		[RECIPIENT_BOUNCES] = "-bounces",
		[RECIPIENT_REQUEST] = "-request",
	};

	return g_strconcat(list, suffix[kind], extension ? "+" : "",
			   extension ? extension : "", "@", domain, NULL);
}

gboolean
recipient_list_name_is_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > LIST_NAME_MAX)
		return FALSE;
	if (!g_ascii_islower(name[0]) && !g_ascii_isdigit(name[0]))
		return FALSE;
	for (const char *p = name; *p; p++)
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) &&
		    strchr("._-", *p) == NULL)
			return FALSE;
	if (g_str_has_suffix(name, "-owner") ||
	    g_str_has_suffix(name, "-bounces") ||
	    g_str_has_suffix(name, "-request") || strchr(name, '+') != NULL)
		return FALSE;
	return TRUE;
}

int
recipient_parse(const char *address, struct recipient *r)
{
	char *local = NULL, *domain = NULL, *plus;

	memset(r, 0, sizeof(*r));
	if (address == NULL || address_split(address, &local, &domain) < 0)
		return -1;
	if (*domain == '\0' || !address_is_valid(address))
		goto fail;
	{
		char *l = g_ascii_strdown(local, -1);
		char *d = g_ascii_strdown(domain, -1);
		g_free(local);
		g_free(domain);
		local = l;
		domain = d;
	}
	r->kind = RECIPIENT_POST;
	/* Postfix's recipient_delimiter is +: LIST-bounces+user=host is a
	 * VERP bounce; on any other address the extension is ignored, as
	 * Postfix's tables ignore it (LIST+x@DOMAIN is accepted at RCPT TO,
	 * so it must not bounce here) */
	plus = strchr(local, '+');
	if (plus != NULL) {
		*plus = '\0';
		if (has_suffix(local, "-bounces") && plus[1] != '\0')
			r->verp = g_strdup(plus + 1);
		else if (has_suffix(local, "-request") && plus[1] != '\0')
			r->token = g_strdup(plus + 1);
	}
	if (has_suffix(local, "-bounces")) {
		r->kind = RECIPIENT_BOUNCES;
		local[strlen(local) - strlen("-bounces")] = '\0';
	} else if (has_suffix(local, "-owner")) {
		r->kind = RECIPIENT_OWNER;
		local[strlen(local) - strlen("-owner")] = '\0';
	} else if (has_suffix(local, "-request")) {
		r->kind = RECIPIENT_REQUEST;
		local[strlen(local) - strlen("-request")] = '\0';
	}
	if (!recipient_list_name_is_valid(local))
		goto fail;
	r->list = local;
	r->domain = domain;
	return 0;
fail:
	g_free(local);
	g_free(domain);
	recipient_clear(r);
	return -1;
}

void
recipient_clear(struct recipient *r)
{
	g_clear_pointer(&r->list, g_free);
	g_clear_pointer(&r->domain, g_free);
	g_clear_pointer(&r->verp, g_free);
	g_clear_pointer(&r->token, g_free);
}

char *
recipient_list_display(const char *name)
{
	GString *s = g_string_new(NULL);
	gboolean start = TRUE;

	for (const char *p = name; *p; p++) {
		if (*p == '-' || *p == '_') {
			g_string_append_c(s, ' ');
			start = TRUE;
		} else {
			g_string_append_c(s, start ? g_ascii_toupper(*p) : *p);
			start = FALSE;
		}
	}
	return g_string_free(s, FALSE);
}
