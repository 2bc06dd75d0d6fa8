//! HTTP transport of the remote client: URL building under the base URL, the bearer token,
//! TLS and proxy settings, and turning answers into values or the vault errors they stand for.
//!
//! - `http://` and `https://` base URLs. TLS is rustls with the ring provider; server
//!   certificates are checked against the system's root certificates plus, with
//!   [`ClientOptions::ca_file`], the PEM certificates of that file. An `http://` client (no
//!   `https://` server or proxy) does not load the system roots at all.
//! - Proxies are off unless [`ClientOptions::proxy`] names one: `HTTP_PROXY`, `HTTPS_PROXY`,
//!   `ALL_PROXY` (and `NO_PROXY`) in the environment are ignored, so the token and the values
//!   never pass through a proxy nobody asked for, and a proxy's error page is never taken for
//!   an unreachable vault.

use std::path::Path;
use std::sync::Arc;

use reqwest::{Method, StatusCode, Url};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use serde::Serialize;
use serde::de::DeserializeOwned;
use vault_core::crypto::SecretString;
use vault_core::{Error, Result};
use zeroize::Zeroizing;

use crate::ClientOptions;
use crate::wire::service_api::ErrorBody;

/// A connection pool to one server, with its base URL and token.
pub(crate) struct Transport {
    http: reqwest::Client,
    /// The base URL without its trailing slash (`http://host:port/prefix`).
    base: String,
    /// The base URL as parsed (`http://host:port/`), for display and the cache binding.
    base_url: String,
    /// `scheme://host:port` for error messages (never userinfo, path or query).
    origin: String,
    token: Option<SecretString>,
    /// The per-request timeout (`ClientOptions::timeout`); a long-poll adds its wait to it.
    timeout: std::time::Duration,
}

fn bad_url() -> Error {
    Error::invalid("url", "must be an absolute http:// or https:// URL")
}

fn bad_proxy() -> Error {
    Error::invalid(
        "proxy",
        "must be an absolute http:// or https:// URL (with no path, query or fragment)",
    )
}

/// The explicit proxy of [`ClientOptions::proxy`]. Its userinfo, if any, is sent to the proxy
/// (basic auth) and never shown in an error.
fn proxy(url: &str) -> Result<(reqwest::Proxy, bool)> {
    let u = Url::parse(url.trim()).map_err(|_| bad_proxy())?;
    let https = match u.scheme() {
        "http" => false,
        "https" => true,
        _ => return Err(bad_proxy()),
    };
    if u.cannot_be_a_base()
        || u.host_str().is_none()
        || u.path() != "/"
        || u.query().is_some()
        || u.fragment().is_some()
    {
        return Err(bad_proxy());
    }
    let p = reqwest::Proxy::all(u).map_err(|_| bad_proxy())?;
    Ok((p, https))
}

/// The certificates of [`ClientOptions::ca_file`]: at least one PEM `CERTIFICATE` block, each
/// a certificate rustls can use as a trust anchor.
fn ca_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path)
        .map_err(|e| Error::invalid("ca_file", format!("cannot be read ({})", e.kind())))?;
    let not_pem = || {
        Error::invalid(
            "ca_file",
            "must hold PEM certificates (-----BEGIN CERTIFICATE-----)",
        )
    };
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| not_pem())?;
    if certs.is_empty() {
        return Err(not_pem());
    }
    let mut store = rustls::RootCertStore::empty();
    let (_, ignored) = store.add_parsable_certificates(certs.iter().cloned());
    if ignored > 0 {
        return Err(Error::invalid(
            "ca_file",
            "holds a certificate that cannot be parsed",
        ));
    }
    Ok(certs)
}

/// The rustls client configuration (ring provider, TLS 1.2 and 1.3). With `system_roots`
/// the server certificate is checked against the system's roots plus `extra`; without (no
/// `https://` server or proxy configured), only against `extra`.
fn tls_config(
    extra: Vec<CertificateDer<'static>>,
    system_roots: bool,
) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Internal("cannot configure TLS".into()))?;
    let config = if system_roots {
        let verifier = rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider)
            .map_err(|e| {
                Error::invalid(
                    "ca_file",
                    format!("needed: the system's CA certificates cannot be used ({e})"),
                )
            })?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(extra);
        builder.with_root_certificates(roots)
    };
    Ok(config.with_no_client_auth())
}

