"""test_dkim.py - authenticated posting (require_auth = dmarc) through a
real, private Postfix on 127.0.0.1 whose smtpd has a real opendkim in
verify mode as its milter (tests/e2e/opendkim_env.py).

The members' posts are signed by OpenDKIM's own signing code with keys
made by opendkim-genkey at test time; the verifier knows their public keys
from TestPublicKeys, and writes the Authentication-Results soarlist reads.
The opendkim configuration is the one the README recommends: AuthservID =
soarlist's authserv_id, RemoveARAll yes and RemoveARFrom naming it, so that
no Authentication-Results a client wrote with our authserv-id survives.
A few scenarios change it for their own duration (and restore it): opendkim's
defaults, AuthservID = myhostname, the daemon stopped (milter_default_action
= tempfail), a local socket in the queue directory, and Mode sv signing the
list copies through non_smtpd_milters.

Club ssc has require_auth = dmarc (unauthenticated_action = hold, the
default); private-owners@ refuses instead (unauthenticated_action = reject);
instructors@ has require_auth = none. alice@example.org is a member of
every one of them.

Every scenario checks its outcome positively: the copies that arrived, the
held row with its reason, the DSN in the sender's mailbox, the log lines;
an absence is asserted only after Postfix has finished every message.
"""
import grp
import os
import re
import stat
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import opendkim_env  # noqa: E402
import postfix_env  # noqa: E402
import tap  # noqa: E402
import test_postfix as tp  # noqa: E402

AUTHSERV_ID = "mx.soarlist.test"
# the README's opendkim.conf lines against forged Authentication-Results
RECOMMENDED = [("RemoveARAll", "yes"), ("RemoveARFrom", AUTHSERV_ID)]

MEMBER = "alice@example.org"
MEMBER_FROM = "Alice Example <%s>" % MEMBER
DOMAIN = "ssc.manage2soar.com"
LIST = "members@" + DOMAIN                 # club default: dmarc, hold
REJECT_LIST = "private-owners@" + DOMAIN   # dmarc, reject
OPEN_LIST = "instructors@" + DOMAIN        # require_auth = none
BYPASS_LIST = "treasurer@" + DOMAIN        # anyone may post
MEMBERS = tp.MEMBERS
# keys: the member's own domain, a stranger's, a subdomain of the member's
# organizational domain (relaxed alignment)
KEYS = [("example.org", "s1"), ("stranger.example", "s2"), ("mail.example.org", "s3")]


class AuthInstance(opendkim_env.DkimInstance):
    """The DkimInstance with soarlist's authserv_id and the clubs' and
    lists' require_auth settings in soarlist.conf."""

    CLUB = {"ssc": ["require_auth = dmarc", "unauthenticated_action = hold"]}
    LISTS = ("\n[list ssc/private-owners]\nunauthenticated_action = reject\n"
             "\n[list ssc/instructors]\nrequire_auth = none\n")

    def __init__(self):
        super().__init__(keys=KEYS, settings=RECOMMENDED, authserv_id=AUTHSERV_ID)

    def write_soarlist_config(self, extra=""):
        super().write_soarlist_config("authserv_id = %s\n%s\n%s"
                                      % (self.authserv_id, extra, self.LISTS))
        with open(self.config) as f:
            text = f.read()
        for slug, lines in self.CLUB.items():
            head = "[club %s]\n" % slug
            assert head in text, text
            text = text.replace(head, head + "".join(l + "\n" for l in lines))
        self._write(self.config, text, owner=True)


SHARED = postfix_env.ModuleInstance(AuthInstance)


def setUpModule():
    SHARED.start()


def tearDownModule():
    SHARED.stop()


def header_block(data):
    """The header section of DATA (bytes), unfolded: [(name, value)]."""
    return postfix_env.harness.header_fields(data)


