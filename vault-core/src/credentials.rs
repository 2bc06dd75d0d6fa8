//! Credentials: (service, key) → secret value plus metadata, encrypted at rest and versioned.
//!
//! Store layout: head `cred/h/<service>/<key>` (the current version), kept versions
//! `cred/v/<service>/<key>/<u64 BE>` (the last [`KEPT_VERSIONS`]), and a clear index
//! `cred/k/<key>/<service>` (empty value) to find a key's services without a service given.

use serde::{Deserialize, Serialize};

use crate::api::{Credential, CredentialInfo, CredentialPut, CredentialWritten, JsonObject};
use crate::clock::Timestamp;
use crate::crypto::SecretString;
use crate::error::{Error, Result};
use crate::names::check_name;
use crate::records::{
    MAX_ATTEMPTS, NextVersion, PAGE, Versioned, head_key, head_prefix, name_from_key, read_head,
    seal_json, version_key, versions_prefix, write_next_version,
};
use crate::store::{Condition, Write};
use crate::vault::Inner;

const FAMILY: &str = "cred";
/// How many versions of a credential are kept (the current one included).
pub const KEPT_VERSIONS: u64 = 10;
/// Largest accepted credential value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Largest accepted metadata object, in bytes of JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;

#[derive(Serialize)]
struct StoredRef<'a> {
    value: &'a str,
    metadata: &'a JsonObject,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

#[derive(Deserialize)]
struct Stored {
    value: String,
    metadata: JsonObject,
    version: u64,
    created_at: i64,
    updated_at: i64,
}

impl Versioned for Stored {
    fn version(&self) -> u64 {
        self.version
    }
}

impl Stored {
    fn into_credential(self, service: &str, key: &str) -> Credential {
        Credential {
            service: service.to_string(),
            key: key.to_string(),
            value: SecretString::new(self.value),
            metadata: self.metadata,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        }
    }

    fn into_info(self, service: &str, key: &str) -> CredentialInfo {
        // `self.value` is a plain String here: wrap it so it is wiped when dropped.
        let Stored {
            value,
            metadata,
            version,
            created_at,
            updated_at,
        } = self;
        drop(SecretString::new(value));
        CredentialInfo {
            service: service.to_string(),
            key: key.to_string(),
            metadata,
            version,
            created_at: Timestamp::from_millis(created_at),
            updated_at: Timestamp::from_millis(updated_at),
        }
    }
}

fn index_key(key: &str, service: &str) -> Vec<u8> {
    format!("{FAMILY}/k/{key}/{service}").into_bytes()
}

fn not_found(key: &str) -> Error {
    Error::NotFound(format!("Credential '{key}' not found"))
}

/// Checks a metadata object's size.
fn check_metadata(metadata: &JsonObject) -> Result<()> {
    let len = serde_json::to_vec(metadata)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if len > MAX_METADATA_BYTES {
        return Err(Error::invalid(
            "metadata",
            format!("must be at most {MAX_METADATA_BYTES} bytes of JSON"),
        ));
    }
    Ok(())
}

/// The credentials of a vault.
pub struct Credentials<'v> {
    inner: &'v Inner,
}

impl<'v> Credentials<'v> {
    pub(crate) fn new(inner: &'v Inner) -> Self {
        Credentials { inner }
    }

    /// Creates or updates a credential; see [`VaultApi::put_credential`](crate::VaultApi::put_credential).
    pub async fn put(&self, put: CredentialPut) -> Result<CredentialWritten> {
        check_name("service", &put.service)?;
        check_name("key", &put.key)?;
        if put.value.is_empty() {
            return Err(Error::invalid("value", "must not be empty"));
        }
        if put.value.len() > MAX_VALUE_BYTES {
            return Err(Error::invalid(
                "value",
                format!("must be at most {MAX_VALUE_BYTES} bytes"),
            ));
        }
        if let Some(m) = &put.metadata {
            check_metadata(m)?;
        }
        let barrier = &self.inner.barrier;
        let head = head_key(FAMILY, &put.service, &put.key);
        let what = || format!("credential '{}' of service '{}'", put.key, put.service);
        write_next_version(
            barrier,
            &head,
            put.expected_version,
            what,
            |NextVersion {
                 prev,
                 version,
                 action,
             }: NextVersion<Stored>| {
                let now = self.inner.clock.now().as_millis();
                let metadata = match (&put.metadata, &prev) {
                    (Some(m), _) => m.clone(),
                    (None, Some(p)) => p.metadata.clone(),
                    (None, None) => JsonObject::new(),
                };
                let record = StoredRef {
                    value: put.value.expose_secret(),
                    metadata: &metadata,
                    version,
                    created_at: prev.as_ref().map_or(now, |p| p.created_at),
                    updated_at: now,
                };
                let vkey = version_key(FAMILY, &put.service, &put.key, version);
                let mut writes = vec![
                    Write::Put(head.clone(), seal_json(barrier, &head, &record)?),
                    Write::Put(vkey.clone(), seal_json(barrier, &vkey, &record)?),
                    Write::Put(index_key(&put.key, &put.service), Vec::new()),
                ];
                if version > KEPT_VERSIONS {
                    let old = version - KEPT_VERSIONS;
                    writes.push(Write::Delete(version_key(
                        FAMILY,
                        &put.service,
                        &put.key,
                        old,
                    )));
                }
                if let Some(p) = prev {
                    drop(SecretString::new(p.value));
                }
                Ok((
                    writes,
                    CredentialWritten {
                        service: put.service.clone(),
                        key: put.key.clone(),
                        action,
                        version,
                    },
                ))
            },
        )
        .await
    }

