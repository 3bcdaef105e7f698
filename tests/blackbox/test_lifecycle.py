"""test_lifecycle.py - a club suspended, removed and purged (issue 12).

Suspended (`state = suspended` in its [club] group): its data stays, a
sync leaves it alone (`sync CLUB` says why and exits 1), its addresses
stay in the Postfix tables so that the policy service refuses each RCPT
with one line (550 5.2.1) and the delivery agent refuses what gets past
it (77), a held post cannot be approved, and status, doctor, metrics and
health know it is not stale. Active again, it syncs and delivers.

Removed (its [club] group gone): the next sync drops its addresses from
the tables, its data stays until `soarlist purge`, which status and doctor
say. `purge` refuses a configured club, says what it would delete without
--yes and deletes nothing, and with --yes deletes every row of the club
(held posts included, even of a list gone before, or held before schema
13), its sync history and its archive, and nothing of another club.
"""
import copy
import json
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402
from test_postfix_tools import PostfixEnv  # noqa: E402

SSC = "ssc.manage2soar.com"
SSC2 = "skylinesoaring.org"
OTHER = "other.manage2soar.com"
STRANGER = "x@stranger.example"
LISTS = {"ssc/board": {"nonmember_action": "hold", "owners": "chair@example.org"},
         "ssc/instructors": {"nonmember_action": "hold"}}
SUSPENDED = "550 5.2.1 the lists of Skyline Soaring Club are suspended"


