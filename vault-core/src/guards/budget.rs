//! The LLM-call usage log and its admission, shared by the guards' per-account budget and the
//! inference gateway's per-token limits: admission counts the calls already admitted in the
//! current windows from the usage log (no counters to reset) and records the new call in the
//! same commit, conditioned on the head of every log it counts in, so that two admissions at a
//! cap cannot both pass.
//!
//! A log ([`UsageLog`]) is a prefix of facts and a head. The account's: facts
//! `grd/u/<account>/<admitted ms, 16 hex><8 random>` and head `grd/s/<account>/b`. A token's
//! (the gateway): `llm/u/<token id>/...` and `llm/s/<token id>`. A gateway call of a token
//! bound to an account is one fact counted in both logs (written under both prefixes in one
//! commit). Facts are sealed (call id, caller, model, status, and once the call settles its
//! token counts and latency); the head holds the number of admissions and the tokens used in
//! the current UTC day (added when a call settles). Facts older than two days go, a bounded
//! batch per admission; a call voided (its upstream failed before any output) leaves the
//! counted prefix for `<family>/v/...`.

use serde::{Deserialize, Serialize};

use super::embedded::Guards;
use super::policy::Window;
use super::{Account, BudgetAdmission, BudgetWindow};
use crate::clock::Timestamp;
use crate::configs::ChangedBy;
use crate::crypto::Barrier;
use crate::error::{Error, Result};
use crate::records::{MAX_ATTEMPTS, read_head, seal_json};
use crate::store::{Condition, Write};

pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 3_600_000;
pub(crate) const DAY_MS: i64 = 86_400_000;
/// Facts kept (ms): two days, so a rolling day always finds its calls.
const KEEP_MS: i64 = 2 * DAY_MS;
/// Old facts one admission deletes at most.
const PRUNE_BATCH: usize = 64;
/// Longest model name recorded, in bytes.
pub const MAX_MODEL_LEN: usize = 128;

#[derive(Default, Serialize, Deserialize)]
struct Head {
    admitted: u64,
    /// Start (ms) of the UTC day `day_tokens` counts in.
    #[serde(default)]
    day: i64,
    /// Tokens (prompt + completion) of the calls settled in that day.
    #[serde(default)]
    day_tokens: u64,
}

/// One admitted call, as the usage log keeps it.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Fact {
    pub(crate) call_id: String,
    pub(crate) by: ChangedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) model: Option<String>,
    pub(crate) admitted_at: i64,
    /// `admitted`, then `completed`, `cancelled` (the client went away), `failed` (after
    /// output began) or `void` (failed before any output: not counted).
    pub(crate) status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) token_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prompt_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) completion_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) tokens_estimated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) latency_ms: Option<u64>,
    /// The model that answered, when a fallback did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) served_by: Option<String>,
}

/// One cap of a log: at most `cap` calls per `len_ms` window.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cap {
    /// `rpm`, `hourly` or `daily`.
    pub(crate) name: &'static str,
    pub(crate) len_ms: i64,
    pub(crate) cap: u64,
    pub(crate) window: Window,
}

/// A usage log a call is counted in, with the caps admission checks there.
#[derive(Debug, Clone)]
pub(crate) struct UsageLog {
    /// `token` or `account`: whose limit a refusal names.
    pub(crate) scope: &'static str,
    family: &'static str,
    owner: String,
    pub(crate) caps: Vec<Cap>,
    /// Most tokens per UTC day, if capped.
    pub(crate) day_tokens: Option<u64>,
}

impl UsageLog {
    /// The guards' log of `account`.
    pub(crate) fn account(account: &str, caps: Vec<Cap>) -> UsageLog {
        UsageLog {
            scope: "account",
            family: "grd",
            owner: account.to_string(),
            caps,
            day_tokens: None,
        }
    }

    /// The gateway's log of token `id`.
    pub(crate) fn token(id: &str, caps: Vec<Cap>, day_tokens: Option<u64>) -> UsageLog {
        UsageLog {
            scope: "token",
            family: "llm",
            owner: id.to_string(),
            caps,
            day_tokens,
        }
    }

    /// Whether admission checks a cap here.
    fn capped(&self) -> bool {
        !self.caps.is_empty() || self.day_tokens.is_some()
    }

    /// Whose log: the account's name or the token's id.
    pub(crate) fn owner(&self) -> &str {
        &self.owner
    }

    fn prefix(&self) -> Vec<u8> {
        format!("{}/u/{}/", self.family, self.owner).into_bytes()
    }

