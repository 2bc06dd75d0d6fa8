//! `vault.Configs` (the `configs` attribute of a vault) and its records: `StrategyConfig` and
//! `ConfigWritten`.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use vault_core::{
    ConfigHistory as CoreHistory, ConfigPut, ConfigRollback, ConfigSettings as CoreSettings,
    ConfigWatch as CoreWatch, JsonObject, PageRequest, ServiceName, StrategyConfig as CoreConfig,
    StrategyId,
};

use crate::convert::{dict_of, to_json_object, to_py};
use crate::error::check;
use crate::page::new_page;
use crate::runtime::{block_on, block_on_interruptible};
use crate::vault::{Shared, api};

/// The `service` and `strategy_id` arguments, checked.
fn names(
    py: Python<'_>,
    service: String,
    strategy_id: String,
) -> PyResult<(ServiceName, StrategyId)> {
    Ok((
        check(py, ServiceName::new(service))?,
        check(py, StrategyId::new(strategy_id))?,
    ))
}

/// The strategy configs of a vault: `v.configs`.
#[pyclass(module = "vault", frozen)]
pub struct Configs {
    shared: Arc<Shared>,
}

impl Configs {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Configs { shared }
    }
}

#[pymethods]
impl Configs {
    /// Writes a new version of strategy `strategy_id` of `service`.
    ///
    /// A field left `None` keeps the previous version's value (for a new config: `{}`, `[]`,
    /// `{}`, `enabled=True`). `expected_version` makes it a compare-and-set: it applies only
    /// if the latest version is that one (0 = must not exist yet, or was deleted), else
    /// `Conflict`. `comment` (at most 1024 bytes) is recorded with the version.
    #[pyo3(signature = (
        service,
        strategy_id,
        *,
        params=None,
        symbols=None,
        risk_limits=None,
        enabled=None,
        expected_version=None,
        comment=None
    ))]
    #[allow(clippy::too_many_arguments)] // the Python keyword arguments, one each
    fn put(
        &self,
        py: Python<'_>,
        service: String,
        strategy_id: String,
        params: Option<&Bound<'_, PyAny>>,
        symbols: Option<Vec<String>>,
        risk_limits: Option<&Bound<'_, PyAny>>,
        enabled: Option<bool>,
        expected_version: Option<u64>,
        comment: Option<String>,
    ) -> PyResult<ConfigWritten> {
        let object = |o: Option<&Bound<'_, PyAny>>, field: &str| {
            o.filter(|o| !o.is_none())
                .map(|o| to_json_object(o, field))
                .transpose()
        };
        let (service, strategy_id) = names(py, service, strategy_id)?;
        let put = ConfigPut {
            strategy_id,
            params: object(params, "params")?,
            symbols,
            risk_limits: object(risk_limits, "risk_limits")?,
            enabled,
            expected_version,
            comment,
        };
        let api = api(py, &self.shared)?;
        let written = block_on(py, async move { api.configs().put(&service, put).await })?;
        Ok(ConfigWritten::from(check(py, written)?))
    }

    /// Writes a new version of strategy `strategy_id` with the content (params, symbols, risk
    /// limits, enabled) of its version `to_version`; history is never rewritten (a rollback
    /// of a deleted config brings it back; the delete's own version restores what it
    /// deleted). `comment` defaults to `rollback to version N`; `expected_version` is
    /// compare-and-set as for a put. `InvalidInput` (`.field == "to_version"`) for 0,
    /// `NotFound` when that version is not kept.
    #[pyo3(signature = (service, strategy_id, to_version, *, comment=None, expected_version=None))]
    fn rollback(
        &self,
        py: Python<'_>,
        service: String,
        strategy_id: String,
        to_version: u64,
        comment: Option<String>,
        expected_version: Option<u64>,
    ) -> PyResult<ConfigWritten> {
        let (service, strategy_id) = names(py, service, strategy_id)?;
        let api = api(py, &self.shared)?;
        let rollback = ConfigRollback {
            to_version,
            comment,
            expected_version,
        };
        let written = block_on(py, async move {
            api.configs()
                .rollback(&service, &strategy_id, rollback)
                .await
        })?;
        Ok(ConfigWritten::from(check(py, written)?))
    }

    /// Deletes strategy `strategy_id`, keeping its history: a new version marked `deleted`
    /// (action `"deleted"`); the config then reads as `NotFound` and leaves listings until a
    /// put or a rollback brings it back. `expected_version` is compare-and-set on the latest
    /// version. `NotFound` when there is no config (or it is already deleted).
    #[pyo3(signature = (service, strategy_id, *, expected_version=None))]
    fn delete(
        &self,
        py: Python<'_>,
        service: String,
        strategy_id: String,
        expected_version: Option<u64>,
    ) -> PyResult<ConfigWritten> {
        let (service, strategy_id) = names(py, service, strategy_id)?;
        let api = api(py, &self.shared)?;
        let written = block_on(py, async move {
            api.configs()
                .delete(&service, &strategy_id, expected_version)
                .await
        })?;
        Ok(ConfigWritten::from(check(py, written)?))
    }

    /// Waits until the configs of `service` change after revision `since` (the `.revision` of
    /// a get, a list or the previous watch; `None`: from now), at most `timeout` seconds (0 to
    /// 60). Returns a `ConfigWatch`: `.changes` (dicts `{"strategy_id", "version",
    /// "deleted"}`, in the order of their last change; empty at the timeout) and
    /// `.revision` (pass it as the next `since`). Remote: a long-poll to the server. Ctrl-C
    /// interrupts the wait (`KeyboardInterrupt`).
    #[pyo3(signature = (service, *, since=None, timeout=30.0))]
    fn watch(
        &self,
        py: Python<'_>,
        service: String,
        since: Option<u64>,
        timeout: f64,
    ) -> PyResult<ConfigWatch> {
        let service = check(py, ServiceName::new(service))?;
        let timeout = check(py, vault_core::configs::watch_timeout_secs(timeout))?;
        watch_once(py, &self.shared, service, since, timeout)
    }

    /// An iterator over the changes of the configs of `service` from revision `since` (`None`:
    /// from now): each `next()` waits (in long-polls of `timeout` seconds) for the next
    /// change and returns its `ConfigWatch`. `for w in v.configs.watcher("fx"): reload(w)`
    /// hot-reloads without polling; Ctrl-C interrupts the wait.
    #[pyo3(signature = (service, *, since=None, timeout=30.0))]
    fn watcher(
        &self,
        py: Python<'_>,
        service: String,
        since: Option<u64>,
        timeout: f64,
    ) -> PyResult<ConfigWatcher> {
        let service = check(py, ServiceName::new(service))?;
        let timeout = check(py, vault_core::configs::watch_timeout_secs(timeout))?;
        Ok(ConfigWatcher {
            shared: self.shared.clone(),
            service,
            timeout,
            since: std::sync::Mutex::new(since),
        })
    }

    /// A strategy config: the latest version, or version `version`. `NotFound` when missing.
    /// Remote: served from the last-known-good cache with `stale=True` when the server cannot
    /// be reached (`Unavailable` if nothing is cached).
    #[pyo3(signature = (service, strategy_id, version=None))]
    fn get(
        &self,
        py: Python<'_>,
        service: String,
        strategy_id: String,
        version: Option<u64>,
    ) -> PyResult<StrategyConfig> {
        let (service, strategy_id) = names(py, service, strategy_id)?;
        let api = api(py, &self.shared)?;
        let got = block_on(py, async move {
            api.configs().get(&service, &strategy_id, version).await
        })?;
        Ok(StrategyConfig::from(check(py, got)?))
    }

    /// One page of the latest versions of the strategy configs of `service`, ordered by
    /// strategy id: at most `limit` (default 100, at most 1000) whose ids sort after `after` (a
    /// previous page's `next`). Returns a `vault.Page`: a list, plus `.next` and `.unreadable`
    /// (configs that could not be read, reported instead of failing the listing). Remote:
    /// served from the last-known-good cache with `stale=True` when the server cannot be
    /// reached (and a whole list was read within the cache's maximum age).
    #[pyo3(signature = (service, *, limit=None, after=None))]
    fn list<'py>(
        &self,
        py: Python<'py>,
        service: String,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let service = check(py, ServiceName::new(service))?;
        let api = api(py, &self.shared)?;
        let s = service.clone();
        let page = PageRequest::new(limit, after);
        let listed = block_on(py, async move { api.configs().list(&s, page).await })?;
        new_page(py, Some(&service), check(py, listed)?, StrategyConfig::from)
    }

    /// The configs settings of `service` (the defaults when none were set).
    fn settings(&self, py: Python<'_>, service: String) -> PyResult<ConfigSettings> {
        let service = check(py, ServiceName::new(service))?;
        let api = api(py, &self.shared)?;
        let got = block_on(py, async move { api.configs().settings(&service).await })?;
        Ok(ConfigSettings::from(check(py, got)?))
    }

    /// Sets the configs settings of `service`: `max_versions` (1 to 100000, default 1000) is
    /// how many versions of each config are kept; a put prunes older ones. Returns the
    /// settings now in force.
    #[pyo3(signature = (service, *, max_versions))]
    fn set_settings(
        &self,
        py: Python<'_>,
        service: String,
        max_versions: u64,
    ) -> PyResult<ConfigSettings> {
        let service = check(py, ServiceName::new(service))?;
        let api = api(py, &self.shared)?;
        let settings = CoreSettings { max_versions };
        let got = block_on(py, async move {
            api.configs().set_settings(&service, settings).await
        })?;
        Ok(ConfigSettings::from(check(py, got)?))
    }

    /// The versions of a strategy config, newest first: at most `limit` (default 100, at most
    /// 1000) versions older than `after` (a previous page's `next`). `NotFound` when the config
    /// does not exist. Remote: never served from the cache.
    #[pyo3(signature = (service, strategy_id, *, limit=None, after=None))]
    fn history(
        &self,
        py: Python<'_>,
        service: String,
        strategy_id: String,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> PyResult<ConfigHistory> {
        let (service, strategy_id) = names(py, service, strategy_id)?;
        let api = api(py, &self.shared)?;
        let got = block_on(py, async move {
            api.configs()
                .history(&service, &strategy_id, limit, after)
                .await
        })?;
        ConfigHistory::new(py, check(py, got)?)
    }

    /// The changes from version `from_version` to version `to_version` of a strategy config
    /// (either may be the newer): a `ConfigDiff` whose `changes` are dicts
    /// `{"op": "add"|"remove"|"replace", "path": "/params/fast", "old": ..., "new": ...}`
    /// (`old` absent for `add`, `new` for `remove`). `InvalidInput` for version 0, `NotFound`
    /// when either version is not kept. Remote: never served from the cache.
    #[pyo3(signature = (service, strategy_id, from_version, to_version))]
    fn diff(
        &self,
        py: Python<'_>,
        service: String,
        strategy_id: String,
        from_version: u64,
        to_version: u64,
    ) -> PyResult<ConfigDiff> {
        let (service, strategy_id) = names(py, service, strategy_id)?;
        let api = api(py, &self.shared)?;
        let got = block_on(py, async move {
            api.configs()
                .diff(&service, &strategy_id, from_version, to_version)
                .await
        })?;
        ConfigDiff::new(py, check(py, got)?)
    }

    fn __repr__(&self) -> &'static str {
        "<vault configs>"
    }
}

