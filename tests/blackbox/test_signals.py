"""test_signals.py - signals and sendmail_timeout in soarlist-deliver (issue 11
item 2): a 5 MB post, a sendmail that behaves like Postfix's (it queues
whatever it read when its input ends cleanly, nothing when it is killed), the
agent killed at several points of the delivery. The sink never accepts a
partial copy, the agent exits 75 having recorded nothing, and the retry
delivers exactly once.

The sink tells the test where it is through a fifo ("progress": it has read
N bytes, or reached the end of its input) and then waits on a second fifo
("go") that the test opens only to release a sink that should be dead: no
sleeps stand in for events.
"""
import errno
import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

LIST = "members@ssc.manage2soar.com"
MEMBERS = ["alice@example.org", "Bob@example.com", "carol@example.net"]
SIZE = 5 * 1000 * 1000
PIPE_SLACK = 2 * 65536  # a pipe's buffer and one chunk of the sink

# Postfix's sendmail, as far as the agent can tell: it reads its input to
# the end and queues it (the capture directory, written under a temporary
# name and renamed: all or nothing) only on a clean end of input. It records
# every start and how much it had read, and pauses where the test asks.
SINK = r'''#!{python}
import os, sys, time
root = {root!r}
pid = os.getpid()


def path(name):
    return os.path.join(root, name)


def pause(what):
    with open(path("progress"), "w") as f:
        f.write("%d %s\n" % (pid, what))
    with open(path("go")) as f:
        f.read()


with open(path("sink-started"), "a") as f:
    f.write("%d\n" % pid)
if os.path.exists(path("hang-before")):
    time.sleep(3600)
try:
    with open(path("threshold")) as f:
        threshold = int(f.read())
except FileNotFoundError:
    threshold = None
data = bytearray()
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    data += chunk
    with open(path("partial-%d" % pid), "w") as f:
        f.write(str(len(data)))
    if threshold is not None and threshold >= 0 and len(data) >= threshold:
        threshold = None
        pause(len(data))
# a clean end of input: Postfix's sendmail would queue what it read
if threshold == -1:
    pause("eof")
if os.path.exists(path("hang-after")):
    time.sleep(3600)
tmp = path("captured/.tmp-%d" % pid)
os.makedirs(tmp)
with open(tmp + "/argv", "wb") as f:
    f.write(b"".join(os.fsencode(a) + b"\0" for a in sys.argv[1:]))
with open(tmp + "/stdin", "wb") as f:
    f.write(data)
os.rename(tmp, path("captured/%d-%d" % (time.time_ns(), pid)))
'''

WAIT = 60  # seconds: a safety net against a hung test, never a synchronization


