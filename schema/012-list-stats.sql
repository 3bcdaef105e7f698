-- soarlist schema version 12: what the delivery agent did, per list and
-- day (soarlist metrics, soarlist stats). (IF NOT EXISTS: see
-- 010-verp-probe.sql.)

-- One row per club, list, UTC day and outcome: how many messages had that
-- outcome and, for 'distributed', how many copies went out. Each delivery
-- adds to its row in the transaction that records what it did (the claim
-- of a post, a held post, a bounce score), or in a statement of its own
-- when it records nothing else (a refusal, a drop). Keyed by the list's
-- name, not its row: the figures outlive a list M2S stops naming. The
-- outcomes are the labels of soarlist_posts_total (stats.h).
CREATE TABLE IF NOT EXISTS list_stat (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    list        TEXT    NOT NULL,
    day         TEXT    NOT NULL,  -- YYYY-MM-DD, UTC
    outcome     TEXT    NOT NULL,
    messages    INTEGER NOT NULL DEFAULT 0,
    recipients  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (club_id, list, day, outcome)
) WITHOUT ROWID;
