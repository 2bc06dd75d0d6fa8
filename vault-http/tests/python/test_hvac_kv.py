"""The real `hvac` client (PyPI) against a real vault-http: the Vault-compatible dialect's
sys endpoints, token lookup and KV v2 (docs/vault-api.md), as a service built on Vault would
call them. Needs the server binary (VAULT_HTTP_BIN, else target/<host>/debug/vault-http).

Run: scripts/test-python.sh (or `pytest vault-http/tests/python` with hvac installed).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import hvac  # type: ignore[import-untyped]
import hvac.exceptions  # type: ignore[import-untyped]
import pytest

REPO = Path(__file__).resolve().parents[3]
_HOST = (
    subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True)
    .stdout.split("host: ")[-1]
    .split()[0]
)
SERVER_BIN = Path(
    os.environ.get(
        "VAULT_HTTP_BIN",
        Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
        / _HOST
        / "debug"
        / "vault-http",
    )
)
TOKEN = "hvac-test-token-" + "b" * 32
KEY = "33" * 32


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A vault-http on a free loopback port; its base URL."""
    env = dict(os.environ, VVAULT_SERVICE_TOKEN=TOKEN, VVAULT_ENCRYPTION_KEY=KEY)
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [
            str(SERVER_BIN),
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--data",
            str(tmp_path / "data"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        env=env,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = ""
        for line in proc.stdout:
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                base = m.group(1)
                break
        assert base, "vault-http did not say where it listens"
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        log.close()


def test_sys_and_token_lookup(url: str) -> None:
    client = hvac.Client(url=url, token=TOKEN)
    assert client.is_authenticated()
    assert not hvac.Client(url=url, token="wrong").is_authenticated()
    assert client.sys.read_health_status(method="GET")["sealed"] is False
    assert client.sys.read_health_status().status_code == 200  # HEAD
    assert client.sys.is_sealed() is False
    assert client.lookup_token()["data"]["policies"] == ["root"]


def test_kv_v2_read_write_versions(url: str) -> None:
    kv = hvac.Client(url=url, token=TOKEN).secrets.kv.v2
    written = kv.create_or_update_secret(
        path="app/db", secret={"user": "admin", "pw": "s3cr3t"}
    )
    assert written["data"]["version"] == 1
    kv.create_or_update_secret(
        path="app/db", secret={"user": "admin", "pw": "n3w"}, cas=1
    )
    with pytest.raises(hvac.exceptions.InvalidRequest, match="check-and-set"):
        kv.create_or_update_secret(path="app/db", secret={"x": "y"}, cas=1)

    latest = kv.read_secret_version(path="app/db", raise_on_deleted_version=True)
    assert latest["data"]["data"] == {"pw": "n3w", "user": "admin"}
    assert latest["data"]["metadata"]["version"] == 2
    first = kv.read_secret_version(
        path="app/db", version=1, raise_on_deleted_version=True
    )
    assert first["data"]["data"]["pw"] == "s3cr3t"
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_version(path="app/nope", raise_on_deleted_version=True)

    assert kv.list_secrets(path="app")["data"]["keys"] == ["db"]
    meta = kv.read_secret_metadata(path="app/db")["data"]
    assert meta["current_version"] == 2
    assert sorted(meta["versions"]) == ["1", "2"]

    # Soft delete: hvac hands back the 404 body with the version's metadata when asked to.
    assert kv.delete_latest_version_of_secret(path="app/db").status_code == 204
    gone = kv.read_secret_version(path="app/db", raise_on_deleted_version=False)
    assert gone["data"]["data"] is None
    assert gone["data"]["metadata"]["deletion_time"] != ""
    kv.undelete_secret_versions(path="app/db", versions=[2])
    kv.destroy_secret_versions(path="app/db", versions=[1])
    meta = kv.read_secret_metadata(path="app/db")["data"]
    assert meta["versions"]["1"]["destroyed"] is True
    assert meta["versions"]["2"]["deletion_time"] == ""

    # hvac's patch: read, then write with cas.
    kv.patch(path="app/db", secret={"extra": "e"})
    assert kv.read_secret_version(path="app/db", raise_on_deleted_version=True)["data"][
        "data"
    ] == {"extra": "e", "pw": "n3w", "user": "admin"}

    kv.delete_metadata_and_all_versions(path="app/db")
    with pytest.raises(hvac.exceptions.InvalidPath):
        kv.read_secret_metadata(path="app/db")


def test_generic_calls_and_wrong_token(url: str) -> None:
    client = hvac.Client(url=url, token=TOKEN)
    client.write_data("secret/data/app/w", data={"data": {"value": "plain"}})
    assert client.read("secret/data/app/w")["data"]["data"] == {"value": "plain"}
    assert client.read("secret/data/app/none") is None
    assert client.list("secret/metadata/app")["data"]["keys"] == ["w"]
    bad = hvac.Client(url=url, token="wrong")
    with pytest.raises(hvac.exceptions.Forbidden):
        bad.secrets.kv.v2.read_secret_version(
            path="app/w", raise_on_deleted_version=True
        )
