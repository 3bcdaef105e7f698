"""harness.py - a scratch soarlist installation for black-box tests.

Each Env is a temporary directory with a config file, M2S API answers
served over file://, a SQLite database made by the real `soarlist sync`,
and a capturing sendmail (a shell script) that records its argv and the
bytes it read, and exits with the status in the file `sendmail-exit`.
The programs under test are the built binaries named by the environment
variables SOARLIST_BIN and SOARLIST_DELIVER (set by tests/blackbox/meson.build).
"""
import email
import email.policy
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

SOARLIST = os.environ.get("SOARLIST_BIN", "build/src/soarlist/soarlist")
DELIVER = os.environ.get("SOARLIST_DELIVER", "build/src/deliver/soarlist-deliver")

FAKE_SENDMAIL = """#!/bin/sh
# capturing sendmail for tests: argv NUL-separated, stdin verbatim; a run
# is captured (renamed into place) once it has read its whole input, so a
# sendmail killed half-way (its agent aborted) never shows as a capture
t="{root}/sendmail-tmp/$(date +%s%N)-$$"
mkdir -p "$t"
for a in "$@"; do printf '%s\\0' "$a"; done > "$t/argv"
cat > "$t/stdin" || exit 75
mv "$t" "{cap}/${{t##*/}}"
if [ -f "{root}/sendmail-exit" ]; then exit "$(cat "{root}/sendmail-exit")"; fi
exit 0
"""



def patch_script(script, old, new):
    """SCRIPT with its first OLD replaced by NEW; an OLD it lacks (the fake
    sendmail changed under a test) is an error, not a silent no-op."""
    if old not in script:
        raise AssertionError("%r is not in the script:\n%s" % (old, script))
    return script.replace(old, new, 1)


_RUSAGE_HELPER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""

# The clubs of DESIGN.md: two domains for ssc, one for a second club. Their
# M2S answers are the canonical files of tests/data/m2s (see its README):
# exactly what the real endpoint sends. Derive variants with copy.deepcopy.
M2S_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "m2s")


def m2s_answer(slug):
    """The canonical M2S answer of club SLUG (a new dict each call)."""
    with open(os.path.join(M2S_DATA, slug + ".json"), encoding="utf-8") as f:
        return json.load(f)


SSC_API = m2s_answer("ssc")
OTHER_API = m2s_answer("other")


class Capture:
    """One sendmail invocation: argv (without argv[0]) and stdin bytes."""

    def __init__(self, path):
        with open(os.path.join(path, "argv"), "rb") as f:
            self.argv = [a.decode() for a in f.read().split(b"\0")[:-1]]
        with open(os.path.join(path, "stdin"), "rb") as f:
            self.data = f.read()

    @property
    def message(self):
        return email.message_from_bytes(self.data, policy=email.policy.compat32)

    @property
    def parsed(self):
        """The message as a modern MUA sees it (email.policy.default)."""
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def recipients(self):
        return self.argv[self.argv.index("--") + 1:]

    def header_block(self):
        return self.data.split(b"\n\n", 1)[0].decode("utf-8", "replace")

    def body(self):
        """The bytes after the blank line ending the header block."""
        return split_message(self.data)[1]

    def header_values(self, name):
        return [v for n, v in header_fields(self.data) if n.lower() == name.lower()]


class Result:
    def __init__(self, proc, captures):
        self.rc = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")
        self.captures = captures

    @property
    def capture(self):
        assert len(self.captures) == 1, "want 1 sendmail call, got %d" % len(self.captures)
        return self.captures[0]


