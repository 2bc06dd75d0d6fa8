//! Trading guards: a versioned policy per account, and one call that evaluates every guard and,
//! when the proposal passes, claims its execution in the same store commit.
//!
//! Semantics follow `docs/guards.md` (research §9 and its decisions): deterministic (every time
//! from the vault's clock, every window computed from stored facts), fail closed (a policy or
//! state that cannot be read denies), every guard evaluated and every violation returned, one
//! execution per proposal ever, and model output never carries authority (`risk_exit` and
//! overrides need the `override` capability).
//!
//! This module owns the family's records and its interface, [`GuardsApi`], which the embedded
//! vault ([`Guards`]) implements.

pub(crate) mod budget;
pub(crate) mod cache;
pub(crate) mod decimal;
mod embedded;
mod policy;
mod rules;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use budget::MAX_MODEL_LEN;
pub use embedded::Guards;
pub use policy::{GuardPolicy, LlmCalls, PositionLimits, Scope, Window};
pub use rust_decimal::Decimal;

use crate::clock::Timestamp;
use crate::configs::{ChangedBy, ConfigDiff};
use crate::error::Result;
use crate::names::ServiceName;
use crate::page::{Page, PageRequest};

/// Parses `s` as a decimal the guards accept (`"2500"`, `"0.25"`; at most 40 characters), for
/// bindings that take decimals as strings: `invalid` naming `field` otherwise (without `s`).
pub fn parse_decimal(field: &str, s: &str) -> Result<Decimal> {
    decimal::parse(field, s)
}

/// An account's name (the same rules as a service name). `global` is reserved for the global
/// trading state.
pub type Account = ServiceName;

/// Longest proposal id, in bytes.
pub const MAX_PROPOSAL_ID_LEN: usize = 128;
/// Longest reason (of a state change or an override), in bytes.
pub const MAX_REASON_BYTES: usize = 1024;
/// Shortest override reason, in characters.
pub const MIN_OVERRIDE_REASON_CHARS: usize = 10;
/// Longest a proposal may be valid for (its `expires_at` at most this far ahead).
pub const MAX_PROPOSAL_TTL_S: u64 = 3600;
/// The account name that stands for the global trading state.
pub const GLOBAL: &str = "global";

/// A trade's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Buy (increases a long, reduces a short).
    Buy,
    /// Sell (reduces a long, increases a short).
    Sell,
}

impl Side {
    /// `buy` or `sell`.
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "buy",
            Side::Sell => "sell",
        }
    }
}

/// Where a proposal comes from. Only a caller with the `override` capability may say
/// `risk_exit`: model output never carries authority.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalOrigin {
    /// Proposed by a strategy or a model: every guard applies.
    #[default]
    Discretionary,
    /// A reduce-only exit raised by a stop-loss, a kill switch or an operator: cooldown,
    /// anti-flip and confidence do not apply (exits are never blocked), the rest does.
    RiskExit,
}

/// An account's (or the global) trading state. Latched: only an operator with a reason
/// returns to `ACTIVE`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TradingState {
    /// Every guard applies as usual.
    #[default]
    Active,
    /// Only proposals that reduce or close a position pass.
    Reducing,
    /// Nothing from strategies or models passes; an operator's `risk_exit` does.
    Halted,
}

impl TradingState {
    /// `ACTIVE`, `REDUCING` or `HALTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            TradingState::Active => "ACTIVE",
            TradingState::Reducing => "REDUCING",
            TradingState::Halted => "HALTED",
        }
    }
}

/// Where an execution is. `claimed` → `submitted` → `filled` / `partially_filled` /
/// `rejected` / `cancelled`, plus `failed_before_submit` (the proposal may be decided again)
/// and `unknown` (counts as executed until reconciled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionState {
    /// Decided and claimed; not yet sent to the venue.
    Claimed,
    /// Sent to the venue.
    Submitted,
    /// Filled in full.
    Filled,
    /// Filled in part (more fills may follow).
    PartiallyFilled,
    /// Refused by the venue.
    Rejected,
    /// Cancelled before it filled.
    Cancelled,
    /// Failed before anything was sent: the proposal may be decided again.
    FailedBeforeSubmit,
    /// The venue's answer is not known: counts as executed until reconciled.
    Unknown,
}

