//! # vault-node
//!
//! The Node.js binding of the vault, built with napi-rs. One native class, [`NativeVault`],
//! holds an `Arc<dyn VaultApi>`: the embedded [`vault_core::Vault`] (`openEmbedded`) or the
//! remote client [`vault_http::client::RemoteVault`] (`connectRemote`), so both modes run the
//! same code. Every method is an `async fn` on napi's tokio runtime and returns a Promise; the
//! event loop never waits on storage or network.
//!
//! The npm package's hand-written wrapper (`index.js`, `index.d.ts`) turns this native surface
//! into `open` / `connect` with `credentials` and `configs` namespaces, redacts credential
//! values from `util.inspect` and `JSON.stringify`, and turns the `[vault:<code>]` prefix of a
//! native error message into `error.code` (see [`error`]).
//!
//! Modules mirror vault-core's: [`vault`] (open, health, close), [`credentials`], [`configs`],
//! [`error`], plus [`remote`] (connect).

pub mod configs;
pub mod credentials;
pub mod error;
pub mod remote;
pub mod vault;

pub use vault::NativeVault;
