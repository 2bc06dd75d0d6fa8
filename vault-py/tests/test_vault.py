"""The `vault` package, run against both modes: every test taking `h` runs embedded and remote.

Mode-specific errors (wrong key, wrong token, closed port, the server going away) have their
own tests below, each provoking the error for real.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

import pytest
from conftest import KEY, OTHER_KEY, REPO, TOKEN, Harness, Server, fresh_secret

import vault

SVC = "fxshinobi"
EXAMPLE = REPO / "examples" / "python" / "trading_client.py"

ERROR_CLASSES = {
    "not_found": vault.NotFound,
    "conflict": vault.Conflict,
    "invalid": vault.InvalidInput,
    "unauthorized": vault.Unauthorized,
    "forbidden": vault.Forbidden,
    "wrong_key": vault.WrongKey,
    "integrity": vault.IntegrityError,
    "backend_unavailable": vault.BackendUnavailable,
    "unavailable": vault.Unavailable,
    "internal": vault.InternalError,
}


def parse_ts(s: str) -> datetime:
    assert s.endswith("Z"), s
    return datetime.fromisoformat(s[:-1] + "+00:00")


def raises(cls: type[vault.VaultError], fn: Callable[[], Any]) -> vault.VaultError:
    """Calls fn, checks it raised exactly `cls` (not a sibling) with the class's code."""
    with pytest.raises(vault.VaultError) as info:
        fn()
    err = info.value
    assert type(err) is cls, f"expected {cls.__name__}, got {type(err).__name__}: {err}"
    assert err.code == cls.code
    return err


# ---------------------------------------------------------------- credentials


def test_credentials_put_get_round_trip(h: Harness) -> None:
    v = h.v
    w = v.credentials.put(
        "OANDA_API_KEY", "abc123", service=SVC, metadata={"account_type": "practice"}
    )
    assert (w.service, w.key, w.action, w.version) == (SVC, "OANDA_API_KEY", "created", 1)

    c = v.credentials.get("OANDA_API_KEY", service=SVC)
    assert c.value == "abc123"
    assert (c.key, c.service, c.version) == ("OANDA_API_KEY", SVC, 1)
    assert c.metadata == {"account_type": "practice"}
    assert parse_ts(c.created_at) == parse_ts(c.updated_at)

    # metadata=None keeps the previous metadata; a new version gets a new updated_at.
    w2 = v.credentials.put("OANDA_API_KEY", "def456", SVC)
    assert (w2.action, w2.version) == ("updated", 2)
    c2 = v.credentials.get("OANDA_API_KEY")  # unique key: service may be omitted
    assert (c2.value, c2.version, c2.metadata) == ("def456", 2, {"account_type": "practice"})
    assert c2.created_at == c.created_at
    assert parse_ts(c2.updated_at) >= parse_ts(c.updated_at)

    # nested JSON metadata round-trips with its Python types
    meta = {"n": 1, "big": 2**63 - 1, "f": 0.5, "b": False, "none": None, "l": [1, "x", {"y": []}]}
    v.credentials.put("OANDA_API_KEY", "ghi789", SVC, metadata=meta)
    assert v.credentials.get("OANDA_API_KEY", SVC).metadata == meta


def test_credentials_list_and_delete(h: Harness) -> None:
    v = h.v
    for k in ["B_KEY", "A_KEY", "C_KEY"]:
        v.credentials.put(k, fresh_secret(), SVC, metadata={"k": k})
    v.credentials.put("A_KEY", fresh_secret(), SVC)
    v.credentials.put("OTHER", fresh_secret(), "chat-app")

    infos = v.credentials.list(SVC)
    assert [i.key for i in infos] == ["A_KEY", "B_KEY", "C_KEY"]
    assert [i.version for i in infos] == [2, 1, 1]
    assert infos[0].metadata == {"k": "A_KEY"}
    assert all(i.service == SVC for i in infos)
    assert not hasattr(infos[0], "value")
    parse_ts(infos[0].created_at)
    parse_ts(infos[0].updated_at)
    assert v.credentials.list("nobody") == []

    v.credentials.delete("B_KEY", service=SVC)
    assert [i.key for i in v.credentials.list(SVC)] == ["A_KEY", "C_KEY"]
    raises(vault.NotFound, lambda: v.credentials.get("B_KEY", SVC))
    raises(vault.NotFound, lambda: v.credentials.delete("B_KEY", SVC))
    v.credentials.delete("OTHER")  # resolved to its only service
    assert v.credentials.list("chat-app") == []


