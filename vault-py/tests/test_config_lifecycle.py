"""Config lifecycle through `v.configs`, in both modes: who/when/comment per version, typed
validation, delete keeping history, and watching for changes."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from conftest import SVC, Harness, raises

import vault


def test_versions_record_who_and_why(h: Harness) -> None:
    v = h.v
    v.configs.put(SVC, "c", params={"fast": 12}, comment="first cut")
    v.configs.put(SVC, "c", params={"fast": 10})
    w = v.configs.rollback(SVC, "c", 1)
    assert (w.action, w.version) == ("updated", 3)
    v.configs.rollback(SVC, "c", 2, comment="faster again", expected_version=3)
    caller = "embedded" if h.mode == "embedded" else "root"
    history = v.configs.history(SVC, "c").versions
    assert [(c.version, c.comment) for c in history] == [
        (4, "faster again"),
        (3, "rollback to version 1"),
        (2, None),
        (1, "first cut"),
    ]
    assert all(c.changed_by == {"id": caller, "name": caller} for c in history)
    d = history[3].to_dict()
    assert (d["comment"], d["changed_by"], d["deleted"]) == (
        "first cut",
        {"id": caller, "name": caller},
        False,
    )
    err = raises(vault.Conflict, lambda: v.configs.rollback(SVC, "c", 1, expected_version=3))
    assert "version 4" in str(err)
    assert (
        raises(vault.InvalidInput, lambda: v.configs.put(SVC, "c", comment="x" * 1025)).field
        == "comment"
    )
    assert (
        raises(vault.InvalidInput, lambda: v.configs.put(SVC, "c", comment="\x1b[2J")).field
        == "comment"
    )
    assert v.configs.get(SVC, "c").version == 4


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"symbols": ["EUR_USD", "EUR_USD"]}, "symbols[1]"),
        ({"risk_limits": {"max_position_size": -5}}, "risk_limits.max_position_size"),
        ({"risk_limits": {"max_daily_loss": 2}}, "risk_limits.max_daily_loss"),
        ({"risk_limits": {"max_trades_per_day": 1.5}}, "risk_limits.max_trades_per_day"),
        ({"risk_limits": {"max_trades_per_day": "10"}}, "risk_limits.max_trades_per_day"),
    ],
)
def test_invalid_configs_name_the_field(h: Harness, kwargs: dict[str, Any], field: str) -> None:
    assert raises(vault.InvalidInput, lambda: h.v.configs.put(SVC, "c", **kwargs)).field == field
    raises(vault.NotFound, lambda: h.v.configs.get(SVC, "c"))


def test_delete_keeps_history(h: Harness) -> None:
    v = h.v
    v.configs.put(SVC, "d", params={"fast": 12})
    v.configs.put(SVC, "keep")
    raises(vault.Conflict, lambda: v.configs.delete(SVC, "d", expected_version=7))
    w = v.configs.delete(SVC, "d", expected_version=1)
    assert (w.action, w.version) == ("deleted", 2)
    assert "deleted" in str(raises(vault.NotFound, lambda: v.configs.get(SVC, "d")))
    assert v.configs.get(SVC, "d", 2).deleted
    assert v.configs.get(SVC, "d", 1).params == {"fast": 12}
    assert [c.strategy_id for c in v.configs.list(SVC)] == ["keep"]
    raises(vault.NotFound, lambda: v.configs.delete(SVC, "d"))
    raises(vault.NotFound, lambda: v.configs.delete(SVC, "never"))
    assert v.configs.diff(SVC, "d", 1, 2).changes == [
        {"op": "replace", "path": "/deleted", "old": False, "new": True}
    ]
    w = v.configs.rollback(SVC, "d", 1)
    assert (w.action, w.version) == ("created", 3)
    assert v.configs.get(SVC, "d").params == {"fast": 12}


def test_watch_reports_changes_after_a_revision(h: Harness) -> None:
    v = h.v
    v.configs.put(SVC, "a")
    page = v.configs.list(SVC)
    assert page.revision == 1
    assert v.configs.get(SVC, "a").revision == 1
    v.configs.put(SVC, "b")
    v.configs.put(SVC, "a", enabled=False)
    w = v.configs.watch(SVC, since=page.revision, timeout=5)
    assert (w.service, w.revision) == (SVC, 3)
    assert w.changes == [
        {"strategy_id": "b", "version": 1, "deleted": False},
        {"strategy_id": "a", "version": 2, "deleted": False},
    ]
    quiet = v.configs.watch(SVC, since=w.revision, timeout=0)
    assert (len(quiet), quiet.revision) == (0, 3)
    for bad in (-1.0, 61.0, float("nan")):

        def watch(bad: float = bad) -> vault.ConfigWatch:
            return v.configs.watch(SVC, timeout=bad)

        assert raises(vault.InvalidInput, watch).field == "timeout"
    assert v.credentials.list(SVC).revision is None


def test_watcher_wakes_on_a_write_from_another_thread(h: Harness) -> None:
    v = h.v
    v.configs.put(SVC, "hot", params={"n": 1})
    since = v.configs.get(SVC, "hot").revision
    watcher = v.configs.watcher(SVC, since=since, timeout=10)
    assert watcher.revision == since
    writer = threading.Timer(0.2, lambda: v.configs.put(SVC, "hot", params={"n": 2}))
    writer.start()
    try:
        w = next(watcher)
    finally:
        writer.join()
    assert w.changes == [{"strategy_id": "hot", "version": 2, "deleted": False}]
    assert watcher.revision == w.revision == since + 1
    assert v.configs.get(SVC, "hot").params == {"n": 2}


def test_signal_handlers_run_while_a_watch_waits(h: Harness) -> None:
    """A signal arriving during a watch has its Python handler run while the watch waits (so
    Ctrl-C raises KeyboardInterrupt at once), not only after the watch returns. Shown by a
    handler that writes the config being watched: the watch reports that write. Were handlers
    run only after the call returned, the watch would end empty at its timeout."""
    import signal

    v = h.v
    v.configs.put(SVC, "sig")
    since = v.configs.get(SVC, "sig").revision

    def on_signal(signum: int, frame: object) -> None:
        v.configs.put(SVC, "sig", params={"from": "handler"})

    previous = signal.signal(signal.SIGUSR1, on_signal)
    timer = threading.Timer(0.3, lambda: signal.raise_signal(signal.SIGUSR1))
    timer.start()
    try:
        w = v.configs.watch(SVC, since=since, timeout=5)
    finally:
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    assert w.changes == [{"strategy_id": "sig", "version": 2, "deleted": False}]
