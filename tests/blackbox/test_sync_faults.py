"""test_sync_faults.py - the hardened `soarlist sync` against a local M2S
(tests/blackbox/m2s_server.py: HTTPS with a private CA, and HTTP, on
127.0.0.1) that misbehaves on request: HTTP errors, hangs, truncated,
oversized, non-JSON, non-UTF-8 and wrongly shaped answers, redirects.

What is checked for each fault: the exit status, the one-line reason on
stderr (`soarlist: sync SLUG failed, previous data kept: REASON`), the failed
club's data unchanged (`soarlist members`), the other clubs updated; then
retries and their limits, TLS verification, plain http only to loopback, the
API key's file mode and that it never leaks, the shrink guard and --force,
many clubs in parallel, writes only of what changed (database rows, Postfix
tables), --dry-run, `status`, exit 64 for usage and 78 for config errors,
75 while another process holds the database, and a delivery never seeing
half of a sync.

Retries back off retry_backoff = 10ms here (M2SCase.retry_backoff), so that
the suite does not sleep through real backoffs; test_503_twice_then_success
checks with 300ms that the backoff and its doubling are honoured.
"""
import copy
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import m2s_server  # noqa: E402
import tap  # noqa: E402

MINUS = "\u2212"
SSC_DOMAINS = "ssc.manage2soar.com;skylinesoaring.org"
OTHER_DOMAINS = "other.manage2soar.com"
OTHER_MEMBERS = ["yan@example.com", "zed@example.org"]
FAIL_RE = re.compile(r"^soarlist: sync (\S+) failed, previous data kept: (.+)$")

_certs = {}


def certs():
    """The test CA and server certificates, made once per test process."""
    if not _certs:
        d = tempfile.mkdtemp(prefix="soarlist-m2s-certs-")
        _certs["dir"] = d
        _certs["main"] = m2s_server.Certs(d)
        # signed by the same CA, but for another name only
        _certs["wrongname"] = m2s_server.Certs(d, names=("DNS:other.example",),
                                               ca=_certs["main"])
    return _certs


def tearDownModule():
    if "dir" in _certs:
        shutil.rmtree(_certs["dir"], ignore_errors=True)


class Run:
    """A finished soarlist run: rc, stdout, stderr, seconds."""

    def __init__(self, proc, seconds):
        self.rc = proc.returncode
        self.stdout = proc.stdout.decode("utf-8", "replace")
        self.stderr = proc.stderr.decode("utf-8", "replace")
        self.seconds = seconds

    def __repr__(self):
        return "rc=%d after %.2fs\nstdout:\n%s\nstderr:\n%s" % (
            self.rc, self.seconds, self.stdout, self.stderr)

    def failures(self):
        """{slug: reason} from the stderr failure lines."""
        out = {}
        for line in self.stderr.splitlines():
            m = FAIL_RE.match(line)
            if m:
                out[m.group(1)] = m.group(2)
        return out


class M2SCase(unittest.TestCase):
    """A scratch installation whose clubs are served by a fresh fake M2S.
    Subclasses call add_club() and configure(), then sync()."""

    # written to the config unless the extra lines set their own
    retry_backoff = "10ms"

    def setUp(self):
        self.env = harness.Env()
        self.addCleanup(self.env.cleanup)
        self.srv = m2s_server.M2S(certs()["main"])
        self.addCleanup(self.srv.close)
        self.key = "m2s-key-" + secrets.token_hex(16)
        self.keyfile = os.path.join(self.env.root, "api.key")
        self.write_key(self.keyfile, self.key)
        self.clubs = {}
        self.use_ca = True
        self.extra = ""

    # --- set-up helpers -------------------------------------------------
    def write_key(self, path, key, mode=0o600):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        os.chmod(path, mode)

    def add_club(self, slug, data, name=None, domains=None, url=None,
                 key_file=None, server_key=None):
        self.srv.add_club(slug, data, key=server_key or self.key)
        self.clubs[slug] = {
            "name": name or "Club %s" % slug,
            "domains": domains or "%s.manage2soar.com" % slug,
            "url": url or self.srv.url(slug),
            "key_file": key_file,
        }

    def add_default_clubs(self):
        self.add_club("ssc", copy.deepcopy(harness.SSC_API),
                      name="Skyline Soaring Club", domains=SSC_DOMAINS)
        self.add_club("other", copy.deepcopy(harness.OTHER_API),
                      name="Other Gliding Club", domains=OTHER_DOMAINS)

    def configure(self, extra=None, ca=None):
        extra = self.extra if extra is None else extra
        ca = self.use_ca if ca is None else ca
        out = ["[soarlist]",
               "database = %s" % self.env.db,
               "sendmail = %s" % self.env.sendmail,
               "admin = postmaster@manage2soar.com",
               "dev_redirect = ",
               "log_file = %s" % self.env.log,
               "api_key_file = %s" % self.keyfile]
        if ca:
            out.append("ca_file = %s" % certs()["main"].ca_file)
        if "retry_backoff" not in extra:
            out.append("retry_backoff = %s" % self.retry_backoff)
        out += [extra, ""]
        for slug, c in self.clubs.items():
            out += ["[club %s]" % slug, "name = %s" % c["name"],
                    "api_url = %s" % c["url"], "domains = %s" % c["domains"]]
            if c["key_file"]:
                out.append("api_key_file = %s" % c["key_file"])
            out.append("")
        with open(self.env.config, "w") as f:
            f.write("\n".join(out))

    def sync(self, *args, env=None, timeout=120):
        return self.run_soarlist("sync", *args, env=env, timeout=timeout)

    def run_soarlist(self, *args, env=None, timeout=120):
        t0 = time.monotonic()
        proc = subprocess.run([harness.SOARLIST, "-c", self.env.config] + list(args),
                              capture_output=True, timeout=timeout, env=env)
        return Run(proc, time.monotonic() - t0)

    def members(self, address):
        r = self.run_soarlist("members", address)
        if r.rc != 0:
            return None
        return sorted(r.stdout.split())

    def initial_sync(self):
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.srv.reset_log()
        return r

    # --- assertions -------------------------------------------------------
    def assertFailed(self, r, slug, *patterns):
        """R failed (exit 1) for club SLUG with a one-line reason matching
        every regex in PATTERNS (case-insensitive); returns the reason."""
        self.assertEqual(r.rc, 1, r)
        fails = r.failures()
        self.assertIn(slug, fails, "no failure line for %s:\n%r" % (slug, r))
        reason = fails[slug]
        self.assertTrue(reason.strip(), r)
        for p in patterns:
            self.assertRegex(reason, re.compile(p, re.I), r)
        return reason

    def assertOtherKept(self):
        self.assertEqual(self.members("members@other.manage2soar.com"), OTHER_MEMBERS)

    def assertNoKeyIn(self, *texts):
        for t in texts:
            if isinstance(t, bytes):
                self.assertNotIn(self.key.encode(), t)
            else:
                self.assertNotIn(self.key, t)


