#!/usr/bin/env bash
# HTTP load on sled and on PostgreSQL, one server and two, for docs/benchmarks.md: wrk (second
# processes) against release vault-http servers on loopback, 16 connections per line (split
# 8 + 8 over the two servers in the two-server lines, whose requests/s are the sum).
# Usage: ./bench/http-postgres.sh   (needs wrk, and PostgreSQL on 127.0.0.1:5432 with trust auth)
#
# Environment (all optional):
#   VAULT_HTTP_BIN  a vault-http binary (skips the build)
#   DURATION        wrk duration per line (default 10s)
#   PG_ADMIN_URL    where the benchmark database is created (default
#                   postgres://postgres@127.0.0.1:5432/test)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VAULT_HTTP_BIN:-}" ]; then
  cargo build --release -p vault-http
  # Binaries are under the host triple (.cargo/config.toml sets build.target = "host-tuple").
  VAULT_HTTP_BIN="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')/release/vault-http"
fi
duration=${DURATION:-10s}
admin=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
db=vault_bench_$$
pgurl="${admin%/*}/$db"
export VVAULT_SERVICE_TOKEN=bench-token-0123456789abcdef0123456789
export VVAULT_ENCRYPTION_KEY=$(printf '42%.0s' {1..32})
export VAULT_LOG=warn
data=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$data"
  psql -X -q -d "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT
psql -X -q -d "$admin" -c "CREATE DATABASE $db" >/dev/null

start() { # port, then serve arguments
  local port=$1; shift
  "$VAULT_HTTP_BIN" serve --addr "127.0.0.1:$port" "$@" >/dev/null &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$port/api/vault/health" >/dev/null; do sleep 0.1; done
  curl -sf -X POST "http://127.0.0.1:$port/api/vault/credentials" \
    -H "Authorization: Bearer $VVAULT_SERVICE_TOKEN" \
    -d '{"key":"OANDA_API_KEY","service":"fxshinobi","value":"abc123"}' >/dev/null
}
get=/api/vault/credentials/OANDA_API_KEY?service=fxshinobi
put=/api/vault/configs/bench
sum() { awk '/Requests\/sec/ {s += $2} END {printf "%.0f requests/s\n", s}'; }
line() { # label, then one URL per server
  local label=$1 path=$2; shift 2
  local c=$((16 / $#)) out
  out=$(for port in "$@"; do
    if [ "$path" = "$put" ]; then
      wrk -t1 -c$c -d"$duration" -s bench/post_config.lua "http://127.0.0.1:$port$path" &
    else
      wrk -t1 -c$c -d"$duration" -H "Authorization: Bearer $VVAULT_SERVICE_TOKEN" "http://127.0.0.1:$port$path" &
    fi
  done; wait)
  printf '%-40s %s' "$label" "$(printf '%s\n' "$out" | sum)"
  printf '   (non-2xx: %s)\n' "$(printf '%s\n' "$out" | awk '/Non-2xx/ {s += $NF} END {print s + 0}')"
}

start 8091 --data "$data"
line "sled, 1 server: GET credential" "$get" 8091
line "sled, 1 server: POST config" "$put" 8091
start 8092 --store "$pgurl"
line "postgres, 1 server: GET credential" "$get" 8092
line "postgres, 1 server: POST config" "$put" 8092
start 8093 --store "$pgurl"
line "postgres, 2 servers: GET credential" "$get" 8092 8093
line "postgres, 2 servers: POST config" "$put" 8092 8093
