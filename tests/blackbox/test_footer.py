"""test_footer.py - a list's footer, added MIME-correctly: appended to the
text of a text/plain post (in its own transfer encoding, and in its own
charset while the footer fits it), a part of its own at the end of a
multipart/mixed, a new multipart/mixed around anything else (alternative,
signed, encrypted, HTML, attachments) whose bytes stay as they came. Every
output is parsed back with Python's email package; a 25 MB post with a
footer still runs in less than 32 MB of peak RSS."""
import base64
import email
import email.policy
import hashlib
import os
import quopri
import random
import resource
import signal
import subprocess
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

# as written in the config (GKeyFile's \n escape) and as it must come out
FOOTER_CFG = ("--\\nYou get this as a member of {list_name} ({list_address}),"
              " {club_name}")
FOOTER = ("--\nYou get this as a member of members "
          "(members@ssc.manage2soar.com), Skyline Soaring Club")
# every character in ISO-8859-1
LATIN_CFG = "Gr\u00fc\u00dfe vom {club_name}, Liste {list_name}"
LATIN = "Gr\u00fc\u00dfe vom Skyline Soaring Club, Liste members"
# the euro sign is not in ISO-8859-1 (it is in windows-1252)
EURO_CFG = "--\\nBeitrag 5 \u20ac \u2013 {list_address}"
EURO = "--\nBeitrag 5 \u20ac \u2013 members@ssc.manage2soar.com"


def mime_post(content_type, body, cte=None, extra=""):
    """A post with these MIME headers and BODY (bytes) after the blank line."""
    head = "MIME-Version: 1.0\nContent-Type: %s\n" % content_type
    if cte is not None:
        head += "Content-Transfer-Encoding: %s\n" % cte
    return post(extra=head + extra, body="").encode() + body


def wrap64(data, width=76):
    text = base64.b64encode(data)
    return b"\n".join(text[i:i + width] for i in range(0, len(text), width)) + b"\n"


def lines(data):
    return data.split(b"\n")


