"""test_header_invariant.py - DESIGN.md "Header policy", the invariant: every
header line that leaves is a header field or its continuation, every address
written into a header has passed member-address validation, and nothing a
sender writes becomes a header of its own or pushes ours into the body.

A table of hostile From/Reply-To/Sender/Subject/Message-ID values goes
through every list setting that copies them (reply_to = list/sender,
from_rewrite = no, footer and subject prefix, owner forwards, hold and
reject notices); every message handed to sendmail is parsed back (Python
email, policy.default) and checked line by line and header by header.
"""
import email.policy
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

LIST = "members@ssc.manage2soar.com"
BOARD = "board@ssc.manage2soar.com"
STRANGER = "x@stranger.example"
FOLD_LITERAL = b"m@[a\n X-Injected: yes\n b]"

# name -> extra header lines (bytes); they replace the post's own From /
# Subject / Message-ID where they name one
HOSTILE = {
    "from-domain-literal-folded": [b"From: Mallory <" + FOLD_LITERAL + b">"],
    "from-bare-address-literal": [b"From: " + FOLD_LITERAL],
    "from-encoded-crlf": [b"From: =?utf-8?q?Eve=0D=0AX-Injected=3A_yes?= <eve@example.org>"],
    "from-encoded-crlf-b64": [b"From: =?utf-8?b?RXZlDQpYLUluamVjdGVkOiB5ZXMNCg0K?= <eve@example.org>"],
    "from-nul": [b"From: Eve\x00X-Injected: yes <eve@example.org>"],
    "from-bare-cr": [b"From: Eve <eve@example.org>\rX-Injected: yes"],
    "from-8bit": ["From: J\u00fcrgen Gro\u00df <j\u00fc@ex\u00e4mple.org>".encode()],
    "from-8bit-name": ["From: J\u00fcrgen \"Gro\u00df\" <alice@example.org>".encode()],
    "from-group": [b"From: Friends: a@example.org, b@[1.2.3.4\n X-Injected: yes\n ];"],
    "from-two-addresses": [b"From: a@example.org, Mallory <" + FOLD_LITERAL + b">"],
    "from-twice": [b"From: Alice <alice@example.org>",
                   b"From: Mallory <" + FOLD_LITERAL + b">"],
    "from-10k-name": [b"From: " + b"A" * 10240 + b" <alice@example.org>"],
    "from-10k-name-spaces": [b"From: \"" + b"Ab " * 3400 + b"\" <alice@example.org>"],
    "from-quoted-colon": [b"From: \"Eve\n X-Injected: yes\" <eve@example.org>"],
    "reply-to-literal": [b"Reply-To: <r@[a\n X-Injected: yes\n b]>"],
    "reply-to-encoded-crlf": [b"Reply-To: =?utf-8?q?R=0D=0AX-Injected=3A_1?= <r@example.org>"],
    "cc-literal": [b"Cc: <c@[a\n X-Injected: yes\n b]>, ok@example.org"],
    "sender-literal": [b"Sender: <s@[a\n X-Injected: yes\n b]>"],
    "subject-encoded-crlf": [b"Subject: =?utf-8?q?hi=0D=0AX-Injected=3A_yes?="],
    "subject-encoded-lf-lf": [b"Subject: =?utf-8?q?hi=0A=0AX-Injected=3A_yes?="],
    "subject-bare-cr": [b"Subject: hi\rX-Injected: yes"],
    "subject-nul": [b"Subject: hi\x00X-Injected: yes"],
    "subject-8bit": ["Subject: Gr\u00fc\u00dfe \u2603".encode()],
    "subject-10k": [b"Subject: " + b"s" * 10240],
    "subject-blank-continuation": [b"Subject: hi\n \n X-Injected: yes"],
    "message-id-folded": [b"Message-ID: <a\n X-Injected: yes\n b@example.org>"],
    "message-id-bare-cr": [b"Message-ID: <a@example.org>\rX-Injected: yes"],
    "message-id-encoded": [b"Message-ID: =?utf-8?q?=3Ca=0D=0AX-Injected=3A_1=3E?="],
    # found by fuzz-message: obsolete white space before the colon, which
    # GMime accepts and wrote back as it came (a line the check refuses)
    "obs-space-before-colon": [b"Date : Tue, 24 Nov 2026 10:00:00 +0000"],
    # found by fuzz-message: a bare CR in an address header of an owner
    # forward was flattened with its invalid address kept
    "cc-literal-bare-cr": [b"Cc: <c@[a\n X-Injected: yes\r X: 1\n b]>, ok@example.org"],
}

