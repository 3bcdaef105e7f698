#!/usr/bin/env python3
"""stage2.py - the README's installation, run in a Debian 12 root with no
network but loopback.

    unshare --mount --pid --fork --net --uts --mount-proc \\
        python3 stage2.py ROOT WORK FIRST WAY

run-readme.py starts it so, with ROOT made by its first stage (debootstrap
and every package the README installs, downloaded) and the repository
copied to ROOT/root/soarlist. It plays two parts:

- the world around a fresh machine: loopback up, the M2S app's address
  (the first network of the README's app_networks) on lo, the machine's
  name mail.example.net; Manage2Soar at the README's api_url hosts
  (m2s_server on 127.0.0.1:443, reached through the machine's /etc/hosts,
  its certificate from a private CA put in the machine's trust store
  /usr/local/share/ca-certificates), answering with the canonical M2S
  answer tests/data/m2s/SLUG.json and the key the README stores; the
  smarthost standing for the members' mail servers (smtp_sink on
  127.0.0.1:2525, with STARTTLS, refusing mail until the client logs in
  with the credentials the README writes into sasl_passwd); no init system
  (policy-rc.d refuses every service start, as in a container);
- the administrator: every README command (readme.py), as root in ROOT,
  from /root/soarlist, in order, the systemd-less way and WAY's ("source":
  meson install, run-readme.py; "package": the Debian package built and
  installed as the README says, tests/package/); before each, the
  administrator's debconf answers for Postfix ("Internet with smarthost",
  the sink as relay host, mail name mail.example.net), and "y" on stdin
  for apt-get's question.

Then it checks what the README promises: a member's post reaches every
member once with the documented headers; a stranger is refused at RCPT,
from 127.0.0.1 too; the app's notification, from its address, goes
through with its From unchanged, and noreply@ from anywhere else is
refused; every message reached the smarthost over TLS, logged in; the
cron entries run; Debian's node_exporter, started here,
serves the metrics file of step 9; the units installed (under
/usr/local/lib/systemd/system from source, /lib/systemd/system by the
package, which also enabled the timers) pass systemd-analyze verify; the
log files say what happened; doctor passes;
lists created at M2S take posts at once after a sync; once M2S sends the
canonical answer whole, sync and doctor name its lists that no address
can carry; last, the README's logrotate entry rotates soarlist's log and
the next command writes the new one. Step 8 (authenticated posting): opendkim runs and listens
where smtpd_milters points; the step's doctor says OK for OpenDKIM's
authserv-id, RemoveARAll and Mode; the board member's unsigned post is
in the README's `soarlist held` output with the reason the README
quotes, the owners got the hold notice and the board nothing; one with
forged spf=pass and dmarc=pass results in the server's own name is held
too (RemoveARAll removed them); `soarlist approve ID` then sends the
first one to each board member once.

After these checks, the README's later sections (readme.LATER), block by
block with checks between them. "Backup and restore": a backup while the
server runs; Postfix stopped as the README says; the database, the
configuration, the API key and the Postfix tables deleted (the loss);
the README's restore; then `soarlist lists`, `held` and `bounces` say
what they said before, the files are back byte for byte with their
modes and owners, a post reaches each member once, and doctor passes.
"Suspending and removing a club": suspended, `soarlist status` says so
and Postfix refuses RCPT TO with the line the README quotes; active
again, a post reaches each member once; removed and purged, the tables
no longer name its domains and soarlist keeps nothing of it.

TAP on stdout, numbered from FIRST, without a plan line (the caller
prints it).
"""
import collections
import configparser
import email
import email.policy
import email.utils
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "tests", "blackbox"))
import m2s_server  # noqa: E402
import readme  # noqa: E402
import smtp_sink  # noqa: E402

REPO_IN_ROOT = "/root/soarlist"
HOSTNAME = "mail.example.net"
SINK_PORT = 2525
DEADLINE = 300       # seconds to wait for mail; a deadline, not a delay
COMMAND_TIMEOUT = 2400
CONFIG_PATH = "/etc/soarlist/soarlist.conf"
CA_IN_ROOT = "/usr/local/share/ca-certificates/soarlist-install-test.crt"

# The administrator's answers to Postfix's debconf questions.
DEBCONF = [
    "postfix postfix/main_mailer_type select Internet with smarthost",
    "postfix postfix/mailname string " + HOSTNAME,
    "postfix postfix/relayhost string [127.0.0.1]:%d" % SINK_PORT,
]

# README commands this test does not run, and why.
NOT_RUN = [
    (re.compile(r"^sh tests/run\b"),
     "the test suite, this test included: CI runs it around this test"),
]

# README commands that look at what the mail sent before them did: run
# once Postfix's queue is empty (the administrator's "a moment later")
SETTLE = [re.compile(r"^soarlist held\b")]

# README commands that must fail, and how: the exit status and a pattern
# their output must match.
EXPECT = [
    (re.compile(r"--from stranger@"), 24, re.compile(r"^<\*\* 550 ", re.M)),
]

ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root", "USER": "root", "LOGNAME": "root", "SHELL": "/bin/sh",
    "LANG": "C.UTF-8", "TERM": "dumb",
    # the debconf answers are given before each command (DEBCONF)
    "DEBIAN_FRONTEND": "noninteractive",
}


class Tap:
    def __init__(self, first):
        self.n = first - 1
        self.failed = 0

    def ok(self, cond, desc, diag=()):
        self.n += 1
        if not cond:
            self.failed += 1
        print("%s %d - %s" % ("ok" if cond else "not ok", self.n, desc))
        if not cond:
            for line in diag:
                self.diag(line)
        sys.stdout.flush()
        return cond

    @staticmethod
    def diag(text):
        for line in str(text).splitlines() or [""]:
            print("# " + line)
        sys.stdout.flush()


# --- the machine ----------------------------------------------------------
class Machine:
    def __init__(self, root, work):
        self.root = root
        self.work = work
        self.logs = os.path.join(work, "logs")
        os.makedirs(self.logs, exist_ok=True)

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def run(self, argv, stdin=b"", timeout=600, cwd="/", env=None):
        """Run ARGV as root inside the machine, from CWD; (status, output).
        chroot(8) rather than a preexec_fn: this process has threads (the
        M2S stand-in, the sink)."""
        argv = ["chroot", self.root, "/bin/sh", "-c", 'cd "$0" && exec "$@"',
                cwd] + list(argv)
        # output to a file, not a pipe: a daemon the command starts (postfix
        # start, service cron start) may keep its descriptors open
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as inp:
            inp.write(stdin)
            inp.seek(0)
            try:
                status = subprocess.run(argv, stdin=inp, stdout=out,
                                        stderr=subprocess.STDOUT, timeout=timeout,
                                        env=env or ENV).returncode
                tail = ""
            except subprocess.TimeoutExpired:
                status, tail = -1, "\n[timed out after %d s]" % timeout
            out.seek(0)
            return status, out.read().decode("utf-8", "replace") + tail

    def mount_all(self):
        """proc, sys, a small /dev, /dev/pts, /dev/shm and /run, in this
        mount namespace only."""
        r = self.path
        sh("mount", "-t", "proc", "proc", r("/proc"))
        sh("mount", "-t", "sysfs", "sysfs", r("/sys"))
        sh("mount", "-t", "tmpfs", "-o", "mode=755,nosuid", "tmpfs", r("/dev"))
        for node in ("null", "zero", "full", "random", "urandom", "tty"):
            open(r("/dev/" + node), "w").close()
            sh("mount", "--bind", "/dev/" + node, r("/dev/" + node))
        os.mkdir(r("/dev/pts"))
        sh("mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=620",
           "devpts", r("/dev/pts"))
        os.symlink("pts/ptmx", r("/dev/ptmx"))
        os.mkdir(r("/dev/shm"))
        sh("mount", "-t", "tmpfs", "-o", "mode=1777,nosuid,nodev", "tmpfs", r("/dev/shm"))
        for i, name in enumerate(("stdin", "stdout", "stderr")):
            os.symlink("/proc/self/fd/%d" % i, r("/dev/" + name))
        os.symlink("/proc/self/fd", r("/dev/fd"))
        sh("mount", "-t", "tmpfs", "-o", "mode=755,nosuid,nodev", "tmpfs", r("/run"))
        os.mkdir(r("/run/lock"), 0o1777)
        os.chmod(r("/run/lock"), 0o1777)


