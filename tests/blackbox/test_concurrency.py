"""test_concurrency.py - deliveries, syncs and approvals all at once (issue
11 item 4): rounds of 16 or more soarlist-deliver runs to several lists of
one club with overlapping members (one list moderated), posts cross-posted
to two lists or to one list on both of its domains under one Message-ID,
posts without a Message-ID, and a post to a second club, while `soarlist
sync --force` loops on M2S answers that change from one run to the next (an
unrelated member comes and goes, list order changes) and held posts are
approved with `soarlist approve`, by an emailed "approve" reply to the
notice, or both at the same moment.

Every run that exits 75 is run again with the same input, as Postfix and a
moderator would, until it exits 0 (or, for a moderator who came second,
says so). Then: every exit status was one the contracts allow (deliveries 0
or 75, sync 0 or 75, approve 0, 75 or 1 for the one who came second, an
emailed reply 0, 75 or 77 for the one who came second); every person on a
post's lists got that post exactly once, nobody else got it (an address
that the sync added or removed meanwhile got it at most once); each held
post was approved once and distributed once, and its notice sent at most
once; nothing is left held; the database passes integrity_check.

The database's busy_timeout is set in the config on purpose. Concurrency
runs with 10 s (the default, written out): runs wait for each other's
locks, and the 75s come from the claims (an emailed reply while another
moderator acts) and from a capturing sendmail that fails the first run of
each post to one list with 75 and records nothing, so claims are given
back under load. ShortBusyTimeout runs the same scenarios with a
busy_timeout of 0 to 50 ms (most runs then meet a locked database and exit
75, the retry path at its busiest) and with the first sendmail run of
cross-posts failing. Regressions reproduces, in a fixed order, the two bugs
those scenarios found: a record written after sendmail succeeded gave up
on the lock, and a second copy went out; a person on two lists of a
cross-post was lost when one list's sendmail failed while the other list
was delivered. The capturing sendmail sleeps a little, so a winner holds
its claim while others try. Each scenario has its own seed; its figures
(runs, 75s) are printed as TAP comments.
"""
import collections
import copy
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

SSC = "ssc.manage2soar.com"
SSC2 = "skylinesoaring.org"
OTHER = "other.manage2soar.com"
OWNER = "chair@example.org"
AUTHOR = "alice@example.org"
MODERATED = "board"

# the lists of ssc as this test's M2S answers them: ssc.json's, with
# instructors and a new towpilots list overlapping members and board
LISTS = {
    "members": ["alice@example.org", "Bob@Example.com", "carol@example.net",
                "carol@example.net"],
    "instructors": ["ivan@example.org", "dora@example.org"],
    "board": ["bob@example.com", "dora@example.org"],
    "towpilots": ["alice@example.org", "dora@example.org", "ivan@example.org",
                  "Bob@Example.com"],
}
# the lists that the syncs give an address that comes and goes
CHURN_LISTS = ("members", "board", "towpilots")
CHURN = re.compile(r"^churn\d+@example\.net$")
OTHER_MEMBERS = ["yan@example.com", "zed@example.org"]

MAX_TRIES = 400
# the kinds of post that go to one list (or one list on both its domains)
ONE_LIST = ("single", "nomsgid", "domains", "moderated", "other")

# A capturing sendmail that records a run only when it succeeds (in a
# directory renamed into place, so a reader never sees half of one) and
# sleeps a little. The first run carrying a post whose token ends in "f"
# (not a notice, sent with the null sender, which quotes the post) fails
# with 75 and records nothing, as a real sendmail that did not queue it.
SENDMAIL = """#!/bin/sh
t="{root}/sendmail-tmp/$$-$(date +%s%N)"
mkdir -p "$t"
for a in "$@"; do printf '%s\\0' "$a"; done > "$t/argv"
cat > "$t/stdin"
sleep 0.{sleep_ms:03d}
k=$(sed -n 's/^token: //p' "$t/stdin")
[ "$3" = "<>" ] && k=
case "$k" in
*f)
	if mkdir "{root}/sendmail-failed-$k" 2>/dev/null; then
		rm -rf "$t"
		exit 75
	fi
	;;
esac
mv "$t" "{cap}/$(date +%s%N)-$$"
exit 0
"""


