"""opendkim.py - the real OpenDKIM milter, run privately for black-box tests.

OpenDKIM (Debian's /usr/sbin/opendkim) runs in the foreground with a
configuration file of the test's own in a scratch directory, listening on
a free TCP port of 127.0.0.1, logging nowhere but its stderr (kept in the
scratch directory and shown when it fails). Messages are passed through
it with miltertest (Debian package miltertest), the MTA side of the
milter protocol, driven by a Lua script this module writes for each
message.

- OpenDKIM(scratch, key_table=PATH, signing_table=PATH): a signer
  (Mode s) with the KeyTable (file:) and SigningTable (refile:) given.
- OpenDKIM(scratch, public_keys={NAME: TXT}): a verifier (Mode v) whose
  keys come from OpenDKIM's TestPublicKeys file instead of DNS (no
  network): NAME is "SELECTOR._domainkey.DOMAIN", TXT the record's text.
- .sign(message) -> the DKIM-Signature value OpenDKIM inserted, "" if none;
  .verify(message) -> the Authentication-Results value it inserted, ""
  if none; .milter(message) -> everything (reply, inserted fields).

Python standard library only.
"""
import os
import re
import signal
import socket
import stat
import subprocess
import tempfile
import time

OPENDKIM = "/usr/sbin/opendkim"
MILTERTEST = "/usr/bin/miltertest"
GENKEY = "/usr/sbin/opendkim-genkey"
AUTHSERV_ID = "verifier.test.example"
# a client OpenDKIM treats as internal (its default InternalHosts) when
# signing, and one outside it (TEST-NET-1) when verifying
SIGNING_CLIENT = "127.0.0.1"
VERIFYING_CLIENT = "192.0.2.1"


class OpenDKIMError(Exception):
    pass


def safe_directory(path):
    """Whether OpenDKIM's RequireSafeKeys (on by default) would accept the
    directories from / down to PATH above a private key: none writable by
    others, none group-writable, none writable by an owner other than root
    or this user. /tmp (mode 1777) is not: a key below it is refused
    ("key data is not secure") and the message not signed."""
    real = os.path.realpath(path)
    node = "/"
    for part in [""] + [p for p in real.split("/") if p]:
        node = os.path.join(node, part)
        st = os.stat(node)
        if st.st_mode & (stat.S_IWOTH | stat.S_IWGRP):
            return False
        if st.st_mode & stat.S_IWUSR and st.st_uid not in (0, os.geteuid()):
            return False
    return True


def secure_parent():
    """A directory to make key scratch directories in, one that
    safe_directory() accepts: $SOARLIST_TEST_SECURE_TMPDIR, else $HOME,
    else the current directory (tempfile's default, /tmp, never is)."""
    for cand in (os.environ.get("SOARLIST_TEST_SECURE_TMPDIR"),
                 os.environ.get("HOME"), os.getcwd()):
        if cand and os.path.isdir(cand) and os.access(cand, os.W_OK | os.X_OK) \
                and safe_directory(cand):
            return cand
    raise OpenDKIMError("no directory where OpenDKIM would accept a private key "
                        "(none of $SOARLIST_TEST_SECURE_TMPDIR, $HOME and the current "
                        "directory is writable here and free of directories "
                        "writable by others): set SOARLIST_TEST_SECURE_TMPDIR")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lua_string(data):
    """DATA (bytes or str) as a Lua string literal: every byte but the
    plainest ones as a decimal escape, so that nothing can end it early."""
    if isinstance(data, str):
        data = data.encode()
    out = []
    for b in data:
        c = chr(b)
        if c.isascii() and (c.isalnum() or c in " .,:;=@<>()-_+/*[]{}!?#$%&'~^|"):
            out.append(c)
        else:
            out.append("\\%03d" % b)
    return '"' + "".join(out) + '"'


