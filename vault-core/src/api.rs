//! The vault's public operations as one object-safe trait, [`VaultApi`], with its request and
//! record types.
//!
//! The embedded [`Vault`](crate::Vault) and the remote client (`vault_http::client`) both
//! implement it, so the Python and Node bindings run one code path whichever way they reach a
//! vault.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::clock::Timestamp;
use crate::crypto::SecretString;
use crate::error::Result;

/// A JSON object (params, risk limits, metadata).
pub type JsonObject = Map<String, Value>;

/// Whether a put created a record or added a version to an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The record did not exist before.
    Created,
    /// A new version of an existing record.
    Updated,
}

impl Action {
    /// `"created"` or `"updated"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
        }
    }
}

/// A credential with its decrypted value.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    /// The service the credential belongs to.
    pub service: String,
    /// The credential's name, e.g. `OANDA_API_KEY`.
    pub key: String,
    /// The secret value.
    pub value: SecretString,
    /// Free-form, non-secret metadata.
    pub metadata: JsonObject,
    /// Version number, 1 for the first put.
    pub version: u64,
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// When this version was written.
    pub updated_at: Timestamp,
}

/// What listing credentials shows: everything but the value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialInfo {
    /// The service the credential belongs to.
    pub service: String,
    /// The credential's name.
    pub key: String,
    /// Free-form, non-secret metadata.
    pub metadata: JsonObject,
    /// Current version number.
    pub version: u64,
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// When the current version was written.
    pub updated_at: Timestamp,
}

/// A request to create or update a credential.
#[derive(Debug, Clone)]
pub struct CredentialPut {
    /// The service the credential belongs to.
    pub service: String,
    /// The credential's name.
    pub key: String,
    /// The secret value (non-empty, at most 64 KiB).
    pub value: SecretString,
    /// Metadata; `None` keeps the previous version's (empty for a new credential).
    pub metadata: Option<JsonObject>,
    /// Compare-and-set: the put applies only if the current version is this one (0 = must not
    /// exist yet); `conflict` otherwise.
    pub expected_version: Option<u64>,
}

impl CredentialPut {
    /// A put of `value` under `service`/`key` with no metadata change and no compare-and-set.
    pub fn new(
        service: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<SecretString>,
    ) -> Self {
        CredentialPut {
            service: service.into(),
            key: key.into(),
            value: value.into(),
            metadata: None,
            expected_version: None,
        }
    }
}

/// The outcome of a credential put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialWritten {
    /// The service.
    pub service: String,
    /// The credential's name.
    pub key: String,
    /// Created or updated.
    pub action: Action,
    /// The version this put wrote.
    pub version: u64,
}

/// A versioned strategy config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyConfig {
    /// The service (trading engine) the strategy belongs to.
    pub service: String,
    /// The strategy's id.
    pub strategy_id: String,
    /// Strategy parameters.
    pub params: JsonObject,
    /// Symbols traded.
    pub symbols: Vec<String>,
    /// Risk limits.
    pub risk_limits: JsonObject,
    /// Whether the strategy is enabled.
    pub enabled: bool,
    /// Version number: 1, 2, 3, ...
    pub version: u64,
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// When this version was written.
    pub updated_at: Timestamp,
    /// True only when a remote client served this from its last-known-good cache because the
    /// server was unreachable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

/// A request to write a new version of a strategy config. Fields left `None` keep the previous
/// version's value (defaults for a new config: `{}`, `[]`, `{}`, enabled `true`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigPut {
    /// The strategy's id.
    pub strategy_id: String,
    /// New parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<JsonObject>,
    /// New symbols.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbols: Option<Vec<String>>,
    /// New risk limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk_limits: Option<JsonObject>,
    /// Enable or disable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Compare-and-set: applies only if the latest version is this one (0 = must not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

/// The outcome of a config put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigWritten {
    /// The service.
    pub service: String,
    /// The strategy's id.
    pub strategy_id: String,
    /// Created or updated.
    pub action: Action,
    /// The version this put wrote.
    pub version: u64,
}

/// Overall health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Everything works.
    Ok,
    /// Serving, with a component impaired.
    Degraded,
    /// Not serving.
    Down,
}

/// The vault's health report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Overall status.
    pub status: HealthStatus,
    /// Component name to state, e.g. `"store": "connected"`.
    pub components: std::collections::BTreeMap<String, String>,
    /// A sentence for people.
    pub message: String,
    /// The vault-core version.
    pub version: String,
    /// When the report was made.
    pub timestamp: Timestamp,
}

/// Every operation of the vault, embedded or remote.
#[async_trait]
pub trait VaultApi: Send + Sync {
    /// Creates or updates a credential (a new version; the last 10 are kept).
    async fn put_credential(&self, put: CredentialPut) -> Result<CredentialWritten>;

    /// The current version of credential `key`. With `service: None` the key must exist under
    /// exactly one service (`conflict` naming them otherwise); `not_found` when missing.
    async fn get_credential(&self, key: &str, service: Option<&str>) -> Result<Credential>;

    /// Credentials of `service`, without values, ordered by key.
    async fn list_credentials(&self, service: &str) -> Result<Vec<CredentialInfo>>;

    /// Deletes credential `key` with all its versions; `not_found` when missing. `service` is
    /// resolved as in [`VaultApi::get_credential`].
    async fn delete_credential(&self, key: &str, service: Option<&str>) -> Result<()>;

    /// Writes a new version of a strategy config.
    async fn put_config(&self, service: &str, put: ConfigPut) -> Result<ConfigWritten>;

    /// A strategy config: the latest version, or version `version`.
    async fn get_config(
        &self,
        service: &str,
        strategy_id: &str,
        version: Option<u64>,
    ) -> Result<StrategyConfig>;

    /// The latest version of every strategy config of `service`, ordered by strategy id.
    async fn list_configs(&self, service: &str) -> Result<Vec<StrategyConfig>>;

    /// Health of the vault and its store.
    async fn health(&self) -> Result<Health>;
}
