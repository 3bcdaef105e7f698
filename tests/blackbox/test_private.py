"""test_private.py - what soarlist writes is private to its user whatever the
umask (DESIGN.md, Data): the database with its -wal and -shm files (held
posts, moderation tokens, the bounce key are rows in it), the archive's
directories and files, and the spool files the delivery agent and an
approval write, each created under umask 0000 and 0022 and checked: files
0600 or 0640, directories 0700 or 0750. `soarlist doctor` reports every such
file or directory that has a wider mode (readable, writable or enterable by
others, or writable by the group)."""
import os
import re
import stat
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

LIST = "board@ssc.manage2soar.com"
STRANGER = "x@stranger.example"
FILE_MODES = (0o600, 0o640)
DIR_MODES = (0o700, 0o750)

# the capturing sendmail also records, while the delivery agent waits for
# it, the mode of every file the agent has open (its database, -wal, -shm
# and spool file) and of the database files by name
MODES = """
for f in /proc/$PPID/fd/*; do
  t=$(readlink "$f")
  case "$t" in /*) echo "$(stat -L -c %a "$f") $t" ;; esac
done >> "{root}/open-modes"
for f in "{db}" "{db}-wal" "{db}-shm"; do
  [ -e "$f" ] && echo "$(stat -c %a "$f") $f"
done >> "{root}/open-modes"
exit 0
"""


class Umask:
    def __init__(self, mask):
        self.mask = mask

    def __enter__(self):
        self.old = os.umask(self.mask)

    def __exit__(self, *exc):
        os.umask(self.old)


class Modes(harness.EnvTestCase):
    """Everything created by soarlist under a permissive umask."""

    def setUp(self):
        # nothing made before the umask is set: the database is created
        # by the first sync in each test
        self.env = harness.Env()
        self.addCleanup(self.env.cleanup)
        self.archive = os.path.join(self.env.root, "archive")
        self.spool = os.path.join(self.env.root, "spool")
        os.mkdir(self.spool, 0o700)
        self.env.write_api("ssc", harness.SSC_API)
        self.env.write_api("other", harness.OTHER_API)
        self.env.write_config(
            lists={"ssc/board": {"nonmember_action": "hold",
                                 "owners": "chair@example.org"}},
            extra="archive_dir = %s\nspool_dir = %s" % (self.archive, self.spool))
        script = harness.FAKE_SENDMAIL.format(cap=self.env.cap, root=self.env.root)
        self.env.write_sendmail(harness.patch_script(
            script, "exit 0\n", MODES.format(root=self.env.root, db=self.env.db)))

    def mode(self, path):
        return stat.S_IMODE(os.lstat(path).st_mode)

    def open_modes(self):
        with open(os.path.join(self.env.root, "open-modes")) as f:
            return [(int(m, 8), p) for m, p in (l.split(" ", 1) for l in f.read().splitlines())]

    def check_tree(self, top):
        seen = 0
        for d, dirs, files in os.walk(top):
            self.assertIn(self.mode(d), DIR_MODES, "%s: %04o" % (d, self.mode(d)))
            for n in files:
                p = os.path.join(d, n)
                self.assertIn(self.mode(p), FILE_MODES, "%s: %04o" % (p, self.mode(p)))
                seen += 1
        return seen

    def run_all(self, mask):
        with Umask(mask):
            r = self.env.soarlist("sync")
            self.assertEqual(r.rc, 0, r.stderr)
            self.assertIn(self.mode(self.env.db), FILE_MODES)
            # a held post (a row), then its approval: distributed, archived
            r = self.env.deliver(harness.post(from_=STRANGER, to=LIST), LIST,
                                 sender=STRANGER)
            self.assertEqual(r.rc, 0, r.stderr)
            (held_id,), = self.env.query("SELECT id FROM held_message")
            r = self.env.soarlist("approve", str(held_id))
            self.assertEqual(r.rc, 0, r.stderr)
            # a member's post: the delivery agent's own spool and archive
            r = self.env.deliver(harness.uniq_post(), "members@ssc.manage2soar.com")
            self.assertEqual(r.rc, 0, r.stderr)
        names = set()
        for m, p in self.open_modes():
            if not p.startswith(self.env.root):
                continue  # /dev/null, a memfd
            self.assertIn(m, FILE_MODES, "%s: %04o under umask %04o" % (p, m, mask))
            names.add(re.sub(r"^.*/", "", p))
        db = os.path.basename(self.env.db)
        # the files were there to be checked: the database with its WAL
        # and shared memory, and a spool file (O_TMPFILE: no name left)
        self.assertTrue({db, db + "-wal", db + "-shm"} <= names, names)
        self.assertTrue(any(p.startswith(self.spool) for _, p in self.open_modes()))
        self.assertEqual(self.check_tree(self.archive), 2)
        self.assertEqual(os.listdir(self.spool), [])

    def test_umask_0000(self):
        self.run_all(0o000)

    def test_umask_0022(self):
        self.run_all(0o022)