def test_credentials_not_found_and_ambiguous(h: Harness) -> None:
    v = h.v
    raises(vault.NotFound, lambda: v.credentials.get("MISSING", service=SVC))
    raises(vault.NotFound, lambda: v.credentials.get("MISSING"))
    v.credentials.put("SHARED_KEY", fresh_secret(), "svc-a")
    v.credentials.put("SHARED_KEY", fresh_secret(), "svc-b")
    err = raises(vault.Conflict, lambda: v.credentials.get("SHARED_KEY"))
    assert "svc-a" in str(err) and "svc-b" in str(err)
    raises(vault.Conflict, lambda: v.credentials.delete("SHARED_KEY"))
    assert v.credentials.get("SHARED_KEY", service="svc-b").service == "svc-b"


def test_credentials_compare_and_set(h: Harness) -> None:
    v = h.v
    assert v.credentials.put("CAS", "one", SVC, expected_version=0).version == 1
    raises(vault.Conflict, lambda: v.credentials.put("CAS", "two", SVC, expected_version=0))
    assert v.credentials.put("CAS", "two", SVC, expected_version=1).version == 2
    raises(vault.Conflict, lambda: v.credentials.put("CAS", "three", SVC, expected_version=1))
    assert v.credentials.get("CAS", SVC).value == "two"


@pytest.mark.parametrize("bad", ["../x", "", "a/b", ".hidden", "sp ace", "x" * 129])
def test_invalid_names(h: Harness, bad: str) -> None:
    v = h.v
    calls: list[Callable[[], Any]] = [
        lambda: v.credentials.put(bad, "value", SVC),
        lambda: v.credentials.put("KEY", "value", bad),
        lambda: v.credentials.get(bad, SVC),
        lambda: v.credentials.get("KEY", bad),
        lambda: v.credentials.list(bad),
        lambda: v.credentials.delete(bad, SVC),
        lambda: v.configs.put(bad, "s1"),
        lambda: v.configs.put(SVC, bad),
        lambda: v.configs.get(SVC, bad),
        lambda: v.configs.list(bad),
    ]
    for call in calls:
        err = raises(vault.InvalidInput, call)
        assert err.code == "invalid"
        if bad:
            assert bad not in str(err), "the message must not echo the rejected value"


def test_invalid_values(h: Harness) -> None:
    v = h.v
    raises(vault.InvalidInput, lambda: v.credentials.put("EMPTY", "", SVC))
    big = "x" * (64 * 1024 + 1)
    err = raises(vault.InvalidInput, lambda: v.credentials.put("BIG", big, SVC))
    assert big not in str(err)


