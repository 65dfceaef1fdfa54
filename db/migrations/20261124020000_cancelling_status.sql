-- migrate:up
-- `cancelling`: a cancel was answered, the sends in flight have not all reported yet.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
  CHECK (status IN ('building', 'awaiting_review', 'rejected', 'scheduled', 'sending', 'paused',
                    'cancelling', 'completed', 'cancelled', 'failed', 'expired'));

-- migrate:down
UPDATE campaigns SET status = 'cancelled' WHERE status = 'cancelling';
ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_status_check
  CHECK (status IN ('building', 'awaiting_review', 'rejected', 'scheduled', 'sending', 'paused',
                    'completed', 'cancelled', 'failed', 'expired'));
