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
        # distinct addresses: Bob@Example.com and bob@example.com are one
        # member, the household's carol@example.net one whitelist entry
        self.assertEqual(r.stdout.splitlines(), [
            "ssc: 5 lists, 6 members, 5 whitelisted, 0 invalid dropped, 0 added, 0 removed",
            "other: 1 lists, 2 members, 2 whitelisted, 0 invalid dropped, 0 added, 0 removed"])
        # the webmaster's "Board Members" is named, on every run
        self.assertEqual(r.stderr.splitlines(), [
            'soarlist: sync ssc: list "Board Members" has no address, its posts '
            'cannot be delivered: it contains a space; rename the list at M2S, '
            'e.g. to board-members'])

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
        self.assertIn("ssc: 5 lists, 7 members, 5 whitelisted, 0 invalid dropped, "
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
        # as M2S spelled them (the domain lowercased), the household once
        self.assertEqual(r.stdout.splitlines(),
                         ["alice@example.org", "Bob@example.com", "carol@example.net"])
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



# Every subcommand with arguments it accepts (a held post's id is filled in
# by the test that needs one); the exit statuses of DESIGN.md are the same
# for all of them: 0 done, 1 done with a problem, 64 usage, 75 temporary,
# 78 configuration.
SUBCOMMANDS = {
    "sync": [], "status": [], "lists": [], "members": [LIST],
    "check": ["alice@example.org", LIST], "held": [], "approve": ["1"],
    "reject": ["1"], "discard": ["1"], "archive": ["export", LIST],
    "bounces": [], "doctor": [], "policy": [], "postfix-maps": [],
}


class ExitStatus(harness.EnvTestCase):
    lists = {"ssc/board": {"nonmember_action": "hold"}}

    def run_cmd(self, *args, timeout=120):
        """soarlist -c CONFIG ARGS with stdin from /dev/null (policy reads
        it): (status, stdout, stderr, seconds)."""
        import time
        t = time.monotonic()
        p = subprocess.run([harness.SOARLIST, "-c", self.env.config] + list(args),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, p.stdout, p.stderr, time.monotonic() - t

    def test_bad_option_is_64_for_every_subcommand(self):
        for cmd, args in SUBCOMMANDS.items():
            with self.subTest(cmd):
                rc, out, err, _ = self.run_cmd(cmd, "--no-such-option", *args)
                self.assertEqual(rc, 64, err)
                self.assertEqual(out, "")
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn("--no-such-option", err)

    def test_broken_config_is_78_for_every_subcommand(self):
        self.env.write_config(lists={"ssc/board": {"posting": "sometimes"}})
        for cmd, args in SUBCOMMANDS.items():
            with self.subTest(cmd):
                rc, out, err, _ = self.run_cmd(cmd, *args)
                self.assertEqual(rc, 78, out + err)
                if cmd != "policy":  # its stderr is smtpd's: it logs instead
                    self.assertIn(self.env.config, out + err)

    def test_missing_config_is_78(self):
        os.unlink(self.env.config)
        for cmd in ("sync", "status", "lists"):
            with self.subTest(cmd):
                rc, _, err, _ = self.run_cmd(cmd)
                self.assertEqual(rc, 78, err)
                self.assertIn(self.env.config, err)

    def test_database_that_cannot_be_opened_is_78(self):
        # a configuration error too: the database key names a place this
        # user cannot create the file in
        with open(self.env.config) as f:
            text = f.read()
        with open(self.env.config, "w") as f:
            f.write(text.replace("database = %s" % self.env.db,
                                 "database = %s/missing/soarlist.db" % self.env.root))
        for cmd in ("sync", "status", "lists"):
            with self.subTest(cmd):
                rc, _, err, _ = self.run_cmd(cmd)
                self.assertEqual(rc, 78, err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertIn("missing/soarlist.db", err)
                self.assertIn("check database in the [soarlist] section", err)

    def test_database_locked_by_another_process(self):
        """A writer waits out the busy timeout, then exits 75 (run it again
        later) with one line; in WAL mode a reader is not blocked at all and
        answers as it would without the lock."""
        import sqlite3
        # a writer gives up after busy_timeout (10 s by default; the
        # setting is what lets this test wait 0.3 s a time)
        self.env.write_config(lists=self.lists, extra="busy_timeout = 300ms")
        held = self.env.deliver(post(from_="x@stranger.example",
                                     to="board@ssc.manage2soar.com"),
                                "board@ssc.manage2soar.com", sender="x@stranger.example")
        self.assertEqual(held.rc, 0, held.stderr)
        held_id = str(self.env.query("SELECT id FROM held_message")[0][0])
        readers = [["status"], ["status", "--json"], ["lists"], ["members", LIST],
                   ["check", "alice@example.org", LIST],
                   ["check", "x@stranger.example", LIST], ["held"], ["bounces"]]
        import re

        def answer(args):
            # status shows ages, which move on while the test runs
            rc, out, err, secs = self.run_cmd(*args)
            out = re.sub(r'\b\d+s\b|"age_seconds":\s*\d+', "AGE", out)
            return rc, out, err, secs

        unlocked = {tuple(a): answer(a)[:2] for a in readers}
        con = sqlite3.connect(self.env.db, isolation_level=None, timeout=0)
        self.addCleanup(con.close)
        con.execute("BEGIN EXCLUSIVE")
        try:
            for args in readers:
                with self.subTest(args):
                    rc, out, err, secs = answer(args)
                    self.assertEqual((rc, out), unlocked[tuple(args)], err)
                    self.assertLess(secs, 5, "a reader waited for the writer's lock")
            for args in (["sync", "other"], ["bounces", "reset", "bob@example.com"]):
                with self.subTest(args):
                    rc, out, err, _ = self.run_cmd(*args)
                    self.assertEqual(rc, 75, out + err)
                    self.assertIn("locked", err)
                    self.assertIn("run the command again later", err)
            # approve goes through the delivery path, which defers (75)
            rc, out, err, _ = self.run_cmd("approve", held_id)
            self.assertEqual(rc, 75, out + err)
            self.assertIn("the post stays held", err)
            self.assertIn("run the command again later", err)
        finally:
            con.execute("ROLLBACK")
        # nothing was lost: the held post is still there to approve
        self.assertEqual(self.run_cmd("approve", held_id)[0], 0)
        self.assertEqual(self.run_cmd("sync", "other")[0], 0)


class UnusableListNames(harness.EnvTestCase):
    """M2S lets a webmaster name a list "Board Members": it cannot have an
    address, and sync, status (text and JSON) and doctor say so by name
    until M2S renames it."""

    LINE = ('soarlist: sync ssc: list "Board Members" has no address, its posts '
            'cannot be delivered: it contains a space; rename the list at M2S, '
            'e.g. to board-members')
    DOCTOR = ('FAIL  club ssc: M2S list "Board Members" has no address (it contains '
              'a space), its posts cannot be delivered; fix: rename the list at M2S, '
              'e.g. to board-members, then soarlist sync')

    def status_json(self):
        r = self.env.soarlist("status", "--json")
        self.assertEqual(r.rc, 0, r.stderr)
        return {c["club"]: c["unusable_lists"] for c in json.loads(r.stdout)}

    def test_sync_names_it_on_every_run(self):
        for args in (["sync"], ["sync", "--quiet"], ["sync", "--dry-run"], ["sync", "ssc"]):
            with self.subTest(args):
                r = self.env.soarlist(*args)
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertEqual(r.stderr.splitlines(), [self.LINE])
        self.assertEqual(self.env.query("SELECT name, reason, rename FROM unusable_list"),
                         [("Board Members", "it contains a space", "board-members")])

    def test_status_and_json(self):
        r = self.env.soarlist("status")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn('\n  ssc              "Board Members": it contains a space; '
                      'rename the list at M2S, e.g. to board-members\n', r.stdout)
        self.assertEqual(self.status_json(), {
            "ssc": [{"name": "Board Members", "reason": "it contains a space",
                     "fix": "rename the list at M2S, e.g. to board-members"}],
            "other": []})

    def test_doctor(self):
        r = self.env.soarlist("doctor")
        self.assertNotEqual(r.rc, 0, r.stdout)
        self.assertIn(self.DOCTOR, r.stdout.splitlines(), r.stdout)

    def test_renamed_at_m2s(self):
        # the webmaster renames it: the list works, every report is clear
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["board-members"] = api["lists"].pop("Board Members")
        self.env.write_api("ssc", api)
        r = self.env.soarlist("sync")
        self.assertEqual((r.rc, r.stderr), (0, ""), r.stdout)
        self.assertIn("ssc: 6 lists,", r.stdout)
        self.assertEqual(self.status_json(), {"ssc": [], "other": []})
        self.assertNotIn("Lists M2S names", self.env.soarlist("status").stdout)
        d = self.env.soarlist("doctor").stdout
        self.assertNotIn("Board Members", d)
        self.assertIn("OK    list names: every list M2S names has an address (2 clubs)",
                      d.splitlines())
        m = self.env.soarlist("members", "board-members@ssc.manage2soar.com")
        self.assertEqual(m.stdout.splitlines(), ["Bob@example.com", "dora@example.org"])

    def test_kept_while_a_sync_fails(self):
        # a failed sync says nothing new about the lists: the report stays
        self.env.write_api("ssc", "{not json")
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 1, r.stderr)
        self.assertEqual(len(self.status_json()["ssc"]), 1)

    def test_several_names_each_reported(self):
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["Tow Pilots"] = ["tom@example.net"]
        api["lists"]["board-owner"] = []
        self.env.write_api("ssc", api)
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 3, r.stderr)
        for name in ("Board Members", "Tow Pilots", "board-owner"):
            self.assertIn('list "%s" has no address' % name, r.stderr)
        self.assertEqual([u["name"] for u in self.status_json()["ssc"]],
                         ["Board Members", "Tow Pilots", "board-owner"])
        self.assertIn("ends in -owner", self.env.soarlist("status").stdout)


class ObjectForm(harness.EnvTestCase):
    def test_object_form_of_a_list_is_accepted(self):
        # documented by M2S ({"description", "count", "emails"}), never sent
        api = copy.deepcopy(harness.SSC_API)
        api["lists"]["instructors"] = {"description": "Flight instructors", "count": 2,
                                       "emails": ["ivan@example.org", "Ina@Example.org"]}
        self.env.write_api("ssc", api)
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        lists = {l["address"]: l for l in json.loads(self.env.soarlist("lists", "--json").stdout)}
        i = lists["instructors@ssc.manage2soar.com"]
        self.assertEqual((i["description"], i["members"]), ("Flight instructors", 2))
        m = self.env.soarlist("members", "instructors@ssc.manage2soar.com")
        self.assertEqual(m.stdout.splitlines(), ["Ina@example.org", "ivan@example.org"])

if __name__ == "__main__":
    tap.main()
