"""test_dns.py - `soarlist dns` and `soarlist dns --check` against a real
DNS server (issue 12 item 2): Debian's dnsmasq on 127.0.0.1:53 in a
network namespace of the test's own (unshare -n -m), with the namespace's
/etc/resolv.conf bind-mounted to name it, so that soarlist's libresolv
lookups reach it and nothing else.

Two clubs, one with two domains. The zone served is built from
`soarlist dns --json` and then spoiled: one domain has every record right;
another has a different SPF, a DKIM record with another key, no DMARC
record and MX to another host; a third has an SPF its operator tightened
(-all and more mechanisms) and a DMARC at p=reject with two rua=, which
count as right, and two SPF records, which do not. --check says, record
by record, ok, missing (with what to publish) or different (with what is
found), and exits 1 when any is not ok, 0 when all are. The report
authorization record (RFC 7489 7.1) is asked for a domain whose DMARC
reports go to another organizational domain, and not for one in the same.
Without mail_host, `dns` exits 78.
"""
import json
import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

CLUBS = {"ssc": ("Skyline Soaring Club", "ssc.manage2soar.com;skylinesoaring.org"),
         "ridge": ("Ridge Runners", "ridge.example")}
EXTRA = ("mail_host = mail.manage2soar.com\nrelay_spf = include:spf.smtp2go.com\n"
         "dkim_dir = {root}/dkim\ndkim_group = {group}\n")
LINE = re.compile(r"^(ok|missing|different|failed) +(\S+) (MX|TXT) (\S+?)(?:: (.*))?$")

# runs inside the namespace: loopback up, resolv.conf to 127.0.0.1,
# dnsmasq serving CONF (authoritative for the zones: NXDOMAIN, not
# REFUSED, for a name it lacks), then soarlist dns --check
RUNNER = r"""
import json, os, socket, subprocess, sys, time
conf, resolv, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
subprocess.run(["mount", "--bind", resolv, "/etc/resolv.conf"], check=True)
d = subprocess.Popen(["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts",
                      "--listen-address=127.0.0.1", "--bind-interfaces", "--port=53",
                      "--conf-file=" + conf], stderr=subprocess.PIPE)
try:
    # ready once it answers: a query for the root's NS, any answer
    q = b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\x01"
    for _ in range(200):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.05)
        try:
            s.sendto(q, ("127.0.0.1", 53))
            s.recv(512)
            break
        except OSError:
            time.sleep(0.05)
        finally:
            s.close()
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    print(json.dumps({"rc": p.returncode, "out": p.stdout, "err": p.stderr}))
finally:
    d.terminate()
    d.wait()
"""


def zone_line(r, value=None):
    """A dnsmasq config line serving record R (with VALUE instead of its
    own)."""
    value = r["value"] if value is None else value
    if r["type"] == "MX":
        return "mx-host=%s,%s,%d" % (r["name"], value, r["priority"])
    # dnsmasq splits a TXT record at commas between quoted strings: one
    # string of at most 255 bytes each, as a zone would carry a DKIM key
    parts = [value[i:i + 255] for i in range(0, len(value), 255)] or [""]
    return "txt-record=%s,%s" % (r["name"], ",".join('"%s"' % p for p in parts))


