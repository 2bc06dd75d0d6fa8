//! Strategy configs: (service, strategy_id) → params, symbols, risk limits, enabled.
//!
//! Every put is a new version (1, 2, 3, ...); all versions are kept and readable by number.
//! Store layout: head `cfg/h/<service>/<strategy_id>` (latest), versions
//! `cfg/v/<service>/<strategy_id>/<u64 BE>`. Records are sealed like every other record.

use serde::{Deserialize, Serialize};

use crate::api::{ConfigPut, ConfigWritten, JsonObject, StrategyConfig};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::names::check_name;
use crate::records::{
    NextVersion, PAGE, Versioned, head_key, head_prefix, name_from_key, read_head, seal_json,
    version_key, versions_prefix, write_next_version,
};
use crate::store::Write;
use crate::vault::Inner;

const FAMILY: &str = "cfg";
/// Most symbols a config may list.
pub const MAX_SYMBOLS: usize = 10_000;
/// Longest symbol, in bytes.
pub const MAX_SYMBOL_LEN: usize = 64;
/// Largest config record (params + risk limits + symbols), in bytes of JSON.
pub const MAX_CONFIG_BYTES: usize = 512 * 1024;

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
    fn into_config(self, service: &str, strategy_id: &str) -> StrategyConfig {
        StrategyConfig {
            service: service.to_string(),
            strategy_id: strategy_id.to_string(),
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

/// The strategy configs of a vault.
pub struct Configs<'v> {
    inner: &'v Inner,
}

impl<'v> Configs<'v> {
    pub(crate) fn new(inner: &'v Inner) -> Self {
        Configs { inner }
    }

    /// Writes a new version; see [`VaultApi::put_config`](crate::VaultApi::put_config).
    pub async fn put(&self, service: &str, put: ConfigPut) -> Result<ConfigWritten> {
        check_name("service", service)?;
        check_name("strategy_id", &put.strategy_id)?;
        if let Some(symbols) = &put.symbols {
            check_symbols(symbols)?;
        }
        let barrier = &self.inner.barrier;
        let id = put.strategy_id.as_str();
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
                let now = self.inner.clock.now().as_millis();
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
                        service: service.to_string(),
                        strategy_id: id.to_string(),
                        action,
                        version,
                    },
                ))
            },
        )
        .await
    }

    /// The latest version of a config, or version `version`.
    pub async fn get(
        &self,
        service: &str,
        strategy_id: &str,
        version: Option<u64>,
    ) -> Result<StrategyConfig> {
        check_name("service", service)?;
        check_name("strategy_id", strategy_id)?;
        let key = match version {
            Some(v) => version_key(FAMILY, service, strategy_id, v),
            None => head_key(FAMILY, service, strategy_id),
        };
        match read_head::<Stored>(&self.inner.barrier, &key).await? {
            Some(h) => Ok(h.record.into_config(service, strategy_id)),
            None => Err(Error::NotFound(match version {
                Some(v) => {
                    format!("Config '{strategy_id}' of service '{service}' has no version {v}")
                }
                None => format!("Config '{strategy_id}' not found for service '{service}'"),
            })),
        }
    }

    /// Every version of a config, oldest first.
    pub async fn history(&self, service: &str, strategy_id: &str) -> Result<Vec<StrategyConfig>> {
        check_name("service", service)?;
        check_name("strategy_id", strategy_id)?;
        let prefix = versions_prefix(FAMILY, service, strategy_id);
        self.walk(&prefix, |_, stored| {
            Ok(stored.into_config(service, strategy_id))
        })
        .await
    }

    /// The latest version of every config of `service`, ordered by strategy id.
    pub async fn list(&self, service: &str) -> Result<Vec<StrategyConfig>> {
        check_name("service", service)?;
        let prefix = head_prefix(FAMILY, service);
        self.walk(&prefix, |key, stored| {
            Ok(stored.into_config(service, &name_from_key(&prefix, key)?))
        })
        .await
    }

    async fn walk(
        &self,
        prefix: &[u8],
        mut f: impl FnMut(&[u8], Stored) -> Result<StrategyConfig>,
    ) -> Result<Vec<StrategyConfig>> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .inner
                .barrier
                .scan(prefix, after.as_deref(), PAGE)
                .await?;
            let full = page.len() == PAGE;
            for (k, plain) in page {
                let stored: Stored =
                    serde_json::from_slice(&plain).map_err(|_| Error::Integrity)?;
                out.push(f(&k, stored)?);
                after = Some(k);
            }
            if !full {
                return Ok(out);
            }
        }
    }
}
