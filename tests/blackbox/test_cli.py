"""test_cli.py - the administrator's command: sync, lists, members, check,
--help/--version on both programs, usage errors."""
import copy
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

LIST = "members@ssc.manage2soar.com"


class Sync(harness.EnvTestCase):
    def test_summary_line_per_club(self):
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "ssc: 5 lists, 6 members, 6 whitelisted, 0 invalid dropped, 0 added, 0 removed",
            "other: 1 lists, 2 members, 2 whitelisted, 0 invalid dropped, 0 added, 0 removed"])

    def test_database_created_by_sync(self):
        self.assertEqual(self.env.query("PRAGMA journal_mode"), [("wal",)])
        self.assertGreaterEqual(self.env.query("PRAGMA user_version")[0][0], 1)
        rows = self.env.query("SELECT slug, name FROM club ORDER BY slug")
        self.assertEqual(rows, [("other", "Other Gliding Club"),
                                ("ssc", "Skyline Soaring Club")])
        runs = self.env.query("SELECT club_slug, ok, added FROM sync_run ORDER BY id")
        self.assertEqual(sorted(runs), [("other", 1, 2), ("ssc", 1, 8)])

    def test_one_club_fails_other_syncs(self):
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["members"].append("new@example.org")
        self.env.write_api("ssc", api)
        self.env.write_api("other", "{not json")
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 1, r.stdout + r.stderr)
        self.assertIn("other", r.stderr)
        self.assertIn("ssc: 5 lists, 7 members, 6 whitelisted, 0 invalid dropped, "
                      "1 added, 0 removed",
                      r.stdout.splitlines())
        self.assertFalse(any(l.startswith("other: ") and " lists," in l
                             for l in r.stdout.splitlines()), r.stdout)
        # the failed club keeps its data, the other one has the new data
        m = self.env.soarlist("members", "members@other.manage2soar.com")
        self.assertEqual(m.rc, 0, m.stderr)
        self.assertEqual(sorted(m.stdout.split()), ["yan@example.com", "zed@example.org"])
        self.assertIn("new@example.org", self.env.soarlist("members", LIST).stdout.split())
        d = self.env.deliver(post(from_="zed@example.org", to="members@other.manage2soar.com"),
                             "members@other.manage2soar.com", sender="zed@example.org")
        self.assertEqual(d.rc, 0, d.stderr)
        self.assertEqual(sorted(d.capture.recipients), ["yan@example.com", "zed@example.org"])
        rows = self.env.query("SELECT ok, error IS NOT NULL FROM sync_run WHERE club_slug='other' "
                              "ORDER BY id DESC LIMIT 1")
        self.assertEqual(rows, [(0, 1)])

    def test_bad_shapes_keep_previous_data(self):
        for name, data in (("missing file", None), ("lists not an object", '{"lists": 5}'),
                           ("empty file", ""), ("array", "[]"),
                           ("list object without emails",
                            '{"lists": {"members": {"description": "x"}}}'),
                           ("list value a string", '{"lists": {"members": "a@b.org"}}'),
                           ("list value null", '{"lists": {"members": null}}')):
            with self.subTest(name):
                if data is None:
                    os.unlink(self.env.api_path("other"))
                else:
                    self.env.write_api("other", data)
                r = self.env.soarlist("sync")
                self.assertEqual(r.rc, 1, r.stdout + r.stderr)
                self.assertIn("other", r.stderr)
                m = self.env.soarlist("members", "members@other.manage2soar.com")
                self.assertEqual(sorted(m.stdout.split()), ["yan@example.com", "zed@example.org"])

    def test_sync_one_club_by_name(self):
        r = self.env.soarlist("sync", "other")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         ["other: 1 lists, 2 members, 2 whitelisted, 0 invalid dropped, "
                          "0 added, 0 removed"])

    def test_sync_replaces_lists(self):
        api = copy.deepcopy(harness.SSC_API)
        del api["lists"]["board"]
        api["lists"]["members"] = ["alice@example.org"]
        self.env.write_api("ssc", api)
        # members loses 2 of 3: the shrink guard wants --force
        self.assertEqual(self.env.soarlist("sync").rc, 1)
        self.assertEqual(self.env.soarlist("sync", "--force").rc, 0)
        r = self.env.deliver(post(to="board@ssc.manage2soar.com"), "board@ssc.manage2soar.com")
        self.assertEqual(r.rc, 67, r.stderr)
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.capture.recipients, ["alice@example.org"])


