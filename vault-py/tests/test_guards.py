"""`v.guards`, run against both modes: every test taking `h` runs embedded and remote (the
server's service token may do everything, `override` included). Semantics are vault-core's
(docs/guards.md); these tests check that the binding carries them: records, a denial returned
as a `Decision`, errors as the binding's classes naming the field, and no planted value in an
error."""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from conftest import Harness, fresh_secret, parse_ts, raises

import vault

ACCT = "acct1"
POLICY: dict[str, Any] = {
    "allowlist": ["EUR_USD", "BTC/*"],
    "max_position_notional": {"default": "10000", "per_instrument": {"EUR_USD": "5000"}},
    "min_confidence": 0.6,
    "cooldown_s": 3600,
    "anti_flip_s": 0,
    "llm_calls": {"hourly": 1, "daily": 10},
}


def put(v: vault.Vault) -> vault.PolicyWritten:
    return v.guards.put_policy(ACCT, POLICY, comment="tested limits")


def buy(v: vault.Vault, pid: str, instrument: str = "EUR_USD", notional: Any = "1000") -> Any:
    return v.guards.decide(ACCT, pid, instrument, "buy", notional, 0.9)


def test_policy_put_get_hash_diff_and_rollback(h: Harness) -> None:
    g = h.v.guards
    w = put(h.v)
    assert isinstance(w, vault.PolicyWritten) and isinstance(w, dict)
    assert (w.account, w.version) == (ACCT, 1)
    assert w.policy_hash.startswith("sha256:") and len(w.policy_hash) == 7 + 64
    assert dict(w) == {"account": ACCT, "version": 1, "policy_hash": w.policy_hash}

    got = g.get_policy(ACCT)
    assert (got.version, got.policy_hash, got.comment) == (1, w.policy_hash, "tested limits")
    # Defaults filled in, decimals as strings, instruments normalized.
    assert got.policy["cooldown_s"] == 3600 and got.policy["proposal_ttl_s"] == 300
    assert got.policy["max_position_notional"]["per_instrument"] == {"EUR/USD": "5000"}
    # The hash is the SHA-256 of the canonical JSON (sorted keys, no whitespace).
    canonical = json.dumps(got.policy, sort_keys=True, separators=(",", ":"))
    assert w.policy_hash == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()

    raises(vault.Conflict, lambda: g.put_policy(ACCT, POLICY, expected_version=0))
    w2 = g.put_policy(ACCT, {**POLICY, "cooldown_s": 60}, expected_version=1)
    assert w2.version == 2 and w2.policy_hash != w.policy_hash
    diff = g.diff_policy(ACCT, 1, 2)
    assert (diff.from_version, diff.to_version) == (1, 2)
    assert [c["path"] for c in diff.changes] == ["/cooldown_s"]
    back = g.rollback_policy(ACCT, 1, comment="back to the tested limits")
    assert (back.version, back.policy_hash) == (3, w.policy_hash)
    assert g.get_policy(ACCT, version=2).policy["cooldown_s"] == 60
    raises(vault.NotFound, lambda: g.get_policy("other"))


def test_allowed_then_denied_by_cooldown_then_already_executed(h: Harness) -> None:
    g = h.v.guards
    w = put(h.v)
    d = buy(h.v, "p1", notional=Decimal("1000.50"))
    assert isinstance(d, vault.Decision)
    assert (d.outcome, d.allowed, d.violations, d.policy_hash) == (
        "allowed",
        True,
        [],
        w.policy_hash,
    )
    ex = d.execution
    assert isinstance(ex, vault.Execution)
    assert ex.execution_id.startswith("ex_") and ex.state == "claimed"
    assert (ex.instrument, ex.side, ex.notional, ex.policy_version) == (
        "EUR/USD",
        "buy",
        "1000.5",
        1,
    )
    assert ex.overrides == []

    # One asset twice: a denial is a returned Decision with every violation and its numbers.
    denied = buy(h.v, "p2", notional="10")
    assert (denied.outcome, denied.allowed, denied.execution) == ("denied", False, None)
    assert [v["rule"] for v in denied.violations] == ["COOLDOWN_ACTIVE"]
    cooldown = denied.violations[0]
    assert cooldown["last_execution_id"] == ex.execution_id
    assert isinstance(cooldown["remaining_s"], int) and 0 < cooldown["remaining_s"] <= 3600

    # The same proposal again: its first execution, unchanged.
    again = buy(h.v, "p1", notional="1000.5")
    assert (again.outcome, again.allowed) == ("already_executed", False)
    assert again.execution is not None and dict(again.execution) == dict(ex)

    page = g.executions(ACCT)
    assert isinstance(page, vault.Page) and page.next is None
    assert [e.execution_id for e in page] == [ex.execution_id]
    assert g.get_execution(ACCT, ex.execution_id).proposal_id == "p1"
    decisions = g.decisions(ACCT, limit=10)
    assert [(r.proposal_id, r.outcome) for r in decisions] == [("p2", "denied"), ("p1", "allowed")]
    assert decisions[0].violations[0]["rule"] == "COOLDOWN_ACTIVE"
    first = g.decisions(ACCT, limit=1)
    assert [r.proposal_id for r in first] == ["p2"] and first.next is not None
    assert [r.proposal_id for r in g.decisions(ACCT, after=first.next)] == ["p1"]

    submitted = g.update_execution(ACCT, ex.execution_id, "submitted")
    assert submitted.state == "submitted"
    filled = g.update_execution(
        ACCT, ex.execution_id, "filled", fill="1000.5", realized_pnl=Decimal("-2.5")
    )
    assert (filled.state, filled.filled_notional, filled.realized_pnl) == (
        "filled",
        "1000.5",
        "-2.5",
    )
    raises(vault.Conflict, lambda: g.update_execution(ACCT, ex.execution_id, "submitted"))


