//! The native vault class: opening (embedded) or connecting (remote), health, close, and the
//! argument conversions shared by the credential and config methods.

use std::sync::{Arc, RwLock};

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use serde_json::Value;
use vault_core::crypto::{RootKeySource, SecretString};
use vault_core::{Health, JsonObject, Vault, VaultApi};

use crate::error::{IntoNapi, invalid, to_napi};

/// One vault handle, embedded or remote; every method returns a Promise.
#[napi]
pub struct NativeVault {
    /// `None` once closed.
    api: RwLock<Option<Arc<dyn VaultApi>>>,
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
            api: RwLock::new(Some(api)),
            mode,
            dev_key_file,
        }
    }

    /// The vault behind this handle, or `invalid` once closed.
    pub(crate) fn api(&self) -> Result<Arc<dyn VaultApi>> {
        let guard = self
            .api
            .read()
            .map_err(|_| to_napi(vault_core::Error::Internal("vault handle poisoned".into())))?;
        guard
            .clone()
            .ok_or_else(|| invalid("vault", "this vault handle is closed"))
    }
}

/// How `openEmbedded` finds the root key. Neither field: the dev key file `<path>/root.key`
/// (created on first open).
#[napi(object)]
pub struct OpenOptions {
    /// 32 bytes as 64 hex digits or base64; any other non-empty string is used as a passphrase.
    pub encryption_key: Option<String>,
    /// A passphrase, stretched with Argon2id and a salt kept in the store.
    pub passphrase: Option<String>,
}

/// Opens (creating if needed) the embedded vault in directory `path`.
#[napi]
pub async fn open_embedded(path: String, options: Option<OpenOptions>) -> Result<NativeVault> {
    let (key, pass) = match options {
        Some(o) => (o.encryption_key, o.passphrase),
        None => (None, None),
    };
    let source = match (key, pass) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "options",
                "give either encryptionKey or passphrase, not both",
            ));
        }
        (Some(k), None) => Some(RootKeySource::parse(&k).napi()?),
        (None, Some(p)) if p.is_empty() => {
            return Err(invalid("passphrase", "must not be empty"));
        }
        (None, Some(p)) => Some(RootKeySource::Passphrase(SecretString::new(p))),
        (None, None) => None,
    };
    let (vault, dev) = Vault::open_dir(&path, source).await.napi()?;
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
    pub components: Value,
    /// A sentence for people.
    pub message: String,
    /// The vault-core version.
    pub version: String,
    /// When the report was made (RFC 3339).
    pub timestamp: String,
}

impl From<Health> for HealthRecord {
    fn from(h: Health) -> Self {
        let status = match h.status {
            vault_core::HealthStatus::Ok => "ok",
            vault_core::HealthStatus::Degraded => "degraded",
            vault_core::HealthStatus::Down => "down",
        };
        let components = h
            .components
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect::<JsonObject>();
        HealthRecord {
            status: status.to_string(),
            ok: h.status == vault_core::HealthStatus::Ok,
            components: Value::Object(components),
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
        self.api.read().map(|g| g.is_none()).unwrap_or(true)
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
    pub fn close(&self) -> Result<()> {
        let mut guard = self
            .api
            .write()
            .map_err(|_| to_napi(vault_core::Error::Internal("vault handle poisoned".into())))?;
        *guard = None;
        Ok(())
    }
}

/// A JSON object argument, or `invalid` naming `field`.
pub(crate) fn json_object(field: &str, v: Value) -> Result<JsonObject> {
    match v {
        Value::Object(m) => Ok(m),
        _ => Err(invalid(field, "must be an object")),
    }
}

/// A version argument: a non-negative integer.
pub(crate) fn version_in(field: &str, v: Option<i64>) -> Result<Option<u64>> {
    v.map(|n| u64::try_from(n).map_err(|_| invalid(field, "must be a non-negative integer")))
        .transpose()
}

/// A version for JS (a safe integer in practice).
pub(crate) fn version_out(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
