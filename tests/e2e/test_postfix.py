"""test_postfix.py - soarlist inside a real, private Postfix on 127.0.0.1.

One Postfix instance (tests/e2e/postfix_env.py) serves every scenario; each
scenario sends over SMTP and asserts on what arrives in the members'
mailboxes (the capture transport's files), the envelope senders, the SMTP
replies, the queue and the Postfix and soarlist logs. Every message carries
a Message-ID of its own, so scenarios never see each other's mail.

When Postfix cannot be installed or started, every scenario is reported as
skipped with the reason (which tap.py turns into "not ok": a suite that did
not run proves nothing).
"""
import os
import re
import smtplib
import stat
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import postfix_env  # noqa: E402
import tap  # noqa: E402
from postfix_env import ADMIN, NOSUCH  # noqa: E402


def list_members(name):
    """The recipients of ssc's list NAME as the canonical M2S answer
    (tests/data/m2s) gives it: each person once, whatever the case M2S
    wrote the address in, delivered to its local part as written at its
    lowercased domain."""
    seen = {}
    for a in postfix_env.ssc_api()["lists"][name]:
        local, domain = a.rsplit("@", 1)
        seen.setdefault(a.lower(), "%s@%s" % (local, domain.lower()))
    return sorted(seen.values())


MEMBERS = list_members("members")
LIST = "members@ssc.manage2soar.com"
BOUNCES = "members-bounces@ssc.manage2soar.com"
STRANGER = "x@stranger.example"
APP = "noreply@ssc.manage2soar.com"
REFUSAL = "only members of Skyline Soaring Club may post to members@ssc.manage2soar.com"

SHARED = postfix_env.ModuleInstance()


def setUpModule():
    SHARED.start()


def tearDownModule():
    SHARED.stop()


_counter = [0]


def new_msgid():
    _counter[0] += 1
    return "<e2e.%d.%d.%d@test.example>" % (os.getpid(), int(time.time()), _counter[0])


def message(from_="Alice Example <alice@example.org>", to=LIST, subject="Hello",
            msgid=None, extra="", body="Hello list\n"):
    head = ["From: %s" % from_]
    if to is not None:
        head.append("To: %s" % to)
    head += ["Subject: %s" % subject, "Message-ID: %s" % msgid,
             "Date: Tue, 24 Nov 2026 10:00:00 +0000"]
    return "\r\n".join(head) + "\r\n" + extra + "\r\n" + body.replace("\n", "\r\n")


