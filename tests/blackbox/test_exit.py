"""test_exit.py - every exit status of soarlist-deliver, and never 1."""
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"


class ExitStatus(harness.EnvTestCase):
    def assertTempfail(self, r):
        self.assertEqual(r.rc, 75, "stderr: %r" % r.stderr)
        self.assertNotEqual(r.stderr.strip(), "", "75 without a reason on stderr")

    def test_distribute_is_0(self):
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.captures), 1)

    def test_unknown_list_is_67(self):
        r = self.env.deliver(post(to="nosuch@ssc.manage2soar.com"),
                             "nosuch@ssc.manage2soar.com")
        self.assertEqual(r.rc, 67, r.stderr)
        self.assertTrue(r.stderr.startswith("5.1.1"), r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertEqual(r.captures, [])

    def test_unknown_domain_is_67(self):
        r = self.env.deliver(post(to="members@unknown.example"), "members@unknown.example")
        self.assertEqual(r.rc, 67, r.stderr)
        self.assertTrue(r.stderr.startswith("5.1.1"), r.stderr)
        self.assertEqual(r.captures, [])

    def test_list_of_other_domain_is_67(self):
        # board exists for ssc, not for club "other"
        r = self.env.deliver(post(to="board@other.manage2soar.com"),
                             "board@other.manage2soar.com")
        self.assertEqual(r.rc, 67, r.stderr)
        self.assertTrue(r.stderr.startswith("5.1.1"), r.stderr)

    def test_nonmember_is_77_with_one_human_line(self):
        r = self.env.deliver(post(from_="Mallory <mallory@evil.example>"), LIST,
                             sender="mallory@evil.example")
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.stderr, "5.7.1 only members of Skyline Soaring Club "
                                   "may post to members@ssc.manage2soar.com\n")
        self.assertEqual(r.captures, [])

    def test_missing_database_is_75(self):
        os.unlink(self.env.db)
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertEqual(r.captures, [])
        self.assertFalse(os.path.exists(self.env.db), "the delivery agent created the database")

    def test_empty_database_is_75(self):
        os.unlink(self.env.db)
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.env.db + suffix):
                os.unlink(self.env.db + suffix)
        open(self.env.db, "wb").close()
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertEqual(r.captures, [])
        self.assertEqual(os.path.getsize(self.env.db), 0, "the delivery agent wrote a schema")

    def test_garbage_database_is_75(self):
        for name in ("not sqlite", "directory"):
            with self.subTest(name):
                os.unlink(self.env.db)
                for suffix in ("-wal", "-shm"):
                    if os.path.exists(self.env.db + suffix):
                        os.unlink(self.env.db + suffix)
                if name == "directory":
                    os.mkdir(self.env.db)
                else:
                    with open(self.env.db, "wb") as f:
                        f.write(b"this is not an SQLite database\n" * 200)
                r = self.env.deliver(post(), LIST)
                self.assertTempfail(r)
                self.assertEqual(r.captures, [])
                if name == "directory":
                    os.rmdir(self.env.db)

    def lock_database(self, seconds):
        con = sqlite3.connect(self.env.db, isolation_level=None, check_same_thread=False)
        con.execute("BEGIN EXCLUSIVE")
        con.execute("DELETE FROM held_message")
        if seconds is None:
            self.addCleanup(con.close)
            return
        t = threading.Timer(seconds, lambda: (con.execute("ROLLBACK"), con.close()))
        t.start()
        self.addCleanup(t.join)

    def test_database_locked_past_timeout_is_75(self):
        self.lock_database(None)
        start = time.monotonic()
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertEqual(r.captures, [], "sent although the post cannot be recorded")
        self.assertLess(time.monotonic() - start, 60)

    def test_database_locked_briefly_waits(self):
        self.lock_database(1.0)
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.captures), 1)

    def test_missing_config_is_75(self):
        r = self.env.deliver(post(), LIST, args=["-c", self.env.root + "/nope.conf",
                                                 "-f", "alice@example.org", "--", LIST])
        self.assertTempfail(r)
        self.assertIn("nope.conf", r.stderr)

    def test_config_from_environment(self):
        env = dict(os.environ, SOARLIST_CONFIG=self.env.config)
        r = self.env.deliver(post(), LIST, env=env,
                             args=["-f", "alice@example.org", "--", LIST])
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.captures), 1)

    def test_broken_config_is_75(self):
        self.env.write_config(lists={"ssc/members": {"posting": "sometimes"}})
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertIn(self.env.config, r.stderr)
        self.assertIn("sometimes", r.stderr)
        self.assertEqual(r.captures, [])

    def test_unparsable_config_is_75(self):
        with open(self.env.config, "a") as f:
            f.write("\n[club broken\nthis is not ini\n")
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertIn(self.env.config, r.stderr)

    def test_usage_errors_are_75(self):
        cases = {
            "no -f": ["-c", self.env.config, "--", LIST],
            "no recipient": ["-c", self.env.config, "-f", "alice@example.org"],
            "two recipients": ["-c", self.env.config, "-f", "alice@example.org", "--",
                               LIST, "board@ssc.manage2soar.com"],
            "unknown option": ["-c", self.env.config, "--bogus", "-f",
                               "alice@example.org", "--", LIST],
        }
        for name, args in cases.items():
            with self.subTest(name):
                r = self.env.deliver(post(), LIST, args=args)
                self.assertTempfail(r)
                self.assertEqual(r.captures, [])

    def test_sendmail_exit_1_is_75(self):
        self.env.set_sendmail_exit(1)
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertEqual(len(r.captures), 1)

    def test_sendmail_killed_is_75(self):
        self.env.write_sendmail("#!/bin/sh\ncat >/dev/null\nkill -9 $$\n")
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)

    def test_sendmail_not_reading_stdin_is_75(self):
        # exits 1 at once without reading: soarlist may see EPIPE, still 75
        self.env.write_sendmail("#!/bin/sh\nexit 1\n")
        r = self.env.deliver(post(body="x" * 1000000 + "\n"), LIST)
        self.assertTempfail(r)

    def test_sendmail_missing_is_75(self):
        os.unlink(self.env.sendmail)
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)

    def test_sendmail_missing_names_the_cause(self):
        # the failed exec's errno, not a guessed exit status
        os.unlink(self.env.sendmail)
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertIn("cannot execute %s: No such file or directory"
                      % self.env.sendmail, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_sendmail_output_quoted_printable(self):
        # its first line in the reason, escaped, on our one 4.x.x line
        self.env.write_sendmail("#!/bin/sh\ncat >/dev/null\n"
                                "printf '5.1.1 \\033[31mno\\nmore\\n' >&2\n"
                                "exit 1\n")
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertTrue(r.stderr.startswith("4."), r.stderr)
        self.assertIn("exited with status 1: 5.1.1 \\x1b[31mno", r.stderr)
        self.assertNotIn("\x1b", r.stderr)
        self.assertNotIn("more", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_sendmail_killed_names_the_signal(self):
        self.env.write_sendmail("#!/bin/sh\ncat >/dev/null\nkill -9 $$\n")
        r = self.env.deliver(post(), LIST)
        self.assertTempfail(r)
        self.assertIn("was killed by signal 9", r.stderr)

    def test_club_never_synced_is_75(self):
        self.env.write_api("new", {"lists": {"members": ["n@example.org"]},
                                   "whitelist": ["n@example.org"], "bypass_lists": []})
        self.env.write_config(clubs={
            "ssc": ("Skyline Soaring Club", "ssc.manage2soar.com;skylinesoaring.org"),
            "other": ("Other Gliding Club", "other.manage2soar.com"),
            "new": ("New Club", "new.example")})
        r = self.env.deliver(post(from_="n@example.org", to="members@new.example"),
                             "members@new.example", sender="n@example.org")
        self.assertTempfail(r)
        self.assertEqual(r.captures, [])
        # after a sync the same post goes through
        self.assertEqual(self.env.soarlist("sync").rc, 0)
        r = self.env.deliver(post(from_="n@example.org", to="members@new.example"),
                             "members@new.example", sender="n@example.org")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.recipients, ["n@example.org"])

    def test_unparsable_header_section_is_65(self):
        # a 5,000-byte field name: GMime's parser cannot hold it, on this
        # try or any other; Postfix bounces 65 with the 5.6.0 line
        msg = post(extra="X-" + "n" * 5000 + ": v\n")
        for attempt in range(2):
            r = self.env.deliver(msg, LIST)
            self.assertEqual(r.rc, 65, r.stderr)
            self.assertEqual(r.stderr, "5.6.0 message refused: header field "
                                       "name longer than 998 bytes\n")
            self.assertEqual(r.captures, [])
        last = self.env.deliver_log_lines()[-1]
        self.assertIn(" decision=reject ", last)
        self.assertIn("reason=5.6.0 ", last)

    def test_long_field_name_within_the_limit_is_distributed(self):
        name = "X-" + "n" * 996
        r = self.env.deliver(post(extra=name + ": v\n"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.header_values(name), ["v"])

    def test_unparsable_message_with_disk_full_is_75(self):
        # the spool cannot be written (a file size limit stands in for a
        # full disk): transient, whatever the message holds
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1024, 1024))
        msg = post(extra="X-" + "n" * 5000 + ": v\n").encode()
        p = subprocess.run([harness.DELIVER, "-c", self.env.config, "-f",
                            "alice@example.org", "--", LIST], input=msg,
                           capture_output=True, preexec_fn=limit, timeout=60)
        self.assertEqual(p.returncode, 75, p.stderr)
        self.assertTrue(p.stderr.startswith(b"4.3.0 "), p.stderr)

    def test_garbage_input_never_exits_1(self):
        for name, data in (("empty", b""), ("binary", bytes(range(256)) * 40),
                           ("no colon", b"this is not a header\n\nbody\n"),
                           ("nul in header", b"From: alice@example.org\x00x\n\nb\n")):
            with self.subTest(name):
                r = self.env.deliver(data, LIST)
                self.assertIn(r.rc, (0, 65, 75, 77), r.stderr)


if __name__ == "__main__":
    tap.main()
