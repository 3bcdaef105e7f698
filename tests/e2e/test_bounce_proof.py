"""test_bounce_proof.py - bounces that cannot be forged, through a real,
private Postfix on 127.0.0.1 (the instance and the scenario helpers of
test_postfix.py, started again for this file).

A post to board@ reaches its members; Postfix's own DSN for the member
whose mailbox does not exist comes back to the VERP address with the
returned message, whose X-Soarlist-Proof proves it answers that post: it
scores. A stranger who knows a member's address, the VERP form and even
the post's Message-ID sends DSNs for that member over SMTP, more than
bounce_threshold of them: soarlist logs each as bounce-unverified, shows
the member as unverified in `soarlist bounces`, and the member's score
stays at zero; the next post still reaches the member.

VERP where it pays (T2Verp, verp = probe | always): the addresses at
sink.e2e.test go by SMTP to a sink in this process that records each
transaction (MAIL FROM, its RCPTs) and refuses one member's RCPT with 550
5.1.1. A plain post to 20 of them is one SMTP transaction, with verp =
always 20. With probe, the refused member's bounce (one DSN of Postfix to
the plain bounce address, read from its Final-Recipient) does not
disable: the next post goes to that member in a VERP'd transaction of its
own beside one plain transaction for the others, its bounce comes back to
the VERP address and disables; the post after it is one transaction to
the 19 others.
"""
import os
import re
import socketserver
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import tap  # noqa: E402
import postfix_env  # noqa: E402
import test_postfix as tp  # noqa: E402
from postfix_env import NOSUCH  # noqa: E402

BOARD = "board@ssc.manage2soar.com"
VICTIM = "dora@example.org"
VERP = "board-bounces+dora=example.org@ssc.manage2soar.com"
FORGERIES = 6  # more than the default bounce_threshold (5)


SINK_DOMAIN = "sink.e2e.test"
SINKERS = ["m%02d@%s" % (i, SINK_DOMAIN) for i in range(1, 21)]
REFUSED = "m05@" + SINK_DOMAIN   # the sink says 550 5.1.1 to it
SLIST = "sinkers@ssc.manage2soar.com"
PLAIN = "sinkers-bounces@ssc.manage2soar.com"


def verp_of(address):
    return "sinkers-bounces+%s@ssc.manage2soar.com" % address.replace("@", "=")


class SinkHandler(socketserver.StreamRequestHandler):
    """Just enough ESMTP for Postfix's smtp(8): each MAIL starts a
    transaction, recorded with its RCPTs (the refused ones too)."""

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")

    def handle(self):
        sink = self.server.sink
        self.reply("220 %s ESMTP test sink" % SINK_DOMAIN)
        t = None
        for line in self.rfile:
            cmd = line.rstrip(b"\r\n").decode("utf-8", "replace")
            verb = cmd[:4].upper()
            arg = re.search(r"<([^>]*)>", cmd)
            if verb == "EHLO":
                self.reply("250-%s\r\n250 8BITMIME" % SINK_DOMAIN)
            elif verb == "HELO" or verb == "NOOP" or verb == "RSET":
                self.reply("250 2.0.0 Ok")
            elif verb == "MAIL":
                t = {"from": arg.group(1), "rcpt": [], "data": False}
                with sink.lock:
                    sink.transactions.append(t)
                self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                t["rcpt"].append(arg.group(1).lower())
                if arg.group(1).lower() in sink.refuse:
                    self.reply("550 5.1.1 <%s>: Recipient address rejected: User unknown"
                               % arg.group(1))
                else:
                    self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                for data in self.rfile:
                    if data in (b".\r\n", b".\n"):
                        break
                t["data"] = True
                self.reply("250 2.0.0 Ok: queued")
            elif verb == "QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")


class Sink:
    def __init__(self):
        self.lock = threading.Lock()
        self.transactions = []
        self.refuse = set()
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SinkHandler)
        self.server.daemon_threads = True
        self.server.sink = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def take(self):
        """The transactions recorded so far, as (MAIL FROM, sorted RCPTs),
        sorted; the record is emptied."""
        with self.lock:
            out, self.transactions = self.transactions, []
        return sorted((t["from"], sorted(t["rcpt"])) for t in out)

    def count(self):
        with self.lock:
            return len(self.transactions)


SINK = None


