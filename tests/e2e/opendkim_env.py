"""opendkim_env.py - a real OpenDKIM (Debian's opendkim) as the verifying
milter of a private Postfix instance (postfix_env.Instance).

TestKey.generate() makes a signing key with opendkim-genkey at test time
(a 1024-bit RSA key takes well under a second) and sign() signs a message
with it through opendkim's test mode (-t) in signing mode: the milter's
own signing code, rsa-sha256. (opendkim-testmsg signs with rsa-sha1 only,
which the h=sha256 records opendkim-genkey writes refuse: "signature-key
hash mismatch".)

OpenDKIM(T, authserv_id, keys) runs one opendkim daemon in verify mode:

  T/opendkim/opendkim.conf  its configuration, written from scratch (never
                            /etc/opendkim.conf): Mode v, Socket
                            inet:PORT@127.0.0.1, AuthservID, and
                            TestPublicKeys naming T/opendkim/keys, the TXT
                            records of the test keys (no DNS is asked)
  T/opendkim/opendkim.pid   its PidFile
  T/opendkim.log            what it logged

opendkim logs through syslog(3) only, and this machine may have no syslog
daemon (no /dev/log). So the daemon runs in a mount namespace of its own
(unshare(1)) whose /dev is a small directory of T: the character devices
bind-mounted from the real /dev, and a `log` symlink to a datagram socket
of T, read by a thread of the test process that appends each message to
T/opendkim.log. Nothing outside T changes; the host's /dev is untouched.

The daemon runs in the foreground (Background no) as the user opendkim
(Debian's package creates it; root when it does not exist), pid tracked;
stop() ends it with SIGTERM (SIGKILL after a deadline) and is safe to call
twice. DkimInstance is the Instance whose smtpd has the daemon in
smtpd_milters, with milter_default_action = tempfail (a dead milter defers
the mail rather than let it through unverified). use_local_socket() moves
the milter to a local socket under the queue directory, as the README
wires it on Debian.
"""
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import postfix_env
from postfix_env import DEADLINE, Unavailable, free_port, log, run

OPENDKIM = "/usr/sbin/opendkim"
GENKEY = "/usr/sbin/opendkim-genkey"
UNSHARE = "/usr/bin/unshare"
DAEMON_USER = "opendkim"
# character devices the daemon may open (libraries seed from urandom)
DEVICES = ("null", "zero", "random", "urandom")


def ensure_opendkim():
    """Raise Unavailable when Debian's opendkim and opendkim-tools are not
    installed (apt-get install opendkim opendkim-tools) or unshare(1) is
    missing."""
    missing = [p for p in (OPENDKIM, GENKEY, UNSHARE) if not os.access(p, os.X_OK)]
    if missing:
        raise Unavailable("OpenDKIM cannot be run: %s missing (Debian packages opendkim, "
                          "opendkim-tools, util-linux)" % ", ".join(missing))


class TestKey:
    """A DKIM key pair: the private key file, and the TXT record published
    (here: in TestPublicKeys) at SELECTOR._domainkey.DOMAIN."""

    def __init__(self, domain, selector, private, record):
        self.domain = domain
        self.selector = selector
        self.private = private
        self.record = record

    @property
    def name(self):
        return "%s._domainkey.%s" % (self.selector, self.domain)

    @classmethod
    def generate(cls, directory, domain, selector, bits=1024):
        """opendkim-genkey into DIRECTORY/DOMAIN/ (SELECTOR.private and
        SELECTOR.txt, the zone-file line, whose quoted strings make the
        record)."""
        d = os.path.join(directory, domain)
        os.makedirs(d, exist_ok=True)
        run([GENKEY, "-b", str(bits), "-D", d, "-d", domain, "-s", selector])
        with open(os.path.join(d, selector + ".txt")) as f:
            record = "".join(re.findall(r'"([^"]*)"', f.read()))
        if "p=" not in record:
            raise RuntimeError("opendkim-genkey wrote no public key for %s: %r"
                               % (domain, record))
        return cls(domain, selector, os.path.join(d, selector + ".private"), record)

    def sign(self, message):
        """MESSAGE (bytes or str, CRLF or LF line ends) signed with this
        key (d=DOMAIN, s=SELECTOR, rsa-sha256, relaxed/simple, From
        oversigned as Debian's opendkim.conf does) by OpenDKIM's own
        signing code: opendkim in test mode (-t), Mode s, with a KeyTable
        and a SigningTable that sign whatever the From says. Returns the
        message with CRLF line ends and the DKIM-Signature on top (where
        the milter inserts it, idx=0)."""
        if isinstance(message, str):
            message = message.encode()
        message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        d = os.path.dirname(self.private)
        conf = os.path.join(d, self.selector + ".sign.conf")
        with open(os.path.join(d, self.selector + ".keytable"), "w") as f:
            f.write("k %s:%s:%s\n" % (self.domain, self.selector, self.private))
        with open(os.path.join(d, self.selector + ".signingtable"), "w") as f:
            f.write("* k\n")
        with open(conf, "w") as f:
            f.write("Mode s\nKeyTable file:%s.keytable\nSigningTable refile:%s.signingtable\n"
                    "SignatureAlgorithm rsa-sha256\nCanonicalization relaxed/simple\n"
                    "OversignHeaders From\n"
                    "# the key lies under TMPDIR, a directory others may write\n"
                    "RequireSafeKeys no\nSyslog no\n"
                    % (os.path.join(d, self.selector), os.path.join(d, self.selector)))
        p = subprocess.run([OPENDKIM, "-x", conf, "-t", "-", "-vvv"], input=message,
                           capture_output=True, timeout=60)
        m = re.search(rb"^### INSHEADER: idx=0 hname='DKIM-Signature' hvalue='([^']*)'$",
                      p.stdout, re.M)
        if p.returncode != 0 or not m:
            raise RuntimeError("opendkim -t did not sign (exit %d): %s%s"
                               % (p.returncode, p.stdout.decode(errors="replace"),
                                  p.stderr.decode(errors="replace")))
        value = m.group(1).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        return b"DKIM-Signature: " + value + b"\r\n" + message