# headers soarlist may add to a post or a notice
OURS = {"from", "reply-to", "cc", "to", "subject", "date", "message-id",
        "list-id", "list-post", "list-help", "list-owner", "list-unsubscribe",
        "precedence", "x-loop", "x-auto-response-suppress", "mime-version",
        "content-type", "content-transfer-encoding", "auto-submitted",
        "x-soarlist-proof", "x-soarlist-dev-redirect"}
HEADER_LINE = re.compile(rb"^[!-9;-~]+:")
# address_normalize(): no specials or white space in the local part, an
# LDH domain (no literal)
ADDR = re.compile(r"^[^\s\x00-\x1f\x7f\",<>()\[\]\\;:@]+@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?"
                  r"(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$")
_n = [0]


def hostile_post(lines, to=LIST, body=b"Hello list\n",
                 from_=b"Alice Example <alice@example.org>"):
    """A post whose header block holds LINES, plus From/To/Subject/
    Message-ID/Date where LINES do not name them."""
    _n[0] += 1
    names = {l.split(b":", 1)[0].strip().lower() for l in lines}
    head = list(lines)
    defaults = [(b"from", b"From: " + from_),
                (b"to", b"To: " + to.encode()),
                (b"subject", b"Subject: Hello"),
                (b"message-id", b"Message-ID: <hi%d.%d@test.example>" % (os.getpid(), _n[0])),
                (b"date", b"Date: Tue, 24 Nov 2026 10:00:00 +0000")]
    for name, line in defaults:
        if name not in names:
            head.append(line)
    return b"\n".join(head) + b"\n\n" + body


def input_names(msg):
    """Names of the header fields the input starts (not continuations)."""
    head = harness.split_message(msg)[0]
    out = set()
    for line in re.split(rb"\r?\n|\r", head):
        if line[:1] not in (b" ", b"\t") and b":" in line:
            out.add(line.split(b":", 1)[0].decode("latin-1").lower())
    return out


