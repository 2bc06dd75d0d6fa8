//! The `vault.Vault` class and its two constructors, `vault.open` (embedded) and
//! `vault.connect` (remote). Both hold an `Arc<dyn VaultApi>`, so every method runs one code
//! path whichever way the vault is reached.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use vault_core::crypto::{RootKeySource, SecretString};
use vault_core::{Error, Health as CoreHealth, VaultApi};
use vault_http::client::{ClientOptions, RemoteVault};

use crate::configs::Configs;
use crate::credentials::Credentials;
use crate::error::check;
use crate::runtime::block_on;

/// The connection shared by a `Vault` and its `credentials` and `configs` objects.
pub(crate) struct Shared {
    api: RwLock<Option<Arc<dyn VaultApi>>>,
}

impl Shared {
    fn new(api: Arc<dyn VaultApi>) -> Arc<Self> {
        Arc::new(Shared {
            api: RwLock::new(Some(api)),
        })
    }

    /// The open vault; `ValueError` once it is closed.
    pub(crate) fn api(&self) -> PyResult<Arc<dyn VaultApi>> {
        self.api
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| PyValueError::new_err("operation on a closed vault"))
    }

    fn close(&self) -> Option<Arc<dyn VaultApi>> {
        self.api
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    fn is_closed(&self) -> bool {
        self.api
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none()
    }
}

/// An open vault, embedded (`vault.open`) or remote (`vault.connect`); the same API either way.
///
/// Thread-safe: share one `Vault` between threads; every call releases the GIL while it works.
/// Use it as a context manager, or call `close()`, to release an embedded vault's data
/// directory.
#[pyclass(module = "vault", frozen)]
pub struct Vault {
    shared: Arc<Shared>,
    credentials: Py<Credentials>,
    configs: Py<Configs>,
    mode: &'static str,
    location: String,
}

impl Vault {
    fn build(
        py: Python<'_>,
        api: Arc<dyn VaultApi>,
        mode: &'static str,
        location: String,
    ) -> PyResult<Vault> {
        let shared = Shared::new(api);
        Ok(Vault {
            credentials: Py::new(py, Credentials::new(shared.clone()))?,
            configs: Py::new(py, Configs::new(shared.clone()))?,
            shared,
            mode,
            location,
        })
    }
}

#[pymethods]
impl Vault {
    /// Credentials: encrypted, versioned secrets of external services.
    #[getter]
    fn credentials(&self, py: Python<'_>) -> Py<Credentials> {
        self.credentials.clone_ref(py)
    }

    /// Strategy configs: versioned, with compare-and-set.
    #[getter]
    fn configs(&self, py: Python<'_>) -> Py<Configs> {
        self.configs.clone_ref(py)
    }

    /// `"embedded"` or `"remote"`.
    #[getter]
    fn mode(&self) -> &'static str {
        self.mode
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Health of the vault and its store. Remote: raises `Unavailable` when the server cannot
    /// be reached.
    fn health(&self, py: Python<'_>) -> PyResult<Health> {
        let api = self.shared.api()?;
        let h = block_on(py, async move { api.health().await })?;
        Ok(Health::from(check(py, h)?))
    }

    /// Closes the vault: an embedded vault releases its data directory once calls already
    /// running finish. Later calls raise `ValueError`. Closing twice is a no-op.
    fn close(&self, py: Python<'_>) {
        if let Some(api) = self.shared.close() {
            // The last reference may be the one dropping sled: do it without the GIL.
            py.detach(move || drop(api));
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (_exc_type=None, _exc_value=None, _traceback=None))]
    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<&Bound<'_, PyType>>,
        _exc_value: Option<&Bound<'_, PyAny>>,
        _traceback: Option<&Bound<'_, PyAny>>,
    ) {
        self.close(py);
    }

    fn __repr__(&self) -> String {
        let what = if self.mode == "embedded" {
            "path"
        } else {
            "url"
        };
        let closed = if self.shared.is_closed() {
            ", closed"
        } else {
            ""
        };
        format!(
            "Vault(mode='{}', {what}='{}'{closed})",
            self.mode, self.location
        )
    }
}

