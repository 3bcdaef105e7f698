/* test-dns.c - dns_judge(): what soarlist dns --check calls ok, missing or
 * different for each kind of record, given what the DNS has; and
 * dns_txt_quote(), a TXT value as a zone file's character-strings. */
#include "soarlist/dns-check.h"

#include "unit.h"

static GPtrArray *
found(const char *const *values)
{
	GPtrArray *a = g_ptr_array_new_with_free_func(g_free);

	for (; values != NULL && *values != NULL; values++)
		g_ptr_array_add(a, g_strdup(*values));
	return a;
}

static void
test_judge(void)
{
	static const struct {
		const char *purpose, *value;
		const char *found[3];
		enum dns_verdict want;
	} cases[] = {
		{ "mx", "mail.x.org", { NULL }, DNS_MISSING },
		{ "mx", "mail.x.org", { "mx.y.org", "MAIL.x.org" }, DNS_OK },
		{ "mx", "mail.x.org", { "mx.y.org" }, DNS_DIFFERENT },
		{ "spf",
		  "v=spf1 mx include:r.org ~all",
		  { "other" },
		  DNS_MISSING },
		{ "spf",
		  "v=spf1 mx include:r.org ~all",
		  { "v=spf1 a mx include:r.org -all" },
		  DNS_OK },
		{ "spf",
		  "v=spf1 mx include:r.org ~all",
		  { "v=spf1 mx -all" },
		  DNS_DIFFERENT },
		{ "spf", "v=spf1 mx ~all", { "v=spf1 mx" }, DNS_DIFFERENT },
		{ "spf",
		  "v=spf1 mx ~all",
		  { "v=spf1 mx ~all", "v=spf1 mx -all" },
		  DNS_DIFFERENT },
		{ "spf", "v=spf1 mx ~all", { "v=spf10 mx ~all" }, DNS_MISSING },
		{ "dkim", "v=DKIM1; k=rsa; p=AAAB", { NULL }, DNS_MISSING },
		{ "dkim",
		  "v=DKIM1; k=rsa; p=AAAB",
		  { "v=DKIM1; p=AA AB" },
		  DNS_OK },
		{ "dkim",
		  "v=DKIM1; k=rsa; p=AAAB",
		  { "v=DKIM1; p=AAAC" },
		  DNS_DIFFERENT },
		{ "dmarc",
		  "v=DMARC1; p=none; rua=mailto:d@x.org",
		  { NULL },
		  DNS_MISSING },
		{ "dmarc",
		  "v=DMARC1; p=none; rua=mailto:d@x.org",
		  { "v=DMARC1; p=reject; rua=mailto:a@b.org,mailto:D@x.org!5m" },
		  DNS_OK },
		{ "dmarc",
		  "v=DMARC1; p=none; rua=mailto:d@x.org",
		  { "v=DMARC1; p=none; rua=mailto:a@b.org" },
		  DNS_DIFFERENT },
		{ "dmarc",
		  "v=DMARC1; p=none; rua=mailto:d@x.org",
		  { "v=DMARC1; rua=mailto:d@x.org" },
		  DNS_DIFFERENT },
		{ "dmarc-report", "v=DMARC1", { "v=DMARC1;" }, DNS_OK },
		{ "dmarc-report", "v=DMARC1", { NULL }, DNS_MISSING },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct dns_record r = { .purpose = cases[i].purpose,
					.value = (char *)cases[i].value };
		GPtrArray *f = found(cases[i].found);

		check_str(dns_verdict_name(dns_judge(&r, f)),
			  dns_verdict_name(cases[i].want), "%s %s, case %zu",
			  cases[i].purpose, cases[i].value, i);
		g_ptr_array_unref(f);
	}
}

static void
test_txt_quote(void)
{
	GString *long_value = g_string_new(NULL);
	char *q;

	q = dns_txt_quote("v=spf1 mx ~all");
	check_str(q, "\"v=spf1 mx ~all\"", "short");
	g_free(q);
	q = dns_txt_quote("a\"b\\c");
	check_str(q, "\"a\\\"b\\\\c\"", "escaped");
	g_free(q);
	q = dns_txt_quote("");
	check_str(q, "\"\"", "empty");
	g_free(q);
	for (int i = 0; i < 300; i++)
		g_string_append_c(long_value, (char)('a' + i % 26));
	q = dns_txt_quote(long_value->str);
	check_int((int)strlen(q), 300 + 5, "two strings, quoted, a space");
	check_int(q[256] == '"' && q[257] == ' ' && q[258] == '"', 1,
		  "split after 255 bytes");
	g_free(q);
	g_string_free(long_value, TRUE);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/dns/judge", test_judge);
	g_test_add_func("/dns/txt-quote", test_txt_quote);
	return g_test_run();
}
