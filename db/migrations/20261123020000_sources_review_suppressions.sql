-- migrate:up
-- fixed once at build time so that a preview and the sent message carry the same Date header
ALTER TABLE campaigns ADD COLUMN message_date timestamptz;

ALTER TABLE recipients ADD COLUMN cc text[] NOT NULL DEFAULT '{}';
ALTER TABLE recipients ADD COLUMN bcc text[] NOT NULL DEFAULT '{}';
-- attachments resolved by the build: [{ bucket, key, filename, size }]
ALTER TABLE recipients ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';
-- a reviewer's decision on a needs_review recipient: true include, false leave out, null undecided
ALTER TABLE recipients ADD COLUMN included boolean;
CREATE INDEX recipients_build_status_idx ON recipients (campaign_id, build_status, id);

CREATE TABLE suppressions (
  tenant     text NOT NULL DEFAULT 'default',
  -- stored lower-cased: suppression matches addresses case-insensitively
  email      text NOT NULL CHECK (email = lower(email)),
  reason     text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, email)
);

-- migrate:down
DROP TABLE suppressions;
DROP INDEX recipients_build_status_idx;
ALTER TABLE recipients DROP COLUMN included, DROP COLUMN attachments, DROP COLUMN bcc, DROP COLUMN cc;
ALTER TABLE campaigns DROP COLUMN message_date;
