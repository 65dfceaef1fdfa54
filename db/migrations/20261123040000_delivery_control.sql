-- migrate:up
-- `scheduled`: approved, waiting for its startAt time. `expired`: nobody reviewed it in time.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
  CHECK (status IN ('building', 'awaiting_review', 'rejected', 'scheduled', 'sending', 'paused',
                    'completed', 'cancelled', 'failed', 'expired'));
-- Why the campaign is where it is: who paused it and why, or which SMTP reply paused it.
ALTER TABLE campaigns ADD COLUMN status_reason text;
ALTER TABLE campaigns ADD COLUMN account text NOT NULL DEFAULT 'default';

ALTER TABLE delivery_ledger ADD COLUMN account text NOT NULL DEFAULT 'default';
CREATE INDEX delivery_ledger_account_started_idx ON delivery_ledger (account, started_at);

-- The send schedule of each rate limit (an account, or a campaign that asked for less): every
-- worker reserves the next free slot here, so a limit holds across all workers and campaigns.
CREATE TABLE send_slots (
  key          text PRIMARY KEY,
  next_at      timestamptz NOT NULL DEFAULT now(),
  -- after a 421 / 4.7.x reply the limit is slowed down until this time
  slow_until   timestamptz,
  slow_reason  text
);

-- Every reserved send slot, for the rolling daily cap.
CREATE TABLE send_slot_log (
  key text NOT NULL,
  at  timestamptz NOT NULL
);
CREATE INDEX send_slot_log_key_at_idx ON send_slot_log (key, at);

-- migrate:down
DROP TABLE send_slot_log;
DROP TABLE send_slots;
DROP INDEX delivery_ledger_account_started_idx;
ALTER TABLE delivery_ledger DROP COLUMN account;
ALTER TABLE campaigns DROP COLUMN account;
ALTER TABLE campaigns DROP COLUMN status_reason;
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
  CHECK (status IN ('building', 'awaiting_review', 'rejected', 'sending', 'paused',
                    'completed', 'cancelled', 'failed'));