class DkimE2E(tp.E2E):
    """A scenario against this module's instance (tp.E2E's helpers)."""

    def setUp(self):
        self.inst = SHARED.use(self)
        self.inst.settle()
        self.pf_mark = self.inst.log_barrier()
        self.sl_mark = len(self.inst.soarlist_log_lines())
        self.dkim_mark = len(self.inst.dkim.log_lines())

    def logs(self):
        return (super().logs() + "\n--- opendkim log ---\n"
                + "\n".join(self.inst.dkim.log_lines()[self.dkim_mark:]))

    # ------------------------------------------------------- messages

    def post(self, key=None, lst=LIST, sender=MEMBER, from_=MEMBER_FROM, extra="",
             body="Hello list\n", source="127.0.0.2", tamper=None):
        """Send a post over SMTP, signed with the TestKey of domain KEY
        (None: unsigned); TAMPER(bytes) -> bytes changes it after signing.
        Returns (Transaction, Message-ID)."""
        msgid = tp.new_msgid()
        data = tp.message(from_=from_, to=lst, msgid=msgid, extra=extra, body=body,
                          subject="dkim %s" % msgid[1:-1].split("@")[0])
        if key is not None:
            data = self.inst.keys[key].sign(data)
        if tamper is not None:
            data = tamper(data)
        return self.post_ok(sender, lst, data, source=source), msgid

    def wait_dkim_result(self, queue_id, result):
        """Wait for opendkim's log of QUEUE_ID: the signature was verified
        ("DKIM verification successful"), failed ("bad signature data") or
        absent ("no signature data"), as RESULT says."""
        text = {"pass": "DKIM verification successful", "fail": "bad signature data",
                "none": "no signature data"}[result]
        pattern = r"opendkim\[\d+\]: %s: %s" % (queue_id, re.escape(text))
        self.wait_for("opendkim's '%s' for %s" % (text, queue_id), lambda: [
            l for l in self.inst.dkim.log_lines()[self.dkim_mark:] if re.search(pattern, l)])

    # ------------------------------------------------------- outcomes

    def assert_distributed_to(self, t, msgid, recipients, lst="members"):
        """The post reached each of RECIPIENTS once, with the list's
        headers and without the incoming DKIM-Signature (DESIGN.md:
        OpenDKIM re-signs outbound); returns {recipient: Delivery}."""
        got = self.assert_one_copy_each(self.wait_delivered(msgid, recipients), recipients)
        self.assert_envelope(got, lst=lst)
        for d in got.values():
            self.assert_list_headers(d, lst=lst)
            self.assertEqual(d.header_values("DKIM-Signature"), [],
                             "the incoming signature left in the copy to %s" % d.recipient)
        self.assert_distributed(t, msgid, lst, recipients)
        self.assert_no_bounce()
        return got

    def assert_held(self, t, msgid, lst=LIST):
        """The post is held for the moderators because its From domain is
        not authenticated: the soarlist log line, the held_message row
        with that reason, `soarlist held`; and no member got it. Returns
        the held row (id, reason, content)."""
        self.wait_pf(r" %s: to=<%s>, relay=soarlist, .*status=sent " %
                     (t.queue_id, re.escape(lst)))
        lines = self.wait_for("soarlist-deliver's decision on %s" % msgid, lambda: self.sl_lines(
            r"soarlist-deliver\[\d+\]: list=<%s> .*decision=\S+ .*msgid=<%s>"
            % (re.escape(lst), re.escape(msgid[1:-1]))))
        self.assertEqual(len(lines), 1, self.logs())
        self.assertIn(" decision=hold ", lines[0], self.logs())
        rows = self.inst.db_rows("SELECT id, reason, content FROM held_message WHERE message_id = ?",
                            msgid[1:-1])
        self.assertEqual(len(rows), 1, "held rows of %s: %r" % (msgid, rows))
        held_id, reason, content = rows[0]
        self.assertIn("not authenticated", reason)
        r = self.inst.soarlist("held")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        entry = re.search(r"^%d  .*\n    (.*)$" % held_id, r.stdout, re.M)
        self.assertIsNotNone(entry, "held post %d not in `soarlist held`:\n%s"
                             % (held_id, r.stdout))
        self.assertIn("not authenticated", entry.group(1), r.stdout)
        self.quiesce()
        self.assertEqual([d for d in self.inst.deliveries_with(msgid) if d.sender != ""],
                         [], "a held post reached someone" + self.logs())
        return held_id, reason, content

    def trusted_results(self, content):
        """The Authentication-Results of our authserv-id in CONTENT (what
        soarlist-deliver was given), values unfolded."""
        return [v for n, v in header_block(content)
                if n.lower() == "authentication-results"
                and re.match(r"\s*%s\s*;" % re.escape(self.inst.authserv_id), v, re.I)]

    def use_authserv_id(self, authserv_id, settings):
        """soarlist's authserv_id and opendkim's AuthservID become
        AUTHSERV_ID, opendkim's extra settings SETTINGS; restored at the
        end of the test."""
        def use(aid, settings):
            self.inst.authserv_id = self.inst.dkim.authserv_id = aid
            self.inst.write_soarlist_config()
            self.inst.dkim.restart(settings)
        self.addCleanup(use, AUTHSERV_ID, RECOMMENDED)
        use(authserv_id, settings)


