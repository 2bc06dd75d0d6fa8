//! The `/api/vault/*` handlers: parse (names are checked here, where they enter), call the
//! caller's vault through the family interfaces, answer with the wire types.

use std::borrow::Cow;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vault_client::wire::service_api::{
    ConfigDeleteQuery, ConfigDiffReply, ConfigHistoryReply, ConfigListReply, ConfigPutBody,
    ConfigReply, ConfigSettingsBody, ConfigSettingsReply, ConfigWatchReply, ConfigWrittenReply,
    CredentialDeletedReply, CredentialGetQuery, CredentialListReply, CredentialPutBody,
    CredentialReply, CredentialWrittenReply, DiffQuery, HealthReply, HistoryQuery, PageQuery,
    RequiredServiceQuery, RollbackBody, ServiceQuery, VersionQuery, WatchQuery,
};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{
    ConfigSettings, CredentialKey, CredentialPut, Error, Health, HealthStatus, ServiceName,
    StrategyId,
};

use super::{ApiError, Body, CallerVault, Path, Query};
use crate::server::AppState;
use crate::server::extract::{ApiPath, ApiQuery, JsonBody};

type ApiResult = Result<Response, ApiError>;

/// The credential key of the path and the optional `?service=`, checked.
fn credential_names(
    key: String,
    service: Option<String>,
) -> Result<(CredentialKey, Option<ServiceName>), Error> {
    Ok((
        CredentialKey::new(key)?,
        service.map(ServiceName::new).transpose()?,
    ))
}

/// `GET /api/vault/health` (no auth): 200 when ok/degraded, 503 when down.
pub async fn health(State(state): State<AppState>) -> Response {
    let mut h = match state.vault() {
        Ok(vault) => vault.health().await,
        Err(e) => Health::store_unreachable(
            state.pending_backend(),
            vault_core::Clock::now(&vault_core::SystemClock),
            &e.to_string(),
        ),
    };
    h.components
        .insert("service_api".to_string(), "enabled".to_string());
    let status = match h.status {
        HealthStatus::Down => StatusCode::SERVICE_UNAVAILABLE,
        HealthStatus::Ok | HealthStatus::Degraded => StatusCode::OK,
    };
    (status, Json(HealthReply::from(h))).into_response()
}

/// `GET /api/vault/configs/{service}[?limit=&after=]`: one page of the latest version of the
/// configs of a service.
pub async fn list_configs(
    CallerVault(vault): CallerVault,
    ApiPath(service, ..): Path<String>,
    ApiQuery(q, ..): Query<PageQuery>,
) -> ApiResult {
    let service = ServiceName::new(service)?;
    let page = vault.configs().list(&service, q.page()).await?;
    Ok(Json(ConfigListReply::new(service, page)).into_response())
}

/// `GET /api/vault/config-settings/{service}`: the service's configs settings.
pub async fn get_config_settings(
    CallerVault(vault): CallerVault,
    ApiPath(service, ..): Path<String>,
) -> ApiResult {
    let service = ServiceName::new(service)?;
    let settings = vault.configs().settings(&service).await?;
    Ok(Json(ConfigSettingsReply::new(service, settings)).into_response())
}

/// `POST /api/vault/config-settings/{service}`: sets the service's configs settings.
pub async fn set_config_settings(
    CallerVault(vault): CallerVault,
    ApiPath(service, ..): Path<String>,
    JsonBody(body, ..): Body<ConfigSettingsBody>,
) -> ApiResult {
    let service = ServiceName::new(service)?;
    let settings = ConfigSettings {
        max_versions: body.max_versions,
    };
    let settings = vault.configs().set_settings(&service, settings).await?;
    Ok(Json(ConfigSettingsReply::new(service, settings)).into_response())
}

