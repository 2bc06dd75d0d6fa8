//! Remote mode: `connectRemote` wraps the HTTP client [`vault_client::RemoteVault`] in the same
//! [`NativeVault`] class the embedded mode uses.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;

use crate::error::IntoNapi;
use crate::vault::NativeVault;

/// How `connectRemote` reaches the server.
#[napi(object)]
pub struct ConnectOptions {
    /// Service token, sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// File for the encrypted last-known-good config cache (needs a token).
    pub cache_file: Option<String>,
    /// Timeout of each request in milliseconds (default 10000); `index.js` passes only
    /// positive integers.
    pub timeout_ms: Option<u32>,
    /// Oldest cached config served, in milliseconds (default 24 h); `Infinity`: no limit.
    /// `index.js` passes only non-negative integers or `Infinity`.
    pub cache_max_age_ms: Option<f64>,
    /// Proxy URL every request goes through; none (the default) means no proxy at all, the
    /// `*_PROXY` environment variables being ignored.
    pub proxy: Option<String>,
    /// PEM file of CA certificates trusted for `https://` besides the system's roots.
    pub ca_file: Option<String>,
}

/// A client of the vault server at `url` (`http://` or `https://`). No request is made until
/// the first call.
#[napi]
pub async fn connect_remote(url: String, options: Option<ConnectOptions>) -> Result<NativeVault> {
    let mut client = ClientOptions::default();
    if let Some(o) = options {
        client.token = o.token.map(SecretString::new);
        client.cache_file = o.cache_file.map(PathBuf::from);
        client.proxy = o.proxy;
        client.ca_file = o.ca_file.map(PathBuf::from);
        if let Some(ms) = o.timeout_ms {
            client.timeout = Duration::from_millis(u64::from(ms));
        }
        if let Some(ms) = o.cache_max_age_ms {
            client.cache_max_age = Duration::try_from_secs_f64(ms / 1000.0).ok();
        }
    }
    let remote = RemoteVault::new(&url, client).napi()?;
    Ok(NativeVault::new(Arc::new(remote), "remote", None))
}
