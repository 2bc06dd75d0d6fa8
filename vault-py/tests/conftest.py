"""Shared by the test modules: a vault in each mode (embedded in a temp dir, remote against a
real vault-http), helpers, and a canned-answer HTTP server for answers vault-http never gives.

A vault warning a test does not expect fails it (see `pytest_configure`): the dev-mode
`UserWarning` of `vault.open` without a key is asserted where a test opens one.
"""

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
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import pytest

import vault

REPO = Path(__file__).resolve().parents[2]
# Cargo builds for the host triple by name (.cargo/config.toml): target/<host>/debug/vault-http.
_HOST = (
    subprocess.run(["rustc", "-vV"], check=True, capture_output=True, text=True)
    .stdout.split("host: ")[-1]
    .split()[0]
)
SERVER_BIN = Path(
    os.environ.get(
        "VAULT_HTTP_BIN",
        Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / _HOST / "debug" / "vault-http",
    )
)
KEY = "11" * 32
OTHER_KEY = "22" * 32
TOKEN = "test-token-" + "a" * 32
LISTENING = re.compile(r"listening on (http://\S+)")
SVC = "fxshinobi"


def pytest_configure(config: pytest.Config) -> None:
    # The vault's own warnings (dev mode) fail a test that does not expect them with pytest.warns.
    config.addinivalue_line("filterwarnings", "error:vault:UserWarning")


def parse_ts(s: str) -> datetime:
    assert s.endswith("Z"), s
    return datetime.fromisoformat(s[:-1] + "+00:00")


def raises(cls: type[vault.VaultError], fn: Callable[[], Any]) -> vault.VaultError:
    """Calls fn, checks it raised exactly `cls` (not a sibling) with the class's code, and a
    `.field` only when it is an `InvalidInput`."""
    with pytest.raises(vault.VaultError) as info:
        fn()
    err = info.value
    assert type(err) is cls, f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    assert err.code == cls.code
    if cls is vault.InvalidInput:
        assert err.field, f"InvalidInput without a field: {err}"
    else:
        assert err.field is None, f"{cls.__name__} with field {err.field!r}"
    return err


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


class CannedServer:
    """A loopback HTTP server (a Python thread) answering every request with one canned
    response: for answers a real vault-http does not give, e.g. an error code from a newer
    server."""

    def __init__(self, status: str, body: bytes) -> None:
        self.reply = (
            f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
            f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.requests = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(5)
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    head += chunk
                self.requests += 1
                conn.sendall(self.reply)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def canned_server() -> Iterator[Callable[[str, bytes], CannedServer]]:
    """Starts `CannedServer`s; all are stopped at teardown."""
    started: list[CannedServer] = []

    def start(status: str, body: bytes) -> CannedServer:
        s = CannedServer(status, body)
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def fresh_secret() -> str:
    """A random secret value, easy to search for in reprs and messages."""
    return "s3cr3t-" + secrets.token_hex(12)
