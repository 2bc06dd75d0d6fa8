//! The remote client: [`RemoteVault`] implements [`VaultApi`] over the server's `/api/vault/*`
//! HTTP API, with a last-known-good cache of strategy configs for when the server is down.
//!
//! Transport is plain `http://` (reqwest without TLS): point it at a vault on loopback or on a
//! trusted network, or put a TLS-terminating proxy on the same host. `https://` URLs are
//! rejected by [`RemoteVault::new`] until TLS support is added.
//!
//! Errors come back as the same [`vault_core::Error`] variants an embedded vault returns: the
//! server's `{"success":false,"error":..,"code":..}` body is rebuilt with
//! [`Error::from_code`]; network failures (refused, timeout, DNS, connection dropped) are
//! [`Error::Unavailable`]. No error message ever carries a secret value or the token.
//!
//! Fallback: the last successfully read configs of each service (from
//! [`VaultApi::list_configs`] and [`VaultApi::get_config`]) are kept in memory and, when
//! [`ClientOptions::cache_file`] is set, in that file sealed under a key derived from the token.
//! When a config read fails with `unavailable`, the cached copy is served with
//! [`StrategyConfig::stale`] set. Credentials are never cached, in memory or on disk.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use vault_core::crypto::{KeyMaterial, SecretString, derive_subkey, open_blob, seal_blob};
use vault_core::names::check_name;
use vault_core::{
    Action, ConfigPut, ConfigWritten, Credential, CredentialInfo, CredentialPut, CredentialWritten,
    Error, Health, JsonObject, Result, StrategyConfig, Timestamp, VaultApi,
};

/// HKDF context of the cache-file key.
const CACHE_KEY_CONTEXT: &str = "vault-http client config cache";
/// Associated-data prefix of the cache file (the base URL follows it).
const CACHE_AAD_PREFIX: &[u8] = b"vault-http config cache v1\0";
/// Most pinned (explicitly versioned) configs kept per service.
const MAX_PINNED_PER_SERVICE: usize = 256;

/// How a [`RemoteVault`] connects.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Service token, sent as `Authorization: Bearer <token>`.
    pub token: Option<SecretString>,
    /// Timeout of each whole request (connect, send, read); default 10 s.
    pub timeout: Duration,
    /// Optional file for the encrypted last-known-good config cache (needs a token: the
    /// file's key is derived from it).
    pub cache_file: Option<PathBuf>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            token: None,
            timeout: Duration::from_secs(10),
            cache_file: None,
        }
    }
}

/// A vault reached over HTTP. `Send + Sync`; clones are cheap and share the connection pool
/// and the config cache.
#[derive(Clone)]
pub struct RemoteVault {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    /// `scheme://host:port` for error messages (never userinfo, path or query).
    origin: String,
    token: Option<SecretString>,
    cache: Mutex<CacheData>,
    file: Option<CacheFile>,
}

