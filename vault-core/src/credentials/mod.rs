//! Credentials: (service, key) → secret value plus metadata, encrypted at rest and versioned.
//!
//! This module owns the family's records and its interface, [`CredentialsApi`], which the
//! embedded vault ([`Credentials`]) and the remote client both implement.

mod embedded;
pub mod lifecycle;
mod stored;
mod versions;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use embedded::Credentials;
pub use lifecycle::{
    Charset, CredentialSettings, CredentialVersions, GeneratePolicy, RotateEvery, VersionInfo,
    VersionOp, VersionState,
};
pub(crate) use stored::value_key_ids;
pub(crate) use versions::count_overdue;

use crate::api::check_json_depth;
use crate::clock::Timestamp;
use crate::crypto::SecretString;
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};
use crate::page::{Page, PageRequest};
use crate::{Action, JsonObject};

/// How many versions of a credential are kept (the current one included) unless its
/// `max_versions` says otherwise.
pub const KEPT_VERSIONS: u64 = lifecycle::DEFAULT_MAX_VERSIONS;
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
    /// The oldest version kept.
    #[serde(default = "first_version")]
    pub oldest_version: u64,
    /// How many versions are kept.
    #[serde(default = "default_max_versions")]
    pub max_versions: u64,
    /// The state of the current version (a deleted or destroyed one is not served).
    #[serde(default = "active")]
    pub state: VersionState,
    /// How often the value should change, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate_every: Option<RotateEvery>,
    /// When rotation is due (`updated_at + rotate_every`), when `rotate_every` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<Timestamp>,
    /// Whether rotation is overdue: `now - updated_at >= rotate_every`.
    #[serde(default)]
    pub due: bool,
}

fn first_version() -> u64 {
    1
}

fn default_max_versions() -> u64 {
    KEPT_VERSIONS
}

fn active() -> VersionState {
    VersionState::Active
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
    /// Versions to keep from now on (1 to [`lifecycle::MAX_MAX_VERSIONS`]); `None` keeps the
    /// previous setting (default [`KEPT_VERSIONS`]).
    pub max_versions: Option<u64>,
    /// How often the value should change; `None` keeps the previous setting (none for a new
    /// credential).
    pub rotate_every: Option<RotateEvery>,
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
            max_versions: None,
            rotate_every: None,
        }
    }
}

impl CredentialPut {
    /// Checks the value and metadata against the limits (non-empty value of at most
    /// [`MAX_VALUE_BYTES`], metadata of at most [`MAX_METADATA_BYTES`] and nested at most
    /// [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH) levels): the one rule, applied by the embedded
    /// vault and by a remote client before it sends (so both answer the same `invalid`).
    pub fn check(&self) -> Result<()> {
        if let Some(m) = self.max_versions {
            lifecycle::check_max_versions(m)?;
        }
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
    /// Creates or updates a credential (a new version; the last `max_versions`, default
    /// [`KEPT_VERSIONS`], are kept: older ones are erased in the same commit).
    async fn put(&self, put: CredentialPut) -> Result<CredentialWritten>;

    /// The current version of credential `key`. With `service: None` the key must exist under
    /// exactly one service (`conflict` naming them otherwise); `not_found` when missing, and
    /// when the current version is soft-deleted or destroyed (older versions are not served in
    /// its place).
    async fn get(&self, key: &CredentialKey, service: Option<&ServiceName>) -> Result<Credential>;

    /// Kept version `version` of credential `key` (`service` resolved as in
    /// [`CredentialsApi::get`]); `not_found` when not kept, soft-deleted or destroyed,
    /// `invalid` (field `version`) for 0.
    async fn get_version(
        &self,
        key: &CredentialKey,
        service: Option<&ServiceName>,
        version: u64,
    ) -> Result<Credential>;

    /// The kept versions of a credential without values, newest first: at most `limit`
    /// (default 100, at most 1000) older than `after` (from the current one when `None`).
    /// Needs `read` on the credential; `not_found` when it does not exist.
    async fn versions(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<CredentialVersions>;

    /// Soft-deletes, undeletes or destroys kept version `version` (see [`VersionOp`]) and
    /// returns its new state. Idempotent; `not_found` when the version is not kept (or, to
    /// undelete, destroyed), `invalid` (field `version`) for 0.
    async fn change_version(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        version: u64,
        op: VersionOp,
    ) -> Result<VersionInfo>;

    /// Writes a new version with a value the vault generates by `policy` (creating the
    /// credential when missing); the previous versions stay readable until pruned or deleted.
    /// Returns the outcome only: read the value with [`CredentialsApi::get`].
    async fn rotate(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        policy: GeneratePolicy,
    ) -> Result<CredentialWritten>;

    /// Changes `max_versions` (lowering it erases the oldest versions at once) and
    /// `rotate_every` of an existing credential without writing a version; returns its info.
    async fn set_settings(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        settings: CredentialSettings,
    ) -> Result<CredentialInfo>;

    /// One page of the credentials of `service` whose rotation is overdue
    /// (`now - updated_at >= rotate_every`), ordered by key: of the at most `page.limit`
    /// credentials with a `rotate_every` whose keys sort after `page.after`, those due (so a
    /// page may hold fewer items while `next` says more follow). Never values.
    async fn due(&self, service: &ServiceName, page: PageRequest) -> Result<Page<CredentialInfo>>;

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
