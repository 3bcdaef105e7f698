"""test_headers.py - the header policy of DESIGN.md and its per-list overrides."""
import email.header
import email.utils
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"
BOUNCES = "members-bounces@ssc.manage2soar.com"


def decoded(value):
    return str(email.header.make_header(email.header.decode_header(value)))


class Headers(harness.EnvTestCase):
    def distribute(self, msg, lst=LIST, sender="alice@example.org"):
        r = self.env.deliver(msg, lst, sender=sender)
        self.assertEqual(r.rc, 0, r.stderr)
        return r.capture

    def test_from_rewritten_with_display_name(self):
        c = self.distribute(post(from_='"Alice Example" <alice@example.org>'))
        self.assertEqual(c.header_values("From"),
                         ['"Alice Example via Members" <%s>' % BOUNCES])
        self.assertEqual(c.header_values("Reply-To"), ['"Alice Example" <alice@example.org>'])

    def test_from_without_display_name(self):
        c = self.distribute(post(from_="alice@example.org"))
        self.assertEqual(c.header_values("From"), ['"alice at example.org via Members" <%s>' % BOUNCES])
        c = self.distribute(post(from_="<alice@example.org>", msgid="<m2@x>"))
        self.assertEqual(c.header_values("From"), ['"alice at example.org via Members" <%s>' % BOUNCES])

    def test_list_display_title_cased(self):
        c = self.distribute(post(to="private-owners@ssc.manage2soar.com"),
                            lst="private-owners@ssc.manage2soar.com")
        self.assertEqual(c.header_values("From"), ['"Alice Example via Private Owners" '
                                                   '<private-owners-bounces@ssc.manage2soar.com>'])

    def test_non_ascii_name_encoded(self):
        src = "=?utf-8?q?Alic=C3=A9_M=C3=BCller?= <alice@example.org>"
        c = self.distribute(post(from_=src))
        hdr = c.header_values("From")
        self.assertEqual(len(hdr), 1)
        self.assertTrue(hdr[0].isascii(), hdr[0])
        addr = c.parsed["From"].addresses[0]
        self.assertEqual(addr.addr_spec, BOUNCES)
        self.assertEqual(addr.display_name, "Alicé Müller via Members")
        self.assertEqual(c.parsed["From"].defects, ())

    def test_raw_utf8_name_encoded(self):
        c = self.distribute(post(from_="Jürgen Groß <alice@example.org>").encode())
        hdr = c.header_values("From")[0]
        self.assertTrue(hdr.isascii(), hdr)
        addr = c.parsed["From"].addresses[0]
        self.assertEqual((addr.display_name, addr.addr_spec), ("Jürgen Groß via Members", BOUNCES))

    def test_header_injection_impossible(self):
        known = {"from", "to", "cc", "subject", "message-id", "date", "reply-to", "list-id",
                 "list-post", "list-help", "list-owner", "list-unsubscribe", "precedence",
                 "x-loop", "x-auto-response-suppress", "mime-version",
                 "x-soarlist-proof"}
        # RFC 2047 phrase encoding: ':' '@' '.' written as =3A =40 =2E
        for src in ("=?utf-8?q?Eve=0D=0ABcc=3A_victim=40x=2Eorg?= <alice@example.org>",
                    "=?utf-8?b?RXZlDQpCY2M6IHZpY3RpbUB4Lm9yZw==?= <alice@example.org>",
                    "=?utf-8?q?Eve=0ABcc=3A_victim=40x=2Eorg=0A=0A?= <alice@example.org>",
                    "=?utf-8?q?Eve=0D=0A=0D=0AX-Evil=3A_1?= <alice@example.org>",
                    "Eve =?utf-8?q?=0D=0A?= Bcc =?utf-8?q?=3A?= v=?utf-8?q?=40?=x.org "
                    "<alice@example.org>"):
            with self.subTest(src):
                c = self.distribute(post(from_=src))
                head, body = harness.split_message(c.data)
                self.assertEqual(body, b"Hello list\n")
                for line in re.split(rb"\r?\n", head):
                    if line[:1] in (b" ", b"\t"):
                        continue
                    name = line.split(b":", 1)[0].decode().lower()
                    self.assertIn(name, known, "unexpected header line %r" % line)
                self.assertNotIn(b"\r", head.replace(b"\r\n", b""))
                self.assertEqual(c.message.get_all("Bcc"), None)
                self.assertEqual(len(c.header_values("From")), 1)
                self.assertEqual(email.utils.parseaddr(c.message["From"])[1], BOUNCES)

    def test_header_injection_literal_colon(self):
        # the example of the issue: a literal ':' inside a q-encoded word is
        # not valid RFC 2047 in a phrase; refusing it (no author) is fine,
        # distributing it must not add a header line
        src = "=?utf-8?q?Eve=0D=0ABcc:_victim@x.org?= <alice@example.org>"
        r = self.env.deliver(post(from_=src), LIST)
        self.assertIn(r.rc, (0, 77), r.stderr)
        for c in r.captures:
            self.assertEqual(c.message.get_all("Bcc"), None)
            self.assertNotRegex(harness.split_message(c.data)[0].decode(), r"(?m)^Bcc:")

    def test_reply_to_kept_when_present(self):
        c = self.distribute(post(extra="Reply-To: Club Office <office@example.org>\n"))
        self.assertEqual(c.header_values("Reply-To"), ["Club Office <office@example.org>"])

    def test_noreply_envelope_of_list_domain_exempt(self):
        src = "Manage2Soar <noreply@ssc.manage2soar.com>"
        c = self.distribute(post(from_=src), sender="noreply@ssc.manage2soar.com")
        self.assertEqual(c.header_values("From"), [src])
        self.assertEqual(c.argv[2], BOUNCES)
        self.assertEqual(c.message["List-Id"], "<members.ssc.manage2soar.com>")

    def test_noreply_envelope_of_second_domain_exempt(self):
        c = self.distribute(post(to="members@skylinesoaring.org"),
                            lst="members@skylinesoaring.org",
                            sender="noreply@skylinesoaring.org")
        self.assertEqual(c.header_values("From"), ["Alice Example <alice@example.org>"])

    def test_noreply_of_other_domain_not_exempt(self):
        for sender in ("noreply@elsewhere.example", "noreply@other.manage2soar.com",
                       "noreply@ssc.manage2soar.com.evil.example"):
            with self.subTest(sender):
                c = self.distribute(post(), sender=sender)
                self.assertEqual(c.header_values("From"),
                                 ['"Alice Example via Members" <%s>' % BOUNCES])

    def test_noreply_from_header_does_not_exempt(self):
        c = self.distribute(post(from_="Manage2Soar <noreply@ssc.manage2soar.com>"),
                            sender="alice@example.org")
        self.assertEqual(c.header_values("From"), ['"Manage2Soar via Members" <%s>' % BOUNCES])
        self.assertEqual(c.message["Reply-To"], "Manage2Soar <noreply@ssc.manage2soar.com>")

    def test_list_headers_added(self):
        c = self.distribute(post())
        m = c.message
        self.assertEqual(c.header_values("List-Id"), ["<members.ssc.manage2soar.com>"])
        self.assertEqual(c.header_values("List-Post"), ["<mailto:members@ssc.manage2soar.com>"])
        self.assertEqual(c.header_values("List-Owner"),
                         ["<mailto:members-owner@ssc.manage2soar.com>"])
        self.assertEqual(len(c.header_values("List-Help")), 1)
        self.assertRegex(m["List-Help"], r"^<mailto:members-owner@ssc\.manage2soar\.com[?>]")
        self.assertEqual(c.header_values("Precedence"), ["list"])
        self.assertEqual(c.header_values("X-Loop"), ["members@ssc.manage2soar.com"])
        self.assertEqual(c.header_values("X-Auto-Response-Suppress"), ["OOF, AutoReply"])
        self.assertEqual(m.get_all("List-Unsubscribe"), None)

    def test_existing_list_headers_replaced(self):
        extra = ("List-Id: <members.elsewhere.example>\nPrecedence: bulk\n"
                 "List-Post: <mailto:x@elsewhere.example>\n")
        c = self.distribute(post(extra=extra))
        self.assertEqual(c.header_values("List-Id"), ["<members.ssc.manage2soar.com>"])
        self.assertEqual(c.header_values("Precedence"), ["list"])
        self.assertEqual(c.header_values("List-Post"), ["<mailto:members@ssc.manage2soar.com>"])

    def test_removed_headers(self):
        extra = ("Return-Path: <alice@example.org>\n"
                 "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=sel;\n"
                 "\tbh=AAAAsecretbodyhash=; b=BBBBsignatureone\n"
                 "\tCCCCsignaturecontinued\n"
                 "Disposition-Notification-To: alice@example.org\n"
                 "dkim-signature: v=1; d=example.org; b=DDDDsignaturetwo\n"
                 "X-Keep: kept\n")
        c = self.distribute(post(extra=extra))
        for name in ("Return-Path", "DKIM-Signature", "Disposition-Notification-To"):
            self.assertEqual(c.header_values(name), [], name)
        for frag in (b"AAAAsecret", b"BBBBsig", b"CCCCsig", b"DDDDsig"):
            self.assertNotIn(frag, c.data)
        self.assertEqual(c.header_values("X-Keep"), ["kept"])

    def test_other_headers_kept_in_order(self):
        extra = "X-First: 1\nReceived: from a by b;\n\tTue, 24 Nov 2026 10:00:00 +0000\nX-Second: 2\n"
        c = self.distribute(post(extra=extra, msgid="<m1@example.org>"))
        self.assertIn(b"X-First: 1\nReceived: from a by b;\n\tTue, 24 Nov 2026 10:00:00 +0000\n"
                      b"X-Second: 2\n", c.data)
        self.assertEqual(c.header_values("Subject"), ["Hello"])
        self.assertEqual(c.header_values("Message-ID"), ["<m1@example.org>"])


