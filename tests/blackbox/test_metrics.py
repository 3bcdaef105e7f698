"""test_metrics.py - the delivery agent's counters and `soarlist metrics`.

A mix of deliveries (posts distributed, refused, held, dropped as
duplicates and auto-replies, bounces that score and disable) is made
through soarlist-deliver; `soarlist metrics -o FILE` then writes the
Prometheus text format, which is read back with the Prometheus client
library's own parser (Debian's python3-prometheus-client), and every
figure is compared with what the deliveries did. Postfix is not running
here (postqueue fails): soarlist_postfix_up is 0 and there is no queue
figure; tests/e2e/test_metrics.py has the queue of a real Postfix.

The counts go in the transaction that records the outcome: a count for a
held post is in the database exactly when the held post is.
"""
import os
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402
import test_bounces  # noqa: E402

from prom import get, parse  # noqa: E402

LIST = "members@ssc.manage2soar.com"
BOARD = "board@ssc.manage2soar.com"
INSTRUCTORS = "instructors@ssc.manage2soar.com"


class Metrics(harness.EnvTestCase):
    lists = {"ssc/members": {"verp": "never"},
             "ssc/board": {"nonmember_action": "hold",
                           "owners": "chair@example.org"},
             "ssc/instructors": {"moderated": "yes",
                                 "owners": "chair@example.org"}}

    def setUp(self):
        super().setUp()
        # one bounce disables an address, so both bounce figures move
        self.env.write_config(lists=self.lists, extra="bounce_threshold = 1")
        test_bounces.KEY = self.env.query("SELECT secret FROM bounce_key")[0][0]
        self.addCleanup(setattr, test_bounces, "KEY", None)

    def metrics(self):
        out = os.path.join(self.env.root, "metrics.prom")
        r = self.env.soarlist("metrics", "-o", out)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o644)
        self.assertFalse(os.path.exists(out + ".tmp"))
        with open(out) as f:
            return parse(f.read())

    def deliver(self, msg, rcpt, sender="alice@example.org", want=0):
        r = self.env.deliver(msg, rcpt, sender=sender)
        self.assertEqual(r.rc, want, r.stderr)
        return r

    def test_counts_after_a_mix_of_deliveries(self):
        r = self.deliver(harness.post(msgid="<d1@example.org>"), LIST)
        copies = len(r.capture.recipients)
        self.deliver(harness.post(msgid="<d2@example.org>"), LIST)
        # the same post again: dropped as a duplicate
        self.deliver(harness.post(msgid="<d2@example.org>"), LIST)
        self.deliver(harness.post(msgid="<a1@example.org>",
                                  extra="Auto-Submitted: auto-replied\n"), LIST)
        # a stranger: refused on members@, held on board@
        stranger = "Xavier <x@stranger.example>"
        self.deliver(harness.post(from_=stranger, msgid="<s1@example.org>"),
                     LIST, sender="x@stranger.example", want=77)
        self.deliver(harness.post(from_=stranger, to=BOARD, msgid="<s2@example.org>"),
                     BOARD, sender="x@stranger.example")
        # a member's post to a moderated list: held as moderated
        self.deliver(harness.post(to=INSTRUCTORS, msgid="<i1@example.org>"),
                     INSTRUCTORS)
        # a DSN for a member of the post distributed first
        dsn = test_bounces.postfix_dsn("bob@example.com", msgid="<d1@example.org>")
        self.deliver(dsn, "members-bounces@ssc.manage2soar.com", sender="")

        s, types = self.metrics()
        posts = {o: get(s, "soarlist_posts_total", club="ssc", list="members",
                        outcome=o)
                 for o in ("distributed", "dropped_duplicate",
                           "dropped_auto_submitted", "refused_nonmember")}
        self.assertEqual(posts, {"distributed": 2, "dropped_duplicate": 1,
                                 "dropped_auto_submitted": 1,
                                 "refused_nonmember": 1})
        self.assertEqual(types["soarlist_posts"], "counter")
        self.assertEqual(get(s, "soarlist_posts_total", club="ssc", list="board",
                             outcome="held_nonmember"), 1)
        self.assertEqual(get(s, "soarlist_posts_total", club="ssc",
                             list="instructors", outcome="held_moderated"), 1)
        self.assertEqual(get(s, "soarlist_recipients_total", club="ssc",
                             list="members"), 2 * copies)
        self.assertEqual(get(s, "soarlist_bounces_scored_total", club="ssc"), 1)
        self.assertEqual(get(s, "soarlist_addresses_disabled_total", club="ssc"), 1)
        # every configured club has its series, at zero
        self.assertEqual(get(s, "soarlist_bounces_scored_total", club="other"), 0)
        # held posts per list, with the age of the oldest
        self.assertEqual(get(s, "soarlist_held_posts", club="ssc", list="board"), 1)
        self.assertEqual(get(s, "soarlist_held_posts", club="ssc", list="members"), 0)
        age = get(s, "soarlist_held_oldest_seconds", club="ssc", list="instructors")
        self.assertTrue(0 <= age < 600, age)
        self.assertEqual(get(s, "soarlist_held_oldest_seconds", club="ssc",
                             list="members"), 0)
        # what the database says, day by day, is the same
        rows = dict(self.env.query(
            "SELECT outcome, messages FROM list_stat WHERE list = 'members' "
            "AND day = date('now')"))
        self.assertEqual(rows.get("distributed"), 2)
        self.assertEqual(rows.get("bounce_scored"), 1)

    def test_sync_figures(self):
        now = time.time()
        s, _ = self.metrics()
        for club in ("ssc", "other"):
            ts = get(s, "soarlist_sync_last_success_timestamp_seconds", club=club)
            self.assertTrue(now - 600 < ts <= now + 1, (club, ts))
            age = get(s, "soarlist_sync_age_seconds", club=club)
            self.assertTrue(0 <= age < 600, (club, age))
        # a club that never synced: timestamp 0, age +Inf
        self.env.write_config(
            clubs={"ssc": ("Skyline Soaring Club", "ssc.manage2soar.com"),
                   "new": ("New Club", "new.manage2soar.com")},
            lists=self.lists)
        s, _ = self.metrics()
        self.assertEqual(get(s, "soarlist_sync_last_success_timestamp_seconds",
                             club="new"), 0)
        self.assertEqual(get(s, "soarlist_sync_age_seconds", club="new"),
                         float("inf"))

    def test_postfix_down_is_a_figure(self):
        # postqueue beside a postconf that is not there: it cannot run
        self.env.write_config(lists=self.lists,
                              extra="postconf = %s/nowhere/postconf" % self.env.root)
        s, _ = self.metrics()
        self.assertEqual(get(s, "soarlist_postfix_up"), 0)
        self.assertFalse([k for k in s if k[0].startswith("soarlist_postfix_queue")])

    def test_held_count_goes_with_the_held_post(self):
        """A hold whose transaction fails leaves neither the post nor its
        count: the delivery defers and Postfix's retry counts it once."""
        trig = ("CREATE TRIGGER fail_hold BEFORE INSERT ON held_message "
                "BEGIN SELECT RAISE(FAIL, 'injected'); END")
        import sqlite3
        con = sqlite3.connect(self.env.db)
        con.execute(trig)
        con.commit()
        msg = harness.post(to=INSTRUCTORS, msgid="<h1@example.org>")
        self.deliver(msg, INSTRUCTORS, want=75)
        self.assertEqual(self.env.query("SELECT count(*) FROM list_stat")[0][0], 0)
        con.execute("DROP TRIGGER fail_hold")
        con.commit()
        con.close()
        self.deliver(msg, INSTRUCTORS)
        s, _ = self.metrics()
        self.assertEqual(get(s, "soarlist_posts_total", club="ssc",
                             list="instructors", outcome="held_moderated"), 1)

    def test_stdout_and_unwritable_file(self):
        r = self.env.soarlist("metrics")
        self.assertEqual(r.rc, 0, r.stderr)
        s, _ = parse(r.stdout)
        self.assertEqual(get(s, "soarlist_postfix_up"), 0)
        r = self.env.soarlist("metrics", "-o",
                              os.path.join(self.env.root, "no", "such", "dir", "m.prom"))
        self.assertEqual(r.rc, 1)
        self.assertIn("cannot write", r.stderr)


if __name__ == "__main__":
    tap.main()
