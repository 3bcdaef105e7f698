"""test_drops.py - loops, auto-replies and duplicates are dropped (exit 0,
logged, nothing sent); dedupe state is recorded only after sendmail succeeded."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"


class Drops(harness.EnvTestCase):
    def assertDropped(self, r, msgid=None):
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.captures, [], "dropped post reached sendmail")
        line = self.env.deliver_log_lines()[-1]
        self.assertRegex(line, r" decision=\S+")
        self.assertNotIn("decision=distribute", line)
        if msgid:
            self.assertIn("msgid=%s" % msgid, line)
        return line

    def assertDistributed(self, r, n=3):
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.capture.recipients), n)
        self.assertIn("decision=distribute", self.env.deliver_log_lines()[-1])

    def test_own_loop_marker_dropped(self):
        r = self.env.deliver(post(msgid="<loop1@x>", extra="X-Loop: members@ssc.manage2soar.com\n"),
                             LIST)
        self.assertDropped(r, "<loop1@x>")

    def test_loop_marker_case_and_other_domain(self):
        for marker in ("MEMBERS@SSC.MANAGE2SOAR.COM", "members@skylinesoaring.org"):
            with self.subTest(marker):
                r = self.env.deliver(post(extra="X-Loop: %s\n" % marker), LIST)
                self.assertDropped(r)
        r = self.env.deliver(post(to="members@skylinesoaring.org",
                                  extra="X-Loop: members@ssc.manage2soar.com\n"),
                             "members@skylinesoaring.org")
        self.assertDropped(r)

    def test_loop_marker_among_others(self):
        extra = "X-Loop: other@lists.example\nX-Loop: members@ssc.manage2soar.com\n"
        self.assertDropped(self.env.deliver(post(extra=extra), LIST))

    def test_foreign_loop_marker_distributed(self):
        r = self.env.deliver(post(extra="X-Loop: members@other.manage2soar.com\n"), LIST)
        self.assertDistributed(r)
        self.assertEqual(r.capture.header_values("X-Loop")[-1], "members@ssc.manage2soar.com")

    def test_auto_submitted_dropped(self):
        for value in ("auto-replied", "auto-generated", "Auto-Replied; owner-email=x@y.org"):
            with self.subTest(value):
                r = self.env.deliver(post(extra="Auto-Submitted: %s\n" % value), LIST)
                self.assertDropped(r)

    def test_auto_submitted_no_distributed(self):
        for value in ("no", "No", "no (comment)"):
            with self.subTest(value):
                self.assertDistributed(self.env.deliver(
                    post(extra="Auto-Submitted: %s\n" % value), LIST))

    def test_duplicate_message_id(self):
        msg = post(msgid="<dup@example.org>")
        self.assertDistributed(self.env.deliver(msg, LIST))
        self.assertDropped(self.env.deliver(msg, LIST), "<dup@example.org>")
        # the same list on its other domain is still the same list
        self.assertDropped(self.env.deliver(msg, "members@skylinesoaring.org"))
        rows = self.env.query("SELECT message_id, state FROM recent_message")
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(rows[0][1], "sent")
        self.assertIn("dup@example.org", rows[0][0])

    def test_same_message_id_other_list_distributed(self):
        # one copy per person: bob is on both lists and got it already
        msg = post(msgid="<cross@example.org>", to="members@ssc.manage2soar.com, "
                   "board@ssc.manage2soar.com")
        self.assertDistributed(self.env.deliver(msg, LIST))
        r = self.env.deliver(msg, "board@ssc.manage2soar.com")
        self.assertDistributed(r, 1)
        self.assertEqual(r.capture.recipients, ["dora@example.org"])
        self.assertDistributed(self.env.deliver(
            msg.replace("alice@example.org", "zed@example.org"),
            "members@other.manage2soar.com", sender="zed@example.org"), 2)

    def test_no_message_id_never_duplicate(self):
        msg = post(msgid=None)
        self.assertDistributed(self.env.deliver(msg, LIST))
        self.assertDistributed(self.env.deliver(msg, LIST))

    def test_failed_sendmail_leaves_no_record(self):
        msg = post(msgid="<retry@example.org>")
        self.env.set_sendmail_exit(1)
        r = self.env.deliver(msg, LIST)
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertEqual(self.env.query("SELECT * FROM recent_message"), [])
        self.env.set_sendmail_exit(0)
        self.assertDistributed(self.env.deliver(msg, LIST))
        self.assertDropped(self.env.deliver(msg, LIST))

    def test_killed_sendmail_leaves_no_record(self):
        msg = post(msgid="<killed@example.org>")
        script = open(self.env.sendmail).read()
        self.env.write_sendmail("#!/bin/sh\ncat >/dev/null\nkill -9 $$\n")
        self.assertEqual(self.env.deliver(msg, LIST).rc, 75)
        self.assertEqual(self.env.query("SELECT * FROM recent_message"), [])
        self.env.write_sendmail(script)
        self.assertDistributed(self.env.deliver(msg, LIST))

    def test_refused_post_leaves_no_record(self):
        msg = post(from_="x@stranger.example", msgid="<refused@example.org>")
        self.assertEqual(self.env.deliver(msg, LIST, sender="x@stranger.example").rc, 77)
        self.assertEqual(self.env.query("SELECT * FROM recent_message"), [])


def proc_owner(pid):
    """The claim owner soarlist-deliver writes for process PID: PID:STARTTIME."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return "%d:%s" % (pid, fields[19])  # field 22 of the whole line


class Claims(harness.EnvTestCase):
    """A 'sending' claim blocks a copy only while its process really lives."""

    def claim(self, msgid, owner, age=0):
        import sqlite3
        import time
        con = sqlite3.connect(self.env.db)
        list_id = con.execute("SELECT l.id FROM list l JOIN club c ON c.id = l.club_id "
                              "WHERE c.slug = 'ssc' AND l.name = 'members'").fetchone()[0]
        con.execute("INSERT INTO recent_message (list_id, message_id, state, owner, at) "
                    "VALUES (?, ?, 'sending', ?, ?)",
                    (list_id, msgid, owner, int(time.time()) - age))
        con.commit()
        con.close()

    def test_claim_of_live_process_drops_copy(self):
        # this test process stands for a delivery agent still running sendmail
        self.claim("live@x", proc_owner(os.getpid()))
        r = self.env.deliver(post(msgid="<live@x>"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.captures, [])
        self.assertIn("decision=drop-duplicate", self.env.deliver_log_lines()[-1])

    def test_claim_of_reused_pid_is_stale(self):
        # same PID, another start time: the claimant died and the PID was reused
        self.claim("reused@x", "%d:1" % os.getpid())
        r = self.env.deliver(post(msgid="<reused@x>"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.capture.recipients), 3)
        self.assertEqual(self.env.query("SELECT state FROM recent_message "
                                        "WHERE message_id = 'reused@x'"), [("sent",)])

    def test_claim_of_dead_process_is_stale(self):
        self.claim("dead@x", "999999999:1")
        r = self.env.deliver(post(msgid="<dead@x>"), LIST)
        self.assertEqual(len(r.capture.recipients), 3)

    def test_claim_older_than_an_hour_is_stale(self):
        self.claim("old@x", proc_owner(os.getpid()), age=3700)
        r = self.env.deliver(post(msgid="<old@x>"), LIST)
        self.assertEqual(len(r.capture.recipients), 3)


if __name__ == "__main__":
    tap.main()