class T1Signed(DkimE2E):
    def test_signed_aligned_post_is_distributed(self):
        t, msgid = self.post(key="example.org")
        self.wait_dkim_result(t.queue_id, "pass")
        got = self.assert_distributed_to(t, msgid, MEMBERS)
        for d in got.values():
            self.assertEqual(d.header("From"), '"Alice Example via Members" <members-bounces@%s>'
                             % DOMAIN)
            self.assertEqual(d.header("Reply-To"), MEMBER_FROM)
            self.assertEqual(d.body(), b"Hello list\n")

    def test_subdomain_signature_is_aligned_relaxed(self):
        # d=mail.example.org for From example.org: the same organizational
        # domain (Public Suffix List)
        t, msgid = self.post(key="mail.example.org")
        self.wait_dkim_result(t.queue_id, "pass")
        self.assert_distributed_to(t, msgid, MEMBERS)


class T2Unauthenticated(DkimE2E):
    def test_unsigned_post_is_held(self):
        t, msgid = self.post()
        self.wait_dkim_result(t.queue_id, "none")
        _, reason, content = self.assert_held(t, msgid)
        self.assertEqual(self.trusted_results(content), [])
        self.assertIn("example.org", reason)

    def test_unsigned_post_to_reject_list_bounces_with_5_7_1(self):
        t, msgid = self.post(lst=REJECT_LIST)
        bounced = self.wait_pf(r" %s: to=<%s>, relay=soarlist, .*dsn=5\.7\.1, status=bounced "
                               % (t.queue_id, re.escape(REJECT_LIST)))
        self.assertEqual(len(bounced), 1, self.logs())
        self.assertIn("not authenticated", bounced[0])
        lines = self.sl_lines(r"list=<%s> .*decision=reject .*msgid=<%s>"
                              % (re.escape(REJECT_LIST), re.escape(msgid[1:-1])))
        self.assertEqual(len(lines), 1, self.logs())
        # Postfix's DSN reaches the envelope sender, with soarlist's line
        dsn = self.wait_for("the DSN to %s" % MEMBER, lambda: [
            d for d in self.inst.deliveries(MEMBER)
            if d.sender == "" and msgid.encode() in d.data])
        self.assertEqual(len(dsn), 1, dsn)
        text = dsn[0].data.decode("utf-8", "replace")
        self.assertRegex(text, r"(?i)Status: 5\.7\.1")
        self.assertIn(REJECT_LIST, text)
        self.assertIn("not authenticated", " ".join(text.split()))
        self.quiesce()
        self.assertEqual(self.inst.db_rows("SELECT count(*) FROM held_message WHERE message_id = ?",
                                      msgid[1:-1]), [(0,)])
        self.assertEqual([d for d in self.inst.deliveries_with(msgid) if d.sender != ""], [],
                         "the refused post reached someone" + self.logs())

    def test_body_changed_after_signing_is_held(self):
        t, msgid = self.post(key="example.org", body="Pay the invoice to account 1\n",
                             tamper=lambda b: b.replace(b"account 1", b"account 666"))
        self.wait_dkim_result(t.queue_id, "fail")
        _, reason, content = self.assert_held(t, msgid)
        ar = self.trusted_results(content)
        self.assertEqual(len(ar), 1, ar)
        self.assertRegex(ar[0], r"\bdkim=fail\b.*header\.d=example\.org")

    def test_unaligned_signature_is_held(self):
        # a valid signature, by a domain that is not the From domain's
        t, msgid = self.post(key="stranger.example")
        self.wait_dkim_result(t.queue_id, "pass")
        _, reason, content = self.assert_held(t, msgid)
        ar = self.trusted_results(content)
        self.assertEqual(len(ar), 1, ar)
        self.assertRegex(ar[0], r"\bdkim=pass\b.*header\.d=stranger\.example")
        self.assertIn("stranger.example", reason)


