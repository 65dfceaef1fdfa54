#!/bin/sh
# Run once per `docker compose up` by the temporal-schema one-shot (temporalio/admin-tools): the
# databases Temporal keeps its state in, made and brought to the schema of the admin tools'
# release with Temporal's own temporal-sql-tool, as Temporal's own login (TEMPORAL_DB_USER, made by
# deploy/postgres/20-temporal-login.sh: it may create databases, it is not a superuser and owns
# nothing of the application). A database that exists is only updated; any other failure stops.
set -eu

: "${SQL_PASSWORD:?the password of TEMPORAL_DB_USER}"
SCHEMA_ROOT="${TEMPORAL_SCHEMA_ROOT:-/etc/temporal/schema/postgresql/v12}"

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "${POSTGRES_HOST:-postgres}" -p "${POSTGRES_PORT:-5432}" \
    -u "${TEMPORAL_DB_USER:-temporal}" "$@"
}

prepare() { # database, schema directory under SCHEMA_ROOT
  if out=$(sql_tool --db "$1" create-database 2>&1); then
    echo "created database $1"
    sql_tool --db "$1" setup-schema -v 0.0
  else
    case "$out" in
      *"already exists"*) echo "database $1 exists" ;;
      *) echo "$out" >&2; exit 1 ;;
    esac
  fi
  sql_tool --db "$1" update-schema -d "$SCHEMA_ROOT/$2/versioned"
}

prepare "${TEMPORAL_DB:-temporal}" temporal
prepare "${TEMPORAL_VISIBILITY_DB:-temporal_visibility}" visibility
echo "temporal schemas are current"
