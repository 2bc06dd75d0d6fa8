//! The trading guard routes of the `/api/vault/*` dialect, under
//! `/api/vault/guards/{account}/...`: policy (with diff and rollback), decide-and-claim,
//! executions, decisions, trading state and overrides. Replies are JSON objects with their
//! keys in alphabetical order, like every reply of this dialect.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use vault_core::{Decision, DecisionOutcome, Error, Result};

/// `GET` the account's policy (`?version=`), `PUT` a new version (body: the policy document;
/// `?expected_version=&comment=`).
pub const GUARD_POLICY: &str = "/api/vault/guards/{account}/policy";
/// `GET` the changes between two policy versions (`?from=&to=`).
pub const GUARD_POLICY_DIFF: &str = "/api/vault/guards/{account}/policy/diff";
/// `POST` a new policy version with an earlier one's content (`{"to_version", "comment"?}`).
pub const GUARD_POLICY_ROLLBACK: &str = "/api/vault/guards/{account}/policy/rollback";
/// `POST` a proposal: every guard, and the claim when all pass.
pub const GUARD_DECIDE: &str = "/api/vault/guards/{account}/decide";
/// `GET` the account's executions (`?limit=&after=`).
pub const GUARD_EXECUTIONS: &str = "/api/vault/guards/{account}/executions";
/// `GET` one execution, `POST` a change of it (`{"state", "fill"?, "realized_pnl"?}`).
pub const GUARD_EXECUTION: &str = "/api/vault/guards/{account}/executions/{execution_id}";
/// `GET` the account's decisions, newest first (`?limit=&after=`).
pub const GUARD_DECISIONS: &str = "/api/vault/guards/{account}/decisions";
/// `GET` the trading state, `PUT` a new one (`{"state", "reason"}`); account `global` is the
/// global state.
pub const GUARD_STATE: &str = "/api/vault/guards/{account}/state";
/// `POST` an override (`{"proposal_id", "rules", "reason"}`).
pub const GUARD_OVERRIDES: &str = "/api/vault/guards/{account}/overrides";

/// `POST` a proposal to decide later (`propose`), `GET` the stored proposals.
pub const GUARD_PROPOSALS: &str = "/api/vault/guards/{account}/proposals";
/// `POST` mark the pending proposals past their `expires_at` as expired.
pub const GUARD_PROPOSALS_SWEEP: &str = "/api/vault/guards/{account}/proposals/sweep";

/// `POST` admit one LLM call (`{"model"?}`), `GET` the budget windows.
pub const GUARD_BUDGET_LLM: &str = "/api/vault/guards/{account}/budget/llm";

/// Body of `POST` [`GUARD_BUDGET_LLM`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmAdmitBody {
    /// The model the call is for (recorded with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

/// The answer to an admission: its HTTP status, `Retry-After` seconds (when refused) and body.
/// Admitted: 200 `{"admitted": true, "call_id", "success": true, "windows"}`; refused: 429
/// `{"admitted": false, "code": "budget_exhausted", "error", "limit", "resets_at",
/// "success": false, "window", "windows"}`.
pub fn admission_reply(
    a: &vault_core::guards::BudgetAdmission,
    now: vault_core::Timestamp,
) -> Result<(u16, Option<u64>, Value)> {
    let windows = serde_json::to_value(&a.windows)
        .map_err(|e| Error::Internal(format!("encode windows: {e}")))?;
    match a.exhausted_window() {
        None => Ok((
            200,
            None,
            serde_json::json!({
                "admitted": true,
                "call_id": a.call_id,
                "success": true,
                "windows": windows,
            }),
        )),
        Some(w) => {
            let wait_ms = (w.resets_at.as_millis() - now.as_millis()).max(0);
            let retry = u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000).max(1);
            let name = if w.window == "hourly" {
                "Hourly"
            } else {
                "Daily"
            };
            Ok((
                429,
                Some(retry),
                serde_json::json!({
                    "admitted": false,
                    "code": "budget_exhausted",
                    "error": format!(
                        "{name} LLM call budget exceeded for this account (limit {}); resets at {}",
                        w.limit, w.resets_at
                    ),
                    "limit": w.limit,
                    "resets_at": w.resets_at,
                    "success": false,
                    "window": w.window,
                    "windows": windows,
                }),
            ))
        }
    }
}

/// Query of `PUT` [`GUARD_POLICY`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyPutQuery {
    /// Compare-and-set on the current version (0: none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// Body of `POST` [`GUARD_POLICY_ROLLBACK`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRollbackBody {
    /// The version whose policy the new version takes.
    pub to_version: u64,
    /// Why (default `rollback to version N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `{"success": true, ...fields}` with `value`'s fields (an object), keys sorted.
pub fn success(value: impl Serialize) -> Result<Value> {
    let mut m = object(value)?;
    m.insert("success".into(), Value::Bool(true));
    Ok(Value::Object(m))
}

/// `value` as a JSON object (keys sorted).
pub fn object(value: impl Serialize) -> Result<Map<String, Value>> {
    match serde_json::to_value(value) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Error::Internal("a reply is not a JSON object".into())),
    }
}

