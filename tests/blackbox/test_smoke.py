"""test_smoke.py - the main path end to end: sync, post, what a member gets."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402


class Smoke(harness.EnvTestCase):
    def test_member_post_is_distributed(self):
        r = self.env.deliver(harness.post(), "members@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(c.argv[:4], ["-i", "-f", "members-bounces@ssc.manage2soar.com",
                                      "--"])
        # M2S sends Bob as he typed it (Bob@Example.com: the local part's
        # case is kept) and carol@example.net twice (a household): one copy
        self.assertEqual(sorted(c.recipients, key=str.lower),
                         ["alice@example.org", "Bob@example.com", "carol@example.net"])
        m = c.message
        self.assertEqual(m["From"], '"Alice Example via Members" '
                                    '<members-bounces@ssc.manage2soar.com>')
        self.assertEqual(m["Reply-To"], "Alice Example <alice@example.org>")
        self.assertEqual(m["List-Id"], "<members.ssc.manage2soar.com>")
        self.assertTrue(c.data.endswith(b"\n\nHello list\n"))

    def test_stranger_is_refused(self):
        r = self.env.deliver(harness.post(from_="x@stranger.example"),
                             "members@ssc.manage2soar.com", sender="x@stranger.example")
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.stderr.strip(), "5.7.1 only members of Skyline Soaring Club "
                                           "may post to members@ssc.manage2soar.com")
        self.assertEqual(r.captures, [])


if __name__ == "__main__":
    tap.main()
