"""test_moderation_race.py - approve, reject and discard act exactly once:
several moderators acting on one held post at the same moment (`soarlist
approve` several times, and an emailed "approve" reply to the notice's
LIST-request+TOKEN address, all started at once), round after round, with
and without a Message-ID; what the capturing sendmail received is counted.
The winner exits 0; a `soarlist` that lost exits 1 with one line; an email
reply that lost is bounced to the owner (77, "already handled"), or, while
the winner is still at work, deferred (75) and bounced on Postfix's retry.
Also: a claim whose process died is taken over, a live one is respected."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

LIST = "board@ssc.manage2soar.com"
BOARD = ["bob@example.com", "dora@example.org"]
STRANGER = "x@stranger.example"
OWNER = "chair@example.org"
ROUNDS = 20
CLI_RACERS = 3

# the capturing sendmail, slowed down: the winner is still distributing
# while the others try, as with a real sendmail and a large list
SLOW = "sleep 0.2\nexit 0\n"


def own_claim():
    """This process as soarlist names a claimant: PID:STARTTIME."""
    with open("/proc/self/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return "%d:%s" % (os.getpid(), rest[19])  # field 22


class Race(harness.EnvTestCase):
    lists = {"ssc/board": {"nonmember_action": "hold", "owners": OWNER}}

    def setUp(self):
        super().setUp()
        script = harness.FAKE_SENDMAIL.format(cap=self.env.cap, root=self.env.root)
        self.env.write_sendmail(harness.patch_script(script, "exit 0\n", SLOW))

    def clear(self):
        for c in os.listdir(self.env.cap):
            subprocess.run(["rm", "-rf", os.path.join(self.env.cap, c)], check=True)

    def hold(self, n, msgid):
        msg = harness.post(from_="Xavier <%s>" % STRANGER, to=LIST, msgid=msgid,
                           subject="Round %d" % n, body="Post %d\n" % n)
        r = self.env.deliver(msg, LIST, sender=STRANGER)
        self.assertEqual(r.rc, 0, r.stderr)
        (held_id,), = self.env.query("SELECT id FROM held_message")
        token_addr = r.capture.message["Reply-To"]
        self.clear()
        return held_id, token_addr

    def reply(self, addr, word):
        msg = ("From: Chair <%s>\nTo: %s\nSubject: Re: Held post\n\n%s\n"
               % (OWNER, addr, word)).encode()
        p = subprocess.Popen([harness.DELIVER, "-c", self.env.config, "-f", OWNER,
                              "--", addr], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdin.write(msg)
        p.stdin.close()
        p.stdin = None  # all written: communicate() only reads
        return p

    def cli(self, *args):
        return subprocess.Popen([harness.SOARLIST, "-c", self.env.config] + list(args),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def finish(self, procs):
        out = []
        for kind, p in procs:
            stdout, stderr = p.communicate(timeout=120)
            out.append((kind, p.returncode, stdout.decode(), stderr.decode()))
        return out

    def check_losers(self, results, held_id, addr):
        for kind, rc, _, err in results:
            if rc == 0:
                continue
            if kind == "email":
                if rc == 75:  # still at work then: Postfix tries again
                    self.assertIn("another moderator is acting", err)
                    r = self.env.deliver("From: %s\nTo: %s\n\napprove\n" % (OWNER, addr),
                                         addr, sender=OWNER)
                    rc, err = r.rc, r.stderr
                    self.assertEqual(r.captures, [])
                # told by the bounce: whether its token was still there
                self.assertEqual(rc, 77, err)
                self.assertRegex(err, r"^5\.7\.1 (the held post was already handled by "
                                 r"another moderator|this moderation address is unknown "
                                 r"or was used already)\n$")
            else:
                self.assertEqual(rc, 1, err)
                self.assertEqual(len(err.splitlines()), 1, err)
                self.assertRegex(err, r"^soarlist: held post %d (was already handled|is "
                                 r"being handled by another moderator)" % held_id)

    def distributions(self):
        return [c for c in self.env.captured() if sorted(c.recipients) == BOARD]

    def test_concurrent_approvals_distribute_once(self):
        for n in range(ROUNDS):
            with self.subTest(round=n):
                msgid = None if n % 2 else "<race%d@x>" % n
                held_id, addr = self.hold(n, msgid)
                procs = [("cli", self.cli("approve", str(held_id)))
                         for _ in range(CLI_RACERS)]
                procs.append(("email", self.reply(addr, "approve")))
                results = self.finish(procs)
                winners = [r for r in results if r[1] == 0]
                self.assertEqual(len(winners), 1, results)
                copies = self.distributions()
                self.assertEqual(len(copies), 1, "round %d: %d copies" % (n, len(copies)))
                self.assertIn(b"Post %d\n" % n, copies[0].data)
                self.assertEqual(len(self.env.captured()), 1)
                self.check_losers(results, held_id, addr)
                self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])
                self.clear()

    def test_concurrent_mixed_actions_act_once(self):
        # approve, reject and discard at once: exactly one of them happens
        for n in range(ROUNDS):
            with self.subTest(round=n):
                held_id, addr = self.hold(n, None)
                procs = [("cli", self.cli("approve", str(held_id))),
                         ("cli", self.cli("reject", str(held_id), "--reason", "no")),
                         ("cli", self.cli("discard", str(held_id))),
                         ("email", self.reply(addr, "approve"))]
                results = self.finish(procs)
                winners = [r for r in results if r[1] == 0]
                self.assertEqual(len(winners), 1, results)
                caps = self.env.captured()
                said = winners[0][2]
                if winners[0][0] == "email" or said.startswith("approved"):
                    self.assertEqual([sorted(c.recipients) for c in caps], [BOARD])
                elif said.startswith("rejected"):
                    self.assertEqual([c.recipients for c in caps], [[STRANGER]])
                else:
                    self.assertEqual((said, caps), ("discarded %d\n" % held_id, []))
                self.check_losers(results, held_id, addr)
                self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])
                self.clear()


class Claims(harness.EnvTestCase):
    """A claim counts while its process runs, for at most an hour."""
    lists = {"ssc/board": {"nonmember_action": "hold", "owners": OWNER}}

    def hold(self):
        msg = harness.post(from_=STRANGER, to=LIST, msgid=None)
        r = self.env.deliver(msg, LIST, sender=STRANGER)
        self.assertEqual(r.rc, 0, r.stderr)
        (held_id,), = self.env.query("SELECT id FROM held_message")
        return held_id, r.capture.message["Reply-To"]

    def claim(self, held_id, owner, age=0):
        import sqlite3
        con = sqlite3.connect(self.env.db)
        con.execute("UPDATE held_message SET claimed_by = ?, claimed_at = ? WHERE id = ?",
                    (owner, int(time.time()) - age, held_id))
        con.commit()
        con.close()

    def test_claim_of_a_dead_process_is_taken_over(self):
        # a moderator's process killed between its claim and its action
        held_id, _ = self.hold()
        dead = subprocess.Popen(["true"])
        dead.wait()
        self.claim(held_id, "%d:1" % dead.pid)
        r = self.env.soarlist("approve", str(held_id))
        self.assertEqual((r.rc, r.stdout), (0, "approved %d\n" % held_id), r.stderr)
        self.assertEqual(len(self.env.captured()), 2)  # the notice, the post
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])

    def test_live_claim_is_respected(self):
        held_id, addr = self.hold()
        self.claim(held_id, own_claim())
        r = self.env.soarlist("approve", str(held_id))
        self.assertEqual(r.rc, 1)
        self.assertEqual(r.stderr, "soarlist: held post %d is being handled by another "
                         "moderator right now: see 'soarlist held' in a moment\n" % held_id)
        self.assertIn("(being handled by a moderator now)", self.env.soarlist("held").stdout)
        r = self.env.deliver("From: %s\nTo: %s\n\napprove\n" % (OWNER, addr), addr,
                             sender=OWNER)
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertEqual(r.captures, [])
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(1,)])
        # an hour later the claim has lapsed, even though its process runs
        self.claim(held_id, own_claim(), age=3700)
        r = self.env.deliver("From: %s\nTo: %s\n\napprove\n" % (OWNER, addr), addr,
                             sender=OWNER)
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(r.capture.recipients), BOARD)

    def test_failed_approval_gives_the_post_back(self):
        held_id, _ = self.hold()
        self.env.set_sendmail_exit(75)
        r = self.env.soarlist("approve", str(held_id))
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertEqual(self.env.query("SELECT claimed_by FROM held_message"), [(None,)])
        os.unlink(os.path.join(self.env.root, "sendmail-exit"))
        r = self.env.soarlist("approve", str(held_id))
        self.assertEqual(r.rc, 0, r.stderr)

    def test_second_approval_says_already_handled(self):
        held_id, _ = self.hold()
        self.assertEqual(self.env.soarlist("discard", str(held_id)).rc, 0)
        for cmd in ("approve", "reject", "discard"):
            r = self.env.soarlist(cmd, str(held_id))
            self.assertEqual(r.rc, 1)
            self.assertEqual(r.stderr, "soarlist: held post %d was already handled "
                             "(approved, rejected, discarded or expired)\n" % held_id)
        r = self.env.soarlist("approve", str(held_id + 1))
        self.assertEqual((r.rc, r.stderr), (1, "soarlist: no held post %d\n" % (held_id + 1)))

    def test_expiry_leaves_a_claimed_post_to_its_moderator(self):
        held_id, _ = self.hold()
        import sqlite3
        con = sqlite3.connect(self.env.db)
        con.execute("UPDATE held_message SET held_at = held_at - 15 * 86400")
        con.commit()
        con.close()
        self.claim(held_id, own_claim())
        self.assertEqual(self.env.soarlist("sync").rc, 0)
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(1,)])
        self.claim(held_id, None)
        self.assertEqual(self.env.soarlist("sync").rc, 0)
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])


if __name__ == "__main__":
    tap.main()
