"""postfix_env.py - a private Postfix instance on loopback for end-to-end tests.

Instance() builds, in a temporary directory T (mode 0755):

  T/bin       copies of the built soarlist and soarlist-deliver: master.cf
              and every `soarlist` command the tests run use these, so that
              the pipe user can run them wherever the clone is (/root, mode
              0700, included)
  T/etc       main.cf and master.cf written from scratch (never copied from
              /etc/postfix), the capture transport table, the SASL stub
  T/queue     queue_directory            T/data   data_directory
  T/maps      soarlist's postfix_dir: the tables `soarlist sync` writes
  T/soarlist  soarlist.conf, the API answers (file://), the database and
              log_file; owned by nobody, the user of the pipe and spawn
              services (and of every `soarlist` command the tests run)
  T/mail      what the capture transport delivered: T/mail/RCPT/N.eml with
              the envelope sender in T/mail/RCPT/N.sender
  T/postfix.log  Postfix's own log (maillog_file, via postlogd)

The Postfix configuration mirrors contrib/postfix/main.cf.fragment and
master.cf.fragment, with the tables under T/maps and the programs in T/bin.
T lies under TMPDIR (tempfile.mkdtemp): every directory above it must be
one that the pipe user (nobody) and Postfix's mail_owner (postfix) can
enter; setup() checks, and fails with one line naming the directory.

Nothing leaves the machine: every address that is not a list
address goes to the `capture` pipe transport (or to error:, for the one
member address that is meant not to exist), and the default, relay and
local transports are error:.

Postfix's set-gid postdrop (run by the sendmail that soarlist-deliver
starts, which inherits MAIL_CONFIG from pipe(8)) honours a non-default
configuration directory only when the DEFAULT /etc/postfix/main.cf lists it
in alternate_config_directories: Instance.start() adds T/etc there (creating
a minimal /etc/postfix/main.cf when there is none) and Instance.stop()
removes exactly that entry again.

Postfix writes its log through postlogd, asynchronously: a line can reach
T/postfix.log well after the event. log_barrier() has Postfix log a marker
(postlog(1), through the same postlogd socket) and waits for it: every line
logged before is then in the file. quiesce() waits until Postfix has
finished every message (empty queue, each queue ID "removed") and then for
the barrier: after it, a line that is not in the log was never logged.
Every wait has a deadline (DEADLINE seconds), not a delay: it returns as
soon as its condition holds.

Set SOARLIST_E2E_KEEP=1 to keep T (configuration, queue, logs, captured
mail) after the run for a post-mortem.
"""
import atexit
import email
import email.policy
import fcntl
import json
import os
import pwd
import re
import shutil
import signal
import smtplib
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import harness  # noqa: E402  (SSC_API, OTHER_API, header helpers)

SOARLIST = os.path.abspath(os.environ.get("SOARLIST_BIN", "build/src/soarlist/soarlist"))
DELIVER = os.path.abspath(os.environ.get("SOARLIST_DELIVER",
                                         "build/src/deliver/soarlist-deliver"))

POSTFIX = "/usr/sbin/postfix"
POSTCONF = "/usr/sbin/postconf"
POSTQUEUE = "/usr/sbin/postqueue"
POSTMAP = "/usr/sbin/postmap"
POSTLOG = "/usr/sbin/postlog"
SENDMAIL = "/usr/sbin/sendmail"
DEFAULT_CONFIG_DIR = "/etc/postfix"
DEFAULT_MAIN_CF = os.path.join(DEFAULT_CONFIG_DIR, "main.cf")
CREATED_MARK = "# created by soarlist's end-to-end tests (tests/e2e/postfix_env.py)"

