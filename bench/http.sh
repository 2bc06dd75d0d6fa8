#!/usr/bin/env bash
# HTTP load figures for docs/benchmarks.md: wrk (a second process) against a release vault-http
# on loopback. Usage: ./bench/http.sh   (needs wrk: apt-get install wrk)
#
# Environment (all optional):
#   SCOPED=1        use a scoped vault_sk_ token instead of the root token for every measured
#                   request: created through POST /api/vault/tokens with rules
#                   [{"path":"credentials/fxshinobi/*","capabilities":["read","write"]}]; the
#                   POSTs then write credentials of service fxshinobi (within its rules).
#   VAULT_HTTP_BIN  a vault-http binary to measure (skips the build), e.g. one built from an
#                   older commit for a before/after comparison.
#   DURATION        wrk duration per line (default 10s).
#   PORT            port on 127.0.0.1 (default 8077).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${VAULT_HTTP_BIN:-}" ]; then
  cargo build --release -p vault-http
  # Binaries are under the host triple (.cargo/config.toml sets build.target = "host-tuple").
  VAULT_HTTP_BIN="${CARGO_TARGET_DIR:-target}/$(rustc -vV | sed -n 's/^host: //p')/release/vault-http"
fi
duration=${DURATION:-10s}
port=${PORT:-8077}
url=http://127.0.0.1:$port
data=$(mktemp -d)
export VVAULT_SERVICE_TOKEN=bench-token-0123456789abcdef0123456789
export VVAULT_ENCRYPTION_KEY=$(printf '42%.0s' {1..32})
export VAULT_LOG=warn
"$VAULT_HTTP_BIN" serve --data "$data" --addr "127.0.0.1:$port" >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf "$url/api/vault/health" >/dev/null; do sleep 0.1; done
curl -sf -X POST "$url/api/vault/credentials" -H "Authorization: Bearer $VVAULT_SERVICE_TOKEN" \
  -d '{"key":"OANDA_API_KEY","service":"fxshinobi","value":"abc123","metadata":{"account_type":"practice"}}' >/dev/null
if [ "${SCOPED:-0}" = 1 ]; then
  created=$(curl -sf -X POST "$url/api/vault/tokens" -H "Authorization: Bearer $VVAULT_SERVICE_TOKEN" \
    -H 'Content-Type: application/json' \
    -d '{"name":"bench-scoped","rules":[{"path":"credentials/fxshinobi/*","capabilities":["read","write"]}]}')
  token=$(printf '%s' "$created" | grep -o '"token":"vault_sk_[A-Za-z0-9]*"' | cut -d'"' -f4)
  [ -n "$token" ] || { echo "no token in: $created" >&2; exit 1; }
  # Read by bench/post_credential.lua.
  export VVAULT_BENCH_TOKEN=$token VVAULT_BENCH_SERVICE=fxshinobi
  echo "== scoped token (credentials/fxshinobi/*: read, write)"
else
  token=$VVAULT_SERVICE_TOKEN
  unset VVAULT_BENCH_TOKEN VVAULT_BENCH_SERVICE
  echo "== root token"
fi
for c in 1 16; do
  t=$([ "$c" = 1 ] && echo 1 || echo 2)
  echo "== GET credential, $c connection(s)"
  wrk -t$t -c$c -d"$duration" -H "Authorization: Bearer $token" "$url/api/vault/credentials/OANDA_API_KEY?service=fxshinobi" | grep -E "Requests/sec|Latency|Non-2xx"
  echo "== POST credential (durable), $c connection(s)"
  wrk -t$t -c$c -d"$duration" -s bench/post_credential.lua "$url/api/vault/credentials" | grep -E "Requests/sec|Latency|Non-2xx"
done
