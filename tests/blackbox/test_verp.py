"""test_verp.py - verp = always | probe | never (soarlist.conf(5)): what a
bounce that is not confirmed by VERP may do in each mode, the probe that
confirms it, the list probe after a verified bounce naming nobody, what
`soarlist bounces` and `soarlist lists --json` show (Verp); and the
sendmail runs a post makes in each mode, the probe run first, and what a
failed run leaves behind (Posts).

The DSNs are test_bounces.py's, with the proof token of the database's
key, sent to the plain LIST-bounces@DOMAIN (attributed from the DSN:
unconfirmed) or to LIST-bounces+user=host@DOMAIN (confirmed).
"""
import json
import os
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402
import test_bounces as tb  # noqa: E402

BOB = "bob@example.com"


class Base(harness.EnvTestCase):
    """The helpers of both test classes."""

    def setUp(self):
        super().setUp()
        self.club = self.env.query("SELECT id FROM club WHERE slug = 'ssc'")[0][0]
        tb.KEY = self.env.query("SELECT secret FROM bounce_key")[0][0]
        self.addCleanup(setattr, tb, "KEY", None)

    def set_verp(self, mode, lists=None):
        self.env.write_config(extra="verp = %s" % mode if mode else "", lists=lists)

    def bounce(self, dsn, to):
        r = self.env.deliver(dsn, to, sender="")
        self.assertEqual(r.rc, 0, r.stderr)
        return self.env.deliver_log_lines()[-1]

    def bare(self, rcpt, msgid="<p1@example.org>"):
        """A verified Postfix DSN for RCPT to the plain bounce address."""
        return self.bounce(tb.postfix_dsn(rcpt, to=tb.BARE, msgid=msgid), tb.BARE)

    def confirmed(self, rcpt, msgid="<p1@example.org>"):
        return self.bounce(tb.postfix_dsn(rcpt, msgid=msgid), tb.verp(rcpt))

    def add_scores(self, address, days_ago):
        now = int(time.time())
        con = sqlite3.connect(self.env.db)
        with con:
            for d in days_ago:
                con.execute("INSERT INTO bounce_score (club_id, address, day, status, "
                            "message_id, diagnostic, at) VALUES (?, ?, ?, '5.1.1', ?, "
                            "'smtp; 550 earlier', ?)",
                            (self.club, address, now // 86400 - d, "old%d@x" % d,
                             now - d * 86400))
        con.close()

    def sql(self, text, *args):
        con = sqlite3.connect(self.env.db)
        with con:
            con.execute(text, args)
        con.close()

    def disabled(self):
        return [r[0] for r in self.env.query("SELECT address FROM disabled_address")]

    def probes(self):
        return self.env.query("SELECT address, status, message_id, sent_at IS NOT NULL "
                              "FROM verp_probe ORDER BY address")

    def list_probes(self):
        return self.env.query("SELECT list, message_id, sent_at IS NOT NULL "
                              "FROM verp_probe_list ORDER BY list")


