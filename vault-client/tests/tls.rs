//! `https://` in the remote client: a self-signed certificate made at test time (rcgen), a
//! minimal TLS responder (rustls, one thread per connection) answering the health check and one
//! config read with fixed JSON, and the same responder over plain TCP for `http://`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{HealthStatus, ServiceName, StrategyId};

const TOKEN: &str = "tls-test-token-0123456789";

const HEALTH: &str = r#"{"components":{"store":"connected"},"message":"All systems operational","service":"vvault","status":"ok","timestamp":"2026-01-02T03:04:05.678Z","version":"0.1.0"}"#;

const CONFIG: &str = r#"{"config":{"created_at":"2026-01-02T03:04:05.678Z","enabled":true,"params":{"size":3},"risk_limits":{},"service":"svc","strategy_id":"s1","symbols":["BTC"],"updated_at":"2026-01-02T03:04:05.678Z","version":1},"service":"svc","success":true}"#;

/// A self-signed certificate for `localhost` and `127.0.0.1`, as PEM and as rustls wants it.
struct Cert {
    pem: String,
    der: CertificateDer<'static>,
    key: Vec<u8>,
}

fn self_signed() -> Cert {
    let c = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
        .expect("rcgen");
    Cert {
        pem: c.cert.pem(),
        der: c.cert.der().clone(),
        key: c.signing_key.serialize_der(),
    }
}

/// A responder on a free loopback port; `heads` collects the request heads it read.
struct Responder {
    port: u16,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Responder {
    fn start(cert: Option<&Cert>) -> Responder {
        let tls = cert.map(|c| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ServerConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_no_client_auth()
                .with_single_cert(
                    vec![c.der.clone()],
                    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(c.key.clone())),
                )
                .expect("server config");
            Arc::new(config)
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let seen = heads.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (tls, seen) = (tls.clone(), seen.clone());
                std::thread::spawn(move || match tls {
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        let mut s = rustls::StreamOwned::new(conn, stream);
                        if answer(&mut s, &seen) {
                            s.conn.send_close_notify();
                            let _ = s.flush();
                        }
                    }
                    None => {
                        let mut s: TcpStream = stream;
                        answer(&mut s, &seen);
                    }
                });
            }
        });
        Responder { port, heads }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("lock").clone()
    }
}

/// Reads one request head and answers it (`Connection: close`); false when the connection
/// failed first (e.g. the client refused the certificate).
fn answer(io: &mut (impl Read + Write), seen: &Mutex<Vec<String>>) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match io.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        // Not HTTP (e.g. a TLS hello sent to the plain responder): answer at once.
        if !head[0].is_ascii_uppercase() {
            let _ = io.write_all(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n");
            return false;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    seen.lock().expect("lock").push(head.clone());
    let path = head.split(' ').nth(1).unwrap_or("");
    let (status, body) = if path == "/api/vault/health" {
        ("200 OK", HEALTH)
    } else if path.starts_with("/api/vault/configs/svc/s1") {
        ("200 OK", CONFIG)
    } else {
        (
            "404 Not Found",
            r#"{"code":"not_found","error":"no such route","success":false}"#,
        )
    };
    let resp = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         connection: close\r\n\r\n{body}",
        body.len()
    );
    io.write_all(resp.as_bytes()).is_ok() && io.flush().is_ok()
}

fn client(url: &str, ca_file: Option<&Path>) -> RemoteVault {
    RemoteVault::new(
        url,
        ClientOptions {
            token: Some(SecretString::from(TOKEN)),
            ca_file: ca_file.map(Path::to_path_buf),
            ..ClientOptions::default()
        },
    )
    .expect("client")
}

async fn read_config(v: &RemoteVault) -> vault_core::Result<vault_core::StrategyConfig> {
    let service = ServiceName::new("svc").expect("service");
    let id = StrategyId::new("s1").expect("id");
    v.configs().get(&service, &id, None).await
}

#[tokio::test]
async fn https_with_the_ca_file_reaches_the_server() {
    let cert = self_signed();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert.pem).expect("write ca");
    let server = Responder::start(Some(&cert));

    for host in ["127.0.0.1", "localhost"] {
        let v = client(&format!("https://{host}:{}", server.port), Some(&ca));
        let h = v.health().await.expect("health over https");
        assert_eq!(h.status, HealthStatus::Ok);
        let c = read_config(&v).await.expect("config over https");
        assert_eq!(c.params.get("size"), Some(&serde_json::json!(3)));
        assert!(!c.stale);
    }
    let heads = server.heads();
    assert!(
        heads
            .iter()
            .any(|h| h.starts_with("GET /api/vault/configs/svc/s1 ")
                && h.contains(&format!("authorization: Bearer {TOKEN}"))),
        "{heads:?}"
    );
}

#[tokio::test]
async fn https_without_the_ca_file_is_unavailable_with_a_certificate_error() {
    let cert = self_signed();
    let server = Responder::start(Some(&cert));
    let v = client(&format!("https://127.0.0.1:{}", server.port), None);
    for e in [
        v.health().await.expect_err("untrusted certificate"),
        read_config(&v).await.expect_err("untrusted certificate"),
    ] {
        assert_eq!(e.code(), "unavailable", "{e}");
        let msg = e.to_string();
        assert!(msg.contains("certificate"), "{msg}");
        assert!(msg.contains("ca_file"), "{msg}");
        assert!(!msg.contains(TOKEN), "{msg}");
    }
    // The handshake failed before any request was sent: the token never left the client.
    assert!(server.heads().is_empty());
}

#[tokio::test]
async fn https_to_a_plain_http_server_is_unavailable() {
    let server = Responder::start(None);
    let v = client(&format!("https://127.0.0.1:{}", server.port), None);
    let e = v.health().await.expect_err("not TLS");
    assert_eq!(e.code(), "unavailable", "{e}");
}

#[tokio::test]
async fn http_still_works_with_or_without_a_ca_file() {
    let cert = self_signed();
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert.pem).expect("write ca");
    let server = Responder::start(None);
    for ca_file in [None, Some(ca.as_path())] {
        let v = client(&format!("http://127.0.0.1:{}", server.port), ca_file);
        assert_eq!(v.health().await.expect("health").status, HealthStatus::Ok);
        read_config(&v).await.expect("config over http");
    }
}