impl ExecutionState {
    /// The state's name, as in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionState::Claimed => "claimed",
            ExecutionState::Submitted => "submitted",
            ExecutionState::Filled => "filled",
            ExecutionState::PartiallyFilled => "partially_filled",
            ExecutionState::Rejected => "rejected",
            ExecutionState::Cancelled => "cancelled",
            ExecutionState::FailedBeforeSubmit => "failed_before_submit",
            ExecutionState::Unknown => "unknown",
        }
    }

    /// Whether an execution in this state counts for cooldown, anti-flip and position (it may
    /// have filled, or may still).
    pub fn counts(self) -> bool {
        !matches!(
            self,
            ExecutionState::Rejected
                | ExecutionState::Cancelled
                | ExecutionState::FailedBeforeSubmit
        )
    }

    /// Whether an execution may go from this state to `to`.
    pub fn may_become(self, to: ExecutionState) -> bool {
        use ExecutionState::*;
        match self {
            Claimed => matches!(to, Submitted | FailedBeforeSubmit | Unknown | Rejected),
            Submitted => matches!(
                to,
                Filled | PartiallyFilled | Rejected | Cancelled | Unknown
            ),
            PartiallyFilled => matches!(to, PartiallyFilled | Filled | Cancelled | Unknown),
            Unknown => matches!(
                to,
                Submitted | Filled | PartiallyFilled | Rejected | Cancelled | FailedBeforeSubmit
            ),
            Filled | Rejected | Cancelled | FailedBeforeSubmit => false,
        }
    }
}

/// A trade proposal to decide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    /// The caller's id for the proposal: one execution per id, ever.
    pub proposal_id: String,
    /// The instrument (`EUR_USD`, `BTC/USDT`, ...: uppercase, `_` and `-` read as `/`).
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// The order's notional in the quote currency (a decimal string over the wire).
    #[serde(with = "decimal::string")]
    pub notional: Decimal,
    /// The proposer's confidence, in [0, 1].
    pub confidence: f64,
    /// Discretionary (default) or risk exit.
    #[serde(default)]
    pub origin: ProposalOrigin,
    /// When it stops being valid (default: now + the policy's `proposal_ttl_s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
}

/// Where a stored proposal is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Waiting for a decision.
    Pending,
    /// Decided and claimed.
    Decided,
    /// Its `expires_at` passed before it was claimed (the sweep marks it).
    Expired,
}

/// A proposal stored by [`GuardsApi::propose`] (to be decided later, by another caller).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProposalRecord {
    /// The account.
    pub account: Account,
    /// The proposal's id.
    pub proposal_id: String,
    /// The normalized instrument.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// The notional.
    #[serde(with = "decimal::string")]
    pub notional: Decimal,
    /// The proposer's confidence.
    pub confidence: f64,
    /// Discretionary or risk exit.
    pub origin: ProposalOrigin,
    /// Pending, decided or expired.
    pub state: ProposalState,
    /// When it was proposed.
    pub created_at: Timestamp,
    /// When it stops being valid.
    pub expires_at: Timestamp,
    /// Who proposed it.
    pub proposed_by: ChangedBy,
}

/// One guard that denied a proposal: a stable rule code and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Violation {
    /// `TRADING_HALTED`, `TRADING_STATE_REDUCING`, `PROPOSAL_EXPIRED`, `NOT_ALLOWLISTED`,
    /// `CONFIDENCE_BELOW_MINIMUM`, `POSITION_LIMIT_EXCEEDED`, `COOLDOWN_ACTIVE`,
    /// `ANTI_FLIP_ACTIVE`, `MAX_TRADES_PER_DAY`, `RISK_EXIT_NOT_REDUCING`.
    pub rule: String,
    /// The numbers behind it (`remaining_s`, `max`, ...).
    #[serde(flatten)]
    pub details: crate::JsonObject,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rule)?;
        for (k, v) in &self.details {
            match v {
                serde_json::Value::String(s) => write!(f, " {k}={s}")?,
                other => write!(f, " {k}={other}")?,
            }
        }
        Ok(())
    }
}

