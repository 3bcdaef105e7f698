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
"""
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "blackbox"))
import tap  # noqa: E402
import test_postfix as tp  # noqa: E402
from postfix_env import NOSUCH  # noqa: E402

BOARD = "board@ssc.manage2soar.com"
VICTIM = "dora@example.org"
VERP = "board-bounces+dora=example.org@ssc.manage2soar.com"
FORGERIES = 6  # more than the default bounce_threshold (5)


def setUpModule():
    tp.setUpModule()


def tearDownModule():
    tp.tearDownModule()


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


if __name__ == "__main__":
    tap.main()
