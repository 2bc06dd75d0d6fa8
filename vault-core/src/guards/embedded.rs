//! The embedded guards: storage layout and operations over the barrier.
//!
//! Store layout (family `grd`): the policy's versions `grd/h/<account>/policy` and
//! `grd/v/<account>/policy/<u64 BE>` (like a config's), each distinct policy's canonical JSON
//! once at `grd/c/<sha256 hex>`; per account, under `grd/s/<account>/` (records the freshness
//! ledger tracks): `state`, `a/<base asset>` (the asset's recent executions and positions),
//! `d/<UTC day>` (trades, realized P&L and overrides of the day), `e/<execution id>` and
//! `o/<proposal id>` (an override); the global state at `grd/s/~global/state` (`~` is in no
//! account name). The decision log is `grd/l/<account>/<inverted ms, 16 hex><8 random>`,
//! newest first.
//!
//! A decision is one commit conditioned on every record it read (execution, policy, both
//! states, the asset, the day when trades are capped, the override): two contenders that read
//! the same facts cannot both commit, the loser reads again and is judged on what the winner
//! wrote.

use std::sync::Arc;

use async_trait::async_trait;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::policy::{GuardPolicy, base_of, normalize_instrument};
use super::rules::{self, AssetRecord, Checked, Facts, Recent};
use super::{
    Account, Decision, DecisionOutcome, DecisionRecord, Execution, ExecutionState, ExecutionUpdate,
    GLOBAL, GuardsApi, MAX_PROPOSAL_ID_LEN, MAX_PROPOSAL_TTL_S, MAX_REASON_BYTES,
    MIN_OVERRIDE_REASON_CHARS, OverrideCreate, OverrideRecord, OverrideUse, PolicyPut,
    PolicyRecord, PolicyWritten, Proposal, ProposalOrigin, ProposalRecord, ProposalState,
    StateChange, StateRecord, TradingState, decimal,
};
use crate::clock::Timestamp;
use crate::configs::{ChangedBy, ConfigDiff};
use crate::context::{Capability, Ctx, Operation};
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::records::{
    MAX_ATTEMPTS, NextVersion, Versioned, Visible, head_key, read_head, read_page, seal_json,
    version_key, write_next_version,
};
use crate::store::{Condition, Write};

const FAMILY: &str = "grd";
const POLICY: &str = "policy";
const DAY_MS: i64 = 86_400_000;

/// The embedded guards; see [`GuardsApi`].
#[derive(Clone)]
pub struct Guards {
    ctx: Ctx,
}

impl std::fmt::Debug for Guards {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guards").finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
pub(super) struct StoredPolicy {
    policy: GuardPolicy,
    hash: String,
    version: u64,
    updated_at: i64,
    by: ChangedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

impl Versioned for StoredPolicy {
    fn version(&self) -> u64 {
        self.version
    }
}

#[derive(Serialize, Deserialize)]
struct StoredState {
    state: TradingState,
    reason: String,
    trigger: String,
    changed_at: i64,
    by: ChangedBy,
    policy_hash: String,
}

#[derive(Clone, Default, Serialize, Deserialize)]
struct Day {
    #[serde(default)]
    trades: u32,
    #[serde(default, with = "decimal::string")]
    realized_pnl: Decimal,
    #[serde(default)]
    overrides: u32,
}

#[derive(Serialize, Deserialize)]
struct StoredExecution {
    #[serde(flatten)]
    execution: Execution,
    fingerprint: String,
}

#[derive(Clone, Serialize, Deserialize)]
struct StoredProposal {
    #[serde(flatten)]
    record: ProposalRecord,
    fingerprint: String,
}

/// Most proposals one expiry sweep marks.
const SWEEP_BATCH: usize = 1000;

fn state_key(account: &str) -> Vec<u8> {
    let scope = if account == GLOBAL {
        "~global"
    } else {
        account
    };
    format!("{FAMILY}/s/{scope}/state").into_bytes()
}

fn asset_key(account: &str, base: &str) -> Vec<u8> {
    format!("{FAMILY}/s/{account}/a/{base}").into_bytes()
}

fn day_key(account: &str, now_ms: i64) -> Vec<u8> {
    format!("{FAMILY}/s/{account}/d/{}", now_ms.div_euclid(DAY_MS)).into_bytes()
}

fn executions_prefix(account: &str) -> Vec<u8> {
    format!("{FAMILY}/s/{account}/e/").into_bytes()
}

fn execution_key(account: &str, id: &str) -> Vec<u8> {
    let mut k = executions_prefix(account);
    k.extend_from_slice(id.as_bytes());
    k
}

fn proposals_prefix(account: &str) -> Vec<u8> {
    format!("{FAMILY}/s/{account}/p/").into_bytes()
}

fn proposal_key(account: &str, proposal_id: &str) -> Vec<u8> {
    let mut k = proposals_prefix(account);
    k.extend_from_slice(proposal_id.as_bytes());
    k
}

fn override_key(account: &str, proposal_id: &str) -> Vec<u8> {
    format!("{FAMILY}/s/{account}/o/{proposal_id}").into_bytes()
}

fn decisions_prefix(account: &str) -> Vec<u8> {
    format!("{FAMILY}/l/{account}/").into_bytes()
}

fn snapshot_key(hash: &str) -> Vec<u8> {
    format!("{FAMILY}/c/{}", hash.trim_start_matches("sha256:")).into_bytes()
}

/// The execution id of a proposal: derived, so every retry of one proposal names the same
/// execution (and it can be the venue's client order id).
fn execution_id(account: &str, proposal_id: &str) -> Result<String> {
    let mut h = crate::crypto::sha256_hex(format!("{account}\0{proposal_id}").as_bytes())?;
    h.truncate(24);
    Ok(format!("ex_{h}"))
}

fn check_proposal_id(field: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= MAX_PROPOSAL_ID_LEN
        && !id.starts_with('.')
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!(
                "must be 1 to {MAX_PROPOSAL_ID_LEN} characters of A-Z a-z 0-9 _ - . : (not \
                 starting with .)"
            ),
        ))
    }
}

