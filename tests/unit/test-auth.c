/* test-auth.c - reading Authentication-Results (auth_parse_results), the
 * "by" of Received (auth_received_by), relaxed alignment through the
 * Public Suffix List (auth_domains_aligned), and the verdict on a whole
 * header section (auth_evaluate): which headers are trusted, which results
 * authenticate the From domain. */
#include "soarlist/auth.h"

#include "unit.h"

#define ID "mx.soarlist.test"

/* the parser: authserv-id and results, written back as
 * "id|method=result d=.. i=.. mf=.. hf=..|..." ("-" for malformed) */
static const struct {
	const char *in, *want;
} parses[] = {
	{ " mx.example.org; dkim=pass header.d=example.org header.i=@example.org",
	  "mx.example.org|dkim=pass d=example.org i=@example.org" },
	/* OpenDKIM's own form: a comment, a quoted header.b, folded */
	{ " mx.example.org;\r\n\tdkim=pass (1024-bit key; unprotected) "
	  "header.d=example.org header.i=@example.org header.b=\"Abc+/12=\"",
	  "mx.example.org|dkim=pass d=example.org i=@example.org" },
	{ " mx.example.org 1; spf=pass smtp.mailfrom=alice@example.org",
	  "mx.example.org|spf=pass mf=alice@example.org" },
	{ " mx.example.org; dmarc=pass (p=none dis=none) header.from=example.org",
	  "mx.example.org|dmarc=pass hf=example.org" },
	{ " mx.example.org; none", "mx.example.org" },
	{ " \"mx.example.org\"; DKIM/1 = PASS header.d = Example.ORG",
	  "mx.example.org|dkim=pass d=Example.ORG" },
	{ " (comment (nested)) mx.example.org ; dkim=fail reason=\"bad sig; really\" "
	  "header.d=example.org; spf=softfail smtp.mailfrom=example.org",
	  "mx.example.org|dkim=fail d=example.org|spf=softfail mf=example.org" },
	{ " mx.example.org; dkim=pass header.d=a.org header.d=b.org",
	  "mx.example.org|dkim=pass d=a.org" }, /* the first one counts */
	{ " mx.example.org; iprev=pass policy.iprev=192.0.2.1; auth=pass "
	  "smtp.auth=alice",
	  "mx.example.org|iprev=pass|auth=pass" },
	/* malformed: the whole header is ignored */
	{ "", "-" },
	{ " ; dkim=pass header.d=example.org", "-" },
	{ " mx.example.org dkim=pass header.d=example.org", "-" },
	{ " mx.example.org; dkim pass header.d=example.org", "-" },
	{ " mx.example.org; dkim=pass header.d", "-" },
	{ " mx.example.org; dkim=pass (unterminated header.d=example.org",
	  "-" },
	{ " mx.example.org; dkim=pass header.d=\"example.org", "-" },
	{ " mx.example.org; =pass header.d=example.org", "-" },
	{ " mx.example.org x; dkim=pass header.d=example.org", "-" },
};

static char *
render(const char *id, GPtrArray *results)
{
	GString *s = g_string_new(id);

	for (guint i = 0; i < results->len; i++) {
		const struct auth_result *r = g_ptr_array_index(results, i);

		g_string_append_printf(s, "|%s=%s", r->method, r->result);
		if (r->header_d)
			g_string_append_printf(s, " d=%s", r->header_d);
		if (r->header_i)
			g_string_append_printf(s, " i=%s", r->header_i);
		if (r->smtp_mailfrom)
			g_string_append_printf(s, " mf=%s", r->smtp_mailfrom);
		if (r->header_from)
			g_string_append_printf(s, " hf=%s", r->header_from);
	}
	return g_string_free(s, FALSE);
}

static void
test_parse(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(parses); i++) {
		GPtrArray *results = g_ptr_array_new_with_free_func(
			auth_result_free);
		char *id = auth_parse_results(parses[i].in, results);
		char *got = id ? render(id, results) : g_strdup("-");
		char *in = unit_quote(parses[i].in);

		check_str(got, parses[i].want, "auth_parse_results(%s)", in);
		g_free(in);
		g_free(got);
		g_free(id);
		g_ptr_array_unref(results);
	}
}

