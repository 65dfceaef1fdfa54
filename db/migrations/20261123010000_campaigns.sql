-- migrate:up
CREATE TABLE campaigns (
  id            uuid PRIMARY KEY,
  name          text NOT NULL,
  status        text NOT NULL DEFAULT 'building'
                CHECK (status IN ('building', 'awaiting_review', 'rejected', 'sending', 'paused',
                                  'completed', 'cancelled', 'failed')),
  -- from, subject, text, html, vars: everything needed to render a message but the recipient
  definition    jsonb NOT NULL,
  -- where the recipient list comes from; the build activity reads it and fills `recipients`
  source        jsonb NOT NULL,
  workflow_id   text NOT NULL UNIQUE,
  error         text,
  decided_by    text,
  decision_note text,
  decided_at    timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX campaigns_status_idx ON campaigns (status, created_at DESC);

CREATE TABLE recipients (
  campaign_id   uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  -- 1-based position in the list; stable, so child workflow IDs derived from it are too
  id            integer NOT NULL CHECK (id > 0),
  email         text NOT NULL,
  name          text,
  vars          jsonb NOT NULL DEFAULT '{}',
  build_status  text NOT NULL DEFAULT 'ready'
                CHECK (build_status IN ('ready', 'warning', 'needs_review', 'blocked', 'excluded')),
  build_reasons text[] NOT NULL DEFAULT '{}',
  send_status   text NOT NULL DEFAULT 'pending'
                CHECK (send_status IN ('pending', 'sending', 'sent', 'failed', 'cancelled', 'skipped')),
  copy_status   text NOT NULL DEFAULT 'not_requested'
                CHECK (copy_status IN ('not_requested', 'pending', 'appended', 'failed')),
  message_id    text,
  smtp_response text,
  error         text,
  sent_at       timestamptz,
  appended_at   timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, id)
);
CREATE INDEX recipients_send_status_idx ON recipients (campaign_id, send_status);

-- One row per message, written before and after the SMTP transaction, so that a retried
-- activity knows whether the message already went out.
CREATE TABLE delivery_ledger (
  message_id    text PRIMARY KEY,
  campaign_id   uuid NOT NULL,
  recipient_id  integer NOT NULL,
  state         text NOT NULL CHECK (state IN ('sending', 'sent', 'failed', 'unknown')),
  attempts      integer NOT NULL DEFAULT 1,
  -- the Date header of the message, so its Sent copy can be rebuilt byte for byte
  message_date  timestamptz NOT NULL,
  sha256        text,
  size          integer,
  smtp_response text,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  UNIQUE (campaign_id, recipient_id),
  FOREIGN KEY (campaign_id, recipient_id) REFERENCES recipients (campaign_id, id) ON DELETE CASCADE
);

-- migrate:down
DROP TABLE delivery_ledger;
DROP TABLE recipients;
DROP TABLE campaigns;
