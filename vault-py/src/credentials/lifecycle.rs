//! The credential lifecycle records of `vault.Credentials`: `VersionInfo` (one kept version,
//! never its value) and `CredentialVersions` (a page of them), and the argument conversions of
//! the lifecycle methods. The rules are vault-core's.

use pyo3::prelude::*;
use vault_core::{
    Charset, CredentialSettings, CredentialVersions as CoreVersions, GeneratePolicy,
    VersionInfo as CoreVersion,
};

use crate::error::check;

/// One kept version of a credential, without its value.
#[pyclass(module = "vault", frozen)]
pub struct VersionInfo {
    /// Version number.
    #[pyo3(get)]
    version: u64,
    /// When it was written (RFC 3339 UTC string); `None` only for a version written before
    /// times were recorded and since destroyed.
    #[pyo3(get)]
    created_at: Option<String>,
    /// `"active"`, `"deleted"` or `"destroyed"`.
    #[pyo3(get)]
    state: &'static str,
    /// When it was soft-deleted or destroyed (RFC 3339 UTC string), else `None`.
    #[pyo3(get)]
    deleted_at: Option<String>,
}

impl From<CoreVersion> for VersionInfo {
    fn from(v: CoreVersion) -> Self {
        VersionInfo {
            version: v.version,
            created_at: v.created_at.map(|t| t.to_string()),
            state: v.state.as_str(),
            deleted_at: v.deleted_at.map(|t| t.to_string()),
        }
    }
}

#[pymethods]
impl VersionInfo {
    fn __repr__(&self) -> String {
        format!(
            "VersionInfo(version={}, state='{}', created_at={:?})",
            self.version, self.state, self.created_at
        )
    }
}

/// One page of the kept versions of a credential, newest first (`credentials.versions`).
#[pyclass(module = "vault", frozen)]
pub struct CredentialVersions {
    /// The service.
    #[pyo3(get)]
    service: String,
    /// The credential's name.
    #[pyo3(get)]
    key: String,
    /// The current (latest) version.
    #[pyo3(get)]
    current_version: u64,
    /// The oldest version kept.
    #[pyo3(get)]
    oldest_version: u64,
    /// How many versions are kept.
    #[pyo3(get)]
    max_versions: u64,
    /// When older versions follow: pass it as `after` to read the next page.
    #[pyo3(get)]
    next: Option<u64>,
    items: Vec<CoreVersion>,
}

impl From<CoreVersions> for CredentialVersions {
    fn from(v: CoreVersions) -> Self {
        CredentialVersions {
            service: v.service.into_string(),
            key: v.key.into_string(),
            current_version: v.current_version,
            oldest_version: v.oldest_version,
            max_versions: v.max_versions,
            next: v.next,
            items: v.versions,
        }
    }
}

#[pymethods]
impl CredentialVersions {
    /// The versions of this page, newest first (a new list on each access).
    #[getter]
    fn versions(&self) -> Vec<VersionInfo> {
        self.items.iter().cloned().map(VersionInfo::from).collect()
    }

    fn __len__(&self) -> usize {
        self.items.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "CredentialVersions(service='{}', key='{}', current_version={}, versions={:?})",
            self.service,
            self.key,
            self.current_version,
            self.items.iter().map(|v| v.version).collect::<Vec<_>>()
        )
    }
}

/// The generation policy of `rotate(length=, charset=)`, checked.
pub(crate) fn policy(py: Python<'_>, length: usize, charset: &str) -> PyResult<GeneratePolicy> {
    let policy = GeneratePolicy {
        length,
        charset: check(py, Charset::parse(charset))?,
    };
    check(py, policy.check())?;
    Ok(policy)
}

/// The settings of `set_settings(max_versions=, rotate_every=)` (`"off"` clears the period).
pub(crate) fn settings(
    py: Python<'_>,
    max_versions: Option<u64>,
    rotate_every: Option<&str>,
) -> PyResult<CredentialSettings> {
    let settings = CredentialSettings {
        max_versions,
        rotate_every: check(
            py,
            rotate_every
                .map(CredentialSettings::parse_rotate_every)
                .transpose(),
        )?,
    };
    check(py, settings.check())?;
    Ok(settings)
}