def sh(*argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), p.stdout.decode(errors="replace")))
    return p.stdout.decode(errors="replace")


# --- what the README says -------------------------------------------------
class Plan:
    """The README's commands for one way of installing (WAY: "source" or
    "package") and the facts the world needs from them."""

    def __init__(self, text, way):
        self.text = text
        self.way = way

        def mine(commands):
            return [c for c in commands if c.way in ("all", way)]
        self.commands = mine(readme.extract_all(text))
        # the later sections, block by block (readme.LATER)
        self.later = {t: readme.blocks(mine(readme.extract(text, t)))
                      for t in readme.LATER}
        self.config_text = self._config()
        cp = configparser.ConfigParser(interpolation=None, delimiters=("=",),
                                       comment_prefixes=("#",), strict=False)
        cp.optionxform = str
        cp.read_string(self.config_text)
        self.cfg = cp
        top = cp["soarlist"]
        nets = top.get("app_networks", "").split()
        if not nets:
            raise readme.ReadmeError("README: the configuration has no app_networks")
        self.app_address = str(ipaddress.ip_network(nets[0].replace("[", "")
                                                    .replace("]", "")).network_address)
        self.clubs = {}
        for sec in cp.sections():
            if sec.startswith("club "):
                slug = sec.split(" ", 1)[1]
                url = cp[sec]["api_url"]
                keyfile = cp[sec].get("api_key_file", top.get("api_key_file"))
                self.clubs[slug] = {
                    "name": cp[sec].get("name", slug),
                    "host": re.match(r"https://([^/:]+)/", url).group(1),
                    "domains": cp[sec]["domains"].split(";"),
                    "key": self._key(keyfile),
                }
        if not self.clubs:
            raise readme.ReadmeError("README: the configuration has no [club SLUG]")

    def _config(self):
        """The configuration the README writes, with what it appends."""
        text = None
        for c in self.commands:
            m = re.match(r"cat (>>?) %s <<" % re.escape(CONFIG_PATH), c.first)
            if m and (m.group(1) == ">" or text is not None):
                text = (text if m.group(1) == ">>" else "") + \
                    "\n".join(c.lines[1:-1]) + "\n"
        if text is None:
            raise readme.ReadmeError("README: no command writes %s" % CONFIG_PATH)
        return text

    def _key(self, path):
        for c in self.commands:
            m = re.match(r"echo '([^']+)' > (\S+)$", c.first)
            if m and m.group(2) == path:
                return m.group(1)
        raise readme.ReadmeError("README: no command writes the key file %s" % path)

    def list_option(self, slug, name, key, default=None):
        sec = "list %s/%s" % (slug, name)
        return self.cfg[sec].get(key, default) if self.cfg.has_section(sec) else default


def m2s_answer(slug):
    """The canonical M2S answer for club SLUG (tests/data/m2s/SLUG.json),
    else the black-box tests' one."""
    path = os.path.join(TOP, "tests", "data", "m2s", slug + ".json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f), path
    import harness
    return getattr(harness, slug.upper() + "_API"), "tests/blackbox/harness.py"


def usable(answer):
    """ANSWER without the lists whose names cannot be an address: the
    clubs of this world named their lists well (check_bad_name serves the
    canonical answer, such names included, afterwards)."""
    ok = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    out = dict(answer)
    out["lists"] = {k: v for k, v in answer["lists"].items() if ok.match(k)}
    return out, sorted(k for k in answer["lists"] if not ok.match(k))


class _HostHandler(m2s_server._Handler):
    """M2S at each club's own host: /api/email-lists/ of Host: H is the
    club of H in m2s_server's /SLUG/api/email-lists/."""

    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        slug = self.server.m2s.hosts.get(host)
        if slug is not None and self.path.startswith("/api/"):
            self.path = "/" + slug + self.path
        super().do_GET()


class HostM2S(m2s_server.M2S):
    """m2s_server.M2S serving HTTPS on port 443 only, by host name."""

    def __init__(self, certs, hosts):
        self.hosts = hosts
        super().__init__(certs, "127.0.0.1")

    def _start(self, scheme, ctx):
        if scheme != "https":
            return 0
        srv = m2s_server._Server((self.host, 443), _HostHandler)
        srv.m2s = self
        srv.scheme = scheme
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True,
                                     do_handshake_on_connect=False)
        assert isinstance(srv.socket, ssl.SSLSocket)
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05},
                             daemon=True)
        t.start()
        self._servers.append(srv)
        self._threads.append(t)
        return 443


# --- the world --------------------------------------------------------------
class World:
    def __init__(self, machine, plan):
        self.m = machine
        self.plan = plan

    def start(self):
        m, plan = self.m, self.plan
        sh("ip", "link", "set", "lo", "up")
        sh("ip", "addr", "add", plan.app_address + "/32", "dev", "lo")
        socket.sethostname(HOSTNAME)
        with open(m.path("/etc/hostname"), "w") as f:
            f.write(HOSTNAME + "\n")
        hosts = ["127.0.0.1\tlocalhost", "127.0.1.1\t%s mail" % HOSTNAME,
                 "::1\tlocalhost ip6-localhost ip6-loopback"]
        # Manage2Soar's hosts, as the world's DNS would resolve them
        hosts += ["127.0.0.1\t%s" % c["host"] for c in plan.clubs.values()]
        with open(m.path("/etc/hosts"), "w") as f:
            f.write("\n".join(hosts) + "\n")
        # no init system: as in a container, nothing starts services for you
        with open(m.path("/usr/sbin/policy-rc.d"), "w") as f:
            f.write("#!/bin/sh\n# the install test: no init system here\nexit 101\n")
        os.chmod(m.path("/usr/sbin/policy-rc.d"), 0o755)
        certs = m2s_server.Certs(os.path.join(m.work, "ca"),
                                 names=["DNS:" + c["host"] for c in plan.clubs.values()])
        os.makedirs(os.path.dirname(m.path(CA_IN_ROOT)), exist_ok=True)
        shutil.copy(certs.ca_file, m.path(CA_IN_ROOT))
        if os.path.exists(m.path("/usr/sbin/update-ca-certificates")):
            m.run(["update-ca-certificates"])
        self.m2s = HostM2S(certs, {c["host"]: s for s, c in plan.clubs.items()})
        self.answers = {}
        for slug, club in plan.clubs.items():
            data, source = m2s_answer(slug)
            self.answers[slug] = data
            served, left_out = usable(data)
            self.m2s.add_club(slug, served, club["key"])
            Tap.diag("M2S for club %s at https://%s/ answers %s%s" % (
                slug, club["host"], source,
                ", without the lists %s until the last check" % left_out
                if left_out else ""))
        # the smarthost: STARTTLS, and a login with the credentials the
        # README writes into sasl_passwd, as SMTP2GO wants one
        relay = m2s_server.Certs(os.path.join(m.work, "ca"), names=["IP:127.0.0.1"],
                                 ca=certs)
        self.login = relay_login(plan)
        self.sink = smtp_sink.Sink("127.0.0.1", SINK_PORT, os.path.join(m.work, "sink"),
                                   tls=(relay.cert, relay.key), login=self.login)

    def debconf(self):
        self.m.run(["debconf-set-selections"], stdin=("\n".join(DEBCONF) + "\n").encode())


