-- migrate:up
-- A pilot batch: the recipients sent first (`pilot`), and `pilot_sent`, where the campaign waits
-- for a reviewer's continue before the rest goes out.
ALTER TABLE recipients ADD COLUMN pilot boolean NOT NULL DEFAULT false;
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
  CHECK (status IN ('building', 'awaiting_review', 'rejected', 'scheduled', 'sending', 'paused',
                    'pilot_sent', 'cancelling', 'completed', 'cancelled', 'failed', 'expired'));

-- migrate:down
UPDATE campaigns SET status = 'sending' WHERE status = 'pilot_sent';
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
  CHECK (status IN ('building', 'awaiting_review', 'rejected', 'scheduled', 'sending', 'paused',
                    'cancelling', 'completed', 'cancelled', 'failed', 'expired'));
ALTER TABLE recipients DROP COLUMN pilot;