class FooterCase(harness.EnvTestCase):
    lists = {"ssc/members": {"footer": FOOTER_CFG}}

    def set_footer(self, cfg):
        self.env.write_config(lists={"ssc/members": {"footer": cfg}})

    def send(self, message):
        r = self.env.deliver(message, LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        c = r.capture
        self.assertEqual(sorted(c.recipients), MEMBERS)
        self.assertIn("decision=distribute", self.env.deliver_log_lines()[-1])
        return c

    def parse(self, c):
        """The output as a modern MUA reads it, without a single defect."""
        m = email.message_from_bytes(c.data, policy=email.policy.default)
        for part in m.walk():
            self.assertEqual(list(part.defects), [],
                             "defects in %s" % part.get_content_type())
        self.assertEqual(len(m.get_all("MIME-Version") or ["1.0"]), 1)
        self.assertEqual(len(m.get_all("Content-Type") or ["x"]), 1)
        self.assertEqual(len(m.get_all("Content-Transfer-Encoding") or ["x"]), 1)
        return m

    def assertFooterOnce(self, m, footer=FOOTER):
        texts = [p.get_content().replace("\r\n", "\n") for p in m.walk()
                 if p.get_content_maintype() == "text"]
        got = sum(t.count(footer) for t in texts)
        self.assertEqual(got, 1, "footer found %d times in %r" % (got, texts))
        self.assertNotIn("{list_name}", "".join(texts))
        self.assertNotIn("{club_name}", "".join(texts))

    def assertFooterPart(self, part, footer=FOOTER):
        self.assertEqual(part.get_content_type(), "text/plain")
        self.assertEqual(part.get_content_disposition(), "inline")
        self.assertEqual(part.get_content().rstrip("\n"), footer)

    def assertSevenBit(self, body, width=76):
        for line in lines(body):
            self.assertTrue(all(b < 128 for b in line), line)
            self.assertLessEqual(len(line.rstrip(b"\r")), width, line)

    def wrapped_parts(self, c, original_body):
        """For a post wrapped in a new multipart/mixed: check the wrapper and
        that the original body went in byte for byte; return (inner, footer)
        as parsed messages and the inner entity's raw bytes."""
        m = self.parse(c)
        self.assertEqual(m.get_content_type(), "multipart/mixed")
        self.assertEqual(c.header_values("Content-Transfer-Encoding"), [])
        boundary = m.get_boundary().encode()
        body = c.body()
        opening = b"--" + boundary + b"\n"
        self.assertTrue(body.startswith(opening), body[:200])
        end = body.index(b"\n--" + boundary + b"\n")
        inner = body[len(opening):end]
        # the inner entity: the original Content-* headers, the blank line,
        # then every byte of the original body
        self.assertTrue(inner.endswith(b"\n\n" + original_body) or
                        (original_body.startswith(b"\n") and
                         inner.endswith(original_body)), inner[-300:])
        parts = m.get_payload()
        self.assertEqual(len(parts), 2)
        self.assertFooterPart(parts[1])
        self.assertFooterOnce(m)
        return parts[0], parts[1], inner


class TextPlain(FooterCase):
    def test_7bit_ascii_footer_appended(self):
        c = self.send(post(body="Hello list\nsecond line\n"))
        self.assertEqual(c.body(), b"Hello list\nsecond line\n\n" +
                         FOOTER.encode() + b"\n")
        # nothing in the MIME headers had to change
        self.assertEqual(c.header_values("Content-Type"), [])
        self.assertEqual(c.header_values("MIME-Version"), [])
        m = self.parse(c)
        self.assertEqual(m.get_content(), "Hello list\nsecond line\n\n" +
                         FOOTER + "\n")
        self.assertFooterOnce(m)
        self.assertEqual(c.header_values("List-Id"),
                         ["<members.ssc.manage2soar.com>"])

    def test_text_without_final_newline(self):
        c = self.send(post(body="no newline at the end"))
        self.assertEqual(c.body(), b"no newline at the end\n\n" +
                         FOOTER.encode() + b"\n")

    def test_7bit_utf8_footer_becomes_quoted_printable(self):
        self.set_footer(EURO_CFG)
        msg = mime_post("text/plain; charset=us-ascii", b"Plain ASCII.\n", "7bit")
        c = self.send(msg)
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=utf-8"])
        self.assertEqual(c.header_values("Content-Transfer-Encoding"),
                         ["quoted-printable"])
        self.assertSevenBit(c.body())
        m = self.parse(c)
        self.assertEqual(m.get_content(), "Plain ASCII.\n\n" + EURO + "\n")
        self.assertFooterOnce(m, EURO)

    def test_no_mime_headers_utf8_text(self):
        # no MIME-Version, no Content-Type, 8-bit UTF-8 text: it is UTF-8
        self.set_footer(EURO_CFG)
        c = self.send(post(body="").encode() +
                      "Gr\u00fc\u00dfe aus Front Royal\n".encode())
        self.assertEqual(c.header_values("MIME-Version"), ["1.0"])
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=utf-8"])
        m = self.parse(c)
        self.assertEqual(m.get_content(),
                         "Gr\u00fc\u00dfe aus Front Royal\n\n" + EURO + "\n")

    def test_8bit_utf8(self):
        self.set_footer(EURO_CFG)
        text = "Gr\u00fc\u00dfe, \u00dcbung am Samstag \u2708\n".encode()
        c = self.send(mime_post("text/plain; charset=UTF-8; format=fixed",
                                text, "8bit"))
        self.assertEqual(c.body(), text + b"\n" + EURO.encode() + b"\n")
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=UTF-8; format=fixed"])
        self.assertEqual(c.header_values("Content-Transfer-Encoding"), ["8bit"])
        self.assertFooterOnce(self.parse(c), EURO)

    def test_quoted_printable_with_soft_line_breaks(self):
        text = ("A long line that the sender's client had to break because it"
                " is longer than seventy-six characters, with a = sign and "
                "caf\u00e9.\ntrailing space \nlast line without newline")
        encoded = quopri.encodestring(text.encode())
        self.assertIn(b"=\n", encoded)  # soft line breaks
        self.assertFalse(encoded.endswith(b"\n"))
        c = self.send(mime_post("text/plain; charset=utf-8", encoded,
                                "quoted-printable"))
        self.assertEqual(c.header_values("Content-Transfer-Encoding"),
                         ["quoted-printable"])
        self.assertSevenBit(c.body())
        m = self.parse(c)
        self.assertEqual(m.get_content(), text + "\n\n" + FOOTER + "\n")
        self.assertFooterOnce(m)

    def test_base64(self):
        self.set_footer(EURO_CFG)
        text = "Ein Text in Base64: \u00e4\u00f6\u00fc\n" * 20
        c = self.send(mime_post("text/plain; charset=utf-8",
                                wrap64(text.encode()), "base64"))
        self.assertEqual(c.header_values("Content-Transfer-Encoding"), ["base64"])
        self.assertSevenBit(c.body())
        m = self.parse(c)
        self.assertEqual(m.get_content(), text + "\n" + EURO + "\n")
        self.assertFooterOnce(m, EURO)

    def test_base64_text_with_crlf_keeps_crlf(self):
        text = b"line one\r\nline two\r\n"
        c = self.send(mime_post("text/plain; charset=us-ascii", wrap64(text),
                                "base64"))
        m = self.parse(c)
        self.assertEqual(m.get_payload(decode=True), text + b"\r\n" +
                         FOOTER.replace("\n", "\r\n").encode() + b"\r\n")

    def test_iso_8859_1_footer_fits(self):
        self.set_footer(LATIN_CFG)
        text = "Gr\u00fc\u00dfe aus dem Segelflugzentrum, \u00a9 2026\n"
        c = self.send(mime_post("text/plain; charset=iso-8859-1",
                                text.encode("latin-1"), "8bit"))
        # the text and its charset stay; the footer is written in it
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=iso-8859-1"])
        self.assertEqual(c.body(), text.encode("latin-1") + b"\n" +
                         LATIN.encode("latin-1") + b"\n")
        m = self.parse(c)
        self.assertEqual(m.get_content(), text + "\n" + LATIN + "\n")
        self.assertFooterOnce(m, LATIN)

    def test_iso_8859_1_footer_does_not_fit(self):
        self.set_footer(EURO_CFG)
        text = "Gr\u00fc\u00dfe aus dem Segelflugzentrum, \u00a9 2026\n"
        c = self.send(mime_post("text/plain; charset=\"ISO-8859-1\"",
                                text.encode("latin-1"), "8bit"))
        # all of the text is UTF-8 now, and says so
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=utf-8"])
        self.assertEqual(c.header_values("Content-Transfer-Encoding"), ["8bit"])
        self.assertEqual(c.body(), (text + "\n" + EURO + "\n").encode())
        m = self.parse(c)
        self.assertEqual(m.get_content(), text + "\n" + EURO + "\n")
        self.assertFooterOnce(m, EURO)

    def test_iso_8859_1_quoted_printable_becomes_utf8(self):
        self.set_footer(EURO_CFG)
        text = "Caf\u00e9 am Flugplatz = gut.\nBis Samstag!\n"
        c = self.send(mime_post("text/plain; charset=iso-8859-1; format=flowed",
                                quopri.encodestring(text.encode("latin-1")),
                                "quoted-printable"))
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=utf-8; format=flowed"])
        self.assertEqual(c.header_values("Content-Transfer-Encoding"),
                         ["quoted-printable"])
        self.assertSevenBit(c.body())
        m = self.parse(c)
        self.assertEqual(m.get_content(), text + "\n" + EURO + "\n")

    def test_windows_1252_footer_fits(self):
        self.set_footer(EURO_CFG)
        text = "Preis: 20 \u20ac \u2013 bar\n"
        c = self.send(mime_post("text/plain; charset=windows-1252",
                                text.encode("cp1252"), "8bit"))
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=windows-1252"])
        self.assertEqual(c.body(), text.encode("cp1252") + b"\n" +
                         EURO.encode("cp1252") + b"\n")
        self.assertEqual(self.parse(c).get_content(), text + "\n" + EURO + "\n")

    def test_utf16_text_becomes_utf8(self):
        text = "Text in UTF-16\n"
        c = self.send(mime_post("text/plain; charset=utf-16",
                                wrap64(text.encode("utf-16")), "base64"))
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=utf-8"])
        m = self.parse(c)
        self.assertEqual(m.get_content().lstrip("\ufeff"),
                         text + "\n" + FOOTER + "\n")

    def test_us_ascii_label_on_latin1_bytes_is_wrapped(self):
        # the text is not what it claims and not UTF-8 either: it cannot
        # take a UTF-8 footer, so it goes into a part of its own, unchanged
        self.set_footer(EURO_CFG)
        body = b"\nGr\xfc\xdfe\n"
        c = self.send(mime_post("text/plain; charset=us-ascii", body[1:]))
        m = self.parse(c)
        self.assertEqual(m.get_content_type(), "multipart/mixed")
        first, last = m.get_payload()
        self.assertEqual(first.get_payload(decode=True), b"Gr\xfc\xdfe\n")
        self.assertEqual(first.get_param("charset"), "us-ascii")
        self.assertEqual(last.get_content().rstrip("\n"), EURO)

    def test_format_flowed_footer_is_space_stuffed(self):
        self.set_footer("From the {list_name} list   \\n> not a quote\\n-- ")
        c = self.send(mime_post("text/plain; charset=utf-8; format=flowed",
                                b"A flowed \nparagraph.\n"))
        self.assertEqual(c.body(), b"A flowed \nparagraph.\n\n"
                         b" From the members list\n > not a quote\n-- \n")

    def test_crlf_message_gets_crlf_footer(self):
        body = b"line one\r\nline two\r\n"
        msg = post(body="").replace("\n", "\r\n").encode() + body
        c = self.send(msg)
        out = c.body()
        self.assertEqual(out, body + b"\r\n" +
                         FOOTER.replace("\n", "\r\n").encode() + b"\r\n")

    def test_text_attachment_is_wrapped_not_changed(self):
        body = b"\nname,value\nfoo,1\n"
        c = self.send(mime_post("text/plain; charset=us-ascii", body[1:],
                                extra="Content-Disposition: attachment; "
                                "filename=\"data.csv\"\n"))
        first, _, _ = self.wrapped_parts(c, body)
        self.assertEqual(first.get_filename(), "data.csv")
        self.assertEqual(first.get_payload(decode=True), body[1:])

    def test_no_body(self):
        for name, msg in (("empty body", post(body="")),
                          ("no blank line", post(body="")[:-1])):
            with self.subTest(name):
                c = self.send(msg)
                self.assertEqual(c.body(), FOOTER.encode() + b"\n")
                m = self.parse(c)
                self.assertEqual(m.get_content(), FOOTER + "\n")
                self.assertEqual(c.header_values("Date"),
                                 ["Tue, 24 Nov 2026 10:00:00 +0000"])

    def test_write_error_defers_and_retry_goes_out(self):
        # a file size limit that the spool file fits under and the new body
        # (the text plus a long footer) does not: writing it fails, and the
        # post waits in Postfix's queue; nothing truncated goes out
        self.set_footer("A long footer line, there to make the body grow.\\n"
                        * 2000)
        text = ("x" * 99 + "\n") * 10000
        msg = post(body=text).encode()
        limit = len(msg) + 20000

        def limited():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        proc = subprocess.run([harness.DELIVER, "-c", self.env.config, "-f",
                               "alice@example.org", "--", LIST],
                              input=msg, capture_output=True, timeout=120,
                              preexec_fn=limited)
        self.assertEqual(proc.returncode, 75, proc.stderr)
        self.assertTrue(proc.stderr.startswith(
            b"4.3.0 cannot add the list footer: "), proc.stderr)
        self.assertEqual(self.env.captured(), [])
        # Postfix's retry is not taken for a duplicate
        c = self.send(msg)
        self.assertEqual(c.body(), text.encode() + b"\n" +
                         b"A long footer line, there to make the body grow.\n"
                         * 2000)

    def test_25mb_text_converted_peak_rss(self):
        # the costliest text path: read twice (does it convert?), decoded,
        # converted from ISO-8859-1 to UTF-8, encoded again
        self.set_footer(EURO_CFG)
        text = ("Gr\u00fc\u00dfe aus dem Segelflugzentrum = eine lange "
                "Zeile mit Umlauten \u00e4\u00f6\u00fc, " * 3 + "\n") * 170000
        path = os.path.join(self.env.root, "big.eml")
        with open(path, "wb") as f:
            f.write(mime_post("text/plain; charset=iso-8859-1",
                              quopri.encodestring(text.encode("latin-1")),
                              "quoted-printable"))
        self.assertGreater(os.path.getsize(path), 25 * 1000 * 1000)
        rc, maxrss_kib, err = self.env.deliver_rusage(path, LIST)
        self.assertEqual(rc, 0, err)
        c = self.env.captured()[0]
        self.assertEqual(c.header_values("Content-Type"),
                         ["text/plain; charset=utf-8"])
        self.assertEqual(quopri.decodestring(c.body()),
                         (text + "\n" + EURO + "\n").encode())
        self.assertLess(maxrss_kib, sanitizers.rss_limit(32 * 1024), "peak RSS %d KiB" % maxrss_kib)

    def test_unknown_transfer_encoding_is_wrapped(self):
        body = b"\nsome x-gzip64 data\n"
        c = self.send(mime_post("text/plain", body[1:], "x-gzip64"))
        first, _, inner = self.wrapped_parts(c, body)
        self.assertIn(b"Content-Transfer-Encoding: x-gzip64\n", inner)


def multipart(attachment, close=True):
    body = (b"This is a multi-part message in MIME format.\n"
            b"--b0undary\n"
            b"Content-Type: text/plain; charset=iso-8859-1\n"
            b"Content-Transfer-Encoding: 8bit\n\n"
            b"Gr\xfc\xdfe aus dem Segelflugzentrum, \xa9 2026\n"
            b"--b0undary\n"
            b"Content-Type: application/octet-stream; name=\"data.bin\"\n"
            b"Content-Disposition: attachment; filename=\"data.bin\"\n"
            b"Content-Transfer-Encoding: base64\n\n" + wrap64(attachment))
    if close:
        body += b"--b0undary--\nan epilogue\n"
    return mime_post("multipart/mixed; boundary=\"b0undary\"", b""), body


class Multipart(FooterCase):
    def test_mixed_binary_attachment(self):
        attachment = bytes(random.Random(7).getrandbits(8) for _ in range(100000))
        head, body = multipart(attachment)
        c = self.send(head + body)
        self.assertEqual(c.header_values("Content-Type"),
                         ['multipart/mixed; boundary="b0undary"'])
        out = c.body()
        # every original byte is still there; the footer part went in just
        # before the close delimiter
        close = body.index(b"--b0undary--")
        self.assertEqual(out[:close], body[:close])
        self.assertTrue(out.endswith(body[close:]))
        m = self.parse(c)
        parts = m.get_payload()
        self.assertEqual(len(parts), 3)
        # (the newline before a delimiter belongs to the delimiter)
        self.assertEqual(parts[0].get_content(),
                         "Gr\u00fc\u00dfe aus dem Segelflugzentrum, \u00a9 2026")
        self.assertEqual(parts[1].get_content(), attachment)
        self.assertFooterPart(parts[2])
        self.assertFooterOnce(m)
        self.assertEqual(m.preamble, "This is a multi-part message in MIME format.")
        self.assertEqual(m.epilogue, "an epilogue\n")

    def test_mixed_utf8_footer_part_is_quoted_printable(self):
        self.set_footer(EURO_CFG)
        head, body = multipart(b"\x00\x01\x02")
        c = self.send(head + body)
        close = body.index(b"--b0undary--")
        self.assertSevenBit(c.body()[close:])
        m = self.parse(c)
        part = m.get_payload()[2]
        self.assertEqual(part["Content-Transfer-Encoding"], "quoted-printable")
        self.assertEqual(part.get_param("charset"), "utf-8")
        self.assertFooterPart(part, EURO)

    def test_mixed_without_close_delimiter(self):
        head, body = multipart(b"truncated attachment", close=False)
        c = self.send(head + body)
        self.assertTrue(c.body().startswith(body))
        parts = self.parse(c).get_payload()
        self.assertEqual(len(parts), 3)
        self.assertEqual(parts[1].get_content(), b"truncated attachment")
        self.assertFooterPart(parts[2])

    def test_mixed_nested_boundary_that_extends_ours(self):
        body = (b"--b0undary\n"
                b"Content-Type: multipart/alternative; boundary=\"b0undary--alt\"\n\n"
                b"--b0undary--alt\n"
                b"Content-Type: text/plain\n\nplain\n"
                b"--b0undary--alt\n"
                b"Content-Type: text/html\n\n<p>html</p>\n"
                b"--b0undary--alt--\n"
                b"--b0undary\n"
                b"Content-Type: text/plain\n\nsecond\n"
                b"--b0undary--\n")
        c = self.send(mime_post("multipart/mixed; boundary=b0undary", body))
        m = self.parse(c)
        parts = m.get_payload()
        self.assertEqual([p.get_content_type() for p in parts],
                         ["multipart/alternative", "text/plain", "text/plain"])
        self.assertEqual(len(parts[0].get_payload()), 2)
        self.assertEqual(parts[1].get_content(), "second")
        self.assertFooterPart(parts[2])
        self.assertFooterOnce(m)

    def test_alternative_wrapped_intact(self):
        body = (b"\n--alt0\n"
                b"Content-Type: text/plain; charset=utf-8\n"
                b"Content-Transfer-Encoding: quoted-printable\n\n"
                b"Caf=C3=A9 on Saturday\n"
                b"--alt0\n"
                b"Content-Type: text/html; charset=utf-8\n\n"
                b"<p>Caf\xc3\xa9 on <b>Saturday</b></p>\n"
                b"--alt0--\n")
        c = self.send(mime_post("multipart/alternative; boundary=alt0", body[1:]))
        inner, footer, raw = self.wrapped_parts(c, body)
        self.assertTrue(raw.startswith(
            b"Content-Type: multipart/alternative; boundary=alt0\n\n"), raw)
        self.assertEqual(inner.get_content_type(), "multipart/alternative")
        alts = inner.get_payload()
        self.assertEqual([p.get_content_type() for p in alts],
                         ["text/plain", "text/html"])
        self.assertEqual(alts[0].get_content(), "Caf\u00e9 on Saturday")
        self.assertEqual(alts[1].get_content(),
                         "<p>Caf\u00e9 on <b>Saturday</b></p>")
        self.assertEqual(c.header_values("MIME-Version"), ["1.0"])

    def test_signed_pgp_bytes_unchanged(self):
        signed = (b"Content-Type: text/plain; charset=utf-8\n"
                  b"Content-Transfer-Encoding: quoted-printable\n\n"
                  b"Signed text with a trailing space=20\n"
                  b"From the start of a line\n")
        body = (b"\nThis is an OpenPGP/MIME signed message (RFC 4880 and 3156)\n"
                b"--sig0\n" + signed + b"--sig0\n"
                b"Content-Type: application/pgp-signature; name=\"signature.asc\"\n"
                b"Content-Disposition: attachment; filename=\"signature.asc\"\n\n"
                b"-----BEGIN PGP SIGNATURE-----\n\niHUEARYKAB0WIQT\n=abcd\n"
                b"-----END PGP SIGNATURE-----\n\n"
                b"--sig0--\n")
        ctype = ("multipart/signed; micalg=pgp-sha256;\n"
                 " protocol=\"application/pgp-signature\"; boundary=\"sig0\"")
        c = self.send(mime_post(ctype, body[1:]))
        inner, _, raw = self.wrapped_parts(c, body)
        # the signed part, delimiters around it, byte for byte
        self.assertIn(b"\n--sig0\n" + signed + b"--sig0\n", raw)
        self.assertEqual(inner.get_content_type(), "multipart/signed")
        self.assertEqual(inner.get_param("protocol"), "application/pgp-signature")
        self.assertEqual([p.get_content_type() for p in inner.get_payload()],
                         ["text/plain", "application/pgp-signature"])

    def test_signed_smime_still_verifies(self):
        d = self.env.root
        key, cert = os.path.join(d, "key.pem"), os.path.join(d, "cert.pem")
        content = os.path.join(d, "content.txt")
        with open(content, "wb") as f:
            f.write(b"Signed text, trailing space \nFrom the start of a line\n")
        openssl = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                   "-out", cert, "-subj", "/CN=alice@example.org", "-days", "2"]
        subprocess.run(openssl, check=True, capture_output=True)
        signed = subprocess.run(["openssl", "smime", "-sign", "-in", content,
                                 "-signer", cert, "-inkey", key, "-text"],
                                check=True, capture_output=True).stdout
        c = self.send(post(body="").encode()[:-1] + signed)
        m = self.parse(c)
        boundary = m.get_boundary().encode()
        body = c.body()
        start = len(b"--" + boundary + b"\n")
        inner = body[start:body.index(b"\n--" + boundary + b"\n")]
        self.assertEqual(self.smime_verify(inner), 0)
        # the check can fail: one changed byte and it does
        self.assertNotEqual(self.smime_verify(
            inner.replace(b"Signed text", b"Signed Text")), 0)
        self.assertEqual(m.get_payload()[0].get_content_type(), "multipart/signed")
        self.assertFooterOnce(m)

    def smime_verify(self, entity):
        path = os.path.join(self.env.root, "inner.eml")
        with open(path, "wb") as f:
            f.write(entity)
        r = subprocess.run(["openssl", "smime", "-verify", "-noverify",
                            "-in", path, "-out", os.devnull],
                           capture_output=True)
        return r.returncode

    def test_encrypted_wrapped(self):
        body = (b"\nThis is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\n"
                b"--enc0\n"
                b"Content-Type: application/pgp-encrypted\n\nVersion: 1\n\n"
                b"--enc0\n"
                b"Content-Type: application/octet-stream; name=\"encrypted.asc\"\n\n"
                b"-----BEGIN PGP MESSAGE-----\n\nhF4DAAAAAAAAAAASAQdA\n"
                b"-----END PGP MESSAGE-----\n\n"
                b"--enc0--\n")
        ctype = ("multipart/encrypted; protocol=\"application/pgp-encrypted\";"
                 " boundary=\"enc0\"")
        c = self.send(mime_post(ctype, body[1:]))
        inner, _, _ = self.wrapped_parts(c, body)
        self.assertEqual(inner.get_content_type(), "multipart/encrypted")
        self.assertEqual(inner.get_payload()[0].get_content(), b"Version: 1\n")

    def test_html_only_wrapped(self):
        body = b"\n<html><body><p>Hello list</p></body></html>\n"
        c = self.send(mime_post("text/html; charset=utf-8", body[1:], "7bit"))
        inner, _, raw = self.wrapped_parts(c, body)
        self.assertEqual(inner.get_content_type(), "text/html")
        self.assertEqual(inner.get_content(), body[1:].decode())
        self.assertIn(b"Content-Transfer-Encoding: 7bit\n", raw)

    def test_8bit_multipart_wrapper_says_8bit(self):
        body = (b"\n--alt0\nContent-Type: text/plain; charset=utf-8\n"
                b"Content-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n--alt0--\n")
        c = self.send(mime_post("multipart/alternative; boundary=alt0", body[1:],
                                "8bit"))
        m = email.message_from_bytes(c.data, policy=email.policy.default)
        self.assertEqual(m.get_content_type(), "multipart/mixed")
        self.assertEqual(c.header_values("Content-Transfer-Encoding"), ["8bit"])
        self.assertEqual(m.get_payload()[0]["Content-Transfer-Encoding"], "8bit")

    def test_message_partial_goes_out_without_footer(self):
        body = b"\nfragment one of two\n"
        msg = mime_post("message/partial; id=\"frag@x\"; number=1; total=2",
                        body[1:])
        c = self.send(msg)
        self.assertEqual(c.body(), body[1:])
        self.assertTrue(any("without the footer" in l and "message/partial" in l
                            for l in self.env.log_lines()), self.env.log_lines())

    def test_list_without_footer_byte_identical(self):
        head, body = multipart(b"\x00\xff" * 1000)
        r = self.env.deliver(head + body, "instructors@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.body(), body)
        self.assertNotIn(b"You get this", r.capture.data)

    def test_25mb_base64_attachment_peak_rss(self):
        path = os.path.join(self.env.root, "big.eml")
        blob = os.urandom(18 * 1024 * 1024 + 800 * 1024)
        head, body = multipart(blob)
        with open(path, "wb") as f:
            f.write(head + body)
        self.assertGreater(len(head) + len(body), 25 * 1000 * 1000)
        close = body.index(b"--b0undary--")
        want_before = hashlib.sha256(body[:close]).hexdigest()
        del blob
        rc, maxrss_kib, err = self.env.deliver_rusage(path, LIST)
        self.assertEqual(rc, 0, err)
        caps = self.env.captured()
        self.assertEqual(len(caps), 1)
        out = harness.split_message(caps[0].data)[1]
        self.assertEqual(hashlib.sha256(out[:close]).hexdigest(), want_before)
        self.assertTrue(out.endswith(body[close:]))
        added = out[close:len(out) - (len(body) - close)]
        part = email.message_from_bytes(added.split(b"\n", 1)[1],
                                        policy=email.policy.default)
        self.assertFooterPart(part)
        self.assertLess(maxrss_kib, sanitizers.rss_limit(32 * 1024), "peak RSS %d KiB" % maxrss_kib)


if __name__ == "__main__":
    tap.main()