/// A guard an override lifted for one execution, and what it would have said.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideUse {
    /// The violation the override lifted.
    pub overridden: Violation,
    /// Who granted the override, and why.
    pub by: ChangedBy,
    /// The override's reason.
    pub reason: String,
}

/// An execution: a claimed proposal and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Execution {
    /// Derived from the account and proposal id (use it as the venue's client order id).
    pub execution_id: String,
    /// The account.
    pub account: Account,
    /// The proposal it executes.
    pub proposal_id: String,
    /// The normalized instrument (`EUR/USD`).
    pub instrument: String,
    /// The asset the cooldown and anti-flip are kept for (the base, after aliases).
    pub asset: String,
    /// Buy or sell.
    pub side: Side,
    /// The claimed notional.
    #[serde(with = "decimal::string")]
    pub notional: Decimal,
    /// The proposer's confidence.
    pub confidence: f64,
    /// Discretionary or risk exit.
    pub origin: ProposalOrigin,
    /// Where it is.
    pub state: ExecutionState,
    /// The hash of the policy it was decided under.
    pub policy_hash: String,
    /// That policy's version (0: no policy was set).
    pub policy_version: u64,
    /// When it was decided.
    pub decided_at: Timestamp,
    /// When its state last changed.
    pub updated_at: Timestamp,
    /// Who decided it.
    pub decided_by: ChangedBy,
    /// Guards lifted by an override for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideUse>,
    /// Notional filled so far, as reported.
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub filled_notional: Option<Decimal>,
    /// Realized profit (negative: loss) reported with its fills.
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub realized_pnl: Option<Decimal>,
    /// How many times the proposal was decided (a `failed_before_submit` one may be again).
    pub attempt: u32,
}

/// What [`GuardsApi::decide`] concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionOutcome {
    /// Every guard passed: the execution is claimed.
    Allowed,
    /// At least one guard denied it: nothing was claimed.
    Denied,
    /// The proposal was decided before: its execution, unchanged.
    AlreadyExecuted,
}

/// The answer of [`GuardsApi::decide`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// Allowed, denied or already executed.
    pub outcome: DecisionOutcome,
    /// The execution claimed (allowed) or claimed before (already executed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<Execution>,
    /// Every guard that denied it, in evaluation order (empty unless denied).
    pub violations: Vec<Violation>,
    /// The hash of the policy it was decided under.
    pub policy_hash: String,
}

impl Decision {
    /// Whether the proposal was allowed (and claimed) by this call.
    pub fn allowed(&self) -> bool {
        self.outcome == DecisionOutcome::Allowed
    }
}

/// One decision as the log keeps it (allowed or denied).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    /// The proposal.
    pub proposal_id: String,
    /// Allowed or denied.
    pub outcome: DecisionOutcome,
    /// The execution claimed, when allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_id: Option<String>,
    /// The normalized instrument.
    pub instrument: String,
    /// Buy or sell.
    pub side: Side,
    /// The proposed notional.
    #[serde(with = "decimal::string")]
    pub notional: Decimal,
    /// Every guard that denied it.
    pub violations: Vec<Violation>,
    /// The policy in force.
    pub policy_hash: String,
    /// When.
    pub decided_at: Timestamp,
    /// By whom.
    pub decided_by: ChangedBy,
}

/// A new version of an account's policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyPut {
    /// The policy document (omitted fields take their defaults).
    pub policy: GuardPolicy,
    /// Why (at most 1024 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Compare-and-set on the current version (0: no policy yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