class E2E(unittest.TestCase):
    """A scenario against the shared instance; logs are read from the
    point where the scenario started.

    Postfix's log lines arrive late (postlogd): a positive assertion on
    them waits for the line (wait_pf), and an assertion that something did
    NOT happen comes after quiesce(), which proves Postfix finished every
    message and its log is complete. Every wait has a deadline
    (postfix_env.DEADLINE), never a fixed delay."""

    def setUp(self):
        self.inst = SHARED.use(self)
        self.inst.settle()
        # the lines of earlier scenarios are all in before the mark
        self.pf_mark = self.inst.log_barrier()
        self.sl_mark = len(self.inst.soarlist_log_lines())

    # ---------------------------------------------------------- logs

    def pf_log(self):
        return [l for l in self.inst.postfix_log_lines()[self.pf_mark:]
                if not self.inst.is_barrier(l)]

    def sl_log(self):
        return self.inst.soarlist_log_lines()[self.sl_mark:]

    def logs(self):
        """Both logs since the scenario began, for failure messages."""
        return ("\n--- postfix log ---\n" + "\n".join(self.pf_log())
                + "\n--- soarlist log ---\n" + "\n".join(self.sl_log()))

    def pf_lines(self, pattern):
        return [l for l in self.pf_log() if re.search(pattern, l)]

    def sl_lines(self, pattern):
        return [l for l in self.sl_log() if re.search(pattern, l)]

    def wait_for(self, what, predicate, timeout=postfix_env.DEADLINE):
        try:
            return self.inst.wait_for(what, predicate, timeout)
        except AssertionError as e:
            raise AssertionError("%s\nqueue: %r%s" % (e, self.inst.queue(), self.logs()))

    def wait_pf(self, pattern, count=1):
        """Wait until COUNT Postfix log lines of this scenario match
        PATTERN, then until every line logged by then is in (so that the
        caller may count them); return the matching lines."""
        self.wait_for("%d Postfix log line(s) matching %r" % (count, pattern),
                      lambda: len(self.pf_lines(pattern)) >= count)
        self.inst.log_barrier()
        return self.pf_lines(pattern)

    def quiesce(self):
        """Wait until Postfix has finished every message of this scenario
        and logged all of it (postfix_env.Instance.quiesce)."""
        try:
            self.inst.quiesce(self.pf_mark)
        except AssertionError as e:
            raise AssertionError("%s%s" % (e, self.logs()))

    # ------------------------------------------------------- sending

    def send(self, mail_from, rcpts, data, source="127.0.0.2", login=None):
        return self.inst.send(mail_from, rcpts, data, source=source, login=login)

    def post_ok(self, mail_from, rcpt, data, source="127.0.0.2", login=None):
        t = self.send(mail_from, [rcpt], data, source=source, login=login)
        self.assertEqual(t.mail.code, 250, t.mail)
        self.assertEqual(t.rcpt[rcpt].code, 250, t.rcpt[rcpt])
        self.assertIsNotNone(t.data, "DATA was not sent")
        self.assertEqual(t.data.code, 250, t.data)
        self.assertIsNotNone(t.queue_id, t.data)
        return t

    def refused(self, mail_from, rcpt, data, source="127.0.0.2"):
        t = self.send(mail_from, [rcpt], data, source=source)
        self.assertEqual(t.mail.code, 250, t.mail)
        self.assertIsNone(t.data, "DATA was accepted after a refused RCPT")
        return t.rcpt[rcpt]

    # ------------------------------------------------------ receiving

    def wait_delivered(self, msgid, recipients, timeout=postfix_env.DEADLINE):
        """Wait until each of RECIPIENTS got MSGID and Postfix has finished
        every message, its log complete (quiesce); return {recipient:
        [Delivery]} of every delivery of MSGID. Fails as soon as Postfix
        has finished every message without those deliveries: they will not
        come."""
        want = set(recipients)

        def got():
            return {d.recipient for d in self.inst.deliveries_with(msgid)}

        def done():
            if want <= got():
                return True
            if self.inst.quiescent(self.pf_mark) and not want <= got():
                raise AssertionError("Postfix has finished every message, and %s reached %s, "
                                     "not %s" % (msgid, sorted(got()), sorted(want)))
            return False
        self.wait_for("%s delivered to %s" % (msgid, sorted(want)), done, timeout)
        self.quiesce()
        out = {}
        for d in self.inst.deliveries_with(msgid):
            out.setdefault(d.recipient, []).append(d)
        return out

    def assert_one_copy_each(self, got, recipients):
        self.assertEqual(sorted(got), sorted(recipients),
                         "recipients of the post" + self.logs())
        for r, copies in got.items():
            self.assertEqual(len(copies), 1, "%s got %d copies: %r" % (r, len(copies), copies))
        return {r: c[0] for r, c in got.items()}

    def assert_list_headers(self, d, lst="members", domain="ssc.manage2soar.com"):
        self.assertEqual(d.header("List-Id"), "<%s.%s>" % (lst, domain))
        self.assertEqual(d.header("List-Post"), "<mailto:%s@%s>" % (lst, domain))
        self.assertEqual(d.header("Precedence"), "list")
        self.assertEqual(d.header("X-Auto-Response-Suppress"), "OOF, AutoReply")
        self.assertEqual(d.header("X-Loop"), "%s@%s" % (lst, domain))
        self.assertEqual(d.header("List-Owner"), "<mailto:%s-owner@%s>" % (lst, domain))
        self.assertEqual(d.header("List-Help"), "<mailto:%s-owner@%s?subject=help>"
                         % (lst, domain))
        self.assertEqual(d.header_values("Return-Path"), [])

    def assert_envelope(self, delivered, lst="members", domain="ssc.manage2soar.com",
                        verp=False):
        """The envelope sender of each copy: the list's bounce address
        (verp = probe, the default, with nobody to probe), or its VERP
        form naming the member (verp = always)."""
        for r, d in delivered.items():
            local, host = r.split("@")
            want = ("%s-bounces+%s=%s@%s" % (lst, local, host, domain) if verp
                    else "%s-bounces@%s" % (lst, domain))
            self.assertEqual(d.sender, want, "envelope sender of the copy to %s" % r)

    def assert_no_bounce(self):
        """No bounce in the Postfix log: call it after quiesce() (as
        wait_delivered() does), or after another positive marker."""
        self.assertEqual(self.pf_lines(r"non-delivery notification|from=<>"), [],
                         "a bounce was generated" + self.logs())

    def assert_distributed(self, t, msgid, lst, recipients, domain="ssc.manage2soar.com"):
        """The Postfix and soarlist log lines of a distributed post T
        (each waited for: they may reach the log late)."""
        address = "%s@%s" % (lst, domain)
        sent = self.wait_pf(r" %s: to=<%s>, relay=soarlist, .*status=sent " %
                            (t.queue_id, re.escape(address)))
        self.assertEqual(len(sent), 1, "soarlist pipe delivery of %s" % t.queue_id + self.logs())
        lines = self.sl_lines(r"soarlist-deliver\[\d+\]: list=<%s> .*decision=distribute "
                              r"recipients=%d msgid=<%s>" %
                              (re.escape(address), len(recipients), re.escape(msgid[1:-1])))
        self.assertEqual(len(lines), 1, "soarlist-deliver log" + self.logs())
        # the reinjected copy: picked up from the pipe user's sendmail, with
        # the list's bounce address as envelope sender
        picked = self.wait_pf(r"pickup\[\d+\]: (\w+): uid=\d+ from=<%s-bounces@%s>" %
                              (lst, re.escape(domain)))
        self.assertTrue(picked, "no reinjection picked up" + self.logs())
        for r in recipients:
            self.assertTrue(self.wait_pf(r"to=<%s>, relay=capture, .*status=sent" %
                                         re.escape(r)),
                            "no capture delivery to %s logged" % r + self.logs())