def parse_message(data):
    """(header fields [(name, value)], body bytes) of message DATA (bytes,
    LF or CRLF lines). A field's continuation lines are joined with CRLF,
    its value given without the blanks after the colon (as Postfix and
    sendmail send them to a milter); the body's line ends become CRLF."""
    if isinstance(data, str):
        data = data.encode()
    m = re.search(rb"\r?\n\r?\n", data)
    head, body = (data, b"") if m is None else (data[:m.start()], data[m.end():])
    fields = []
    for line in re.split(rb"\r?\n", head):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + b"\r\n" + line)
        elif b":" in line:
            name, value = line.split(b":", 1)
            fields.append((name, value.lstrip(b" \t")))
        else:
            raise ValueError("not a header field: %r" % line)
    body = re.sub(rb"\r?\n", b"\r\n", body)
    return fields, body


def envelope_sender(fields):
    """The address in the From field, for MAIL FROM."""
    for name, value in fields:
        if name.lower() == b"from":
            m = re.search(rb"<([^>]*)>", value)
            return (m.group(1) if m else value.strip()).decode("utf-8", "replace")
    return ""


def genkey_txt(path):
    """The TXT text of an opendkim-genkey SELECTOR.txt file (its quoted
    strings joined into one)."""
    with open(path, encoding="ascii") as f:
        return "".join(re.findall(r'"([^"]*)"', f.read()))


def genkey(directory, domain, selector, bits=2048):
    """A key made by opendkim-genkey in DIRECTORY: (private key path, TXT)."""
    os.makedirs(directory, exist_ok=True)
    subprocess.run([GENKEY, "-b", str(bits), "-d", domain, "-s", selector,
                    "-D", directory], check=True, capture_output=True, timeout=120)
    return (os.path.join(directory, selector + ".private"),
            genkey_txt(os.path.join(directory, selector + ".txt")))


class MilterResult:
    """What OpenDKIM did with one message: REPLY, the milter reply that
    ended the exchange (a character: "c" continue, "a" accept, ...), STEP,
    the step it answered, and INSERTED, {field name: [values]} of the
    header fields it inserted or added at end of message."""

    def __init__(self, step, reply, inserted, output):
        self.step = step
        self.reply = reply
        self.inserted = inserted
        self.output = output

    def first(self, name):
        """The first NAME field inserted, without its leading blanks ("" if none)."""
        return (self.inserted.get(name) or [""])[0].lstrip(" \t")


