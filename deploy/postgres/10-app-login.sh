#!/bin/sh
# Run once by the postgres image when it initialises an empty data directory
# (/docker-entrypoint-initdb.d): the group role the migrations grant the application's privileges
# to, and the login the api and worker use. Migrations run as the owner ($POSTGRES_USER).
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_user="${APP_DB_USER:-mailer}" -v app_password="$APP_DB_PASSWORD" <<'SQL'
SELECT 'CREATE ROLE campaign_mailer_app NOLOGIN'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'campaign_mailer_app')\gexec
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L IN ROLE campaign_mailer_app', :'app_user', :'app_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')\gexec
SQL