class T1MemberPost(E2E):
    def test_member_post_is_distributed_once_to_each_member(self):
        msgid = new_msgid()
        extra = ("DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s1; b=AAAA\r\n"
                 "Disposition-Notification-To: alice@example.org\r\n")
        t = self.post_ok("alice@example.org", LIST, message(msgid=msgid, extra=extra))
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_envelope(got)
        for d in got.values():
            self.assertEqual(d.header_values("DKIM-Signature"), [])
            self.assertEqual(d.header_values("Disposition-Notification-To"), [])
            self.assertEqual(d.header("From"),
                             '"Alice Example via Members" <%s>' % BOUNCES)
            self.assertEqual(d.header("Reply-To"), "Alice Example <alice@example.org>")
            self.assertEqual(d.header("To"), LIST)
            self.assertEqual(d.header("Subject"), "Hello")
            self.assertEqual(d.header("Delivered-To"), LIST)
            self.assert_list_headers(d)
            self.assertEqual(d.body(), b"Hello list\n")
        self.assert_distributed(t, msgid, "members", MEMBERS)
        self.assert_no_bounce()

    def test_post_to_second_domain_uses_that_domain(self):
        msgid = new_msgid()
        t = self.post_ok("bob@example.com", "members@skylinesoaring.org",
                         message(from_="Bob <bob@example.com>", to="members@skylinesoaring.org",
                                 msgid=msgid))
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_envelope(got, domain="skylinesoaring.org")
        for d in got.values():
            self.assertEqual(d.header("From"),
                             '"Bob via Members" <members-bounces@skylinesoaring.org>')
            self.assert_list_headers(d, domain="skylinesoaring.org")
        self.assert_distributed(t, msgid, "members", MEMBERS, domain="skylinesoaring.org")


class T1VerpAlways(E2E):
    def test_verp_always_gives_each_member_its_own_envelope(self):
        self.inst.write_soarlist_config("verp = always\n")
        self.addCleanup(self.inst.write_soarlist_config)
        msgid = new_msgid()
        t = self.post_ok("alice@example.org", LIST, message(msgid=msgid))
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_envelope(got, verp=True)
        self.assert_distributed(t, msgid, "members", MEMBERS)


class T2Bcc(E2E):
    def test_list_only_in_bcc_is_distributed_the_same_way(self):
        msgid = new_msgid()
        data = message(to="undisclosed-recipients:;", msgid=msgid, subject="Blind")
        t = self.post_ok("alice@example.org", LIST, data)
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_envelope(got)
        for d in got.values():
            self.assertEqual(d.header("From"),
                             '"Alice Example via Members" <%s>' % BOUNCES)
            self.assertEqual(d.header("To"), "undisclosed-recipients:;")
            self.assertEqual(d.header("Delivered-To"), LIST)
            self.assertEqual(d.header_values("Cc"), [])
            self.assert_list_headers(d)
        self.assert_distributed(t, msgid, "members", MEMBERS)