def test_wrong_argument_types_are_type_errors(h: Harness) -> None:
    v = h.v
    with pytest.raises(TypeError):
        v.credentials.put("K", "v", SVC, metadata=["not", "a", "dict"])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        v.credentials.put("K", "v", SVC, metadata={1: "non-str key"})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        v.credentials.put("K", "v", SVC, metadata={"x": object()})
    with pytest.raises(TypeError):
        v.configs.put(SVC, "s1", symbols="EUR_USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        v.credentials.put("K", b"bytes", SVC)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        v.configs.put(SVC, "s1", params={"x": float("nan")})
    with pytest.raises(OverflowError):
        v.credentials.put("K", "v", SVC, expected_version=-1)
    assert v.credentials.list(SVC) == []


# ---------------------------------------------------------------- configs


def test_configs_put_get_list(h: Harness) -> None:
    v = h.v
    w = v.configs.put(
        SVC,
        "default",
        params={"fast": 12, "slow": 26, "nested": {"a": [1.5, None]}},
        symbols=["EUR_USD", "GBP_USD"],
        risk_limits={"max_position": 10000},
        enabled=True,
    )
    assert (w.service, w.strategy_id, w.action, w.version) == (SVC, "default", "created", 1)

    # fields not given keep their previous value
    w2 = v.configs.put(SVC, "default", enabled=False)
    assert (w2.action, w2.version) == ("updated", 2)
    c = v.configs.get(SVC, "default")
    assert c.version == 2 and c.enabled is False
    assert c.params == {"fast": 12, "slow": 26, "nested": {"a": [1.5, None]}}
    assert c.symbols == ["EUR_USD", "GBP_USD"]
    assert c.risk_limits == {"max_position": 10000}
    assert c.stale is False
    assert (c.service, c.strategy_id) == (SVC, "default")
    assert parse_ts(c.updated_at) >= parse_ts(c.created_at)

    v1 = v.configs.get(SVC, "default", version=1)
    assert (v1.version, v1.enabled) == (1, True)
    raises(vault.NotFound, lambda: v.configs.get(SVC, "default", version=9))
    raises(vault.NotFound, lambda: v.configs.get(SVC, "nope"))

    # defaults of a new config
    v.configs.put(SVC, "alpha")
    a = v.configs.get(SVC, "alpha")
    assert (a.params, a.symbols, a.risk_limits, a.enabled) == ({}, [], {}, True)

    listed = v.configs.list(SVC)
    assert [(x.strategy_id, x.version) for x in listed] == [("alpha", 1), ("default", 2)]
    assert v.configs.list("nobody") == []

    d = listed[1].to_dict()
    assert d["strategy_id"] == "default" and d["params"]["fast"] == 12
    assert set(d) == {
        "service", "strategy_id", "params", "symbols", "risk_limits", "enabled",
        "version", "created_at", "updated_at", "stale",
    }  # fmt: skip


def test_configs_compare_and_set(h: Harness) -> None:
    v = h.v
    assert v.configs.put(SVC, "cas", params={"x": 1}, expected_version=0).version == 1
    raises(vault.Conflict, lambda: v.configs.put(SVC, "cas", expected_version=0))
    assert v.configs.put(SVC, "cas", params={"x": 2}, expected_version=1).version == 2
    raises(vault.Conflict, lambda: v.configs.put(SVC, "cas", params={"x": 3}, expected_version=1))
    assert v.configs.get(SVC, "cas").params == {"x": 2}


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
    assert not v.closed
    assert repr(v).startswith(f"Vault(mode='{h.mode}'")
    creds, configs = v.credentials, v.configs
    v.close()
    v.close()  # twice is fine
    assert v.closed and "closed" in repr(v)
    for call in [
        lambda: creds.get("K", SVC),
        lambda: configs.list(SVC),
        v.health,
        lambda: v.credentials.put("K", "v", SVC),
    ]:
        with pytest.raises(ValueError, match="closed"):
            call()


def test_context_manager_and_persistence(h: Harness) -> None:
    h.v.credentials.put("PERSIST", "kept", SVC)
    h.v.configs.put(SVC, "s1", symbols=["X"])
    v2 = h.new_client()
    with v2 as entered:
        assert entered is v2
        assert entered.credentials.get("PERSIST", SVC).value == "kept"
        assert entered.configs.get(SVC, "s1").symbols == ["X"]
    assert v2.closed


def test_threads_no_lost_update(h: Harness) -> None:
    """8 threads x 50 put+get on one credential: every version 1..400 written exactly once."""
    v = h.v
    n_threads, n_ops = 8, 50
    versions: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(n_threads)

    def work(t: int) -> None:
        try:
            start.wait()
            mine = []
            for i in range(n_ops):
                val = f"t{t}-i{i}"
                w = v.credentials.put("HAMMER", val, SVC, metadata={"t": t, "i": i})
                got = v.credentials.get("HAMMER", SVC)
                assert got.version >= w.version
                mine.append(w.version)
            with lock:
                versions.extend(mine)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    total = n_threads * n_ops
    assert sorted(versions) == list(range(1, total + 1))
    final = v.credentials.get("HAMMER", SVC)
    assert final.version == total
    assert final.value == f"t{final.metadata['t']}-i{final.metadata['i']}"
    assert [i.version for i in v.credentials.list(SVC)] == [total]


def test_threads_configs_compare_and_set_has_one_winner(h: Harness) -> None:
    v = h.v
    v.configs.put(SVC, "race", params={"n": 0})
    wins: list[int] = []
    conflicts: list[int] = []

    def attempt(t: int) -> None:
        try:
            v.configs.put(SVC, "race", params={"n": t}, expected_version=1)
            wins.append(t)
        except vault.Conflict:
            conflicts.append(t)

    threads = [threading.Thread(target=attempt, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1 and len(conflicts) == 7
    assert v.configs.get(SVC, "race").params == {"n": wins[0]}


def test_no_secret_in_repr_str_or_errors(h: Harness) -> None:
    v = h.v
    secret = fresh_secret()
    v.credentials.put("SECRET_KEY", secret, SVC, metadata={"note": "public"})
    c = v.credentials.get("SECRET_KEY", SVC)
    assert c.value == secret
    texts = [repr(c), str(c), repr(v), str(v), repr(v.credentials), repr(v.configs)]
    texts += [repr(i) for i in v.credentials.list(SVC)]
    texts.append(repr(v.credentials.put("SECRET_KEY", secret + "2", SVC)))
    assert "value=[REDACTED]" in repr(c)
    assert "note" in repr(c)  # metadata is not secret

    errors: list[vault.VaultError] = []
    calls: list[Callable[[], object]] = [
        lambda: v.credentials.put("SECRET_KEY", secret, SVC, expected_version=1),
        lambda: v.credentials.put("SECRET_KEY", secret * 3000, SVC),  # too big
        lambda: v.credentials.put("../SECRET_KEY", secret, SVC),
    ]
    for call in calls:
        with pytest.raises(vault.VaultError) as info:
            call()
        errors.append(info.value)
    texts += [str(e) for e in errors] + [repr(e) for e in errors]
    texts += [str(e.args) for e in errors]
    for t in texts:
        assert secret not in t, t
        assert TOKEN not in t and KEY not in t, t


# ---------------------------------------------------------------- error tree


def test_error_classes_and_codes() -> None:
    assert issubclass(vault.VaultError, Exception)
    for code, cls in ERROR_CLASSES.items():
        assert issubclass(cls, vault.VaultError)
        assert cls.code == code
        assert cls.__module__ == "vault"
        assert cls.__doc__
    # sibling classes are distinct
    assert len(set(ERROR_CLASSES.values())) == len(ERROR_CLASSES)


# ---------------------------------------------------------------- embedded only


def test_embedded_wrong_key(tmp_path: Path) -> None:
    with vault.open(tmp_path, encryption_key=KEY) as v:
        v.credentials.put("K", "value-under-key-1", SVC)
    err = raises(vault.WrongKey, lambda: vault.open(tmp_path, encryption_key=OTHER_KEY))
    assert OTHER_KEY not in str(err) and KEY not in str(err)
    # passphrase and dev mode on the same data are wrong keys too
    raises(vault.WrongKey, lambda: vault.open(tmp_path, passphrase="not the key"))
    raises(vault.WrongKey, lambda: vault.open(tmp_path))
    with vault.open(tmp_path, encryption_key=KEY) as v:
        assert v.credentials.get("K", SVC).value == "value-under-key-1"


def test_embedded_passphrase_and_key_forms(tmp_path: Path) -> None:
    with vault.open(tmp_path / "p", passphrase="correct horse battery staple") as v:
        v.credentials.put("K", "pp", SVC)
    raises(vault.WrongKey, lambda: vault.open(tmp_path / "p", passphrase="wrong horse"))
    # a non-key encryption_key is a passphrase, as on the server
    with vault.open(tmp_path / "p", encryption_key="correct horse battery staple") as v:
        assert v.credentials.get("K", SVC).value == "pp"
    raises(
        vault.InvalidInput,
        lambda: vault.open(tmp_path / "q", encryption_key=KEY, passphrase="x"),
    )
    raises(vault.InvalidInput, lambda: vault.open(tmp_path / "q", passphrase=""))
    raises(vault.InvalidInput, lambda: vault.open(tmp_path / "q", encryption_key="  "))


def test_embedded_dev_mode_key_file(tmp_path: Path) -> None:
    with vault.open(str(tmp_path)) as v:
        v.credentials.put("K", "dev", SVC)
    assert (tmp_path / "root.key").is_file()
    with vault.open(tmp_path) as v:  # the same key file opens it again
        assert v.credentials.get("K", SVC).value == "dev"
    raises(vault.WrongKey, lambda: vault.open(tmp_path, encryption_key=KEY))


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
