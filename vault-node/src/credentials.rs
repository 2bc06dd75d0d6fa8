//! Credentials: `NativeVault` methods over [`CredentialsApi`](vault_core::CredentialsApi), and
//! the records they return. Names enter Rust here and become typed vault-core names.
//!
//! A credential's value crosses into JS as a plain string field; the JS wrapper moves it into a
//! private field of a `Credential` object that redacts it from `util.inspect` and `toJSON`.

mod lifecycle;

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use serde_json::{Map, Value};
use vault_core::{
    Credential, CredentialDeleted, CredentialInfo, CredentialKey, CredentialPut, CredentialWritten,
    Page, PageRequest, RotateEvery, ServiceName,
};

use crate::error::IntoNapi;
use crate::vault::{NativeVault, UnreadableRecord, limit_in, uint_in, unreadable_out, version_out};

/// A credential with its value (the wrapper hides `value` from printing).
#[napi(object)]
pub struct CredentialRecord {
    /// The credential's name.
    pub key: String,
    /// The service it belongs to.
    pub service: String,
    /// The secret value.
    pub value: String,
    /// Free-form, non-secret metadata.
    pub metadata: Map<String, Value>,
    /// Current version, 1 for the first put.
    pub version: i64,
    /// When version 1 was written (RFC 3339).
    pub created_at: String,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
}

impl From<Credential> for CredentialRecord {
    fn from(c: Credential) -> Self {
        CredentialRecord {
            value: c.value.expose_secret().to_string(),
            key: c.key.into_string(),
            service: c.service.into_string(),
            metadata: c.metadata,
            version: version_out(c.version),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
        }
    }
}

/// A credential as listed: everything but the value.
#[napi(object)]
pub struct CredentialInfoRecord {
    /// The credential's name.
    pub key: String,
    /// The service it belongs to.
    pub service: String,
    /// Free-form, non-secret metadata.
    pub metadata: Map<String, Value>,
    /// Current version.
    pub version: i64,
    /// When version 1 was written (RFC 3339).
    pub created_at: String,
    /// When the current version was written (RFC 3339).
    pub updated_at: String,
    /// The oldest version kept.
    pub oldest_version: i64,
    /// How many versions are kept.
    pub max_versions: i64,
    /// State of the current version: `"active"`, `"deleted"` or `"destroyed"`.
    pub state: String,
    /// The rotation period (`"7d"`, `"12h"`, ...), when set.
    pub rotate_every: Option<String>,
    /// When rotation is due (RFC 3339), when `rotate_every` is set.
    pub due_at: Option<String>,
    /// Whether rotation is overdue: `now - updated_at >= rotate_every`.
    pub due: bool,
}

impl From<CredentialInfo> for CredentialInfoRecord {
    fn from(c: CredentialInfo) -> Self {
        CredentialInfoRecord {
            key: c.key.into_string(),
            service: c.service.into_string(),
            metadata: c.metadata,
            version: version_out(c.version),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            oldest_version: version_out(c.oldest_version),
            max_versions: version_out(c.max_versions),
            state: c.state.as_str().to_string(),
            rotate_every: c.rotate_every.map(|r| r.to_string()),
            due_at: c.due_at.map(|t| t.to_string()),
            due: c.due,
        }
    }
}

/// One page of credentials (`index.js` makes it an array with `next` and `unreadable`).
#[napi(object)]
pub struct CredentialPageRecord {
    /// The credentials of this page that could be read, ordered by key.
    pub items: Vec<CredentialInfoRecord>,
    /// Present when more follow: the `after` of the next page.
    pub next: Option<String>,
    /// The credentials of this page that could not be read.
    pub unreadable: Vec<UnreadableRecord>,
}

impl CredentialPageRecord {
    pub(crate) fn new(service: &ServiceName, page: Page<CredentialInfo>) -> Self {
        CredentialPageRecord {
            items: page.items.into_iter().map(Into::into).collect(),
            next: page.next,
            unreadable: unreadable_out(service, page.unreadable),
        }
    }
}

/// The outcome of a credential put.
#[napi(object)]
pub struct CredentialWrittenRecord {
    /// The credential's name.
    pub key: String,
    /// The service.
    pub service: String,
    /// `"created"` or `"updated"`.
    pub action: String,
    /// The version this put wrote.
    pub version: i64,
}

impl From<CredentialWritten> for CredentialWrittenRecord {
    fn from(w: CredentialWritten) -> Self {
        CredentialWrittenRecord {
            key: w.key.into_string(),
            service: w.service.into_string(),
            action: w.action.as_str().to_string(),
            version: version_out(w.version),
        }
    }
}

/// The outcome of a credential delete: what was deleted.
#[napi(object)]
pub struct CredentialDeletedRecord {
    /// The service the credential was under (resolved when none was given).
    pub service: String,
    /// The credential's name.
    pub key: String,
}

impl From<CredentialDeleted> for CredentialDeletedRecord {
    fn from(d: CredentialDeleted) -> Self {
        CredentialDeletedRecord {
            service: d.service.into_string(),
            key: d.key.into_string(),
        }
    }
}

/// An optional service name, typed.
fn service_opt(service: Option<String>) -> vault_core::Result<Option<ServiceName>> {
    service.map(ServiceName::new).transpose()
}

#[napi]
impl NativeVault {
    /// Creates or updates credential `key` of `service`.
    #[napi]
    #[allow(clippy::too_many_arguments)] // the JS options, one each
    pub async fn put_credential(
        &self,
        key: String,
        value: String,
        service: String,
        metadata: Option<Map<String, Value>>,
        expected_version: Option<i64>,
        max_versions: Option<i64>,
        rotate_every: Option<String>,
    ) -> Result<CredentialWrittenRecord> {
        let api = self.api()?;
        let put = CredentialPut {
            service: ServiceName::new(service).napi()?,
            key: CredentialKey::new(key).napi()?,
            value: value.into(),
            metadata,
            expected_version: uint_in(expected_version),
            max_versions: uint_in(max_versions),
            rotate_every: rotate_every
                .as_deref()
                .map(RotateEvery::parse)
                .transpose()
                .napi()?,
        };
        Ok(api.credentials().put(put).await.napi()?.into())
    }

    /// The current version of credential `key` (of `service`, or of the one service that has it).
    #[napi]
    pub async fn get_credential(
        &self,
        key: String,
        service: Option<String>,
    ) -> Result<CredentialRecord> {
        let api = self.api()?;
        let key = CredentialKey::new(key).napi()?;
        let service = service_opt(service).napi()?;
        let cred = api.credentials().get(&key, service.as_ref()).await.napi()?;
        Ok(cred.into())
    }

    /// One page of the credentials of `service`, without values, ordered by key.
    #[napi]
    pub async fn list_credentials(
        &self,
        service: String,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<CredentialPageRecord> {
        let api = self.api()?;
        let service = ServiceName::new(service).napi()?;
        let page = PageRequest::new(limit_in(limit), after);
        let list = api.credentials().list(&service, page).await.napi()?;
        Ok(CredentialPageRecord::new(&service, list))
    }

    /// Deletes credential `key` with all its versions; resolves to what was deleted.
    #[napi]
    pub async fn delete_credential(
        &self,
        key: String,
        service: Option<String>,
    ) -> Result<CredentialDeletedRecord> {
        let api = self.api()?;
        let key = CredentialKey::new(key).napi()?;
        let service = service_opt(service).napi()?;
        let deleted = api
            .credentials()
            .delete(&key, service.as_ref())
            .await
            .napi()?;
        Ok(deleted.into())
    }
}
