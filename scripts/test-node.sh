#!/usr/bin/env bash
# Builds and tests the Node package (vault-node) against both modes: embedded, and a real
# vault-http server. Works on a fresh clone; needs cargo, node (>= 18) and npm on PATH.
# Usage: ./scripts/test-node.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== node: cargo build -p vault-http (server for the remote-mode tests)"
cargo build -p vault-http
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
export VAULT_HTTP_BIN="${VAULT_HTTP_BIN:-$target_dir/debug/vault-http}"

echo "== node: examples/node dependencies (links ../../vault-node)"
(cd examples/node && npm install --no-audit --no-fund)

cd vault-node
echo "== node: npm install"
# Not `npm ci`: npm 11 writes only this platform's optional deps of @napi-rs/cli into the lock
# file and `npm ci` then rejects it (see shared/research/toolchain.md section 4).
npm install --no-audit --no-fund

echo "== node: napi build (debug)"
npm run build:debug

echo "== node: tsc --noEmit (index.d.ts against typecheck/api.ts and examples/node)"
npx tsc --noEmit -p .

echo "== node: node --test __test__/"
node --test __test__/