/// The answer to a decision: its HTTP status and body. Allowed: 200
/// `{"allowed": true, "execution", "execution_id", "policy_hash", "state": "claimed",
/// "success": true, "violations": []}`; denied: 422 `{"allowed": false, "code":
/// "guard_rejected", "error", "policy_hash", "success": false, "violations"}`; decided before:
/// 409 `{"code": "already_executed", "error", "execution", "success": false}`.
pub fn decision_reply(d: &Decision) -> Result<(u16, Value)> {
    let execution = d
        .execution
        .as_ref()
        .map(serde_json::to_value)
        .transpose()
        .map_err(|e| Error::Internal(format!("encode execution: {e}")))?;
    let violations = serde_json::to_value(&d.violations)
        .map_err(|e| Error::Internal(format!("encode violations: {e}")))?;
    Ok(match d.outcome {
        DecisionOutcome::Allowed => {
            let e = d.execution.as_ref();
            (
                200,
                serde_json::json!({
                    "allowed": true,
                    "execution": execution,
                    "execution_id": e.map(|e| e.execution_id.clone()),
                    "policy_hash": d.policy_hash,
                    "state": e.map(|e| e.state),
                    "success": true,
                    "violations": violations,
                }),
            )
        }
        DecisionOutcome::Denied => (
            422,
            serde_json::json!({
                "allowed": false,
                "code": "guard_rejected",
                "error": format!(
                    "the guards denied the proposal: {}",
                    d.violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
                ),
                "policy_hash": d.policy_hash,
                "success": false,
                "violations": violations,
            }),
        ),
        DecisionOutcome::AlreadyExecuted => (
            409,
            serde_json::json!({
                "code": "already_executed",
                "error": "the proposal was decided before; this is its execution, unchanged",
                "execution": execution,
                "success": false,
            }),
        ),
    })
}

/// The decision a [`decision_reply`] stands for (for the remote client); `None` when the body
/// is not one (an ordinary error).
pub fn decision_from_reply(status: u16, body: &Value) -> Option<Decision> {
    let outcome = match (status, body.get("code").and_then(Value::as_str)) {
        (200, _) => DecisionOutcome::Allowed,
        (422, Some("guard_rejected")) => DecisionOutcome::Denied,
        (409, Some("already_executed")) => DecisionOutcome::AlreadyExecuted,
        _ => return None,
    };
    let execution = match body.get("execution") {
        Some(Value::Null) | None => None,
        Some(e) => Some(serde_json::from_value(e.clone()).ok()?),
    };
    let violations = match body.get("violations") {
        Some(v) => serde_json::from_value(v.clone()).ok()?,
        None => Vec::new(),
    };
    let policy_hash = match (body.get("policy_hash"), &execution) {
        (Some(Value::String(h)), _) => h.clone(),
        (_, Some(e)) => vault_core::Execution::clone(e).policy_hash,
        _ => return None,
    };
    Some(Decision {
        outcome,
        execution,
        violations,
        policy_hash,
    })
}

/// A JSON document handed over by a binding (a policy dict or object) decoded as `T`. Errors
/// are `invalid`, naming `root` and the path that did not fit (`policy.cooldown_s`), and never
/// repeat a submitted value: serde's message is reduced to what it says about the field.
pub fn from_document<T: serde::de::DeserializeOwned>(root: &str, v: Value) -> Result<T> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let mut field = root.to_string();
        if path.starts_with('[') {
            field = format!("{root}{path}");
        } else if !(path.is_empty() || path == ".") {
            field = format!("{root}.{path}");
        }
        let (field, reason) = if let Some(rest) = message.strip_prefix("unknown field `") {
            let name = rest.split('`').next().unwrap_or_default();
            if path.ends_with(name) {
                (field, "unknown field")
            } else {
                (format!("{field}.{name}"), "unknown field")
            }
        } else if let Some(rest) = message.strip_prefix("missing field `") {
            let name = rest.split('`').next().unwrap_or_default();
            (format!("{field}.{name}"), "is required")
        } else if message.starts_with("invalid type") {
            (field, "has the wrong type")
        } else {
            (field, "has an invalid value")
        };
        // Only plain field names are repeated (a map key may be anything a caller sent).
        let plain = field.len() <= 128
            && field
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'));
        Error::invalid(if plain { field } else { root.to_string() }, reason)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vault_core::{GuardPolicy, Side};

    use super::*;

    fn refused(root: &str, v: Value) -> (String, String) {
        let e = from_document::<GuardPolicy>(root, v).expect_err("refused");
        assert_eq!(e.code(), "invalid");
        (e.field().unwrap_or_default().to_string(), e.to_string())
    }

    #[test]
    fn documents_are_refused_naming_the_path_and_never_the_value() {
        let planted = "s3cr3t-planted-0123";
        let cases = [
            (json!({"cooldown_s": planted}), "policy.cooldown_s"),
            (
                json!({"max_position_notional": {"default": planted}}),
                "policy.max_position_notional.default",
            ),
            (
                json!({"llm_calls": {"window": planted}}),
                "policy.llm_calls.window",
            ),
            (json!({"bogus": planted}), "policy.bogus"),
            (json!({"allowlist": [planted, 1]}), "policy.allowlist[1]"),
            // serde reads a struct from a sequence too: the first element is its first field.
            (json!([planted]), "policy[0]"),
            (
                Value::Object([(planted.to_string(), json!(1))].into_iter().collect()),
                "policy",
            ),
        ];
        for (doc, field) in cases {
            let (got, message) = refused("policy", doc);
            assert_eq!(got, field, "{message}");
            assert!(!message.contains(planted), "{message}");
        }
        let side: Side = from_document("side", Value::String("sell".into())).expect("a side");
        assert_eq!(side, Side::Sell);
        let e = from_document::<Side>("side", Value::String(planted.into())).expect_err("refused");
        assert_eq!(e.field(), Some("side"));
        assert!(!e.to_string().contains(planted));
    }
}