/// `POST /api/vault/configs/{service}`: writes a new version of a config.
pub async fn put_config(
    CallerVault(vault): CallerVault,
    ApiPath(service, ..): Path<String>,
    JsonBody(body, ..): Body<ConfigPutBody<'static>>,
) -> ApiResult {
    let service = ServiceName::new(service)?;
    let put = body.into_put()?;
    let w = vault.configs().put(&service, put).await?;
    Ok(Json(ConfigWrittenReply::from(w)).into_response())
}

fn config_names(service: String, strategy_id: String) -> Result<(ServiceName, StrategyId), Error> {
    Ok((ServiceName::new(service)?, StrategyId::new(strategy_id)?))
}

/// `GET /api/vault/configs/{service}/{strategy_id}[?version=N]`.
pub async fn get_config(
    CallerVault(vault): CallerVault,
    ApiPath((service, strategy_id), ..): Path<(String, String)>,
    ApiQuery(q, ..): Query<VersionQuery>,
) -> ApiResult {
    let (service, strategy_id) = config_names(service, strategy_id)?;
    let config = vault
        .configs()
        .get(&service, &strategy_id, q.version)
        .await?;
    Ok(Json(ConfigReply {
        revision: config.revision,
        config: config.into(),
        service,
        success: true,
    })
    .into_response())
}

/// `DELETE /api/vault/configs/{service}/{strategy_id}[?expected_version=N]`: deletes a config,
/// keeping its history (a version marked deleted); the reply of a put, action `deleted`.
pub async fn delete_config(
    CallerVault(vault): CallerVault,
    ApiPath((service, strategy_id), ..): Path<(String, String)>,
    ApiQuery(q, ..): Query<ConfigDeleteQuery>,
) -> ApiResult {
    let (service, strategy_id) = config_names(service, strategy_id)?;
    let w = vault
        .configs()
        .delete(&service, &strategy_id, q.expected_version)
        .await?;
    Ok(Json(ConfigWrittenReply::from(w)).into_response())
}

/// `GET /api/vault/configs/{service}/watch[?since=REV&timeout=SECONDS]`: a long-poll that
/// answers as soon as the service's configs changed after `since`, or with no changes and the
/// same revision after `timeout` (default 30, at most 60).
pub async fn watch_configs(
    CallerVault(vault): CallerVault,
    ApiPath(service, ..): Path<String>,
    ApiQuery(q, ..): Query<WatchQuery>,
) -> ApiResult {
    let service = ServiceName::new(service)?;
    let wait = q.wait()?;
    let w = vault.configs().watch(&service, q.since, wait).await?;
    Ok(Json(ConfigWatchReply::from(w)).into_response())
}

/// `POST /api/vault/configs/{service}/{strategy_id}/rollback`
/// `{"to_version": N, "comment"?, "expected_version"?}`: a new version with version N's
/// content; the reply of a put.
pub async fn rollback_config(
    CallerVault(vault): CallerVault,
    ApiPath((service, strategy_id), ..): Path<(String, String)>,
    JsonBody(body, ..): Body<RollbackBody>,
) -> ApiResult {
    let (service, strategy_id) = config_names(service, strategy_id)?;
    let w = vault
        .configs()
        .rollback(&service, &strategy_id, body.into())
        .await?;
    Ok(Json(ConfigWrittenReply::from(w)).into_response())
}

/// `GET /api/vault/configs/{service}/{strategy_id}/diff?from=N&to=M`.
pub async fn config_diff(
    CallerVault(vault): CallerVault,
    ApiPath((service, strategy_id), ..): Path<(String, String)>,
    ApiQuery(q, ..): Query<DiffQuery>,
) -> ApiResult {
    let (service, strategy_id) = config_names(service, strategy_id)?;
    let d = vault
        .configs()
        .diff(&service, &strategy_id, q.from, q.to)
        .await?;
    Ok(Json(ConfigDiffReply::from(d)).into_response())
}

