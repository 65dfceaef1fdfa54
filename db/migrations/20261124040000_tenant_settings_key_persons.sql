-- migrate:up
-- A tenant's settings belong to the installation's admin (the configured API_KEY), not to its keys.
-- s3_locations: [{ bucket, prefix }] the tenant may read; NULL means none, except for the
-- `default` tenant, whose locations then come from S3_ALLOWED_LOCATIONS.
ALTER TABLE tenants
  ADD COLUMN s3_locations        jsonb,
  ADD COLUMN review_skip_allowed boolean NOT NULL DEFAULT false,
  ADD COLUMN four_eyes_required  boolean NOT NULL DEFAULT false,
  ADD COLUMN updated_at          timestamptz,
  ADD COLUMN updated_by          text;

-- The person a key acts for: four eyes compares people, not keys. A key made by a stored key
-- acts for its maker's person; a key made by the configured API_KEY is a person of its own
-- (`key:<name>`) unless the admin named one.
ALTER TABLE api_keys ADD COLUMN person text;
WITH RECURSIVE chain (tenant, name, person) AS (
  SELECT tenant, name, 'key:' || name FROM api_keys WHERE created_by NOT LIKE 'key:%'
  UNION ALL
  SELECT k.tenant, k.name, c.person
  FROM api_keys k JOIN chain c ON k.tenant = c.tenant AND k.created_by = 'key:' || c.name
)
UPDATE api_keys k SET person = c.person FROM chain c WHERE k.tenant = c.tenant AND k.name = c.name;
UPDATE api_keys SET person = 'key:' || name WHERE person IS NULL;
ALTER TABLE api_keys ALTER COLUMN person SET NOT NULL;

-- Decisions asked for through the REST API, by id: the workflow's audit activity reads the
-- caller from here, so only a request the API authenticated is recorded under a key's principal.
CREATE TABLE decision_requests (
  id          uuid PRIMARY KEY,
  tenant      text NOT NULL,
  campaign_id uuid NOT NULL,
  action      text NOT NULL,
  principal   text NOT NULL,
  person      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- One audit row per decision however often the activity that writes it is retried.
ALTER TABLE audit_log ADD COLUMN request_id uuid;
CREATE UNIQUE INDEX audit_log_request_id_idx ON audit_log (request_id) WHERE request_id IS NOT NULL;

-- migrate:down
DROP INDEX audit_log_request_id_idx;
ALTER TABLE audit_log DROP COLUMN request_id;
DROP TABLE decision_requests;
ALTER TABLE api_keys DROP COLUMN person;
ALTER TABLE tenants DROP COLUMN s3_locations, DROP COLUMN review_skip_allowed, DROP COLUMN four_eyes_required,
  DROP COLUMN updated_at, DROP COLUMN updated_by;
