"""test_bounces.py - bounce processing: delivery status notifications to
LIST-bounces+user=host@DOMAIN (VERP) and LIST-bounces@DOMAIN score
permanent mailbox failures once a day, disable an address at the threshold,
tell a list problem from member problems, and forward anything that is not
a DSN to the owners, never to the list.

Every test runs with verp = probe (the default), always and never.

Only a DSN that proves it answers a post of the list counts: its returned
headers carry the post's X-Soarlist-Proof, HMAC-SHA256 of the period, the
list and the Message-ID under the key in the database, computed here from
that description (bounce-proof.h). Anything else is unverified: logged,
shown by `soarlist bounces`, scoring nobody.

The DSNs are built here from the RFC 3464 structure in the forms real
servers send: Postfix, Gmail, Microsoft 365 (multipart/report), Exim,
qmail and old Microsoft Exchange (status code in the text only).
"""
import email
import email.policy
import hashlib
import hmac
import os
import re
import shutil
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import sanitizers  # noqa: E402
import tap  # noqa: E402

LIST = "members@ssc.manage2soar.com"
BARE = "members-bounces@ssc.manage2soar.com"
ADMIN = "postmaster@manage2soar.com"
MEMBERS = ["alice@example.org", "bob@example.com", "carol@example.net"]


def verp(address, lst="members", domain="ssc.manage2soar.com"):
    return "%s-bounces+%s@%s" % (lst, address.replace("@", "="), domain)


PERIOD = 7 * 86400
# the database's bounce key, read by Bounces.setUp; None: DSNs carry no proof
KEY = None


def proof(msgid, lst="ssc/members", period=None, key=None):
    """The X-Soarlist-Proof token of MSGID (with or without <>) on LST."""
    if period is None:
        period = int(time.time()) // PERIOD
    data = "soarlist-bounce-proof 1\n%d\n%s\n%s" % (period, lst, msgid.strip("<>"))
    return hmac.new(key or KEY, data.encode(), hashlib.sha256).hexdigest()[:32]


def returned_post(msgid, to=LIST, token=True):
    """The list's copy of a post, as a receiving server returns it; with
    TOKEN True its proof (when KEY is known), a string: that token."""
    if token is True:
        token = proof(msgid) if KEY else None
    return ("Return-Path: <members-bounces@ssc.manage2soar.com>\n"
            "From: \"Alice Example via Members\" <members-bounces@ssc.manage2soar.com>\n"
            "Reply-To: Alice Example <alice@example.org>\n"
            "To: %s\nSubject: Hello\nMessage-ID: %s\n"
            "Date: Tue, 24 Nov 2026 10:00:00 +0000\n"
            "List-Id: <members.ssc.manage2soar.com>\nPrecedence: list\n%s\n"
            "Hello list\n" % (to, msgid, "X-Soarlist-Proof: %s\n" % token if token else ""))


def report(head, parts, boundary="=_report_="):
    """A multipart/report; report-type=delivery-status: HEAD (header lines),
    PARTS [(part header lines, content)]."""
    out = [head.rstrip("\n"), "MIME-Version: 1.0",
           'Content-Type: multipart/report; report-type=delivery-status;\n'
           '\tboundary="%s"' % boundary, "", "This is a MIME-encapsulated message.", ""]
    for hdr, content in parts:
        out += ["--" + boundary, hdr.rstrip("\n"), "", content.rstrip("\n"), ""]
    out.append("--%s--" % boundary)
    return "\n".join(out) + "\n"


def status_fields(rcpt_blocks, reporting="dns; mx.example.com"):
    """message/delivery-status content: the per-message block, then one
    block per recipient, each a dict of fields."""
    blocks = ["Reporting-MTA: %s\nArrival-Date: Tue, 24 Nov 2026 10:00:01 +0000" % reporting]
    for b in rcpt_blocks:
        blocks.append("\n".join("%s: %s" % kv for kv in b.items()))
    return "\n\n".join(blocks) + "\n"


def postfix_dsn(rcpt, status="5.1.1", action="failed", msgid="<p1@example.org>",
                diag=None, to=None, headers_only=False, final=None, returned=None):
    """Postfix's bounce(8) notification for RCPT (or several, a list);
    RETURNED: the returned message (default: returned_post(MSGID))."""
    rcpts = rcpt if isinstance(rcpt, list) else [(rcpt, status, action)]
    diag = diag or ("smtp; 550 %s <%s>: Recipient address rejected:\n"
                    "    User unknown in virtual mailbox table" % (status, rcpts[0][0]))
    head = ("From: MAILER-DAEMON@mx.example.com (Mail Delivery System)\n"
            "Subject: Undelivered Mail Returned to Sender\n"
            "To: %s\nAuto-Submitted: auto-replied\n"
            "Message-Id: <20261124100001.3A1B2C3D4E@mx.example.com>\n"
            "Date: Tue, 24 Nov 2026 10:00:01 +0000 (UTC)" % (to or verp(rcpts[0][0])))
    blocks = [{"Final-Recipient": "rfc822; %s" % (final or a),
               "Original-Recipient": "rfc822;%s" % a, "Action": act,
               "Status": st, "Remote-MTA": "dns; mx.example.com",
               "Diagnostic-Code": diag} for a, st, act in rcpts]
    text = ("This is the mail system at host mx.example.com.\n\n"
            "I'm sorry to have to inform you that your message could not\n"
            "be delivered to one or more recipients. It's attached below.\n\n"
            "                   The mail system\n\n"
            "<%s>: host mx.example.com[192.0.2.1] said: 550 %s (in reply to RCPT TO\n"
            "    command)\n" % (rcpts[0][0], status))
    returned = returned or returned_post(msgid)
    last = (("Content-Description: Undelivered Message Headers\n"
             "Content-Type: text/rfc822-headers", returned.split("\n\n")[0])
            if headers_only else
            ("Content-Description: Undelivered Message\nContent-Type: message/rfc822\n"
             "Content-Transfer-Encoding: 8bit", returned))
    return report(head, [
        ("Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii", text),
        ("Content-Description: Delivery report\nContent-Type: message/delivery-status",
         status_fields(blocks)),
        last], boundary="3A1B2C3D4E.1795514401/mx.example.com")


