//! The embedded credentials: storage layout and operations over the barrier.
//!
//! Store layout: head `cred/h/<service>/<key>` (the current version, plus the lifecycle: settings,
//! oldest kept version and each kept version's time and state), its info `cred/i/<service>/<key>`
//! (everything but the value, written in the same commit as the head, so a listing never
//! decrypts a value), kept versions `cred/v/<service>/<key>/<u64 BE>` (the last `max_versions`,
//! default [`KEPT_VERSIONS`]), a clear index `cred/k/<key>/<service>` (empty value) to find a
//! key's services without a service given, and a clear due index
//! `cred/d/<service>/<key>\0<due ms BE>` (empty value) for credentials with a `rotate_every`, with
//! the same ordered by due time, `cred/t/<due ms BE><service>/<key>`, for health's count.
//! A head written before info records existed has none: listing falls back to the head for it.
//! Records written before the lifecycle existed read as "10 kept, all active, no rotation".

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::lifecycle::{self, VersionState};
use super::{
    Credential, CredentialDeleted, CredentialInfo, CredentialPut, CredentialSettings,
    CredentialVersions, CredentialWritten, CredentialsApi, GeneratePolicy, KEPT_VERSIONS,
    VersionInfo, VersionOp,
};
use crate::JsonObject;
use crate::clock::Timestamp;
use crate::context::{Capability, Ctx, Operation};
use crate::crypto::{SecretString, random_base62};
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};
use crate::page::{Page, PageRequest};
use crate::records::{
    MAX_ATTEMPTS, NextVersion, Versioned, Visible, decode_json, head_key, head_prefix,
    name_from_key, read_head, read_page, seal_json, version_key, versions_prefix,
    write_next_version,
};
use crate::store::{Condition, Write};

pub(super) const FAMILY: &str = "cred";

#[derive(Serialize)]
pub(super) struct StoredRef<'a> {
    pub(super) value: &'a str,
    pub(super) metadata: &'a JsonObject,
    pub(super) version: u64,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    pub(super) life: &'a str,
    #[serde(skip_serializing_if = "Lifecycle::is_empty")]
    pub(super) lc: &'a Lifecycle,
}

#[derive(Deserialize)]
pub(super) struct Stored {
    pub(super) value: String,
    pub(super) metadata: JsonObject,
    pub(super) version: u64,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    /// Random id of this credential's life (from its creation to its delete), in the head and
    /// every version record: a version of an earlier credential of the same name never passes
    /// for one of this one. Empty in records written before it existed.
    #[serde(default)]
    pub(super) life: String,
    /// In the head: the lifecycle settings and version states (absent in records written
    /// before they existed, and in version records).
    #[serde(default)]
    pub(super) lc: Lifecycle,
}

/// One kept version's time and state, in the head and the info record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct VersionMeta {
    pub(super) v: u64,
    /// When it was written (absent for versions written before this table existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) at: Option<i64>,
    /// When it was soft-deleted or destroyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) deleted_at: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(super) destroyed: bool,
}

/// A credential's lifecycle: settings, oldest kept version and the kept versions' states.
/// Every field defaults, so records written before it existed read as "10 kept, all active,
/// no rotation".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Lifecycle {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) max_versions: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) oldest: Option<u64>,
    /// Seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) rotate_every: Option<u64>,
    /// Kept versions, oldest first (may miss versions written before it existed: active).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(super) versions: Vec<VersionMeta>,
}

impl Lifecycle {
    fn is_empty(&self) -> bool {
        *self == Lifecycle::default()
    }

    pub(super) fn max(&self) -> u64 {
        self.max_versions.unwrap_or(KEPT_VERSIONS).max(1)
    }

    /// The oldest version kept of a credential at version `current`.
    pub(super) fn oldest(&self, current: u64) -> u64 {
        self.oldest
            .unwrap_or_else(|| current.saturating_sub(KEPT_VERSIONS) + 1)
            .clamp(1, current.max(1))
    }

