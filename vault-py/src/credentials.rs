//! `vault.Credentials` (the `credentials` attribute of a vault) and its records: `Credential`
//! (with the value), `CredentialInfo` (without) and `CredentialWritten`.
//!
//! A value leaves the vault only through `Credential.value`; every `repr` shows
//! `value=[REDACTED]`. Inside Rust it stays a zeroizing `SecretString`; once read into Python it
//! is an ordinary `str` that cannot be wiped.

mod lifecycle;

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use vault_core::crypto::SecretString;
use vault_core::{
    Credential as CoreCredential, CredentialDeleted as CoreDeleted, CredentialInfo as CoreInfo,
    CredentialKey, CredentialPut, JsonObject, PageRequest, RotateEvery, ServiceName, VersionOp,
};

pub use lifecycle::{CredentialVersions, VersionInfo};

use crate::convert::{dict_of, to_json_object};
use crate::error::check;
use crate::page::new_page;
use crate::runtime::block_on;
use crate::vault::{Shared, api};

/// The key and service arguments, checked.
fn names(py: Python<'_>, key: String, service: String) -> PyResult<(CredentialKey, ServiceName)> {
    Ok((
        check(py, CredentialKey::new(key))?,
        check(py, ServiceName::new(service))?,
    ))
}

/// The optional `service` argument, checked.
fn service_opt(py: Python<'_>, service: Option<String>) -> PyResult<Option<ServiceName>> {
    check(py, service.map(ServiceName::new).transpose())
}

/// The credentials of a vault: `v.credentials`.
#[pyclass(module = "vault", frozen)]
pub struct Credentials {
    shared: Arc<Shared>,
}

impl Credentials {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Credentials { shared }
    }
}

#[pymethods]
impl Credentials {
    /// Creates credential `key` of `service`, or adds a new version (the last `max_versions`,
    /// default 10, are kept).
    ///
    /// `metadata` (a JSON-able dict, not secret) replaces the previous version's; `None` keeps
    /// it. `expected_version` makes it a compare-and-set: the put applies only if the current
    /// version is that one (0 = must not exist yet), else `Conflict`. `max_versions` (1 to 100)
    /// and `rotate_every` (`"12h"`, `"7d"`, `"30d"`; 1h to 3650d) set the lifecycle; `None`
    /// keeps them. Raises `InvalidInput` for a bad name, an empty value or a bad setting.
    #[pyo3(signature = (key, value, service, *, metadata=None, expected_version=None, max_versions=None, rotate_every=None))]
    #[allow(clippy::too_many_arguments)] // the Python keyword arguments, one each
    fn put(
        &self,
        py: Python<'_>,
        key: String,
        value: String,
        service: String,
        metadata: Option<&Bound<'_, PyAny>>,
        expected_version: Option<u64>,
        max_versions: Option<u64>,
        rotate_every: Option<&str>,
    ) -> PyResult<CredentialWritten> {
        let rotate_every = check(py, rotate_every.map(RotateEvery::parse).transpose())?;
        let value = SecretString::from(value);
        let service = check(py, ServiceName::new(service))?;
        let key = check(py, CredentialKey::new(key))?;
        let metadata = metadata
            .filter(|m| !m.is_none())
            .map(|m| to_json_object(m, "metadata"))
            .transpose()?;
        let api = api(py, &self.shared)?;
        let put = CredentialPut {
            service,
            key,
            value,
            metadata,
            expected_version,
            max_versions,
            rotate_every,
        };
        let written = block_on(py, async move { api.credentials().put(put).await })?;
        Ok(CredentialWritten::from(check(py, written)?))
    }

