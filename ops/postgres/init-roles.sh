#!/bin/sh
# The database roles of the production stack, made once on an empty data directory: the
# postgres image runs this from /docker-entrypoint-initdb.d as its superuser (docker-compose.yml),
# and the production-shaped test runs it against its own server.
#
#   temporal         owns Temporal's two databases (temporal, temporal_visibility)
#   journeys_owner   owns the app's database and schema; `journeys setup` migrates as it and
#                    grants journeys_app its privileges (db/roles.py)
#   journeys_app     what the worker and the API connect as: rows only, and on the audit log
#                    INSERT and SELECT only; not an owner, so it cannot disable its triggers
#
# The passwords come from the environment (docker-compose.yml takes them from .env).
set -eu
: "${TEMPORAL_DB_PASSWORD:?TEMPORAL_DB_PASSWORD is not set}"
: "${JOURNEYS_OWNER_DB_PASSWORD:?JOURNEYS_OWNER_DB_PASSWORD is not set}"
: "${JOURNEYS_APP_DB_PASSWORD:?JOURNEYS_APP_DB_PASSWORD is not set}"

psql -v ON_ERROR_STOP=1 --no-psqlrc --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v temporal_password="$TEMPORAL_DB_PASSWORD" \
  -v owner_password="$JOURNEYS_OWNER_DB_PASSWORD" \
  -v app_password="$JOURNEYS_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE temporal LOGIN PASSWORD :'temporal_password';
CREATE ROLE journeys_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE journeys_app LOGIN PASSWORD :'app_password';

CREATE DATABASE temporal OWNER temporal;
CREATE DATABASE temporal_visibility OWNER temporal;
CREATE DATABASE journeys OWNER journeys_owner;

-- No role reaches a database it was not given: PUBLIC's default CONNECT is taken back.
REVOKE ALL ON DATABASE temporal, temporal_visibility, journeys FROM PUBLIC;
GRANT CONNECT ON DATABASE journeys TO journeys_app;
SQL

# Since PostgreSQL 15 the public schema belongs to the database's owner and PUBLIC may not
# create in it; journeys_app gets USAGE on it from `journeys setup`, and no CREATE.
