//! The `vault.Vault` class and its two constructors, `vault.open` (embedded) and
//! `vault.connect` (remote). Both hold an `Arc<dyn VaultApi>`, so every method runs one code
//! path whichever way the vault is reached.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::data_dir::key_source;
use vault_core::{Error, Health as CoreHealth, VaultApi, VaultHandle};

use crate::audit::Audit;
use crate::configs::Configs;
use crate::constructs::Constructs;
use crate::credentials::Credentials;
use crate::error::check;
use crate::guards::Guards;
use crate::jobs::Jobs;
use crate::runtime::{block_on, runtime};
use crate::tokens::Tokens;

/// The handle shared by a `Vault` and its `credentials`, `configs`, `constructs`, `tokens`,
/// `guards`, `jobs` and `audit` objects.
pub(crate) type Shared = VaultHandle;

/// The open vault behind `handle`; `InvalidInput` (code `invalid`) once it is closed.
pub(crate) fn api(py: Python<'_>, handle: &VaultHandle) -> PyResult<Arc<dyn VaultApi>> {
    check(py, handle.get())
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
    constructs: Py<Constructs>,
    tokens: Py<Tokens>,
    audit: Py<Audit>,
    guards: Py<Guards>,
    jobs: Py<Jobs>,
    mode: &'static str,
    location: String,
    dev_key_file: Option<String>,
}

