//! # vault-http
//!
//! The vault's HTTP face: the remote [`client`] that the Python and Node bindings reuse, and the
//! axum [`server`] of the `/api/vault/*` API that the `vault-http` binary runs.

pub mod client;
pub mod server;

pub use client::{ClientOptions, RemoteVault};
pub use server::{AppState, router};
