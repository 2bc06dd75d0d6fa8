//! Remote credentials: [`CredentialsApi`] over `/api/vault/credentials`. Never cached.

use std::borrow::Cow;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use vault_core::crypto::SecretString;
use vault_core::{
    Credential, CredentialDeleted, CredentialInfo, CredentialKey, CredentialPut, CredentialWritten,
    CredentialsApi, Page, PageRequest, Result, ServiceName,
};

use crate::transport::Transport;
use crate::wire::service_api::{
    CREDENTIAL, CREDENTIALS, CredentialDeletedReply, CredentialListReply, CredentialPutBody,
    CredentialReply, CredentialWrittenReply, RequiredServiceQuery, ServiceQuery, fill_path,
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
        };
        let url = self.transport.url(CREDENTIALS, &())?;
        let r: CredentialWrittenReply = self
            .transport
            .call_json(Method::POST, url, Some(&body))
            .await?;
        Ok(r.into())
    }

    async fn get(&self, key: &CredentialKey, service: Option<&ServiceName>) -> Result<Credential> {
        let path = fill_path(CREDENTIAL, &[("key", key)]);
        let url = self.transport.url(&path, &service_query(service))?;
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
