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

`soarlist stats` shows the same counts per list and day: its JSON is
compared with the deliveries made and with rows written for earlier days,
its table with the sparkline those days make.
"""
import json
import os
import sqlite3
import stat
import subprocess
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


class Stats(harness.EnvTestCase):
    def stats(self, *args, env=None):
        r = harness.Result(subprocess.run(
            [harness.SOARLIST, "-c", self.env.config, "stats"] + list(args),
            capture_output=True, env=env, timeout=60), [])
        self.assertEqual(r.rc, 0, r.stderr)
        return r.stdout

    def test_per_day_json_and_table(self):
        r = self.env.deliver(harness.post(msgid="<st1@example.org>"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        copies = len(r.capture.recipients)
        self.env.deliver(harness.post(from_="x@stranger.example",
                                      msgid="<st2@example.org>"),
                         LIST, sender="x@stranger.example")
        # earlier days, as the agent would have written them: 3 days ago,
        # and 20 days ago (outside the 14 days shown)
        con = sqlite3.connect(self.env.db)
        club = con.execute("SELECT id FROM club WHERE slug = 'ssc'").fetchone()[0]
        for ago, n in ((3, 4), (20, 9)):
            con.execute("INSERT INTO list_stat VALUES (?, 'members', "
                        "date('now', ?), 'distributed', ?, ?)",
                        (club, "-%d days" % ago, n, n * copies))
        con.commit()
        con.close()

        got = json.loads(self.stats("--json"))
        self.assertEqual(got["days"], 14)
        [members] = [x for x in got["lists"] if x["list"] == "members"]
        self.assertEqual(members["club"], "ssc")
        self.assertEqual(len(members["distributed"]), 14)
        self.assertEqual(members["distributed"][13], 1)     # today
        self.assertEqual(members["distributed"][10], 4)     # 3 days ago
        self.assertEqual(sum(members["distributed"]), 5)    # not 20 days ago
        self.assertEqual(members["recipients"][13], copies)
        self.assertEqual(members["refused"][13], 1)
        self.assertEqual(members["totals"], {
            "distributed": 5, "recipients": 5 * copies, "held": 0,
            "refused": 1, "dropped": 0, "bounces": 0})
        self.assertEqual(sum(json.loads(self.stats("--json", "--days", "30"))
                             ["lists"][0]["distributed"]), 14)

        # the table: the sparkline of the 14 days, in blocks or ASCII
        env = dict(os.environ, LC_ALL="C.UTF-8")
        line = [l for l in self.stats(env=env).splitlines()
                if l.startswith("ssc ") and " members " in l]
        self.assertEqual(len(line), 1, line)
        self.assertTrue(line[0].endswith(
            "\u00b7" * 10 + "\u2588" + "\u00b7" * 2 + "\u2582"), line[0])
        self.assertRegex(line[0], r"^ssc +members +5 +%d +0 +1 +0 +0  " % (5 * copies))
        env = dict(os.environ, LC_ALL="C")
        line = [l for l in self.stats(env=env).splitlines() if " members " in l]
        self.assertTrue(line[0].endswith(" " * 10 + "#" + " " * 2 + ":"), repr(line[0]))

    def test_bad_days_and_nothing_yet(self):
        r = self.env.soarlist("stats", "--days", "0")
        self.assertEqual(r.rc, 64, r.stderr)
        self.assertIn("--days 0: want 1 to 366", r.stderr)
        self.assertIn("No list had any mail in the last 14 days.", self.stats())


if __name__ == "__main__":
    tap.main()
