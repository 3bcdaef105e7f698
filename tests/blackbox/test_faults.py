"""test_faults.py - fault injection at every point of a delivery and of a
sync (issue 11 item 3), the way SQLite and curl test themselves.

tests/fault/fault.c is an LD_PRELOAD shim that fails the Nth call of one
kind (write, fsync, open, fork, malloc, sqlite3_step) and reports how many
calls of each kind a run made. For each path (a post, a hold, an approval
by email, a bounce, an owner forward, a sync) a clean run counts the calls;
then the path is run again from the same starting state once per injection
point N of each kind (every point of write, fsync, open, fork and
sqlite3_step; of malloc, which has thousands, the first, the last and an
even sample between), and every run must end in one of:

- 0, with the work really done: the capturing sendmail has the mail, or it
  is in the held table, or the bounce is scored, or the sync has the new
  data;
- 75 (or, after a failed malloc, death by a signal: g_malloc aborts, which
  Postfix's pipe(8) defers), with no state recorded: nothing handed to
  sendmail, no claim, no held row, no bounce score, no half sync.

After a deferred run a clean retry runs, and over both runs the work is
done exactly once: each recipient one copy, held once, scored once. Two
exceptions, both after a death by a signal once sendmail had the mail, and
both counted in the log: a post without Message-ID and an owner forward
record nothing that could tell the retry, which sends a second copy (never
none); a held post's retry finds it held and tells the owners again. No
copy sendmail accepts may be cut short. The allocations made after
sendmail started (where an abort could follow a successful sendmail) are
sampled densely: see points().

Every injection point is a subtest of its own: a failing point is a "not
ok" line naming the path, the kind, N and what went wrong.
"""
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import sanitizers  # noqa: E402
import tap  # noqa: E402
import test_bounces  # noqa: E402  (its DSN builders; its tests are not run here)

SHIM = os.environ.get("SOARLIST_FAULT_SHIM", "build/tests/fault/libsoarlist-fault.so")
KINDS = ("write", "fsync", "open", "fork", "sqlite3_step", "malloc")
# kinds looped over at every point; the others are sampled down to SAMPLE
EVERY = ("write", "fsync", "open", "fork")
SAMPLE = 8
EX_TEMPFAIL = 75

BOARD = "board@ssc.manage2soar.com"
BOARD_OWNER = "board-owner@ssc.manage2soar.com"
MEMBERS = "members@ssc.manage2soar.com"
STRANGER = "x@stranger.example"
CHAIR = "chair@example.org"
ADMIN = "postmaster@manage2soar.com"
LISTS = {"ssc/board": {"nonmember_action": "hold", "owners": CHAIR}}


# every kind, under sanitizers (see points())
SANITIZED_SAMPLE = 6
# of the allocations made after sendmail started (the window where an abort
# could follow a successful sendmail), at most this many, evenly spread
WINDOW = 10


def spread(first, last, most):
    """At most MOST points of FIRST..LAST, the first and the last included."""
    if last < first:
        return []
    if last - first + 1 <= most:
        return list(range(first, last + 1))
    step = (last - first) / (most - 1)
    return sorted({first + round(i * step) for i in range(most)})


def points(kind, count, after_fork=None):
    """The injection points 1..COUNT of KIND to run; AFTER_FORK: the malloc
    count when sendmail was forked (the points after it are sampled
    densely)."""
    if count <= 0:
        return []
    if sanitizers.SANITIZED:
        # under ASan every run costs several times more and the shim sees
        # no malloc (ASan's allocator is the executable's own): this run is
        # for sanitizer reports on the error paths, the plain build's run
        # for every point
        return spread(1, count, SANITIZED_SAMPLE)
    if kind in EVERY or count <= SAMPLE:
        return list(range(1, count + 1))
    out = set(spread(1, count, SAMPLE))
    if kind == "malloc" and after_fork:
        out |= set(spread(after_fork + 1, count, WINDOW))
    return sorted(out)