static const struct {
	const char *in, *want;
} receiveds[] = {
	{ " from client.example (client.example [192.0.2.1])\r\n\tby "
	  "MX.Soarlist.Test. (Postfix) with ESMTP id 4AB;\r\n\tMon, 30 Nov 2026",
	  "mx.soarlist.test" },
	{ " by mx.soarlist.test (Postfix, from userid 0)\r\n\tid 4AB; Mon",
	  "mx.soarlist.test" },
	{ " from x (helo \"by evil\" (by evil)) by real.host with SMTP",
	  "real.host" },
	{ " from x; by evil.host", NULL }, /* after the date part */
	{ " from x", NULL },
	{ " from x by", NULL },
	{ " (unterminated by evil", NULL },
	{ " from x \"unterminated by evil", NULL }, /* found by fuzz-auth */
	{ " from x) by host.example", "host.example" },
};

static void
test_received_by(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(receiveds); i++) {
		char *got = auth_received_by(receiveds[i].in);
		char *in = unit_quote(receiveds[i].in);

		check_str(got, receiveds[i].want, "auth_received_by(%s)", in);
		g_free(in);
		g_free(got);
	}
}

static const struct {
	const char *a, *b;
	gboolean want;
} alignments[] = {
	{ "example.org", "example.org", TRUE },
	{ "Example.ORG", "example.org", TRUE },
	{ "mail.example.org", "example.org", TRUE },
	{ "a.example.org", "b.example.org", TRUE },
	{ "example.co.uk", "mail.example.co.uk", TRUE },
	{ "example.co.uk", "other.co.uk", FALSE },     /* co.uk is a suffix */
	{ "alice.github.io", "bob.github.io", FALSE }, /* private section */
	{ "co.uk", "co.uk", TRUE },                    /* equal is aligned */
	{ "example.org", "example.com", FALSE },
	{ "evil-example.org", "example.org", FALSE },
	{ "", "example.org", FALSE },
	{ NULL, "example.org", FALSE },
};

static void
test_aligned(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(alignments); i++)
		check_int(
			auth_domains_aligned(alignments[i].a, alignments[i].b),
			alignments[i].want, "auth_domains_aligned(%s, %s)",
			alignments[i].a ? alignments[i].a : "NULL",
			alignments[i].b);
}

/* A header section as Postfix hands it to pipe(8): our Received on top. */
#define OURS \
	"Received: from c.example (c.example [192.0.2.7])\n" \
	"\tby mx.soarlist.test (Postfix) with ESMTP id 4AB\n" \
	"\tfor <members@ssc.manage2soar.com>; Mon, 30 Nov 2026 17:00:00 +0000\n"
#define PFX \
	"Received: from c.example (c.example [192.0.2.7])\n" \
	"\tby mail.ssc.example (Postfix) with ESMTP id 4AB; Mon\n"
#define FOREIGN \
	"Received: from a.example by smtp.gmail.com with ESMTPS " \
	"id x; Mon, 30 Nov 2026 16:59:00 +0000\n"
#define AR(v) "Authentication-Results: " ID "; " v "\n"
#define FROM_ALICE "From: Alice <alice@example.org>\n"
#define REST "To: members@ssc.manage2soar.com\nSubject: hi\n\nbody\n"

