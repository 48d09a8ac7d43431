#!/bin/sh
# Run once by the postgres image when it creates its database (/docker-entrypoint-initdb.d): the runtime role
# the portal connects as. It owns nothing; `manage.py migrate` (as the owner, POSTGRES_USER) grants it its rights.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v role="${APP_DB_USER:-vielfalt_app}" -v password="${APP_DB_PASSWORD:-vielfalt_app}" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