    /// The services under which `key` exists, in order (at most `limit`).
    async fn services_of(&self, key: &str, limit: usize) -> Result<Vec<String>> {
        let prefix = format!("{FAMILY}/k/{key}/").into_bytes();
        self.inner
            .barrier
            .store()
            .scan(&prefix, None, limit)
            .await?
            .into_iter()
            .map(|(k, _)| name_from_key(&prefix, &k))
            .collect()
    }

    /// Resolves the service of `key`: the given one (validated), or the only one it exists
    /// under; `not_found` when under none, `conflict` naming them when under several.
    pub async fn resolve_service(&self, key: &str, service: Option<&str>) -> Result<String> {
        check_name("key", key)?;
        if let Some(s) = service {
            check_name("service", s)?;
            return Ok(s.to_string());
        }
        let services = self.services_of(key, 64).await?;
        match services.as_slice() {
            [] => Err(not_found(key)),
            [one] => Ok(one.clone()),
            many => Err(Error::Conflict(format!(
                "Credential '{key}' exists under several services ({}); pass a service",
                many.join(", ")
            ))),
        }
    }

    /// The current version of a credential, decrypted.
    pub async fn get(&self, key: &str, service: Option<&str>) -> Result<Credential> {
        let service = self.resolve_service(key, service).await?;
        let head = head_key(FAMILY, &service, key);
        match read_head::<Stored>(&self.inner.barrier, &head).await? {
            Some(h) => Ok(h.record.into_credential(&service, key)),
            None => Err(not_found(key)),
        }
    }

    /// A kept version of a credential; `not_found` when never written or pruned.
    pub async fn get_version(&self, key: &str, service: &str, version: u64) -> Result<Credential> {
        check_name("key", key)?;
        check_name("service", service)?;
        let vkey = version_key(FAMILY, service, key, version);
        match read_head::<Stored>(&self.inner.barrier, &vkey).await? {
            Some(h) => Ok(h.record.into_credential(service, key)),
            None => Err(Error::NotFound(format!(
                "Credential '{key}' has no kept version {version}"
            ))),
        }
    }

    /// Every credential of `service`, without values, ordered by key.
    pub async fn list(&self, service: &str) -> Result<Vec<CredentialInfo>> {
        check_name("service", service)?;
        let prefix = head_prefix(FAMILY, service);
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .inner
                .barrier
                .scan(&prefix, after.as_deref(), PAGE)
                .await?;
            let full = page.len() == PAGE;
            for (k, plain) in page {
                let name = name_from_key(&prefix, &k)?;
                let stored: Stored =
                    serde_json::from_slice(&plain).map_err(|_| Error::Integrity)?;
                out.push(stored.into_info(service, &name));
                after = Some(k);
            }
            if !full {
                return Ok(out);
            }
        }
    }

    /// Deletes a credential and all its kept versions.
    pub async fn delete(&self, key: &str, service: Option<&str>) -> Result<()> {
        let service = self.resolve_service(key, service).await?;
        let store = self.inner.barrier.store();
        let head = head_key(FAMILY, &service, key);
        let versions = versions_prefix(FAMILY, &service, key);
        // Works on raw bytes, decrypting nothing: a record that fails its integrity check can
        // still be deleted.
        for _ in 0..MAX_ATTEMPTS {
            let current = store.get(&head).await?.ok_or_else(|| not_found(key))?;
            let mut writes: Vec<Write> = store
                .scan(&versions, None, usize::MAX)
                .await?
                .into_iter()
                .map(|(k, _)| Write::Delete(k))
                .collect();
            writes.push(Write::Delete(head.clone()));
            writes.push(Write::Delete(index_key(key, &service)));
            let unchanged = Condition::Equals(head.clone(), current);
            if store.commit(vec![unchanged], writes).await? {
                return Ok(());
            }
        }
        Err(Error::Conflict(format!(
            "credential '{key}' of service '{service}' is under heavy concurrent writes; retry"
        )))
    }
}
