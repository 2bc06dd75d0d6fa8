#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use answers on 127.0.0.1:5432 (trust auth, database
# `test`): does nothing when one already answers (or VAULT_TEST_POSTGRES_URL names another);
# otherwise starts the machine's Debian cluster (pg_ctlcluster), or installs PostgreSQL with
# apt-get when it is missing and this runs as root. The tests themselves fail under CI=true when
# no server answers, and are skipped loudly elsewhere.
# Usage: ./scripts/ensure-postgres.sh   (CI calls it from .ci/run)
set -euo pipefail

if [ -n "${VAULT_TEST_POSTGRES_URL:-}" ]; then
  echo "ensure-postgres: using VAULT_TEST_POSTGRES_URL"
  exit 0
fi
answers() { command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; }
if answers; then
  echo "ensure-postgres: a server answers on 127.0.0.1:5432"
  exit 0
fi
if ! command -v pg_ctlcluster >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-postgres: installing PostgreSQL (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "ensure-postgres: no PostgreSQL here and cannot install it" >&2
    exit 1
  fi
fi
cluster=$(pg_lsclusters -h | awk '$3 == 5432 {print $1" "$2; exit}')
if [ -z "$cluster" ]; then
  echo "ensure-postgres: no cluster on port 5432" >&2
  exit 1
fi
echo "ensure-postgres: starting cluster $cluster"
# shellcheck disable=SC2086
pg_ctlcluster $cluster start || true
for _ in $(seq 1 30); do answers && break; sleep 1; done
answers || { echo "ensure-postgres: the server did not come up" >&2; exit 1; }
# Trust auth on loopback for the tests' users, and their database.
conf=$(su postgres -c "psql -Atc 'show hba_file'")
if ! grep -q '^host all all 127.0.0.1/32 trust' "$conf"; then
  sed -i '1i host all all 127.0.0.1/32 trust' "$conf"
  su postgres -c "psql -qc 'select pg_reload_conf()'" >/dev/null
fi
su postgres -c "psql -Atc \"select 1 from pg_database where datname = 'test'\"" | grep -q 1 ||
  su postgres -c "createdb test"
echo "ensure-postgres: ready"
