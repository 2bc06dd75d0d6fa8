//! Strategy configs: (service, strategy_id) → params, symbols, risk limits, enabled; every put
//! a new version, readable by number, with compare-and-set.
//!
//! This module owns the family's records and its interface, [`ConfigsApi`], which the embedded
//! vault ([`Configs`]) and the remote client both implement.

mod diff;
mod embedded;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use diff::{ChangeOp, ConfigChange, ConfigDiff, MAX_DIFF_PATH_BYTES};
pub use embedded::Configs;

use crate::api::check_json_depth;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::names::{ServiceName, StrategyId};
use crate::page::{Page, PageRequest};
use crate::{Action, JsonObject};

/// Most symbols a config may list.
pub const MAX_SYMBOLS: usize = 10_000;
/// Longest symbol, in bytes.
pub const MAX_SYMBOL_LEN: usize = 64;
/// Largest config record (params + risk limits + symbols), in bytes of JSON. Params and risk
/// limits are also nested at most [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH) levels deep.
pub const MAX_CONFIG_BYTES: usize = 512 * 1024;
/// Versions kept of each config (the latest included) unless the service's
/// [`ConfigSettings::max_versions`] says otherwise.
pub const DEFAULT_MAX_VERSIONS: u64 = 1000;
/// Largest accepted [`ConfigSettings::max_versions`].
pub const MAX_MAX_VERSIONS: u64 = 100_000;
/// Most old versions one put prunes: after the cap is lowered a lot, a few puts bring a config
/// down to it.
pub const PRUNE_BATCH: u64 = 10_000;
/// Default page size of [`ConfigsApi::history`].
pub const HISTORY_DEFAULT_LIMIT: usize = 100;
/// Largest page of [`ConfigsApi::history`].
pub const HISTORY_MAX_LIMIT: usize = 1000;

/// A versioned strategy config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StrategyConfig {
    /// The service (trading engine) the strategy belongs to.
    pub service: ServiceName,
    /// The strategy's id.
    pub strategy_id: StrategyId,
    /// Strategy parameters.
    pub params: JsonObject,
    /// Symbols traded.
    pub symbols: Vec<String>,
    /// Risk limits.
    pub risk_limits: JsonObject,
    /// Whether the strategy is enabled.
    pub enabled: bool,
    /// Version number: 1, 2, 3, ...
    pub version: u64,
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// When this version was written.
    pub updated_at: Timestamp,
    /// True only when a remote client served this from its last-known-good cache because the
    /// server was unreachable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

/// A request to write a new version of a strategy config. Fields left `None` keep the previous
/// version's value (defaults for a new config: `{}`, `[]`, `{}`, enabled `true`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigPut {
    /// The strategy's id.
    pub strategy_id: StrategyId,
    /// New parameters.
    pub params: Option<JsonObject>,
    /// New symbols.
    pub symbols: Option<Vec<String>>,
    /// New risk limits.
    pub risk_limits: Option<JsonObject>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Compare-and-set: applies only if the latest version is this one (0 = must not exist).
    pub expected_version: Option<u64>,
}

impl ConfigPut {
    /// A put of `strategy_id` that changes nothing yet (set the fields to change).
    pub fn new(strategy_id: StrategyId) -> Self {
        ConfigPut {
            strategy_id,
            params: None,
            symbols: None,
            risk_limits: None,
            enabled: None,
            expected_version: None,
        }
    }
}

impl ConfigPut {
    /// Checks what can be checked without the previous version: symbols (at most
    /// [`MAX_SYMBOLS`], each 1 to [`MAX_SYMBOL_LEN`] printable characters), params and risk
    /// limits nested at most [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH) levels, and the given
    /// fields together within [`MAX_CONFIG_BYTES`]. The one rule, applied by the embedded vault
    /// and by a remote client before it sends; the merged record's size is checked again when
    /// it is written.
    pub fn check(&self) -> Result<()> {
        if let Some(symbols) = &self.symbols {
            check_symbols(symbols)?;
        }
        if let Some(p) = &self.params {
            check_json_depth("params", p)?;
        }
        if let Some(r) = &self.risk_limits {
            check_json_depth("risk_limits", r)?;
        }
        let size = |v: Option<Result<Vec<u8>, serde_json::Error>>| {
            v.map_or(0, |r| r.map_or(usize::MAX, |b| b.len()))
        };
        let given = size(self.params.as_ref().map(serde_json::to_vec))
            .saturating_add(size(self.symbols.as_ref().map(serde_json::to_vec)))
            .saturating_add(size(self.risk_limits.as_ref().map(serde_json::to_vec)));
        if given > MAX_CONFIG_BYTES {
            return Err(config_too_large());
        }
        Ok(())
    }
}

/// `invalid config`: the record would exceed [`MAX_CONFIG_BYTES`].
pub(crate) fn config_too_large() -> Error {
    Error::invalid(
        "config",
        format!(
            "params, symbols and risk_limits together must be at most {MAX_CONFIG_BYTES} bytes \
             of JSON"
        ),
    )
}

/// `invalid` (field `to_version`) for version 0; the one rule, also applied by a remote client.
pub fn check_rollback_version(to_version: u64) -> Result<()> {
    if to_version == 0 {
        return Err(Error::invalid(
            "to_version",
            "must be a version number (1 or more)",
        ));
    }
    Ok(())
}