class ReplyToList(harness.EnvTestCase):
    lists = {"ssc/members": {"reply_to": "list"}, "ssc/board": {"reply_to": "none"}}

    def test_reply_to_list_keeps_author_in_cc(self):
        r = self.env.deliver(post(extra="Cc: carol@example.net\n"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        m = r.capture.message
        self.assertEqual(len(m.get_all("Reply-To")), 1)
        self.assertEqual(email.utils.parseaddr(m["Reply-To"])[1], LIST)
        cc = [a.lower() for _, a in email.utils.getaddresses(m.get_all("Cc", []))]
        self.assertIn("alice@example.org", cc)
        self.assertIn("carol@example.net", cc)

    def test_reply_to_none(self):
        r = self.env.deliver(post(to="board@ssc.manage2soar.com"), "board@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.message.get_all("Reply-To"), None)
        self.assertEqual(r.capture.header_values("From"),
                         ['"Alice Example via Board" <board-bounces@ssc.manage2soar.com>'])


class Overrides(harness.EnvTestCase):
    lists = {
        "ssc/members": {"subject_prefix": "[SSC]",
                        "list_unsubscribe": "https://ssc.manage2soar.com/lists/unsubscribe"},
        "ssc/board": {"from_rewrite": "no"},
        "ssc/instructors": {"from_address": "list", "display_name": "SSC Instructor Corps"},
        "ssc/private-owners": {"max_size": "2k"},
    }

    def subject(self, subject, extra=""):
        r = self.env.deliver(post(subject=subject, extra=extra) if subject is not None
                             else post(extra=extra).replace("Subject: Hello\n", ""), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        values = r.capture.header_values("Subject")
        self.assertEqual(len(values), 1, values)
        return values[0]

    def test_subject_prefix_added(self):
        self.assertEqual(self.subject("Hello"), "[SSC] Hello")

    def test_subject_prefix_not_doubled(self):
        self.assertEqual(self.subject("Re: [SSC] Hello"), "Re: [SSC] Hello")
        self.assertEqual(self.subject("[SSC] Hello"), "[SSC] Hello")
        for subject in ("RE: [SSC] Hello", "Re: Re: [SSC] Hello", "Re: [SSC] Re: Hello"):
            self.assertEqual(self.subject(subject).count("[SSC]"), 1, subject)
        # typed by hand in another case, it is still the prefix
        self.assertEqual(self.subject("Re: [ssc] Hello"), "Re: [ssc] Hello")

    def test_empty_subject(self):
        self.assertEqual(self.subject(""), "[SSC] (no subject)")
        self.assertEqual(self.subject(None), "[SSC] (no subject)")

    def test_non_ascii_subject(self):
        value = self.subject("=?utf-8?q?Gr=C3=BC=C3=9Fe_vom_Flugplatz?=")
        self.assertTrue(value.isascii(), value)
        self.assertEqual(decoded(value), "[SSC] Grüße vom Flugplatz")
        value = self.subject("Re: =?utf-8?q?=5BSSC=5D_Gr=C3=BC=C3=9Fe?=")
        self.assertEqual(decoded(value).count("[SSC]"), 1, value)

    def test_subject_injection_impossible(self):
        value = self.subject("=?utf-8?q?Hi=0D=0ABcc=3A_victim=40x=2Eorg=0D=0A?=")
        self.assertIn("Bcc", decoded(value))
        r = self.env.deliver(post(subject="=?utf-8?q?Hi=0ABcc=3A_v=40x=2Eorg?="), LIST)
        head = harness.split_message(r.capture.data)[0].decode()
        self.assertNotRegex(head, r"(?mi)^bcc:")
        self.assertEqual(len(r.capture.header_values("Subject")), 1)

    def test_list_unsubscribe(self):
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.capture.header_values("List-Unsubscribe"),
                         ["<https://ssc.manage2soar.com/lists/unsubscribe>"])

    def test_from_rewrite_no(self):
        r = self.env.deliver(post(to="board@ssc.manage2soar.com"), "board@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(c.header_values("From"), ["Alice Example <alice@example.org>"])
        self.assertEqual(c.argv[2], "board-bounces@ssc.manage2soar.com")
        self.assertEqual(c.message["List-Id"], "<board.ssc.manage2soar.com>")
        self.assertEqual(c.header_values("Subject"), ["Hello"])

    def test_from_address_list_and_display_name(self):
        r = self.env.deliver(post(to="instructors@ssc.manage2soar.com"),
                             "instructors@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(c.header_values("From"), ['"Alice Example via SSC Instructor Corps" '
                                                   '<instructors@ssc.manage2soar.com>'])
        self.assertEqual(c.argv[2], "instructors-bounces@ssc.manage2soar.com")

    def test_max_size(self):
        lst = "private-owners@ssc.manage2soar.com"
        r = self.env.deliver(post(to=lst, body="x" * 1500 + "\n"), lst)
        self.assertEqual(r.rc, 0, r.stderr)
        r = self.env.deliver(post(to=lst, body="x" * 3000 + "\n"), lst)
        self.assertEqual(r.rc, 77)
        self.assertTrue(r.stderr.startswith("5.3.4 "), r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertEqual(r.captures, [])


if __name__ == "__main__":
    tap.main()
