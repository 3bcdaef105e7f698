"""test_copies.py - one copy per person: a post addressed to several lists
of one club reaches each person once, whichever list is delivered first;
a failed delivery gives its people back to the retry."""
import collections
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

MEMBERS = "members@ssc.manage2soar.com"
BOARD = "board@ssc.manage2soar.com"


class Copies(harness.EnvTestCase):
    def post(self, msgid="<both@x>"):
        return harness.post(to="%s, %s" % (MEMBERS, BOARD), msgid=msgid)

    def test_board_first_then_members(self):
        r1 = self.env.deliver(self.post(), BOARD)
        self.assertEqual(sorted(r1.capture.recipients), ["bob@example.com", "dora@example.org"])
        r2 = self.env.deliver(self.post(), MEMBERS)
        self.assertEqual(sorted(r2.capture.recipients), ["alice@example.org", "carol@example.net"])

    def test_everyone_served_already(self):
        self.env.deliver(self.post("<m@x>").replace(BOARD, "private-owners@ssc.manage2soar.com"),
                         MEMBERS)
        r = self.env.deliver(self.post("<m@x>"), "private-owners@ssc.manage2soar.com")
        self.assertEqual((r.rc, r.captures), (0, []))
        line = self.env.deliver_log_lines()[-1]
        self.assertIn("decision=drop-duplicate", line)
        self.assertIn("another list", line)

    def test_failed_delivery_gives_people_back(self):
        self.env.set_sendmail_exit(1)
        self.assertEqual(self.env.deliver(self.post("<f@x>"), BOARD).rc, 75)
        self.env.set_sendmail_exit(0)
        r = self.env.deliver(self.post("<f@x>"), MEMBERS)
        self.assertEqual(len(r.capture.recipients), 3)  # bob included
        r = self.env.deliver(self.post("<f@x>"), BOARD)  # Postfix's retry
        self.assertEqual(r.capture.recipients, ["dora@example.org"])

    def test_concurrent_lists_give_each_person_one_copy(self):
        # the two lists of one post delivered at the same moment, again and
        # again: whichever claims first, everyone on either list gets the
        # post exactly once (the claim and the choice of recipients are one
        # transaction)
        want = {"alice@example.org", "bob@example.com", "carol@example.net",
                "dora@example.org"}
        for n in range(12):
            for name in os.listdir(self.env.cap):
                shutil.rmtree(os.path.join(self.env.cap, name))
            msg = self.post("<race%d@x>" % n).encode()
            procs = [subprocess.Popen([harness.DELIVER, "-c", self.env.config, "-f",
                                       "alice@example.org", "--", lst],
                                      stdin=subprocess.PIPE, stderr=subprocess.PIPE)
                     for lst in ((MEMBERS, BOARD) if n % 2 else (BOARD, MEMBERS))]
            for p in procs:
                p.stdin.write(msg)
            for p in procs:
                p.stdin.close()
            for p in procs:
                self.assertEqual(p.wait(timeout=60), 0, p.stderr.read())
                p.stderr.close()
            got = collections.Counter(a.lower() for c in self.env.captured()
                                      for a in c.recipients)
            self.assertEqual(set(got), want, n)
            self.assertEqual(max(got.values()), 1, got)

    def test_other_club_is_separate(self):
        self.env.deliver(self.post("<c@x>"), MEMBERS)
        r = self.env.deliver(self.post("<c@x>").replace("alice@example.org", "zed@example.org"),
                             "members@other.manage2soar.com", sender="zed@example.org")
        self.assertEqual(len(r.capture.recipients), 2)


if __name__ == "__main__":
    tap.main()