class T3NonMember(E2E):
    def test_non_member_refused_at_rcpt_without_bounce(self):
        msgid = new_msgid()
        before = len(self.inst.deliveries())
        r = self.refused(STRANGER, LIST, message(from_="Stranger <%s>" % STRANGER, msgid=msgid))
        self.assertEqual(r.code, 550, r)
        self.assertTrue(r.text.startswith("5.7.1 "), r)
        self.assertIn(REFUSAL, r.text)
        # Postfix logged the refusal, with soarlist's reason, at RCPT time
        rejects = self.wait_pf(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.2\]: 550 5\.7\.1 "
                               r"<%s>: Recipient address rejected: %s; from=<%s>" %
                               (re.escape(LIST), re.escape(REFUSAL), re.escape(STRANGER)))
        self.assertEqual(len(rejects), 1, self.logs())
        # the policy service said so; the delivery agent never ran
        self.assertTrue(self.sl_lines(r"policy.* list=<%s> sender=<%s> action=reject" %
                                      (re.escape(LIST), re.escape(STRANGER))), self.logs())
        self.assertEqual(self.sl_lines(r"soarlist-deliver\["), [], self.logs())
        # nothing queued, nothing delivered, no bounce anywhere: once Postfix
        # has finished whatever it had (a wrong bounce included)
        self.quiesce()
        self.assertEqual(self.inst.queue(), [])
        self.assertEqual(len(self.inst.deliveries()), before)
        self.assertEqual(self.inst.deliveries_with(msgid), [])
        self.assertEqual(self.inst.deliveries(STRANGER), [])
        self.assert_no_bounce()
        self.assertEqual(self.pf_lines(r": (from|to)=<"), [], self.logs())

    def test_non_member_from_mynetworks_refused_at_rcpt(self):
        # trusted networks included: what soarlist-deliver would refuse is
        # refused in the dialogue, never accepted and then bounced
        msgid = new_msgid()
        r = self.refused(STRANGER, LIST, message(from_="Stranger <%s>" % STRANGER, msgid=msgid),
                         source="127.0.0.1")
        self.assertEqual(r.code, 550, r)
        self.assertIn(REFUSAL, r.text)
        self.assertEqual(len(self.wait_pf(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.1\]: "
                                          r"550 5\.7\.1 <%s>" % re.escape(LIST))), 1,
                         self.logs())
        self.quiesce()
        self.assertEqual(self.sl_lines(r"soarlist-deliver\["), [], self.logs())
        self.assertEqual(self.inst.deliveries_with(msgid), [])
        self.assert_no_bounce()
        # a member from there still posts
        msgid = new_msgid()
        self.post_ok("alice@example.org", LIST, message(msgid=msgid), source="127.0.0.1")
        self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)

    def test_non_member_refused_only_for_that_recipient(self):
        # one transaction, two lists: the bypass list takes it, members@ does not
        msgid = new_msgid()
        t = self.send(STRANGER, [LIST, "treasurer@ssc.manage2soar.com"],
                      message(from_="Stranger <%s>" % STRANGER, msgid=msgid,
                              to="%s, treasurer@ssc.manage2soar.com" % LIST))
        self.assertEqual(t.rcpt[LIST].code, 550, t.rcpt)
        self.assertEqual(t.rcpt["treasurer@ssc.manage2soar.com"].code, 250, t.rcpt)
        self.assertEqual(t.data.code, 250, t.data)
        got = self.assert_one_copy_each(self.wait_delivered(msgid, ["tom@example.net"]),
                                        ["tom@example.net"])
        self.assert_envelope(got, lst="treasurer")
        self.assert_no_bounce()


class T4Bypass(E2E):
    def test_bypass_list_accepts_stranger(self):
        msgid = new_msgid()
        t = self.post_ok(STRANGER, "treasurer@ssc.manage2soar.com",
                         message(from_="Stranger <%s>" % STRANGER,
                                 to="treasurer@ssc.manage2soar.com", msgid=msgid))
        got = self.assert_one_copy_each(self.wait_delivered(msgid, ["tom@example.net"]),
                                        ["tom@example.net"])
        self.assert_envelope(got, lst="treasurer")
        d = got["tom@example.net"]
        self.assertEqual(d.header("From"),
                         '"Stranger via Treasurer" <treasurer-bounces@ssc.manage2soar.com>')
        self.assertEqual(d.header("Reply-To"), "Stranger <%s>" % STRANGER)
        self.assert_list_headers(d, lst="treasurer")
        self.assert_distributed(t, msgid, "treasurer", ["tom@example.net"])
        self.assertEqual(self.sl_lines(r"action=reject"), [], self.logs())
        self.assertEqual(self.pf_lines(r"reject:"), [], self.logs())


class T5UnknownAddress(E2E):
    def test_unknown_address_at_served_domain_refused_at_rcpt(self):
        for rcpt in ("nobody@ssc.manage2soar.com", "nobody@skylinesoaring.org",
                     "webmaster@ssc.manage2soar.com", "members-admin@ssc.manage2soar.com"):
            with self.subTest(rcpt=rcpt):
                r = self.refused("alice@example.org", rcpt, message(to=rcpt, msgid=new_msgid()))
                self.assertEqual(r.code, 550, r)
                self.assertEqual(r.text, "5.1.1 <%s>: Recipient address rejected: "
                                         "User unknown in relay recipient table" % rcpt)
                self.assertEqual(len(self.wait_pf(r"NOQUEUE: reject: RCPT .*: 550 5\.1\.1 <%s>:"
                                                  % re.escape(rcpt))), 1, self.logs())
        self.quiesce()
        self.assertEqual(self.sl_lines(r"soarlist-deliver\["), [], self.logs())
        self.assertEqual(self.inst.queue(), [])

    def test_other_domains_are_not_relayed(self):
        r = self.refused("alice@example.org", "someone@elsewhere.example",
                         message(to="someone@elsewhere.example", msgid=new_msgid()))
        # 454 with Postfix's default smtpd_relay_restrictions
        # (defer_unauth_destination), 554 from reject_unauth_destination
        self.assertIn(r.code, (454, 554), r)
        self.assertEqual(r.text, "4.7.1 <someone@elsewhere.example>: Relay access denied"
                         if r.code == 454 else
                         "5.7.1 <someone@elsewhere.example>: Relay access denied")
        self.assertEqual(self.inst.queue(), [])


