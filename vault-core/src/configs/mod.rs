//! Strategy configs: (service, strategy_id) → params, symbols, risk limits, enabled; every put
//! a new version, readable by number, with compare-and-set.
//!
//! This module owns the family's records and its interface, [`ConfigsApi`], which the embedded
//! vault ([`Configs`]) and the remote client both implement.

mod embedded;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use embedded::Configs;

use crate::clock::Timestamp;
use crate::error::Result;
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
