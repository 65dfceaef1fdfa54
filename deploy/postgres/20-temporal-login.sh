#!/bin/sh
# Run once by the postgres image when it initialises an empty data directory
# (/docker-entrypoint-initdb.d): Temporal's own login. It may create databases (the
# temporal-schema one-shot makes Temporal's two and owns them); it is no superuser and is granted
# nothing on the application's database.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v temporal_user="${TEMPORAL_DB_USER:-temporal}" -v temporal_password="$TEMPORAL_DB_PASSWORD" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB PASSWORD %L', :'temporal_user', :'temporal_password')
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'temporal_user')\gexec
SQL