# --- the administrator -----------------------------------------------------
def run_readme(tap, m, world, plan):
    """Every README command, in order; a TAP point each. The outputs by
    README line; None when one failed (the rest are not run)."""
    outputs = {}
    return outputs if run_commands(tap, m, world, plan.commands, outputs) else None


def run_commands(tap, m, world, commands, outputs):
    """Run COMMANDS (README Commands) in order, a TAP point each, their
    (status, output) into OUTPUTS by README line. FALSE when one failed
    (the rest are not run)."""
    for c in commands:
        label = "README line %d: %s" % (c.line, c.first.split("  #")[0].strip())
        if c.variant == "systemd":
            tap.diag("not run, for systemd only: %s" % label)
            continue
        why = [w for rx, w in NOT_RUN if rx.search(c.first)]
        if why:
            tap.diag("not run: %s (%s)" % (label, why[0]))
            continue
        world.debconf()
        if any(rx.search(c.first) for rx in SETTLE):
            wait_for(lambda: queue_empty(m))
        t0 = time.monotonic()
        status, out = m.run(["/bin/sh", "-c", c.text], stdin=b"y\n" * 20,
                            timeout=COMMAND_TIMEOUT, cwd=REPO_IN_ROOT)
        with open(os.path.join(m.logs, "line-%03d.txt" % c.line), "w") as f:
            f.write("$ %s\n%s\n[exit %d, %.1f s]\n" % (c.text, out, status,
                                                       time.monotonic() - t0))
        outputs[c.line] = (status, out)
        want = [(s, rx) for cmd_rx, s, rx in EXPECT if cmd_rx.search(c.text)]
        if want:
            good = status == want[0][0] and want[0][1].search(out)
            why = "want exit %d and output matching %r" % (want[0][0], want[0][1].pattern)
        else:
            good = status == 0
            why = "want exit 0"
        if not tap.ok(good, label, ["got exit %d, %s; the last lines:" % (status, why)]
                      + out.splitlines()[-40:]):
            return False
    return True


def relay_login(plan):
    """(user, password) of the smarthost as the README's sasl_passwd line
    writes them."""
    for c in plan.commands:
        mm = re.search(r"\) (\S+?):(\S+)\" >> /etc/postfix/sasl_passwd", c.text)
        if mm:
            return mm.group(1), mm.group(2)
    raise RuntimeError("the README writes no relay credentials into /etc/postfix/sasl_passwd")


# --- checks ----------------------------------------------------------------
def wait_for(cond, deadline=DEADLINE, step=0.5):
    end = time.monotonic() + deadline
    while True:
        v = cond()
        if v or time.monotonic() > end:
            return v
        time.sleep(step)


def queue_empty(m):
    status, out = m.run(["postqueue", "-j"])
    return status == 0 and not out.strip()


def copies(world, subject):
    """[(sink message, parsed)] whose Subject contains SUBJECT."""
    out = []
    for msg in world.sink.messages():
        p = email.message_from_bytes(msg.data, policy=email.policy.default)
        if subject in str(p.get("Subject", "")):
            out.append((msg, p))
    return out


def once_each(world, m, subject, members):
    """Wait until every member has a copy and the queue is empty; then
    (ok, diagnostics)."""
    want = {a.lower() for a in members}

    def arrived():
        got = {r.lower() for msg, _ in copies(world, subject) for r in msg.rcpts}
        return want <= got and queue_empty(m)
    wait_for(arrived)
    got = collections.Counter(r.lower() for msg, _ in copies(world, subject)
                              for r in msg.rcpts)
    missing = sorted(want - set(got))
    extra = sorted(set(got) - want)
    twice = sorted(a for a, n in got.items() if n > 1)
    diag = ["missing: %s" % missing, "not members: %s" % extra,
            "more than one copy: %s" % twice, "queue empty: %s" % queue_empty(m)]
    return not missing and not extra and not twice, diag


def swaks(m, *args):
    return m.run(["swaks", "--server", "127.0.0.1"] + list(args), timeout=120)


def refused_at_rcpt(out):
    """The SMTP server refused RCPT TO with a 5xx (swaks' transcript)."""
    return re.search(r"^ -> RCPT TO:.*\n<\*\* 5\d\d ", out, re.M) is not None


def check_post(tap, m, world, plan, slug, members):
    club = plan.clubs[slug]
    dom = club["domains"][0]
    ok, diag = once_each(world, m, "hello", members)
    tap.ok(ok, "the member's post reached every member of members@%s once" % dom, diag)
    prefix = plan.list_option(slug, "members", "subject_prefix", "")
    bad = []
    got = copies(world, "hello")
    for msg, p in got:
        name, addr = email.utils.parseaddr(str(p["From"]))
        want = {
            "From name": (name, "Alice Example via Members"),
            "From address": (addr.lower(), "members-bounces@" + dom),
            "Reply-To": (email.utils.parseaddr(str(p.get("Reply-To", "")))[1],
                         "alice@example.org"),
            "List-Id": ("<members.%s>" % dom in str(p.get("List-Id", "")), True),
            "List-Post": (str(p.get("List-Post", "")), "<mailto:members@%s>" % dom),
            "Subject": (str(p.get("Subject", "")), (prefix + " hello").strip()),
            "envelope sender": (re.sub(r"\+.*@", "@", msg.sender.lower()),
                                "members-bounces@" + dom),
        }
        bad += ["%s: got %r, want %r" % (k, g, w) for k, (g, w) in want.items() if g != w]
    tap.ok(got and not bad, "each copy has the README's From, Reply-To, List-Id, "
           "List-Post, Subject and envelope sender", sorted(set(bad)) or ["no copy"])


def check_stranger(tap, m, plan, slug):
    dom = plan.clubs[slug]["domains"][0]
    status, out = swaks(m, "--from", "stranger@example.com", "--to", "members@" + dom,
                        "--quit-after", "RCPT")
    tap.ok(refused_at_rcpt(out) and " 550 " in out,
           "a stranger posting from 127.0.0.1 is refused at RCPT TO with 550",
           out.splitlines()[-12:])


