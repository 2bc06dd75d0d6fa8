"""Records of the trading guards (``v.guards``): each is a ``dict`` of the record's JSON form
(as docs/guards.md shows it over HTTP; decimals are ``str``, times RFC 3339 ``str``) whose keys
also read as attributes (``decision.outcome``, ``decision["outcome"]``)."""

from __future__ import annotations

from typing import Any, Literal


class _Record(dict[str, Any]):
    """A ``dict`` whose keys read as attributes too; absent optional fields read as ``None``."""

    __slots__ = ()
    _optional: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            if name in type(self)._optional:
                return None
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


class PolicyWritten(_Record):
    """What a policy write made: ``account``, the new ``version`` and its ``policy_hash``."""

    __slots__ = ()
    account: str
    version: int
    policy_hash: str


class PolicyRecord(_Record):
    """A stored policy version: the whole ``policy`` (defaults filled in) and its hash."""

    __slots__ = ()
    _optional = ("comment",)
    account: str
    version: int
    policy: dict[str, Any]
    policy_hash: str
    updated_at: str
    changed_by: dict[str, Any]
    comment: str | None


class Execution(_Record):
    """An execution: a claimed proposal and where it is (``state``)."""

    __slots__ = ()
    _optional = ("filled_notional", "realized_pnl")
    execution_id: str
    account: str
    proposal_id: str
    instrument: str
    asset: str
    side: Literal["buy", "sell"]
    notional: str
    confidence: float
    origin: Literal["discretionary", "risk_exit"]
    state: str
    policy_hash: str
    policy_version: int
    decided_at: str
    updated_at: str
    decided_by: dict[str, Any]
    filled_notional: str | None
    realized_pnl: str | None
    attempt: int

    @property
    def overrides(self) -> list[dict[str, Any]]:
        """Guards an override lifted for it (``[]`` when none)."""
        return list(self.get("overrides", []))


class Decision(_Record):
    """The answer of ``guards.decide``: ``outcome`` ``"allowed"`` (``execution`` claimed),
    ``"denied"`` (every violation, ``{"rule": ..., <its numbers>}``; nothing claimed) or
    ``"already_executed"`` (``execution``: the first decision's, unchanged)."""

    __slots__ = ()
    _optional = ("execution",)
    outcome: Literal["allowed", "denied", "already_executed"]
    allowed: bool
    execution: Execution | None
    violations: list[dict[str, Any]]
    policy_hash: str

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__(value)
        if self.get("execution") is not None:
            self["execution"] = Execution(self["execution"])


class ProposalRecord(_Record):
    """A stored proposal (``guards.propose``): ``state`` ``"pending"``, ``"decided"`` or
    ``"expired"``."""

    __slots__ = ()
    account: str
    proposal_id: str
    instrument: str
    side: Literal["buy", "sell"]
    notional: str
    confidence: float
    origin: Literal["discretionary", "risk_exit"]
    state: Literal["pending", "decided", "expired"]
    created_at: str
    expires_at: str
    proposed_by: dict[str, Any]


class DecisionRecord(_Record):
    """One decision as the log keeps it (allowed or denied, with its violations)."""

    __slots__ = ()
    _optional = ("execution_id",)
    proposal_id: str
    outcome: Literal["allowed", "denied", "already_executed"]
    execution_id: str | None
    instrument: str
    side: Literal["buy", "sell"]
    notional: str
    violations: list[dict[str, Any]]
    policy_hash: str
    decided_at: str
    decided_by: dict[str, Any]


class StateRecord(_Record):
    """An account's (or the ``global``) trading state: ``ACTIVE``, ``REDUCING`` or ``HALTED``."""

    __slots__ = ()
    _optional = ("reason", "changed_at", "changed_by", "policy_hash")
    account: str
    state: Literal["ACTIVE", "REDUCING", "HALTED"]
    reason: str | None
    trigger: str
    changed_at: str | None
    changed_by: dict[str, Any] | None
    policy_hash: str | None


class OverrideRecord(_Record):
    """An override of cooldown and/or anti-flip for one proposal (``used_by``: the execution
    that used it)."""

    __slots__ = ()
    _optional = ("used_by",)
    account: str
    proposal_id: str
    rules: list[str]
    reason: str
    by: dict[str, Any]
    created_at: str
    policy_hash: str
    used_by: str | None


class BudgetWindow(_Record):
    """One LLM-call budget window (``hourly`` or ``daily``)."""

    __slots__ = ()
    window: Literal["hourly", "daily"]
    limit: int
    used: int
    remaining: int
    resets_at: str


class BudgetAdmission(_Record):
    """The answer of ``guards.admit_llm_call``: ``admitted`` (with its ``call_id``), or not, with
    ``exhausted`` naming the window that refused it; ``windows``: both windows."""

    __slots__ = ()
    _optional = ("call_id", "exhausted")
    admitted: bool
    call_id: str | None
    exhausted: Literal["hourly", "daily"] | None
    windows: list[BudgetWindow]

    def __init__(self, value: dict[str, Any]) -> None:
        super().__init__(value)
        self["windows"] = [BudgetWindow(w) for w in self.get("windows", [])]

    @property
    def exhausted_window(self) -> BudgetWindow | None:
        """The window that refused the call, when one did."""
        return next((w for w in self.windows if w.window == self.exhausted), None)
