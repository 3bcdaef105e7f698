/* test-recipient.c - recipient_parse, recipient_list_name_is_valid and
 * recipient_list_display. */
#include "soarlist/recipient.h"

#include "unit.h"

#define D "ssc.manage2soar.com"
#define BAD(a) \
	{ \
		a, -1, NULL, NULL, NULL, NULL \
	}

static const struct {
	const char *in;
	int rc;
	const char *kind, *list, *domain, *verp;
} parse_cases[] = {
	{ "members@" D, 0, "post", "members", D, NULL },
	{ "Members@SSC.Manage2Soar.COM", 0, "post", "members", D, NULL },
	{ "private-owners@skylinesoaring.org", 0, "post", "private-owners",
	  "skylinesoaring.org", NULL },
	{ "board-owner@" D, 0, "owner", "board", D, NULL },
	{ "BOARD-OWNER@" D, 0, "owner", "board", D, NULL },
	{ "private-owners-owner@" D, 0, "owner", "private-owners", D, NULL },
	{ "members-bounces@" D, 0, "bounces", "members", D, NULL },
	{ "Members-Bounces@" D, 0, "bounces", "members", D, NULL },
	{ "members-bounces+john=example.com@" D, 0, "bounces", "members", D,
	  "john=example.com" },
	{ "Members-Bounces+John=Example.COM@" D, 0, "bounces", "members", D,
	  "john=example.com" },
	/* other extensions are ignored, as Postfix's tables ignore them */
	{ "members+tag@" D, 0, "post", "members", D, NULL },
	{ "members-owner+x=y@" D, 0, "owner", "members", D, NULL },
	{ "members-bounces+@" D, 0, "bounces", "members", D, NULL },
	BAD(NULL),
	BAD(""),
	BAD("members"),
	BAD("members@"),
	BAD("@" D),
	BAD("members@@" D),
	BAD("-owner@" D),
	BAD("-bounces@" D),
	BAD("+tag@" D),
	BAD("members-bounces-bounces@" D),
	BAD("members-owner-bounces@" D),
	BAD("mem bers@" D),
	BAD("mem\"bers@" D),
	BAD("_members@" D),
	BAD("mem\nbers@" D),
	BAD("members@bad domain.org"),
};

static void
test_parse(void)
{
	static const char *const kinds[] = {
		[RECIPIENT_POST] = "post",
		[RECIPIENT_OWNER] = "owner",
		[RECIPIENT_BOUNCES] = "bounces",
	};

	for (gsize i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		struct recipient r;
		char *in = unit_quote(parse_cases[i].in);
		int rc = recipient_parse(parse_cases[i].in, &r);

		check_int(rc, parse_cases[i].rc, "recipient_parse(%s)", in);
		check_str(rc == 0 ? kinds[r.kind] : NULL, parse_cases[i].kind,
			  "recipient_parse(%s) kind", in);
		check_str(r.list, parse_cases[i].list,
			  "recipient_parse(%s) list", in);
		check_str(r.domain, parse_cases[i].domain,
			  "recipient_parse(%s) domain", in);
		check_str(r.verp, parse_cases[i].verp,
			  "recipient_parse(%s) verp", in);
		recipient_clear(&r);
		g_free(in);
	}
}

static void
test_name_valid(void)
{
	static const struct {
		const char *name;
		gboolean valid;
	} cases[] = {
		{ "members", TRUE },
		{ "private-owners", TRUE },
		{ "a", TRUE },
		{ "1st-team", TRUE },
		{ "tow.pilots_2", TRUE },
		{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		  TRUE }, /* 64 bytes */
		{ "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
		  FALSE }, /* 65 bytes */
		{ "", FALSE },
		{ "Members", FALSE },
		{ "-members", FALSE },
		{ ".members", FALSE },
		{ "members-owner", FALSE },
		{ "members-bounces", FALSE },
		{ "mem+bers", FALSE },
		{ "mem bers", FALSE },
		{ "mem@bers", FALSE },
		{ "m\xc3\xbcnchen", FALSE },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		check_int(recipient_list_name_is_valid(cases[i].name),
			  cases[i].valid,
			  "recipient_list_name_is_valid(\"%s\")",
			  cases[i].name);
}

static void
test_display(void)
{
	static const struct {
		const char *name, *want;
	} cases[] = {
		{ "private-owners", "Private Owners" },
		{ "members", "Members" },
		{ "towpilots", "Towpilots" },
		{ "a-b-c", "A B C" },
		{ "board-2024", "Board 2024" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = recipient_list_display(cases[i].name);

		check_str(got, cases[i].want, "recipient_list_display(\"%s\")",
			  cases[i].name);
		g_free(got);
	}
}

/* recipient_format() writes what recipient_parse() reads back */
static void
test_format(void)
{
	static const struct {
		enum recipient_kind kind;
		const char *ext, *want;
	} cases[] = {
		{ RECIPIENT_POST, NULL, "private-owners@ssc.example.org" },
		{ RECIPIENT_OWNER, NULL,
		  "private-owners-owner@ssc.example.org" },
		{ RECIPIENT_BOUNCES, NULL,
		  "private-owners-bounces@ssc.example.org" },
		{ RECIPIENT_BOUNCES, "bob=example.com",
		  "private-owners-bounces+bob=example.com@ssc.example.org" },
		{ RECIPIENT_REQUEST, "abc123",
		  "private-owners-request+abc123@ssc.example.org" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *a = recipient_format(cases[i].kind, "private-owners",
					   "ssc.example.org", cases[i].ext);
		struct recipient r;

		check_str(a, cases[i].want, "recipient_format(%d)", (int)i);
		check_int(recipient_parse(a, &r), 0, "parse %s", a);
		check_int(r.kind, cases[i].kind, "%s: kind", a);
		check_str(r.list, "private-owners", "%s: list", a);
		check_str(r.domain, "ssc.example.org", "%s: domain", a);
		check_str(cases[i].kind == RECIPIENT_REQUEST ? r.token : r.verp,
			  cases[i].ext, "%s: extension", a);
		recipient_clear(&r);
		g_free(a);
	}
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/recipient/parse", test_parse);
	g_test_add_func("/recipient/name-valid", test_name_valid);
	g_test_add_func("/recipient/display", test_display);
	g_test_add_func("/recipient/format", test_format);
	return g_test_run();
}