class Doctor(harness.EnvTestCase):
    """doctor's line about private data: every file or directory with a
    wider mode is named, with a fix that narrows it."""

    OK = ("OK    database, archive and key files closed to others and not "
          "writable by the group")
    FAIL = ("FAIL  database, archive or key files open to others or writable "
            "by the group:")

    def setUp(self):
        super().setUp()
        self.archive = os.path.join(self.env.root, "archive")
        self.key = os.path.join(self.env.root, "key")
        with open(self.key, "w") as f:
            f.write("secret\n")
        os.chmod(self.key, 0o600)
        self.env.write_config(extra="archive_dir = %s\napi_key_file = %s"
                              % (self.archive, self.key))
        r = self.env.deliver(harness.uniq_post(), "members@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)  # archived: the tree exists
        self.maildir = os.path.join(self.archive, "ssc", "members")
        self.post, = os.listdir(os.path.join(self.maildir, "new"))
        self.post = os.path.join(self.maildir, "new", self.post)

    def line(self):
        r = self.env.soarlist("doctor")
        lines = [l for l in r.stdout.splitlines()
                 if l.startswith(self.OK) or l.startswith(self.FAIL)]
        self.assertEqual(len(lines), 1, r.stdout)
        return lines[0]

    def test_private_data_ok(self):
        self.assertEqual(self.line(), self.OK)

    def test_each_wider_mode_is_named(self):
        import sqlite3
        # a connection keeps the -wal and -shm files there (the last one
        # to close removes them), and a write keeps the -wal non-empty
        # (SQLite gives an empty one the database's mode when it opens it)
        con = sqlite3.connect(self.env.db, isolation_level=None)
        self.addCleanup(con.close)
        con.execute("UPDATE club SET name = name || '.'")
        con.execute("UPDATE club SET name = substr(name, 1, length(name) - 1)")
        con.execute("BEGIN")
        con.execute("SELECT count(*) FROM club").fetchall()
        wider = {self.env.db: 0o644,                    # others may read
                 self.env.db + "-wal": 0o660,           # the group may write
                 self.archive: 0o755,                   # others may enter
                 os.path.join(self.maildir, "cur"): 0o770,
                 self.key: 0o640}                       # a key: no group
        for path, mode in wider.items():
            os.chmod(path, mode)
        line = self.line()
        self.assertTrue(line.startswith(self.FAIL), line)
        for path, mode in wider.items():
            self.assertIn(" %s (mode %04o)" % (path, mode), line)
        self.assertNotIn(self.env.db + "-shm", line)  # 0640 like the database
        self.assertIn("; fix: chmod o-rwx,g-w %s*; chmod -R o-rwx,g-w %s; chmod 0600 %s"
                      % (self.env.db, self.archive, self.key), line)
        # only what it names is said to be wrong, and its fix works
        for path, mode in wider.items():
            os.chmod(path, 0o750 if os.path.isdir(path) else 0o600 if path == self.key
                     else 0o640)
        self.assertEqual(self.line(), self.OK)

    def test_archived_post_readable_by_others(self):
        os.chmod(self.post, 0o644)
        self.assertEqual(self.line(), "%s %s (mode 0644); fix: chmod -R o-rwx,g-w %s"
                         % (self.FAIL, self.post, self.archive))

    def test_modes_that_are_private_enough(self):
        # files 0600, directories 0700, the group may read and enter
        os.chmod(self.env.db, 0o600)
        os.chmod(self.archive, 0o700)
        os.chmod(self.post, 0o400)
        os.chmod(self.key, 0o400)
        self.assertEqual(self.line(), self.OK)


if __name__ == "__main__":
    tap.main()
