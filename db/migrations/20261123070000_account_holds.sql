-- migrate:up
-- A quota or authentication refusal holds the whole account: every campaign sending through it
-- pauses on its next message, until a person resumes one of them.
ALTER TABLE send_slots ADD COLUMN held_since timestamptz, ADD COLUMN held_reason text;

-- migrate:down
ALTER TABLE send_slots DROP COLUMN held_since, DROP COLUMN held_reason;
