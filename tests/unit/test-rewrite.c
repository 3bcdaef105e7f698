/* test-rewrite.c - the header policy of DESIGN.md. Each case parses a
 * header block with GMime, runs rewrite_headers() with a list_ref built by
 * hand and reads back g_mime_header_list_to_string(); plus the subject,
 * sanitising, loop-marker and Auto-Submitted helpers. */
#include "soarlist/rewrite.h"

#include "soarlist/recipient.h"
#include "unit.h"

#define SSC "ssc.manage2soar.com"
#define SSC2 "skylinesoaring.org"
#define BOUNCES "members-bounces@" SSC
#define LIST_HEADERS \
	",List-Help,List-Id,List-Owner,List-Post,Precedence," \
	"X-Auto-Response-Suppress,X-Loop"

static char slug[] = "ssc", name[] = "Skyline Soaring Club";
static char dom1[] = SSC, dom2[] = SSC2;
static char *domains[] = { dom1, dom2, NULL };
static const struct club_config club = { .slug = slug,
					 .name = name,
					 .domains = domains };

/* members@DOMAIN; S NULL: the defaults. Clear with list_ref_clear. */
static void
make_ref(struct list_ref *ref, const char *domain,
	 const struct list_settings *s)
{
	memset(ref, 0, sizeof(*ref));
	ref->id = ref->club_id = 1;
	ref->club = &club;
	ref->name = g_strdup("members");
	ref->domain = g_strdup(domain);
	ref->address = g_strconcat("members@", domain, NULL);
	ref->display = recipient_list_display("members");
	if (s != NULL)
		ref->settings = *s;
	else
		ref->settings.from_rewrite = TRUE;
}

/* HEADERS ("\n" between lines), a blank line and a body, parsed. */
static GMimeObject *
parse(const char *headers)
{
	char *text = g_strconcat(headers, "\n\nbody\n", NULL);
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(text,
								strlen(text));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeObject *obj;

	g_mime_parser_set_persist_stream(parser, TRUE);
	obj = g_mime_parser_construct_part(parser, NULL);
	g_assert_nonnull(obj);
	g_object_unref(parser);
	g_object_unref(stream);
	g_free(text);
	return obj;
}

struct run {
	const char *headers;
	const struct list_settings *settings; /* NULL: defaults */
	const char *domain;                   /* NULL: SSC */
	const char *sender;                   /* NULL: john@example.com */
	guint redirected;
};

/* The rewritten header text, and that text parsed again. */
struct result {
	char *text;
	GMimeObject *obj;
	GMimeHeaderList *h;
};

static struct result
rewrite(const struct run *run)
{
	GMimeObject *obj = parse(run->headers);
	GMimeHeaderList *h = g_mime_object_get_header_list(obj);
	struct list_ref ref;
	struct rewrite_input in = {
		.list = &ref,
		.envelope_sender = run->sender ? run->sender
					       : "john@example.com",
		.redirected_members = run->redirected
	};
	struct result r;

	make_ref(&ref, run->domain ? run->domain : SSC, run->settings);
	check_int(rewrite_headers(h, &in), 0, "rewrite_headers()");
	r.text = g_mime_header_list_to_string(h, NULL);
	r.obj = parse(r.text);
	r.h = g_mime_object_get_header_list(r.obj);
	g_object_unref(obj);
	list_ref_clear(&ref);
	return r;
}

static void
result_clear(struct result *r)
{
	g_free(r->text);
	g_clear_object(&r->obj);
}

static int
count(const struct result *r, const char *hname)
{
	int n = 0;

	for (int i = 0; i < g_mime_header_list_get_count(r->h); i++)
		n += g_ascii_strcasecmp(
			     hname, g_mime_header_get_name(
					    g_mime_header_list_get_header_at(
						    r->h, i))) == 0;
	return n;
}

/* The raw value of the first header HNAME, unfolded (folding white space
 * becomes a space) and trimmed, or NULL. Newly allocated. */
static char *
raw(const struct result *r, const char *hname)
{
	GMimeHeader *h = g_mime_header_list_get_header(r->h, hname);
	GString *s = g_string_new(NULL);

	for (const char *p = h ? g_mime_header_get_raw_value(h) : ""; *p; p++)
		if (*p != '\n' && *p != '\r')
			g_string_append_c(s, *p == '\t' ? ' ' : *p);
	if (h == NULL) {
		g_string_free(s, TRUE);
		return NULL;
	}
	return g_strstrip(g_string_free(s, FALSE));
}

