"""test_policy.py - who may post where: whitelist, list members, bypass
lists, clubs kept apart, addressing, per-list posting overrides."""
import copy
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

# members@ssc as soarlist sends to it: the canonical answer's Bob@Example.com
# as Bob@example.com, the household's carol@example.net once
MEMBERS = harness.stored(harness.SSC_API["lists"]["members"])
STRANGER = "Stranger <x@stranger.example>"


def refused_line(lst, club="Skyline Soaring Club"):
    return "5.7.1 only members of %s may post to %s\n" % (club, lst)


class Policy(harness.EnvTestCase):
    def setUp(self):
        super().setUp()
        # ivan is on instructors but not whitelisted; wendy whitelisted only
        api = copy.deepcopy(harness.SSC_API)
        api["whitelist"] = [a for a in api["whitelist"] if a != "ivan@example.org"]
        api["whitelist"].append("wendy@example.org")
        self.env.write_api("ssc", api)
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)

    def send(self, lst, from_, sender=None, **kw):
        addr = from_.split("<")[-1].rstrip(">")
        return self.env.deliver(post(from_=from_, to=lst, **kw), lst, sender=sender or addr)

    def test_whitelisted_non_list_member_may_post(self):
        r = self.send("board@ssc.manage2soar.com", "Wendy <wendy@example.org>")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(r.capture.recipients), ["bob@example.com", "dora@example.org"])

    def test_list_member_not_whitelisted_may_post_to_own_list(self):
        r = self.send("instructors@ssc.manage2soar.com", "Ivan <ivan@example.org>")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.recipients, ["ivan@example.org"])

    def test_list_member_not_whitelisted_refused_elsewhere(self):
        r = self.send("members@ssc.manage2soar.com", "Ivan <ivan@example.org>")
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.stderr, refused_line("members@ssc.manage2soar.com"))

    def test_bypass_list_accepts_stranger(self):
        r = self.send("treasurer@ssc.manage2soar.com", STRANGER)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.recipients, ["tom@example.net"])

    def test_author_or_envelope_sender(self):
        # the post counts as coming from either sender (as Mailman checks
        # every sender of a message): the policy service, which sees only
        # the envelope sender, then refuses at RCPT TO all that is refused
        # here, so a refusal never becomes a bounce
        r = self.send("members@ssc.manage2soar.com", STRANGER, sender="alice@example.org")
        self.assertEqual(r.rc, 0, r.stderr)
        r = self.send("members@ssc.manage2soar.com", "Alice <alice@example.org>",
                      sender="srs0=ab=cd=example.org=alice@forwarder.example")
        self.assertEqual(r.rc, 0, r.stderr)
        r = self.send("members@ssc.manage2soar.com", STRANGER,
                      sender="other@stranger.example")
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.captures, [])

    def test_other_clubs_whitelist_refused(self):
        r = self.send("members@ssc.manage2soar.com", "Zed <zed@example.org>")
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.stderr, refused_line("members@ssc.manage2soar.com"))
        r = self.send("members@other.manage2soar.com", "Alice <alice@example.org>")
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.stderr, refused_line("members@other.manage2soar.com",
                                                "Other Gliding Club"))
        r = self.send("members@other.manage2soar.com", "Zed <zed@example.org>")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(r.capture.recipients), ["yan@example.com", "zed@example.org"])

    def test_recipient_is_case_insensitive(self):
        r = self.env.deliver(post(to="MEMBERS@SSC.Manage2Soar.COM"),
                             "MEMBERS@SSC.Manage2Soar.COM")
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(c.argv[2].lower(), "members-bounces@ssc.manage2soar.com")
        self.assertEqual(sorted(c.recipients), MEMBERS)
        self.assertEqual(c.message["List-Id"].lower(), "<members.ssc.manage2soar.com>")

    def test_author_is_case_insensitive(self):
        r = self.send("members@ssc.manage2soar.com", "Alice <ALICE@Example.ORG>")
        self.assertEqual(r.rc, 0, r.stderr)
        r = self.send("instructors@ssc.manage2soar.com", "Ivan <Ivan@EXAMPLE.org>")
        self.assertEqual(r.rc, 0, r.stderr)

    def test_second_domain_of_club(self):
        r = self.env.deliver(post(to="members@skylinesoaring.org"), "members@skylinesoaring.org")
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(c.argv[:4], ["-i", "-f", "members-bounces@skylinesoaring.org",
                                      "--"])
        self.assertEqual(sorted(c.recipients), MEMBERS)
        m = c.message
        self.assertEqual(m["List-Id"], "<members.skylinesoaring.org>")
        self.assertEqual(m["List-Post"], "<mailto:members@skylinesoaring.org>")
        self.assertEqual(c.header_values("From"), ['"Alice Example via Members" '
                                                   '<members-bounces@skylinesoaring.org>'])
        # the refusal names the address as it was used
        r = self.send("members@skylinesoaring.org", STRANGER)
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.stderr, refused_line("members@skylinesoaring.org"))

    def test_bcc_style_post_is_distributed(self):
        msg = post(to="Someone Else <someone@example.com>")
        r = self.env.deliver(msg, "members@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(r.capture.recipients), MEMBERS)
        self.assertEqual(r.capture.message["To"], "Someone Else <someone@example.com>")
        self.assertEqual(r.capture.message["List-Id"], "<members.ssc.manage2soar.com>")

    def test_post_addressed_to_two_lists_goes_to_the_piped_one(self):
        msg = post(to="members@ssc.manage2soar.com, board@ssc.manage2soar.com")
        r = self.env.deliver(msg, "board@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(r.capture.recipients), ["bob@example.com", "dora@example.org"])
        self.assertEqual(r.capture.message["List-Id"], "<board.ssc.manage2soar.com>")


class Overrides(harness.EnvTestCase):
    lists = {
        "ssc/board": {"posting": "members"},
        "ssc/instructors": {"posting": "anyone"},
        "ssc/members": {"posting": "whitelist", "nonmember_action": "discard"},
        "ssc/private-owners": {"nonmember_action": "hold"},
        "ssc/treasurer": {"posting": "members", "nonmember_action": "reject"},
    }

    def send(self, lst, from_):
        addr = from_.split("<")[-1].rstrip(">")
        return self.env.deliver(post(from_=from_, to=lst), lst, sender=addr)

    def test_posting_members_refuses_whitelisted_non_member(self):
        r = self.send("board@ssc.manage2soar.com", "Alice <alice@example.org>")
        self.assertEqual(r.rc, 77)
        self.assertTrue(r.stderr.startswith("5.7.1 "), r.stderr)
        self.assertIn("board@ssc.manage2soar.com", r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1)
        r = self.send("board@ssc.manage2soar.com", "Dora <dora@example.org>")
        self.assertEqual(r.rc, 0, r.stderr)

    def test_posting_anyone_accepts_stranger(self):
        r = self.send("instructors@ssc.manage2soar.com", STRANGER)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.recipients, ["ivan@example.org"])

    def test_posting_members_overrides_bypass(self):
        r = self.send("treasurer@ssc.manage2soar.com", STRANGER)
        self.assertEqual(r.rc, 77)
        r = self.send("treasurer@ssc.manage2soar.com", "Tom <tom@example.net>")
        self.assertEqual(r.rc, 0, r.stderr)

    def test_posting_whitelist_accepts_whitelisted(self):
        r = self.send("members@ssc.manage2soar.com", "Dora <dora@example.org>")
        self.assertEqual(r.rc, 0, r.stderr)

    def test_discard_drops_silently(self):
        r = self.send("members@ssc.manage2soar.com", STRANGER)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.captures, [])
        lines = self.env.deliver_log_lines()
        self.assertIn("decision=discard", lines[-1])
        self.assertIn("author=<x@stranger.example>", lines[-1])

    def test_hold_stores_message(self):
        msg = post(from_=STRANGER, to="private-owners@ssc.manage2soar.com",
                   subject="Hold me", msgid="<held@stranger.example>",
                   body="held body \xe9\n" * 50)
        r = self.env.deliver(msg, "private-owners@ssc.manage2soar.com",
                             sender="x@stranger.example")
        self.assertEqual(r.rc, 0, r.stderr)
        # nothing reaches the list: the only mail is the owners' notice
        self.assertEqual([c.recipients for c in r.captures],
                         [["postmaster@manage2soar.com"]])
        self.assertIn("Held post", r.capture.message["Subject"])
        rows = self.env.query("SELECT recipient, sender, author, subject, message_id, "
                              "size, content FROM held_message")
        self.assertEqual(len(rows), 1)
        rcpt, sender, author, subject, msgid, size, content = rows[0]
        self.assertEqual(rcpt.lower(), "private-owners@ssc.manage2soar.com")
        self.assertEqual(sender, "x@stranger.example")
        self.assertEqual(author, "x@stranger.example")
        self.assertEqual(subject, "Hold me")
        self.assertEqual(msgid.strip("<>"), "held@stranger.example")
        self.assertEqual(bytes(content), msg.encode())
        self.assertEqual(size, len(msg.encode()))
        self.assertIn("decision=hold", self.env.deliver_log_lines()[-1])

    def test_hold_does_not_hold_members(self):
        r = self.send("private-owners@ssc.manage2soar.com", "Alice <alice@example.org>")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.recipients, ["alice@example.org"])
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])

    def test_check_follows_overrides(self):
        r = self.env.soarlist("check", "alice@example.org", "board@ssc.manage2soar.com")
        self.assertEqual(r.rc, 1, r.stdout + r.stderr)
        r = self.env.soarlist("check", "x@stranger.example", "instructors@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stdout + r.stderr)


class AppMail(harness.EnvTestCase):
    """The M2S app's own notifications: envelope sender and From
    noreply@<club domain>. M2S never puts that address in the whitelist
    (the canonical answer has none), yet they reach every list of the
    club, with their From as the app wrote it."""

    APP = "noreply@ssc.manage2soar.com"

    def test_the_canonical_answer_has_no_noreply(self):
        self.assertFalse([a for a in harness.SSC_API["whitelist"]
                          if a.lower().startswith("noreply@")])

    def test_distributed_to_every_list_of_its_club(self):
        for lst in ("members@ssc.manage2soar.com", "instructors@skylinesoaring.org",
                    "board@ssc.manage2soar.com"):
            with self.subTest(lst):
                r = self.env.deliver(post(from_="Manage2Soar <%s>" % self.APP, to=lst),
                                     lst, sender=self.APP)
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertEqual(r.capture.message["From"], "Manage2Soar <%s>" % self.APP)
                self.assertTrue(r.capture.recipients)
                c = self.env.soarlist("check", self.APP, lst)
                self.assertEqual(c.rc, 0, c.stderr)
                self.assertEqual(c.stdout, "distribute: %s is the Manage2Soar "
                                 "application's own sender\n" % self.APP)

    def test_no_pass_at_another_club(self):
        lst = "members@other.manage2soar.com"
        r = self.env.deliver(post(from_="Manage2Soar <%s>" % self.APP, to=lst), lst,
                             sender=self.APP)
        self.assertEqual(r.rc, 77, r.stderr)
        self.assertEqual(r.stderr, refused_line(lst, "Other Gliding Club"))
        c = self.env.soarlist("check", self.APP, lst)
        self.assertEqual(c.rc, 1, c.stderr)
        self.assertTrue(c.stdout.startswith("reject: 5.7.1 "), c.stdout)

    def test_the_from_header_alone_is_not_the_app(self):
        lst = "members@ssc.manage2soar.com"
        r = self.env.deliver(post(from_="Manage2Soar <%s>" % self.APP, to=lst), lst,
                             sender="x@stranger.example")
        self.assertEqual(r.rc, 77, r.stderr)


if __name__ == "__main__":
    tap.main()