def test_same_id_other_trade_fields_is_proposal_mismatch(h: Harness) -> None:
    put(h.v)
    buy(h.v, "p1")
    err = raises(vault.ProposalMismatch, lambda: buy(h.v, "p1", notional="2000"))
    assert err.code == "proposal_mismatch"
    raises(
        vault.ProposalMismatch,
        lambda: h.v.guards.decide(ACCT, "p1", "EUR_USD", "sell", "1000", 0.9),
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"notional": "abc"}, "notional"),
        ({"notional": "-1"}, "notional"),
        ({"notional": "0"}, "notional"),
        ({"side": "long"}, "side"),
        ({"origin": "model"}, "origin"),
        ({"confidence": 1.5}, "confidence"),
        ({"proposal_id": "has space"}, "proposal_id"),
        ({"expires_at": "tomorrow"}, "expires_at"),
        ({"account": "no/slash"}, "account"),
    ],
)
def test_bad_proposal_is_invalid_naming_the_field(
    h: Harness, kwargs: dict[str, Any], field: str
) -> None:
    put(h.v)
    args: dict[str, Any] = {
        "account": ACCT,
        "proposal_id": "p1",
        "instrument": "EUR_USD",
        "side": "buy",
        "notional": "100",
        "confidence": 0.9,
        **kwargs,
    }
    err = raises(vault.InvalidInput, lambda: h.v.guards.decide(**args))
    assert err.field == field, err
    assert h.v.guards.executions(ACCT) == []


def test_bad_policy_and_types(h: Harness) -> None:
    g = h.v.guards
    err = raises(vault.InvalidInput, lambda: g.put_policy(ACCT, {**POLICY, "cooldown_s": "soon"}))
    assert err.field == "policy.cooldown_s"
    err = raises(vault.InvalidInput, lambda: g.put_policy(ACCT, {**POLICY, "bogus": 1}))
    assert err.field == "policy.bogus"
    err = raises(vault.InvalidInput, lambda: g.update_execution(ACCT, "ex_1", "done"))
    assert err.field == "state"
    with pytest.raises(TypeError):
        buy(h.v, "p1", notional=1000.5)  # money is never a float
    with pytest.raises(TypeError):
        g.put_policy(ACCT, ["not", "a", "dict"])  # type: ignore[arg-type]


def test_halted_state_denies_then_active_again(h: Harness) -> None:
    g = h.v.guards
    put(h.v)
    assert g.get_state(ACCT).state == "ACTIVE"
    s = g.set_state(ACCT, "HALTED", "operator stop: venue outage")
    assert isinstance(s, vault.StateRecord)
    assert (s.account, s.state, s.reason, s.trigger) == (
        ACCT,
        "HALTED",
        "operator stop: venue outage",
        "manual",
    )
    d = buy(h.v, "p1", instrument="BTC/USDT")
    assert (d.outcome, d.allowed) == ("denied", False)
    assert [v["rule"] for v in d.violations] == ["TRADING_HALTED"]
    assert g.get_state(ACCT).state == "HALTED"  # latched
    err = raises(vault.InvalidInput, lambda: g.set_state(ACCT, "PAUSED", "why not"))  # type: ignore[arg-type]
    assert err.field == "state"
    g.set_state(ACCT, "ACTIVE", "venue back")
    assert buy(h.v, "p2", instrument="BTC/USDT").allowed is True


