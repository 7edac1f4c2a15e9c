#!/usr/bin/env bash
# The admin API's contract, checked against the running service:
#  1. starts `doorman serve` on a database of its own, with an admin token;
#  2. exports /api/openapi.json and validates it (openapi-spec-validator);
#  3. runs schemathesis against the service with that document: no server
#     error, no undocumented status, responses as the schemas say, and no
#     request the schema allows refused (positive data acceptance).
# Usage: scripts/api-fuzz.sh   (env: API_FUZZ_EXAMPLES, per operation and
# phase, default 25; API_FUZZ_SEED; DATABASE_URL names the PostgreSQL server
# to create the throwaway database on, else 127.0.0.1:5432, else doorman
# starts its own.) Python 3.9+ and pip fetch the two tools into a virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target=${CARGO_TARGET_DIR:-$root/target}
work="$target/api-fuzz"
venv="$target/api-fuzz-venv"
examples=${API_FUZZ_EXAMPLES:-25}
seed=${API_FUZZ_SEED:-20261204}
token="api-fuzz-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
mkdir -p "$work"

log() { printf '\n== %s\n' "$*"; }

# Pinned: a newer schemathesis may add checks or change flags.
SCHEMATHESIS=4.32.5
SPEC_VALIDATOR=0.9.0
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep "$SCHEMATHESIS" >/dev/null \
  || ! "$venv/bin/pip" show openapi-spec-validator 2>/dev/null | grep "Version: $SPEC_VALIDATOR" >/dev/null; then
  log "installing schemathesis $SCHEMATHESIS and openapi-spec-validator $SPEC_VALIDATOR"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS" "openapi-spec-validator==$SPEC_VALIDATOR"
fi

log "building doorman"
cargo build --locked --quiet --bin doorman
bin="$target/debug/doorman"

# A database of its own: on the given (or local) server when psql can reach
# it, else doorman's own local PostgreSQL in a scratch folder.
server=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
server=${server%/*}
db="doorman_api_fuzz_$$"
rundir="$work/run"
rm -rf "$rundir" && mkdir -p "$rundir"
database_url=""
if command -v psql >/dev/null 2>&1 && psql "$server/postgres" -qAtc 'SELECT 1' >/dev/null 2>&1; then
  psql "$server/postgres" -qc "CREATE DATABASE $db" >/dev/null
  database_url="$server/$db"
fi

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$database_url" ]; then psql "$server/postgres" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

log "starting doorman serve on $base"
# The scheduler is off: the fuzzer's feeds and codes must not reach out.
(
  cd "$rundir"
  if [ -n "$database_url" ]; then export DATABASE_URL="$database_url"; else unset DATABASE_URL; fi
  # and a feed fetched on demand fails at once instead of calling the world.
  export HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 NO_PROXY=""
  BIND_ADDR="127.0.0.1:$port" ADMIN_API_TOKEN="$token" SCHEDULER_ENABLED=false LOG_FORMAT=json \
    RUST_LOG=warn,doorman=info exec "$bin" serve
) >"$work/service.log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  curl -fsS "$base/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/service.log"; echo "doorman did not start" >&2; exit 1; }
  sleep 0.5
done

log "exporting and validating the OpenAPI document"
curl -fsS "$base/api/openapi.json" -o "$work/openapi.json"
"$venv/bin/openapi-spec-validator" "$work/openapi.json"

log "schemathesis: $examples examples per operation and phase, seed $seed"
status=0
# From $work: schemathesis keeps a cache in its working folder.
(cd "$work" && PYTHONPATH="$root/scripts" SCHEMATHESIS_HOOKS=api_fuzz_hooks \
  "$venv/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "$work/openapi.json" \
  --url "$base" -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,response_schema_conformance,positive_data_acceptance \
  --max-examples "$examples" --seed "$seed" --workers 2 --no-color \
  --report junit --report-dir "$work/report") || status=$?

# Every error the service logged is a finding, but for the 502s of a lock
# provider, which are documented (none is configured here).
errors=$(grep '"level":"ERROR"' "$work/service.log" | grep -v 'Status code: 502' || true)
if [ -n "$errors" ]; then
  echo "the service logged errors during the run:" >&2
  printf '%s\n' "$errors" | head -20 >&2
  status=1
fi
if grep -qi 'panicked' "$work/service.log"; then
  echo "the service panicked during the run" >&2
  status=1
fi
exit "$status"
