//! Credentials: `NativeVault` methods over the credential operations of
//! [`VaultApi`](vault_core::VaultApi), and the records they return.
//!
//! A credential's value crosses into JS as a plain string field; the JS wrapper moves it into a
//! private field of a `Credential` object that redacts it from `util.inspect` and `toJSON`.

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use serde_json::Value;
use vault_core::{Action, Credential, CredentialInfo, CredentialPut, CredentialWritten};

use crate::error::IntoNapi;
use crate::vault::{NativeVault, json_object, version_in, version_out};

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
    pub metadata: Value,
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
            key: c.key,
            service: c.service,
            metadata: Value::Object(c.metadata),
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
    pub metadata: Value,
    /// Current version.
    pub version: i64,
    /// When version 1 was written (RFC 3339).
    pub created_at: String,
    /// When the current version was written (RFC 3339).
    pub updated_at: String,
}

impl From<CredentialInfo> for CredentialInfoRecord {
    fn from(c: CredentialInfo) -> Self {
        CredentialInfoRecord {
            key: c.key,
            service: c.service,
            metadata: Value::Object(c.metadata),
            version: version_out(c.version),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
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
            key: w.key,
            service: w.service,
            action: action_str(w.action),
            version: version_out(w.version),
        }
    }
}

/// `"created"` / `"updated"`.
pub(crate) fn action_str(a: Action) -> String {
    a.as_str().to_string()
}

#[napi]
impl NativeVault {
    /// Creates or updates credential `key` of `service`.
    #[napi]
    pub async fn put_credential(
        &self,
        key: String,
        value: String,
        service: String,
        metadata: Option<Value>,
        expected_version: Option<i64>,
    ) -> Result<CredentialWrittenRecord> {
        let api = self.api()?;
        let put = CredentialPut {
            service,
            key,
            value: value.into(),
            metadata: metadata.map(|m| json_object("metadata", m)).transpose()?,
            expected_version: version_in("expectedVersion", expected_version)?,
        };
        Ok(api.put_credential(put).await.napi()?.into())
    }

    /// The current version of credential `key` (of `service`, or of the one service that has it).
    #[napi]
    pub async fn get_credential(
        &self,
        key: String,
        service: Option<String>,
    ) -> Result<CredentialRecord> {
        let api = self.api()?;
        Ok(api
            .get_credential(&key, service.as_deref())
            .await
            .napi()?
            .into())
    }

    /// The credentials of `service`, without values, ordered by key.
    #[napi]
    pub async fn list_credentials(&self, service: String) -> Result<Vec<CredentialInfoRecord>> {
        let api = self.api()?;
        let list = api.list_credentials(&service).await.napi()?;
        Ok(list.into_iter().map(Into::into).collect())
    }

    /// Deletes credential `key` with all its versions.
    #[napi]
    pub async fn delete_credential(&self, key: String, service: Option<String>) -> Result<()> {
        let api = self.api()?;
        api.delete_credential(&key, service.as_deref()).await.napi()
    }
}
