"""test_durability.py - DESIGN.md "Data": durability is chosen per write.
A held post and a disabled address are on disk (fdatasync) before
soarlist-deliver says so; the duplicate and one-copy bookkeeping of a
distributed post is not synced, and a refused post writes nothing; the
delivery agent never checkpoints or deletes the WAL; the soarlist commands
checkpoint it when it has grown, so an unchanged sync syncs nothing.
Counted with strace(1) on the real program and a real SQLite file.
"""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import sanitizers  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"
STRACE = shutil.which("strace")


class Durability(harness.EnvTestCase):
    lists = {"ssc/board": {"nonmember_action": "hold"}}

    def setUp(self):
        if STRACE is None:
            self.fail("strace is not installed (contrib/scripts/install-deps --tests)")
        super().setUp()
        self.trace = os.path.join(self.env.root, "strace")

    def deliver(self, message, rcpt, sender="alice@example.org"):
        """soarlist-deliver under strace: (exit status, syscall lines)."""
        p = subprocess.run([STRACE, "-f", "-qq", "-o", self.trace, "-e",
                            "trace=fsync,fdatasync,unlink,unlinkat,rename",
                            harness.DELIVER, "-c", self.env.config, "-f", sender,
                            "--", rcpt], input=message.encode(), capture_output=True,
                           env=sanitizers.traced_env(), timeout=120)
        with open(self.trace) as f:
            return p.returncode, f.read().splitlines()

    def syncs(self, lines):
        return [l for l in lines if re.search(r"\b(fsync|fdatasync)\(", l)]

    def test_distributed_post_is_not_synced(self):
        self.deliver(post(), LIST)  # the first one after sync restarts the WAL
        for i in range(3):
            rc, lines = self.deliver(post(), LIST)
            self.assertEqual(rc, 0)
            self.assertEqual(self.syncs(lines), [], lines)
        self.assertEqual(self.env.query("SELECT count(*) FROM recent_message "
                                        "WHERE state = 'sent'"), [(4,)])

    def test_refused_post_syncs_nothing(self):
        rc, lines = self.deliver(post(from_="x@stranger.example"), LIST,
                                 sender="x@stranger.example")
        self.assertEqual(rc, 77)
        self.assertEqual(self.syncs(lines), [])

    def test_held_post_is_synced_before_exit(self):
        self.deliver(post(), LIST)
        rc, lines = self.deliver(post(from_="x@stranger.example",
                                      to="board@ssc.manage2soar.com"),
                                 "board@ssc.manage2soar.com", sender="x@stranger.example")
        self.assertEqual(rc, 0)
        self.assertEqual(len(self.env.query("SELECT id FROM held_message")), 1)
        wal = [l for l in self.syncs(lines)]
        self.assertGreaterEqual(len(wal), 1, lines)

    def test_agent_never_checkpoints_or_deletes_the_wal(self):
        for i in range(3):
            rc, lines = self.deliver(post(), LIST)
            self.assertEqual(rc, 0)
            self.assertEqual([l for l in lines if "-wal" in l or "-shm" in l], [], lines)
        self.assertTrue(os.path.exists(self.env.db + "-wal"))

    def soarlist(self, *args):
        p = subprocess.run([STRACE, "-f", "-qq", "-o", self.trace, "-e",
                            "trace=fsync,fdatasync", harness.SOARLIST, "-c",
                            self.env.config] + list(args), capture_output=True,
                           env=sanitizers.traced_env(), timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(self.trace) as f:
            return self.syncs(f.read().splitlines())

    def test_unchanged_sync_syncs_nothing(self):
        self.deliver(post(), LIST)
        self.assertEqual(self.soarlist("sync"), [])
        self.assertEqual(self.soarlist("sync"), [])

    def test_sync_that_stores_empties_the_wal(self):
        # the deliveries' WAL and a changed club go into the database file
        # and the WAL starts again: an agent opening the database alone
        # reads the whole WAL to rebuild its index
        for i in range(3):
            self.deliver(post(msgid="<w%d@x>" % i), LIST)
        self.assertGreater(os.path.getsize(self.env.db + "-wal"), 0)
        api = harness.m2s_answer("ssc")
        api["lists"]["members"].append("newcomer@example.org")
        self.env.write_api("ssc", api)
        self.assertNotEqual(self.soarlist("sync"), [])
        # copied into the database and started again, by the sync (one
        # frame: the next delivery does not sync the new WAL's header)
        self.assertLessEqual(os.path.getsize(self.env.db + "-wal"), 32 + 24 + 4096)
        rc, lines = self.deliver(post(), LIST)
        self.assertEqual(rc, 0)
        self.assertEqual(self.syncs(lines), [])
        # and nothing is lost
        self.assertEqual(self.env.query("SELECT count(*) FROM recent_message"), [(4,)])
        self.assertIn("newcomer@example.org",
                      self.env.soarlist("members", LIST).stdout.split())

    def test_commands_keep_the_wal_bounded(self):
        # a sync that writes more than SQLite's 1000 pages checkpoints the
        # WAL (deliveries never do) and truncates it to 4 MB
        api = harness.m2s_answer("ssc")
        for k in range(40):
            api["lists"]["big%d" % k] = ["m%05d@example.org" % i for i in range(4000)]
        self.env.write_api("ssc", api)
        syncs = self.soarlist("sync", "--force")
        self.assertGreaterEqual(len(syncs), 1)  # the checkpoint
        self.assertLessEqual(os.path.getsize(self.env.db + "-wal"), 4 * 1024 * 1024)
        self.assertEqual(self.env.query("SELECT count(*) FROM list_member m JOIN list l "
                                        "ON l.id = m.list_id WHERE l.name = 'big39'"),
                         [(4000,)])


if __name__ == "__main__":
    tap.main()