class T6TransientFailure(E2E):
    def test_unreadable_database_defers_then_delivers_once(self):
        msgid = new_msgid()
        db = self.inst.db
        mode = stat.S_IMODE(os.stat(db).st_mode)  # 0640: private (doctor checks)
        os.chmod(db, 0)
        self.addCleanup(os.chmod, db, mode)
        # submitted locally (sendmail, pickup): the policy service, which
        # reads the same database, is not asked, so the fault hits the
        # delivery agent only
        p = postfix_env.run([postfix_env.SENDMAIL, "-C", self.inst.etc, "-i",
                             "-f", "alice@example.org", "--", LIST],
                            input=message(msgid=msgid).replace("\r\n", "\n"))
        self.assertEqual(p.returncode, 0, p.stderr)
        qid = re.search(r" (\w+): message-id=%s" % re.escape(msgid), self.wait_pf(
            r"cleanup\[\d+\]: \w+: message-id=%s" % re.escape(msgid))[0]).group(1)
        t = type("Submitted", (), {"queue_id": qid})
        deferred = (r" %s: to=<%s>, relay=soarlist, .*dsn=4\.3\.0, status=deferred "
                    r"\(list delivery failed: " % (t.queue_id, re.escape(LIST)))
        # deferred, and still deferred on the retries
        self.wait_pf(deferred, count=2)
        # between attempts, in the deferred queue (qmgr moves it there after
        # the attempt is logged, and back to active for the next one)
        q = self.wait_for("%s in the deferred queue" % t.queue_id, lambda: [
            m for m in self.inst.queue()
            if m["queue_id"] == t.queue_id and m["queue_name"] == "deferred"])
        self.assertEqual(len(q), 1, self.inst.queue())
        self.assertEqual(q[0]["queue_name"], "deferred")
        self.assertEqual([r["address"] for r in q[0]["recipients"]], [LIST])
        self.assertIn("list delivery failed", q[0]["recipients"][0]["delay_reason"])
        self.assertEqual(self.inst.deliveries_with(msgid), [])
        self.assertEqual(self.pf_lines(r" %s: .*status=(bounced|sent)" % t.queue_id), [])
        self.assertTrue(self.sl_lines(r"soarlist-deliver\[\d+\]: list=<%s> .*decision=defer"
                                      % re.escape(LIST)), self.logs())
        self.assert_no_bounce()
        # fixed: flushed, delivered exactly once
        os.chmod(db, mode)
        self.inst.flush()
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_envelope(got)
        for d in got.values():
            self.assertEqual(d.header("From"), '"Alice Example via Members" <%s>' % BOUNCES)
        self.assertEqual(len(self.pf_lines(r" %s: to=<%s>, relay=soarlist, .*status=sent"
                                           % (t.queue_id, re.escape(LIST)))), 1, self.logs())
        self.assertEqual(len(self.sl_lines(r"decision=distribute .*msgid=<%s>"
                                           % re.escape(msgid[1:-1]))), 1, self.logs())
        self.assertEqual(self.inst.queue(), [])
        self.assert_no_bounce()


    def test_policy_defers_at_rcpt_when_database_unreadable(self):
        msgid = new_msgid()
        mode = stat.S_IMODE(os.stat(self.inst.db).st_mode)
        os.chmod(self.inst.db, 0)
        self.addCleanup(os.chmod, self.inst.db, mode)
        # A policy process that opened the database before the chmod keeps
        # reading it, and smtpd reuses its policy connection across SMTP
        # sessions: reload, so that new smtpd processes spawn new policy
        # processes, and try (a stranger: refused either way) until one
        # of them answers.
        self.inst.postfix("reload")

        def attempt():
            r = self.refused(STRANGER, LIST, message(from_=STRANGER, msgid=msgid))
            return r if r.code != 550 else None
        r = self.wait_for("a policy answer from a new policy process", attempt)
        self.assertEqual(r.code, 450, r)
        self.assertEqual(r.text, "4.3.0 <%s>: Recipient address rejected: list database "
                                 "unavailable, try again later" % LIST)
        self.assertEqual(len(self.wait_pf(r"NOQUEUE: reject: RCPT from \S+\[127\.0\.0\.2\]: "
                                          r"450 4\.3\.0 <%s>:" % re.escape(LIST))), 1,
                         self.logs())
        self.assertTrue(self.sl_lines(r"policy.*warning: .*cannot open database"), self.logs())
        # a member is deferred the same way: the policy cannot tell
        r = self.refused("alice@example.org", LIST, message(msgid=msgid))
        self.assertEqual(r.code, 450, r)
        self.quiesce()
        self.assertEqual(self.inst.queue(), [])
        self.assertEqual(self.inst.deliveries_with(msgid), [])
        self.assert_no_bounce()
        # fixed: the same policy process (it reopens after a DEFER) lets her in
        os.chmod(self.inst.db, mode)
        t = self.post_ok("alice@example.org", LIST, message(msgid=msgid))
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_distributed(t, msgid, "members", MEMBERS)