RUN_AS = "nobody"          # user= of the pipe and spawn services
MAIL_OWNER = "postfix"     # mail_owner: Postfix's daemons read T/maps, T/etc
BARRIER_TAG = "postfix-e2e/barrier"  # the tag of log_barrier()'s lines
# how long any wait may take: generous, for a loaded machine (2 cores, load
# average 13); the happy path returns as soon as the condition holds
DEADLINE = 120
# qmgr's line for a message entering the active queue, and the line for its
# removal ("postfix-e2e/qmgr[123]: 4F2A81C0E3: removed"; short queue IDs: hex).
# qmgr logs "removed" after it deleted the queue file: a message has left the
# queue before its last line is sent to postlogd.
QUEUE_ACTIVE = re.compile(r" postfix-e2e/qmgr\[\d+\]: ([0-9A-F]{6,}): from=<")
QUEUE_REMOVED = re.compile(r" postfix-e2e/[\w/-]+\[\d+\]: ([0-9A-F]{6,}): removed$")
ADMIN = "admin@admin.test"  # soarlist's admin address
APP_LOGIN = "m2s"           # the M2S app's SASL login (app_login default)
APP_PASSWORD = "app-secret"
APP_SOURCE = "127.0.0.3"    # the app's client address (app_networks), not in mynetworks
NOSUCH = "nosuch@example.net"  # a member address that does not exist

CLUBS = {
    "ssc": ("Skyline Soaring Club", ["ssc.manage2soar.com", "skylinesoaring.org"]),
    "other": ("Other Gliding Club", ["other.manage2soar.com"]),
}


def ssc_api():
    """harness.SSC_API, with NOSUCH on the board list: the board list is used
    by the bounce scenario only."""
    api = json.loads(json.dumps(harness.SSC_API))
    api["lists"]["board"].append(NOSUCH)
    return api


class Unavailable(Exception):
    """Postfix cannot be installed or started here: the tests are skipped."""


class Unreachable(Exception):
    """A user the instance runs programs as cannot reach T: a failure, with
    one line naming the directory and the user."""


def _can_enter(st, uid, groups):
    """Whether the mode bits of a directory (stat ST) let UID, a member of
    GROUPS, search it."""
    if uid == 0:
        return True
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in groups:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def check_reachable(path, users):
    """Raise Unreachable unless each of USERS can enter every directory from
    / down to PATH (checked by the mode bits, top down, so that the message
    names the first directory in the way)."""
    path = os.path.realpath(path)
    parts = [p for p in path.split("/") if p]
    for user in users:
        pw = pwd.getpwnam(user)
        groups = os.getgrouplist(user, pw.pw_gid)
        d = "/"
        for part in [""] + parts:
            d = os.path.join(d, part)
            st = os.stat(d)
            if not _can_enter(st, pw.pw_uid, groups):
                raise Unreachable(
                    "user %s cannot enter %s (mode %04o, owner %s), a directory above the "
                    "test instance %s: the e2e tests put it under TMPDIR (%s); set TMPDIR "
                    "to a directory every user can enter, e.g. TMPDIR=/tmp"
                    % (user, d, stat.S_IMODE(st.st_mode), _owner(st.st_uid), path,
                       os.environ.get("TMPDIR") or "unset"))


def _owner(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def log(text):
    """A TAP diagnostic line."""
    for line in str(text).splitlines() or [""]:
        print("# " + line, flush=True)


def run(cmd, check=True, timeout=120, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d\n%s%s" % (" ".join(cmd), p.returncode,
                                                  p.stdout, p.stderr))
    return p


# --------------------------------------------------------------- install

def ensure_postfix():
    """Install Debian's postfix (with no configuration) when it is missing
    and we are root. Raise Unavailable when Postfix cannot be had."""
    if os.geteuid() != 0:
        raise Unavailable("not running as root: a private Postfix instance needs root "
                          "(master(8), chown to the pipe user, /etc/postfix/main.cf)")
    needed = [POSTFIX, POSTCONF, POSTQUEUE, POSTMAP, POSTLOG, SENDMAIL,
              "/usr/lib/postfix/sbin/master"]
    if all(os.access(p, os.X_OK) for p in needed):
        return
    if shutil.which("apt-get") is None or shutil.which("debconf-set-selections") is None:
        raise Unavailable("Postfix is not installed and there is no apt-get to install it")
    log("installing postfix (debconf: No configuration)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postfix"]
    try:
        subprocess.run(["debconf-set-selections"], text=True, env=env, capture_output=True,
                       input="postfix postfix/main_mailer_type select No configuration\n",
                       timeout=60)
        p = subprocess.run(install, env=env, capture_output=True, text=True, timeout=240)
        if p.returncode != 0:  # a fresh system has no package lists yet
            subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True,
                           timeout=120)
            p = subprocess.run(install, env=env, capture_output=True, text=True,
                               timeout=240)
    except subprocess.TimeoutExpired as e:
        raise Unavailable("cannot install postfix: %s timed out" % " ".join(e.cmd))
    if p.returncode != 0 or not all(os.access(x, os.X_OK) for x in needed):
        raise Unavailable("cannot install postfix: apt-get exit %d: %s"
                          % (p.returncode, (p.stderr or p.stdout).strip()[-500:]))


