//! The native vault class: opening (embedded), health, close, and the number conversions
//! shared by the credential, config, token and audit methods.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Result, block_on};
use napi_derive::napi;
use vault_core::crypto::SecretString;
use vault_core::data_dir::key_source;
use vault_core::{Error, Health, Vault, VaultApi, VaultHandle};

use crate::error::IntoNapi;

/// One vault handle, embedded or remote; every method returns a Promise (except the embedded
/// `*Sync` reads of [`crate::sync`]).
#[napi]
pub struct NativeVault {
    handle: VaultHandle,
    mode: &'static str,
    dev_key_file: Option<String>,
}

impl NativeVault {
    /// Wraps an opened vault.
    pub(crate) fn new(
        api: Arc<dyn VaultApi>,
        mode: &'static str,
        dev_key_file: Option<String>,
    ) -> Self {
        NativeVault {
            handle: VaultHandle::new(api),
            mode,
            dev_key_file,
        }
    }

    /// The vault behind this handle, or `invalid` once closed.
    pub(crate) fn api(&self) -> Result<Arc<dyn VaultApi>> {
        self.handle.get().napi()
    }

    /// `"embedded"` or `"remote"`, without allocating.
    pub(crate) fn mode_str(&self) -> &'static str {
        self.mode
    }
}

/// How `openEmbedded` finds the root key (the rule is
/// [`vault_core::data_dir::key_source`]). Neither field: the dev key file `<path>/root.key`
/// (created on first open).
#[napi(object)]
pub struct OpenOptions {
    /// 32 bytes as 64 hex digits or base64; any other non-empty string is used as a passphrase.
    pub encryption_key: Option<String>,
    /// A passphrase, stretched with Argon2id and a salt kept in the store.
    pub passphrase: Option<String>,
    /// A `vault_sk_...` token of this vault: every call is then checked against its rules, as
    /// the server would. None: the process is trusted (everything allowed).
    pub token: Option<String>,
}

/// Opens (creating if needed) the embedded vault in directory `path` (or in the PostgreSQL
/// database it names when it is a `postgres://` URL; the key is then required), seen through
/// `options.token` when given (`unauthorized` when it is unknown, revoked or expired).
#[napi]
pub async fn open_embedded(path: String, options: Option<OpenOptions>) -> Result<NativeVault> {
    let (key, pass, token) = options.map_or((None, None, None), |o| {
        (
            o.encryption_key.map(SecretString::new),
            o.passphrase.map(SecretString::new),
            o.token.map(SecretString::new),
        )
    });
    // Checked here, before anything is opened; `open_dir` builds it again for each attempt.
    key_source(key.clone(), pass.clone()).napi()?;
    let (vault, dev) = open_dir(Path::new(&path), key, pass).await.napi()?;
    let vault = match token {
        // The trusted handle is dropped here: only the token's is kept.
        Some(token) => match vault.with_token(token.expose_secret()).await {
            Ok(scoped) => scoped,
            Err(refused) => {
                // The failed authentication's audit entry is queued: commit it before the vault
                // is dropped. The error to report is the refusal.
                let _ = vault.close().await;
                return Err(refused).napi();
            }
        },
        None => vault,
    };
    let dev_key_file = dev.map(|d| d.path.display().to_string());
    Ok(NativeVault::new(Arc::new(vault), "embedded", dev_key_file))
}

/// How long `openEmbedded` waits for a data directory whose lock is still held. sled releases a
/// closed store's lock from its IO threads a moment (under a few ms) after the last handle is
/// dropped, so a directory closed by this process can be "in use" for that moment; a directory
/// another process keeps open is refused once this has passed.
const RELEASE_WAIT: Duration = Duration::from_millis(500);

