-- soarlist schema version 2: what each sync did, and a fingerprint of the
-- last answer stored per club, so that an unchanged answer costs no writes.

ALTER TABLE sync_run ADD COLUMN http_status INTEGER;
ALTER TABLE sync_run ADD COLUMN added INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sync_run ADD COLUMN removed INTEGER NOT NULL DEFAULT 0;

-- SHA-256 of the last answer stored for the club (NULL: none yet)
ALTER TABLE club ADD COLUMN answer_sha256 TEXT;