class FaultCase(M2SCase):
    """ssc and other synced once; then ssc gets a new member, so a run
    shows that the healthy club is updated while `other` misbehaves."""

    extra_config = "timeout = 10\nconnect_timeout = 5\n"

    def setUp(self):
        super().setUp()
        self.add_default_clubs()
        self.configure(extra=self.extra_config)
        self.initial_sync()
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["members"].append("new@example.org")
        self.srv.set_data("ssc", api)

    def assertSscUpdated(self, r):
        self.assertIn("new@example.org", self.members("members@ssc.manage2soar.com"))
        # 1 added on the first run after setUp, 0 on later ones
        self.assertRegex(r.stdout, r"(?m)^ssc: 5 lists, 7 members, 5 whitelisted, "
                         r"0 invalid dropped, [01] added, 0 removed$", r)

    def assertOtherFailed(self, r, *patterns):
        reason = self.assertFailed(r, "other", *patterns)
        self.assertOtherKept()
        self.assertSscUpdated(r)
        self.assertNotIn("ssc", r.failures(), r)
        self.assertFalse([l for l in r.stdout.splitlines() if l.startswith("other:")], r)
        row = self.env.query("SELECT ok, error FROM sync_run WHERE club_slug='other' "
                             "ORDER BY id DESC LIMIT 1")
        self.assertEqual(row[0][0], 0, row)
        self.assertTrue(row[0][1], row)
        return reason


class HttpStatus(FaultCase):
    def test_401_names_the_api_key_and_is_not_retried(self):
        self.srv.clubs["other"].key = "a-key-soarlist-does-not-have"
        r = self.sync()
        reason = self.assertOtherFailed(r, r"api[ _-]?key")
        self.assertNotIn(self.key, reason)
        self.assertEqual(len(self.srv.requests("other")), 1, self.srv.requests("other"))
        row = self.env.query("SELECT http_status FROM sync_run WHERE club_slug='other' "
                             "ORDER BY id DESC LIMIT 1")
        self.assertEqual(row, [(401,)])

    def test_401_as_m2s_sends_it(self):
        # no X-API-Key at all: M2S's own answer, {"error": "Invalid or
        # missing API key"}; the reason is soarlist's, about the key file
        self.srv.clubs["other"].key = "another-key"
        r = self.sync()
        reason = self.assertOtherFailed(r, r"refused the API key of club other",
                                        r"HTTP 401", r"api_key_file")

    def test_500_key_not_configured_is_the_servers_problem(self):
        # M2S's server has no API key configured: 500 {"error": "API key not
        # configured on server"}. Nothing in soarlist's config can fix it;
        # the line says whom to ask, and asking again does not help
        self.srv.clubs["other"].key = None
        r = self.sync()
        reason = self.assertOtherFailed(
            r, r"no API key configured on the server", r"HTTP 500",
            r"API key not configured on server", r"M2S operator",
            r"api_key_file is not the problem")
        self.assertNotIn("refused the API key", reason)
        self.assertNotIn(self.key, reason)
        self.assertEqual(len(self.srv.requests("other")), 1, self.srv.requests("other"))
        row = self.env.query("SELECT http_status, error FROM sync_run WHERE "
                             "club_slug='other' ORDER BY id DESC LIMIT 1")
        self.assertEqual(row[0][0], 500)
        self.assertIn("M2S operator", row[0][1])
        # status says it too, as the club's last error
        st = json.loads(self.run_soarlist("status", "--json").stdout)
        other = [c for c in st if c["club"] == "other"][0]
        self.assertIn("no API key configured on the server", other["last_error"])

    def test_500_other_errors_are_still_retried(self):
        self.srv.fault("other", "status", code=500, times=1,
                       body=b'{"error": "Internal error"}')
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(self.srv.requests("other")), 2)

    def test_403_names_the_api_key_and_is_not_retried(self):
        self.srv.fault("other", "status", code=403)
        r = self.sync()
        self.assertOtherFailed(r, r"api[ _-]?key")
        self.assertEqual(len(self.srv.requests("other")), 1)

    def test_404_is_not_retried(self):
        self.srv.fault("other", "status", code=404)
        r = self.sync()
        self.assertOtherFailed(r, r"404")
        self.assertEqual(len(self.srv.requests("other")), 1)

    def test_500_then_success_is_retried(self):
        self.srv.fault("other", "status", code=500, times=1)
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(r.failures(), {})
        reqs = self.srv.requests("other")
        self.assertEqual(len(reqs), 2, reqs)
        self.assertGreaterEqual(reqs[1].time - reqs[0].time, 0.01, "no backoff before the retry")
        for q in reqs:
            self.assertEqual(q.headers.get("x-api-key"), self.key)
        self.assertIn("other: 1 lists, 2 members, 2 whitelisted, 0 invalid dropped, "
                      "0 added, 0 removed", r.stdout.splitlines())
        self.assertSscUpdated(r)

    def test_503_twice_then_success(self):
        # the backoff itself: the requests as the server recorded them are
        # at least retry_backoff, then twice that, apart
        self.configure(extra=self.extra_config + "retry_backoff = 300ms\n")
        self.srv.fault("other", "status", code=503, times=2)
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        reqs = self.srv.requests("other")
        self.assertEqual(len(reqs), 3, reqs)
        self.assertGreaterEqual(reqs[1].time - reqs[0].time, 0.3)
        self.assertGreaterEqual(reqs[2].time - reqs[1].time, 0.6)

    def test_500_every_time_fails_after_the_retries(self):
        self.srv.fault("other", "status", code=500)
        r = self.sync()
        self.assertOtherFailed(r, r"500")
        self.assertEqual(len(self.srv.requests("other")), 3)
        self.assertEqual(len(self.srv.requests("ssc")), 1)
        row = self.env.query("SELECT http_status FROM sync_run WHERE club_slug='other' "
                             "ORDER BY id DESC LIMIT 1")
        self.assertEqual(row, [(500,)])

    def test_retries_setting(self):
        for retries, want in ((0, 1), (1, 2), (3, 4)):
            with self.subTest(retries=retries):
                self.configure(extra=self.extra_config + "retries = %d\n" % retries)
                self.srv.clear_faults("other")
                self.srv.fault("other", "status", code=502)
                self.srv.reset_log()
                r = self.sync()
                self.assertOtherFailed(r)
                self.assertEqual(len(self.srv.requests("other")), want)
        # 10, 20, 40 ms of backoff for the last one
        reqs = self.srv.requests("other")
        for i in range(3):
            self.assertGreaterEqual(reqs[i + 1].time - reqs[i].time, 0.01 * 2 ** i, reqs)


