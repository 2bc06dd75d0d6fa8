#!/usr/bin/env bash
# Builds and tests the Python package (vault-py, `import vault`) against both modes: embedded,
# and a real vault-http server. Works on a fresh clone; needs cargo and python3 (>= 3.9) on PATH.
# Creates .venv at the repo root when missing. One cargo target dir for everything
# (CARGO_TARGET_DIR, default ./target).
# Usage: ./scripts/test-python.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${CARGO_TARGET_DIR:-}" ] || unset CARGO_TARGET_DIR

venv=.venv
if [ ! -x "$venv/bin/python" ]; then
    echo "== python: creating $venv"
    python3 -m venv "$venv"
fi
py="$venv/bin/python"

echo "== python: tools (maturin pytest mypy ruff openai; hvac for the Vault-compatible API tests)"
"$py" -m pip install -q --disable-pip-version-check maturin pytest mypy ruff openai hvac

echo "== python: cargo build -p vault-http (server for the remote-mode tests)"
cargo build -p vault-http
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
export CARGO_TARGET_DIR="$target_dir"
export VAULT_HTTP_BIN="${VAULT_HTTP_BIN:-$target_dir/$(rustc -vV | sed -n 's/^host: //p')/debug/vault-http}"

# pyproject.toml builds release (what `pip install ./vault-py` gives users); the tests take the
# debug build, much quicker to compile (maturin's PEP 517 backend reads build-args).
echo "== python: pip install ./vault-py (maturin backend, dev profile)"
"$py" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
    --config-settings=build-args="--profile dev" ./vault-py

echo "== python: ruff"
"$venv/bin/ruff" check vault-py examples/python vault-http/tests/python
"$venv/bin/ruff" format --check vault-py examples/python vault-http/tests/python

echo "== python: mypy --strict (stubs, example, tests) and stubtest (stubs vs the built module)"
"$venv/bin/mypy" --strict vault-py/python/vault examples/python/trading_client.py examples/python/trading_loop.py vault-py/tests vault-http/tests/python
"$py" -m mypy.stubtest vault._native

echo "== python: pytest"
"$py" -m pytest -q -rs vault-py/tests

echo "== python: pytest vault-http/tests/python (the real hvac client against vault-http)"
"$py" -m pytest -q -rs vault-http/tests/python
