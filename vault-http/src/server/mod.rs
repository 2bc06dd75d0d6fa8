//! The axum server of the `/api/vault/*` dialect: [`router`], its [`AppState`], and the
//! startup pieces the binary uses ([`startup`]).

pub mod error;
pub mod extract;
mod middleware;
mod routes;
pub mod startup;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use vault_core::Vault;
use vault_core::crypto::SecretString;

pub use error::ApiError;

/// What every handler shares: the open vault and the service token.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    vault: Vault,
    token: SecretString,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("vault", &self.inner.vault)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for a server over `vault` that accepts `token`.
    pub fn new(vault: Vault, token: SecretString) -> Self {
        AppState {
            inner: Arc::new(StateInner { vault, token }),
        }
    }

    /// The vault.
    pub fn vault(&self) -> &Vault {
        &self.inner.vault
    }

    fn token(&self) -> &SecretString {
        &self.inner.token
    }
}

/// The whole HTTP API: `/api/vault/health` open, every other route behind the service token;
/// JSON errors for unknown routes (404), wrong methods (405) and bodies over 1 MiB (413); one
/// log line per request.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route(
            "/api/vault/configs/{service}",
            get(routes::list_configs).post(routes::put_config),
        )
        .route(
            "/api/vault/configs/{service}/{strategy_id}",
            get(routes::get_config),
        )
        .route(
            "/api/vault/credentials",
            get(routes::list_credentials).post(routes::put_credential),
        )
        .route(
            "/api/vault/credentials/{key}",
            get(routes::get_credential).delete(routes::delete_credential),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::require_token,
        ));
    Router::new()
        .route("/api/vault/health", get(routes::health))
        .merge(protected)
        .fallback(routes::no_route)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(middleware::log_request))
        .with_state(state)
}
