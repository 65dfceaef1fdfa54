-- migrate:up
-- `bounced`: a delivery status notification in the account's INBOX says the sent message did not
-- arrive (src/bounces).
ALTER TABLE recipients DROP CONSTRAINT recipients_send_status_check;
ALTER TABLE recipients ADD CONSTRAINT recipients_send_status_check
  CHECK (send_status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'skipped', 'bounced'));

-- Follow-up campaigns name the campaign they resend from in their source
-- ({ "type": "campaign", "campaignId": … }); this finds a campaign's follow-ups.
CREATE INDEX campaigns_follow_up_of_idx ON campaigns ((source->>'campaignId'))
  WHERE source->>'type' = 'campaign';

-- How far the bounce check has read each account's INBOX: a restart neither skips nor repeats.
-- `mailbox` is `default` (the SMTP_URL/IMAP_URL account, shared by every tenant) or `<tenant>/<name>`.
CREATE TABLE bounce_mailboxes (
  mailbox      text PRIMARY KEY,
  uid_validity bigint NOT NULL,
  last_uid     bigint NOT NULL DEFAULT 0,
  checked_at   timestamptz NOT NULL DEFAULT now()
);

-- Every bounce recorded, one row per message and failed address.
CREATE TABLE bounces (
  campaign_id     uuid NOT NULL,
  recipient_id    integer NOT NULL,
  address         text NOT NULL,
  mailbox         text NOT NULL,
  uid_validity    bigint NOT NULL,
  uid             bigint NOT NULL,
  action          text NOT NULL,
  status          text NOT NULL,
  diagnostic_code text,
  reported_by     text,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, recipient_id, address),
  FOREIGN KEY (campaign_id, recipient_id) REFERENCES recipients (campaign_id, id) ON DELETE CASCADE
);

GRANT SELECT, INSERT, UPDATE, DELETE ON bounce_mailboxes, bounces TO campaign_mailer_app;

-- migrate:down
DROP TABLE bounces;
DROP TABLE bounce_mailboxes;
DROP INDEX campaigns_follow_up_of_idx;
UPDATE recipients SET send_status = 'sent' WHERE send_status = 'bounced';
ALTER TABLE recipients DROP CONSTRAINT recipients_send_status_check;
ALTER TABLE recipients ADD CONSTRAINT recipients_send_status_check
  CHECK (send_status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'skipped'));
