"""test_metrics.py - `soarlist metrics` on a real, private Postfix on
127.0.0.1 (the instance and helpers of test_postfix.py, started again for
this file).

A member's post goes through Postfix to soarlist-deliver and out to the
members: it is counted. Then Postfix is told to defer the capture
transport (defer_transports, as when the members' servers cannot be
reached), and the copies of the next post stay in the deferred queue: `soarlist metrics`, run as the pipe user as
the metrics timer runs it, reads the queue with postqueue -j and reports
it, with the age of the oldest message. The file is read with the
Prometheus client library's own parser (python3-prometheus-client).

`soarlist health` judges the same installation, each threshold crossed
one by one with real figures: mail deferred by Postfix, a club's last
sync made older in the database, a post held by a moderated list and
made older; and Postfix stopped is critical.
"""
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import tap  # noqa: E402
import test_postfix as tp  # noqa: E402
from prom import get, parse  # noqa: E402

def setUpModule():
    tp.setUpModule()


def tearDownModule():
    tp.tearDownModule()


class Metrics(tp.E2E):
    def metrics(self):
        out = os.path.join(self.inst.sl_dir, "metrics.prom")
        r = self.inst.soarlist("metrics", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            return parse(f.read())

    def test_posts_and_the_deferred_queue(self):
        def counts(s):
            return [get(s, "soarlist_posts_total", club="ssc", list="members",
                        outcome="distributed") or 0,
                    get(s, "soarlist_recipients_total", club="ssc",
                        list="members") or 0]

        before, _ = self.metrics()
        msgid = tp.new_msgid()
        self.post_ok("alice@example.org", tp.LIST, tp.message(msgid=msgid))
        self.wait_delivered(msgid, tp.MEMBERS)
        s, types = self.metrics()
        # one more post, one more copy for each member (other scenarios
        # of this file post too)
        self.assertEqual([a - b for a, b in zip(counts(s), counts(before))],
                         [1, len(tp.MEMBERS)])
        self.assertEqual(get(s, "soarlist_postfix_up"), 1)
        self.assertEqual(get(s, "soarlist_postfix_queue_messages", queue="deferred"), 0)
        self.assertEqual(types["soarlist_postfix_queue_messages"], "gauge")

        self.inst.set_main_cf("defer_transports = capture")
        self.addCleanup(self.undefer)
        before = time.time()
        # the reload is asynchronous: send until a message is deferred
        self.wait_for("a deferred message", self.deferred_after_send)
        s, _ = self.metrics()
        deferred = [m for m in self.inst.queue() if m["queue_name"] == "deferred"]
        self.assertGreaterEqual(len(deferred), 1)
        self.assertEqual(get(s, "soarlist_postfix_queue_messages", queue="deferred"),
                         len(deferred))
        oldest = min(m["arrival_time"] for m in deferred)
        age = get(s, "soarlist_postfix_queue_oldest_seconds", queue="deferred")
        self.assertTrue(int(time.time()) - oldest - 2 <= age
                        <= int(time.time()) - oldest + 2, (age, oldest))
        self.assertLess(age, time.time() - before + 60)
        self.assertEqual(get(s, "soarlist_postfix_queue_messages", queue="hold"), 0)

    def deferred_after_send(self):
        """Post to the list; the copies for the members are deferred once
        the new setting holds (a post before that is delivered)."""
        self.post_ok("alice@example.org", tp.LIST, tp.message(msgid=tp.new_msgid()))
        time.sleep(0.5)
        return [m for m in self.inst.queue() if m["queue_name"] == "deferred"]

    def undefer(self):
        self.inst.set_main_cf("defer_transports =")
        self.inst.wait_for("the deferred mail delivered",
                           lambda: (self.inst.flush(), not self.inst.queue())[1])


class Health(tp.E2E):
    PERF = re.compile(r"^SOARLIST (OK|WARNING|CRITICAL|UNKNOWN) - [^|\n]+ \| "
                      r"deferred=(\d+|U);\d+;\d+;0 deferred_age=(\d+s|U);\d+;\d+;0 "
                      r"sync_age=(\d+s|U);\d+;\d+;0 held_age=\d+s;\d+;\d+;0$")

    def health(self, *args, want):
        r = self.inst.soarlist("health", *args)
        self.assertEqual(r.returncode, want, r.stdout + r.stderr)
        self.assertRegex(r.stdout, self.PERF)
        self.assertEqual(r.stdout.count("\n"), 1, r.stdout)
        return r.stdout

    def sql(self, statement):
        """STATEMENT on the database, as its owner (the pipe user)."""
        subprocess.run(["sqlite3", self.inst.db, statement], check=True,
                       user=self.inst.uid, group=self.inst.gid, extra_groups=[],
                       cwd=self.inst.sl_dir, capture_output=True)

    def test_healthy_then_each_threshold_crossed(self):
        self.inst.soarlist("sync", "--force")
        out = self.health(want=0)
        self.assertTrue(out.startswith("SOARLIST OK - 0 deferred;"), out)

        # the stalest club's sync
        self.sql("UPDATE sync_run SET finished_at = finished_at - 8000 "
                 "WHERE club_slug = 'other'")
        self.addCleanup(self.inst.soarlist, "sync", "--force")
        out = self.health(want=1)
        self.assertIn("club other last synced 2h ago", out)
        out = self.health("--sync-age", "1h,2h", want=2)
        self.assertIn("SOARLIST CRITICAL - club other last synced", out)
        self.health("--sync-age", "3h,4h", want=0)
        self.assertEqual(self.inst.soarlist("sync", "--force").returncode, 0)

        # a post held by a moderated list, made a day and a bit older
        self.inst.write_soarlist_config("\n[list ssc/members]\nmoderated = yes\n")
        self.addCleanup(self.inst.write_soarlist_config)
        msgid = tp.new_msgid()
        self.post_ok("alice@example.org", tp.LIST, tp.message(msgid=msgid))
        query = "SELECT id FROM held_message WHERE message_id IN (?, ?)"
        held = self.wait_for("the post held", lambda: self.inst.db_rows(
            query, msgid, msgid.strip("<>")))[0][0]
        self.addCleanup(self.inst.soarlist, "discard", str(held))
        self.health(want=0)
        self.sql("UPDATE held_message SET held_at = held_at - 90000 WHERE id = %d" % held)
        out = self.health(want=1)
        self.assertIn("a post to members of ssc held for 25h", out)
        self.health("--held-age", "1h,1d", want=2)
        self.health("--held-age", "2d,3d", want=0)

        # mail Postfix cannot deliver yet
        self.inst.set_main_cf("defer_transports = capture")
        self.addCleanup(Metrics.undefer, self)
        self.inst.write_soarlist_config()
        deferred = self.wait_for("a deferred message",
                                 lambda: Metrics.deferred_after_send(self))
        n = len([m for m in self.inst.queue() if m["queue_name"] == "deferred"])
        self.assertGreaterEqual(n, len(deferred))
        out = self.health("--queue", "0,100", "--held-age", "2d,3d", want=1)
        self.assertIn("messages deferred (over 0)", out)
        self.health("--queue", "0,0", "--held-age", "2d,3d", want=2)
        time.sleep(1.1)  # an age in whole seconds: at least one
        out = self.health("--queue-age", "0,1h", "--held-age", "2d,3d", want=1)
        self.assertIn("oldest deferred message", out)

    def test_postfix_stopped_is_critical(self):
        self.inst.postfix("stop")
        try:
            out = self.health(want=2)
            self.assertIn("SOARLIST CRITICAL - Postfix does not answer", out)
            self.assertIn("deferred=U;", out)
        finally:
            self.inst.start()

    def test_bad_option_is_unknown(self):
        r = self.inst.soarlist("health", "--queue", "9,1")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertEqual(r.stdout, "SOARLIST UNKNOWN - bad command line "
                                   "(see soarlist health --help)\n")
        self.assertIn("--queue 9,1: want WARNING,CRITICAL", r.stderr)


if __name__ == "__main__":
    tap.main()
