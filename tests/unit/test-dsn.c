/* test-dsn.c - reading delivery status notifications: the status-code
 * scanner on its own, then whole messages (standard and text forms, and
 * mail that is no DSN) through message_parse() and dsn_parse(), with the
 * X-Soarlist-Proof of the returned message; the proof token itself
 * (bounce_proof_token) against values computed with Python's hmac. */
#include "soarlist/bounce-proof.h"
#include "soarlist/dsn.h"

#include <fcntl.h>
#include <unistd.h>

#include "unit.h"

static void
test_find_status(void)
{
	static const struct {
		const char *text;
		const char *classes;
		const char *want; /* NULL: none */
	} cases[] = {
		{ "550 5.1.1 <a@b.org>: User unknown", "45", "5.1.1" },
		{ "Status: 5.1.10 (RecipientNotFound)", "245", "5.1.10" },
		{ "550-5.2.2 The email account is over quota", "45", "5.2.2" },
		{ "no mailbox here by that name. (#5.1.1)", "45", "5.1.1" },
		{ "<corp.example.org #5.1.1>", "45", "5.1.1" },
		{ "451 4.3.0 try later", "45", "4.3.0" },
		{ "2.0.0 Ok", "45", NULL },
		{ "2.0.0 Ok", "245", "2.0.0" },
		{ "host [192.0.2.5.1.1]", "45", NULL },   /* dotted number */
		{ "relay 10.5.1.1 said hi", "45", NULL }, /* an IP address */
		{ "(Exim 4.94.2) then 550 5.7.1 refused", "45", "5.7.1" },
		{ "version v5.1.1", "45", NULL },
		{ "5.8.1 is no subject", "45", NULL },
		{ "5.1.1234 too long", "45", NULL },
		{ "", "45", NULL },
	};

	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *code = NULL;
		gssize at = dsn_find_status(cases[i].text, 0, cases[i].classes,
					    &code);

		check_str(code, cases[i].want,
			  "dsn_find_status(\"%s\", \"%s\")", cases[i].text,
			  cases[i].classes);
		check_int(at >= 0, cases[i].want != NULL,
			  "dsn_find_status(\"%s\") found", cases[i].text);
		g_free(code);
	}
}

#define REPORT_HEAD \
	"From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n" \
	"Subject: Undelivered Mail Returned to Sender\n" \
	"MIME-Version: 1.0\n" \
	"Content-Type: multipart/report; report-type=delivery-status;\n" \
	"\tboundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nSorry.\n" \
	"--B\nContent-Type: message/delivery-status\n\n" \
	"Reporting-MTA: dns; mx.example.com\n\n"
#define RETURNED \
	"--B\nContent-Type: message/rfc822\n\nFrom: x@example.org\n" \
	"Message-ID: <post@example.org>\n\nhello\n--B--\n"

static const char standard2[] = REPORT_HEAD
	"Final-Recipient: rfc822; carol@example.net\nAction: delayed\n"
	"Status: 4.4.1\n\n"
	"Final-Recipient: rfc822;<bob@example.com>\nAction: Failed\n"
	"Status: 5.1.1 (bad mailbox)\nDiagnostic-Code: smtp; 550 5.1.1 no\n"
	"  such\tuser\n\n" RETURNED;

/* a C1 control (U+009B, a terminal's CSI) in the diagnostic: escaped */
static const char c1_diagnostic[] = REPORT_HEAD
	"Final-Recipient: rfc822; bob@example.com\nAction: failed\n"
	"Status: 5.1.1\nDiagnostic-Code: smtp; 550 \xc2\x9b"
	"2J gone\n\n" RETURNED;

/* a folded Message-ID with a control character in the returned headers:
 * decoded as the post's own was when it was stored */
static const char folded_id[] = REPORT_HEAD
	"Final-Recipient: rfc822; bob@example.com\nAction: failed\n"
	"Status: 5.1.1\n\n"
	"--B\nContent-Type: text/rfc822-headers\n\n"
	"Message-ID: <a\n X-Forged: yes\n\tb\x1b@x>\n--B--\n";

static const char forwarded[] = REPORT_HEAD
	"Original-Recipient: rfc822;bob@example.com\n"
	"Final-Recipient: rfc822; bob@elsewhere.example\nAction: failed\n"
	"Status: 5.2.1\n\n" RETURNED;

static const char no_status[] = REPORT_HEAD
	"Final-Recipient: rfc822; bob@example.com\nAction: failed\n"
	"Diagnostic-Code: smtp; 552 5.2.2 mailbox full\n\n"
	"--B\nContent-Type: text/rfc822-headers\n\n"
	"Message-ID: <hdr@example.org>\n--B--\n";