static const struct {
	const char *what, *headers, *sender;
	gboolean from_ok, envelope_ok;
	const char *detail; /* a part of it */
} evaluations[] = {
	{ "aligned DKIM pass",
	  OURS AR("dkim=pass header.d=example.org") FROM_ALICE REST,
	  "alice@example.org", TRUE, FALSE,
	  "authenticated by dkim=pass header.d=example.org" },
	{ "A-R above our Received (a milter may put it there)",
	  AR("dkim=pass header.d=example.org") OURS FROM_ALICE REST,
	  "alice@example.org", TRUE, FALSE, "authenticated by dkim=pass" },
	{ "relaxed: a subdomain signs",
	  OURS AR("dkim=pass header.d=mail.example.org") FROM_ALICE REST,
	  "alice@example.org", TRUE, FALSE, "header.d=mail.example.org" },
	{ "header.i when there is no header.d",
	  OURS AR("dkim=pass header.i=@example.org") FROM_ALICE REST,
	  "alice@example.org", TRUE, FALSE, "header.i=example.org" },
	{ "unaligned DKIM pass",
	  OURS AR("dkim=pass header.d=evil.example") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE,
	  "not authenticated: dkim=pass header.d=evil.example" },
	{ "DKIM fail",
	  OURS AR("dkim=fail header.d=example.org") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "dkim=fail" },
	{ "DKIM neutral, temperror, policy",
	  OURS AR("dkim=neutral header.d=example.org; dkim=temperror "
		  "header.d=example.org; dkim=policy header.d=example.org")
		  FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "dkim=temperror" },
	{ "aligned SPF pass",
	  OURS AR("spf=pass smtp.mailfrom=alice@example.org") FROM_ALICE REST,
	  "alice@example.org", TRUE, TRUE,
	  "spf=pass smtp.mailfrom=example.org" },
	{ "SPF pass for an unaligned envelope",
	  OURS AR("spf=pass smtp.mailfrom=bounce@mailer.example")
		  FROM_ALICE REST,
	  "bounce@mailer.example", FALSE, TRUE, "spf=pass" },
	{ "SPF softfail",
	  OURS AR("spf=softfail smtp.mailfrom=example.org") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "spf=softfail" },
	{ "SPF helo only",
	  OURS AR("spf=pass smtp.helo=example.org") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "spf=pass" },
	{ "DMARC pass",
	  OURS AR("dmarc=pass header.from=example.org") FROM_ALICE REST,
	  "alice@example.org", TRUE, FALSE, "dmarc=pass" },
	{ "DMARC pass for another From",
	  OURS AR("dmarc=pass header.from=evil.example") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "dmarc=pass" },
	{ "several results, one aligned",
	  OURS AR("dkim=pass header.d=evil.example; dkim=pass header.d=example.org")
		  FROM_ALICE REST,
	  "alice@example.org", TRUE, FALSE, "header.d=example.org" },
	{ "results in several headers",
	  OURS AR("spf=fail smtp.mailfrom=x.example")
		  AR("dkim=pass header.d=example.org") FROM_ALICE REST,
	  "x@x.example", TRUE, FALSE, "dkim=pass" },
	/* forged: another authserv-id, below a foreign Received, malformed */
	{ "another authserv-id",
	  OURS
	  "Authentication-Results: mx.evil.example; dkim=pass header.d=example.org\n" FROM_ALICE
		  REST,
	  "alice@example.org", FALSE, FALSE,
	  "ignored 1 of another authserv-id" },
	{ "authserv-id as a prefix",
	  OURS "Authentication-Results: " ID ".evil.example; dkim=pass "
	       "header.d=example.org\n" FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "another authserv-id" },
	{ "ours, but below a foreign Received",
	  OURS FOREIGN AR("dkim=pass header.d=example.org") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE,
	  "ignored 1 of " ID " below a "
	  "Received of another host" },
	{ "below a Received with no by",
	  OURS "Received: from x; Mon\n" AR("dkim=pass header.d=example.org")
		  FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "below a Received" },
	{ "below a second Received of ours (a content filter)",
	  OURS OURS AR("dkim=pass header.d=example.org") FROM_ALICE REST,
	  "alice@example.org", TRUE, FALSE, "dkim=pass" },
	/* Postfix's myhostname is not the authserv-id: its Received is
	 * another host's, and only what stands above it (where a milter
	 * writes) is trusted, never what the client sent below it */
	{ "above Postfix's Received, authserv-id not its host name",
	  AR("dkim=pass header.d=example.org") PFX FROM_ALICE REST,
	  "alice@example.org", TRUE, FALSE, "dkim=pass" },
	{ "below Postfix's Received, authserv-id not its host name",
	  AR("dkim=fail header.d=example.org") PFX AR(
		  "spf=pass smtp.mailfrom=alice@example.org") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE,
	  "dkim=fail header.d=example.org; "
	  "ignored 1 of " ID " below a Received of another host" },
	{ "a forged Received of ours cannot lift it",
	  AR("dkim=none") PFX "Received: from f by " ID " with ESMTP; Mon\n" AR(
		  "dkim=pass header.d=example.org") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "below a Received" },
	{ "a real one above, a forged one below",
	  OURS AR("dkim=fail header.d=example.org")
		  FOREIGN AR("dkim=pass header.d=example.org") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "dkim=fail" },
	{ "malformed",
	  OURS AR("dkim pass header.d=example.org") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "ignored 1 malformed" },
	{ "no Authentication-Results at all", OURS FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE,
	  "no Authentication-Results of " ID },
	/* the From side */
	{ "two From headers",
	  OURS AR("dkim=pass header.d=example.org") FROM_ALICE
	  "From: Mallory <mallory@example.org>\n" REST,
	  "alice@example.org", FALSE, FALSE, "several From headers" },
	{ "two addresses in From",
	  OURS AR("dkim=pass header.d=example.org") "From: alice@example.org, mallory@evil.example\n" REST,
	  "alice@example.org", FALSE, FALSE, "several addresses" },
	{ "no From", OURS AR("dkim=pass header.d=example.org") REST,
	  "alice@example.org", FALSE, FALSE, "no usable From" },
	{ "From domain in another case",
	  OURS AR("dkim=pass header.d=example.org") "From: alice@EXAMPLE.org\n" REST,
	  "alice@example.org", TRUE, FALSE, "dkim=pass" },
	{ "control characters are escaped in the detail",
	  OURS AR("dkim=fail header.d=\"ex\\\x01"
		  "ample.org\"") FROM_ALICE REST,
	  "alice@example.org", FALSE, FALSE, "\\x01" },
};