struct CacheFile {
    path: PathBuf,
    key: KeyMaterial,
    aad: Vec<u8>,
    /// Serialises file writes so the newest snapshot is the one left on disk.
    write_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for RemoteVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteVault")
            .field("url", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// The cached configs of every service read so far.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct CacheData {
    services: BTreeMap<String, ServiceCache>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct ServiceCache {
    /// True once a full list of the service was read.
    listed: bool,
    /// Latest known version of each strategy, by strategy id.
    latest: BTreeMap<String, StrategyConfig>,
    /// Explicitly requested versions, by `"<strategy_id>@<version>"`.
    pinned: BTreeMap<String, StrategyConfig>,
}

impl RemoteVault {
    /// A client of the vault server at `base_url` (e.g. `http://127.0.0.1:8000`).
    ///
    /// `invalid` (field `url`) when the URL does not parse or is not `http://`; `invalid`
    /// (field `token`) when the token is not a valid header value; `invalid` (field
    /// `cache_file`) when a cache file is asked for without a token. An unreadable or
    /// undecryptable cache file is ignored (and replaced on the next successful read).
    pub fn new(base_url: &str, options: ClientOptions) -> Result<RemoteVault> {
        let base = Url::parse(base_url.trim())
            .map_err(|_| Error::invalid("url", "must be an absolute http:// URL"))?;
        match base.scheme() {
            "http" => {}
            "https" => {
                return Err(Error::invalid(
                    "url",
                    "https is not supported by this build (no TLS); use http:// to a trusted \
                     network or a local TLS-terminating proxy",
                ));
            }
            _ => return Err(Error::invalid("url", "must be an absolute http:// URL")),
        }
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(Error::invalid("url", "must be an absolute http:// URL"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(Error::invalid(
                "url",
                "must not carry credentials; pass the token in the options",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::invalid("url", "must not have a query or fragment"));
        }
        let origin = base.origin().ascii_serialization();
        if let Some(t) = &options.token {
            let ok = !t.is_empty() && t.expose_secret().bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return Err(Error::invalid(
                    "token",
                    "must be non-empty printable ASCII without spaces",
                ));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .build()
            .map_err(|_| Error::Internal("cannot build the HTTP client".into()))?;

        let mut cache = CacheData::default();
        let file = match &options.cache_file {
            None => None,
            Some(path) => {
                let token = options.token.as_ref().ok_or_else(|| {
                    Error::invalid(
                        "cache_file",
                        "needs a token: the cache key is derived from it",
                    )
                })?;
                let key = derive_subkey(token.expose_secret().as_bytes(), CACHE_KEY_CONTEXT)?;
                let mut aad = CACHE_AAD_PREFIX.to_vec();
                aad.extend_from_slice(base.as_str().as_bytes());
                let file = CacheFile {
                    path: path.clone(),
                    key,
                    aad,
                    write_lock: tokio::sync::Mutex::new(()),
                };
                if let Some(data) = file.load() {
                    cache = data;
                }
                Some(file)
            }
        };

        Ok(RemoteVault {
            inner: Arc::new(Inner {
                http,
                base,
                origin,
                token: options.token,
                cache: Mutex::new(cache),
                file,
            }),
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.inner.base.as_str()
    }

    /// `base/api/vault/<segments...>`, each segment percent-encoded (so `/` and `..` in a name
    /// cannot change the path), plus query pairs.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<Url> {
        let mut url = self.inner.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| Error::invalid("url", "must be an absolute http:// URL"))?;
            path.pop_if_empty()
                .extend(["api", "vault"])
                .extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    fn unavailable(&self, e: &reqwest::Error) -> Error {
        let what = if e.is_timeout() {
            "the request timed out"
        } else if e.is_connect() {
            "cannot connect"
        } else {
            "the connection failed"
        };
        // The innermost cause (e.g. "Connection refused (os error 111)") says why without
        // repeating the URL; none of these carry request data.
        let mut cause: &dyn std::error::Error = e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        let detail = if std::ptr::addr_eq(cause, e as &dyn std::error::Error) {
            String::new()
        } else {
            format!(" ({cause})")
        };
        Error::Unavailable(format!("{what} to {}{detail}", self.inner.origin))
    }

    /// Sends a request and returns the status and the raw body.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        auth: bool,
    ) -> Result<(StatusCode, Vec<u8>)> {
        let mut req = self
            .inner
            .http
            .request(method, url)
            .header(reqwest::header::ACCEPT, "application/json");
        if auth && let Some(t) = &self.inner.token {
            req = req.bearer_auth(t.expose_secret());
        }
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_builder() {
                Error::Internal("cannot build the HTTP request".into())
            } else {
                self.unavailable(&e)
            }
        })?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|e| self.unavailable(&e))?;
        Ok((status, bytes.to_vec()))
    }

    /// Sends a request and decodes a success body as `T`, or rebuilds the error.
    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
    ) -> Result<T> {
        let (status, bytes) = self.call(method, url, body, true).await?;
        let bytes = Zeroizing::new(bytes);
        if status.is_success() {
            decode(status, &bytes)
        } else {
            Err(error_from_response(status, &bytes))
        }
    }

    fn cached_list(&self, service: &str) -> Option<Vec<StrategyConfig>> {
        let cache = self.inner.cache.lock().ok()?;
        let s = cache.services.get(service)?;
        if !s.listed {
            return None;
        }
        Some(s.latest.values().cloned().map(mark_stale).collect())
    }

    fn cached_config(
        &self,
        service: &str,
        strategy_id: &str,
        version: Option<u64>,
    ) -> Option<StrategyConfig> {
        let cache = self.inner.cache.lock().ok()?;
        let s = cache.services.get(service)?;
        let latest = s.latest.get(strategy_id);
        let found = match version {
            None => latest,
            Some(v) => s
                .pinned
                .get(&pin_key(strategy_id, v))
                .or(latest.filter(|c| c.version == v)),
        };
        found.cloned().map(mark_stale)
    }

    /// Records a successful list of `service`; persists when something changed.
    async fn remember_list(&self, service: &str, configs: &[StrategyConfig]) {
        let changed = {
            let Ok(mut cache) = self.inner.cache.lock() else {
                return;
            };
            let entry = cache.services.entry(service.to_string()).or_default();
            let before = entry.clone();
            let mut latest = BTreeMap::new();
            for c in configs {
                let keep_old = entry
                    .latest
                    .get(&c.strategy_id)
                    .filter(|old| old.version > c.version)
                    .cloned();
                latest.insert(c.strategy_id.clone(), keep_old.unwrap_or_else(|| c.clone()));
            }
            entry.latest = latest;
            entry.listed = true;
            *entry != before
        };
        if changed {
            self.persist().await;
        }
    }

    /// Records a successful single read; persists when something changed.
    async fn remember_one(&self, config: &StrategyConfig, version: Option<u64>) {
        let changed = {
            let Ok(mut cache) = self.inner.cache.lock() else {
                return;
            };
            let entry = cache.services.entry(config.service.clone()).or_default();
            let before = entry.clone();
            match version {
                None => {
                    let newer = entry
                        .latest
                        .get(&config.strategy_id)
                        .is_none_or(|old| old.version <= config.version);
                    if newer {
                        entry
                            .latest
                            .insert(config.strategy_id.clone(), config.clone());
                    }
                }
                Some(v) => {
                    let key = pin_key(&config.strategy_id, v);
                    if entry.pinned.contains_key(&key)
                        || entry.pinned.len() < MAX_PINNED_PER_SERVICE
                    {
                        entry.pinned.insert(key, config.clone());
                    }
                }
            }
            *entry != before
        };
        if changed {
            self.persist().await;
        }
    }

    /// Writes the current cache snapshot to the cache file, if one is configured. Failures are
    /// logged and otherwise ignored: the cache is an aid, never a reason for a read to fail.
    async fn persist(&self) {
        let Some(file) = &self.inner.file else {
            return;
        };
        let _guard = file.write_lock.lock().await;
        let snapshot = match self.inner.cache.lock() {
            Ok(c) => c.clone(),
            Err(_) => return,
        };
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || match &this.inner.file {
            Some(file) => file.store(&snapshot),
            None => Ok(()),
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(code = e.code(), error = %e, "config cache not saved"),
            Err(_) => tracing::warn!("config cache not saved: the writer task failed"),
        }
    }
}

impl CacheFile {
    /// Reads and opens the cache file; `None` when missing, unreadable or not openable.
    fn load(&self) -> Option<CacheData> {
        let sealed = std::fs::read(&self.path).ok()?;
        let plain = open_blob(&self.key, &self.aad, &sealed).ok()?;
        let mut data: CacheData = serde_json::from_slice(&plain).ok()?;
        for s in data.services.values_mut() {
            for c in s.latest.values_mut().chain(s.pinned.values_mut()) {
                c.stale = false;
            }
        }
        Some(data)
    }

