-- migrate:up
-- What a tenant may send through and to, set by the installation's admin:
-- - the `default` account (SMTP_URL, shared by the installation): NULL is "not set", which allows
--   it for tenant `default` alone; the From domains it may use there (empty: any);
-- - the addresses its reviewers may send test messages to (an entry `@example.com` is a domain).
ALTER TABLE tenants
  ADD COLUMN default_account_allowed boolean,
  ADD COLUMN default_account_from_domains text[] NOT NULL DEFAULT '{}',
  ADD COLUMN test_send_recipients text[] NOT NULL DEFAULT '{}';

-- migrate:down
ALTER TABLE tenants DROP COLUMN default_account_allowed, DROP COLUMN default_account_from_domains, DROP COLUMN test_send_recipients;