static void
check_raw(const struct result *r, const char *hname, const char *want,
	  const char *what)
{
	char *got = raw(r, hname);

	check_str(got, want, "%s: %s", what, hname);
	g_free(got);
}

static int
cmp_str(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Header names of TEXT (lines split at SEP; a line starting with white
 * space continues a header), sorted, joined with ','. Newly allocated. */
static char *
names(const char *text, const char *sep)
{
	char **lines = g_strsplit(text, sep, -1);
	GPtrArray *n = g_ptr_array_new_with_free_func(g_free);
	char *out;

	for (int i = 0; lines[i] != NULL; i++)
		if (lines[i][0] != '\0' && !g_ascii_isspace(lines[i][0]))
			g_ptr_array_add(
				n, g_strndup(lines[i], strcspn(lines[i], ":")));
	g_ptr_array_sort(n, cmp_str);
	g_ptr_array_add(n, NULL);
	out = g_strjoinv(",", (char **)n->pdata);
	g_ptr_array_unref(n);
	g_strfreev(lines);
	return out;
}

/* Every line of the output starts one of the headers WANT (',' between
 * names, any order) or continues one; no CR anywhere; and the From and
 * Subject lines are printable ASCII (RFC 2047 applied). */
static void
check_lines(const struct result *r, const char *want, const char *what)
{
	char *got = names(r->text, "\n"), *w = names(want, ",");

	check_str(got, w, "%s: header names", what);
	check_lacks(r->text, "\r", "%s: output", what);
	for (int k = 0; k < 2; k++) {
		char *v = raw(r, k ? "Subject" : "From");
		for (const char *p = v ? v : ""; *p; p++)
			if ((unsigned char)*p >= 0x7f ||
			    (unsigned char)*p < 0x20) {
				check_str(v, "printable ASCII", "%s", what);
				break;
			}
		g_free(v);
	}
	g_free(got);
	g_free(w);
}

/* The first From mailbox: name decoded by GMime's address parser, the
 * phrase decoded by g_mime_utils_header_decode_phrase, the address. */
static void
check_from(const struct result *r, const char *want_name, const char *want_addr,
	   const char *what)
{
	char *v = raw(r, "From"), *lt = v ? strrchr(v, '<') : NULL, *phrase;
	InternetAddressList *l = v ? internet_address_list_parse(NULL, v)
				   : NULL;
	InternetAddress *ia = l && internet_address_list_length(l) > 0
				      ? internet_address_list_get_address(l, 0)
				      : NULL;

	if (want_name != NULL)
		check_str(ia ? internet_address_get_name(ia) : NULL, want_name,
			  "%s: From name", what);
	check_lacks(ia ? internet_address_get_name(ia) : NULL, "\n",
		    "%s: From name", what);
	check_str(ia && INTERNET_ADDRESS_IS_MAILBOX(ia)
			  ? internet_address_mailbox_get_addr(
				    INTERNET_ADDRESS_MAILBOX(ia))
			  : NULL,
		  want_addr, "%s: From address", what);
	if (want_name != NULL && lt != NULL && v[0] != '"') {
		GString *u = g_string_new(NULL);

		/* decode_phrase leaves quoted strings quoted: unquote */
		*lt = '\0';
		phrase = g_mime_utils_header_decode_phrase(NULL, g_strstrip(v));
		for (const char *p = phrase; *p; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '"')
				continue;
			g_string_append_c(u, *p);
		}
		check_str(u->str, want_name, "%s: decoded From phrase", what);
		g_string_free(u, TRUE);
		g_free(phrase);
	}
	if (l != NULL)
		g_object_unref(l);
	g_free(v);
}

