"""test_dkim.py - soarlist's DKIM keys proven with the real OpenDKIM
(issue 12 item 1): "a message from each club domain is signed, and
verifies against the key soarlist published".

Three clubs, one with two domains. `soarlist dkim` makes a key for each
domain (RSA 2048, PEM, mode 0640 in 0750 directories, all of dkim_group)
and OpenDKIM's KeyTable and SigningTable; OpenDKIM started on those very
tables signs a message From: each domain with d=DOMAIN and s=SELECTOR,
and an OpenDKIM verifier given only the TXT records of `soarlist dns
--json` says dkim=pass for each. A domain of no club is not signed; a
signature checked against another domain's published key fails. After
`soarlist dkim rotate DOMAIN` the next signature uses the new selector and
verifies, and so does one made before with the old key, still published;
`soarlist dkim retire DOMAIN OLD` takes the old key from DNS and disk, and
the signing selector cannot be retired. A second `soarlist dkim` changes
nothing (no output, the same table files).

HarnessSelfTest proves the harness (tests/blackbox/opendkim.py) first with
keys of opendkim-genkey: what passes there passes with the right key only,
so that a broken harness cannot make the soarlist tests pass vacuously.

OpenDKIM refuses a private key below a directory writable by others
(RequireSafeKeys, on by default), as /tmp is: the scratch directories of
this file are made elsewhere (opendkim.secure_parent()).
"""
import atexit
import base64
import grp
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import opendkim  # noqa: E402
import tap  # noqa: E402

CLUBS = {"ssc": ("Skyline Soaring Club", "ssc.manage2soar.com;skylinesoaring.org"),
         "other": ("Other Gliding Club", "other.manage2soar.com"),
         "ridge": ("Ridge Runners", "ridge.example")}
DOMAINS = {"ssc.manage2soar.com": "ssc", "skylinesoaring.org": "ssc",
           "other.manage2soar.com": "other", "ridge.example": "ridge"}
SELECTOR = "m2s"
CREATED = re.compile(r"^created key (\S+) for (\S+)$")
TXT = re.compile(r"^v=DKIM1; k=rsa; p=([A-Za-z0-9+/]+=*)$")

_scratch = []


def scratch_base():
    """One directory of this process for every scratch directory, below
    no directory OpenDKIM finds unsafe; removed at exit."""
    if not _scratch:
        d = tempfile.mkdtemp(prefix="soarlist-dkim-test-", dir=opendkim.secure_parent())
        atexit.register(shutil.rmtree, d, True)
        _scratch.append(d)
    return _scratch[0]


def make_env():
    """A harness.Env whose root is below scratch_base()."""
    saved = tempfile.tempdir
    tempfile.tempdir = scratch_base()
    try:
        return harness.Env()
    finally:
        tempfile.tempdir = saved


def message(from_addr, subject="DKIM test", body="Hello from the club.\nSecond line.\n"):
    return ("From: Sender <%s>\nTo: someone@example.net\nSubject: %s\n"
            "Date: Tue, 24 Nov 2026 10:00:00 +0000\nMessage-ID: <%s.%d@test.example>\n\n%s"
            % (from_addr, subject, subject.replace(" ", "-"), os.getpid(), body))


def openssl_public_der_b64(private_path):
    """The base64 DER SubjectPublicKeyInfo of the key in PRIVATE_PATH,
    as openssl computes it (the p= tag a DKIM TXT record must carry)."""
    der = subprocess.run(["openssl", "pkey", "-in", private_path, "-pubout",
                          "-outform", "DER"], check=True, capture_output=True,
                         timeout=60).stdout
    return base64.b64encode(der).decode()


def openssl_bits(private_path):
    text = subprocess.run(["openssl", "pkey", "-in", private_path, "-noout", "-text"],
                          check=True, capture_output=True, timeout=60).stdout.decode()
    m = re.search(r"Private-Key: \((\d+) bit", text)
    return int(m.group(1)) if m else None