fn check_reason(field: &str, reason: &str, min_chars: usize) -> Result<()> {
    if reason.chars().count() < min_chars || reason.len() > MAX_REASON_BYTES {
        return Err(Error::invalid(
            field,
            format!("must be {min_chars} characters to {MAX_REASON_BYTES} bytes"),
        ));
    }
    if reason
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_account(account: &Account) -> Result<()> {
    if account.as_str() == GLOBAL {
        return Err(Error::invalid(
            "account",
            "`global` names the global trading state only",
        ));
    }
    Ok(())
}

/// What a decision read, with the raw bytes its commit is conditioned on.
pub(super) struct Read<T> {
    key: Vec<u8>,
    raw: Option<Vec<u8>>,
    record: Option<Arc<T>>,
}

impl<T: Send + Sync + 'static> Read<T> {
    async fn of(ctx: &Ctx, key: Vec<u8>) -> Result<Read<T>>
    where
        T: serde::de::DeserializeOwned,
    {
        let read = ctx
            .barrier()
            .read_reusing(
                &key,
                |_| None,
                |plain| crate::records::decode_json::<T>(plain),
            )
            .await?;
        Ok(match read {
            Some((raw, record)) => Read {
                key,
                raw: Some(raw),
                record: Some(Arc::new(record)),
            },
            None => Read {
                key,
                raw: None,
                record: None,
            },
        })
    }

    /// [`Read::of`] through the cache of opened records (see [`super::cache`]), which keeps
    /// what it opens.
    async fn kept(ctx: &Ctx, key: Vec<u8>) -> Result<Read<T>>
    where
        T: serde::de::DeserializeOwned,
    {
        let opened = &ctx.core().guards_opened;
        let mut fresh = false;
        let read = ctx
            .barrier()
            .read_reusing(
                &key,
                |sealed| opened.get::<T>(&key, sealed),
                |plain| {
                    fresh = true;
                    crate::records::decode_json::<T>(plain).map(Arc::new)
                },
            )
            .await?;
        Ok(match read {
            Some((raw, record)) => {
                if fresh {
                    opened.put(&key, &raw, record.clone());
                }
                Read {
                    key,
                    raw: Some(raw),
                    record: Some(record),
                }
            }
            None => Read {
                key,
                raw: None,
                record: None,
            },
        })
    }

    fn condition(&self) -> Condition {
        Condition::unchanged(&self.key, self.raw.as_deref())
    }

    fn record(&self) -> Option<&T> {
        self.record.as_deref()
    }
}

/// The policy in force for an account, as a decision read it.
pub(super) struct InForce {
    read: Read<StoredPolicy>,
    /// The record read, or the default policy (deny everything) as version 0.
    stored: Arc<StoredPolicy>,
}

impl InForce {
    pub(super) fn policy(&self) -> &GuardPolicy {
        &self.stored.policy
    }

    pub(super) fn hash(&self) -> &str {
        &self.stored.hash
    }

    fn version(&self) -> u64 {
        self.stored.version
    }
}