static const struct {
	const char *from, *name; /* as sent; display name of the new From */
	const char *want_raw;    /* the new From, NULL: encoded, not checked */
} from_cases[] = {
	{ "John Smith <john@example.com>", "John Smith via Members",
	  "\"John Smith via Members\" <" BOUNCES ">" },
	{ "\"Smith, John\" <john@example.com>", "Smith, John via Members",
	  "\"Smith, John via Members\" <" BOUNCES ">" },
	{ "\"John \\\"JJ\\\" Smith\" <john@example.com>",
	  "John \"JJ\" Smith via Members",
	  "\"John \\\"JJ\\\" Smith via Members\" <" BOUNCES ">" },
	{ "john@example.com", "john at example.com via Members",
	  "\"john at example.com via Members\" <" BOUNCES ">" },
	{ "=?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <jm@example.de>",
	  "J\xc3\xbcrgen M\xc3\xbcller via Members", NULL },
	{ "J\xc3\xbcrgen M\xc3\xbcller <jm@example.de>",
	  "J\xc3\xbcrgen M\xc3\xbcller via Members", NULL },
	{ "=?iso-8859-1?q?Ren=E9_Dupont?= <rd@example.fr>",
	  "Ren\xc3\xa9 Dupont via Members", NULL },
	{ "=?utf-8?q?Gr=C3=A9goire_de_la_Tr=C3=A9moille-Longueville_et_"
	  "Associ=C3=A9s?= <g@example.fr>",
	  "Gr\xc3\xa9goire de la "
	  "Tr\xc3\xa9moille-Longueville et Associ\xc3\xa9s via Members",
	  NULL },
};

/* From rewriting; Reply-To is the original From by default. */
static void
test_from(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(from_cases); i++) {
		char *hdrs = g_strdup_printf("From: %s\nTo: members@" SSC,
					     from_cases[i].from);
		struct result r = rewrite(&(struct run){ .headers = hdrs });
		char *what = unit_quote(from_cases[i].from);

		check_lines(&r, "From,To,Reply-To" LIST_HEADERS, what);
		check_from(&r, from_cases[i].name, BOUNCES, what);
		if (from_cases[i].want_raw != NULL)
			check_raw(&r, "From", from_cases[i].want_raw, what);
		check_raw(&r, "Reply-To", from_cases[i].from, what);
		g_free(what);
		g_free(hdrs);
		result_clear(&r);
	}
}

#define EVIL \
	"From: =?utf-8?q?Evil=0D=0ABcc=3A_victim=40example.com?= " \
	"<evil@example.com>"
#define EVIL_NAME "Evil Bcc: victim@example.com via Members"
/* base64 of "Grüße\r\nX-Injected: 1" */
#define GRUSS "R3LDvMOfZQ0KWC1JbmplY3RlZDogMQ=="

/* Encoded CR/LF in what the sender wrote never becomes a header line. */
static const struct {
	const char *headers;
	struct list_settings s;
	const char *names, *from_name, *subject; /* NULL: not checked */
} inject_cases[] = {
	{ EVIL, { .from_rewrite = TRUE }, "From,Reply-To", EVIL_NAME, NULL },
	{ "From: =?utf-8?b?RXZpbA0KQmNjOiB2aWN0aW1AZXhhbXBsZS5jb20=?= "
	  "<evil@example.com>",
	  { .from_rewrite = TRUE },
	  "From,Reply-To",
	  EVIL_NAME,
	  NULL },
	{ "From: =?utf-8?b?" GRUSS "?= <g@example.de>",
	  { .from_rewrite = TRUE },
	  "From,Reply-To",
	  "Gr\xc3\xbc\xc3\x9f"
	  "e X-Injected: 1 via Members",
	  NULL },
	/* not a valid encoded word in a phrase: garbage, still one From */
	{ "From: =?utf-8?q?Evil=0ABcc:_victim@example.com?= <evil@example.com>",
	  { .from_rewrite = TRUE },
	  "From,Reply-To",
	  NULL,
	  NULL },
	{ "From: =?utf-8?q?=0D=0A=0D=0A?= <evil@example.com>",
	  { .from_rewrite = TRUE },
	  "From,Reply-To",
	  "evil at example.com via Members",
	  NULL },
	{ "From: a@example.org\nSubject: =?utf-8?q?Hi=0D=0ABcc=3A_v=40x.org?=",
	  { .from_rewrite = TRUE, .subject_prefix = (char *)"[SSC]" },
	  "From,Reply-To,Subject",
	  NULL,
	  "[SSC] Hi Bcc: v@x.org" },
	{ "From: a@example.org\nSubject: =?utf-8?b?" GRUSS "?=",
	  { .from_rewrite = TRUE, .subject_prefix = (char *)"[SSC]" },
	  "From,Reply-To,Subject",
	  NULL,
	  "[SSC] Gr\xc3\xbc\xc3\x9f"
	  "e X-Injected: 1" },
	/* reply_to = list copies the author's name into Cc */
	{ EVIL,
	  { .from_rewrite = TRUE, .reply_to = REPLY_TO_LIST },
	  "Cc,From,Reply-To",
	  EVIL_NAME,
	  NULL },
};