/// A stored policy version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// The account.
    pub account: Account,
    /// The version (1, 2, ...).
    pub version: u64,
    /// The whole policy, defaults filled in.
    pub policy: GuardPolicy,
    /// `sha256:<hex>` of its canonical JSON.
    pub policy_hash: String,
    /// When this version was written.
    pub updated_at: Timestamp,
    /// Who wrote it.
    pub changed_by: ChangedBy,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// What a policy write made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyWritten {
    /// The account.
    pub account: Account,
    /// The new version.
    pub version: u64,
    /// Its hash.
    pub policy_hash: String,
}

/// An account's (or the global) trading state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateRecord {
    /// The account (`global` for the global state).
    pub account: String,
    /// The state.
    pub state: TradingState,
    /// Why it was set (none while never changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `manual`, or the rule that tripped it (`daily_loss`).
    pub trigger: String,
    /// When it was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<Timestamp>,
    /// Who set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<ChangedBy>,
    /// The policy in force when it was set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_hash: Option<String>,
}

/// A change of trading state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateChange {
    /// The new state.
    pub state: TradingState,
    /// Why (required, at most 1024 bytes).
    pub reason: String,
}

/// An override of cooldown and/or anti-flip for one proposal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OverrideCreate {
    /// The proposal it lets through (once).
    pub proposal_id: String,
    /// `COOLDOWN_ACTIVE` and/or `ANTI_FLIP_ACTIVE` (`cooldown` and `anti_flip` are accepted).
    pub rules: Vec<String>,
    /// Why (at least 10 characters).
    pub reason: String,
}

/// A stored override.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverrideRecord {
    /// The account.
    pub account: Account,
    /// The proposal it lets through.
    pub proposal_id: String,
    /// The rules it lifts (`COOLDOWN_ACTIVE`, `ANTI_FLIP_ACTIVE`).
    pub rules: Vec<String>,
    /// Why.
    pub reason: String,
    /// Who granted it.
    pub by: ChangedBy,
    /// When.
    pub created_at: Timestamp,
    /// The hash of the policy in force when it was granted (empty on overrides stored before
    /// this field existed).
    #[serde(default)]
    pub policy_hash: String,
    /// The execution that used it (single use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
}

/// A reported change of an execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionUpdate {
    /// The new state.
    pub state: ExecutionState,
    /// The notional filled so far (for `filled` / `partially_filled`).
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub fill: Option<Decimal>,
    /// Realized profit (negative: loss) of this report, counted for the daily loss breaker.
    #[serde(
        default,
        with = "decimal::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub realized_pnl: Option<Decimal>,
}

/// One budget window as admission saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetWindow {
    /// `hourly` or `daily`.
    pub window: String,
    /// The policy's cap.
    pub limit: u64,
    /// Calls admitted in the window (this one included, when admitted).
    pub used: u64,
    /// Calls left.
    pub remaining: u64,
    /// When the window frees a call (calendar: its end; rolling: when its oldest call leaves).
    pub resets_at: Timestamp,
}

/// The answer of [`GuardsApi::admit_llm_call`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAdmission {
    /// Whether the call was admitted (and counted).
    pub admitted: bool,
    /// The admitted call's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// The window that refused it (`hourly` or `daily`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exhausted: Option<String>,
    /// Both windows.
    pub windows: Vec<BudgetWindow>,
}

impl BudgetAdmission {
    /// The window that refused the call, when one did.
    pub fn exhausted_window(&self) -> Option<&BudgetWindow> {
        let name = self.exhausted.as_deref()?;
        self.windows.iter().find(|w| w.window == name)
    }
}

/// The guards of the vault, per account.
#[async_trait]
pub trait GuardsApi: Send + Sync {
    /// Writes a new version of the account's policy. Needs `admin` on `guards/<account>/policy`.
    async fn put_policy(&self, account: &Account, put: PolicyPut) -> Result<PolicyWritten>;