class Lifecycle(PostfixEnv):
    def setUp(self):
        super().setUp()
        self.archive = os.path.join(self.env.root, "archive")
        self.extra += "archive_dir = %s\n" % self.archive
        self.configure()
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)

    def configure(self, ssc="", clubs=None):
        self.env.write_config(extra=self.extra, lists=LISTS if clubs is None else {},
                              clubs=clubs, club_extra={"ssc": ssc})

    def suspend(self):
        self.configure(ssc="state = suspended")

    def remove_ssc(self):
        self.configure(clubs={"other": ("Other Gliding Club", OTHER)})

    def hold(self, msgid="<held@stranger.example>", to="board@" + SSC):
        msg = harness.post(from_=STRANGER, to=to, msgid=msgid)
        r = self.env.deliver(msg, to, sender=STRANGER)
        self.assertEqual(r.rc, 0, r.stderr)
        return self.env.query("SELECT max(id) FROM held_message")[0][0]

    def post(self, to="members@" + SSC, msgid="<m1@example.org>",
             from_="alice@example.org"):
        return self.env.deliver(harness.post(from_=from_, to=to, msgid=msgid), to,
                                sender=from_)

    def assert_status(self, heading, line, state):
        """soarlist status has HEADING and a LINE (regex) for ssc after its
        table, and --json gives ssc STATE."""
        r = self.env.soarlist("status")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn(heading, r.stdout)
        self.assertRegex(r.stdout, line)
        states = {c["club"]: c["state"] for c in json.loads(self.env.soarlist(
            "status", "--json").stdout)}
        self.assertEqual(states, {"ssc": state, "other": "active"})

    def write(self, sql, *args):
        con = sqlite3.connect(self.env.db)
        with con:
            con.execute(sql, args)
        con.close()

    def ssc_rows(self):
        """Every row of the database that belongs to ssc."""
        con = sqlite3.connect(self.env.db)
        (cid,), = con.execute("SELECT id FROM club WHERE slug = 'ssc'").fetchall() or [(0,)]
        got = {}
        for (table,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cols = [c[1] for c in con.execute("PRAGMA table_info(%s)" % table)]
            if "club_id" in cols:
                n = con.execute("SELECT count(*) FROM %s WHERE club_id = ?" % table,
                                (cid,)).fetchone()[0]
            elif "club_slug" in cols:
                n = con.execute("SELECT count(*) FROM %s WHERE club_slug = 'ssc'"
                                % table).fetchone()[0]
            elif table == "list_member":
                n = con.execute("SELECT count(*) FROM list_member WHERE list_id IN "
                                "(SELECT id FROM list WHERE club_id = ?)", (cid,)).fetchone()[0]
            elif table == "held_message":
                n = con.execute("SELECT count(*) FROM held_message WHERE lower(recipient) "
                                "LIKE '%@" + SSC + "'").fetchone()[0]
            elif table == "club":
                n = con.execute("SELECT count(*) FROM club WHERE slug = 'ssc'").fetchone()[0]
            else:
                continue
            if n:
                got[table] = n
        con.close()
        return got


class Suspended(Lifecycle):
    def test_refused_at_rcpt_with_one_line(self):
        self.suspend()
        for rcpt in ("members@" + SSC, "Board@" + SSC2, "members-owner@" + SSC,
                     "members-request@" + SSC):
            self.assertEqual(self.answer(sender="alice@example.org", recipient=rcpt),
                             SUSPENDED)
        # the other club is untouched
        self.assertEqual(self.answer(sender="yan@example.com",
                                     recipient="members@" + OTHER), "DUNNO")
        log = self.env.log_lines()
        self.assertTrue(any("action=reject" in l and "5.2.1" in l for l in log), log)

    def test_refused_by_the_agent(self):
        self.suspend()
        for rcpt in ("members@" + SSC, "board-owner@" + SSC2):
            r = self.post(to=rcpt)
            self.assertEqual(r.rc, 77, r.stderr)
            self.assertEqual(r.stderr.strip(), SUSPENDED[4:])
            self.assertEqual(r.captures, [])
        r = self.env.soarlist("check", "alice@example.org", "members@" + SSC)
        self.assertEqual(r.rc, 1, r.stderr)
        self.assertIn("5.2.1", r.stdout + r.stderr)

    def test_not_synced_and_data_kept(self):
        before = self.ssc_rows()
        answer = copy.deepcopy(harness.SSC_API)
        answer["lists"]["members"].append("newcomer@example.org")
        answer["lists"]["towpilots"] = ["tom@example.net"]
        self.env.write_api("ssc", answer)
        self.suspend()
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.ssc_rows(), before)
        r = self.env.soarlist("sync", "ssc")
        self.assertEqual(r.rc, 1)
        self.assertIn("club ssc is suspended", r.stderr)
        self.assertEqual(self.ssc_rows(), before)
        # its addresses stay in the tables: the policy service answers
        self.assertEqual(self.lookup("recipients", "members@" + SSC), "OK")
        self.assertIsNone(self.lookup("recipients", "towpilots@" + SSC))
        # active again: synced and delivered
        self.configure()
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.lookup("recipients", "towpilots@" + SSC), "OK")
        r = self.post()
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("newcomer@example.org", r.capture.recipients)

    def test_held_post_stays_held(self):
        held = self.hold()
        notices = len(self.env.captured())
        self.suspend()
        r = self.env.soarlist("approve", str(held))
        self.assertEqual(r.rc, 1, r.stderr)
        self.assertIn("the lists of Skyline Soaring Club are suspended", r.stderr)
        self.assertEqual(len(self.env.captured()), notices)
        self.assertEqual(self.env.query("SELECT id FROM held_message"), [(held,)])
        self.configure()
        r = self.env.soarlist("approve", str(held))
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.env.query("SELECT id FROM held_message"), [])

    def test_held_post_waits_while_suspended(self):
        # its moderators cannot approve it: it does not expire meanwhile
        held = self.hold()
        self.write("UPDATE held_message SET held_at = held_at - 30 * 86400")
        self.suspend()
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.env.query("SELECT id FROM held_message"), [(held,)])
        self.configure()
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.env.query("SELECT id FROM held_message"), [])

    def test_status_doctor_metrics_health(self):
        self.suspend()
        self.assert_status("Suspended clubs", r"\n  ssc +\d+ lists", "suspended")
        r = self.env.soarlist("doctor")
        self.assertIn("club ssc is suspended: not synced", r.stdout)
        self.assertNotIn("club ssc: last sync", r.stdout)
        # a suspended club's sync is never stale: metrics leave it out
        # and health does not judge it
        out = self.env.soarlist("metrics").stdout
        self.assertIn('soarlist_sync_age_seconds{club="other"}', out)
        self.assertNotIn('soarlist_sync_age_seconds{club="ssc"}', out)
        self.write("UPDATE sync_run SET finished_at = finished_at - 86400 "
                   "WHERE club_slug = 'ssc'")
        # (the queue is unknown here without a running Postfix: its
        # verdict is the e2e tests'; the sync age is in the perfdata)
        r = self.env.soarlist("health", "--sync-age", "3600,7200")
        self.assertLess(int(re.search(r"sync_age=(\d+)s", r.stdout).group(1)), 3600,
                        r.stdout)
        self.configure()
        r = self.env.soarlist("health", "--sync-age", "3600,7200")
        self.assertGreaterEqual(int(re.search(r"sync_age=(\d+)s", r.stdout).group(1)),
                                86400, r.stdout)
        self.assertIn("ssc", r.stdout)

    def test_bad_state_is_a_config_error(self):
        self.configure(ssc="state = retired")
        r = self.env.soarlist("status")
        self.assertEqual(r.rc, 78)
        self.assertIn("state = retired: expected active | suspended", r.stderr)
        r = self.post()
        self.assertEqual(r.rc, 75)


