#!/usr/bin/env bash
# Runs every test of the project: Rust (all crates), Python (vault-py), Node (vault-node).
# Usage: ./scripts/test.sh   (from anywhere; needs only cargo, python3 and node/npm on PATH)
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== rust: cargo test --workspace"
cargo test --workspace --locked

echo "== python: vault-py"
./scripts/test-python.sh

echo "== node: vault-node"
./scripts/test-node.sh

echo "== all tests passed"
