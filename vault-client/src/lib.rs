//! # vault-client
//!
//! The vault's remote client: [`RemoteVault`] implements [`VaultApi`] over a `vault-http`
//! server's `/api/vault/*` API, so the Python and Node bindings (and Rust programs) use a
//! hosted vault exactly as they use an embedded one. It also holds the [`wire`] types of each
//! HTTP dialect, which the server uses too, so every shape is written once.
//!
//! Transport is `http://` or `https://` (rustls, ring provider): server certificates are checked
//! against the system's roots plus, with [`ClientOptions::ca_file`], the certificates of a PEM
//! file (a private CA or a self-signed server certificate). Use `https://` for a vault on
//! another host; plain `http://` only on loopback or a trusted network. Proxies are used only
//! when [`ClientOptions::proxy`] names one: `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` in the
//! environment are ignored, so the token never reaches a proxy nobody chose. Errors come back as the same [`vault_core::Error`] variants an embedded vault
//! returns, rebuilt from the error body's `code` and `field`; network failures are
//! `unavailable`. No error message carries a secret value or the token.
//!
//! Fallback: the last successfully read configs of each service are kept in memory and, with
//! [`ClientOptions::cache_file`], in that file sealed under a key derived from the token. When
//! a config read fails with `unavailable`, the cached copy is served with
//! [`StrategyConfig::stale`](vault_core::StrategyConfig::stale) set, if it was read within
//! [`ClientOptions::cache_max_age`] (default 24 h). Credentials are never cached. A stale
//! config must never turn a strategy on: treat a stale `enabled: true` as "keep doing what you
//! were doing", never as "start".

mod audit;
mod cache;
mod configs;
mod constructs;
mod credentials;
mod guards;
mod jobs;
mod tokens;
mod transport;
pub mod wire;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use vault_core::crypto::SecretString;
use vault_core::{ConfigsApi, ConstructsApi, CredentialsApi, Health, Result, TokensApi, VaultApi};

pub use audit::RemoteAudit;
pub use configs::RemoteConfigs;
pub use constructs::RemoteConstructs;
pub use credentials::RemoteCredentials;
pub use guards::RemoteGuards;
pub use jobs::RemoteJobs;
pub use tokens::RemoteTokens;

use crate::wire::service_api::{HEALTH, HealthReply};

/// Default [`ClientOptions::cache_max_age`]: 24 hours.
pub const DEFAULT_CACHE_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

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
    /// Oldest cached config the fallback serves (default 24 h; `None`: no limit). A copy read
    /// longer ago than this is not served, so an outage longer than it answers `unavailable`
    /// rather than a config the server may have changed long since.
    pub cache_max_age: Option<Duration>,
    /// Proxy URL (`http://host:port` or `https://host:port`, optionally with `user:password@`
    /// for the proxy's basic auth) that every request goes through. `None` (the default): no
    /// proxy at all; the `*_PROXY` environment variables are ignored.
    pub proxy: Option<String>,
    /// PEM file of extra CA certificates trusted for `https://` (besides the system's roots),
    /// e.g. a private CA or a self-signed server certificate.
    pub ca_file: Option<PathBuf>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            token: None,
            timeout: Duration::from_secs(10),
            cache_file: None,
            cache_max_age: Some(DEFAULT_CACHE_MAX_AGE),
            proxy: None,
            ca_file: None,
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
    transport: Arc<transport::Transport>,
    credentials: RemoteCredentials,
    configs: RemoteConfigs,
    constructs: RemoteConstructs,
    tokens: RemoteTokens,
    audit: RemoteAudit,
    guards: RemoteGuards,
    jobs: RemoteJobs,
}

impl std::fmt::Debug for RemoteVault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteVault")
            .field("url", &self.inner.transport.base_url())
            .finish_non_exhaustive()
    }
}

impl RemoteVault {
    /// A client of the vault server at `base_url` (e.g. `http://127.0.0.1:8000`). No request
    /// is made yet.
    ///
    /// `invalid` (field `url`) when the URL does not parse or is not `http://` or `https://`;
    /// `invalid` (field `token`) when the token is not a valid header value; `invalid` (field
    /// `proxy`) when the proxy is not an `http://` or `https://` URL; `invalid` (field
    /// `ca_file`) when that file cannot be read or holds no usable PEM certificate (or, for
    /// `https://`, when it is needed because the system has no CA certificates); `invalid`
    /// (field `cache_file`) when a cache file is asked for without a token.
    pub fn new(base_url: &str, options: ClientOptions) -> Result<RemoteVault> {
        let transport = Arc::new(transport::Transport::new(base_url, &options)?);
        let cache = cache::ConfigCache::new(
            options.cache_file.as_deref(),
            options.token.as_ref(),
            transport.base_url(),
            options.cache_max_age,
        )?;
        Ok(RemoteVault {
            inner: Arc::new(Inner {
                credentials: RemoteCredentials {
                    transport: transport.clone(),
                },
                configs: RemoteConfigs {
                    transport: transport.clone(),
                    cache,
                },
                constructs: RemoteConstructs {
                    transport: transport.clone(),
                },
                tokens: RemoteTokens {
                    transport: transport.clone(),
                },
                audit: RemoteAudit {
                    transport: transport.clone(),
                },
                guards: RemoteGuards {
                    transport: transport.clone(),
                },
                jobs: RemoteJobs {
                    transport: transport.clone(),
                },
                transport,
            }),
        })
    }

