-- soarlist schema version 13: each held post names its club, so that
-- `soarlist purge` finds every held post of a club removed from the
-- config, even one whose list a sync removed (list_id is then NULL and
-- the recipient's domain no longer names a configured club).
--
-- No REFERENCES: purge deletes a club's held posts itself, in the
-- transaction that deletes the club, and says how many it deleted.
ALTER TABLE held_message ADD COLUMN club_id INTEGER;
UPDATE held_message SET club_id =
    (SELECT l.club_id FROM list l WHERE l.id = held_message.list_id);
CREATE INDEX IF NOT EXISTS held_message_club ON held_message (club_id);