# ------------------------------------------- /etc/postfix/main.cf entry

class _Locked:
    """flock on /etc/postfix itself: concurrent test runs edit main.cf in turn."""

    def __enter__(self):
        self.fd = os.open(DEFAULT_CONFIG_DIR, os.O_RDONLY)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _alt_dirs():
    """The explicit alternate_config_directories of the default main.cf."""
    p = run([POSTCONF, "-c", DEFAULT_CONFIG_DIR, "-nh", "alternate_config_directories"],
            check=False)
    return [d for d in re.split(r"[\s,]+", p.stdout.strip()) if d]


def register_config_dir(path):
    """Add PATH to alternate_config_directories in /etc/postfix/main.cf,
    creating a minimal main.cf when there is none."""
    with _Locked():
        if not os.path.exists(DEFAULT_MAIN_CF):
            with open(DEFAULT_MAIN_CF, "x") as f:
                f.write(CREATED_MARK + "\ncompatibility_level = 3.6\n")
        dirs = _alt_dirs()
        if path not in dirs:
            run([POSTCONF, "-c", DEFAULT_CONFIG_DIR, "-e",
                 "alternate_config_directories = " + ", ".join(dirs + [path])])


def unregister_config_dir(path):
    """Remove exactly PATH from alternate_config_directories; delete the
    main.cf we created once nothing but our minimal content is left."""
    with _Locked():
        if not os.path.exists(DEFAULT_MAIN_CF):
            return
        dirs = _alt_dirs()
        if path in dirs:
            rest = [d for d in dirs if d != path]
            if rest:
                run([POSTCONF, "-c", DEFAULT_CONFIG_DIR, "-e",
                     "alternate_config_directories = " + ", ".join(rest)])
            else:
                run([POSTCONF, "-c", DEFAULT_CONFIG_DIR, "-X",
                     "alternate_config_directories"])
        with open(DEFAULT_MAIN_CF) as f:
            lines = [l.strip() for l in f if l.strip()]
        if lines == [CREATED_MARK, "compatibility_level = 3.6"]:
            os.unlink(DEFAULT_MAIN_CF)


# ----------------------------------------------------------- the files

CAPTURE_SCRIPT = r"""#!/bin/sh
# capture RECIPIENT SENDER: the final delivery of the test instance.
# The message goes to {mail}/RECIPIENT/N.eml, its envelope sender to N.sender;
# the .eml appears (rename) only once both are complete.
umask 022
case "$1" in */*|.*|"") echo "4.3.0 capture: bad recipient" >&2; exit 75;; esac
d="{mail}/$1"
mkdir -p "$d" || exit 75
f="$d/$(date +%s%N).$$"
cat > "$f.tmp" || exit 75
printf '%s' "$2" > "$f.sender" || exit 75
mv "$f.tmp" "$f.eml" || exit 75
exit 0
"""

