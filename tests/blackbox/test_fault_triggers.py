"""test_fault_triggers.py - database write failures made by SQLite itself
(issue 11 item 3): a trigger `BEFORE INSERT ON <table> BEGIN SELECT
RAISE(FAIL, 'injected'); END` makes every write of that table fail inside
the agent's or the sync's own transaction, as a full disk or a corrupt page
would.

For hold (held_message), duplicate bookkeeping (the claim table
recent_message), bounce scoring (bounce_score, bounce_seen) and sync (list,
list_member, whitelist, sync_run): the run defers (75; a sync reports the club failed, 1)
with nothing half-done and nothing handed to sendmail; after the trigger
is dropped a clean retry does the work exactly once. The paths and their
checks are test_faults.py's. Two writes come after sendmail took the post
(forgetting an approved post, recording a claim as sent): there the run
ends in 0 and what is left behind must not send the post twice.
"""
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
import test_faults  # noqa: E402  (its paths; its tests are not run here)
from test_faults import Approve, Bounce, Hold, Post, PostWithoutMessageId, Sync  # noqa: E402


def set_trigger(db, table, event="INSERT", on=True):
    con = sqlite3.connect(db)
    try:
        with con:
            if on:
                con.execute("CREATE TRIGGER inject_fault BEFORE %s ON %s "
                            "BEGIN SELECT RAISE(FAIL, 'injected'); END" % (event, table))
            else:
                con.execute("DROP TRIGGER inject_fault")
    finally:
        con.close()


class Triggers(unittest.TestCase):
    def fail_table(self, cls, table, event="INSERT"):
        path = cls(self)
        path.restore()
        clean = path.go()
        self.assertEqual(clean.rc, 0, "the clean run: %r" % clean)
        if isinstance(path, Sync):
            self.want = path.members()
        elif clean.captures:
            self.want = test_faults.harness.folded(clean.captures[0].recipients)
        path.restore()
        set_trigger(path.env.db, table, event)
        run = path.go()
        self.assertIn(run.rc, path.deferred, "neither deferred: %r" % run)
        path.nothing(run)
        if isinstance(path, Sync):
            self.assertIn("injected", run.stderr)
            self.assertNotEqual(path.members(), self.want, "the failed sync changed all")
        set_trigger(path.env.db, table, on=False)
        retry = path.go()
        self.assertEqual(retry.rc, 0, "the retry: %r" % retry)
        path.once([run, retry])

    def test_hold(self):
        self.fail_table(Hold, "held_message")

    def test_claim_of_a_post(self):
        self.fail_table(Post, "recent_message")

    def test_post_without_message_id_needs_no_claim(self):
        # no Message-ID, no claim: the trigger is never reached
        path = PostWithoutMessageId(self)
        path.restore()
        set_trigger(path.env.db, "recent_message")
        run = path.go()
        self.assertEqual(run.rc, 0, repr(run))
        self.assertEqual(len(run.captures), 1)

    def test_approval_that_cannot_forget_the_post(self):
        # sendmail has the approved post when the row cannot be deleted:
        # 0 (the post went out), the row stays, and approving it again
        # finds it sent and sends nothing (Approve.done checks that)
        path = Approve(self)
        path.restore()
        clean = path.go()
        self.want = test_faults.harness.folded(clean.captures[0].recipients)
        path.restore()
        set_trigger(path.env.db, "held_message", "DELETE")
        run = path.go()
        self.assertEqual(run.rc, 0, repr(run))
        self.assertEqual(path.held(), 1)
        set_trigger(path.env.db, "held_message", on=False)
        path.done(run)

    def test_claim_that_cannot_be_recorded_as_sent(self):
        # the claim's update to 'sent' fails after sendmail took the post:
        # 0 (it went out), logged; at worst a later copy is not dropped
        path = Post(self)
        path.restore()
        set_trigger(path.env.db, "recent_message", "UPDATE")
        run = path.go()
        self.assertEqual(run.rc, 0, repr(run))
        self.assertEqual(len(run.captures), 1)
        self.assertTrue(any("distributed, but not recorded for duplicate checks" in line
                            for line in path.env.log_lines()))

    def test_bounce_score(self):
        self.fail_table(Bounce, "bounce_score")

    def test_bounce_seen(self):
        self.fail_table(Bounce, "bounce_seen")

    def test_sync_list_member(self):
        self.fail_table(Sync, "list_member")

    def test_sync_whitelist(self):
        self.fail_table(Sync, "whitelist")

    def test_sync_list(self):
        self.fail_table(Sync, "list")

    def test_sync_run_record(self):
        # the history of the run is no state that decides anything: when
        # it cannot be written the sync says so and its data stands whole
        path = Sync(self)
        path.restore()
        self.assertEqual(path.go().rc, 0)
        self.want = path.members()
        path.restore()
        set_trigger(path.env.db, "sync_run")
        run = path.go()
        self.assertIn("injected", run.stderr)
        if run.rc == 0:
            path.done(run)
        else:
            self.assertIn(run.rc, path.deferred, repr(run))
            path.nothing(run)
        set_trigger(path.env.db, "sync_run", on=False)
        self.assertEqual(path.go().rc, 0)
        path.once([])


if __name__ == "__main__":
    tap.main()