impl Guards {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Guards { ctx }
    }

    pub(super) fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    pub(super) fn who(&self) -> ChangedBy {
        let c = self.ctx.caller();
        ChangedBy {
            id: c.id().to_string(),
            name: c.name().to_string(),
        }
    }

    fn now(&self) -> i64 {
        self.ctx.clock().now().as_millis()
    }

    /// The policy in force: its record (none: the default, deny everything), hash and version.
    pub(super) async fn policy_in_force(&self, account: &str) -> Result<InForce> {
        let read = Read::<StoredPolicy>::kept(&self.ctx, head_key(FAMILY, account, POLICY)).await?;
        let stored = match &read.record {
            Some(p) => p.clone(),
            None => {
                let policy = GuardPolicy::default();
                Arc::new(StoredPolicy {
                    hash: policy.hash()?,
                    policy,
                    version: 0,
                    updated_at: 0,
                    by: ChangedBy {
                        id: String::new(),
                        name: String::new(),
                    },
                    comment: None,
                })
            }
        };
        Ok(InForce { read, stored })
    }

    async fn read_version(&self, account: &Account, version: Option<u64>) -> Result<StoredPolicy> {
        let none = || {
            Error::NotFound(format!(
                "account '{account}' has no guard policy{}: every proposal is denied (the empty \
                 allowlist) until one is set",
                version.map(|v| format!(" version {v}")).unwrap_or_default()
            ))
        };
        let head =
            read_head::<StoredPolicy>(self.ctx.barrier(), &head_key(FAMILY, account, POLICY))
                .await?
                .ok_or_else(none)?
                .record;
        match version {
            None => Ok(head),
            Some(0) => Err(Error::invalid("version", "versions start at 1")),
            Some(v) if v == head.version => Ok(head),
            Some(v) if v > head.version => Err(none()),
            Some(v) => read_head::<StoredPolicy>(
                self.ctx.barrier(),
                &version_key(FAMILY, account, POLICY, v),
            )
            .await?
            .map(|h| h.record)
            .ok_or_else(none),
        }
    }

    async fn write_policy(
        &self,
        account: &Account,
        policy: GuardPolicy,
        comment: Option<String>,
        expected_version: Option<u64>,
    ) -> Result<PolicyWritten> {
        crate::configs::check_comment(comment.as_deref())?;
        let policy = policy.checked()?;
        let hash = policy.hash()?;
        let canonical = policy.canonical()?;
        let barrier = self.ctx.barrier();
        let head = head_key(FAMILY, account, POLICY);
        let by = self.who();
        let now = self.now();
        let what = || format!("the guard policy of account '{account}'");
        write_next_version(
            barrier,
            &head,
            expected_version,
            what,
            |next: NextVersion<StoredPolicy>| {
                let version = next.version;
                let record = StoredPolicy {
                    policy: policy.clone(),
                    hash: hash.clone(),
                    version,
                    updated_at: now,
                    by: by.clone(),
                    comment: comment.clone().filter(|c| !c.is_empty()),
                };
                let vkey = version_key(FAMILY, account, POLICY, version);
                let skey = snapshot_key(&hash);
                let writes = vec![
                    Write::Put(head.clone(), seal_json(barrier, &head, &record)?),
                    Write::Put(vkey.clone(), seal_json(barrier, &vkey, &record)?),
                    Write::Put(skey.clone(), barrier.seal(&skey, canonical.as_bytes())?),
                ];
                Ok((
                    writes,
                    PolicyWritten {
                        account: account.clone(),
                        version,
                        policy_hash: hash.clone(),
                    },
                ))
            },
        )
        .await
    }

    /// The state of `account` as read, and the record to answer with.
    fn state_record(account: &str, read: Option<&StoredState>) -> StateRecord {
        match read {
            Some(s) => StateRecord {
                account: account.to_string(),
                state: s.state,
                reason: Some(s.reason.clone()),
                trigger: s.trigger.clone(),
                changed_at: Some(Timestamp::from_millis(s.changed_at)),
                changed_by: Some(s.by.clone()),
                policy_hash: Some(s.policy_hash.clone()),
            },
            None => StateRecord {
                account: account.to_string(),
                state: TradingState::Active,
                reason: None,
                trigger: "initial".into(),
                changed_at: None,
                changed_by: None,
                policy_hash: None,
            },
        }
    }

    /// Checks a proposal (`invalid` naming the field; `forbidden` for a `risk_exit` from a
    /// caller without `override`): its normalized instrument and its fingerprint (the trade
    /// fields that make two proposals of one id the same).
    fn check_proposal(&self, account: &Account, proposal: &Proposal) -> Result<(String, String)> {
        check_account(account)?;
        check_proposal_id("proposal_id", &proposal.proposal_id)?;
        let instrument = normalize_instrument("instrument", &proposal.instrument)?;
        if proposal.notional <= Decimal::ZERO {
            return Err(Error::invalid("notional", "must be a positive decimal"));
        }
        if !proposal.confidence.is_finite() || !(0.0..=1.0).contains(&proposal.confidence) {
            return Err(Error::invalid("confidence", "must be a number in [0, 1]"));
        }
        if let Some(e) = proposal.expires_at
            && e.as_millis() > self.now().saturating_add(MAX_PROPOSAL_TTL_S as i64 * 1000)
        {
            return Err(Error::invalid(
                "expires_at",
                format!("must be at most {MAX_PROPOSAL_TTL_S} s from now"),
            ));
        }
        if proposal.origin == ProposalOrigin::RiskExit {
            // Authority never comes from a proposal's own fields: only a caller allowed to
            // override may say it is a risk exit.
            self.ctx
                .require(Capability::Override, &format!("guards/{account}/decide"))?;
        }
        let fingerprint = crate::crypto::sha256_hex(
            serde_json::json!([
                account.as_str(),
                instrument,
                proposal.side.as_str(),
                decimal::text(&proposal.notional),
                proposal.origin,
            ])
            .to_string()
            .as_bytes(),
        )?;
        Ok((instrument, fingerprint))
    }

    fn mismatch(proposal_id: &str) -> Error {
        Error::ProposalMismatch(format!(
            "proposal '{proposal_id}' was given before with other trade fields (instrument, \
             side, notional or origin)"
        ))
    }

    async fn decide_inner(&self, account: &Account, proposal: Proposal) -> Result<Decision> {
        let (instrument, fingerprint) = self.check_proposal(account, &proposal)?;
        self.ctx
            .resolved(format!("guards/{account}/decide/{}", proposal.proposal_id));
        let id = execution_id(account.as_str(), &proposal.proposal_id)?;
        let base = base_of(&instrument).to_string();
        let barrier = self.ctx.barrier();
        let by = self.who();
        for lost in 0..MAX_ATTEMPTS {
            let now = self.now();
            let exec = Read::<StoredExecution>::of(&self.ctx, execution_key(account.as_str(), &id))
                .await?;
            let mut attempt = 1;
            if let Some(prev) = exec.record() {
                if prev.fingerprint != fingerprint {
                    return Err(Self::mismatch(&proposal.proposal_id));
                }
                if prev.execution.state != ExecutionState::FailedBeforeSubmit {
                    return Ok(Decision {
                        outcome: DecisionOutcome::AlreadyExecuted,
                        policy_hash: prev.execution.policy_hash.clone(),
                        execution: Some(prev.execution.clone()),
                        violations: Vec::new(),
                    });
                }
                attempt = prev.execution.attempt.saturating_add(1);
            }
            let in_force = self.policy_in_force(account.as_str()).await?;
            let (policy, hash, version) = (in_force.policy(), in_force.hash(), in_force.version());
            let state = Read::<StoredState>::of(&self.ctx, state_key(account.as_str())).await?;
            let global = Read::<StoredState>::of(&self.ctx, state_key(GLOBAL)).await?;
            let asset =
                Read::<AssetRecord>::kept(&self.ctx, asset_key(account.as_str(), &base)).await?;
            let day = match policy.max_trades_per_day {
                Some(_) => Some(Read::<Day>::of(&self.ctx, day_key(account.as_str(), now)).await?),
                None => None,
            };
            let over = Read::<OverrideRecord>::of(
                &self.ctx,
                override_key(account.as_str(), &proposal.proposal_id),
            )
            .await?;
            // A stored proposal: the same trade fields, and its own expiry.
            let proposed = Read::<StoredProposal>::of(
                &self.ctx,
                proposal_key(account.as_str(), &proposal.proposal_id),
            )
            .await?;
            if let Some(p) = proposed.record()
                && p.fingerprint != fingerprint
            {
                return Err(Self::mismatch(&proposal.proposal_id));
            }
            let stricter = |a: Option<&StoredState>, b: Option<&StoredState>| {
                let s = |x: Option<&StoredState>| x.map_or(TradingState::Active, |x| x.state);
                match (s(a), s(b)) {
                    (TradingState::Halted, _) | (_, TradingState::Halted) => TradingState::Halted,
                    (TradingState::Reducing, _) | (_, TradingState::Reducing) => {
                        TradingState::Reducing
                    }
                    _ => TradingState::Active,
                }
            };
            let empty = AssetRecord::default();
            let asset_now = asset.record().unwrap_or(&empty);
            let facts = Facts {
                policy,
                state: stricter(state.record(), global.record()),
                asset: asset_now,
                trades_today: day
                    .as_ref()
                    .and_then(|d| d.record().map(|d| d.trades))
                    .unwrap_or(0),
                now_ms: now,
            };
            let expires_at_ms = match proposed.record() {
                Some(p) if p.record.state == ProposalState::Expired => now,
                Some(p) => p.record.expires_at.as_millis(),
                None => proposal.expires_at.map_or_else(
                    || now.saturating_add(policy.proposal_ttl_s as i64 * 1000),
                    Timestamp::as_millis,
                ),
            };
            let checked = Checked {
                instrument: &instrument,
                side: proposal.side,
                notional: proposal.notional,
                confidence: proposal.confidence,
                origin: proposal.origin,
                expires_at_ms,
            };
            let mut violations = rules::evaluate(&facts, &checked);
            // An unused override lifts the cooldown and anti-flip it names, for this proposal.
            let mut lifted = Vec::new();
            if let Some(o) = over.record().filter(|o| o.used_by.is_none()) {
                let (gone, kept): (Vec<_>, Vec<_>) = violations
                    .into_iter()
                    .partition(|v| o.rules.contains(&v.rule));
                violations = kept;
                lifted = gone
                    .into_iter()
                    .map(|v| OverrideUse {
                        overridden: v,
                        by: o.by.clone(),
                        reason: o.reason.clone(),
                    })
                    .collect();
            }
            let mut conditions = vec![
                exec.condition(),
                in_force.read.condition(),
                state.condition(),
                global.condition(),
                asset.condition(),
                over.condition(),
                proposed.condition(),
            ];
            if let Some(d) = &day {
                conditions.push(d.condition());
            }
            let allowed = violations.is_empty();
            let execution = allowed.then(|| Execution {
                execution_id: id.clone(),
                account: account.clone(),
                proposal_id: proposal.proposal_id.clone(),
                instrument: instrument.clone(),
                asset: base.clone(),
                side: proposal.side,
                notional: proposal.notional,
                confidence: proposal.confidence,
                origin: proposal.origin,
                state: ExecutionState::Claimed,
                policy_hash: hash.to_string(),
                policy_version: version,
                decided_at: Timestamp::from_millis(now),
                updated_at: Timestamp::from_millis(now),
                decided_by: by.clone(),
                overrides: lifted.clone(),
                filled_notional: None,
                realized_pnl: None,
                attempt,
            });
            let log = DecisionRecord {
                proposal_id: proposal.proposal_id.clone(),
                outcome: if allowed {
                    DecisionOutcome::Allowed
                } else {
                    DecisionOutcome::Denied
                },
                execution_id: allowed.then(|| id.clone()),
                instrument: instrument.clone(),
                side: proposal.side,
                notional: proposal.notional,
                violations: violations.clone(),
                policy_hash: hash.to_string(),
                decided_at: Timestamp::from_millis(now),
                decided_by: by.clone(),
            };
            let lkey = {
                let mut k = decisions_prefix(account.as_str());
                let inverted = u64::MAX - u64::try_from(now.max(0)).unwrap_or(0);
                k.extend_from_slice(format!("{inverted:016x}").as_bytes());
                k.extend_from_slice(crate::crypto::random_base62(8)?.as_bytes());
                k
            };
            let mut writes = vec![Write::Put(lkey.clone(), seal_json(barrier, &lkey, &log)?)];
            // The asset record the claim writes, kept once it is committed: the next decision
            // on the asset finds it opened.
            let mut claimed_asset = None;
            if let Some(e) = &execution {
                let stored = StoredExecution {
                    execution: e.clone(),
                    fingerprint: fingerprint.clone(),
                };
                writes.push(Write::Put(
                    exec.key.clone(),
                    seal_json(barrier, &exec.key, &stored)?,
                ));
                let mut a = asset_now.clone();
                a.claimed(
                    Recent {
                        id: id.clone(),
                        instrument: instrument.clone(),
                        side: proposal.side,
                        at: now,
                    },
                    rules::signed(proposal.side, proposal.notional),
                );
                let sealed = seal_json(barrier, &asset.key, &a)?;
                claimed_asset = Some((sealed.clone(), a));
                writes.push(Write::Put(asset.key.clone(), sealed));
                if let Some(d) = &day {
                    let mut next = d.record().cloned().unwrap_or_default();
                    next.trades = next.trades.saturating_add(1);
                    writes.push(Write::Put(
                        d.key.clone(),
                        seal_json(barrier, &d.key, &next)?,
                    ));
                }
                if let Some(p) = proposed.record() {
                    let mut decided = p.clone();
                    decided.record.state = ProposalState::Decided;
                    writes.push(Write::Put(
                        proposed.key.clone(),
                        seal_json(barrier, &proposed.key, &decided)?,
                    ));
                }
                if let Some(o) = over.record().filter(|_| !lifted.is_empty()) {
                    let mut used = o.clone();
                    used.used_by = Some(id.clone());
                    writes.push(Write::Put(
                        over.key.clone(),
                        seal_json(barrier, &over.key, &used)?,
                    ));
                }
            }
            crate::audit::chain::set_current_outcome(if allowed { "ok" } else { "guard_rejected" });
            if barrier
                .commit_after_losses(conditions, writes, lost)
                .await?
            {
                if let Some((sealed, a)) = claimed_asset {
                    self.ctx
                        .core()
                        .guards_opened
                        .put(&asset.key, &sealed, Arc::new(a));
                }
                return Ok(Decision {
                    outcome: log.outcome,
                    execution,
                    violations,
                    policy_hash: hash.to_string(),
                });
            }
        }
        Err(Error::Conflict(format!(
            "proposal '{}' of account '{account}' is under heavy concurrent decisions; retry",
            proposal.proposal_id
        )))
    }

    async fn propose_inner(&self, account: &Account, proposal: Proposal) -> Result<ProposalRecord> {
        let (instrument, fingerprint) = self.check_proposal(account, &proposal)?;
        let barrier = self.ctx.barrier();
        let key = proposal_key(account.as_str(), &proposal.proposal_id);
        for lost in 0..MAX_ATTEMPTS {
            let now = self.now();
            let read = Read::<StoredProposal>::of(&self.ctx, key.clone()).await?;
            if let Some(p) = read.record() {
                if p.fingerprint != fingerprint {
                    return Err(Self::mismatch(&proposal.proposal_id));
                }
                return Ok(p.record.clone());
            }
            let in_force = self.policy_in_force(account.as_str()).await?;
            let policy = in_force.policy();
            let expires_at = proposal.expires_at.map_or_else(
                || now.saturating_add(policy.proposal_ttl_s as i64 * 1000),
                Timestamp::as_millis,
            );
            let record = ProposalRecord {
                account: account.clone(),
                proposal_id: proposal.proposal_id.clone(),
                instrument: instrument.clone(),
                side: proposal.side,
                notional: proposal.notional,
                confidence: proposal.confidence,
                origin: proposal.origin,
                state: ProposalState::Pending,
                created_at: Timestamp::from_millis(now),
                expires_at: Timestamp::from_millis(expires_at),
                proposed_by: self.who(),
            };
            let stored = StoredProposal {
                record: record.clone(),
                fingerprint: fingerprint.clone(),
            };
            let writes = vec![Write::Put(key.clone(), seal_json(barrier, &key, &stored)?)];
            if barrier
                .commit_after_losses(vec![read.condition()], writes, lost)
                .await?
            {
                return Ok(record);
            }
        }
        Err(Error::Conflict(format!(
            "proposal '{}' is under heavy concurrent writes; retry",
            proposal.proposal_id
        )))
    }

    async fn expire_inner(&self, account: &Account) -> Result<u64> {
        check_account(account)?;
        let barrier = self.ctx.barrier();
        let prefix = proposals_prefix(account.as_str());
        let now = self.now();
        let mut conditions = Vec::new();
        let mut writes = Vec::new();
        for key in barrier.scan_keys(&prefix, None, SWEEP_BATCH).await? {
            let read = Read::<StoredProposal>::of(&self.ctx, key).await?;
            let Some(p) = read.record() else { continue };
            if p.record.state != ProposalState::Pending || now < p.record.expires_at.as_millis() {
                continue;
            }
            let mut expired = p.clone();
            expired.record.state = ProposalState::Expired;
            conditions.push(read.condition());
            writes.push(Write::Put(
                read.key.clone(),
                seal_json(barrier, &read.key, &expired)?,
            ));
        }
        let n = writes.len() as u64;
        if n == 0 {
            return Ok(0);
        }
        // One commit: a proposal decided meanwhile fails it, and the next sweep goes again.
        if barrier.commit(conditions, writes).await? {
            Ok(n)
        } else {
            Err(Error::Conflict(
                "a proposal changed during the sweep; sweep again".into(),
            ))
        }
    }

    async fn update_inner(
        &self,
        account: &Account,
        id: &str,
        update: ExecutionUpdate,
    ) -> Result<Execution> {
        check_account(account)?;
        check_proposal_id("execution_id", id)?;
        if update.fill.is_some_and(|f| f < Decimal::ZERO) {
            return Err(Error::invalid("fill", "must not be negative"));
        }
        let barrier = self.ctx.barrier();
        for lost in 0..MAX_ATTEMPTS {
            let now = self.now();
            let exec =
                Read::<StoredExecution>::of(&self.ctx, execution_key(account.as_str(), id)).await?;
            let Some(stored) = exec.record() else {
                return Err(Error::NotFound(format!(
                    "account '{account}' has no execution '{id}'"
                )));
            };
            let mut e = stored.execution.clone();
            let from = e.state;
            if !from.may_become(update.state) {
                return Err(Error::Conflict(format!(
                    "execution '{id}' is {}; it cannot become {}",
                    from.as_str(),
                    update.state.as_str()
                )));
            }
            let asset =
                Read::<AssetRecord>::of(&self.ctx, asset_key(account.as_str(), &e.asset)).await?;
            let mut a = asset.record().cloned().unwrap_or_default();
            // What the execution adds to the position: its filled notional once reported,
            // else its claimed notional while it counts; when it stops counting (rejected,
            // cancelled, failed before submit) only what filled stays.
            let before = if from.counts() {
                rules::signed(e.side, e.filled_notional.unwrap_or(e.notional))
            } else {
                Decimal::ZERO
            };
            if let Some(fill) = update.fill {
                e.filled_notional = Some(fill);
            }
            let after = match (update.state.counts(), e.filled_notional) {
                (true, f) => rules::signed(e.side, f.unwrap_or(e.notional)),
                (false, Some(f)) => rules::signed(e.side, f),
                (false, None) => Decimal::ZERO,
            };
            a.add_position(&e.instrument, after - before);
            if !update.state.counts() && e.filled_notional.is_none() {
                a.forget(&e.execution_id);
            }
            e.state = update.state;
            e.updated_at = Timestamp::from_millis(now);
            let mut conditions = vec![exec.condition(), asset.condition()];
            let mut writes = Vec::new();
            if let Some(pnl) = update.realized_pnl {
                e.realized_pnl = Some(e.realized_pnl.unwrap_or(Decimal::ZERO) + pnl);
                let day = Read::<Day>::of(&self.ctx, day_key(account.as_str(), now)).await?;
                let mut d = day.record().cloned().unwrap_or_default();
                d.realized_pnl += pnl;
                conditions.push(day.condition());
                writes.push(Write::Put(
                    day.key.clone(),
                    seal_json(barrier, &day.key, &d)?,
                ));
                // The daily loss breaker: the day's realized loss reaching the policy's
                // maximum trips an active account to REDUCING (latched).
                let in_force = self.policy_in_force(account.as_str()).await?;
                let (policy, hash) = (in_force.policy(), in_force.hash().to_string());
                if let Some(max) = policy.max_daily_loss
                    && -d.realized_pnl >= max
                {
                    let state =
                        Read::<StoredState>::of(&self.ctx, state_key(account.as_str())).await?;
                    if state
                        .record()
                        .is_none_or(|s| s.state == TradingState::Active)
                    {
                        let tripped = StoredState {
                            state: TradingState::Reducing,
                            reason: format!(
                                "daily realized loss {} reached max_daily_loss {}",
                                decimal::text(&-d.realized_pnl),
                                decimal::text(&max)
                            ),
                            trigger: "daily_loss".into(),
                            changed_at: now,
                            by: self.who(),
                            policy_hash: hash,
                        };
                        conditions.push(state.condition());
                        writes.push(Write::Put(
                            state.key.clone(),
                            seal_json(barrier, &state.key, &tripped)?,
                        ));
                    }
                }
            }
            let next = StoredExecution {
                execution: e.clone(),
                fingerprint: stored.fingerprint.clone(),
            };
            writes.push(Write::Put(
                exec.key.clone(),
                seal_json(barrier, &exec.key, &next)?,
            ));
            writes.push(Write::Put(
                asset.key.clone(),
                seal_json(barrier, &asset.key, &a)?,
            ));
            if barrier
                .commit_after_losses(conditions, writes, lost)
                .await?
            {
                return Ok(e);
            }
        }
        Err(Error::Conflict(format!(
            "execution '{id}' is under heavy concurrent updates; retry"
        )))
    }

    async fn set_state_inner(&self, account: &Account, change: StateChange) -> Result<StateRecord> {
        check_reason("reason", &change.reason, 1)?;
        let barrier = self.ctx.barrier();
        let key = state_key(account.as_str());
        for lost in 0..MAX_ATTEMPTS {
            let read = Read::<StoredState>::of(&self.ctx, key.clone()).await?;
            let current = read.record().map_or(TradingState::Active, |s| s.state);
            if current == change.state {
                // Setting the current state is a no-op, with no event.
                return Ok(Self::state_record(account.as_str(), read.record()));
            }
            let hash = if account.as_str() == GLOBAL {
                GuardPolicy::default().hash()?
            } else {
                self.policy_in_force(account.as_str())
                    .await?
                    .hash()
                    .to_string()
            };
            let next = StoredState {
                state: change.state,
                reason: change.reason.clone(),
                trigger: "manual".into(),
                changed_at: self.now(),
                by: self.who(),
                policy_hash: hash,
            };
            let writes = vec![Write::Put(key.clone(), seal_json(barrier, &key, &next)?)];
            if barrier
                .commit_after_losses(vec![read.condition()], writes, lost)
                .await?
            {
                return Ok(Self::state_record(account.as_str(), Some(&next)));
            }
        }
        Err(Error::Conflict(format!(
            "the trading state of '{account}' is under heavy concurrent changes; retry"
        )))
    }

    async fn create_override_inner(
        &self,
        account: &Account,
        create: OverrideCreate,
    ) -> Result<OverrideRecord> {
        check_account(account)?;
        check_proposal_id("proposal_id", &create.proposal_id)?;
        check_reason("reason", &create.reason, MIN_OVERRIDE_REASON_CHARS)?;
        if create.rules.is_empty() {
            return Err(Error::invalid(
                "rules",
                "name COOLDOWN_ACTIVE and/or ANTI_FLIP_ACTIVE",
            ));
        }
        let mut lifted = Vec::new();
        for (i, r) in create.rules.iter().enumerate() {
            let code = match r.as_str() {
                "cooldown" | "COOLDOWN_ACTIVE" => "COOLDOWN_ACTIVE",
                "anti_flip" | "ANTI_FLIP_ACTIVE" => "ANTI_FLIP_ACTIVE",
                _ => {
                    return Err(Error::invalid(
                        format!("rules[{i}]"),
                        format!(
                            "only cooldown and anti-flip may be overridden ({}), not {r:?}",
                            rules::OVERRIDABLE.join(", ")
                        ),
                    ));
                }
            };
            if !lifted.contains(&code.to_string()) {
                lifted.push(code.to_string());
            }
        }
        let barrier = self.ctx.barrier();
        for lost in 0..MAX_ATTEMPTS {
            let now = self.now();
            let in_force = self.policy_in_force(account.as_str()).await?;
            let policy = in_force.policy();
            let over = Read::<OverrideRecord>::of(
                &self.ctx,
                override_key(account.as_str(), &create.proposal_id),
            )
            .await?;
            if over.record().is_some() {
                return Err(Error::Conflict(format!(
                    "proposal '{}' already has an override (each is single use)",
                    create.proposal_id
                )));
            }
            let day = Read::<Day>::of(&self.ctx, day_key(account.as_str(), now)).await?;
            let mut d = day.record().cloned().unwrap_or_default();
            if d.overrides >= policy.max_overrides_per_day {
                return Err(Error::RateLimited {
                    message: format!(
                        "account '{account}' has used its {} overrides of today (UTC); more \
                         tomorrow",
                        policy.max_overrides_per_day
                    ),
                    retry_after_secs: u64::try_from(DAY_MS - now.rem_euclid(DAY_MS))
                        .unwrap_or(0)
                        .div_ceil(1000),
                });
            }
            d.overrides += 1;
            let record = OverrideRecord {
                account: account.clone(),
                proposal_id: create.proposal_id.clone(),
                rules: lifted.clone(),
                reason: create.reason.clone(),
                by: self.who(),
                created_at: Timestamp::from_millis(now),
                policy_hash: in_force.hash().to_string(),
                used_by: None,
            };
            let writes = vec![
                Write::Put(over.key.clone(), seal_json(barrier, &over.key, &record)?),
                Write::Put(day.key.clone(), seal_json(barrier, &day.key, &d)?),
            ];
            if barrier
                .commit_after_losses(
                    // The policy read too: the hash recorded is the one in force at the commit.
                    vec![over.condition(), day.condition(), in_force.read.condition()],
                    writes,
                    lost,
                )
                .await?
            {
                return Ok(record);
            }
        }
        Err(Error::Conflict(format!(
            "overrides of account '{account}' are under heavy concurrent writes; retry"
        )))
    }
}

