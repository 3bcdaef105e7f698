"""test_reinject.py - the sendmail command line, dev_redirect, addresses the
API sends that must never reach argv, and the log line of each message."""
import copy
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"
LOG_RE = re.compile(r"soarlist-deliver\[\d+\]: list=<(?P<list>[^>]*)> sender=<(?P<sender>[^>]*)> "
                    r"author=<(?P<author>[^>]*)> decision=(?P<decision>\S+) "
                    r"recipients=(?P<recipients>\d+) msgid=(?P<msgid>\S*) .*\bms=(?P<ms>\d+)")


class Argv(harness.EnvTestCase):
    def test_argv_exact(self):
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.argv, ["-i", "-f", "members-bounces@ssc.manage2soar.com",
                                          "--", "alice@example.org", "Bob@example.com",
                                          "carol@example.net"])
        # (the household's carol@example.net, twice in M2S's answer, once)

    def test_argv_verp_always(self):
        # one SMTP transaction per member only where the list asks for it
        self.env.write_config(extra="verp = always")
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.argv, ["-i", "-f", "members-bounces@ssc.manage2soar.com",
                                          "-XV", "--", "alice@example.org", "Bob@example.com",
                                          "carol@example.net"])

    def test_argv_second_domain_and_list(self):
        r = self.env.deliver(post(to="board@skylinesoaring.org"), "board@skylinesoaring.org")
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(c.argv[:4], ["-i", "-f", "board-bounces@skylinesoaring.org", "--"])
        self.assertEqual(sorted(c.recipients), ["bob@example.com", "dora@example.org"])

    def test_all_members_in_one_call(self):
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["members"] = ["m%03d@example.org" % i for i in range(300)]
        api["whitelist"].append("m000@example.org")
        self.env.write_api("ssc", api)
        # every old member goes: the shrink guard wants --force
        self.assertEqual(self.env.soarlist("sync", "--force").rc, 0)
        r = self.env.deliver(post(from_="m000@example.org"), LIST, sender="m000@example.org")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(r.capture.recipients), api["lists"]["members"])
        self.assertIn("recipients=300", self.env.deliver_log_lines()[-1])

    def test_hostile_addresses_never_reach_argv(self):
        api = copy.deepcopy(harness.SSC_API)
        bad = ["-oQ/tmp/x@evil.example", "-X/tmp/log@evil.example", "two words@example.org",
               "tab\there@example.org", "a,b@example.org", '"q"@example.org',
               "no-at-sign", "two@@example.org", "a@b@example.org", "x" * 250 + "@example.org",
               "nl\n@example.org", ""]
        api["lists"]["members"] = ["alice@example.org", "Bob@Example.COM"] + bad
        self.env.write_api("ssc", api)
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^ssc: 5 lists, \d+ members, 5 whitelisted, "
                                   r"%d invalid dropped, 0 added, 1 removed$" % len(bad))
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.argv, ["-i", "-f", "members-bounces@ssc.manage2soar.com",
                                          "--", "alice@example.org", "Bob@example.com"])
        members = self.env.soarlist("members", LIST)
        self.assertEqual(members.stdout.split(), ["alice@example.org", "Bob@example.com"])

    def test_envelope_sender_with_dash_is_not_an_option(self):
        r = self.env.deliver(post(), LIST, sender="-oi@example.org")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.argv[:4], ["-i", "-f", "members-bounces@ssc.manage2soar.com",
                                              "--"])
        self.assertIn("sender=<-oi@example.org>", self.env.deliver_log_lines()[-1])


class DevRedirect(harness.EnvTestCase):
    dev_redirect = "dev@example.org"

    def test_only_dev_address_receives(self):
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(c.argv, ["-i", "-f", "members-bounces@ssc.manage2soar.com", "--", "dev@example.org"])
        value = c.header_values("X-Soarlist-Dev-Redirect")
        self.assertEqual(len(value), 1)
        self.assertIn("3 members of members@ssc.manage2soar.com", value[0])
        self.assertEqual(c.header_values("List-Id"), ["<members.ssc.manage2soar.com>"])

    def test_dev_redirect_bypass_list(self):
        r = self.env.deliver(post(from_="x@stranger.example", to="treasurer@skylinesoaring.org"),
                             "treasurer@skylinesoaring.org", sender="x@stranger.example")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.recipients, ["dev@example.org"])
        self.assertIn("1 members of treasurer@skylinesoaring.org",
                      r.capture.header_values("X-Soarlist-Dev-Redirect")[0])

    def test_dev_redirect_keeps_policy(self):
        r = self.env.deliver(post(from_="x@stranger.example"), LIST, sender="x@stranger.example")
        self.assertEqual(r.rc, 77)
        self.assertEqual(r.captures, [])

    def test_sender_cannot_forge_redirect_header(self):
        r = self.env.deliver(post(extra="X-Soarlist-Dev-Redirect: 999 members of x@y\n"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        value = r.capture.header_values("X-Soarlist-Dev-Redirect")
        self.assertEqual(len(value), 1, value)
        self.assertIn("3 members of members@ssc.manage2soar.com", value[0])


class LogLine(harness.EnvTestCase):
    def fields(self):
        lines = self.env.deliver_log_lines()
        m = LOG_RE.search(lines[-1])
        self.assertIsNotNone(m, lines[-1])
        return m.groupdict()

    def test_one_line_per_message(self):
        before = len(self.env.deliver_log_lines())
        r = self.env.deliver(post(from_="Alice <ALICE@example.org>", msgid="<log1@example.org>"),
                             LIST, sender="bounce-alice@example.org")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(self.env.deliver_log_lines()), before + 1)
        f = self.fields()
        self.assertEqual(f["list"].lower(), LIST)
        self.assertEqual(f["sender"], "bounce-alice@example.org")
        self.assertEqual(f["author"].lower(), "alice@example.org")
        self.assertEqual(f["decision"], "distribute")
        self.assertEqual(f["recipients"], "3")
        self.assertEqual(f["msgid"], "<log1@example.org>")
        self.assertLess(int(f["ms"]), 10000)

    def test_each_outcome_logged_once(self):
        cases = [
            (post(from_="x@stranger.example"), LIST, "x@stranger.example", "0"),
            (post(extra="Auto-Submitted: auto-replied\n"), LIST, "alice@example.org", "0"),
            (post(from_="x@stranger.example", to="treasurer@ssc.manage2soar.com"),
             "treasurer@ssc.manage2soar.com", "x@stranger.example", "1"),
        ]
        for msg, lst, sender, n in cases:
            before = len(self.env.deliver_log_lines())
            self.env.deliver(msg, lst, sender=sender)
            self.assertEqual(len(self.env.deliver_log_lines()), before + 1)
            f = self.fields()
            self.assertEqual(f["sender"], sender)
            self.assertEqual(f["recipients"], n)
        self.assertEqual(f["decision"], "distribute")

    def test_failed_sendmail_logged(self):
        self.env.set_sendmail_exit(1)
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 75)
        lines = self.env.deliver_log_lines()
        self.assertTrue(any("sendmail" in l or "defer" in l for l in lines), lines)
        self.assertFalse(any("decision=distribute" in l for l in lines), lines)


if __name__ == "__main__":
    tap.main()
