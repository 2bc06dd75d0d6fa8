"""`v.credentials`, run against both modes: every test taking `h` runs embedded and remote."""

from __future__ import annotations

import threading
from typing import Callable

import pytest
from conftest import KEY, SVC, TOKEN, Harness, fresh_secret, parse_ts, raises

import vault


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

    deleted = v.credentials.delete("B_KEY", service=SVC)
    assert isinstance(deleted, vault.CredentialDeleted)
    assert (deleted.service, deleted.key) == (SVC, "B_KEY")
    assert [i.key for i in v.credentials.list(SVC)] == ["A_KEY", "C_KEY"]
    raises(vault.NotFound, lambda: v.credentials.get("B_KEY", SVC))
    raises(vault.NotFound, lambda: v.credentials.delete("B_KEY", SVC))
    resolved = v.credentials.delete("OTHER")  # resolved to its only service
    assert (resolved.service, resolved.key) == ("chat-app", "OTHER")
    assert repr(resolved) == "CredentialDeleted(service='chat-app', key='OTHER')"
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


def test_invalid_values(h: Harness) -> None:
    v = h.v
    err = raises(vault.InvalidInput, lambda: v.credentials.put("EMPTY", "", SVC))
    assert err.field == "value"
    big = "x" * (64 * 1024 + 1)
    err = raises(vault.InvalidInput, lambda: v.credentials.put("BIG", big, SVC))
    assert big not in str(err)
    assert err.field == "value"


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
    texts.append(repr(v.credentials.delete("SECRET_KEY", SVC)))
    for t in texts:
        assert secret not in t, t
        assert TOKEN not in t and KEY not in t, t