class T3Forged(DkimE2E):
    FORGED = [
        "Authentication-Results: %s; dkim=pass header.d=example.org header.i=@example.org\r\n",
        "Authentication-Results: %s; spf=pass smtp.mailfrom=alice@example.org\r\n",
        "Authentication-Results: %s;\r\n dmarc=pass header.from=example.org\r\n",
    ]

    def test_forged_results_with_our_authserv_id_are_not_trusted(self):
        # dkim=pass, spf=pass and dmarc=pass for the member's domain, with
        # OUR authserv-id, written by the sender: opendkim (RemoveARAll,
        # RemoveARFrom) strips them, soarlist sees no trusted result
        for forged in self.FORGED:
            with self.subTest(forged=forged.split(";")[1].strip()):
                t, msgid = self.post(extra=forged % AUTHSERV_ID)
                self.wait_dkim_result(t.queue_id, "none")
                _, reason, content = self.assert_held(t, msgid)
                self.assertEqual(self.trusted_results(content), [],
                                 "a forged Authentication-Results reached soarlist")
                self.assertNotIn(b"pass", b"".join(
                    v.encode() for n, v in header_block(content)
                    if n.lower() == "authentication-results"))

    def test_forged_results_beside_a_real_signature_of_another_domain(self):
        # signed by stranger.example (a real pass) plus a forged dkim=pass
        # for example.org: only opendkim's own header is left
        t, msgid = self.post(key="stranger.example", extra=self.FORGED[0] % AUTHSERV_ID)
        self.wait_dkim_result(t.queue_id, "pass")
        _, reason, content = self.assert_held(t, msgid)
        ar = self.trusted_results(content)
        self.assertEqual(len(ar), 1, ar)
        self.assertIn("header.d=stranger.example", ar[0])

    def test_results_below_postfix_received_are_not_trusted_whatever_is_stripped(self):
        # With opendkim's defaults (no RemoveARAll) an spf=pass or
        # dmarc=pass with our authserv-id written by the client survives
        # (only those with a dkim result are removed). It stands below
        # Postfix's own Received, whose "by" (myhostname, mx.e2e.test) is
        # not the authserv-id: written before the message reached the
        # verifier, so soarlist ignores it; also below a Received the
        # client wrote in the authserv-id's name, or a foreign one.
        self.use_authserv_id(AUTHSERV_ID, [])
        received = "Received: from relay.example by %s; Mon, 30 Nov 2026 10:00:00 +0000\r\n"
        cases = {
            "spf=pass": self.FORGED[1] % AUTHSERV_ID,
            "dmarc=pass": self.FORGED[2] % AUTHSERV_ID,
            "below a fake Received by the authserv-id": (received % AUTHSERV_ID
                                                         + self.FORGED[1] % AUTHSERV_ID),
            "below a foreign Received": (received % "mx.stranger.example"
                                         + self.FORGED[1] % AUTHSERV_ID),
        }
        for case, extra in cases.items():
            with self.subTest(case=case):
                t, msgid = self.post(extra=extra)
                self.wait_dkim_result(t.queue_id, "none")
                _, reason, content = self.assert_held(t, msgid)
                # it did reach soarlist, where it was ignored
                self.assertEqual(len(self.trusted_results(content)), 1, content)
                self.assertIn("below a Received of another host", reason)

    def test_authserv_id_equal_to_myhostname(self):
        # AuthservID left at what opendkim takes by default, the MTA's
        # name (myhostname): Postfix's Received is then this host's, and
        # only RemoveARAll keeps a client's spf=pass with that id from
        # being trusted; opendkim's own result still authenticates.
        myhostname = "mx.e2e.test"
        self.use_authserv_id(myhostname, [("RemoveARAll", "yes"),
                                          ("RemoveARFrom", myhostname)])
        t, msgid = self.post(key="example.org")
        self.wait_dkim_result(t.queue_id, "pass")
        self.assert_distributed_to(t, msgid, MEMBERS)
        t, msgid = self.post(extra=self.FORGED[1] % myhostname)
        _, reason, content = self.assert_held(t, msgid)
        self.assertEqual(self.trusted_results(content), [], content)


