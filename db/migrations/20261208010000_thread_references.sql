-- migrate:up
-- A threaded follow-up's whole conversation (RFC 5322 §3.6.4): the References its message
-- carries, the parent's References followed by the parent's Message-ID (thread_message_id, its
-- In-Reply-To), space-separated. A reminder of a reminder then names the original's message too,
-- and a reply to it reaches every campaign of the chain. Null for rows made before: their
-- References was their thread_message_id alone.
ALTER TABLE recipients ADD COLUMN thread_references text;

-- migrate:down
ALTER TABLE recipients DROP COLUMN thread_references;
