#!/bin/sh
# The read-only role Grafana's PostgreSQL data source logs in as (the history panels).
#
# The postgres image runs this once, when it initialises an empty data directory
# (mounted at /docker-entrypoint-initdb.d by docker-compose.yml). For a store that
# already exists, run it by hand with the same variables (docs/production.md):
#   GRAFANA_DB_USER=opstrack_grafana GRAFANA_DB_PASSWORD=… POSTGRES_USER=opstrack \
#   POSTGRES_DB=opstrack PGHOST=… sh deploy/postgres/initdb/10-grafana-reader.sh
#
# The tables do not exist yet when this runs (the migrate service creates them), so
# the grant is a default privilege: SELECT on every table the owner creates in the
# schema later, plus those already there. Every session of the role is read-only and
# bounded in time and number, so a heavy panel cannot hold the workers back.
set -eu
: "${GRAFANA_DB_USER:?set GRAFANA_DB_USER}"
: "${GRAFANA_DB_PASSWORD:?set GRAFANA_DB_PASSWORD}"
# psql variables (:"name" quotes an identifier, :'name' a literal): no value is pasted
# into the SQL text, so any character is safe in the password.
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v reader="$GRAFANA_DB_USER" -v password="$GRAFANA_DB_PASSWORD" \
  -v owner="$POSTGRES_USER" -v db="$POSTGRES_DB" -v schema="${GRAFANA_DB_SCHEMA:-public}" <<'SQL'
CREATE ROLE :"reader" LOGIN PASSWORD :'password' CONNECTION LIMIT 10;
ALTER ROLE :"reader" SET default_transaction_read_only = on;
ALTER ROLE :"reader" SET statement_timeout = '30s';
GRANT CONNECT ON DATABASE :"db" TO :"reader";
GRANT USAGE ON SCHEMA :"schema" TO :"reader";
GRANT SELECT ON ALL TABLES IN SCHEMA :"schema" TO :"reader";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA :"schema" GRANT SELECT ON TABLES TO :"reader";
SQL