class Transport(FaultCase):
    extra_config = "timeout = 1\nconnect_timeout = 1\n"

    def test_hang_past_the_timeout(self):
        self.srv.fault("other", "hang", seconds=120)
        r = self.sync(timeout=60)
        self.assertOtherFailed(r)
        # 3 attempts of 1 s each; never the server's 120 s
        self.assertLess(r.seconds, 12, r)
        self.assertGreaterEqual(r.seconds, 2.9, r)
        self.assertEqual(len(self.srv.requests("other")), 3, "timeouts are retried")

    def test_stall_in_the_middle_of_the_body(self):
        self.configure(extra=self.extra_config + "retries = 0\n")
        self.srv.fault("other", "stall", seconds=120)
        r = self.sync(timeout=60)
        self.assertOtherFailed(r)
        self.assertLess(r.seconds, 6, r)
        self.assertEqual(len(self.srv.requests("other")), 1)

    def test_truncated_body(self):
        self.srv.fault("other", "truncate")
        r = self.sync()
        reason = self.assertOtherFailed(r)
        self.assertNotIn("\n", reason)

    def test_connection_refused_is_retried_then_fails(self):
        self.clubs["other"]["url"] = "http://127.0.0.1:%d/other/api/email-lists/" % \
            m2s_server.free_port()
        self.configure(extra=self.extra_config)
        r = self.sync()
        self.assertOtherFailed(r)
        # two retries: at least 10 + 20 ms of backoff
        self.assertGreaterEqual(r.seconds, 0.03, r)
        self.assertLess(r.seconds, 15, r)

    def test_connection_closed_without_an_answer_is_retried(self):
        counter = m2s_server.ConnectionCounter()
        self.addCleanup(counter.close)
        self.clubs["other"]["url"] = "http://127.0.0.1:%d/other/api/email-lists/" % counter.port
        self.configure(extra=self.extra_config)
        r = self.sync()
        self.assertOtherFailed(r)
        self.assertEqual(counter.count, 3)


class Bodies(FaultCase):
    def test_not_json(self):
        cases = {
            "html login page": (b"<html><body>Please log in</body></html>", "text/html"),
            "cut JSON": (b'{"lists": {"members": ["a@example.org"', "application/json"),
            "empty": (b"", "application/json"),
            "trailing garbage": (b'{"lists": {}, "whitelist": []} xyz', "application/json"),
        }
        for name, (body, ctype) in cases.items():
            with self.subTest(name):
                self.srv.clear_faults("other")
                self.srv.fault("other", "body", body=body, ctype=ctype)
                r = self.sync()
                reason = self.assertOtherFailed(r)
                self.assertNotIn("\n", reason)
                self.assertEqual(len(self.srv.requests("other")), 1, "a bad body is not retried")
                self.srv.reset_log()

    def test_wrong_shape_or_types(self):
        cases = {
            "array": b"[]",
            "null": b"null",
            "string": b'"lists"',
            "lists an array": b'{"lists": [], "whitelist": []}',
            "lists missing": b'{"whitelist": []}',
            "list value a string": b'{"lists": {"members": "a@example.org"}, "whitelist": []}',
            "list value a number": b'{"lists": {"members": 5}, "whitelist": []}',
            "list object without emails":
                b'{"lists": {"members": {"description": "x"}}, "whitelist": []}',
            "whitelist a string":
                b'{"lists": {"members": ["zed@example.org"]}, "whitelist": "zed@example.org"}',
            "bypass_lists an object":
                b'{"lists": {"members": ["zed@example.org"]}, "whitelist": [], '
                b'"bypass_lists": {"members": true}}',
        }
        for name, body in cases.items():
            with self.subTest(name):
                self.srv.clear_faults("other")
                self.srv.fault("other", "body", body=body)
                r = self.sync()
                reason = self.assertOtherFailed(r)
                self.assertNotIn("\n", reason)

    def test_not_utf8(self):
        cases = {
            "latin-1 address": b'{"lists": {"members": ["caf\xe9@example.org", '
                               b'"zed@example.org"]}, "whitelist": []}',
            "latin-1 list name": b'{"lists": {"m\xe9mbers": ["zed@example.org"]}, '
                                 b'"whitelist": []}',
            "lone continuation byte": b'{"lists": {"members": ["zed@example.org"]}, '
                                      b'"whitelist": ["\x80"]}',
            "overlong slash": b'{"lists": {"members": ["zed@example.org"]}, '
                              b'"whitelist": ["\xc0\xafx@example.org"]}',
        }
        for name, body in cases.items():
            with self.subTest(name):
                self.srv.clear_faults("other")
                self.srv.fault("other", "body", body=body)
                r = self.sync()
                reason = self.assertOtherFailed(r, r"utf-?8")
                self.assertNotIn("\n", reason)
                # the reason is printable text, not the raw bytes
                self.assertNotIn("\ufffd", reason)

    def test_oversized_body(self):
        self.configure(extra=self.extra_config + "max_response_size = 8k\n")
        for length in (True, False):
            with self.subTest(content_length=length):
                self.srv.clear_faults("other")
                self.srv.fault("other", "oversize", size=64 * 1024, length=length)
                self.srv.reset_log()
                r = self.sync()
                reason = self.assertOtherFailed(r, r"large|size|big|exceed|limit")
                self.assertNotIn("\n", reason)
                self.assertEqual(len(self.srv.requests("other")), 1, "not retried")

    def test_max_response_size_suffixes(self):
        body = m2s_server.oversized_json(600 * 1024)
        for setting, ok in (("1M", True), ("500k", False), ("1G", True)):
            with self.subTest(setting):
                self.configure(extra=self.extra_config + "max_response_size = %s\n" % setting)
                self.srv.clear_faults("other")
                self.srv.fault("other", "body", body=body)
                # --force: the big answer drops the two old members
                r = self.sync("--force", "other")
                if ok:
                    self.assertEqual(r.rc, 0, r)
                    # the answer replaced the list; put the old one back
                    self.assertEqual(len(self.members("members@other.manage2soar.com")),
                                     len(json.loads(body)["lists"]["members"]))
                    self.srv.clear_faults("other")
                    self.assertEqual(self.sync("--force", "other").rc, 0)
                else:
                    self.assertFailed(r, "other", r"large|size|big|exceed|limit")
                    self.assertOtherKept()

    def test_default_max_response_size_is_16M(self):
        self.srv.fault("other", "oversize", size=17 * 1024 * 1024, length=False)
        r = self.sync()
        self.assertOtherFailed(r, r"large|size|big|exceed|limit")

    def test_count_disagreeing_with_emails(self):
        self.srv.fault("other", "body", body=json.dumps({
            "lists": {"members": {"description": "x", "count": 3,
                                  "emails": ["zed@example.org", "yan@example.com"]}},
            "whitelist": []}).encode())
        self.assertOtherFailed(self.sync())

    def test_invalid_addresses_are_dropped_and_counted(self):
        bad = ["not-an-address", "a@", "@example.org", "x y@example.org",
               "two@@example.org"]
        self.srv.set_data("other", {
            "lists": {"members": OTHER_MEMBERS + bad[:3]},
            "whitelist": ["zed@example.org", "yan@example.com"] + bad[3:],
            "bypass_lists": []})
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertIn("other: 1 lists, 2 members, 2 whitelisted, 5 invalid dropped, "
                      "0 added, 0 removed", r.stdout.splitlines(), r)
        warnings = [l for l in r.stderr.splitlines() if "warning" in l.lower()
                    and "other" in l]
        self.assertEqual(len(warnings), 5, r)
        for b in ("not-an-address", "x y@example.org"):
            self.assertTrue(any(b in w for w in warnings), (b, warnings))
        self.assertOtherKept()
        self.assertSscUpdated(r)


