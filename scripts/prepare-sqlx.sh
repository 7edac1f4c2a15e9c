#!/usr/bin/env bash
# Regenerates .sqlx/ (the query data that lets `cargo build` check SQL
# without a database) after a change to migrations/ or to a query!.
#
#   scripts/prepare-sqlx.sh [postgres://user@host:port]
#
# It recreates the database $PREPARE_DB (default doorman_sqlx_prepare) on that server (default:
# $PREPARE_SERVER_URL or postgres://postgres@127.0.0.1:5432), applies the
# migrations with psql, and rebuilds every target against it.
set -euo pipefail
cd "$(dirname "$0")/.."
server=${1:-${PREPARE_SERVER_URL:-postgres://postgres@127.0.0.1:5432}}
db=${PREPARE_DB:-doorman_sqlx_prepare}
psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
for migration in migrations/*.sql; do
  psql "$server/$db" -q -v ON_ERROR_STOP=1 -f "$migration"
done
rm -rf .sqlx && mkdir .sqlx
find src tests benches -name '*.rs' -exec touch {} + 2>/dev/null || true
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$PWD/.sqlx" DATABASE_URL="$server/$db" cargo check --all-targets --quiet
echo "prepared $(ls .sqlx | wc -l) queries in .sqlx/"
