//! Strategy configs: `NativeVault` methods over [`ConfigsApi`](vault_core::ConfigsApi), and the
//! records they return. Names enter Rust here and become typed vault-core names.

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use serde_json::{Map, Value};
use vault_core::{
    ConfigHistory, ConfigPut, ConfigRollback, ConfigSettings, ConfigWatch, ConfigWritten, Page,
    PageRequest, ServiceName, StrategyConfig, StrategyId,
};

use crate::error::IntoNapi;
use crate::vault::{NativeVault, UnreadableRecord, limit_in, uint_in, unreadable_out, version_out};

/// A versioned strategy config.
#[napi(object)]
pub struct ConfigRecord {
    /// The service (trading engine) the strategy belongs to.
    pub service: String,
    /// The strategy's id.
    pub strategy_id: String,
    /// Strategy parameters.
    pub params: Map<String, Value>,
    /// Symbols traded.
    pub symbols: Vec<String>,
    /// Risk limits.
    pub risk_limits: Map<String, Value>,
    /// Whether the strategy is enabled.
    pub enabled: bool,
    /// Version number.
    pub version: i64,
    /// When version 1 was written (RFC 3339).
    pub created_at: String,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
    /// True when a remote client served this from its last-known-good cache.
    pub stale: bool,
    /// Who wrote this version (absent for versions written before it was recorded).
    pub changed_by: Option<ChangedByRecord>,
    /// The comment given with this version.
    pub comment: Option<String>,
    /// True for the version a delete wrote.
    pub deleted: bool,
    /// The service's configs revision when this was read (pass it to `configs.watch`).
    pub revision: i64,
}

/// Who wrote a config version.
#[napi(object)]
pub struct ChangedByRecord {
    /// A token's id, `root` or `embedded`.
    pub id: String,
    /// A token's name, `root` or `embedded`.
    pub name: String,
}

/// One config a watch saw change.
#[napi(object)]
pub struct WatchedChangeRecord {
    /// The strategy's id.
    pub strategy_id: String,
    /// Its latest version.
    pub version: i64,
    /// True when that version is a delete.
    pub deleted: bool,
}

/// What one watch saw.
#[napi(object)]
pub struct ConfigWatchRecord {
    /// The service watched.
    pub service: String,
    /// The revision to watch from next.
    pub revision: i64,
    /// The configs changed, in the order of their last change (empty at the timeout).
    pub changes: Vec<WatchedChangeRecord>,
}

impl From<ConfigWatch> for ConfigWatchRecord {
    fn from(w: ConfigWatch) -> Self {
        ConfigWatchRecord {
            service: w.service.into_string(),
            revision: version_out(w.revision),
            changes: w
                .changes
                .into_iter()
                .map(|c| WatchedChangeRecord {
                    strategy_id: c.strategy_id.into_string(),
                    version: version_out(c.version),
                    deleted: c.deleted,
                })
                .collect(),
        }
    }
}

impl From<StrategyConfig> for ConfigRecord {
    fn from(c: StrategyConfig) -> Self {
        ConfigRecord {
            service: c.service.into_string(),
            strategy_id: c.strategy_id.into_string(),
            params: c.params,
            symbols: c.symbols,
            risk_limits: c.risk_limits,
            enabled: c.enabled,
            version: version_out(c.version),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            stale: c.stale,
            changed_by: c.changed_by.map(|b| ChangedByRecord {
                id: b.id,
                name: b.name,
            }),
            comment: c.comment,
            deleted: c.deleted,
            revision: version_out(c.revision),
        }
    }
}

/// The outcome of a config put.
#[napi(object)]
pub struct ConfigWrittenRecord {
    /// The service.
    pub service: String,
    /// The strategy's id.
    pub strategy_id: String,
    /// `"created"`, `"updated"` or `"deleted"`.
    pub action: String,
    /// The version this put wrote.
    pub version: i64,
}

impl From<ConfigWritten> for ConfigWrittenRecord {
    fn from(w: ConfigWritten) -> Self {
        ConfigWrittenRecord {
            service: w.service.into_string(),
            strategy_id: w.strategy_id.into_string(),
            action: w.action.as_str().to_string(),
            version: version_out(w.version),
        }
    }
}

/// The changes between two versions of a config.
#[napi(object)]
pub struct ConfigDiffRecord {
    /// The version the changes start from.
    pub from: i64,
    /// The version they lead to.
    pub to: i64,
    /// `{ op, path, old?, new? }` each.
    pub changes: Vec<Value>,
}

impl ConfigDiffRecord {
    fn from_core(d: vault_core::ConfigDiff) -> Result<Self> {
        let changes = d
            .changes
            .iter()
            .map(serde_json::to_value)
            .collect::<std::result::Result<Vec<Value>, _>>()
            .map_err(|e| napi::Error::from_reason(e.to_string()))?;
        Ok(ConfigDiffRecord {
            from: version_out(d.from),
            to: version_out(d.to),
            changes,
        })
    }
}

