//! # vault-core
//!
//! The embeddable vault: one storage contract ([`store::Store`]), envelope encryption of every
//! record ([`crypto`]), and the typed parts built on them — encrypted, versioned credentials and
//! versioned strategy configs with compare-and-set. Adapters (`vault-http`, `vault-py`,
//! `vault-node`) are thin layers over [`VaultApi`].
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use std::sync::Arc;
//! use vault_core::{CredentialPut, Vault, crypto::{KeyMaterial, RootKeySource}, store::MemoryStore};
//!
//! let vault = Vault::builder()
//!     .store(Arc::new(MemoryStore::new()))
//!     .key(RootKeySource::Key(KeyMaterial::generate()?))
//!     .open()
//!     .await?;
//! vault.credentials().put(CredentialPut::new("fxshinobi", "OANDA_API_KEY", "abc123")).await?;
//! let cred = vault.credentials().get("OANDA_API_KEY", None).await?;
//! assert_eq!(cred.value.expose_secret(), "abc123");
//! assert_eq!(format!("{:?}", cred.value), "[REDACTED]");
//! # Ok::<(), vault_core::Error>(())
//! # }).unwrap();
//! ```

pub mod api;
pub mod clock;
pub mod configs;
pub mod credentials;
pub mod crypto;
pub mod error;
pub mod names;
mod records;
pub mod store;
pub mod vault;

pub use api::{
    Action, ConfigPut, ConfigWritten, Credential, CredentialInfo, CredentialPut, CredentialWritten,
    Health, HealthStatus, JsonObject, StrategyConfig, VaultApi,
};
pub use clock::{Clock, ManualClock, SystemClock, Timestamp};
pub use error::{Error, Result};
pub use vault::{Vault, VaultBuilder};
