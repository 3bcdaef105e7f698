"""test_harness.py - the e2e harness (postfix_env.py) itself, without a
running Postfix: the instance works wherever the build tree is (a clone
under /root, mode 0700, included), and a temporary directory the pipe user
cannot reach fails with one line naming the directory and the user.

Needs root (the instance chowns to the pipe user and runs soarlist as it);
otherwise each test is reported as skipped, which counts as a failure.
"""
import os
import shutil
import stat
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import postfix_env  # noqa: E402
import tap  # noqa: E402

RUN_AS = postfix_env.RUN_AS


class Harness(unittest.TestCase):
    def setUp(self):
        if os.geteuid() != 0:
            self.skipTest("not running as root: the instance chowns to %s" % RUN_AS)

    def private_dir(self):
        """A directory only root can enter (mode 0700), like /root."""
        d = tempfile.mkdtemp(prefix="soarlist-e2e-private-", dir="/tmp")
        os.chmod(d, 0o700)
        self.addCleanup(shutil.rmtree, d, True)
        return d


class T1BuildTreeAnywhere(Harness):
    def test_programs_in_a_private_tree_run_as_the_pipe_user(self):
        # the build tree of a clone under /root: nobody cannot enter it
        tree = os.path.join(self.private_dir(), "build")
        os.mkdir(tree)
        progs = {}
        for name, src in (("soarlist", postfix_env.SOARLIST),
                          ("soarlist-deliver", postfix_env.DELIVER)):
            progs[name] = os.path.join(tree, name)
            shutil.copy2(src, progs[name])
        saved = postfix_env.SOARLIST, postfix_env.DELIVER
        postfix_env.SOARLIST, postfix_env.DELIVER = progs["soarlist"], progs["soarlist-deliver"]
        inst = postfix_env.Instance()
        try:
            inst.setup()  # runs `soarlist sync` as the pipe user
            r = inst.soarlist("lists")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("members@ssc.manage2soar.com", r.stdout)
            master = inst.master_cf()
            self.assertNotIn(tree, master)
            self.assertIn("argv=%s -c " % inst.deliver_bin, master)
            self.assertIn("argv=%s -c " % inst.soarlist_bin, master)
            for name, copy in (("soarlist", inst.soarlist_bin),
                               ("soarlist-deliver", inst.deliver_bin)):
                self.assertEqual(os.path.dirname(copy), os.path.join(inst.root, "bin"))
                self.assertEqual(stat.S_IMODE(os.stat(copy).st_mode), 0o755, copy)
                with open(copy, "rb") as a, open(progs[name], "rb") as b:
                    self.assertEqual(a.read(), b.read(), copy)
        finally:
            postfix_env.SOARLIST, postfix_env.DELIVER = saved
            inst.stop()


class T2Unreachable(Harness):
    def test_unreachable_tmpdir_names_the_directory_and_the_user(self):
        private = self.private_dir()
        inside = os.path.join(private, "tmp")
        os.mkdir(inside, 0o755)
        saved = tempfile.tempdir
        tempfile.tempdir = inside
        try:
            inst = postfix_env.Instance()
        finally:
            tempfile.tempdir = saved
        root = inst.root
        try:
            with self.assertRaises(postfix_env.Unreachable) as cm:
                inst.setup()
        finally:
            inst.stop()
        self.assertFalse(os.path.exists(root), "stop() leaves no instance behind")
        msg = str(cm.exception)
        self.assertEqual(len(msg.splitlines()), 1, msg)
        self.assertIn("user %s cannot enter %s (mode 0700, owner root)" % (RUN_AS, private),
                      msg)
        self.assertIn("TMPDIR", msg)

    def test_check_reachable_walks_from_the_top(self):
        private = self.private_dir()
        deep = os.path.join(private, "a", "b")
        os.makedirs(deep)
        os.chmod(os.path.join(private, "a"), 0o700)
        with self.assertRaises(postfix_env.Unreachable) as cm:
            postfix_env.check_reachable(deep, [RUN_AS])
        self.assertIn("cannot enter %s " % private, str(cm.exception))
        os.chmod(private, 0o755)
        with self.assertRaises(postfix_env.Unreachable) as cm:
            postfix_env.check_reachable(deep, [RUN_AS])
        self.assertIn("cannot enter %s/a " % private, str(cm.exception))
        os.chmod(os.path.join(private, "a"), 0o711)
        postfix_env.check_reachable(deep, [RUN_AS, postfix_env.MAIL_OWNER])


class T3Quiesce(Harness):
    def test_pending_messages_are_those_qmgr_took_without_removed_line(self):
        inst = postfix_env.Instance.__new__(postfix_env.Instance)
        d = tempfile.mkdtemp(prefix="soarlist-e2e-log-", dir="/tmp")
        self.addCleanup(shutil.rmtree, d, True)
        inst.maillog = os.path.join(d, "postfix.log")
        p = "Nov 30 10:00:00 mx postfix-e2e/"
        lines = [
            p + "smtpd[1]: 4A1B2C3D4E: client=localhost[127.0.0.1]",  # abandoned
            p + "qmgr[2]: 5B1B2C3D4E: from=<a@example.org>, size=300, nrcpt=1 (queue active)",
            p + "qmgr[2]: 6C1B2C3D4E: from=<>, size=300, nrcpt=1 (queue active)",
            p + "pipe[3]: 6C1B2C3D4E: to=<x@example.org>, relay=capture, status=sent (ok)",
            p + "qmgr[2]: 6C1B2C3D4E: removed",
            p + "smtpd[1]: NOQUEUE: reject: RCPT from localhost[127.0.0.1]: 550 5.7.1 no",
        ]
        with open(inst.maillog, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.assertEqual(inst.pending_messages(), {"5B1B2C3D4E"})
        self.assertEqual(inst.pending_messages(since=2), set())
        with open(inst.maillog, "a") as f:
            f.write(p + "qmgr[2]: 5B1B2C3D4E: removed\n")
        self.assertEqual(inst.pending_messages(), set())


class T4Deadline(Harness):
    def test_wait_for_returns_as_soon_as_the_condition_holds(self):
        inst = postfix_env.Instance.__new__(postfix_env.Instance)
        t0 = time.monotonic()
        ready = t0 + 0.3
        self.assertEqual(inst.wait_for("the clock", lambda: time.monotonic() > ready and 7), 7)
        self.assertLess(time.monotonic() - t0, 5)
        with self.assertRaises(AssertionError) as cm:
            inst.wait_for(lambda: "a thing (state 3)", lambda: False, timeout=0.2)
        self.assertEqual(str(cm.exception),
                         "timed out after 0.2s waiting for a thing (state 3)")


if __name__ == "__main__":
    tap.main()