class T7Bounce(E2E):
    def test_bounce_comes_back_to_the_list_and_reaches_soarlist(self):
        # verp = probe, the default: one transaction for the destination,
        # the bounce to the plain address, its member read from the DSN
        self.bounce_comes_back("board-bounces@ssc.manage2soar.com")

    def test_bounce_comes_back_to_verp_address_and_reaches_soarlist(self):
        self.inst.write_soarlist_config("verp = always\n")
        self.addCleanup(self.inst.write_soarlist_config)
        self.bounce_comes_back("board-bounces+nosuch=example.net@ssc.manage2soar.com")

    def bounce_comes_back(self, verp):
        # a permanent failure scores once a day: forget the other test's
        # (exit 1 when there was nothing to forget)
        r = self.inst.soarlist("bounces", "reset", NOSUCH)
        self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)
        msgid = new_msgid()
        board = "board@ssc.manage2soar.com"
        t = self.post_ok("bob@example.com", board,
                         message(from_="Bob <bob@example.com>", to=board, msgid=msgid))
        # the real members get their copies
        got = self.wait_delivered(msgid, ["bob@example.com", "dora@example.org"])
        self.assertEqual(sorted(got), ["bob@example.com", "dora@example.org"])
        # the one that does not exist bounces ...
        bounced = self.wait_for("the bounce of %s" % NOSUCH, lambda: self.pf_lines(
            r" (\w+): to=<%s>, relay=none, .*dsn=5\.1\.1, status=bounced \(user unknown\)"
            % re.escape(NOSUCH)))
        qid = re.search(r" (\w+): to=", bounced[0]).group(1)
        notif = self.pf_lines(r" %s: sender non-delivery notification: (\w+)" % qid)
        self.assertEqual(len(notif), 1, self.logs())
        bqid = notif[0].rsplit(" ", 1)[1]
        # ... to the bounce address, which the soarlist transport takes
        self.wait_for("the bounce delivered to soarlist", lambda: self.pf_lines(
            r" %s: to=<%s>, relay=soarlist, .*status=sent" % (bqid, re.escape(verp))))
        self.assertTrue(self.pf_lines(r" %s: from=<>," % bqid), self.logs())
        # soarlist-deliver parses Postfix's DSN and scores the address
        scored = self.wait_for("decision=bounce-scored", lambda: self.sl_lines(
            r"soarlist-deliver\[\d+\]: list=<%s> sender=<> .*decision=bounce-scored "
            r".*reason=%s 5\.1\.1" % (re.escape(board), re.escape(NOSUCH))))
        self.assertEqual(len(scored), 1, self.logs())
        r = self.inst.soarlist("bounces")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(NOSUCH, r.stdout)
        self.inst.wait_queue_empty()
        # a DSN is never forwarded: nothing reached the admin
        self.assertEqual([d for d in self.inst.deliveries(ADMIN)
                          if any(bqid in v for v in d.header_values("Message-ID"))], [])
        # exactly one bounce, and no bounce of the bounce
        self.assertEqual(len(self.pf_lines(r"sender non-delivery notification")), 1, self.logs())
        self.assertEqual(len(self.inst.deliveries_with(msgid)), 2)


