//! `sys/health`, `sys/seal-status`, `sys/init` (open, unwrapped, not audited, as in Vault) and
//! `auth/token/lookup-self` (the caller's own token, never the token itself).
//!
//! This server has no seal: it is "sealed" exactly while its vault is not open (its store has
//! not been reachable since the start), and never a standby.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use vault_core::Error;
use vault_core::prelude::*;

use super::{CallerVault, VaultError, json_response, wrap};
use crate::server::AppState;
use crate::server::extract::parse_query;

/// The version reported to clients.
const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The cluster name reported to clients.
const CLUSTER_NAME: &str = "vault-http";

/// The status-code overrides of `sys/health` (Vault's query parameters).
#[derive(Deserialize, Default)]
struct HealthQuery {
    activecode: Option<String>,
    standbycode: Option<String>,
    sealedcode: Option<String>,
    uninitcode: Option<String>,
    drsecondarycode: Option<String>,
    performancestandbycode: Option<String>,
    standbyok: Option<String>,
    perfstandbyok: Option<String>,
}

/// A status code given as a query parameter: `invalid` unless 100 to 599.
fn status_param(field: &str, v: Option<&str>, default: StatusCode) -> Result<StatusCode, Error> {
    match v {
        None => Ok(default),
        Some(s) => s
            .parse::<u16>()
            .ok()
            .and_then(|n| StatusCode::from_u16(n).ok())
            .filter(|c| (100..=599).contains(&c.as_u16()))
            .ok_or_else(|| Error::invalid(field, "must be an HTTP status code")),
    }
}

#[derive(Serialize)]
struct HealthBody {
    initialized: bool,
    sealed: bool,
    standby: bool,
    replication_performance_mode: &'static str,
    replication_dr_mode: &'static str,
    server_time_utc: i64,
    version: &'static str,
    cluster_name: &'static str,
    cluster_id: &'static str,
}

/// `GET|HEAD /v1/sys/health[?activecode=&sealedcode=...]`: 200 when the vault is open, 503
/// ("sealed") while its store has not been reachable; the code overrides as in Vault (the
/// standby ones are accepted and never apply). HEAD answers the same status without a body.
pub async fn health(
    State(state): State<AppState>,
    uri: axum::http::Uri,
) -> Result<Response, VaultError> {
    let q: HealthQuery = parse_query(uri.query().unwrap_or(""))?;
    // Checked so a bad override is a clear 400 even where it does not apply.
    for (field, v) in [
        ("standbycode", &q.standbycode),
        ("uninitcode", &q.uninitcode),
        ("drsecondarycode", &q.drsecondarycode),
        ("performancestandbycode", &q.performancestandbycode),
    ] {
        status_param(field, v.as_deref(), StatusCode::OK)?;
    }
    for (field, v) in [
        ("standbyok", &q.standbyok),
        ("perfstandbyok", &q.perfstandbyok),
    ] {
        if let Some(v) = v {
            super::kv::parse_bool(field, v)?;
        }
    }
    let sealed = state.vault().is_err();
    let status = if sealed {
        status_param(
            "sealedcode",
            q.sealedcode.as_deref(),
            StatusCode::SERVICE_UNAVAILABLE,
        )?
    } else {
        status_param("activecode", q.activecode.as_deref(), StatusCode::OK)?
    };
    let body = HealthBody {
        initialized: true,
        sealed,
        standby: false,
        replication_performance_mode: "disabled",
        replication_dr_mode: "disabled",
        server_time_utc: now().as_millis() / 1000,
        version: VERSION,
        cluster_name: CLUSTER_NAME,
        cluster_id: "",
    };
    Ok(json_response(status, &body))
}

fn now() -> vault_core::Timestamp {
    vault_core::Clock::now(&vault_core::SystemClock)
}

#[derive(Serialize)]
struct SealStatus {
    #[serde(rename = "type")]
    kind: &'static str,
    initialized: bool,
    sealed: bool,
    t: u32,
    n: u32,
    progress: u32,
    nonce: &'static str,
    recovery_seal: bool,
    version: &'static str,
    migration: bool,
    cluster_name: &'static str,
    cluster_id: &'static str,
    storage_type: &'static str,
}

/// `GET /v1/sys/seal-status`: always 200 (as in Vault), `sealed` while the vault is not open.
pub async fn seal_status(State(state): State<AppState>) -> Response {
    let sealed = state.vault().is_err();
    json_response(
        StatusCode::OK,
        &SealStatus {
            kind: "shamir",
            initialized: true,
            sealed,
            t: 1,
            n: 1,
            progress: 0,
            nonce: "",
            recovery_seal: false,
            version: VERSION,
            migration: false,
            cluster_name: CLUSTER_NAME,
            cluster_id: "",
            storage_type: CLUSTER_NAME,
        },
    )
}

/// `GET /v1/sys/init`: `{"initialized":true}`.
pub async fn init() -> Response {
    json_response(StatusCode::OK, &serde_json::json!({"initialized": true}))
}

#[derive(Serialize)]
struct LookupSelf {
    accessor: String,
    creation_time: i64,
    creation_ttl: i64,
    display_name: String,
    entity_id: &'static str,
    expire_time: Option<String>,
    explicit_max_ttl: i64,
    id: String,
    issue_time: Option<String>,
    meta: Option<()>,
    num_uses: u64,
    orphan: bool,
    path: &'static str,
    policies: Vec<String>,
    renewable: bool,
    ttl: i64,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `GET /v1/auth/token/lookup-self`: the caller's token in Vault's shape (audited as
/// `tokens.self`). `id` and `accessor` are the token's public id, never the token; `policies`
/// is `["root"]` for the root token, `["default"]` for a scoped one (its rules are the
/// vault's, listed by the service API's `GET /api/vault/tokens/self`).
pub async fn lookup_self(CallerVault(vault, origin): CallerVault) -> Result<Response, VaultError> {
    let info = vault.tokens().get_self().await?;
    let now_s = vault.now().as_millis() / 1000;
    let created_s = info.created_at.map_or(0, |t| t.as_millis() / 1000);
    let ttl = info
        .expires_at
        .map_or(0, |t| (t.as_millis() / 1000 - now_s).max(0));
    let creation_ttl = match (info.created_at, info.expires_at) {
        (Some(c), Some(e)) => (e.as_millis() - c.as_millis()) / 1000,
        _ => 0,
    };
    let root = matches!(vault.caller(), vault_core::Caller::Root);
    let data = LookupSelf {
        accessor: info.id.clone(),
        creation_time: created_s,
        creation_ttl,
        display_name: format!("token-{}", info.name),
        entity_id: "",
        expire_time: info.expires_at.map(|t| t.to_string()),
        explicit_max_ttl: 0,
        id: info.id,
        issue_time: info.created_at.map(|t| t.to_string()),
        meta: None,
        num_uses: 0,
        orphan: true,
        path: "auth/token/create",
        policies: vec![if root { "root" } else { "default" }.to_string()],
        renewable: false,
        ttl,
        kind: "service",
    };
    Ok(json_response(StatusCode::OK, &wrap(&origin, data, vec![])))
}