fn op(name: &'static str, capability: Capability, account: &Account, what: &str) -> Operation {
    Operation::new(name, capability, format!("guards/{account}/{what}"))
}

#[async_trait]
impl GuardsApi for Guards {
    async fn put_policy(&self, account: &Account, put: PolicyPut) -> Result<PolicyWritten> {
        let operation = op("guards.policy.put", Capability::Admin, account, POLICY);
        self.ctx
            .run(operation, async {
                check_account(account)?;
                self.write_policy(account, put.policy, put.comment, put.expected_version)
                    .await
            })
            .await
    }

    async fn get_policy(&self, account: &Account, version: Option<u64>) -> Result<PolicyRecord> {
        let operation = op("guards.policy.get", Capability::Read, account, POLICY);
        self.ctx
            .run(operation, async {
                let p = self.read_version(account, version).await?;
                Ok(PolicyRecord {
                    account: account.clone(),
                    version: p.version,
                    policy: p.policy,
                    policy_hash: p.hash,
                    updated_at: Timestamp::from_millis(p.updated_at),
                    changed_by: p.by,
                    comment: p.comment,
                })
            })
            .await
    }

    async fn rollback_policy(
        &self,
        account: &Account,
        to_version: u64,
        comment: Option<String>,
    ) -> Result<PolicyWritten> {
        let operation = op("guards.policy.rollback", Capability::Admin, account, POLICY);
        self.ctx
            .run(operation, async {
                check_account(account)?;
                self.ctx
                    .require(Capability::Read, &format!("guards/{account}/{POLICY}"))?;
                if to_version == 0 {
                    return Err(Error::invalid("to_version", "versions start at 1"));
                }
                let old = self.read_version(account, Some(to_version)).await?;
                let comment = comment.or_else(|| Some(format!("rollback to version {to_version}")));
                self.write_policy(account, old.policy, comment, None).await
            })
            .await
    }

