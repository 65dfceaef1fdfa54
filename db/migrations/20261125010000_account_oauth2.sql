-- migrate:up
-- OAuth2 (SASL XOAUTH2) sign-in: the public settings as JSON, and the flow's secrets (client
-- secret, refresh token, service-account private key) as one value sealed like the passwords.
ALTER TABLE accounts ADD COLUMN oauth2 jsonb, ADD COLUMN oauth2_secrets text;

-- migrate:down
ALTER TABLE accounts DROP COLUMN oauth2, DROP COLUMN oauth2_secrets;