class Redirects(FaultCase):
    def test_redirect_to_https_on_the_same_server_is_followed(self):
        self.clubs["other"]["url"] = self.srv.url("other", moved=True)
        self.srv.redirect("other", self.srv.url("other"))
        self.srv.set_data("other", dict(harness.OTHER_API,
                                        lists={"members": OTHER_MEMBERS + ["new@example.org"]}))
        self.configure(extra=self.extra_config)
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.members("members@other.manage2soar.com"),
                         sorted(OTHER_MEMBERS + ["new@example.org"]))
        paths = [q.path for q in self.srv.requests("other")]
        self.assertEqual(paths, ["/moved/other/api/email-lists/", "/other/api/email-lists/"])

    def test_redirect_to_plain_http_elsewhere_is_refused(self):
        proxy = m2s_server.ProxyRecorder()
        self.addCleanup(proxy.close)
        self.clubs["other"]["url"] = self.srv.url("other", moved=True)
        self.srv.redirect("other", "http://example.invalid/other/api/email-lists/")
        self.configure(extra=self.extra_config)
        env = dict(os.environ, http_proxy="http://127.0.0.1:%d" % proxy.port,
                   HTTP_PROXY="http://127.0.0.1:%d" % proxy.port)
        r = self.sync(env=env)
        self.assertOtherFailed(r)
        self.assertEqual(proxy.got, [], "soarlist followed the redirect to plain http")
        self.assertEqual(len(self.srv.requests("other")), 1)

    def test_redirect_to_plain_http_on_loopback_is_refused(self):
        self.clubs["other"]["url"] = self.srv.url("other", moved=True)
        self.srv.redirect("other", self.srv.url("other", scheme="http"))
        self.configure(extra=self.extra_config)
        r = self.sync()
        self.assertOtherFailed(r)
        self.assertEqual([q.scheme for q in self.srv.requests("other")], ["https"],
                         "redirects are followed only to https")


class Tls(M2SCase):
    def setUp(self):
        super().setUp()
        self.add_default_clubs()

    def test_self_signed_server_fails_without_ca_file(self):
        self.configure(ca=False)
        r = self.sync()
        self.assertEqual(r.rc, 1, r)
        for slug in ("ssc", "other"):
            self.assertFailed(r, slug, r"certif|ssl|tls|verif|issuer")
        self.assertEqual(self.srv.requests(), [], "a request went through unverified TLS")
        self.assertIsNone(self.members("members@other.manage2soar.com"))

    def test_with_ca_file_it_works(self):
        self.configure(ca=True)
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.members("members@other.manage2soar.com"), OTHER_MEMBERS)
        self.assertEqual({q.scheme for q in self.srv.requests()}, {"https"})

    def test_localhost_name_works(self):
        self.clubs["other"]["url"] = self.srv.url("other", host="localhost")
        self.configure(ca=True)
        r = self.sync()
        self.assertEqual(r.rc, 0, r)

    def test_certificate_for_another_name_fails(self):
        wrong = m2s_server.M2S(certs()["wrongname"])
        self.addCleanup(wrong.close)
        wrong.add_club("other", copy.deepcopy(harness.OTHER_API), key=self.key)
        self.clubs["other"]["url"] = wrong.url("other")
        self.configure(ca=True)
        r = self.sync()
        self.assertFailed(r, "other")
        self.assertEqual(wrong.requests(), [])
        self.assertEqual(self.members("members@ssc.manage2soar.com"),
                         harness.stored(harness.SSC_API["lists"]["members"]))


class PlainHttp(M2SCase):
    def setUp(self):
        super().setUp()
        self.add_default_clubs()
        self.proxy = m2s_server.ProxyRecorder()
        self.addCleanup(self.proxy.close)
        # were soarlist to try, curl would go through this recorder
        p = "http://127.0.0.1:%d" % self.proxy.port
        self.proxy_env = dict(os.environ, http_proxy=p, HTTP_PROXY=p,
                              no_proxy="127.0.0.1,localhost", NO_PROXY="127.0.0.1,localhost")

    def test_http_to_loopback_is_allowed(self):
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host):
                self.clubs["other"]["url"] = self.srv.url("other", scheme="http", host=host)
                self.configure()
                self.srv.reset_log()
                r = self.sync()
                self.assertEqual(r.rc, 0, r)
                self.assertEqual([q.scheme for q in self.srv.requests("other")], ["http"])
                self.assertEqual(self.srv.requests("other")[0].headers.get("x-api-key"),
                                 self.key)

    def test_http_to_other_loopback_addresses_is_allowed(self):
        for host in ("127.0.0.2", "::1"):
            with self.subTest(host):
                srv = m2s_server.M2S(certs()["main"], host=host)
                self.addCleanup(srv.close)
                srv.add_club("other", copy.deepcopy(harness.OTHER_API), key=self.key)
                self.clubs["other"]["url"] = srv.url("other", scheme="http")
                self.configure()
                r = self.sync()
                self.assertEqual(r.rc, 0, r)
                self.assertEqual([q.scheme for q in srv.requests("other")], ["http"])

    def test_http_elsewhere_is_refused_without_a_request(self):
        for url in ("http://example.invalid/other/api/email-lists/",
                    "http://192.0.2.1/other/api/email-lists/",
                    "http://127.0.0.1.example.invalid/other/api/email-lists/",
                    "http://localhost.example.invalid/other/api/email-lists/",
                    "http://127.example.invalid/other/api/email-lists/"):
            with self.subTest(url):
                self.proxy.got.clear()
                self.clubs["other"]["url"] = url
                self.configure()
                r = self.sync(env=self.proxy_env)
                reason = self.assertFailed(r, "other", r"http")
                self.assertNotRegex(reason, re.compile(
                    r"resolve|timed? ?out|(could ?n[o']t|failed to) connect", re.I))
                self.assertEqual(self.proxy.got, [], "a request was made to %s" % url)
                self.assertLess(r.seconds, 3, r)
                self.assertIn("ssc:", r.stdout)

    def test_plain_http_to_loopback_never_goes_through_a_proxy(self):
        # the key may travel in clear text only over loopback: an http_proxy
        # from the environment would carry it off the host
        p = "http://127.0.0.1:%d" % self.proxy.port
        env = dict(os.environ, http_proxy=p, HTTP_PROXY=p)
        env.pop("no_proxy", None)
        env.pop("NO_PROXY", None)
        self.clubs["other"]["url"] = self.srv.url("other", scheme="http")
        self.configure()
        r = self.sync(env=env)
        self.assertEqual(self.proxy.got, [], "plain http request sent through the proxy")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([q.scheme for q in self.srv.requests("other")], ["http"])

    def test_upper_case_scheme_elsewhere_makes_no_request(self):
        # refusing it as a config error (exit 78) is as good as failing the club
        self.clubs["other"]["url"] = "HTTP://example.invalid/other/api/email-lists/"
        self.configure()
        r = self.sync(env=self.proxy_env)
        self.assertIn(r.rc, (1, 78), r)
        if r.rc == 1:
            self.assertFailed(r, "other", r"http")
        self.assertEqual(self.proxy.got, [])