    /// Seals `data` and replaces the file atomically (temp file, fsync, rename), mode 0600.
    fn store(&self, data: &CacheData) -> Result<()> {
        let plain = Zeroizing::new(
            serde_json::to_vec(data)
                .map_err(|_| Error::Internal("cannot serialise the config cache".into()))?,
        );
        let sealed = seal_blob(&self.key, &self.aad, &plain)?;
        write_atomically(&self.path, &sealed)
    }
}

/// Writes `contents` to a fresh mode-0600 temp file beside `path`, syncs it, and renames it
/// over `path`.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| {
        Error::BackendUnavailable(format!("cannot write {}: {e}", path.display()))
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cache".into());
    let suffix: String = vault_core::crypto::random_bytes(8)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tmp = dir.join(format!(".{name}.tmp-{suffix}"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let written = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    // Make the rename itself durable; best effort (not every platform can open a directory).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn pin_key(strategy_id: &str, version: u64) -> String {
    format!("{strategy_id}@{version}")
}

fn mark_stale(mut c: StrategyConfig) -> StrategyConfig {
    c.stale = true;
    c
}

/// Decodes a success body. The error names only the JSON path that did not fit, never a value.
fn decode<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        Error::Internal(format!(
            "unexpected response from the vault server (HTTP {}, at {})",
            status.as_u16(),
            e.path()
        ))
    })
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    code: String,
}