fn watch_once(
    py: Python<'_>,
    shared: &Arc<Shared>,
    service: ServiceName,
    since: Option<u64>,
    timeout: std::time::Duration,
) -> PyResult<ConfigWatch> {
    let api = api(py, shared)?;
    let got = block_on_interruptible(py, async move {
        api.configs().watch(&service, since, timeout).await
    })?;
    ConfigWatch::new(py, check(py, got)?)
}

/// What one `configs.watch` saw.
#[pyclass(module = "vault", frozen)]
pub struct ConfigWatch {
    /// The service watched.
    #[pyo3(get)]
    service: String,
    /// The revision to watch from next.
    #[pyo3(get)]
    revision: u64,
    /// The configs changed, as dicts `{"strategy_id", "version", "deleted"}`.
    #[pyo3(get)]
    changes: Py<PyList>,
}

impl ConfigWatch {
    fn new(py: Python<'_>, w: CoreWatch) -> PyResult<Self> {
        let changes = PyList::empty(py);
        for c in &w.changes {
            let d = PyDict::new(py);
            d.set_item("strategy_id", c.strategy_id.as_str())?;
            d.set_item("version", c.version)?;
            d.set_item("deleted", c.deleted)?;
            changes.append(d)?;
        }
        Ok(ConfigWatch {
            service: w.service.into_string(),
            revision: w.revision,
            changes: changes.unbind(),
        })
    }
}

