-- soarlist schema version 11: the DKIM keys of the club domains
-- (soarlist dkim, soarlist dns). (IF NOT EXISTS: see 010-verp-probe.sql.)

-- One row per key. The private key is the file
-- dkim_dir/keys/DOMAIN/SELECTOR.private, written before its row; the
-- public key is kept here (base64 of the DER SubjectPublicKeyInfo, as the
-- p= tag of the DKIM record carries it) so that `soarlist dns` needs no
-- access to the private keys. The one key of a domain with SIGNING = 1 is
-- the one OpenDKIM's SigningTable names; the others stay published in DNS
-- until `soarlist dkim retire` (mail signed with them may still be in
-- transit or be verified again later).
CREATE TABLE IF NOT EXISTS dkim_key (
    domain      TEXT    NOT NULL COLLATE NOCASE,
    selector    TEXT    NOT NULL COLLATE NOCASE,
    public_key  TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    signing     INTEGER NOT NULL DEFAULT 0 CHECK (signing IN (0, 1)),
    PRIMARY KEY (domain, selector)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS dkim_key_signing ON dkim_key (domain)
    WHERE signing = 1;