class Commands(harness.EnvTestCase):
    def test_lists_json(self):
        r = self.env.soarlist("lists", "--json")
        self.assertEqual(r.rc, 0, r.stderr)
        data = json.loads(r.stdout)
        by_addr = {e["address"]: e for e in data}
        self.assertEqual(len(data), 6)
        m = by_addr["members@ssc.manage2soar.com"]
        self.assertEqual((m["club"], m["list"], m["members"], m["posting"]),
                         ("ssc", "members", 3, "whitelist"))
        t = by_addr["treasurer@ssc.manage2soar.com"]
        self.assertEqual((t["members"], t["bypass"]), (1, True))
        self.assertEqual(by_addr["members@other.manage2soar.com"]["members"], 2)

    def test_lists_plain(self):
        r = self.env.soarlist("lists")
        self.assertEqual(r.rc, 0, r.stderr)
        rows = {l.split()[0]: l.split() for l in r.stdout.splitlines()[1:]}
        self.assertEqual(rows["members@ssc.manage2soar.com"][1], "3")
        self.assertEqual(rows["board@ssc.manage2soar.com"][1], "2")
        self.assertIn("anyone", rows["treasurer@ssc.manage2soar.com"])

    def test_members(self):
        r = self.env.soarlist("members", "members@SkylineSoaring.org")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(),
                         ["alice@example.org", "bob@example.com", "carol@example.net"])
        r = self.env.soarlist("members", "board@ssc.manage2soar.com", "--json")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(json.loads(r.stdout)), ["bob@example.com", "dora@example.org"])

    def test_members_unknown_list(self):
        r = self.env.soarlist("members", "nosuch@ssc.manage2soar.com")
        self.assertNotEqual(r.rc, 0)
        self.assertIn("nosuch@ssc.manage2soar.com", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_check(self):
        r = self.env.soarlist("check", "alice@example.org", LIST)
        self.assertEqual((r.rc, r.stdout.split(":")[0]), (0, "distribute"), r.stderr)
        r = self.env.soarlist("check", "x@stranger.example", LIST)
        self.assertEqual(r.rc, 1)
        self.assertIn("5.7.1 only members of Skyline Soaring Club may post to "
                      "members@ssc.manage2soar.com", r.stdout)
        r = self.env.soarlist("check", "x@stranger.example", "treasurer@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stdout)
        self.assertTrue(r.stdout.startswith("distribute"), r.stdout)
        r = self.env.soarlist("check", "zed@example.org", LIST)
        self.assertEqual(r.rc, 1, r.stdout)

    def test_check_unknown_list(self):
        r = self.env.soarlist("check", "alice@example.org", "nosuch@ssc.manage2soar.com")
        self.assertEqual(r.rc, 1, r.stdout + r.stderr)
        self.assertIn("nosuch@ssc.manage2soar.com", r.stdout + r.stderr)

    def test_help_and_version(self):
        for prog in (harness.SOARLIST, harness.DELIVER):
            name = os.path.basename(prog)
            with self.subTest(name):
                h = subprocess.run([prog, "--help"], capture_output=True, text=True)
                self.assertEqual(h.returncode, 0, h.stderr)
                self.assertIn("usage", h.stdout.lower())
                self.assertIn(name, h.stdout)
                v = subprocess.run([prog, "--version"], capture_output=True, text=True)
                self.assertEqual(v.returncode, 0, v.stderr)
                self.assertRegex(v.stdout, r"^%s \d+\.\d+\.\d+\n$" % name)

    def test_usage_errors_exit_64(self):
        for args in (["bogus"], ["--nope"], ["members"], ["check", "alice@example.org"],
                     ["lists", "--nope"], []):
            with self.subTest(args):
                r = self.env.soarlist(*args)
                self.assertEqual(r.rc, 64, r.stdout + r.stderr)
                self.assertNotEqual(r.stderr, "")

    def test_broken_config(self):
        self.env.write_config(lists={"ssc/board": {"posting": "sometimes"}})
        r = self.env.soarlist("lists")
        self.assertNotIn(r.rc, (0, 64))
        self.assertIn(self.env.config, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_admin_may_be_a_local_name(self):
        with open(self.env.config) as f:
            text = f.read()
        for admin, rc in (("postmaster", 0), ("list-admin@Example.ORG", 0),
                          ("-oQ/tmp", 78), ("a b", 78)):
            with self.subTest(admin):
                with open(self.env.config, "w") as f:
                    f.write(text.replace("admin = postmaster@manage2soar.com",
                                         "admin = %s" % admin))
                r = self.env.soarlist("lists")
                self.assertEqual(r.rc, rc, r.stderr)


if __name__ == "__main__":
    tap.main()