static void
test_injection(void)
{
	for (gsize i = 0; i < G_N_ELEMENTS(inject_cases); i++) {
		struct result r = rewrite(
			&(struct run){ .headers = inject_cases[i].headers,
				       .settings = &inject_cases[i].s });
		char *what = unit_quote(inject_cases[i].headers);
		char *want = g_strconcat(inject_cases[i].names, LIST_HEADERS,
					 NULL);
		GMimeHeader *subj = g_mime_header_list_get_header(r.h,
								  "Subject");

		check_lines(&r, want, what);
		check_int(count(&r, "Bcc") + count(&r, "X-Injected"), 0,
			  "%s: injected headers", what);
		check_from(&r, inject_cases[i].from_name, BOUNCES, what);
		if (inject_cases[i].subject != NULL)
			check_str(subj ? g_mime_header_get_value(subj) : NULL,
				  inject_cases[i].subject, "%s: Subject", what);
		g_free(want);
		g_free(what);
		result_clear(&r);
	}
}

static void
test_reply_to_from(void)
{
	struct list_settings list = { .from_rewrite = TRUE,
				      .reply_to = REPLY_TO_LIST },
			     none = { .from_rewrite = TRUE,
				      .reply_to = REPLY_TO_NONE },
			     off = { .from_rewrite = FALSE },
			     from_list = { .from_rewrite = TRUE,
					   .from_address = FROM_ADDRESS_LIST };
	const char *john = "From: John <john@example.com>";
	struct result r;
	char *cc;

	r = rewrite(&(struct run){
		.headers = "From: John <john@example.com>\n"
			   "Reply-To: Office <office@example.org>" });
	check_int(count(&r, "Reply-To"), 1, "an existing Reply-To: count");
	check_raw(&r, "Reply-To", "Office <office@example.org>",
		  "an existing Reply-To wins");
	result_clear(&r);
	r = rewrite(&(struct run){
		.settings = &list,
		.headers =
			"From: John <john@example.com>\nReply-To: x@example.org\n"
			"Cc: Jane <jane@example.org>" });
	check_int(count(&r, "Reply-To"), 1, "reply_to=list: Reply-To count");
	check_raw(&r, "Reply-To", "members@" SSC, "reply_to=list");
	cc = raw(&r, "Cc");
	check_contains(cc, "jane@example.org", "reply_to=list: Cc");
	check_contains(cc, "john@example.com", "reply_to=list: Cc");
	g_free(cc);
	result_clear(&r);
	r = rewrite(&(struct run){
		.settings = &list,
		.headers =
			"From: John <john@example.com>\nCc: JOHN@example.com" });
	cc = raw(&r, "Cc");
	check_int(cc && strchr(cc, '@') == strrchr(cc, '@'), TRUE,
		  "reply_to=list, author already in Cc: one address in %s", cc);
	g_free(cc);
	result_clear(&r);
	r = rewrite(&(struct run){ .settings = &none, .headers = john });
	check_int(count(&r, "Reply-To"), 0, "reply_to=none: Reply-To count");
	result_clear(&r);
	r = rewrite(&(struct run){ .settings = &off, .headers = john });
	check_raw(&r, "From", "John <john@example.com>", "from_rewrite=no");
	check_int(count(&r, "Reply-To"), 0, "from_rewrite=no: Reply-To count");
	result_clear(&r);
	r = rewrite(&(struct run){ .settings = &from_list, .headers = john });
	check_raw(&r, "From", "\"John via Members\" <members@" SSC ">",
		  "from_address=list");
	result_clear(&r);
	/* an internationalized author domain is its A-labels, as written
	 * or from Unicode; one GMime would write otherwise is left out */
	r = rewrite(
		&(struct run){ .settings = &list,
			       .headers = "From: eve@xn--bcher-kva.example" });
	check_raw(&r, "Cc", "eve@xn--bcher-kva.example", "A-label author");
	check_raw(&r, "From",
		  "\"eve at xn--bcher-kva.example via Members\" "
		  "<members-bounces@" SSC ">",
		  "A-label author: From");
	result_clear(&r);
	r = rewrite(&(struct run){
		.settings = &list,
		.headers = "From: eve@B\xc3\x9c"
			   "cher.example\nCc: EVE@XN--BCHER-KVA.example" });
	cc = raw(&r, "Cc");
	check_int(cc && strchr(cc, '@') == strrchr(cc, '@'), TRUE,
		  "Unicode author already in Cc: one address in %s", cc);
	g_free(cc);
	result_clear(&r);
	/* a Reply-To copied from a From whose domain is Unicode carries the
	 * valid address, the A-labels, not what the sender wrote */
	r = rewrite(
		&(struct run){ .headers = "From: J\xc3\xbcrgen "
					  "<j\xc3\xbc@ex\xc3\xa4mple.org>" });
	cc = raw(&r, "Reply-To");
	check_contains(cc, "<j\xc3\xbc@xn--exmple-cua.org>",
		       "Unicode domain: Reply-To");
	g_free(cc);
	result_clear(&r);
	r = rewrite(&(struct run){ .settings = &list,
				   .headers = "From: eve@example.Xn--org" });
	check_int(count(&r, "Cc"), 0, "A-label GMime rewrites: no Cc");
	result_clear(&r);
	r = rewrite(
		&(struct run){ .headers = "From: Eve <eve@example.Xn--org>" });
	check_int(count(&r, "Reply-To"), 0,
		  "A-label GMime rewrites: no Reply-To");
	result_clear(&r);
	/* the domain as addressed; no From header: the envelope sender */
	r = rewrite(&(struct run){ .domain = SSC2, .headers = "Subject: x" });
	check_raw(&r, "From",
		  "\"john at example.com via Members\" "
		  "<members-bounces@" SSC2 ">",
		  "second domain, no From");
	result_clear(&r);
}