    async fn diff_policy(&self, account: &Account, from: u64, to: u64) -> Result<ConfigDiff> {
        let operation = op("guards.policy.diff", Capability::Read, account, POLICY);
        self.ctx
            .run(operation, async {
                for (field, v) in [("from", from), ("to", to)] {
                    if v == 0 {
                        return Err(Error::invalid(field, "versions start at 1"));
                    }
                }
                let a = self.read_version(account, Some(from)).await?;
                let b = self.read_version(account, Some(to)).await?;
                let value = |p: &GuardPolicy| {
                    serde_json::to_value(p)
                        .map_err(|e| Error::Internal(format!("encode policy: {e}")))
                };
                Ok(ConfigDiff {
                    from,
                    to,
                    changes: crate::configs::value_changes(&value(&a.policy)?, &value(&b.policy)?),
                })
            })
            .await
    }

    async fn decide(&self, account: &Account, proposal: Proposal) -> Result<Decision> {
        let operation = op("guards.decide", Capability::Execute, account, "decide");
        self.ctx
            .run(operation, self.decide_inner(account, proposal))
            .await
    }

    async fn update_execution(
        &self,
        account: &Account,
        execution_id: &str,
        update: ExecutionUpdate,
    ) -> Result<Execution> {
        let operation = op(
            "guards.execution.update",
            Capability::Execute,
            account,
            &format!("executions/{execution_id}"),
        );
        self.ctx
            .run(operation, self.update_inner(account, execution_id, update))
            .await
    }