class KeyFile(M2SCase):
    def setUp(self):
        super().setUp()
        self.add_default_clubs()

    def test_group_or_world_readable_key_refused(self):
        self.configure()
        for mode in (0o644, 0o640, 0o604):
            with self.subTest(mode=oct(mode)):
                os.chmod(self.keyfile, mode)
                self.srv.reset_log()
                r = self.sync()
                self.assertNotEqual(r.rc, 0, r)
                self.assertIn("chmod 600", r.stderr)
                self.assertIn(self.keyfile, r.stderr)
                self.assertEqual(self.srv.requests(), [], "the key was sent anyway")
                self.assertNoKeyIn(r.stdout, r.stderr)

    def test_owner_only_modes_accepted(self):
        self.configure()
        for mode in (0o600, 0o400):
            with self.subTest(mode=oct(mode)):
                os.chmod(self.keyfile, mode)
                r = self.sync()
                self.assertEqual(r.rc, 0, r)

    def test_club_key_file_readable_by_others_fails_that_club_only(self):
        other_key = os.path.join(self.env.root, "other.key")
        value = "other-" + secrets.token_hex(8)
        self.write_key(other_key, value)
        self.srv.clubs["other"].key = value
        self.clubs["other"]["key_file"] = other_key
        self.configure()
        self.initial_sync()
        os.chmod(other_key, 0o644)
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["members"].append("new@example.org")
        self.srv.set_data("ssc", api)
        r = self.sync()
        reason = self.assertFailed(r, "other", r"chmod 600")
        self.assertIn(other_key, reason)
        self.assertEqual(self.srv.requests("other"), [])
        self.assertOtherKept()
        self.assertIn("new@example.org", self.members("members@ssc.manage2soar.com"))

    def test_per_club_key_is_sent_to_that_club(self):
        other_key = os.path.join(self.env.root, "other.key")
        value = "other-" + secrets.token_hex(8)
        self.write_key(other_key, value)
        self.clubs["other"]["key_file"] = other_key
        self.srv.clubs["other"].key = value
        self.configure()
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual([q.headers.get("x-api-key") for q in self.srv.requests("other")],
                         [value])
        self.assertEqual([q.headers.get("x-api-key") for q in self.srv.requests("ssc")],
                         [self.key])


class KeyNeverLeaks(M2SCase):
    def setUp(self):
        super().setUp()
        self.add_default_clubs()
        self.configure(extra="retries = 1\n")

    def check_run(self, *args):
        r = self.sync(*args)
        self.assertNoKeyIn(r.stdout, r.stderr)
        return r

    def test_not_in_output_logs_or_database(self):
        runs = [self.check_run(), self.check_run(), self.check_run("--verbose")]
        for kind, kw in (("status", dict(code=401)), ("status", dict(code=500)),
                         ("body", dict(body=b"not json")), ("truncate", {})):
            self.srv.fault("other", kind, **kw)
            runs.append(self.check_run("--verbose"))
            self.srv.clear_faults("other")
        self.assertEqual([r.rc for r in runs], [0, 0, 0, 1, 1, 1, 1], runs)
        # --verbose does say more than a plain run of the same sync
        self.assertGreater(len(runs[2].stdout + runs[2].stderr),
                           len(runs[1].stdout + runs[1].stderr), runs[1:3])
        with open(self.env.log, "rb") as f:
            self.assertNoKeyIn(f.read())
        for suffix in ("", "-wal"):
            if os.path.exists(self.env.db + suffix):
                with open(self.env.db + suffix, "rb") as f:
                    self.assertNoKeyIn(f.read())
        for q in self.srv.requests():
            self.assertEqual(q.headers.get("x-api-key"), self.key)

    def test_not_in_any_argv(self):
        self.srv.set_delay("ssc", 1.5)
        self.srv.set_delay("other", 1.5)
        p = subprocess.Popen([harness.SOARLIST, "-c", self.env.config, "sync", "--verbose"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = 0
        try:
            deadline = time.monotonic() + 1.2
            while time.monotonic() < deadline:
                for pid in os.listdir("/proc"):
                    if not pid.isdigit():
                        continue
                    try:
                        with open("/proc/%s/cmdline" % pid, "rb") as f:
                            argv = f.read()
                    except OSError:
                        continue
                    if int(pid) == p.pid:
                        seen += 1
                    self.assertNotIn(self.key.encode(), argv, "key in argv of pid %s" % pid)
                time.sleep(0.05)
        finally:
            out, err = p.communicate(timeout=60)
        self.assertGreater(seen, 0, "never saw the sync process")
        self.assertEqual(p.returncode, 0, err)
        self.assertNoKeyIn(out, err)


class ShrinkGuard(M2SCase):
    def setUp(self):
        super().setUp()
        self.ten = ["m%02d@example.org" % i for i in range(10)]
        self.api = {"lists": {"members": list(self.ten), "board": ["m00@example.org",
                                                                   "m01@example.org"]},
                    "whitelist": list(self.ten), "bypass_lists": []}
        self.add_club("ssc", copy.deepcopy(self.api), domains=SSC_DOMAINS)
        self.add_club("other", copy.deepcopy(harness.OTHER_API), domains=OTHER_DOMAINS)
        self.configure()
        self.initial_sync()
        # other changes on every run below: it must be updated regardless
        self.srv.set_data("other", dict(harness.OTHER_API,
                                        lists={"members": OTHER_MEMBERS + ["new@example.org"]}))

    def serve(self, members=None, board=None, lists=None):
        api = copy.deepcopy(self.api)
        if members is not None:
            api["lists"]["members"] = members
        if board is not None:
            api["lists"]["board"] = board
        if lists is not None:
            api["lists"] = lists
        self.srv.set_data("ssc", api)

    def assertOtherUpdated(self):
        self.assertIn("new@example.org", self.members("members@other.manage2soar.com"))

    def test_sixty_percent_shrink_held_then_forced(self):
        self.serve(members=self.ten[:4], board=["m00@example.org", "m01@example.org",
                                                "m10@example.org"])
        r = self.sync()
        reason = self.assertFailed(r, "ssc", r"--force")
        self.assertIn("members", reason)
        self.assertEqual(self.members("members@ssc.manage2soar.com"), self.ten)
        # the whole club keeps its data, the board change too
        self.assertEqual(self.members("board@ssc.manage2soar.com"),
                         ["m00@example.org", "m01@example.org"])
        self.assertOtherUpdated()
        r = self.sync("--force")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.members("members@ssc.manage2soar.com"), self.ten[:4])
        self.assertIn("ssc: 2 lists, 5 members, 10 whitelisted, 0 invalid dropped, "
                      "1 added, 6 removed", r.stdout.splitlines(), r)

    def test_force_for_one_named_club(self):
        self.serve(members=self.ten[:1])
        self.assertFailed(self.sync("ssc"), "ssc", r"--force")
        r = self.sync("--force", "ssc")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.members("members@ssc.manage2soar.com"), self.ten[:1])

    def test_fifty_percent_is_allowed(self):
        self.serve(members=self.ten[:5])
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.members("members@ssc.manage2soar.com"), self.ten[:5])

    def test_max_shrink_setting(self):
        self.configure(extra="max_shrink = 80\n")
        self.serve(members=self.ten[:3])
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.members("members@ssc.manage2soar.com"), self.ten[:3])
        self.configure(extra="max_shrink = 0\n")
        self.serve(members=self.ten[:2])
        r = self.sync()
        self.assertFailed(r, "ssc", r"--force")
        self.assertEqual(self.members("members@ssc.manage2soar.com"), self.ten[:3])

    def test_empty_answer_after_lists_held_then_forced(self):
        self.srv.set_data("ssc", {"lists": {}, "whitelist": [], "bypass_lists": []})
        r = self.sync()
        self.assertFailed(r, "ssc", r"--force")
        self.assertEqual(self.members("members@ssc.manage2soar.com"), self.ten)
        self.assertOtherUpdated()
        d = self.env.deliver(harness.uniq_post(from_="m03@example.org"),
                             "members@ssc.manage2soar.com", sender="m03@example.org")
        self.assertEqual(d.rc, 0, d.stderr)
        self.assertEqual(sorted(d.capture.recipients), self.ten)
        r = self.sync("--force")
        self.assertEqual(r.rc, 0, r)
        self.assertIsNone(self.members("members@ssc.manage2soar.com"))
        d = self.env.deliver(harness.uniq_post(from_="m03@example.org"),
                             "members@ssc.manage2soar.com", sender="m03@example.org")
        self.assertEqual(d.rc, 67, d.stderr)

    def test_new_and_removed_lists_applied_normally(self):
        self.serve(lists={"members": self.ten, "pilots": ["m05@example.org", "m06@example.org"]})
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.members("pilots@ssc.manage2soar.com"),
                         ["m05@example.org", "m06@example.org"])
        d = self.env.deliver(harness.uniq_post(from_="m00@example.org",
                                               to="board@ssc.manage2soar.com"),
                             "board@ssc.manage2soar.com", sender="m00@example.org")
        self.assertEqual(d.rc, 67, d.stderr)
        d = self.env.deliver(harness.uniq_post(from_="m00@example.org",
                                               to="pilots@ssc.manage2soar.com"),
                             "pilots@ssc.manage2soar.com", sender="m00@example.org")
        self.assertEqual(d.rc, 0, d.stderr)
        self.assertEqual(sorted(d.capture.recipients), ["m05@example.org", "m06@example.org"])

    def test_growth_is_never_held(self):
        self.serve(members=self.ten + ["x%02d@example.org" % i for i in range(40)])
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(self.members("members@ssc.manage2soar.com")), 50)


