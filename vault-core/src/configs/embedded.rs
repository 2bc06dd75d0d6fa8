//! The embedded strategy configs: storage layout and operations over the barrier.
//!
//! Store layout: head `cfg/h/<service>/<strategy_id>` (latest), versions
//! `cfg/v/<service>/<strategy_id>/<u64 BE>` (all kept). Records are sealed like every other
//! record.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    ConfigHistory, ConfigPut, ConfigWritten, ConfigsApi, HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT,
    MAX_CONFIG_BYTES, MAX_SYMBOL_LEN, MAX_SYMBOLS, StrategyConfig,
};
use crate::JsonObject;
use crate::clock::Timestamp;
use crate::context::{Capability, Ctx, Operation};
use crate::error::{Error, Result};
use crate::names::{ServiceName, StrategyId};
use crate::records::{
    NextVersion, Versioned, head_key, head_prefix, read_head, scan_all, seal_json, version_key,
    write_next_version,
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

fn check_symbols(symbols: &[String]) -> Result<()> {
    if symbols.len() > MAX_SYMBOLS {
        return Err(Error::invalid(
            "symbols",
            format!("must list at most {MAX_SYMBOLS} symbols"),
        ));
    }
    for (i, s) in symbols.iter().enumerate() {
        if s.is_empty() || s.len() > MAX_SYMBOL_LEN || s.chars().any(char::is_control) {
            return Err(Error::invalid(
                format!("symbols[{i}]"),
                format!("must be 1 to {MAX_SYMBOL_LEN} printable characters"),
            ));
        }
    }
    Ok(())
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
        if let Some(symbols) = &put.symbols {
            check_symbols(symbols)?;
        }
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
                let record = Stored {
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
                };
                let size = serde_json::to_vec(&record)
                    .map(|v| v.len())
                    .unwrap_or(usize::MAX);
                if size > MAX_CONFIG_BYTES {
                    return Err(Error::invalid(
                        "config",
                        format!(
                            "params, symbols and risk_limits together must be at most \
                             {MAX_CONFIG_BYTES} bytes of JSON"
                        ),
                    ));
                }
                let vkey = version_key(FAMILY, service, id, version);
                let writes = vec![
                    Write::Put(head.clone(), seal_json(barrier, &head, &record)?),
                    Write::Put(vkey.clone(), seal_json(barrier, &vkey, &record)?),
                ];
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
        let key = match version {
            Some(v) => version_key(FAMILY, service, strategy_id, v),
            None => head_key(FAMILY, service, strategy_id),
        };
        match self.read(&key).await? {
            Some(s) => Ok(s.into_config(service, strategy_id.clone())),
            None => Err(match version {
                Some(v) => Error::NotFound(format!(
                    "Config '{strategy_id}' of service '{service}' has no version {v}"
                )),
                None => no_config(service, strategy_id),
            }),
        }
    }

    async fn list_inner(&self, service: &ServiceName) -> Result<Vec<StrategyConfig>> {
        let prefix = head_prefix(FAMILY, service);
        scan_all(self.ctx.barrier(), &prefix, |name, stored: Stored| {
            let id = StrategyId::new(name).map_err(|_| Error::Integrity)?;
            Ok(stored.into_config(service, id))
        })
        .await
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
        let limit = limit.unwrap_or(HISTORY_DEFAULT_LIMIT);
        if limit == 0 || limit > HISTORY_MAX_LIMIT {
            return Err(Error::invalid(
                "limit",
                format!("must be 1 to {HISTORY_MAX_LIMIT}"),
            ));
        }
        let latest = self
            .read(&head_key(FAMILY, service, strategy_id))
            .await?
            .ok_or_else(|| no_config(service, strategy_id))?
            .version;
        let mut next = match after {
            Some(a) => a.min(latest + 1).saturating_sub(1),
            None => latest,
        };
        let mut versions = Vec::new();
        while next > 0 && versions.len() < limit {
            match self
                .read(&version_key(FAMILY, service, strategy_id, next))
                .await?
            {
                Some(s) => versions.push(s.into_config(service, strategy_id.clone())),
                // Older versions were pruned: history starts after this one.
                None => {
                    next = 0;
                    break;
                }
            }
            next -= 1;
        }
        let more = next > 0
            && self
                .read(&version_key(FAMILY, service, strategy_id, next))
                .await?
                .is_some();
        let next = if more {
            versions.last().map(|c| c.version)
        } else {
            None
        };
        Ok(ConfigHistory { versions, next })
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

    async fn list(&self, service: &ServiceName) -> Result<Vec<StrategyConfig>> {
        let operation = Operation::new(
            "configs.list",
            Capability::List,
            format!("configs/{service}"),
        );
        self.ctx.run(operation, self.list_inner(service)).await
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