def big_post(msgid):
    line = "0123456789 the quick brown fox jumps over the lazy glider pilot\n"
    body = line * (SIZE // len(line) + 1)
    return harness.post(msgid=msgid, subject="Big", body=body).encode()


class Signals(harness.EnvTestCase):
    def setUp(self):
        super().setUp()
        self.env.write_sendmail(SINK.format(python=sys.executable, root=self.env.root))
        self.progress = os.path.join(self.env.root, "progress")
        self.go = os.path.join(self.env.root, "go")
        os.mkfifo(self.progress)
        os.mkfifo(self.go)
        self.msgid = "<big.%d.%s@test.example>" % (os.getpid(), self.id().rsplit(".", 1)[-1])
        self.msgpath = os.path.join(self.env.root, "message")
        with open(self.msgpath, "wb") as f:
            f.write(big_post(self.msgid))

    # -- the pieces ---------------------------------------------------

    def set_flag(self, name, value=""):
        with open(os.path.join(self.env.root, name), "w") as f:
            f.write(str(value))

    def clear_flag(self, name):
        try:
            os.unlink(os.path.join(self.env.root, name))
        except FileNotFoundError:
            pass

    def sink_starts(self):
        try:
            with open(os.path.join(self.env.root, "sink-started")) as f:
                return [int(l) for l in f.read().split()]
        except FileNotFoundError:
            return []

    def partial(self, pid):
        try:
            with open(os.path.join(self.env.root, "partial-%d" % pid)) as f:
                return int(f.read() or 0)
        except FileNotFoundError:
            return 0

    def start(self, stdin=None, stderr=subprocess.PIPE):
        """soarlist-deliver on the message file (or STDIN), running."""
        args = [harness.DELIVER, "-c", self.env.config, "-f", "alice@example.org",
                "--", LIST]
        if stdin is None:
            with open(self.msgpath, "rb") as f:
                return subprocess.Popen(args, stdin=f, stdout=subprocess.PIPE,
                                        stderr=stderr)
        return subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE, stderr=stderr)

    def open_progress(self):
        """Open the progress fifo before the sink can write to it."""
        fd = os.open(self.progress, os.O_RDONLY | os.O_NONBLOCK)
        self.addCleanup(os.close, fd)
        return fd

    def wait_progress(self, fd, agent):
        """(sink pid, what) once the sink pauses; fails if the agent ends
        first."""
        p = select.poll()
        p.register(fd, select.POLLIN)
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if p.poll(200):
                text = os.read(fd, 100).decode()
                if text:
                    pid, what = text.split()
                    return int(pid), what
            if agent.poll() is not None:
                self.fail("the agent ended (%d) before the sink paused: %s"
                          % (agent.returncode, agent.stderr.read().decode()))
        self.fail("the sink never paused")

    def sink_released(self, pid):
        """Wait until sink PID is gone. A sink still alive after the agent
        ended is released (it then accepts what it read): returns True for
        that, the failure this test is about."""
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            return False
        released = False
        try:
            p = select.poll()
            p.register(pidfd, select.POLLIN)
            deadline = time.monotonic() + WAIT
            while not p.poll(100):
                self.assertLess(time.monotonic(), deadline, "sink %d never ended" % pid)
                try:
                    os.close(os.open(self.go, os.O_WRONLY | os.O_NONBLOCK))
                    released = True
                except OSError as e:
                    if e.errno != errno.ENXIO:  # ENXIO: nobody waits on it
                        raise
        finally:
            os.close(pidfd)
        return released

    def finish(self, agent):
        out, err = agent.communicate(timeout=WAIT)
        return agent.returncode, err.decode("utf-8", "replace")

    def defer_line(self):
        lines = self.env.deliver_log_lines()
        self.assertEqual(len(lines), 1, lines)
        self.assertIn(" decision=defer ", lines[0])
        return lines[0]

    def assert_nothing_recorded(self):
        self.assertEqual(self.env.captured(), [], "the sink accepted a copy")
        rows = [r for r in self.env.query("SELECT message_id, state FROM recent_message")
                if self.msgid.strip("<>") in r[0]]
        self.assertEqual(rows, [], "duplicate bookkeeping recorded")

    def assert_retry_once(self):
        """The retry delivers one whole copy to every member; the one after
        it is a duplicate."""
        for flag in ("threshold", "hang-before", "hang-after"):
            self.clear_flag(flag)
        with open(self.msgpath, "rb") as f:
            message = f.read()
        r = self.env.deliver(message, LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(harness.folded(c.recipients), harness.folded(MEMBERS))
        self.assertEqual(c.body(), harness.split_message(message)[1])
        r = self.env.deliver(message, LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.captures, [], "a second copy")
        self.assertIn(" decision=drop-duplicate ", self.env.deliver_log_lines()[-1])

    # -- the tests ----------------------------------------------------

    def kill_mid_copy(self, sig, threshold):
        """SIG to the agent once the sink has read THRESHOLD bytes."""
        self.set_flag("threshold", threshold)
        fd = self.open_progress()
        agent = self.start()
        pid, got = self.wait_progress(fd, agent)
        self.assertLess(int(got) + PIPE_SLACK, SIZE, "not mid-copy")
        agent.send_signal(sig)
        rc, err = self.finish(agent)
        released = self.sink_released(pid)
        self.assertEqual(rc, 75, err)
        self.assertFalse(released, "sendmail outlived the agent")
        self.assertGreaterEqual(self.partial(pid), int(got), "the sink read that much")
        self.assert_nothing_recorded()
        name = signal.Signals(sig).name
        self.assertRegex(err, r"^4\.3\.0 cannot reinject the message: interrupted by %s: "
                              r"\S+ killed before the end of its input\n$" % name)
        self.assertIn("reason=4.3.0 cannot reinject the message: interrupted by %s" % name,
                      self.defer_line())
        self.assert_retry_once()

    def test_sigterm_mid_copy(self):
        self.kill_mid_copy(signal.SIGTERM, 1000 * 1000)

    def test_sigint_at_first_bytes(self):
        self.kill_mid_copy(signal.SIGINT, 1)

    def test_sighup_late(self):
        self.kill_mid_copy(signal.SIGHUP, SIZE - 3 * PIPE_SLACK)

    def test_sigpipe_sent_mid_copy(self):
        self.kill_mid_copy(signal.SIGPIPE, 2 * 1000 * 1000)

    def test_sigterm_while_reading_stdin(self):
        """Before sendmail starts (stdin half read): 75 at once, one line
        for the MTA, sendmail never run."""
        agent = self.start(stdin=subprocess.PIPE)
        with open(self.msgpath, "rb") as f:
            data = f.read()
        # a pipe holds 64 KiB: once 1 MB is written, the agent has read
        # most of it and waits for more
        agent.stdin.write(data[:1000 * 1000])
        agent.stdin.flush()
        agent.send_signal(signal.SIGTERM)
        out, err = agent.communicate(timeout=WAIT)  # closes its stdin
        self.assertEqual(agent.returncode, 75, err)
        self.assertEqual(err.decode(), "4.3.0 soarlist-deliver: interrupted by SIGTERM "
                                       "before delivery; the message stays queued\n")
        self.assertEqual(self.sink_starts(), [])
        self.assert_nothing_recorded()
        self.assert_retry_once()

    def test_sigkill_takes_sendmail_along(self):
        """SIGKILL cannot be caught: the sink dies with the agent
        (PR_SET_PDEATHSIG) instead of seeing the end of its input."""
        self.set_flag("threshold", 1000 * 1000)
        fd = self.open_progress()
        agent = self.start()
        pid, got = self.wait_progress(fd, agent)
        agent.send_signal(signal.SIGKILL)
        rc, err = self.finish(agent)
        self.assertEqual(rc, -signal.SIGKILL)
        self.assertFalse(self.sink_released(pid), "sendmail outlived the agent")
        self.assertEqual(self.env.captured(), [], "the sink accepted a copy")
        # the dead agent's claim blocks nothing
        self.assert_retry_once()

    def test_signal_after_the_whole_copy_waits(self):
        """Once sendmail has the whole message, a signal no longer turns the
        delivery into a 75 that would repeat it: the agent waits for
        sendmail, records the post and exits 0."""
        self.set_flag("threshold", -1)
        fd = self.open_progress()
        agent = self.start()
        pid, what = self.wait_progress(fd, agent)
        self.assertEqual(what, "eof")
        agent.send_signal(signal.SIGTERM)
        agent.send_signal(signal.SIGPIPE)
        self.assertTrue(self.sink_released(pid), "the sink was killed after a clean end")
        rc, err = self.finish(agent)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(self.env.captured()), 1)
        self.assertIn(" decision=distribute ", self.env.deliver_log_lines()[-1])
        self.clear_flag("threshold")
        with open(self.msgpath, "rb") as f:
            r = self.env.deliver(f.read(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.captures, [], "a second copy")

    def test_stderr_closed_early(self):
        """pipe(8) gone: writing the line for the MTA raises SIGPIPE in the
        agent, which must neither die of it nor change its status."""
        # a line for the MTA before the delivery acts: a configuration
        # error (75), no such list (67)
        for config, rcpt, status in ((self.env.root + "/missing.conf", LIST, 75),
                                     (self.env.config, "nosuch@ssc.manage2soar.com", 67)):
            r_fd, w_fd = os.pipe()
            os.close(r_fd)
            try:
                with open(self.msgpath, "rb") as f:
                    agent = subprocess.Popen(
                        [harness.DELIVER, "-c", config, "-f", "alice@example.org", "--", rcpt],
                        stdin=f, stdout=subprocess.DEVNULL, stderr=w_fd)
            finally:
                os.close(w_fd)
            self.assertEqual(agent.wait(timeout=WAIT), status, rcpt)
        # a delivery: all written, recorded, 0
        agent = self.start(stderr=subprocess.PIPE)
        agent.stderr.close()
        self.assertEqual(agent.wait(timeout=WAIT), 0)
        self.assertEqual(len(self.env.captured()), 1)


class Timeout(harness.EnvTestCase):
    def setUp(self):
        super().setUp()
        self.env.write_config(extra="sendmail_timeout = 1")
        self.env.write_sendmail(SINK.format(python=sys.executable, root=self.env.root))

    def check(self, flag):
        with open(os.path.join(self.env.root, flag), "w"):
            pass
        message = harness.uniq_post(body="x\n" * 500000)
        start = time.monotonic()
        r = self.env.deliver(message, LIST)
        elapsed = time.monotonic() - start
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertEqual(r.captures, [])
        self.assertRegex(r.stderr, r"^4\.3\.0 cannot reinject the message: sendmail_timeout: "
                                   r"\S+ did not finish within 1 s: killed\n$")
        self.assertIn("reason=4.3.0 cannot reinject the message: sendmail_timeout:",
                      self.env.deliver_log_lines()[-1])
        # the limit, not the sink's hour of sleep, ended it
        self.assertLess(elapsed, 30)
        with open(os.path.join(self.env.root, "sink-started")) as f:
            pid = int(f.read().split()[0])
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)
        os.unlink(os.path.join(self.env.root, flag))
        # the retry, with the default limit: a loaded machine may start the
        # sink more slowly than 1 s
        self.env.write_config()
        r = self.env.deliver(message, LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.captures), 1)

    def test_hangs_without_reading(self):
        self.check("hang-before")

    def test_hangs_after_reading(self):
        self.check("hang-after")


if __name__ == "__main__":
    tap.main()