class Removed(Lifecycle):
    def setUp(self):
        super().setUp()
        self.held = self.hold()
        r = self.post()
        self.assertEqual(r.rc, 0, r.stderr)
        r = self.post(to="members@" + OTHER, msgid="<o1@example.org>",
                      from_="yan@example.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.other_archive = os.listdir(os.path.join(self.archive, "other", "members", "new"))
        self.assertEqual(len(self.other_archive), 1)

    def test_drops_out_of_the_tables_at_the_next_sync(self):
        self.remove_ssc()
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        for addr in ("members@" + SSC, "board@" + SSC2, "members-bounces@" + SSC):
            self.assertIsNone(self.lookup("recipients", addr), addr)
        self.assertIsNone(self.lookup("domains", SSC))
        self.assertEqual(self.lookup("recipients", "members@" + OTHER), "OK")
        r = self.post()
        self.assertEqual(r.rc, 67, r.stderr)
        # nothing deleted yet
        self.assertIn("held_message", self.ssc_rows())

    def test_the_last_club_removed(self):
        # a configuration without clubs is a server with no lists: sync
        # fetches nothing, succeeds, and empties the tables
        self.configure(clubs={})
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        for addr in ("members@" + SSC, "members@" + OTHER):
            self.assertIsNone(self.lookup("recipients", addr), addr)
        r = self.env.soarlist("purge", "--yes", "other")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("club other deleted", r.stdout)

    def test_status_and_doctor_show_it(self):
        self.remove_ssc()
        self.assert_status("Clubs removed from the config",
                           r"\n  ssc +\d+ lists, \d+ members, 1 held post\n", "removed")
        r = self.env.soarlist("doctor")
        self.assertEqual(r.rc, 1)
        self.assertIn("club ssc is not in %s but its data is kept" % self.env.config, r.stdout)
        self.assertIn("soarlist purge --yes ssc", r.stdout)

    def test_purge_refused_while_configured(self):
        before = self.ssc_rows()
        for ssc in ("", "state = suspended"):
            self.configure(ssc=ssc)
            r = self.env.soarlist("purge", "--yes", "ssc")
            self.assertEqual(r.rc, 1, r.stderr)
            self.assertIn("club ssc is still in", r.stderr)
        self.assertEqual(self.ssc_rows(), before)
        self.assertTrue(os.path.isdir(os.path.join(self.archive, "ssc")))

    def test_purge_says_what_without_yes_and_deletes_nothing(self):
        self.remove_ssc()
        before = self.ssc_rows()
        r = self.env.soarlist("purge", "ssc")
        self.assertEqual(r.rc, 1, r.stderr)
        self.assertIn("nothing deleted", r.stderr)
        self.assertIn("  1 held post\n", r.stdout)
        self.assertIn("  the archive %s/ssc (1 file)\n" % self.archive, r.stdout)
        self.assertRegex(r.stdout, r"  \d+ list memberships\n")
        self.assertEqual(self.ssc_rows(), before)
        self.assertTrue(os.path.isdir(os.path.join(self.archive, "ssc")))

    def test_purge_deletes_everything_of_the_club_only(self):
        other_before = self.env.query(
            "SELECT count(*) FROM list_member m JOIN list l ON l.id = m.list_id "
            "JOIN club c ON c.id = l.club_id WHERE c.slug = 'other'")
        # a held post whose list a sync removed, one held before schema 13
        # (no club_id), and a bounce score
        gone = self.hold(msgid="<gone@stranger.example>", to="instructors@" + SSC)
        self.write("UPDATE held_message SET club_id = NULL WHERE id = ?", self.held)
        self.write("INSERT INTO bounce_score (club_id, address, day, status, at) "
                       "SELECT id, 'alice@example.org', 1, '5.1.1', 86400 FROM club "
                       "WHERE slug = 'ssc'")
        answer = copy.deepcopy(harness.SSC_API)
        del answer["lists"]["instructors"]
        self.env.write_api("ssc", answer)
        r = self.env.soarlist("sync", "--force")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.env.query("SELECT list_id FROM held_message WHERE id = ?",
                                        gone), [(None,)])
        self.remove_ssc()
        self.assertEqual(self.env.soarlist("sync").rc, 0)
        r = self.env.soarlist("purge", "--yes", "ssc")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("  2 held posts\n", r.stdout)
        self.assertIn("  1 bounce record\n", r.stdout)
        self.assertIn("club ssc deleted", r.stdout)
        self.assertEqual(self.ssc_rows(), {})
        self.assertFalse(os.path.exists(os.path.join(self.archive, "ssc")))
        self.assertTrue(any("purge club=ssc" in l and "status=ok" in l
                            for l in self.env.log_lines()))
        # the other club keeps everything
        self.assertEqual(self.env.query(
            "SELECT count(*) FROM list_member m JOIN list l ON l.id = m.list_id "
            "JOIN club c ON c.id = l.club_id WHERE c.slug = 'other'"), other_before)
        self.assertEqual(os.listdir(os.path.join(self.archive, "other", "members", "new")),
                         self.other_archive)
        # status and doctor no longer name it; a second purge finds nothing
        self.assertNotIn("ssc", self.env.soarlist("status").stdout)
        self.assertNotIn("club ssc", self.env.soarlist("doctor").stdout)
        r = self.env.soarlist("purge", "--yes", "ssc")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("keeps nothing of club ssc", r.stdout)

    def test_purge_never_follows_a_link(self):
        self.remove_ssc()
        outside = os.path.join(self.env.root, "outside")
        os.mkdir(outside)
        with open(os.path.join(outside, "keep"), "w") as f:
            f.write("not the archive's\n")
        os.symlink(outside, os.path.join(self.archive, "ssc", "members", "link"))
        r = self.env.soarlist("purge", "--yes", "ssc")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertFalse(os.path.lexists(os.path.join(self.archive, "ssc")))
        self.assertTrue(os.path.exists(os.path.join(outside, "keep")))


if __name__ == "__main__":
    tap.main()
