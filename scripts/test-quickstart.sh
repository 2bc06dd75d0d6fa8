#!/usr/bin/env bash
# Runs the README's "Quick start" exactly as written, in a fresh copy of the repository (the files
# git tracks or would add) in a temporary directory, and checks what the examples print.
#
# The commands are the fenced blocks between `<!-- quickstart -->` and `<!-- /quickstart -->` in
# README.md: the first block is the server command, started in the background (its own process
# group) and waited for on http://127.0.0.1:8000; the other blocks run, in order, in one bash
# shell with `set -e` from the copy's root. Nothing in them is substituted. The copy builds into
# this repository's cargo target dir (CARGO_TARGET_DIR, default ./target), so the release builds
# are reused from one run to the next. Port 8000 must be free (the README's server uses it).
# Needs what the quick start needs: cargo, python3 (venv), node and npm, curl; and network access
# for pip and npm.
# Usage: ./scripts/test-quickstart.sh   (from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
readme=README.md
url=http://127.0.0.1:8000

target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in /*) ;; *) target_dir="$repo/$target_dir" ;; esac

# --- the commands, from the README --------------------------------------------------------
# qs: the fenced blocks of the quickstart region, in order, each with its final newline.
qs=()
in_region=0 in_fence=0 block=
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in
    '<!-- quickstart -->') in_region=1; continue ;;
    '<!-- /quickstart -->') in_region=0; continue ;;
  esac
  if [ "$in_region" = 0 ]; then continue; fi
  if [[ "$line" == '```'* ]]; then
    if [ "$in_fence" = 1 ]; then qs+=("$block"); block= in_fence=0; else in_fence=1; fi
  elif [ "$in_fence" = 1 ]; then
    block+="$line"$'\n'
  fi
done <"$readme"
if [ "${#qs[@]}" -lt 2 ]; then
  echo "test-quickstart: README.md needs a <!-- quickstart --> region with at least two fenced blocks (server, then clients); found ${#qs[@]}" >&2
  exit 1
fi
server_cmd="${qs[0]%$'\n'}"
if [[ "$server_cmd" == *$'\n'* ]]; then
  echo "test-quickstart: the first quickstart block must be the server command alone, got:" >&2
  printf '%s\n' "$server_cmd" >&2
  exit 1
fi
client_script="$(printf '%s' "${qs[@]:1}")"

if curl -s -o /dev/null --max-time 2 "$url/"; then
  echo "test-quickstart: something already listens on $url (the README's server address): stop it first" >&2
  exit 1
fi

# --- a fresh copy -------------------------------------------------------------------------
work="$(mktemp -d "${TMPDIR:-/tmp}/vault-quickstart.XXXXXX")"
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM -- "-$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

copy="$work/vault"
mkdir -p "$copy" "$work/tmp"
git ls-files -z --cached --others --exclude-standard |
  while IFS= read -r -d '' f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi; done |
  tar --null -T - -cf - | tar -xf - -C "$copy"

# A newcomer's shell: none of the vault variables (dev mode, the examples' defaults), no
# activated virtualenv, no debug-addon override; the examples' caches go to a temp dir of this run.
for v in $(compgen -e); do
  case "$v" in VAULT_* | VVAULT_* | CHAT_CACHE_FILE | LLM_BASE_URL | VIRTUAL_ENV) unset "$v" ;; esac
done
export CARGO_TARGET_DIR="$target_dir" TMPDIR="$work/tmp"

elapsed() { echo "$((SECONDS - $1))s"; }

# --- the server -----------------------------------------------------------------------------
echo "== quickstart: server: $server_cmd   (in $copy, target dir $target_dir)"
t0=$SECONDS
(cd "$copy" && exec setsid bash -c "$server_cmd") >"$work/server.log" 2>&1 &
server_pid=$!
until curl -sf -o /dev/null --max-time 2 "$url/api/vault/health"; do
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "test-quickstart: the server exited before answering; its output:" >&2
    tail -n 40 "$work/server.log" >&2
    exit 1
  fi
  if [ $((SECONDS - t0)) -gt 1800 ]; then
    echo "test-quickstart: no answer from $url after 30 min" >&2
    exit 1
  fi
  sleep 0.5
done
echo "   up after $(elapsed "$t0") (build included)"
[ -s "$copy/vault-data/service.token" ] || { echo "test-quickstart: no vault-data/service.token (dev mode)" >&2; exit 1; }

# --- the clients ----------------------------------------------------------------------------
echo "== quickstart: the client commands"
printf '%s\n' "${client_script%$'\n'}" | sed 's/^/   | /'
t1=$SECONDS
status=0
(cd "$copy" && bash -c "set -eo pipefail
trap 'echo \"test-quickstart: README command failed (exit \$?): \$BASH_COMMAND\" >&2' ERR
$client_script") >"$work/clients.log" 2>&1 || status=$?
if [ "$status" != 0 ]; then
  sed 's/^/   > /' "$work/clients.log"
  echo "   server output:"
  tail -n 20 "$work/server.log" | sed 's/^/   server> /'
  echo "test-quickstart: the quick start failed (exit $status)" >&2
  exit 1
fi
echo "   clients done in $(elapsed "$t1")"

# What each example prints (the seeded data, read back through the server).
expect=(
  # Python: examples/python/trading_client.py --seed
  "seeded demo configs and credential"
  "vault: remote"
  "health: ok"
  "strategy default v1 enabled symbols=EUR_USD,GBP_USD"
  "strategy scalper v1 disabled symbols=USD_JPY"
  "broker credential OANDA_API_KEY v1 loaded (14 chars)"
  "mode: live"
  # Node: examples/node/chat_client.mjs --seed "Hello!"
  "seeded demo settings and key"
  "settings: model=gpt-4o-mini temperature=0.2 (version 1, fresh)"
  "llm key: OPENAI_API_KEY version 1 loaded"
  'reply: (dry run) would send "Hello!" to gpt-4o-mini at temperature 0.2'
)
missing=0
for line in "${expect[@]}"; do
  if grep -qxF -- "$line" "$work/clients.log"; then
    echo "   ok: $line"
  else
    echo "test-quickstart: expected line not printed: $line" >&2
    missing=1
  fi
done
if [ "$missing" != 0 ]; then sed 's/^/   > /' "$work/clients.log"; fi
if grep -q "sk-demo-not-a-real-key\|demo-oanda-key" "$work/clients.log"; then
  echo "test-quickstart: an example printed a credential value" >&2
  missing=1
fi
[ "$missing" = 0 ] || exit 1

# --- stop the server as a user would (Ctrl-C) -----------------------------------------------
kill -INT -- "-$server_pid"
server_status=0
wait "$server_pid" || server_status=$?
server_pid=
if [ "$server_status" != 0 ]; then
  echo "test-quickstart: the server exited $server_status on SIGINT; its output:" >&2
  tail -n 20 "$work/server.log" >&2
  exit 1
fi
echo "== quickstart: passed in $(elapsed "$t0")"