def read_report(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, v = line.split()
                out[k] = int(v)
    except FileNotFoundError:
        return None
    return out


class Run:
    def __init__(self, rc, stderr, captures, report):
        self.rc = rc
        self.stderr = stderr
        self.captures = captures
        self.report = report

    def __repr__(self):
        return "rc=%s stderr=%r captures=%d" % (self.rc, self.stderr.strip(),
                                                len(self.captures))


class FaultPath:
    """One path: prepare() makes the starting state once; run() does the
    path once (with the shim's environment ENV, or none); done(), nothing()
    and once() check the state after a run that said 0, a run that
    deferred, and all runs together."""

    name = None
    lists = LISTS
    deferred = (EX_TEMPFAIL,)

    def __init__(self, test):
        self.t = test
        self.env = harness.Env()
        test.addCleanup(self.env.cleanup)
        self.env.setup_default(lists=self.lists)
        self.prepare()
        self.snapshot()

    def prepare(self):
        pass

    # --- the starting state, saved once and restored before every run

    def snapshot(self):
        con = sqlite3.connect(self.env.db)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        self.template = self.env.db + ".template"
        shutil.copyfile(self.env.db, self.template)
        self.saved_apis = {}
        for slug in ("ssc", "other"):
            with open(self.env.api_path(slug), "rb") as f:
                self.saved_apis[slug] = f.read()

    def restore(self):
        for suffix in ("-wal", "-shm"):
            try:
                os.unlink(self.env.db + suffix)
            except FileNotFoundError:
                pass
        shutil.copyfile(self.template, self.env.db)
        for name in os.listdir(self.env.cap):
            shutil.rmtree(os.path.join(self.env.cap, name))

    # --- running

    def shim_env(self, spec):
        report = os.path.join(self.env.root, "fault-report")
        try:
            os.unlink(report)
        except FileNotFoundError:
            pass
        env = dict(os.environ, LD_PRELOAD=SHIM, SOARLIST_FAULT=spec,
                   SOARLIST_FAULT_REPORT=report)
        return env, report

    def go(self, spec=None):
        """Run the path; SPEC: the shim's fault ("kind:N"), or None for a
        run without the shim."""
        env, report = (self.shim_env(spec) if spec is not None else (None, None))
        for name in os.listdir(self.env.cap):
            shutil.rmtree(os.path.join(self.env.cap, name))
        rc, stderr = self.run(env)
        return Run(rc, stderr, self.env.captured(),
                   read_report(report) if report else None)

    def uncertain(self, run):
        """The check of a run deferred after a failed fsync (see one())."""
        self.no_mail(run, "deferred")

    def retry_ok(self, retry):
        """Whether the clean retry after a deferred run ended well."""
        return retry.rc == 0

    def deliver(self, message, recipient, sender, env):
        r = self.env.deliver(message, recipient, sender=sender, env=env)
        return r.rc, r.stderr

    # --- checks (assertions on self.t)

    def done(self, run):
        raise NotImplementedError

    def nothing(self, run):
        raise NotImplementedError

    def once(self, runs):
        raise NotImplementedError

    def no_mail(self, run, why):
        self.t.assertEqual(
            [c.recipients for c in run.captures], [],
            "%s, yet sendmail was given a copy (a copy accepted while the "
            "agent defers is sent twice)" % why)


class Post(FaultPath):
    name = "post"

    def prepare(self):
        self.msg = harness.post(msgid="<fault-post@example.org>")

    def run(self, env):
        return self.deliver(self.msg, MEMBERS, "alice@example.org", env)

    def sent_rows(self):
        return self.env.query("SELECT state FROM recent_message "
                              "WHERE message_id = 'fault-post@example.org'")

    def done(self, run):
        self.t.assertEqual(len(run.captures), 1, "0 without one sendmail call")
        self.t.assertEqual(harness.folded(run.captures[0].recipients), self.t.want)

    def nothing(self, run):
        self.no_mail(run, "deferred")
        self.t.assertNotIn(("sent",), self.sent_rows(), "deferred, yet recorded as sent")

    def once(self, runs):
        got = harness.folded(a for r in runs for c in r.captures for a in c.recipients)
        self.t.assertEqual(got, self.t.want, "each member one copy over all runs")


# paths whose copies an abort after sendmail makes Postfix send again:
# {path name: how many injection points did}
DUPLICATES = {}


def once_or_duplicate(path, runs, base_once):
    """ONCE for a path that records nothing about what it sent: after a
    death by a signal past a successful sendmail, the retry sends it again
    and nothing recorded could tell it. The rule there is that the retry
    never drops it: a duplicate, counted for the log, rather than a loss."""
    if runs[0].rc >= 0 or not runs[0].captures:
        return base_once(runs)
    got = [a.lower() for r in runs for c in r.captures for a in c.recipients]
    want = path.t.want if hasattr(path.t, "want") else None
    path.t.assertEqual(sorted(set(got)), sorted(set(want or got)), "a recipient got no copy")
    DUPLICATES[path.name] = DUPLICATES.get(path.name, 0) + 1


class PostWithoutMessageId(Post):
    """No Message-ID: no claim, nothing to stop a second copy but the exit
    status (see once_or_duplicate)."""
    name = "post-without-message-id"

    def prepare(self):
        self.msg = harness.post(msgid=None)

    def once(self, runs):
        once_or_duplicate(self, runs, super().once)


class Hold(FaultPath):
    """A post from a non-member to a list with nonmember_action = hold."""
    name = "hold"
    address = BOARD
    sender = STRANGER

    def prepare(self):
        self.msg = harness.post(from_="Xavier <%s>" % self.sender, to=self.address,
                                msgid="<fault-hold@x>", subject="May I?")

    def run(self, env):
        return self.deliver(self.msg, self.address, self.sender, env)

    def held(self):
        return self.env.query("SELECT content FROM held_message")

    def members_mail(self, run):
        return [c for c in run.captures if c.recipients != [CHAIR]]

    def done(self, run):
        rows = self.held()
        self.t.assertEqual(len(rows), 1, "0 without a held row")
        self.t.assertEqual(rows[0][0], self.msg.encode())
        self.t.assertEqual(self.members_mail(run), [], "held, yet distributed")
        listed = self.env.soarlist("held")
        self.t.assertIn(self.address, listed.stdout)

    def nothing(self, run):
        self.t.assertEqual(self.held(), [], "deferred, yet a held row")
        self.no_mail(run, "deferred")

    def once(self, runs):
        self.t.assertEqual(len(self.held()), 1, "held once over all runs")
        self.t.assertEqual(sum(len(self.members_mail(r)) for r in runs), 0)
        notices = sum(len(r.captures) for r in runs)
        if runs[0].rc < 0 and notices == 2:
            # died after the notice went out: the retry finds the post
            # held and tells the owners again (held.c: better twice than
            # never), with the same reply address
            a, b = [c for r in runs for c in r.captures]
            self.t.assertEqual(a.message["Reply-To"], b.message["Reply-To"])
            DUPLICATES[self.name] = DUPLICATES.get(self.name, 0) + 1
            return
        self.t.assertLessEqual(notices, 1, "the owners noticed more than once")


class ModeratedHold(Hold):
    """A member's post to a moderated list."""
    name = "hold-moderated"
    lists = {"ssc/members": {"moderated": "yes", "owners": CHAIR}}
    address = MEMBERS
    sender = "alice@example.org"


class Approve(FaultPath):
    """An owner's "approve" reply to the -request+TOKEN address."""
    name = "approve-by-email"

    def prepare(self):
        msg = harness.post(from_=STRANGER, to=BOARD, msgid="<fault-appr@x>",
                           subject="Question")
        r = self.env.deliver(msg, BOARD, sender=STRANGER)
        assert r.rc == 0, r.stderr
        self.addr = r.capture.message["Reply-To"]
        self.reply = ("From: Chair <%s>\nTo: %s\nSubject: Re: Held post\n"
                      "Message-ID: <fault-reply@x>\n\napprove\n\n> held\n"
                      % (CHAIR, self.addr))

    def run(self, env):
        return self.deliver(self.reply, self.addr, CHAIR, env)

    def held(self):
        return self.env.query("SELECT count(*) FROM held_message")[0][0]

    def done(self, run):
        self.t.assertEqual(len(run.captures), 1, "0 without one sendmail call")
        self.t.assertEqual(harness.folded(run.captures[0].recipients), self.t.want)
        if self.held() == 0:
            return
        # distributed, but the row could not be deleted (logged): approving
        # it again must find it sent (a duplicate) and send nothing
        self.t.assertTrue(any("approved but not forgotten" in line
                              for line in self.env.log_lines()))
        (held_id,), = self.env.query("SELECT id FROM held_message")
        r = self.env.soarlist("approve", str(held_id))
        self.t.assertEqual(r.rc, 0, r.stderr)
        self.t.assertEqual(len(self.env.captured()), 1, "approved twice, sent twice")
        self.t.assertEqual(self.held(), 0, "still held after the second approval")

    def nothing(self, run):
        self.t.assertEqual(self.held(), 1, "deferred, yet no longer held")
        self.no_mail(run, "deferred")

    def retry_ok(self, retry):
        # an abort after the approval was done (the post sent and no longer
        # held, the agent dying in its last allocations): Postfix's retry
        # of the reply finds the token used and tells the moderator so
        # (77), as a second reply would; nothing lost, nothing sent twice
        # (once() checks both)
        return retry.rc == 0 or (retry.rc == 77 and self.held() == 0)

    def once(self, runs):
        # the approved post has a Message-ID: never a second copy
        self.t.assertEqual(self.held(), 0, "still held after the retry")
        got = harness.folded(a for r in runs for c in r.captures for a in c.recipients)
        self.t.assertEqual(got, self.t.want, "each member one copy over all runs")


class CliApprove(Approve):
    """`soarlist approve ID`: 0 distributed; 75 (sendmail or the agent's
    run deferred) or 1 (a database failure) with the post still held."""
    name = "approve-by-command"
    deferred = (1, EX_TEMPFAIL)

    def prepare(self):
        super().prepare()
        (self.held_id,), = self.env.query("SELECT id FROM held_message")

    def run(self, env):
        proc = subprocess.run([harness.SOARLIST, "-c", self.env.config, "approve",
                               str(self.held_id)], capture_output=True, timeout=120, env=env)
        return proc.returncode, proc.stderr.decode("utf-8", "replace")

    def uncertain(self, run):
        if "approved but cannot be forgotten" in run.stderr:
            return self.nothing(run)
        super().uncertain(run)

    def nothing(self, run):
        if "approved but cannot be forgotten" in run.stderr:
            # exit 1 for the administrator, who is told what to do; the
            # post went out once and approving it again sends nothing
            # (checked by once() after the retry)
            self.t.assertEqual(len(run.captures), 1)
            self.t.assertEqual(harness.folded(run.captures[0].recipients), self.t.want)
            return
        super().nothing(run)

    def retry_ok(self, retry):
        # after an abort past the approval, the administrator running the
        # command again is told the post was handled
        return retry.rc == 0 or (retry.rc == 1 and "already handled" in retry.stderr)

    def once(self, runs):
        if runs[-1].rc == 1:
            self.t.assertEqual(self.held(), 0)
            got = harness.folded(a for r in runs for c in r.captures for a in c.recipients)
            self.t.assertEqual(got, self.t.want, "each member one copy over all runs")
            return
        super().once(runs)


class Bounce(FaultPath):
    """A DSN for a member to the list's VERP address: scored."""
    name = "bounce"
    lists = None

    def prepare(self):
        key = self.env.query("SELECT secret FROM bounce_key")[0][0]
        old = test_bounces.KEY
        test_bounces.KEY = key
        try:
            self.dsn = test_bounces.postfix_dsn("bob@example.com")
        finally:
            test_bounces.KEY = old

    def run(self, env):
        return self.deliver(self.dsn, test_bounces.verp("bob@example.com"), "", env)

    def scores(self):
        return self.env.query("SELECT address FROM bounce_score")

    def done(self, run):
        self.t.assertEqual(self.scores(), [("bob@example.com",)], "0 without a score")
        self.t.assertEqual(run.captures, [])

    def nothing(self, run):
        self.t.assertEqual(self.scores(), [], "deferred, yet scored")
        self.no_mail(run, "deferred")

    def once(self, runs):
        self.t.assertEqual(self.scores(), [("bob@example.com",)], "scored once")
        self.t.assertEqual(sum(len(r.captures) for r in runs), 0)


class OwnerForward(FaultPath):
    name = "owner-forward"

    def prepare(self):
        self.msg = ("From: someone@example.net\nTo: %s\nSubject: question\n"
                    "Message-ID: <fault-own@x>\n\nhello owners\n" % BOARD_OWNER)

    def run(self, env):
        return self.deliver(self.msg, BOARD_OWNER, "someone@example.net", env)

    def done(self, run):
        self.t.assertEqual([c.recipients for c in run.captures], [[CHAIR]],
                           "0 without the forward")

    def nothing(self, run):
        self.no_mail(run, "deferred")

    def once(self, runs):
        once_or_duplicate(self, runs, self.exactly_once)

    def exactly_once(self, runs):
        self.t.assertEqual([c.recipients for r in runs for c in r.captures], [[CHAIR]],
                           "the owners got it once over all runs")


def changed_answers():
    """The answers the sync paths store over the canonical ones: a member
    gone and one added, a new list, a new whitelisted address, and a
    member more on every list of the other club."""
    ssc = harness.m2s_answer("ssc")
    ssc["lists"]["members"] = ssc["lists"]["members"][1:] + ["newbie@example.net"]
    ssc["lists"]["fresh"] = ["fresh1@example.net", "fresh2@example.net"]
    ssc["whitelist"] = ssc["whitelist"] + ["newbie@example.net"]
    other = harness.m2s_answer("other")
    for name in other["lists"]:
        other["lists"][name] = other["lists"][name] + ["late@example.org"]
    return ssc, other


class Sync(FaultPath):
    """`soarlist sync` of changed answers of both clubs over file://. A
    failed club keeps its previous data (exit 1, as soarlist(1) says, or
    75); never half of the new."""
    name = "sync"
    lists = None
    deferred = (1, EX_TEMPFAIL)

    def prepare(self):
        self.env.write_config(extra="retry_backoff = 0")
        self.old = self.members()
        ssc, other = changed_answers()
        self.env.write_api("ssc", ssc)
        self.env.write_api("other", other)

    def snapshot(self):
        super().snapshot()
        # the new answers stay; only the database goes back

    def run(self, env):
        cmd = [harness.SOARLIST, "-c", self.env.config, "sync"]
        proc = subprocess.run(cmd, capture_output=True, timeout=120, env=env)
        return proc.returncode, proc.stderr.decode("utf-8", "replace")

    def members(self):
        rows = self.env.query("SELECT c.slug, l.name, m.address FROM club c "
                              "JOIN list l ON l.club_id = c.id "
                              "JOIN list_member m ON m.list_id = l.id")
        out = {}
        for slug, lst, addr in rows:
            out.setdefault(slug, set()).add((lst, addr.lower()))
        return out

    def lists_of(self):
        rows = self.env.query("SELECT c.slug, l.name FROM club c "
                              "JOIN list l ON l.club_id = c.id")
        out = {}
        for slug, lst in rows:
            out.setdefault(slug, set()).add(lst)
        return out

    def done(self, run):
        self.t.assertEqual(self.members(), self.t.want, "0 without all the new data")

    def nothing(self, run):
        now = self.members()
        for slug in ("ssc", "other"):
            self.t.assertIn(now.get(slug), (self.old.get(slug), self.t.want.get(slug)),
                            "club %s: half a sync" % slug)

    def once(self, runs):
        self.t.assertEqual(self.members(), self.t.want, "the retry synced")


class HttpsSync(Sync):
    """The same sync against the local M2S (m2s_server.py) over HTTPS with
    a private CA: libcurl, TLS and the API key file in the loop."""
    name = "sync-https"

    def prepare(self):
        import m2s_server
        certs = m2s_server.Certs(os.path.join(self.env.root, "certs"))
        self.srv = m2s_server.M2S(certs)
        self.t.addCleanup(self.srv.close)
        keyfile = os.path.join(self.env.root, "api.key")
        with open(keyfile, "w") as f:
            f.write("fault-key\n")
        os.chmod(keyfile, 0o600)
        self.srv.add_club("ssc", harness.m2s_answer("ssc"), key="fault-key")
        self.srv.add_club("other", harness.m2s_answer("other"), key="fault-key")
        out = ["[soarlist]", "database = %s" % self.env.db,
               "sendmail = %s" % self.env.sendmail, "admin = %s" % ADMIN,
               "log_file = %s" % self.env.log, "api_key_file = %s" % keyfile,
               "ca_file = %s" % certs.ca_file, "retry_backoff = 0", ""]
        for slug, domains in (("ssc", "ssc.manage2soar.com;skylinesoaring.org"),
                              ("other", "other.manage2soar.com")):
            out += ["[club %s]" % slug, "name = %s" % slug,
                    "api_url = %s" % self.srv.url(slug), "domains = %s" % domains, ""]
        with open(self.env.config, "w") as f:
            f.write("\n".join(out))
        r = self.env.soarlist("sync")
        assert r.rc == 0, r.stderr
        self.old = self.members()
        ssc, other = changed_answers()
        self.srv.set_data("ssc", ssc)
        self.srv.set_data("other", other)


class Faults(unittest.TestCase):
    """One test per path; one subtest per injection point."""

    counts = {}

    def loop(self, cls):
        path = cls(self)
        path.restore()
        clean = path.go("none:0")
        self.assertEqual(clean.rc, 0, "the clean run: %r" % clean)
        self.assertIsNotNone(clean.report, "the shim wrote no report: is it loaded?")
        self.assertEqual(clean.report["fired"], 0)
        if isinstance(path, Sync):
            self.want = path.members()
        elif clean.captures:
            self.want = harness.folded(clean.captures[0].recipients)
        self.tail = clean.captures[0].body() if clean.captures else None
        after_fork = clean.report["malloc_at_fork"] if clean.report["fork"] else None
        Faults.counts[path.name] = dict(clean.report)
        for kind in KINDS:
            for n in points(kind, clean.report[kind], after_fork):
                with self.subTest(path=path.name, fault="%s:%d" % (kind, n)):
                    self.one(path, kind, n)

    def one(self, path, kind, n):
        path.restore()
        run = path.go("%s:%d" % (kind, n))
        runs = [run]
        self.whole(run)
        if run.rc == 0:
            path.done(run)
            return
        if run.rc < 0:
            # only a failed allocation may end in a signal (g_malloc aborts,
            # and pipe(8) defers a signalled command)
            self.assertEqual(kind, "malloc", "died by signal %d: %r" % (-run.rc, run))
            self.assertIn(-run.rc, (signal.SIGABRT, signal.SIGTRAP),
                          "died by signal %d: %r" % (-run.rc, run))
        else:
            self.assertIn(run.rc, path.deferred, "neither 0 nor deferred: %r" % run)
            if kind == "fsync":
                # SQLite reports a commit whose WAL fsync failed as failed,
                # yet the frames it wrote may be read back: the agent must
                # defer (the write is not durable), and the retry must find
                # the work done, not do it twice (checked by once())
                path.uncertain(run)
            else:
                path.nothing(run)
        retry = path.go()
        self.assertTrue(path.retry_ok(retry), "the clean retry: %r" % retry)
        self.whole(retry)
        runs.append(retry)
        path.once(runs)

    def whole(self, run):
        """No copy that sendmail accepted is cut short."""
        if self.tail is None:
            return
        for c in run.captures:
            if c.recipients == self.want or harness.folded(c.recipients) == self.want:
                self.assertEqual(c.body(), self.tail,
                                 "sendmail accepted a truncated copy: %r" % run)

    def test_post(self):
        self.loop(Post)

    def test_post_without_message_id(self):
        self.loop(PostWithoutMessageId)

    def test_hold(self):
        self.loop(Hold)

    def test_hold_moderated(self):
        self.loop(ModeratedHold)

    def test_approve_by_email(self):
        self.loop(Approve)

    def test_approve_by_command(self):
        self.loop(CliApprove)

    def test_bounce(self):
        self.loop(Bounce)

    def test_owner_forward(self):
        self.loop(OwnerForward)

    def test_sync(self):
        self.loop(Sync)

    if not sanitizers.SANITIZED:  # under ASan the shim sees no malloc
        def test_post_abort_after_sendmail(self):
            """Every allocation after sendmail started, failed in turn, for a
            post with a Message-ID: whatever an abort there leaves, the
            retry is neither dropped (a claim lapses with its process) nor
            a second copy (the post is recorded as sent before anything
            could abort)."""
            path = Post(self)
            path.restore()
            clean = path.go("none:0")
            self.assertEqual(clean.rc, 0, repr(clean))
            self.want = harness.folded(clean.captures[0].recipients)
            self.tail = clean.captures[0].body()
            first = clean.report["malloc_at_fork"] + 1
            self.assertGreater(clean.report["malloc"], first)
            for n in range(first, clean.report["malloc"] + 1):
                with self.subTest(path="post", fault="malloc:%d" % n):
                    self.one(path, "malloc", n)

    def test_sync_https(self):
        self.loop(HttpsSync)


class HoldRetry(harness.EnvTestCase):
    """What the hold points above found: a hold committed although the
    agent then deferred or died (a commit reported failed after its WAL
    frames were written, an abort in g_malloc after the commit) is retried
    by Postfix, and the retry must not hold the post twice."""

    lists = LISTS

    def hold(self, msg, sender=STRANGER):
        r = self.env.deliver(msg, BOARD, sender=sender)
        self.assertEqual(r.rc, 0, r.stderr)
        return r

    def test_retry_of_a_held_post_holds_it_once(self):
        msg = harness.post(from_=STRANGER, to=BOARD, msgid="<again@x>")
        first = self.hold(msg)
        second = self.hold(msg)
        rows = self.env.query("SELECT id, token FROM held_message")
        self.assertEqual(len(rows), 1, rows)
        # the owners are told again (the first notice may never have left),
        # with the same reply address
        self.assertEqual(first.capture.message["Reply-To"],
                         second.capture.message["Reply-To"])
        self.assertIn("held id=%d" % rows[0][0], self.env.deliver_log_lines()[-1])

    def test_other_posts_are_held_apart(self):
        msg = harness.post(from_=STRANGER, to=BOARD, msgid="<one@x>")
        self.hold(msg)
        # another body, another sender, another Message-ID: held each
        self.hold(msg.replace("Hello list", "Hello again"))
        self.hold(msg, sender="y@stranger.example")
        self.hold(msg.replace("<one@x>", "<two@x>"))
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(4,)])


def tearDownModule():
    # the number of injection points per path, for the log
    for name, counts in sorted(Faults.counts.items()):
        after_fork = counts["malloc_at_fork"] if counts["fork"] else None
        print("# %s: %s; malloc after sendmail started %s (points run: %s)" % (
            name, ", ".join("%s %d" % (k, counts[k]) for k in KINDS),
            counts["malloc"] - after_fork if after_fork else 0,
            sum(len(points(k, counts[k], after_fork)) for k in KINDS)))
    for name, n in sorted(DUPLICATES.items()):
        print("# %s: %d injection points where an abort after sendmail made "
              "the retry send a second %s" % (name, n, "notice" if name.startswith("hold") else "copy"))


if __name__ == "__main__":
    tap.main()