class VerpInstance(postfix_env.Instance):
    """postfix_env's instance with SINK_DOMAIN routed to the sink by SMTP
    (smtp(8), one transaction per destination up to its recipient limit)."""

    def main_cf(self):
        text = super().main_cf()
        path = os.path.join(self.etc, "capture_transport")
        with open(path) as f:
            rest = f.read()
        self._write(path, "/@%s$/ smtp:[127.0.0.1]:%d\n" % (re.escape(SINK_DOMAIN), SINK.port)
                    + rest)
        return text

    def master_cf(self):
        return super().master_cf() + """\
# test_bounce_proof.py: the SMTP client that delivers to the sink
smtp      unix  -       -       n       -       -       smtp
"""


def setUpModule():
    global SINK
    SINK = Sink()
    tp.SHARED.factory = VerpInstance
    tp.setUpModule()


def tearDownModule():
    tp.tearDownModule()
    if SINK is not None:
        SINK.server.shutdown()


def forged_dsn(msgid, n, token=None):
    """A Postfix-style DSN for VICTIM as a stranger writes it: the
    returned headers quote the post's Message-ID, with no proof or a
    made-up one."""
    b = "forged.%d/mx.stranger.example" % n
    proof = "X-Soarlist-Proof: %s\r\n" % token if token else ""
    return ("From: MAILER-DAEMON@mx.stranger.example (Mail Delivery System)\r\n"
            "To: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n"
            "Auto-Submitted: auto-replied\r\n"
            "Message-ID: <forged.%d.%d@mx.stranger.example>\r\n"
            "Date: Tue, 24 Nov 2026 10:00:01 +0000\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=delivery-status;\r\n"
            "\tboundary=\"%s\"\r\n\r\n"
            "--%s\r\nContent-Type: text/plain\r\n\r\n"
            "<%s>: host mx.example.org said: 550 5.1.1 User unknown\r\n\r\n"
            "--%s\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.stranger.example\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nOriginal-Recipient: rfc822;%s\r\n"
            "Action: failed\r\nStatus: 5.1.1\r\n"
            "Diagnostic-Code: smtp; 550 5.1.1 <%s>: User unknown\r\n\r\n"
            "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            "From: \"Bob via Board\" <board-bounces@ssc.manage2soar.com>\r\n"
            "To: %s\r\nSubject: Hello\r\nMessage-ID: %s\r\n%s"
            "List-Id: <board.ssc.manage2soar.com>\r\n\r\n--%s--\r\n"
            % (VERP, os.getpid(), n, b, b, VICTIM, b, VICTIM, VICTIM, VICTIM, b,
               BOARD, msgid, proof, b))


class T1Proof(tp.E2E):
    def test_forged_verp_dsn_from_a_stranger_leaves_the_score_at_zero(self):
        msgid = tp.new_msgid()
        self.post_ok("bob@example.com", BOARD,
                     tp.message(from_="Bob <bob@example.com>", to=BOARD, msgid=msgid))
        got = self.wait_delivered(msgid, ["bob@example.com", VICTIM])
        token = got[VICTIM][0].header("X-Soarlist-Proof")
        self.assertRegex(token or "", r"^[0-9a-f]{32}$", "the copy's proof")
        # the genuine bounce of the address that does not exist scores
        self.wait_for("decision=bounce-scored", lambda: self.sl_lines(
            r"decision=bounce-scored .*reason=%s 5\.1\.1" % re.escape(NOSUCH)))
        # a stranger's DSNs for dora, from outside, to her VERP address
        for n in range(FORGERIES):
            made_up = "0123456789abcdef" * 2 if n % 2 else None
            t = self.send("", [VERP], forged_dsn(msgid, n, made_up))
            self.assertEqual(t.rcpt[VERP].code, 250, t.rcpt[VERP])
            self.assertEqual(t.data.code, 250, t.data)
        lines = self.wait_for("%d bounce-unverified lines" % FORGERIES, lambda: (
            lambda ls: ls if len(ls) >= FORGERIES else None)(self.sl_lines(
                r"soarlist-deliver\[\d+\]: list=<%s> sender=<> .*decision=bounce-unverified "
                r".*reason=%s 5\.1\.1 unverified" % (re.escape(BOARD), re.escape(VICTIM)))))
        self.assertEqual(len(lines), FORGERIES, self.logs())
        self.quiesce()
        self.assertEqual(self.sl_lines(r"decision=bounce-(scored|disabled) .*%s"
                                       % re.escape(VICTIM)), [], self.logs())
        self.assertEqual(self.inst.db_rows("SELECT count(*) FROM bounce_score WHERE address = ?",
                                      VICTIM), [(0,)])
        self.assertEqual(self.inst.db_rows("SELECT count(*) FROM disabled_address"), [(0,)])
        r = self.inst.soarlist("bounces")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Unverified bounces", r.stdout)
        mine = [l for l in r.stdout.splitlines() if VICTIM in l]
        self.assertEqual(len(mine), 1, r.stdout)
        self.assertIn("unverified %d" % FORGERIES, mine[0])
        self.assertIn(NOSUCH, r.stdout)
        # she still gets the list's mail
        msgid2 = tp.new_msgid()
        self.post_ok("bob@example.com", BOARD,
                     tp.message(from_="Bob <bob@example.com>", to=BOARD, msgid=msgid2))
        self.wait_delivered(msgid2, ["bob@example.com", VICTIM])


