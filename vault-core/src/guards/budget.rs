//! The LLM-call budget: admission counts the calls already admitted in the current hour and
//! day windows from the usage log (no counters to reset) and records the new call in the same
//! commit, conditioned on the account's budget head so that two admissions at the cap cannot
//! both pass.
//!
//! Store layout: usage facts `grd/u/<account>/<admitted ms, 16 hex><8 random>` (sealed: call
//! id, caller, model, status), and the head `grd/s/<account>/b` (the number of admissions),
//! which every admission rewrites. Facts older than two days go, a bounded batch per admission.

use serde::{Deserialize, Serialize};

use super::embedded::Guards;
use super::policy::Window;
use super::{Account, BudgetAdmission, BudgetWindow};
use crate::clock::Timestamp;
use crate::configs::ChangedBy;
use crate::error::{Error, Result};
use crate::records::{MAX_ATTEMPTS, read_head, seal_json};
use crate::store::{Condition, Write};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;
/// Facts kept (ms): two days, so a rolling day always finds its calls.
const KEEP_MS: i64 = 2 * DAY_MS;
/// Old facts one admission deletes at most.
const PRUNE_BATCH: usize = 64;
/// Longest model name recorded, in bytes.
pub const MAX_MODEL_LEN: usize = 128;

#[derive(Default, Serialize, Deserialize)]
struct Head {
    admitted: u64,
}

#[derive(Serialize, Deserialize)]
struct Fact {
    call_id: String,
    by: ChangedBy,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    model: Option<String>,
    admitted_at: i64,
    status: String,
}

fn usage_prefix(account: &str) -> Vec<u8> {
    format!("grd/u/{account}/").into_bytes()
}

fn usage_key(account: &str, at: i64, rand: &str) -> Vec<u8> {
    let mut k = usage_prefix(account);
    k.extend_from_slice(format!("{:016x}{rand}", at.max(0)).as_bytes());
    k
}

fn head_key(account: &str) -> Vec<u8> {
    format!("grd/s/{account}/b").into_bytes()
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

impl Guards {
    /// Facts admitted at or after `start` (ms), counted up to `limit`, and the time of the
    /// oldest of them.
    async fn count_since(
        &self,
        account: &str,
        start: i64,
        limit: u64,
    ) -> Result<(u64, Option<i64>)> {
        let prefix = usage_prefix(account);
        // `~` sorts after every character of a key's random part: every fact before `start`
        // sorts before this, every fact at or after it after.
        let mut last = usage_key(account, start - 1, "~");
        let mut n = 0u64;
        let mut oldest = None;
        loop {
            let batch = usize::try_from(limit.saturating_sub(n).min(1024)).unwrap_or(1024);
            if batch == 0 {
                return Ok((n, oldest));
            }
            let keys = self
                .ctx()
                .barrier()
                .scan_keys(&prefix, Some(&last), batch)
                .await?;
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

    pub(super) async fn admit_inner(
        &self,
        account: &Account,
        model: Option<String>,
    ) -> Result<BudgetAdmission> {
        if let Some(m) = &model
            && (m.is_empty()
                || m.len() > MAX_MODEL_LEN
                || m.chars().any(|c| c.is_control() || c.is_whitespace()))
        {
            return Err(Error::invalid(
                "model",
                format!("must be 1 to {MAX_MODEL_LEN} bytes without spaces or control characters"),
            ));
        }
        let barrier = self.ctx().barrier();
        let acct = account.as_str();
        for lost in 0..MAX_ATTEMPTS {
            let now = self.ctx().clock().now().as_millis();
            let in_force = self.policy_in_force(acct).await?;
            let policy = in_force.policy();
            let hkey = head_key(acct);
            let head = read_head::<Head>(barrier, &hkey).await?;
            let windows = self.windows(acct, &policy.llm_calls, now).await?;
            let exhausted = windows.iter().find(|w| w.remaining == 0).cloned();
            let condition = Condition::unchanged(&hkey, head.as_ref().map(|h| h.raw.as_slice()));
            if exhausted.is_some() {
                crate::audit::chain::set_current_outcome("budget_exhausted");
                return Ok(BudgetAdmission {
                    admitted: false,
                    call_id: None,
                    exhausted: exhausted.map(|w| w.window),
                    windows,
                });
            }
            let rand = crate::crypto::random_base62(8)?;
            let call_id = format!("llm_{:016x}{rand}", now.max(0));
            let fact = Fact {
                call_id: call_id.clone(),
                by: self.who(),
                model: model.clone(),
                admitted_at: now,
                status: "admitted".into(),
            };
            let fkey = usage_key(acct, now, &rand);
            let next = Head {
                admitted: head.as_ref().map_or(0, |h| h.record.admitted) + 1,
            };
            let mut writes = vec![
                Write::Put(fkey.clone(), seal_json(barrier, &fkey, &fact)?),
                Write::Put(hkey.clone(), seal_json(barrier, &hkey, &next)?),
            ];
            // Facts past the longest window go, a bounded batch at a time.
            let prefix = usage_prefix(acct);
            let old_end = usage_key(acct, now - KEEP_MS, "");
            for k in barrier.scan_keys(&prefix, None, PRUNE_BATCH).await? {
                if k < old_end {
                    writes.push(Write::Delete(k));
                }
            }
            if barrier
                .commit_after_losses(vec![condition], writes, lost)
                .await?
            {
                let windows = windows
                    .into_iter()
                    .map(|mut w| {
                        w.used += 1;
                        w.remaining -= 1;
                        w
                    })
                    .collect();
                return Ok(BudgetAdmission {
                    admitted: true,
                    call_id: Some(call_id),
                    exhausted: None,
                    windows,
                });
            }
        }
        Err(Error::Conflict(format!(
            "the LLM budget of account '{account}' is under heavy concurrent admissions; retry"
        )))
    }

    /// The hourly and daily windows of `account` at `now`.
    pub(super) async fn windows(
        &self,
        account: &str,
        calls: &super::LlmCalls,
        now: i64,
    ) -> Result<Vec<BudgetWindow>> {
        let mut out = Vec::with_capacity(2);
        for (name, len, limit) in [
            ("hourly", HOUR_MS, calls.hourly),
            ("daily", DAY_MS, calls.daily),
        ] {
            let (start, end) = bounds(calls.window, len, now);
            let limit = u64::from(limit);
            let (used, oldest) = self.count_since(account, start, limit).await?;
            // A rolling window frees its oldest call first.
            let resets_at = match calls.window {
                Window::Calendar => end,
                Window::Rolling => oldest.map_or(end, |o| o + len),
            };
            out.push(BudgetWindow {
                window: name.to_string(),
                limit,
                used,
                remaining: limit.saturating_sub(used),
                resets_at: Timestamp::from_millis(resets_at),
            });
        }
        Ok(out)
    }
}