class T4Unaffected(DkimE2E):
    def test_list_with_require_auth_none_distributes_unsigned_post(self):
        t, msgid = self.post(lst=OPEN_LIST)
        self.wait_dkim_result(t.queue_id, "none")
        got = self.assert_one_copy_each(self.wait_delivered(msgid, ["ivan@example.org"]),
                                        ["ivan@example.org"])
        self.assert_envelope(got, lst="instructors")
        self.assert_distributed(t, msgid, "instructors", ["ivan@example.org"])
        self.assertEqual(self.sl_lines(r"not authenticated"), [], self.logs())

    def test_bypass_list_distributes_unsigned_post_of_a_stranger(self):
        stranger = "x@stranger.example"
        t, msgid = self.post(lst=BYPASS_LIST, sender=stranger,
                             from_="Stranger <%s>" % stranger)
        got = self.assert_one_copy_each(self.wait_delivered(msgid, ["tom@example.net"]),
                                        ["tom@example.net"])
        self.assert_envelope(got, lst="treasurer")
        self.assert_distributed(t, msgid, "treasurer", ["tom@example.net"])

    def test_app_sender_from_app_networks_is_distributed_unsigned(self):
        app = "noreply@" + DOMAIN
        app_from = "Manage2Soar <%s>" % app
        t, msgid = self.post(sender=app, from_=app_from, source=postfix_env.APP_SOURCE)
        self.wait_dkim_result(t.queue_id, "none")
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        for d in got.values():
            self.assertEqual(d.header("From"), app_from)  # not rewritten
        self.assert_distributed(t, msgid, "members", MEMBERS)


class T5MilterDown(DkimE2E):
    def test_dead_milter_defers_instead_of_passing_mail_unverified(self):
        # milter_default_action = tempfail: without the verifier, smtpd
        # answers 4xx; nothing is queued, nothing is distributed
        def revive():
            if not self.inst.dkim.alive():
                self.inst.dkim.start()
        self.inst.dkim.stop_daemon()
        self.addCleanup(revive)
        msgid = tp.new_msgid()
        t = self.send(MEMBER, [LIST], tp.message(from_=MEMBER_FROM, msgid=msgid))
        self.assertEqual((t.mail.code, t.mail.text[:6]), (451, "4.7.1 "), t.mail)
        self.assertEqual((t.rcpt, t.data, t.queue_id), ({}, None, None))
        self.assertEqual(len(self.wait_pf(
            r"warning: connect to Milter service inet:127\.0\.0\.1:%d: Connection refused"
            % self.inst.dkim.port)), 1, self.logs())
        self.assertEqual(len(self.wait_pf(
            r"NOQUEUE: milter-reject: MAIL from \S+: 451 4\.7\.1 .*from=<%s>"
            % re.escape(MEMBER))), 1, self.logs())
        self.quiesce()
        self.assertEqual(self.inst.deliveries_with(msgid), [])
        # the client tries again once the verifier is back
        revive()
        t, msgid = self.post(key="example.org")
        self.wait_dkim_result(t.queue_id, "pass")
        self.assert_distributed_to(t, msgid, MEMBERS)


