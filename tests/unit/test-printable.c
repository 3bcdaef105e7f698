/* test-printable.c - printable_escape, printable_is_clean, printable_take:
 * the one escaping of values that reach a log line, a stored field or a
 * terminal. */
#include "soarlist/printable.h"

#include "unit.h"

static const struct {
	const char *in, *want;
} cases[] = {
	/* kept: printable ASCII, the backslash, UTF-8 outside C1 */
	{ "", "" },
	{ "abc@example.org", "abc@example.org" },
	{ "a\\x0a b", "a\\x0a b" },
	{ "J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x9b\xa9",
	  "J\xc3\xbcrgen \xe2\x82\xac \xf0\x9f\x9b\xa9" },
	{ "\xc2\xa0nbsp", "\xc2\xa0nbsp" }, /* U+00A0: just past C1 */
	/* C0 and DEL: \xHH */
	{ "a\nb", "a\\x0ab" },
	{ "a\r\n X-Forged: yes", "a\\x0d\\x0a X-Forged: yes" },
	{ "tab\there", "tab\\x09here" },
	{ "\x01\x1f\x7f", "\\x01\\x1f\\x7f" },
	{ "\x1b[31mred", "\\x1b[31mred" },
	/* C1 in UTF-8: \u00HH */
	{ "a\xc2\x85"
	  "b",
	  "a\\u0085b" },
	{ "\xc2\x9b"
	  "31m",
	  "\\u009b31m" },
	{ "\xc2\x80\xc2\x9f", "\\u0080\\u009f" },
	/* not UTF-8: each bad byte \xHH, the rest kept */
	{ "\x85", "\\x85" },
	{ "caf\xe9", "caf\\xe9" },
	{ "\xff\xfe"
	  "ok",
	  "\\xff\\xfeok" },
	{ "\xe2\x82", "\\xe2\\x82" },          /* a truncated character */
	{ "\xc0\x8a", "\\xc0\\x8a" },          /* an overlong newline */
	{ "\xed\xa0\x80", "\\xed\\xa0\\x80" }, /* a surrogate */
};

static void
test_escape(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *in = unit_quote(cases[i].in);
		char *got = printable_escape(cases[i].in);
		char *twice = printable_escape(got);

		check_str(got, cases[i].want, "printable_escape(%s)", in);
		check_str(twice, got, "printable_escape twice (%s)", in);
		check_int(printable_is_clean(cases[i].in),
			  strcmp(cases[i].in, cases[i].want) == 0,
			  "printable_is_clean(%s)", in);
		check_int(printable_is_clean(got), TRUE,
			  "printable_is_clean(escaped %s)", in);
		g_free(twice);
		g_free(got);
		g_free(in);
	}
	check_str(printable_escape(NULL), NULL, "printable_escape(NULL)");
}

/* No escaped output holds a byte a terminal or a log reader would act on. */
static void
test_every_byte(void)
{
	for (int b = 1; b < 256; b++) {
		char in[4] = { 'x', (char)b, 'y', '\0' };
		char two[4] = { (char)0xc2, (char)b, '\0', '\0' };
		char *got = printable_escape(in);
		char *got2 = printable_escape(two);

		for (const char *p = got; *p; p++)
			check_int((unsigned char)*p >= 0x20 && *p != 0x7f, TRUE,
				  "printable_escape(x\\x%02x y) byte", b);
		check_lacks(got2, "\xc2\x85", "printable_escape(\\xc2\\x%02x)",
			    b);
		check_lacks(got2, "\xc2\x9b", "printable_escape(\\xc2\\x%02x)",
			    b);
		g_free(got);
		g_free(got2);
	}
}

static void
test_take(void)
{
	char *clean = g_strdup("clean");
	char *same = printable_take(clean);

	check_int(same == clean, TRUE, "printable_take(clean) returns it");
	g_free(same);
	check_str(printable_take(NULL), NULL, "printable_take(NULL)");
	same = printable_take(g_strdup("a\nb"));
	check_str(same, "a\\x0ab", "printable_take(a\\nb)");
	g_free(same);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/printable/escape", test_escape);
	g_test_add_func("/printable/every-byte", test_every_byte);
	g_test_add_func("/printable/take", test_take);
	return g_test_run();
}