/// One page of a config's history.
#[napi(object)]
pub struct ConfigHistoryRecord {
    /// Versions, newest first.
    pub versions: Vec<ConfigRecord>,
    /// Present when older versions exist: pass it as `after` to read the next page.
    pub next: Option<i64>,
    /// The oldest version kept: history starts there (1 until older ones are pruned).
    pub oldest_version: i64,
}

impl From<ConfigHistory> for ConfigHistoryRecord {
    fn from(h: ConfigHistory) -> Self {
        ConfigHistoryRecord {
            versions: h.versions.into_iter().map(Into::into).collect(),
            next: h.next.map(version_out),
            oldest_version: version_out(h.oldest_version),
        }
    }
}

/// One page of configs (`index.js` makes it an array with `next` and `unreadable`).
#[napi(object)]
pub struct ConfigPageRecord {
    /// The configs of this page that could be read, ordered by strategy id.
    pub items: Vec<ConfigRecord>,
    /// Present when more follow: the `after` of the next page.
    pub next: Option<String>,
    /// The configs of this page that could not be read.
    pub unreadable: Vec<UnreadableRecord>,
    /// The service's configs revision, read before the configs.
    pub revision: Option<i64>,
}

impl ConfigPageRecord {
    fn new(service: &ServiceName, page: Page<StrategyConfig>) -> Self {
        ConfigPageRecord {
            items: page.items.into_iter().map(Into::into).collect(),
            next: page.next,
            unreadable: unreadable_out(service, page.unreadable),
            revision: page.revision.map(version_out),
        }
    }
}

/// The configs settings of a service.
#[napi(object)]
pub struct ConfigSettingsRecord {
    /// Versions kept of each config (the latest included).
    pub max_versions: i64,
}

impl From<ConfigSettings> for ConfigSettingsRecord {
    fn from(s: ConfigSettings) -> Self {
        ConfigSettingsRecord {
            max_versions: version_out(s.max_versions),
        }
    }
}

/// What a config put changes; absent fields keep the previous version's value.
#[napi(object)]
pub struct ConfigPutOptions {
    /// New parameters.
    pub params: Option<Map<String, Value>>,
    /// New symbols.
    pub symbols: Option<Vec<String>>,
    /// New risk limits.
    pub risk_limits: Option<Map<String, Value>>,
    /// Enable or disable.
    pub enabled: Option<bool>,
    /// Compare-and-set on the latest version (0 = must not exist yet, or was deleted).
    pub expected_version: Option<i64>,
    /// Why: recorded with the version.
    pub comment: Option<String>,
}

/// The typed names of one config.
fn names(service: String, strategy_id: String) -> Result<(ServiceName, StrategyId)> {
    Ok((
        ServiceName::new(service).napi()?,
        StrategyId::new(strategy_id).napi()?,
    ))
}

#[napi]
impl NativeVault {
    /// Writes a new version of strategy config `strategy_id` of `service`.
    #[napi]
    pub async fn put_config(
        &self,
        service: String,
        strategy_id: String,
        options: ConfigPutOptions,
    ) -> Result<ConfigWrittenRecord> {
        let api = self.api()?;
        let (service, strategy_id) = names(service, strategy_id)?;
        let put = ConfigPut {
            strategy_id,
            params: options.params,
            symbols: options.symbols,
            risk_limits: options.risk_limits,
            enabled: options.enabled,
            expected_version: uint_in(options.expected_version),
            comment: options.comment,
        };
        Ok(api.configs().put(&service, put).await.napi()?.into())
    }

    /// A strategy config: the latest version, or version `version`.
    #[napi]
    pub async fn get_config(
        &self,
        service: String,
        strategy_id: String,
        version: Option<i64>,
    ) -> Result<ConfigRecord> {
        let api = self.api()?;
        let (service, strategy_id) = names(service, strategy_id)?;
        let config = api
            .configs()
            .get(&service, &strategy_id, uint_in(version))
            .await
            .napi()?;
        Ok(config.into())
    }

