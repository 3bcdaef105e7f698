-- soarlist schema version 8: bounces that cannot be forged.

-- The key of the X-Soarlist-Proof token (src/lib/bounce-proof.c), made once
-- when this migration runs: 32 bytes from SQLite's randomness (ChaCha20
-- seeded from /dev/urandom). It never leaves the database, which is
-- private to the soarlist user.
CREATE TABLE bounce_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    secret      BLOB    NOT NULL CHECK (length(secret) = 32),
    created_at  INTEGER NOT NULL
);
INSERT INTO bounce_key (id, secret, created_at)
    VALUES (1, randomblob(32), CAST(strftime('%s', 'now') AS INTEGER));

-- Permanent failures of members reported by DSNs that do not prove they
-- answer a post of the list (no token of the returned Message-ID, or a
-- wrong one): anyone can send those. They score nobody; `soarlist bounces`
-- shows them. One row per address, club and day; COUNT says how many came
-- that day. Rows older than bounce_window are deleted when the next one
-- of the club is recorded; `soarlist bounces reset` deletes an address's.
CREATE TABLE bounce_unverified (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    address     TEXT    NOT NULL COLLATE NOCASE,
    day         INTEGER NOT NULL,   -- unix time / 86400
    status      TEXT    NOT NULL,   -- of the latest one
    message_id  TEXT,               -- as the latest one claimed
    diagnostic  TEXT,
    count       INTEGER NOT NULL DEFAULT 1,
    at          INTEGER NOT NULL,   -- the latest one
    PRIMARY KEY (club_id, address, day)
) WITHOUT ROWID;
