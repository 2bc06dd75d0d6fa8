//! Credentials: (service, key) → secret value plus metadata, encrypted at rest and versioned.
//!
//! This module owns the family's records and its interface, [`CredentialsApi`], which the
//! embedded vault ([`Credentials`]) and the remote client both implement.

mod embedded;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use embedded::Credentials;

use crate::api::check_json_depth;
use crate::clock::Timestamp;
use crate::crypto::SecretString;
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};
use crate::page::{Page, PageRequest};
use crate::{Action, JsonObject};

/// How many versions of a credential are kept (the current one included).
pub const KEPT_VERSIONS: u64 = 10;
/// Largest accepted credential value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Largest accepted metadata object, in bytes of JSON (nested at most
/// [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH) levels deep).
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

/// A credential with its decrypted value.
#[derive(Debug, Clone, PartialEq)]
pub struct Credential {
    /// The service the credential belongs to.
    pub service: ServiceName,
    /// The credential's name, e.g. `OANDA_API_KEY`.
    pub key: CredentialKey,
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
    pub service: ServiceName,
    /// The credential's name.
    pub key: CredentialKey,
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
    pub service: ServiceName,
    /// The credential's name.
    pub key: CredentialKey,
    /// The secret value (non-empty, at most [`MAX_VALUE_BYTES`]).
    pub value: SecretString,
    /// Metadata; `None` keeps the previous version's (empty for a new credential).
    pub metadata: Option<JsonObject>,
    /// Compare-and-set: the put applies only if the current version is this one (0 = must not
    /// exist yet); `conflict` otherwise.
    pub expected_version: Option<u64>,
}

impl CredentialPut {
    /// A put of `value` under `service`/`key` with no metadata change and no compare-and-set.
    pub fn new(service: ServiceName, key: CredentialKey, value: impl Into<SecretString>) -> Self {
        CredentialPut {
            service,
            key,
            value: value.into(),
            metadata: None,
            expected_version: None,
        }
    }
}

impl CredentialPut {
    /// Checks the value and metadata against the limits (non-empty value of at most
    /// [`MAX_VALUE_BYTES`], metadata of at most [`MAX_METADATA_BYTES`] and nested at most
    /// [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH) levels): the one rule, applied by the embedded
    /// vault and by a remote client before it sends (so both answer the same `invalid`).
    pub fn check(&self) -> Result<()> {
        if self.value.is_empty() {
            return Err(Error::invalid("value", "must not be empty"));
        }
        if self.value.len() > MAX_VALUE_BYTES {
            return Err(Error::invalid(
                "value",
                format!("must be at most {MAX_VALUE_BYTES} bytes"),
            ));
        }
        if let Some(m) = &self.metadata {
            let len = serde_json::to_vec(m).map(|v| v.len()).unwrap_or(usize::MAX);
            if len > MAX_METADATA_BYTES {
                return Err(Error::invalid(
                    "metadata",
                    format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
                ));
            }
            check_json_depth("metadata", m)?;
        }
        Ok(())
    }
}

/// The outcome of a credential put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialWritten {
    /// The service.
    pub service: ServiceName,
    /// The credential's name.
    pub key: CredentialKey,
    /// Created or updated.
    pub action: Action,
    /// The version this put wrote.
    pub version: u64,
}

/// The outcome of a credential delete: what was deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDeleted {
    /// The service the credential was under (resolved when the caller gave none).
    pub service: ServiceName,
    /// The credential's name.
    pub key: CredentialKey,
}

/// The credential operations, embedded or remote.
#[async_trait]
pub trait CredentialsApi: Send + Sync {
    /// Creates or updates a credential (a new version; the last [`KEPT_VERSIONS`] are kept).
    async fn put(&self, put: CredentialPut) -> Result<CredentialWritten>;

    /// The current version of credential `key`. With `service: None` the key must exist under
    /// exactly one service (`conflict` naming them otherwise); `not_found` when missing.
    async fn get(&self, key: &CredentialKey, service: Option<&ServiceName>) -> Result<Credential>;

    /// One page of the credentials of `service`, without values, ordered by key: at most
    /// `page.limit` (default 100, at most 1000) whose keys sort after `page.after`. Values are
    /// never decrypted to list them. A credential that cannot be read is reported in
    /// [`Page::unreadable`] instead of failing the listing.
    async fn list(&self, service: &ServiceName, page: PageRequest) -> Result<Page<CredentialInfo>>;

    /// Deletes credential `key` with all its versions; `not_found` when missing. `service` is
    /// resolved as in [`CredentialsApi::get`]; the outcome names it.
    async fn delete(
        &self,
        key: &CredentialKey,
        service: Option<&ServiceName>,
    ) -> Result<CredentialDeleted>;
}
