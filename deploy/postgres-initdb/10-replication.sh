#!/bin/sh
# Run by the postgres image once, when the database is first made (docker-compose.yml): lets a
# streaming replica (the `scaled` profile's postgres-replica, docs/scaling.md) connect for
# replication as the database owner, with its password, from the compose network. For a database
# made before this file existed, add the same line to pg_hba.conf and reload:
#   docker compose exec postgres sh -c \
#     'echo "host replication trialedc samenet scram-sha-256" >> "$PGDATA/pg_hba.conf"'
#   docker compose exec postgres psql -U trialedc -d trialedc -c 'SELECT pg_reload_conf()'
set -eu
echo "host replication ${POSTGRES_USER} samenet scram-sha-256" >> "$PGDATA/pg_hba.conf"
