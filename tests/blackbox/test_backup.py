"""test_backup.py - `soarlist backup DIR` and a restore from it.

A server with lists, a post held for the moderators, a bounce score and
a disabled address, an API key file and DKIM keys (`soarlist dkim`, as
root) is backed up while posts keep being delivered; the backup is a new
private directory (0700, every file 0600) with a MANIFEST whose SHA-256
sums match the files. Restored into an empty installation (the files put
where the MANIFEST says, the configuration's paths pointed there), the
lists, the held post, the bounce scores and the DKIM keys are back, and
the restored server distributes a post. A directory that is not empty is
refused.
"""
import grp
import hashlib
import os
import shutil
import sqlite3
import stat
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402
import test_bounces  # noqa: E402

LIST = "members@ssc.manage2soar.com"
BOARD = "board@ssc.manage2soar.com"


class Backup(harness.EnvTestCase):
    lists = {"ssc/members": {"verp": "never"},
             "ssc/board": {"nonmember_action": "hold", "owners": "chair@example.org"}}

    def setUp(self):
        super().setUp()
        self.dkim_dir = os.path.join(self.env.root, "dkim")
        self.key_file = os.path.join(self.env.root, "api.key")
        with open(self.key_file, "w") as f:
            f.write("not-used-with-file-urls\n")
        os.chmod(self.key_file, 0o600)
        self.extra = ("bounce_threshold = 1\napi_key_file = %s\ndkim_dir = %s\n"
                      "dkim_group = %s\n" % (self.key_file, self.dkim_dir,
                                             grp.getgrgid(os.getgid()).gr_name))
        self.env.write_config(lists=self.lists, extra=self.extra)
        test_bounces.KEY = self.env.query("SELECT secret FROM bounce_key")[0][0]
        self.addCleanup(setattr, test_bounces, "KEY", None)

    def populate(self):
        r = self.env.deliver(harness.post(msgid="<b1@example.org>"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        r = self.env.deliver(harness.post(from_="Xavier <x@stranger.example>", to=BOARD,
                                          msgid="<b2@example.org>"),
                             BOARD, sender="x@stranger.example")
        self.assertEqual(r.rc, 0, r.stderr)
        dsn = test_bounces.postfix_dsn("bob@example.com", msgid="<b1@example.org>")
        r = self.env.deliver(dsn, "members-bounces@ssc.manage2soar.com", sender="")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.env.query("SELECT count(*) FROM disabled_address")[0][0], 1)
        if os.geteuid() == 0:
            r = self.env.soarlist("dkim")
            self.assertEqual(r.rc, 0, r.stderr)

    def test_backup_during_deliveries_then_restore(self):
        self.populate()
        stop, results = threading.Event(), []

        def deliver_loop():
            n = 0
            while not stop.is_set():
                n += 1
                results.append(self.env.deliver(
                    harness.post(msgid="<loop%d@example.org>" % n), LIST).rc)

        t = threading.Thread(target=deliver_loop)
        t.start()
        try:
            out = os.path.join(self.env.root, "backup")
            r = self.env.soarlist("backup", out)
        finally:
            stop.set()
            t.join()
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(set(results), {0}, results)
        self.assertRegex(r.stdout, r"^backup: \d+ files in %s" % out)
        self.assertEqual(stat.S_IMODE(os.stat(out).st_mode), 0o700)

        # the MANIFEST: every file, its sum, where it came from
        with open(os.path.join(out, "MANIFEST")) as f:
            lines = [l.split() for l in f if not l.startswith("#")]
        names = {l[3]: l for l in lines}
        self.assertIn("soarlist.db", names)
        self.assertEqual(names["soarlist.conf"][4], self.env.config)
        self.assertEqual(names["soarlist.conf"][1], "%04o" % stat.S_IMODE(
            os.stat(self.env.config).st_mode))
        self.assertIn("api-keys/0-api.key", names)
        for name, (sha, _mode, _owner, _name, _orig) in names.items():
            path = os.path.join(out, name)
            with open(path, "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), sha, name)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600, name)
        if os.geteuid() == 0:
            keys = [n for n in names if n.startswith("dkim/keys/") and n.endswith(".private")]
            self.assertEqual(len(keys), 3, names)   # ssc's two domains, other's one
            self.assertIn("dkim/KeyTable", names)

        # a restore into an empty installation
        new = os.path.join(self.env.root, "restored")
        os.mkdir(new)
        db = os.path.join(new, "soarlist.db")
        shutil.copy(os.path.join(out, "soarlist.db"), db)
        shutil.copy(os.path.join(out, "api-keys/0-api.key"), os.path.join(new, "api.key"))
        if os.path.isdir(os.path.join(out, "dkim")):
            shutil.copytree(os.path.join(out, "dkim"), os.path.join(new, "dkim"))
        with open(os.path.join(out, "soarlist.conf")) as f:
            conf = f.read()
        conf = (conf.replace(self.env.db, db).replace(self.key_file, os.path.join(new, "api.key"))
                .replace(self.dkim_dir, os.path.join(new, "dkim")))
        with open(self.env.config, "w") as f:
            f.write(conf)
        shutil.rmtree(self.dkim_dir, ignore_errors=True)
        os.unlink(self.env.db)
        self.env.db = db
        con = sqlite3.connect(db)
        try:
            self.assertEqual(con.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(con.execute(
                "SELECT count(*) FROM bounce_score WHERE address = 'bob@example.com'")
                .fetchone()[0], 1)
            self.assertEqual(con.execute("SELECT address FROM disabled_address").fetchall(),
                             [("bob@example.com",)])
        finally:
            con.close()
        r = self.env.soarlist("held")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("x@stranger.example", r.stdout)
        r = self.env.soarlist("lists")
        self.assertIn(LIST, r.stdout)
        if os.geteuid() == 0:
            r = self.env.soarlist("dkim", "list")
            self.assertEqual(r.rc, 0, r.stderr)
            self.assertEqual(len([l for l in r.stdout.splitlines() if "m2s" in l]), 3,
                             r.stdout)
            # no new key: the restored ones are there
            r = self.env.soarlist("dkim")
            self.assertNotIn("created key", r.stdout)
        r = self.env.deliver(harness.post(msgid="<after@example.org>"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.captures), 1)

    def test_not_into_a_directory_with_files(self):
        out = os.path.join(self.env.root, "full")
        os.mkdir(out)
        with open(os.path.join(out, "x"), "w") as f:
            f.write("x")
        r = self.env.soarlist("backup", out)
        self.assertEqual(r.rc, 1, r.stdout + r.stderr)
        self.assertIn("is not empty: a backup goes into a new directory", r.stderr)
        self.assertEqual(os.listdir(out), ["x"])
        # an empty one is fine, and made private
        empty = os.path.join(self.env.root, "empty")
        os.mkdir(empty, 0o755)
        r = self.env.soarlist("backup", empty)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(empty).st_mode), 0o700)


if __name__ == "__main__":
    tap.main()