impl Vault {
    fn build(
        py: Python<'_>,
        api: Arc<dyn VaultApi>,
        mode: &'static str,
        location: String,
    ) -> PyResult<Vault> {
        let shared = Arc::new(VaultHandle::new(api));
        Ok(Vault {
            credentials: Py::new(py, Credentials::new(shared.clone()))?,
            configs: Py::new(py, Configs::new(shared.clone()))?,
            constructs: Py::new(py, Constructs::new(shared.clone()))?,
            tokens: Py::new(py, Tokens::new(shared.clone()))?,
            audit: Py::new(py, Audit::new(shared.clone()))?,
            guards: Py::new(py, Guards::new(shared.clone()))?,
            jobs: Py::new(py, Jobs::new(shared.clone()))?,
            shared,
            mode,
            location,
            dev_key_file: None,
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

    /// Constructs: AI personas' capsules, identity files and transcripts.
    #[getter]
    fn constructs(&self, py: Python<'_>) -> Py<Constructs> {
        self.constructs.clone_ref(py)
    }

    /// Tokens with scoped policies: create, list, revoke, and the caller's own.
    #[getter]
    fn tokens(&self, py: Python<'_>) -> Py<Tokens> {
        self.tokens.clone_ref(py)
    }

    /// The audit log: `query` and `verify` (needs `read` on `audit`).
    #[getter]
    fn audit(&self, py: Python<'_>) -> Py<Audit> {
        self.audit.clone_ref(py)
    }

    /// Trading guards: policies, decide-and-claim, executions, trading states, overrides and
    /// the LLM-call budget, per account.
    #[getter]
    fn guards(&self, py: Python<'_>) -> Py<Guards> {
        self.guards.clone_ref(py)
    }

    /// Scheduler jobs: due jobs handed to one instance at a time under a lease.
    #[getter]
    fn jobs(&self, py: Python<'_>) -> Py<Jobs> {
        self.jobs.clone_ref(py)
    }

    /// `"embedded"` or `"remote"`.
    #[getter]
    fn mode(&self) -> &'static str {
        self.mode
    }

    /// The dev-mode root key file this embedded vault was opened with (no key given), else
    /// `None`.
    #[getter]
    fn dev_key_file(&self) -> Option<&str> {
        self.dev_key_file.as_deref()
    }

    /// Whether `close()` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Health of the vault and its store. Remote: raises `Unavailable` when the server cannot
    /// be reached.
    fn health(&self, py: Python<'_>) -> PyResult<Health> {
        let api = api(py, &self.shared)?;
        let h = block_on(py, async move { api.health().await })?;
        Ok(Health::from(check(py, h)?))
    }

    /// Closes the vault. An embedded vault first lets calls already running on other threads
    /// finish (for at most 5 s), stops its audit flusher and commits the audit entries still
    /// queued (so none is lost), then releases its data directory: it can be opened again at
    /// once. Raises the
    /// vault's error when those entries cannot be committed (the handle is closed all the
    /// same). Later calls raise `InvalidInput` (a `ValueError`). Closing twice is a no-op.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let rt = runtime()?;
        let Some(api) = self.shared.close() else {
            return Ok(());
        };
        let embedded = self.mode == "embedded";
        // Without the GIL: calls in flight on other threads finish, committing the queue waits
        // on the store, and the last reference may be the one dropping sled.
        let closed = py.detach(move || {
            if embedded {
                wait_for_calls_in_flight(&api);
            }
            let closed = rt.block_on(api.close());
            drop(api);
            closed
        });
        check(py, closed)
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
    ) -> PyResult<()> {
        self.close(py)
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

/// How long `close` waits for calls still running on other threads: their audit entries are
/// queued when they finish, and must be there when the queue is committed.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(5);

/// Waits until `api` (taken out of its closed handle) is the only reference left, i.e. every
/// call that took the vault before the close has finished, for at most [`IN_FLIGHT_WAIT`].
/// Embedded calls are short (the store is local), so this is normally no wait at all.
fn wait_for_calls_in_flight(api: &Arc<dyn VaultApi>) {
    let deadline = std::time::Instant::now() + IN_FLIGHT_WAIT;
    while Arc::strong_count(api) > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Opens (creating when missing) the embedded vault in data directory `path`, or in the
/// PostgreSQL database `path` names when it is a `postgres://` URL (shared by every process
/// that opens it; the key is then required).
///
/// The key is `encryption_key` (32 bytes as 64 hex digits or base64; any other string is taken
/// as a passphrase, as the server does with `VVAULT_ENCRYPTION_KEY`) or `passphrase`
/// (stretched with Argon2id). With neither, it runs in dev mode like the server: a random key
/// kept in `<path>/root.key`. Raises `WrongKey` when the key does not open existing data, and
/// `InvalidInput` when both are given.
///
/// Without `token` the process is trusted: everything is allowed (`tokens.self()` says
/// `embedded`). With `token` (a `vault_sk_...` token of this vault) every call is checked
/// against that token's rules exactly as the server checks them: `Forbidden` for what they do
/// not allow, `Unauthorized` (here, or on any later call) once it is revoked or expired.
#[pyfunction]
#[pyo3(signature = (path, *, encryption_key=None, passphrase=None, token=None))]
pub(crate) fn open(
    py: Python<'_>,
    path: PathBuf,
    encryption_key: Option<String>,
    passphrase: Option<String>,
    token: Option<String>,
) -> PyResult<Vault> {
    let encryption_key = encryption_key.map(SecretString::from);
    let passphrase = passphrase.map(SecretString::from);
    // Checked here, before anything is opened; `open_dir` builds it again for each attempt.
    check(py, key_source(encryption_key.clone(), passphrase.clone()))?;
    let token = token.map(SecretString::from);
    let dir = path.clone();
    let opened = block_on(py, async move {
        let (vault, dev_key) = open_dir(&dir, encryption_key, passphrase).await?;
        let vault = match token {
            // The trusted handle is dropped here: only the token's is kept.
            Some(token) => match vault.with_token(token.expose_secret()).await {
                Ok(scoped) => scoped,
                Err(refused) => {
                    // The failed authentication's audit entry is queued: commit it before the
                    // vault is dropped. The error to report is the refusal.
                    let _ = vault.close().await;
                    return Err(refused);
                }
            },
            None => vault,
        };
        Ok::<_, Error>((vault, dev_key))
    })?;
    let (vault, dev_key) = check(py, opened)?;
    if let Some(dev) = &dev_key {
        warn_dev_key(py, dev)?;
    }
    let mut v = Vault::build(py, Arc::new(vault), "embedded", path.display().to_string())?;
    v.dev_key_file = dev_key.map(|d| d.path.display().to_string());
    Ok(v)
}

/// How long `open` waits for a data directory whose lock is still held. sled releases a closed
/// store's lock from its IO threads a moment (under a few ms) after the last handle is dropped,
/// so a directory closed by this process can be "in use" for that moment; a directory another
/// process keeps open is refused once this has passed.
const RELEASE_WAIT: Duration = Duration::from_millis(500);

/// [`vault_core::Vault::open_dir`], tried again while the directory is in use, for at most
/// [`RELEASE_WAIT`]. A stopgap for the sled lock release above, which belongs in vault-core's
/// store (it would cover every opener, the server too).
async fn open_dir(
    dir: &std::path::Path,
    encryption_key: Option<SecretString>,
    passphrase: Option<SecretString>,
) -> vault_core::Result<(vault_core::Vault, Option<vault_core::data_dir::DevKey>)> {
    if let Some(url) = dir
        .to_str()
        .filter(|d| vault_core::vault::is_postgres_url(d))
    {
        let key = key_source(encryption_key, passphrase)?;
        return vault_core::Vault::open_location(url, key).await;
    }
    let deadline = tokio::time::Instant::now() + RELEASE_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        let key = key_source(encryption_key.clone(), passphrase.clone())?;
        match vault_core::Vault::open_dir(dir, key).await {
            Err(e) if in_use(&e) && tokio::time::Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            opened => return opened,
        }
    }
}

/// Whether `e` says the data directory is locked by another opener (vault-core's sled store).
fn in_use(e: &Error) -> bool {
    matches!(e, Error::BackendUnavailable(m) if m.contains("in use by another vault process"))
}

/// Dev mode says so, as the server does: a `UserWarning` naming the key file (never the key).
fn warn_dev_key(py: Python<'_>, dev: &vault_core::data_dir::DevKey) -> PyResult<()> {
    let message = format!(
        "vault: no encryption_key or passphrase given; using the dev-mode root key file {} ({}). \
         Anyone who can read that directory can decrypt the vault: pass encryption_key in \
         production.",
        dev.path.display(),
        if dev.created {
            "created now"
        } else {
            "existing"
        }
    );
    let category = py.get_type::<pyo3::exceptions::PyUserWarning>();
    PyErr::warn(py, &category, &std::ffi::CString::new(message)?, 1)
}

/// Connects to a running `vault-http` server at `url` (`http://host:port` or
/// `https://host:port`). No request is made yet: an unreachable server shows as `Unavailable`
/// on the first call.
///
/// `token` is the service token (`VVAULT_SERVICE_TOKEN` of the server), sent as a bearer token;
/// `timeout` is seconds per request. Configs read successfully are kept as last-known-good and
/// served with `stale=True` while the server is unreachable; with `cache_file` they are also
/// kept in that file, encrypted under a key derived from the token, so a restarted process can
/// start while the vault is down. Copies read more than `cache_max_age` seconds ago (default
/// 24 h; `None`: no limit) are not served. Credentials are never cached.
///
/// `https://` server certificates are checked against the system's root certificates plus the
/// PEM certificates in `ca_file` (a private CA or a self-signed server certificate); an
/// untrusted certificate is `Unavailable`, a `ca_file` that cannot be read or holds no PEM
/// certificate is `InvalidInput` (field `ca_file`). No proxy is used unless `proxy` names one
/// (`http://host:port` or `https://host:port`): `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY`
/// in the environment are ignored.
#[pyfunction]
#[pyo3(signature = (
    url, *, token=None, timeout=10.0, cache_file=None, cache_max_age=86400.0, proxy=None,
    ca_file=None
))]
#[allow(clippy::too_many_arguments)] // keyword-only options in Python
pub(crate) fn connect(
    py: Python<'_>,
    url: String,
    token: Option<String>,
    timeout: f64,
    cache_file: Option<PathBuf>,
    cache_max_age: Option<f64>,
    proxy: Option<String>,
    ca_file: Option<PathBuf>,
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
    let cache_max_age = match cache_max_age.map(Duration::try_from_secs_f64).transpose() {
        Ok(age) => age,
        Err(_) => {
            return check(
                py,
                Err(Error::invalid(
                    "cache_max_age",
                    "must be a non-negative number of seconds, or None for no limit",
                )),
            );
        }
    };
    let options = ClientOptions {
        token,
        timeout,
        cache_file,
        cache_max_age,
        proxy,
        ca_file,
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
    /// Credentials overdue for rotation (of every service); any makes the status
    /// `"degraded"`.
    #[pyo3(get)]
    overdue_credentials: u64,
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
            overdue_credentials: h.overdue_credentials,
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
