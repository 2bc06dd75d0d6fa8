//! Strategy configs: (service, strategy_id) → params, symbols, risk limits, enabled; every put
//! a new version, readable by number, with compare-and-set.
//!
//! This module owns the family's records and its interface, [`ConfigsApi`], which the embedded
//! vault ([`Configs`]) and the remote client both implement.

mod diff;
pub(crate) mod embedded;
pub(crate) mod signals;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub(crate) use diff::value_changes;
pub use diff::{ChangeOp, ConfigChange, ConfigDiff, MAX_DIFF_PATH_BYTES};
pub use embedded::Configs;
pub use signals::{MAX_WAITING_WATCHES, MAX_WAITING_WATCHES_PER_TOKEN};

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
/// Longest comment a version may carry, in bytes.
pub const MAX_COMMENT_BYTES: usize = 1024;
/// Longest wait of one [`ConfigsApi::watch`].
pub const WATCH_MAX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// Most changes one [`ConfigsApi::watch`] reports (the rest come with the next watch).
pub const WATCH_MAX_CHANGES: usize = 1000;

/// Who wrote a version: the token's id and name, `root`, or `embedded` (the process embedding
/// the vault).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangedBy {
    /// The caller's id (a token id, `root` or `embedded`).
    pub id: String,
    /// The caller's name (the token's name, `root` or `embedded`).
    pub name: String,
}

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
    /// Who wrote this version (`None` for versions written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_by: Option<ChangedBy>,
    /// The comment given with the write, if any (a rollback without one records
    /// `rollback to version N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// True for the version a delete wrote: it keeps the content of the version before it, and
    /// the config reads as missing until the next put or rollback.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The service's configs revision when this was read: pass it to [`ConfigsApi::watch`] to
    /// wait for the next change (0 from a server that does not keep one).
    #[serde(default)]
    pub revision: u64,
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
    /// Compare-and-set: applies only if the latest version is this one (0 = must not exist,
    /// or was deleted).
    pub expected_version: Option<u64>,
    /// Why: recorded with the version (at most [`MAX_COMMENT_BYTES`]).
    pub comment: Option<String>,
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
            comment: None,
        }
    }
}

/// A request to roll a config back to one of its versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigRollback {
    /// The version whose content the new version takes.
    pub to_version: u64,
    /// Why (default `rollback to version N`).
    pub comment: Option<String>,
    /// Compare-and-set on the latest version, as for a put.
    pub expected_version: Option<u64>,
}

impl ConfigRollback {
    /// A rollback to `to_version`, without comment or compare-and-set.
    pub fn to(to_version: u64) -> Self {
        ConfigRollback {
            to_version,
            comment: None,
            expected_version: None,
        }
    }

    /// Checks the version (`invalid` field `to_version` for 0) and the comment; the one rule,
    /// also applied by a remote client.
    pub fn check(&self) -> Result<()> {
        if self.to_version == 0 {
            return Err(Error::invalid(
                "to_version",
                "must be a version number (1 or more)",
            ));
        }
        check_comment(self.comment.as_deref())
    }
}

/// `invalid` (field `comment`) for a comment over [`MAX_COMMENT_BYTES`] or with control
/// characters other than newline and tab.
pub fn check_comment(comment: Option<&str>) -> Result<()> {
    let Some(c) = comment else { return Ok(()) };
    if c.len() > MAX_COMMENT_BYTES {
        return Err(Error::invalid(
            "comment",
            format!("must be at most {MAX_COMMENT_BYTES} bytes"),
        ));
    }
    if c.chars()
        .any(|ch| ch.is_control() && ch != '\n' && ch != '\t')
    {
        return Err(Error::invalid(
            "comment",
            "must not contain control characters other than newline and tab",
        ));
    }
    Ok(())
}