class OpenDKIM:
    """A private OpenDKIM milter: a context manager that starts it and
    stops (and reaps) it. See the module's docstring."""

    def __init__(self, scratch=None, key_table=None, signing_table=None,
                 public_keys=None, extra=""):
        if (key_table is None) != (signing_table is None):
            raise ValueError("a signer needs both a KeyTable and a SigningTable")
        if (key_table is None) == (public_keys is None):
            raise ValueError("either a signer (tables) or a verifier (public_keys)")
        self.signer = key_table is not None
        self.dir = tempfile.mkdtemp(prefix="opendkim-", dir=scratch)
        self.port = None
        self.proc = None
        self.conf = os.path.join(self.dir, "opendkim.conf")
        self.stderr_path = os.path.join(self.dir, "opendkim.stderr")
        self.key_table = key_table
        self.signing_table = signing_table
        self.public_keys = public_keys
        self.extra = extra
        self.count = 0

    # configuration -------------------------------------------------------
    def write_public_keys(self, public_keys):
        """The TestPublicKeys file: one "NAME TXT" line a key. OpenDKIM
        reads it again at each verification, so it may be rewritten while
        the verifier runs."""
        path = os.path.join(self.dir, "public-keys")
        with open(path + ".tmp", "w", encoding="ascii") as f:
            for name, txt in public_keys.items():
                if re.search(r"\s", name) or "\n" in txt:
                    raise ValueError("unusable test key %r %r" % (name, txt))
                f.write("%s %s\n" % (name, txt))
        os.rename(path + ".tmp", path)
        return path

    def config_text(self):
        lines = [
            # no syslog: what it says goes to stderr, kept in the scratch dir
            "Syslog no",
            "PidFile %s" % os.path.join(self.dir, "opendkim.pid"),
            "Socket inet:%d@127.0.0.1" % self.port,
            "UMask 077",
            # the name in Authentication-Results, not the MTA's macro j
            "AuthservID %s" % AUTHSERV_ID,
            "Canonicalization relaxed/simple",
            "SignatureAlgorithm rsa-sha256",
            "TemporaryDirectory %s" % self.dir,
        ]
        if self.signer:
            lines += ["Mode s",
                      "KeyTable file:%s" % self.key_table,
                      "SigningTable refile:%s" % self.signing_table]
        else:
            lines += ["Mode v",
                      "TestPublicKeys %s" % self.write_public_keys(self.public_keys),
                      # a result even for an unsigned message (dkim=none)
                      "AlwaysAddARHeader yes"]
        if os.getuid() == 0:
            # as root it would keep root; say so explicitly (no switch to
            # the opendkim user, whose files these are not)
            lines.append("UserID root")
        return "\n".join(lines + [self.extra, ""])

    # process -------------------------------------------------------------
    def start(self):
        """Start OpenDKIM and wait until it listens (30 s at most). A port
        taken by another process between free_port() and OpenDKIM's bind
        makes it exit at once: then again on another port, 3 tries."""
        for prog, package in ((OPENDKIM, "opendkim"), (MILTERTEST, "miltertest")):
            if not os.access(prog, os.X_OK):
                raise OpenDKIMError("%s not found: install Debian's package %s "
                                    "(contrib/scripts/install-deps --tests)" % (prog, package))
        for attempt in range(3):
            if self._launch():
                return self
        raise OpenDKIMError("opendkim exited with %s before listening, 3 times; "
                            "the last said:\n%s" % (self.proc.returncode, self.stderr()))

    def _launch(self):
        if self.proc is not None:
            self.stderr_file.close()
        self.port = free_port()
        with open(self.conf, "w") as f:
            f.write(self.config_text())
        self.stderr_file = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([OPENDKIM, "-f", "-x", self.conf],
                                     stdin=subprocess.DEVNULL,
                                     stdout=self.stderr_file,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise OpenDKIMError("opendkim not listening on port %d after 30 s:\n%s"
                                    % (self.port, self.stderr()))
            time.sleep(0.05)

    def stop(self):
        """SIGTERM, then SIGKILL after 0.5 s: libmilter notices SIGTERM only
        when its accept loop's 5 s poll ends, and a test milter has nothing
        to save. Reaped either way."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None:
            self.stderr_file.close()

    def stderr(self):
        try:
            with open(self.stderr_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # one message ---------------------------------------------------------
    def lua_script(self, fields, body, want):
        client = SIGNING_CLIENT if self.signer else VERIFYING_CLIENT
        self.count += 1
        s = ["local conn = mt.connect(%s, 100, 0.1)" % lua_string("inet:%d@127.0.0.1" % self.port),
             'if conn == nil then error("mt.connect() failed") end',
             "mt.set_timeout(60)",
             # SMFIR_SKIP (to a body chunk): no more body, on to end of message
             "local skipbody = false",
             "local function step(name, err)",
             '  if err ~= nil then error(name .. ": " .. err) end',
             "  local r = mt.getreply(conn)",
             '  if name == "body" and r == SMFIR_SKIP then skipbody = true; return end',
             "  if r ~= SMFIR_CONTINUE then",
             '    mt.echo("@@STEP " .. name)',
             '    mt.echo("@@REPLY " .. string.char(r))',
             "    mt.disconnect(conn)",
             "    os.exit(0)",
             "  end",
             "end",
             'mt.macro(conn, SMFIC_CONNECT, "j", "mta.test.example")',
             'step("connect", mt.conninfo(conn, "client.test.example", %s))' % lua_string(client),
             'mt.macro(conn, SMFIC_MAIL, "i", %s)'
             % lua_string("T%d%06d" % (os.getpid(), self.count)),
             'step("mail", mt.mailfrom(conn, %s))' % lua_string("<%s>" % envelope_sender(fields)),
             'step("rcpt", mt.rcptto(conn, "<rcpt@example.net>"))']
        for name, value in fields:
            s.append('step("header", mt.header(conn, %s, %s))'
                     % (lua_string(name), lua_string(value)))
        s.append('step("eoh", mt.eoh(conn))')
        for i in range(0, len(body), 32768):
            s.append('if not skipbody then step("body", mt.bodystring(conn, %s)) end'
                     % lua_string(body[i:i + 32768]))
        s += ['local err = mt.eom(conn)',
              'if err ~= nil then error("eom: " .. err) end',
              'mt.echo("@@STEP eom")',
              'mt.echo("@@REPLY " .. string.char(mt.getreply(conn)))']
        for name in want:
            s += ["if mt.eom_check(conn, MT_HDRINSERT, %s) or"
                  " mt.eom_check(conn, MT_HDRADD, %s) then" % (lua_string(name), lua_string(name)),
                  "  local v = mt.getheader(conn, %s, 0)" % lua_string(name),
                  "  if v ~= nil then",
                  '    mt.echo("@@FIELD " .. %s)' % lua_string(name),
                  "    mt.echo(v)",
                  '    mt.echo("@@END")',
                  "  end",
                  "end"]
        s.append("mt.disconnect(conn)")
        return "\n".join(s) + "\n"

    def milter(self, message, want=("DKIM-Signature", "Authentication-Results")):
        """Pass MESSAGE (bytes or str) through this OpenDKIM; a MilterResult."""
        if self.proc is None or self.proc.poll() is not None:
            raise OpenDKIMError("opendkim is not running:\n%s" % self.stderr())
        fields, body = parse_message(message)
        script = os.path.join(self.dir, "msg-%d.lua" % (self.count + 1))
        with open(script, "w", encoding="ascii") as f:
            f.write(self.lua_script(fields, body, want))
        proc = subprocess.run([MILTERTEST, "-s", script], capture_output=True,
                              timeout=120)
        out = proc.stdout.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise OpenDKIMError("miltertest failed (%d): %s%s\nopendkim:\n%s"
                                % (proc.returncode, out,
                                   proc.stderr.decode("utf-8", "replace"), self.stderr()))
        step = reply = None
        inserted = {}
        lines = iter(out.split("\n"))
        for line in lines:
            if line.startswith("@@STEP "):
                step = line[7:]
            elif line.startswith("@@REPLY "):
                reply = line[8:]
            elif line.startswith("@@FIELD "):
                value = []
                for v in lines:
                    if v == "@@END":
                        break
                    value.append(v)
                inserted.setdefault(line[8:], []).append("\n".join(value))
        if step is None:
            raise OpenDKIMError("miltertest said nothing usable: %r" % out)
        return MilterResult(step, reply, inserted, out)

    def sign(self, message):
        """The DKIM-Signature value this signer inserted in MESSAGE, "" if none."""
        assert self.signer, "sign() on a verifier"
        return self.milter(message, want=("DKIM-Signature",)).first("DKIM-Signature")

    def verify(self, message):
        """The Authentication-Results value this verifier inserted, "" if none."""
        assert not self.signer, "verify() on a signer"
        return self.milter(message, want=("Authentication-Results",)).first(
            "Authentication-Results")


def signature_tags(value):
    """{tag: value} of a DKIM-Signature value (folding whitespace removed)."""
    out = {}
    for part in value.split(";"):
        if "=" in part:
            tag, _, v = part.partition("=")
            out[tag.strip()] = re.sub(r"\s+", "", v)
    return out


def dkim_result(ar_value):
    """The dkim= result of an Authentication-Results value ("" if none)."""
    m = re.search(r"\bdkim=([a-z]+)", ar_value)
    return m.group(1) if m else ""


def signed(message, signature):
    """MESSAGE (bytes or str) with a DKIM-Signature field of value SIGNATURE
    put first, as the MTA does with the field OpenDKIM inserts."""
    if isinstance(message, str):
        message = message.encode()
    value = signature.replace("\r\n", "\n").replace("\n", "\r\n")
    return b"DKIM-Signature: " + value.encode() + b"\r\n" + message