static const char exim[] =
	"From: Mail Delivery System <Mailer-Daemon@mail.example.net>\n"
	"Subject: Mail delivery failed: returning message to sender\n\n"
	"This message was created automatically by mail delivery software.\n\n"
	"  carol@example.net\n    host mx.example.net [192.0.2.7]\n"
	"    SMTP error from remote mail server after RCPT TO:<carol@example.net>:\n"
	"    550 5.1.1 <carol@example.net>: User unknown\n\n"
	"------ This is a copy of the message, including all the headers. ------\n\n"
	"Reply-To: alice@example.org\nMessage-ID: <quoted@example.org>\n\n"
	"the code 5.2.2 in the post\n";

/* the post's author is in the text; a code follows only the copy */
static const char author_only[] =
	"From: MAILER-DAEMON@mail.example.net\nSubject: failure notice\n\n"
	"Could not deliver to someone.\n\n"
	"------ This is a copy of the message ------\n"
	"Reply-To: alice@example.org\n\nthe code 5.1.1 in the post\n";

static const char oof[] =
	"From: Bob <bob@example.com>\nSubject: Automatic reply: Hello\n"
	"Auto-Submitted: auto-replied\n\nAway; 550 5.1.1 bob@example.com\n";

static const char mdn[] =
	"From: Bob <bob@example.com>\nSubject: Read: Hello\nMIME-Version: 1.0\n"
	"Content-Type: multipart/report; report-type=disposition-notification;"
	" boundary=\"M\"\n\n--M\nContent-Type: text/plain\n\nRead.\n"
	"--M\nContent-Type: message/disposition-notification\n\n"
	"Final-Recipient: rfc822; bob@example.com\n"
	"Disposition: manual-action/MDN-sent-manually; displayed\n--M--\n";

#define PROOF_REPORT \
	REPORT_HEAD "Final-Recipient: rfc822; bob@example.com\n" \
		    "Action: failed\nStatus: 5.1.1\n\n"

static const char proof_rfc822[] = PROOF_REPORT
	"--B\nContent-Type: message/rfc822\n\nFrom: x@example.org\n"
	"Message-ID: <post@example.org>\n"
	"X-Soarlist-Proof:  3DC44BEABB00766D09E421B71DC1FF8A \n\nhello\n--B--\n";

static const char proof_headers[] = PROOF_REPORT
	"--B\nContent-Type: text/rfc822-headers\n\n"
	"Message-ID: <hdr@example.org>\nX-Soarlist-Proof: 0123abcd\n--B--\n";

/* a token that is not hex, or one in the report's own header: none */
static const char proof_bad[] = PROOF_REPORT
	"--B\nContent-Type: message/rfc822\n\nMessage-ID: <post@example.org>\n"
	"X-Soarlist-Proof: 0123abcd; evil\n\nhello\n--B--\n";

static const char proof_exim[] =
	"From: Mail Delivery System <Mailer-Daemon@mail.example.net>\n"
	"Subject: Mail delivery failed: returning message to sender\n"
	"X-Soarlist-Proof: ffffffffffffffffffffffffffffffff\n\n"
	"This message was created automatically by mail delivery software.\n\n"
	"  carol@example.net\n    550 5.1.1 <carol@example.net>: User unknown\n\n"
	"------ This is a copy of the message, including all the headers. ------\n\n"
	"Message-ID: <quoted@example.org>\r\n"
	"X-Soarlist-Proof: 0123456789abcdef0123456789abcdef\r\n\r\nhello\n";

static const char *const members[] = { "alice@example.org", "bob@example.com",
				       "carol@example.net", NULL };

static int
is_member(const char *address, gpointer data, GError **error)
{
	(void)error;
	return g_strv_contains(data, address);
}

struct parse_case {
	const char *name, *text, *want;
	int rc;
	const char *recipient, *action, *status, *message_id, *diagnostic;
	gboolean standard;
	const char *proof;
};

/* Parse TEXT as a spooled message and run dsn_parse on it. */
static void
run_case(const char *dir, const struct parse_case *c)
{
	char *path = unit_write(dir, "msg", c->text);
	int fd = open(path, O_RDONLY);
	struct message msg;
	struct dsn d;
	GError *err = NULL;
	int rc;

	g_assert_cmpint(message_parse(fd, (off_t)strlen(c->text), &msg, &err),
			==, 0);
	rc = dsn_parse(&msg, c->want, is_member, (gpointer)members, &d, &err);
	check_int(rc, c->rc, "%s: dsn_parse", c->name);
	if (rc == 1) {
		check_str(d.recipient, c->recipient, "%s: recipient", c->name);
		check_str(d.action, c->action, "%s: action", c->name);
		check_str(d.status, c->status, "%s: status", c->name);
		check_str(d.message_id, c->message_id, "%s: message_id",
			  c->name);
		check_str(d.diagnostic, c->diagnostic, "%s: diagnostic",
			  c->name);
		check_int(d.standard, c->standard, "%s: standard", c->name);
		check_str(d.proof, c->proof, "%s: proof", c->name);
		dsn_clear(&d);
	}
	message_clear(&msg);
	close(fd);
	g_free(path);
}