def ssc_answer(churn):
    """ssc's answer with the lists above; CHURN, if any, an address added
    to CHURN_LISTS and the whitelist (and gone in the next answer)."""
    api = copy.deepcopy(harness.SSC_API)
    lists = copy.deepcopy(LISTS)
    if churn is not None:
        for name in CHURN_LISTS:
            lists[name].insert(churn % (len(lists[name]) + 1), "churn%d@example.net" % churn)
        api["whitelist"].append("churn%d@example.net" % churn)
    # the order of the lists changes too; the members that matter do not
    rest = [(k, v) for k, v in api["lists"].items() if k not in lists]
    keys = sorted(lists, reverse=churn is not None and churn % 4 == 1)
    api["lists"] = dict([(k, lists[k]) for k in keys] + rest)
    return api


class Runs:
    """Thread-safe record of every run: (kind, exit status, stderr)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs = []
        self.errors = []

    def add(self, kind, rc, err):
        with self.lock:
            self.runs.append((kind, rc, err))

    def fail(self, text):
        with self.lock:
            self.errors.append(text)

    def count(self, kind, rc=None):
        return sum(1 for k, r, _ in self.runs if k == kind and (rc is None or r == rc))


class Scenario:
    """One scenario: its Env, its seed, its threads."""

    def __init__(self, env, seed, rounds, deliveries, fail):
        self.env = env
        self.rnd = random.Random(seed)
        self.seed = seed
        self.rounds = rounds
        self.deliveries = deliveries
        self.runs = Runs()
        self.posts = {}
        self.churn = 0
        self.fail = fail
        self.ways = collections.Counter()
        self.failing = 0

    def write_api(self, slug, data):
        """Write an answer under a temporary name and rename it: a sync
        reading at that moment sees the old file or the new one."""
        tmp = self.env.api_path(slug) + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.rename(tmp, self.env.api_path(slug))

    def thread(self, target, *args):
        """A started thread running TARGET(*ARGS); an exception in it is
        recorded as a problem of the round."""

        def guarded():
            try:
                target(*args)
            except Exception:
                self.runs.fail(traceback.format_exc())

        t = threading.Thread(target=guarded)
        t.start()
        return t

    def run(self, kind, argv, data=None):
        proc = subprocess.run(argv, input=data, capture_output=True, timeout=120)
        err = proc.stderr.decode("utf-8", "replace")
        self.runs.add(kind, proc.returncode, err)
        return proc.returncode, proc.stdout.decode("utf-8", "replace"), err

    # -- the posts of a round ---------------------------------------------

    def make_posts(self, rnd_no):
        """Posts of round RND_NO: {token: (message bytes, [recipients],
        expected people, held)} with at least self.deliveries deliveries."""
        kinds = ["single", "single", "nomsgid", "cross", "domains", "moderated",
                 "cross-moderated", "other"]
        posts = {}
        n = 0
        while sum(len(p[1]) for p in posts.values()) < self.deliveries:
            n += 1
            kind = kinds[(n - 1) % len(kinds)] if n <= len(kinds) else self.rnd.choice(kinds)
            plain = ["members", "instructors", "towpilots"]
            if kind in ("single", "nomsgid"):
                lists = [(self.rnd.choice(plain), SSC)]
            elif kind == "cross":
                lists = [(name, SSC) for name in self.rnd.sample(plain, 2)]
            elif kind == "domains":
                name = self.rnd.choice(plain)
                lists = [(name, SSC), (name, SSC2)]
            elif kind == "moderated":
                lists = [(MODERATED, self.rnd.choice((SSC, SSC2)))]
            elif kind == "cross-moderated":
                lists = [(self.rnd.choice(plain), SSC), (MODERATED, SSC)]
                self.rnd.shuffle(lists)
            else:
                lists = [("members", OTHER)]
            token = "s%dr%dp%d" % (self.seed, rnd_no, n)
            if self.fail == "all" or (self.fail == "one-list" and kind in ONE_LIST):
                token += "f"  # its first sendmail run fails
                self.failing += 1
            people = set()
            for name, dom in lists:
                people |= {a.lower() for a in (OTHER_MEMBERS if dom == OTHER else LISTS[name])}
            addrs = ["%s@%s" % l for l in lists]
            sender = "zed@example.org" if lists[0][1] == OTHER else AUTHOR
            msgid = None if kind == "nomsgid" else "<%s@concurrency.test>" % token
            msg = harness.post(from_="Poster <%s>" % sender, to=", ".join(addrs),
                               subject="Post %s" % token, msgid=msgid,
                               body="token: %s\nline two\n" % token).encode()
            held = any(name == MODERATED for name, _ in lists)
            posts[token] = (msg, addrs, people, held, sender)
        return posts

    # -- the actors -------------------------------------------------------

    def deliver(self, job):
        """JOB: (token, recipient). Deliver the post to that recipient, as
        Postfix does: again after each 75."""
        token, rcpt = job
        msg, _, _, _, sender = self.posts[token]
        argv = [harness.DELIVER, "-c", self.env.config, "-f", sender, "--", rcpt]
        for _ in range(MAX_TRIES):
            rc, _, err = self.run("deliver", argv, msg)
            if rc == 0:
                return
            if rc != 75:
                self.runs.fail("deliver %s to %s: exit %d: %s" % (token, rcpt, rc, err))
                return
            time.sleep(self.rnd.uniform(0, 0.03))
        self.runs.fail("deliver %s to %s: still 75 after %d tries" % (token, rcpt, MAX_TRIES))

    def sync_loop(self, stop):
        while not stop.is_set():
            self.churn += 1
            # every other answer without the unrelated member: it comes and goes
            self.write_api("ssc", ssc_answer(self.churn if self.churn % 2 else None))
            rc, _, err = self.run("sync", [harness.SOARLIST, "-c", self.env.config,
                                           "sync", "--force", "-q"])
            if rc not in (0, 75):
                self.runs.fail("sync --force: exit %d: %s" % (rc, err))
            time.sleep(self.rnd.uniform(0, 0.05))

    def approve_cli(self, held_id):
        """`soarlist approve ID` until it approves (True) or says another
        moderator came first (False); 75 is tried again."""
        argv = [harness.SOARLIST, "-c", self.env.config, "approve", str(held_id)]
        for _ in range(MAX_TRIES):
            rc, out, err = self.run("approve", argv)
            if rc == 0:
                if out != "approved %d\n" % held_id:
                    self.runs.fail("approve %d said %r" % (held_id, out))
                return True
            if rc == 1 and re.match(r"^soarlist: held post %d (was already handled|is being "
                                    r"handled by another moderator)" % held_id, err):
                return False
            if rc != 75:
                self.runs.fail("approve %d: exit %d: %s" % (held_id, rc, err))
                return False
            time.sleep(self.rnd.uniform(0, 0.03))
        self.runs.fail("approve %d: still 75 after %d tries" % (held_id, MAX_TRIES))
        return False

    def approve_email(self, held_id, addr):
        """An "approve" reply to the notice's address ADDR, delivered as
        Postfix delivers it: again after 75."""
        msg = ("From: Chair <%s>\nTo: %s\nSubject: Re: Held post %d\n\napprove\n"
               % (OWNER, addr, held_id)).encode()
        argv = [harness.DELIVER, "-c", self.env.config, "-f", OWNER, "--", addr]
        for _ in range(MAX_TRIES):
            rc, _, err = self.run("reply", argv, msg)
            if rc == 0:
                return True
            if rc == 77 and re.match(r"^5\.7\.1 (the held post was already handled by "
                                     r"another moderator|this moderation address is "
                                     r"unknown or was used already)\n$", err):
                return False
            if rc != 75:
                self.runs.fail("reply approve %d: exit %d: %s" % (held_id, rc, err))
                return False
            time.sleep(self.rnd.uniform(0, 0.03))
        self.runs.fail("reply approve %d: still 75 after %d tries" % (held_id, MAX_TRIES))
        return False

    def notices(self):
        """{held id: [reply-to address]} of the notices sent so far."""
        out = collections.defaultdict(list)
        for c in self.env.captured():
            m = re.match(r"Held post (\d+) for ", c.message["Subject"] or "")
            if c.argv[:4] == ["-i", "-f", "<>", "--"] and m:
                out[int(m.group(1))].append(c.message["Reply-To"])
        return out

    def held_ids(self):
        """The ids `soarlist held` lists; a 75 (the database busy, with a
        busy_timeout of a few ms) is tried again: taken for "nothing held",
        it ended the approvals with a post still held (CI, seed 12)."""
        for _ in range(MAX_TRIES):
            rc, out, err = self.run("held", [harness.SOARLIST, "-c", self.env.config,
                                             "held"])
            if rc == 0:
                return [int(m.group(1)) for m in re.finditer(r"^(\d+)\s+\d{4}-", out, re.M)]
            if rc != 75:
                self.runs.fail("held: exit %d: %s" % (rc, err))
                return []
            time.sleep(self.rnd.uniform(0, 0.03))
        self.runs.fail("held: still 75 after %d tries" % MAX_TRIES)
        return []

    def approval_loop(self, deliveries_done, winners):
        """Approve every held post once it is listed, by `soarlist approve`,
        an emailed reply or both at once, until the deliveries are done and
        nothing is held."""
        active = {}

        def act(held_id, way, addr):
            results = []
            threads = []
            if way in ("cli", "both"):
                threads.append(self.thread(
                    lambda: results.append(("cli", self.approve_cli(held_id)))))
            if way in ("email", "both"):
                threads.append(self.thread(
                    lambda: results.append(("email", self.approve_email(held_id, addr)))))
            for t in threads:
                t.join()
            with self.runs.lock:
                winners[held_id].extend(w for w, won in results if won)

        while True:
            done = deliveries_done.is_set()
            ids = self.held_ids()
            for t in [i for i, t in active.items() if not t.is_alive()]:
                del active[t]
            # an approved post still listed is reported by check()
            if done and not active and all(winners.get(i) for i in ids):
                return
            notices = self.notices()
            for held_id in ids:
                if held_id in active or winners.get(held_id):
                    continue
                # each way in turn (the ids follow each other)
                way = ("both", "email", "cli")[held_id % 3]
                if way != "cli" and not notices.get(held_id):
                    if not done:
                        continue  # its notice is on its way
                    way = "cli"  # no notice (its sendmail failed)
                addr = notices[held_id][0] if way != "cli" else None
                with self.runs.lock:
                    self.ways[way] += 1
                active[held_id] = self.thread(act, held_id, way, addr)
            time.sleep(0.02)

    # -- one round --------------------------------------------------------

    def round(self, rnd_no):
        self.posts = self.make_posts(rnd_no)
        jobs = [(tok, addr) for tok, p in self.posts.items() for addr in p[1]]
        self.rnd.shuffle(jobs)
        stop = threading.Event()
        deliveries_done = threading.Event()
        winners = collections.defaultdict(list)
        syncer = self.thread(self.sync_loop, stop)
        approver = self.thread(self.approval_loop, deliveries_done, winners)
        workers = [self.thread(self.deliver, job) for job in jobs]
        for w in workers:
            w.join()
        deliveries_done.set()
        approver.join()
        stop.set()
        syncer.join()
        return len(jobs), winners

    def check(self, rnd_no, winners):
        """What the capturing sendmail got in this round."""
        problems = list(self.runs.errors)
        copies = collections.Counter()
        notices = self.notices()
        for c in self.env.captured():
            if c.argv[:4] == ["-i", "-f", "<>", "--"]:
                continue  # a notice, counted below
            m = re.search(rb"token: (\S+)\n", c.data)
            if m is None:
                problems.append("a sendmail run without a post: %r" % c.argv)
                continue
            token = m.group(1).decode()
            for a in c.recipients:
                copies[token, a.lower()] += 1
        for token, (_, addrs, people, held, _) in self.posts.items():
            got = {a: n for (t, a), n in copies.items() if t == token}
            for a in sorted(people):
                if got.get(a) != 1:
                    problems.append("%s (to %s): %s got %d copies" % (
                        token, ", ".join(addrs), a, got.get(a, 0)))
            for a, n in sorted(got.items()):
                if a not in people and not (CHURN.match(a) and n == 1):
                    problems.append("%s (to %s): %s got %d copies and is not a member" % (
                        token, ", ".join(addrs), a, n))
        held_tokens = sorted(t for t, p in self.posts.items() if p[3])
        approved = {i: w for i, w in winners.items() if w}
        if len(approved) != len(held_tokens):
            problems.append("%d posts for %s, %d held posts approved: %r" % (
                len(held_tokens), MODERATED, len(approved), dict(winners)))
        for held_id, w in winners.items():
            if len(w) != 1:
                problems.append("held post %d: approved by %r" % (held_id, w))
        for held_id, addrs in notices.items():
            if len(addrs) > 1:
                problems.append("held post %d: %d notices" % (held_id, len(addrs)))
        left = self.env.query("SELECT id FROM held_message")
        if left:
            problems.append("still held: %r" % left)
        integrity = self.env.query("PRAGMA integrity_check")
        if integrity != [("ok",)]:
            problems.append("integrity_check: %r" % integrity)
        return problems

    def clear(self):
        for name in os.listdir(self.env.cap):
            shutil.rmtree(os.path.join(self.env.cap, name))


class Concurrency(harness.EnvTestCase):
    lists = {"ssc/%s" % MODERATED: {"moderated": "yes", "owners": OWNER}}

    def scenario(self, seed, busy, sleep_ms=50, fail=None, rounds=2, deliveries=16):
        """FAIL: which posts have their first sendmail run fail: None,
        "one-list" (posts to one list) or "all"."""
        env = self.env
        extra = "busy_timeout = %s" % busy
        env.write_api("ssc", ssc_answer(None))
        env.write_config(lists=self.lists, extra=extra)
        r = env.soarlist("sync", "--force")
        self.assertEqual(r.rc, 0, r.stderr)
        os.mkdir(os.path.join(env.root, "sendmail-tmp"))
        env.write_sendmail(SENDMAIL.format(root=env.root, cap=env.cap, sleep_ms=sleep_ms))
        s = Scenario(env, seed, rounds, deliveries, fail)
        for n in range(rounds):
            jobs, winners = s.round(n)
            problems = s.check(n, winners)
            self.assertEqual(problems, [], "seed %d round %d" % (seed, n))
            s.clear()
        runs = s.runs
        print("# seed %d busy_timeout=%s: %d deliveries (%d runs, %d exited 75), "
              "%d syncs (%d exited 75), approvals started by way %s: %d approve runs "
              "(%d exited 75), %d emailed replies (%d exited 75)" % (
                  seed, busy, runs.count("deliver", 0), runs.count("deliver"),
                  runs.count("deliver", 75), runs.count("sync"), runs.count("sync", 75),
                  dict(s.ways), runs.count("approve"), runs.count("approve", 75),
                  runs.count("reply"), runs.count("reply", 75)), flush=True)
        bad = [(k, rc) for k, rc, _ in runs.runs
               if rc not in {"deliver": (0, 75), "sync": (0, 75), "held": (0,),
                             "approve": (0, 1, 75), "reply": (0, 75, 77)}[k]]
        self.assertEqual(bad, [])
        self.assertGreater(runs.count("sync"), rounds)
        self.assertEqual(sorted(s.ways), ["both", "cli", "email"])
        # each failing post's first sendmail run failed, so its run exited 75
        deferred = sum(runs.count(k, 75) for k in ("deliver", "approve", "reply"))
        self.assertGreaterEqual(deferred, s.failing)
        return runs

    def test_deliveries_syncs_approvals(self):
        self.scenario(seed=1, busy="10")

    def test_failing_sendmail(self):
        # the first sendmail run of each post to one list fails: its run
        # exits 75 and is retried (an approval too), its claim given back
        # under load. Of a post to two lists: see ShortBusyTimeout.
        self.scenario(seed=2, busy="10", fail="one-list")

    def test_more_rounds(self):
        self.scenario(seed=3, busy="10", sleep_ms=0, rounds=3, deliveries=20)


# The bugs found by the scenarios above, reduced to runs in a
# fixed order. A process that takes the write lock for 2 s, started from
# the capturing sendmail, stands for a sync or delivery holding it then.
LOCKER = """
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(2)
c.execute("COMMIT")
open(sys.argv[2] + ".done", "w").close()
"""

# the first run of the capturing sendmail takes the lock as above, then
# succeeds
LOCKING_SENDMAIL = (
    'if [ ! -e {root}/once ]; then touch {root}/once; python3 {root}/locker.py {db} '
    '{root}/locked & while [ ! -e {root}/locked ]; do sleep 0.01; done; fi\nexit 0\n')

# takes the write lock, waits for the file "go", removes ADDRESS from
# every list in that transaction, as a sync that drops somebody does
UNSUBSCRIBER = """
import os, sqlite3, sys, time
db, root, address = sys.argv[1:]
c = sqlite3.connect(db, isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(os.path.join(root, "locked"), "w").close()
while not os.path.exists(os.path.join(root, "go")):
    time.sleep(0.01)
c.execute("DELETE FROM list_member WHERE address = ?", (address,))
c.execute("COMMIT")
"""

# the first run of the capturing sendmail waits for the file "gate", then
# fails with 75 having recorded nothing
GATED_FAILING_SENDMAIL = (
    'if [ ! -e {root}/once ]; then touch {root}/once; cat >/dev/null; '
    'while [ ! -e {root}/gate ]; do sleep 0.05; done; exit 75; fi\nt="')


class ShortBusyTimeout(Concurrency):
    """The scenarios of Concurrency with a busy_timeout of 0 to 50 ms, and
    with the first sendmail run of cross-posts failing. They found:

    1. A record written after sendmail succeeded failed on a locked
       database past busy_timeout, and the run exited 0 all the same: the
       post's Message-ID (the next list of a cross-post, or the same list
       on its other domain, sent a second copy) or the forgetting of an
       approved held post (an emailed "approve" exited 0, the post stayed
       listed by `soarlist held`, and a second approval sent it again).
       Such a write now waits for the lock (db_retry_busy).
    2. One copy per person lost a person: a list delivered while another
       list of the post was in sendmail left their common members to that
       list's claim; when that sendmail failed (75), the retry left them
       to the first list, 'sent' by then: they never got the post. A
       delivery now waits while another list of the club is sending the
       post, and leaves out only the members of lists that sent it.
    3. (test_failing_sendmail_on_cross_posts, under ASan on a loaded CI
       machine) An address that a sync added to both lists of a
       cross-post got it from both: the second list's members were read
       before a sync removed the address and the first list's after it,
       so the address was on the one and on neither of the others. Both
       are now read in the claim's transaction."""

    def test_deliveries_syncs_approvals(self):
        self.scenario(seed=11, busy="0ms")

    def test_failing_sendmail(self):
        self.scenario(seed=12, busy="5ms", fail="all")

    def test_more_rounds(self):
        self.scenario(seed=13, busy="50ms", sleep_ms=20)

    def test_failing_sendmail_on_cross_posts(self):
        self.scenario(seed=14, busy="10", fail="all")