static void
test_list_headers(void)
{
	static const struct {
		const char *hname, *value;
	} want[] = {
		{ "List-Id", "<members." SSC2 ">" },
		{ "List-Post", "<mailto:members@" SSC2 ">" },
		{ "List-Help", "<mailto:members-owner@" SSC2 "?subject=help>" },
		{ "List-Owner", "<mailto:members-owner@" SSC2 ">" },
		{ "List-Unsubscribe", "<https://" SSC "/unsub>" },
		{ "Precedence", "list" },
		{ REWRITE_LOOP_HEADER, "members@" SSC2 },
		{ "X-Auto-Response-Suppress", "OOF, AutoReply" },
		{ REWRITE_REDIRECT_HEADER, "12 members of members@" SSC2 },
	};
	struct list_settings unsub = {
		.from_rewrite = TRUE,
		.list_unsubscribe = (char *)"https://" SSC "/unsub"
	};
	struct result r;

	/* another list's headers and the ones to remove are gone */
	r = rewrite(&(struct run){
		.settings = &unsub,
		.domain = SSC2,
		.redirected = 12,
		.headers =
			"Return-Path: <john@example.com>\n"
			"Received: from mx.example.com;\n Mon, 1 Jan 2024 10:00:00 +0000\n"
			"DKIM-Signature: v=1; a=rsa-sha256; d=example.com;\n\tb=AAAA\n"
			"From: John <john@example.com>\n"
			"dkim-signature: v=1; d=relay.example; b=BBBB\n"
			"Disposition-Notification-To: john@example.com\n"
			"Message-ID: <abc@example.com>\nList-Id: <other.example.org>\n"
			"List-Post: <mailto:other@example.org>\nPrecedence: bulk\n"
			"List-Unsubscribe: <https://example.org/u>\n"
			"X-Auto-Response-Suppress: All\nX-Soarlist-Dev-Redirect: forged" });
	check_lines(
		&r,
		"Received,From,Message-ID,Reply-To,List-Unsubscribe," REWRITE_REDIRECT_HEADER
			LIST_HEADERS,
		"list headers");
	for (gsize i = 0; i < G_N_ELEMENTS(want); i++) {
		check_raw(&r, want[i].hname, want[i].value, "list headers");
		check_int(count(&r, want[i].hname), 1, "count of %s",
			  want[i].hname);
	}
	check_contains(r.text, "Received: from mx.example.com;\n Mon, 1 Jan",
		       "Received keeps its bytes");
	result_clear(&r);
	r = rewrite(&(struct run){ .headers = "From: a@example.org" });
	check_int(count(&r, "List-Unsubscribe") +
			  count(&r, REWRITE_REDIRECT_HEADER),
		  0,
		  "List-Unsubscribe and " REWRITE_REDIRECT_HEADER
		  " when not configured");
	result_clear(&r);
}

