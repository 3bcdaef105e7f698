"""test_policy_input.py - input that must never hurt the policy service
(`soarlist policy`): every line is bounded and stops being read at the
limit, CRLF line ends are accepted, a repeated attribute, a NUL byte or a
line that is not name=value is malformed. A malformed request gets a
temporary answer (DEFER_IF_PERMIT: neither let through nor refused for
good); one that cannot be read in step with the next ends the connection
after that answer, as SMTPD_POLICY_README allows on an error."""
import os
import select
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

REFUSAL = ("550 5.7.1 only members of Skyline Soaring Club may post to "
           "members@ssc.manage2soar.com")
MALFORMED = "DEFER_IF_PERMIT 4.3.0 malformed policy request: "


def lines(**attrs):
    base = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
            "protocol_name": "ESMTP", "client_address": "192.0.2.1",
            "sender": "x@stranger.example", "recipient": "members@ssc.manage2soar.com"}
    base.update(attrs)
    return ["%s=%s" % kv for kv in base.items()]


def request(**attrs):
    return "\n".join(lines(**attrs)) + "\n\n"


class PolicyInput(harness.EnvTestCase):
    def policy(self, data):
        if isinstance(data, str):
            data = data.encode()
        return subprocess.run([harness.SOARLIST, "-c", self.env.config, "policy"],
                              input=data, capture_output=True, timeout=60)

    def answers(self, p):
        out = p.stdout.decode()
        self.assertTrue(out.endswith("\n\n"), out)
        got = out[:-2].split("\n\n")
        for a in got:
            self.assertTrue(a.startswith("action="), a)
        return [a[len("action="):] for a in got]

    def protocol_errors(self):
        return [l for l in self.env.log_lines() if "policy: protocol error: " in l]

    def test_crlf_line_ends(self):
        p = self.policy(request().replace("\n", "\r\n") +
                        request(sender="alice@example.org").replace("\n", "\r\n"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.answers(p), [REFUSAL, "DUNNO"])

    def test_repeated_attribute_is_malformed(self):
        # a member's sender after a stranger's: which one did smtpd mean?
        bad = "\n".join(lines() + ["sender=alice@example.org"]) + "\n\n"
        p = self.policy(bad + request())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.answers(p), [MALFORMED + "repeated attribute", REFUSAL])
        self.assertEqual(len(self.protocol_errors()), 1)
        self.assertIn("error: policy: protocol error: repeated attribute",
                      self.protocol_errors()[0])

    def test_repeated_attribute_of_another_name(self):
        bad = "\n".join(lines() + ["client_address=192.0.2.2"]) + "\n\n"
        p = self.policy(bad)
        self.assertEqual(self.answers(p), [MALFORMED + "repeated attribute"])

    def test_nul_byte_is_malformed(self):
        for value in ("alice@example.org\0x@stranger.example", "\0", "alice@example.org\0"):
            with self.subTest(value=value):
                p = self.policy(request(sender=value) + request())
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(self.answers(p),
                                 [MALFORMED + "NUL byte in an attribute", REFUSAL])

    def test_line_without_equals_is_malformed(self):
        p = self.policy("this is not an attribute\n\n" + request())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.answers(p),
                         [MALFORMED + "line not of the form name=value", REFUSAL])

    def test_empty_request_is_malformed(self):
        p = self.policy("\n" + request())
        self.assertEqual(self.answers(p), [MALFORMED + "empty request", REFUSAL])

    def test_line_at_the_limit_is_read(self):
        # 8192 bytes, "sender=" included: a sender nobody knows
        p = self.policy(request(sender="a" * (8192 - len("sender=") - 12) + "@example.org"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(self.answers(p)), 1)
        self.assertFalse(self.answers(p)[0].startswith("DEFER"), p.stdout)

    def test_long_line_answered_before_its_end(self):
        # the line never ends: the answer comes anyway, and the service
        # stops reading and ends the connection
        p = subprocess.Popen([harness.SOARLIST, "-c", self.env.config, "policy"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            p.stdin.write(("request=smtpd_access_policy\nsender=" + "a" * 20000).encode())
            p.stdin.flush()
            ready, _, _ = select.select([p.stdout], [], [], 20)
            self.assertTrue(ready, "no answer before the end of the line")
            out = p.stdout.read()
            self.assertEqual(out.decode(), "action=" + MALFORMED +
                             "line longer than 8192 bytes\n\n")
            self.assertEqual(p.wait(20), 1)
        finally:
            p.kill()
            p.wait()
            p.stdin.close()
            p.stdout.close()

    def test_200_mb_line_is_not_read_whole(self):
        p = subprocess.Popen([harness.SOARLIST, "-c", self.env.config, "policy"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        written = [0]

        def feed():
            chunk = b"a" * (1 << 20)
            try:
                p.stdin.write(b"sender=")
                for _ in range(200):
                    p.stdin.write(chunk)
                    written[0] += len(chunk)
                p.stdin.close()
            except BrokenPipeError:
                pass
        t = threading.Thread(target=feed)
        t.start()
        out = p.stdout.read()
        t.join(60)
        self.assertEqual(p.wait(20), 1)
        self.assertEqual(out.decode(), "action=" + MALFORMED +
                         "line longer than 8192 bytes\n\n")
        # the pipe closed long before 200 MB went through it
        self.assertLess(written[0], 8 << 20)

    def test_too_many_attributes(self):
        many = "".join("x%d=y\n" % i for i in range(300)) + "\n"
        p = self.policy(many + request())
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.answers(p), [MALFORMED + "more than 256 attributes"])

    def test_end_of_input_mid_request(self):
        p = self.policy("\n".join(lines()) + "\n")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(self.answers(p),
                         [MALFORMED + "end of input in the middle of a request"])

    def test_well_formed_requests_still_answered(self):
        p = self.policy(request() + request(sender="alice@example.org"))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.answers(p), [REFUSAL, "DUNNO"])
        self.assertEqual(self.protocol_errors(), [])


if __name__ == "__main__":
    tap.main()