def test_an_override_lets_one_proposal_through_the_cooldown(h: Harness) -> None:
    g = h.v.guards
    put(h.v)
    first = buy(h.v, "p1")
    assert first.allowed
    o = g.create_override(ACCT, "p2", ["cooldown"], "re-entry approved by the desk")
    assert isinstance(o, vault.OverrideRecord)
    assert (o.proposal_id, o.rules, o.used_by) == ("p2", ["COOLDOWN_ACTIVE"], None)
    d = buy(h.v, "p2", notional="500")
    assert (d.outcome, d.allowed) == ("allowed", True)
    assert d.execution is not None
    [used] = d.execution.overrides
    assert used["overridden"]["rule"] == "COOLDOWN_ACTIVE"
    assert used["reason"] == "re-entry approved by the desk"
    # Single use: another proposal is denied again.
    assert [v["rule"] for v in buy(h.v, "p3", notional="1").violations] == ["COOLDOWN_ACTIVE"]
    err = raises(vault.InvalidInput, lambda: g.create_override(ACCT, "p4", ["cooldown"], "short"))
    assert err.field == "reason"


def test_llm_budget_exhausted_at_the_cap(h: Harness) -> None:
    g = h.v.guards
    put(h.v)
    a = g.admit_llm_call(ACCT, model="gpt-4o")
    assert isinstance(a, vault.BudgetAdmission)
    assert (a.admitted, a.exhausted) == (True, None)
    assert a.call_id
    assert {w.window for w in a.windows} == {"hourly", "daily"}
    refused = g.admit_llm_call(ACCT)
    assert (refused.admitted, refused.exhausted, refused.call_id) == (False, "hourly", None)
    w = refused.exhausted_window
    assert w is not None and (w.window, w.limit, w.used, w.remaining) == ("hourly", 1, 1, 0)
    assert w.resets_at.endswith("Z")
    windows = {w.window: w for w in g.llm_budget(ACCT)}
    assert (windows["hourly"].used, windows["daily"].limit, windows["daily"].used) == (1, 10, 1)


def test_a_planted_value_never_reaches_an_error(h: Harness) -> None:
    g = h.v.guards
    put(h.v)
    secret = fresh_secret()
    attempts: list[Any] = [
        lambda: buy(h.v, "p1", notional=secret),
        lambda: h.v.guards.decide(ACCT, "p1", "EUR_USD", secret, "1", 0.9),  # type: ignore[arg-type]
        lambda: h.v.guards.decide(ACCT, secret + " x", "EUR_USD", "buy", "1", 0.9),
        lambda: h.v.guards.decide(ACCT, "p1", "EUR_USD", "buy", "1", 0.9, expires_at=secret),
        lambda: g.put_policy(ACCT, {**POLICY, "cooldown_s": secret}),
        lambda: g.put_policy(ACCT, {**POLICY, "max_position_notional": {"default": secret}}),
        lambda: g.set_state(ACCT, secret, "reason"),  # type: ignore[arg-type]
        lambda: g.update_execution(ACCT, "ex_1", "filled", fill=secret),
        lambda: g.get_state(secret + "/x"),
    ]
    for attempt in attempts:
        with pytest.raises(vault.InvalidInput) as info:
            attempt()
        err = info.value
        assert secret not in str(err) and secret not in repr(err), err
        assert secret not in str(err.field)


def test_stored_proposals_pending_decided_and_expired(h: Harness) -> None:
    g = h.v.guards
    put(h.v)
    p = g.propose(ACCT, "p1", "EUR_USD", "buy", "1000", 0.9)
    assert isinstance(p, vault.ProposalRecord)
    assert (p.proposal_id, p.instrument, p.notional, p.state) == (
        "p1",
        "EUR/USD",
        "1000",
        "pending",
    )
    assert parse_ts(p.expires_at) > parse_ts(p.created_at)
    assert g.propose(ACCT, "p1", "EUR_USD", "buy", Decimal("1000"), 0.9) == p
    raises(vault.ProposalMismatch, lambda: g.propose(ACCT, "p1", "EUR_USD", "buy", "999", 0.9))
    raises(vault.ProposalMismatch, lambda: buy(h.v, "p1", notional="999"))
    assert buy(h.v, "p1").allowed is True

    soon = datetime.now(timezone.utc) + timedelta(seconds=1)
    g.propose(ACCT, "p2", "BTC/USDT", "buy", "10", 0.9, expires_at=soon)
    time.sleep(1.2)
    assert g.expire_proposals(ACCT) == 1
    page = g.proposals(ACCT)
    assert [(r.proposal_id, r.state) for r in page] == [("p1", "decided"), ("p2", "expired")]
    assert page.next is None