#[pymethods]
impl ConfigWatch {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.changes.bind(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ConfigWatch(service='{}', revision={}, changes={})",
            self.service,
            self.revision,
            self.changes.bind(py).repr()?
        ))
    }
}

/// The iterator of `configs.watcher`: each `next()` is the next non-empty `ConfigWatch`.
#[pyclass(module = "vault", frozen)]
pub struct ConfigWatcher {
    shared: Arc<Shared>,
    service: ServiceName,
    timeout: std::time::Duration,
    since: std::sync::Mutex<Option<u64>>,
}

#[pymethods]
impl ConfigWatcher {
    /// The revision the next `next()` watches from (`None` until the first one returns).
    #[getter]
    fn revision(&self) -> Option<u64> {
        *self
            .since
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<ConfigWatch> {
        loop {
            let since = self.revision();
            let w = watch_once(py, &self.shared, self.service.clone(), since, self.timeout)?;
            *self
                .since
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(w.revision);
            if w.changes.bind(py).len() > 0 {
                return Ok(w);
            }
            py.check_signals()?;
        }
    }

    fn __repr__(&self) -> String {
        format!("<vault config watcher of '{}'>", self.service)
    }
}

/// The outcome of `configs.diff`.
#[pyclass(module = "vault", frozen)]
pub struct ConfigDiff {
    /// The version the changes start from.
    #[pyo3(get)]
    from_version: u64,
    /// The version they lead to.
    #[pyo3(get)]
    to_version: u64,
    /// The changes, as dicts.
    #[pyo3(get)]
    changes: Py<PyList>,
}

impl ConfigDiff {
    /// The Python record of a diff (of configs, or of guard policies).
    pub(crate) fn new(py: Python<'_>, d: vault_core::ConfigDiff) -> PyResult<ConfigDiff> {
        let changes = PyList::empty(py);
        for c in &d.changes {
            let value = serde_json::to_value(c)
                .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
            changes.append(to_py(py, &value)?)?;
        }
        Ok(ConfigDiff {
            from_version: d.from,
            to_version: d.to,
            changes: changes.unbind(),
        })
    }
}

#[pymethods]
impl ConfigDiff {
    fn __len__(&self, py: Python<'_>) -> usize {
        self.changes.bind(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "ConfigDiff(from_version={}, to_version={}, changes={})",
            self.from_version,
            self.to_version,
            self.changes.bind(py).repr()?
        ))
    }
}

