"""test_robustness.py - hostile or unusual input meets a careful delivery
agent: where the headers end, what sendmail may see and say, memory that
does not grow with MIME structure, API answers that would empty a club."""
import copy
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import sanitizers  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"


class HeaderSection(harness.EnvTestCase):
    def test_non_header_line_ends_the_headers(self):
        # Postfix treats "bogus line" and all after it as body; so do we
        msg = ("From: Alice <alice@example.org>\nSubject: x\nMessage-ID: <nh@x>\n"
               "bogus line here\nX-After: 1\n\nbody\n")
        r = self.env.deliver(msg, LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        head, body = r.capture.data.split(b"\n\n", 1)
        self.assertNotIn(b"X-After", head)
        self.assertEqual(body, b"bogus line here\nX-After: 1\n\nbody\n")

    def test_message_without_headers(self):
        # no author: the envelope sender decides on a whitelist list
        r = self.env.deliver("just text\n", LIST, sender="x@stranger.example")
        self.assertEqual(r.rc, 77, r.stderr)
        r = self.env.deliver("just text\n", LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        r = self.env.deliver("just text\n", "treasurer@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertTrue(r.capture.data.endswith(b"\n\njust text\n"))
        r = self.env.deliver("", "treasurer@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)

    def test_huge_header_section_refused(self):
        headers = "".join("X-Filler-%d: %s\n" % (i, "a" * 60) for i in range(70000))
        r = self.env.deliver("From: alice@example.org\n" + headers + "\nbody\n", LIST)
        self.assertEqual(r.rc, 77, r.stderr)
        self.assertTrue(r.stderr.startswith("5.3.4 "), r.stderr)
        self.assertEqual(r.captures, [])

    def test_one_long_line_costs_no_memory(self):
        # a 40 MB line where a header could be: judged as it is read, never
        # held whole (the helper's own RSS is about 10 MB)
        path = os.path.join(self.env.root, "line.eml")
        for name, head, tail, want in (
                ("body line", b"From: alice@example.org\nSubject: x\n", b"\n", 0),
                ("header value", b"From: alice@example.org\nX-Big: ", b"\n", 77),
                ("header value, last", b"From: alice@example.org\nX-Big: ", b"", 77),
                ("long name", b"From: alice@example.org\nX-", b": v\n", 65)):
            with self.subTest(name):
                with open(path, "wb") as f:
                    f.write(head + b"x" * (40 << 20) + tail + b"\nbody\n")
                rc, maxrss_kib, err = self.env.deliver_rusage(path, LIST)
                self.assertEqual(rc, want, err)
                self.assertLess(maxrss_kib, sanitizers.rss_limit(24 * 1024), "peak RSS %d KiB" % maxrss_kib)

    def test_empty_auto_submitted_is_not_an_auto_reply(self):
        r = self.env.deliver(post(extra="Auto-Submitted:\n"), LIST)
        self.assertEqual(len(r.capture.recipients), 3)

    def test_many_mime_parts_do_not_cost_memory(self):
        path = os.path.join(self.env.root, "parts.eml")
        with open(path, "w") as f:
            f.write("From: Alice <alice@example.org>\nSubject: parts\n"
                    "Message-ID: <parts@x>\nMIME-Version: 1.0\n"
                    "Content-Type: multipart/mixed; boundary=b\n\n")
            f.write("preamble\n" * 100000)
            for i in range(100000):
                f.write("--b\nContent-Type: text/plain\n\n%d\n" % i)
            f.write("--b--\n")
        status, maxrss, err = self.env.deliver_rusage(path, LIST)
        self.assertEqual(status, 0, err)
        self.assertLess(maxrss, sanitizers.rss_limit(32 * 1024), "peak RSS %d KiB" % maxrss)
        with open(path, "rb") as f:
            sent = self.env.captured()[0].data
            self.assertTrue(sent.endswith(f.read().split(b"\n\n", 1)[1]))


class LongHeaders(harness.EnvTestCase):
    lists = {"ssc/members": {"reply_to": "list"}}

    def test_no_line_over_998(self):
        cc = ",\n ".join("Person Number %d <person%d@example.org>" % (i, i)
                         for i in range(60))
        name = "Jürgen " * 120
        r = self.env.deliver(post(from_="%s <alice@example.org>" % name,
                                  extra="Cc: %s\n" % cc), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        head = r.capture.data.split(b"\n\n", 1)[0]
        for line in head.split(b"\n"):
            self.assertLessEqual(len(line), 998, line[:80])
        m = r.capture.message
        import email.utils
        ccs = email.utils.getaddresses([str(m["Cc"])])
        self.assertEqual(len(ccs), 61)  # the 60, and the author
        self.assertIn("alice@example.org", [a for _, a in ccs])


class Sendmail(harness.EnvTestCase):
    def test_sendmail_output_never_reaches_postfix(self):
        # a 5.x.x line from sendmail would make pipe(8) bounce our deferral
        self.env.write_sendmail("#!/bin/sh\ncat >/dev/null\n"
                                "echo '5.1.1 something permanent'\nexit 1\n")
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 75)
        self.assertTrue(r.stderr.startswith("4.3.0 "), r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1)
        self.assertIn("something permanent", r.stderr)

    def test_sendmail_environment(self):
        out = os.path.join(self.env.root, "child")
        self.env.write_sendmail("#!/bin/sh\ncat >/dev/null\n"
                                "ls -l /proc/$$/fd > %s.fds\n"
                                "grep SigIgn /proc/$$/status > %s.sig\n" % (out, out))
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        with open(out + ".fds") as f:
            fds = f.read()
        # no spool file leaked (the memfd is where sendmail's output goes)
        leaked = [l for l in fds.splitlines() if "(deleted)" in l and "memfd:" not in l]
        self.assertEqual(leaked, [])
        self.assertNotIn("soarlist.db", fds)
        with open(out + ".sig") as f:
            ignored = int(f.read().split()[1], 16)
        self.assertEqual(ignored & (1 << (13 - 1)), 0, "SIGPIPE ignored in sendmail")

    def test_utf8_envelope_sender(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C"}
        r = self.env.deliver(post(), LIST, args=["-c", self.env.config, "-f",
                                                 "jürgen@example.org", "--", LIST], env=env)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("sender=<jürgen@example.org>", self.env.deliver_log_lines()[-1])


class DevRedirect(harness.EnvTestCase):
    dev_redirect = "dev@example.org"

    def test_redirected_copy_is_not_a_duplicate_later(self):
        r = self.env.deliver(post(msgid="<dev1@x>"), LIST)
        self.assertEqual(r.capture.recipients, ["dev@example.org"])
        self.env.write_config()  # dev mode off
        r = self.env.deliver(post(msgid="<dev1@x>"), LIST)
        self.assertEqual(len(r.capture.recipients), 3)


class EmptyAnswers(harness.EnvTestCase):
    def sync_other(self, data):
        self.env.write_api("other", data)
        return self.env.soarlist("sync")

    def assertKept(self, r):
        self.assertEqual(r.rc, 1, r.stdout + r.stderr)
        self.assertIn("other", r.stderr)
        m = self.env.soarlist("members", "members@other.manage2soar.com")
        self.assertEqual(sorted(m.stdout.split()), ["yan@example.com", "zed@example.org"])

    def test_empty_lists_object_refused(self):
        self.assertKept(self.sync_other({"lists": {}, "whitelist": [], "bypass_lists": []}))

    def test_missing_whitelist_refused(self):
        self.assertKept(self.sync_other({"lists": {"members": ["a@b.org"]}}))

    def test_count_mismatch_refused(self):
        self.assertKept(self.sync_other({"lists": {"members": {
            "count": 3, "emails": ["a@b.org"]}}, "whitelist": []}))

    def test_list_without_members_refuses_posts(self):
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["members"] = []
        self.env.write_api("ssc", api)
        self.assertEqual(self.env.soarlist("sync", "--force").rc, 0)
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.stderr.strip(), "5.2.1 members@ssc.manage2soar.com has no "
                                           "members: nobody would receive this post")
        self.assertEqual(r.captures, [])


if __name__ == "__main__":
    tap.main()