    /// One page of the latest versions of the configs of `service`, ordered by strategy id.
    #[napi]
    pub async fn list_configs(
        &self,
        service: String,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<ConfigPageRecord> {
        let api = self.api()?;
        let service = ServiceName::new(service).napi()?;
        let page = PageRequest::new(limit_in(limit), after);
        let list = api.configs().list(&service, page).await.napi()?;
        Ok(ConfigPageRecord::new(&service, list))
    }

    /// The configs settings of `service`.
    #[napi]
    pub async fn config_settings(&self, service: String) -> Result<ConfigSettingsRecord> {
        let api = self.api()?;
        let service = ServiceName::new(service).napi()?;
        Ok(api.configs().settings(&service).await.napi()?.into())
    }

    /// Sets the configs settings of `service`.
    #[napi]
    pub async fn set_config_settings(
        &self,
        service: String,
        max_versions: i64,
    ) -> Result<ConfigSettingsRecord> {
        let api = self.api()?;
        let service = ServiceName::new(service).napi()?;
        let settings = ConfigSettings {
            max_versions: max_versions.unsigned_abs(),
        };
        Ok(api
            .configs()
            .set_settings(&service, settings)
            .await
            .napi()?
            .into())
    }

    /// A new version of a config with the content of its version `to_version`.
    #[napi]
    pub async fn rollback_config(
        &self,
        service: String,
        strategy_id: String,
        to_version: i64,
        comment: Option<String>,
        expected_version: Option<i64>,
    ) -> Result<ConfigWrittenRecord> {
        let api = self.api()?;
        let (service, strategy_id) = names(service, strategy_id)?;
        let rollback = ConfigRollback {
            to_version: to_version.unsigned_abs(),
            comment,
            expected_version: uint_in(expected_version),
        };
        Ok(api
            .configs()
            .rollback(&service, &strategy_id, rollback)
            .await
            .napi()?
            .into())
    }

    /// Deletes a config, keeping its history.
    #[napi]
    pub async fn delete_config(
        &self,
        service: String,
        strategy_id: String,
        expected_version: Option<i64>,
    ) -> Result<ConfigWrittenRecord> {
        let api = self.api()?;
        let (service, strategy_id) = names(service, strategy_id)?;
        Ok(api
            .configs()
            .delete(&service, &strategy_id, uint_in(expected_version))
            .await
            .napi()?
            .into())
    }

    /// Waits at most `timeout` seconds for the configs of `service` to change after `since`.
    /// With `cancel_id`, [`NativeVault::cancel_watch`] of that id ends the wait at once (the
    /// watch is dropped: an embedded one leaves no audit entry, a remote one closes its
    /// request) and resolves to no changes.
    #[napi]
    pub async fn watch_configs(
        &self,
        service: String,
        since: Option<i64>,
        timeout: f64,
        cancel_id: Option<u32>,
    ) -> Result<ConfigWatchRecord> {
        let api = self.api()?;
        let service = ServiceName::new(service).napi()?;
        let wait = vault_core::configs::watch_timeout_secs(timeout).napi()?;
        let cancelled = cancel_id.map(watch_cancels::register);
        let watch = api.configs().watch(&service, uint_in(since), wait);
        let outcome = match &cancelled {
            Some((_, notify)) => tokio::select! {
                w = watch => Some(w),
                () = notify.notified() => None,
            },
            None => Some(watch.await),
        };
        if let Some((id, _)) = cancelled {
            watch_cancels::forget(id);
        }
        match outcome {
            Some(w) => Ok(w.napi()?.into()),
            None => Ok(ConfigWatchRecord {
                service: service.into_string(),
                revision: since.unwrap_or(0),
                changes: Vec::new(),
            }),
        }
    }

    /// Ends the watch started with `cancel_id` (see [`NativeVault::watch_configs`]); nothing
    /// when it already ended. A cancel that arrives before its watch starts waiting is kept
    /// for it.
    #[napi]
    pub fn cancel_watch(&self, cancel_id: u32) {
        watch_cancels::register(cancel_id).1.notify_one();
    }

    /// The changes from version `from` to version `to` of a config.
    #[napi]
    pub async fn config_diff(
        &self,
        service: String,
        strategy_id: String,
        from: i64,
        to: i64,
    ) -> Result<ConfigDiffRecord> {
        let api = self.api()?;
        let (service, strategy_id) = names(service, strategy_id)?;
        let d = api
            .configs()
            .diff(
                &service,
                &strategy_id,
                from.unsigned_abs(),
                to.unsigned_abs(),
            )
            .await
            .napi()?;
        ConfigDiffRecord::from_core(d)
    }

    /// A config's versions, newest first: at most `limit`, older than version `after`.
    #[napi]
    pub async fn config_history(
        &self,
        service: String,
        strategy_id: String,
        limit: Option<i64>,
        after: Option<i64>,
    ) -> Result<ConfigHistoryRecord> {
        let api = self.api()?;
        let (service, strategy_id) = names(service, strategy_id)?;
        let limit = limit_in(limit);
        let history = api
            .configs()
            .history(&service, &strategy_id, limit, uint_in(after))
            .await
            .napi()?;
        Ok(history.into())
    }
}

/// The cancel signals of the watches in flight, by the id `index.js` gave each.
mod watch_cancels {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};

    use tokio::sync::Notify;

    fn map() -> &'static Mutex<HashMap<u32, Arc<Notify>>> {
        static MAP: OnceLock<Mutex<HashMap<u32, Arc<Notify>>>> = OnceLock::new();
        MAP.get_or_init(Mutex::default)
    }

    /// The signal of watch `id` (made on first use, by the watch or by its cancel).
    pub(super) fn register(id: u32) -> (u32, Arc<Notify>) {
        let mut m = map()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (id, m.entry(id).or_default().clone())
    }

    /// Drops the signal of a watch that ended.
    pub(super) fn forget(id: u32) {
        map()
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }
}