def verify(message, keys, authserv_id="verify.e2e.test"):
    """The Authentication-Results value opendkim writes for MESSAGE
    (bytes) when it verifies it in test mode (-t) with the public keys of
    KEYS (TestKeys) and no DNS; None when it writes none (unsigned)."""
    d = os.path.dirname(os.path.dirname(keys[0].private))
    conf = os.path.join(d, "verify.conf")
    keyfile = os.path.join(d, "verify.keys")
    with open(keyfile, "w") as f:
        f.write("".join("%s %s\n" % (k.name, k.record) for k in keys))
    with open(conf, "w") as f:
        f.write("Mode v\nAuthservID %s\nTestPublicKeys %s\nSyslog no\n"
                % (authserv_id, keyfile))
    p = subprocess.run([OPENDKIM, "-x", conf, "-t", "-", "-vvv"], input=message,
                       capture_output=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("opendkim -t failed (exit %d): %s"
                           % (p.returncode, p.stderr.decode(errors="replace")))
    m = re.search(rb"^### INSHEADER: idx=0 hname='Authentication-Results' hvalue='([^']*)'$",
                  p.stdout, re.M)
    return " ".join(m.group(1).decode().split()) if m else None


class _SyslogReader(threading.Thread):
    """Reads syslog datagrams from SOCK and appends them, one a line, to
    PATH (the "<PRI>" prefix dropped)."""

    def __init__(self, sock, path):
        super().__init__(daemon=True)
        self.sock = sock
        self.path = path
        self.stopping = False

    def run(self):
        with open(self.path, "ab", buffering=0) as f:
            while not self.stopping:
                try:
                    data = self.sock.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                f.write(re.sub(rb"^<\d+>", b"", data.rstrip(b"\0\n")) + b"\n")


class OpenDKIM:
    """One opendkim daemon, verify mode, listening on 127.0.0.1:PORT."""

    def __init__(self, root, authserv_id, keys, settings=()):
        """ROOT is the instance's T; AUTHSERV_ID its AuthservID; KEYS the
        TestKeys whose records it knows; SETTINGS extra (name, value)
        lines of opendkim.conf (RemoveARAll, RemoveARFrom, ...)."""
        self.root = root
        self.dir = os.path.join(root, "opendkim")
        self.conf = os.path.join(self.dir, "opendkim.conf")
        self.pidfile = os.path.join(self.dir, "opendkim.pid")
        self.keyfile = os.path.join(self.dir, "keys")
        self.devdir = os.path.join(self.dir, "dev")
        self.logsock_path = os.path.join(self.dir, "log.sock")
        self.logfile = os.path.join(root, "opendkim.log")
        self.authserv_id = authserv_id
        self.keys = list(keys)
        self.settings = list(settings)
        self.port = None
        # None: inet:PORT@127.0.0.1; else the path of a local socket
        self.socket_path = None
        # "v", or "sv" with SIGNING: [TestKey], each signing mail whose
        # From is at its domain (KeyTable, SigningTable)
        self.mode = "v"
        self.signing = []
        self.proc = None
        self.reader = None
        self.logsock = None
        try:
            self.user = pwd.getpwnam(DAEMON_USER).pw_name
        except KeyError:
            self.user = None

    @property
    def milter(self):
        """The milter as Postfix names it (smtpd_milters), for the inet
        socket."""
        return "inet:127.0.0.1:%d" % self.port

    def socket_spec(self):
        if self.socket_path:
            return "local:%s" % self.socket_path
        return "inet:%d@127.0.0.1" % self.port

    def config_text(self):
        lines = ["# opendkim for soarlist's end-to-end tests (tests/e2e/opendkim_env.py)",
                 "Mode %s" % self.mode,
                 "Socket %s" % self.socket_spec(),
                 "AuthservID %s" % self.authserv_id,
                 "TestPublicKeys %s" % self.keyfile,
                 "Background no",
                 "PidFile %s" % self.pidfile,
                 "Syslog yes",
                 "SyslogSuccess yes",
                 "LogWhy yes",
                 "LogResults yes"]
        if self.user:
            lines.append("UserID %s" % self.user)
        if self.socket_path:
            # the socket group-writable, as Debian's opendkim.conf has it
            lines.append("UMask 007")
        if "s" in self.mode and self.signing:
            lines += ["KeyTable file:%s" % os.path.join(self.dir, "keytable"),
                      "SigningTable refile:%s" % os.path.join(self.dir, "signingtable"),
                      "SignatureAlgorithm rsa-sha256",
                      "Canonicalization relaxed/simple",
                      "OversignHeaders From",
                      "# the keys lie under TMPDIR, which others may write",
                      "RequireSafeKeys no"]
        lines += ["%s %s" % kv for kv in self.settings]
        return "\n".join(lines) + "\n"

    def _write(self, path, text):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, 0o644)

    def _prepare(self):
        os.makedirs(self.devdir, mode=0o755, exist_ok=True)
        os.chmod(self.dir, 0o755)
        for n in DEVICES:
            open(os.path.join(self.devdir, n), "a").close()
        link = os.path.join(self.devdir, "log")
        if not os.path.islink(link):
            os.symlink(self.logsock_path, link)
        self._write(self.keyfile, "".join("%s %s\n" % (k.name, k.record) for k in self.keys))
        self._write(os.path.join(self.dir, "keytable"), "".join(
            "k%d %s:%s:%s\n" % (i, k.domain, k.selector, k.private)
            for i, k in enumerate(self.signing)))
        self._write(os.path.join(self.dir, "signingtable"), "".join(
            "*@%s k%d\n" % (k.domain, i) for i, k in enumerate(self.signing)))
        for k in self.signing:  # the daemon's user reads its keys
            if self.user:
                os.chown(k.private, pwd.getpwnam(self.user).pw_uid, -1)
                os.chown(os.path.dirname(k.private), pwd.getpwnam(self.user).pw_uid, -1)
                os.chmod(os.path.dirname(os.path.dirname(k.private)), 0o755)
        self._write(self.conf, self.config_text())

    def _start_log(self):
        if self.logsock is not None:
            return
        os.makedirs(self.dir, mode=0o755, exist_ok=True)
        if os.path.exists(self.logsock_path):
            os.unlink(self.logsock_path)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(self.logsock_path)
        os.chmod(self.logsock_path, 0o666)
        s.settimeout(0.5)
        self.logsock = s
        self.reader = _SyslogReader(s, self.logfile)
        self.reader.start()

    def start(self):
        """Write the configuration, start the daemon, wait until it accepts
        connections. Raise Unavailable if it does not come up."""
        ensure_opendkim()
        self._start_log()
        for attempt in (1, 2):
            self.port = self.port if attempt == 1 and self.port else free_port()
            self._prepare()
            mark = len(self.log_lines())
            binds = "; ".join("mount --bind /dev/%s %s/%s" % (n, self.devdir, n)
                              for n in DEVICES)
            script = "%s && mount --rbind %s /dev && exec %s -f -x %s" % (
                binds, self.devdir, OPENDKIM, self.conf)
            out = open(os.path.join(self.dir, "stderr"), "ab")
            self.proc = subprocess.Popen(
                [UNSHARE, "--mount", "--propagation", "private", "/bin/sh", "-c", script],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
            out.close()
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    self._connect().close()
                    return
                except OSError:
                    time.sleep(0.05)
            problem = self._describe_failure(mark)
            self.stop_daemon()
            if attempt == 1 and "in use" in problem:
                continue  # someone took the port since free_port()
            raise Unavailable("opendkim did not start: %s" % problem)

    def _connect(self):
        if self.socket_path:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.settimeout(5)
                s.connect(self.socket_path)
            except OSError:
                s.close()
                raise
            return s
        return socket.create_connection(("127.0.0.1", self.port), timeout=5)

    def _describe_failure(self, mark):
        if self.proc.poll() is None:
            why = "no connection to %s within %ss" % (self.socket_spec(), DEADLINE)
        else:
            why = "exit %s" % self.proc.returncode
        try:
            with open(os.path.join(self.dir, "stderr"), errors="replace") as f:
                err = f.read().strip()[-500:]
        except OSError:
            err = ""
        return " ".join(("%s; log: %s; stderr: %s" % (
            why, " | ".join(self.log_lines()[mark:])[-800:], err)).split())

    def stop_daemon(self):
        """SIGTERM the daemon, SIGKILL its process group after a deadline."""
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        p.terminate()
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait(timeout=20)

    def restart(self, settings=None):
        """Stop the daemon and start it again on the same port with
        SETTINGS (None: the same ones)."""
        if settings is not None:
            self.settings = list(settings)
        self.stop_daemon()
        self.start()

    def stop(self):
        """Stop the daemon and the log reader. Safe to call twice."""
        self.stop_daemon()
        if self.reader is not None:
            self.reader.stopping = True
            self.reader.join(timeout=5)
            self.reader = None
        if self.logsock is not None:
            self.logsock.close()
            self.logsock = None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_lines(self):
        try:
            with open(self.logfile, encoding="utf-8", errors="replace") as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []


class DkimInstance(postfix_env.Instance):
    """A postfix_env.Instance whose smtpd verifies DKIM with a real
    opendkim (OpenDKIM above). KEYS: [(domain, selector)] to generate
    into T/keys; SETTINGS: extra opendkim.conf lines."""

    AUTHSERV_ID = "mx.soarlist.test"

    def __init__(self, keys=(), settings=(), authserv_id=None):
        ensure_opendkim()  # before T exists: nothing to clean up
        super().__init__()
        self.authserv_id = authserv_id or self.AUTHSERV_ID
        keydir = os.path.join(self.root, "keys")
        os.mkdir(keydir, 0o700)
        self.keys = {}
        for domain, selector in keys:
            self.keys[domain] = TestKey.generate(keydir, domain, selector)
        self.dkim = OpenDKIM(self.root, self.authserv_id, self.keys.values(), settings)

    def main_cf(self):
        return super().main_cf() + """
# the verifier: a real opendkim in verify mode (tests/e2e/opendkim_env.py);
# a milter that does not answer defers the mail, never lets it through
smtpd_milters = {milter}
milter_default_action = tempfail
""".format(milter=self.dkim.milter)

    def setup(self):
        self.dkim.start()  # first: main.cf names its port
        super().setup()

    def stop(self):
        try:
            self.dkim.stop()
        finally:
            super().stop()

    def dkim_log_text(self):
        return "\n".join(self.dkim.log_lines())

    # the local socket, as the README wires it for Debian: a directory of
    # the queue directory (where a chrooted smtpd can reach it), owned by
    # opendkim, group postfix, set-gid so that the socket gets the group
    # postfix; UMask 007 leaves the socket to them
    SOCKET_DIR = "opendkim"
    SOCKET_NAME = "opendkim.sock"

    def use_local_socket(self, local):
        """Move the milter to the local socket T/queue/opendkim/opendkim.sock
        (LOCAL true; smtpd_milters = unix:opendkim/opendkim.sock, relative
        to the queue directory, as for a chrooted smtpd) or back to its
        inet socket, and wait until smtpd accepts a MAIL FROM again, i.e.
        reaches the milter at its new place."""
        d = os.path.join(self.queue_dir, self.SOCKET_DIR)
        if local:
            os.makedirs(d, exist_ok=True)
            os.chown(d, pwd.getpwnam(self.dkim.user or "root").pw_uid,
                     pwd.getpwnam(postfix_env.MAIL_OWNER).pw_gid)
            os.chmod(d, 0o2750)
            self.dkim.socket_path = os.path.join(d, self.SOCKET_NAME)
            milter = "unix:%s/%s" % (self.SOCKET_DIR, self.SOCKET_NAME)
        else:
            self.dkim.socket_path = None
            milter = self.dkim.milter
        self.dkim.restart()
        self.set_main_cf("smtpd_milters = %s" % milter)
        self.wait_for("smtpd to reach the milter at %s" % milter, self.smtpd_takes_mail)

    def smtpd_takes_mail(self):
        """Whether a new SMTP session gets 250 to MAIL FROM (a milter that
        cannot be reached makes it 451)."""
        s = self.smtp()
        try:
            return s.mail("probe@example.org")[0] == 250
        finally:
            try:
                s.rset()
                s.quit()
            except Exception:  # noqa: BLE001 - a probe
                s.close()