/// One version of a strategy config.
#[pyclass(module = "vault", frozen)]
pub struct StrategyConfig {
    /// The service (trading engine) the strategy belongs to.
    #[pyo3(get)]
    service: String,
    /// The strategy's id.
    #[pyo3(get)]
    strategy_id: String,
    /// Symbols traded.
    #[pyo3(get)]
    symbols: Vec<String>,
    /// Whether the strategy is enabled.
    #[pyo3(get)]
    enabled: bool,
    /// Version number: 1, 2, 3, ...
    #[pyo3(get)]
    version: u64,
    /// When version 1 was written (RFC 3339 UTC string).
    #[pyo3(get)]
    created_at: String,
    /// When this version was written (RFC 3339 UTC string).
    #[pyo3(get)]
    updated_at: String,
    /// True only when a remote vault was unreachable and this came from the last-known-good
    /// cache.
    #[pyo3(get)]
    stale: bool,
    /// The comment given with this version, or `None`.
    #[pyo3(get)]
    comment: Option<String>,
    /// True for the version a delete wrote.
    #[pyo3(get)]
    deleted: bool,
    /// The service's configs revision when this was read (pass it to `configs.watch`).
    #[pyo3(get)]
    revision: u64,
    changed_by_id: Option<(String, String)>,
    param_map: JsonObject,
    limit_map: JsonObject,
}

impl From<CoreConfig> for StrategyConfig {
    fn from(c: CoreConfig) -> Self {
        StrategyConfig {
            service: c.service.into_string(),
            strategy_id: c.strategy_id.into_string(),
            symbols: c.symbols,
            enabled: c.enabled,
            version: c.version,
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            stale: c.stale,
            comment: c.comment,
            deleted: c.deleted,
            revision: c.revision,
            changed_by_id: c.changed_by.map(|b| (b.id, b.name)),
            param_map: c.params,
            limit_map: c.risk_limits,
        }
    }
}