def check_app(tap, m, world, plan, slug, members):
    club = plan.clubs[slug]
    dom = club["domains"][0]
    app_from = "%s <noreply@%s>" % (club["name"], dom)
    status, out = swaks(m, "--local-interface", plan.app_address,
                        "--from", "noreply@" + dom, "--to", "members@" + dom,
                        "--header", "From: " + app_from,
                        "--header", "Subject: Logsheet summary")
    tap.ok(status == 0, "the app's notification from %s (app_networks) is accepted"
           % plan.app_address, out.splitlines()[-15:])
    ok, diag = once_each(world, m, "Logsheet summary", members)
    tap.ok(ok, "the app's notification reached every member once", diag)
    froms = {str(p["From"]) for _, p in copies(world, "Logsheet summary")}
    tap.ok(froms == {app_from}, "the app's notification keeps its From",
           ["got %s, want %r" % (sorted(froms), app_from)])
    status, out = swaks(m, "--from", "noreply@" + dom, "--to", "members@" + dom,
                        "--quit-after", "RCPT")
    tap.ok(refused_at_rcpt(out), "noreply@%s from 127.0.0.1 (not the app) is "
           "refused at RCPT TO" % dom, out.splitlines()[-12:])


def check_cron(tap, m):
    """Every job of the README's cron entries (sync, metrics) runs as
    cron would run it and exits 0."""
    jobs, bad = [], []
    names = sorted(n for n in os.listdir(m.path("/etc/cron.d"))
                   if n.startswith("soarlist-"))
    if "soarlist-sync" not in names:
        tap.ok(False, "the cron entry's sync runs", ["no /etc/cron.d/soarlist-sync"])
        return
    for name in names:
        with open(m.path("/etc/cron.d/" + name)) as f:
            more, problems = cron_jobs(f.read().splitlines())
        jobs += more
        bad += problems
    results = []
    for user, cmd, env in jobs:
        # as cron runs it: the entry's variables, the user's identity
        env.update(HOME="/", LOGNAME=user, USER=user)
        status, out = m.run(["runuser", "-u", user, "--", "/usr/bin/env", "-i"]
                            + ["%s=%s" % kv for kv in sorted(env.items())]
                            + [env.get("SHELL", "/bin/sh"), "-c", cmd])
        results.append((status, user, cmd, out))
    tap.ok(jobs and not bad and all(r[0] == 0 for r in results),
           "the cron entries' jobs (%s) run and exit 0" % "; ".join(c for _, c, _ in jobs),
           bad + ["exit %d as %s: %s\n%s" % r for r in results])


def cron_jobs(lines):
    """([(user, command, environment)], [problems]) of a cron.d file."""
    jobs, env, bad = [], {"SHELL": "/bin/sh", "PATH": "/usr/bin:/bin"}, []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m_env = re.match(r"^([A-Z_]+)=(.*)$", line)
        if m_env:
            env[m_env.group(1)] = m_env.group(2)
            continue
        f = line.split(None, 6)
        if len(f) < 7 or not all(re.match(r"^[0-9*/,-]+$", x) for x in f[:5]):
            bad.append("not a cron job line: %r" % line)
            continue
        jobs.append((f[5], f[6], dict(env)))
    return jobs, bad


def check_relay(tap, world):
    """Every message reached the smarthost over TLS, logged in with the
    README's credentials (the sink refuses MAIL before a login)."""
    msgs = world.sink.messages()
    bad = ["%s -> %s: tls %s, user %s" % (x.sender, x.rcpts, x.tls, x.user)
           for x in msgs if not x.tls or x.user != world.login[0]]
    tap.ok(msgs and not bad, "the smarthost got all %d messages over TLS, logged in as %s"
           % (len(msgs), world.login[0]), bad[:10])


def check_node_exporter(tap, m):
    """Step 9: Debian's node_exporter, started here as its service would
    be, serves the figures the README's metrics command wrote: its
    textfile collector reads the file without error, Postfix is up, and
    the posts distributed so far are counted."""
    prom = "/var/lib/prometheus/node-exporter/soarlist.prom"
    argv = ["chroot", m.root, "runuser", "-u", "prometheus", "--",
            "/usr/bin/prometheus-node-exporter", "--collector.disable-defaults",
            "--collector.textfile", "--collector.textfile.directory=" + os.path.dirname(prom),
            "--web.listen-address=127.0.0.1:9100"]
    st, out = m.run(["runuser", "-u", "soarlist", "--", "soarlist", "metrics", "-o", prom])
    problems = [] if st == 0 else ["soarlist metrics exit %d: %s" % (st, out)]
    mode = os.stat(m.path(prom)).st_mode & 0o777 if os.path.exists(m.path(prom)) else None
    if mode != 0o644:
        problems.append("%s mode %s, want 0644" % (prom, oct(mode) if mode else "missing"))
    with tempfile.TemporaryFile() as log:
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=ENV)
        try:
            body = wait_for(lambda: scrape("http://127.0.0.1:9100/metrics"), deadline=60)
        finally:
            p.kill()
            p.wait()
            log.seek(0)
            exporter_log = log.read().decode("utf-8", "replace").splitlines()[-10:]
    body = body or ""
    want = [r'^node_textfile_scrape_error 0$', r'^soarlist_postfix_up 1$',
            r'^soarlist_posts_total\{club="[^"]+",list="members",outcome="distributed"\} [1-9]',
            r'^soarlist_sync_age_seconds\{club="[^"]+"\} \d']
    problems += ["not served: %s" % rx for rx in want if not re.search(rx, body, re.M)]
    tap.ok(not problems, "node_exporter serves soarlist's metrics (textfile collector)",
           problems + ["node_exporter: " + l for l in exporter_log]
           + [l for l in body.splitlines() if "soarlist" in l or "textfile" in l][:20])


def scrape(url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=5) as r:
            return r.read().decode("utf-8", "replace")
    except OSError:
        return None


UNIT_DIRS = {"source": "/usr/local/lib/systemd/system", "package": "/lib/systemd/system"}
UNITS = ("soarlist-sync.service", "soarlist-sync.timer",
         "soarlist-metrics.service", "soarlist-metrics.timer")


def check_systemd_units(tap, m, plan):
    """The systemd variant is not run here (no systemd): the installed
    units at least pass systemd-analyze verify on the installed machine
    (syntax, ExecStart's program, User); the package enabled the timers
    (deb-systemd-helper's links, made without a running systemd)."""
    units = [os.path.join(UNIT_DIRS[plan.way], u) for u in UNITS]
    missing = [u for u in units if not os.path.exists(m.path(u))]
    status, out = m.run(["systemd-analyze", "verify", "--man=no"] + units)
    tap.ok(not missing and status == 0 and not out.strip(),
           "the installed units (%s) pass systemd-analyze verify" % " ".join(units),
           ["missing: %s" % missing, "exit %d" % status] + out.splitlines()[-10:])
    if plan.way == "package":
        wants = "/etc/systemd/system/timers.target.wants"
        off = [u for u in UNITS if u.endswith(".timer")
               and not os.path.islink(m.path(os.path.join(wants, u)))]
        tap.ok(not off, "the package enabled its timers (%s)" % wants,
               ["not enabled: %s" % off])