class HarnessSelfTest(unittest.TestCase):
    """opendkim.py with opendkim-genkey keys and hand-written tables."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="harness-", dir=scratch_base())
        cls.key, cls.txt = opendkim.genkey(os.path.join(cls.dir, "right"), "example.org", "m2s")
        _, cls.other_txt = opendkim.genkey(os.path.join(cls.dir, "wrong"), "example.org", "m2s")
        cls.key_table = os.path.join(cls.dir, "KeyTable")
        cls.signing_table = os.path.join(cls.dir, "SigningTable")
        with open(cls.key_table, "w") as f:
            f.write("m2s._domainkey.example.org example.org:m2s:%s\n" % cls.key)
        with open(cls.signing_table, "w") as f:
            f.write("*@example.org m2s._domainkey.example.org\n")
        cls.signer = opendkim.OpenDKIM(cls.dir, key_table=cls.key_table,
                                       signing_table=cls.signing_table).start()
        cls.addClassCleanup(cls.signer.stop)
        cls.msg = message("alice@example.org")
        cls.sig = cls.signer.sign(cls.msg)

    def verifier(self, txt):
        v = opendkim.OpenDKIM(self.dir, public_keys={"m2s._domainkey.example.org": txt})
        self.addCleanup(v.stop)
        return v.start()

    def test_signed(self):
        tags = opendkim.signature_tags(self.sig)
        self.assertEqual((tags.get("d"), tags.get("s")), ("example.org", "m2s"),
                         "the signer signs From: @example.org with d=example.org s=m2s: %r"
                         % self.sig)
        self.assertIn("b", tags, "the signature has a b= tag: %r" % self.sig)

    def test_right_key_passes(self):
        ar = self.verifier(self.txt).verify(opendkim.signed(self.msg, self.sig))
        self.assertEqual(opendkim.dkim_result(ar), "pass",
                         "verified with m2s.txt's key: dkim=pass in %r" % ar)
        self.assertIn("header.s=m2s", ar, "A-R names the selector: %r" % ar)
        self.assertIn(opendkim.AUTHSERV_ID, ar, "A-R comes from our verifier: %r" % ar)

    def test_other_key_fails(self):
        ar = self.verifier(self.other_txt).verify(opendkim.signed(self.msg, self.sig))
        self.assertEqual(opendkim.dkim_result(ar), "fail",
                         "verified with another key: dkim=fail in %r" % ar)

    def test_altered_body_fails(self):
        changed = opendkim.signed(self.msg, self.sig).replace(b"Second line", b"Second lime")
        ar = self.verifier(self.txt).verify(changed)
        self.assertEqual(opendkim.dkim_result(ar), "fail",
                         "a body changed after signing: dkim=fail in %r" % ar)

    def test_unsigned_is_none(self):
        ar = self.verifier(self.txt).verify(self.msg)
        self.assertEqual(opendkim.dkim_result(ar), "none",
                         "an unsigned message: dkim=none in %r" % ar)

    def test_other_domain_not_signed(self):
        self.assertEqual(self.signer.sign(message("bob@example.com")), "",
                         "From: a domain not in the SigningTable: no signature")

    def test_unsafe_key_refused(self):
        # RequireSafeKeys is in force: a key OpenDKIM signs with passed
        # its ownership and mode checks (here: world-readable is refused)
        d = tempfile.mkdtemp(prefix="unsafe-", dir=self.dir)
        key = os.path.join(d, "m2s.private")
        shutil.copy(self.key, key)
        os.chmod(key, 0o644)
        kt = os.path.join(d, "KeyTable")
        with open(kt, "w") as f:
            f.write("m2s._domainkey.example.org example.org:m2s:%s\n" % key)
        with opendkim.OpenDKIM(d, key_table=kt, signing_table=self.signing_table) as s:
            r = s.milter(self.msg)
        self.assertEqual(r.first("DKIM-Signature"), "",
                         "a world-readable key is not used: %r" % r.output)
        self.assertEqual(r.reply, "t", "OpenDKIM answers tempfail for it: %r" % r.output)


class DkimEnv(unittest.TestCase):
    """An Env below scratch_base() with three clubs (ssc with two domains),
    synced, dkim_dir = ROOT/dkim (made by soarlist), dkim_group = this
    process's group, a mail_host; `soarlist dkim` run once (self.first)."""

    def setUp(self):
        self.env = make_env()
        self.addCleanup(self.env.cleanup)
        self.group = grp.getgrgid(os.getgid()).gr_name
        self.dkim_dir = os.path.join(self.env.root, "dkim")
        self.env.write_api("ssc", harness.SSC_API)
        self.env.write_api("other", harness.OTHER_API)
        self.env.write_api("ridge", harness.OTHER_API)
        # mail_host: the MX records' host, which soarlist dns needs
        self.env.write_config(clubs=CLUBS, extra="dkim_dir = %s\ndkim_group = %s\n"
                              "mail_host = mail.test.example\n"
                              % (self.dkim_dir, self.group))
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, "sync: %s" % r.stderr)
        self.first = self.dkim()

    def dkim(self, *args, rc=0):
        r = self.env.soarlist("dkim", *args)
        self.assertEqual(r.rc, rc, "soarlist dkim %s: exit %d, stdout %r stderr %r"
                         % (" ".join(args), r.rc, r.stdout, r.stderr))
        return r

    def created(self, r):
        """{domain: selector} of the 'created key' lines of R's stdout."""
        out = {}
        for line in r.stdout.splitlines():
            m = CREATED.match(line)
            if m:
                self.assertNotIn(m.group(2), out, "one key created per domain: %r" % r.stdout)
                out[m.group(2)] = m.group(1)
        return out

    def dns_keys(self):
        """{name: TXT value} of the DKIM records of `soarlist dns --json`,
        each checked for its form."""
        r = self.env.soarlist("dns", "--json")
        self.assertEqual(r.rc, 0, "dns --json: %s" % r.stderr)
        try:
            records = json.loads(r.stdout)
        except ValueError as e:
            self.fail("dns --json is not JSON (%s): %r" % (e, r.stdout[:500]))
        self.assertIsInstance(records, list, "dns --json: an array")
        out = {}
        for rec in records:
            for k in ("club", "domain", "name", "type", "value"):
                self.assertIn(k, rec, "every record has %r: %r" % (k, rec))
            if rec["type"] != "TXT" or "._domainkey." not in rec["name"]:
                continue
            sel, _, dom = rec["name"].partition("._domainkey.")
            self.assertEqual(dom, rec["domain"], "a key's name ends in its domain: %r" % rec)
            self.assertIn(dom, DOMAINS, "a key of a club domain: %r" % rec)
            self.assertEqual(rec["club"], DOMAINS[dom], "the club of its domain: %r" % rec)
            self.assertRegex(rec["value"], TXT, "one string v=DKIM1; k=rsa; p=...: %r" % rec)
            self.assertNotIn(rec["name"], out, "each key published once: %r" % rec)
            out[rec["name"]] = rec["value"]
        return out

    def key_path(self, domain, selector):
        return os.path.join(self.dkim_dir, "keys", domain, selector + ".private")

    def table(self, name):
        """[fields of each line] of dkim_dir/NAME, comments and blank lines aside."""
        with open(os.path.join(self.dkim_dir, name), encoding="utf-8") as f:
            return sorted(l.split() for l in f.read().splitlines()
                          if l.strip() and not l.lstrip().startswith("#"))

    def expected_tables(self, selectors):
        """(KeyTable, SigningTable) lines for {domain: signing selector}."""
        kt = sorted(["%s._domainkey.%s" % (s, d), "%s:%s:%s" % (d, s, self.key_path(d, s))]
                    for d, s in selectors.items())
        st = sorted(["*@%s" % d, "%s._domainkey.%s" % (s, d)] for d, s in selectors.items())
        return kt, st

    def signer(self):
        s = opendkim.OpenDKIM(self.env.root,
                              key_table=os.path.join(self.dkim_dir, "KeyTable"),
                              signing_table=os.path.join(self.dkim_dir, "SigningTable"))
        self.addCleanup(s.stop)
        return s.start()

    def verifier(self, public_keys):
        v = opendkim.OpenDKIM(self.env.root, public_keys=public_keys)
        self.addCleanup(v.stop)
        return v.start()

    def snapshot(self):
        """(path, inode, mtime_ns, mode) of every file and directory under dkim_dir."""
        out = []
        for top, dirs, files in os.walk(self.dkim_dir):
            for n in sorted(dirs + files):
                st = os.lstat(os.path.join(top, n))
                out.append((os.path.join(top, n), st.st_ino, st.st_mtime_ns, st.st_mode))
        return sorted(out)

    def assertNothingChanges(self):
        before = self.snapshot()
        r = self.dkim()
        self.assertEqual(r.stdout, "", "a second soarlist dkim prints nothing: %r" % r.stdout)
        self.assertEqual(self.snapshot(), before,
                         "a second soarlist dkim changes no file (same inode, mtime, mode)")


