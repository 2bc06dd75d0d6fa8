//! The native vault class: opening (embedded), health, close, and the number conversions
//! shared by the credential and config methods.

use std::sync::Arc;

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use vault_core::crypto::SecretString;
use vault_core::{Health, Vault, VaultApi, VaultHandle};

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

/// Opens (creating if needed) the embedded vault in directory `path`, seen through
/// `options.token` when given (`unauthorized` when it is unknown, revoked or expired).
#[napi]
pub async fn open_embedded(path: String, options: Option<OpenOptions>) -> Result<NativeVault> {
    let (key, pass, token) = options.map_or((None, None, None), |o| {
        (
            o.encryption_key,
            o.passphrase,
            o.token.map(SecretString::new),
        )
    });
    let source =
        vault_core::data_dir::key_source(key.map(SecretString::new), pass.map(SecretString::new))
            .napi()?;
    let (vault, dev) = Vault::open_dir(&path, source).await.napi()?;
    let vault = match token {
        // The trusted handle is dropped here: only the token's is kept.
        Some(token) => vault.with_token(token.expose_secret()).await.napi()?,
        None => vault,
    };
    let dev_key_file = dev.map(|d| d.path.display().to_string());
    Ok(NativeVault::new(Arc::new(vault), "embedded", dev_key_file))
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

    /// Releases the vault (embedded: the data directory's lock, once calls in flight finish).
    /// Later calls reject with `invalid`. Closing twice is harmless.
    #[napi]
    pub fn close(&self) {
        drop(self.handle.close());
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
    /// The service listed; absent in a listing of tokens.
    pub service: Option<String>,
    /// The record's name: the credential key, the strategy id, or the token id.
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