class T8App(E2E):
    APP_FROM = "Manage2Soar <%s>" % APP

    def check_app_post(self, t, msgid):
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_envelope(got)
        for d in got.values():
            self.assertEqual(d.header("From"), self.APP_FROM)  # not rewritten
            self.assert_list_headers(d)
        self.assert_distributed(t, msgid, "members", MEMBERS)
        self.assertTrue(self.sl_lines(r"sender=<%s> .*decision=distribute" % re.escape(APP)))

    def test_app_from_app_networks_is_distributed_without_from_rewriting(self):
        # the app's client address is in app_networks, not in mynetworks:
        # the policy service knows the app, not Postfix's trust
        msgid = new_msgid()
        src = postfix_env.APP_SOURCE
        t = self.post_ok(APP, LIST, message(from_=self.APP_FROM, msgid=msgid), source=src)
        self.assertTrue(self.wait_pf(r" %s: client=\S+\[%s\]$" % (t.queue_id, re.escape(src))),
                        self.logs())
        self.check_app_post(t, msgid)
        # to every list of its club, whatever the whitelist says (it never
        # has noreply@), on every domain of the club
        msgid = new_msgid()
        lst = "instructors@skylinesoaring.org"
        members = list_members("instructors")
        t = self.post_ok("NoReply@SkylineSoaring.org", lst,
                         message(from_=self.APP_FROM, to=lst, msgid=msgid), source=src)
        got = self.assert_one_copy_each(self.wait_delivered(msgid, members), members)
        for d in got.values():
            self.assertEqual(d.header("From"), self.APP_FROM)

    def _refused_as_reserved(self, source, sender=APP):
        msgid = new_msgid()
        r = self.refused(sender, LIST, message(from_=self.APP_FROM, msgid=msgid), source=source)
        self.assertEqual(r.code, 550, r)
        self.assertEqual(r.text, "5.7.1 <%s>: Recipient address rejected: <%s> is "
                         "reserved for the Manage2Soar application" % (LIST, sender))
        self.assertEqual(len(self.wait_pf(
            r"NOQUEUE: reject: RCPT from \S+\[%s\]: 550 5\.7\.1 <%s>: Recipient address "
            r"rejected: .* is reserved for the Manage2Soar application; from=<%s>"
            % (re.escape(source), re.escape(LIST), re.escape(sender)))), 1, self.logs())
        self.quiesce()
        self.assertEqual(self.sl_lines(r"soarlist-deliver\["), [], self.logs())
        self.assertEqual(self.inst.deliveries_with(msgid), [])
        self.assertEqual(self.inst.queue(), [])
        self.assert_no_bounce()

    def test_app_sender_from_outside_mynetworks_is_refused(self):
        self._refused_as_reserved("127.0.0.2")

    def test_app_sender_from_mynetworks_is_refused(self):
        # a trusted network is not the app: a local user cannot post as it
        self._refused_as_reserved("127.0.0.1")

    def test_app_sender_of_another_club_gets_no_pass(self):
        msgid = new_msgid()
        sender = "noreply@other.manage2soar.com"
        r = self.refused(sender, LIST, message(from_="Other <%s>" % sender, msgid=msgid),
                         source=postfix_env.APP_SOURCE)
        self.assertEqual(r.code, 550, r)
        self.assertIn(REFUSAL, r.text)

    def test_app_login_with_another_sender_is_judged(self):
        msgid = new_msgid()
        t = self.send(STRANGER, [LIST], message(from_="Stranger <%s>" % STRANGER, msgid=msgid),
                      login=(postfix_env.APP_LOGIN, postfix_env.APP_PASSWORD))
        self.assertEqual(t.rcpt[LIST].code, 550, t.rcpt)
        self.assertIn(REFUSAL, t.rcpt[LIST].text)

    def test_app_logged_in_as_app_login_is_distributed(self):
        msgid = new_msgid()
        # the SASL service is no rubber stamp
        with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
            self.send(APP, [LIST], message(from_=self.APP_FROM, msgid=msgid),
                      login=(postfix_env.APP_LOGIN, "wrong"))
        self.assertEqual(cm.exception.smtp_code, 535)
        t = self.post_ok(APP, LIST, message(from_=self.APP_FROM, msgid=msgid),
                         login=(postfix_env.APP_LOGIN, postfix_env.APP_PASSWORD))
        self.assertTrue(self.wait_pf(r" %s: client=\S+\[127\.0\.0\.2\], sasl_method=PLAIN, "
                                     r"sasl_username=%s" % (t.queue_id, postfix_env.APP_LOGIN)),
                        self.logs())
        self.check_app_post(t, msgid)


    def test_app_sender_refused_even_where_smtpd_has_no_sasl(self):
        # An MX often runs without SASL (it is the submission service that
        # has it). Postfix then ignores reject_unauthenticated_sender_login_
        # mismatch ("no SASL support"), and the contrib configuration must
        # still keep strangers from posting as the app (whose posts are not
        # From-rewritten).
        def restore():
            self.inst.set_main_cf("smtpd_sasl_auth_enable = yes")
            self.inst.wait_for("smtpd with SASL again", self.inst.smtpd_offers_auth)
        self.inst.set_main_cf("smtpd_sasl_auth_enable = no")
        self.addCleanup(restore)
        self.inst.wait_for("smtpd without SASL", lambda: not self.inst.smtpd_offers_auth())
        msgid = new_msgid()
        t = self.send(APP, [LIST], message(from_="Forged <%s>" % APP, msgid=msgid))
        self.quiesce()
        self.assertEqual(t.rcpt[LIST].code // 100, 5,
                         "a stranger posted as %s from outside mynetworks: %r; delivered "
                         "to %s%s" % (APP, t.rcpt[LIST],
                                      sorted(d.recipient for d in
                                             self.inst.deliveries_with(msgid)),
                                      self.logs()))
        self.assertEqual(self.inst.deliveries_with(msgid), [])
        # and the contrib configuration costs no warning per connection
        self.inst.log_barrier()
        self.assertEqual(self.pf_lines(r"smtpd\[\d+\]: warning:"), [], self.logs())


class T9NewList(E2E):
    """A list created at M2S works as soon as `soarlist sync` has run: a
    post to it right after the sync is distributed, never relayed."""

    def test_post_right_after_sync_reaches_the_new_list(self):
        base = postfix_env.ssc_api()
        self.addCleanup(self._restore, base)
        members = ["alice@example.org", "bob@example.com"]
        for n in range(5):
            name = "newlist%d-%d" % (os.getpid() % 1000, n)
            api = dict(base, lists=dict(base["lists"], **{name: members}))
            self.inst.write_api("ssc", api)
            r = self.inst.soarlist("sync")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            lst = "%s@ssc.manage2soar.com" % name
            msgid = new_msgid()
            t = self.post_ok("alice@example.org", lst,
                             message(to=lst, msgid=msgid, subject="new list %d" % n))
            got = self.assert_one_copy_each(self.wait_delivered(msgid, members), members)
            self.assert_envelope(got, lst=name)
            for d in got.values():
                self.assert_list_headers(d, lst=name)
            self.assertTrue(self.pf_lines(r" %s: to=<%s>, relay=soarlist, .*status=sent"
                                          % (t.queue_id, re.escape(lst))), self.logs())
            self.assertEqual(self.pf_lines(r" %s: to=<%s>, relay=(?!soarlist)"
                                           % (t.queue_id, re.escape(lst))), [], self.logs())
            self.assert_no_bounce()

    def _restore(self, base):
        self.inst.write_api("ssc", base)
        self.inst.soarlist("sync", "--force")