class DkimTest(DkimEnv):
    """One `soarlist dkim` for three clubs, four domains, proven with OpenDKIM."""

    def test_keys_created(self):
        created = self.created(self.first)
        self.assertEqual(created, {d: SELECTOR for d in DOMAINS},
                         "one key %s per club domain: %r" % (SELECTOR, self.first.stdout))
        gid = grp.getgrnam(self.group).gr_gid
        for d in DOMAINS:
            path = self.key_path(d, SELECTOR)
            st = os.stat(path)
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o640, "%s: mode 0640" % path)
            self.assertEqual(st.st_gid, gid, "%s: group %s" % (path, self.group))
            with open(path) as f:
                self.assertRegex(f.read(), r"\A-----BEGIN (RSA )?PRIVATE KEY-----\n",
                                 "%s: a PEM private key" % path)
            self.assertEqual(openssl_bits(path), 2048, "%s: RSA 2048" % path)
            # OpenDKIM's user reaches the key through the group only. (This
            # process's group is the one every file it makes gets anyway:
            # the gid checks cannot tell whether soarlist sets it.)
            for dpath in (self.dkim_dir, os.path.join(self.dkim_dir, "keys"),
                          os.path.dirname(path)):
                dst = os.stat(dpath)
                self.assertEqual(stat.S_IMODE(dst.st_mode), 0o750, "%s: mode 0750" % dpath)
                self.assertEqual(dst.st_gid, gid, "%s: group %s (OpenDKIM must enter it)"
                                 % (dpath, self.group))

    def test_tables(self):
        kt, st = self.expected_tables({d: SELECTOR for d in DOMAINS})
        self.assertEqual(self.table("KeyTable"), kt, "KeyTable: one line per domain")
        self.assertEqual(self.table("SigningTable"), st, "SigningTable: one line per domain")
        gid = grp.getgrnam(self.group).gr_gid
        for name in ("KeyTable", "SigningTable"):
            s = os.stat(os.path.join(self.dkim_dir, name))
            self.assertEqual(s.st_gid, gid, "%s: group %s" % (name, self.group))
            self.assertTrue(s.st_mode & stat.S_IRGRP, "%s: readable by its group" % name)
            self.assertFalse(s.st_mode & (stat.S_IWOTH | stat.S_IWGRP),
                             "%s: writable by its owner only" % name)

    def test_dns_publishes_each_key(self):
        keys = self.dns_keys()
        self.assertEqual(sorted(keys), sorted("%s._domainkey.%s" % (SELECTOR, d) for d in DOMAINS),
                         "dns --json: one DKIM record per domain")
        for d in DOMAINS:
            p = TXT.match(keys["%s._domainkey.%s" % (SELECTOR, d)]).group(1)
            self.assertEqual(p, openssl_public_der_b64(self.key_path(d, SELECTOR)),
                             "%s: p= is the public half of the key on disk" % d)

    def test_each_domain_signed_and_verified(self):
        signer = self.signer()
        verifier = self.verifier(self.dns_keys())
        for d in DOMAINS:
            msg = message("pilot@" + d)
            sig = signer.sign(msg)
            tags = opendkim.signature_tags(sig)
            self.assertEqual((tags.get("d"), tags.get("s")), (d, SELECTOR),
                             "From: @%s signed with d=%s s=%s: %r" % (d, d, SELECTOR, sig))
            ar = verifier.verify(opendkim.signed(msg, sig))
            self.assertEqual(opendkim.dkim_result(ar), "pass",
                             "%s verifies against the published key: %r" % (d, ar))
            self.assertIn("header.d=%s" % d, ar, "the result is for %s: %r" % (d, ar))
            self.assertIn("2048-bit key", ar, "OpenDKIM saw a 2048-bit key: %r" % ar)

    def test_foreign_domain_not_signed(self):
        signer = self.signer()
        self.assertEqual(signer.sign(message("someone@stranger.example")), "",
                         "From: a domain of no club: not signed")
        # nor a subdomain of a club domain (the SigningTable is *@DOMAIN)
        self.assertEqual(signer.sign(message("someone@mail.ridge.example")), "",
                         "From: a subdomain of a club domain: not signed")

    def test_other_domains_key_fails(self):
        signer = self.signer()
        keys = self.dns_keys()
        msg = message("pilot@ridge.example")
        sig = signer.sign(msg)
        self.assertEqual(opendkim.signature_tags(sig).get("d"), "ridge.example",
                         "signed for ridge.example: %r" % sig)
        # ridge's selector published with the key of other.manage2soar.com
        forged = {"%s._domainkey.ridge.example" % SELECTOR:
                  keys["%s._domainkey.other.manage2soar.com" % SELECTOR]}
        ar = self.verifier(forged).verify(opendkim.signed(msg, sig))
        self.assertEqual(opendkim.dkim_result(ar), "fail",
                         "checked against another domain's key: dkim=fail: %r" % ar)

    def test_second_run_changes_nothing(self):
        self.assertNothingChanges()