def check_logs(tap, m, dom):
    def lines(p):
        try:
            with open(m.path(p), errors="replace") as f:
                return f.read().splitlines()
        except OSError:
            return []
    ours = [l for l in lines("/var/log/soarlist.log")
            if "soarlist-deliver" in l and "list=<members@%s>" % dom in l
            and "sender=<alice@example.org>" in l]
    tap.ok(len(ours) == 1, "/var/log/soarlist.log has one soarlist-deliver line for the post",
           ["got %d" % len(ours)] + lines("/var/log/soarlist.log")[-10:])
    sent = [l for l in lines("/var/log/postfix.log")
            if "status=sent" in l and "relay=127.0.0.1[127.0.0.1]:%d" % SINK_PORT in l]
    tap.ok(sent, "/var/log/postfix.log shows the copies sent to the relay host",
           lines("/var/log/postfix.log")[-10:])


# --- step 8: authenticated posting ---------------------------------------
def opendkim_setting(m, key):
    """The last value of KEY in the machine's /etc/opendkim.conf (the one
    opendkim uses), or None."""
    value = None
    try:
        with open(m.path("/etc/opendkim.conf")) as f:
            for line in f:
                w = line.split(None, 1)
                if w and w[0].lower() == key.lower() and not w[0].startswith("#"):
                    value = w[1].strip() if len(w) > 1 else ""
    except OSError:
        pass
    return value


def auth_post(plan, address):
    """(README line, sender, subject) of the README's swaks post to
    ADDRESS."""
    for c in plan.commands:
        if c.first.startswith("swaks ") and re.search(r"--to %s\b" % re.escape(address),
                                                      c.text):
            sender = re.search(r"--from (\S+)", c.text).group(1)
            subject = re.search(r"Subject: ([^'\n]+)'", c.text).group(1)
            return c.line, sender, subject
    raise readme.ReadmeError("README: no swaks post to %s" % address)


def readme_output(plan, outputs, first):
    """(status, output) of the last README command whose first line is
    FIRST, or None."""
    lines = [c.line for c in plan.commands if c.first == first and c.line in outputs]
    return outputs[lines[-1]] if lines else None


def list_copies(world, slug_list, dom, subject):
    """The sink's messages whose Subject contains SUBJECT, sent by list
    SLUG_LIST (envelope sender LIST-bounces[+...]@DOM): the members'
    copies, not the owners' notices."""
    rx = re.compile(r"^%s-bounces(\+.*)?@%s$" % (re.escape(slug_list), re.escape(dom)), re.I)
    return [(msg, p) for msg, p in copies(world, subject) if rx.match(msg.sender)]


def held_ids(out, address, subject):
    """The ids of the posts to ADDRESS with SUBJECT in `soarlist held`
    output OUT, each with its reason line."""
    found = []
    lines = out.splitlines()
    for i, line in enumerate(lines):
        mm = re.match(r"^(\d+)  .*  %s  from .*  %s$" % (re.escape(address), re.escape(subject)),
                      line)
        if mm:
            found.append((int(mm.group(1)), lines[i + 1].strip() if i + 1 < len(lines) else ""))
    return found


def check_auth(tap, m, world, plan, outputs, slug):
    """Step 8: the list with require_auth = dmarc holds a member's post
    that no verifier of this server authenticated, as the README shows."""
    dom = plan.clubs[slug]["domains"][0]
    authserv = plan.cfg["soarlist"].get("authserv_id")
    lists = [sec.split("/", 1)[1] for sec in plan.cfg.sections()
             if sec.startswith("list %s/" % slug)
             and plan.cfg[sec].get("require_auth") == "dmarc"]
    if not authserv or len(lists) != 1:
        tap.ok(False, "the README's configuration has authserv_id and one list "
               "with require_auth = dmarc", ["authserv_id %r, lists %s" % (authserv, lists)])
        return
    name = lists[0]
    address = "%s@%s" % (name, dom)
    board = world.answers[slug]["lists"][name]
    board = [a.lower() for a in (board["emails"] if isinstance(board, dict) else board)]
    line, sender, subject = auth_post(plan, address)

    # opendkim runs, and listens where Postfix's smtpd_milters points
    pid, alive, listening = None, False, False
    try:
        with open(m.path(opendkim_setting(m, "PidFile") or "/run/opendkim/opendkim.pid")) as f:
            pid = int(f.read().split()[0])
        with open("/proc/%d/comm" % pid) as f:
            alive = f.read().strip() == "opendkim"
    except (OSError, ValueError, IndexError):
        pass
    sock = opendkim_setting(m, "Socket") or ""
    _, milters = m.run(["postconf", "-hx", "smtpd_milters"])
    mm = re.match(r"^inet:(\d+)@(localhost|127\.0\.0\.1)$", sock)
    if mm and milters.strip() in ("inet:localhost:%s" % mm.group(1),
                                  "inet:127.0.0.1:%s" % mm.group(1)):
        try:
            socket.create_connection(("127.0.0.1", int(mm.group(1))), timeout=10).close()
            listening = True
        except OSError:
            pass
    tap.ok(alive and listening, "opendkim runs (pid file %s) and listens on %s, "
           "Postfix's smtpd_milters" % (pid, sock),
           ["opendkim alive: %s, Socket %r, smtpd_milters %r, connected: %s"
            % (alive, sock, milters.strip(), listening)])

    # the step's doctor: OK for OpenDKIM, as it promises
    doc = readme_output(plan, outputs, "soarlist doctor")
    want = [r"^OK +OpenDKIM writes the authserv-id soarlist trusts \(%s\)$" % re.escape(authserv),
            r"^OK +OpenDKIM removes the Authentication-Results .*\(RemoveARAll\)$",
            r"^OK +OpenDKIM verifies incoming mail \(Mode v, smtpd_milters\)$"]
    missing = [w for w in want if not doc or not re.search(w, doc[1], re.M)]
    tap.ok(doc and doc[0] == 0 and not missing and "FAIL" not in doc[1],
           "the README's soarlist doctor after step 8 exits 0 with OpenDKIM's "
           "authserv-id, RemoveARAll and Mode OK",
           ["missing: %s" % missing] + (doc[1].splitlines()[-15:] if doc else ["not run"]))

    # the unsigned post: held, in the README's `soarlist held`, and the
    # board got nothing, the owners the notice
    held = readme_output(plan, outputs, "soarlist held")
    ids = held_ids(held[1], address, subject) if held and held[0] == 0 else []
    # the reason as the README quotes it
    quoted = re.search(r'"(5\.7\.1 %s .*?)"' % re.escape(address), " ".join(plan.text.split()))
    tap.ok(len(ids) == 1 and "not authenticated" in ids[0][1]
           and quoted and ids[0][1] == quoted.group(1),
           "README line %d: %s's unsigned post to %s is in the README's "
           "`soarlist held`, not authenticated, with the reason the README "
           "quotes" % (line, sender, address),
           ["got %s" % ids, "the README quotes %r" % (quoted and quoted.group(1))]
           + (held[1].splitlines()[-10:] if held else ["not run"]))
    wait_for(lambda: queue_empty(m))
    leaked = sorted({r for msg, _ in list_copies(world, name, dom, subject) for r in msg.rcpts})
    notices = [msg for msg, p in copies(world, "Held post")
               if subject in str(p["Subject"]) and address in str(p["Subject"])]
    tap.ok(not leaked and notices and queue_empty(m),
           "the held post reached no member of %s; its owners got the hold notice" % address,
           ["copies to: %s" % leaked, "notices: %d" % len(notices),
            "queue empty: %s" % queue_empty(m)])

    # a client's Authentication-Results in the server's name: removed by
    # opendkim (RemoveARAll), so the post is held too; without them
    # removed, Postfix's Received (by the authserv-id) would let them count
    forged = "forged results"
    status, out = swaks(m, "--from", sender, "--to", address,
                        "--header", "From: Bob Example <%s>" % sender,
                        "--header", "Subject: " + forged,
                        "--add-header", "Authentication-Results: %s; spf=pass smtp.mailfrom=%s"
                        % (authserv, sender),
                        "--add-header", "Authentication-Results: %s; dmarc=pass header.from=%s"
                        % (authserv, sender.split("@")[1]))
    wait_for(lambda: queue_empty(m))
    _, now = m.run(["soarlist", "held"])
    fids = held_ids(now, address, forged)
    leaked = sorted({r for msg, _ in list_copies(world, name, dom, forged) for r in msg.rcpts})
    # held for want of any result in our name: opendkim removed them
    tap.ok(status == 0 and len(fids) == 1 and not leaked and fids[0][1].endswith(
        "not authenticated: no Authentication-Results of %s" % authserv),
           "a post with spf=pass and dmarc=pass results forged in %s's name is held "
           "(opendkim's RemoveARAll removed them), not distributed" % authserv,
           ["swaks exit %d, held %s, copies to %s" % (status, fids, leaked)]
           + out.splitlines()[-8:] + now.splitlines()[-6:])

    # the moderator approves the first one, as the README says: one copy
    # to each board member
    st, out = (m.run(["soarlist", "approve", str(ids[0][0])]) if ids
               else (-1, "no held post to approve"))
    wait_for(lambda: {r.lower() for msg, _ in list_copies(world, name, dom, subject)
                      for r in msg.rcpts} >= set(board) and queue_empty(m))
    got = collections.Counter(r.lower() for msg, _ in list_copies(world, name, dom, subject)
                              for r in msg.rcpts)
    tap.ok(st == 0 and set(got) == set(board) and max(got.values(), default=0) == 1,
           "soarlist approve ID sends the held post to each member of %s once" % address,
           ["approve exit %d: %s" % (st, out.strip()), "copies: %s, want %s"
            % (dict(got), board)])