/// Opens (creating when missing) the embedded vault in data directory `path`.
///
/// The key is `encryption_key` (32 bytes as 64 hex digits or base64; any other string is taken
/// as a passphrase, as the server does with `VVAULT_ENCRYPTION_KEY`) or `passphrase`
/// (stretched with Argon2id). With neither, it runs in dev mode like the server: a random key
/// kept in `<path>/root.key`. Raises `WrongKey` when the key does not open existing data, and
/// `InvalidInput` when both are given.
#[pyfunction]
#[pyo3(signature = (path, *, encryption_key=None, passphrase=None))]
pub(crate) fn open(
    py: Python<'_>,
    path: PathBuf,
    encryption_key: Option<String>,
    passphrase: Option<String>,
) -> PyResult<Vault> {
    let encryption_key = encryption_key.map(SecretString::from);
    let passphrase = passphrase.map(SecretString::from);
    let key = match (encryption_key, passphrase) {
        (Some(_), Some(_)) => {
            return check(
                py,
                Err(Error::invalid(
                    "encryption_key",
                    "give encryption_key or passphrase, not both",
                )),
            );
        }
        (Some(k), None) => Some(check(py, RootKeySource::parse(k.expose_secret()))?),
        (None, Some(p)) => {
            if p.is_empty() {
                return check(py, Err(Error::invalid("passphrase", "must not be empty")));
            }
            Some(RootKeySource::Passphrase(p))
        }
        (None, None) => None,
    };
    let dir = path.clone();
    let opened = block_on(
        py,
        async move { vault_core::Vault::open_dir(&dir, key).await },
    )?;
    let (vault, _dev_key) = check(py, opened)?;
    Vault::build(py, Arc::new(vault), "embedded", path.display().to_string())
}

/// Connects to a running `vault-http` server at `url` (e.g. `http://127.0.0.1:8000`). No
/// request is made yet: an unreachable server shows as `Unavailable` on the first call.
///
/// `token` is the service token (`VVAULT_SERVICE_TOKEN` of the server), sent as a bearer token;
/// `timeout` is seconds per request. Configs read successfully are kept as last-known-good and
/// served with `stale=True` while the server is unreachable; with `cache_file` they are also
/// kept in that file, encrypted under a key derived from the token, so a restarted process can
/// start while the vault is down. Credentials are never cached.
#[pyfunction]
#[pyo3(signature = (url, *, token=None, timeout=10.0, cache_file=None))]
pub(crate) fn connect(
    py: Python<'_>,
    url: String,
    token: Option<String>,
    timeout: f64,
    cache_file: Option<PathBuf>,
) -> PyResult<Vault> {
    let token = token.map(SecretString::from);
    let timeout = match Duration::try_from_secs_f64(timeout) {
        Ok(t) if !t.is_zero() => t,
        _ => {
            return check(
                py,
                Err(Error::invalid(
                    "timeout",
                    "must be a positive number of seconds",
                )),
            );
        }
    };
    let options = ClientOptions {
        token,
        timeout,
        cache_file,
    };
    let rt = crate::runtime::runtime()?;
    let remote = py.detach(|| {
        let _in_runtime = rt.enter();
        RemoteVault::new(&url, options)
    });
    let remote = check(py, remote)?;
    Vault::build(py, Arc::new(remote), "remote", url.trim().to_string())
}

/// The vault's health report.
#[pyclass(module = "vault", frozen)]
pub struct Health {
    /// `"ok"`, `"degraded"` or `"down"`.
    #[pyo3(get)]
    status: String,
    /// A sentence for people.
    #[pyo3(get)]
    message: String,
    /// The vault-core version.
    #[pyo3(get)]
    version: String,
    /// When the report was made (RFC 3339 UTC string, e.g. `2026-11-22T09:00:00.123Z`).
    #[pyo3(get)]
    timestamp: String,
    components: std::collections::BTreeMap<String, String>,
}

impl From<CoreHealth> for Health {
    fn from(h: CoreHealth) -> Self {
        let status = serde_json::to_value(h.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "down".to_string());
        Health {
            status,
            message: h.message,
            version: h.version,
            timestamp: h.timestamp.to_string(),
            components: h.components,
        }
    }
}

#[pymethods]
impl Health {
    /// Component name to state, e.g. `{"store": "connected"}` (a new dict on each access).
    #[getter]
    fn components<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.components {
            d.set_item(k, v)?;
        }
        Ok(d)
    }

    /// True when `status == "ok"`.
    #[getter]
    fn ok(&self) -> bool {
        self.status == "ok"
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Health(status='{}', version='{}', components={}, timestamp='{}')",
            self.status,
            self.version,
            self.components(py)?.repr()?,
            self.timestamp
        ))
    }
}
