-- soarlist schema version 5: each held post gets an unguessable, single-use
-- token; the owners' notice has Reply-To LIST-request+TOKEN@DOMAIN, and a
-- reply from an owner whose first line is approve, reject or discard acts
-- on the post (the row, and with it the token, is then gone).

ALTER TABLE held_message ADD COLUMN token TEXT;
CREATE UNIQUE INDEX held_message_token ON held_message (token);
