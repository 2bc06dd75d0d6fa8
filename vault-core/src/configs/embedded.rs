//! The embedded strategy configs: storage layout and operations over the barrier.
//!
//! Store layout: head `cfg/h/<service>/<strategy_id>` (latest; it also records the oldest
//! version kept), versions `cfg/v/<service>/<strategy_id>/<u64 BE>` (the last
//! `max_versions`: a put prunes older ones in its own commit), the service's settings
//! `cfg/s/<service>`, and its revision `cfg/r/<service>`: a counter every write of the
//! service's configs raises in its own commit, and records in the version it writes, so a
//! watch finds what changed after a revision by the heads' revisions. Records are sealed like
//! every other record.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    ChangedBy, ConfigDiff, ConfigHistory, ConfigPut, ConfigRollback, ConfigSettings, ConfigWatch,
    ConfigWritten, ConfigsApi, MAX_CONFIG_BYTES, PRUNE_BATCH, StrategyConfig, WATCH_MAX_CHANGES,
    WatchedChange,
};
use crate::clock::Timestamp;
use crate::context::{Capability, Ctx, Operation};
use crate::error::{Error, Result};
use crate::names::{ServiceName, StrategyId};
use crate::page::{Page, PageRequest};
use crate::records::{
    MAX_ATTEMPTS, Visible, check_expected, head_key, head_prefix, read_head, read_page, seal_json,
    version_key,
};
use crate::store::{Condition, Write};
use crate::{Action, JsonObject};

const FAMILY: &str = "cfg";

#[derive(Serialize, Deserialize)]
struct Stored {
    params: JsonObject,
    symbols: Vec<String>,
    risk_limits: JsonObject,
    enabled: bool,
    version: u64,
    created_at: i64,
    updated_at: i64,
    /// In the head: the oldest version kept (absent in records written before pruning
    /// existed, when every version was kept).
    #[serde(default = "first_version")]
    oldest: u64,
    /// The service's revision this version was written at (0 before revisions existed).
    #[serde(default)]
    revision: u64,
    /// This version is a delete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
    /// Who wrote it (absent before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<ChangedBy>,
    /// The comment given with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    comment: Option<String>,
}

/// `cfg/r/<service>`: the service's revision.
#[derive(Serialize, Deserialize)]
struct Revision {
    revision: u64,
}

/// The content a write gives its new version (the rest is the same for every write).
struct Content {
    params: JsonObject,
    symbols: Vec<String>,
    risk_limits: JsonObject,
    enabled: bool,
    deleted: bool,
    comment: Option<String>,
    action: Action,
}

fn first_version() -> u64 {
    1
}

/// `cfg/s/<service>`: the service's settings.
fn settings_key(service: &str) -> Vec<u8> {
    format!("{FAMILY}/s/{service}").into_bytes()
}

/// The prefix of every service's revision key: the keys other processes' commits are
/// followed on (see [`crate::store::Store::changes`]).
pub(crate) const REVISION_PREFIX: &[u8] = b"cfg/r/";

/// `cfg/r/<service>`: the service's revision.
fn revision_key(service: &str) -> Vec<u8> {
    format!("{FAMILY}/r/{service}").into_bytes()
}

impl Stored {
    /// The config as read at the service's revision `revision`.
    fn into_config(
        self,
        service: &ServiceName,
        strategy_id: StrategyId,
        revision: u64,
    ) -> StrategyConfig {
        StrategyConfig {
            service: service.clone(),
            strategy_id,
            params: self.params,
            symbols: self.symbols,
            risk_limits: self.risk_limits,
            enabled: self.enabled,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
            changed_by: self.by,
            comment: self.comment,
            deleted: self.deleted,
            revision,
            stale: false,
        }
    }
}

fn op(name: &'static str, capability: Capability, service: &str, id: &str) -> Operation {
    Operation::new(name, capability, format!("configs/{service}/{id}"))
}

fn no_config(service: &ServiceName, strategy_id: &StrategyId) -> Error {
    Error::NotFound(format!(
        "Config '{strategy_id}' not found for service '{service}'"
    ))
}

/// The strategy configs of an embedded vault, as seen by one caller.
#[derive(Clone)]
pub struct Configs {
    ctx: Ctx,
}

