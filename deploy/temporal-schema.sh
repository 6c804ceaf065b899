#!/bin/sh
# Creates or upgrades the Temporal databases in PostgreSQL with the admin
# tools' own temporal-sql-tool: the main store and the visibility store
# (postgres12 plugin, so that custom search attributes work without
# Elasticsearch). Every step is idempotent: create skips a database that
# exists, setup-schema keeps a newer version, update-schema applies only the
# versions that are missing. Run by the service temporal-schema.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
port=${DB_PORT:-5432}
schema=/etc/temporal/schema/postgresql/v12
for db in "${DBNAME:-temporal}:temporal" "${VISIBILITY_DBNAME:-temporal_visibility}:visibility"; do
  name=${db%%:*}
  dir=${db#*:}
  sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" --db "$name" "$@"; }
  sql create
  sql setup-schema -v 0.0
  sql update-schema -d "$schema/$dir/versioned"
  echo "database $name: schema up to date"
done