class ManyClubs(M2SCase):
    def club_data(self, i):
        # disjoint lists: 7 members, 7 added however one counts
        return {"lists": {"members": ["p%d-%d@club%d.example" % (i, k, i) for k in range(5)],
                          "board": ["b%d@club%d.example" % (i, i)],
                          "instructors": ["i%d@club%d.example" % (i, i)]},
                "whitelist": ["p%d-%d@club%d.example" % (i, k, i) for k in range(5)],
                "bypass_lists": []}

    def test_fifty_five_clubs_in_one_run(self):
        for i in range(55):
            self.add_club("c%02d" % i, self.club_data(i))
        self.configure()
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        lines = r.stdout.splitlines()
        for i in range(55):
            self.assertIn("c%02d: 3 lists, 7 members, 5 whitelisted, 0 invalid dropped, "
                          "7 added, 0 removed" % i, lines)
        lists = json.loads(self.run_soarlist("lists", "--json").stdout)
        self.assertEqual(len(lists), 165)
        self.assertEqual(self.members("members@c42.manage2soar.com"),
                         sorted("p42-%d@club42.example" % k for k in range(5)))
        self.assertEqual(len(self.srv.requests()), 55)
        self.assertEqual(self.env.query("SELECT count(*) FROM sync_run"), [(55,)])
        self.assertEqual(self.env.query(
            "SELECT count(*) FROM sync_run WHERE ok=1 AND http_status=200 AND added=7 "
            "AND removed=0"), [(55,)])

    def test_twenty_slow_clubs_in_parallel(self):
        for i in range(20):
            self.add_club("c%02d" % i, self.club_data(i))
            self.srv.set_delay("c%02d" % i, 0.5)
        self.configure()
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertLess(r.seconds, 5, "20 x 0.5 s answers took %.1f s" % r.seconds)
        self.assertLessEqual(self.srv.peak, 8, "more than max_parallel = 8 at once")
        self.assertGreaterEqual(self.srv.peak, 4)

    def test_max_parallel_setting(self):
        for i in range(9):
            self.add_club("c%02d" % i, self.club_data(i))
            self.srv.set_delay("c%02d" % i, 0.5)
        self.configure(extra="max_parallel = 3\n")
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertLessEqual(self.srv.peak, 3)
        self.assertGreaterEqual(r.seconds, 1.4, r)


