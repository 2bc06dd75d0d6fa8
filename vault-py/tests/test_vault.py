"""The `Vault` object and its constructors: `vault.open` (embedded) and `vault.connect`
(remote). Every test taking `h` runs in both modes; the credentials, configs and errors modules
have their own test files.

Mode-specific errors (wrong key, wrong token, closed port, the server going away) have their
own tests below, each provoking the error for real.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from functools import partial
from pathlib import Path
from typing import Callable

import pytest
from conftest import (
    KEY,
    OTHER_KEY,
    REPO,
    SVC,
    TOKEN,
    Harness,
    Server,
    fresh_secret,
    parse_ts,
    raises,
)

import vault

EXAMPLE = REPO / "examples" / "python" / "trading_client.py"
LOOP = REPO / "examples" / "python" / "trading_loop.py"

# ---------------------------------------------------------------- vault object


def test_health(h: Harness) -> None:
    health = h.v.health()
    assert health.status == "ok" and health.ok
    assert health.components.get("store") == "connected"
    assert health.version and health.message
    parse_ts(health.timestamp)
    assert "Health(status='ok'" in repr(health)


def test_vault_object_and_close(h: Harness) -> None:
    v = h.v
    assert v.mode == h.mode
    assert v.dev_key_file is None  # a key was given (embedded) or it is remote
    assert not v.closed
    assert repr(v).startswith(f"Vault(mode='{h.mode}'")
    creds, configs = v.credentials, v.configs
    v.close()
    v.close()  # twice is fine
    assert v.closed and "closed" in repr(v)
    calls: list[Callable[[], object]] = [
        lambda: creds.get("K", SVC),
        lambda: configs.list(SVC),
        v.health,
        lambda: v.credentials.put("K", "v", SVC),
        lambda: creds.delete("K", SVC),
        lambda: configs.history(SVC, "s1"),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="closed"):
            call()
        # a closed vault is bad input: InvalidInput, which is a ValueError
        err = raises(vault.InvalidInput, call)
        assert isinstance(err, ValueError) and "closed" in str(err)


def test_context_manager_and_persistence(h: Harness) -> None:
    h.v.credentials.put("PERSIST", "kept", SVC)
    h.v.configs.put(SVC, "s1", symbols=["X"])
    v2 = h.new_client()
    with v2 as entered:
        assert entered is v2
        assert entered.credentials.get("PERSIST", SVC).value == "kept"
        assert entered.configs.get(SVC, "s1").symbols == ["X"]
    assert v2.closed


# ---------------------------------------------------------------- embedded only


def test_embedded_wrong_key(tmp_path: Path) -> None:
    with vault.open(tmp_path, encryption_key=KEY) as v:
        v.credentials.put("K", "value-under-key-1", SVC)
    err = raises(vault.WrongKey, lambda: vault.open(tmp_path, encryption_key=OTHER_KEY))
    assert OTHER_KEY not in str(err) and KEY not in str(err)
    # passphrase and dev mode on the same data are wrong keys too
    raises(vault.WrongKey, lambda: vault.open(tmp_path, passphrase="not the key at all"))
    raises(vault.WrongKey, lambda: vault.open(tmp_path))
    with vault.open(tmp_path, encryption_key=KEY) as v:
        assert v.credentials.get("K", SVC).value == "value-under-key-1"


def test_embedded_passphrase_and_key_forms(tmp_path: Path) -> None:
    with vault.open(tmp_path / "p", passphrase="correct horse battery staple") as v:
        v.credentials.put("K", "pp", SVC)
    raises(vault.WrongKey, lambda: vault.open(tmp_path / "p", passphrase="wrong horse battery"))
    # a non-key encryption_key is a passphrase, as on the server
    with vault.open(tmp_path / "p", encryption_key="correct horse battery staple") as v:
        assert v.credentials.get("K", SVC).value == "pp"
    raises(
        vault.InvalidInput,
        lambda: vault.open(tmp_path / "q", encryption_key=KEY, passphrase="x"),
    )
    raises(vault.InvalidInput, lambda: vault.open(tmp_path / "q", passphrase=""))
    raises(vault.InvalidInput, lambda: vault.open(tmp_path / "q", encryption_key="  "))
    # A placeholder or a short passphrase never creates a vault.
    for short in ("...", "changeme"):
        err = raises(vault.InvalidInput, partial(vault.open, tmp_path / "r", passphrase=short))
        assert err.field == "passphrase" and "12 characters" in str(err)
        err = raises(vault.InvalidInput, partial(vault.open, tmp_path / "r", encryption_key=short))
        assert err.field == "encryption_key"
    assert not (tmp_path / "r" / "store").exists()


def test_embedded_dev_mode_key_file(tmp_path: Path) -> None:
    key_file = tmp_path / "root.key"
    with pytest.warns(UserWarning) as warned:
        v = vault.open(str(tmp_path))
    with v:
        v.credentials.put("K", "dev", SVC)
        assert v.dev_key_file == str(key_file)
    assert key_file.is_file()
    # the warning names the key file, never the key
    assert len(warned) == 1
    message = str(warned[0].message)
    assert str(key_file) in message and "created now" in message
    key = key_file.read_text().strip()
    assert len(key) >= 32 and key not in message
    assert KEY not in message

    with pytest.warns(UserWarning, match="existing"):
        v = vault.open(tmp_path)
    with v:  # the same key file opens it again
        assert v.credentials.get("K", SVC).value == "dev"
        assert v.dev_key_file == str(key_file)
    raises(vault.WrongKey, lambda: vault.open(tmp_path, encryption_key=KEY))


def test_embedded_dev_mode_warning_points_at_the_caller(tmp_path: Path) -> None:
    with pytest.warns(UserWarning) as warned:
        vault.open(tmp_path).close()
    assert warned[0].filename == __file__


def test_embedded_second_opener_is_backend_unavailable(tmp_path: Path) -> None:
    with vault.open(tmp_path, encryption_key=KEY):
        raises(vault.BackendUnavailable, lambda: vault.open(tmp_path, encryption_key=KEY))
    vault.open(tmp_path, encryption_key=KEY).close()  # released by close()


# ---------------------------------------------------------------- remote only


def test_remote_unauthorized(start_server: Callable[..., Server]) -> None:
    server = start_server()
    wrong = "wrong-token-" + "b" * 32
    for v in [vault.connect(server.url, token=wrong), vault.connect(server.url)]:
        err = raises(vault.Unauthorized, lambda: v.credentials.get("K", SVC))  # noqa: B023
        raises(vault.Unauthorized, lambda: v.configs.list(SVC))  # noqa: B023
        raises(vault.Unauthorized, lambda: v.credentials.put("K", "x", SVC))  # noqa: B023
        assert wrong not in str(err) and TOKEN not in str(err)
        assert wrong not in repr(v)
        assert v.health().ok  # health is open, as on the existing service
        v.close()


def test_remote_unavailable(closed_port_url: str) -> None:
    v = vault.connect(closed_port_url, token=TOKEN, timeout=2)
    assert v.mode == "remote"
    raises(vault.Unavailable, v.health)
    raises(vault.Unavailable, lambda: v.credentials.get("K", SVC))
    raises(vault.Unavailable, lambda: v.credentials.put("K", "x", SVC))
    raises(vault.Unavailable, lambda: v.credentials.list(SVC))
    raises(vault.Unavailable, lambda: v.configs.put(SVC, "s1"))
    # nothing cached yet: configs cannot fall back either
    raises(vault.Unavailable, lambda: v.configs.list(SVC))
    raises(vault.Unavailable, lambda: v.configs.get(SVC, "s1"))


def test_remote_bad_connect_arguments(tmp_path: Path) -> None:
    raises(vault.InvalidInput, lambda: vault.connect("not a url"))
    raises(vault.InvalidInput, lambda: vault.connect("http://127.0.0.1:1", timeout=0))
    raises(vault.InvalidInput, lambda: vault.connect("http://127.0.0.1:1", timeout=-1))
    err = raises(vault.InvalidInput, lambda: vault.connect("http://user:pw@127.0.0.1:1"))
    assert "pw" not in str(err)
    # the cache key is derived from the token: a cache file needs one
    raises(vault.InvalidInput, lambda: vault.connect("http://127.0.0.1:1", cache_file=tmp_path))


def test_remote_fallback_when_server_stops(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server()
    cache = tmp_path / "configs.cache"
    v = vault.connect(server.url, token=TOKEN, cache_file=cache)
    secret = fresh_secret()
    v.credentials.put("OANDA_API_KEY", secret, SVC)
    v.configs.put(SVC, "default", params={"fast": 12}, symbols=["EUR_USD"])
    v.configs.put(SVC, "scalper", params={"tick": 1}, enabled=False)
    before = v.configs.list(SVC)
    one = v.configs.get(SVC, "default")
    assert v.credentials.get("OANDA_API_KEY", SVC).value == secret
    assert not any(c.stale for c in before) and not one.stale

    server.stop()

    after = v.configs.list(SVC)
    assert [c.to_dict() | {"stale": False} for c in after] == [c.to_dict() for c in before]
    assert all(c.stale for c in after)
    assert "stale=True" in repr(after[0])
    got = v.configs.get(SVC, "default")
    assert got.stale and got.params == {"fast": 12} and got.version == one.version
    raises(vault.Unavailable, lambda: v.credentials.get("OANDA_API_KEY", SVC))
    raises(vault.Unavailable, v.health)
    # history is never served from the cache
    raises(vault.Unavailable, lambda: v.configs.history(SVC, "default"))

    # the cache file lets a new process start while the vault is down; it is encrypted
    assert cache.is_file()
    raw = cache.read_bytes()
    assert secret.encode() not in raw and b"EUR_USD" not in raw and b"scalper" not in raw
    v2 = vault.connect(server.url, token=TOKEN, cache_file=cache)
    restored = v2.configs.list(SVC)
    assert [c.strategy_id for c in restored] == ["default", "scalper"]
    assert all(c.stale for c in restored)
    raises(vault.Unavailable, lambda: v2.credentials.get("OANDA_API_KEY", SVC))
    # another token cannot read the cache: nothing to fall back on
    v3 = vault.connect(server.url, token="other-" + TOKEN, cache_file=cache)
    raises(vault.Unavailable, lambda: v3.configs.list(SVC))


# ---------------------------------------------------------------- the example


def run_example(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        capture_output=True,
        text=True,
        env=dict(os.environ, **env),
        timeout=120,
    )


def test_trading_loop_example_moves_money_only_through_the_guards(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(LOOP), "--embedded", str(tmp_path / "data"), "--cycles", "5"],
        capture_output=True,
        text=True,
        env=dict(os.environ, VVAULT_ENCRYPTION_KEY=KEY),
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "policy v1 sha256:" in out
    claimed = [line for line in out.splitlines() if " claimed ex_" in line]
    assert claimed, out
    # DOGE is off the allowlist, the same asset again is inside its cooldown, and a budget of
    # 3 LLM calls (an hour and a day) stops the 4th and 5th cycles.
    assert "NOT_ALLOWLISTED instrument=DOGE/USDT" in out, out
    assert "COOLDOWN_ACTIVE last_execution_id=ex_" in out, out
    assert "cycle 4: LLM budget spent (" in out, out
    assert "cycle 5: LLM budget spent (" in out, out
    assert f"claimed {len(claimed)}," in out, out


def test_example_embedded(tmp_path: Path) -> None:
    env = {"VVAULT_ENCRYPTION_KEY": KEY}
    seed = run_example("--embedded", str(tmp_path / "data"), "--seed", env=env)
    assert seed.returncode == 0, seed.stderr
    r = run_example("--embedded", str(tmp_path / "data"), env=env)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "vault: embedded" in out
    assert "health: ok" in out
    assert "strategy default v1 enabled symbols=EUR_USD,GBP_USD" in out
    assert "strategy scalper v1 disabled" in out
    assert "broker credential OANDA_API_KEY v1 loaded" in out
    assert "mode: live" in out
    assert "demo-oanda-key" not in out + r.stderr


def test_example_remote_and_fallback(start_server: Callable[..., Server], tmp_path: Path) -> None:
    server = start_server()
    cache = str(tmp_path / "trading.cache")
    env = {"VVAULT_SERVICE_TOKEN": TOKEN, "VAULT_URL": server.url, "VAULT_CACHE_FILE": cache}
    seed = run_example("--seed", env=env)
    assert seed.returncode == 0, seed.stderr
    r = run_example(env=env)
    assert r.returncode == 0, r.stderr
    assert "vault: remote" in r.stdout and "health: ok" in r.stdout
    assert "strategy default v1 enabled symbols=EUR_USD,GBP_USD" in r.stdout
    assert "broker credential OANDA_API_KEY v1 loaded" in r.stdout
    assert "mode: live" in r.stdout

    server.stop()
    down = run_example(env=env)
    assert down.returncode == 0, down.stderr
    out = down.stdout
    assert "health: unavailable" in out
    assert "strategy default v1 enabled symbols=EUR_USD,GBP_USD (stale)" in out
    assert "broker credential unavailable" in out
    assert "mode: paper" in out
    assert "demo-oanda-key" not in out + down.stderr

    # no cache and no server: the engine refuses to start
    no_cache = run_example(env={**env, "VAULT_CACHE_FILE": str(tmp_path / "none.cache")})
    assert no_cache.returncode == 2
    assert "no strategy configs" in no_cache.stdout


# ---------------------------------------------------------------- GIL and docs


def test_calls_release_the_gil() -> None:
    """A Python thread must run while a vault call is in progress: here only a Python thread
    can answer the call's request. Were the GIL held, that thread could not run until the call
    gave up (timeout: Unavailable); released, it answers 401 and the call raises Unauthorized."""
    body = b'{"success":false,"error":"Invalid or missing service token","code":"unauthorized"}'
    reply = (
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(reply)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        v = vault.connect(url, token=TOKEN, timeout=5)
        raises(vault.Unauthorized, lambda: v.credentials.get("K", SVC))
        t.join(5)


def test_every_public_name_has_a_docstring() -> None:
    assert vault.__doc__
    missing = []
    for name in vault.__all__:
        obj = getattr(vault, name)
        if isinstance(obj, str):
            continue
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if isinstance(obj, type) and not issubclass(obj, BaseException):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if not (getattr(member, "__doc__", None) or "").strip():
                    missing.append(f"{name}.{attr}")
    assert not missing, missing
