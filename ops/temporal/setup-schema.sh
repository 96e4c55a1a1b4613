#!/bin/sh
# Temporal's schema in its two databases, made on the first run and brought up to the admin
# tools' version on later ones; run by the temporal-schema service of docker-compose.yml with
# the admin tools of the server's own version. The databases themselves are made, owned by the
# `temporal` role, by ops/postgres/init-roles.sh.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is not set}"
: "${POSTGRES_USER:?POSTGRES_USER is not set}"
: "${SQL_PASSWORD:?SQL_PASSWORD is not set}"

for database in temporal visibility; do
  name=$database
  [ "$database" = visibility ] && name=temporal_visibility
  tool="temporal-sql-tool --plugin postgres12 --ep $POSTGRES_SEEDS -u $POSTGRES_USER -p ${DB_PORT:-5432} --db $name"
  # As upstream's compose files do on every start: setup-schema -v 0.0 makes the version
  # tables, and update-schema applies each versioned step the database lacks.
  $tool setup-schema -v 0.0
  $tool update-schema -d "/etc/temporal/schema/postgresql/v12/$database/versioned"
done
echo "Temporal schema ready"
