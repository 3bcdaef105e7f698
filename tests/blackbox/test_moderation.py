"""test_moderation.py - nonmember_action = hold: the post is stored durably
and the owners get a notice; soarlist held, approve (the normal distribution
path), reject (the sender is told) and discard."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
import tap  # noqa: E402

LIST = "board@ssc.manage2soar.com"
STRANGER = "x@stranger.example"


class Moderation(harness.EnvTestCase):
    lists = {"ssc/board": {"nonmember_action": "hold", "owners": "chair@example.org"}}

    def hold(self, msgid="<held1@x>", subject="May I ask the board?"):
        msg = harness.post(from_="Xavier <%s>" % STRANGER, to=LIST, subject=subject,
                           msgid=msgid, body="First line\nsecond line\n")
        r = self.env.deliver(msg, LIST, sender=STRANGER)
        self.assertEqual(r.rc, 0, r.stderr)
        rows = self.env.query("SELECT id, sender, content FROM held_message ORDER BY id")
        self.assertTrue(rows)
        self.assertEqual(rows[-1][2], msg.encode())  # stored byte for byte
        return rows[-1][0], r

    def test_hold_notifies_the_owners(self):
        held_id, r = self.hold()
        c = r.capture  # the notice, not the post
        self.assertEqual(c.recipients, ["chair@example.org"])
        m = c.message
        self.assertEqual(m["Auto-Submitted"], "auto-generated")
        self.assertIn("Held post %d for %s" % (held_id, LIST), m["Subject"])
        text = m.get_payload()
        for want in ("soarlist approve %d" % held_id, STRANGER, "May I ask the board?",
                     "> First line", "> second line", "bytes"):
            self.assertIn(want, text)
        self.assertIn("decision=hold", self.env.deliver_log_lines()[-1])

    def test_held_lists_the_queue(self):
        held_id, _ = self.hold()
        r = self.env.soarlist("held")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertIn("%d  " % held_id, r.stdout)
        self.assertIn(LIST, r.stdout)
        self.assertEqual(self.env.soarlist("held", "members@ssc.manage2soar.com").stdout, "")

    def test_approve_distributes_like_a_post(self):
        held_id, _ = self.hold()
        for name in os.listdir(self.env.cap):
            import shutil
            shutil.rmtree(os.path.join(self.env.cap, name))
        r = self.env.soarlist("approve", str(held_id))
        self.assertEqual(r.rc, 0, r.stderr)
        caps = self.env.captured()
        self.assertEqual(len(caps), 1)
        self.assertEqual(sorted(caps[0].recipients), ["bob@example.com", "dora@example.org"])
        self.assertEqual(caps[0].argv[2], "board-bounces@ssc.manage2soar.com")
        self.assertEqual(caps[0].message["From"], '"Xavier via Board" '
                                                  '<board-bounces@ssc.manage2soar.com>')
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])
        # recorded as distributed: the same post again is a duplicate
        self.assertEqual(self.env.query("SELECT state FROM recent_message "
                                        "WHERE message_id = 'held1@x'"), [("sent",)])

    def test_approve_failure_keeps_it_held(self):
        held_id, _ = self.hold()
        self.env.set_sendmail_exit(1)
        r = self.env.soarlist("approve", str(held_id))
        # sendmail failed: temporary, like a locked database
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertIn("stays held", r.stderr)
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(1,)])

    def test_reject_tells_the_sender(self):
        held_id, _ = self.hold()
        import shutil
        for name in os.listdir(self.env.cap):
            shutil.rmtree(os.path.join(self.env.cap, name))
        r = self.env.soarlist("reject", str(held_id), "--reason", "board only")
        self.assertEqual(r.rc, 0, r.stderr)
        caps = self.env.captured()
        self.assertEqual(len(caps), 1)
        self.assertEqual(caps[0].recipients, [STRANGER])
        self.assertEqual(caps[0].argv[:3], ["-i", "-f", "<>"])
        text = caps[0].message.get_payload()
        self.assertIn("board only", text)
        self.assertIn("May I ask the board?", text)
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])

    def test_discard_sends_nothing(self):
        held_id, _ = self.hold()
        import shutil
        for name in os.listdir(self.env.cap):
            shutil.rmtree(os.path.join(self.env.cap, name))
        r = self.env.soarlist("discard", str(held_id))
        self.assertEqual((r.rc, r.stdout), (0, "discarded %d\n" % held_id))
        self.assertEqual(self.env.captured(), [])
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])

    def test_unknown_id(self):
        for cmd in ("approve", "reject", "discard"):
            with self.subTest(cmd):
                r = self.env.soarlist(cmd, "999")
                self.assertEqual(r.rc, 1)
                self.assertIn("no held post 999", r.stderr)
                self.assertEqual(self.env.soarlist(cmd, "abc").rc, 64)

    def test_hold_survives_failing_notice(self):
        # the post is safe in the database before the notice is tried
        self.env.set_sendmail_exit(1)
        held_id, r = self.hold()
        self.assertEqual(r.rc, 0)
        self.assertTrue(any("cannot notify the owners" in l for l in self.env.log_lines()))

    def test_expiry_tells_the_sender(self):
        held_id, _ = self.hold()
        import sqlite3
        import shutil
        con = sqlite3.connect(self.env.db)
        con.execute("UPDATE held_message SET held_at = held_at - 15 * 86400")
        con.commit()
        con.close()
        newer, _ = self.hold(msgid="<held2@x>")
        for name in os.listdir(self.env.cap):
            shutil.rmtree(os.path.join(self.env.cap, name))
        r = self.env.soarlist("sync")  # the timer's run retires old posts
        self.assertEqual(r.rc, 0, r.stderr)
        caps = self.env.captured()
        self.assertEqual([c.recipients for c in caps], [[STRANGER]])
        self.assertIn("not handled within 14 days", caps[0].message.get_payload())
        self.assertEqual(self.env.query("SELECT id FROM held_message"), [(newer,)])


class EmailModeration(harness.EnvTestCase):
    lists = {"ssc/board": {"nonmember_action": "hold", "owners": "chair@example.org"}}

    def hold(self, msgid="<e1@x>"):
        msg = harness.post(from_=STRANGER, to=LIST, msgid=msgid, subject="Question")
        r = self.env.deliver(msg, LIST, sender=STRANGER)
        reply_to = r.capture.message["Reply-To"]
        self.assertRegex(reply_to, r"^board-request\+[0-9a-f]{32}@ssc\.manage2soar\.com$")
        return reply_to

    def reply(self, to, first_line, sender="chair@example.org"):
        msg = ("From: Chair <%s>\nTo: %s\nSubject: Re: Held post\n"
               "Message-ID: <r%s@x>\n\n%s\n\n> A post to board@... is held\n"
               % (sender, to, abs(hash(first_line + sender)), first_line))
        return self.env.deliver(msg, to, sender=sender)

    def test_owner_approves_by_reply(self):
        addr = self.hold()
        r = self.reply(addr, "approve")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(r.capture.recipients), ["bob@example.com", "dora@example.org"])
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])
        # the address worked once
        r = self.reply(addr, "approve")
        self.assertEqual(r.rc, 77)
        self.assertIn("unknown or was used already", r.stderr)
        self.assertEqual(r.captures, [])

    def test_approval_by_reply_that_cannot_go_out_is_one_line(self):
        # the approved post is distributed by act(), not by a second run of
        # the agent: the MTA is told one line, the reply waits (75), the
        # post stays held, and the log says why on each side
        addr = self.hold()
        self.env.set_sendmail_exit(1)
        r = self.reply(addr, "approve")
        self.assertEqual(r.rc, 75, r.stderr)
        self.assertEqual(len(r.stderr.splitlines()), 1, r.stderr)
        self.assertRegex(r.stderr, r"^4\.3\.0 cannot act on the held post: not "
                                   r"distributed \(status 75: 4\.3\.0 cannot reinject")
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(1,)])
        self.env.set_sendmail_exit(0)
        r = self.reply(addr, "approve")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])

    def test_owner_rejects_by_reply_with_reason(self):
        addr = self.hold()
        r = self.reply(addr, "Reject board members only, sorry")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(r.capture.recipients, [STRANGER])
        self.assertIn("board members only, sorry", r.capture.message.get_payload())

    def test_owner_discards_by_reply(self):
        addr = self.hold()
        r = self.reply(addr, "discard")
        self.assertEqual((r.rc, r.captures), (0, []))
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])

    def test_reply_from_a_mail_client(self):
        # multipart/alternative, quoted-printable, a preamble: the text part
        addr = self.hold()
        msg = ("From: Chair <chair@example.org>\nTo: %s\nSubject: Re: x\n"
               "Message-ID: <mc@x>\nMIME-Version: 1.0\nContent-Type: multipart/"
               "alternative; boundary=B\n\nThis is a multi-part message in MIME "
               "format.\n--B\nContent-Type: text/plain; charset=utf-8\n"
               "Content-Transfer-Encoding: quoted-printable\n\n=61pprove\n\n"
               "> quoted notice\n--B\nContent-Type: text/html\n\n<p>approve</p>\n"
               "--B--\n" % addr)
        r = self.env.deliver(msg, addr, sender="chair@example.org")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(sorted(r.capture.recipients), ["bob@example.com", "dora@example.org"])

    def test_token_of_another_list_refused(self):
        addr = self.hold()
        other = addr.replace("board-request", "members-request")
        r = self.reply(other, "approve")
        self.assertEqual(r.rc, 77)
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(1,)])

    def test_ids_are_never_reused(self):
        first, _ = (self.hold("<i1@x>"), None)
        (id1,), = self.env.query("SELECT id FROM held_message")
        self.assertEqual(self.env.soarlist("discard", str(id1)).rc, 0)
        self.hold("<i2@x>")
        (id2,), = self.env.query("SELECT id FROM held_message")
        self.assertGreater(id2, id1)

    def test_forged_sender_refused(self):
        addr = self.hold()
        r = self.reply(addr, "approve", sender=STRANGER)
        self.assertEqual(r.rc, 77)
        self.assertIn("only the list's owners", r.stderr)
        self.assertEqual(r.captures, [])
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(1,)])

    def test_unknown_command(self):
        addr = self.hold()
        r = self.reply(addr, "yes please")
        self.assertEqual(r.rc, 77)
        self.assertIn("approve, reject or discard", r.stderr)
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(1,)])

    def test_guessed_token_refused(self):
        self.hold()
        r = self.reply("board-request+%s@ssc.manage2soar.com" % ("0" * 32), "approve")
        self.assertEqual(r.rc, 77)
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(1,)])


class Moderated(harness.EnvTestCase):
    lists = {"ssc/members": {"moderated": "yes"}}

    def test_members_posts_wait_for_a_moderator(self):
        r = self.env.deliver(harness.uniq_post(), "members@ssc.manage2soar.com")
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual([c.recipients for c in r.captures], [["postmaster@manage2soar.com"]])
        (held_id,), = self.env.query("SELECT id FROM held_message")
        r = self.env.soarlist("approve", str(held_id))
        self.assertEqual(r.rc, 0, r.stderr)
        self.assertEqual(len(self.env.captured()[-1].recipients), 3)

    def test_non_members_still_refused(self):
        r = self.env.deliver(harness.uniq_post(from_=STRANGER), "members@ssc.manage2soar.com",
                             sender=STRANGER)
        self.assertEqual(r.rc, 77)
        self.assertEqual(self.env.query("SELECT count(*) FROM held_message"), [(0,)])


if __name__ == "__main__":
    tap.main()
