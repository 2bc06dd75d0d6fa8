//! Server resource limits against the real binary, each with a bounded loop on loopback: a
//! slow header is cut off, idle sockets cannot keep health from answering (under a low
//! open-file limit), a body that never arrives is answered, shutdown has a deadline, and a
//! port in use fails before anything is created.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{Start, TestDir};

/// Reads until the peer closes or `limit` passes; returns what arrived and whether it closed.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (got, true),
        }
    }
    (got, false)
}

fn addr_of(base: &str) -> String {
    base.trim_start_matches("http://").to_string()
}

#[test]
fn a_header_sent_one_byte_at_a_time_is_cut_off() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start {
        env: vec![("VAULT_HEADER_TIMEOUT", "1s")],
        ..Start::new(&data, &log)
    }
    .spawn();
    let mut s = TcpStream::connect(addr_of(&server.base)).expect("connect");
    let request = b"GET /api/vault/health HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaa\r\n\r\n";
    let started = Instant::now();
    let mut cut_off = false;
    // One byte every 250 ms: the whole header would take about 18 s.
    for b in request {
        if s.write_all(&[*b]).is_err() {
            cut_off = true;
            break;
        }
        let (_, closed) = read_until_closed(&mut s, Duration::from_millis(250));
        if closed {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the server waited for the whole slow header");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn idle_sockets_under_a_low_file_limit_do_not_keep_health_from_answering() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start {
        env: vec![("VAULT_HEADER_TIMEOUT", "1s")],
        fd_limit: Some(128),
        ..Start::new(&data, &log)
    }
    .spawn();
    let addr = addr_of(&server.base);
    // More idle connections than the server has file descriptors.
    let idle: Vec<TcpStream> = (0..200)
        .map(|_| TcpStream::connect(&addr).expect("idle connect"))
        .collect();
    let mut s = TcpStream::connect(&addr).expect("connect");
    s.write_all(b"GET /api/vault/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    let (answer, closed) = read_until_closed(&mut s, Duration::from_secs(20));
    let text = String::from_utf8_lossy(&answer);
    assert!(
        closed && text.starts_with("HTTP/1.1 200"),
        "health did not answer: {text:?}"
    );
    drop(idle);
}

#[test]
fn a_body_shorter_than_its_length_is_answered_not_waited_for() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start {
        env: vec![("VAULT_BODY_TIMEOUT", "1s")],
        ..Start::new(&data, &log)
    }
    .spawn();
    let mut s = TcpStream::connect(addr_of(&server.base)).expect("connect");
    let head = format!(
        "POST /api/vault/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"key\":\"K\"",
        crate::support::TOKEN
    );
    s.write_all(head.as_bytes()).expect("send");
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10));
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 400"), "{text:?}");
    assert!(text.contains(r#""field":"body""#), "{text}");
    assert!(text.contains("was not received within 1s"), "{text}");
}

#[test]
fn shutdown_does_not_wait_forever_for_a_stuck_request() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start {
        env: vec![
            ("VAULT_SHUTDOWN_DEADLINE", "1s"),
            ("VAULT_BODY_TIMEOUT", "60s"),
        ],
        ..Start::new(&data, &log)
    }
    .spawn();
    let mut s = TcpStream::connect(addr_of(&server.base)).expect("connect");
    let head = format!(
        "POST /api/vault/credentials HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Length: 100\r\n\r\n{{",
        crate::support::TOKEN
    );
    s.write_all(head.as_bytes()).expect("send");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(server.terminate());
    });
    let status = rx
        .recv_timeout(Duration::from_secs(15))
        .expect("the server did not exit within 15 s of SIGTERM");
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "{:?}",
        started.elapsed()
    );
    drop(s);
}

#[test]
fn a_port_in_use_fails_before_creating_anything() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let status = Start {
        addr: &addr,
        token: None,
        key: None,
        ..Start::new(&data, &log)
    }
    .run_to_exit();
    assert!(!status.success());
    let stderr = std::fs::read_to_string(&log).expect("log");
    assert!(stderr.contains("address in use"), "{stderr}");
    assert!(
        !data.exists(),
        "dev files were created before the bind failed"
    );
}

