"""`vault.connect` transport options: proxies (none unless ``proxy=`` names one; ``*_PROXY`` in
the environment is ignored) and TLS (``https://`` URLs, ``ca_file``).

The environment case runs the client in a child Python process so that the proxy variables
never touch this process. The TLS cases make a self-signed certificate with the ``openssl``
command and serve it from a thread of this process (Python's ``ssl``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import pytest
from conftest import SVC, TOKEN, CannedServer, Server, fresh_secret, raises

import vault

PROXY_VARS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")
BAD_GATEWAY = b"<html><body>502 Bad Gateway</body></html>"

HEALTH = json.dumps(
    {
        "components": {"store": "connected"},
        "message": "All systems operational",
        "service": "vvault",
        "status": "ok",
        "timestamp": "2026-01-02T03:04:05.678Z",
        "version": "0.1.0",
    }
).encode()

CHILD = """
import sys

import vault

url, token, svc, secret, cache = sys.argv[1:6]
v = vault.connect(url, token=token, cache_file=cache)
# A proxy's 502 used to be served from this cache as a stale copy.
assert not v.configs.get(svc, "s1").stale
assert v.health().ok
assert v.credentials.get("K", svc).value == secret
print("child: all checks passed")
"""


# ---------------------------------------------------------------- proxies


def test_environment_proxies_are_ignored(
    start_server: Callable[..., Server],
    canned_server: Callable[[str, bytes], CannedServer],
    tmp_path: Path,
) -> None:
    server = start_server()
    proxy = canned_server("502 Bad Gateway", BAD_GATEWAY)
    secret = fresh_secret()
    cache = tmp_path / "configs.cache"
    v = vault.connect(server.url, token=TOKEN, cache_file=cache)
    v.credentials.put("K", secret, SVC)
    v.configs.put(SVC, "s1", params={"n": 1})
    v.configs.get(SVC, "s1")  # cached now

    env = dict(os.environ, **{k: proxy.url for k in PROXY_VARS})
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, server.url, TOKEN, SVC, secret, str(cache)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert child.returncode == 0 and "all checks passed" in child.stdout, child.stderr
    assert proxy.requests == 0, "the environment's proxy was used"


def test_explicit_proxy_is_used(
    start_server: Callable[..., Server],
    canned_server: Callable[[str, bytes], CannedServer],
) -> None:
    server = start_server()
    proxy = canned_server("502 Bad Gateway", BAD_GATEWAY)
    v = vault.connect(server.url, token=TOKEN, proxy=proxy.url)
    # The proxy answers 502 without a vault error body: the vault is unavailable through it.
    raises(vault.Unavailable, v.health)
    raises(vault.Unavailable, lambda: v.credentials.get("K", SVC))
    assert proxy.requests == 2


def test_bad_proxy_is_invalid_field_proxy() -> None:
    for p in ["", "not a url", "socks5://127.0.0.1:1", "http://user:hunter2@127.0.0.1:1/path"]:
        err = raises(
            vault.InvalidInput,
            lambda: vault.connect("http://127.0.0.1:1", proxy=p),  # noqa: B023
        )
        assert err.field == "proxy", p
        assert "hunter2" not in str(err)


# ---------------------------------------------------------------- TLS


def test_bad_ca_file_is_invalid_field_ca_file(tmp_path: Path) -> None:
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("hello")
    for f in [tmp_path / "missing.pem", not_pem, tmp_path]:
        for url in ["https://127.0.0.1:1", "http://127.0.0.1:1"]:
            err = raises(
                vault.InvalidInput,
                lambda: vault.connect(url, ca_file=f),  # noqa: B023
            )
            assert err.field == "ca_file", (f, url)


def test_https_urls_are_accepted() -> None:
    v = vault.connect("https://127.0.0.1:1", token=TOKEN, timeout=2)
    assert v.mode == "remote"
    raises(vault.Unavailable, v.health)


OPENSSL_CONFIG = """
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = localhost
[ext]
basicConstraints = critical,CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth
"""


@pytest.fixture
def tls_cert(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed server certificate for localhost and 127.0.0.1, and its key (PEM)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a test certificate")
    config, cert, key = tmp_path / "openssl.cnf", tmp_path / "cert.pem", tmp_path / "key.pem"
    config.write_text(OPENSSL_CONFIG)
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-config",
            str(config),
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


class TlsServer:
    """A loopback HTTPS server (a Python thread) answering every request with the health
    report; counts the requests it read and the handshakes that failed."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)
        self.reply = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Connection: close\r\nContent-Length: {len(HEALTH)}\r\n\r\n"
        ).encode() + HEALTH
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.requests: list[bytes] = []
        self.failed_handshakes = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                raw, _ = self.listener.accept()
            except socket.timeout:
                continue
            raw.settimeout(5)
            try:
                with self.context.wrap_socket(raw, server_side=True) as conn:
                    head = b""
                    while b"\r\n\r\n" not in head:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        head += chunk
                    self.requests.append(head)
                    conn.sendall(self.reply)
            except (ssl.SSLError, OSError):
                self.failed_handshakes += 1
                raw.close()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def tls_server(tls_cert: tuple[Path, Path]) -> Iterator[TlsServer]:
    server = TlsServer(*tls_cert)
    yield server
    server.stop()


def test_https_with_ca_file(tls_server: TlsServer, tls_cert: tuple[Path, Path]) -> None:
    cert, _ = tls_cert
    for host in ["127.0.0.1", "localhost"]:
        v = vault.connect(f"https://{host}:{tls_server.port}", token=TOKEN, ca_file=cert)
        h = v.health()
        assert h.ok and h.components == {"store": "connected"}
        v.close()
    assert len(tls_server.requests) == 2


def test_https_without_ca_file_is_unavailable(tls_server: TlsServer) -> None:
    v = vault.connect(f"https://127.0.0.1:{tls_server.port}", token=TOKEN, timeout=5)
    for call in [v.health, lambda: v.credentials.get("K", SVC)]:
        err = raises(vault.Unavailable, call)
        assert "certificate" in str(err) and "ca_file" in str(err), str(err)
        assert TOKEN not in str(err)
    # Refused at the handshake: no request (and no token) was sent.
    assert tls_server.requests == []
