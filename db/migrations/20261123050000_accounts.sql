-- migrate:up
-- SMTP accounts besides the one configured by SMTP_URL/IMAP_URL (which is `default`).
-- Passwords are sealed with AES-256-GCM under MASTER_KEY; nothing here is a plaintext secret.
CREATE TABLE accounts (
  tenant        text NOT NULL,
  name          text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$' AND name <> 'default'),
  smtp          jsonb NOT NULL,   -- { host, port, security, user }
  smtp_password text,             -- sealed
  imap          jsonb,            -- { host, port, security, user, sentFolder, append } or null
  imap_password text,             -- sealed
  limits        jsonb NOT NULL DEFAULT '{}',  -- { messagesPerMinute, messagesPerDay, maxConnections }
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, name)
);

-- migrate:down
DROP TABLE accounts;
