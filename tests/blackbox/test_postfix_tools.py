"""test_postfix_tools.py - the pieces soarlist gives Postfix, without a live
Postfix: the SMTP access policy service (`soarlist policy`), the generated
lookup tables (`soarlist postfix-maps`, real postmap) and `soarlist doctor`
(real postconf against a scratch Postfix configuration directory)."""
import copy
import os
import pwd
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

POSTMAP = "/usr/sbin/postmap"
REFUSAL = ("550 5.7.1 only members of Skyline Soaring Club may post to "
           "members@ssc.manage2soar.com")
CONTRIB = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "postfix")
# master.cf.fragment is made by the build from its .in, with the installed
# programs' paths
CONTRIB_BUILD = os.environ.get("SOARLIST_CONTRIB_BUILD", "build/contrib")
INSTALLED_BIN = os.environ.get("SOARLIST_INSTALLED_BIN", "/usr/local/bin/soarlist")
INSTALLED_DELIVER = os.environ.get("SOARLIST_INSTALLED_DELIVER",
                                   "/usr/local/libexec/soarlist/soarlist-deliver")


def contrib(name, maps, user):
    """A contrib/postfix fragment as installed here: our tables, our user."""
    made = os.path.join(CONTRIB_BUILD, name)
    with open(made if os.path.exists(made) else os.path.join(CONTRIB, name)) as f:
        text = f.read()
    return (text.replace("/var/lib/soarlist/postfix", maps)
                .replace("user=soarlist", "user=%s" % user))


def age_config(pfetc):
    """Postfix programs wait up to 2 s for a main.cf modified in the last
    second to settle: date the scratch files back a minute."""
    old = time.time() - 60
    for name in ("main.cf", "master.cf"):
        os.utime(os.path.join(pfetc, name), (old, old))


def request(**attrs):
    base = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
            "protocol_name": "ESMTP", "client_address": "192.0.2.1",
            "sender": "x@stranger.example", "recipient": "members@ssc.manage2soar.com"}
    base.update(attrs)
    return "".join("%s=%s\n" % kv for kv in base.items()) + "\n"


class PostfixEnv(harness.EnvTestCase):
    """An Env whose config names a postfix_dir and a scratch Postfix config
    directory (main.cf, master.cf) for postmap and postconf."""

    def setUp(self):
        self.env = harness.Env()
        self.addCleanup(self.env.cleanup)
        self.maps = os.path.join(self.env.root, "maps")
        self.pfetc = os.path.join(self.env.root, "postfix")
        os.mkdir(self.maps)
        os.mkdir(self.pfetc)
        with open(os.path.join(self.pfetc, "main.cf"), "w") as f:
            # a myhostname of its own: no slow lookup of this host's name
            f.write("myhostname = test.example\n")
            f.write(contrib("main.cf.fragment", self.maps, "root"))
        self.write_master("root")
        age_config(self.pfetc)
        # opendkim_config: a file of the test's own (absent), never the
        # host's /etc/opendkim.conf, which doctor would judge
        self.extra = ("postfix_dir = %s\npostfix_config_dir = %s\n"
                      "opendkim_config = %s/opendkim.conf\n"
                      % (self.maps, self.pfetc, self.pfetc))
        self.env.write_api("ssc", harness.SSC_API)
        self.env.write_api("other", harness.OTHER_API)
        self.env.write_config(extra=self.extra)
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)

    def write_master(self, user):
        with open(os.path.join(self.pfetc, "master.cf"), "w") as f:
            f.write(contrib("master.cf.fragment", self.maps, user))
        age_config(self.pfetc)

    def policy(self, text, config=True):
        args = [harness.SOARLIST] + (["-c", self.env.config] if config else []) + ["policy"]
        return subprocess.run(args, input=text.encode(), capture_output=True, timeout=60)

    def answer(self, **attrs):
        p = self.policy(request(**attrs))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertTrue(out.startswith("action=") and out.endswith("\n\n"), out)
        return out[len("action="):-2]

    def lookup(self, table, key):
        p = subprocess.run([POSTMAP, "-c", self.pfetc, "-q", key,
                            "hash:" + os.path.join(self.maps, table)],
                           capture_output=True, timeout=60)
        return p.stdout.decode().strip() if p.returncode == 0 else None