    async fn get_execution(&self, account: &Account, execution_id: &str) -> Result<Execution> {
        let operation = op(
            "guards.execution.get",
            Capability::Read,
            account,
            &format!("executions/{execution_id}"),
        );
        self.ctx
            .run(operation, async {
                check_proposal_id("execution_id", execution_id)?;
                read_head::<StoredExecution>(
                    self.ctx.barrier(),
                    &execution_key(account.as_str(), execution_id),
                )
                .await?
                .map(|h| h.record.execution)
                .ok_or_else(|| {
                    Error::NotFound(format!(
                        "account '{account}' has no execution '{execution_id}'"
                    ))
                })
            })
            .await
    }

    async fn executions(&self, account: &Account, page: PageRequest) -> Result<Page<Execution>> {
        let operation = op("guards.executions", Capability::Read, account, "executions");
        self.ctx
            .run(operation, async {
                let resource = format!("guards/{account}/executions");
                let visible = Visible {
                    capability: Capability::Read,
                    resource: &resource,
                };
                read_page(
                    &self.ctx,
                    &executions_prefix(account.as_str()),
                    &page,
                    visible,
                    |key, _| async move {
                        Ok(read_head::<StoredExecution>(self.ctx.barrier(), &key)
                            .await?
                            .map(|h| h.record.execution))
                    },
                )
                .await
            })
            .await
    }