class Regressions(harness.EnvTestCase):
    """The bugs of ShortBusyTimeout, each reduced to a few runs in a fixed
    order."""
    lists = {"ssc/board": {"nonmember_action": "hold", "owners": OWNER}}

    def locking(self, script):
        env = self.env
        env.write_config(lists=self.lists, extra="busy_timeout = 500ms")
        self.unlocked = os.path.join(env.root, "locked.done")
        with open(os.path.join(env.root, "locker.py"), "w") as f:
            f.write(LOCKER)
        fake = harness.FAKE_SENDMAIL.format(cap=env.cap, root=env.root)
        env.write_sendmail(harness.patch_script(fake, "exit 0\n",
                                                 script.format(root=env.root, db=env.db)))

    def wait_unlocked(self):
        wait_for(self.unlocked)

    def test_message_id_not_recorded(self):
        # bug 1: members@ on its two domains, one Message-ID
        self.locking(LOCKING_SENDMAIL)
        msg = harness.post(to="members@%s, members@%s" % (SSC, SSC2), msgid="<dup@x>")
        r = self.env.deliver(msg, "members@" + SSC)
        self.assertEqual(len(r.capture.recipients), 3)
        self.wait_unlocked()
        r = self.env.deliver(msg, "members@" + SSC2)
        self.assertEqual((r.rc, r.captures), (0, []))

    def test_approved_post_not_forgotten(self):
        # bug 1: an emailed approval whose post cannot be forgotten
        msg = harness.post(from_="x@stranger.example", to="board@" + SSC, msgid=None)
        r = self.env.deliver(msg, "board@" + SSC, sender="x@stranger.example")
        self.assertEqual(r.rc, 0, r.stderr)
        addr = r.capture.message["Reply-To"]
        (held_id,), = self.env.query("SELECT id FROM held_message")
        self.locking(LOCKING_SENDMAIL)
        r = self.env.deliver("From: Chair <%s>\nTo: %s\n\napprove\n" % (OWNER, addr),
                             addr, sender=OWNER)
        self.assertEqual(sorted(r.capture.recipients), sorted(LISTS["board"]))
        self.wait_unlocked()
        # exit 0 said the post is done with: a moderator who sees it still
        # held and approves it must not send it again
        self.env.soarlist("approve", str(held_id))
        self.assertEqual(len(self.env.captured()), 1)

    def test_person_lost_when_other_list_fails(self):
        # bug 2: members@ in sendmail while board@ is delivered
        fake = harness.FAKE_SENDMAIL.format(cap=self.env.cap, root=self.env.root)
        self.env.write_sendmail(harness.patch_script(fake, 't="', GATED_FAILING_SENDMAIL.format(
            root=self.env.root)))
        msg = harness.post(to="members@%s, board@%s" % (SSC, SSC), msgid="<lost@x>")

        def start(rcpt):
            p = subprocess.Popen([harness.DELIVER, "-c", self.env.config, "-f", AUTHOR,
                                  "--", rcpt], stdin=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
            p.stdin.write(msg.encode())
            p.stdin.close()
            return p
        members = start("members@" + SSC)
        wait_for(os.path.join(self.env.root, "once"))
        # board@ while members@ is in sendmail: it waits for members@'s
        # claim to end instead of leaving Bob to it
        board = start("board@" + SSC)
        time.sleep(0.5)
        self.assertIsNone(board.poll(), "board@ went ahead of members@'s claim")
        self.assertEqual(self.env.captured(), [])
        open(os.path.join(self.env.root, "gate"), "w").close()
        self.assertEqual(members.wait(timeout=60), 75)
        self.assertEqual(board.wait(timeout=60), 0, board.stderr.read())
        for p in (members, board):
            p.stderr.close()
        got = [a for c in self.env.captured() for a in c.recipients]
        r = self.env.deliver(msg, "members@" + SSC)  # Postfix's retry
        self.assertEqual(r.rc, 0, r.stderr)
        got += [a for c in r.captures for a in c.recipients]
        # every person once: Bob, on both lists, through board@
        self.assertEqual(sorted(harness.folded(got)),
                         ["alice@example.org", "bob@example.com",
                          "carol@example.net", "dora@example.org"])


    def test_member_dropped_by_a_sync_between_reads(self):
        # bug 3: churn1 on members and towpilots; towpilots sent the post
        # to it. While members@'s delivery waits for the write lock to
        # claim, having read its list's members, a sync drops churn1.
        # Read before the sync, members still had churn1; the others' read
        # after it, towpilots did not: a second copy
        env = self.env
        env.write_api("ssc", ssc_answer(1))
        env.write_config(lists=self.lists)
        r = env.soarlist("sync", "--force")
        self.assertEqual(r.rc, 0, r.stderr)
        msg = harness.post(to="towpilots@%s, members@%s" % (SSC, SSC), msgid="<churn@x>")
        r = env.deliver(msg, "towpilots@" + SSC)
        self.assertIn("churn1@example.net", r.capture.recipients)
        for name in os.listdir(env.cap):
            shutil.rmtree(os.path.join(env.cap, name))
        with open(os.path.join(env.root, "unsubscriber.py"), "w") as f:
            f.write(UNSUBSCRIBER)
        sync = subprocess.Popen([sys.executable, os.path.join(env.root, "unsubscriber.py"),
                                 env.db, env.root, "churn1@example.net"])

        def end_sync():
            open(os.path.join(env.root, "go"), "a").close()
            sync.wait(30)
        self.addCleanup(end_sync)
        while not os.path.exists(os.path.join(env.root, "locked")):
            self.assertIsNone(sync.poll())
            time.sleep(0.01)
        members = subprocess.Popen([harness.DELIVER, "-c", env.config, "-f", AUTHOR, "--",
                                    "members@" + SSC], stdin=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        self.addCleanup(members.stderr.close)
        members.stdin.write(msg.encode())
        members.stdin.close()
        # it has read what it decides on and sleeps in SQLite's busy
        # handler, waiting for the lock
        self.assertTrue(sleeping(members.pid), "soarlist-deliver never waited for the lock")
        open(os.path.join(env.root, "go"), "w").close()
        self.assertEqual(sync.wait(timeout=30), 0)
        self.assertEqual(members.wait(timeout=60), 0, members.stderr.read())
        got = [a for c in env.captured() for a in c.recipients]
        self.assertEqual(sorted(harness.folded(got)),
                         ["carol@example.net"])


def wait_for(path, seconds=60):
    """Wait until PATH exists; fail after SECONDS rather than hang."""
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError("%s never appeared" % path)
        time.sleep(0.05)


def sleeping(pid, seconds=60):
    """TRUE once process PID is in nanosleep(2) or clock_nanosleep(2), as
    SQLite's busy handler is while a write lock is taken; FALSE if it ends
    or SECONDS pass first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/syscall" % pid) as f:
                if f.read().split()[0] in ("35", "230"):
                    return True
        except (OSError, IndexError):
            return False
        time.sleep(0.005)
    return False


if __name__ == "__main__":
    tap.main()
