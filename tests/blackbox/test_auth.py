"""test_auth.py - require_auth = dmarc through soarlist-deliver: a member's
post is distributed only when a trusted Authentication-Results header shows
its From domain authenticated; forged, misplaced, unaligned and foreign
headers authenticate nothing; unauthenticated_action holds or refuses;
lists open to anyone, lists with require_auth = none and the app's own
sender are unaffected. (tests/e2e/test_dkim.py does the same with a real
OpenDKIM writing the headers.)"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

from harness import uniq_post as post  # noqa: E402

ID = "mx.ssc.test"
MEMBERS = harness.stored(harness.SSC_API["lists"]["members"])
LIST = "members@ssc.manage2soar.com"
# Postfix's own Received: its host name is not the authserv-id
RECEIVED = ("Received: from c.example.org (c.example.org [192.0.2.7])\n"
            "\tby mail.ssc.example (Postfix) with ESMTP id 4AB12\n"
            "\tfor <%s>; Mon, 30 Nov 2026 17:00:00 +0000 (UTC)\n")
FOREIGN = ("Received: from a.example.org by smtp.mailhost.example with ESMTPS"
           " id q1; Mon, 30 Nov 2026 16:59:00 +0000\n")


def ar(results, authserv_id=ID):
    return "Authentication-Results: %s;\n\t%s\n" % (authserv_id, results)


DKIM_PASS = ar("dkim=pass (2048-bit key) header.d=example.org "
               "header.i=@example.org header.b=\"AbCdEf12\"; dkim-atps=neutral")


class Auth(harness.EnvTestCase):
    def setUp(self):
        super().setUp()
        self.env.write_config(
            extra="authserv_id = %s" % ID,
            club_extra={"ssc": "require_auth = dmarc"},
            lists={"ssc/board": {"unauthenticated_action": "reject"},
                   "ssc/instructors": {"require_auth": "none"}})

    def deliver(self, above, below="", to=LIST, from_="Alice Example <alice@example.org>",
                sender="alice@example.org"):
        """A post as pipe(8) hands it over: ABOVE Postfix's Received (where
        a milter writes), BELOW it (what the client sent)."""
        msg = post(from_=from_, to=to)
        return self.env.deliver(above + RECEIVED % to + below + msg, to, sender=sender)

    def held(self):
        return self.env.query("SELECT recipient, reason FROM held_message ORDER BY id")

    def assertDistributed(self, r, recipients=MEMBERS, why="authenticated by"):
        self.assertEqual(r.rc, 0, r.stderr)
        posts = [c for c in r.captures if c.recipients != ["postmaster@manage2soar.com"]]
        self.assertEqual(len(posts), 1, r.captures)
        self.assertEqual(harness.folded(posts[0].recipients), harness.folded(recipients))
        self.assertEqual(self.held(), [])
        self.assertIn(why, self.env.deliver_log_lines()[-1])

    def assertHeld(self, r, why):
        self.assertEqual(r.rc, 0, r.stderr)
        held = self.held()
        self.assertEqual(len(held), 1, held)
        self.assertEqual(held[0][0], LIST)
        self.assertIn("requires an authenticated From domain (require_auth = dmarc)",
                      held[0][1])
        self.assertIn(why, held[0][1])
        # nothing went to the members; the owners were told
        for c in r.captures:
            self.assertNotIn("alice@example.org", c.recipients)
        self.assertIn("decision=hold", self.env.deliver_log_lines()[-1])

    # -- authenticated ----------------------------------------------------
    def test_aligned_dkim_pass_is_distributed(self):
        self.assertDistributed(self.deliver(DKIM_PASS),
                               why="From domain example.org authenticated by "
                                   "dkim=pass header.d=example.org")

    def test_relaxed_alignment_subdomain_signature(self):
        self.assertDistributed(self.deliver(ar("dkim=pass header.d=mail.example.org")))

    def test_aligned_spf_pass_is_distributed(self):
        self.assertDistributed(self.deliver(ar("spf=pass smtp.mailfrom=alice@example.org")),
                               why="spf=pass smtp.mailfrom=example.org")

    def test_dmarc_pass_is_distributed(self):
        self.assertDistributed(self.deliver(ar("dmarc=pass (p=none dis=none) "
                                               "header.from=example.org")))

    def test_envelope_member_needs_its_own_spf_too(self):
        # From is a stranger's own, authenticated domain; only the
        # envelope sender is a member: it must be authenticated as well
        r = self.deliver(ar("dkim=pass header.d=stranger.example"),
                         from_="Mallory <m@stranger.example>")
        self.assertHeld(r, "the envelope sender is not authenticated")

    def test_envelope_member_with_spf_and_an_authenticated_from(self):
        r = self.deliver(ar("dkim=pass header.d=stranger.example; "
                            "spf=pass smtp.mailfrom=alice@example.org"),
                         from_="Mallory <m@stranger.example>")
        self.assertDistributed(r, why="alice@example.org is a member")

    # -- not authenticated ------------------------------------------------
    def test_no_results_is_held(self):
        self.assertHeld(self.deliver(""), "From domain example.org not authenticated: "
                                          "no Authentication-Results of " + ID)

    def test_failed_signature_is_held(self):
        self.assertHeld(self.deliver(ar("dkim=fail reason=\"signature verification "
                                        "failed\" header.d=example.org")),
                        "dkim=fail header.d=example.org")

    def test_unaligned_signature_is_held(self):
        self.assertHeld(self.deliver(ar("dkim=pass header.d=stranger.example")),
                        "dkim=pass header.d=stranger.example")

    def test_psl_keeps_registrable_domains_apart(self):
        # example.co.uk is not aligned with other.co.uk: co.uk is a suffix
        r = self.deliver(ar("dkim=pass header.d=other.co.uk"),
                         from_="Uma <uma@example.co.uk>", sender="alice@example.org")
        self.assertHeld(r, "dkim=pass header.d=other.co.uk")

    def test_forged_below_postfix_received_is_ignored(self):
        # what the client sent, with our authserv-id: below Postfix's Received
        self.assertHeld(self.deliver("", below=DKIM_PASS),
                        "ignored 1 of %s below a Received of another host" % ID)

    def test_forged_below_a_foreign_received_is_ignored(self):
        self.assertHeld(self.deliver(ar("dkim=none"), below=FOREIGN + DKIM_PASS),
                        "below a Received of another host")

    def test_forged_received_of_ours_lifts_nothing(self):
        fake = "Received: from x by %s with ESMTP; Mon, 30 Nov 2026\n" % ID
        self.assertHeld(self.deliver("", below=fake + DKIM_PASS), "below a Received")

    def test_another_authserv_id_is_ignored(self):
        self.assertHeld(self.deliver(ar("dkim=pass header.d=example.org", "mx.evil.example")),
                        "ignored 1 of another authserv-id")

    def test_malformed_results_are_ignored(self):
        self.assertHeld(self.deliver(ar("dkim pass header.d=example.org")),
                        "ignored 1 malformed")

    def test_two_from_headers_are_not_authenticated(self):
        r = self.deliver(DKIM_PASS, from_="Alice <alice@example.org>\nFrom: x@example.org")
        self.assertHeld(r, "several From headers")

    def test_reject_list_refuses_with_a_reason(self):
        r = self.deliver("", to="board@ssc.manage2soar.com",
                         from_="Bob <bob@example.com>", sender="bob@example.com")
        self.assertEqual(r.rc, 77, r.stderr)
        self.assertTrue(r.stderr.startswith(
            "5.7.1 board@ssc.manage2soar.com requires an authenticated From "
            "domain (require_auth = dmarc): From domain "
            "example.com not authenticated"), r.stderr)
        self.assertEqual(r.captures, [])
        self.assertEqual(self.held(), [])
        # whole, within the 200 characters the MTA is told
        self.assertTrue(r.stderr.endswith(
            "not authenticated: no Authentication-Results of %s\n" % ID), r.stderr)

    def test_approve_distributes_what_was_held(self):
        self.deliver("")
        (held_id,), = self.env.query("SELECT id FROM held_message")
        r = self.env.soarlist("approve", str(held_id))
        self.assertEqual(r.rc, 0, r.stderr)
        posts = [c for c in self.env.captured() if "alice@example.org" in c.recipients]
        self.assertEqual(len(posts), 1)
        self.assertEqual(self.held(), [])

    # -- unaffected ---------------------------------------------------------
    def test_list_with_require_auth_none(self):
        r = self.deliver("", to="instructors@ssc.manage2soar.com",
                         from_="Ivan <ivan@example.org>", sender="ivan@example.org")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.held(), [])
        self.assertEqual(len(r.captures), 1)

    def test_bypass_list_accepts_anyone_unauthenticated(self):
        r = self.deliver("", to="treasurer@ssc.manage2soar.com",
                         from_="Stranger <x@stranger.example>", sender="x@stranger.example")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.held(), [])
        self.assertEqual(len(r.captures), 1)

    def test_app_sender_needs_no_signature(self):
        app = "noreply@ssc.manage2soar.com"
        r = self.deliver("", from_="Manage2Soar <%s>" % app, sender=app)
        self.assertDistributed(r, why="application's own sender")

    def test_non_member_meets_nonmember_action_not_auth(self):
        r = self.deliver(ar("dkim=pass header.d=stranger.example"),
                         from_="Stranger <x@stranger.example>", sender="x@stranger.example")
        self.assertEqual(r.rc, 77)
        self.assertIn("only members of", r.stderr)

    def test_other_club_keeps_require_auth_none(self):
        r = self.env.deliver(post(from_="Yan <yan@example.com>",
                                  to="members@other.manage2soar.com"),
                             "members@other.manage2soar.com", sender="yan@example.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(self.held(), [])

    def test_check_says_what_happens_at_delivery(self):
        r = self.env.soarlist("check", "alice@example.org", LIST)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("note: %s has require_auth = dmarc: a post is distributed "
                      "only if its From domain is authenticated, else held" % LIST,
                      r.stdout)


    def check(self, above, sender="alice@example.org", lst=LIST,
              from_="Alice Example <alice@example.org>"):
        """soarlist check SENDER LST FILE, FILE the post pipe(8) would hand
        over; and the delivery agent's decision on the same bytes."""
        msg = above + RECEIVED % lst + post(from_=from_, to=lst)
        path = os.path.join(self.env.root, "post.eml")
        with open(path, "w") as f:
            f.write(msg)
        r = self.env.soarlist("check", sender, lst, path)
        d = self.env.deliver(msg, lst, sender=sender)
        return r, d

    def test_check_with_the_message_decides_as_the_agent(self):
        r, d = self.check(DKIM_PASS)
        self.assertEqual((r.rc, d.rc), (0, 0), r.stderr)
        self.assertTrue(r.stdout.startswith("distribute: alice@example.org is a member"),
                        r.stdout)
        self.assertIn("From domain example.org authenticated by dkim=pass", r.stdout)
        self.assertNotIn("note:", r.stdout)
        r, d = self.check(ar("dkim=pass header.d=stranger.example"))
        self.assertEqual(r.rc, 1)
        self.assertTrue(r.stdout.startswith(
            "hold: 5.7.1 %s requires an authenticated From domain" % LIST), r.stdout)
        self.assertEqual(len(self.held()), 1)  # the agent held it too
        r, d = self.check("", sender="bob@example.com", lst="board@ssc.manage2soar.com",
                          from_="Bob <bob@example.com>")
        self.assertEqual((r.rc, d.rc), (1, 77))
        self.assertEqual(r.stdout, "reject: " + d.stderr)
        # the author is the message's From, the sender its envelope
        r, d = self.check(DKIM_PASS, sender="x@stranger.example")
        self.assertEqual((r.rc, d.rc), (0, 0), r.stdout)

    def test_check_reads_the_message_from_stdin_and_refuses_a_bad_one(self):
        p = subprocess.run([harness.SOARLIST, "-c", self.env.config, "check",
                            "alice@example.org", LIST, "-"],
                           input=(DKIM_PASS + RECEIVED % LIST + post()).encode(),
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.env.soarlist("check", "alice@example.org", LIST,
                              os.path.join(self.env.root, "missing.eml"))
        self.assertEqual(r.rc, 64)
        self.assertIn("check: cannot open", r.stderr)

    def test_lists_shows_the_settings(self):
        r = self.env.soarlist("lists")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines()[0].split(),
                         ["LIST", "MEMBERS", "POSTING", "NONMEMBER", "AUTH", "CLUB"])
        rows = {l.split()[0]: l.split() for l in r.stdout.splitlines()[1:]}
        self.assertEqual(rows[LIST][4], "dmarc")
        self.assertEqual(rows["instructors@ssc.manage2soar.com"][4], "none")
        self.assertEqual(rows["members@other.manage2soar.com"][4], "none")
        r = self.env.soarlist("lists", "--json")
        by = {e["address"]: e for e in json.loads(r.stdout)}
        self.assertEqual((by[LIST]["require_auth"], by[LIST]["unauthenticated_action"]),
                         ("dmarc", "hold"))
        b = by["board@ssc.manage2soar.com"]
        self.assertEqual((b["require_auth"], b["unauthenticated_action"]), ("dmarc", "reject"))


class Config(harness.EnvTestCase):
    def test_dmarc_without_authserv_id_is_a_config_error(self):
        self.env.write_config(club_extra={"ssc": "require_auth = dmarc"})
        r = self.env.deliver(post(), LIST)
        self.assertEqual(r.rc, 75)
        self.assertIn("authserv_id is missing", r.stderr)
        r = self.env.soarlist("lists")
        self.assertEqual(r.rc, 78)
        self.assertIn("authserv_id is missing: ssc has require_auth = dmarc", r.stderr)


if __name__ == "__main__":
    tap.main()
