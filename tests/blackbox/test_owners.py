"""test_owners.py - LIST-owner@DOMAIN reaches the list's owners (owners per
list, else per club, else admin), unmodified but for trace headers."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

OWNER = "board-owner@ssc.manage2soar.com"
MSG = ("Return-Path: <x@stranger.example>\nFrom: X <x@stranger.example>\n"
       "To: %s\nSubject: question\nMessage-ID: <own1@x>\n\nhello owners\n" % OWNER)


class Owners(harness.EnvTestCase):
    def configure(self, lists=None, club_owners=None):
        self.env.write_config(lists=lists, club_extra={"ssc": "owners = %s" % club_owners}
                              if club_owners else None)

    def forward(self, recipient=OWNER):
        r = self.env.deliver(MSG, recipient, sender="x@stranger.example")
        self.assertEqual(r.rc, 0, r.stderr)
        return r

    def test_admin_when_no_owners(self):
        c = self.forward().capture
        self.assertEqual(c.recipients, ["postmaster@manage2soar.com"])
        self.assertEqual(c.argv[:3], ["-i", "-f", "board-bounces@ssc.manage2soar.com"])

    def test_club_owners(self):
        self.configure(club_owners="chair@example.org;Secretary@Example.ORG")
        self.assertEqual(self.forward().capture.recipients,
                         ["chair@example.org", "Secretary@example.org"])

    def test_list_owners_before_club_owners(self):
        self.configure(lists={"ssc/board": {"owners": "boardchair@example.org"}},
                       club_owners="chair@example.org")
        self.assertEqual(self.forward().capture.recipients, ["boardchair@example.org"])
        # another list of the club falls back to the club's owners
        r = self.forward("members-owner@skylinesoaring.org")
        self.assertEqual(r.capture.recipients, ["chair@example.org"])
        self.assertIn("decision=owner-forward recipients=1",
                      self.env.deliver_log_lines()[-1])

    def test_message_unmodified_but_for_trace_headers(self):
        data = self.forward().capture.data
        head, body = data.split(b"\n\n", 1)
        self.assertEqual(body, b"hello owners\n")
        self.assertNotIn(b"Return-Path", head)
        self.assertIn(b"From: X <x@stranger.example>\n", head)
        self.assertIn(b"Subject: question\n", head)
        self.assertIn(b"X-Loop: board-owner@ssc.manage2soar.com", head)
        self.assertNotIn(b"List-Id", head)

    def test_loop_dropped(self):
        r = self.env.deliver(MSG.replace("Subject:", "X-Loop: %s\nSubject:" % OWNER), OWNER)
        self.assertEqual((r.rc, r.captures), (0, []))
        self.assertIn("decision=drop-loop", self.env.deliver_log_lines()[-1])

    def test_invalid_owner_is_a_config_error(self):
        self.configure(club_owners="not an address")
        r = self.env.soarlist("lists")
        self.assertEqual(r.rc, 78)
        self.assertIn("owners", r.stderr)
        r = self.env.deliver(MSG, OWNER)
        self.assertEqual(r.rc, 75)


if __name__ == "__main__":
    tap.main()