    fn void_prefix(&self) -> Vec<u8> {
        format!("{}/v/{}/", self.family, self.owner).into_bytes()
    }

    fn head(&self) -> Vec<u8> {
        match self.family {
            "grd" => format!("grd/s/{}/b", self.owner).into_bytes(),
            f => format!("{f}/s/{}", self.owner).into_bytes(),
        }
    }

    fn fact_key(&self, suffix: &[u8]) -> Vec<u8> {
        let mut k = self.prefix();
        k.extend_from_slice(suffix);
        k
    }
}

/// A window admission found full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Full {
    /// `token` or `account`.
    pub(crate) scope: &'static str,
    /// The window as counted.
    pub(crate) window: BudgetWindow,
}

/// What admission decided.
pub(crate) enum Admitted {
    /// Counted: the call's id, the key suffix of its fact, and every window (this call in).
    Yes {
        call_id: String,
        suffix: Vec<u8>,
        windows: Vec<(&'static str, BudgetWindow)>,
    },
    /// Refused by the first full window; every window as counted.
    No {
        full: Full,
        windows: Vec<(&'static str, BudgetWindow)>,
    },
}

fn suffix_of(at: i64, rand: &str) -> Vec<u8> {
    format!("{:016x}{rand}", at.max(0)).into_bytes()
}

/// The window `[start, end)` of `kind` around `now` (rolling: the last `len` ms).
fn bounds(window: Window, len: i64, now: i64) -> (i64, i64) {
    match window {
        Window::Calendar => {
            let start = now - now.rem_euclid(len);
            (start, start + len)
        }
        Window::Rolling => (now - len + 1, now + 1),
    }
}

/// Facts under `prefix` admitted at or after `start` (ms), counted up to `limit`, and the time
/// of the oldest of them.
async fn count_since(
    barrier: &Barrier,
    prefix: &[u8],
    start: i64,
    limit: u64,
) -> Result<(u64, Option<i64>)> {
    // `~` sorts after every character of a key's random part: every fact before `start`
    // sorts before this, every fact at or after it after.
    let mut last = prefix.to_vec();
    last.extend_from_slice(&suffix_of(start - 1, "~"));
    let mut n = 0u64;
    let mut oldest = None;
    loop {
        let batch = usize::try_from(limit.saturating_sub(n).min(1024)).unwrap_or(1024);
        if batch == 0 {
            return Ok((n, oldest));
        }
        let keys = barrier.scan_keys(prefix, Some(&last), batch).await?;
        if oldest.is_none() {
            oldest = keys.first().and_then(|k| {
                let hex = k.get(prefix.len()..prefix.len() + 16)?;
                i64::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
            });
        }
        n += keys.len() as u64;
        match keys.last() {
            Some(k) if keys.len() == batch => last = k.clone(),
            _ => return Ok((n, oldest)),
        }
    }
}

/// The windows of `log` at `now`, in the order of its caps.
async fn windows_of(barrier: &Barrier, log: &UsageLog, now: i64) -> Result<Vec<BudgetWindow>> {
    let mut out = Vec::with_capacity(log.caps.len());
    for cap in &log.caps {
        let (start, end) = bounds(cap.window, cap.len_ms, now);
        let (used, oldest) = count_since(barrier, &log.prefix(), start, cap.cap).await?;
        // A rolling window frees its oldest call first.
        let resets_at = match cap.window {
            Window::Calendar => end,
            Window::Rolling => oldest.map_or(end, |o| o + cap.len_ms),
        };
        out.push(BudgetWindow {
            window: cap.name.to_string(),
            limit: cap.cap,
            used,
            remaining: cap.cap.saturating_sub(used),
            resets_at: Timestamp::from_millis(resets_at),
        });
    }
    Ok(out)
}

fn day_start(now: i64) -> i64 {
    now - now.rem_euclid(DAY_MS)
}

/// Admits one call against every window of every log in `logs`, and when none is full records
/// `fact` in each log in one commit conditioned on every log's head (see the module doc).
pub(crate) async fn admit(
    barrier: &std::sync::Arc<Barrier>,
    clock: &dyn crate::clock::Clock,
    logs: &[UsageLog],
    mut fact: Fact,
) -> Result<Admitted> {
    for lost in 0..MAX_ATTEMPTS {
        let now = clock.now().as_millis();
        let mut conditions = Vec::with_capacity(logs.len());
        let mut heads = Vec::with_capacity(logs.len());
        let mut windows = Vec::new();
        let mut full = None;
        for log in logs {
            let hkey = log.head();
            let head = read_head::<Head>(barrier, &hkey).await?;
            // A log without caps has nothing to protect: its calls need not take turns on
            // its head (a root caller's many concurrent calls would otherwise race for it).
            if log.capped() {
                conditions.push(Condition::unchanged(
                    &hkey,
                    head.as_ref().map(|h| h.raw.as_slice()),
                ));
            }
            for w in windows_of(barrier, log, now).await? {
                if full.is_none() && w.remaining == 0 {
                    full = Some(Full {
                        scope: log.scope,
                        window: w.clone(),
                    });
                }
                windows.push((log.scope, w));
            }
            if let Some(cap) = log.day_tokens {
                let today = day_start(now);
                let used = head
                    .as_ref()
                    .filter(|h| h.record.day == today)
                    .map_or(0, |h| h.record.day_tokens);
                let w = BudgetWindow {
                    window: "daily_tokens".into(),
                    limit: cap,
                    used,
                    remaining: cap.saturating_sub(used),
                    resets_at: Timestamp::from_millis(today + DAY_MS),
                };
                if full.is_none() && w.remaining == 0 {
                    full = Some(Full {
                        scope: log.scope,
                        window: w.clone(),
                    });
                }
                windows.push((log.scope, w));
            }
            heads.push((hkey, head.map(|h| h.record).unwrap_or_default()));
        }
        if let Some(full) = full {
            return Ok(Admitted::No { full, windows });
        }
        let rand = crate::crypto::random_base62(8)?;
        let call_id = format!("llm_{:016x}{rand}", now.max(0));
        let suffix = suffix_of(now, &rand);
        fact.call_id = call_id.clone();
        fact.admitted_at = now;
        let mut writes = Vec::new();
        for (log, (hkey, mut head)) in logs.iter().zip(heads) {
            let fkey = log.fact_key(&suffix);
            writes.push(Write::Put(fkey.clone(), seal_json(barrier, &fkey, &fact)?));
            if log.capped() {
                head.admitted += 1;
                writes.push(Write::Put(hkey.clone(), seal_json(barrier, &hkey, &head)?));
            }
            // Facts past the longest window go, a bounded batch at a time.
            let prefix = log.prefix();
            let old_end = log.fact_key(&suffix_of(now - KEEP_MS, ""));
            for k in barrier.scan_keys(&prefix, None, PRUNE_BATCH).await? {
                if k < old_end {
                    writes.push(Write::Delete(k));
                }
            }
        }
        if barrier
            .commit_after_losses(conditions, writes, lost)
            .await?
        {
            let windows = windows
                .into_iter()
                .map(|(scope, mut w)| {
                    if w.window != "daily_tokens" {
                        w.used += 1;
                        w.remaining = w.remaining.saturating_sub(1);
                    }
                    (scope, w)
                })
                .collect();
            return Ok(Admitted::Yes {
                call_id,
                suffix,
                windows,
            });
        }
    }
    Err(Error::Conflict(
        "the LLM usage log is under heavy concurrent admissions; retry".into(),
    ))
}

/// How an admitted call ended.
#[derive(Debug, Clone)]
pub(crate) struct Settled {
    /// `completed`, `cancelled`, `failed` or `void`.
    pub(crate) status: &'static str,
    pub(crate) prompt_tokens: u64,
    pub(crate) completion_tokens: u64,
    pub(crate) tokens_estimated: bool,
    pub(crate) latency_ms: u64,
    pub(crate) served_by: Option<String>,
}

/// Records how the call whose fact is at `suffix` in every log of `logs` ended: its fact gets
/// the counts, status and latency, and each head with a daily token cap adds its tokens. A
/// `void` call leaves the counted prefix (it no longer counts).
pub(crate) async fn settle(
    barrier: &std::sync::Arc<Barrier>,
    clock: &dyn crate::clock::Clock,
    logs: &[UsageLog],
    suffix: &[u8],
    how: &Settled,
) -> Result<()> {
    for lost in 0..MAX_ATTEMPTS {
        let today = day_start(clock.now().as_millis());
        let mut conditions = Vec::new();
        let mut writes = Vec::new();
        for log in logs {
            let fkey = log.fact_key(suffix);
            let Some(current) = read_head::<Fact>(barrier, &fkey).await? else {
                continue; // pruned already: nothing left to settle
            };
            conditions.push(Condition::unchanged(&fkey, Some(&current.raw)));
            let mut fact = current.record;
            fact.status = how.status.to_string();
            fact.prompt_tokens = Some(how.prompt_tokens);
            fact.completion_tokens = Some(how.completion_tokens);
            fact.tokens_estimated = how.tokens_estimated;
            fact.latency_ms = Some(how.latency_ms);
            fact.served_by.clone_from(&how.served_by);
            if how.status == "void" {
                let mut vkey = log.void_prefix();
                vkey.extend_from_slice(suffix);
                writes.push(Write::Delete(fkey));
                writes.push(Write::Put(vkey.clone(), seal_json(barrier, &vkey, &fact)?));
                continue;
            }
            writes.push(Write::Put(fkey.clone(), seal_json(barrier, &fkey, &fact)?));
            if log.day_tokens.is_some() {
                let hkey = log.head();
                let head = read_head::<Head>(barrier, &hkey).await?;
                conditions.push(Condition::unchanged(
                    &hkey,
                    head.as_ref().map(|h| h.raw.as_slice()),
                ));
                let mut next = head.map(|h| h.record).unwrap_or_default();
                if next.day != today {
                    next.day = today;
                    next.day_tokens = 0;
                }
                next.day_tokens = next
                    .day_tokens
                    .saturating_add(how.prompt_tokens.saturating_add(how.completion_tokens));
                writes.push(Write::Put(hkey.clone(), seal_json(barrier, &hkey, &next)?));
            }
        }
        if writes.is_empty()
            || barrier
                .commit_after_losses(conditions, writes, lost)
                .await?
        {
            return Ok(());
        }
    }
    Err(Error::Conflict(
        "the LLM usage log is under heavy concurrent writes; retry".into(),
    ))
}

/// The hourly and daily caps of a guards policy.
fn account_caps(calls: &super::LlmCalls) -> Vec<Cap> {
    vec![
        Cap {
            name: "hourly",
            len_ms: HOUR_MS,
            cap: u64::from(calls.hourly),
            window: calls.window,
        },
        Cap {
            name: "daily",
            len_ms: DAY_MS,
            cap: u64::from(calls.daily),
            window: calls.window,
        },
    ]
}

/// `invalid` (field `model`) unless `model` can be recorded.
pub(crate) fn check_model(model: &str) -> Result<()> {
    if model.is_empty()
        || model.len() > MAX_MODEL_LEN
        || model.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return Err(Error::invalid(
            "model",
            format!("must be 1 to {MAX_MODEL_LEN} bytes without spaces or control characters"),
        ));
    }
    Ok(())
}

impl Guards {
    /// The usage log of `account` with the caps of its policy in force.
    pub(crate) async fn account_log(&self, account: &str) -> Result<UsageLog> {
        let in_force = self.policy_in_force(account).await?;
        Ok(UsageLog::account(
            account,
            account_caps(&in_force.policy().llm_calls),
        ))
    }

