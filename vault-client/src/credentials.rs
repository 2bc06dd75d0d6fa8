//! Remote credentials: [`CredentialsApi`] over `/api/vault/credentials`. Never cached.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use vault_core::credentials::lifecycle;
use vault_core::crypto::SecretString;
use vault_core::{
    Credential, CredentialDeleted, CredentialInfo, CredentialKey, CredentialPut,
    CredentialSettings, CredentialVersions, CredentialWritten, CredentialsApi, GeneratePolicy,
    Page, PageRequest, Result, ServiceName, VersionInfo, VersionOp,
};

use crate::transport::Transport;
use crate::wire::service_api::{
    CREDENTIAL, CREDENTIAL_ROTATE, CREDENTIAL_SETTINGS, CREDENTIAL_VERSION_OP, CREDENTIAL_VERSIONS,
    CREDENTIALS, CREDENTIALS_DUE, CredentialDeletedReply, CredentialGetQuery, CredentialListReply,
    CredentialPutBody, CredentialReply, CredentialSettingsBody, CredentialSettingsReply,
    CredentialVersionsReply, CredentialWrittenReply, RequiredServiceQuery, RotateBody,
    ServiceOnlyQuery, ServiceQuery, VersionChangedReply, VersionsQuery, fill_path,
};

/// The credentials of a remote vault.
pub struct RemoteCredentials {
    pub(crate) transport: Arc<Transport>,
}

fn service_query(service: Option<&ServiceName>) -> ServiceQuery {
    ServiceQuery {
        service: service.map(ToString::to_string),
    }
}

fn only_service(service: &ServiceName) -> ServiceOnlyQuery {
    ServiceOnlyQuery {
        service: service.to_string(),
    }
}

impl RemoteCredentials {
    /// `GET` [`CREDENTIAL`] with `query`: one version's value.
    async fn read(&self, key: &CredentialKey, query: &CredentialGetQuery) -> Result<Credential> {
        let path = fill_path(CREDENTIAL, &[("key", key)]);
        let url = self.transport.url(&path, query)?;
        let r: CredentialReply<'static> = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(Credential {
            service: r.service,
            key: r.key,
            value: SecretString::new(r.value.into_owned()),
            metadata: r.metadata.into_owned(),
            version: r.version,
            created_at: r.created_at.unwrap_or(r.updated_at),
            updated_at: r.updated_at,
        })
    }
}

#[async_trait]
impl CredentialsApi for RemoteCredentials {
    async fn put(&self, put: CredentialPut) -> Result<CredentialWritten> {
        // vault-core's rule, checked before sending: the same `invalid` as embedded, and never
        // `unavailable` or `payload_too_large` for input that could not succeed anyway.
        put.check()?;
        let body = CredentialPutBody {
            key: Cow::Borrowed(put.key.as_str()),
            service: Cow::Borrowed(put.service.as_str()),
            value: Cow::Borrowed(put.value.expose_secret()),
            metadata: put.metadata.as_ref().map(Cow::Borrowed),
            expected_version: put.expected_version,
            max_versions: put.max_versions,
            rotate_every: put.rotate_every.map(|r| Cow::Owned(r.to_string())),
        };
        let url = self.transport.url(CREDENTIALS, &())?;
        let r: CredentialWrittenReply = self
            .transport
            .call_json(Method::POST, url, Some(&body))
            .await?;
        Ok(r.into())
    }

    async fn get(&self, key: &CredentialKey, service: Option<&ServiceName>) -> Result<Credential> {
        let query = CredentialGetQuery {
            service: service.map(ToString::to_string),
            version: None,
        };
        self.read(key, &query).await
    }

    async fn get_version(
        &self,
        key: &CredentialKey,
        service: Option<&ServiceName>,
        version: u64,
    ) -> Result<Credential> {
        lifecycle::check_version(version)?;
        let query = CredentialGetQuery {
            service: service.map(ToString::to_string),
            version: Some(version),
        };
        self.read(key, &query).await
    }

    async fn versions(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<CredentialVersions> {
        lifecycle::check_versions_limit(limit)?;
        let path = fill_path(CREDENTIAL_VERSIONS, &[("key", key)]);
        let query = VersionsQuery {
            service: service.to_string(),
            limit,
            after,
        };
        let url = self.transport.url(&path, &query)?;
        let r: CredentialVersionsReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into())
    }

    async fn change_version(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        version: u64,
        op: VersionOp,
    ) -> Result<VersionInfo> {
        lifecycle::check_version(version)?;
        let n = version.to_string();
        let path = fill_path(
            CREDENTIAL_VERSION_OP,
            &[("key", key), ("version", &n), ("op", op.as_str())],
        );
        let url = self.transport.url(&path, &only_service(service))?;
        let r: VersionChangedReply = self
            .transport
            .call_json(Method::POST, url, None::<&()>)
            .await?;
        Ok(r.version.into())
    }

    async fn rotate(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        policy: GeneratePolicy,
    ) -> Result<CredentialWritten> {
        policy.check()?;
        let path = fill_path(CREDENTIAL_ROTATE, &[("key", key)]);
        let url = self.transport.url(&path, &only_service(service))?;
        let r: CredentialWrittenReply = self
            .transport
            .call_json(Method::POST, url, Some(&RotateBody::from_policy(&policy)))
            .await?;
        Ok(r.into())
    }

    async fn set_settings(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        settings: CredentialSettings,
    ) -> Result<CredentialInfo> {
        settings.check()?;
        let path = fill_path(CREDENTIAL_SETTINGS, &[("key", key)]);
        let url = self.transport.url(&path, &only_service(service))?;
        let body = CredentialSettingsBody::from_settings(&settings);
        let r: CredentialSettingsReply = self
            .transport
            .call_json(Method::POST, url, Some(&body))
            .await?;
        Ok(r.credential.into())
    }

    async fn due(&self, service: &ServiceName, page: PageRequest) -> Result<Page<CredentialInfo>> {
        page.checked_limit()?;
        page.checked_after()?;
        let query = RequiredServiceQuery::new(service, &page);
        let url = self.transport.url(CREDENTIALS_DUE, &query)?;
        let r: CredentialListReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into_page())
    }

    async fn list(&self, service: &ServiceName, page: PageRequest) -> Result<Page<CredentialInfo>> {
        page.checked_limit()?;
        page.checked_after()?;
        let query = RequiredServiceQuery::new(service, &page);
        let url = self.transport.url(CREDENTIALS, &query)?;
        let r: CredentialListReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into_page())
    }

    async fn delete(
        &self,
        key: &CredentialKey,
        service: Option<&ServiceName>,
    ) -> Result<CredentialDeleted> {
        let path = fill_path(CREDENTIAL, &[("key", key)]);
        let url = self.transport.url(&path, &service_query(service))?;
        let r: CredentialDeletedReply = self
            .transport
            .call_json(Method::DELETE, url, None::<&()>)
            .await?;
        Ok(CredentialDeleted {
            service: r.service,
            key: r.key,
        })
    }
}
