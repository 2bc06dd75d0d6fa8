//! `vault.Credentials` (the `credentials` attribute of a vault) and its records: `Credential`
//! (with the value), `CredentialInfo` (without) and `CredentialWritten`.
//!
//! A value leaves the vault only through `Credential.value`; every `repr` shows
//! `value=[REDACTED]`. Inside Rust it stays a zeroizing `SecretString`; once read into Python it
//! is an ordinary `str` that cannot be wiped.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use vault_core::crypto::SecretString;
use vault_core::{
    Credential as CoreCredential, CredentialDeleted as CoreDeleted, CredentialInfo as CoreInfo,
    CredentialKey, CredentialPut, JsonObject, PageRequest, ServiceName,
};

use crate::convert::{dict_of, to_json_object};
use crate::error::check;
use crate::page::new_page;
use crate::runtime::block_on;
use crate::vault::{Shared, api};

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
    /// Creates credential `key` of `service`, or adds a new version (the last 10 are kept).
    ///
    /// `metadata` (a JSON-able dict, not secret) replaces the previous version's; `None` keeps
    /// it. `expected_version` makes it a compare-and-set: the put applies only if the current
    /// version is that one (0 = must not exist yet), else `Conflict`. Raises `InvalidInput` for
    /// a bad name or an empty value.
    #[pyo3(signature = (key, value, service, *, metadata=None, expected_version=None))]
    fn put(
        &self,
        py: Python<'_>,
        key: String,
        value: String,
        service: String,
        metadata: Option<&Bound<'_, PyAny>>,
        expected_version: Option<u64>,
    ) -> PyResult<CredentialWritten> {
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
        };
        let written = block_on(py, async move { api.credentials().put(put).await })?;
        let w = check(py, written)?;
        Ok(CredentialWritten {
            service: w.service.into_string(),
            key: w.key.into_string(),
            action: w.action.as_str(),
            version: w.version,
        })
    }

    /// The current version of credential `key`, with its value. With `service=None` the key
    /// must exist under exactly one service (`Conflict` otherwise). `NotFound` when missing.
    /// Remote: `Unavailable` when the server cannot be reached (credentials are never cached).
    #[pyo3(signature = (key, service=None))]
    fn get(&self, py: Python<'_>, key: String, service: Option<String>) -> PyResult<Credential> {
        let key = check(py, CredentialKey::new(key))?;
        let service = service_opt(py, service)?;
        let api = api(py, &self.shared)?;
        let got = block_on(py, async move {
            api.credentials().get(&key, service.as_ref()).await
        })?;
        Ok(Credential::from(check(py, got)?))
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