    /// The current version of credential `key`, with its value, or its kept version `version`.
    /// With `service=None` the key must exist under exactly one service (`Conflict`
    /// otherwise). `NotFound` when missing, and when that version (the current one included)
    /// is soft-deleted or destroyed; `InvalidInput` (`.field == "version"`) for 0. Remote:
    /// `Unavailable` when the server cannot be reached (credentials are never cached).
    #[pyo3(signature = (key, service=None, *, version=None))]
    fn get(
        &self,
        py: Python<'_>,
        key: String,
        service: Option<String>,
        version: Option<u64>,
    ) -> PyResult<Credential> {
        let key = check(py, CredentialKey::new(key))?;
        let service = service_opt(py, service)?;
        let api = api(py, &self.shared)?;
        let got = block_on(py, async move {
            match version {
                None => api.credentials().get(&key, service.as_ref()).await,
                Some(v) => {
                    api.credentials()
                        .get_version(&key, service.as_ref(), v)
                        .await
                }
            }
        })?;
        Ok(Credential::from(check(py, got)?))
    }

    /// The kept versions of credential `key` of `service`, newest first, never values: at
    /// most `limit` (default 100, at most 1000) older than `after` (a previous page's `next`).
    #[pyo3(signature = (key, service, *, limit=None, after=None))]
    fn versions(
        &self,
        py: Python<'_>,
        key: String,
        service: String,
        limit: Option<usize>,
        after: Option<u64>,
    ) -> PyResult<CredentialVersions> {
        let (key, service) = names(py, key, service)?;
        let api = api(py, &self.shared)?;
        let got = block_on(py, async move {
            api.credentials()
                .versions(&key, &service, limit, after)
                .await
        })?;
        Ok(CredentialVersions::from(check(py, got)?))
    }

    /// Soft-deletes kept version `version`: it is no longer served (a `get` of it, or of the
    /// credential when it is the current one, is `NotFound`) until undeleted. Idempotent.
    fn delete_version(
        &self,
        py: Python<'_>,
        key: String,
        service: String,
        version: u64,
    ) -> PyResult<VersionInfo> {
        self.change(py, key, service, version, VersionOp::Delete)
    }

    /// Undoes a soft delete. `NotFound` for a destroyed version.
    fn undelete_version(
        &self,
        py: Python<'_>,
        key: String,
        service: String,
        version: u64,
    ) -> PyResult<VersionInfo> {
        self.change(py, key, service, version, VersionOp::Undelete)
    }

    /// Erases kept version `version`'s value from the store for good. Idempotent.
    fn destroy_version(
        &self,
        py: Python<'_>,
        key: String,
        service: String,
        version: u64,
    ) -> PyResult<VersionInfo> {
        self.change(py, key, service, version, VersionOp::Destroy)
    }

    /// Writes a new version with a value the vault generates: `length` characters (8 to 4096)
    /// of `charset` (`"alphanumeric"`, `"hex"`, `"base64url"`, `"ascii_printable"`), creating
    /// the credential when missing. Returns the outcome only; read the value with `get`.
    #[pyo3(signature = (key, service, *, length=32, charset="alphanumeric"))]
    fn rotate(
        &self,
        py: Python<'_>,
        key: String,
        service: String,
        length: usize,
        charset: &str,
    ) -> PyResult<CredentialWritten> {
        let (key, service) = names(py, key, service)?;
        let policy = lifecycle::policy(py, length, charset)?;
        let api = api(py, &self.shared)?;
        let written = block_on(py, async move {
            api.credentials().rotate(&key, &service, policy).await
        })?;
        Ok(CredentialWritten::from(check(py, written)?))
    }

    /// Changes `max_versions` (1 to 100; lowering it erases the oldest versions at once) and
    /// `rotate_every` (`"off"` clears it) of an existing credential; `None` leaves a setting
    /// as it is. Returns the credential's info.
    #[pyo3(signature = (key, service, *, max_versions=None, rotate_every=None))]
    fn set_settings(
        &self,
        py: Python<'_>,
        key: String,
        service: String,
        max_versions: Option<u64>,
        rotate_every: Option<&str>,
    ) -> PyResult<CredentialInfo> {
        let (key, service) = names(py, key, service)?;
        let settings = lifecycle::settings(py, max_versions, rotate_every)?;
        let api = api(py, &self.shared)?;
        let got = block_on(py, async move {
            api.credentials()
                .set_settings(&key, &service, settings)
                .await
        })?;
        Ok(CredentialInfo::from(check(py, got)?))
    }