    /// The account's policy: the latest version or version `version`; `not_found` when none
    /// is set (every proposal is then denied: the empty allowlist). Needs `read`.
    async fn get_policy(&self, account: &Account, version: Option<u64>) -> Result<PolicyRecord>;

    /// Writes a new version with version `to_version`'s policy. Needs `admin` and `read`.
    async fn rollback_policy(
        &self,
        account: &Account,
        to_version: u64,
        comment: Option<String>,
    ) -> Result<PolicyWritten>;

    /// The changes between two versions of the account's policy. Needs `read`.
    async fn diff_policy(&self, account: &Account, from: u64, to: u64) -> Result<ConfigDiff>;

    /// Evaluates every guard for `proposal` and, when all pass, claims its execution in the same
    /// commit. Needs `execute` on `guards/<account>/decide` (and `override` for a `risk_exit`).
    /// The same proposal again returns its execution unchanged (`already_executed`); the same
    /// id with different trade fields is `proposal_mismatch`.
    async fn decide(&self, account: &Account, proposal: Proposal) -> Result<Decision>;

    /// Reports a change of an execution (a state, a fill, realized P&L). Needs `execute`.
    /// `conflict` for a transition the states do not allow.
    async fn update_execution(
        &self,
        account: &Account,
        execution_id: &str,
        update: ExecutionUpdate,
    ) -> Result<Execution>;

    /// One execution. Needs `read`.
    async fn get_execution(&self, account: &Account, execution_id: &str) -> Result<Execution>;

    /// A page of the account's executions (by id). Needs `read`.
    async fn executions(&self, account: &Account, page: PageRequest) -> Result<Page<Execution>>;

    /// A page of the account's decisions, newest first. Needs `read`.
    async fn decisions(&self, account: &Account, page: PageRequest)
    -> Result<Page<DecisionRecord>>;

    /// The trading state of `account` (or the global one, for `global`). Needs `read`.
    async fn get_state(&self, account: &Account) -> Result<StateRecord>;

    /// Sets the trading state (a no-op, with no event, when it is already so). Needs `admin`.
    async fn set_state(&self, account: &Account, change: StateChange) -> Result<StateRecord>;

    /// Stores a proposal to be decided later (`pending`), with its `expires_at` (default: now +
    /// the policy's `proposal_ttl_s`). The same proposal again returns it; the same id with
    /// other trade fields is `proposal_mismatch`. Needs `propose` on
    /// `guards/<account>/proposals/<id>` (and `override` for a `risk_exit`). A later
    /// [`GuardsApi::decide`] of the id must carry the same trade fields and judges it by its
    /// stored `expires_at`.
    async fn propose(&self, account: &Account, proposal: Proposal) -> Result<ProposalRecord>;

    /// A page of the account's stored proposals (by id). Needs `read`.
    async fn proposals(&self, account: &Account, page: PageRequest)
    -> Result<Page<ProposalRecord>>;

    /// Marks the account's pending proposals whose `expires_at` passed as `expired` (at most
    /// 1000 per call); returns how many. Needs `execute` on `guards/<account>/proposals`.
    async fn expire_proposals(&self, account: &Account) -> Result<u64>;

    /// Admits one LLM call against the account's hourly and daily budgets, counting it in the
    /// same commit (`admitted: false`, with the window that refused it and when it resets, at
    /// the cap). `model` is recorded with the call. Needs `execute` on
    /// `guards/<account>/budget/llm`.
    async fn admit_llm_call(
        &self,
        account: &Account,
        model: Option<String>,
    ) -> Result<BudgetAdmission>;

    /// The account's budget windows now, counting nothing. Needs `read`.
    async fn llm_budget(&self, account: &Account) -> Result<Vec<BudgetWindow>>;

    /// Grants an override of cooldown and/or anti-flip for one proposal (single use, at most
    /// the policy's `max_overrides_per_day` per UTC day). Needs `override`.
    async fn create_override(
        &self,
        account: &Account,
        create: OverrideCreate,
    ) -> Result<OverrideRecord>;
}
