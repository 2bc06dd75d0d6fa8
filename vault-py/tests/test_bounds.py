"""Bounded answers from Python, in both modes: paged listings (a ``vault.Page``: a list plus
``next`` and ``unreadable``), the per-service config version cap and its history start,
nesting capped at 32 levels, and the remote fallback cache's maximum age."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from conftest import SVC, TOKEN, Harness, Server, raises

import vault


def nested(levels: int) -> dict[str, Any]:
    """``{"a": [[...1...]]}``: an object nested ``levels`` levels deep (itself level 1)."""
    v: Any = 1
    for _ in range(levels - 1):
        v = [v]
    return {"a": v}


def test_lists_are_pages(h: Harness) -> None:
    v = h.v
    for k in ["A", "B", "C"]:
        v.credentials.put(k, "v", SVC)
        v.configs.put(SVC, k)
    page = v.credentials.list(SVC, limit=2)
    assert isinstance(page, vault.Page) and isinstance(page, list)
    assert [c.key for c in page] == ["A", "B"]
    assert page.next == "B" and page.unreadable == []
    rest = v.credentials.list(SVC, limit=2, after=page.next)
    assert [c.key for c in rest] == ["C"] and rest.next is None
    assert len(v.credentials.list(SVC)) == 3

    configs = v.configs.list(SVC, limit=1, after="A")
    assert [c.strategy_id for c in configs] == ["B"] and configs.next == "B"
    assert v.configs.list("nobody") == []

    for fn in (
        lambda: v.credentials.list(SVC, limit=0),
        lambda: v.configs.list(SVC, limit=1001),
    ):
        e = raises(vault.InvalidInput, fn)
        assert e.field == "limit" and "1 to 1000" in str(e)
    assert raises(vault.InvalidInput, lambda: v.configs.list(SVC, after="../x")).field == "after"


def test_config_versions_are_capped_per_service(h: Harness) -> None:
    v = h.v
    assert v.configs.settings(SVC).max_versions == 1000
    assert v.configs.set_settings(SVC, max_versions=3).max_versions == 3
    for n in range(1, 8):
        v.configs.put(SVC, "x", params={"n": n})
    history = v.configs.history(SVC, "x")
    assert [c.version for c in history.versions] == [7, 6, 5]
    assert history.oldest_version == 5 and history.next is None
    e = raises(vault.NotFound, lambda: v.configs.get(SVC, "x", version=2))
    assert "pruned" in str(e)
    e = raises(vault.InvalidInput, lambda: v.configs.set_settings(SVC, max_versions=0))
    assert e.field == "max_versions" and "1 to 100000" in str(e)
    assert repr(v.configs.settings(SVC)) == "ConfigSettings(max_versions=3)"


def test_documents_nested_deeper_than_32_levels_are_refused(h: Harness) -> None:
    v = h.v
    for field, put in [
        ("params", lambda: v.configs.put(SVC, "x", params=nested(33))),
        ("risk_limits", lambda: v.configs.put(SVC, "x", risk_limits=nested(33))),
        ("metadata", lambda: v.credentials.put("K", "v", SVC, metadata=nested(33))),
    ]:
        e = raises(vault.InvalidInput, put)
        assert e.field == field
        assert str(e) == f"invalid {field}: must be nested at most 32 levels deep"
    v.configs.put(SVC, "x", params=nested(32))
    assert len(v.configs.list(SVC)) == 1


def test_the_fallback_cache_has_a_maximum_age(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server()
    cache = tmp_path / "cache.bin"
    writer = vault.connect(server.url, token=TOKEN, cache_file=cache, cache_max_age=None)
    writer.configs.put(SVC, "x", enabled=True)
    assert writer.configs.get(SVC, "x").enabled
    vault.connect(server.url, token=TOKEN).configs.put(SVC, "x", enabled=False)
    server.stop()
    time.sleep(0.3)

    aged = vault.connect(server.url, token=TOKEN, cache_file=cache, cache_max_age=0.2)
    raises(vault.Unavailable, lambda: aged.configs.get(SVC, "x"))
    for age in (86400.0, None):
        c = vault.connect(server.url, token=TOKEN, cache_file=cache, cache_max_age=age)
        got = c.configs.get(SVC, "x")
        assert got.stale and got.enabled
    e = raises(
        vault.InvalidInput,
        lambda: vault.connect(server.url, token=TOKEN, cache_max_age=-1.0),
    )
    assert e.field == "cache_max_age"


def test_page_is_a_plain_list_to_old_code() -> None:
    p: vault.Page[int] = vault.Page([1, 2], next="b")
    assert p == [1, 2] and p[0] == 1 and list(p) == [1, 2]
    assert p.next == "b" and p.unreadable == []
    assert repr(p) == "Page([1, 2], next='b', unreadable=[])"
