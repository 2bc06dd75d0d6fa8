#!/usr/bin/env bash
# Runs every test of the project: Rust (all crates), Python (vault-py), Node (vault-node), then
# the README's quick start (scripts/test-quickstart.sh).
# Usage: ./scripts/test.sh   (from anywhere; needs only cargo, python3, node/npm and curl on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
phase() { echo "== $1   (at $((SECONDS - start)) s)"; }

phase "rust: cargo test --workspace (the PostgreSQL store's tests need a server: see README, Testing)"
cargo test --workspace --locked

phase "python: vault-py"
./scripts/test-python.sh

phase "node: vault-node"
./scripts/test-node.sh

phase "quickstart: the README's quick start, as written (release builds; port 8000)"
./scripts/test-quickstart.sh

phase "all tests passed"
