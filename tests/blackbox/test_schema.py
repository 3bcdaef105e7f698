"""test_schema.py - the database is created and migrated by soarlist only,
migration by migration in order, from any older version; the delivery agent
refuses (75) a database that is not at the current version."""
import os
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

SCHEMA = os.path.join(os.path.dirname(__file__), "..", "..", "schema")


def migrations():
    return sorted(n for n in os.listdir(SCHEMA) if n.endswith(".sql"))


class Migrations(harness.EnvTestCase):
    def setUp(self):
        self.env = harness.Env()
        self.addCleanup(self.env.cleanup)
        self.env.write_api("ssc", harness.SSC_API)
        self.env.write_api("other", harness.OTHER_API)
        self.env.write_config()

    def version(self):
        return self.env.query("PRAGMA user_version")[0][0]

    def test_fresh_database_gets_every_migration(self):
        self.assertEqual(self.env.soarlist("sync").rc, 0)
        self.assertEqual(self.version(), len(migrations()))
        cols = [r[1] for r in self.env.query("PRAGMA table_info(sync_run)")]
        self.assertIn("http_status", cols)

    def test_upgrade_from_version_1_keeps_the_data(self):
        # a database as the first release left it: migration 001 only
        con = sqlite3.connect(self.env.db)
        with open(os.path.join(SCHEMA, migrations()[0])) as f:
            con.executescript(f.read())
        con.execute("PRAGMA user_version = 1")
        con.execute("INSERT INTO club (slug, name) VALUES ('ssc', 'Skyline Soaring Club')")
        con.execute("INSERT INTO list (club_id, name) VALUES (1, 'members')")
        con.execute("INSERT INTO list_member VALUES (1, 'alice@example.org')")
        con.commit()
        con.close()
        # the delivery agent never migrates: it defers
        r = self.env.deliver(harness.post(), "members@ssc.manage2soar.com")
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertIn("schema version 1", r.stderr)
        r = self.env.soarlist("members", "members@ssc.manage2soar.com")
        self.assertEqual((r.rc, r.stdout), (0, "alice@example.org\n"), r.stderr)
        self.assertEqual(self.version(), len(migrations()))
        self.assertEqual(self.env.query("SELECT count(*) FROM recent_message"), [(0,)])

    def test_upgrade_to_6_reports_names_of_an_unchanged_answer(self):
        # a database synced before version 6, whose stored answer is the
        # one M2S still sends: the first sync after the upgrade must still
        # find "Board Members", not skip the answer as unchanged
        self.assertEqual(self.env.soarlist("sync").rc, 0)
        con = sqlite3.connect(self.env.db)
        con.execute("DROP TABLE unusable_list")
        # and what the later migrations added (007: claims on held posts;
        # 008: the bounce key, unverified bounces)
        con.execute("ALTER TABLE held_message DROP COLUMN claimed_by")
        con.execute("ALTER TABLE held_message DROP COLUMN claimed_at")
        # (013: the club of each held post)
        con.execute("DROP INDEX held_message_club")
        con.execute("ALTER TABLE held_message DROP COLUMN club_id")
        con.execute("DROP TABLE bounce_key")
        con.execute("DROP TABLE bounce_unverified")
        # (009: claims per list instead of per-address copies)
        con.execute("DROP INDEX recent_message_id")
        con.execute("CREATE TABLE recipient_copy (club_id INTEGER NOT NULL, "
                    "message_id TEXT NOT NULL, address TEXT NOT NULL, state TEXT "
                    "NOT NULL, owner TEXT NOT NULL, at INTEGER NOT NULL, "
                    "PRIMARY KEY (club_id, message_id, address)) WITHOUT ROWID")
        con.execute("PRAGMA user_version = 5")
        con.commit()
        con.close()
        self.assertTrue(self.env.query("SELECT answer_sha256 FROM club WHERE slug = 'ssc'")[0][0])
        r = self.env.soarlist("sync")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.version(), len(migrations()))
        self.assertIn('list "Board Members" has no address', r.stderr)
        self.assertEqual(self.env.query("SELECT name FROM unusable_list"), [("Board Members",)])

    def test_newer_database_refused(self):
        self.assertEqual(self.env.soarlist("sync").rc, 0)
        con = sqlite3.connect(self.env.db)
        con.execute("PRAGMA user_version = 99")
        con.commit()
        con.close()
        r = self.env.soarlist("lists")
        self.assertEqual(r.rc, 1)
        self.assertIn("newer than this soarlist", r.stderr)
        r = self.env.deliver(harness.post(), "members@ssc.manage2soar.com")
        self.assertEqual(r.rc, 75)


if __name__ == "__main__":
    tap.main()
