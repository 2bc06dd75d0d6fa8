//! # vault-node
//!
//! The Node.js binding of the vault, built with napi-rs. One native class, [`NativeVault`],
//! holds a [`vault_core::VaultHandle`] over an `Arc<dyn VaultApi>`: the embedded
//! [`vault_core::Vault`] (`openEmbedded`) or the remote client [`vault_client::RemoteVault`]
//! (`connectRemote`), so both modes run the same code. Every method is an `async fn` on napi's
//! tokio runtime and returns a Promise; the event loop never waits on storage or network. The
//! exceptions are the embedded-only synchronous reads of [`sync`] (`getCredentialSync`,
//! `getConfigSync`), which run on the calling JS thread because a thread hand-off costs far
//! more than the read, and `close`, which commits an embedded vault's queued audit entries
//! before it returns so that the directory can be reopened at once.
//!
//! The npm package's hand-written wrapper (`index.js`, `index.d.ts`) turns this native surface
//! into `open` / `connect` with `credentials`, `configs`, `constructs`, `tokens`, `guards`,
//! `jobs` and
//! `audit` namespaces, redacts credential values and created tokens from `util.inspect` and
//! `JSON.stringify`, and turns the `[vault:<code>]` prefix of a native error message into `error.code` (see [`error`]).
//!
//! Validation happens once per rule. `index.js` checks JS shapes (types, integers, required and
//! unknown options) and is the only caller of this module, so the methods here convert without
//! checking again; names become typed vault-core names ([`vault_core::ServiceName`], ...) here,
//! where they enter Rust, and every value rule (name syntax, sizes, limits, key options) is
//! vault-core's.
//!
//! Modules mirror vault-core's: [`vault`] (open, health, close), [`credentials`], [`configs`],
//! [`constructs`], [`tokens`], [`guards`], [`jobs`], [`audit`], [`error`], plus [`remote`] (connect) and [`sync`] (synchronous embedded reads).

pub mod audit;
pub mod configs;
pub mod constructs;
pub mod credentials;
pub mod error;
pub mod guards;
pub mod jobs;
pub mod remote;
pub mod sync;
pub mod tokens;
pub mod vault;

pub use vault::NativeVault;
