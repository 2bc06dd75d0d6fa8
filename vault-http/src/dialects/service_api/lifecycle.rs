//! The credential lifecycle handlers of `/api/vault/*`: versions listing, one version's
//! operations, rotation, settings and the due listing. Parse, call vault-core, answer; the
//! rules (version 0, unknown op, bounds) are vault-core's.

use axum::Json;
use axum::response::{IntoResponse, Response};
use vault_client::wire::service_api::{
    CredentialListReply, CredentialSettingsBody, CredentialSettingsReply, CredentialVersionsReply,
    CredentialWrittenReply, RequiredServiceQuery, RotateBody, ServiceOnlyQuery,
    VersionChangedReply, VersionsQuery,
};
use vault_core::prelude::*;
use vault_core::{CredentialKey, Error, ServiceName, VersionOp};

use super::{ApiError, Body, CallerVault, Path, Query};
use crate::server::extract::{ApiPath, ApiQuery, JsonBody};

type ApiResult = Result<Response, ApiError>;

fn names(key: String, service: String) -> Result<(CredentialKey, ServiceName), Error> {
    Ok((CredentialKey::new(key)?, ServiceName::new(service)?))
}

/// A version number of a path: `invalid` (field `version`) unless a positive integer.
fn path_version(v: &str) -> Result<u64, Error> {
    let n = v
        .parse::<u64>()
        .ok()
        .filter(|_| v.bytes().all(|b| b.is_ascii_digit()))
        .ok_or_else(|| Error::invalid("version", "must be a version number (1 or more)"))?;
    vault_core::credentials::lifecycle::check_version(n)?;
    Ok(n)
}

/// `GET /api/vault/credentials/{key}/versions?service=S[&limit=&after=]`: metadata only,
/// newest first.
pub async fn versions(
    CallerVault(vault): CallerVault,
    ApiPath(key, ..): Path<String>,
    ApiQuery(q, ..): Query<VersionsQuery>,
) -> ApiResult {
    let (key, service) = names(key, q.service)?;
    let v = vault
        .credentials()
        .versions(&key, &service, q.limit, q.after)
        .await?;
    Ok(Json(CredentialVersionsReply::from(v)).into_response())
}

/// The body of a request that takes none: empty, or a JSON object without fields (`{}`);
/// anything else is `invalid` like an unknown field of any other body.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NoFields {}

pub(super) fn no_body(
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<(), Error> {
    let bytes = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            Error::PayloadTooLarge("request body is too large".into())
        } else {
            Error::invalid("body", "could not be read")
        }
    })?;
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        crate::server::extract::parse_json::<NoFields>(&bytes)?;
    }
    Ok(())
}

/// `POST /api/vault/credentials/{key}/versions/{n}/{delete|undelete|destroy}?service=S`
/// (no body, or `{}`).
pub async fn change_version(
    CallerVault(vault): CallerVault,
    ApiPath((key, version, op), ..): Path<(String, String, String)>,
    ApiQuery(q, ..): Query<ServiceOnlyQuery>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult {
    no_body(body)?;
    let (key, service) = names(key, q.service)?;
    let version = path_version(&version)?;
    let op = VersionOp::parse(&op)?;
    let info = vault
        .credentials()
        .change_version(&key, &service, version, op)
        .await?;
    Ok(Json(VersionChangedReply {
        action: op.as_str().to_string(),
        key,
        service,
        success: true,
        version: info.into(),
    })
    .into_response())
}

/// `POST /api/vault/credentials/{key}/rotate?service=S` `{"length"?, "charset"?}`: a new
/// generated value; the reply of a put (never the value).
pub async fn rotate(
    CallerVault(vault): CallerVault,
    ApiPath(key, ..): Path<String>,
    ApiQuery(q, ..): Query<ServiceOnlyQuery>,
    JsonBody(body, ..): Body<RotateBody>,
) -> ApiResult {
    let (key, service) = names(key, q.service)?;
    let policy = body.into_policy()?;
    let w = vault.credentials().rotate(&key, &service, policy).await?;
    Ok(Json(CredentialWrittenReply::from(w)).into_response())
}

/// `POST /api/vault/credentials/{key}/settings?service=S` `{"max_versions"?, "rotate_every"?}`.
pub async fn settings(
    CallerVault(vault): CallerVault,
    ApiPath(key, ..): Path<String>,
    ApiQuery(q, ..): Query<ServiceOnlyQuery>,
    JsonBody(body, ..): Body<CredentialSettingsBody>,
) -> ApiResult {
    let (key, service) = names(key, q.service)?;
    let settings = body.into_settings()?;
    let info = vault
        .credentials()
        .set_settings(&key, &service, settings)
        .await?;
    Ok(Json(CredentialSettingsReply {
        credential: info.into(),
        success: true,
    })
    .into_response())
}

/// `GET /api/vault/credentials-due?service=S[&limit=&after=]`: the credentials overdue for
/// rotation, in the shape of the credentials listing.
pub async fn due(
    CallerVault(vault): CallerVault,
    ApiQuery(q, ..): Query<RequiredServiceQuery>,
) -> ApiResult {
    let page = q.page();
    let service = ServiceName::new(q.service)?;
    let list = vault.credentials().due(&service, page).await?;
    Ok(Json(CredentialListReply::new(service, list)).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_versions_are_positive_integers() {
        assert_eq!(path_version("12").ok(), Some(12));
        for bad in ["0", "-1", "+1", "x", "", "1.0", "99999999999999999999999"] {
            assert_eq!(
                path_version(bad).expect_err(bad).field(),
                Some("version"),
                "{bad}"
            );
        }
    }
}