impl ConfigPut {
    /// Checks what can be checked without the previous version: symbols (at most
    /// [`MAX_SYMBOLS`], each 1 to [`MAX_SYMBOL_LEN`] printable characters, no duplicates),
    /// params and risk limits nested at most [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH) levels,
    /// the known risk limits typed and ranged (see [`check_risk_limits`]), the comment, and the
    /// given fields together within [`MAX_CONFIG_BYTES`]. The one rule, applied by the embedded
    /// vault and by a remote client before it sends; the merged record's size is checked again
    /// when it is written.
    pub fn check(&self) -> Result<()> {
        if let Some(symbols) = &self.symbols {
            check_symbols(symbols)?;
        }
        if let Some(p) = &self.params {
            check_json_depth("params", p)?;
        }
        if let Some(r) = &self.risk_limits {
            check_json_depth("risk_limits", r)?;
            check_risk_limits(r)?;
        }
        check_comment(self.comment.as_deref())?;
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

/// The known risk limits, typed and ranged (`invalid` naming `risk_limits.<name>`):
/// `max_position_size` a number ≥ 0, `max_daily_loss` a number from 0 to 1 (a fraction of
/// equity), `max_trades_per_day` a non-negative integer. Other limits are free-form.
pub fn check_risk_limits(limits: &JsonObject) -> Result<()> {
    let number = |name: &str| -> Result<Option<f64>> {
        match limits.get(name) {
            None => Ok(None),
            Some(v) => v
                .as_f64()
                .map(Some)
                .ok_or_else(|| Error::invalid(format!("risk_limits.{name}"), "must be a number")),
        }
    };
    if let Some(v) = number("max_position_size")?
        && v < 0.0
    {
        return Err(Error::invalid(
            "risk_limits.max_position_size",
            "must be 0 or more",
        ));
    }
    if let Some(v) = number("max_daily_loss")?
        && !(0.0..=1.0).contains(&v)
    {
        return Err(Error::invalid(
            "risk_limits.max_daily_loss",
            "must be from 0 to 1 (a fraction of equity)",
        ));
    }
    // An integer, written as one or with a zero fraction (`5.0`, as Python floats come).
    if let Some(v) = limits.get("max_trades_per_day")
        && !v.as_f64().is_some_and(|n| n >= 0.0 && n.fract() == 0.0)
    {
        return Err(Error::invalid(
            "risk_limits.max_trades_per_day",
            "must be a non-negative integer",
        ));
    }
    Ok(())
}

/// `invalid` (field `timeout`) over [`WATCH_MAX_TIMEOUT`]; the one rule, also applied by a
/// remote client.
pub fn check_watch_timeout(timeout: std::time::Duration) -> Result<()> {
    if timeout > WATCH_MAX_TIMEOUT {
        return Err(Error::invalid(
            "timeout",
            format!("must be at most {} seconds", WATCH_MAX_TIMEOUT.as_secs()),
        ));
    }
    Ok(())
}

/// A watch's wait given in seconds (the bindings' unit): `invalid` (field `timeout`) when it
/// is negative or not a number, or over [`WATCH_MAX_TIMEOUT`].
pub fn watch_timeout_secs(seconds: f64) -> Result<std::time::Duration> {
    let wait = std::time::Duration::try_from_secs_f64(seconds)
        .map_err(|_| Error::invalid("timeout", "must be a number of seconds, 0 or more"))?;
    check_watch_timeout(wait)?;
    Ok(wait)
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

pub(crate) fn check_symbols(symbols: &[String]) -> Result<()> {
    if symbols.len() > MAX_SYMBOLS {
        return Err(Error::invalid(
            "symbols",
            format!("must list at most {MAX_SYMBOLS} symbols"),
        ));
    }
    let mut seen = std::collections::HashMap::with_capacity(symbols.len());
    for (i, s) in symbols.iter().enumerate() {
        if s.is_empty() || s.len() > MAX_SYMBOL_LEN || s.chars().any(char::is_control) {
            return Err(Error::invalid(
                format!("symbols[{i}]"),
                format!("must be 1 to {MAX_SYMBOL_LEN} printable characters"),
            ));
        }
        if let Some(first) = seen.insert(s.as_str(), i) {
            return Err(Error::invalid(
                format!("symbols[{i}]"),
                format!("duplicates symbols[{first}]"),
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
    /// Created, updated or deleted.
    pub action: Action,
    /// The version this write wrote.
    pub version: u64,
}

/// One config a [`ConfigsApi::watch`] saw change: its latest version now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedChange {
    /// The strategy's id.
    pub strategy_id: StrategyId,
    /// Its latest version.
    pub version: u64,
    /// True when that version is a delete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

/// What one [`ConfigsApi::watch`] saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigWatch {
    /// The service watched.
    pub service: ServiceName,
    /// The revision these changes bring the caller to: pass it as the next `since`.
    pub revision: u64,
    /// The configs changed after `since`, in the order of their last change (empty when the
    /// wait timed out).
    pub changes: Vec<WatchedChange>,
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
    /// The service's configs revision when the history was read.
    pub revision: u64,
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
    /// limits, enabled) of its version `rollback.to_version`; history is never rewritten (a
    /// rollback of a deleted config brings it back; rolling back to the delete's own version
    /// restores the content it deleted). `not_found` when that version is not kept, `invalid`
    /// (field `to_version`) for 0. Needs `write` and `read` on the config (it writes content
    /// the caller does not see).
    async fn rollback(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        rollback: ConfigRollback,
    ) -> Result<ConfigWritten>;

    /// Deletes a strategy config, keeping its history: a new version marked `deleted` (with
    /// the content of the one before it, action [`Action::Deleted`]); the config then reads
    /// as `not_found` and leaves listings until a put or a rollback brings it back (numbering
    /// goes on). `expected_version` is compare-and-set on the latest version. Needs `delete`.
    async fn delete(
        &self,
        service: &ServiceName,
        strategy_id: &StrategyId,
        expected_version: Option<u64>,
    ) -> Result<ConfigWritten>;

    /// Waits for the configs of `service` to change after revision `since` (the `revision` of
    /// a get, a list or the previous watch; `None`: the current revision, so the next change),
    /// at most `timeout` (at most [`WATCH_MAX_TIMEOUT`]). Returns at once when something
    /// changed after `since` (or `since` is ahead of the vault, e.g. after a restore: then
    /// every config is reported), otherwise at the first change or with no changes and the
    /// same revision at the timeout. Needs `list` on the service's configs; reports only the
    /// configs the caller may read (changes to others do not end the wait). `rate_limited`
    /// past [`MAX_WAITING_WATCHES`] waiting in the vault or [`MAX_WAITING_WATCHES_PER_TOKEN`]
    /// for one token; `unavailable` once the vault ends its watches (shutdown, close); a token
    /// revoked while its watch waits gets `unauthorized`, not the answer.
    async fn watch(
        &self,
        service: &ServiceName,
        since: Option<u64>,
        timeout: std::time::Duration,
    ) -> Result<ConfigWatch>;

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
    /// `page.after`; deleted configs are left out. [`Page::revision`] is the service's
    /// revision (read before the configs: watching from it misses nothing). A config that cannot be read is reported in [`Page::unreadable`] instead of
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