    async fn decisions(
        &self,
        account: &Account,
        page: PageRequest,
    ) -> Result<Page<DecisionRecord>> {
        let operation = op("guards.decisions", Capability::Read, account, "decisions");
        self.ctx
            .run(operation, async {
                let resource = format!("guards/{account}/decisions");
                let visible = Visible {
                    capability: Capability::Read,
                    resource: &resource,
                };
                read_page(
                    &self.ctx,
                    &decisions_prefix(account.as_str()),
                    &page,
                    visible,
                    |key, _| async move {
                        Ok(read_head::<DecisionRecord>(self.ctx.barrier(), &key)
                            .await?
                            .map(|h| h.record))
                    },
                )
                .await
            })
            .await
    }

    async fn get_state(&self, account: &Account) -> Result<StateRecord> {
        let operation = op("guards.state.get", Capability::Read, account, "state");
        self.ctx
            .run(operation, async {
                let read = Read::<StoredState>::of(&self.ctx, state_key(account.as_str())).await?;
                Ok(Self::state_record(account.as_str(), read.record()))
            })
            .await
    }

    async fn set_state(&self, account: &Account, change: StateChange) -> Result<StateRecord> {
        let operation = op("guards.state.set", Capability::Admin, account, "state");
        self.ctx
            .run(operation, self.set_state_inner(account, change))
            .await
    }

