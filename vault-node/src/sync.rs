//! Synchronous reads for embedded mode: `getCredentialSync`, `getConfigSync`.
//!
//! An awaited call pays for two thread hand-offs (JS thread to a tokio worker, then back through
//! a threadsafe function waking the event loop) that cost ~18-20 µs of CPU and 20-90 µs of wall
//! time depending on machine load, against ~3 µs for the embedded read itself: a sled lookup,
//! decryption and the JS record. These methods run the same vault-core future on the calling JS
//! thread instead (as better-sqlite3 does), with napi's tokio `block_on` so anything the future
//! might need from the runtime is there. Embedded reads never wait on I/O readiness (sled reads
//! are synchronous), so the call takes as long as the read.
//!
//! Remote mode refuses them with `invalid`: a remote call is a network round trip of up to the
//! request timeout, which would freeze the event loop. The awaited methods are unchanged: they
//! keep the promise that the event loop never waits on storage or network.

use std::sync::Arc;

use napi::bindgen_prelude::{Result, block_on};
use napi_derive::napi;
use vault_core::{CredentialKey, ServiceName, StrategyId, VaultApi};

use crate::configs::ConfigRecord;
use crate::credentials::CredentialRecord;
use crate::error::IntoNapi;
use crate::vault::{NativeVault, uint_in};

impl NativeVault {
    /// The vault for a synchronous call: `invalid` once closed, or when remote.
    fn embedded_api(&self) -> Result<Arc<dyn VaultApi>> {
        let api = self.api()?;
        if self.mode_str() != "embedded" {
            return Err(vault_core::Error::invalid(
                "call",
                "synchronous calls are embedded-only (a remote call would block the event loop \
                 on the network); use the awaited form",
            ))
            .napi();
        }
        Ok(api)
    }
}

#[napi]
impl NativeVault {
    /// `getCredential` on the calling thread (embedded only); throws instead of rejecting.
    #[napi]
    pub fn get_credential_sync(
        &self,
        key: String,
        service: Option<String>,
    ) -> Result<CredentialRecord> {
        let api = self.embedded_api()?;
        let key = CredentialKey::new(key).napi()?;
        let service = service.map(ServiceName::new).transpose().napi()?;
        let cred = block_on(api.credentials().get(&key, service.as_ref())).napi()?;
        Ok(cred.into())
    }

    /// `getConfig` on the calling thread (embedded only); throws instead of rejecting.
    #[napi]
    pub fn get_config_sync(
        &self,
        service: String,
        strategy_id: String,
        version: Option<i64>,
    ) -> Result<ConfigRecord> {
        let api = self.embedded_api()?;
        let service = ServiceName::new(service).napi()?;
        let strategy_id = StrategyId::new(strategy_id).napi()?;
        let config =
            block_on(api.configs().get(&service, &strategy_id, uint_in(version))).napi()?;
        Ok(config.into())
    }
}