/// Rebuilds the error a non-success response stands for.
fn error_from_response(status: StatusCode, bytes: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(b) => Error::from_code(&b.code, b.error),
        // A proxy's or load balancer's own page: the vault behind it is not reachable.
        Err(_)
            if matches!(
                status,
                StatusCode::BAD_GATEWAY
                    | StatusCode::SERVICE_UNAVAILABLE
                    | StatusCode::GATEWAY_TIMEOUT
            ) =>
        {
            Error::Unavailable(format!(
                "the vault server answered HTTP {} without a vault error body",
                status.as_u16()
            ))
        }
        Err(_) => Error::Internal(format!(
            "unexpected response from the vault server (HTTP {})",
            status.as_u16()
        )),
    }
}

// ---- wire shapes (the server's `/api/vault/*` dialect) ----

#[derive(Serialize)]
struct CredentialPutBody<'a> {
    key: &'a str,
    service: &'a str,
    value: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    metadata: Option<&'a JsonObject>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_version: Option<u64>,
}

#[derive(Deserialize)]
struct CredentialPutReply {
    key: String,
    service: String,
    action: Action,
    version: u64,
}

#[derive(Deserialize)]
struct CredentialReply {
    key: String,
    service: String,
    value: String,
    #[serde(default)]
    metadata: JsonObject,
    #[serde(default)]
    version: u64,
    #[serde(default)]
    created_at: Option<Timestamp>,
    updated_at: Timestamp,
}

#[derive(Deserialize)]
struct CredentialListReply {
    credentials: Vec<CredentialInfo>,
}

#[derive(Deserialize)]
struct WireConfig {
    #[serde(default)]
    service: Option<String>,
    strategy_id: String,
    #[serde(default)]
    params: JsonObject,
    #[serde(default)]
    symbols: Vec<String>,
    #[serde(default)]
    risk_limits: JsonObject,
    enabled: bool,
    version: u64,
    #[serde(default)]
    created_at: Option<Timestamp>,
    updated_at: Timestamp,
}

impl WireConfig {
    fn into_config(self, service: &str) -> StrategyConfig {
        StrategyConfig {
            service: self.service.unwrap_or_else(|| service.to_string()),
            strategy_id: self.strategy_id,
            params: self.params,
            symbols: self.symbols,
            risk_limits: self.risk_limits,
            enabled: self.enabled,
            version: self.version,
            created_at: self.created_at.unwrap_or(self.updated_at),
            updated_at: self.updated_at,
            stale: false,
        }
    }
}

#[derive(Deserialize)]
struct ConfigListReply {
    configs: Vec<WireConfig>,
}

#[derive(Deserialize)]
struct ConfigReply {
    config: WireConfig,
}

#[derive(Deserialize)]
struct ConfigPutReply {
    service: String,
    strategy_id: String,
    action: Action,
    version: u64,
}