#[pymethods]
impl StrategyConfig {
    /// Strategy parameters (a new dict on each access).
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_of(py, &self.param_map)
    }

    /// Risk limits (a new dict on each access).
    #[getter]
    fn risk_limits<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_of(py, &self.limit_map)
    }

    /// Who wrote this version: `{"id": ..., "name": ...}` (a token's id and name, `root`, or
    /// `embedded`), or `None` for versions written before it was recorded.
    #[getter]
    fn changed_by<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.changed_by_id
            .as_ref()
            .map(|(id, name)| {
                let d = PyDict::new(py);
                d.set_item("id", id)?;
                d.set_item("name", name)?;
                Ok(d)
            })
            .transpose()
    }

    /// Every field as a plain dict (JSON-able).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("service", &self.service)?;
        d.set_item("strategy_id", &self.strategy_id)?;
        d.set_item("params", self.params(py)?)?;
        d.set_item("symbols", &self.symbols)?;
        d.set_item("risk_limits", self.risk_limits(py)?)?;
        d.set_item("enabled", self.enabled)?;
        d.set_item("version", self.version)?;
        d.set_item("created_at", &self.created_at)?;
        d.set_item("updated_at", &self.updated_at)?;
        d.set_item("stale", self.stale)?;
        d.set_item("changed_by", self.changed_by(py)?)?;
        d.set_item("comment", &self.comment)?;
        d.set_item("deleted", self.deleted)?;
        d.set_item("revision", self.revision)?;
        Ok(d)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "StrategyConfig(service='{}', strategy_id='{}', version={}, enabled={}, symbols={}, params={}, risk_limits={}, updated_at='{}', stale={})",
            self.service,
            self.strategy_id,
            self.version,
            if self.enabled { "True" } else { "False" },
            PyList::new(py, &self.symbols)?.repr()?,
            self.params(py)?.repr()?,
            self.risk_limits(py)?.repr()?,
            self.updated_at,
            if self.stale { "True" } else { "False" },
        ))
    }
}

/// The outcome of `configs.put`.
#[pyclass(module = "vault", frozen)]
pub struct ConfigWritten {
    /// The service.
    #[pyo3(get)]
    service: String,
    /// The strategy's id.
    #[pyo3(get)]
    strategy_id: String,
    /// `"created"`, `"updated"` or `"deleted"`.
    #[pyo3(get)]
    action: &'static str,
    /// The version this put wrote.
    #[pyo3(get)]
    version: u64,
}

impl From<vault_core::ConfigWritten> for ConfigWritten {
    fn from(w: vault_core::ConfigWritten) -> Self {
        ConfigWritten {
            service: w.service.into_string(),
            strategy_id: w.strategy_id.into_string(),
            action: w.action.as_str(),
            version: w.version,
        }
    }
}

#[pymethods]
impl ConfigWritten {
    fn __repr__(&self) -> String {
        format!(
            "ConfigWritten(service='{}', strategy_id='{}', action='{}', version={})",
            self.service, self.strategy_id, self.action, self.version
        )
    }
}

/// The configs settings of a service.
#[pyclass(module = "vault", frozen)]
pub struct ConfigSettings {
    /// Versions kept of each config of the service (the latest included).
    #[pyo3(get)]
    max_versions: u64,
}

impl From<CoreSettings> for ConfigSettings {
    fn from(s: CoreSettings) -> Self {
        ConfigSettings {
            max_versions: s.max_versions,
        }
    }
}

#[pymethods]
impl ConfigSettings {
    fn __repr__(&self) -> String {
        format!("ConfigSettings(max_versions={})", self.max_versions)
    }
}

/// One page of `configs.history`: `versions` newest first, and `next` (pass it as `after`)
/// when older versions remain.
#[pyclass(module = "vault", frozen)]
pub struct ConfigHistory {
    items: Vec<Py<StrategyConfig>>,
    /// The `after` of the next page, or `None` when this page reaches the oldest version.
    #[pyo3(get)]
    next: Option<u64>,
    /// The oldest version kept: history starts there (1 until older versions are pruned).
    #[pyo3(get)]
    oldest_version: u64,
}

impl ConfigHistory {
    fn new(py: Python<'_>, h: CoreHistory) -> PyResult<Self> {
        Ok(ConfigHistory {
            items: h
                .versions
                .into_iter()
                .map(|c| Py::new(py, StrategyConfig::from(c)))
                .collect::<PyResult<_>>()?,
            next: h.next,
            oldest_version: h.oldest_version,
        })
    }
}

#[pymethods]
impl ConfigHistory {
    /// The versions of this page, newest first (a new list on each access).
    #[getter]
    fn versions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.items.iter().map(|c| c.clone_ref(py)))
    }

    fn __len__(&self) -> usize {
        self.items.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "ConfigHistory(versions=<{} configs>, next={})",
            self.items.len(),
            self.next
                .map_or_else(|| "None".to_string(), |n| n.to_string())
        )
    }
}
