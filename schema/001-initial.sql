-- soarlist schema version 1: the club/list cache synced from M2S, sync
-- history, recently distributed Message-IDs and held posts.
-- Applied by `soarlist` inside one transaction; PRAGMA user_version = 1 after.

CREATE TABLE club (
    id          INTEGER PRIMARY KEY,
    slug        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    -- unix time of the last successful sync, NULL if never
    synced_at   INTEGER
);

CREATE TABLE list (
    id          INTEGER PRIMARY KEY,
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    description TEXT,
    -- 1 when M2S names the list in bypass_lists: anyone may post
    bypass      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (club_id, name)
);

-- Addresses compare case-insensitively (ASCII): John@x.org and john@x.org
-- are one member, and a From header in either case matches.
CREATE TABLE list_member (
    list_id     INTEGER NOT NULL REFERENCES list(id) ON DELETE CASCADE,
    address     TEXT    NOT NULL COLLATE NOCASE,
    PRIMARY KEY (list_id, address)
) WITHOUT ROWID;

CREATE TABLE whitelist (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    address     TEXT    NOT NULL COLLATE NOCASE,
    PRIMARY KEY (club_id, address)
) WITHOUT ROWID;

CREATE TABLE sync_run (
    id          INTEGER PRIMARY KEY,
    club_slug   TEXT    NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    ok          INTEGER NOT NULL,
    error       TEXT,
    lists       INTEGER NOT NULL DEFAULT 0,
    members     INTEGER NOT NULL DEFAULT 0,
    whitelisted INTEGER NOT NULL DEFAULT 0,
    dropped     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX sync_run_club ON sync_run (club_slug, finished_at);

-- Message-IDs handed to sendmail per list (state 'sent'), or being handed
-- right now by the process `owner` (state 'sending'), for duplicate
-- suppression. owner is "PID:STARTTIME" (/proc/PID/stat), so a reused PID
-- is never mistaken for the process that made the claim.
CREATE TABLE recent_message (
    list_id     INTEGER NOT NULL REFERENCES list(id) ON DELETE CASCADE,
    message_id  TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('sending', 'sent')),
    owner       TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (list_id, message_id)
) WITHOUT ROWID;
CREATE INDEX recent_message_at ON recent_message (at);

-- Posts kept for a moderator (nonmember_action = hold).
CREATE TABLE held_message (
    id          INTEGER PRIMARY KEY,
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
    content     BLOB    NOT NULL
);
CREATE INDEX held_message_list ON held_message (list_id);
