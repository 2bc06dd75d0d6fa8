//! The remote audit log: [`AuditApi`] over `/api/vault/audit`.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use vault_core::{AuditApi, AuditEntry, AuditQuery, Page, Result, VerifyReport};

use crate::transport::Transport;
use crate::wire::service_api::{
    AUDIT, AUDIT_VERIFY, AuditListReply, AuditQueryParams, AuditVerifyReply,
};

/// The audit log of a remote vault, read with the client's token (`read` on `audit`).
pub struct RemoteAudit {
    pub(crate) transport: Arc<Transport>,
}

#[async_trait]
impl AuditApi for RemoteAudit {
    async fn query(&self, query: AuditQuery) -> Result<Page<AuditEntry>> {
        // vault-core's rules, checked before sending (as embedded).
        query.check()?;
        let url = self.transport.url(AUDIT, &AuditQueryParams::new(&query))?;
        let r: AuditListReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into_page())
    }

    async fn verify(&self) -> Result<VerifyReport> {
        let url = self.transport.url(AUDIT_VERIFY, &())?;
        let r: AuditVerifyReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into())
    }
}