// Names that become URL path segments are checked here with vault-core's rule, so an empty or
// odd name fails as `invalid` exactly as it does embedded, instead of reaching another route.
#[async_trait]
impl VaultApi for RemoteVault {
    async fn put_credential(&self, put: CredentialPut) -> Result<CredentialWritten> {
        let body = Zeroizing::new(
            serde_json::to_vec(&CredentialPutBody {
                key: &put.key,
                service: &put.service,
                value: put.value.expose_secret(),
                metadata: put.metadata.as_ref(),
                expected_version: put.expected_version,
            })
            .map_err(|_| Error::Internal("cannot serialise the request".into()))?,
        );
        let url = self.url(&["credentials"], &[])?;
        let r: CredentialPutReply = self
            .call_json(Method::POST, url, Some(body.to_vec()))
            .await?;
        Ok(CredentialWritten {
            service: r.service,
            key: r.key,
            action: r.action,
            version: r.version,
        })
    }

    async fn get_credential(&self, key: &str, service: Option<&str>) -> Result<Credential> {
        check_name("key", key)?;
        let query: Vec<(&str, &str)> = service.map(|s| ("service", s)).into_iter().collect();
        let url = self.url(&["credentials", key], &query)?;
        let r: CredentialReply = self.call_json(Method::GET, url, None).await?;
        Ok(Credential {
            service: r.service,
            key: r.key,
            value: SecretString::new(r.value),
            metadata: r.metadata,
            version: r.version,
            created_at: r.created_at.unwrap_or(r.updated_at),
            updated_at: r.updated_at,
        })
    }

    async fn list_credentials(&self, service: &str) -> Result<Vec<CredentialInfo>> {
        let url = self.url(&["credentials"], &[("service", service)])?;
        let r: CredentialListReply = self.call_json(Method::GET, url, None).await?;
        Ok(r.credentials)
    }

    async fn delete_credential(&self, key: &str, service: Option<&str>) -> Result<()> {
        check_name("key", key)?;
        let query: Vec<(&str, &str)> = service.map(|s| ("service", s)).into_iter().collect();
        let url = self.url(&["credentials", key], &query)?;
        let _: serde_json::Value = self.call_json(Method::DELETE, url, None).await?;
        Ok(())
    }

    async fn put_config(&self, service: &str, put: ConfigPut) -> Result<ConfigWritten> {
        check_name("service", service)?;
        let body = serde_json::to_vec(&put)
            .map_err(|_| Error::Internal("cannot serialise the request".into()))?;
        let url = self.url(&["configs", service], &[])?;
        let r: ConfigPutReply = self.call_json(Method::POST, url, Some(body)).await?;
        Ok(ConfigWritten {
            service: r.service,
            strategy_id: r.strategy_id,
            action: r.action,
            version: r.version,
        })
    }

    async fn get_config(
        &self,
        service: &str,
        strategy_id: &str,
        version: Option<u64>,
    ) -> Result<StrategyConfig> {
        check_name("service", service)?;
        check_name("strategy_id", strategy_id)?;
        let v = version.map(|v| v.to_string());
        let query: Vec<(&str, &str)> = v.as_deref().map(|v| ("version", v)).into_iter().collect();
        let url = self.url(&["configs", service, strategy_id], &query)?;
        match self.call_json::<ConfigReply>(Method::GET, url, None).await {
            Ok(r) => {
                let config = r.config.into_config(service);
                self.remember_one(&config, version).await;
                Ok(config)
            }
            Err(Error::Unavailable(m)) => self
                .cached_config(service, strategy_id, version)
                .ok_or(Error::Unavailable(m)),
            Err(e) => Err(e),
        }
    }

    async fn list_configs(&self, service: &str) -> Result<Vec<StrategyConfig>> {
        check_name("service", service)?;
        let url = self.url(&["configs", service], &[])?;
        match self
            .call_json::<ConfigListReply>(Method::GET, url, None)
            .await
        {
            Ok(r) => {
                let configs: Vec<StrategyConfig> = r
                    .configs
                    .into_iter()
                    .map(|c| c.into_config(service))
                    .collect();
                self.remember_list(service, &configs).await;
                Ok(configs)
            }
            Err(Error::Unavailable(m)) => self.cached_list(service).ok_or(Error::Unavailable(m)),
            Err(e) => Err(e),
        }
    }