    async fn propose(&self, account: &Account, proposal: Proposal) -> Result<ProposalRecord> {
        let operation = op(
            "guards.propose",
            Capability::Propose,
            account,
            &format!("proposals/{}", proposal.proposal_id),
        );
        self.ctx
            .run(operation, self.propose_inner(account, proposal))
            .await
    }

    async fn proposals(
        &self,
        account: &Account,
        page: PageRequest,
    ) -> Result<Page<ProposalRecord>> {
        let operation = op("guards.proposals", Capability::Read, account, "proposals");
        self.ctx
            .run(operation, async {
                let resource = format!("guards/{account}/proposals");
                let visible = Visible {
                    capability: Capability::Read,
                    resource: &resource,
                };
                read_page(
                    &self.ctx,
                    &proposals_prefix(account.as_str()),
                    &page,
                    visible,
                    |key, _| async move {
                        Ok(read_head::<StoredProposal>(self.ctx.barrier(), &key)
                            .await?
                            .map(|h| h.record.record))
                    },
                )
                .await
            })
            .await
    }

    async fn expire_proposals(&self, account: &Account) -> Result<u64> {
        let operation = op(
            "guards.proposals.expire",
            Capability::Execute,
            account,
            "proposals",
        );
        self.ctx.run(operation, self.expire_inner(account)).await
    }

    async fn admit_llm_call(
        &self,
        account: &Account,
        model: Option<String>,
    ) -> Result<super::BudgetAdmission> {
        let operation = op(
            "guards.budget.admit",
            Capability::Execute,
            account,
            "budget/llm",
        );
        self.ctx
            .run(operation, async {
                check_account(account)?;
                self.admit_inner(account, model).await
            })
            .await
    }

    async fn llm_budget(&self, account: &Account) -> Result<Vec<super::BudgetWindow>> {
        let operation = op("guards.budget.get", Capability::Read, account, "budget/llm");
        self.ctx
            .run(operation, async {
                check_account(account)?;
                let in_force = self.policy_in_force(account.as_str()).await?;
                let policy = in_force.policy();
                self.windows(account.as_str(), &policy.llm_calls, self.now())
                    .await
            })
            .await
    }

    async fn create_override(
        &self,
        account: &Account,
        create: OverrideCreate,
    ) -> Result<OverrideRecord> {
        let operation = op(
            "guards.override",
            Capability::Override,
            account,
            &format!("overrides/{}", create.proposal_id),
        );
        self.ctx
            .run(operation, self.create_override_inner(account, create))
            .await
    }
}