class Policy(PostfixEnv):
    def test_stranger_refused_with_the_human_reason(self):
        self.assertEqual(self.answer(), REFUSAL)

    def test_let_through(self):
        cases = {
            "member": dict(sender="alice@example.org"),
            "whitelisted, other case": dict(sender="IVAN@Example.ORG"),
            "bypass list": dict(recipient="treasurer@ssc.manage2soar.com"),
            "the app, logged in, with its sender": dict(
                sender="noreply@ssc.manage2soar.com", sasl_username="m2s"),
            "null sender": dict(sender=""),
            "owner address": dict(recipient="members-owner@ssc.manage2soar.com"),
            "verp bounce": dict(recipient="members-bounces+a=b.org@ssc.manage2soar.com"),
            "other state": dict(protocol_state="DATA"),
            "unknown list": dict(recipient="nosuch@ssc.manage2soar.com"),
            "not our domain": dict(recipient="someone@example.org"),
            "member, address extension": dict(sender="alice@example.org",
                                              recipient="members+tag@ssc.manage2soar.com"),
        }
        for name, attrs in cases.items():
            with self.subTest(name):
                self.assertEqual(self.answer(**attrs), "DUNNO")

    def test_every_client_is_judged(self):
        # no backscatter: a trusted network or a SASL login is no reason to
        # accept what soarlist-deliver would refuse
        cases = {
            "loopback": dict(client_address="127.0.0.1"),
            "IPv6 loopback": dict(client_address="::1"),
            "SASL login": dict(sasl_username="someone"),
            "the app's login with another sender": dict(sasl_username="m2s"),
        }
        for name, attrs in cases.items():
            with self.subTest(name):
                self.assertEqual(self.answer(**attrs), REFUSAL)

    def test_envelope_sender_of_a_member_is_enough(self):
        # the delivery agent lets a post in when its author or its
        # envelope sender may post: the envelope sender alone decides here
        self.assertEqual(self.answer(sender="Bob@Example.COM"), "DUNNO")
        r = self.env.deliver(harness.uniq_post(from_="X <x@stranger.example>"),
                             "members@ssc.manage2soar.com", sender="bob@example.com")
        self.assertEqual(r.rc, 0, r.stderr)

    def test_app_networks(self):
        self.env.write_config(extra=self.extra + "app_networks = 192.0.2.0/24, "
                              "[2001:db8::10]/128 198.51.100.7\n")
        app = "noreply@ssc.manage2soar.com"
        for client in ("192.0.2.7", "2001:db8::10", "198.51.100.7"):
            with self.subTest(client):
                self.assertEqual(self.answer(sender=app, client_address=client), "DUNNO")
        for client in ("127.0.0.1", "192.0.3.1", "2001:db8::11", "198.51.100.8", ""):
            with self.subTest(client):
                answer = self.answer(sender=app, client_address=client)
                self.assertTrue(answer.startswith("550 5.7.1 <%s> is reserved" % app), answer)
        # the app's sender has no pass at another club, even from the app
        answer = self.answer(sender=app, client_address="192.0.2.7",
                             recipient="members@other.manage2soar.com")
        self.assertTrue(answer.startswith("550 5.7.1 only members of Other"), answer)
        # the app's network with another sender is judged like anyone
        self.assertEqual(self.answer(client_address="192.0.2.7"), REFUSAL)

    def test_bad_app_networks_is_a_config_error(self):
        for value in ("hash:/etc/postfix/network_table", "192.0.2.0/33",
                      "[2001:db8::]/64x", "app.example.org"):
            with self.subTest(value):
                self.env.write_config(extra=self.extra + "app_networks = %s\n" % value)
                r = self.env.soarlist("lists")
                self.assertEqual(r.rc, 78, r.stderr)
                self.assertIn("app_networks", r.stderr)
                self.assertIn(value.split()[0], r.stderr)

    def test_what_deliver_refuses_before_its_policy(self):
        # a size announced with SIZE= over the list's max_size, and a list
        # nobody would receive, are refused here as soarlist-deliver would
        self.env.write_config(extra=self.extra,
                              lists={"ssc/members": {"max_size": "10k"}})
        answer = self.answer(sender="alice@example.org", size="20000")
        self.assertEqual(answer, "552 5.3.4 message of 20000 bytes exceeds the "
                         "10240-byte limit of members@ssc.manage2soar.com")
        self.assertEqual(self.answer(sender="alice@example.org", size="10240"), "DUNNO")
        self.assertEqual(self.answer(sender="alice@example.org", size="0"), "DUNNO")
        api = dict(harness.SSC_API, lists=dict(harness.SSC_API["lists"], nobody=[]))
        self.env.write_api("ssc", api)
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        answer = self.answer(sender="alice@example.org",
                             recipient="nobody@ssc.manage2soar.com")
        self.assertEqual(answer, "550 5.2.1 nobody@ssc.manage2soar.com has no members: "
                         "nobody would receive this post")
        r = self.env.deliver(harness.uniq_post(), "nobody@ssc.manage2soar.com")
        self.assertEqual(r.rc, 77, r.stderr)

    def test_address_extension_is_the_list(self):
        # Postfix's tables accept members+tag@ (recipient_delimiter): so must we
        answer = self.answer(recipient="members+tag@ssc.manage2soar.com")
        self.assertEqual(answer, REFUSAL)
        r = self.env.deliver(harness.uniq_post(), "members+tag@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.capture.recipients), 3)
        self.assertEqual(r.capture.message["List-Id"], "<members.ssc.manage2soar.com>")

    def test_app_sender_reserved_for_the_app_login(self):
        # works even where smtpd has no SASL and Postfix's own sender login
        # restrictions do nothing
        for sender in ("noreply@ssc.manage2soar.com", "NoReply@SkylineSoaring.org"):
            with self.subTest(sender):
                answer = self.answer(sender=sender)
                self.assertTrue(answer.startswith("550 5.7.1 <%s> is reserved" % sender), answer)
                self.assertTrue(self.answer(sender=sender, sasl_username="someone")
                                .startswith("550 5.7.1 "))
                self.assertEqual(self.answer(sender=sender, sasl_username="m2s"), "DUNNO")
        self.assertEqual(self.answer(sender="noreply@example.org",
                                     recipient="treasurer@ssc.manage2soar.com"), "DUNNO")

    def test_whitelist_of_another_club_does_not_count(self):
        self.assertTrue(self.answer(sender="zed@example.org").startswith("550 5.7.1 "))

    def test_many_requests_on_one_connection(self):
        p = self.policy(request() + request(sender="alice@example.org") + request())
        self.assertEqual(p.stdout.decode(), "action=%s\n\naction=DUNNO\n\naction=%s\n\n"
                         % (REFUSAL, REFUSAL))
        self.assertEqual(p.returncode, 0)

    def test_database_unreadable_defers(self):
        os.rename(self.env.db, self.env.db + ".away")
        answer = self.answer()
        self.assertTrue(answer.startswith("DEFER_IF_PERMIT 4.3.0 "), answer)
        # and it recovers without a restart of the service
        os.rename(self.env.db + ".away", self.env.db)
        p = self.policy(request())
        self.assertIn(REFUSAL, p.stdout.decode())

    def connection(self):
        """One long-lived connection to the service, as smtpd keeps it for
        minutes: a function that asks the next request and returns the
        answer's action line. Closed at the test's end (exit 0)."""
        p = subprocess.Popen([harness.SOARLIST, "-c", self.env.config, "policy"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)

        def close():
            p.stdin.close()
            self.assertEqual(p.wait(30), 0)

        def ask():
            p.stdin.write(request().encode())
            p.stdin.flush()
            line = p.stdout.readline().decode().strip()
            p.stdout.readline()
            return line

        self.addCleanup(close)
        return ask

    def test_config_edited_during_a_connection(self):
        ask = self.connection()
        self.assertEqual(ask(), "action=" + REFUSAL)
        self.env.write_config(extra=self.extra,
                              lists={"ssc/members": {"posting": "anyone"}})
        self.assertEqual(ask(), "action=DUNNO")
        with open(self.env.config, "a") as f:
            f.write("\n[list ssc/members]\nposting = sometimes\n")
        # a broken edit: the last good config stays in use
        self.assertEqual(ask(), "action=DUNNO")

    def test_database_replaced_during_a_connection(self):
        # the service keeps its database open across requests (statements
        # compiled once); a database moved away, then another file put at
        # its path, is seen without a restart
        ask = self.connection()
        self.assertEqual(ask(), "action=" + REFUSAL)
        os.rename(self.env.db, self.env.db + ".old")
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.env.db + suffix):
                os.rename(self.env.db + suffix, self.env.db + ".old" + suffix)
        self.assertTrue(ask().startswith("action=DEFER_IF_PERMIT 4.3.0 "))
        # a new database where the old one was, in which M2S whitelists
        # the stranger (the config is the same)
        api = copy.deepcopy(harness.SSC_API)
        api["whitelist"].append("x@stranger.example")
        self.env.write_api("ssc", api)
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(ask(), "action=DUNNO")

    def test_protocol_error(self):
        # a temporary answer (more in test_policy_input.py)
        p = self.policy("this is not an attribute\n\n")
        self.assertEqual(p.stdout, b"action=DEFER_IF_PERMIT 4.3.0 malformed "
                                   b"policy request: line not of the form "
                                   b"name=value\n\n")

    def test_never_disagrees_with_deliver_and_check(self):
        senders = ["alice@example.org", "dora@example.org", "zed@example.org",
                   "x@stranger.example", "TOM@example.net"]
        lists = ["members", "board", "treasurer", "private-owners"]
        for s in senders:
            for l in lists:
                addr = "%s@skylinesoaring.org" % l
                with self.subTest(sender=s, list=l):
                    refused = self.answer(sender=s, recipient=addr).startswith("550 ")
                    check = self.env.soarlist("check", s, addr)
                    r = self.env.deliver(harness.uniq_post(from_=s, to=addr), addr, sender=s)
                    self.assertEqual(refused, check.rc == 1)
                    self.assertEqual(refused, r.rc == 77, r.stderr)


class Maps(PostfixEnv):
    def test_tables_written_after_sync(self):
        for t in ("domains", "transport", "recipients", "sender_logins"):
            self.assertTrue(os.path.exists(os.path.join(self.maps, t + ".db")), t)
        # one transport entry per club domain: a list created at M2S needs
        # none of its own (trivial-rewrite would see it only after a while)
        for d in ("ssc.manage2soar.com", "skylinesoaring.org", "other.manage2soar.com"):
            self.assertEqual(self.lookup("transport", d), "soarlist:")
        with open(os.path.join(self.maps, "transport")) as f:
            entries = [l for l in f.read().splitlines() if not l.startswith("#")]
        self.assertEqual(len(entries), 3, entries)
        for a in ("members@ssc.manage2soar.com", "board-owner@skylinesoaring.org",
                  "members-bounces@other.manage2soar.com",
                  "members-request@ssc.manage2soar.com",
                  "private-owners@ssc.manage2soar.com"):
            self.assertEqual(self.lookup("recipients", a), "OK", a)
        self.assertIsNone(self.lookup("recipients", "nosuch@ssc.manage2soar.com"))
        self.assertEqual(self.lookup("domains", "skylinesoaring.org"), "OK")
        self.assertEqual(self.lookup("sender_logins", "noreply@ssc.manage2soar.com"), "m2s")

    def test_rewritten_only_when_changed(self):
        def inode(t):
            return os.stat(os.path.join(self.maps, t + ".db")).st_ino
        before = {t: inode(t) for t in ("transport", "recipients", "domains")}
        r = self.env.soarlist("postfix-maps")
        self.assertEqual((r.rc, r.stdout), (0, ""), r.stderr)
        self.assertEqual({t: inode(t) for t in before}, before)
        api = dict(harness.OTHER_API, lists={"members": ["zed@example.org"],
                                             "pilots": ["yan@example.com"]})
        self.env.write_api("other", api)
        r = self.env.soarlist("sync", "other")
        self.assertEqual(r.rc, 0, r.stderr)
        # a new list: only the recipients table changes
        self.assertIn("updated %s/recipients" % self.maps, r.stdout)
        self.assertNotIn("transport", r.stdout)
        self.assertNotIn("sender_logins", r.stdout)
        self.assertEqual(inode("transport"), before["transport"])
        self.assertNotEqual(inode("recipients"), before["recipients"])
        self.assertEqual(self.lookup("recipients", "pilots@other.manage2soar.com"), "OK")
        # a new domain: the transport table gets its entry
        self.env.write_config(extra=self.extra, clubs={
            "ssc": ("Skyline Soaring Club", "ssc.manage2soar.com;skylinesoaring.org"),
            "other": ("Other Gliding Club", "other.manage2soar.com;other.example.org")})
        r = self.env.soarlist("postfix-maps")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("transport", r.stdout)
        self.assertEqual(self.lookup("transport", "other.example.org"), "soarlist:")

    def test_postmap_failure_keeps_previous_tables(self):
        with open(os.path.join(self.maps, "recipients")) as f:
            old = f.read()
        self.env.write_config(extra=self.extra + "postmap = /bin/false\n")
        self.env.write_api("other", dict(harness.OTHER_API, lists={"pilots": ["a@b.org"]}))
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 1)
        self.assertIn("previous ones kept", r.stderr)
        with open(os.path.join(self.maps, "recipients")) as f:
            self.assertEqual(f.read(), old)
        self.assertEqual(self.lookup("recipients", "members@other.manage2soar.com"), "OK")
        self.assertIsNone(self.lookup("recipients", "pilots@other.manage2soar.com"))
        self.assertEqual([n for n in os.listdir(self.maps) if n.startswith(".")], [])