    /// One page of the credentials of `service` overdue for rotation
    /// (`now - updated_at >= rotate_every`), as `list` pages them (a page may hold fewer than
    /// `limit` while `.next` says more follow).
    #[pyo3(signature = (service, *, limit=None, after=None))]
    fn due<'py>(
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
        let listed = block_on(py, async move { api.credentials().due(&s, page).await })?;
        new_page(py, Some(&service), check(py, listed)?, CredentialInfo::from)
    }

    /// One page of the credentials of `service` without their values, ordered by key: at most
    /// `limit` (default 100, at most 1000) whose keys sort after `after` (a previous page's
    /// `next`). Returns a `vault.Page`: a list, plus `.next` and `.unreadable` (credentials that
    /// could not be read, reported instead of failing the listing). Values are never decrypted.
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
        let listed = block_on(py, async move { api.credentials().list(&s, page).await })?;
        new_page(py, Some(&service), check(py, listed)?, CredentialInfo::from)
    }

    /// Deletes credential `key` with all its versions; `service` is resolved as in `get`.
    /// Returns what was deleted. `NotFound` when missing.
    #[pyo3(signature = (key, service=None))]
    fn delete(
        &self,
        py: Python<'_>,
        key: String,
        service: Option<String>,
    ) -> PyResult<CredentialDeleted> {
        let key = check(py, CredentialKey::new(key))?;
        let service = service_opt(py, service)?;
        let api = api(py, &self.shared)?;
        let done = block_on(py, async move {
            api.credentials().delete(&key, service.as_ref()).await
        })?;
        Ok(CredentialDeleted::from(check(py, done)?))
    }

    fn __repr__(&self) -> &'static str {
        "<vault credentials>"
    }
}

impl Credentials {
    fn change(
        &self,
        py: Python<'_>,
        key: String,
        service: String,
        version: u64,
        op: VersionOp,
    ) -> PyResult<VersionInfo> {
        let (key, service) = names(py, key, service)?;
        let api = api(py, &self.shared)?;
        let done = block_on(py, async move {
            api.credentials()
                .change_version(&key, &service, version, op)
                .await
        })?;
        Ok(VersionInfo::from(check(py, done)?))
    }
}

impl From<vault_core::CredentialWritten> for CredentialWritten {
    fn from(w: vault_core::CredentialWritten) -> Self {
        CredentialWritten {
            service: w.service.into_string(),
            key: w.key.into_string(),
            action: w.action.as_str(),
            version: w.version,
        }
    }
}

/// A credential with its value. `repr` never shows the value; read it with `.value`.
#[pyclass(module = "vault", frozen)]
pub struct Credential {
    /// The service the credential belongs to.
    #[pyo3(get)]
    service: String,
    /// The credential's name, e.g. `OANDA_API_KEY`.
    #[pyo3(get)]
    key: String,
    /// Version number, 1 for the first put.
    #[pyo3(get)]
    version: u64,
    /// When version 1 was written (RFC 3339 UTC string).
    #[pyo3(get)]
    created_at: String,
    /// When this version was written (RFC 3339 UTC string).
    #[pyo3(get)]
    updated_at: String,
    secret: SecretString,
    meta: JsonObject,
}

impl From<CoreCredential> for Credential {
    fn from(c: CoreCredential) -> Self {
        Credential {
            service: c.service.into_string(),
            key: c.key.into_string(),
            version: c.version,
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            secret: c.value,
            meta: c.metadata,
        }
    }
}

#[pymethods]
impl Credential {
    /// The secret value. Once read it is an ordinary Python `str`: it cannot be wiped from
    /// memory, so do not log or keep it longer than needed.
    #[getter]
    fn value(&self) -> &str {
        self.secret.expose_secret()
    }