    /// The trading guards of the server.
    pub fn guards(&self) -> &RemoteGuards {
        &self.inner.guards
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        self.inner.transport.base_url()
    }
}

#[async_trait]
impl VaultApi for RemoteVault {
    fn credentials(&self) -> &dyn CredentialsApi {
        &self.inner.credentials
    }

    fn configs(&self) -> &dyn ConfigsApi {
        &self.inner.configs
    }

    fn constructs(&self) -> &dyn ConstructsApi {
        &self.inner.constructs
    }

    fn tokens(&self) -> &dyn TokensApi {
        &self.inner.tokens
    }

    fn audit(&self) -> &dyn vault_core::AuditApi {
        &self.inner.audit
    }

    fn guards(&self) -> &dyn vault_core::GuardsApi {
        &self.inner.guards
    }

    fn jobs(&self) -> &dyn vault_core::JobsApi {
        &self.inner.jobs
    }

    async fn health(&self) -> Result<Health> {
        let t = &self.inner.transport;
        let (status, bytes) = t
            .call(Method::GET, t.url(HEALTH, &())?, None, false)
            .await?;
        // 503 with a health body is a valid answer ("down"), not an error.
        if let Ok(h) = serde_json::from_slice::<HealthReply>(&bytes) {
            return Ok(h.into());
        }
        if status.is_success() {
            return transport::decode::<HealthReply>(status, &bytes).map(Into::into);
        }
        Err(transport::error_from_response(status, &bytes))
    }
}

#[cfg(test)]
mod tests {
    use vault_core::prelude::*;
    use vault_core::{Capability, ConfigPut, CredentialPut, PageRequest, Rule, TokenCreate};

    use super::*;

    /// Input vault-core refuses is `invalid` before anything is sent: the same answer as an
    /// embedded vault, even with no server at all (never `unavailable`).
    #[tokio::test]
    async fn input_that_cannot_succeed_is_invalid_without_a_server() {
        let v = RemoteVault::new("http://127.0.0.1:1", ClientOptions::default()).expect("client");
        let (svc, key) = ("svc".parse().expect("name"), "K".parse().expect("name"));
        let e = v
            .credentials()
            .put(CredentialPut::new(svc, key, ""))
            .await
            .expect_err("empty value");
        assert_eq!((e.code(), e.field()), ("invalid", Some("value")));
        let svc = "svc".parse().expect("name");
        let mut put = ConfigPut::new("s".parse().expect("name"));
        put.symbols = Some(vec![String::new()]);
        let e = v.configs().put(&svc, put).await.expect_err("symbol");
        assert_eq!(e.field(), Some("symbols[0]"));
        let e = v
            .configs()
            .history(&svc, &"s".parse().expect("name"), Some(0), None)
            .await
            .expect_err("limit");
        assert_eq!(e.field(), Some("limit"));
        let e = v
            .credentials()
            .list(&svc, PageRequest::new(Some(0), None))
            .await
            .expect_err("limit");
        assert_eq!(e.field(), Some("limit"));
        let bad_rule = TokenCreate {
            name: "n".into(),
            rules: vec![Rule {
                path: "credentials//k".into(),
                capabilities: vec![Capability::Read],
            }],
            ttl: None,
            llm: Default::default(),
        };
        let e = v.tokens().create(bad_rule).await.expect_err("rule path");
        assert_eq!(e.field(), Some("rules[0].path"));
        let nova: vault_core::ConstructId = "nova".parse().expect("name");
        let e = v
            .constructs()
            .put_file(
                &nova,
                &"big.bin".parse().expect("name"),
                vec![0; vault_core::constructs::MAX_FILE_BYTES + 1],
                None,
            )
            .await
            .expect_err("too large");
        assert_eq!(e.field(), Some("file"));
        let e = v
            .constructs()
            .append(&nova, vault_core::NewEntry::new("bad role", "x"))
            .await
            .expect_err("role");
        assert_eq!(e.field(), Some("role"));
        let q = vault_core::TranscriptQuery {
            limit: Some(0),
            ..Default::default()
        };
        let e = v
            .constructs()
            .transcript(&nova, q)
            .await
            .expect_err("limit");
        assert_eq!(e.field(), Some("limit"));
        let e = v.tokens().revoke("not-an-id").await.expect_err("id");
        assert_eq!(e.field(), Some("id"));
        let e = v
            .tokens()
            .list(PageRequest::new(Some(0), None))
            .await
            .expect_err("limit");
        assert_eq!(e.field(), Some("limit"));
    }
}
