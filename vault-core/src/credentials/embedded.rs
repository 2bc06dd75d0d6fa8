//! The embedded credentials: the operations over the barrier (the stored records and keys are
//! in `stored.rs`, the lifecycle operations in `versions.rs`).

use async_trait::async_trait;

use super::lifecycle;
use super::stored::{
    FAMILY, Lifecycle, Stored, StoredInfo, StoredRef, VersionMeta, check_served, due_at, due_moves,
    due_prefix, due_time_key, info_key, open_value, seal_value,
};
use super::{
    Credential, CredentialDeleted, CredentialInfo, CredentialPut, CredentialSettings,
    CredentialVersions, CredentialWritten, CredentialsApi, GeneratePolicy, VersionInfo, VersionOp,
};
use crate::JsonObject;
use crate::context::{Capability, Ctx, Operation};
use crate::crypto::{SecretString, random_base62};
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};
use crate::page::{Page, PageRequest};
use crate::records::{
    MAX_ATTEMPTS, NextVersion, Visible, decode_json, head_key, head_prefix, name_from_key,
    read_head, read_page, seal_json, version_key, versions_prefix, write_next_version,
};
use crate::store::{Condition, Write};

fn index_key(key: &CredentialKey, service: &ServiceName) -> Vec<u8> {
    format!("{FAMILY}/k/{key}/{service}").into_bytes()
}

pub(super) fn no_version(key: &CredentialKey, version: u64) -> Error {
    Error::NotFound(format!("Credential '{key}' has no kept version {version}"))
}

pub(super) fn not_found(key: &CredentialKey) -> Error {
    Error::NotFound(format!("Credential '{key}' not found"))
}

/// The service part of a resource path: the service, or `*` when the operation resolves it
/// (the key under whichever one service holds it). Resolution runs inside the choke point, so
/// it is authorized and recorded like the rest of the operation.
fn service_part(service: Option<&ServiceName>) -> &str {
    service.map_or("*", ServiceName::as_str)
}

pub(super) fn op(
    name: &'static str,
    capability: Capability,
    service: &str,
    key: &str,
) -> Operation {
    Operation::new(name, capability, format!("credentials/{service}/{key}"))
}

/// The credentials of an embedded vault, as seen by one caller.
#[derive(Clone)]
pub struct Credentials {
    pub(super) ctx: Ctx,
}

