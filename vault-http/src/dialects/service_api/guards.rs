//! The trading guard handlers of `/api/vault/guards/{account}/...`. Parse, call vault-core,
//! answer; every rule is vault-core's.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vault_client::wire::service_api::{
    DiffQuery, LlmAdmitBody, PageQuery, PolicyPutQuery, PolicyRollbackBody, VersionQuery,
    admission_reply, decision_reply, success,
};
use vault_core::guards::{Account, GuardPolicy};
use vault_core::prelude::*;
use vault_core::{
    Error, ExecutionUpdate, OverrideCreate, PageRequest, PolicyPut, Proposal, ServiceName,
    StateChange,
};

use super::{ApiError, Body, CallerVault, Path, Query};
use crate::server::extract::{ApiPath, ApiQuery, JsonBody};

type ApiResult = Result<Response, ApiError>;

fn account(name: String) -> Result<Account, Error> {
    ServiceName::new(name).map_err(|e| match e {
        Error::Invalid { reason, .. } => Error::invalid("account", reason),
        other => other,
    })
}

fn ok(value: impl serde::Serialize) -> ApiResult {
    Ok(Json(success(value)?).into_response())
}

fn page(q: PageQuery) -> PageRequest {
    PageRequest {
        limit: q.limit,
        after: q.after,
    }
}

/// `GET .../policy[?version=N]`.
pub async fn get_policy(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    ApiQuery(q, ..): Query<VersionQuery>,
) -> ApiResult {
    ok(vault.guards().get_policy(&account(a)?, q.version).await?)
}

/// `PUT .../policy[?expected_version=&comment=]` with the policy document as the body.
pub async fn put_policy(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    ApiQuery(q, ..): Query<PolicyPutQuery>,
    JsonBody(policy, ..): Body<GuardPolicy>,
) -> ApiResult {
    let put = PolicyPut {
        policy,
        comment: q.comment,
        expected_version: q.expected_version,
    };
    ok(vault.guards().put_policy(&account(a)?, put).await?)
}

/// `GET .../policy/diff?from=N&to=M`.
pub async fn policy_diff(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    ApiQuery(q, ..): Query<DiffQuery>,
) -> ApiResult {
    ok(vault
        .guards()
        .diff_policy(&account(a)?, q.from, q.to)
        .await?)
}

/// `POST .../policy/rollback` `{"to_version", "comment"?}`.
pub async fn policy_rollback(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    JsonBody(body, ..): Body<PolicyRollbackBody>,
) -> ApiResult {
    ok(vault
        .guards()
        .rollback_policy(&account(a)?, body.to_version, body.comment)
        .await?)
}

/// `POST .../decide` with a proposal: 200 allowed (claimed), 422 denied, 409 decided before.
pub async fn decide(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    JsonBody(proposal, ..): Body<Proposal>,
) -> ApiResult {
    let d = vault.guards().decide(&account(a)?, proposal).await?;
    let (status, body) = decision_reply(&d)?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Ok((status, Json(body)).into_response())
}

/// `POST .../proposals` with a proposal: stored, pending (201).
pub async fn propose(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    JsonBody(proposal, ..): Body<Proposal>,
) -> ApiResult {
    let p = vault.guards().propose(&account(a)?, proposal).await?;
    let body = success(serde_json::json!({ "proposal": p }))?;
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET .../proposals[?limit=&after=]`.
pub async fn proposals(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    ApiQuery(q, ..): Query<PageQuery>,
) -> ApiResult {
    let p = vault.guards().proposals(&account(a)?, page(q)).await?;
    ok(serde_json::json!({"next": p.next, "proposals": p.items}))
}

/// `POST .../proposals/sweep`: pending proposals past their expiry become expired.
pub async fn sweep_proposals(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult {
    super::lifecycle::no_body(body)?;
    let n = vault.guards().expire_proposals(&account(a)?).await?;
    ok(serde_json::json!({ "expired": n }))
}

/// `GET .../executions[?limit=&after=]`.
pub async fn executions(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    ApiQuery(q, ..): Query<PageQuery>,
) -> ApiResult {
    let p = vault.guards().executions(&account(a)?, page(q)).await?;
    ok(serde_json::json!({"executions": p.items, "next": p.next}))
}

/// `GET .../executions/{execution_id}`.
pub async fn get_execution(
    CallerVault(vault): CallerVault,
    ApiPath((a, id), ..): Path<(String, String)>,
) -> ApiResult {
    let e = vault.guards().get_execution(&account(a)?, &id).await?;
    ok(serde_json::json!({ "execution": e }))
}

/// `POST .../executions/{execution_id}` `{"state", "fill"?, "realized_pnl"?}`.
pub async fn update_execution(
    CallerVault(vault): CallerVault,
    ApiPath((a, id), ..): Path<(String, String)>,
    JsonBody(update, ..): Body<ExecutionUpdate>,
) -> ApiResult {
    let e = vault
        .guards()
        .update_execution(&account(a)?, &id, update)
        .await?;
    ok(serde_json::json!({ "execution": e }))
}

/// `GET .../decisions[?limit=&after=]`, newest first.
pub async fn decisions(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    ApiQuery(q, ..): Query<PageQuery>,
) -> ApiResult {
    let p = vault.guards().decisions(&account(a)?, page(q)).await?;
    ok(serde_json::json!({"decisions": p.items, "next": p.next}))
}

/// `GET .../state`.
pub async fn get_state(CallerVault(vault): CallerVault, ApiPath(a, ..): Path<String>) -> ApiResult {
    ok(vault.guards().get_state(&account(a)?).await?)
}

/// `PUT .../state` `{"state", "reason"}`.
pub async fn set_state(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    JsonBody(change, ..): Body<StateChange>,
) -> ApiResult {
    ok(vault.guards().set_state(&account(a)?, change).await?)
}

/// `POST .../budget/llm` `{"model"?}`: admit one LLM call; 429 `budget_exhausted` with
/// `Retry-After` at the cap.
pub async fn admit_llm_call(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    JsonBody(body, ..): Body<LlmAdmitBody>,
) -> ApiResult {
    let admission = vault
        .guards()
        .admit_llm_call(&account(a)?, body.model)
        .await?;
    let (status, retry, body) = admission_reply(&admission, vault.now())?;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = (status, Json(body)).into_response();
    if let Some(r) = retry.and_then(|r| axum::http::HeaderValue::from_str(&r.to_string()).ok()) {
        resp.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, r);
    }
    Ok(resp)
}

/// `GET .../budget/llm`: the windows now.
pub async fn llm_budget(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
) -> ApiResult {
    let windows = vault.guards().llm_budget(&account(a)?).await?;
    ok(serde_json::json!({ "windows": windows }))
}

/// `POST .../overrides` `{"proposal_id", "rules", "reason"}`.
pub async fn create_override(
    CallerVault(vault): CallerVault,
    ApiPath(a, ..): Path<String>,
    JsonBody(create, ..): Body<OverrideCreate>,
) -> ApiResult {
    let o = vault.guards().create_override(&account(a)?, create).await?;
    ok(serde_json::json!({ "override": o }))
}
