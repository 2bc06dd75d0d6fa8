#!/usr/bin/env bash
# Decide-and-claim over HTTP for docs/benchmarks.md: wrk (a second process, --latency) against a
# release vault-http on loopback, on sled and on PostgreSQL (one server). Every request is a new
# proposal on one of 64 assets under a policy with cooldown and anti-flip off
# (bench/post_decide.lua), so each is an allowed claim: a durable commit. Lines: 1 connection
# (latency), then 64 (claims/s); each with the server's CPU time per claim (from /proc).
# Usage: ./bench/guards-http.sh   (needs wrk; PostgreSQL on 127.0.0.1:5432 with trust auth for
#        the PostgreSQL lines, skipped with NO_PG=1)
#
# Environment (all optional):
#   VAULT_HTTP_BIN  a vault-http binary (skips the build), e.g. one built from another commit
#   DURATION        wrk duration per line (default 10s)
#   CONNS           the connection counts, in order (default "1 64")
#   NO_PG=1         sled only
#   PG_ADMIN_URL    where the benchmark database is created (default
#                   postgres://postgres@127.0.0.1:5432/test)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VAULT_HTTP_BIN:-}" ]; then
  cargo build --release -p vault-http
  VAULT_HTTP_BIN="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')/release/vault-http"
fi
duration=${DURATION:-10s}
conns=${CONNS:-1 64}
admin=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/test}
db=vault_gbench_$$
pgurl="${admin%/*}/$db"
export VVAULT_SERVICE_TOKEN=bench-token-0123456789abcdef0123456789
export VVAULT_ENCRYPTION_KEY=$(printf '42%.0s' {1..32})
export VAULT_LOG=warn
data=$(mktemp -d)
pids=()
made_db=0
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$data"
  if [ "$made_db" = 1 ]; then
    psql -X -q -d "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

policy='{"allowlist":['
for c in $(seq 0 63); do policy+="\"C$c/*\""; [ "$c" = 63 ] || policy+=','; done
policy+='],"cooldown_s":0,"anti_flip_s":0,"max_position_notional":{"default":"1000000"}}'

cpu_ticks() { # utime + stime of a process, in clock ticks (USER_HZ, 100 on Linux)
  awk '{print $14 + $15}' "/proc/$1/stat"
}

start() { # label, port, then serve arguments
  local label=$1 port=$2; shift 2
  "$VAULT_HTTP_BIN" serve --addr "127.0.0.1:$port" "$@" >/dev/null &
  pids+=($!)
  until curl -sf "http://127.0.0.1:$port/api/vault/health" >/dev/null; do sleep 0.1; done
  curl -sf -X PUT "http://127.0.0.1:$port/api/vault/guards/bench/policy" \
    -H "Authorization: Bearer $VVAULT_SERVICE_TOKEN" -H 'Content-Type: application/json' \
    -d "$policy" >/dev/null
  local pid=${pids[-1]}
  for c in $conns; do
    local cpu0 cpu1 out
    cpu0=$(cpu_ticks "$pid")
    out=$(wrk -t1 -c"$c" -d"$duration" --latency -s bench/post_decide.lua \
      "http://127.0.0.1:$port/api/vault/guards/bench/decide")
    cpu1=$(cpu_ticks "$pid")
    printf '%-8s %2s conn: %5s/s  p50 %8s  p90 %8s  p99 %8s  non-2xx %s  server CPU %s µs/claim  (load %s)\n' \
      "$label" "$c" \
      "$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")" \
      "$(awk '$1 == "50%" {print $2}' <<<"$out")" "$(awk '$1 == "90%" {print $2}' <<<"$out")" \
      "$(awk '$1 == "99%" {print $2}' <<<"$out")" \
      "$(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0)" \
      "$(awk -v t=$((cpu1 - cpu0)) '/requests in/ {printf "%.0f", t * 10000 / $1}' <<<"$out")" \
      "$(cut -d' ' -f1-3 /proc/loadavg)"
  done
}

start sled 8094 --data "$data"
if [ "${NO_PG:-0}" != 1 ]; then
  psql -X -q -d "$admin" -c "CREATE DATABASE $db" >/dev/null
  made_db=1
  start postgres 8095 --store "$pgurl"
fi