static void
test_exempt(void)
{
	static const struct {
		const char *sender;
		gboolean exempt;
	} cases[] = {
		{ "noreply@" SSC, TRUE },
		{ "NoReply@SkylineSoaring.ORG", TRUE },
		{ "noreply@other.example.org", FALSE },
		{ "noreply@sub." SSC, FALSE },
		{ "noreply-x@" SSC, FALSE },
		{ "xnoreply@" SSC, FALSE },
		{ "noreply", FALSE },
		{ "", FALSE },
		{ NULL, FALSE },
	};
	struct list_ref ref;
	struct result r;

	make_ref(&ref, SSC, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		check_int(rewrite_from_exempt(&ref, cases[i].sender),
			  cases[i].exempt, "rewrite_from_exempt(\"%s\")",
			  cases[i].sender ? cases[i].sender : "NULL");
	list_ref_clear(&ref);
	r = rewrite(&(struct run){
		.sender = "noreply@" SSC,
		.headers = "From: Skyline Soaring Club <noreply@" SSC ">" });
	check_lines(&r, "From" LIST_HEADERS, "exempt envelope sender");
	check_raw(&r, "From", "Skyline Soaring Club <noreply@" SSC ">",
		  "exempt envelope sender");
	result_clear(&r);
	/* the envelope decides, never the From header */
	r = rewrite(&(struct run){
		.sender = "mallory@example.com",
		.headers = "From: Skyline Soaring Club <noreply@" SSC ">" });
	check_raw(&r, "From",
		  "\"Skyline Soaring Club via Members\" <" BOUNCES ">",
		  "From noreply@, envelope sender not");
	result_clear(&r);
}

static void
test_subject(void)
{
	static const struct {
		const char *subject, *prefix, *want;
	} cases[] = {
		{ "x", "[SSC]", "[SSC] x" },
		{ "Re: [SSC] x", "[SSC]", "Re: [SSC] x" },
		{ "[SSC] x", "[SSC]", "[SSC] x" },
		{ "Fwd: [SSC] Re: x", "[SSC]", "Fwd: [SSC] Re: x" },
		{ "Re: x", "[SSC]", "[SSC] Re: x" },
		{ "Re: [ssc] x", "[SSC]", "Re: [ssc] x" },
		{ "", "[SSC]", "[SSC] (no subject)" },
		{ NULL, "[SSC]", "[SSC] (no subject)" },
		{ " \t ", "[SSC]", "[SSC] (no subject)" },
		{ "a\r\nBcc: v@x.org", "[SSC]", "[SSC] a Bcc: v@x.org" },
		{ "x", NULL, "x" },
		{ "Re: x", "", "Re: x" },
	};
	struct list_settings s = { .from_rewrite = TRUE,
				   .subject_prefix = (char *)"[SSC]" };
	struct result r;
	GMimeHeader *h;

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = rewrite_subject(cases[i].subject, cases[i].prefix);
		char *subj = unit_quote(cases[i].subject);

		check_str(got, cases[i].want, "rewrite_subject(%s, %s)", subj,
			  cases[i].prefix ? cases[i].prefix : "NULL");
		g_free(got);
		g_free(subj);
	}
	/* through rewrite_headers */
	r = rewrite(&(struct run){
		.settings = &s,
		.headers = "From: a@example.org\nSubject: Re: [SSC] Hi" });
	check_raw(&r, "Subject", "Re: [SSC] Hi", "a reply");
	result_clear(&r);
	r = rewrite(
		&(struct run){ .settings = &s, .headers = "From: a@x.org" });
	check_raw(&r, "Subject", "[SSC] (no subject)", "no Subject header");
	result_clear(&r);
	r = rewrite(&(struct run){
		.settings = &s,
		.headers = "From: a@x.org\n"
			   "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=" });
	h = g_mime_header_list_get_header(r.h, "Subject");
	check_str(h ? g_mime_header_get_value(h) : NULL,
		  "[SSC] Gr\xc3\xbc\xc3\x9f"
		  "e",
		  "non-ASCII Subject");
	check_lines(&r, "From,Subject,Reply-To" LIST_HEADERS,
		    "non-ASCII Subject");
	result_clear(&r);
}

