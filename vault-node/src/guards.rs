//! Trading guards: `NativeVault` methods over [`GuardsApi`](vault_core::GuardsApi). Thin:
//! `index.js` checks the JS shapes (strings, safe integers, plain objects) and turns the records'
//! keys to camelCase; here arguments become the vault-core request (decimals through
//! [`vault_core::guards::parse_decimal`], names through vault-core's name rules, enums and the
//! policy document through their serde forms, as the server parses them) and records go back
//! as their JSON form (decimals as strings). Every rule is vault-core's.

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vault_client::wire::service_api::from_document;
use vault_core::guards::{Account, Decimal, parse_decimal};
use vault_core::{
    Error, ExecutionUpdate, OverrideCreate, PageRequest, PolicyPut, Proposal, ServiceName,
    StateChange, Timestamp,
};

use crate::error::IntoNapi;
use crate::vault::{NativeVault, limit_in, uint_in};

fn account_of(name: String) -> vault_core::Result<Account> {
    ServiceName::new(name).map_err(|e| match e {
        Error::Invalid { reason, .. } => Error::invalid("account", reason),
        other => other,
    })
}

/// A string decoded as vault-core's enum `T` (`side`, `origin`, `state`).
fn enum_of<T: DeserializeOwned>(field: &str, s: String) -> vault_core::Result<T> {
    from_document(field, Value::String(s))
}

fn opt_decimal(field: &str, s: Option<String>) -> vault_core::Result<Option<Decimal>> {
    s.map(|s| parse_decimal(field, &s)).transpose()
}

fn json<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| napi::Error::from_reason(e.to_string()))
}

fn page_json<T: Serialize>(page: vault_core::Page<T>) -> Result<Value> {
    Ok(serde_json::json!({"items": json(&page.items)?, "next": page.next}))
}

/// The proposal of `decide` and `propose`, from their arguments.
fn proposal_of(
    proposal_id: String,
    instrument: String,
    side: String,
    notional: String,
    confidence: f64,
    origin: Option<String>,
    expires_at: Option<String>,
) -> vault_core::Result<Proposal> {
    Ok(Proposal {
        proposal_id,
        instrument,
        side: enum_of("side", side)?,
        notional: parse_decimal("notional", &notional)?,
        confidence,
        origin: origin
            .map(|o| enum_of("origin", o))
            .transpose()?
            .unwrap_or_default(),
        expires_at: expires_at
            .map(|t| {
                Timestamp::parse(&t)
                    .ok_or_else(|| Error::invalid("expiresAt", "must be an RFC 3339 time"))
            })
            .transpose()?,
    })
}

#[napi]
impl NativeVault {
    /// Writes a new version of an account's policy.
    #[napi]
    pub async fn guard_put_policy(
        &self,
        account: String,
        policy: Value,
        comment: Option<String>,
        expected_version: Option<i64>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let put = PolicyPut {
            policy: from_document("policy", policy).napi()?,
            comment,
            expected_version: uint_in(expected_version),
        };
        json(&api.guards().put_policy(&account, put).await.napi()?)
    }

