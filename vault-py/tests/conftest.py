"""Fixtures: a vault in each mode (embedded in a temp dir, remote against a real vault-http)."""

from __future__ import annotations

import os
import queue
import re
import secrets
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

import vault

REPO = Path(__file__).resolve().parents[2]
SERVER_BIN = Path(os.environ.get("VAULT_HTTP_BIN", REPO / "target" / "debug" / "vault-http"))
KEY = "11" * 32
OTHER_KEY = "22" * 32
TOKEN = "test-token-" + "a" * 32
LISTENING = re.compile(r"listening on (http://\S+)")


class Server:
    """A vault-http process on a free loopback port."""

    def __init__(self, data: Path, token: str = TOKEN, key: str = KEY) -> None:
        if not SERVER_BIN.is_file():
            raise RuntimeError(
                f"vault-http binary not found at {SERVER_BIN}: run `cargo build -p vault-http` "
                "or set VAULT_HTTP_BIN"
            )
        env = dict(os.environ, VVAULT_SERVICE_TOKEN=token, VVAULT_ENCRYPTION_KEY=key)
        self.stderr = open(data.parent / f"{data.name}.stderr.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [str(SERVER_BIN), "serve", "--addr", "127.0.0.1:0", "--data", str(data)],
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            env=env,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:  # keeps reading so the pipe never fills
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        self.url = ""
        while not self.url:
            try:
                line = lines.get(timeout=30)
            except queue.Empty:
                self.stop()
                raise RuntimeError("vault-http did not say where it listens within 30 s") from None
            if line is None:
                self.stop()
                raise RuntimeError(f"vault-http exited early: {self.read_stderr()}")
            m = LISTENING.search(line)
            if m:
                self.url = m.group(1)

    def read_stderr(self) -> str:
        self.stderr.flush()
        return Path(self.stderr.name).read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr.close()


class Harness:
    """One vault under test plus what the mode-specific tests need to reach around it."""

    def __init__(self, mode: str, tmp: Path) -> None:
        self.mode = mode
        self.tmp = tmp
        self.data = tmp / "data"
        self.server: Server | None = None
        if mode == "remote":
            self.server = Server(self.data)
            self.v = vault.connect(self.server.url, token=TOKEN)
        else:
            self.v = vault.open(self.data, encryption_key=KEY)

    def new_client(self) -> vault.Vault:
        """A second, independent handle on the same vault (embedded: same process, so the
        first one is closed: sled allows one opener per directory)."""
        if self.server is not None:
            return vault.connect(self.server.url, token=TOKEN)
        self.v.close()
        self.v = vault.open(self.data, encryption_key=KEY)
        return self.v

    def close(self) -> None:
        self.v.close()
        if self.server is not None:
            self.server.stop()


@pytest.fixture(params=["embedded", "remote"])
def h(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    """The vault under test, once per mode."""
    harness = Harness(request.param, tmp_path)
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Starts vault-http processes (remote-only tests); all are stopped at teardown."""
    started: list[Server] = []

    def start(**kw: Any) -> Server:
        s = Server(tmp_path / f"data{len(started)}", **kw)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def fresh_secret() -> str:
    """A random secret value, easy to search for in reprs and messages."""
    return "s3cr3t-" + secrets.token_hex(12)