/// The rustls error behind a failed request, if any. tokio-rustls and hyper-rustls wrap it in
/// `io::Error`s, whose `source()` skips the error they wrap, so those are opened by hand.
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(cur) = next {
        let mut inner: &(dyn std::error::Error + 'static) = cur;
        loop {
            if let Some(t) = inner.downcast_ref::<rustls::Error>() {
                return Some(t);
            }
            match inner
                .downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
            {
                Some(wrapped) => inner = wrapped,
                None => break,
            }
        }
        next = cur.source();
    }
    None
}

impl Transport {
    /// Checks the URL and token and builds the pool; see [`crate::RemoteVault::new`].
    pub(crate) fn new(base_url: &str, options: &ClientOptions) -> Result<Transport> {
        let base = Url::parse(base_url.trim()).map_err(|_| bad_url())?;
        let mut https = match base.scheme() {
            "http" => false,
            "https" => true,
            _ => return Err(bad_url()),
        };
        if base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(bad_url());
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
        if let Some(t) = &options.token {
            let ok = !t.is_empty() && t.expose_secret().bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                return Err(Error::invalid(
                    "token",
                    "must be non-empty printable ASCII without spaces",
                ));
            }
        }
        let mut builder = reqwest::Client::builder().timeout(options.timeout);
        // `no_proxy` also turns off the environment's proxies (reqwest's default reads them).
        builder = match &options.proxy {
            None => builder.no_proxy(),
            Some(p) => {
                let (p, https_proxy) = proxy(p)?;
                https |= https_proxy;
                builder.no_proxy().proxy(p)
            }
        };
        let extra = match &options.ca_file {
            Some(path) => ca_certificates(path)?,
            None => Vec::new(),
        };
        let http = builder
            .tls_backend_preconfigured(tls_config(extra, https)?)
            .build()
            .map_err(|_| Error::Internal("cannot build the HTTP client".into()))?;
        Ok(Transport {
            http,
            origin: base.origin().ascii_serialization(),
            base: base.as_str().trim_end_matches('/').to_string(),
            base_url: base.as_str().to_string(),
            token: options.token.clone(),
            timeout: options.timeout,
        })
    }

    /// The base URL as parsed.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `base` + `path` (already filled and encoded, see
    /// [`fill_path`](crate::wire::service_api::fill_path)) + the query.
    pub(crate) fn url(&self, path: &str, query: &impl Serialize) -> Result<Url> {
        let query = serde_urlencoded::to_string(query)
            .map_err(|_| Error::Internal("cannot encode the query".into()))?;
        let mut s = format!("{}{path}", self.base);
        if !query.is_empty() {
            s.push('?');
            s.push_str(&query);
        }
        Url::parse(&s).map_err(|_| bad_url())
    }

    fn unavailable(&self, e: &reqwest::Error) -> Error {
        let origin = &self.origin;
        // A TLS failure names itself (rustls errors carry names and reasons, never request
        // data), with a hint for a certificate the client does not trust.
        match tls_error(e) {
            Some(t @ rustls::Error::InvalidCertificate(_)) => {
                return Error::Unavailable(format!(
                    "cannot connect to {origin}: the server's TLS certificate was not accepted \
                     ({t}); if it is signed by a private CA, pass that CA's certificate as \
                     ca_file"
                ));
            }
            Some(t) => {
                return Error::Unavailable(format!(
                    "cannot connect to {origin}: the TLS handshake failed ({t})"
                ));
            }
            None => {}
        }
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
        Error::Unavailable(format!("{what} to {origin}{detail}"))
    }

    /// Sends a request and returns the status and the raw body (zeroized on drop: it may hold
    /// a secret value).
    pub(crate) async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        auth: bool,
    ) -> Result<(StatusCode, Zeroizing<Vec<u8>>)> {
        self.call_waiting(method, url, body, auth, std::time::Duration::ZERO)
            .await
    }

    /// [`Transport::call`] of a request the server may hold for up to `wait` (a long-poll):
    /// its timeout is the client's plus `wait`.
    async fn call_waiting(
        &self,
        method: Method,
        url: Url,
        body: Option<Vec<u8>>,
        auth: bool,
        wait: std::time::Duration,
    ) -> Result<(StatusCode, Zeroizing<Vec<u8>>)> {
        let body = body.map(|b| (b, "application/json"));
        let (status, _, bytes) = self.send_waiting(method, url, body, auth, wait).await?;
        Ok((status, bytes))
    }

    /// Sends a request whose body (if any) has the given content type, and returns the
    /// status, the headers and the raw body (zeroized on drop).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<(Vec<u8>, &str)>,
        auth: bool,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Zeroizing<Vec<u8>>)> {
        self.send_waiting(method, url, body, auth, std::time::Duration::ZERO)
            .await
    }

    /// [`Transport::send`] of a request the server may hold for up to `wait`.
    async fn send_waiting(
        &self,
        method: Method,
        url: Url,
        body: Option<(Vec<u8>, &str)>,
        auth: bool,
        wait: std::time::Duration,
    ) -> Result<(StatusCode, reqwest::header::HeaderMap, Zeroizing<Vec<u8>>)> {
        let mut req = self
            .http
            .request(method, url)
            .timeout(self.timeout.saturating_add(wait))
            .header(reqwest::header::ACCEPT, "application/json");
        if auth && let Some(t) = &self.token {
            req = req.bearer_auth(t.expose_secret());
        }
        if let Some((b, content_type)) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, content_type)
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
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.map_err(|e| self.unavailable(&e))?;
        Ok((status, headers, Zeroizing::new(bytes.to_vec())))
    }

    /// Sends a request with the token and decodes a success body as `T`, or rebuilds the
    /// error the answer stands for.
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&impl Serialize>,
    ) -> Result<T> {
        self.call_json_waiting(method, url, body, std::time::Duration::ZERO)
            .await
    }

    /// [`Transport::call_json`] of a long-poll the server may hold for up to `wait`.
    pub(crate) async fn call_json_waiting<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<&impl Serialize>,
        wait: std::time::Duration,
    ) -> Result<T> {
        let body = match body {
            Some(b) => Some(
                serde_json::to_vec(b)
                    .map_err(|_| Error::Internal("cannot serialise the request".into()))?,
            ),
            None => None,
        };
        let (status, bytes) = self.call_waiting(method, url, body, true, wait).await?;
        if status.is_success() {
            decode(status, &bytes)
        } else {
            Err(error_from_response(status, &bytes))
        }
    }
}