class Invariant(harness.EnvTestCase):
    lists = {"ssc/members": {"posting": "anyone"},
             "ssc/board": {"nonmember_action": "hold", "owners": "chair@example.org"}}

    def use(self, **settings):
        members = {"posting": "anyone"}
        members.update(settings)
        self.env.write_config(lists={"ssc/members": members,
                                     "ssc/board": self.lists["ssc/board"]})

    def check_block(self, data, justified, ours_written=("reply-to", "cc")):
        """The line check, then header by header with policy.default."""
        head, body = harness.split_message(data)
        for line in head.split(b"\n"):
            self.assertNotIn(b"\r", line, head)
            self.assertNotIn(b"\0", line, head)
            self.assertTrue(HEADER_LINE.match(line) or
                            (line[:1] in (b" ", b"\t") and line.strip()),
                            "neither header nor continuation: %r" % line)
        for line in head.split(b"\n"):
            if line[:1] not in (b" ", b"\t"):
                name = line.split(b":", 1)[0].decode("ascii").lower()
                self.assertIn(name, justified | OURS,
                              "header %r the input did not justify" % name)
        msg = email.message_from_bytes(data, policy=email.policy.default)
        self.assertIsNone(msg.get("X-Injected"))
        self.assertEqual(msg.defects, [])
        for name in msg.keys():
            if name.lower() not in ours_written:
                # the sender's own header, passed on: it parses, though
                # Python refuses an encoded CR/LF in a display name
                try:
                    str(msg[name])
                except ValueError as e:
                    self.assertIn("CR or LF", str(e))
                continue
            value = msg[name]
            if True:
                self.assertEqual(msg.get_all(name).__len__(), 1, name)
                for a in value.addresses:
                    self.assertRegex(a.addr_spec, ADDR, "%s: %r" % (name, value))
                self.assertLessEqual(max(len(l) for l in str(value).split("\n")), 998)
        return msg, body

    def check_post(self, data, justified, from_rewritten=True):
        written = ("reply-to", "cc") + (("from",) if from_rewritten else ())
        msg, body = self.check_block(data, justified, written)
        for h in ("List-Id", "List-Post", "Precedence", "X-Loop"):
            self.assertEqual(len(msg.get_all(h) or []), 1, h)
        self.assertNotIn(b"List-Id:", body)
        self.assertNotIn(b"X-Injected", body.split(b"\n")[0])
        if from_rewritten:
            self.assertEqual(len(msg.get_all("From")), 1)
            self.assertEqual(msg["From"].addresses[0].addr_spec,
                             "members-bounces@ssc.manage2soar.com")
        return msg, body

    def distribute_all(self, from_rewritten=True):
        for name, lines in HOSTILE.items():
            with self.subTest(name):
                m = hostile_post(lines)
                r = self.env.deliver(m, LIST)
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertEqual(len(r.captures), 1, r.stderr)
                msg, body = self.check_post(r.capture.data, input_names(m),
                                            from_rewritten)
                yield name, msg, body

    def test_reply_to_list(self):
        self.use(reply_to="list")
        for name, msg, _ in self.distribute_all():
            self.assertEqual(str(msg["Reply-To"]), LIST)
            if name == "from-domain-literal-folded":
                # the finding of issue 9: the author's address is not valid,
                # so it is left out of Cc rather than written raw
                self.assertIsNone(msg["Cc"])

    def test_reply_to_sender(self):
        self.use(reply_to="sender")
        for name, msg, _ in self.distribute_all():
            if name in ("from-domain-literal-folded", "from-bare-address-literal"):
                self.assertIsNone(msg["Reply-To"])
            if name == "from-two-addresses":
                self.assertEqual([a.addr_spec for a in msg["Reply-To"].addresses],
                                 ["a@example.org"])

    def test_from_rewrite_no(self):
        self.use(from_rewrite="no", reply_to="list")
        for _ in self.distribute_all(from_rewritten=False):
            pass

    def test_footer_and_prefix(self):
        self.use(footer="--\\nMember of {list_name}", subject_prefix="[SSC]",
                 reply_to="list")
        for name, msg, body in self.distribute_all():
            self.assertTrue(str(msg["Subject"]).startswith("[SSC]"), msg["Subject"])
            self.assertIn("Member of members", msg.get_content()
                          if not msg.is_multipart() else body.decode("utf-8", "replace"))

    def test_owner_forward(self):
        for name, lines in HOSTILE.items():
            with self.subTest(name):
                m = hostile_post(lines, to="members-owner@ssc.manage2soar.com")
                r = self.env.deliver(m, "members-owner@ssc.manage2soar.com")
                self.assertEqual(r.rc, 0, r.stderr)
                for c in r.captures:
                    self.check_block(c.data, input_names(m), ())

    def test_hold_and_reject_notices(self):
        held, last = 0, 0
        for name, lines in HOSTILE.items():
            with self.subTest(name):
                m = hostile_post(lines, to=BOARD, from_=STRANGER.encode())
                r = self.env.deliver(m, BOARD, sender=STRANGER)
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertTrue(r.captures, "nothing sent")
                rows = self.env.query("SELECT id FROM held_message WHERE id > ?"
                                      " ORDER BY id DESC", last)
                if not rows:
                    # a From naming a board member (alice): distributed
                    for c in r.captures:
                        self.check_block(c.data, input_names(m), ("reply-to", "cc"))
                    continue
                held, last = held + 1, rows[0][0]
                for c in r.captures:
                    msg, _ = self.check_block(c.data, set(), ("reply-to", "to"))
                    self.assertTrue(str(msg["Subject"]).startswith("Held post"))
                    self.assertLessEqual(len(str(msg["Subject"])), 998)
                r = self.env.soarlist("reject", str(rows[0][0]), "--reason",
                                      "not\nX-Injected: yes")
                self.assertEqual(r.rc, 0, r.stderr)
                for c in self.env.captured():
                    self.check_block(c.data, set(), ("to",))
        self.assertGreater(held, 20)

    def test_hostile_envelope_sender_gets_no_notice_header(self):
        for sender in ("x@[a\nX-Injected: yes\nb]", "a\nX-Injected: yes@example.org"):
            with self.subTest(sender):
                m = hostile_post([], to=BOARD, from_=STRANGER.encode())
                r = self.env.deliver(m, BOARD, sender=sender)
                self.assertIn(r.rc, (0, 64, 65, 75), r.stderr)
                for c in r.captures:
                    self.check_block(c.data, set(), ("reply-to", "to"))
                    self.assertNotIn("\n", " ".join(c.recipients))
                rows = self.env.query("SELECT id FROM held_message ORDER BY id DESC")
                if rows:
                    r = self.env.soarlist("reject", str(rows[0][0]))
                    for c in self.env.captured():
                        self.check_block(c.data, set(), ("to",))
                        self.assertNotIn(sender, c.recipients)


if __name__ == "__main__":
    tap.main()