class DnsCheck(harness.EnvTestCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail("needs root: a network namespace and a bind mount")
        import grp
        group = grp.getgrgid(os.getgid()).gr_name
        self.env.write_config(clubs=CLUBS, extra=EXTRA.format(root=self.env.root,
                                                               group=group))
        r = self.env.soarlist("dkim")
        self.assertEqual(r.rc, 0, r.stderr)
        r = self.env.soarlist("dns", "--json")
        self.assertEqual(r.rc, 0, r.stderr)
        self.records = json.loads(r.stdout)

    def by(self, domain, purpose):
        return [r for r in self.records if r["domain"] == domain and r["purpose"] == purpose]

    def check(self, lines, *args):
        """soarlist dns --check ARGS against a dnsmasq serving LINES:
        (exit status, {(purpose, name): (verdict, detail)}, stdout)."""
        root = self.env.root
        conf = os.path.join(root, "dnsmasq.conf")
        zones = ["local=/%s/" % z for z in ("manage2soar.com", "skylinesoaring.org",
                                            "ridge.example")]
        with open(conf, "w") as f:
            f.write("\n".join(zones + lines) + "\n")
        resolv = os.path.join(root, "resolv.conf")
        with open(resolv, "w") as f:
            f.write("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
        runner = os.path.join(root, "runner.py")
        with open(runner, "w") as f:
            f.write(RUNNER)
        p = subprocess.run(["unshare", "-n", "-m", sys.executable, runner, conf, resolv,
                            harness.SOARLIST, "-c", self.env.config, "dns", "--check"]
                           + list(args), capture_output=True, text=True, timeout=180)
        self.assertEqual(p.returncode, 0, p.stderr)
        res = json.loads(p.stdout)
        verdicts = {}
        for line in res["out"].splitlines():
            m = LINE.match(line)
            self.assertIsNotNone(m, "an unexpected line: %r" % line)
            verdicts[m.group(2), m.group(4)] = (m.group(1), m.group(5))
        return res["rc"], verdicts, res["out"] + res["err"]

    def test_right_missing_and_different(self):
        right = [zone_line(r) for r in self.records if r["domain"] == "ssc.manage2soar.com"]
        spoiled = []
        sky = "skylinesoaring.org"
        spoiled.append(zone_line(self.by(sky, "mx")[0], "mx.elsewhere.example"))
        spoiled.append(zone_line(self.by(sky, "spf")[0], "v=spf1 a -all"))
        other_key = self.by("ssc.manage2soar.com", "dkim")[0]["value"]
        spoiled.append(zone_line(self.by(sky, "dkim")[0], other_key))
        # no DMARC record for sky; its report authorization is there
        spoiled.append(zone_line(self.by(sky, "dmarc-report")[0]))
        rc, v, out = self.check(right + spoiled)
        self.assertEqual(rc, 1, out)
        for r in [r for r in self.records if r["domain"] == "ssc.manage2soar.com"]:
            self.assertEqual(v[r["purpose"], r["name"]][0], "ok", out)
        self.assertEqual(v["mx", sky], ("different", "want mail.manage2soar.com; found "
                                                     "mx.elsewhere.example"), out)
        self.assertEqual(v["spf", sky][0], "different", out)
        self.assertIn("found v=spf1 a -all", v["spf", sky][1], out)
        dkim = self.by(sky, "dkim")[0]
        self.assertEqual(v["dkim", dkim["name"]][0], "different", out)
        self.assertEqual(v["dmarc", "_dmarc." + sky],
                         ("missing", "publish " + self.by(sky, "dmarc")[0]["value"]), out)
        self.assertEqual(v["dmarc-report", self.by(sky, "dmarc-report")[0]["name"]][0],
                         "ok", out)
        # the club not served at all: every record missing
        for r in [r for r in self.records if r["domain"] == "ridge.example"]:
            self.assertEqual(v[r["purpose"], r["name"]][0], "missing", out)
        # a club's records only
        rc, v, out = self.check(right + spoiled, "ssc")
        self.assertNotIn(("mx", "ridge.example"), v, out)

    def test_all_right_and_tightened(self):
        lines = [zone_line(r) for r in self.records
                 if r["purpose"] not in ("spf", "dmarc")]
        for r in self.records:
            if r["purpose"] == "spf":
                lines.append(zone_line(r, "v=spf1 mx a:relay.example include:spf.smtp2go.com"
                                          " -all"))
            elif r["purpose"] == "dmarc":
                lines.append(zone_line(r, "v=DMARC1; p=reject; rua=mailto:dmarc@x.example,"
                                          "mailto:%s!10m; pct=100"
                                          % r["value"].split("mailto:")[1]))
        rc, v, out = self.check(lines)
        self.assertEqual(rc, 0, out)
        self.assertEqual({x[0] for x in v.values()}, {"ok"}, out)
        self.assertEqual(len(v), len(self.records), out)
        # two SPF records: neither counts (RFC 7208 4.5)
        spf = self.by("ridge.example", "spf")[0]
        rc, v, out = self.check(lines + [zone_line(spf, "v=spf1 mx ~all")])
        self.assertEqual((rc, v["spf", "ridge.example"][0]), (1, "different"), out)

    def test_report_authorization_only_across_organizational_domains(self):
        # admin is postmaster@ the default config's domain: see the records
        admin_domain = [r for r in self.records if r["purpose"] == "dmarc"][0][
            "value"].split("@")[1]
        seen = set()
        for r in self.records:
            if r["purpose"] != "dmarc":
                continue
            aligned = (r["domain"] == admin_domain or r["domain"].endswith("." + admin_domain))
            seen.add(aligned)
            self.assertEqual(bool(self.by(r["domain"], "dmarc-report")), not aligned,
                             (r["domain"], admin_domain))
        self.assertEqual(seen, {True, False}, "both kinds of domain, %s" % admin_domain)
        report = self.by("ridge.example", "dmarc-report")[0]
        self.assertEqual((report["name"], report["value"]),
                         ("ridge.example._report._dmarc." + admin_domain, "v=DMARC1"))

    def test_zone_lines(self):
        r = self.env.soarlist("dns", "ridge")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("ridge.example.", r.stdout)
        self.assertIn("IN MX  10 mail.manage2soar.com.", r.stdout)
        self.assertNotIn("skylinesoaring.org", r.stdout)
        # a DKIM key is longer than one TXT string: split at 255 bytes
        dkim = [l for l in r.stdout.splitlines() if "._domainkey." in l][0]
        strings = re.findall(r'"([^"]*)"', dkim)
        self.assertGreater(len(strings), 1, dkim)
        self.assertTrue(all(len(s) <= 255 for s in strings), dkim)
        self.assertEqual("".join(strings), self.by("ridge.example", "dkim")[0]["value"])
        r = self.env.soarlist("dns", "nosuchclub")
        self.assertEqual(r.rc, 64, r.stderr)

    def test_mail_host_needed(self):
        self.env.write_config(clubs=CLUBS)
        r = self.env.soarlist("dns")
        self.assertEqual(r.rc, 78, r.stderr)
        self.assertIn("mail_host", r.stderr)


if __name__ == "__main__":
    tap.main()