# A minimal Dovecot authentication server (the protocol of smtpd_sasl_type =
# dovecot), run by spawn(8) per connection: PLAIN for one user. It gives
# smtpd working SASL, without which Postfix ignores
# reject_unauthenticated_sender_login_mismatch ("no SASL support").
SASL_STUB = r"""#!/usr/bin/python3
import base64, os, sys
USER, PASSWORD = {user!r}, {password!r}
out = sys.stdout
out.write("VERSION\t1\t2\nMECH\tPLAIN\tplaintext\n"
          "SPID\t%d\nCUID\t1\nCOOKIE\t%s\nDONE\n" % (os.getpid(), "0" * 32))
out.flush()
for line in sys.stdin:
    f = line.rstrip("\n").split("\t")
    if f[0] != "AUTH" or len(f) < 3:
        continue
    rid = f[1]
    resp = next((x[5:] for x in f[3:] if x.startswith("resp=")), None)
    if f[2].upper() != "PLAIN":
        out.write("FAIL\t%s\n" % rid)
        out.flush()
        continue
    if resp is None:
        out.write("CONT\t%s\t\n" % rid)
        out.flush()
        resp = sys.stdin.readline().rstrip("\n").split("\t")[-1]
    parts = base64.b64decode(resp).split(b"\0")
    user, pw = (parts[1].decode(), parts[2].decode()) if len(parts) == 3 else ("", "")
    if user == USER and pw == PASSWORD:
        out.write("OK\t%s\tuser=%s\n" % (rid, user))
    else:
        out.write("FAIL\t%s\tuser=%s\n" % (rid, user))
    out.flush()
"""


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Delivery:
    """One message the capture transport delivered."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        with open(path[:-len(".eml")] + ".sender") as f:
            self.sender = f.read()
        self.recipient = os.path.basename(os.path.dirname(path))

    @property
    def message(self):
        return email.message_from_bytes(self.data, policy=email.policy.compat32)

    def header_values(self, name):
        return [v for n, v in harness.header_fields(self.data) if n.lower() == name.lower()]

    def header(self, name):
        v = self.header_values(name)
        assert len(v) == 1, "want one %s header, got %r" % (name, v)
        return v[0]

    def body(self):
        return harness.split_message(self.data)[1]

    def __repr__(self):
        return "<Delivery to %s from <%s> %s>" % (self.recipient, self.sender, self.path)


class SmtpReply:
    def __init__(self, code, text):
        self.code = code
        self.text = text.decode("utf-8", "replace") if isinstance(text, bytes) else text

    def __repr__(self):
        return "%d %s" % (self.code, self.text)


class Transaction:
    """What one SMTP transaction got: the replies to MAIL, each RCPT and
    DATA, and the queue ID Postfix gave the message (None if refused)."""

    def __init__(self):
        self.mail = None
        self.rcpt = {}
        self.data = None
        self.queue_id = None


class Instance:
    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="soarlist-e2e-")
        os.chmod(self.root, 0o755)
        self.etc = os.path.join(self.root, "etc")
        self.queue_dir = os.path.join(self.root, "queue")
        self.data_dir = os.path.join(self.root, "data")
        self.maps = os.path.join(self.root, "maps")
        self.sl_dir = os.path.join(self.root, "soarlist")
        self.mail = os.path.join(self.root, "mail")
        self.maillog = os.path.join(self.root, "postfix.log")
        self.config = os.path.join(self.sl_dir, "soarlist.conf")
        self.db = os.path.join(self.sl_dir, "soarlist.db")
        self.sl_log = os.path.join(self.sl_dir, "soarlist.log")
        self.capture = os.path.join(self.root, "capture")
        self.sasl_stub = os.path.join(self.etc, "sasl-stub")
        self.bin = os.path.join(self.root, "bin")
        self.soarlist_bin = os.path.join(self.bin, "soarlist")
        self.deliver_bin = os.path.join(self.bin, "soarlist-deliver")
        self.port = None
        self.running = False
        self.registered = False
        self._barriers = 0
        pw = pwd.getpwnam(RUN_AS)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid
        for d in (self.bin, self.etc, self.queue_dir, self.maps, self.sl_dir, self.mail):
            os.mkdir(d, 0o755)
        for d in (self.maps, self.sl_dir, self.mail):
            os.chown(d, self.uid, self.gid)

    # ---------------------------------------------------- configuration

    def domains(self):
        return [d for _, doms in CLUBS.values() for d in doms]

    def write_soarlist_config(self, extra=""):
        out = ["[soarlist]",
               "database = %s" % self.db,
               "sendmail = %s" % SENDMAIL,
               "admin = %s" % ADMIN,
               "log_file = %s" % self.sl_log,
               "postfix_dir = %s" % self.maps,
               "postmap = %s" % POSTMAP,
               "postfix_config_dir = %s" % self.etc,
               # never the host's /etc/opendkim.conf (doctor judges it)
               "opendkim_config = %s/opendkim.conf" % self.etc,
               "app_login = %s" % APP_LOGIN,
               "app_networks = %s/32" % APP_SOURCE,
               extra, ""]
        for slug, (name, doms) in CLUBS.items():
            out += ["[club %s]" % slug, "name = %s" % name,
                    "api_url = file://%s" % self.api_path(slug),
                    "domains = %s" % ";".join(doms), ""]
        self._write(self.config, "\n".join(out), owner=True)

    def api_path(self, slug):
        return os.path.join(self.sl_dir, "api-%s.json" % slug)

    def write_api(self, slug, data):
        self._write(self.api_path(slug), json.dumps(data, indent=1), owner=True)

    def _write(self, path, text, mode=0o644, owner=False):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        if owner:
            os.chown(path, self.uid, self.gid)

    def main_cf(self):
        T = self.root
        doms = "|".join(re.escape(d) for d in self.domains())
        # capture transport: the member that does not exist, then anything
        # that is not at a club domain (list addresses, with or without an
        # extension, are left to the soarlist transport table: a regexp
        # that matched them would win over the hash table's lookup of the
        # address without its +extension)
        self._write(os.path.join(self.etc, "capture_transport"),
                    "/^%s$/ error:5.1.1 user unknown\n" % re.escape(NOSUCH)
                    + "!/@(%s)$/ capture:\n" % doms)
        return """\
