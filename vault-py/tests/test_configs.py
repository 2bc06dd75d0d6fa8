"""`v.configs`, run against both modes: every test taking `h` runs embedded and remote."""

from __future__ import annotations

import threading

import pytest
from conftest import SVC, Harness, parse_ts, raises

import vault


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
        "version", "created_at", "updated_at", "stale", "changed_by", "comment", "deleted",
        "revision",
    }  # fmt: skip


def test_configs_compare_and_set(h: Harness) -> None:
    v = h.v
    assert v.configs.put(SVC, "cas", params={"x": 1}, expected_version=0).version == 1
    raises(vault.Conflict, lambda: v.configs.put(SVC, "cas", expected_version=0))
    assert v.configs.put(SVC, "cas", params={"x": 2}, expected_version=1).version == 2
    raises(vault.Conflict, lambda: v.configs.put(SVC, "cas", params={"x": 3}, expected_version=1))
    assert v.configs.get(SVC, "cas").params == {"x": 2}


# ---------------------------------------------------------------- history


def test_configs_history_pages_newest_first(h: Harness) -> None:
    v = h.v
    for i in range(1, 6):
        v.configs.put(SVC, "hist", params={"i": i}, symbols=[f"S{i}"])
    v.configs.put(SVC, "other")  # another strategy's versions stay out of it

    first = v.configs.history(SVC, "hist", limit=2)
    assert isinstance(first, vault.ConfigHistory)
    assert [c.version for c in first.versions] == [5, 4]
    assert first.next == 4 and len(first) == 2
    second = v.configs.history(SVC, "hist", limit=2, after=first.next)
    assert [c.version for c in second.versions] == [3, 2]
    assert second.next == 2 and len(second) == 2
    third = v.configs.history(SVC, "hist", limit=2, after=second.next)
    assert [c.version for c in third.versions] == [1]
    assert third.next is None and len(third) == 1

    pages = first.versions + second.versions + third.versions
    assert [c.params for c in pages] == [{"i": i} for i in range(5, 0, -1)]
    assert all((c.service, c.strategy_id, c.stale) == (SVC, "hist", False) for c in pages)
    # each entry is the version itself, as configs.get returns it
    assert [c.to_dict() for c in pages] == [
        v.configs.get(SVC, "hist", version=n).to_dict() for n in range(5, 0, -1)
    ]
    assert repr(first) == "ConfigHistory(versions=<2 configs>, next=4)"

    whole = v.configs.history(SVC, "hist")  # default limit: everything here, one page
    assert [c.version for c in whole.versions] == [5, 4, 3, 2, 1]
    assert whole.next is None
    assert len(v.configs.history(SVC, "hist", limit=1000)) == 5


def test_configs_history_not_found(h: Harness) -> None:
    v = h.v
    raises(vault.NotFound, lambda: v.configs.history(SVC, "nope"))
    v.configs.put(SVC, "exists")
    raises(vault.NotFound, lambda: v.configs.history("nobody", "exists"))
    raises(vault.NotFound, lambda: v.configs.history(SVC, "nope", limit=2, after=1))


@pytest.mark.parametrize("limit", [0, 1001])
def test_configs_history_invalid_limit(h: Harness, limit: int) -> None:
    v = h.v
    v.configs.put(SVC, "s1")
    err = raises(vault.InvalidInput, lambda: v.configs.history(SVC, "s1", limit=limit))
    assert err.field == "limit"
    assert isinstance(err, ValueError)
    with pytest.raises(OverflowError):
        v.configs.history(SVC, "s1", limit=-1)


def test_configs_diff(h: Harness) -> None:
    v = h.v
    v.configs.put(SVC, "d", params={"fast": 12, "slow": 26}, symbols=["EUR_USD", "GBP_USD"])
    v.configs.put(SVC, "d", params={"fast": 10, "slow": 26}, symbols=["EUR_USD"], enabled=False)
    d = v.configs.diff(SVC, "d", 1, 2)
    assert (d.from_version, d.to_version, len(d)) == (1, 2, 3)
    assert d.changes == [
        {"op": "replace", "path": "/params/fast", "old": 12, "new": 10},
        {"op": "remove", "path": "/symbols/1", "old": "GBP_USD"},
        {"op": "replace", "path": "/enabled", "old": True, "new": False},
    ]
    back = v.configs.diff(SVC, "d", 2, 1)
    assert back.changes[1] == {"op": "add", "path": "/symbols/1", "new": "GBP_USD"}
    assert len(v.configs.diff(SVC, "d", 2, 2)) == 0
    assert "ConfigDiff(from_version=1, to_version=2" in repr(d)
    assert raises(vault.InvalidInput, lambda: v.configs.diff(SVC, "d", 0, 2)).field == "from"
    assert raises(vault.InvalidInput, lambda: v.configs.diff(SVC, "d", 1, 0)).field == "to"
    raises(vault.NotFound, lambda: v.configs.diff(SVC, "d", 1, 3))
    raises(vault.NotFound, lambda: v.configs.diff(SVC, "nope", 1, 2))
    with pytest.raises(OverflowError):
        v.configs.diff(SVC, "d", -1, 2)