static GMimeMessage *
parse(const char *text)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text,
								strlen(text));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	g_assert_nonnull(m);
	return m;
}

static void
test_evaluate(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(evaluations); i++) {
		GMimeMessage *m = parse(evaluations[i].headers);
		struct post_auth a;

		auth_evaluate(g_mime_object_get_header_list(GMIME_OBJECT(m)),
			      ID, evaluations[i].sender, &a);
		check_int(a.from_ok, evaluations[i].from_ok, "%s: from_ok",
			  evaluations[i].what);
		check_int(a.envelope_ok, evaluations[i].envelope_ok,
			  "%s: envelope_ok", evaluations[i].what);
		check_contains(a.detail, evaluations[i].detail, "%s: detail",
			       evaluations[i].what);
		check_lacks(a.detail, "\n", "%s: detail on one line",
			    evaluations[i].what);
		post_auth_clear(&a);
		g_object_unref(m);
	}
}

/* No authserv_id: nothing is trusted. */
static void
test_no_authserv_id(void)
{
	GMimeMessage *m = parse(OURS AR("dkim=pass header.d=example.org")
					FROM_ALICE REST);
	struct post_auth a;

	auth_evaluate(g_mime_object_get_header_list(GMIME_OBJECT(m)), NULL,
		      "alice@example.org", &a);
	check_int(a.from_ok, FALSE, "no authserv_id: from_ok");
	post_auth_clear(&a);
	g_object_unref(m);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add_func("/auth/parse", test_parse);
	g_test_add_func("/auth/received-by", test_received_by);
	g_test_add_func("/auth/aligned", test_aligned);
	g_test_add_func("/auth/evaluate", test_evaluate);
	g_test_add_func("/auth/no-authserv-id", test_no_authserv_id);
	return g_test_run();
}