/// [`Vault::open_dir`], tried again while the directory is in use, for at most
/// [`RELEASE_WAIT`]. A stopgap for the sled lock release above, which belongs in vault-core's
/// store (it would cover every opener, the server too).
async fn open_dir(
    dir: &Path,
    key: Option<SecretString>,
    pass: Option<SecretString>,
) -> vault_core::Result<(Vault, Option<vault_core::data_dir::DevKey>)> {
    if let Some(url) = dir
        .to_str()
        .filter(|d| vault_core::vault::is_postgres_url(d))
    {
        return Vault::open_location(url, key_source(key, pass)?).await;
    }
    let deadline = tokio::time::Instant::now() + RELEASE_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        let source = key_source(key.clone(), pass.clone())?;
        match Vault::open_dir(dir, source).await {
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

/// How long `close` waits for calls in flight: their audit entries are queued when they
/// finish, and must be there when the queue is committed.
const IN_FLIGHT_WAIT: Duration = Duration::from_secs(5);

/// Waits until `api` (taken out of its closed handle) is the only reference left, i.e. every
/// call that took the vault before the close has finished, for at most [`IN_FLIGHT_WAIT`]. They
/// run on runtime threads and never need the JS thread this blocks; embedded calls are short,
/// so this is normally no wait at all.
fn wait_for_calls_in_flight(api: &Arc<dyn VaultApi>) {
    let deadline = std::time::Instant::now() + IN_FLIGHT_WAIT;
    while Arc::strong_count(api) > 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The vault's health report.
#[napi(object)]
pub struct HealthRecord {
    /// `"ok"`, `"degraded"` or `"down"`.
    pub status: String,
    /// `status == "ok"`.
    pub ok: bool,
    /// Component name to state, e.g. `store: "connected"`.
    pub components: std::collections::BTreeMap<String, String>,
    /// A sentence for people.
    pub message: String,
    /// The vault-core version.
    pub version: String,
    /// When the report was made (RFC 3339).
    pub timestamp: String,
    /// Credentials overdue for rotation (any makes the status `"degraded"`).
    pub overdue_credentials: i64,
}

impl From<Health> for HealthRecord {
    fn from(h: Health) -> Self {
        HealthRecord {
            status: h.status.as_str().to_string(),
            ok: h.status == vault_core::HealthStatus::Ok,
            components: h.components,
            message: h.message,
            version: h.version,
            timestamp: h.timestamp.to_string(),
            overdue_credentials: version_out(h.overdue_credentials),
        }
    }
}

#[napi]
impl NativeVault {
    /// `"embedded"` or `"remote"`.
    #[napi(getter)]
    pub fn mode(&self) -> String {
        self.mode.to_string()
    }

    /// The dev key file this embedded vault was opened with, when no key was given.
    #[napi(getter)]
    pub fn dev_key_file(&self) -> Option<String> {
        self.dev_key_file.clone()
    }

    /// Whether `close()` was called.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Health of the vault and its store (or of the server, remote).
    #[napi]
    pub async fn health(&self) -> Result<HealthRecord> {
        let api = self.api()?;
        Ok(api.health().await.napi()?.into())
    }

    /// Closes the vault. Embedded: lets the calls in flight (awaited calls already running on
    /// the runtime) finish, for at most 5 s, stops the audit flusher and commits the audit
    /// entries still queued (none is lost), then releases the data directory (it can be opened
    /// again at once). Runs on the calling JS thread, as the
    /// `*Sync` reads do, so a `close()` is done when it returns; remote it does nothing more
    /// than drop the client. Throws the vault's error when the queued entries cannot be
    /// committed (the handle is closed all the same). Later calls reject with `invalid`.
    /// Closing twice is harmless.
    #[napi]
    pub fn close(&self) -> Result<()> {
        let Some(api) = self.handle.close() else {
            return Ok(());
        };
        if self.mode == "embedded" {
            wait_for_calls_in_flight(&api);
        }
        let closed = block_on(api.close());
        drop(api);
        closed.napi()
    }
}

/// A version, `after` cursor or limit from JS. `index.js` passes only non-negative safe
/// integers, so this is a conversion, not a check (`unsigned_abs` is the identity on them).
pub(crate) fn uint_in(v: Option<i64>) -> Option<u64> {
    v.map(i64::unsigned_abs)
}

/// A page size from JS. `index.js` passes non-negative safe integers; one too large for
/// `usize` saturates and vault-core rejects it with its range.
pub(crate) fn limit_in(v: Option<i64>) -> Option<usize> {
    uint_in(v).map(|n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// A record a listing found but could not read.
#[napi(object)]
pub struct UnreadableRecord {
    /// The service listed; absent in a listing of tokens or an audit query.
    pub service: Option<String>,
    /// The record's name: the credential key, the strategy id, the token id, or (an audit
    /// query) the position of the entry that does not open.
    pub name: String,
    /// The stable code of the error reading it (`integrity` for a corrupt record).
    pub code: String,
    /// The error's message.
    pub message: String,
}

/// The unreadable records of a page of `service`, for JS.
pub(crate) fn unreadable_out(
    service: &vault_core::ServiceName,
    unreadable: Vec<vault_core::Unreadable>,
) -> Vec<UnreadableRecord> {
    unreadable
        .into_iter()
        .map(|u| UnreadableRecord {
            service: Some(service.to_string()),
            code: u.error.code().to_string(),
            message: u.error.to_string(),
            name: u.name,
        })
        .collect()
}

/// A version for JS (a safe integer in practice).
pub(crate) fn version_out(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
