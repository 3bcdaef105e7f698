/* test-address-list.c - address_list_parse(): a header's addresses as
 * GMime finds them, but without giving it the address it leaks on (GMime
 * 3.2.13, "b@[a] (": under the sanitizer build's LeakSanitizer this test
 * then fails), in which it finds nothing anyway; and
 * address_list_parse_length(), which says how much of a value it gets. */
#include "soarlist/address-list.h"

#include "unit.h"

static void
test_length(void)
{
	static const struct {
		const char *raw;
		gssize length; /* -1: all of it */
	} cases[] = {
		{ "b@x.org", -1 },
		{ "b@x.org (", -1 }, /* no domain literal: no leak */
		{ "b@[a] (", 0 },
		{ "0@[](", 0 },
		{ "b@[a] (c) (", 0 },             /* a closed comment between */
		{ "c@y.org, b@[a] (x\\)", 7 },    /* the ')' is quoted */
		{ "c@y.org, b@[a] (x\\\\)", -1 }, /* the backslash is */
		{ "b@[(a] (", 0 },                /* in the literal */
		{ "b@[a], c@d (", -1 },
		{ "b@[a]x (", -1 },
		{ "<b@[a]> (", -1 },
		/* in a quoted string too: GMime may start an address in it */
		{ "\"[x] (\" <b@x.org>", 0 },
		{ "c@d, x b\", e@[f](g", 3 },
		{ "\"x\" <b@[a]> (\"", -1 },
		/* GMime goes on after a comma it finds in what RFC 5322
		 * reads as a comment (the long fuzz run) */
		{ "<a@b(x>, 0@[](y", 0 },
		{ "c@d, <a@b(x>, 0@[](y", 3 },
		{ " Ali Example <alics@ssc(.x\n b]>, 0@[](age2soar.c{om", 0 },
		{ "<a@b(x]>, c@d", -1 },
		/* comments that end in one reading only, and in both */
		{ "b@[a] (x\\(y)", 0 },
		{ "b@[a] (x(y)", 0 },
		{ "b@[a] (x(y\\\\))", -1 },
		{ "", -1 },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		const char *raw = cases[i].raw;
		gssize want = cases[i].length < 0 ? (gssize)strlen(raw)
						  : cases[i].length;

		check_int((int)address_list_parse_length(raw), (int)want,
			  "length of \"%s\" given to GMime", raw);
	}
}

/* The addresses GMime finds in RAW, joined with ","; "(none)" for none. */
static char *
addrs(const char *raw)
{
	InternetAddressList *l = address_list_parse(raw);
	GString *s = g_string_new(NULL);

	for (int i = 0; l != NULL && i < internet_address_list_length(l); i++) {
		InternetAddress *a = internet_address_list_get_address(l, i);

		if (i > 0)
			g_string_append_c(s, ',');
		if (INTERNET_ADDRESS_IS_MAILBOX(a))
			g_string_append(s,
					internet_address_mailbox_get_addr(
						INTERNET_ADDRESS_MAILBOX(a)));
		else
			g_string_append(s, "(group)");
	}
	if (l != NULL)
		g_object_unref(l);
	if (s->len == 0)
		g_string_append(s, "(none)");
	return g_string_free(s, FALSE);
}

static void
test_parse(void)
{
	static const struct {
		const char *raw, *want;
	} cases[] = {
		{ "Bob <b@x.org>, c@y.org", "b@x.org,c@y.org" },
		/* the leaking shapes: what GMime 3.2.13 finds in them */
		{ "b@[a] (", "(none)" },
		{ "0@[](", "(none)" },
		{ "b@[a] (c) (", "(none)" },
		{ "c@y.org, b@[a] (x\\)", "c@y.org" },
		/* and in shapes close to them */
		{ "b@[a], c@d (", "b@[a]" },
		{ "b@[a]x (", "b@[a]" },
		{ "b@[a] ()", "b@[a]" },
		{ "<a@b(x>, 0@[](y", "(none)" },
		{ "c@d, <a@b(x>, 0@[](y", "c@d" },
		{ "<a@b(x]>, c@d", "c@d" },
		{ "", "(none)" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = addrs(cases[i].raw);

		check_str(got, cases[i].want, "addresses of \"%s\"",
			  cases[i].raw);
		g_free(got);
	}
	check_int(address_list_parse(NULL) == NULL, 1, "NULL gives NULL");
}

int
main(int argc, char **argv)
{
	g_mime_init();
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/address-list/length", test_length);
	g_test_add_func("/address-list/parse", test_parse);
	return g_test_run();
}