    pub(super) fn meta(&self, v: u64) -> Option<&VersionMeta> {
        self.versions.iter().find(|m| m.v == v)
    }

    /// The entry of version `v`, added (time unknown) when missing.
    pub(super) fn meta_mut(&mut self, v: u64) -> &mut VersionMeta {
        let i = match self.versions.iter().position(|m| m.v == v) {
            Some(i) => i,
            None => {
                self.versions.push(VersionMeta {
                    v,
                    at: None,
                    deleted_at: None,
                    destroyed: false,
                });
                self.versions.sort_by_key(|m| m.v);
                self.versions
                    .iter()
                    .position(|m| m.v == v)
                    .unwrap_or_default()
            }
        };
        &mut self.versions[i]
    }

    pub(super) fn state(&self, v: u64) -> VersionState {
        match self.meta(v) {
            Some(m) if m.destroyed => VersionState::Destroyed,
            Some(m) if m.deleted_at.is_some() => VersionState::Deleted,
            _ => VersionState::Active,
        }
    }

    pub(super) fn rotate(&self) -> Option<lifecycle::RotateEvery> {
        self.rotate_every
            .and_then(|s| lifecycle::RotateEvery::from_secs(s).ok())
    }

    /// Keeps the last `max()` versions of a credential at version `current`: moves `oldest`
    /// up and returns the versions that are no longer kept (their records to erase).
    pub(super) fn prune(&mut self, current: u64) -> std::ops::Range<u64> {
        let from = self.oldest(current.saturating_sub(1).max(1)).min(current);
        let keep_from = current.saturating_sub(self.max() - 1).max(1).max(from);
        self.oldest = Some(keep_from);
        self.versions.retain(|m| m.v >= keep_from && m.v <= current);
        from..keep_from
    }
}

/// The info record: a credential without its value.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredInfo {
    pub(super) metadata: JsonObject,
    pub(super) version: u64,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    #[serde(default, skip_serializing_if = "Lifecycle::is_empty")]
    pub(super) lc: Lifecycle,
}

impl StoredInfo {
    pub(super) fn into_info(
        self,
        service: &ServiceName,
        key: CredentialKey,
        now: Timestamp,
    ) -> CredentialInfo {
        let rotate_every = self.lc.rotate();
        let due_at = rotate_every.map(|r| self.updated_at.saturating_add(r.as_millis()));
        CredentialInfo {
            service: service.clone(),
            key,
            metadata: self.metadata,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
            oldest_version: self.lc.oldest(self.version),
            max_versions: self.lc.max(),
            state: self.lc.state(self.version),
            rotate_every,
            due_at: due_at.map(Timestamp::from_millis),
            due: due_at.is_some_and(|d| now.as_millis() >= d),
        }
    }
}

impl Versioned for Stored {
    fn version(&self) -> u64 {
        self.version
    }
}

impl Stored {
    fn into_credential(self, service: &ServiceName, key: &CredentialKey) -> Credential {
        Credential {
            service: service.clone(),
            key: key.clone(),
            value: SecretString::new(self.value),
            metadata: self.metadata,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        }
    }

    /// The info of this head (the value is wiped).
    pub(super) fn into_stored_info(self) -> StoredInfo {
        // `self.value` is a plain String here: wrap it so it is wiped when dropped.
        let Stored {
            value,
            metadata,
            version,
            created_at,
            updated_at,
            lc,
            ..
        } = self;
        drop(SecretString::new(value));
        StoredInfo {
            metadata,
            version,
            created_at,
            updated_at,
            lc,
        }
    }
}

/// `cred/d/<service>/<key>\0<due at, ms, u64 BE>`: the clear due-for-rotation index of a service
/// (one entry per credential with a `rotate_every`), for the due listing. The `\0` sorts before
/// every name character, so the entries sort like the keys.
pub(super) fn due_key(service: &str, key: &str, due_at: i64) -> Vec<u8> {
    let mut k = due_prefix(service, key);
    k.extend_from_slice(&due_bytes(due_at));
    k
}