    /// Free-form, non-secret metadata (a new dict on each access).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_of(py, &self.meta)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Credential(service='{}', key='{}', version={}, value=[REDACTED], metadata={}, updated_at='{}')",
            self.service,
            self.key,
            self.version,
            dict_of(py, &self.meta)?.repr()?,
            self.updated_at
        ))
    }
}

/// What `credentials.list` shows of a credential: everything but the value.
#[pyclass(module = "vault", frozen)]
pub struct CredentialInfo {
    /// The service the credential belongs to.
    #[pyo3(get)]
    service: String,
    /// The credential's name.
    #[pyo3(get)]
    key: String,
    /// Current version number.
    #[pyo3(get)]
    version: u64,
    /// When version 1 was written (RFC 3339 UTC string).
    #[pyo3(get)]
    created_at: String,
    /// When the current version was written (RFC 3339 UTC string).
    #[pyo3(get)]
    updated_at: String,
    /// The oldest version kept.
    #[pyo3(get)]
    oldest_version: u64,
    /// How many versions are kept.
    #[pyo3(get)]
    max_versions: u64,
    /// State of the current version: `"active"`, `"deleted"` or `"destroyed"`.
    #[pyo3(get)]
    state: &'static str,
    /// The rotation period (`"7d"`, `"12h"`, ...), or `None`.
    #[pyo3(get)]
    rotate_every: Option<String>,
    /// When rotation is due (RFC 3339 UTC string), or `None` without `rotate_every`.
    #[pyo3(get)]
    due_at: Option<String>,
    /// Whether rotation is overdue: `now - updated_at >= rotate_every`.
    #[pyo3(get)]
    due: bool,
    meta: JsonObject,
}

impl From<CoreInfo> for CredentialInfo {
    fn from(i: CoreInfo) -> Self {
        CredentialInfo {
            service: i.service.into_string(),
            key: i.key.into_string(),
            version: i.version,
            created_at: i.created_at.to_string(),
            updated_at: i.updated_at.to_string(),
            oldest_version: i.oldest_version,
            max_versions: i.max_versions,
            state: i.state.as_str(),
            rotate_every: i.rotate_every.map(|r| r.to_string()),
            due_at: i.due_at.map(|t| t.to_string()),
            due: i.due,
            meta: i.metadata,
        }
    }
}

#[pymethods]
impl CredentialInfo {
    /// Free-form, non-secret metadata (a new dict on each access).
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_of(py, &self.meta)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "CredentialInfo(service='{}', key='{}', version={}, metadata={}, updated_at='{}')",
            self.service,
            self.key,
            self.version,
            dict_of(py, &self.meta)?.repr()?,
            self.updated_at
        ))
    }
}

/// The outcome of `credentials.put`.
#[pyclass(module = "vault", frozen)]
pub struct CredentialWritten {
    /// The service.
    #[pyo3(get)]
    service: String,
    /// The credential's name.
    #[pyo3(get)]
    key: String,
    /// `"created"` or `"updated"`.
    #[pyo3(get)]
    action: &'static str,
    /// The version this put wrote.
    #[pyo3(get)]
    version: u64,
}

#[pymethods]
impl CredentialWritten {
    fn __repr__(&self) -> String {
        format!(
            "CredentialWritten(service='{}', key='{}', action='{}', version={})",
            self.service, self.key, self.action, self.version
        )
    }
}

/// The outcome of `credentials.delete`: what was deleted.
#[pyclass(module = "vault", frozen)]
pub struct CredentialDeleted {
    /// The service the credential was under (resolved when none was given).
    #[pyo3(get)]
    service: String,
    /// The credential's name.
    #[pyo3(get)]
    key: String,
}

impl From<CoreDeleted> for CredentialDeleted {
    fn from(d: CoreDeleted) -> Self {
        CredentialDeleted {
            service: d.service.into_string(),
            key: d.key.into_string(),
        }
    }
}

#[pymethods]
impl CredentialDeleted {
    fn __repr__(&self) -> String {
        format!(
            "CredentialDeleted(service='{}', key='{}')",
            self.service, self.key
        )
    }
}
