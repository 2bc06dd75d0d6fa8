//! Proxies and the remote client: the `*_PROXY` environment variables are ignored (a proxy
//! nobody chose never sees the token, and its error page never turns into a stale config); a
//! proxy given in `ClientOptions::proxy` is used.
//!
//! The environment case runs the client in a child process (this test binary again, filtered
//! to [`env_proxy_child`]) with `HTTP_PROXY`/`ALL_PROXY`/`HTTPS_PROXY` set there only, so no
//! other test of this binary sees them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::json;
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{ConfigPut, CredentialKey, CredentialPut, HealthStatus, ServiceName, StrategyId};

use crate::support::{TOKEN, TestDir};

/// Set (to the server's base URL) in the child process only.
const CHILD_BASE: &str = "VAULT_E2E_PROXY_CHILD_BASE";
/// The child's cache file.
const CHILD_CACHE: &str = "VAULT_E2E_PROXY_CHILD_CACHE";
/// What the child prints when every check passed.
const CHILD_OK: &str = "proxy-child: all checks passed";

/// A fake proxy on a free loopback port. It records the first request head of every
/// connection; then it either answers `502 Bad Gateway` with an HTML page (as a proxy does
/// when it cannot reach the target) or forwards the connection to the host the request names.
struct FakeProxy {
    url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl FakeProxy {
    fn start(forward: bool) -> FakeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || proxy_connection(conn, forward, &seen));
            }
        });
        FakeProxy { url, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("lock").clone()
    }
}

fn proxy_connection(mut conn: TcpStream, forward: bool, seen: &Mutex<Vec<String>>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    seen.lock().expect("lock").push(text.clone());
    if !forward {
        let body = "<html><body>502 Bad Gateway</body></html>";
        let _ = write!(
            conn,
            "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        return;
    }
    // `GET http://host:port/path HTTP/1.1`: connect to host:port and pipe both ways (the
    // server accepts the absolute form).
    let target = text
        .split(' ')
        .nth(1)
        .and_then(|u| u.strip_prefix("http://"))
        .and_then(|u| u.split('/').next())
        .map(str::to_string);
    let Some(Ok(mut upstream)) = target.map(TcpStream::connect) else {
        return;
    };
    if upstream.write_all(&head).is_err() {
        return;
    }
    let (Ok(mut up_read), Ok(mut down_write)) = (upstream.try_clone(), conn.try_clone()) else {
        return;
    };
    let back = std::thread::spawn(move || {
        let _ = std::io::copy(&mut up_read, &mut down_write);
        let _ = down_write.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut conn, &mut upstream);
    let _ = upstream.shutdown(std::net::Shutdown::Write);
    let _ = back.join();
}

fn options(proxy: Option<&str>, cache_file: Option<PathBuf>) -> ClientOptions {
    ClientOptions {
        token: Some(SecretString::from(TOKEN)),
        proxy: proxy.map(str::to_string),
        cache_file,
        ..ClientOptions::default()
    }
}

fn svc() -> ServiceName {
    ServiceName::new("svc").expect("service")
}

fn sid() -> StrategyId {
    StrategyId::new("strat").expect("strategy id")
}

fn key() -> CredentialKey {
    CredentialKey::new("K").expect("key")
}

#[tokio::test]
async fn environment_proxies_are_ignored() {
    let proxy = FakeProxy::start(false);
    let dir = TestDir::new();
    let cache = dir.tmp.path().join("configs.bin");
    let server = dir.start();

    // Without any proxy in the environment: a credential, and a config read once, so the
    // cache file holds a last-known-good copy (version 1) a 502 could be "answered" with.
    let v = RemoteVault::new(&server.base, options(None, Some(cache.clone()))).expect("client");
    v.credentials()
        .put(CredentialPut::new(svc(), key(), "direct-value"))
        .await
        .expect("put credential");
    v.configs()
        .put(&svc(), ConfigPut::new(sid()))
        .await
        .expect("put config");
    v.configs().get(&svc(), &sid(), None).await.expect("config");

    let exe = std::env::current_exe().expect("current exe");
    let out = Command::new(exe)
        .args(["--exact", "proxy::env_proxy_child", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_BASE, &server.base)
        .env(CHILD_CACHE, &cache)
        .env("HTTP_PROXY", &proxy.url)
        .env("http_proxy", &proxy.url)
        .env("HTTPS_PROXY", &proxy.url)
        .env("https_proxy", &proxy.url)
        .env("ALL_PROXY", &proxy.url)
        .env("all_proxy", &proxy.url)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(CHILD_OK),
        "child failed: {}\n{stdout}\n{stderr}",
        out.status
    );
    assert_eq!(proxy.heads(), Vec::<String>::new(), "the proxy was used");
}

/// The child half of [`environment_proxies_are_ignored`]; does nothing unless run by it.
#[tokio::test]
async fn env_proxy_child() {
    let Ok(base) = std::env::var(CHILD_BASE) else {
        return;
    };
    let cache = PathBuf::from(std::env::var(CHILD_CACHE).expect("cache path"));
    let v = RemoteVault::new(&base, options(None, Some(cache))).expect("client");
    // First, the read a proxy's 502 used to turn into the cached copy.
    let c = v.configs().get(&svc(), &sid(), None).await.expect("config");
    assert!(
        !c.stale,
        "served from the cache: the request did not reach the server"
    );
    let h = v.health().await.expect("health");
    assert_eq!(h.status, HealthStatus::Ok);
    let c = v
        .credentials()
        .get(&key(), Some(&svc()))
        .await
        .expect("credential read reaches the server");
    assert_eq!(c.value.expose_secret(), "direct-value");
    // A write the cache cannot know about: the read must return it, fresh.
    v.configs()
        .put(
            &svc(),
            ConfigPut {
                params: Some(
                    json!({"from": "child"})
                        .as_object()
                        .cloned()
                        .expect("object"),
                ),
                ..ConfigPut::new(sid())
            },
        )
        .await
        .expect("put config");
    let c = v.configs().get(&svc(), &sid(), None).await.expect("config");
    assert!(!c.stale);
    assert_eq!((c.version, &c.params["from"]), (2, &json!("child")));
    println!("{CHILD_OK}");
}

#[tokio::test]
async fn an_explicit_proxy_is_used() {
    let dir = TestDir::new();
    let server = dir.start();
    let proxy = FakeProxy::start(true);
    let v = RemoteVault::new(&server.base, options(Some(&proxy.url), None)).expect("client");
    v.credentials()
        .put(CredentialPut::new(svc(), key(), "via-proxy"))
        .await
        .expect("put through the proxy");
    let c = v
        .credentials()
        .get(&key(), Some(&svc()))
        .await
        .expect("get through the proxy");
    assert_eq!(c.value.expose_secret(), "via-proxy");
    let heads = proxy.heads();
    assert!(!heads.is_empty(), "the proxy saw nothing");
    let first = heads[0].to_ascii_lowercase();
    assert!(
        first.starts_with(&format!("post {}/api/vault/credentials ", server.base)),
        "{first}"
    );
    assert!(first.contains("authorization: bearer"), "{first}");

    // A proxy that cannot reach the vault: its 502 page is `unavailable`.
    let down = FakeProxy::start(false);
    let v = RemoteVault::new(&server.base, options(Some(&down.url), None)).expect("client");
    let e = v.health().await.expect_err("502 from the proxy");
    assert_eq!(e.code(), "unavailable", "{e}");
    assert_eq!(down.heads().len(), 1);
}