/// One GET with the given extra header lines; the whole answer as text.
fn raw_get(addr: &str, headers: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    let req = format!(
        "GET /api/vault/credentials?service=s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}\r\n"
    );
    s.write_all(req.as_bytes()).expect("send");
    let (answer, _) = read_until_closed(&mut s, Duration::from_secs(10));
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn failed_authentications_are_slowed_per_address_and_logged_without_the_value() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start {
        env: vec![("VAULT_AUTH_FAILURE_BURST", "3")],
        ..Start::new(&data, &log)
    }
    .spawn();
    let addr = addr_of(&server.base);
    for i in 0..3 {
        let a = raw_get(
            &addr,
            &format!("Authorization: Bearer guess-{i}-planted\r\n"),
        );
        assert!(a.starts_with("HTTP/1.1 401"), "{a}");
    }
    let a = raw_get(&addr, "Authorization: Bearer guess-3-planted\r\n");
    assert!(a.starts_with("HTTP/1.1 429"), "{a}");
    assert!(a.to_ascii_lowercase().contains("retry-after: 1"), "{a}");
    assert!(a.contains(r#""code":"rate_limited""#), "{a}");
    // While limited, even the right token is not checked (no oracle for guesses).
    let right = format!("Authorization: Bearer {}\r\n", crate::support::TOKEN);
    assert!(raw_get(&addr, &right).starts_with("HTTP/1.1 429"));
    std::thread::sleep(Duration::from_millis(1100));
    assert!(raw_get(&addr, &right).starts_with("HTTP/1.1 200"));
    let log_text = std::fs::read_to_string(&log).expect("log");
    assert!(log_text.contains("authentication failed"), "{log_text}");
    assert!(log_text.contains("127.0.0.1"), "{log_text}");
    assert!(
        !log_text.contains("planted"),
        "a presented token reached the log"
    );
}

#[test]
fn a_weak_service_token_is_refused_unless_allowed() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let weak = Start {
        token: Some("testtoken"),
        ..Start::new(&data, &log)
    };
    assert!(!weak.run_to_exit().success());
    let stderr = std::fs::read_to_string(&log).expect("log");
    assert!(stderr.contains("at least 32 characters"), "{stderr}");
    assert!(stderr.contains("openssl rand -hex 32"), "{stderr}");
    assert!(!stderr.contains("testtoken"), "{stderr}");
    let allowed = Start {
        token: Some("testtoken"),
        env: vec![("VAULT_ALLOW_WEAK_TOKEN", "1")],
        ..Start::new(&data, &log)
    };
    let server = allowed.spawn();
    drop(server);
    assert!(
        std::fs::read_to_string(&log)
            .expect("log")
            .contains("shorter than 32 characters")
    );
}

#[cfg(unix)]
#[test]
fn files_the_server_creates_are_private_even_in_an_open_directory() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    std::fs::create_dir(&data).expect("mkdir");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let server = Start::new(&data, &log).spawn();
    drop(server);
    assert_eq!(crate::support::mode(&data), 0o700, "data directory");
    for f in crate::support::files_under(&data) {
        let mode = crate::support::mode(&f);
        assert_eq!(mode & 0o077, 0, "{} is mode {mode:o}", f.display());
    }
}

#[cfg(unix)]
#[test]
fn a_token_file_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let dev = Start {
        token: None,
        ..Start::new(&data, &log)
    };
    drop(dev.spawn());
    let token_file = data.join("service.token");
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    assert!(!dev.run_to_exit().success());
    let stderr = std::fs::read_to_string(&log).expect("log");
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[tokio::test]
async fn resolving_a_credential_without_a_service_passes_the_choke_point() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for service in ["alpha", "beta"] {
        let body = serde_json::json!({"key": "DUP", "service": service, "value": "v"});
        assert_eq!(http.post("/api/vault/credentials", &body).await.status, 200);
    }
    assert_eq!(http.get("/api/vault/credentials/DUP").await.status, 409);
    assert_eq!(http.delete("/api/vault/credentials/NOPE").await.status, 404);
    let audit = http.get("/api/vault/audit?path_prefix=credentials/").await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    let entries = audit.body["entries"].as_array().expect("entries").clone();
    let seen = |op: &str, path: &str, outcome: &str| {
        entries
            .iter()
            .any(|e| e["op"] == op && e["path"] == path && e["outcome"] == outcome)
    };
    assert!(
        seen("credentials.get", "credentials/*/DUP", "conflict"),
        "{entries:?}"
    );
    assert!(
        seen("credentials.delete", "credentials/*/NOPE", "not_found"),
        "{entries:?}"
    );
}