def checks(tap, m, world, plan, outputs):
    slug = sorted(plan.clubs)[0]
    answer = world.answers[slug]
    members = answer["lists"]["members"]
    if isinstance(members, dict):
        members = members["emails"]
    check_post(tap, m, world, plan, slug, members)
    check_stranger(tap, m, plan, slug)
    check_app(tap, m, world, plan, slug, members)
    check_relay(tap, world)
    check_cron(tap, m)
    check_node_exporter(tap, m)
    check_systemd_units(tap, m, plan)
    check_logs(tap, m, plan.clubs[slug]["domains"][0])
    check_auth(tap, m, world, plan, outputs, slug)
    status, out = m.run(["soarlist", "doctor"])
    tap.ok(status == 0, "soarlist doctor exits 0 after the posts",
           ["exit %d" % status] + out.splitlines()[-20:])
    check_new_list(tap, m, world, plan, slug)
    check_bad_names(tap, m, world, plan, slug)
    check_logrotate(tap, m)
    if check_restore(tap, m, world, plan, slug, members):
        check_lifecycle(tap, m, world, plan, slug, members)
    else:
        tap.ok(False, "the README's club lifecycle not run: the restore failed")


def soarlist_out(m, *args):
    """(status, output) of soarlist ARGS as the soarlist user."""
    return m.run(["runuser", "-u", "soarlist", "--", "soarlist"] + list(args))


def data_files(m):
    """{path: (bytes, mode, uid, gid)} of the files a backup must bring
    back: the configuration, the API key, the database."""
    out = {}
    for p in (CONFIG_PATH, "/etc/soarlist/keys/default"):
        st = os.stat(m.path(p))
        with open(m.path(p), "rb") as f:
            out[p] = (f.read(), st.st_mode & 0o7777, st.st_uid, st.st_gid)
    return out


def check_restore(tap, m, world, plan, slug, members):
    """The README's "Backup and restore": a backup while the server runs,
    then everything it holds lost (Postfix stopped as the README says, the
    database, configuration, API key and Postfix tables deleted), then the
    README's restore: the same lists, held posts and bounce scores, the
    files as they were, doctor content, and a post distributed once to
    each member. TRUE when it all held."""
    (backup, _stop_sd, stop, restore, _start_sd, start) = plan.later["Backup and restore"]
    outputs = {}
    views = [("lists",), ("held",), ("bounces",)]
    before = [soarlist_out(m, *v) for v in views]
    files = data_files(m)
    if not run_commands(tap, m, world, backup + stop, outputs):
        return False
    # the loss, with Postfix stopped
    lost = []
    for p in ["/var/lib/soarlist/soarlist.db", "/var/lib/soarlist/soarlist.db-wal",
              "/var/lib/soarlist/soarlist.db-shm", CONFIG_PATH,
              "/etc/soarlist/keys/default"] + [
              os.path.join("/var/lib/soarlist/postfix", f)
              for f in os.listdir(m.path("/var/lib/soarlist/postfix"))]:
        if os.path.exists(m.path(p)):
            os.unlink(m.path(p))
            lost.append(p)
    tap.diag("deleted: %s" % " ".join(lost))
    status, _ = m.run(["soarlist", "status"])
    tap.ok(status != 0 and "/var/lib/soarlist/soarlist.db" in lost,
           "the server lost its database, configuration and key (soarlist "
           "status fails)", ["status exit %d" % status])
    if not run_commands(tap, m, world, restore + start, outputs):
        return False
    after = [soarlist_out(m, *v) for v in views]
    diffs = ["soarlist %s: %r, was %r" % (v[0], a, b)
             for v, a, b in zip(views, after, before) if a != b]
    changed = [p for p, v in data_files(m).items() if files[p] != v]
    held = before[1][1].strip()
    tap.ok(not diffs and not changed and before[0][0] == 0 and held,
           "after the README's restore: the same lists, held posts (%d lines) "
           "and bounce scores, the configuration and key as they were (bytes, "
           "mode, owner)" % len(held.splitlines()),
           diffs + ["changed: %s" % changed, "held before: %r" % held])
    subject = "after the restore"
    dom = plan.clubs[slug]["domains"][0]
    st, out = swaks(m, "--from", "alice@example.org", "--to", "members@" + dom,
                    "--header", "From: Alice Example <alice@example.org>",
                    "--header", "Subject: " + subject)
    ok, diag = once_each(world, m, subject, members)
    # doctor: no failure but the one M2S's canonical answer causes since
    # check_bad_names (a list name no address can carry)
    _, doc = m.run(["soarlist", "doctor"])
    fails = [l for l in doc.splitlines()
             if l.startswith("FAIL") and "has no address" not in l]
    return tap.ok(st == 0 and ok and not fails and re.search(r"^\d+ checks", doc, re.M),
                  "the restored server distributes a post once to each member "
                  "of members@%s, and soarlist doctor fails on nothing but the "
                  "list names M2S sends" % dom,
                  ["swaks exit %d" % st] + diag + out.splitlines()[-6:]
                  + doc.splitlines()[-12:])