# soarlist end-to-end test instance (tests/e2e/postfix_env.py)
compatibility_level = 3.6
queue_directory = {T}/queue
data_directory = {T}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.e2e.test
mydomain = e2e.test
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery on the test instance
default_transport = error:5.4.4 nothing leaves the test instance
relay_transport = error:5.4.4 nothing leaves the test instance
relayhost =
biff = no
smtputf8_enable = no
maillog_file = {T}/postfix.log
maillog_file_prefixes = {T}
syslog_name = postfix-e2e
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
delay_warning_time = 0
in_flow_delay = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
anvil_rate_time_unit = 1s

# SASL, with the stub Dovecot-protocol server below: the M2S app may log in
# as {login} (app_login), or connect from APP_SOURCE (app_networks)
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = private/auth
smtpd_tls_security_level = none
smtpd_tls_auth_only = no

# --- contrib/postfix/main.cf.fragment, tables under {T}/maps ---
relay_domains = hash:{T}/maps/domains
transport_maps = hash:{T}/maps/transport, regexp:{T}/etc/capture_transport
recipient_delimiter = +
relay_recipient_maps = hash:{T}/maps/recipients
soarlist_destination_recipient_limit = 1
smtpd_recipient_restrictions =
    check_policy_service unix:private/soarlist-policy,
    permit_mynetworks,
    permit_sasl_authenticated,
    reject_unauth_destination
soarlist-policy_time_limit = 3600s
# --- end of the fragment ---

capture_destination_recipient_limit = 1
""".format(T=T, login=APP_LOGIN)

    def master_cf(self):
        conf = self.config
        return """\
# soarlist end-to-end test instance (tests/e2e/postfix_env.py)
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
# --- contrib/postfix/master.cf.fragment, user=nobody, built programs ---
soarlist  unix  -       n       n       -       -       pipe
  flags=D user={user} null_sender=
  argv={deliver} -c {conf} -f ${{sender}} -- ${{recipient}}
soarlist-policy  unix  -       n       n       -       0       spawn
  user={user} argv={soarlist} -c {conf} policy
# --- end of the fragment ---
# final delivery of the test instance: files under {mail}
capture   unix  -       n       n       -       -       pipe
  flags= user={user} null_sender=
  argv={capture} ${{recipient}} ${{sender}}
# SASL for smtpd (see main.cf)
auth      unix  -       n       n       -       0       spawn
  user={user} argv=/usr/bin/python3 {sasl}
