-- soarlist schema version 5: each held post gets an unguessable, single-use
-- token; the owners' notice has Reply-To LIST-request+TOKEN@DOMAIN, and a
-- reply from an owner whose first line is approve, reject or discard acts
-- on the post (the row, and with it the token, is then gone).
--
-- The table is rebuilt with AUTOINCREMENT: an id named in an old notice
-- (`soarlist approve 7`) must never come to mean another post.

CREATE TABLE held_message_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- a held post outlives its list: a moderator still sees it
    list_id     INTEGER REFERENCES list(id) ON DELETE SET NULL,
    recipient   TEXT    NOT NULL,
    sender      TEXT    NOT NULL,
    author      TEXT,
    subject     TEXT,
    message_id  TEXT,
    reason      TEXT    NOT NULL,
    held_at     INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    content     BLOB    NOT NULL,
    token       TEXT    UNIQUE
);
INSERT INTO held_message_new (id, list_id, recipient, sender, author, subject,
    message_id, reason, held_at, size, content)
    SELECT id, list_id, recipient, sender, author, subject, message_id, reason,
           held_at, size, content FROM held_message;
DROP TABLE held_message;
ALTER TABLE held_message_new RENAME TO held_message;
CREATE INDEX held_message_list ON held_message (list_id);