class Verp(Base):
    """The setting, and the bounce side of each mode."""

    # ------------------------------------------------------ the setting

    def test_lists_json_shows_the_effective_setting(self):
        self.env.write_config(lists={"ssc/board": {"verp": "always"}},
                              club_extra={"other": "verp = never"})
        r = self.env.soarlist("lists", "--json")
        self.assertEqual(r.rc, 0, r.stderr)
        got = {(o["club"], o["list"]): o["verp"] for o in json.loads(r.stdout)}
        self.assertEqual(got[("ssc", "members")], "probe")  # the default
        self.assertEqual(got[("ssc", "board")], "always")   # the list's
        self.assertEqual(got[("other", "members")], "never")  # the club's
        self.env.write_config(extra="verp = never", lists={"ssc/board": {"verp": "probe"}})
        got = {(o["club"], o["list"]): o["verp"]
               for o in json.loads(self.env.soarlist("lists", "--json").stdout)}
        self.assertEqual(got[("ssc", "members")], "never")  # the global one
        self.assertEqual(got[("ssc", "board")], "probe")

    def test_unknown_value_is_a_configuration_error(self):
        for group in ("global", "club", "list"):
            with self.subTest(group=group):
                self.env.write_config(
                    extra="verp = sometimes" if group == "global" else "",
                    club_extra={"ssc": "verp = sometimes"} if group == "club" else None,
                    lists={"ssc/board": {"verp": "sometimes"}} if group == "list" else None)
                r = self.env.soarlist("lists")
                self.assertEqual(r.rc, 78, r.stderr)
                self.assertIn("verp = sometimes: expected probe | always | never", r.stderr)

    # ---------------------------------------- unconfirmed at the threshold

    def test_probe_unconfirmed_bounce_at_threshold_marks_instead_of_disabling(self):
        self.add_scores(BOB, [1, 2, 3, 4])
        line = self.bare(BOB)
        self.assertIn("decision=bounce-scored ", line)
        self.assertIn("bob@example.com 5.1.1 scored 5 of 5, unconfirmed: its next post "
                      "is a VERP probe", line)
        self.assertEqual(self.disabled(), [])
        self.assertEqual(self.probes(), [(BOB, "5.1.1", "p1@example.org", 0)])
        r = self.env.soarlist("bounces")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("scores 5", r.stdout)
        self.assertIn("probe pending", r.stdout)

    def test_probe_unconfirmed_bounce_below_threshold_only_scores(self):
        self.add_scores(BOB, [1, 2])
        line = self.bare(BOB)
        self.assertIn("scored 3 of 5", line)
        self.assertNotIn("probe", line)
        self.assertEqual(self.probes(), [])

    def test_never_and_always_disable_on_the_dsn_alone(self):
        for mode in ("never", "always"):
            with self.subTest(mode=mode):
                self.sql("DELETE FROM bounce_score")
                self.sql("DELETE FROM disabled_address")
                self.set_verp(mode)
                self.add_scores(BOB, [1, 2, 3, 4])
                line = self.bare(BOB, msgid="<%s@example.org>" % mode)
                self.assertIn("decision=bounce-disabled ", line)
                self.assertEqual(self.disabled(), [BOB])
                self.assertEqual(self.probes(), [])

    def test_the_bouncing_lists_setting_decides(self):
        # members@ says never; the same unconfirmed bounce disables
        self.set_verp(None, lists={"ssc/members": {"verp": "never"}})
        self.add_scores(BOB, [1, 2, 3, 4])
        self.assertIn("decision=bounce-disabled ", self.bare(BOB))

    # ------------------------------------------------ the probe answered

    def test_confirmed_bounce_of_the_probe_disables_the_same_day(self):
        self.add_scores(BOB, [1, 2, 3, 4])
        self.bare(BOB)
        self.sql("UPDATE verp_probe SET sent_at = strftime('%s', 'now')")
        r = self.env.soarlist("bounces")
        self.assertIn("probe sent ", r.stdout)
        # the probe's bounce comes the same day: already scored today, yet
        # it is the confirmation the probe asked for
        line = self.confirmed(BOB, msgid="<probe@example.org>")
        self.assertIn("decision=bounce-disabled ", line)
        self.assertIn("disabled after 5 bounces (confirmed by a VERP probe)", line)
        self.assertEqual(self.disabled(), [BOB])
        self.assertEqual(self.probes(), [])

    def test_confirmed_bounce_without_a_probe_sent_counts_once_a_day(self):
        self.add_scores(BOB, [1, 2, 3, 4])
        self.bare(BOB)  # marked, not sent yet
        line = self.confirmed(BOB, msgid="<p2@example.org>")
        self.assertIn("decision=bounce-ignored ", line)
        self.assertIn("already scored today", line)
        self.assertEqual(self.disabled(), [])

    def test_confirmed_bounce_at_threshold_disables_in_probe_mode(self):
        self.add_scores(BOB, [1, 2, 3, 4])
        line = self.confirmed(BOB)
        self.assertIn("decision=bounce-disabled ", line)
        self.assertEqual(self.disabled(), [BOB])

    def test_reset_forgets_the_probe(self):
        self.add_scores(BOB, [1, 2, 3, 4])
        self.bare(BOB)
        r = self.env.soarlist("bounces", "reset", BOB)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.probes(), [])

    def test_a_mark_older_than_the_window_is_gone(self):
        self.add_scores(BOB, [1, 2, 3, 4])
        self.bare(BOB)
        self.sql("UPDATE verp_probe SET at = at - 31 * 86400")
        self.assertNotIn("probe", self.env.soarlist("bounces").stdout)
        self.bare("carol@example.net", msgid="<p3@example.org>")  # cleans up
        self.assertEqual(self.probes(), [])

    def test_list_problem_takes_back_the_marks_of_its_post(self):
        for a in ("alice@example.org", "dora@example.org"):
            self.add_scores(a, [1, 2, 3, 4])
            self.bare(a)
        self.assertEqual(len(self.probes()), 2)
        # a third member at example.org refusing the same post the same way
        line = self.bare("ivan@example.org")
        self.assertIn("list problem", line)
        self.assertEqual(self.probes(), [])

    # ------------------------------------ one DSN naming several members

    def test_a_dsn_listing_several_members_scores_each(self):
        # a post sent without VERP: Postfix reports every failed
        # recipient of it in one notice
        dsn = tb.postfix_dsn([(BOB, "5.1.1", "failed"),
                              ("carol@example.net", "5.2.2", "failed"),
                              ("alice@example.org", "4.2.2", "delayed"),
                              ("dora@example.org", "5.7.1", "failed")], to=tb.BARE)
        line = self.bounce(dsn, tb.BARE)
        self.assertIn("decision=bounce-scored ", line)
        self.assertIn("bob@example.com 5.1.1 scored 1 of 5; carol@example.net 5.2.2 "
                      "scored 1 of 5; dora@example.org 5.7.1 not a mailbox failure", line)
        self.assertEqual(self.env.query("SELECT address, status FROM bounce_score "
                                        "ORDER BY address"),
                         [(BOB, "5.1.1"), ("carol@example.net", "5.2.2")])

    def test_a_dsn_listing_several_members_at_the_threshold(self):
        self.add_scores(BOB, [1, 2, 3, 4])
        self.add_scores("carol@example.net", [1, 2, 3, 4])
        dsn = tb.postfix_dsn([(BOB, "5.1.1", "failed"),
                              ("carol@example.net", "5.1.1", "failed")], to=tb.BARE)
        line = self.bounce(dsn, tb.BARE)
        self.assertIn("unconfirmed", line)
        self.assertEqual([p[0] for p in self.probes()], [BOB, "carol@example.net"])
        self.assertEqual(self.disabled(), [])
        self.set_verp("never")
        self.sql("DELETE FROM bounce_score WHERE day = strftime('%s', 'now') / 86400")
        line = self.bounce(dsn, tb.BARE)
        self.assertIn("decision=bounce-disabled ", line)
        self.assertEqual(sorted(self.disabled()), [BOB, "carol@example.net"])
        self.assertEqual(self.probes(), [])

    def test_a_verp_dsn_scores_only_its_member(self):
        dsn = tb.postfix_dsn([(BOB, "5.1.1", "failed"),
                              ("carol@example.net", "5.1.1", "failed")], to=tb.verp(BOB))
        self.bounce(dsn, tb.verp(BOB))
        self.assertEqual(self.env.query("SELECT address FROM bounce_score"), [(BOB,)])

    # --------------------------------------- a verified bounce naming nobody

    def test_verified_bounce_naming_no_member_probes_the_list(self):
        line = self.bare("forwarded@elsewhere.example")
        self.assertIn("decision=bounce-ignored ", line)
        self.assertIn("forwarded@elsewhere.example 5.1.1 names no member of the club: the "
                      "list's next post is a VERP probe to every member", line)
        self.assertEqual(self.list_probes(), [("members", "p1@example.org", 0)])
        self.assertEqual(self.env.query("SELECT count(*) FROM bounce_score")[0][0], 0)
        r = self.env.soarlist("bounces")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("VERP probes of whole lists", r.stdout)
        self.assertIn("members", r.stdout)
        self.assertIn("pending: the next post", r.stdout)
        self.assertNotIn("No bounces.", r.stdout)
        # the list of another club shows none
        r = self.env.soarlist("bounces", "members@other.manage2soar.com")
        self.assertEqual(r.stdout, "No bounces.\n")

    def test_verified_text_bounce_naming_no_member_probes_the_list_too(self):
        # a DSN in free text (Exim's) naming only a forwarding address: no
        # DSN to soarlist, forwarded to the owners as ever, and the list
        # probed since it answers a post of the list
        dsn = tb.exim_dsn("forwarded@elsewhere.example", to=tb.BARE)
        for mode, marked in (("never", []), ("always", []),
                             (None, [("members", "p1@example.org", 0)])):
            with self.subTest(mode=mode):
                self.set_verp(mode)
                r = self.env.deliver(dsn, tb.BARE, sender="")
                self.assertEqual(r.rc, 0, r.stderr)
                self.assertEqual([c.recipients for c in r.captures], [[tb.ADMIN]])
                self.assertIn("decision=bounce-forward ", self.env.deliver_log_lines()[-1])
                self.assertEqual(self.list_probes(), marked)
        self.assertIn("a verified bounce names no member of the club",
                      "\n".join(self.env.deliver_log_lines()))
        # without the proof: forwarded, nothing marked
        self.sql("DELETE FROM verp_probe_list")
        r = self.env.deliver(tb.retoken(dsn, "<p1@example.org>"), tb.BARE, sender="")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.list_probes(), [])

    def test_unverified_bounce_naming_no_member_marks_nothing(self):
        dsn = tb.retoken(tb.postfix_dsn("forwarded@elsewhere.example", to=tb.BARE),
                         "<p1@example.org>")
        line = self.bounce(dsn, tb.BARE)
        self.assertIn("decision=bounce-unverified ", line)
        self.assertEqual(self.list_probes(), [])

    def test_never_scores_the_named_address_as_before(self):
        self.set_verp("never")
        line = self.bare("forwarded@elsewhere.example")
        self.assertIn("decision=bounce-scored ", line)
        self.assertEqual(self.list_probes(), [])

    def test_policy_refusal_naming_no_member_marks_nothing(self):
        line = self.bounce(tb.postfix_dsn("forwarded@elsewhere.example", status="5.7.1",
                                          to=tb.BARE), tb.BARE)
        self.assertNotIn("names no member", line)
        self.assertEqual(self.list_probes(), [])


