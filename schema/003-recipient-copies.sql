-- soarlist schema version 3: who got a copy of which post, per club, so
-- that a post addressed to several lists of one club (To: members@,
-- Cc: board@) reaches each person once, whichever list is delivered first.
-- state and owner work as in recent_message: 'sending' while the process
-- owner (PID:STARTTIME) runs sendmail, 'sent' once sendmail succeeded.

CREATE TABLE recipient_copy (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    message_id  TEXT    NOT NULL,
    address     TEXT    NOT NULL COLLATE NOCASE,
    state       TEXT    NOT NULL CHECK (state IN ('sending', 'sent')),
    owner       TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (club_id, message_id, address)
) WITHOUT ROWID;
CREATE INDEX recipient_copy_at ON recipient_copy (at);