class T6LocalSocket(DkimE2E):
    def test_local_socket_in_the_queue_directory(self):
        # Socket local:QUEUE/opendkim/opendkim.sock, UMask 007, UserID
        # opendkim, the directory opendkim:postfix 2750;
        # smtpd_milters = unix:opendkim/opendkim.sock
        self.addCleanup(self.inst.use_local_socket, False)
        self.inst.use_local_socket(True)
        st = os.stat(self.inst.dkim.socket_path)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, postfix_env.MAIL_OWNER)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o770, oct(st.st_mode))
        t, msgid = self.post(key="example.org")
        self.wait_dkim_result(t.queue_id, "pass")
        self.assert_distributed_to(t, msgid, MEMBERS)
        t, msgid = self.post()
        self.wait_dkim_result(t.queue_id, "none")
        self.assert_held(t, msgid)


class T7SigningOutbound(DkimE2E):
    """The same opendkim in Mode sv, also in non_smtpd_milters with a
    SigningTable for the club domain, as the README wires it: a member's
    post is verified on the way in, and each list copy, reinjected through
    sendmail (pickup: "internal", 127.0.0.1), is signed by the club domain,
    aligned with its From (LIST-bounces@DOMAIN)."""

    SELECTOR = "lists"

    def setUp(self):
        super().setUp()
        keydir = os.path.join(self.inst.root, "keys")
        key = self.inst.keys.get(DOMAIN) or opendkim_env.TestKey.generate(
            keydir, DOMAIN, self.SELECTOR)
        self.inst.keys[DOMAIN] = key
        dkim = self.inst.dkim

        def restore():
            dkim.mode, dkim.signing = "v", []
            dkim.keys = [k for k in dkim.keys if k is not key]
            self.inst.set_main_cf("non_smtpd_milters =")
            dkim.restart()
        self.addCleanup(restore)
        dkim.mode, dkim.signing = "sv", [key]
        dkim.keys = dkim.keys + [key]
        dkim.restart()
        self.inst.set_main_cf("non_smtpd_milters = %s" % dkim.milter)
        self.wait_for("a locally submitted message signed (non_smtpd_milters after the "
                      "reload)", self.local_mail_is_signed)

    def local_mail_is_signed(self):
        """Submit a message from the club domain with sendmail and wait for
        its delivery; whether it came out signed."""
        msgid = tp.new_msgid()
        to = "probe@example.net"
        data = tp.message(from_="Probe <probe@%s>" % DOMAIN, to=to, msgid=msgid)
        postfix_env.run([postfix_env.SENDMAIL, "-C", self.inst.etc, "-i",
                         "-f", "probe@" + DOMAIN, "--", to], input=data.replace("\r\n", "\n"))
        got = self.inst.wait_for("the probe %s delivered" % msgid,
                                 lambda: self.inst.deliveries_with(msgid))
        return any(d.header_values("DKIM-Signature") for d in got)

    def test_copies_are_signed_by_the_club_domain(self):
        t, msgid = self.post(key="example.org")
        self.wait_dkim_result(t.queue_id, "pass")
        got = self.assert_one_copy_each(self.wait_delivered(msgid, MEMBERS), MEMBERS)
        self.assert_distributed(t, msgid, "members", MEMBERS)
        key = self.inst.keys[DOMAIN]
        for d in got.values():
            sigs = d.header_values("DKIM-Signature")
            self.assertEqual(len(sigs), 1, sigs)
            self.assertRegex(sigs[0], r"\bd=%s;" % re.escape(DOMAIN))
            self.assertRegex(sigs[0], r"\bs=%s;" % self.SELECTOR)
            self.assertEqual(d.header("From"),
                             '"Alice Example via Members" <members-bounces@%s>' % DOMAIN)
            # what a member's provider finds: a valid signature of the
            # From domain (DMARC-aligned)
            ar = opendkim_env.verify(d.data, [key])
            self.assertRegex(ar or "", r"\bdkim=pass\b.* header\.d=%s " % re.escape(DOMAIN),
                             d.path)


if __name__ == "__main__":
    tap.main()
