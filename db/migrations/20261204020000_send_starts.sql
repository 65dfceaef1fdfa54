-- migrate:up
-- When each SMTP transaction under a per-minute limit started, for the last minute or so: the
-- guard that holds the limit in any 60-second window as the provider counts it, whatever delayed a
-- message between its reserved slot and the server. Rows older than the window are deleted as
-- new ones are written.
CREATE TABLE send_starts (
  key text NOT NULL,
  at  timestamptz NOT NULL
);
CREATE INDEX send_starts_key_at_idx ON send_starts (key, at);

-- migrate:down
DROP TABLE send_starts;
