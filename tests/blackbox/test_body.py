"""test_body.py - the body goes out byte for byte; a 25 MB post runs in
less than 32 MB of peak RSS."""
import base64
import hashlib
import os
import random
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import sanitizers  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"
# members@ssc as soarlist sends to it: the canonical answer's Bob@Example.com
# as Bob@example.com, the household's carol@example.net once
MEMBERS = harness.stored(harness.SSC_API["lists"]["members"])


def wrap(data, width=76):
    text = base64.b64encode(data)
    return b"\n".join(text[i:i + width] for i in range(0, len(text), width)) + b"\n"


def multipart(attachment):
    body = (b"This is a multi-part message in MIME format.\n"
            b"--b0undary\n"
            b"Content-Type: text/plain; charset=iso-8859-1\n"
            b"Content-Transfer-Encoding: 8bit\n\n"
            b"Gr\xfc\xdfe aus dem Segelflugzentrum, \xa9 2026\n"
            b"trailing spaces   \nFrom the start of a line\n.\n..\n"
            b"--b0undary\n"
            b"Content-Type: application/octet-stream; name=\"data.bin\"\n"
            b"Content-Disposition: attachment; filename=\"data.bin\"\n"
            b"Content-Transfer-Encoding: base64\n\n" + wrap(attachment) +
            b"--b0undary--\n")
    head = post(extra="MIME-Version: 1.0\n"
                "Content-Type: multipart/mixed; boundary=\"b0undary\"\n", body="")
    return head.encode(), body


class Body(harness.EnvTestCase):
    def test_multipart_binary_attachment_byte_identical(self):
        rnd = random.Random(2026)
        attachment = bytes(rnd.getrandbits(8) for _ in range(200000))
        head, body = multipart(attachment)
        r = self.env.deliver(head + body, LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        out_head, out_body = harness.split_message(c.data)
        self.assertEqual(out_body, body)
        self.assertEqual(c.header_values("Content-Type"),
                         ['multipart/mixed; boundary="b0undary"'])
        part = c.message.get_payload()[1]
        self.assertEqual(part.get_payload(decode=True), attachment)

    def test_crlf_message(self):
        body = b"line one\r\nline two\r\n\r\n-- \r\nAlice\r\n"
        msg = post(body="").replace("\n", "\r\n").encode() + body
        r = self.env.deliver(msg, LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        head, out_body = harness.split_message(c.data)
        self.assertEqual(out_body, body)
        self.assertEqual(c.header_values("From"),
                         ['"Alice Example via Members" <members-bounces@ssc.manage2soar.com>'])
        self.assertEqual(c.header_values("List-Id"), ["<members.ssc.manage2soar.com>"])
        # one line-ending convention in the header block, not a mixture
        lf = head.count(b"\n") - head.count(b"\r\n")
        self.assertTrue(lf == 0 or head.count(b"\r\n") == 0, head)

    def test_no_body(self):
        for name, msg in (("empty body", post(body="")),
                          ("no blank line", post(body="")[:-1])):
            with self.subTest(name):
                r = self.env.deliver(msg, LIST)
                self.assertEqual(r.rc, 0, r.stderr)
                c = r.capture
                self.assertEqual(c.body(), b"")
                self.assertEqual(c.header_values("List-Post"),
                                 ["<mailto:members@ssc.manage2soar.com>"])
                self.assertEqual(c.header_values("Date"), ["Tue, 24 Nov 2026 10:00:00 +0000"])

    def test_body_without_final_newline(self):
        r = self.env.deliver(post(body="no newline at the end"), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.body().rstrip(b"\n"), b"no newline at the end")

    def test_body_looking_like_headers(self):
        body = "From: evil@x.org\nBcc: victim@x.org\n\nmore\n"
        r = self.env.deliver(post(body=body), LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.body(), body.encode())
        self.assertEqual(r.capture.message.get_all("Bcc"), None)

    def test_25mb_message_peak_rss(self):
        path = os.path.join(self.env.root, "big.eml")
        blob = os.urandom(18 * 1024 * 1024 + 800 * 1024)
        head, body = multipart(blob)
        with open(path, "wb") as f:
            f.write(head + body)
        size = len(head) + len(body)
        self.assertGreater(size, 25 * 1000 * 1000)
        want = hashlib.sha256(body).hexdigest()
        del blob, body
        rc, maxrss_kib, err = self.env.deliver_rusage(path, LIST)
        self.assertEqual(rc, 0, err)
        caps = self.env.captured()
        self.assertEqual(len(caps), 1)
        self.assertEqual(sorted(caps[0].recipients), MEMBERS)
        out_body = harness.split_message(caps[0].data)[1]
        self.assertEqual(hashlib.sha256(out_body).hexdigest(), want)
        self.assertLess(maxrss_kib, sanitizers.rss_limit(32 * 1024), "peak RSS %d KiB" % maxrss_kib)
        self.assertIn("size=%d" % size, self.env.deliver_log_lines()[-1])


if __name__ == "__main__":
    tap.main()