static void
test_sanitize(void)
{
	static const struct {
		const char *name, *addr; /* addr "-": rewrite_sanitize(name) */
		const char *want;
	} cases[] = {
		{ "a\r\n\tb", "-", "a b" },
		{ "  a   b  ", "-", "a b" },
		{ "a\001b\177c", "-", "a b c" },
		{ "\r\n", "-", "" },
		{ NULL, "-", "" },
		{ "J\xc3\xbcrgen", "-", "J\xc3\xbcrgen" },
		{ "bad\xff"
		  "byte",
		  "-",
		  "bad\xef\xbf\xbd"
		  "byte" },
		{ "John", "j@example.com", "John via Members" },
		{ NULL, "j@example.com", "j at example.com via Members" },
		{ " \r\n ", "j@example.com", "j at example.com via Members" },
		{ "Evil\r\nBcc: v@x.org", "e@x.org",
		  "Evil Bcc: v@x.org via Members" },
		{ NULL, NULL, "Members" },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		gboolean san = g_strcmp0(cases[i].addr, "-") == 0;
		char *got = san ? rewrite_sanitize(cases[i].name)
				: rewrite_from_name(cases[i].name,
						    cases[i].addr, "Members");
		char *n = unit_quote(cases[i].name);

		check_str(got, cases[i].want, "%s(%s%s%s)",
			  san ? "rewrite_sanitize" : "rewrite_from_name", n,
			  san ? "" : ", ",
			  san             ? ""
			  : cases[i].addr ? cases[i].addr
					  : "NULL");
		g_free(got);
		g_free(n);
	}
}

/* rewrite_has_loop_marker (members@SSC) and rewrite_is_auto_submitted */
static void
test_drop_markers(void)
{
	static const struct {
		const char *headers;
		gboolean loop, autosub;
	} cases[] = {
		{ "X-Loop: members@" SSC, TRUE, FALSE },
		{ "X-Loop: members@" SSC2, TRUE, FALSE },
		{ "x-loop: <MEMBERS@SSC.Manage2Soar.COM>", TRUE, FALSE },
		{ "X-Loop: other@example.org\nX-Loop: members@" SSC, TRUE,
		  FALSE },
		{ "X-Loop: board@" SSC, FALSE, FALSE },
		{ "X-Loop: members@other.example.org", FALSE, FALSE },
		{ "X-Loop: members-bounces@" SSC, FALSE, FALSE },
		{ "List-Id: <members." SSC ">", FALSE, FALSE },
		{ "Auto-Submitted: no", FALSE, FALSE },
		{ "Auto-Submitted: No (a human wrote this)", FALSE, FALSE },
		{ "Auto-Submitted: auto-replied", FALSE, TRUE },
		{ "auto-submitted: Auto-Generated", FALSE, TRUE },
		{ "Auto-Submitted: auto-replied; owner-email=\"x@y.org\"",
		  FALSE, TRUE },
		{ "Auto-Submitted: no\nAuto-Submitted: auto-notified", FALSE,
		  TRUE },
	};
	struct list_ref ref;

	make_ref(&ref, SSC, NULL);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = g_strconcat("From: a@example.org\n",
					 cases[i].headers, NULL);
		GMimeObject *obj = parse(text);
		GMimeHeaderList *h = g_mime_object_get_header_list(obj);
		char *what = unit_quote(cases[i].headers);

		check_int(rewrite_has_loop_marker(h, &ref), cases[i].loop,
			  "rewrite_has_loop_marker(%s)", what);
		check_int(rewrite_is_auto_submitted(h), cases[i].autosub,
			  "rewrite_is_auto_submitted(%s)", what);
		g_object_unref(obj);
		g_free(what);
		g_free(text);
	}
	{ /* what we send out is recognised when it comes back */
		struct result r = rewrite(&(struct run){
			.domain = SSC2, .headers = "From: a@example.org" });
		check_int(rewrite_has_loop_marker(r.h, &ref), TRUE,
			  "rewrite_has_loop_marker(our own output)");
		result_clear(&r);
	}
	list_ref_clear(&ref);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add_func("/rewrite/from", test_from);
	g_test_add_func("/rewrite/injection", test_injection);
	g_test_add_func("/rewrite/reply-to-from", test_reply_to_from);
	g_test_add_func("/rewrite/list-headers", test_list_headers);
	g_test_add_func("/rewrite/exempt", test_exempt);
	g_test_add_func("/rewrite/subject", test_subject);
	g_test_add_func("/rewrite/sanitize", test_sanitize);
	g_test_add_func("/rewrite/drop-markers", test_drop_markers);
	return g_test_run();
}
