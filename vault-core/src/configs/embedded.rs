//! The embedded strategy configs: storage layout and operations over the barrier.
//!
//! Store layout: head `cfg/h/<service>/<strategy_id>` (latest; it also records the oldest
//! version kept), versions `cfg/v/<service>/<strategy_id>/<u64 BE>` (the last
//! `max_versions`: a put prunes older ones in its own commit), and the service's settings
//! `cfg/s/<service>`. Records are sealed like every other record.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    ConfigDiff, ConfigHistory, ConfigPut, ConfigSettings, ConfigWritten, ConfigsApi,
    MAX_CONFIG_BYTES, PRUNE_BATCH, StrategyConfig,
};
use crate::JsonObject;
use crate::clock::Timestamp;
use crate::context::{Capability, Ctx, Operation};
use crate::error::{Error, Result};
use crate::names::{ServiceName, StrategyId};
use crate::page::{Page, PageRequest};
use crate::records::{
    NextVersion, Versioned, Visible, head_key, head_prefix, read_head, read_page, seal_json,
    version_key, write_next_version,
};
use crate::store::Write;

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
}

fn first_version() -> u64 {
    1
}

/// `cfg/s/<service>`: the service's settings.
fn settings_key(service: &str) -> Vec<u8> {
    format!("{FAMILY}/s/{service}").into_bytes()
}

impl Versioned for Stored {
    fn version(&self) -> u64 {
        self.version
    }
}

impl Stored {
    fn into_config(self, service: &ServiceName, strategy_id: StrategyId) -> StrategyConfig {
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
        let max_versions = self.settings_inner(service).await?.max_versions.max(1);
        let barrier = self.ctx.barrier();
        let id = &put.strategy_id;
        let head = head_key(FAMILY, service, id);
        let what = || format!("config '{id}' of service '{service}'");
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
                let mut record = Stored {
                    params: put
                        .params
                        .clone()
                        .or_else(|| prev.as_ref().map(|p| p.params.clone()))
                        .unwrap_or_default(),
                    symbols: put
                        .symbols
                        .clone()
                        .or_else(|| prev.as_ref().map(|p| p.symbols.clone()))
                        .unwrap_or_default(),
                    risk_limits: put
                        .risk_limits
                        .clone()
                        .or_else(|| prev.as_ref().map(|p| p.risk_limits.clone()))
                        .unwrap_or_default(),
                    enabled: put
                        .enabled
                        .or_else(|| prev.as_ref().map(|p| p.enabled))
                        .unwrap_or(true),
                    version,
                    created_at: prev.as_ref().map_or(now, |p| p.created_at),
                    updated_at: now,
                    oldest: prev
                        .as_ref()
                        .map_or(version, |p| p.oldest.clamp(1, version)),
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
                // The content only, as `ConfigPut::check` measures it: a version accepted at
                // the limit stays writable (by a rollback) whatever its version number.
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
                ];
                writes
                    .extend(pruned.map(|old| Write::Delete(version_key(FAMILY, service, id, old))));
                Ok((
                    writes,
                    ConfigWritten {
                        service: service.clone(),
                        strategy_id: id.clone(),
                        action,
                        version,
                    },
                ))
            },
        )
        .await
    }

    async fn read(&self, key: &[u8]) -> Result<Option<Stored>> {
        Ok(read_head::<Stored>(self.ctx.barrier(), key)
            .await?
            .map(|h| h.record))
    }

    async fn get_inner(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        version: Option<u64>,
    ) -> Result<StrategyConfig> {
        let head = self
            .read(&head_key(FAMILY, service, strategy_id))
            .await?
            .ok_or_else(|| no_config(service, strategy_id))?;
        let stored = match version {
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
        Ok(stored.into_config(service, strategy_id.clone()))
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
        let prefix = head_prefix(FAMILY, service);
        let resource = format!("configs/{service}");
        let visible = Visible {
            capability: Capability::Read,
            resource: &resource,
        };
        read_page(&self.ctx, &prefix, page, visible, |head, name| async move {
            let id = StrategyId::new(name).map_err(|_| Error::Integrity)?;
            Ok(self.read(&head).await?.map(|s| s.into_config(service, id)))
        })
        .await
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
                Some(s) => versions.push(s.into_config(service, strategy_id.clone())),
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
        to_version: u64,
    ) -> Result<ConfigWritten> {
        let operation = op("configs.rollback", Capability::Write, service, strategy_id);
        self.ctx
            .run(operation, async {
                // It writes content the caller does not see: `read` on the config too.
                self.ctx.require(
                    Capability::Read,
                    &format!("configs/{service}/{strategy_id}"),
                )?;
                super::check_rollback_version(to_version)?;
                let old = self
                    .get_inner(service, strategy_id, Some(to_version))
                    .await?;
                let put = ConfigPut {
                    params: Some(old.params),
                    symbols: Some(old.symbols),
                    risk_limits: Some(old.risk_limits),
                    enabled: Some(old.enabled),
                    ..ConfigPut::new(strategy_id.clone())
                };
                self.put_inner(service, &put).await
            })
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
