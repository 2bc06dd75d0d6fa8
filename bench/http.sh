#!/usr/bin/env bash
# HTTP load figures for docs/benchmarks.md: wrk (a second process) against a release vault-http
# on loopback. Usage: ./bench/http.sh   (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p vault-http
data=$(mktemp -d)
export VVAULT_SERVICE_TOKEN=bench-token-0123456789abcdef0123456789
export VVAULT_ENCRYPTION_KEY=$(printf '42%.0s' {1..32})
export VAULT_LOG=warn
./target/release/vault-http serve --data "$data" --addr 127.0.0.1:8077 >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
until curl -sf http://127.0.0.1:8077/api/vault/health >/dev/null; do sleep 0.1; done
curl -sf -X POST http://127.0.0.1:8077/api/vault/credentials -H "Authorization: Bearer $VVAULT_SERVICE_TOKEN" \
  -d '{"key":"OANDA_API_KEY","service":"fxshinobi","value":"abc123","metadata":{"account_type":"practice"}}' >/dev/null
url=http://127.0.0.1:8077
for c in 1 16; do
  t=$([ "$c" = 1 ] && echo 1 || echo 2)
  echo "== GET credential, $c connection(s)"
  wrk -t$t -c$c -d10s -H "Authorization: Bearer $VVAULT_SERVICE_TOKEN" "$url/api/vault/credentials/OANDA_API_KEY?service=fxshinobi" | grep -E "Requests/sec|Latency|Non-2xx"
  echo "== POST credential (durable), $c connection(s)"
  wrk -t$t -c$c -d10s -s bench/post_credential.lua "$url/api/vault/credentials" | grep -E "Requests/sec|Latency|Non-2xx"
done
