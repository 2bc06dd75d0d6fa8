//! The embedded credential lifecycle: listing kept versions, soft delete / undelete / destroy
//! of one version, settings (`max_versions`, `rotate_every`) and the due-for-rotation listing
//! and count. Every change is one commit conditioned on the head, like a put.

use super::embedded::{Credentials, no_version, not_found};
use super::lifecycle;
use super::stored::{
    DUE_TIME_PREFIX, FAMILY, Lifecycle, Stored, StoredInfo, StoredRef, due_at, due_moves, info_key,
};
use super::{CredentialInfo, CredentialSettings, CredentialVersions, VersionInfo, VersionOp};
use crate::clock::Timestamp;
use crate::context::Capability;
use crate::crypto::{Barrier, SecretString};
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};
use crate::page::{Page, PageRequest, Unreadable};
use crate::records::{
    Head, commit_unless_changed, head_key, open_cursor, read_head, seal_cursor, seal_json,
    version_key,
};
use crate::store::Write;

/// Most overdue credentials [`count_overdue`] counts (past it, the count says "at least").
pub(crate) const HEALTH_COUNT_LIMIT: u64 = 100_000;

/// Entries read per scan of the time-ordered due index.
const HEALTH_SCAN_BATCH: usize = 1024;

/// `cred/d/<service>/`: the due index entries of a service.
fn due_service_prefix(service: &str) -> Vec<u8> {
    format!("{FAMILY}/d/{service}/").into_bytes()
}

/// The name and due time (ms) of a due index entry under `prefix`.
fn parse_due(prefix: &[u8], k: &[u8]) -> Option<(String, i64)> {
    let rest = k.strip_prefix(prefix)?;
    let split = rest.len().checked_sub(9)?;
    let (name, tail) = rest.split_at(split);
    let (sep, due) = tail.split_first()?;
    if *sep != 0 {
        return None;
    }
    let due = u64::from_be_bytes(due.try_into().ok()?);
    Some((
        String::from_utf8(name.to_vec()).ok()?,
        i64::try_from(due).unwrap_or(i64::MAX),
    ))
}