""".format(port=self.port, user=RUN_AS, deliver=self.deliver_bin, soarlist=self.soarlist_bin,
           conf=conf, mail=self.mail, capture=self.capture, sasl=self.sasl_stub)

    def install_programs(self):
        """Copy the built programs into T/bin (mode 0755): the pipe user
        need not reach the build tree. Raise Unreachable when the pipe user
        or Postfix cannot reach T."""
        check_reachable(self.root, [RUN_AS, MAIL_OWNER])
        for src, dst in ((SOARLIST, self.soarlist_bin), (DELIVER, self.deliver_bin)):
            if not os.access(src, os.X_OK):
                raise RuntimeError("%s is not an executable: build it first "
                                   "(meson compile -C BUILDDIR)" % src)
            shutil.copyfile(src, dst)
            os.chmod(dst, 0o755)

    def setup(self):
        """Write everything, run the first sync. Does not start Postfix."""
        self.install_programs()
        self.port = free_port()
        self._write(self.capture, CAPTURE_SCRIPT.format(mail=self.mail), 0o755)
        self._write(self.sasl_stub, SASL_STUB.format(user=APP_LOGIN, password=APP_PASSWORD),
                    0o755)
        self._write(os.path.join(self.etc, "main.cf"), self.main_cf())
        self._write(os.path.join(self.etc, "master.cf"), self.master_cf())
        self.write_api("ssc", ssc_api())
        self.write_api("other", harness.OTHER_API)
        self.write_soarlist_config()
        r = self.soarlist("sync")
        if r.returncode != 0:
            raise RuntimeError("soarlist sync failed: %s%s" % (r.stdout, r.stderr))

    # ------------------------------------------------------------ running

    def postfix(self, *args, check=True, timeout=120):
        return run([POSTFIX, "-c", self.etc] + list(args), check=check, timeout=timeout)

    def start(self):
        register_config_dir(self.etc)
        self.registered = True
        p = self.postfix("check", check=False)
        if p.returncode != 0:
            raise Unavailable("postfix check failed: %s%s" % (p.stdout, p.stderr))
        for attempt in (1, 2):
            mark = len(self.postfix_log_lines())
            p = self.postfix("start", check=False)
            if p.returncode == 0:
                break
            problems = [l for l in self.postfix_log_lines()[mark:]
                        if "fatal:" in l or "error:" in l]
            if attempt == 1 and any("Address already in use" in l for l in problems):
                # someone took the port since free_port(): another one
                self.port = free_port()
                self._write(os.path.join(self.etc, "master.cf"), self.master_cf())
                continue
            raise Unavailable("postfix start failed (exit %d): %s" % (
                p.returncode, "; ".join(problems) or (p.stdout + p.stderr).strip()))
        self.running = True
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as s:
                    s.noop()
                break
            except (OSError, smtplib.SMTPException) as e:
                if time.monotonic() > deadline:
                    raise Unavailable("smtpd on 127.0.0.1:%d does not answer: %s\n%s"
                                      % (self.port, e, self.postfix_log_text()))
                time.sleep(0.1)

    def stop(self):
        """Stop Postfix (abort and kill if need be), unregister T/etc, and
        remove T unless SOARLIST_E2E_KEEP is set. Safe to call twice."""
        if self.running:
            self.running = False
            p = self.postfix("stop", check=False, timeout=60)
            if p.returncode != 0 or self._master_alive():
                self.postfix("abort", check=False, timeout=30)
                self._kill_master()
        if self.registered:
            self.registered = False
            try:
                unregister_config_dir(self.etc)
            except Exception as e:  # noqa: BLE001 - teardown goes on
                log("cannot unregister %s: %s" % (self.etc, e))
        if os.environ.get("SOARLIST_E2E_KEEP"):
            log("kept %s (SOARLIST_E2E_KEEP)" % self.root)
        elif self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None

    def _master_pid(self):
        try:
            with open(os.path.join(self.queue_dir, "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _master_alive(self):
        pid = self._master_pid()
        if pid is None:
            return False
        try:
            with open("/proc/%d/stat" % pid) as f:
                # a zombie is gone: it waits only for a parent to reap it
                return f.read().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False

    def _kill_master(self):
        pid = self._master_pid()
        if pid is None:
            return
        deadline = time.monotonic() + 5
        while self._master_alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        if self._master_alive():
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def set_main_cf(self, setting):
        """postconf -e SETTING in T/etc/main.cf and reload. Processes of
        the old generation finish on their own: callers wait for an
        observable sign of the new setting (see smtpd_offers_auth)."""
        run([POSTCONF, "-c", self.etc, "-e", setting])
        self.postfix("reload")

    def smtpd_offers_auth(self):
        s = self.smtp("127.0.0.2")
        try:
            return s.has_extn("auth")
        finally:
            s.quit()

    # -------------------------------------------------------- soarlist

    def soarlist(self, *args, config=True, timeout=120):
        """Run the soarlist CLI (T/bin's copy) as nobody, the user of the
        pipe/spawn services."""
        cmd = [self.soarlist_bin] + (["-c", self.config] if config else []) + list(args)
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  user=self.uid, group=self.gid, extra_groups=[],
                                  cwd=self.sl_dir)
        except PermissionError as e:
            raise Unreachable("user %s cannot run %s in %s: %s"
                              % (RUN_AS, cmd[0], self.sl_dir, e)) from None

    def db_rows(self, sql, *args):
        """The rows of SQL on the database, opened read-only."""
        con = sqlite3.connect("file:%s?mode=ro" % self.db, uri=True)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def soarlist_log_lines(self):
        try:
            with open(self.sl_log, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    # -------------------------------------------------------- Postfix state

    def postfix_log_text(self):
        try:
            with open(self.maillog, encoding="utf-8", errors="replace") as f:
                return f.read()
        except (FileNotFoundError, TypeError):
            return ""

    def postfix_log_lines(self):
        return self.postfix_log_text().splitlines()

    def is_barrier(self, line):
        """Whether LINE is one of log_barrier()'s markers."""
        return (" %s[" % BARRIER_TAG) in line

    def queue(self):
        """postqueue -j: one dict per queued message."""
        p = run([POSTQUEUE, "-c", self.etc, "-j"])
        return [json.loads(l) for l in p.stdout.splitlines() if l.strip()]

    def flush(self):
        run([POSTQUEUE, "-c", self.etc, "-f"])

    def deliveries(self, recipient=None):
        """[Delivery] the capture transport wrote, oldest first."""
        out = []
        rcpts = [recipient] if recipient else sorted(os.listdir(self.mail))
        for r in rcpts:
            d = os.path.join(self.mail, r)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                if name.endswith(".eml"):
                    out.append(Delivery(os.path.join(d, name)))
        return out

    def deliveries_with(self, msgid):
        """Every delivery, to anyone, whose Message-ID is MSGID."""
        return [d for d in self.deliveries() if msgid in d.header_values("Message-ID")]

    # ------------------------------------------------------------ SMTP

    def smtp(self, source="127.0.0.2"):
        s = smtplib.SMTP("127.0.0.1", self.port, timeout=60,
                         source_address=(source, 0), local_hostname="client.e2e.test")
        s.ehlo()
        return s

    def send(self, mail_from, rcpts, data, source="127.0.0.2", login=None):
        """One SMTP transaction from SOURCE: MAIL, each RCPT, DATA if any
        recipient was accepted. Returns a Transaction."""
        if isinstance(data, str):
            data = data.encode()
        t = Transaction()
        s = self.smtp(source)
        try:
            if login:
                s.login(*login)
            t.mail = SmtpReply(*s.mail(mail_from))
            if t.mail.code == 250:
                for r in rcpts:
                    t.rcpt[r] = SmtpReply(*s.rcpt(r))
                if any(x.code == 250 for x in t.rcpt.values()):
                    t.data = SmtpReply(*s.data(data))
                    m = re.search(r"queued as (\w+)", t.data.text)
                    t.queue_id = m.group(1) if m else None
                else:
                    s.rset()
        finally:
            try:
                s.quit()
            except smtplib.SMTPException:
                s.close()
        return t

    # ------------------------------------------------------------- waiting

    def wait_for(self, what, predicate, timeout=DEADLINE, interval=0.05):
        """Poll PREDICATE until it returns something true; return that.
        Fail the test with WHAT (a string, or a function giving one) after
        TIMEOUT seconds: a deadline, not a delay."""
        deadline = time.monotonic() + timeout
        while True:
            v = predicate()
            if v:
                return v
            if time.monotonic() > deadline:
                raise AssertionError("timed out after %ss waiting for %s"
                                     % (timeout, what() if callable(what) else what))
            time.sleep(interval)

    def wait_queue_empty(self, timeout=DEADLINE):
        self.wait_for(lambda: "an empty queue: %r" % self.queue(),
                      lambda: not self.queue(), timeout)

    def log_barrier(self, timeout=DEADLINE):
        """Have Postfix log a marker line and wait until it is in the log
        file. postlog(1) sends it to postlogd's socket, like every Postfix
        daemon: a line any Postfix process logged before this call is in
        the file when it returns. Returns the number of log lines before
        the marker."""
        self._barriers += 1
        mark = "e2e-barrier %d.%d" % (os.getpid(), self._barriers)
        run([POSTLOG, "-c", self.etc, "-t", BARRIER_TAG, "-p", "info", mark])
        tail = re.compile(r" %s\[\d+\]: %s$" % (re.escape(BARRIER_TAG), re.escape(mark)))

        def find():
            lines = self.postfix_log_lines()
            for i in range(len(lines) - 1, -1, -1):
                if tail.search(lines[i]):
                    return i + 1  # found; 0 would read as "not yet"
            return None
        return self.wait_for("the marker '%s' in %s (postlogd)" % (mark, self.maillog),
                             find, timeout) - 1

    def pending_messages(self, since=0):
        """Queue IDs that entered the active queue since log line SINCE and
        have no "removed" line yet. (A message refused by cleanup, or
        abandoned before DATA ended, never reaches qmgr: it has no line to
        wait for.)"""
        seen, done = set(), set()
        for line in self.postfix_log_lines()[since:]:
            m = QUEUE_ACTIVE.search(line)
            if m:
                seen.add(m.group(1))
            m = QUEUE_REMOVED.search(line)
            if m:
                done.add(m.group(1))
        return seen - done

    def quiescent(self, since=0, state=None):
        """Whether Postfix has finished with every message, right now: the
        queue is empty (maildrop and incoming included) and each message
        qmgr took since log line SINCE has its "removed" line, every line
        logged before it in the file (log_barrier). STATE, a dict, gets
        what is still there, for a message."""
        state = {} if state is None else state
        state["queue"] = self.queue()
        if state["queue"]:
            return False
        self.log_barrier()
        state["pending"] = self.pending_messages(since)
        return not state["pending"]

    def quiesce(self, since=0, timeout=DEADLINE):
        """Wait until Postfix is quiescent(). After it, a line that is not
        in the log was never logged, and a delivery not made will not be:
        the positive marker before asserting that something did not
        happen."""
        state = {}
        self.wait_for(lambda: "Postfix to finish every message: queue %r, not removed: %s"
                      % (state.get("queue"), sorted(state.get("pending", ()))),
                      lambda: self.quiescent(since, state), timeout, interval=0.1)

    def settle(self, timeout=DEADLINE):
        """Wait for an empty queue; delete what a failed scenario left
        there (after saying so), so that it does not fail the next ones."""
        try:
            self.wait_queue_empty(timeout)
        except AssertionError:
            log("deleting messages left in the queue: %r" % self.queue())
            run(["/usr/sbin/postsuper", "-c", self.etc, "-d", "ALL"])

    def log_lines_for(self, queue_id):
        return [l for l in self.postfix_log_lines() if (" %s: " % queue_id) in l]


class ModuleInstance:
    """The one running instance of a test module: start() from
    setUpModule(), stop() from tearDownModule(), use() from each test's
    setUp(). SIGTERM (meson's timeout; unittest would catch a SystemExit
    raised inside a test) stops Postfix right away, then exits. Postfix
    that cannot be had is a skip of every test, with the reason (which
    tap.py turns into "not ok"); any other setup error fails every test."""

    def __init__(self, factory=None):
        self.factory = factory or Instance
        self.inst = None
        self.skip_reason = None   # Postfix cannot be had or started
        self.error = None         # or: building the instance failed

    def start(self):
        signal.signal(signal.SIGTERM, self._terminated)
        atexit.register(self.stop)
        try:
            ensure_postfix()
            self.inst = self.factory()
            self.inst.setup()
            self.inst.start()
        except Unavailable as e:
            # one line: it ends up in every scenario's TAP line
            self.skip_reason = " ".join(("Postfix cannot be started: %s" % e).split())
            log(self.skip_reason)
            self.stop()
        except Exception as e:  # noqa: BLE001 - reported by every test
            self.error = " ".join(("%s: %s" % (type(e).__name__, e)).split())
            log("setting up the Postfix instance failed: " + self.error)
            if self.inst is not None and self.inst.postfix_log_text():
                log(self.inst.postfix_log_text())
            self.stop()

    def stop(self):
        if self.inst is not None:
            inst, self.inst = self.inst, None
            inst.stop()

    def use(self, test):
        """The instance for TEST (a unittest.TestCase), or skip or fail it."""
        if self.skip_reason:
            test.skipTest(self.skip_reason)
        if self.error:
            test.fail("the Postfix instance could not be set up: " + self.error)
        return self.inst

    def _terminated(self, signum, frame):
        log("terminated by signal %d: stopping Postfix" % signum)
        try:
            self.stop()
        finally:
            os._exit(128 + signum)