/// `GET /api/vault/configs/{service}/{strategy_id}/history[?limit=&after=]`: newest first.
pub async fn config_history(
    CallerVault(vault): CallerVault,
    ApiPath((service, strategy_id), ..): Path<(String, String)>,
    ApiQuery(q, ..): Query<HistoryQuery>,
) -> ApiResult {
    let (service, strategy_id) = config_names(service, strategy_id)?;
    let h = vault
        .configs()
        .history(&service, &strategy_id, q.limit, q.after)
        .await?;
    Ok(Json(ConfigHistoryReply {
        next: h.next,
        oldest_version: (h.oldest_version > 1).then_some(h.oldest_version),
        revision: h.revision,
        service,
        strategy_id,
        success: true,
        versions: h.versions.into_iter().map(Into::into).collect(),
    })
    .into_response())
}

/// `GET /api/vault/credentials/{key}[?service=S][&version=N]`: the current value, or version
/// N's.
pub async fn get_credential(
    CallerVault(vault): CallerVault,
    ApiPath(key, ..): Path<String>,
    ApiQuery(q, ..): Query<CredentialGetQuery>,
) -> ApiResult {
    let (key, service) = credential_names(key, q.service)?;
    let c = match q.version {
        None => vault.credentials().get(&key, service.as_ref()).await?,
        Some(v) => {
            vault
                .credentials()
                .get_version(&key, service.as_ref(), v)
                .await?
        }
    };
    // The value is borrowed into the body: the only copy outside the wiped record.
    Ok(Json(CredentialReply {
        success: true,
        key: c.key.clone(),
        service: c.service.clone(),
        value: Cow::Borrowed(c.value.expose_secret()),
        metadata: Cow::Borrowed(&c.metadata),
        version: c.version,
        created_at: Some(c.created_at),
        updated_at: c.updated_at,
    })
    .into_response())
}

/// `POST /api/vault/credentials`: creates or updates a credential.
pub async fn put_credential(
    CallerVault(vault): CallerVault,
    JsonBody(body, ..): Body<CredentialPutBody<'static>>,
) -> ApiResult {
    // Names first (as the original service did), then the value's rules in vault-core.
    let service = ServiceName::new(body.service.into_owned())?;
    let key = CredentialKey::new(body.key.into_owned())?;
    let put = CredentialPut {
        service,
        key,
        value: SecretString::new(body.value.into_owned()),
        metadata: body.metadata.map(Cow::into_owned),
        expected_version: body.expected_version,
        max_versions: body.max_versions,
        rotate_every: body
            .rotate_every
            .as_deref()
            .map(vault_core::RotateEvery::parse)
            .transpose()?,
    };
    let w = vault.credentials().put(put).await?;
    Ok(Json(CredentialWrittenReply::from(w)).into_response())
}

/// `GET /api/vault/credentials?service=S[&limit=&after=]`: one page of the credentials of a
/// service, never their values.
pub async fn list_credentials(
    CallerVault(vault): CallerVault,
    ApiQuery(q, ..): Query<RequiredServiceQuery>,
) -> ApiResult {
    let page = q.page();
    let service = ServiceName::new(q.service)?;
    let list = vault.credentials().list(&service, page).await?;
    Ok(Json(CredentialListReply::new(service, list)).into_response())
}

/// `DELETE /api/vault/credentials/{key}[?service=S]`: deletes every version.
pub async fn delete_credential(
    CallerVault(vault): CallerVault,
    ApiPath(key, ..): Path<String>,
    ApiQuery(q, ..): Query<ServiceQuery>,
) -> ApiResult {
    let (key, service) = credential_names(key, q.service)?;
    let d = vault.credentials().delete(&key, service.as_ref()).await?;
    Ok(Json(CredentialDeletedReply {
        action: "deleted".to_string(),
        key: d.key,
        service: d.service,
        success: true,
    })
    .into_response())
}

/// Fallback for paths no route serves.
pub async fn no_route() -> ApiError {
    Error::NotFound("no such endpoint".into()).into()
}

/// Fallback for a known path with an unsupported method.
pub async fn method_not_allowed() -> ApiError {
    Error::MethodNotAllowed("method not allowed on this endpoint".into()).into()
}