class T99HoldApprove(E2E):
    """A stranger's post to a list with nonmember_action = hold passes RCPT
    TO (the moderators decide), is held, the owner's notice arrives, and
    the owner's reply "approve" to LIST-request+TOKEN distributes it."""

    OWNER = "chair@example.org"

    def setUp(self):
        super().setUp()
        self.inst.write_soarlist_config(
            "\n[list ssc/members]\nnonmember_action = hold\nowners = %s\n" % self.OWNER)
        self.addCleanup(self.inst.write_soarlist_config)

    def test_held_then_approved_by_reply(self):
        msgid = new_msgid()
        stranger = "visitor@stranger.example"
        self.post_ok(stranger, LIST, message(from_="Visitor <%s>" % stranger, msgid=msgid))
        self.wait_for("the owner's notice", lambda: self.inst.deliveries(self.OWNER))
        self.quiesce()
        notice = [d for d in self.inst.deliveries(self.OWNER)
                  if msgid[1:-1] not in (d.header("Message-ID") or "")]
        self.assertEqual(len(notice), 1, self.logs())
        reply_to = notice[0].header("Reply-To")
        self.assertRegex(reply_to, r"^members-request\+[0-9a-f]{32}@ssc\.manage2soar\.com$")
        self.assertEqual(self.inst.deliveries_with(msgid), [])  # held, not sent
        self.assertTrue(self.sl_lines(r"decision=hold"), self.logs())
        # the owner answers by mail, through Postfix
        answer = ("From: Chair <%s>\r\nTo: %s\r\nSubject: Re: held post\r\n"
                  "Message-ID: %s\r\n\r\napprove\r\n" % (self.OWNER, reply_to, new_msgid()))
        self.post_ok(self.OWNER, reply_to, answer)
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_envelope(got)
        self.assertTrue(self.sl_lines(r"decision=moderate-approve"), self.logs())
        # the token worked once
        t = self.send(self.OWNER, [reply_to], answer.replace("Message-ID: <", "Message-ID: <x"))
        self.assertEqual(t.rcpt[reply_to].code, 250)
        self.wait_for("the second answer handled", lambda: self.sl_lines(
            r"decision=moderate-refused"))
        self.quiesce()
        self.assertEqual(len(self.inst.deliveries_with(msgid)), 3)


class T9Doctor(E2E):
    def doctor(self):
        r = self.inst.soarlist("doctor")
        lines = r.stdout.splitlines()
        return r, lines

    NAMES = re.compile(r'^FAIL +club ssc: M2S list "Board Members" has no address')

    def test_doctor_passes_then_fails_without_transport_table(self):
        # the canonical M2S answer has a list name mail cannot use: that is
        # the one failure of this otherwise healthy installation
        r, lines = self.doctor()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        checks = [l for l in lines if re.match(r"(OK|FAIL) ", l)]
        self.assertGreaterEqual(len(checks), 7, r.stdout)
        self.assertEqual([l for l in checks if not l.startswith("OK ")
                          and not self.NAMES.match(l)], [], r.stdout)
        self.assertEqual(len([l for l in checks if self.NAMES.match(l)]), 1, r.stdout)
        # it asked the test instance (postfix_config_dir), not /etc/postfix
        self.assertTrue([l for l in checks if re.match(
            r"OK +soarlist pipe transport in master\.cf", l)], r.stdout)
        self.assertTrue([l for l in checks if re.match(r"OK +pipe user nobody ", l)], r.stdout)
        self.assertTrue([l for l in checks if re.match(
            r"OK +tables in %s match the database$" % re.escape(self.inst.maps), l)], r.stdout)

        transport = os.path.join(self.inst.maps, "transport")
        saved = {}
        for path in (transport, transport + ".db"):
            with open(path, "rb") as f:
                saved[path] = f.read()
            os.unlink(path)

        def restore():
            for path, data in saved.items():
                if not os.path.exists(path):
                    with open(path, "wb") as f:
                        f.write(data)
                    os.chown(path, self.inst.uid, self.inst.gid)
        self.addCleanup(restore)

        r, lines = self.doctor()
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        fails = [l for l in lines if l.startswith("FAIL") and not self.NAMES.match(l)]
        self.assertEqual(len(fails), 1, r.stdout)
        self.assertRegex(fails[0], r"^FAIL +tables in %s: .*\btransport \(missing\)"
                         % re.escape(self.inst.maps))

        # `soarlist postfix-maps` puts it back, and all is well again
        p = self.inst.soarlist("postfix-maps")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(os.path.exists(transport + ".db"))
        r, lines = self.doctor()
        self.assertEqual([l for l in lines if l.startswith("FAIL")
                          and not self.NAMES.match(l)], [], r.stdout)


if __name__ == "__main__":
    tap.main()