/// How many credentials (of every service) are overdue for rotation at `now`: the entries of
/// the time-ordered due index up to `now` (nothing is opened, and the entries not yet due are
/// never read), at most [`HEALTH_COUNT_LIMIT`].
pub(crate) async fn count_overdue(barrier: &Barrier, now: Timestamp) -> Result<u64> {
    let prefix = DUE_TIME_PREFIX.as_bytes();
    let mut after: Option<Vec<u8>> = None;
    let mut count = 0u64;
    loop {
        let keys = barrier
            .scan_keys(prefix, after.as_deref(), HEALTH_SCAN_BATCH)
            .await?;
        let full = keys.len() == HEALTH_SCAN_BATCH;
        for k in &keys {
            let due = k
                .get(prefix.len()..prefix.len() + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(i64::MAX, |b| {
                    i64::try_from(u64::from_be_bytes(b)).unwrap_or(i64::MAX)
                });
            if due > now.as_millis() {
                return Ok(count);
            }
            count += 1;
            if count >= HEALTH_COUNT_LIMIT {
                return Ok(count);
            }
        }
        if !full {
            return Ok(count);
        }
        after = keys.last().cloned();
    }
}

impl Credentials {
    /// The time version `v` of the credential whose head is `head` was written: from the
    /// head's table, else (versions written before it existed) from its record, value wiped.
    async fn written_at(
        &self,
        service: &ServiceName,
        key: &CredentialKey,
        head: &Stored,
        v: u64,
    ) -> Result<Option<i64>> {
        if v == head.version {
            return Ok(Some(head.updated_at));
        }
        if let Some(at) = head.lc.meta(v).and_then(|m| m.at) {
            return Ok(Some(at));
        }
        let vkey = version_key(FAMILY, service, key, v);
        Ok(read_head::<Stored>(self.ctx.barrier(), &vkey)
            .await?
            .map(|h| {
                let at = h.record.updated_at;
                drop(SecretString::new(h.record.value));
                at
            }))
    }

    async fn version_info(
        &self,
        service: &ServiceName,
        key: &CredentialKey,
        head: &Stored,
        v: u64,
    ) -> Result<VersionInfo> {
        let meta = head.lc.meta(v);
        Ok(VersionInfo {
            version: v,
            created_at: self
                .written_at(service, key, head, v)
                .await?
                .map(Timestamp::from_millis),
            state: head.lc.state(v),
            deleted_at: meta.and_then(|m| m.deleted_at).map(Timestamp::from_millis),
        })
    }

    async fn read_stored_head(&self, service: &ServiceName, key: &CredentialKey) -> Result<Stored> {
        read_head::<Stored>(self.ctx.barrier(), &head_key(FAMILY, service, key))
            .await?
            .map(|h| h.record)
            .ok_or_else(|| not_found(key))
    }

    pub(super) async fn versions_inner(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<CredentialVersions> {
        let limit = lifecycle::check_versions_limit(limit)?;
        let head = self.read_stored_head(service, key).await?;
        let (current, oldest) = (head.version, head.lc.oldest(head.version));
        let start = match after {
            Some(a) => a.min(current + 1).saturating_sub(1),
            None => current,
        };
        let mut versions = Vec::new();
        let mut v = start;
        while v >= oldest && v > 0 && versions.len() < limit {
            versions.push(self.version_info(service, key, &head, v).await?);
            v -= 1;
        }
        let next = if v >= oldest && v > 0 {
            versions.last().map(|i| i.version)
        } else {
            None
        };
        let max_versions = head.lc.max();
        drop(SecretString::new(head.value));
        Ok(CredentialVersions {
            service: service.clone(),
            key: key.clone(),
            current_version: current,
            oldest_version: oldest,
            max_versions,
            versions,
            next,
        })
    }

    /// The writes replacing the head and info of `prev` by the same record with lifecycle
    /// `lc` (and, when `erase_value`, no value): the value is copied only into the sealed head.
    fn rewrite_head(
        &self,
        service: &ServiceName,
        key: &CredentialKey,
        prev: &Stored,
        lc: &Lifecycle,
        erase_value: bool,
    ) -> Result<Vec<Write>> {
        let barrier = self.ctx.barrier();
        let head = head_key(FAMILY, service, key);
        let ikey = info_key(service, key);
        let record = StoredRef {
            value: if erase_value { "" } else { &prev.value },
            sv: if erase_value { None } else { prev.sv.as_ref() },
            metadata: &prev.metadata,
            version: prev.version,
            created_at: prev.created_at,
            updated_at: prev.updated_at,
            life: &prev.life,
            lc,
        };
        let info = StoredInfo {
            metadata: prev.metadata.clone(),
            version: prev.version,
            created_at: prev.created_at,
            updated_at: prev.updated_at,
            lc: lc.clone(),
        };
        Ok(vec![
            Write::Put(head.clone(), seal_json(barrier, &head, &record)?),
            Write::Put(ikey.clone(), seal_json(barrier, &ikey, &info)?),
        ])
    }

    pub(super) async fn change_version_inner(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        version: u64,
        change: VersionOp,
    ) -> Result<VersionInfo> {
        lifecycle::check_version(version)?;
        let barrier = self.ctx.barrier();
        let head = head_key(FAMILY, service, key);
        let what = || format!("credential '{key}' of service '{service}'");
        let now = self.ctx.clock().now().as_millis();
        let value_keys = self.ctx.value_keys();
        // A destroy erases the version's value key first (a key file is overwritten in place
        // here; an in-store key goes in the commit): if the commit then fails, the value is
        // gone all the same, which is what was asked.
        let shredded = match change {
            VersionOp::Destroy => {
                let current = self.read_stored_head(service, key).await?;
                let k = current.lc.meta(version).and_then(|m| m.k.clone());
                drop(SecretString::new(current.value));
                if let Some(k) = &k {
                    value_keys.shred(vec![k.clone()]).await?;
                }
                k
            }
            _ => None,
        };
        commit_unless_changed(
            barrier,
            &head,
            false,
            what,
            |current: Option<Head<Stored>>| {
                let prev = current.ok_or_else(|| not_found(key))?.record;
                let kept = prev.lc.oldest(prev.version)..=prev.version;
                let outcome = (|| {
                    if !kept.contains(&version) {
                        return Err(no_version(key, version));
                    }
                    let mut lc = prev.lc.clone();
                    let meta = lc.meta_mut(version);
                    let mut writes = Vec::new();
                    match change {
                        VersionOp::Delete if !meta.destroyed => {
                            meta.deleted_at.get_or_insert(now);
                        }
                        VersionOp::Delete => {}
                        VersionOp::Undelete if meta.destroyed => {
                            return Err(Error::NotFound(format!(
                                "Credential '{key}' version {version} was destroyed; it cannot \
                                 be undeleted"
                            )));
                        }
                        VersionOp::Undelete => meta.deleted_at = None,
                        VersionOp::Destroy => {
                            // The version was written again (a credential deleted and created
                            // again since the key was erased): its key is another one.
                            if meta.k.is_some() && meta.k != shredded {
                                return Err(Error::Conflict(format!(
                                    "{} was changed concurrently; retry",
                                    what()
                                )));
                            }
                            writes.extend(value_keys.erase_writes(meta.k.as_deref()));
                            meta.k = None;
                            meta.destroyed = true;
                            meta.deleted_at.get_or_insert(now);
                            // The ciphertext of the value goes: its version record, and the
                            // head's copy when it is the current version.
                            writes.push(Write::Delete(version_key(FAMILY, service, key, version)));
                        }
                    }
                    let erase = change == VersionOp::Destroy && version == prev.version;
                    writes.extend(self.rewrite_head(service, key, &prev, &lc, erase)?);
                    Ok((writes, lc))
                })();
                drop(SecretString::new(prev.value));
                let (writes, lc) = outcome?;
                Ok((writes, lc))
            },
        )
        .await?;
        // Read back what was committed (the time of a version written before the table).
        let head = self.read_stored_head(service, key).await?;
        let info = self.version_info(service, key, &head, version).await;
        drop(SecretString::new(head.value));
        info
    }

    pub(super) async fn set_settings_inner(
        &self,
        key: &CredentialKey,
        service: &ServiceName,
        settings: CredentialSettings,
    ) -> Result<CredentialInfo> {
        settings.check()?;
        let barrier = self.ctx.barrier();
        let head = head_key(FAMILY, service, key);
        let what = || format!("credential '{key}' of service '{service}'");
        let value_keys = self.ctx.value_keys();
        let (info, pruned_keys) = commit_unless_changed(
            barrier,
            &head,
            false,
            what,
            |current: Option<Head<Stored>>| {
                let prev = current.ok_or_else(|| not_found(key))?.record;
                let mut lc = prev.lc.clone();
                lc.check_lowering(
                    &self.ctx,
                    settings.max_versions,
                    &format!("credentials/{service}/{key}"),
                )?;
                if let Some(m) = settings.max_versions {
                    lc.max_versions = Some(m);
                }
                if let Some(r) = settings.rotate_every {
                    lc.rotate_every = r.map(lifecycle::RotateEvery::as_secs);
                }
                let pruned = lc.prune(prev.version, prev.version);
                let old_due = due_at(&prev.lc, prev.updated_at);
                let new_due = due_at(&lc, prev.updated_at);
                let outcome = self.rewrite_head(service, key, &prev, &lc, false);
                let info = StoredInfo {
                    metadata: prev.metadata.clone(),
                    version: prev.version,
                    created_at: prev.created_at,
                    updated_at: prev.updated_at,
                    lc,
                };
                drop(SecretString::new(prev.value));
                let mut writes = outcome?;
                writes.extend(pruned.writes(value_keys, service, key));
                writes.extend(due_moves(service, key, old_due, new_due));
                Ok((writes, (info, pruned.keys)))
            },
        )
        .await?;
        value_keys.shred_after_commit(pruned_keys).await;
        Ok(info.into_info(service, key.clone(), self.ctx.clock().now()))
    }

    pub(super) async fn due_inner(
        &self,
        service: &ServiceName,
        page: &PageRequest,
    ) -> Result<Page<CredentialInfo>> {
        let limit = page.checked_limit()?;
        let prefix = due_service_prefix(service);
        let barrier = self.ctx.barrier();
        // A cursor this listing sealed (a page that ended on a credential the caller may not
        // see) stands for that credential's name.
        let after = match page.checked_after()? {
            Some(a) if crate::page::is_cursor(a) => Some(open_cursor(barrier, &prefix, a)?),
            Some(a) => Some(a.to_string()),
            None => None,
        }
        .map(|a| {
            let mut k = prefix.clone();
            k.extend_from_slice(a.as_bytes());
            k.push(0);
            k.extend_from_slice(&[0xff; 8]);
            k
        });
        let mut keys = self
            .ctx
            .barrier()
            .scan_keys(&prefix, after.as_deref(), limit + 1)
            .await?;
        let more = keys.len() > limit;
        keys.truncate(limit);
        let now = self.ctx.clock().now();
        let mut out = Page::default();
        let mut last = None;
        for k in keys {
            let Some((name, due_at)) = parse_due(&prefix, &k) else {
                continue;
            };
            last = Some(name.clone());
            let resource = format!("credentials/{service}/{name}");
            if due_at > now.as_millis() || !self.ctx.allows(Capability::Read, &resource) {
                continue;
            }
            let head = head_key(FAMILY, service, &name);
            match self.read_info(service, &head, &name).await {
                Ok(Some(info)) if info.due => out.items.push(info),
                Ok(_) => {}
                Err(error @ Error::Integrity) => out.unreadable.push(Unreadable { name, error }),
                Err(e) => return Err(e),
            }
        }
        // The page ends on a credential the caller may not see: its name would tell it one.
        out.next = match last.filter(|_| more) {
            Some(n)
                if !self
                    .ctx
                    .allows(Capability::Read, &format!("credentials/{service}/{n}")) =>
            {
                Some(seal_cursor(barrier, &prefix, &n)?)
            }
            other => other,
        };
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::stored::due_key;

    #[test]
    fn due_entries_parse_and_sort_like_their_keys() {
        let prefix = due_service_prefix("s");
        let k = due_key("s", "a.b", 1234);
        assert_eq!(parse_due(&prefix, &k), Some(("a.b".to_string(), 1234)));
        // "a" sorts before "a-b" and "a.b", as the names do.
        let a = due_key("s", "a", i64::MAX);
        assert!(a < due_key("s", "a-b", 0) && a < due_key("s", "a.b", 0));
        assert_eq!(parse_due(&prefix, b"cred/d/s/x"), None);
    }

    #[test]
    fn records_written_before_the_lifecycle_read_with_its_defaults() {
        let old =
            br#"{"value":"v","metadata":{},"version":13,"created_at":1,"updated_at":2,"life":"x"}"#;
        let s: Stored = crate::records::decode_json(old).expect("old head");
        assert_eq!(s.lc, Lifecycle::default());
        assert_eq!((s.lc.max(), s.lc.oldest(13)), (10, 4));
        assert_eq!(s.lc.state(13), lifecycle::VersionState::Active);
        let old_info = br#"{"metadata":{},"version":3,"created_at":1,"updated_at":2}"#;
        let i: StoredInfo = crate::records::decode_json(old_info).expect("old info");
        assert_eq!(i.lc.oldest(3), 1);
    }
}