class MapsAllOrNothing(PostfixEnv):
    def test_one_failing_table_replaces_none(self):
        fake = os.path.join(self.env.root, "postmap")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\ncase "$*" in *transport*) echo "postmap: fatal: disk full"; '
                    'exit 1;; esac\nexec %s "$@"\n' % POSTMAP)
        os.chmod(fake, 0o755)
        before = {t: open(os.path.join(self.maps, t)).read()
                  for t in ("domains", "transport", "recipients")}
        extra = self.extra + "postmap = %s\n" % fake
        self.env.write_config(extra=extra, clubs={
            "ssc": ("Skyline Soaring Club", "ssc.manage2soar.com;skylinesoaring.org"),
            "other": ("Other Gliding Club", "other.manage2soar.com;other.example")})
        r = self.env.soarlist("postfix-maps")
        self.assertEqual(r.rc, 1)
        self.assertIn("disk full", r.stderr)
        for t, text in before.items():
            with open(os.path.join(self.maps, t)) as f:
                self.assertEqual(f.read(), text, t)
        self.assertIsNone(self.lookup("domains", "other.example"))
        self.assertEqual([n for n in os.listdir(self.maps) if n.startswith(".")], [])


class Doctor(PostfixEnv):
    """doctor against a scratch Postfix configuration that nothing runs:
    "Postfix is not running" is the one failure of a healthy setup here,
    with, when the tests run as root, the user=root of master.cf (the
    services run as the user running the tests), which pipe(8) and
    spawn(8) refuse (tests/e2e/test_doctor.py has the running Postfix,
    its services running as nobody, broken in each way)."""

    DOWN = "Postfix is not running"
    ROOT = "has user=root: "

    def setUp(self):
        super().setUp()
        # master.cf as installed here: the built programs, this config
        self.write_master(pwd.getpwuid(os.geteuid()).pw_name)
        # M2S list names mail cannot use are reported too: none here
        self.env.write_api("ssc", dict(harness.SSC_API, lists={
            k: v for k, v in harness.SSC_API["lists"].items() if " " not in k}))
        self.assertEqual(self.env.soarlist("sync").rc, 0)

    def write_master(self, user):
        text = contrib("master.cf.fragment", self.maps, user)
        self.assertIn(INSTALLED_DELIVER, text)
        self.assertIn(INSTALLED_BIN, text)
        text = (text.replace(INSTALLED_DELIVER,
                             "%s -c %s" % (os.path.abspath(harness.DELIVER), self.env.config))
                    .replace(INSTALLED_BIN,
                             "%s -c %s" % (os.path.abspath(harness.SOARLIST), self.env.config)))
        with open(os.path.join(self.pfetc, "master.cf"), "w") as f:
            f.write(text)
        age_config(self.pfetc)

    def doctor(self, *args):
        return self.env.soarlist("doctor", *args)

    def fails(self, r):
        return [l for l in r.stdout.splitlines() if l.startswith("FAIL")]

    def expected(self, line):
        return self.DOWN in line or (os.geteuid() == 0 and self.ROOT in line)

    def assertAllWellButPostfixDown(self, r):
        self.assertEqual(r.rc, 1, r.stdout)
        want = 3 if os.geteuid() == 0 else 1  # as root: deliver and policy
        self.assertEqual(len(self.fails(r)), want, r.stdout)
        self.assertTrue(all(self.expected(l) for l in self.fails(r)), r.stdout)
        self.assertRegex(r.stdout, r"\n\d+ checks, %d failed\n$" % want)

    def test_all_well(self):
        self.assertAllWellButPostfixDown(self.doctor())

    def assertFails(self, r, text):
        self.assertEqual(r.rc, 1, r.stdout)
        fails = [l for l in self.fails(r) if not self.expected(l)]
        self.assertTrue(any(text in l for l in fails), r.stdout)
        for l in self.fails(r):  # one line each: what is wrong; fix: how
            self.assertIn("; fix: ", l)

    def test_missing_table(self):
        os.unlink(os.path.join(self.maps, "transport"))
        self.assertFails(self.doctor(), "transport (missing)")

    def test_table_out_of_date(self):
        self.env.write_api("other", dict(harness.OTHER_API, lists={"pilots": ["a@b.org"]}))
        self.env.write_config(extra=self.extra.replace("postfix_dir", "#postfix_dir"))
        self.assertEqual(self.env.soarlist("sync").rc, 0)
        self.env.write_config(extra=self.extra)
        self.assertFails(self.doctor(), "out of date")

    def test_no_transport_or_limit(self):
        with open(os.path.join(self.pfetc, "main.cf"), "w") as f:
            f.write("myhostname = test.example\n")
        age_config(self.pfetc)
        self.assertFails(self.doctor(), "recipient limit 50")
        with open(os.path.join(self.pfetc, "master.cf"), "w") as f:
            f.write("")
        age_config(self.pfetc)
        self.assertFails(self.doctor(), "no soarlist pipe transport")

    def test_pipe_user_without_access(self):
        self.write_master("nobody")
        self.assertFails(self.doctor(), "pipe user nobody cannot: ")

    def test_postfix_not_using_the_tables(self):
        with open(os.path.join(self.pfetc, "main.cf"), "w") as f:
            f.write("myhostname = test.example\nsoarlist_destination_recipient_limit = 1\n")
        age_config(self.pfetc)
        self.assertFails(self.doctor(),
                         "main.cf does not use soarlist's tables for: relay_domains transport_maps")

    def test_table_database_older_than_source_is_rebuilt(self):
        src = os.path.join(self.maps, "recipients")
        old = time.time() - 120
        os.utime(src + ".db", (old, old))
        self.assertFails(self.doctor(), "recipients.db (missing or older")
        r = self.env.soarlist("postfix-maps")
        self.assertIn("updated %s/recipients" % self.maps, r.stdout)
        self.assertAllWellButPostfixDown(self.doctor())

    def test_sendmail_not_executable(self):
        os.chmod(self.env.sendmail, 0o644)
        self.assertFails(self.doctor(), "is not executable")

    def test_sync_too_old_or_failed(self):
        self.env.write_config(extra=self.extra + "sync_max_age = 1s\n")
        time.sleep(2.1)
        self.assertFails(self.doctor(), "club ssc: last sync succeeded")
        self.env.write_api("other", "not json")
        self.assertEqual(self.env.soarlist("sync", "other").rc, 1)
        self.assertFails(self.doctor(), "club other: last sync failed")

    def test_database_missing(self):
        os.unlink(self.env.db)
        self.assertFails(self.doctor(), "database")
        self.assertFalse(os.path.exists(self.env.db), "doctor must not create the database")


if __name__ == "__main__":
    tap.main()