class OnlyChanges(M2SCase):
    """With Postfix tables: an unchanged sync writes nothing."""

    def setUp(self):
        super().setUp()
        self.add_default_clubs()
        self.maps = os.path.join(self.env.root, "maps")
        self.pfetc = os.path.join(self.env.root, "postfix")
        os.mkdir(self.maps)
        os.mkdir(self.pfetc)
        main_cf = os.path.join(self.pfetc, "main.cf")
        with open(main_cf, "w") as f:
            f.write("myhostname = test.example\n")
        old = time.time() - 60
        os.utime(main_cf, (old, old))
        self.configure(extra="postfix_dir = %s\npostfix_config_dir = %s\n"
                       % (self.maps, self.pfetc))
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertTrue(os.path.exists(os.path.join(self.maps, "transport.db")), r)

    def tables(self):
        out = {}
        for n in sorted(os.listdir(self.maps)):
            st = os.stat(os.path.join(self.maps, n))
            out[n] = (st.st_ino, st.st_mtime_ns, st.st_size)
        return out

    def install_write_triggers(self):
        """Count every row written to the membership tables from now on."""
        con = sqlite3.connect(self.env.db)
        try:
            con.execute("CREATE TABLE test_writes (tbl TEXT, op TEXT)")
            for tbl in ("list_member", "whitelist", "list", "unusable_list"):
                for op in ("INSERT", "UPDATE", "DELETE"):
                    con.execute("CREATE TRIGGER test_%s_%s AFTER %s ON %s BEGIN "
                                "INSERT INTO test_writes VALUES ('%s', '%s'); END"
                                % (tbl, op.lower(), op, tbl, tbl, op))
            con.commit()
        finally:
            con.close()

    def writes(self):
        return self.env.query("SELECT tbl, op, count(*) FROM test_writes GROUP BY 1, 2")

    def dump(self):
        con = sqlite3.connect("file:%s?mode=ro" % self.env.db, uri=True)
        try:
            return list(con.iterdump())
        finally:
            con.close()

    def test_second_unchanged_sync_writes_nothing(self):
        before = self.tables()
        self.install_write_triggers()
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        # one line per club as it finishes: in no particular order (soarlist(1))
        self.assertEqual(sorted(r.stdout.splitlines()), [
            "other: 1 lists, 2 members, 2 whitelisted, 0 invalid dropped, 0 added, 0 removed",
            "ssc: 5 lists, 6 members, 5 whitelisted, 0 invalid dropped, 0 added, 0 removed"])
        self.assertEqual(self.writes(), [], "membership rows written by an unchanged sync")
        self.assertEqual(self.tables(), before, "Postfix tables rewritten")
        # a sync_run row per club per run, with what the run did
        rows = self.env.query("SELECT club_slug, ok, http_status, added, removed FROM sync_run "
                              "ORDER BY id")
        self.assertEqual(len(rows), 4, rows)
        self.assertEqual(sorted(r[:3] for r in rows[:2]), [("other", 1, 200), ("ssc", 1, 200)])
        self.assertTrue(all(r[3] > 0 and r[4] == 0 for r in rows[:2]), rows)
        self.assertEqual(sorted(rows[2:]), [("other", 1, 200, 0, 0), ("ssc", 1, 200, 0, 0)])

    def test_answer_in_another_order_is_unchanged(self):
        api = copy.deepcopy(harness.SSC_API)
        api["lists"] = dict(reversed(list(api["lists"].items())))
        api["lists"]["members"] = list(reversed(api["lists"]["members"]))
        api["lists"]["board"] = ["dora@example.org", "bob@example.com"]
        api["whitelist"] = list(reversed(api["whitelist"]))
        self.srv.set_data("ssc", api)
        before = self.tables()
        self.install_write_triggers()
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertIn("ssc: 5 lists, 6 members, 5 whitelisted, 0 invalid dropped, "
                      "0 added, 0 removed", r.stdout.splitlines())
        self.assertEqual([w for w in self.writes()
                          if w[0] in ("list_member", "whitelist", "unusable_list")], [])
        self.assertEqual(self.tables(), before)

    def test_a_change_writes_only_that_change(self):
        api = copy.deepcopy(harness.SSC_API)
        # the household moves away (both copies), a new member comes
        api["lists"]["members"] = [a for a in api["lists"]["members"]
                                   if a != "carol@example.net"] + ["new@example.org"]
        self.srv.set_data("ssc", api)
        self.install_write_triggers()
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertIn("ssc: 5 lists, 6 members, 5 whitelisted, 0 invalid dropped, "
                      "1 added, 1 removed", r.stdout.splitlines(), r)
        w = dict(((t, op), n) for t, op, n in self.writes())
        self.assertEqual(w.get(("list_member", "INSERT")), 1, w)
        self.assertEqual(w.get(("list_member", "DELETE")), 1, w)
        self.assertNotIn(("whitelist", "INSERT"), w)
        self.assertNotIn(("whitelist", "DELETE"), w)

    def test_dry_run_prints_changes_and_writes_nothing(self):
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["members"] = ["alice@example.org", "bob@example.com",
                                   "n1@example.org", "n2@example.org", "n3@example.org"]
        self.srv.set_data("ssc", api)
        dump, tables = self.dump(), self.tables()
        r = self.sync("--dry-run")
        self.assertEqual(r.rc, 0, r)
        change = re.compile(r"^\+\d+ %s\d+ \S+@\S+$" % MINUS)
        lines = [l for l in r.stdout.splitlines() if change.match(l)]
        self.assertEqual(lines, ["+3 %s1 members@ssc.manage2soar.com" % MINUS], r)
        self.assertNotIn("other.manage2soar.com", r.stdout)
        self.assertEqual(self.dump(), dump, "--dry-run wrote to the database")
        self.assertEqual(self.tables(), tables, "--dry-run touched the Postfix tables")
        self.assertEqual(self.members("members@ssc.manage2soar.com"),
                         harness.stored(harness.SSC_API["lists"]["members"]))
        # and the real run applies exactly that
        r = self.sync()
        self.assertEqual(r.rc, 0, r)
        self.assertIn("ssc: 5 lists, 8 members, 5 whitelisted, 0 invalid dropped, "
                      "3 added, 1 removed", r.stdout.splitlines(), r)

    def test_dry_run_new_and_removed_lists(self):
        api = copy.deepcopy(harness.SSC_API)
        del api["lists"]["treasurer"]
        api["lists"]["pilots"] = ["p1@example.org", "p2@example.org"]
        self.srv.set_data("ssc", api)
        dump = self.dump()
        r = self.sync("--dry-run")
        self.assertEqual(r.rc, 0, r)
        change = re.compile(r"^\+\d+ %s\d+ \S+@\S+$" % MINUS)
        lines = sorted(l for l in r.stdout.splitlines() if change.match(l))
        self.assertEqual(lines, ["+0 %s1 treasurer@ssc.manage2soar.com" % MINUS,
                                 "+2 %s0 pilots@ssc.manage2soar.com" % MINUS], r)
        self.assertEqual(self.dump(), dump)

    def test_dry_run_unchanged_prints_no_change_lines(self):
        dump = self.dump()
        r = self.sync("--dry-run")
        self.assertEqual(r.rc, 0, r)
        self.assertFalse([l for l in r.stdout.splitlines() if l.startswith("+")], r)
        self.assertEqual(self.dump(), dump)

    def test_quiet_prints_only_failures(self):
        # and the lists that have no address: a problem on every run
        r = self.sync("--quiet")
        self.assertEqual((r.rc, r.stdout), (0, ""), r)
        self.assertEqual(r.stderr.splitlines(), [
            'soarlist: sync ssc: list "Board Members" has no address, its posts '
            'cannot be delivered: it contains a space; rename the list at M2S, '
            'e.g. to board-members'], r)
        self.srv.fault("other", "status", code=404)
        r = self.sync("--quiet")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.stdout, "")
        self.assertEqual(list(r.failures()), ["other"])


