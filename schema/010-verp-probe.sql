-- soarlist schema version 10: VERP probes (verp = probe, soarlist.conf(5)).
-- (IF NOT EXISTS: test_schema.py rebuilds older databases from a current
-- one by dropping what later migrations added; tables it keeps are fine.)

-- A post to a list with verp = probe goes out as one sendmail run without
-- -XV, and its bounces are attributed from the DSN's recipient fields
-- alone. When such an unconfirmed bounce would disable an address, the
-- address is marked here instead; the next post to any list of the club
-- goes to it in a sendmail run of its own with -XV (src/lib/verp.c), so
-- that its bounce, if any, comes back to LIST-bounces+user=host@DOMAIN
-- and names it for sure: only such a confirmed bounce disables. SENT_AT
-- is set when the probe was handed to sendmail. A confirmed bounce or
-- `soarlist bounces reset` deletes the mark; so does bounce_window.
CREATE TABLE IF NOT EXISTS verp_probe (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    address     TEXT    NOT NULL COLLATE NOCASE,
    status      TEXT    NOT NULL,   -- of the bounce that asked for it
    message_id  TEXT,
    at          INTEGER NOT NULL,   -- when it was asked for
    sent_at     INTEGER,            -- NULL: not sent yet
    PRIMARY KEY (club_id, address)
) WITHOUT ROWID;

-- A verified bounce of a post of the list (its proof token is right) that
-- names no member of the club (a forwarded address, a DSN in free text):
-- the list's next post goes out with -XV to every member, once, so that
-- the next bounce names its member.
CREATE TABLE IF NOT EXISTS verp_probe_list (
    club_id     INTEGER NOT NULL REFERENCES club(id) ON DELETE CASCADE,
    list        TEXT    NOT NULL COLLATE NOCASE,   -- list name
    message_id  TEXT,
    at          INTEGER NOT NULL,
    sent_at     INTEGER,
    PRIMARY KEY (club_id, list)
) WITHOUT ROWID;