    /// An account's policy (the latest, or `version`).
    #[napi]
    pub async fn guard_get_policy(&self, account: String, version: Option<i64>) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        json(
            &api.guards()
                .get_policy(&account, uint_in(version))
                .await
                .napi()?,
        )
    }

    /// A new policy version with an earlier one's content.
    #[napi]
    pub async fn guard_rollback_policy(
        &self,
        account: String,
        to_version: i64,
        comment: Option<String>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let to = uint_in(Some(to_version)).unwrap_or_default();
        json(
            &api.guards()
                .rollback_policy(&account, to, comment)
                .await
                .napi()?,
        )
    }

    /// The changes between two policy versions: `{ from, to, changes }`.
    #[napi]
    pub async fn guard_diff_policy(&self, account: String, from: i64, to: i64) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let (from, to) = (
            uint_in(Some(from)).unwrap_or_default(),
            uint_in(Some(to)).unwrap_or_default(),
        );
        json(&api.guards().diff_policy(&account, from, to).await.napi()?)
    }

    /// Every guard, and the claim when all pass: the decision with `allowed`.
    #[napi]
    #[allow(clippy::too_many_arguments)] // the proposal's fields, one argument each
    pub async fn guard_decide(
        &self,
        account: String,
        proposal_id: String,
        instrument: String,
        side: String,
        notional: String,
        confidence: f64,
        origin: Option<String>,
        expires_at: Option<String>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let proposal = proposal_of(
            proposal_id,
            instrument,
            side,
            notional,
            confidence,
            origin,
            expires_at,
        )
        .napi()?;
        let d = api.guards().decide(&account, proposal).await.napi()?;
        let mut v = json(&d)?;
        if let Value::Object(m) = &mut v {
            m.insert("allowed".into(), Value::Bool(d.allowed()));
        }
        Ok(v)
    }

    /// Reports a change of an execution.
    #[napi]
    pub async fn guard_update_execution(
        &self,
        account: String,
        execution_id: String,
        state: String,
        fill: Option<String>,
        realized_pnl: Option<String>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let update = ExecutionUpdate {
            state: enum_of("state", state).napi()?,
            fill: opt_decimal("fill", fill).napi()?,
            realized_pnl: opt_decimal("realizedPnl", realized_pnl).napi()?,
        };
        json(
            &api.guards()
                .update_execution(&account, &execution_id, update)
                .await
                .napi()?,
        )
    }

    /// One execution.
    #[napi]
    pub async fn guard_get_execution(
        &self,
        account: String,
        execution_id: String,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        json(
            &api.guards()
                .get_execution(&account, &execution_id)
                .await
                .napi()?,
        )
    }

    /// A page of executions: `{ items, next }`.
    #[napi]
    pub async fn guard_executions(
        &self,
        account: String,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let page = PageRequest::new(limit_in(limit), after);
        page_json(api.guards().executions(&account, page).await.napi()?)
    }

    /// A page of decisions, newest first: `{ items, next }`.
    #[napi]
    pub async fn guard_decisions(
        &self,
        account: String,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let page = PageRequest::new(limit_in(limit), after);
        page_json(api.guards().decisions(&account, page).await.napi()?)
    }

    /// The trading state of an account (`global`: the global one).
    #[napi]
    pub async fn guard_get_state(&self, account: String) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        json(&api.guards().get_state(&account).await.napi()?)
    }

    /// Sets the trading state.
    #[napi]
    pub async fn guard_set_state(
        &self,
        account: String,
        state: String,
        reason: String,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let change = StateChange {
            state: enum_of("state", state).napi()?,
            reason,
        };
        json(&api.guards().set_state(&account, change).await.napi()?)
    }

    /// Grants an override for one proposal.
    #[napi]
    pub async fn guard_create_override(
        &self,
        account: String,
        proposal_id: String,
        rules: Vec<String>,
        reason: String,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let create = OverrideCreate {
            proposal_id,
            rules,
            reason,
        };
        json(
            &api.guards()
                .create_override(&account, create)
                .await
                .napi()?,
        )
    }

    /// Stores a proposal to be decided later.
    #[napi]
    #[allow(clippy::too_many_arguments)] // the proposal's fields, one argument each
    pub async fn guard_propose(
        &self,
        account: String,
        proposal_id: String,
        instrument: String,
        side: String,
        notional: String,
        confidence: f64,
        origin: Option<String>,
        expires_at: Option<String>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let proposal = proposal_of(
            proposal_id,
            instrument,
            side,
            notional,
            confidence,
            origin,
            expires_at,
        )
        .napi()?;
        json(&api.guards().propose(&account, proposal).await.napi()?)
    }

    /// A page of stored proposals: `{ items, next }`.
    #[napi]
    pub async fn guard_proposals(
        &self,
        account: String,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let page = PageRequest::new(limit_in(limit), after);
        page_json(api.guards().proposals(&account, page).await.napi()?)
    }

    /// Marks the pending proposals past their expiry as expired; how many.
    #[napi]
    pub async fn guard_expire_proposals(&self, account: String) -> Result<i64> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        let n = api.guards().expire_proposals(&account).await.napi()?;
        Ok(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// Admits (and counts) one LLM call, or says which window refused it.
    #[napi]
    pub async fn guard_admit_llm_call(
        &self,
        account: String,
        model: Option<String>,
    ) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        json(&api.guards().admit_llm_call(&account, model).await.napi()?)
    }

    /// The budget windows now, counting nothing.
    #[napi]
    pub async fn guard_llm_budget(&self, account: String) -> Result<Value> {
        let api = self.api()?;
        let account = account_of(account).napi()?;
        json(&api.guards().llm_budget(&account).await.napi()?)
    }
}