# the capturing sendmail of harness.py, failing (75, nothing captured) when
# the file fail-yes (a run with -XV) or fail-no (a run without) exists
FLAKY_SENDMAIL = """#!/bin/sh
d="{cap}/$(date +%s%N)-$$"
verp=no
for a in "$@"; do [ "$a" = -XV ] && verp=yes; done
mkdir -p "$d"
for a in "$@"; do printf '%s\\0' "$a"; done > "$d/argv"
cat > "$d/stdin"
if [ -f "{root}/fail-$verp" ]; then rm -rf "$d"; exit 75; fi
exit 0
"""

MEMBERS = ["alice@example.org", "Bob@example.com", "carol@example.net"]


class Posts(Base):
    """What sendmail is asked for a post in each mode (the capturing
    sendmail of harness.py: one capture per run, in the order of the
    runs)."""

    def post(self, to=tb.LIST, want_rc=0):
        r = self.env.deliver(harness.uniq_post(to=to), to)
        self.assertEqual(r.rc, want_rc, r.stderr)
        return [c.argv for c in r.captures]

    def mark(self, address=BOB):
        self.add_scores(address.lower(), [1, 2, 3, 4])
        self.bare(address.lower())
        self.assertEqual([p[0] for p in self.probes()], [address.lower()])

    def sent_at(self):
        return self.env.query("SELECT sent_at FROM verp_probe")

    def test_each_mode_runs_sendmail_once(self):
        plain = ["-i", "-f", tb.BARE, "--"] + MEMBERS
        verp = ["-i", "-f", tb.BARE, "-XV", "--"] + MEMBERS
        for mode, want in ((None, plain), ("probe", plain), ("never", plain),
                           ("always", verp)):
            with self.subTest(mode=mode):
                self.set_verp(mode)
                self.assertEqual(self.post(), [want])

    def test_a_marked_address_gets_the_next_post_alone_with_verp(self):
        self.mark()
        self.assertIn("probe pending", self.env.soarlist("bounces").stdout)
        runs = self.post()
        # the probe first, then the plain run for the others
        self.assertEqual(runs, [["-i", "-f", tb.BARE, "-XV", "--", "Bob@example.com"],
                                ["-i", "-f", tb.BARE, "--", "alice@example.org",
                                 "carol@example.net"]])
        self.assertEqual(len(self.sent_at()), 1)
        self.assertIsNotNone(self.sent_at()[0][0])
        self.assertIn("probe sent", self.env.soarlist("bounces").stdout)
        self.assertIn("decision=distribute recipients=3 ", self.env.deliver_log_lines()[-1])
        # once: the next post is plain again
        self.assertEqual(self.post(), [["-i", "-f", tb.BARE, "--"] + MEMBERS])

    def test_the_probe_goes_with_the_next_post_of_any_list_of_the_club(self):
        self.mark()
        board = "board@ssc.manage2soar.com"
        runs = self.post(to=board)
        self.assertEqual(runs, [["-i", "-f", "board-bounces@ssc.manage2soar.com", "-XV", "--",
                                 "bob@example.com"],
                                ["-i", "-f", "board-bounces@ssc.manage2soar.com", "--",
                                 "dora@example.org"]])

    def test_the_lists_setting_decides_at_sending_time(self):
        self.mark()
        for mode, want in (("never", [["-i", "-f", tb.BARE, "--"] + MEMBERS]),
                           ("always", [["-i", "-f", tb.BARE, "-XV", "--"] + MEMBERS])):
            with self.subTest(mode=mode):
                self.set_verp(None, lists={"ssc/members": {"verp": mode}})
                self.assertEqual(self.post(), want)
                self.assertEqual(self.sent_at(), [(None,)])  # still to probe

    def test_answer_to_the_probe_disables_and_the_next_post_skips_the_address(self):
        self.mark()
        self.post()
        line = self.confirmed(BOB, msgid="<probe@example.org>")
        self.assertIn("decision=bounce-disabled ", line)
        self.assertIn("(confirmed by a VERP probe)", line)
        self.assertEqual(self.post(), [["-i", "-f", tb.BARE, "--", "alice@example.org",
                                        "carol@example.net"]])

    def test_a_list_to_probe_gets_one_post_with_verp_to_everyone(self):
        self.bare("forwarded@elsewhere.example")
        self.assertEqual(self.post(), [["-i", "-f", tb.BARE, "-XV", "--"] + MEMBERS])
        self.assertEqual(self.list_probes(), [("members", "p1@example.org", 1)])
        self.assertIn("sent ", self.env.soarlist("bounces").stdout)
        self.assertEqual(self.post(), [["-i", "-f", tb.BARE, "--"] + MEMBERS])
        # another list of the club is not probed
        self.bare("forwarded@elsewhere.example", msgid="<p9@example.org>")
        self.assertEqual(self.post(to="board@ssc.manage2soar.com"),
                         [["-i", "-f", "board-bounces@ssc.manage2soar.com", "--",
                           "bob@example.com", "dora@example.org"]])

    def test_failed_probe_run_defers_with_nothing_handed_over(self):
        self.env.write_sendmail(FLAKY_SENDMAIL.format(cap=self.env.cap, root=self.env.root))
        self.mark()
        open(os.path.join(self.env.root, "fail-yes"), "w").close()
        self.assertEqual(self.post(want_rc=75), [])
        self.assertEqual(self.sent_at(), [(None,)])
        self.assertIn("decision=defer", self.env.deliver_log_lines()[-1])
        os.unlink(os.path.join(self.env.root, "fail-yes"))
        self.assertEqual(len(self.post()), 2)  # Postfix's retry: probe and plain
        self.assertIsNotNone(self.sent_at()[0][0])

    def test_failed_plain_run_defers_after_the_probe_went_out(self):
        self.env.write_sendmail(FLAKY_SENDMAIL.format(cap=self.env.cap, root=self.env.root))
        self.mark()
        open(os.path.join(self.env.root, "fail-no"), "w").close()
        r = self.env.deliver(harness.uniq_post(), tb.LIST)
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertIn("the VERP probe to 1 went out", r.stderr + "\n".join(
            self.env.deliver_log_lines()))
        self.assertEqual([c.argv for c in r.captures],
                         [["-i", "-f", tb.BARE, "-XV", "--", "Bob@example.com"]])
        # the probe is out: the retry is one plain run (Bob gets it twice)
        self.assertIsNotNone(self.sent_at()[0][0])
        os.unlink(os.path.join(self.env.root, "fail-no"))
        self.assertEqual(self.post(), [["-i", "-f", tb.BARE, "--"] + MEMBERS])


if __name__ == "__main__":
    tap.main()
