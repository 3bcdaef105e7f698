-- soarlist schema version 6: the lists a club's M2S names that cannot have
-- an address here, because their name (free text chosen by the club's
-- webmaster, e.g. "Board Members") cannot be a mailbox local part. Kept by
-- name with the reason, so that `soarlist status` and `soarlist doctor`
-- report them until M2S renames them; replaced at each successful sync of
-- the club.

CREATE TABLE unusable_list (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    -- as M2S sent it, control characters escaped
    name        TEXT    NOT NULL,
    -- why it cannot be an address ("it contains a space")
    reason      TEXT    NOT NULL,
    -- a name that would work ("board-members"), NULL when none is obvious
    rename      TEXT,
    PRIMARY KEY (club_id, name)
) WITHOUT ROWID;

-- An answer identical to the stored one is not parsed again (sync's SHA-256
-- shortcut); forget the fingerprints so that the next sync of every club
-- parses its answer once and fills this table.
UPDATE club SET answer_sha256 = NULL;