/// `invalid` naming `from` or `to` when either is 0 (versions start at 1); the one rule, also
/// applied by a remote client before it sends.
pub fn check_diff_versions(from: u64, to: u64) -> Result<()> {
    for (field, v) in [("from", from), ("to", to)] {
        if v == 0 {
            return Err(Error::invalid(
                field,
                "must be a version number (1 or more)",
            ));
        }
    }
    Ok(())
}

/// The page size of a history read: `limit` or the default; `invalid` (field `limit`) outside
/// 1 to [`HISTORY_MAX_LIMIT`].
pub fn check_history_limit(limit: Option<usize>) -> Result<usize> {
    let limit = limit.unwrap_or(HISTORY_DEFAULT_LIMIT);
    if limit == 0 || limit > HISTORY_MAX_LIMIT {
        return Err(Error::invalid(
            "limit",
            format!("must be 1 to {HISTORY_MAX_LIMIT}"),
        ));
    }
    Ok(limit)
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

/// The outcome of a config put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigWritten {
    /// The service.
    pub service: ServiceName,
    /// The strategy's id.
    pub strategy_id: StrategyId,
    /// Created or updated.
    pub action: Action,
    /// The version this put wrote.
    pub version: u64,
}

/// One page of a config's history, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigHistory {
    /// Versions, newest first.
    pub versions: Vec<StrategyConfig>,
    /// When more (older) versions exist: pass this as `after` to read the next page.
    pub next: Option<u64>,
    /// The oldest version kept: history starts there (1 until versions are pruned; see
    /// [`ConfigSettings::max_versions`]).
    pub oldest_version: u64,
}

/// The configs settings of one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSettings {
    /// Versions kept of each config of the service, the latest included (1 to
    /// [`MAX_MAX_VERSIONS`]; [`DEFAULT_MAX_VERSIONS`] unless set). A put prunes the versions
    /// beyond it, oldest first, in the same commit (at most [`PRUNE_BATCH`] per put).
    pub max_versions: u64,
}

impl ConfigSettings {
    /// `invalid` (field `max_versions`) outside 1 to [`MAX_MAX_VERSIONS`]; the one rule, also
    /// applied by a remote client before it sends.
    pub fn check(&self) -> Result<()> {
        if self.max_versions == 0 || self.max_versions > MAX_MAX_VERSIONS {
            return Err(Error::invalid(
                "max_versions",
                format!("must be 1 to {MAX_MAX_VERSIONS}"),
            ));
        }
        Ok(())
    }
}

impl Default for ConfigSettings {
    fn default() -> Self {
        ConfigSettings {
            max_versions: DEFAULT_MAX_VERSIONS,
        }
    }
}

/// The config operations, embedded or remote.
#[async_trait]
pub trait ConfigsApi: Send + Sync {
    /// Writes a new version of a strategy config.
    async fn put(&self, service: &ServiceName, put: ConfigPut) -> Result<ConfigWritten>;

    /// A strategy config: the latest version, or version `version`; `not_found` when missing.
    async fn get(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        version: Option<u64>,
    ) -> Result<StrategyConfig>;

    /// Writes a new version of a strategy config with the content (params, symbols, risk
    /// limits, enabled) of its version `to_version`; history is never rewritten. `not_found`
    /// when that version is not kept, `invalid` (field `to_version`) for 0. Needs `write` and
    /// `read` on the config (it writes content the caller does not see).
    async fn rollback(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        to_version: u64,
    ) -> Result<ConfigWritten>;

    /// The changes from version `from` to version `to` of a strategy config (either may be the
    /// newer one); `not_found` when either is not kept, `invalid` (field `from` or `to`) for
    /// version 0. Needs `read` on the config. Changes at paths whose lengths add up to more
    /// than [`MAX_DIFF_PATH_BYTES`] are given as one `replace` per field that differs.
    async fn diff(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        from: u64,
        to: u64,
    ) -> Result<ConfigDiff>;

    /// One page of the latest versions of the strategy configs of `service`, ordered by
    /// strategy id: at most `page.limit` (default 100, at most 1000) whose ids sort after
    /// `page.after`. A config that cannot be read is reported in [`Page::unreadable`] instead of
    /// failing the listing.
    async fn list(&self, service: &ServiceName, page: PageRequest) -> Result<Page<StrategyConfig>>;

    /// A config's versions, newest first: at most `limit` (default
    /// [`HISTORY_DEFAULT_LIMIT`], at most [`HISTORY_MAX_LIMIT`]) versions older than `after`
    /// (from the latest when `None`); `not_found` when the config does not exist.
    async fn history(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> Result<ConfigHistory>;

    /// The configs settings of `service` (the defaults when none were set).
    async fn settings(&self, service: &ServiceName) -> Result<ConfigSettings>;

    /// Sets the configs settings of `service`; `invalid` (field `max_versions`) outside 1 to
    /// [`MAX_MAX_VERSIONS`]. Lowering `max_versions` prunes on each config's next put.
    async fn set_settings(
        &self,
        service: &ServiceName,
        settings: ConfigSettings,
    ) -> Result<ConfigSettings>;
}
