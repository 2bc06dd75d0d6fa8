#!/usr/bin/env bash
# Builds and tests the Node package (vault-node) against both modes: embedded, and a real
# vault-http server. Works on a fresh clone; needs cargo, node (^20.19 || ^22.13 || >= 23.5, as
# vault-node/package.json's engines say) and npm on PATH.
#
# The tests run a debug addon built into vault-node/build/debug/ (VAULT_NODE_ADDON_DIR): the
# release addon `npm run build` puts next to index.js is never rebuilt, replaced or loaded here
# (checked below).
# Usage: ./scripts/test-node.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== node: cargo build -p vault-http (server for the remote-mode tests)"
cargo build -p vault-http
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
export VAULT_HTTP_BIN="${VAULT_HTTP_BIN:-$target_dir/$(rustc -vV | sed -n 's/^host: //p')/debug/vault-http}"

# `npm install` that fails on an EBADENGINE warning: the dev dependencies are pinned
# (vault-node/package.json overrides) to versions whose engines accept every Node version
# package.json's engines allows, so such a warning is a regression.
npm_install() {
  local log
  log="$(mktemp)"
  npm install --no-audit --no-fund "$@" 2>&1 | tee "$log"
  if grep -q EBADENGINE "$log"; then
    rm -f "$log"
    echo "npm install warned EBADENGINE in $PWD: a dependency does not support this Node ($(node --version))" >&2
    exit 1
  fi
  rm -f "$log"
}

echo "== node: examples/node dependencies (links ../../vault-node)"
# --no-package-lock: examples/node's lock file is not committed, and one left by an older
# checkout records vault-node's dev dependencies as resolved without vault-node's overrides.
(cd examples/node && npm_install --no-package-lock)

cd vault-node
# What a release build left next to index.js (nothing on a fresh clone), to check it is untouched.
release_build() { sha256sum vault.*.node native.js native.d.ts 2>/dev/null || true; }
release_before="$(release_build)"

echo "== node: npm install"
# Not `npm ci`: npm 11 writes only this platform's optional deps of @napi-rs/cli into the lock
# file and `npm ci` then rejects it ("Missing: @napi-rs/... from lock file"; npm/cli#4828).
npm_install

echo "== node: napi build (debug, into vault-node/build/debug/)"
npm run build:debug
export VAULT_NODE_ADDON_DIR="$PWD/build/debug"
if [ "$(release_build)" != "$release_before" ]; then
  echo "the debug build changed the release addon next to index.js" >&2
  exit 1
fi

echo "== node: tsc --noEmit (index.d.ts against typecheck/api.ts and examples/node)"
npx tsc --noEmit -p .

echo "== node: node --test __test__/ (addon: $VAULT_NODE_ADDON_DIR)"
node --test __test__/
