//! The `/api/vault/*` handlers: parse, call vault-core through [`VaultApi`], map the result.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;
use vault_core::crypto::SecretString;
use vault_core::{Action, ConfigPut, CredentialPut, HealthStatus, JsonObject, Timestamp, VaultApi};

use super::AppState;
use super::error::ApiError;
use super::extract::{ApiPath, ApiQuery, JsonBody};

type ApiResult = Result<Response, ApiError>;

/// `GET /api/vault/health` (no auth): 200 when ok/degraded, 503 when down.
pub async fn health(State(state): State<AppState>) -> Response {
    let mut h = state.vault().health().await;
    h.components
        .insert("service_api".to_string(), "enabled".to_string());
    let status = match h.status {
        HealthStatus::Down => StatusCode::SERVICE_UNAVAILABLE,
        HealthStatus::Ok | HealthStatus::Degraded => StatusCode::OK,
    };
    let body = json!({
        "status": h.status,
        "service": "vvault",
        "version": env!("CARGO_PKG_VERSION"),
        "timestamp": h.timestamp,
        "components": h.components,
        "message": h.message,
    });
    (status, Json(body)).into_response()
}

/// `GET /api/vault/configs/{service}`: the latest version of every config of a service.
pub async fn list_configs(
    State(state): State<AppState>,
    ApiPath(service): ApiPath<String>,
) -> ApiResult {
    let configs = state.vault().list_configs(&service).await?;
    Ok(Json(json!({ "success": true, "service": service, "configs": configs })).into_response())
}

/// `POST /api/vault/configs/{service}`: writes a new version of a config.
pub async fn put_config(
    State(state): State<AppState>,
    ApiPath(service): ApiPath<String>,
    JsonBody(put): JsonBody<ConfigPut>,
) -> ApiResult {
    let w = state.vault().put_config(&service, put).await?;
    Ok(Json(json!({
        "success": true,
        "service": w.service,
        "strategy_id": w.strategy_id,
        "action": w.action,
        "version": w.version,
    }))
    .into_response())
}

/// Query of `GET /api/vault/configs/{service}/{strategy_id}`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionQuery {
    version: Option<u64>,
}

/// `GET /api/vault/configs/{service}/{strategy_id}[?version=N]`.
pub async fn get_config(
    State(state): State<AppState>,
    ApiPath((service, strategy_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<VersionQuery>,
) -> ApiResult {
    let config = state
        .vault()
        .get_config(&service, &strategy_id, q.version)
        .await?;
    Ok(Json(json!({ "success": true, "service": service, "config": config })).into_response())
}

/// An optional `?service=` parameter.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceQuery {
    service: Option<String>,
}

/// A required `?service=` parameter.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequiredServiceQuery {
    service: String,
}

/// The credential answer; borrows the value so it is copied only into the response body.
#[derive(Serialize)]
struct CredentialReply<'a> {
    success: bool,
    key: &'a str,
    service: &'a str,
    value: &'a str,
    metadata: &'a JsonObject,
    version: u64,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// `GET /api/vault/credentials/{key}[?service=S]`: the current value.
pub async fn get_credential(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<ServiceQuery>,
) -> ApiResult {
    let c = state
        .vault()
        .get_credential(&key, q.service.as_deref())
        .await?;
    Ok(Json(CredentialReply {
        success: true,
        key: &c.key,
        service: &c.service,
        value: c.value.expose_secret(),
        metadata: &c.metadata,
        version: c.version,
        created_at: c.created_at,
        updated_at: c.updated_at,
    })
    .into_response())
}

/// Body of `POST /api/vault/credentials`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialBody {
    key: String,
    service: String,
    value: String,
    #[serde(default)]
    metadata: Option<JsonObject>,
    #[serde(default)]
    expected_version: Option<u64>,
}

/// `POST /api/vault/credentials`: creates or updates a credential.
pub async fn put_credential(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CredentialBody>,
) -> ApiResult {
    let put = CredentialPut {
        service: body.service,
        key: body.key,
        value: SecretString::new(body.value),
        metadata: body.metadata,
        expected_version: body.expected_version,
    };
    let w = state.vault().put_credential(put).await?;
    let message = match w.action {
        Action::Created => "Credential created successfully",
        Action::Updated => "Credential updated successfully",
    };
    Ok(Json(json!({
        "success": true,
        "key": w.key,
        "service": w.service,
        "action": w.action,
        "message": message,
        "version": w.version,
    }))
    .into_response())
}

/// `GET /api/vault/credentials?service=S`: the credentials of a service, never their values.
pub async fn list_credentials(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<RequiredServiceQuery>,
) -> ApiResult {
    let list = state.vault().list_credentials(&q.service).await?;
    Ok(Json(json!({ "success": true, "service": q.service, "credentials": list })).into_response())
}

/// `DELETE /api/vault/credentials/{key}[?service=S]`: deletes every version.
pub async fn delete_credential(
    State(state): State<AppState>,
    ApiPath(key): ApiPath<String>,
    ApiQuery(q): ApiQuery<ServiceQuery>,
) -> ApiResult {
    let service = match q.service {
        Some(s) => s,
        // Resolve the one service holding `key` (vault-core's rule: conflict when several) so
        // the answer can name it; nothing is decrypted.
        None => {
            state
                .vault()
                .credentials()
                .resolve_service(&key, None)
                .await?
        }
    };
    state
        .vault()
        .delete_credential(&key, Some(&service))
        .await?;
    Ok(Json(json!({
        "success": true,
        "key": key,
        "service": service,
        "action": "deleted",
    }))
    .into_response())
}

/// Fallback for paths no route serves.
pub async fn no_route() -> ApiError {
    ApiError::no_route()
}

/// Fallback for a known path with an unsupported method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::method_not_allowed()
}
