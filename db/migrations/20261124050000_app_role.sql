-- migrate:up
-- The application runs as a role that is not the owner of the tables: it reads and writes the
-- domain tables, and may only add to and read the audit log. Only an owner can disable the
-- log's triggers, so the process that serves tenants cannot erase what they did.
-- Migrations run as the owner. Logins for the application are members of this group role; see
-- the README (Database roles) for production.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'campaign_mailer_app') THEN
    BEGIN
      CREATE ROLE campaign_mailer_app NOLOGIN;
    EXCEPTION
      -- another database of the same server created it at this moment
      WHEN duplicate_object OR unique_violation THEN NULL;
    END;
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO campaign_mailer_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO campaign_mailer_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO campaign_mailer_app;
REVOKE ALL ON audit_log FROM campaign_mailer_app;
GRANT SELECT, INSERT ON audit_log TO campaign_mailer_app;
REVOKE ALL ON schema_migrations FROM campaign_mailer_app;
GRANT SELECT ON schema_migrations TO campaign_mailer_app;
-- Tables and sequences later migrations create (as the same owner) are the application's to use.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO campaign_mailer_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO campaign_mailer_app;

-- migrate:down
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE USAGE, SELECT ON SEQUENCES FROM campaign_mailer_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM campaign_mailer_app;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM campaign_mailer_app;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM campaign_mailer_app;
REVOKE USAGE ON SCHEMA public FROM campaign_mailer_app;