impl Configs {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Configs { ctx }
    }

    async fn put_inner(&self, service: &ServiceName, put: &ConfigPut) -> Result<ConfigWritten> {
        put.check()?;
        self.write_version(service, &put.strategy_id, put.expected_version, |prev| {
            // A config brought back after a delete starts from the defaults, not from the
            // content the delete kept.
            let prev = prev.filter(|p| !p.deleted);
            Ok(Content {
                params: put
                    .params
                    .clone()
                    .or_else(|| prev.map(|p| p.params.clone()))
                    .unwrap_or_default(),
                symbols: put
                    .symbols
                    .clone()
                    .or_else(|| prev.map(|p| p.symbols.clone()))
                    .unwrap_or_default(),
                risk_limits: put
                    .risk_limits
                    .clone()
                    .or_else(|| prev.map(|p| p.risk_limits.clone()))
                    .unwrap_or_default(),
                enabled: put
                    .enabled
                    .or_else(|| prev.map(|p| p.enabled))
                    .unwrap_or(true),
                deleted: false,
                comment: put.comment.clone(),
                action: if prev.is_some() {
                    Action::Updated
                } else {
                    Action::Created
                },
            })
        })
        .await
    }

    /// Writes the next version of a config: `content` makes it from the latest version (if
    /// any); this adds the version number, who and when, the service's next revision, and
    /// prunes versions beyond the service's `max_versions` in the same commit. The commit is
    /// conditioned on the head and on the revision counter: a lost race retries, unless the
    /// caller asked for compare-and-set (`expected_version`, which 0 also matches for a
    /// deleted config) and the head itself changed, which is `conflict`.
    async fn write_version(
        &self,
        service: &ServiceName,
        id: &StrategyId,
        expected_version: Option<u64>,
        content: impl Fn(Option<&Stored>) -> Result<Content>,
    ) -> Result<ConfigWritten> {
        // One write of the service's configs at a time in this vault: they all raise its
        // revision counter, so concurrent ones would only lose to each other (across vaults on
        // one store, the commit's condition on the counter still orders them).
        let rkey = revision_key(service);
        let _turn = self.ctx.core().turns.take(&rkey).await;
        let max_versions = self.settings_inner(service).await?.max_versions.max(1);
        let barrier = self.ctx.barrier();
        let head = head_key(FAMILY, service, id);
        let what = || format!("config '{id}' of service '{service}'");
        let caller = self.ctx.caller();
        for lost in 0..MAX_ATTEMPTS {
            let current = read_head::<Stored>(barrier, &head).await?;
            let counter = read_head::<Revision>(barrier, &rkey).await?;
            let conditions = vec![
                Condition::unchanged(&head, current.as_ref().map(|h| h.raw.as_slice())),
                Condition::unchanged(&rkey, counter.as_ref().map(|h| h.raw.as_slice())),
            ];
            let head_raw = current.as_ref().map(|h| h.raw.clone());
            let prev = current.map(|h| h.record);
            let latest = prev.as_ref().map_or(0, |p| p.version);
            if !(expected_version == Some(0) && prev.as_ref().is_some_and(|p| p.deleted)) {
                check_expected(&what(), expected_version, latest)?;
            }
            let c = content(prev.as_ref())?;
            if !c.deleted {
                // The merged record, as every put's: a field kept from an earlier version (or
                // a rolled-back one) written before these rules is checked too.
                super::check_symbols(&c.symbols)?;
                super::check_risk_limits(&c.risk_limits)?;
            }
            let version = latest + 1;
            let revision = counter.map_or(0, |r| r.record.revision) + 1;
            let now = self.ctx.clock().now().as_millis();
            let mut record = Stored {
                params: c.params,
                symbols: c.symbols,
                risk_limits: c.risk_limits,
                enabled: c.enabled,
                version,
                created_at: prev.as_ref().map_or(now, |p| p.created_at),
                updated_at: now,
                oldest: prev
                    .as_ref()
                    .map_or(version, |p| p.oldest.clamp(1, version)),
                revision,
                deleted: c.deleted,
                by: Some(ChangedBy {
                    id: caller.id().to_string(),
                    name: caller.name().to_string(),
                }),
                comment: c.comment.filter(|c| !c.is_empty()),
            };
            // Versions beyond the cap go in this commit, oldest first (a bounded batch).
            let keep_from = version.saturating_sub(max_versions - 1).max(1);
            let prune_to = keep_from
                .saturating_sub(1)
                .min(record.oldest.saturating_add(PRUNE_BATCH - 1));
            let pruned = record.oldest..=prune_to;
            if !pruned.is_empty() {
                record.oldest = prune_to + 1;
            }
            // The content only, as `ConfigPut::check` measures it: a version accepted at the
            // limit stays writable (by a rollback) whatever its version number.
            let size = [
                serde_json::to_vec(&record.params),
                serde_json::to_vec(&record.symbols),
                serde_json::to_vec(&record.risk_limits),
            ]
            .into_iter()
            .map(|b| b.map_or(usize::MAX, |b| b.len()))
            .fold(0usize, usize::saturating_add);
            if size > MAX_CONFIG_BYTES {
                return Err(super::config_too_large());
            }
            let vkey = version_key(FAMILY, service, id, version);
            let mut writes = vec![
                Write::Put(head.clone(), seal_json(barrier, &head, &record)?),
                Write::Put(vkey.clone(), seal_json(barrier, &vkey, &record)?),
                Write::Put(
                    rkey.clone(),
                    seal_json(barrier, &rkey, &Revision { revision })?,
                ),
            ];
            writes.extend(pruned.map(|old| Write::Delete(version_key(FAMILY, service, id, old))));
            if barrier
                .commit_after_losses(conditions, writes, lost)
                .await?
            {
                self.ctx.core().configs.changed(service);
                return Ok(ConfigWritten {
                    service: service.clone(),
                    strategy_id: id.clone(),
                    action: c.action,
                    version,
                });
            }
            // Lost to a write of another config of the service (only the counter moved): not
            // this caller's compare-and-set, so it retries.
            if expected_version.is_some() && barrier.read_sealed(&head).await? != head_raw {
                return Err(Error::Conflict(format!(
                    "{} was changed concurrently; read it again and retry",
                    what()
                )));
            }
        }
        Err(Error::Conflict(format!(
            "{} is under heavy concurrent writes; retry",
            what()
        )))
    }

    /// The service's revision (0 before its first write).
    async fn revision(&self, service: &ServiceName) -> Result<u64> {
        Ok(
            read_head::<Revision>(self.ctx.barrier(), &revision_key(service))
                .await?
                .map_or(0, |r| r.record.revision),
        )
    }

    async fn read(&self, key: &[u8]) -> Result<Option<Stored>> {
        Ok(read_head::<Stored>(self.ctx.barrier(), key)
            .await?
            .map(|h| h.record))
    }

    /// The latest params of a config, read by the vault itself (no choke point: for a family
    /// that keeps its own settings in a config, as inference keeps its model registry);
    /// `None` when it does not exist or was deleted.
    pub(crate) async fn latest_params(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
    ) -> Result<Option<crate::api::JsonObject>> {
        match self.get_inner(service, strategy_id, None).await {
            Ok(c) => Ok(Some(c.params)),
            Err(Error::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A config (latest or version `version`) as read at the service's revision, read first
    /// (a watch from it misses nothing). The latest of a deleted config is `not_found`; its
    /// versions, the delete's included, stay readable by number.
    async fn get_inner(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        version: Option<u64>,
    ) -> Result<StrategyConfig> {
        let revision = self.revision(service).await?;
        let head = self
            .read(&head_key(FAMILY, service, strategy_id))
            .await?
            .ok_or_else(|| no_config(service, strategy_id))?;
        let stored = match version {
            None if head.deleted => {
                return Err(Error::NotFound(format!(
                    "Config '{strategy_id}' of service '{service}' was deleted (version {}); \
                     its history is kept",
                    head.version
                )));
            }
            None => head,
            Some(v) => self
                .read_version(service, strategy_id, &head, v)
                .await?
                .ok_or_else(|| {
                    Error::NotFound(if v > 0 && v < head.oldest {
                        format!(
                            "Config '{strategy_id}' of service '{service}' has no version {v} \
                         (versions before {} were pruned)",
                            head.oldest
                        )
                    } else {
                        format!("Config '{strategy_id}' of service '{service}' has no version {v}")
                    })
                })?,
        };
        Ok(stored.into_config(service, strategy_id.clone(), revision))
    }

    /// Kept version `v` of the config whose head is `head`; `None` when it is not kept. The
    /// head (checked against the freshness ledger) says which versions are kept: a version
    /// record outside them, or of an earlier config of the same id, was written back from an
    /// old copy and is `integrity`, never served.
    async fn read_version(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        head: &Stored,
        v: u64,
    ) -> Result<Option<Stored>> {
        if !(head.oldest.max(1)..=head.version).contains(&v) {
            return Ok(None);
        }
        match self
            .read(&version_key(FAMILY, service, strategy_id, v))
            .await?
        {
            Some(s) if s.version == v && s.created_at == head.created_at => Ok(Some(s)),
            Some(_) => Err(Error::Integrity),
            None => Ok(None),
        }
    }

    /// One page of heads, each read on its own so that one that does not open is reported
    /// instead of failing the page.
    async fn list_inner(
        &self,
        service: &ServiceName,
        page: &PageRequest,
    ) -> Result<Page<StrategyConfig>> {
        let revision = self.revision(service).await?;
        let prefix = head_prefix(FAMILY, service);
        let resource = format!("configs/{service}");
        let visible = Visible {
            capability: Capability::Read,
            resource: &resource,
        };
        let mut listed = read_page(&self.ctx, &prefix, page, visible, |head, name| async move {
            let id = StrategyId::new(name).map_err(|_| Error::Integrity)?;
            Ok(self
                .read(&head)
                .await?
                .filter(|s| !s.deleted)
                .map(|s| s.into_config(service, id, revision)))
        })
        .await?;
        listed.revision = Some(revision);
        Ok(listed)
    }

    /// The configs of `service` whose latest version was written after revision `since`
    /// (every config when `None`) and that the caller may read, in the order of their last
    /// change, at most [`WATCH_MAX_CHANGES`]; and the revision they bring the caller to
    /// (`current`, or the last one reported when more changed than one answer holds).
    async fn changed_since(
        &self,
        service: &ServiceName,
        since: Option<u64>,
        current: u64,
    ) -> Result<(Vec<WatchedChange>, u64)> {
        const SCAN_PAGE: usize = 1000;
        let barrier = self.ctx.barrier();
        let prefix = head_prefix(FAMILY, service);
        let mut changed: Vec<(u64, WatchedChange)> = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let keys = barrier
                .scan_keys(&prefix, after.as_deref(), SCAN_PAGE)
                .await?;
            for key in &keys {
                let name = String::from_utf8_lossy(&key[prefix.len()..]).into_owned();
                if !self
                    .ctx
                    .allows(Capability::Read, &format!("configs/{service}/{name}"))
                {
                    continue;
                }
                // A head that does not open is left to the listing to report.
                let (Ok(id), Ok(Some(head))) = (StrategyId::new(name), self.read(key).await) else {
                    continue;
                };
                if since.is_none_or(|s| head.revision > s) {
                    changed.push((
                        head.revision,
                        WatchedChange {
                            strategy_id: id,
                            version: head.version,
                            deleted: head.deleted,
                        },
                    ));
                }
            }
            if keys.len() < SCAN_PAGE {
                break;
            }
            after = keys.last().cloned();
        }
        changed.sort_by_key(|(r, _)| *r);
        // Never past `current`: every write up to it had committed when it was read, so the
        // scan saw it (or a later write of the same config); a head written after it may have
        // been passed by the scan, and must come with the next watch.
        let mut revision = current;
        if changed.len() > WATCH_MAX_CHANGES {
            changed.truncate(WATCH_MAX_CHANGES);
            revision = changed.last().map_or(current, |(r, _)| current.min(*r));
        }
        Ok((changed.into_iter().map(|(_, c)| c).collect(), revision))
    }

    async fn watch_inner(
        &self,
        service: &ServiceName,
        since: Option<u64>,
        timeout: std::time::Duration,
    ) -> Result<ConfigWatch> {
        super::check_watch_timeout(timeout)?;
        let signals = &self.ctx.core().configs;
        signals.check_open()?;
        let _place = signals.admit(self.ctx.caller())?;
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribed before the revision is read: a write after the read wakes this.
        let mut woken = signals.subscribe(service);
        let mut current = self.revision(service).await?;
        let asked = since.unwrap_or(current);
        let mut since = asked;
        loop {
            if current != since {
                // Ahead of the vault (a restored backup, another vault): everything.
                let from = (since < current).then_some(since);
                let (changes, revision) = self.changed_since(service, from, current).await?;
                // Changes the caller may not read do not end its wait.
                if !changes.is_empty() || from.is_none() {
                    self.ctx.check_still_live().await?;
                    return Ok(ConfigWatch {
                        service: service.clone(),
                        revision,
                        changes,
                    });
                }
                since = revision;
            }
            let wait = tokio::time::timeout_at(deadline, woken.changed()).await;
            signals.check_open()?;
            if !matches!(wait, Ok(Ok(()))) {
                // The wait timed out: nothing this caller may see changed.
                self.ctx.check_still_live().await?;
                return Ok(ConfigWatch {
                    service: service.clone(),
                    revision: asked,
                    changes: Vec::new(),
                });
            }
            current = self.revision(service).await?;
        }
    }

    async fn settings_inner(&self, service: &ServiceName) -> Result<ConfigSettings> {
        Ok(
            read_head::<ConfigSettings>(self.ctx.barrier(), &settings_key(service))
                .await?
                .map(|h| h.record)
                .unwrap_or_default(),
        )
    }

    async fn set_settings_inner(
        &self,
        service: &ServiceName,
        settings: ConfigSettings,
    ) -> Result<ConfigSettings> {
        settings.check()?;
        let barrier = self.ctx.barrier();
        let key = settings_key(service);
        let sealed = seal_json(barrier, &key, &settings)?;
        if !barrier
            .commit(vec![], vec![Write::Put(key, sealed)])
            .await?
        {
            return Err(Error::Internal(
                "an unconditional commit was refused".into(),
            ));
        }
        Ok(settings)
    }

    /// Walks down from the latest version (or from `after - 1`) by point reads: the store
    /// scans in ascending order only, and versions are dense until the oldest kept one.
    async fn history_inner(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<ConfigHistory> {
        let limit = super::check_history_limit(limit)?;
        let revision = self.revision(service).await?;
        let head = self
            .read(&head_key(FAMILY, service, strategy_id))
            .await?
            .ok_or_else(|| no_config(service, strategy_id))?;
        let (latest, oldest) = (head.version, head.oldest.clamp(1, head.version));
        let mut next = match after {
            Some(a) => a.min(latest + 1).saturating_sub(1),
            None => latest,
        };
        let mut versions = Vec::new();
        while next >= oldest && versions.len() < limit {
            match self.read_version(service, strategy_id, &head, next).await? {
                Some(s) => versions.push(s.into_config(service, strategy_id.clone(), revision)),
                // Older versions were pruned: history starts after this one.
                None => {
                    next = 0;
                    break;
                }
            }
            next -= 1;
        }
        let more = next >= oldest
            && next > 0
            && self
                .read_version(service, strategy_id, &head, next)
                .await?
                .is_some();
        let next = if more {
            versions.last().map(|c| c.version)
        } else {
            None
        };
        Ok(ConfigHistory {
            versions,
            next,
            oldest_version: oldest,
            revision,
        })
    }
}

#[async_trait]
impl ConfigsApi for Configs {
    async fn put(&self, service: &ServiceName, put: ConfigPut) -> Result<ConfigWritten> {
        let operation = op("configs.put", Capability::Write, service, &put.strategy_id);
        self.ctx.run(operation, self.put_inner(service, &put)).await
    }

    async fn get(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        version: Option<u64>,
    ) -> Result<StrategyConfig> {
        let operation = op("configs.get", Capability::Read, service, strategy_id);
        self.ctx
            .run(operation, self.get_inner(service, strategy_id, version))
            .await
    }

    async fn rollback(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        rollback: ConfigRollback,
    ) -> Result<ConfigWritten> {
        let operation = op("configs.rollback", Capability::Write, service, strategy_id);
        self.ctx
            .run(operation, async {
                // It writes content the caller does not see: `read` on the config too.
                self.ctx.require(
                    Capability::Read,
                    &format!("configs/{service}/{strategy_id}"),
                )?;
                rollback.check()?;
                let to = rollback.to_version;
                // A delete's version holds the content before the delete: rolling back to it
                // restores that (the only way back when pruning took the versions before it).
                let old = self.get_inner(service, strategy_id, Some(to)).await?;
                let comment = rollback
                    .comment
                    .clone()
                    .filter(|c| !c.is_empty())
                    .or_else(|| Some(format!("rollback to version {to}")));
                self.write_version(service, strategy_id, rollback.expected_version, |prev| {
                    Ok(Content {
                        params: old.params.clone(),
                        symbols: old.symbols.clone(),
                        risk_limits: old.risk_limits.clone(),
                        enabled: old.enabled,
                        deleted: false,
                        comment: comment.clone(),
                        action: if prev.is_some_and(|p| !p.deleted) {
                            Action::Updated
                        } else {
                            Action::Created
                        },
                    })
                })
                .await
            })
            .await
    }

    async fn delete(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        expected_version: Option<u64>,
    ) -> Result<ConfigWritten> {
        let operation = op("configs.delete", Capability::Delete, service, strategy_id);
        self.ctx
            .run(operation, async {
                self.write_version(service, strategy_id, expected_version, |prev| {
                    let prev = prev
                        .filter(|p| !p.deleted)
                        .ok_or_else(|| no_config(service, strategy_id))?;
                    Ok(Content {
                        params: prev.params.clone(),
                        symbols: prev.symbols.clone(),
                        risk_limits: prev.risk_limits.clone(),
                        enabled: prev.enabled,
                        deleted: true,
                        comment: None,
                        action: Action::Deleted,
                    })
                })
                .await
            })
            .await
    }

    async fn watch(
        &self,
        service: &ServiceName,
        since: Option<u64>,
        timeout: std::time::Duration,
    ) -> Result<ConfigWatch> {
        let operation = Operation::new(
            "configs.watch",
            Capability::List,
            format!("configs/{service}/*"),
        );
        self.ctx
            .run(operation, self.watch_inner(service, since, timeout))
            .await
    }

    async fn diff(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        from: u64,
        to: u64,
    ) -> Result<ConfigDiff> {
        let operation = op("configs.diff", Capability::Read, service, strategy_id);
        self.ctx
            .run(operation, async {
                super::check_diff_versions(from, to)?;
                let old = self.get_inner(service, strategy_id, Some(from)).await?;
                let new = self.get_inner(service, strategy_id, Some(to)).await?;
                Ok(ConfigDiff {
                    from,
                    to,
                    changes: super::diff::changes(&old, &new),
                })
            })
            .await
    }

    async fn list(&self, service: &ServiceName, page: PageRequest) -> Result<Page<StrategyConfig>> {
        let operation = Operation::new(
            "configs.list",
            Capability::List,
            format!("configs/{service}/*"),
        );
        self.ctx
            .run(operation, self.list_inner(service, &page))
            .await
    }

    async fn settings(&self, service: &ServiceName) -> Result<ConfigSettings> {
        let operation = Operation::new(
            "configs.settings",
            Capability::Read,
            format!("configs/{service}"),
        );
        self.ctx.run(operation, self.settings_inner(service)).await
    }

    async fn set_settings(
        &self,
        service: &ServiceName,
        settings: ConfigSettings,
    ) -> Result<ConfigSettings> {
        let operation = Operation::new(
            "configs.set_settings",
            Capability::Write,
            format!("configs/{service}"),
        );
        self.ctx
            .run(operation, self.set_settings_inner(service, settings))
            .await
    }

    async fn history(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<ConfigHistory> {
        let operation = op("configs.history", Capability::Read, service, strategy_id);
        self.ctx
            .run(
                operation,
                self.history_inner(service, strategy_id, limit, after),
            )
            .await
    }
}
