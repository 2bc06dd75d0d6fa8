"""Embedded opens of a PostgreSQL URL: two workers (two opens, as two processes would) share
one vault without a server.

Each test creates its own database (with `psql`) and drops it. Without a PostgreSQL server the
tests are skipped with the reason (`pytest -rs` lists it), except under CI=true, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest
from conftest import KEY, SVC, raises

import vault

DEFAULT_URLS = [
    "postgres://postgres@127.0.0.1:5432/test",
    "postgres://root@127.0.0.1:5432/test",
]


def _psql(url: str, sql: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def pg_url() -> Iterator[str]:
    env = os.environ.get("VAULT_TEST_POSTGRES_URL", "").strip()
    urls = [env] if env else DEFAULT_URLS
    admin = None
    why = "psql is not installed" if shutil.which("psql") is None else ""
    if not why:
        for url in urls:
            r = _psql(url, "select 1")
            if r.returncode == 0:
                admin = url
                break
            why = r.stderr.strip().splitlines()[-1] if r.stderr.strip() else "no answer"
    if admin is None:
        message = (
            f"SKIPPED PostgreSQL test: no PostgreSQL server answers ({why}); start one on "
            "127.0.0.1:5432 (trust auth) or set VAULT_TEST_POSTGRES_URL"
        )
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true and the PostgreSQL tests cannot run: " + message)
        print("\n!!!!!!!! " + message, file=sys.stderr)
        pytest.skip(message)
    name = f"vault_test_py_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    created = _psql(admin, f"CREATE DATABASE {name}")
    assert created.returncode == 0, created.stderr
    base, _, _ = admin.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        _psql(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_two_embedded_workers_share_one_postgres_vault(pg_url: str) -> None:
    a = vault.open(pg_url, encryption_key=KEY)
    b = vault.open(pg_url, encryption_key=KEY)
    try:
        assert a.health().components["backend"] == "postgres"
        w = a.credentials.put("API_KEY", "from-worker-a", SVC)
        assert w.version == 1
        assert b.credentials.get("API_KEY", SVC).value == "from-worker-a"
        # Compare-and-set holds across the two: b's stale expected_version loses.
        assert b.credentials.put("API_KEY", "from-b", SVC, expected_version=1).version == 2
        raises(
            vault.Conflict,
            lambda: a.credentials.put("API_KEY", "stale", SVC, expected_version=1),
        )
        assert a.credentials.get("API_KEY", SVC).value == "from-b"
        assert a.audit.verify().valid and b.audit.verify().valid
    finally:
        a.close()
        b.close()
    # A wrong key does not open it; no key at all is refused before connecting.
    raises(vault.WrongKey, lambda: vault.open(pg_url, encryption_key="33" * 32))
    err = raises(vault.InvalidInput, lambda: vault.open(pg_url))
    assert err.field == "encryption_key"