    pub(super) async fn admit_inner(
        &self,
        account: &Account,
        model: Option<String>,
    ) -> Result<BudgetAdmission> {
        if let Some(m) = &model {
            check_model(m)?;
        }
        let log = self.account_log(account.as_str()).await?;
        let fact = Fact {
            call_id: String::new(),
            by: self.who(),
            model,
            admitted_at: 0,
            status: "admitted".into(),
            account: Some(account.to_string()),
            token_id: None,
            prompt_tokens: None,
            completion_tokens: None,
            tokens_estimated: false,
            latency_ms: None,
            served_by: None,
        };
        match admit(self.ctx().barrier(), self.ctx().clock(), &[log], fact).await? {
            Admitted::Yes {
                call_id, windows, ..
            } => Ok(BudgetAdmission {
                admitted: true,
                call_id: Some(call_id),
                exhausted: None,
                windows: windows.into_iter().map(|(_, w)| w).collect(),
            }),
            Admitted::No { full, windows } => {
                crate::audit::chain::set_current_outcome("budget_exhausted");
                Ok(BudgetAdmission {
                    admitted: false,
                    call_id: None,
                    exhausted: Some(full.window.window),
                    windows: windows.into_iter().map(|(_, w)| w).collect(),
                })
            }
        }
    }

    /// The hourly and daily windows of `account` at `now`.
    pub(super) async fn windows(
        &self,
        account: &str,
        calls: &super::LlmCalls,
        now: i64,
    ) -> Result<Vec<BudgetWindow>> {
        let log = UsageLog::account(account, account_caps(calls));
        windows_of(self.ctx().barrier(), &log, now).await
    }
}