    async fn health(&self) -> Result<Health> {
        let url = self.url(&["health"], &[])?;
        let (status, bytes) = self.call(Method::GET, url, None, false).await?;
        // 503 with a health body is a valid answer ("down"), not an error.
        if let Ok(h) = serde_json::from_slice::<Health>(&bytes) {
            return Ok(h);
        }
        if status.is_success() {
            return decode(status, &bytes);
        }
        Err(error_from_response(status, &bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_urls_with_field_url() {
        for u in [
            "",
            "not a url",
            "ftp://host/",
            "https://host/",
            "mailto:x@y",
            "http://user:pw@host/",
            "http://host/?q=1",
        ] {
            let e = RemoteVault::new(u, ClientOptions::default()).expect_err(u);
            match e {
                Error::Invalid { field, .. } => assert_eq!(field, "url", "{u}"),
                other => panic!("{u}: {other:?}"),
            }
        }
        assert!(RemoteVault::new("http://127.0.0.1:1", ClientOptions::default()).is_ok());
    }

    #[test]
    fn builds_percent_encoded_urls_under_a_base_path() {
        let v = RemoteVault::new("http://h:1/prefix/", ClientOptions::default()).expect("new");
        let u = v
            .url(&["credentials", "../../etc"], &[("service", "a b")])
            .expect("url");
        assert_eq!(
            u.as_str(),
            "http://h:1/prefix/api/vault/credentials/..%2F..%2Fetc?service=a+b"
        );
        let v = RemoteVault::new("http://h:1", ClientOptions::default()).expect("new");
        assert_eq!(
            v.url(&["health"], &[]).expect("url").as_str(),
            "http://h:1/api/vault/health"
        );
    }

    #[test]
    fn cache_file_needs_a_token_and_token_must_be_a_header_value() {
        let opts = ClientOptions {
            cache_file: Some(PathBuf::from("/nonexistent/cache")),
            ..ClientOptions::default()
        };
        assert_eq!(
            RemoteVault::new("http://h:1", opts).err().map(|e| e.code()),
            Some("invalid")
        );
        let opts = ClientOptions {
            token: Some(SecretString::from("bad token\n")),
            ..ClientOptions::default()
        };
        let e = RemoteVault::new("http://h:1", opts).expect_err("bad token");
        assert!(!e.to_string().contains("bad token"));
    }

    #[test]
    fn error_bodies_map_back_to_codes() {
        let e = error_from_response(
            StatusCode::NOT_FOUND,
            br#"{"success":false,"error":"Credential 'X' not found","code":"not_found"}"#,
        );
        assert!(matches!(e, Error::NotFound(ref m) if m == "Credential 'X' not found"));
        let e = error_from_response(
            StatusCode::BAD_REQUEST,
            br#"{"success":false,"error":"invalid enabled: expected a boolean","code":"invalid"}"#,
        );
        assert!(matches!(
            e,
            Error::Invalid { ref field, ref reason } if field == "enabled" && reason == "expected a boolean"
        ));
        // Displayed the same as the server's message (and as embedded).
        assert_eq!(e.to_string(), "invalid enabled: expected a boolean");
        assert_eq!(
            error_from_response(StatusCode::BAD_GATEWAY, b"<html>").code(),
            "unavailable"
        );
        assert_eq!(
            error_from_response(StatusCode::INTERNAL_SERVER_ERROR, b"oops").code(),
            "internal"
        );
    }

    #[test]
    fn cache_file_round_trips_sealed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.bin");
        let key = derive_subkey(b"token", CACHE_KEY_CONTEXT).expect("key");
        let file = CacheFile {
            path: path.clone(),
            key,
            aad: b"aad".to_vec(),
            write_lock: tokio::sync::Mutex::new(()),
        };
        let mut data = CacheData::default();
        data.services.entry("svc".into()).or_default().listed = true;
        file.store(&data).expect("store");
        assert_eq!(file.load(), Some(data));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let raw = std::fs::read(&path).expect("read");
        assert!(!raw.windows(3).any(|w| w == b"svc"));
        let other = CacheFile {
            key: derive_subkey(b"other-token", CACHE_KEY_CONTEXT).expect("key"),
            path,
            aad: b"aad".to_vec(),
            write_lock: tokio::sync::Mutex::new(()),
        };
        assert_eq!(other.load(), None);
    }
}