impl Credentials {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Credentials { ctx }
    }

    /// The services under which `key` exists, in order (at most `limit`).
    async fn services_of(&self, key: &CredentialKey, limit: usize) -> Result<Vec<ServiceName>> {
        let prefix = format!("{FAMILY}/k/{key}/").into_bytes();
        self.ctx
            .barrier()
            .scan_keys(&prefix, None, limit)
            .await?
            .into_iter()
            .map(|k| ServiceName::new(name_from_key(&prefix, &k)?).map_err(|_| Error::Integrity))
            .collect()
    }

    /// Resolves the service of `key` for an operation needing `capability`: the given one,
    /// or the only one it exists under among those the caller may use it in (a scoped token
    /// never learns of the others); `not_found` when under none, `conflict` naming them when
    /// under several. The resolved path is then checked like any other.
    pub(super) async fn resolve_service(
        &self,
        key: &CredentialKey,
        service: Option<&ServiceName>,
        capability: Capability,
    ) -> Result<ServiceName> {
        let allowed = |s: &ServiceName| {
            self.ctx
                .allows(capability, &format!("credentials/{s}/{key}"))
        };
        if let Some(s) = service {
            return Ok(s.clone());
        }
        let mut services = self.services_of(key, 64).await?;
        services.retain(allowed);
        match services.as_slice() {
            [] => Err(not_found(key)),
            [one] => {
                self.ctx.resolved(format!("credentials/{one}/{key}"));
                Ok(one.clone())
            }
            many => Err(Error::Conflict(format!(
                "Credential '{key}' exists under several services ({}); pass a service",
                many.iter()
                    .map(ServiceName::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Kept version `version` of the credential of `service`; `not_found` when never written,
    /// pruned, soft-deleted or destroyed.
    async fn get_version_inner(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        version: u64,
    ) -> Result<Credential> {
        lifecycle::check_version(version)?;
        let barrier = self.ctx.barrier();
        // The head (checked against the freshness ledger) says which versions are kept and
        // served: a version record outside them, or of an earlier credential of the same
        // name, was written back and is not served.
        let head_key = head_key(FAMILY, service, key);
        let head = read_head::<Stored>(barrier, &head_key)
            .await?
            .ok_or_else(|| not_found(key))?;
        let (raw, head) = (head.raw, head.record);
        if !(head.lc.oldest(head.version)..=head.version).contains(&version) {
            return Err(no_version(key, version));
        }
        check_served(key, &head.lc, version)?;
        let vkey = version_key(FAMILY, service, key, version);
        let found = read_head::<Stored>(barrier, &vkey).await?;
        match found.map(|h| h.record) {
            Some(v)
                if v.version == version
                    && v.created_at == head.created_at
                    && v.life == head.life =>
            {
                Ok(self
                    .open_value(service, key, v)
                    .await?
                    .into_credential(service, key))
            }
            // Not of this head's life: damage, unless the credential was deleted and
            // created again since the head was read.
            Some(_) if barrier.read_sealed(&head_key).await?.as_ref() != Some(&raw) => {
                Err(no_version(key, version))
            }
            Some(_) => Err(Error::Integrity),
            None => Err(no_version(key, version)),
        }
    }

    pub(super) async fn put_inner(&self, put: &CredentialPut) -> Result<CredentialWritten> {
        put.check()?;
        self.write_version(put, &put.value).await
    }

    /// Writes `value` as the next version of `put`'s credential (the value of `put` is not
    /// read: a rotation passes the generated one).
    pub(super) async fn write_version(
        &self,
        put: &CredentialPut,
        value: &SecretString,
    ) -> Result<CredentialWritten> {
        let barrier = self.ctx.barrier();
        let head = head_key(FAMILY, &put.service, &put.key);
        let what = || format!("credential '{}' of service '{}'", put.key, put.service);
        let value_keys = self.ctx.value_keys();
        let issued = value_keys.issue(barrier).await?;
        // Whether the last plan went on to a commit: after that the key may be in use (a
        // commit can fail after it applied), so it is never given back.
        let committing = std::sync::atomic::AtomicBool::new(false);
        let written = write_next_version(
            barrier,
            &head,
            put.expected_version,
            what,
            |NextVersion {
                 prev,
                 version,
                 action,
             }: NextVersion<Stored>| {
                committing.store(false, std::sync::atomic::Ordering::SeqCst);
                let now = self.ctx.clock().now().as_millis();
                let metadata = match (&put.metadata, &prev) {
                    (Some(m), _) => m.clone(),
                    (None, Some(p)) => p.metadata.clone(),
                    (None, None) => JsonObject::new(),
                };
                let life = match &prev {
                    Some(p) => p.life.clone(),
                    None => random_base62(16)?,
                };
                let (service, key) = (put.service.as_str(), put.key.as_str());
                let mut lc = prev.as_ref().map(|p| p.lc.clone()).unwrap_or_default();
                let old_due = prev.as_ref().and_then(|p| due_at(&p.lc, p.updated_at));
                lc.check_lowering(
                    &self.ctx,
                    put.max_versions,
                    &format!("credentials/{service}/{key}"),
                )?;
                if put.max_versions.is_some() {
                    lc.max_versions = put.max_versions;
                }
                if let Some(r) = put.rotate_every {
                    lc.rotate_every = Some(r.as_secs());
                }
                lc.versions.push(VersionMeta {
                    v: version,
                    at: Some(now),
                    deleted_at: None,
                    destroyed: false,
                    k: Some(issued.id.clone()),
                });
                let pruned = lc.prune(version - 1, version);
                let sealed = seal_value(&issued, service, key, version, &life, value)?;
                let record = StoredRef {
                    value: "",
                    sv: Some(&sealed),
                    metadata: &metadata,
                    version,
                    created_at: prev.as_ref().map_or(now, |p| p.created_at),
                    updated_at: now,
                    life: &life,
                    lc: &lc,
                };
                let info = StoredInfo {
                    metadata: metadata.clone(),
                    version,
                    created_at: record.created_at,
                    updated_at: now,
                    lc: lc.clone(),
                };
                // Version records carry no lifecycle: the head's is the one that counts.
                let empty = Lifecycle::default();
                let version_record = StoredRef {
                    lc: &empty,
                    ..record
                };
                let vkey = version_key(FAMILY, service, key, version);
                let ikey = info_key(service, key);
                let mut writes = vec![
                    Write::Put(head.clone(), seal_json(barrier, &head, &record)?),
                    Write::Put(ikey.clone(), seal_json(barrier, &ikey, &info)?),
                    Write::Put(vkey.clone(), seal_json(barrier, &vkey, &version_record)?),
                    Write::Put(index_key(&put.key, &put.service), Vec::new()),
                ];
                writes.extend(issued.writes.iter().cloned());
                writes.extend(pruned.writes(value_keys, service, key));
                writes.extend(due_moves(service, key, old_due, due_at(&lc, now)));
                if let Some(p) = prev {
                    drop(SecretString::new(p.value));
                }
                committing.store(true, std::sync::atomic::Ordering::SeqCst);
                Ok((
                    writes,
                    (
                        CredentialWritten {
                            service: put.service.clone(),
                            key: put.key.clone(),
                            action,
                            version,
                        },
                        pruned.keys,
                    ),
                ))
            },
        )
        .await;
        match written {
            Ok((written, pruned_keys)) => {
                // The pruned versions' records are gone: now their keys (a crash before this
                // leaves them in the key file, their records gone from the store's index).
                value_keys.shred_after_commit(pruned_keys).await;
                Ok(written)
            }
            // Refused before any commit, or every commit's conditions failed (a lost
            // compare-and-set): the key protects nothing and goes back to the pool. Any other
            // failure after a commit began may have applied it: the key is never issued again
            // (its slot stays allocated).
            Err(e)
                if !committing.load(std::sync::atomic::Ordering::SeqCst)
                    || matches!(e, Error::Conflict(_)) =>
            {
                value_keys.unused(issued);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }

    /// `record` with its value opened from its sealed value (records written before value
    /// keys existed carry it as is); `not_found` when its value key was erased.
    pub(super) async fn open_value(
        &self,
        service: &ServiceName,
        key: &CredentialKey,
        mut record: Stored,
    ) -> Result<Stored> {
        let Some(sv) = record.sv.take() else {
            return Ok(record);
        };
        let vk = self
            .ctx
            .value_keys()
            .get(self.ctx.barrier(), &sv.k)
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "Credential '{key}' version {} was destroyed (put a new value)",
                    record.version
                ))
            })?;
        record.value = open_value(&vk, service, key, record.version, &record.life, &sv)?;
        Ok(record)
    }

    /// One page of the heads of `service`, each listed from its info record (the head itself,
    /// value wiped, only for a credential written before info records existed).
    async fn list_inner(
        &self,
        service: &ServiceName,
        page: &PageRequest,
    ) -> Result<Page<CredentialInfo>> {
        let prefix = head_prefix(FAMILY, service);
        let resource = format!("credentials/{service}");
        let visible = Visible {
            capability: Capability::Read,
            resource: &resource,
        };
        read_page(&self.ctx, &prefix, page, visible, |head, name| async move {
            self.read_info(service, &head, &name).await
        })
        .await
    }

    /// The info of one listed credential: its info record, else (written before info records
    /// existed) its head.
    pub(super) async fn read_info(
        &self,
        service: &ServiceName,
        head: &[u8],
        name: &str,
    ) -> Result<Option<CredentialInfo>> {
        let key = CredentialKey::new(name).map_err(|_| Error::Integrity)?;
        let barrier = self.ctx.barrier();
        let stored = match barrier.read(&info_key(service, &key)).await? {
            Some(opened) => decode_json::<StoredInfo>(&opened.plain)?,
            None => match read_head::<Stored>(barrier, head).await? {
                Some(h) => h.record.into_stored_info(),
                None => return Ok(None),
            },
        };
        Ok(Some(stored.into_info(service, key, self.ctx.clock().now())))
    }

    async fn delete_inner(&self, key: &CredentialKey, service: &ServiceName) -> Result<()> {
        let barrier = self.ctx.barrier();
        let head = head_key(FAMILY, service, key);
        let versions = versions_prefix(FAMILY, service, key);
        // Works on sealed bytes, decrypting nothing: a record that fails its integrity check
        // can still be deleted.
        for _ in 0..MAX_ATTEMPTS {
            // The kept versions' value keys are named by the head when it opens; one that
            // does not (damaged) is deleted all the same, its keys left in place.
            let (unchanged, keys) = match read_head::<Stored>(barrier, &head).await {
                Ok(Some(h)) => {
                    let keys = h.record.lc.value_keys();
                    drop(SecretString::new(h.record.value));
                    (Condition::Equals(head.clone(), h.raw), keys)
                }
                Ok(None) => return Err(not_found(key)),
                Err(Error::Integrity) => match barrier.read_sealed(&head).await? {
                    Some(current) => (Condition::Equals(head.clone(), current), Vec::new()),
                    // Absent, but the freshness ledger says it exists (removed behind the
                    // vault's back): deleting it is the way to clear the damage.
                    None => (Condition::Absent(head.clone()), Vec::new()),
                },
                Err(e) => return Err(e),
            };
            // The keys go before the commit, as a destroy's do: a delete is a destroy of every
            // version, and a caller that goes away while its commit is in flight must not
            // leave them behind. A delete that then loses every race leaves those versions
            // unreadable ("destroyed"), which is what was asked of them.
            let value_keys = self.ctx.value_keys();
            value_keys.shred(keys.clone()).await?;
            let mut writes: Vec<Write> = barrier
                .scan_keys(&versions, None, usize::MAX)
                .await?
                .into_iter()
                .map(Write::Delete)
                .collect();
            writes.extend(value_keys.erase_writes(keys.iter().map(String::as_str)));
            // Both due entries, the time-ordered one found from the due time in the other.
            for d in barrier
                .scan_keys(&due_prefix(service, key), None, usize::MAX)
                .await?
            {
                if let Some(at) = d.len().checked_sub(8).and_then(|i| d.get(i..)) {
                    let mut be = [0u8; 8];
                    be.copy_from_slice(at);
                    let at = i64::try_from(u64::from_be_bytes(be)).unwrap_or(i64::MAX);
                    writes.push(Write::Delete(due_time_key(service, key, at)));
                }
                writes.push(Write::Delete(d));
            }
            writes.push(Write::Delete(head.clone()));
            writes.push(Write::Delete(info_key(service, key)));
            writes.push(Write::Delete(index_key(key, service)));
            if barrier.commit(vec![unchanged], writes).await? {
                return Ok(());
            }
        }
        Err(Error::Conflict(format!(
            "credential '{key}' of service '{service}' is under heavy concurrent writes; retry"
        )))
    }
}

impl Credentials {
    /// The info of credential `key` of `service`, never its value (a `read` of the
    /// credential, recorded as `credentials.info`); `not_found` when missing. The KV v2
    /// metadata of a secret.
    pub async fn info(&self, key: &CredentialKey, service: &ServiceName) -> Result<CredentialInfo> {
        let operation = op("credentials.info", Capability::Read, service, key);
        self.ctx
            .run(operation, async {
                let head = head_key(FAMILY, service, key);
                self.read_info(service, &head, key.as_str())
                    .await?
                    .ok_or_else(|| not_found(key))
            })
            .await
    }
}

#[async_trait]
impl CredentialsApi for Credentials {
    async fn put(&self, put: CredentialPut) -> Result<CredentialWritten> {
        let operation = op("credentials.put", Capability::Write, &put.service, &put.key);
        self.ctx.run(operation, self.put_inner(&put)).await
    }

    async fn get(&self, key: &CredentialKey, service: Option<&ServiceName>) -> Result<Credential> {
        let operation = op(
            "credentials.get",
            Capability::Read,
            service_part(service),
            key,
        );
        self.ctx
            .run(operation, async {
                let service = self.resolve_service(key, service, Capability::Read).await?;
                let head = head_key(FAMILY, &service, key);
                match read_head::<Stored>(self.ctx.barrier(), &head).await? {
                    Some(h) => {
                        check_served(key, &h.record.lc, h.record.version)?;
                        let record = self.open_value(&service, key, h.record).await?;
                        Ok(record.into_credential(&service, key))
                    }
                    None => Err(not_found(key)),
                }
            })
            .await
    }

    async fn list(&self, service: &ServiceName, page: PageRequest) -> Result<Page<CredentialInfo>> {
        let operation = Operation::new(
            "credentials.list",
            Capability::List,
            format!("credentials/{service}/*"),
        );
        self.ctx
            .run(operation, self.list_inner(service, &page))
            .await
    }

    async fn delete(
        &self,
        key: &CredentialKey,
        service: Option<&ServiceName>,
    ) -> Result<CredentialDeleted> {
        let operation = op(
            "credentials.delete",
            Capability::Delete,
            service_part(service),
            key,
        );
        self.ctx
            .run(operation, async {
                let service = self
                    .resolve_service(key, service, Capability::Delete)
                    .await?;
                self.delete_inner(key, &service).await?;
                Ok(CredentialDeleted {
                    service: service.clone(),
                    key: key.clone(),
                })
            })
            .await
    }

    async fn get_version(
        &self,
        key: &CredentialKey,
        service: Option<&ServiceName>,
        version: u64,
    ) -> Result<Credential> {
        let operation = op(
            "credentials.get_version",
            Capability::Read,
            service_part(service),
            key,
        );
        self.ctx
            .run(operation, async {
                let service = self.resolve_service(key, service, Capability::Read).await?;
                self.get_version_inner(key, &service, version).await
            })
            .await
    }

    async fn versions(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<CredentialVersions> {
        let operation = op("credentials.versions", Capability::Read, service, key);
        self.ctx
            .run(operation, self.versions_inner(key, service, limit, after))
            .await
    }

    async fn change_version(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        version: u64,
        change: VersionOp,
    ) -> Result<VersionInfo> {
        let (name, capability) = match change {
            VersionOp::Delete => ("credentials.delete_version", Capability::Delete),
            VersionOp::Undelete => ("credentials.undelete_version", Capability::Write),
            VersionOp::Destroy => ("credentials.destroy_version", Capability::Delete),
        };
        let operation = op(name, capability, service, key);
        self.ctx
            .run(
                operation,
                self.change_version_inner(key, service, version, change),
            )
            .await
    }

    async fn rotate(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        policy: GeneratePolicy,
    ) -> Result<CredentialWritten> {
        let operation = op("credentials.rotate", Capability::Write, service, key);
        self.ctx
            .run(operation, async {
                policy.check()?;
                let value = crate::crypto::random_from(&policy.charset.alphabet(), policy.length)?;
                let put = CredentialPut::new(service.clone(), key.clone(), "-");
                self.write_version(&put, &value).await
            })
            .await
    }

    async fn set_settings(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        settings: CredentialSettings,
    ) -> Result<CredentialInfo> {
        let operation = op("credentials.set_settings", Capability::Write, service, key);
        self.ctx
            .run(operation, self.set_settings_inner(key, service, settings))
            .await
    }

    async fn due(&self, service: &ServiceName, page: PageRequest) -> Result<Page<CredentialInfo>> {
        let operation = Operation::new(
            "credentials.due",
            Capability::List,
            format!("credentials/{service}/*"),
        );
        self.ctx
            .run(operation, self.due_inner(service, &page))
            .await
    }
}