class DkimRotateTest(DkimEnv):
    """soarlist dkim rotate and retire, proven with OpenDKIM."""

    DOMAIN = "skylinesoaring.org"

    def rotate(self):
        """Rotate DOMAIN; the new selector (from the output line, checked
        against dns --json)."""
        r = self.dkim("rotate", self.DOMAIN)
        created = self.created(r)
        self.assertEqual(list(created), [self.DOMAIN],
                         "rotate: one 'created key SELECTOR for %s' line: %r"
                         % (self.DOMAIN, r.stdout))
        new = created[self.DOMAIN]
        self.assertNotEqual(new, SELECTOR, "a new selector")
        self.assertTrue(new.startswith(SELECTOR),
                        "the new selector is the old one plus a suffix: %r" % new)
        return new

    def test_rotate_signs_with_new_selector(self):
        old_msg = message("pilot@" + self.DOMAIN, subject="before rotation")
        old_sig = self.signer().sign(old_msg)
        self.assertEqual(opendkim.signature_tags(old_sig).get("s"), SELECTOR,
                         "before rotation: s=%s: %r" % (SELECTOR, old_sig))
        new = self.rotate()
        self.assertTrue(os.path.exists(self.key_path(self.DOMAIN, new)), "the new key's file")
        self.assertTrue(os.path.exists(self.key_path(self.DOMAIN, SELECTOR)),
                        "the old key's file stays until retired")
        selectors = {d: SELECTOR for d in DOMAINS}
        selectors[self.DOMAIN] = new
        kt, st = self.expected_tables(selectors)
        self.assertEqual(self.table("SigningTable"), st,
                         "SigningTable: the new selector for %s" % self.DOMAIN)
        self.assertEqual(self.table("KeyTable"), kt, "KeyTable: the signing keys only")
        keys = self.dns_keys()
        for sel in (SELECTOR, new):
            self.assertIn("%s._domainkey.%s" % (sel, self.DOMAIN), keys,
                          "dns --json publishes %s of %s" % (sel, self.DOMAIN))
        # OpenDKIM reads its tables when it starts: a new signer
        msg = message("pilot@" + self.DOMAIN, subject="after rotation")
        sig = self.signer().sign(msg)
        self.assertEqual(opendkim.signature_tags(sig).get("s"), new,
                         "after rotation: s=%s: %r" % (new, sig))
        verifier = self.verifier(keys)
        ar = verifier.verify(opendkim.signed(msg, sig))
        self.assertEqual(opendkim.dkim_result(ar), "pass",
                         "the new signature verifies with both keys published: %r" % ar)
        ar = verifier.verify(opendkim.signed(old_msg, old_sig))
        self.assertEqual(opendkim.dkim_result(ar), "pass",
                         "mail signed before rotation still verifies: %r" % ar)
        self.assertNothingChanges()

    def test_retire_old_key(self):
        old_msg = message("pilot@" + self.DOMAIN, subject="old key")
        old_sig = self.signer().sign(old_msg)
        new = self.rotate()
        r = self.dkim("retire", self.DOMAIN, SELECTOR)
        keys = self.dns_keys()
        self.assertNotIn("%s._domainkey.%s" % (SELECTOR, self.DOMAIN), keys,
                         "the retired key is no longer in dns --json")
        self.assertIn("%s._domainkey.%s" % (new, self.DOMAIN), keys, "the signing key still is")
        self.assertEqual(len(keys), len(DOMAINS), "one key per domain left: %r" % sorted(keys))
        self.assertFalse(os.path.exists(self.key_path(self.DOMAIN, SELECTOR)),
                         "the retired key's file is gone")
        self.assertTrue(os.path.exists(self.key_path(self.DOMAIN, new)), "the signing key's stays")
        ar = self.verifier(keys).verify(opendkim.signed(old_msg, old_sig))
        self.assertNotEqual(opendkim.dkim_result(ar), "pass",
                            "a signature by the retired key no longer verifies: %r" % ar)
        msg = message("pilot@" + self.DOMAIN, subject="new key")
        sig = self.signer().sign(msg)
        ar = self.verifier(keys).verify(opendkim.signed(msg, sig))
        self.assertEqual(opendkim.dkim_result(ar), "pass",
                         "the signing key still signs and verifies: %r (retire said %r)"
                         % (ar, r.stdout))
        self.assertNothingChanges()

    def test_retire_signing_key_refused(self):
        before = self.snapshot()
        r = self.dkim("retire", "ridge.example", SELECTOR, rc=1)
        lines = r.stderr.splitlines()
        self.assertEqual(len(lines), 1, "one line on stderr: %r" % r.stderr)
        self.assertEqual(self.snapshot(), before, "a refused retire changes no file")
        self.assertIn("%s._domainkey.ridge.example" % SELECTOR, self.dns_keys(),
                      "the signing key is still published")
        # the same after a rotation: the new signing selector is refused
        new = self.rotate()
        self.dkim("retire", self.DOMAIN, new, rc=1)
        self.assertTrue(os.path.exists(self.key_path(self.DOMAIN, new)),
                        "the signing key after rotation stays")
        msg = message("pilot@" + self.DOMAIN)
        sig = self.signer().sign(msg)
        self.assertEqual(opendkim.signature_tags(sig).get("s"), new,
                         "and still signs: %r" % sig)


if __name__ == "__main__":
    tap.main()
