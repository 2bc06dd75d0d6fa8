//! # vault-http
//!
//! The vault's HTTP server: [`server`] (state, startup, middleware, request extraction shared by
//! every dialect) and [`dialects`] (one folder per HTTP dialect: the `/api/vault/*` service
//! API, the OpenAI-compatible gateway and the HashiCorp-Vault-compatible subset), and the
//! [`cli`] commands that manage tokens on a running server. The remote client and the wire
//! types live in the `vault-client` crate.

pub mod cli;
pub mod dialects;
pub mod server;

pub use server::{AppState, router};