def check_lifecycle(tap, m, world, plan, slug, members):
    """The README's "Suspending and removing a club", block by block: the
    suspended club refused at RCPT TO through Postfix with the README's
    line, status saying so; active again, a post distributed; removed,
    its domain no longer accepted, and purged: nothing of it left."""
    suspend, resume, remove = plan.later["Suspending and removing a club"]
    dom = plan.clubs[slug]["domains"][0]
    outputs = {}
    if not run_commands(tap, m, world, suspend, outputs):
        return
    status_out = outputs[suspend[-1].line][1]
    quoted = re.search(r'"<\*\* (550\s+5\.2\.1\s+<[^>]+>:\s+Recipient\s+address\s+'
                       r'rejected:\s+the\s+lists\s+of\s+[^"]+?\s+are\s+suspended)"', plan.text)
    rcpt = "members@" + dom
    st, out = swaks(m, "--from", "alice@example.org", "--to", rcpt,
                    "--header", "Subject: while suspended")
    want = quoted and " ".join(quoted.group(1).split()).replace(
        "members@ssc.manage2soar.com", rcpt)
    tap.ok(refused_at_rcpt(out) and want and ("<** " + want) in out
           and re.search(r"^Suspended clubs.*\n  %s " % slug, status_out, re.M),
           "a suspended club: soarlist status says so, and Postfix refuses "
           "RCPT TO:<%s> with the README's line" % rcpt,
           ["want %r" % want] + out.splitlines()[-8:] + status_out.splitlines()[-4:])
    if not run_commands(tap, m, world, resume, outputs):
        return
    subject = "active again"
    st, out = swaks(m, "--from", "alice@example.org", "--to", rcpt,
                    "--header", "From: Alice Example <alice@example.org>",
                    "--header", "Subject: " + subject)
    ok, diag = once_each(world, m, subject, members)
    tap.ok(st == 0 and ok, "active again: a post to %s reaches each member once" % rcpt,
           ["swaks exit %d" % st] + diag + out.splitlines()[-6:])
    if not run_commands(tap, m, world, remove, outputs):
        return
    purge_out = outputs[remove[-1].line][1]
    _, status_json = m.run(["soarlist", "status", "--json"])
    _, held = m.run(["soarlist", "held"])
    kept = [f for f in os.listdir(m.path("/var/lib/soarlist/postfix"))
            if not f.endswith(".db")
            and dom in open(m.path(os.path.join("/var/lib/soarlist/postfix", f))).read()]
    # (Postfix no longer takes mail for the domain: it is not in
    # relay_domains, the domains table; from mynetworks, as swaks here,
    # it would relay it like any other domain's)
    tap.ok("club %s deleted" % slug in purge_out
           and json.loads(status_json) == [] and not held.strip() and not kept,
           "removed and purged: the tables do not name %s, soarlist keeps "
           "nothing of %s" % (dom, slug),
           ["status: %s" % status_json.strip(), "held: %r" % held, "tables: %s" % kept]
           + purge_out.splitlines())


def check_new_list(tap, m, world, plan, slug):
    """A list created at M2S works as soon as sync has run: posted to at
    once, through the running Postfix, three lists one after the other."""
    dom = plan.clubs[slug]["domains"][0]
    served, _ = usable(world.answers[slug])
    lists = dict(served["lists"])
    members = ["alice@example.org", "newmember@example.net"]
    names, problems = ["towpilots", "duty-officers", "glider-ops"], []
    for name in names:
        lists[name] = members
        world.m2s.set_data(slug, dict(served, lists=dict(lists)))
        status, out = m.run(["runuser", "-u", "soarlist", "--", "soarlist", "sync",
                             "--quiet"])
        subject = "first post to %s" % name
        st2, out2 = swaks(m, "--from", "alice@example.org", "--to", "%s@%s" % (name, dom),
                          "--header", "From: Alice Example <alice@example.org>",
                          "--header", "Subject: " + subject)
        ok, diag = once_each(world, m, subject, members)
        if status != 0 or st2 != 0 or not ok:
            problems += ["%s: sync exit %d %s, swaks exit %d" % (name, status, out.strip(), st2)]
            problems += out2.splitlines()[-6:] + diag
    tap.ok(not problems, "lists created at M2S take posts at once after sync (%s)"
           % ", ".join(names), problems)


def check_bad_names(tap, m, world, plan, slug):
    """M2S now sends the canonical answer, lists no address can carry
    included: the cron entry's sync and doctor name each of them."""
    _, bad = usable(world.answers[slug])
    world.m2s.set_data(slug, world.answers[slug])
    _, sync_out = m.run(["runuser", "-u", "soarlist", "--", "soarlist", "sync"])
    _, doctor_out = m.run(["soarlist", "doctor"])
    missing = ["%s: %r not named" % (what, name) for name in bad
               for what, out in (("sync", sync_out), ("doctor", doctor_out))
               if '"%s"' % name not in out]
    tap.ok(bad and not missing, "with M2S's lists %s, sync and doctor name each"
           % bad, missing + sync_out.splitlines()[-5:] + doctor_out.splitlines()[-5:])


def check_logrotate(tap, m):
    """The README's logrotate entry rotates soarlist's log file (forced,
    as the weekly run would): the old lines in soarlist.log.1, a new
    soarlist.log with the README's owner and mode, which the next
    soarlist command, as the soarlist user, writes to."""
    log = "/var/log/soarlist.log"
    status, out = m.run(["logrotate", "-f", "/etc/logrotate.d/soarlist"])
    problems = [] if status == 0 else ["logrotate exit %d: %s" % (status, out)]
    try:
        st = os.stat(m.path(log))
        owner = (st.st_uid, st.st_gid, st.st_mode & 0o777)
    except OSError as e:
        problems.append("%s: %s" % (log, e))
        owner = None
    want = (m_id(m, "/etc/passwd", "soarlist"), m_id(m, "/etc/group", "adm"), 0o640)
    if owner != want:
        problems.append("%s: owner, group, mode %r, want %r" % (log, owner, want))
    if not os.path.exists(m.path(log + ".1")) or os.path.getsize(m.path(log + ".1")) == 0:
        problems.append("no rotated %s.1 with the old lines" % log)
    m.run(["runuser", "-u", "soarlist", "--", "soarlist", "sync"])
    if not os.path.exists(m.path(log)) or os.path.getsize(m.path(log)) == 0:
        problems.append("the sync after the rotation wrote nothing to %s" % log)
    tap.ok(not problems, "logrotate rotates %s and soarlist writes the new one" % log,
           problems)


def m_id(m, table, name):
    """NAME's id in the machine's /etc/passwd or /etc/group (TABLE)."""
    with open(m.path(table)) as f:
        for line in f:
            fields = line.split(":")
            if fields[0] == name:
                return int(fields[2])
    return None