class T2Verp(tp.E2E):
    def setUp(self):
        super().setUp()
        base = postfix_env.ssc_api()
        api = dict(base, lists=dict(base["lists"], sinkers=SINKERS),
                   whitelist=base["whitelist"] + SINKERS)
        self.inst.write_api("ssc", api)
        self.addCleanup(self.restore, base)
        self.configure("")
        SINK.take()
        SINK.refuse = set()

    def restore(self, base):
        SINK.refuse = set()
        self.inst.write_soarlist_config()
        self.inst.write_api("ssc", base)
        self.inst.soarlist("sync", "--force")

    def configure(self, extra):
        self.inst.write_soarlist_config(extra)
        r = self.inst.soarlist("sync", "--force")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def post(self, want_transactions):
        """Post to SLIST; wait until Postfix has finished (its DSNs too)
        and the sink saw WANT_TRANSACTIONS; return the sink's record."""
        msgid = tp.new_msgid()
        self.post_ok(SINKERS[0], SLIST, tp.message(from_="M1 <%s>" % SINKERS[0], to=SLIST,
                                                  msgid=msgid))
        self.wait_for("%d SMTP transactions at the sink" % want_transactions,
                      lambda: SINK.count() >= want_transactions)
        self.quiesce()
        return SINK.take()

    def test_plain_post_is_one_transaction_verp_always_one_per_member(self):
        got = self.post(1)
        self.assertEqual(got, [(PLAIN, SINKERS)], self.logs())
        self.configure("verp = always")
        got = self.post(len(SINKERS))
        self.assertEqual(got, sorted((verp_of(a), [a]) for a in SINKERS), self.logs())
        print("# a post to %d members at one destination: 1 SMTP transaction with the "
              "default verp (probe), %d with verp = always" % (len(SINKERS), len(got)),
              flush=True)

    def test_probe_confirms_before_disabling(self):
        self.configure("bounce_threshold = 1")
        SINK.refuse = {REFUSED}
        # 1: one plain transaction; Postfix's one DSN to the plain bounce
        # address names the refused member: scored, not disabled
        self.assertEqual(self.post(1), [(PLAIN, SINKERS)], self.logs())
        self.wait_for("the unconfirmed bounce", lambda: self.sl_lines(
            r"list=<%s> sender=<> .*decision=bounce-scored .*%s 5\.1\.1 scored 1 of 1, "
            r"unconfirmed: its next post is a VERP probe" % (re.escape(SLIST), re.escape(REFUSED))))
        self.assertEqual(self.inst.db_rows("SELECT count(*) FROM disabled_address"), [(0,)])
        r = self.inst.soarlist("bounces")
        self.assertIn("probe pending", [l for l in r.stdout.splitlines() if REFUSED in l][0],
                      r.stdout)
        # 2: the probe, a VERP'd transaction of its own, beside the plain
        # one for the others; its bounce comes to the VERP address
        others = [a for a in SINKERS if a != REFUSED]
        got = self.post(2)
        self.assertEqual(got, sorted([(PLAIN, others), (verp_of(REFUSED), [REFUSED])]),
                         self.logs())
        self.wait_for("the confirmed bounce", lambda: self.sl_lines(
            r"list=<%s> sender=<> .*decision=bounce-disabled .*%s 5\.1\.1 disabled after 1 "
            r"bounces \(confirmed by a VERP probe\)" % (re.escape(SLIST), re.escape(REFUSED))))
        self.assertTrue(self.pf_lines(r"to=<%s>, .*status=sent" % re.escape(verp_of(REFUSED))),
                        self.logs())
        self.assertEqual(self.inst.db_rows("SELECT address FROM disabled_address"),
                         [(REFUSED,)])
        # 3: one plain transaction to the others
        self.assertEqual(self.post(1), [(PLAIN, others)], self.logs())
        self.assertEqual(self.inst.soarlist("bounces", "reset", REFUSED).returncode, 0)


if __name__ == "__main__":
    tap.main()
