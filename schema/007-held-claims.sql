-- soarlist schema version 7: a held post is claimed before anyone acts on
-- it (approve, reject, discard, expiry), so that two moderators acting at
-- once (two `soarlist approve`, or the CLI and an emailed reply) act once.
-- claimed_by is the acting process as "PID:STARTTIME" (like
-- recent_message.owner), claimed_at when it claimed the post (unix time).
-- A claim counts only while that very process runs, and for at most an
-- hour: a moderator whose process died mid-way (a crash, a kill, a reboot)
-- leaves the post held, never lost; one whose action failed (sendmail
-- refused the post) gives the claim back at once.

ALTER TABLE held_message ADD COLUMN claimed_by TEXT;
ALTER TABLE held_message ADD COLUMN claimed_at INTEGER;
