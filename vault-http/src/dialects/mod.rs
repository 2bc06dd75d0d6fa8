//! The HTTP dialects the server speaks, one folder each. A dialect owns its routes, its
//! handlers (thin: parse, call vault-core, map the result) and its error format; request
//! extraction ([`crate::server::extract`]) yields core errors that the dialect renders.
//!
//! - [`service_api`]: `/api/vault/*`, the service API the trading engine already uses.
//! - [`openai`]: the OpenAI-compatible inference gateway (`/v1/chat/completions`,
//!   `/v1/completions`, `/v1/embeddings`, `/v1/models`), exactly those routes of `/v1/`.
//! - [`vault_api`]: the HashiCorp-Vault-compatible subset, exactly `/v1/sys/...`,
//!   `/v1/auth/...` and `/v1/secret/...` of `/v1/`.

pub mod openai;
pub mod service_api;
pub mod vault_api;

/// What the shared extractors need from a dialect: how it renders a core error.
pub trait Dialect: Send + Sync + 'static {
    /// The dialect's error response, built from a core error.
    type Error: From<vault_core::Error> + axum::response::IntoResponse + Send;
}
