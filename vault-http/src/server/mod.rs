//! The axum server: [`router`] (every dialect under one router), its [`AppState`], the
//! pieces shared by the dialects ([`auth`], [`extract`], request logging), and the startup
//! pieces the binary uses ([`startup`]).

pub mod auth;
pub mod extract;
pub mod listen;
mod middleware;
pub mod startup;
pub mod token_layer;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use vault_core::Vault;
use vault_core::crypto::SecretString;

use crate::dialects::{openai, service_api, vault_api};

/// What every handler shares: the open vault and the service token.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<StateInner>,
}

struct StateInner {
    /// Set once the vault is open: at start, or later when the server started while its store
    /// (a PostgreSQL database) could not be reached and a background task opened it since.
    vault: std::sync::OnceLock<Vault>,
    /// The store's backend name, for health while the vault is not open.
    backend: &'static str,
    token: SecretString,
    auth_failures: auth::FailureLimiter,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("vault", &self.inner.vault.get())
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// State for a server over `vault` that accepts `token`, allowing `failure_burst` failed
    /// authentications per client address before slowing it down.
    pub fn new(vault: Vault, token: SecretString, failure_burst: u32) -> Self {
        let state = AppState::pending("", token, failure_burst);
        let _ = state.inner.vault.set(vault);
        state
    }

    /// State for a server whose vault is not open yet (its `backend` store cannot be reached):
    /// every operation answers `backend_unavailable` until [`AppState::opened`].
    pub fn pending(backend: &'static str, token: SecretString, failure_burst: u32) -> Self {
        AppState {
            inner: Arc::new(StateInner {
                vault: std::sync::OnceLock::new(),
                backend,
                token,
                auth_failures: auth::FailureLimiter::new(failure_burst),
            }),
        }
    }

    /// Serves `vault` from now on (once; a second call is ignored).
    pub fn opened(&self, vault: Vault) {
        let _ = self.inner.vault.set(vault);
    }

    /// The vault; `backend_unavailable` while it is not open (its store unreachable since the
    /// start).
    pub fn vault(&self) -> vault_core::Result<&Vault> {
        self.inner.vault.get().ok_or_else(|| {
            vault_core::Error::BackendUnavailable(
                "the store has not been reachable since the server started; retrying".into(),
            )
        })
    }

    /// The backend of a vault not open yet.
    pub fn pending_backend(&self) -> &'static str {
        self.inner.backend
    }

    pub(crate) fn auth_failures(&self) -> &auth::FailureLimiter {
        &self.inner.auth_failures
    }

    pub(crate) fn token(&self) -> &SecretString {
        &self.inner.token
    }
}

/// The whole HTTP API: every dialect's routes; JSON errors for unknown routes (404), wrong
/// methods (405) and bodies over 1 MiB (413); one log line per request.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(service_api::routes(state.clone()))
        .merge(openai::routes(state.clone()))
        .merge(vault_api::routes(state.clone()))
        .fallback(service_api::no_route)
        .method_not_allowed_fallback(service_api::method_not_allowed)
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(middleware::log_request))
        .with_state(state)
}