def test_configs_rollback(h: Harness) -> None:
    v = h.v
    v.configs.put(SVC, "r", params={"fast": 12}, symbols=["EUR_USD"])
    v.configs.put(SVC, "r", params={"fast": 10}, enabled=False)
    w = v.configs.rollback(SVC, "r", 1)
    assert (w.service, w.strategy_id, w.action, w.version) == (SVC, "r", "updated", 3)
    c = v.configs.get(SVC, "r")
    assert (c.version, c.params, c.symbols, c.enabled) == (3, {"fast": 12}, ["EUR_USD"], True)
    assert [c.version for c in v.configs.history(SVC, "r").versions] == [3, 2, 1]
    assert len(v.configs.diff(SVC, "r", 1, 3)) == 0
    assert raises(vault.InvalidInput, lambda: v.configs.rollback(SVC, "r", 0)).field == "to_version"
    raises(vault.NotFound, lambda: v.configs.rollback(SVC, "r", 9))
    raises(vault.NotFound, lambda: v.configs.rollback(SVC, "nope", 1))
    with pytest.raises(OverflowError):
        v.configs.rollback(SVC, "r", -1)
    assert v.configs.get(SVC, "r").version == 3


# ---------------------------------------------------------------- threads


def test_threads_contended_compare_and_set_smoke(h: Harness) -> None:
    """Smoke test of compare-and-set under contention, through the binding.

    Each round, 8 threads wait at a barrier and are released together to try the same
    compare-and-set (`expected_version` = the current version). What it shows: calls from many
    threads can be in flight at once (the GIL is released), each outcome comes back as either
    a `ConfigWritten` of the next version or a `Conflict` (nothing else), one thread wins each
    round here, and the stored config is the winner's. What it cannot show: that exactly one
    wins under every interleaving, since nothing forces the calls to overlap inside the store.
    That proof is the Rust test with a forced interleaving in vault-core.
    """
    v = h.v
    n_threads, rounds = 8, 5
    v.configs.put(SVC, "race", params={"n": -1})
    barrier = threading.Barrier(n_threads)
    lock = threading.Lock()
    outcomes: list[tuple[int, int, str]] = []  # (round, thread, "won" | "conflict")
    unexpected: list[BaseException] = []

    def contend(t: int) -> None:
        for r in range(rounds):
            expected = r + 1
            try:
                barrier.wait(timeout=30)
                w = v.configs.put(SVC, "race", params={"n": t}, expected_version=expected)
                assert w.version == expected + 1, w
                outcome = "won"
            except vault.Conflict:
                outcome = "conflict"
            except BaseException as e:  # noqa: BLE001 - reported below
                unexpected.append(e)
                barrier.abort()
                return
            with lock:
                outcomes.append((r, t, outcome))
            # everyone has tried this round's version before the next round starts
            try:
                barrier.wait(timeout=30)
            except threading.BrokenBarrierError as e:
                unexpected.append(e)
                return

    threads = [threading.Thread(target=contend, args=(t,)) for t in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not unexpected, unexpected
    assert len(outcomes) == n_threads * rounds
    winners = []
    for r in range(rounds):
        won = [t for (rr, t, o) in outcomes if rr == r and o == "won"]
        lost = [t for (rr, t, o) in outcomes if rr == r and o == "conflict"]
        assert len(won) == 1 and len(lost) == n_threads - 1, (r, won, lost)
        winners.append(won[0])
        assert v.configs.get(SVC, "race", version=r + 2).params == {"n": won[0]}
    final = v.configs.get(SVC, "race")
    assert final.version == rounds + 1 and final.params == {"n": winners[-1]}