/// `cred/d/<service>/<key>\0`.
pub(super) fn due_prefix(service: &str, key: &str) -> Vec<u8> {
    format!("{FAMILY}/d/{service}/{key}\0").into_bytes()
}

/// `cred/t/<due at, ms, u64 BE><service>/<key>`: the same entries ordered by due time, so
/// health counts the overdue ones without reading the others.
pub(super) fn due_time_key(service: &str, key: &str, due_at: i64) -> Vec<u8> {
    let mut k = DUE_TIME_PREFIX.as_bytes().to_vec();
    k.extend_from_slice(&due_bytes(due_at));
    k.extend_from_slice(format!("{service}/{key}").as_bytes());
    k
}

/// Prefix of [`due_time_key`].
pub(super) const DUE_TIME_PREFIX: &str = "cred/t/";

fn due_bytes(due_at: i64) -> [u8; 8] {
    u64::try_from(due_at.max(0)).unwrap_or(0).to_be_bytes()
}

/// When rotation of a head with these settings, written at `updated_at`, is due (ms).
pub(super) fn due_at(lc: &Lifecycle, updated_at: i64) -> Option<i64> {
    lc.rotate()
        .map(|r| updated_at.saturating_add(r.as_millis()))
}

/// The writes moving a credential's two due index entries from due time `old` to `new`.
pub(super) fn due_moves(
    service: &str,
    key: &str,
    old: Option<i64>,
    new: Option<i64>,
) -> Vec<Write> {
    if old == new {
        return Vec::new();
    }
    let mut w = Vec::new();
    if let Some(at) = old {
        w.push(Write::Delete(due_key(service, key, at)));
        w.push(Write::Delete(due_time_key(service, key, at)));
    }
    if let Some(at) = new {
        w.push(Write::Put(due_key(service, key, at), Vec::new()));
        w.push(Write::Put(due_time_key(service, key, at), Vec::new()));
    }
    w
}

pub(super) fn info_key(service: &str, key: &str) -> Vec<u8> {
    format!("{FAMILY}/i/{service}/{key}").into_bytes()
}

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
                Ok(v.into_credential(service, key))
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
                });
                let pruned = lc.prune(version);
                let record = StoredRef {
                    value: value.expose_secret(),
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
                writes.extend(
                    pruned.map(|old| Write::Delete(version_key(FAMILY, service, key, old))),
                );
                writes.extend(due_moves(service, key, old_due, due_at(&lc, now)));
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
            let unchanged = match barrier.read_sealed(&head).await? {
                Some(current) => Condition::Equals(head.clone(), current),
                // Absent, but the freshness ledger says it exists (removed behind the
                // vault's back): deleting it is the way to clear the damage.
                None => match barrier.read(&head).await {
                    Err(Error::Integrity) => Condition::Absent(head.clone()),
                    Err(e) => return Err(e),
                    Ok(_) => return Err(not_found(key)),
                },
            };
            let mut writes: Vec<Write> = barrier
                .scan_keys(&versions, None, usize::MAX)
                .await?
                .into_iter()
                .map(Write::Delete)
                .collect();
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
                        Ok(h.record.into_credential(&service, key))
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

/// `not_found` unless version `version` is served (neither soft-deleted nor destroyed); the
/// message says which, never a value.
pub(super) fn check_served(key: &CredentialKey, lc: &Lifecycle, version: u64) -> Result<()> {
    match lc.state(version) {
        VersionState::Active => Ok(()),
        VersionState::Deleted => Err(Error::NotFound(format!(
            "Credential '{key}' version {version} is deleted (undelete it, or put a new value)"
        ))),
        VersionState::Destroyed => Err(Error::NotFound(format!(
            "Credential '{key}' version {version} was destroyed (put a new value)"
        ))),
    }
}
