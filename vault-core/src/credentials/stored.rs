//! The stored shapes of credentials and their store keys.
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

use serde::{Deserialize, Serialize};

use super::lifecycle::{self, VersionState};
use super::{Credential, CredentialInfo, KEPT_VERSIONS};
use crate::JsonObject;
use crate::clock::Timestamp;
use crate::crypto::{IssuedKey, KeyMaterial, SecretString, ValueKeys, open_blob, seal_blob};
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};
use crate::records::Versioned;
use crate::store::Write;

pub(super) const FAMILY: &str = "cred";

/// A value sealed under its version's own value key (see `crate::crypto::ValueKeys`): erasing
/// the key erases every copy of the value, wherever the store left them.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct SealedValue {
    /// The value key's id.
    pub(super) k: String,
    /// The sealed value, base64.
    pub(super) c: String,
}

#[derive(Serialize)]
pub(super) struct StoredRef<'a> {
    /// The value in the record itself: only records written before value keys existed (and
    /// read back into a rewritten head) have one.
    #[serde(skip_serializing_if = "str::is_empty")]
    pub(super) value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) sv: Option<&'a SealedValue>,
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
    /// The value: in the record (written before value keys existed), or opened from `sv` by
    /// the reader (empty until then, and in a head whose value was destroyed).
    #[serde(default)]
    pub(super) value: String,
    #[serde(default)]
    pub(super) sv: Option<SealedValue>,
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
    /// The id of the value key sealing this version's value (none: written before value keys
    /// existed, or destroyed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) k: Option<String>,
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

    /// `forbidden` unless `ctx` may `delete` at `path` when `max_versions` would go below
    /// what is kept now: lowering the cap erases versions for good, like a destroy.
    pub(super) fn check_lowering(
        &self,
        ctx: &crate::context::Ctx,
        max_versions: Option<u64>,
        path: &str,
    ) -> crate::error::Result<()> {
        match max_versions {
            Some(m) if m < self.max() => ctx.require(crate::context::Capability::Delete, path),
            _ => Ok(()),
        }
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
                    k: None,
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

    /// Keeps the last `max()` versions of a credential now at version `current`, which was at
    /// version `before` (the same when nothing new is written): moves `oldest` up (never down)
    /// and returns the versions that are no longer kept (their records to erase) and their
    /// value keys.
    pub(super) fn prune(&mut self, before: u64, current: u64) -> Pruned {
        let from = self.oldest(before.max(1)).min(current);
        let keep_from = current.saturating_sub(self.max() - 1).max(1).max(from);
        self.oldest = Some(keep_from);
        let keys = self
            .versions
            .iter()
            .filter(|m| m.v < keep_from || m.v > current)
            .filter_map(|m| m.k.clone())
            .collect();
        self.versions.retain(|m| m.v >= keep_from && m.v <= current);
        Pruned {
            versions: from..keep_from,
            keys,
        }
    }

    /// The value keys of every kept version.
    pub(super) fn value_keys(&self) -> Vec<String> {
        self.versions.iter().filter_map(|m| m.k.clone()).collect()
    }
}

/// What [`Lifecycle::prune`] dropped.
pub(super) struct Pruned {
    /// Versions whose records go.
    pub(super) versions: std::ops::Range<u64>,
    /// Value keys to erase once they are gone.
    pub(super) keys: Vec<String>,
}

impl Pruned {
    /// The writes erasing the pruned version records of `service`/`key` (and in-store value
    /// keys).
    pub(super) fn writes(&self, vk: &ValueKeys, service: &str, key: &str) -> Vec<Write> {
        let mut w: Vec<Write> = self
            .versions
            .clone()
            .map(|old| Write::Delete(crate::records::version_key(FAMILY, service, key, old)))
            .collect();
        w.extend(vk.erase_writes(self.keys.iter().map(String::as_str)));
        w
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
    pub(super) fn into_credential(self, service: &ServiceName, key: &CredentialKey) -> Credential {
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

/// What a version's sealed value is bound to: the credential, the version and its life.
fn value_aad(service: &str, key: &str, version: u64, life: &str) -> Vec<u8> {
    format!("{FAMILY}/{service}/{key}/{version}/{life}").into_bytes()
}

/// `value` sealed under the issued value key of version `version`.
pub(super) fn seal_value(
    issued: &IssuedKey,
    service: &str,
    key: &str,
    version: u64,
    life: &str,
    value: &SecretString,
) -> Result<SealedValue> {
    use base64::Engine as _;
    let aad = value_aad(service, key, version, life);
    let sealed = seal_blob(&issued.key, &aad, value.expose_secret().as_bytes())?;
    Ok(SealedValue {
        k: issued.id.clone(),
        c: base64::engine::general_purpose::STANDARD.encode(sealed),
    })
}

/// Opens what [`seal_value`] sealed; `integrity` when it does not open.
pub(super) fn open_value(
    vk: &KeyMaterial,
    service: &ServiceName,
    key: &CredentialKey,
    version: u64,
    life: &str,
    sv: &SealedValue,
) -> Result<String> {
    use base64::Engine as _;
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&sv.c)
        .map_err(|_| Error::Integrity)?;
    let aad = value_aad(service.as_str(), key.as_str(), version, life);
    let plain = open_blob(vk, &aad, &sealed)?;
    String::from_utf8(plain.to_vec()).map_err(|_| Error::Integrity)
}

/// The ids of every value key named by a credential record in the store behind `barrier`
/// (heads: the current value and each kept version; version records: their value), for a
/// migration that moves the keys with the records. A record that does not open or decode is
/// `integrity`, named in the log by its store key (its keys could not be known).
pub(crate) async fn value_key_ids(
    barrier: &crate::crypto::Barrier,
) -> Result<std::collections::BTreeSet<String>> {
    /// What a head or version record says of its keys (its value is skipped, never kept).
    #[derive(Deserialize)]
    struct Named {
        #[serde(default)]
        sv: Option<KeyOnly>,
        #[serde(default)]
        lc: Option<LifecycleKeys>,
    }
    #[derive(Deserialize)]
    struct KeyOnly {
        k: String,
    }
    #[derive(Deserialize)]
    struct LifecycleKeys {
        #[serde(default)]
        versions: Vec<MetaKey>,
    }
    #[derive(Deserialize)]
    struct MetaKey {
        #[serde(default)]
        k: Option<String>,
    }
    const PAGE: usize = 500;
    let mut ids = std::collections::BTreeSet::new();
    for prefix in [format!("{FAMILY}/h/"), format!("{FAMILY}/v/")] {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = barrier
                .scan_open(prefix.as_bytes(), after.as_deref(), PAGE)
                .await?;
            for (key, plain) in &page {
                let named = plain
                    .as_ref()
                    .map_err(Clone::clone)
                    .and_then(|p| crate::records::decode_json::<Named>(p));
                let named = named.inspect_err(|_| {
                    tracing::error!(
                        key = %String::from_utf8_lossy(key),
                        "a credential record does not open: the value keys it names are unknown"
                    );
                })?;
                ids.extend(named.sv.map(|sv| sv.k));
                let versions = named.lc.map(|lc| lc.versions).unwrap_or_default();
                ids.extend(versions.into_iter().filter_map(|m| m.k));
            }
            if page.len() < PAGE {
                break;
            }
            after = page.last().map(|(k, _)| k.clone());
        }
    }
    Ok(ids)
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
