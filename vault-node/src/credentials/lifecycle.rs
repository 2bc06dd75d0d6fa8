//! The credential lifecycle on `NativeVault`: versions listing, version N, one version's
//! delete / undelete / destroy, rotation, settings and the due listing. Arguments become
//! vault-core types here; every rule (version 0, unknown op, bounds) is vault-core's.

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use vault_core::{
    Charset, CredentialKey, CredentialSettings, CredentialVersions, GeneratePolicy, PageRequest,
    ServiceName, VersionInfo, VersionOp,
};

use super::{
    CredentialInfoRecord, CredentialPageRecord, CredentialRecord, CredentialWrittenRecord,
    service_opt,
};
use crate::error::IntoNapi;
use crate::vault::{NativeVault, limit_in, uint_in, version_out};

/// One kept version of a credential, without its value.
#[napi(object)]
pub struct VersionInfoRecord {
    /// Version number.
    pub version: i64,
    /// When it was written (RFC 3339); absent only for a version written before times were
    /// recorded and since destroyed.
    pub created_at: Option<String>,
    /// `"active"`, `"deleted"` or `"destroyed"`.
    pub state: String,
    /// When it was soft-deleted or destroyed (RFC 3339).
    pub deleted_at: Option<String>,
}

impl From<VersionInfo> for VersionInfoRecord {
    fn from(v: VersionInfo) -> Self {
        VersionInfoRecord {
            version: version_out(v.version),
            created_at: v.created_at.map(|t| t.to_string()),
            state: v.state.as_str().to_string(),
            deleted_at: v.deleted_at.map(|t| t.to_string()),
        }
    }
}

/// One page of the kept versions of a credential, newest first.
#[napi(object)]
pub struct CredentialVersionsRecord {
    /// The service.
    pub service: String,
    /// The credential's name.
    pub key: String,
    /// The current version.
    pub current_version: i64,
    /// The oldest version kept.
    pub oldest_version: i64,
    /// How many versions are kept.
    pub max_versions: i64,
    /// The versions of this page, newest first.
    pub versions: Vec<VersionInfoRecord>,
    /// When older versions follow: the `after` of the next page.
    pub next: Option<i64>,
}

impl From<CredentialVersions> for CredentialVersionsRecord {
    fn from(v: CredentialVersions) -> Self {
        CredentialVersionsRecord {
            service: v.service.into_string(),
            key: v.key.into_string(),
            current_version: version_out(v.current_version),
            oldest_version: version_out(v.oldest_version),
            max_versions: version_out(v.max_versions),
            versions: v.versions.into_iter().map(Into::into).collect(),
            next: v.next.map(version_out),
        }
    }
}

fn names(key: String, service: String) -> vault_core::Result<(CredentialKey, ServiceName)> {
    Ok((CredentialKey::new(key)?, ServiceName::new(service)?))
}

#[napi]
impl NativeVault {
    /// Kept version `version` of credential `key`, with its value.
    #[napi]
    pub async fn get_credential_version(
        &self,
        key: String,
        service: Option<String>,
        version: i64,
    ) -> Result<CredentialRecord> {
        let api = self.api()?;
        let key = CredentialKey::new(key).napi()?;
        let service = service_opt(service).napi()?;
        let version = version.unsigned_abs();
        let cred = api
            .credentials()
            .get_version(&key, service.as_ref(), version)
            .await
            .napi()?;
        Ok(cred.into())
    }

    /// The kept versions of credential `key` of `service`, newest first, never values.
    #[napi]
    pub async fn credential_versions(
        &self,
        key: String,
        service: String,
        limit: Option<i64>,
        after: Option<i64>,
    ) -> Result<CredentialVersionsRecord> {
        let api = self.api()?;
        let (key, service) = names(key, service).napi()?;
        let v = api
            .credentials()
            .versions(&key, &service, limit_in(limit), uint_in(after))
            .await
            .napi()?;
        Ok(v.into())
    }

    /// `op` (`delete`, `undelete`, `destroy`) on kept version `version`; its new state.
    #[napi]
    pub async fn change_credential_version(
        &self,
        key: String,
        service: String,
        version: i64,
        op: String,
    ) -> Result<VersionInfoRecord> {
        let api = self.api()?;
        let (key, service) = names(key, service).napi()?;
        let op = VersionOp::parse(&op).napi()?;
        let v = api
            .credentials()
            .change_version(&key, &service, version.unsigned_abs(), op)
            .await
            .napi()?;
        Ok(v.into())
    }

    /// A new version with a generated value (`length`, `charset`); the outcome only.
    #[napi]
    pub async fn rotate_credential(
        &self,
        key: String,
        service: String,
        length: Option<i64>,
        charset: Option<String>,
    ) -> Result<CredentialWrittenRecord> {
        let api = self.api()?;
        let (key, service) = names(key, service).napi()?;
        let default = GeneratePolicy::default();
        let policy = GeneratePolicy {
            length: limit_in(length).unwrap_or(default.length),
            charset: match charset {
                Some(c) => Charset::parse(&c).napi()?,
                None => default.charset,
            },
        };
        let w = api
            .credentials()
            .rotate(&key, &service, policy)
            .await
            .napi()?;
        Ok(w.into())
    }

    /// Changes `max_versions` and `rotate_every` (`"off"` clears it); the credential's info.
    #[napi]
    pub async fn set_credential_settings(
        &self,
        key: String,
        service: String,
        max_versions: Option<i64>,
        rotate_every: Option<String>,
    ) -> Result<CredentialInfoRecord> {
        let api = self.api()?;
        let (key, service) = names(key, service).napi()?;
        let settings = CredentialSettings {
            max_versions: uint_in(max_versions),
            rotate_every: rotate_every
                .as_deref()
                .map(CredentialSettings::parse_rotate_every)
                .transpose()
                .napi()?,
        };
        let info = api
            .credentials()
            .set_settings(&key, &service, settings)
            .await
            .napi()?;
        Ok(info.into())
    }

    /// One page of the credentials of `service` overdue for rotation.
    #[napi]
    pub async fn due_credentials(
        &self,
        service: String,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<CredentialPageRecord> {
        let api = self.api()?;
        let service = ServiceName::new(service).napi()?;
        let page = PageRequest::new(limit_in(limit), after);
        let list = api.credentials().due(&service, page).await.napi()?;
        Ok(CredentialPageRecord::new(&service, list))
    }
}