def retoken(dsn, msgid, token=None):
    """DSN with the proof of MSGID replaced by TOKEN (None: removed)."""
    old = "X-Soarlist-Proof: %s\n" % proof(msgid)
    assert old in dsn
    return dsn.replace(old, "X-Soarlist-Proof: %s\n" % token if token else "")


def gmail_dsn(rcpt, status="5.1.1", msgid="<p1@example.org>"):
    why = {"5.1.1": ("550-5.1.1 The email account that you tried to reach does not exist.\n"
                     " Please try double-checking the recipient's email address for typos\n"
                     " or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser"),
           "5.2.2": ("552-5.2.2 The recipient's inbox is out of storage space. Please direct\n"
                     " the recipient to https://support.google.com/mail/?p=OverQuotaTemp"),
           "5.7.1": ("550-5.7.1 [198.51.100.1] Gmail has detected that this message is likely\n"
                     " unsolicited mail. https://support.google.com/mail/?p=UnsolicitedMessageError")}
    head = ("From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
            "To: %s\nAuto-Submitted: auto-replied\n"
            "Subject: Delivery Status Notification (Failure)\n"
            "Message-ID: <6741c0a1.abc@mx.google.com>\n"
            "Date: Tue, 24 Nov 2026 02:00:02 -0800 (PST)" % verp(rcpt))
    alternative = ('Content-Type: multipart/alternative; boundary="000000000000alt"',
                   "--000000000000alt\nContent-Type: text/plain; charset=\"UTF-8\"\n\n"
                   "** Message not delivered **\n\nYour message couldn't be delivered to %s.\n\n"
                   "The response was:\n\n%s\n\n"
                   "--000000000000alt\nContent-Type: text/html; charset=\"UTF-8\"\n\n"
                   "<html><body><p>Your message couldn't be delivered.</p></body></html>\n"
                   "--000000000000alt--" % (rcpt, why[status]))
    fields = status_fields([{"Final-Recipient": "rfc822; %s" % rcpt, "Action": "failed",
                             "Status": status,
                             "Remote-MTA": "dns; gmail-smtp-in.l.google.com. (2a00:1450::1b)",
                             "Diagnostic-Code": "smtp; " + why[status],
                             "Last-Attempt-Date": "Tue, 24 Nov 2026 02:00:02 -0800 (PST)"}],
                           reporting="dns; googlemail.com")
    return report(head, [alternative,
                         ("Content-Type: message/delivery-status", fields),
                         ("Content-Type: message/rfc822", returned_post(msgid))],
                  boundary="000000000000report")


def m365_dsn(rcpt, status="5.1.10", msgid="<p1@example.org>"):
    why = {"5.1.10": "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient %s not found "
                     "by SMTP address lookup" % rcpt,
           "5.7.509": "550 5.7.509 Access denied, sending domain ssc.manage2soar.com does "
                      "not pass DMARC verification and has a DMARC policy of reject."}
    head = ("From: Microsoft Outlook\n <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e"
            "@contoso.onmicrosoft.com>\nTo: %s\nSubject: Undeliverable: Hello\n"
            "Auto-Submitted: auto-replied\nX-MS-Exchange-Message-Is-Ndr:\n"
            "Message-ID: <b0a9f5d2-ndr@BN8PR12MB1234.namprd12.prod.outlook.com>" % verp(rcpt))
    text = ("Content-Type: multipart/alternative; boundary=\"_002_alt_\"",
            "--_002_alt_\nContent-Type: text/plain; charset=\"us-ascii\"\n"
            "Content-Transfer-Encoding: quoted-printable\n\n"
            "Your message to %s couldn't be delivered.\n\n"
            "Diagnostic information for administrators:\n\n"
            "Generating server: BN8PR12MB1234.namprd12.prod.outlook.com\n"
            "Remote Server returned '%s'\n"
            "--_002_alt_\nContent-Type: text/html; charset=\"us-ascii\"\n\n"
            "<html><body>Delivery has failed.</body></html>\n--_002_alt_--" % (rcpt, why[status]))
    fields = status_fields([{"Final-Recipient": "rfc822;%s" % rcpt, "Action": "failed",
                             "Status": status, "Diagnostic-Code": "smtp;" + why[status]}],
                           reporting="dns;BN8PR12MB1234.namprd12.prod.outlook.com")
    return report(head, [text, ("Content-Type: message/delivery-status", fields),
                         ("Content-Type: message/rfc822", returned_post(msgid))],
                  boundary="_000_BN8PR12MB1234_")


def exim_dsn(rcpt, msgid="<p1@example.org>", to=None, code="550 5.1.1"):
    return ("From: Mail Delivery System <Mailer-Daemon@mail.example.net>\n"
            "To: %s\nSubject: Mail delivery failed: returning message to sender\n"
            "Auto-Submitted: auto-replied\nMessage-Id: <E1tF2ab-000Abc-1x@mail.example.net>\n"
            "Date: Tue, 24 Nov 2026 10:00:03 +0000\n\n"
            "This message was created automatically by mail delivery software.\n\n"
            "A message that you sent could not be delivered to one or more of its\n"
            "recipients. This is a permanent error. The following address(es) failed:\n\n"
            "  %s\n    host mx.example.net [192.0.2.7]\n"
            "    SMTP error from remote mail server after RCPT TO:<%s>:\n"
            "    %s <%s>: Recipient address rejected: User unknown\n\n"
            "------ This is a copy of the message, including all the headers. ------\n\n"
            "Received: from mx.ssc.manage2soar.com ([198.51.100.1])\n"
            "\tby mail.example.net with esmtps (TLS1.3) (Exim 4.96)\n%s"
            % (to or verp(rcpt), rcpt, rcpt, code, rcpt, returned_post(msgid)))


def qmail_dsn(rcpt, msgid="<p1@example.org>"):
    return ("From: MAILER-DAEMON@qmail.example.org\nTo: %s\nSubject: failure notice\n"
            "Date: 24 Nov 2026 10:00:04 -0000\n\n"
            "Hi. This is the qmail-send program at qmail.example.org.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
            "<%s>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
            "--- Below this line is a copy of the message.\n\n%s" % (BARE, rcpt, returned_post(msgid)))


