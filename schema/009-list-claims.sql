-- soarlist schema version 9: one copy per person without a row per person.
-- A post distributed on several lists of a club (To: members@, Cc: board@)
-- is claimed once per list in recent_message; who already has it through
-- another list is computed, at the moment of the claim, from the members
-- of the club's other lists that hold a claim on the same Message-ID
-- (src/lib/seen.c). The per-address rows of version 3 go.
DROP TABLE recipient_copy;
CREATE INDEX recent_message_id ON recent_message (message_id);
