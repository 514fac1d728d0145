#!/usr/bin/env bash
# Applies the SQL migrations in a folder (NNNN_<change>.sql), in name order, each exactly once:
#
#   PGHOST=... PGPORT=... PGUSER=... PGDATABASE=... [PGPASSWORD=...] migrate.sh <folder>
#
# Each file runs in one transaction together with its row in schema_migrations(version =
# the file name), so a failing file leaves nothing behind and is retried on the next run.
# Migration files must therefore not contain BEGIN/COMMIT, nor statements that cannot run inside
# a transaction (CREATE INDEX CONCURRENTLY, VACUUM, ...).
# Used by scripts/stack (local stack) and by the `migrate` service of compose/docker-compose.yml.
# PSQL overrides the psql binary.
set -euo pipefail

dir=${1:?usage: migrate.sh <folder with NNNN_*.sql>}
psql_bin=${PSQL:-psql}

run_psql() {
  PGOPTIONS='-c client_min_messages=warning' "$psql_bin" -X -q -v ON_ERROR_STOP=1 "$@"
}

run_psql -c "create table if not exists schema_migrations (
    version text primary key, applied_at timestamptz default now())"
applied=$(run_psql -tAc 'select version from schema_migrations')

shopt -s nullglob
files=("$dir"/[0-9][0-9][0-9][0-9]_*.sql)
count=0 skipped=0
for file in "${files[@]}"; do
  version=${file##*/}
  if ! [[ $version =~ ^[0-9]{4}_[A-Za-z0-9_.-]+\.sql$ ]]; then
    echo "migrations: unexpected file name $version (want NNNN_name.sql)" >&2
    exit 1
  fi
  if grep -qxF "$version" <<<"$applied"; then
    skipped=$((skipped + 1))
    continue
  fi
  if ! run_psql --single-transaction -f "$file" \
    -c "insert into schema_migrations (version) values ('$version')"; then
    echo "migrations: $version failed; nothing of it was applied" >&2
    exit 1
  fi
  echo "migrations: applied $version"
  count=$((count + 1))
done
echo "migrations: $count applied, $skipped already applied"