def exchange2003_ndr(rcpt, msgid="<p1@example.org>"):
    b = "----_=_NextPart_001_01C4D1A2.5B3C7E00"
    return ("From: System Administrator <postmaster@corp.example.org>\nTo: %s\n"
            "Subject: Undeliverable: Hello\nMIME-Version: 1.0\n"
            "Content-Type: multipart/mixed;\n\tboundary=\"%s\"\n\n"
            "--%s\nContent-Type: text/plain;\n\tcharset=\"iso-8859-1\"\n\n"
            "Your message did not reach some or all of the intended recipients.\n\n"
            "      Subject:\tHello\n      Sent:\t11/24/2026 10:00 AM\n\n"
            "The following recipient(s) cannot be reached:\n\n"
            "      %s on 11/24/2026 10:00 AM\n"
            "            The e-mail account does not exist at the organization this "
            "message was sent to.\n            <corp.example.org #5.1.1>\n\n"
            "--%s\nContent-Type: message/rfc822\n\n%s\n--%s--\n"
            % (verp(rcpt), b, b, rcpt, b, returned_post(msgid), b))


class Bounces(harness.EnvTestCase):
    """Run three times: with the default verp (probe), and with verp =
    always and never in [soarlist] (BouncesAlways, BouncesNever below).
    What these tests check is the same in every mode: the VERP address or
    a member named by the DSN is scored; only an unconfirmed bounce at the
    threshold differs, and test_verp.py checks that."""

    verp = None

    def setUp(self):
        global KEY
        super().setUp()
        if self.verp is not None:
            write_config = self.env.write_config

            def with_verp(*args, extra="", **kw):
                return write_config(*args, extra="verp = %s\n%s" % (self.verp, extra), **kw)
            self.env.write_config = with_verp
            self.env.write_config(lists=self.lists, dev_redirect=self.dev_redirect)
        self.club = self.env.query("SELECT id FROM club WHERE slug = 'ssc'")[0][0]
        KEY = self.env.query("SELECT secret FROM bounce_key")[0][0]
        self.addCleanup(globals().__setitem__, "KEY", None)

    # ------------------------------------------------------------ helpers

    def bounce(self, dsn, to=None, rcpt="bob@example.com"):
        r = self.env.deliver(dsn, to or verp(rcpt), sender="")
        self.assertEqual(r.rc, 0, r.stderr)
        return r

    def decision(self):
        return self.env.deliver_log_lines()[-1]

    def assert_decision(self, decision, *details):
        line = self.decision()
        self.assertIn("decision=%s " % decision, line)
        for d in details:
            self.assertIn(d, line)

    def scores(self, address=None):
        sql = "SELECT address, day, status, message_id FROM bounce_score"
        if address:
            return self.env.query(sql + " WHERE address = ?", address)
        return self.env.query(sql + " ORDER BY address")

    def disabled(self):
        return [r[0] for r in self.env.query("SELECT address FROM disabled_address")]

    def add_scores(self, address, days_ago, club=None, status="5.1.1"):
        """Rows from earlier days, as earlier bounces left them."""
        now = int(time.time())
        con = sqlite3.connect(self.env.db)
        with con:
            for d in days_ago:
                con.execute("INSERT INTO bounce_score (club_id, address, day, status, "
                            "message_id, diagnostic, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                            (club or self.club, address, now // 86400 - d, status,
                             "old%d@example.org" % d, "smtp; 550 %s earlier" % status,
                             now - d * 86400))
        con.close()

    def post_recipients(self):
        """The recipients of a post to LIST, lowercased: M2S spells Bob
        Bob@Example.com on members@, his bounces come from bob@example.com,
        and they are one address."""
        r = self.env.deliver(harness.uniq_post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        return [a.lower() for a in r.capture.recipients]

    def assert_forwarded_to_owners(self, r):
        self.assertEqual(len(r.captures), 1, r.captures)
        self.assertEqual(r.capture.recipients, [ADMIN])
        self.assertEqual(r.capture.argv[:3], ["-i", "-f", "<>"])
        for m in MEMBERS:
            self.assertNotIn(m, r.capture.recipients)
        self.assert_decision("bounce-forward", "recipients=1")
        self.assertEqual(self.scores(), [])

    # -------------------------------------------------------- scoring

    def test_postfix_dsn_scores_once_per_day(self):
        r = self.bounce(postfix_dsn("bob@example.com"))
        self.assertEqual(r.captures, [])  # scored: nothing forwarded
        self.assert_decision("bounce-scored", "bob@example.com 5.1.1 scored 1 of 5")
        rows = self.scores()
        self.assertEqual(rows, [("bob@example.com", int(time.time()) // 86400, "5.1.1",
                                 "p1@example.org")])
        # a second DSN the same day, even for another post: still one row
        r = self.bounce(postfix_dsn("bob@example.com", msgid="<p2@example.org>"))
        self.assertEqual(r.captures, [])
        self.assert_decision("bounce-ignored", "already scored today")
        self.assertEqual(len(self.scores()), 1)

    def test_postfix_headers_only_form(self):
        self.bounce(postfix_dsn("bob@example.com", headers_only=True, msgid="<h1@example.org>"))
        self.assert_decision("bounce-scored")
        self.assertEqual(self.scores()[0][3], "h1@example.org")

    def test_diagnostic_stored_on_one_line(self):
        self.bounce(postfix_dsn("bob@example.com"))
        diag = self.env.query("SELECT diagnostic FROM bounce_score")[0][0]
        self.assertEqual(diag, "smtp; 550 5.1.1 <bob@example.com>: Recipient address "
                               "rejected: User unknown in virtual mailbox table")

    def test_earlier_day_counts(self):
        self.add_scores("bob@example.com", [3])
        self.bounce(postfix_dsn("bob@example.com"))
        self.assert_decision("bounce-scored", "scored 2 of 5")
        self.assertEqual(len(self.scores("bob@example.com")), 2)

    def test_scores_outside_the_window_do_not_count(self):
        self.add_scores("bob@example.com", [31, 32, 33, 34])
        self.bounce(postfix_dsn("bob@example.com"))
        self.assert_decision("bounce-scored", "scored 1 of 5")
        self.assertEqual(self.disabled(), [])
        # and they are gone: they can never count again
        self.assertEqual(len(self.scores("bob@example.com")), 1)

    def test_gmail_no_such_user_and_mailbox_full_score(self):
        self.bounce(gmail_dsn("bob@example.com", "5.1.1"))
        self.assert_decision("bounce-scored", "bob@example.com 5.1.1")
        self.bounce(gmail_dsn("carol@example.net", "5.2.2"), rcpt="carol@example.net")
        self.assert_decision("bounce-scored", "carol@example.net 5.2.2")
        self.assertEqual([(a, s) for a, _, s, _ in self.scores()],
                         [("bob@example.com", "5.1.1"), ("carol@example.net", "5.2.2")])

    def test_m365_recipient_not_found_scores(self):
        self.bounce(m365_dsn("bob@example.com", "5.1.10"))
        self.assert_decision("bounce-scored", "bob@example.com 5.1.10")
        self.assertEqual(self.scores()[0][2:], ("5.1.10", "p1@example.org"))

    def test_exim_text_bounce_scores(self):
        self.bounce(exim_dsn("carol@example.net"), rcpt="carol@example.net")
        self.assert_decision("bounce-scored", "carol@example.net 5.1.1")
        self.assertEqual(self.scores()[0][2:], ("5.1.1", "p1@example.org"))

    def test_exchange2003_text_bounce_scores(self):
        self.bounce(exchange2003_ndr("alice@example.org"), rcpt="alice@example.org")
        self.assert_decision("bounce-scored", "alice@example.org 5.1.1")

    def test_verp_address_is_the_member_whatever_the_dsn_says(self):
        # the member forwards to another mailbox, which does not exist
        self.bounce(postfix_dsn("bob@example.com", final="bob@elsewhere.example"))
        self.assertEqual(self.scores()[0][0], "bob@example.com")

    def test_verp_local_part_with_equals_splits_at_the_last(self):
        dsn = postfix_dsn("a=b@example.com", to=verp("a=b@example.com"))
        self.bounce(dsn, to=verp("a=b@example.com"))
        self.assertEqual(self.scores()[0][0], "a=b@example.com")

    # ----------------------------------------------- not scored

    def test_delays_temporary_and_policy_failures_do_not_score(self):
        cases = {
            "delayed 4.4.7": postfix_dsn("bob@example.com", "4.4.7", "delayed"),
            "failed 4.2.2": postfix_dsn("bob@example.com", "4.2.2", "failed"),
            "gmail spam 5.7.1": gmail_dsn("bob@example.com", "5.7.1"),
            "m365 dmarc 5.7.509": m365_dsn("bob@example.com", "5.7.509"),
            "size 5.2.3": postfix_dsn("bob@example.com", "5.2.3"),
            "content 5.6.0": postfix_dsn("bob@example.com", "5.6.0"),
            "exim 4.x.x": exim_dsn("bob@example.com", code="451 4.3.0"),
        }
        for name, dsn in cases.items():
            with self.subTest(name):
                r = self.bounce(dsn)
                self.assertEqual(r.captures, [], name)
                self.assert_decision("bounce-ignored", "bob@example.com")
                self.assertEqual(self.scores(), [], name)
        self.assertEqual(self.disabled(), [])

    def test_exim_delay_warning_without_code_is_a_delay(self):
        dsn = ("From: Mail Delivery System <Mailer-Daemon@mail.example.net>\n"
               "To: %s\nSubject: Warning: message 1tF2ab-000Abc-1x delayed 24 hours\n"
               "Auto-Submitted: auto-replied\n\n"
               "This message was created automatically by mail delivery software.\n"
               "A message that you sent has not yet been delivered to one or more of its\n"
               "recipients after more than 24 hours on the queue on mail.example.net.\n\n"
               "  bob@example.com\n    host mx.example.com [192.0.2.1]: Connection timed out\n\n"
               "No action is required on your part.\n" % verp("bob@example.com"))
        r = self.bounce(dsn)
        self.assertEqual(r.captures, [])
        self.assert_decision("bounce-ignored", "4.0.0 delayed")

    # ------------------------------------------------ disabling

    def test_threshold_disables_and_notifies_owners_once(self):
        self.add_scores("bob@example.com", [1, 2, 3, 4])
        self.assertIn("bob@example.com", self.post_recipients())
        r = self.bounce(postfix_dsn("bob@example.com"))
        self.assert_decision("bounce-disabled", "bob@example.com 5.1.1 disabled after 5")
        self.assertEqual(self.disabled(), ["bob@example.com"])
        reason = self.env.query("SELECT reason FROM disabled_address")[0][0]
        self.assertTrue(reason.startswith("5.1.1 smtp; 550 5.1.1 <bob@example.com>"), reason)
        # one notice, to the owners (the admin here), from nobody's bounce address
        c = r.capture
        self.assertEqual(c.recipients, [ADMIN])
        self.assertEqual(c.argv[:3], ["-i", "-f", "<>"])
        m = c.parsed
        self.assertIn("bob@example.com", m["Subject"])
        self.assertEqual(m["Auto-Submitted"], "auto-generated")
        body = m.get_content()
        self.assertIn("no longer receives mail from the lists of Skyline Soaring Club", body)
        self.assertIn("  Address:     bob@example.com\n", body)
        self.assertIn("  Bounces:     5 within 30 days", body)
        self.assertIn("  Last status: 5.1.1\n", body)
        self.assertIn("  Post:        <p1@example.org> to %s\n" % LIST, body)
        self.assertIn("User unknown", body)
        self.assertIn("soarlist bounces reset bob@example.com", body)
        # the next post to the list does not go to the address
        self.assertEqual(self.post_recipients(), ["alice@example.org", "carol@example.net"])
        # it stays a member in M2S's data
        members = self.env.soarlist("members", LIST)
        self.assertIn("Bob@example.com", members.stdout.splitlines())
        # a later bounce the next day scores, but no second notice
        con = sqlite3.connect(self.env.db)
        with con:
            con.execute("UPDATE bounce_score SET day = day - 10, at = at - 10 * 86400 "
                        "WHERE message_id = 'p1@example.org'")
        con.close()
        r = self.bounce(postfix_dsn("bob@example.com", msgid="<p9@example.org>"))
        self.assertEqual(r.captures, [])
        self.assert_decision("bounce-scored", "already disabled")

    def test_disabled_for_every_list_of_the_club(self):
        self.add_scores("bob@example.com", [1, 2, 3, 4])
        self.bounce(postfix_dsn("bob@example.com"))
        r = self.env.deliver(harness.uniq_post(to="board@ssc.manage2soar.com"),
                             "board@ssc.manage2soar.com")
        self.assertEqual(r.capture.recipients, ["dora@example.org"])

    def test_owners_get_the_notice(self):
        self.env.write_config(club_extra={"ssc": "owners = chair@example.org"})
        self.add_scores("bob@example.com", [1, 2, 3, 4])
        r = self.bounce(postfix_dsn("bob@example.com"))
        self.assertEqual(r.capture.recipients, ["chair@example.org"])

    def test_threshold_from_config(self):
        self.env.write_config(extra="bounce_threshold = 2")
        self.add_scores("carol@example.net", [7])
        self.bounce(gmail_dsn("carol@example.net", "5.2.2"), rcpt="carol@example.net")
        self.assert_decision("bounce-disabled", "disabled after 2")

    def test_notice_failure_defers_and_records_nothing(self):
        self.add_scores("bob@example.com", [1, 2, 3, 4])
        self.env.set_sendmail_exit(75)
        r = self.env.deliver(postfix_dsn("bob@example.com"), verp("bob@example.com"),
                             sender="")
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertTrue(r.stderr.startswith("4."), r.stderr)
        self.assertEqual(self.disabled(), [])
        self.assertEqual(len(self.scores()), 4)
        # Postfix retries: now it works, once
        os.unlink(os.path.join(self.env.root, "sendmail-exit"))
        r = self.bounce(postfix_dsn("bob@example.com"))
        self.assertEqual(len(r.captures), 1)
        self.assertEqual(self.disabled(), ["bob@example.com"])

    # ------------------------------------------------------ reset

    def test_reset_reenables(self):
        self.add_scores("bob@example.com", [1, 2, 3, 4])
        self.bounce(postfix_dsn("bob@example.com"))
        self.assertNotIn("bob@example.com", self.post_recipients())
        r = self.env.soarlist("bounces", "reset", "Bob@Example.COM")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("Bob@example.com re-enabled", r.stdout)  # as normalised
        self.assertIn("bounces reset address=<Bob@example.com>", self.env.log_lines()[-1])
        self.assertEqual(self.disabled(), [])
        self.assertEqual(self.scores(), [])
        self.assertIn("bob@example.com", self.post_recipients())
        # nothing left to reset
        r = self.env.soarlist("bounces", "reset", "bob@example.com")
        self.assertEqual(r.rc, 1)
        self.assertIn("bob@example.com", r.stderr)
        # the next bounce starts from zero
        self.bounce(postfix_dsn("bob@example.com"))
        self.assert_decision("bounce-scored", "scored 1 of 5")

    def test_reset_usage(self):
        for args in (["reset"], ["reset", "a@b.org", "c@d.org"], ["reset", "not an address"],
                     ["a@b.org", "c@d.org"]):
            with self.subTest(args):
                self.assertEqual(self.env.soarlist("bounces", *args).rc, 64)

    # ------------------------------------------------ list problem

    def setup_big_domain(self):
        api = dict(harness.SSC_API)
        api["lists"] = dict(api["lists"])
        self.big = ["m%d@bigmail.example" % i for i in range(1, 6)]
        api["lists"]["members"] = MEMBERS + self.big
        api["whitelist"] = api["whitelist"] + self.big
        self.env.write_api("ssc", api)
        r = self.env.soarlist("sync", "--force")
        self.assertEqual(r.rc, 0, r.stderr)

    def test_list_problem_scores_nobody_and_notifies_once(self):
        self.setup_big_domain()
        m1, m2, m3, m4, m5 = self.big
        msgid = "<dmarc1@example.org>"
        for a in (m1, m2):
            r = self.bounce(postfix_dsn(a, msgid=msgid), rcpt=a)
            self.assert_decision("bounce-scored")
        self.assertEqual(len(self.scores()), 2)
        r = self.bounce(postfix_dsn(m3, msgid=msgid), rcpt=m3)
        self.assert_decision("bounce-ignored", "list problem", "bigmail.example")
        self.assertEqual(self.scores(), [])  # the two scores are taken back
        self.assertEqual(len(r.captures), 1)
        c = r.capture
        self.assertEqual(c.recipients, [ADMIN])
        m = c.parsed
        self.assertIn("bigmail.example", m["Subject"])
        self.assertIn("5.1.1", m["Subject"])
        body = m.get_content()
        for a in (m1, m2, m3):
            self.assertIn(a, body)
        self.assertIn("dmarc1@example.org", body)
        self.assertEqual(self.env.query("SELECT message_id, domain, status FROM "
                                        "bounce_list_problem"),
                         [("dmarc1@example.org", "bigmail.example", "5.1.1")])
        # a fourth: no score, no second notice
        r = self.bounce(postfix_dsn(m4, msgid=msgid), rcpt=m4)
        self.assertEqual(r.captures, [])
        self.assert_decision("bounce-ignored", "list problem")
        self.assertEqual(self.scores(), [])
        # another post, another status or another domain is not part of it
        self.bounce(postfix_dsn(m5, msgid="<other@example.org>"), rcpt=m5)
        self.assert_decision("bounce-scored")
        self.bounce(postfix_dsn("bob@example.com", msgid=msgid))
        self.assert_decision("bounce-scored")

    def assert_notice_clean(self, data):
        """DESIGN.md's header invariant on a notice to the owners: every
        header line a field or its continuation, nothing a DSN says made a
        header of its own."""
        head, _ = harness.split_message(data)
        for line in head.split(b"\n"):
            self.assertNotIn(b"\r", line)
            self.assertNotIn(b"\0", line)
            self.assertTrue(re.match(rb"^[!-9;-~]+:", line) or
                            (line[:1] in (b" ", b"\t") and line.strip()),
                            "neither header nor continuation: %r" % line)
            self.assertLessEqual(len(line), 998)
        m = email.message_from_bytes(data, policy=email.policy.default)
        self.assertIsNone(m.get("X-Injected"))
        self.assertEqual(m.defects, [])
        self.assertNotIn("\n", str(m["Subject"]))
        return m

    def test_notices_with_hostile_dsn_values(self):
        # what a DSN says (its diagnostic, the returned post's Message-ID)
        # goes into the owners' notices: never as a header, never raw
        msgid = "<p1@example.org\n X-Injected: yes\n >"
        diag = ("smtp; 550 5.1.1 no such user =?utf-8?q?a=0D=0AX-Injected=3A_yes?=\n"
                "    X-Injected: yes \x1b[31m\u009b31m")
        # the list's copy of a post with that Message-ID, and its proof
        r = self.env.deliver(harness.post(msgid=msgid), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        token = r.capture.parsed["X-Soarlist-Proof"]
        self.assertTrue(token)
        self.add_scores("bob@example.com", [1, 2, 3, 4])
        r = self.bounce(postfix_dsn("bob@example.com", msgid=msgid, diag=diag,
                                    returned=returned_post(msgid, token=token)))
        self.assert_decision("bounce-disabled")
        m = self.assert_notice_clean(r.capture.data)
        body = m.get_content()
        self.assertNotIn("\x1b", body)
        self.assertNotIn("\u009b", body)
        self.assertNotIn("\nX-Injected", body)
        self.setup_big_domain()
        for a in self.big[:3]:
            r = self.bounce(postfix_dsn(a, msgid=msgid, diag=diag,
                                        returned=returned_post(msgid, token=token)),
                            rcpt=a)
        self.assert_decision("bounce-ignored", "list problem")
        m = self.assert_notice_clean(r.capture.data)
        self.assertNotIn("\x1b", m.get_content())

    def test_list_problem_with_a_policy_status_notifies_too(self):
        self.setup_big_domain()
        for i, a in enumerate(self.big[:3]):
            r = self.bounce(m365_dsn(a, "5.7.509", msgid="<d2@example.org>"), rcpt=a)
            self.assertEqual(len(r.captures), 1 if i == 2 else 0)
        self.assertEqual(self.scores(), [])

    def test_list_problem_reenables_what_the_post_disabled(self):
        self.setup_big_domain()
        m1, m2, m3 = self.big[:3]
        self.add_scores(m1, [1, 2, 3, 4])
        msgid = "<p3@example.org>"
        self.bounce(postfix_dsn(m1, msgid=msgid), rcpt=m1)
        self.assert_decision("bounce-disabled")
        self.bounce(postfix_dsn(m2, msgid=msgid), rcpt=m2)
        r = self.bounce(postfix_dsn(m3, msgid=msgid), rcpt=m3)
        self.assert_decision("bounce-ignored", "list problem")
        self.assertEqual(self.disabled(), [])
        self.assertIn("re-enabled", r.capture.parsed.get_content())
        self.assertEqual(len(self.scores(m1)), 4)

    # ------------------------------------------ bare LIST-bounces

    def test_bare_bounces_dsn_is_parsed_for_the_failed_recipient(self):
        dsn = postfix_dsn([("carol@example.net", "4.4.1", "delayed"),
                           ("bob@example.com", "5.1.1", "failed")], to=BARE)
        r = self.bounce(dsn, to=BARE)
        self.assertEqual(r.captures, [])
        self.assert_decision("bounce-scored", "bob@example.com 5.1.1")
        self.assertEqual([s[0] for s in self.scores()], ["bob@example.com"])

    def test_bare_bounces_text_forms(self):
        for name, dsn, who in (("exim", exim_dsn("carol@example.net", to=BARE), "carol@example.net"),
                               ("qmail", qmail_dsn("alice@example.org"), "alice@example.org")):
            with self.subTest(name):
                r = self.bounce(dsn, to=BARE)
                self.assertEqual(r.captures, [])
                self.assert_decision("bounce-scored", "%s 5.1.1" % who)
        self.assertEqual([s[0] for s in self.scores()], ["alice@example.org", "carol@example.net"])

    def test_bare_text_bounce_without_a_member_is_forwarded(self):
        r = self.bounce(exim_dsn("stranger@nowhere.example", to=BARE), to=BARE)
        self.assert_forwarded_to_owners(r)

    # ------------------------------------------------ not a DSN

    def test_auto_reply_is_forwarded_to_owners(self):
        oof = ("From: Bob <bob@example.com>\nTo: %s\nSubject: Automatic reply: Hello\n"
               "Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n"
               "Message-ID: <oof1@example.com>\n\n"
               "I am out of the office until Monday 5.1.1.\n" % verp("bob@example.com"))
        self.assert_forwarded_to_owners(self.bounce(oof))

    def test_human_reply_to_the_from_address_is_forwarded_to_owners(self):
        reply = ("From: Carol <carol@example.net>\n"
                 "To: \"Alice Example via Members\" <%s>\nSubject: Re: Hello\n"
                 "In-Reply-To: <p1@example.org>\nMessage-ID: <r1@example.net>\n\n"
                 "Thanks! Bob's old address bob@example.com gave me 550 5.1.1 though.\n" % BARE)
        r = self.env.deliver(reply, BARE, sender="carol@example.net")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.recipients, [ADMIN])
        self.assert_decision("bounce-forward")
        self.assertEqual(self.scores(), [])

    def test_read_receipt_is_not_a_dsn(self):
        mdn = ("From: Bob <bob@example.com>\nTo: %s\nSubject: Read: Hello\nMIME-Version: 1.0\n"
               "Content-Type: multipart/report; report-type=disposition-notification;\n"
               "\tboundary=\"mdn\"\n\n--mdn\nContent-Type: text/plain\n\nYour message was read.\n"
               "--mdn\nContent-Type: message/disposition-notification\n\n"
               "Final-Recipient: rfc822; bob@example.com\n"
               "Disposition: manual-action/MDN-sent-manually; displayed\n--mdn--\n"
               % verp("bob@example.com"))
        self.assert_forwarded_to_owners(self.bounce(mdn))

    def test_forwarded_once_no_bounce_storm(self):
        # the owners' copy carries our loop marker: coming back, it is dropped
        oof = ("From: Bob <bob@example.com>\nTo: %s\nSubject: Automatic reply\n\nAway\n"
               % verp("bob@example.com"))
        first = self.bounce(oof).capture
        r = self.env.deliver(first.data, verp("bob@example.com"), sender="")
        self.assertEqual((r.rc, r.captures), (0, []))
        self.assert_decision("drop-loop")

    # ------------------------------------------------- resources

    def test_memory_does_not_grow_with_the_dsn(self):
        # only the first DSN_MAX_SCAN bytes of a body reach GMime: a huge
        # returned message, or a body of millions of tiny parts, costs no
        # more than a small DSN
        path = os.path.join(self.env.root, "big.eml")
        dsn = postfix_dsn("bob@example.com")
        cut = dsn.rindex("Hello list")
        with open(path, "w") as f:
            f.write(dsn[:cut] + ("x" * 999 + "\n") * 30000 + dsn[cut:])
        status, rss, err = self.env.deliver_rusage(path, verp("bob@example.com"), sender="")
        self.assertEqual(status, 0, err)
        self.assert_decision("bounce-scored")
        self.assertLess(rss, sanitizers.rss_limit(40 * 1024))
        with open(path, "w") as f:
            f.write("From: MAILER-DAEMON@mx.example.com\nSubject: Undelivered Mail\n"
                    "MIME-Version: 1.0\nContent-Type: multipart/report; "
                    "report-type=delivery-status; boundary=b\n\n")
            f.write("--b\nA: b\n\nx\n" * 2000000 + "--b--\n")
        status, rss, err = self.env.deliver_rusage(path, verp("bob@example.com"), sender="")
        self.assertEqual(status, 0, err)
        self.assert_decision("bounce-forward")
        self.assertLess(rss, sanitizers.rss_limit(64 * 1024))

    # -------------------------------------------------------- CLI

    # ------------------------------------------------ proof

    def test_distributed_copy_carries_the_proof_of_its_message_id(self):
        # a token the sender wrote is not what members get
        post = harness.uniq_post(msgid="<proof1@example.org>",
                                 extra="X-Soarlist-Proof: %s\n" % ("0" * 32))
        r = self.env.deliver(post, LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.header_values("X-Soarlist-Proof"),
                         [proof("<proof1@example.org>")])
        # per list: the same post on the board has another token
        r = self.env.deliver(harness.uniq_post(msgid="<proof1@example.org>"),
                             "board@ssc.manage2soar.com")
        self.assertEqual(r.capture.header_values("X-Soarlist-Proof"),
                         [proof("<proof1@example.org>", lst="ssc/board")])

    def test_key_is_made_once_per_database(self):
        key = self.env.query("SELECT secret FROM bounce_key")
        self.assertEqual(len(key), 1)
        self.assertEqual(len(key[0][0]), 32)
        self.assertEqual(self.env.soarlist("sync", "--force").rc, 0)
        self.assertEqual(self.env.query("SELECT secret FROM bounce_key"), key)
        other = harness.Env()
        self.addCleanup(other.cleanup)
        other.setup_default()
        self.assertNotEqual(other.query("SELECT secret FROM bounce_key"), key)

    def test_dsn_returning_the_copy_the_list_sent_scores(self):
        r = self.env.deliver(harness.uniq_post(), LIST)
        copy = r.capture.data.decode()
        msgid = r.capture.header_values("Message-ID")[0]
        for headers_only in (False, True):
            with self.subTest(headers_only=headers_only):
                bounce_r = self.env.deliver(
                    postfix_dsn("bob@example.com", msgid=msgid, returned=copy,
                                headers_only=headers_only), verp("bob@example.com"),
                    sender="")
                self.assertEqual(bounce_r.rc, 0, bounce_r.stderr)
                self.assert_decision("bounce-" + ("scored" if not headers_only else "ignored"),
                                     "bob@example.com 5.1.1")
        self.assertEqual([s[0] for s in self.scores()], ["bob@example.com"])

    def test_token_of_the_previous_period_is_accepted(self):
        now = int(time.time()) // PERIOD
        msgid = "<p1@example.org>"
        self.bounce(retoken(postfix_dsn("bob@example.com"), msgid,
                            proof(msgid, period=now - 1)))
        self.assert_decision("bounce-scored")
        self.bounce(retoken(postfix_dsn("carol@example.net"), msgid,
                            proof(msgid, period=now - 2)), rcpt="carol@example.net")
        self.assert_decision("bounce-unverified")
        self.assertEqual([s[0] for s in self.scores()], ["bob@example.com"])

    def forged(self, msgid):
        """DSNs for bob a stranger can write: no token, or a token that is
        not the one of this post, list, period and key."""
        now = int(time.time()) // PERIOD
        bob = "bob@example.com"
        return [
            ("postfix, no token", retoken(postfix_dsn(bob, msgid=msgid), msgid)),
            ("headers only, no token",
             retoken(postfix_dsn(bob, msgid=msgid, headers_only=True), msgid)),
            ("gmail, no token", retoken(gmail_dsn(bob, msgid=msgid), msgid)),
            ("exim text, no token", retoken(exim_dsn(bob, msgid=msgid), msgid)),
            ("token of another post", retoken(postfix_dsn(bob, msgid=msgid), msgid,
                                              proof("<other@example.org>"))),
            ("token of another list", retoken(postfix_dsn(bob, msgid=msgid), msgid,
                                              proof(msgid, lst="ssc/board"))),
            ("token of another club", retoken(postfix_dsn(bob, msgid=msgid), msgid,
                                              proof(msgid, lst="other/members"))),
            ("token two periods old", retoken(postfix_dsn(bob, msgid=msgid), msgid,
                                              proof(msgid, period=now - 2))),
            ("token of another key", retoken(postfix_dsn(bob, msgid=msgid), msgid,
                                             proof(msgid, key=os.urandom(32)))),
            ("token in the report, not the returned post",
             retoken(postfix_dsn(bob, msgid=msgid), msgid).replace(
                 "Subject: Undelivered", "X-Soarlist-Proof: %s\nSubject: Undelivered"
                 % proof(msgid), 1)),
        ]

    def test_forged_verp_dsn_from_a_stranger_leaves_the_score_at_zero(self):
        msgid = "<p1@example.org>"
        forged = self.forged(msgid)
        for name, dsn in forged:
            with self.subTest(name):
                r = self.env.deliver(dsn, verp("bob@example.com"),
                                     sender="mallory@evil.example")
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertEqual(r.captures, [])  # no notice, not forwarded
                self.assert_decision("bounce-unverified", "bob@example.com 5.1.1",
                                     "not scored")
        # more than bounce_threshold of them: nobody scored, nobody disabled
        self.assertEqual(self.scores(), [])
        self.assertEqual(self.disabled(), [])
        self.assertEqual(self.env.query("SELECT count(*) FROM bounce_seen"), [(0,)])
        self.assertEqual(self.env.query("SELECT address, count FROM bounce_unverified"),
                         [("bob@example.com", len(forged))])
        self.assertIn("bob@example.com", self.post_recipients())
        # soarlist bounces shows them as unverified
        r = self.env.soarlist("bounces")
        self.assertEqual(r.rc, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("Unverified bounces (not scored"), r.stdout)
        self.assertIn("bob@example.com", lines[1])
        self.assertIn("unverified %d" % len(forged), lines[1])
        self.assertIn("5.1.1", lines[1])
        self.assertEqual(len(lines), 2, r.stdout)
        # a genuine one still scores, and the listing keeps both
        self.bounce(postfix_dsn("bob@example.com"))
        self.assert_decision("bounce-scored")
        r = self.env.soarlist("bounces")
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("Bounce scores"), r.stdout)
        self.assertIn("scores 1", lines[1])
        self.assertIn("unverified %d (last 5.1.1)" % len(forged), lines[1])
        self.assertEqual(len(lines), 2, r.stdout)
        # reset forgets them too
        self.assertEqual(self.env.soarlist("bounces", "reset", "bob@example.com").rc, 0)
        self.assertEqual(self.env.query("SELECT count(*) FROM bounce_unverified"), [(0,)])

    def test_forged_dsn_at_the_bare_address_scores_nobody(self):
        dsn = retoken(postfix_dsn("bob@example.com", to=BARE), "<p1@example.org>")
        r = self.bounce(dsn, to=BARE)
        self.assertEqual(r.captures, [])
        self.assert_decision("bounce-unverified", "bob@example.com")
        self.assertEqual(self.scores(), [])

    def test_forged_dsn_for_a_non_member_is_logged_not_recorded(self):
        a = "stranger@nowhere.example"
        r = self.bounce(retoken(postfix_dsn(a), "<p1@example.org>"), rcpt=a)
        self.assertEqual(r.captures, [])
        self.assert_decision("bounce-unverified", a, "not a member")
        self.assertEqual(self.env.query("SELECT count(*) FROM bounce_unverified"), [(0,)])

    def test_forged_list_problem_notifies_nobody_and_takes_nothing_back(self):
        self.setup_big_domain()
        m1 = self.big[0]
        self.add_scores(m1, [1])
        msgid = "<p1@example.org>"
        for a in self.big[:4]:
            r = self.bounce(retoken(postfix_dsn(a, msgid=msgid), msgid), rcpt=a)
            self.assertEqual(r.captures, [])
            self.assert_decision("bounce-unverified")
        self.assertEqual(self.env.query("SELECT count(*) FROM bounce_list_problem"), [(0,)])
        self.assertEqual(len(self.scores(m1)), 1)

    # ------------------------------------------------ soarlist bounces

    def test_bounces_shows_scores_and_disabled_addresses(self):
        r = self.env.soarlist("bounces")
        self.assertEqual((r.rc, r.stdout), (0, "No bounces.\n"))
        self.add_scores("bob@example.com", [1, 2, 3, 4])
        self.bounce(postfix_dsn("bob@example.com"))
        self.bounce(gmail_dsn("carol@example.net", "5.2.2"), rcpt="carol@example.net")
        r = self.env.soarlist("bounces")
        self.assertEqual(r.rc, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertTrue(lines[0].startswith("Disabled"), r.stdout)
        self.assertIn("bob@example.com", lines[1])
        self.assertIn("scores 5", lines[1])
        self.assertIn("5.1.1 smtp; 550 5.1.1", lines[1])
        self.assertEqual(lines[2], "")
        self.assertTrue(lines[3].startswith("Bounce scores (within 30 days; 5 disable"), r.stdout)
        self.assertIn("carol@example.net", lines[4])
        self.assertIn("scores 1", lines[4])
        self.assertIn("5.2.2", lines[4])
        self.assertEqual(len(lines), 5, r.stdout)
        # for one list: its members only (carol is not on the board)
        r = self.env.soarlist("bounces", "board@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("bob@example.com", r.stdout)
        self.assertNotIn("carol@example.net", r.stdout)
        # another club has none
        r = self.env.soarlist("bounces", "members@other.manage2soar.com")
        self.assertEqual((r.rc, r.stdout), (0, "No bounces.\n"))
        r = self.env.soarlist("bounces", "nosuch@ssc.manage2soar.com")
        self.assertEqual(r.rc, 1)

    def test_help_lists_bounces(self):
        r = self.env.soarlist("--help", config=False)
        self.assertIn("bounces", r.stdout)


class ApprovedPost(harness.EnvTestCase):
    """A held post goes out when approved, with the proof of its own
    Message-ID: its bounces count like any post's."""
    lists = {"ssc/board": {"nonmember_action": "hold", "owners": "chair@example.org"}}

    def test_approved_post_carries_the_proof_and_its_bounce_scores(self):
        global KEY
        KEY = self.env.query("SELECT secret FROM bounce_key")[0][0]
        self.addCleanup(globals().__setitem__, "KEY", None)
        board = "board@ssc.manage2soar.com"
        msg = harness.post(from_="Xavier <x@stranger.example>", to=board,
                           msgid="<held-proof@x>")
        r = self.env.deliver(msg, board, sender="x@stranger.example")
        self.assertEqual(r.rc, 0, r.stderr)
        held_id = self.env.query("SELECT id FROM held_message")[0][0]
        for name in os.listdir(self.env.cap):
            shutil.rmtree(os.path.join(self.env.cap, name))
        r = self.env.soarlist("approve", str(held_id))
        self.assertEqual(r.rc, 0, r.stderr)
        copy = self.env.captured()[0]
        self.assertEqual(copy.header_values("X-Soarlist-Proof"),
                         [proof("<held-proof@x>", lst="ssc/board")])
        r = self.env.deliver(postfix_dsn("dora@example.org", msgid="<held-proof@x>",
                                         returned=copy.data.decode()),
                             verp("dora@example.org", lst="board"), sender="")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("decision=bounce-scored ", self.env.deliver_log_lines()[-1])


class BouncesAlways(Bounces):
    verp = "always"


class BouncesNever(Bounces):
    verp = "never"


if __name__ == "__main__":
    tap.main()
