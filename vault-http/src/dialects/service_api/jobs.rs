//! The scheduler jobs handlers of `/api/vault/guards/{account}/jobs`: parse, call the caller's
//! vault through [`JobsApi`], answer with the wire types. The lease rules, bounds and who may
//! do what are vault-core's.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vault_client::wire::service_api::{
    JobClaimBody, JobCreateBody, JobCreatedReply, JobListReply, JobReleaseBody, JobRenewBody,
    JobReply, JobsClaimedReply, JobsSweptReply, PageQuery,
};
use vault_core::prelude::*;
use vault_core::{AccountId, Error, JobId};

use super::{ApiError, Body, CallerVault, Path, Query};
use crate::server::extract::{ApiPath, ApiQuery, JsonBody};

type ApiResult = Result<Response, ApiError>;

fn names(account: String, job_id: String) -> Result<(AccountId, JobId), Error> {
    Ok((AccountId::new(account)?, JobId::new(job_id)?))
}

/// `POST /api/vault/guards/{account}/jobs`: creates a job (201), or answers the existing one
/// with the same settings (200).
pub async fn create(
    CallerVault(vault): CallerVault,
    ApiPath(account, ..): Path<String>,
    JsonBody(body, ..): Body<JobCreateBody>,
) -> ApiResult {
    let account = AccountId::new(account)?;
    let created = vault.jobs().create(&account, body.into_create()?).await?;
    let status = if created.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(JobCreatedReply::new(account, created))).into_response())
}

/// `GET /api/vault/guards/{account}/jobs[?limit=&after=]`.
pub async fn list(
    CallerVault(vault): CallerVault,
    ApiPath(account, ..): Path<String>,
    ApiQuery(q, ..): Query<PageQuery>,
) -> ApiResult {
    let account = AccountId::new(account)?;
    let page = vault.jobs().list(&account, q.page()).await?;
    Ok(Json(JobListReply::new(account, page)).into_response())
}

/// `POST /api/vault/guards/{account}/jobs/claim` `{"instance", "limit"?, "ttl_s"?}`.
pub async fn claim(
    CallerVault(vault): CallerVault,
    ApiPath(account, ..): Path<String>,
    JsonBody(body, ..): Body<JobClaimBody>,
) -> ApiResult {
    let account = AccountId::new(account)?;
    let jobs = vault.jobs().claim_due(&account, body.into_claim()?).await?;
    Ok(Json(JobsClaimedReply::new(account, jobs)).into_response())
}

/// `POST /api/vault/guards/{account}/jobs/sweep` (no body, or `{}`).
pub async fn sweep(
    CallerVault(vault): CallerVault,
    ApiPath(account, ..): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult {
    super::lifecycle::no_body(body)?;
    let account = AccountId::new(account)?;
    let report = vault.jobs().sweep(&account).await?;
    Ok(Json(JobsSweptReply::new(account, report)).into_response())
}

/// `GET /api/vault/guards/{account}/jobs/{job_id}`.
pub async fn get(
    CallerVault(vault): CallerVault,
    ApiPath((account, job_id), ..): Path<(String, String)>,
) -> ApiResult {
    let (account, job_id) = names(account, job_id)?;
    let job = vault.jobs().get(&account, &job_id).await?;
    Ok(Json(JobReply::new(job)).into_response())
}

/// `POST /api/vault/guards/{account}/jobs/{job_id}/renew` `{"instance", "fencing_token",
/// "ttl_s"?}`.
pub async fn renew(
    CallerVault(vault): CallerVault,
    ApiPath((account, job_id), ..): Path<(String, String)>,
    JsonBody(body, ..): Body<JobRenewBody>,
) -> ApiResult {
    let (account, job_id) = names(account, job_id)?;
    let (lease, ttl) = body.into_renew()?;
    let job = vault.jobs().renew(&account, &job_id, lease, ttl).await?;
    Ok(Json(JobReply::new(job)).into_response())
}

/// `POST /api/vault/guards/{account}/jobs/{job_id}/release` `{"instance", "fencing_token",
/// "outcome", "reschedule_at"?}`.
pub async fn release(
    CallerVault(vault): CallerVault,
    ApiPath((account, job_id), ..): Path<(String, String)>,
    JsonBody(body, ..): Body<JobReleaseBody>,
) -> ApiResult {
    let (account, job_id) = names(account, job_id)?;
    let job = vault
        .jobs()
        .release(&account, &job_id, body.into_release()?)
        .await?;
    Ok(Json(JobReply::new(job)).into_response())
}