static void
test_parse(void)
{
	static const struct parse_case cases[] = {
		{ "first failed block", standard2, NULL, 1, "bob@example.com",
		  "failed", "5.1.1", "post@example.org",
		  "smtp; 550 5.1.1 no "
		  "such user",
		  TRUE, NULL },
		{ "the VERP address's block", standard2, "carol@example.net", 1,
		  "carol@example.net", "delayed", "4.4.1", "post@example.org",
		  NULL, TRUE, NULL },
		{ "VERP address not in the DSN", standard2, "dora@example.org",
		  1, "dora@example.org", "failed", "5.1.1", "post@example.org",
		  "smtp; 550 5.1.1 no such user", TRUE, NULL },
		{ "C1 in the diagnostic", c1_diagnostic, NULL, 1,
		  "bob@example.com", "failed", "5.1.1", "post@example.org",
		  "smtp; 550 \\u009b2J gone", TRUE, NULL },
		{ "folded Message-ID", folded_id, NULL, 1, "bob@example.com",
		  "failed", "5.1.1", "a X-Forged: yes\\x09b\\x1b@x", NULL, TRUE,
		  NULL },
		{ "original recipient", forwarded, NULL, 1, "bob@example.com",
		  "failed", "5.2.1", "post@example.org", NULL, TRUE, NULL },
		{ "status from the diagnostic", no_status, NULL, 1,
		  "bob@example.com", "failed", "5.2.2", "hdr@example.org",
		  "smtp; 552 5.2.2 mailbox full", TRUE, NULL },
		{ "exim text", exim, NULL, 1, "carol@example.net", "failed",
		  "5.1.1", "quoted@example.org",
		  "550 5.1.1 <carol@example.net>: User unknown", FALSE, NULL },
		{ "exim text, VERP", exim, "carol@example.net", 1,
		  "carol@example.net", "failed", "5.1.1", "quoted@example.org",
		  "550 5.1.1 <carol@example.net>: User unknown", FALSE, NULL },
		{ "proof, returned message", proof_rfc822, NULL, 1,
		  "bob@example.com", "failed", "5.1.1", "post@example.org",
		  NULL, TRUE, "3dc44beabb00766d09e421b71dc1ff8a" },
		{ "proof, returned headers", proof_headers, NULL, 1,
		  "bob@example.com", "failed", "5.1.1", "hdr@example.org", NULL,
		  TRUE, "0123abcd" },
		{ "proof not hex", proof_bad, NULL, 1, "bob@example.com",
		  "failed", "5.1.1", "post@example.org", NULL, TRUE, NULL },
		{ "proof, exim text", proof_exim, "carol@example.net", 1,
		  "carol@example.net", "failed", "5.1.1", "quoted@example.org",
		  "550 5.1.1 <carol@example.net>: User unknown", FALSE,
		  "0123456789abcdef0123456789abcdef" },
		{ .name = "only the author in the copy", .text = author_only },
		{ .name = "auto-reply",
		  .text = oof,
		  .want = "bob@example.com" },
		{ .name = "auto-reply, bare", .text = oof },
		{ .name = "read receipt",
		  .text = mdn,
		  .want = "bob@example.com" },
		{ .name = "empty", .text = "" },
	};
	char *dir = g_dir_make_tmp("test-dsn-XXXXXX", NULL);

	g_assert_nonnull(dir);
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++)
		run_case(dir, &cases[i]);
	unit_rmtree(dir);
	g_free(dir);
}

static void
test_proof_token(void)
{
	static const struct {
		gint64 period;
		const char *list, *message_id, *want;
	} cases[] = {
		{ 2950, "members", "post@example.org",
		  "3dc44beabb00766d09e421b71dc1ff8a" },
		{ 2950, "members", NULL, "d4f183908a9a68334789a47cbfce11b3" },
		{ 2951, "members", "post@example.org",
		  "09c124b2fb49e91c2b48e148cabedbf8" },
		{ 2950, "board", "post@example.org",
		  "40635453f36656fab8c030eb6b57d5f5" },
	};
	guint8 k[32];
	GBytes *key;

	for (gsize i = 0; i < sizeof(k); i++)
		k[i] = (guint8)i;
	key = g_bytes_new(k, sizeof(k));
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = bounce_proof_token(key, cases[i].period, "ssc",
					       cases[i].list,
					       cases[i].message_id);

		check_str(got, cases[i].want,
			  "bounce_proof_token(%" G_GINT64_FORMAT
			  ", ssc/%s, %s)",
			  cases[i].period, cases[i].list,
			  cases[i].message_id ? cases[i].message_id : "NULL");
		g_free(got);
	}
	g_bytes_unref(key);
}

int
main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_mime_init();
	g_test_add_func("/dsn/find-status", test_find_status);
	g_test_add_func("/dsn/parse", test_parse);
	g_test_add_func("/dsn/proof-token", test_proof_token);
	return g_test_run();
}