class Env:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="soarlist-test-")
        self.cap = os.path.join(self.root, "captured")
        os.mkdir(self.cap)
        self.db = os.path.join(self.root, "soarlist.db")
        self.log = os.path.join(self.root, "soarlist.log")
        self.config = os.path.join(self.root, "soarlist.conf")
        self.sendmail = os.path.join(self.root, "sendmail")
        with open(self.sendmail, "w") as f:
            f.write(FAKE_SENDMAIL.format(cap=self.cap, root=self.root))
        os.chmod(self.sendmail, 0o755)
        self.apis = {}

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)

    def api_path(self, slug):
        return os.path.join(self.root, "api-%s.json" % slug)

    def write_api(self, slug, data):
        """DATA: a dict (dumped as JSON) or str/bytes written as they are."""
        if isinstance(data, dict):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode()
        with open(self.api_path(slug), "wb") as f:
            f.write(data)

    def write_config(self, clubs=None, lists=None, extra="", dev_redirect="",
                     club_extra=None):
        """CLUBS: {slug: (name, "dom1;dom2")}; LISTS: {"slug/list": {k: v}};
        CLUB_EXTRA: {slug: "key = value lines"} added to that club's group."""
        if clubs is None:
            clubs = {"ssc": ("Skyline Soaring Club",
                             "ssc.manage2soar.com;skylinesoaring.org"),
                     "other": ("Other Gliding Club", "other.manage2soar.com")}
        out = ["[soarlist]",
               "database = %s" % self.db,
               "sendmail = %s" % self.sendmail,
               "admin = postmaster@manage2soar.com",
               "dev_redirect = %s" % dev_redirect,
               "log_file = %s" % self.log,
               extra, ""]
        for slug, (name, domains) in clubs.items():
            out += ["[club %s]" % slug, "name = %s" % name,
                    "api_url = file://%s" % self.api_path(slug),
                    "domains = %s" % domains,
                    (club_extra or {}).get(slug, ""), ""]
        for key, settings in (lists or {}).items():
            out.append("[list %s]" % key)
            out += ["%s = %s" % kv for kv in settings.items()]
            out.append("")
        with open(self.config, "w") as f:
            f.write("\n".join(out))

    def setup_default(self, lists=None, dev_redirect="", sync=True):
        self.write_api("ssc", SSC_API)
        self.write_api("other", OTHER_API)
        self.write_config(lists=lists, dev_redirect=dev_redirect)
        if sync:
            r = self.soarlist("sync")
            assert r.rc == 0, "sync failed: %s" % r.stderr

    def soarlist(self, *args, config=True):
        cmd = [SOARLIST] + (["-c", self.config] if config else []) + list(args)
        proc = subprocess.run(cmd, capture_output=True, timeout=120)
        return Result(proc, [])

    def captured(self):
        """Every sendmail call that read its whole input, oldest first. The
        fake sendmail renames its capture into place only then: the one of
        an earlier delivery that died (the fault tests abort the agent;
        PR_SET_PDEATHSIG kills the script, not the command it runs) is
        never seen half made."""
        return [Capture(os.path.join(self.cap, name))
                for name in sorted(os.listdir(self.cap))]

    def deliver(self, message, recipient, sender="alice@example.org",
                args=None, env=None):
        """Pipe MESSAGE (bytes or str) into soarlist-deliver."""
        for name in os.listdir(self.cap):
            shutil.rmtree(os.path.join(self.cap, name))
        if isinstance(message, str):
            message = message.encode()
        if args is None:
            args = ["-c", self.config, "-f", sender, "--", recipient]
        proc = subprocess.run([DELIVER] + args, input=message,
                              capture_output=True, timeout=120, env=env)
        return Result(proc, self.captured())

    def set_sendmail_exit(self, status):
        with open(os.path.join(self.root, "sendmail-exit"), "w") as f:
            f.write(str(status))

    def write_sendmail(self, script):
        """Replace the fake sendmail by SCRIPT (a shell script)."""
        with open(self.sendmail, "w") as f:
            f.write(script)
        os.chmod(self.sendmail, 0o755)

    def query(self, sql, *args):
        """Rows of SQL run against the test database (read-only)."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def deliver_rusage(self, path, recipient, sender="alice@example.org"):
        """Deliver the message in file PATH; return (status, peak RSS in KiB,
        stderr text), the RSS as os.wait4 reports it for that child.

        A small helper process forks and execs soarlist-deliver and waits for
        it: a child vforked straight from this test process would inherit this
        process's RSS high-water mark at exec and report it as its own (Linux
        keeps the larger of the old and new mm's peak in ru_maxrss). The value
        reported is max(helper RSS at fork, soarlist-deliver's peak), an upper
        bound of the latter."""
        for name in os.listdir(self.cap):
            shutil.rmtree(os.path.join(self.cap, name))
        argv = [DELIVER, "-c", self.config, "-f", sender, "--", recipient]
        with open(path, "rb") as stdin:
            proc = subprocess.run([sys.executable, "-c", _RUSAGE_HELPER] + argv,
                                  stdin=stdin, capture_output=True, timeout=300)
        status, maxrss = proc.stdout.split()
        return int(status), int(maxrss), proc.stderr.decode("utf-8", "replace")

    def deliver_log_lines(self):
        return [l for l in self.log_lines() if " soarlist-deliver[" in l]

    def log_lines(self):
        try:
            with open(self.log, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


def post(from_="Alice Example <alice@example.org>",
         to="members@ssc.manage2soar.com", subject="Hello",
         msgid="<m1@example.org>", extra="", body="Hello list\n"):
    """A simple text post; EXTRA is added verbatim to the header block."""
    head = ["From: %s" % from_ if from_ is not None else None,
            "To: %s" % to, "Subject: %s" % subject,
            "Message-ID: %s" % msgid if msgid else None,
            "Date: Tue, 24 Nov 2026 10:00:00 +0000"]
    text = "\n".join(h for h in head if h) + "\n" + extra
    return text + "\n" + body


def split_message(data):
    """(header bytes, body bytes) split at the first empty line, LF or CRLF."""
    m = re.search(rb"\r?\n\r?\n", data)
    if m is None:
        return data, b""
    return data[:m.start()], data[m.end():]


def header_fields(data):
    """[(name, unfolded raw value)] of the header block of DATA."""
    out = []
    for line in re.split(rb"\r?\n", split_message(data)[0]):
        text = line.decode("utf-8", "replace")
        if text[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + text)
        elif ":" in text:
            name, value = text.split(":", 1)
            out.append((name, value.strip()))
        else:
            out.append((text, None))
    return out


def folded(addresses):
    """ADDRESSES sorted and lowercased: sendmail's recipients compared the
    way mail compares them (a member's Bob@Example.com is bob@example.com),
    each copy kept, so that a repeated address shows twice."""
    return sorted(a.lower() for a in addresses)


def stored(addresses):
    """ADDRESSES (one list of an M2S answer) as soarlist stores and shows
    them: each address once, compared without case, as first spelled, its
    domain lowercased; sorted as `sorted` sorts."""
    seen = {}
    for a in addresses:
        local, _, domain = a.rpartition("@")
        a = local + "@" + domain.lower()
        seen.setdefault(a.lower(), a)
    return sorted(seen.values())


_msgid_counter = [0]


def uniq_post(**kw):
    """post() with a Message-ID of its own (no duplicate drops between posts)."""
    _msgid_counter[0] += 1
    kw.setdefault("msgid", "<t%d.%d@test.example>" % (os.getpid(), _msgid_counter[0]))
    return post(**kw)


class EnvTestCase(unittest.TestCase):
    """A test case with a fresh Env, synced with the default clubs."""

    lists = None
    dev_redirect = ""

    def setUp(self):
        self.env = Env()
        self.addCleanup(self.env.cleanup)
        self.env.setup_default(lists=self.lists, dev_redirect=self.dev_redirect)
