-- migrate:up
CREATE TABLE tenants (
  id         text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
-- The tenant of the bootstrap key (API_KEY from configuration) and of every campaign created before tenants.
INSERT INTO tenants (id) VALUES ('default');

CREATE TABLE api_keys (
  id          uuid PRIMARY KEY,
  tenant      text NOT NULL REFERENCES tenants (id),
  name        text NOT NULL,
  -- sha256 of the key: the key itself is shown once, on creation, and never stored
  key_hash    text NOT NULL UNIQUE,
  -- the first characters of the key, so an operator can tell keys apart
  prefix      text NOT NULL,
  scopes      text[] NOT NULL,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  revoked_at  timestamptz,
  UNIQUE (tenant, name)
);

ALTER TABLE campaigns ADD COLUMN tenant text NOT NULL DEFAULT 'default' REFERENCES tenants (id);
ALTER TABLE campaigns ADD COLUMN created_by text;
-- a stable, strictly increasing position for paging newest first
ALTER TABLE campaigns ADD COLUMN seq bigserial;
CREATE UNIQUE INDEX campaigns_tenant_seq_idx ON campaigns (tenant, seq DESC);
CREATE INDEX campaigns_tenant_status_idx ON campaigns (tenant, status, seq DESC);

-- Idempotency-Key on POST /campaigns: a retried request with the same key and body finds its campaign.
CREATE TABLE idempotency_keys (
  tenant      text NOT NULL REFERENCES tenants (id),
  key         text NOT NULL,
  body_sha256 text NOT NULL,
  campaign_id uuid NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, key)
);

-- Who did what and when. Rows are only ever added; the trigger below refuses the rest.
CREATE TABLE audit_log (
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT now(),
  tenant      text NOT NULL,
  principal   text NOT NULL,
  action      text NOT NULL,
  -- no foreign key: the log outlives what it talks about
  campaign_id uuid,
  subject     text,
  details     jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_tenant_idx ON audit_log (tenant, id DESC);
CREATE INDEX audit_log_campaign_idx ON audit_log (tenant, campaign_id, id DESC);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- migrate:down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE idempotency_keys;
DROP INDEX campaigns_tenant_status_idx;
DROP INDEX campaigns_tenant_seq_idx;
ALTER TABLE campaigns DROP COLUMN seq;
ALTER TABLE campaigns DROP COLUMN created_by;
ALTER TABLE campaigns DROP COLUMN tenant;
DROP TABLE api_keys;
DROP TABLE tenants;