# the points checks() prints (not those of the later README commands); the
# package's way has one more (its timers enabled)
CHECKS = 28


# --- the Ansible role (tests/ansible/) ----------------------------------------
# what the operator's own roles did before soarlist's: Postfix as step 1
# and the smarthost login of step 5 (the README commands that mention
# sasl), then Postfix started
OPERATOR = re.compile(r"^(apt-get install postfix |test -f /etc/postfix/main.cf|"
                      r"postconf -e maillog_file=)|sasl", re.M)


def recap(out):
    """{host: {ok: N, changed: N, failed: N, ...}} of a PLAY RECAP."""
    hosts = {}
    for line in out.split("PLAY RECAP", 1)[-1].splitlines():
        mm = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
        if mm:
            hosts[mm.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)",
                                                                    mm.group(2))}
    return hosts


def run_ansible(tap, m, world, plan):
    """The README's "Installing with Ansible" on a machine whose Postfix
    the operator's roles set up; the playbook run again changes nothing;
    then the README's two posts (member, stranger) and the checks of a
    post."""
    operator = [c for c in plan.commands if c.variant != "systemd" and OPERATOR.search(c.text)]
    if not run_commands(tap, m, world, operator, {}):
        return False
    status, out = m.run(["postfix", "start"])
    if not tap.ok(status == 0, "the operator's Postfix started", out.splitlines()[-10:]):
        return False
    with open(m.path(REPO_IN_ROOT + "/README"), encoding="utf-8") as f:
        role = [c for c in readme.extract(f.read(), readme.ANSIBLE) if c.variant != "systemd"]
    outputs = {}
    if not run_commands(tap, m, world, role, outputs):
        return False
    playbook = [c for c in role if c.first.startswith("ansible-playbook ")]
    first = recap(outputs[playbook[-1].line][1])
    tap.ok(first and all(h.get("failed", 1) == 0 and h.get("changed", 0) > 0
                         for h in first.values()),
           "the first run changed the machine and failed nowhere", ["recap: %r" % first])
    status, out = m.run(["/bin/sh", "-c", playbook[-1].text], cwd=REPO_IN_ROOT,
                        timeout=COMMAND_TIMEOUT)
    with open(os.path.join(m.logs, "ansible-again.txt"), "w") as f:
        f.write(out)
    again = recap(out)
    tap.ok(status == 0 and again and all(h.get("changed", 1) == 0 and h.get("failed", 1) == 0
                                         for h in again.values()),
           "the playbook run again reports changed=0",
           ["exit %d, recap %r" % (status, again)]
           + [l for l in out.splitlines() if l.startswith("changed:")][:20]
           + out.splitlines()[-10:])
    check_apt_repository(tap, m, playbook[-1])
    posts = [c for c in plan.commands if c.first.startswith("swaks ")]
    return run_commands(tap, m, world, posts, {})


REPO_VARS = '{"soarlist_deb": "", "soarlist_apt_repository": "deb [trusted=yes] file:/root/repo ./"}'


def check_apt_repository(tap, m, playbook):
    """The role's other source of the package: an apt repository. A local
    one (file:, the README's build indexed with dpkg-scanpackages), the
    package removed first; the playbook with soarlist_deb empty installs
    it from there, and again changes nothing. This world has no Debian
    mirror, so only the local source is left in sources.list meanwhile
    (apt-get update would fail on the mirror's)."""
    status, out = m.run(["/bin/sh", "-c",
                         "rm -rf /root/repo && mkdir /root/repo && "
                         "cp /root/soarlist_*.deb /root/repo/ && cd /root/repo && "
                         "dpkg-scanpackages --multiversion . > Packages && "
                         "apt-get remove -y -q soarlist && "
                         "mv /etc/apt/sources.list /etc/apt/sources.list.test-saved"])
    if not tap.ok(status == 0, "a local apt repository holds the package, removed here",
                  out.splitlines()[-10:]):
        return
    cmd = playbook.text.strip() + " -e '%s'" % REPO_VARS
    runs = []
    for i in range(2):
        status, out = m.run(["/bin/sh", "-c", cmd], cwd=REPO_IN_ROOT, timeout=COMMAND_TIMEOUT)
        with open(os.path.join(m.logs, "ansible-repository-%d.txt" % i), "w") as f:
            f.write(out)
        runs.append((status, recap(out), out))
    m.run(["mv", "/etc/apt/sources.list.test-saved", "/etc/apt/sources.list"])
    _, pkg = m.run(["dpkg-query", "-W", "-f", "${Status}", "soarlist"])
    (s1, r1, o1), (s2, r2, o2) = runs
    tap.ok(s1 == 0 and pkg == "install ok installed" and s2 == 0
           and all(h.get("changed", 1) == 0 for h in r2.values()),
           "with soarlist_apt_repository, the role installs the package from the "
           "repository, and a second run changes nothing",
           ["exits %d, %d; package: %s; second recap %r" % (s1, s2, pkg, r2)]
           + o1.splitlines()[-15:] + o2.splitlines()[-8:])


def ansible_checks(tap, m, world, plan):
    slug = sorted(plan.clubs)[0]
    members = world.answers[slug]["lists"]["members"]
    if isinstance(members, dict):
        members = members["emails"]
    check_post(tap, m, world, plan, slug, members)
    check_stranger(tap, m, plan, slug)
    check_relay(tap, world)
    # no systemd here: the role installed the cron entries instead
    check_cron(tap, m)
    status, out = m.run(["postconf", "-h", "smtpd_recipient_restrictions"])
    tap.ok(out.split(",")[0].split() == ["check_policy_service",
                                         "unix:private/soarlist-policy"],
           "the role put soarlist's policy check first at RCPT TO", [out])
    status, out = m.run(["soarlist", "doctor"])
    tap.ok(status == 0, "soarlist doctor exits 0 on the role's installation",
           ["exit %d" % status] + out.splitlines()[-20:])


ANSIBLE_CHECKS = 7


def main(argv):
    root, work, first, way = argv[1], argv[2], int(argv[3]), argv[4]
    tap = Tap(first)
    m = Machine(root, work)
    with open(os.path.join(m.path(REPO_IN_ROOT), "README"), encoding="utf-8") as f:
        # the role installs the package: the world of the package's way
        plan = Plan(f.read(), "package" if way == "ansible" else way)
    m.mount_all()
    world = World(m, plan)
    world.start()
    if way == "ansible":
        if run_ansible(tap, m, world, plan):
            ansible_checks(tap, m, world, plan)
        else:
            for i in range(ANSIBLE_CHECKS):
                tap.ok(False, "check %d not run: a command failed" % (i + 1))
        world.sink.close()
        world.m2s.close()
        print(DONE)
        return 0 if tap.failed == 0 else 1
    outputs = run_readme(tap, m, world, plan)
    if outputs is None:
        for i in range(CHECKS + (way == "package")):
            tap.ok(False, "check %d not run: a README command failed" % (i + 1))
    else:
        checks(tap, m, world, plan, outputs)
    world.sink.close()
    world.m2s.close()
    print(DONE)
    return 0 if tap.failed == 0 else 1


DONE = "# stage 2 done"


if __name__ == "__main__":
    sys.exit(main(sys.argv))
