"""test_printable.py - every value from a message or the M2S API that
reaches a log line, a stored field or a terminal is one printable line
(printable.c: C0 and DEL as \\xHH, C1 as \\u00HH). A folded Message-ID
writes no raw newline into log_file, recent_message or held_message; an
API address with a C1 control is invalid and dropped, so `soarlist
members` never prints it."""
import copy
import os
import re
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

LIST = "members@ssc.manage2soar.com"
BOARD = "board@ssc.manage2soar.com"
STRANGER = "x@stranger.example"
FOLDED_ID = "<a\n X-Forged: yes\n\tb@x>"
FOLDED_SHOWN = "a X-Forged: yes\\x09b@x"
# a C0 escape, a DEL, NEL (U+0085) and CSI (U+009B): none may reach a
# terminal or a log raw
HOSTILE = "\x1b[2J\x7f\u0085\u009b31m"
# one log line: a timestamp, the program, then printable text only
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d soarlist(-deliver|/policy)?\[\d+\]: ")


def unprintable(text):
    """The characters of TEXT no log, field or terminal may hold raw."""
    return [c for c in text if ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f]


class Printable(harness.EnvTestCase):
    lists = {"ssc/board": {"nonmember_action": "hold", "owners": "chair@example.org"}}

    def assertLogClean(self):
        with open(self.env.log, "rb") as f:
            data = f.read()
        text = data.decode("utf-8")  # valid UTF-8: bad bytes are escaped
        self.assertTrue(text.endswith("\n"))
        for line in text[:-1].split("\n"):
            self.assertRegex(line, LOG_LINE)
            self.assertEqual(unprintable(line), [], line)

    def test_folded_message_id_in_the_log(self):
        r = self.env.deliver(harness.post(msgid=FOLDED_ID), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertLogClean()
        last = self.env.deliver_log_lines()[-1]
        self.assertIn(" decision=distribute ", last)
        self.assertIn(" msgid=<%s> " % FOLDED_SHOWN, last)
        self.assertFalse(any(l.startswith(" X-Forged") or "X-Forged" in l.split(":")[0]
                             for l in self.env.log_lines()))

    def test_folded_message_id_stored_as_one_line(self):
        r = self.env.deliver(harness.post(msgid=FOLDED_ID), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        ids = [row[0] for row in self.env.query("SELECT message_id FROM recent_message")]
        self.assertEqual(ids, [FOLDED_SHOWN])
        # the same post again is still known as a duplicate
        r = self.env.deliver(harness.post(msgid=FOLDED_ID), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.captures, [])
        self.assertIn("decision=drop-duplicate", self.env.deliver_log_lines()[-1])

    def test_control_characters_in_a_message_id(self):
        r = self.env.deliver(harness.post(msgid="<b%s.2@x>" % HOSTILE), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertLogClean()
        ids = [row[0] for row in self.env.query("SELECT message_id FROM recent_message")]
        self.assertEqual(ids, ["b\\x1b[2J\\x7f\\u0085\\u009b31m.2@x"])

    def test_held_post_fields_and_the_held_listing(self):
        subject = "=?utf-8?q?Hi=0D=0AX-Evil=3A_1_=1B[2J_=C2=85_=C2=9B31m?="
        msg = harness.post(from_="Xavier <%s>" % STRANGER, to=BOARD, subject=subject,
                           msgid=FOLDED_ID)
        r = self.env.deliver(msg, BOARD, sender=STRANGER)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("decision=hold", self.env.deliver_log_lines()[-1])
        self.assertLogClean()
        rows = self.env.query("SELECT sender, author, subject, message_id, reason "
                              "FROM held_message")
        self.assertEqual(len(rows), 1)
        for value in rows[0]:
            self.assertEqual(unprintable(value or ""), [], rows[0])
        self.assertEqual(rows[0][3], FOLDED_SHOWN)
        self.assertIn("\\x0d\\x0aX-Evil: 1 \\x1b[2J \\u0085 \\u009b31m", rows[0][2])
        out = self.env.soarlist("held")
        self.assertEqual(out.rc, 0, out.stderr)
        self.assertIn("X-Evil", out.stdout)
        self.assertEqual(unprintable(out.stdout.replace("\n", "")), [], out.stdout)
        # the stored post itself is untouched: approving sends it as it came
        self.assertEqual(self.env.query("SELECT content FROM held_message")[0][0],
                         msg.encode())

    def test_envelope_sender_in_the_log(self):
        r = self.env.deliver(harness.post(), LIST, sender="a\x1b[2J\u009b@example.org")
        self.assertIn(r.rc, (0, 77), r.stderr)
        self.assertLogClean()
        self.assertIn("sender=<a\\x1b[2J\\u009b@example.org>",
                      self.env.deliver_log_lines()[-1])

    def test_stderr_line_for_postfix(self):
        # pipe(8) puts it in the bounce: one printable line, escaped alike
        rcpt = "no\x1b\u009bsuch@ssc.manage2soar.com"
        r = self.env.deliver(harness.post(to=rcpt), rcpt)
        self.assertEqual(r.rc, 67, r.stderr)
        self.assertEqual(r.stderr, "5.1.1 <no\\x1b\\u009bsuch@ssc.manage2soar.com>: "
                                   "no such list\n")
        self.assertLogClean()


class C1Address(harness.EnvTestCase):
    """A member's address with U+0085 or U+009B in an M2S answer (the
    canonical ssc.json, one address changed) is invalid: dropped with a
    warning like any other control character."""

    def setUp(self):
        super().setUp()
        api = copy.deepcopy(harness.SSC_API)
        self.bad = ["car\u0085ol@example.net", "\u009b31mdora@example.org"]
        api["lists"]["members"].append(self.bad[0])
        api["lists"]["board"].append(self.bad[1])
        api["whitelist"] += self.bad
        self.env.write_api("ssc", api)
        self.sync = self.env.soarlist("sync", "ssc")

    def test_dropped_at_sync(self):
        self.assertEqual(unprintable(self.sync.stdout.replace("\n", "")), [],
                         self.sync.stdout)
        self.assertEqual(unprintable(self.sync.stderr.replace("\n", "")), [],
                         self.sync.stderr)
        stored = self.env.query("SELECT address FROM list_member") + \
            self.env.query("SELECT address FROM whitelist")
        for (a,) in stored:
            self.assertEqual(unprintable(a), [], a)
        with open(self.env.log, encoding="utf-8") as f:
            log = f.read()
        self.assertEqual(unprintable(log.replace("\n", "")), [])

    def test_members_never_prints_them(self):
        for lst in ("members", "board"):
            r = self.env.soarlist("members", "%s@ssc.manage2soar.com" % lst)
            self.assertEqual(r.rc, 0, r.stderr)
            self.assertEqual(unprintable(r.stdout.replace("\n", "")), [], r.stdout)
            self.assertTrue(r.stdout.strip())
        r = self.env.soarlist("members", "members@ssc.manage2soar.com")
        self.assertEqual(sorted(r.stdout.split()),
                         harness.stored(harness.SSC_API["lists"]["members"]))

    def test_never_handed_to_sendmail(self):
        r = self.env.deliver(harness.uniq_post(), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(harness.folded(r.capture.recipients),
                         harness.folded(["alice@example.org", "Bob@example.com",
                                         "carol@example.net"]))


if __name__ == "__main__":
    tap.main()
