"""test_archive.py - each distributed post is kept once, as members received
it, in its list's Maildir under archive_dir (directories 0750, files 0640);
posts that were not distributed are not; `soarlist archive export` writes
mboxrd that Python's mailbox module reads back message for message, filtered
by --since/--until (local days), in bounded memory even for a 25 MB post."""
import base64
import hashlib
import mailbox
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import sanitizers  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"
FROM_LINE = re.compile(rb"^From MAILER-DAEMON (Sun|Mon|Tue|Wed|Thu|Fri|Sat) "
                       rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       rb"[ 123]\d \d\d:\d\d:\d\d \d{4}$")
# a POSIX TZ string: no tzdata needed, and local days are not UTC days
TZ = "CET-1CEST,M3.5.0,M10.5.0/3"

# Run argv[2:] with stdout to the file argv[1]; print its exit status and
# peak RSS (see harness.Env.deliver_rusage for why a helper forks it).
_RUSAGE_TO_FILE = """
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(fd, 1)
    os.execv(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def unquote(data):
    """mboxrd reading: one '>' less before every ^>+From line."""
    return re.sub(rb"(?m)^>(>*From )", rb"\1", data)


def local_midnight(y, m, d):
    return int(time.mktime((y, m, d, 0, 0, 0, 0, 0, -1)))


class ArchiveCase(harness.EnvTestCase):
    def setUp(self):
        super().setUp()
        self.archive = os.path.join(self.env.root, "archive")
        self.env.write_config(extra="archive_dir = %s" % self.archive)

    def maildir(self, slug="ssc", name="members"):
        return os.path.join(self.archive, slug, name)

    def files(self, sub="new", slug="ssc", name="members"):
        d = os.path.join(self.maildir(slug, name), sub)
        if not os.path.isdir(d):
            return []
        return sorted(os.path.join(d, n) for n in os.listdir(d))

    def all_files(self):
        out = []
        for top, _, names in os.walk(self.archive):
            out += [os.path.join(top, n) for n in names]
        return out

    def distribute(self, msg, rcpt=LIST, sender="alice@example.org"):
        r = self.env.deliver(msg, rcpt, sender=sender)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.captures), 1, "want 1 sendmail call")
        return r.capture

    def export(self, *args, rc=0):
        r = self.env.soarlist("archive", "export", LIST, *args)
        self.assertEqual(r.rc, rc, r.stderr)
        return r

    def export_bytes(self, *args):
        proc = subprocess.run([harness.SOARLIST, "-c", self.env.config, "archive",
                               "export", LIST] + list(args),
                              capture_output=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(proc.stderr, b"")
        return proc.stdout

    def read_mbox(self, data):
        path = os.path.join(self.env.root, "export-%d.mbox" % time.monotonic_ns())
        with open(path, "wb") as f:
            f.write(data)
        box = mailbox.mbox(path, create=False)
        self.addCleanup(box.close)
        return [(box.get_message(k), box.get_bytes(k)) for k in box.keys()]


class Store(ArchiveCase):
    def test_post_archived_once_as_sent(self):
        caps = [self.distribute(post(body="post %d\n" % i)) for i in range(3)]
        files = self.files()
        self.assertEqual(len(files), 3, files)
        got = []
        for path in files:
            with open(path, "rb") as f:
                got.append(f.read())
        self.assertEqual(sorted(got), sorted(c.data for c in caps))
        self.assertEqual(self.files("tmp"), [])
        self.assertEqual(self.files("cur"), [])
        self.assertEqual(len(self.all_files()), 3)
        # the Maildir way: TIME.MUSECPPID_N.HOST
        for path in files:
            self.assertRegex(os.path.basename(path), r"^\d+\.M\d+P\d+_\d+\.[^/:]+$")

    def test_modes_whatever_the_umask(self):
        for umask in (0o077, 0o000):
            with self.subTest(umask=oct(umask)):
                shutil.rmtree(self.archive, ignore_errors=True)
                old = os.umask(umask)
                try:
                    self.distribute(post())
                finally:
                    os.umask(old)
                self.assertFalse(os.path.exists(self.maildir("ssc", "board")))
                for d in (self.archive, os.path.join(self.archive, "ssc"), self.maildir(),
                          *(os.path.join(self.maildir(), s) for s in ("tmp", "new", "cur"))):
                    mode = stat.S_IMODE(os.stat(d).st_mode)
                    self.assertEqual(mode, 0o750, "%s: got %o, want 750" % (d, mode))
                [path] = self.files()
                mode = stat.S_IMODE(os.stat(path).st_mode)
                self.assertEqual(mode, 0o640, "got %o, want 640" % mode)
                self.assertTrue(stat.S_ISREG(os.lstat(path).st_mode))

    def test_existing_archive_dir_mode_untouched(self):
        os.mkdir(self.archive, 0o700)
        os.chmod(self.archive, 0o700)
        self.distribute(post())
        self.assertEqual(stat.S_IMODE(os.stat(self.archive).st_mode), 0o700)
        self.assertEqual(len(self.files()), 1)

    def test_right_list_maildir(self):
        c1 = self.distribute(post(to="board@skylinesoaring.org"), "board@skylinesoaring.org")
        c2 = self.distribute(post(from_="zed@example.org", to="members@other.manage2soar.com"),
                             "members@other.manage2soar.com", sender="zed@example.org")
        self.assertEqual(self.files(), [])
        [board] = self.files(name="board")
        [other] = self.files(slug="other")
        with open(board, "rb") as f:
            self.assertEqual(f.read(), c1.data)
        with open(other, "rb") as f:
            self.assertEqual(f.read(), c2.data)
        self.assertEqual(len(self.all_files()), 2)

    def test_posts_not_distributed_are_not_archived(self):
        msg = post()
        self.distribute(msg)
        cases = [
            ("duplicate", msg, "alice@example.org", 0),
            ("refused", post(from_="x@stranger.example"), "x@stranger.example", 77),
            ("loop", post(extra="X-Loop: members@ssc.manage2soar.com\n"),
             "alice@example.org", 0),
            ("auto-reply", post(extra="Auto-Submitted: auto-replied\n"),
             "alice@example.org", 0),
        ]
        for name, m, sender, rc in cases:
            with self.subTest(name):
                r = self.env.deliver(m, LIST, sender=sender)
                self.assertEqual(r.rc, rc, r.stderr)
                self.assertEqual(r.captures, [])
                self.assertEqual(len(self.all_files()), 1)
        self.env.set_sendmail_exit(1)
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertEqual(len(r.captures), 1, "sendmail was not even tried")
        self.assertEqual(len(self.all_files()), 1)

    def test_archive_failure_does_not_fail_the_post(self):
        blocker = os.path.join(self.env.root, "not-a-dir")
        with open(blocker, "w") as f:
            f.write("x")
        self.env.write_config(extra="archive_dir = %s/archive" % blocker)
        c = self.distribute(post(msgid="<unarchived@example.org>"))
        self.assertEqual(len(c.recipients), 3)
        line = [l for l in self.env.log_lines() if "not archived" in l]
        self.assertEqual(len(line), 1, self.env.log_lines())
        self.assertIn("unarchived@example.org", line[0])
        # distributed all the same: a redelivery is a duplicate
        r = self.env.deliver(post(msgid="<unarchived@example.org>"), LIST)
        self.assertEqual((r.rc, r.captures), (0, []))

    def test_no_archive_dir_no_archive(self):
        self.env.write_config()
        self.distribute(post())
        self.assertFalse(os.path.exists(self.archive))


class Export(ArchiveCase):
    BODIES = [
        b"Plain body\n",
        b"From the start of a line\nFrom: not a header\n",
        b">From quoted once\n>>From quoted twice\n>>>From thrice\n",
        b"From\nFromage\n>From\n> From \nFrom \n",
        b"ends with a blank line\n\n",
        b"\n\nFrom after blank lines\n",
        b"  From indented\n>>>>\n>F\n>Fro\n",
    ]

    def test_round_trip_python_mailbox(self):
        caps = [self.distribute(post(body=b.decode())) for b in self.BODIES]
        crlf = post(body="").replace("\n", "\r\n").encode() + b"From crlf\r\n>From x\r\n"
        caps.append(self.distribute(crlf))
        data = self.export_bytes()
        # the From_ lines are the only lines starting "From "
        from_lines = [l for l in data.split(b"\n") if l.startswith(b"From ")]
        self.assertEqual(len(from_lines), len(caps))
        for l in from_lines:
            self.assertRegex(l, FROM_LINE)
        self.assertTrue(data.startswith(b"From MAILER-DAEMON "))
        self.assertTrue(data.endswith(b"\n\n"))
        self.assertIn(b"\n>From the start of a line\n", data)
        self.assertIn(b"\n>>From quoted once\n>>>From quoted twice\n>>>>From thrice\n", data)
        self.assertIn(b"\n>From crlf\r\n>>From x\r\n", data)
        msgs = self.read_mbox(data)
        self.assertEqual(len(msgs), len(caps))
        for (m, raw), c in zip(msgs, caps):  # oldest first: delivery order
            self.assertEqual(m["Message-ID"], c.message["Message-ID"])
            self.assertEqual(unquote(raw), c.data)
            self.assertEqual(harness.split_message(unquote(raw))[1], c.body())
        for (m, raw), b in zip(msgs, self.BODIES):
            self.assertEqual(harness.split_message(unquote(raw))[1], b)

    def test_body_without_final_newline(self):
        self.distribute(post(body="no newline at the end"))
        self.distribute(post(body="From second\n"))
        data = self.export_bytes()
        self.assertIn(b"\nno newline at the end\n\nFrom MAILER-DAEMON ", data)
        msgs = self.read_mbox(data)
        self.assertEqual(len(msgs), 2)
        self.assertEqual(unquote(msgs[1][1]).split(b"\n\n", 1)[1], b"From second\n")

    def test_write_error_fails(self):
        self.distribute(post())
        with open("/dev/full", "wb") as full:
            proc = subprocess.run([harness.SOARLIST, "-c", self.env.config, "archive",
                                   "export", LIST], stdout=full, stderr=subprocess.PIPE,
                                  timeout=120)
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertRegex(proc.stderr.decode(), r"^soarlist: archive: cannot write the export: ")

    def test_export_leaves_archive_alone(self):
        self.distribute(post())
        before = {p: os.stat(p).st_mtime_ns for p in self.all_files()}
        self.export_bytes()
        self.assertEqual({p: os.stat(p).st_mtime_ns for p in self.all_files()}, before)

    def test_empty_archive(self):
        r = self.export()
        self.assertEqual((r.stdout, r.stderr), ("", ""))
        self.distribute(post(to="board@ssc.manage2soar.com"), "board@ssc.manage2soar.com")
        self.assertEqual(self.export().stdout, "")

    def test_unknown_list(self):
        # no such list: 1; not a list address at all: a usage error, 64
        for addr, rc in (("nosuch@ssc.manage2soar.com", 1), ("members@nowhere.example", 1),
                         ("members-owner@ssc.manage2soar.com", 64), ("no-at-sign", 64)):
            with self.subTest(addr):
                r = self.env.soarlist("archive", "export", addr)
                self.assertEqual(r.rc, rc, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertRegex(r.stderr, r"^soarlist: .*%s" % re.escape(addr))

    def test_archive_dir_unset(self):
        self.env.write_config()
        r = self.env.soarlist("archive", "export", LIST)
        self.assertEqual(r.rc, 78, r.stderr)  # a configuration error
        self.assertEqual(r.stdout, "")
        self.assertIn("archive_dir is not set", r.stderr)

    def test_usage_errors(self):
        cases = [("export",), ("export", LIST, "extra"), ("show", LIST), (),
                 ("export", LIST, "--bogus")]
        for d in ("2026-13-01", "2026-02-30", "2026-00-10", "26-01-01", "yesterday",
                  "2026-1-5", "2026-01-01x", "2026/01/01", "", "+2026-01-01"):
            cases += [("export", LIST, "--since", d), ("export", LIST, "--until=" + d)]
        for args in cases:
            with self.subTest(args):
                r = self.env.soarlist("archive", *args)
                self.assertEqual(r.rc, 64, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertRegex(r.stderr, r"^soarlist: ")

    def test_order_across_new_and_cur(self):
        caps = [self.distribute(post(body="post %d\n" % i)) for i in range(4)]
        # a mail reader moved two of them to cur/ and marked them seen
        for path in self.files()[1::2]:
            d, n = os.path.split(path)
            os.rename(path, os.path.join(os.path.dirname(d), "cur", n + ":2,S"))
        self.assertEqual(len(self.files("cur")), 2)
        msgs = self.read_mbox(self.export_bytes())
        self.assertEqual([m["Message-ID"] for m, _ in msgs],
                         [c.message["Message-ID"] for c in caps])


class Dates(ArchiveCase):
    def setUp(self):
        super().setUp()
        old = os.environ.get("TZ")
        os.environ["TZ"] = TZ
        time.tzset()

        def restore():
            if old is None:
                os.environ.pop("TZ", None)
            else:
                os.environ["TZ"] = old
            time.tzset()
        self.addCleanup(restore)

    def backdate(self, path, t, sub="new", name=None):
        """Give the archived file PATH archive time T (by its name)."""
        dst = os.path.join(self.maildir(), sub,
                           name or "%d.M0P1_0.test.example" % t)
        os.rename(path, dst)
        return dst

    def ids(self, *args):
        return [m["Message-ID"] for m, _ in self.read_mbox(self.export_bytes(*args))]

    def test_since_until(self):
        jan10 = local_midnight(2026, 1, 10)
        jan20 = local_midnight(2026, 1, 20)
        jan15 = local_midnight(2026, 1, 15)
        posts = {}
        for key in ("a", "b", "legacy", "now"):
            msgid = "<%s.%d@archive.test>" % (key, os.getpid())
            self.distribute(post(msgid=msgid))
            posts[key] = msgid
        files = self.files()  # in delivery order: same second at most
        files.sort(key=lambda p: [int(x) for x in re.findall(r"\d+", os.path.basename(p))[:2]])
        a, b, legacy, _ = files
        # a: exactly local midnight of Jan 10; b: the last second of Jan 19, in
        # cur/; legacy: a name without a time, dated by its mtime (Jan 15)
        self.backdate(a, jan10)
        self.backdate(b, jan20 - 1, "cur", "%d.M999999P1_0.test.example:2,S" % (jan20 - 1))
        legacy = self.backdate(legacy, 0, name="legacy-message")
        os.utime(legacy, (jan15 + 7200, jan15 + 7200))
        A, B, L, N = posts["a"], posts["b"], posts["legacy"], posts["now"]
        cases = [
            ((), [A, L, B, N]),
            (("--since", "2026-01-10"), [A, L, B, N]),
            (("--since", "2026-01-11"), [L, B, N]),
            (("--until", "2026-01-10"), []),
            (("--until", "2026-01-11"), [A]),
            (("--since", "2026-01-10", "--until", "2026-01-11"), [A]),
            (("--since", "2026-01-15", "--until", "2026-01-16"), [L]),
            (("--since", "2026-01-19", "--until", "2026-01-20"), [B]),
            (("--until", "2026-01-20"), [A, L, B]),
            (("--since", "2026-01-20"), [N]),
            (("--since=2026-01-16", "--until=2026-01-19"), []),
            (("--until", "2026-01-10", "--since", "2026-01-20"), []),
        ]
        for args, want in cases:
            with self.subTest(args):
                self.assertEqual(self.ids(*args), want)

    def test_from_line_carries_archive_time(self):
        self.distribute(post())
        [path] = self.files()
        t = local_midnight(2026, 3, 5) + 3 * 3600 + 4 * 60 + 7
        self.backdate(path, t)
        data = self.export_bytes()
        want = "From MAILER-DAEMON %s\n" % time.asctime(time.gmtime(t))
        self.assertTrue(data.startswith(want.encode()), data[:80])

    def test_local_day_boundary(self):
        # 23:30 local time on Mar 4 is Mar 4 whatever day it is in UTC
        self.distribute(post())
        [path] = self.files()
        self.backdate(path, local_midnight(2026, 3, 5) - 1800)
        self.assertEqual(len(self.ids("--since", "2026-03-04", "--until", "2026-03-05")), 1)
        self.assertEqual(self.ids("--since", "2026-03-05"), [])


def wrap(data, width=76):
    text = base64.b64encode(data)
    return b"\n".join(text[i:i + width] for i in range(0, len(text), width)) + b"\n"


class Big(ArchiveCase):
    def test_25mb_post_archived_and_exported_in_bounded_memory(self):
        rnd = random.Random(25)
        text = (b"From the start of a line\n>From quoted\n" * 1000 +
                b"x" * (3 * 1024 * 1024) + b"\n")  # one 3 MB line
        body = (b"--b0undary\nContent-Type: text/plain\n\n" + text +
                b"--b0undary\nContent-Type: application/octet-stream\n"
                b"Content-Transfer-Encoding: base64\n\n" +
                wrap(rnd.randbytes(17 * 1000 * 1000)) + b"--b0undary--\n")
        head = post(extra="MIME-Version: 1.0\n"
                    "Content-Type: multipart/mixed; boundary=\"b0undary\"\n", body="")
        path = os.path.join(self.env.root, "big.eml")
        with open(path, "wb") as f:
            f.write(head.encode() + body)
        self.assertGreater(os.path.getsize(path), 25 * 1000 * 1000)
        del body, text
        status, rss, err = self.env.deliver_rusage(path, LIST)
        self.assertEqual(status, 0, err)
        self.assertLess(rss, sanitizers.rss_limit(32 * 1024), "deliver peak RSS %d KiB" % rss)
        [cap] = self.env.captured()
        [archived] = self.files()
        with open(archived, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                             hashlib.sha256(cap.data).hexdigest())

        out = os.path.join(self.env.root, "big.mbox")
        argv = [harness.SOARLIST, "-c", self.env.config, "archive", "export", LIST]
        proc = subprocess.run([sys.executable, "-c", _RUSAGE_TO_FILE, out] + argv,
                              capture_output=True, timeout=300)
        status, rss = (int(x) for x in proc.stdout.split())
        self.assertEqual(status, 0, proc.stderr)
        self.assertLess(rss, sanitizers.rss_limit(20 * 1024), "export peak RSS %d KiB" % rss)
        self.assertGreater(os.path.getsize(out), 25 * 1000 * 1000)
        box = mailbox.mbox(out, create=False)
        self.addCleanup(box.close)
        self.assertEqual(len(box), 1)
        raw = box.get_bytes(box.keys()[0])
        self.assertEqual(raw.count(b"\n>>From quoted\n"), 1000)
        self.assertEqual(hashlib.sha256(unquote(raw)).hexdigest(),
                         hashlib.sha256(cap.data).hexdigest())


if __name__ == "__main__":
    tap.main()