class Status(M2SCase):
    def setUp(self):
        super().setUp()
        # disjoint lists: members counts are the same however they are counted
        self.add_club("ssc", {"lists": {"members": ["a@example.org", "b@example.org"],
                                        "board": ["c@example.org"]},
                              "whitelist": ["a@example.org"], "bypass_lists": []},
                      domains=SSC_DOMAINS)
        self.add_club("other", copy.deepcopy(harness.OTHER_API), domains=OTHER_DOMAINS)
        self.add_club("never", {"lists": {}, "whitelist": [], "bypass_lists": []})
        self.srv.fault("never", "status", code=404)
        self.configure(extra="retries = 0\n")

    def test_status_json(self):
        t0 = int(time.time())
        r = self.sync()
        self.assertEqual(r.rc, 1, r)
        self.srv.fault("other", "status", code=500)
        time.sleep(1.1)
        r = self.sync()
        self.assertFailed(r, "other", "500")
        t1 = int(time.time())
        s = self.run_soarlist("status", "--json")
        self.assertIn(s.rc, (0, 1), s)
        data = json.loads(s.stdout)
        self.assertIsInstance(data, list)
        by = {e["club"]: e for e in data}
        self.assertEqual(sorted(by), ["never", "other", "ssc"])
        for e in data:
            self.assertEqual(set(e), {"club", "state", "last_success", "age_seconds",
                                      "last_error", "lists", "members", "held",
                                      "unusable_lists"}, e)
            self.assertEqual(e["state"], "active", e)
            self.assertEqual(e["unusable_lists"], [], e)
        ssc = by["ssc"]
        self.assertIsInstance(ssc["last_success"], int)
        self.assertTrue(t0 <= ssc["last_success"] <= t1, (t0, ssc, t1))
        self.assertIsInstance(ssc["age_seconds"], int)
        self.assertTrue(0 <= ssc["age_seconds"] <= t1 - t0 + 2, ssc)
        self.assertIsNone(ssc["last_error"])
        self.assertEqual((ssc["lists"], ssc["members"]), (2, 3))
        other = by["other"]
        # the last success was the first run, before the sleep
        self.assertTrue(t0 <= other["last_success"] <= t1 - 1, other)
        self.assertGreaterEqual(other["age_seconds"], 1, other)
        self.assertIsInstance(other["last_error"], str)
        self.assertIn("500", other["last_error"])
        self.assertEqual((other["lists"], other["members"]), (1, 2))
        never = by["never"]
        self.assertIsNone(never["last_success"])
        self.assertIsNone(never["age_seconds"])
        self.assertIn("404", never["last_error"])
        self.assertEqual((never["lists"], never["members"]), (0, 0))

    def test_error_cleared_by_a_later_success(self):
        self.srv.fault("other", "status", code=500, times=1)
        self.sync()
        self.assertIsInstance({e["club"]: e for e in json.loads(
            self.run_soarlist("status", "--json").stdout)}["other"]["last_error"], str)
        self.sync()
        by = {e["club"]: e for e in json.loads(self.run_soarlist("status", "--json").stdout)}
        self.assertIsNone(by["other"]["last_error"])

    def test_status_text(self):
        self.sync()
        self.srv.fault("other", "status", code=500)
        r = self.sync()
        self.assertFailed(r, "other", "500")
        s = self.run_soarlist("status")
        self.assertIn(s.rc, (0, 1), s)
        rows = {}
        for line in s.stdout.splitlines():
            words = line.split()
            if words and words[0] in ("ssc", "other", "never"):
                rows[words[0]] = line
        self.assertEqual(sorted(rows), ["never", "other", "ssc"], s.stdout)
        self.assertIn("500", rows["other"])
        self.assertIn("404", rows["never"])
        self.assertNotRegex(rows["ssc"], r"500|404|fail|error", s.stdout)


class UsageAndConfig(M2SCase):
    def setUp(self):
        super().setUp()
        self.add_default_clubs()
        self.configure()

    def test_usage_errors_exit_64(self):
        for args in (["--bogus"], ["--force", "--bogus"], ["nosuchclub"]):
            with self.subTest(args):
                r = self.sync(*args)
                self.assertEqual(r.rc, 64, r)
                self.assertTrue(r.stderr.strip(), r)
                self.assertEqual(self.srv.requests(), [])

    def test_config_errors_exit_78(self):
        for line in ("timeout = soon", "connect_timeout = -1", "retries = lots",
                     "max_parallel = 0", "max_shrink = 150", "max_response_size = 12X",
                     "max_response_size = 0"):
            with self.subTest(line):
                self.configure(extra=line + "\n")
                r = self.sync()
                self.assertEqual(r.rc, 78, r)
                self.assertIn(self.env.config, r.stderr)
                self.assertEqual(self.srv.requests(), [])

    def test_settings_accepted(self):
        self.configure(extra="max_parallel = 2\nconnect_timeout = 3\ntimeout = 20\n"
                             "retries = 0\nmax_response_size = 2M\nmax_shrink = 30\n")
        r = self.sync()
        self.assertEqual(r.rc, 0, r)


class ConcurrentDelivery(M2SCase):
    """A club whose members flip between two disjoint sets on every fetch,
    synced over and over with --force while posts are delivered: every post
    goes to exactly one of the two sets, never a mix."""

    def test_delivery_sees_old_or_new_never_half(self):
        a = ["a%03d@example.org" % i for i in range(150)]
        b = ["b%03d@example.net" % i for i in range(150)]
        counter = [0]
        lock = threading.Lock()

        def answer():
            with lock:
                counter[0] += 1
                members = a if counter[0] % 2 else b
            return {"lists": {"members": members}, "whitelist": ["poster@example.org"],
                    "bypass_lists": []}

        self.add_club("ssc", answer, domains=SSC_DOMAINS)
        self.configure()
        self.initial_sync()
        stop = threading.Event()
        sync_results = []

        def sync_loop():
            while not stop.is_set():
                sync_results.append(self.sync("--force", "--quiet"))

        deliveries = []
        dlock = threading.Lock()
        n_posts = [0]

        def poster(tid):
            while True:
                with dlock:
                    if n_posts[0] >= 40:
                        return
                    n_posts[0] += 1
                    n = n_posts[0]
                msg = harness.post(from_="poster@example.org",
                                   msgid="<c%d.%d.%d@test.example>" % (os.getpid(), tid, n))
                p = subprocess.run([harness.DELIVER, "-c", self.env.config, "-f",
                                    "poster@example.org", "--", "members@ssc.manage2soar.com"],
                                   input=msg.encode(), capture_output=True, timeout=120)
                with dlock:
                    deliveries.append((p.returncode, p.stderr.decode("utf-8", "replace")))
                time.sleep(0.03 + 0.01 * tid)

        syncer = threading.Thread(target=sync_loop)
        syncer.start()
        try:
            time.sleep(0.2)
            posters = [threading.Thread(target=poster, args=(i,)) for i in range(4)]
            for t in posters:
                t.start()
            for t in posters:
                t.join(300)
        finally:
            stop.set()
            syncer.join(300)
        self.assertEqual(len(deliveries), 40)
        self.assertEqual([d for d in deliveries if d[0] != 0], [])
        self.assertGreaterEqual(len(sync_results), 3, "the sync loop hardly ran")
        self.assertEqual([r for r in sync_results if r.rc != 0], [])
        caps = self.env.captured()
        self.assertEqual(len(caps), 40)
        seen = set()
        for c in caps:
            got = sorted(c.recipients)
            self.assertTrue(got == a or got == b,
                            "a post went to %d of A and %d of B" %
                            (len(set(got) & set(a)), len(set(got) & set(b))))
            seen.add("A" if got == a else "B")
        self.assertGreater(counter[0], 3)
        self.assertEqual(seen, {"A", "B"}, "the posts never saw the list change")


if __name__ == "__main__":
    tap.main()
