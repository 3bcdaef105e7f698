-- soarlist schema version 4: bounce scores and disabled addresses.

-- One score per address, club and day at most: a permanent mailbox failure
-- (Action: failed, Status 5.1.x or 5.2.x, but for 5.1.7 and 5.1.8 about our
-- own sender address and 5.2.3 about the post's size) reported by a DSN.
-- Rows older than bounce_window are deleted when the next bounce of the
-- club is recorded; `soarlist bounces reset` deletes an address's rows.
CREATE TABLE bounce_score (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    address     TEXT    NOT NULL COLLATE NOCASE,
    day         INTEGER NOT NULL,   -- unix time / 86400
    status      TEXT    NOT NULL,   -- e.g. 5.1.1
    message_id  TEXT,               -- of the post that bounced, if known
    diagnostic  TEXT,
    at          INTEGER NOT NULL,
    PRIMARY KEY (club_id, address, day)
) WITHOUT ROWID;

-- Every permanent failure (any 5.x.x) of a post whose Message-ID the DSN
-- returned, per receiving domain and status, to tell a list problem
-- (BOUNCE_LIST_PROBLEM recipients at one domain refusing one post the same
-- way) from member problems. Kept for bounce_window.
CREATE TABLE bounce_seen (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    message_id  TEXT    NOT NULL,
    domain      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    address     TEXT    NOT NULL COLLATE NOCASE,
    at          INTEGER NOT NULL,
    PRIMARY KEY (club_id, message_id, domain, status, address)
) WITHOUT ROWID;

-- posts already reported to the owners as a list problem
CREATE TABLE bounce_list_problem (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    message_id  TEXT    NOT NULL,
    domain      TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    PRIMARY KEY (club_id, message_id, domain, status)
) WITHOUT ROWID;

-- Addresses that reached bounce_threshold: they receive no list mail of
-- the club (they stay members in M2S's data) until `soarlist bounces reset`.
CREATE TABLE disabled_address (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    address     TEXT    NOT NULL COLLATE NOCASE,
    disabled_at INTEGER NOT NULL,
    reason      TEXT    NOT NULL,
    PRIMARY KEY (club_id, address)
) WITHOUT ROWID;