/// Decodes a success body. The error names only the JSON path that did not fit, never a value.
pub(crate) fn decode<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        Error::Internal(format!(
            "unexpected response from the vault server (HTTP {}, at {})",
            status.as_u16(),
            e.path()
        ))
    })
}

/// Rebuilds the error a non-success response stands for.
pub(crate) fn error_from_response(status: StatusCode, bytes: &[u8]) -> Error {
    match serde_json::from_slice::<ErrorBody>(bytes) {
        Ok(b) => Error::from_wire(&b.code, b.error, b.field),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::service_api::{CREDENTIAL, ServiceQuery, fill_path};

    #[test]
    fn rejects_bad_urls_with_field_url() {
        for u in [
            "",
            "not a url",
            "ftp://host/",
            "mailto:x@y",
            "http://user:pw@host/",
            "http://host/?q=1",
        ] {
            let e = Transport::new(u, &ClientOptions::default())
                .err()
                .unwrap_or_else(|| panic!("{u} accepted"));
            assert_eq!(e.field(), Some("url"), "{u}");
        }
        assert!(Transport::new("http://127.0.0.1:1", &ClientOptions::default()).is_ok());
    }

    #[test]
    fn rejects_bad_proxies_with_field_proxy_and_never_echoes_them() {
        for p in [
            "",
            "not a url",
            "socks5://h:1",
            "ftp://h:1",
            "http://user:hunter2@h:1/path",
            "http://h:1/?q=1",
        ] {
            let opts = ClientOptions {
                proxy: Some(p.into()),
                ..ClientOptions::default()
            };
            let e = Transport::new("http://127.0.0.1:1", &opts)
                .err()
                .unwrap_or_else(|| panic!("{p} accepted"));
            assert_eq!(e.field(), Some("proxy"), "{p}");
            assert!(!e.to_string().contains("hunter2"));
        }
        for p in ["http://127.0.0.1:3128", "http://u:p@proxy:8080/"] {
            let opts = ClientOptions {
                proxy: Some(p.into()),
                ..ClientOptions::default()
            };
            assert!(Transport::new("http://127.0.0.1:1", &opts).is_ok(), "{p}");
        }
    }

    #[test]
    fn a_bad_ca_file_is_invalid_field_ca_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let not_pem = dir.path().join("not.pem");
        std::fs::write(&not_pem, "hello").expect("write");
        let bad_der = dir.path().join("bad.pem");
        std::fs::write(
            &bad_der,
            "-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        for (path, url) in [
            (dir.path().join("missing.pem"), "https://127.0.0.1:1"),
            (not_pem.clone(), "https://127.0.0.1:1"),
            (not_pem, "http://127.0.0.1:1"),
            (bad_der, "https://127.0.0.1:1"),
        ] {
            let opts = ClientOptions {
                ca_file: Some(path.clone()),
                ..ClientOptions::default()
            };
            let e = Transport::new(url, &opts)
                .err()
                .unwrap_or_else(|| panic!("{} accepted", path.display()));
            assert_eq!(e.field(), Some("ca_file"), "{}: {e}", path.display());
        }
    }

    #[test]
    fn builds_percent_encoded_urls_under_a_base_path() {
        let t = Transport::new("http://h:1/prefix/", &ClientOptions::default()).expect("new");
        let q = ServiceQuery {
            service: Some("a b".into()),
        };
        let u = t
            .url(&fill_path(CREDENTIAL, &[("key", "../../etc")]), &q)
            .expect("url");
        assert_eq!(
            u.as_str(),
            "http://h:1/prefix/api/vault/credentials/..%2F..%2Fetc?service=a+b"
        );
        let t = Transport::new("http://h:1", &ClientOptions::default()).expect("new");
        assert_eq!(
            t.url("/api/vault/health", &()).expect("url").as_str(),
            "http://h:1/api/vault/health"
        );
    }

    #[test]
    fn token_must_be_a_header_value_and_is_never_echoed() {
        let opts = ClientOptions {
            token: Some(SecretString::from("bad token\n")),
            ..ClientOptions::default()
        };
        let e = Transport::new("http://h:1", &opts)
            .err()
            .expect("bad token");
        assert_eq!(e.field(), Some("token"));
        assert!(!e.to_string().contains("bad token"));
    }

    #[test]
    fn error_bodies_map_back_to_codes_and_fields() {
        let e = error_from_response(
            StatusCode::NOT_FOUND,
            br#"{"success":false,"error":"Credential 'X' not found","code":"not_found"}"#,
        );
        assert!(matches!(e, Error::NotFound(ref m) if m == "Credential 'X' not found"));
        let e = error_from_response(
            StatusCode::BAD_REQUEST,
            br#"{"code":"invalid","error":"invalid enabled: expected a boolean","field":"enabled","success":false}"#,
        );
        assert!(matches!(
            e,
            Error::Invalid { ref field, ref reason } if field == "enabled" && reason == "expected a boolean"
        ));
        // Displayed the same as the server's message (and as embedded).
        assert_eq!(e.to_string(), "invalid enabled: expected a boolean");
        let e = error_from_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            br#"{"code":"payload_too_large","error":"request body is larger than 1048576 bytes","success":false}"#,
        );
        assert_eq!(e.code(), "payload_too_large");
        let e = error_from_response(
            StatusCode::TOO_MANY_REQUESTS,
            br#"{"code":"from_the_future","error":"slow down","success":false}"#,
        );
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("from_the_future", "slow down")
        );
        assert_eq!(
            error_from_response(StatusCode::BAD_GATEWAY, b"<html>").code(),
            "unavailable"
        );
        assert_eq!(
            error_from_response(StatusCode::INTERNAL_SERVER_ERROR, b"oops").code(),
            "internal"
        );
    }
}
