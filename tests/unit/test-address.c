/* test-address.c - address_normalize, address_is_valid, address_split. */
#include "soarlist/address.h"

#include "unit.h"

static const struct {
	const char *in, *want; /* want NULL: rejected */
} norm_cases[] = {
	/* the domain is lowercased, the local part keeps its case */
	{ "john@example.com", "john@example.com" },
	{ "John.Smith@Example.COM", "John.Smith@example.com" },
	{ "o'brien@example.ie", "o'brien@example.ie" },
	{ "a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk" },
	/* exactly one '@', no empty parts */
	{ "john.example.com", NULL },
	{ "john@@example.com", NULL },
	{ "a@b@example.com", NULL },
	{ "", NULL },
	{ NULL, NULL },
	{ "@example.com", NULL },
	{ "john@", NULL },
	{ "@", NULL },
	{ "john@example..com", NULL },
	{ "john@.example.com", NULL },
	/* whitespace and control characters */
	{ " john@example.com", NULL },
	{ "john@example.com ", NULL },
	{ "john @example.com", NULL },
	{ "john@exa mple.com", NULL },
	{ "jo\thn@example.com", NULL },
	{ "jo\001hn@example.com", NULL },
	{ "john@exam\177ple.com", NULL },
	{ "john\r\n@example.com", NULL },
	{ "john@example.com\r\nBcc: x@y.org", NULL },
	/* C1 controls in UTF-8 (U+0080-U+009F: NEL, CSI), next to UTF-8
	 * that is fine (U+00FC) */
	{ "jo\xc2\x85hn@example.com", NULL },
	{ "\xc2\x9b"
	  "31m@example.com",
	  NULL },
	{ "a\xc2\x80@example.com", NULL },
	{ "a\xc2\x9f@example.com", NULL },
	{ "j\xc3\xbcrgen@example.de", "j\xc3\xbcrgen@example.de" },
	/* commas, double quotes, angle brackets, a leading '-' (an option
	 * on a sendmail command line), bad UTF-8 */
	{ "john,jane@example.com", NULL },
	{ "john@example.com,org", NULL },
	{ "\"john\"@example.com", NULL },
	{ "jo\"hn@example.com", NULL },
	{ "<john@example.com>", NULL },
	{ "-oQ@example.com", NULL },
	{ "-f@example.com", NULL },
	{ "\377@example.com", NULL },
	/* internationalized domains: kept in their A-labels (a Unicode
	 * domain is converted), and only if GMime writes them back as they
	 * are; "xn--org" would go out as "xn--uxa751l", "xn--a" as an empty
	 * label, an emoji stays Unicode (IDNA2008 has no A-label for it) */
	{ "eve@xn--bcher-kva.example", "eve@xn--bcher-kva.example" },
	{ "eve@XN--Bcher-KVA.example", "eve@xn--bcher-kva.example" },
	{ "eve@b\xc3\xbc"
	  "cher.example",
	  "eve@xn--bcher-kva.example" },
	{ "eve@B\xc3\x9c"
	  "CHER.Example",
	  "eve@xn--bcher-kva.example" },
	{ "eve@xn--uxa751l.example", "eve@xn--uxa751l.example" },
	{ "eve@example.Xn--org", NULL },
	{ "eve@example.xn--org", NULL },
	{ "eve@xn--a.example", NULL },
	{ "eve@xn--ls8h.example", NULL },
	{ "eve@\xf0\x9f\x98\x80.example", NULL },
	{ "eve@xn--bcher-kva-.example", NULL },
};

static void
test_normalize(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(norm_cases); i++) {
		const char *why = NULL;
		char *got = address_normalize(norm_cases[i].in, &why);
		char *in = unit_quote(norm_cases[i].in);

		check_str(got, norm_cases[i].want, "address_normalize(%s)", in);
		if (norm_cases[i].want == NULL && (why == NULL || !*why))
			check_str(why, "a reason", "address_normalize(%s) why",
				  in);
		check_int(address_is_valid(norm_cases[i].in),
			  norm_cases[i].want != NULL, "address_is_valid(%s)",
			  in);
		g_free(in);
		g_free(got);
	}
}

/* A 64-byte local part and a domain of 63-byte labels ending in ".org",
 * LEN bytes in all (the lengths below never put a '.' before ".org"). */
static char *
address_of_length(gsize len)
{
	GString *s = g_string_new(NULL);

	g_string_append_printf(s, "%0*d@", 64, 0);
	for (gsize label = 0; s->len < len - 4; label++)
		g_string_append_c(s, label % 64 == 63 ? '.' : 'd');
	g_string_append(s, ".org");
	return g_string_free(s, FALSE);
}

static void
test_length(void)
{
	static const gsize lens[] = { 200, 254, 255, 300 };

	for (gsize i = 0; i < G_N_ELEMENTS(lens); i++) {
		char *a = address_of_length(lens[i]);
		char *got = address_normalize(a, NULL);

		check_str(got, lens[i] <= 254 ? a : NULL,
			  "address_normalize(%zu-byte address)", strlen(a));
		g_free(got);
		g_free(a);
	}
}

static void
test_split(void)
{
	static const struct {
		const char *in;
		int rc;
		const char *local, *domain;
	} cases[] = {
		{ "john@example.com", 0, "john", "example.com" },
		{ "a@b@Example.com", 0, "a@b", "Example.com" },
		{ "john@", 0, "john", "" },
		{ "nobody", -1, NULL, NULL },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *local = NULL, *domain = NULL;
		const char *in = cases[i].in;

		check_int(address_split(in, &local, &domain), cases[i].rc,
			  "address_split(\"%s\")", in);
		check_str(local, cases[i].local, "address_split(\"%s\") local",
			  in);
		check_str(domain, cases[i].domain,
			  "address_split(\"%s\") domain", in);
		g_free(local);
		g_free(domain);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/address/normalize", test_normalize);
	g_test_add_func("/address/length", test_length);
	g_test_add_func("/address/split", test_split);
	return g_test_run();
}
