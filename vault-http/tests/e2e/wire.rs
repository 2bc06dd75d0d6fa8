//! Golden wire test: the exact status, `content-type` and body bytes of every `/api/vault/*`
//! answer, for one fixed scripted sequence of requests against the real binary.
//!
//! Requests are written by hand over a plain TCP socket so that the request bytes are exactly
//! the ones below (no client-side path normalisation: `..` and `%2E%2E` reach the server).
//! The only normalisation of answers: every JSON string that is an RFC 3339 UTC timestamp with
//! milliseconds (`"2026-01-02T03:04:05.678Z"`, today's only format) becomes `"<TS>"`, and
//! `<VERSION>` in an expected body stands for the crate version. Everything else, key order and
//! string escaping included, must match byte for byte, and every answer must be framed by a
//! `Content-Length` (no chunking). The one planned change, an additive `"field"` member in
//! `invalid` error bodies (after `"error"`), is pinned here, and so are the config history
//! endpoint and the scheduler jobs routes; anything else that makes this test fail is a wire
//! change.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::panic::Location;
use std::time::Duration;

use crate::support::{TOKEN, TestDir};

const JSON: &str = "application/json";

/// One answer as read off the socket.
struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

/// Sends one request on a fresh connection (`Connection: close`) and reads the whole answer.
fn exchange(addr: &str, head_only: bool, request: &[u8]) -> Answer {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("read timeout");
    s.write_all(request).expect("write request");
    s.flush().expect("flush");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read answer");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of headers in {:?}", String::from_utf8_lossy(&raw)));
    let head = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
    let body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().expect("status line");
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let mut content_type = Vec::new();
    let mut content_length = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("header line");
        let value = value.trim().to_string();
        match name.to_ascii_lowercase().as_str() {
            "content-type" => content_type.push(value),
            "content-length" => content_length.push(value),
            "transfer-encoding" => {
                panic!("unexpected transfer-encoding {value:?} (framing changed)")
            }
            _ => {}
        }
    }
    assert!(content_type.len() <= 1, "several content-types: {head}");
    assert_eq!(
        content_length.len(),
        1,
        "one content-length expected: {head}"
    );
    if !head_only {
        assert_eq!(
            content_length[0],
            body.len().to_string(),
            "content-length does not frame the body: {head}"
        );
    }
    Answer {
        status,
        content_type: content_type.pop().unwrap_or_default(),
        body,
    }
}

/// `Some(len)` when `b` starts with `dddd-dd-ddTdd:dd:dd.dddZ`.
fn timestamp_at(b: &[u8]) -> Option<usize> {
    const SHAPE: &[u8] = b"0000-00-00T00:00:00.000Z";
    let ok = b.len() >= SHAPE.len()
        && SHAPE.iter().zip(b).all(|(&s, &c)| {
            if s == b'0' {
                c.is_ascii_digit()
            } else {
                c == s
            }
        });
    ok.then_some(SHAPE.len())
}

/// The body as text, every `"<timestamp>"` string replaced by `"<TS>"`.
fn normalise(body: &[u8]) -> String {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] == b'"'
            && let Some(n) = timestamp_at(&body[i + 1..])
            && body.get(i + 1 + n) == Some(&b'"')
        {
            out.extend_from_slice(b"\"<TS>\"");
            i += n + 2;
            continue;
        }
        out.push(body[i]);
        i += 1;
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => format!("<not UTF-8> {:?}", String::from_utf8_lossy(e.as_bytes())),
    }
}

/// The scripted client: counts the pinned requests and collects every mismatch.
struct Wire {
    addr: String,
    pinned: usize,
    failures: Vec<String>,
}

impl Wire {
    fn call(&mut self, method: &str, target: impl Into<String>) -> Call<'_> {
        Call {
            wire: self,
            method: method.to_string(),
            target: target.into(),
            auth: None,
            headers: Vec::new(),
            body: None,
            declared_len: None,
        }
    }

    fn get(&mut self, target: impl Into<String>) -> Call<'_> {
        self.call("GET", target)
    }

    fn delete(&mut self, target: impl Into<String>) -> Call<'_> {
        self.call("DELETE", target)
    }

    /// POST with a JSON body, sent exactly as given.
    fn post(&mut self, target: impl Into<String>, body: impl AsRef<[u8]>) -> Call<'_> {
        self.call("POST", target)
            .header("Content-Type", "application/json")
            .body(body)
    }
}

/// One request being built.
struct Call<'w> {
    wire: &'w mut Wire,
    method: String,
    target: String,
    /// `None`: the test token as a bearer token.
    auth: Option<Vec<(String, String)>>,
    headers: Vec<(String, String)>,
    body: Option<Vec<u8>>,
    declared_len: Option<usize>,
}

impl Call<'_> {
    /// No credentials at all.
    fn no_auth(mut self) -> Self {
        self.auth = Some(Vec::new());
        self
    }

    /// An authentication header instead of (or, called again, in addition to) the default.
    fn auth(mut self, name: &str, value: &str) -> Self {
        self.auth
            .get_or_insert_with(Vec::new)
            .push((name.to_string(), value.to_string()));
        self
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = Some(body.as_ref().to_vec());
        self
    }

    /// Declares this `Content-Length` whatever body is actually sent.
    fn declare_len(mut self, n: usize) -> Self {
        self.declared_len = Some(n);
        self
    }

    /// Sends the request and records a failure unless the answer is exactly this.
    #[track_caller]
    fn expect(self, status: u16, content_type: &str, body: &str) {
        let at = Location::caller();
        let Call {
            wire,
            method,
            target,
            auth,
            headers,
            body: sent,
            declared_len,
        } = self;
        let auth =
            auth.unwrap_or_else(|| vec![("Authorization".to_string(), format!("Bearer {TOKEN}"))]);
        let mut req = format!(
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            wire.addr
        );
        for (name, value) in auth.iter().chain(&headers) {
            req.push_str(&format!("{name}: {value}\r\n"));
        }
        let len = declared_len.or(sent.as_ref().map(Vec::len));
        if let Some(n) = len {
            req.push_str(&format!("Content-Length: {n}\r\n"));
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(sent.as_deref().unwrap_or_default());
        let got = exchange(&wire.addr, method == "HEAD", &bytes);
        wire.pinned += 1;
        let want = body.replace("<VERSION>", env!("CARGO_PKG_VERSION"));
        let got_body = normalise(&got.body);
        if got.status != status || got.content_type != content_type || got_body != want {
            wire.failures.push(format!(
                "{}:{} {method} {target}\n  want: {status} {content_type:?} {want}\n  got:  {} \
                 {:?} {got_body}",
                at.file(),
                at.line(),
                got.status,
                got.content_type,
            ));
        }
    }
}

#[test]
fn every_answer_is_pinned_byte_for_byte() {
    let dir = TestDir::new();
    let server = dir.start();
    let addr = server.base.strip_prefix("http://").expect("http base");
    let mut w = Wire {
        addr: addr.to_string(),
        pinned: 0,
        failures: Vec::new(),
    };
    script(&mut w);
    assert!(
        w.failures.is_empty(),
        "{} of {} pinned answers differ:\n{}",
        w.failures.len(),
        w.pinned,
        w.failures.join("\n")
    );
    eprintln!("wire: {} answers pinned", w.pinned);
}

/// The scripted sequence: one request and its exact answer per pair of lines. Later requests
/// depend on the state earlier ones leave.
#[rustfmt::skip]
fn script(w: &mut Wire) {
    // Health: open, with or without a token; HEAD answers the headers only; query ignored.
    w.get("/api/vault/health").no_auth()
        .expect(200, JSON, r#"{"components":{"backend":"sled","encryption":"unsealed","service_api":"enabled","store":"connected"},"message":"vault is healthy","service":"vvault","status":"ok","timestamp":"<TS>","version":"<VERSION>"}"#);
    w.get("/api/vault/health")
        .expect(200, JSON, r#"{"components":{"backend":"sled","encryption":"unsealed","service_api":"enabled","store":"connected"},"message":"vault is healthy","service":"vvault","status":"ok","timestamp":"<TS>","version":"<VERSION>"}"#);
    w.call("HEAD", "/api/vault/health").no_auth()
        .expect(200, JSON, r#""#);
    w.get("/api/vault/health?x=1").no_auth()
        .expect(200, JSON, r#"{"components":{"backend":"sled","encryption":"unsealed","service_api":"enabled","store":"connected"},"message":"vault is healthy","service":"vvault","status":"ok","timestamp":"<TS>","version":"<VERSION>"}"#);

    // Authentication.
    w.get("/api/vault/credentials?service=alpha").no_auth()
        .expect(401, JSON, r#"{"code":"unauthorized","error":"missing service token: send Authorization: Bearer <token> or X-Service-Token","success":false}"#);
    w.get("/api/vault/credentials?service=alpha").auth("Authorization", "Bearer wrong-token")
        .expect(401, JSON, r#"{"code":"unauthorized","error":"invalid service token","success":false}"#);
    w.get("/api/vault/credentials?service=alpha").auth("X-Service-Token", "wrong-token")
        .expect(401, JSON, r#"{"code":"unauthorized","error":"invalid service token","success":false}"#);
    w.get("/api/vault/credentials?service=alpha").auth("Authorization", "Bearer ")
        .expect(401, JSON, r#"{"code":"unauthorized","error":"missing service token: send Authorization: Bearer <token> or X-Service-Token","success":false}"#);
    w.get("/api/vault/credentials?service=alpha").auth("Authorization", "Basic dXNlcjpwYXNz")
        .expect(401, JSON, r#"{"code":"unauthorized","error":"missing service token: send Authorization: Bearer <token> or X-Service-Token","success":false}"#);
    w.get("/api/vault/credentials?service=alpha").auth("Authorization", &format!("bearer  {TOKEN} "))
        .expect(200, JSON, r#"{"credentials":[],"service":"alpha","success":true}"#);
    w.get("/api/vault/credentials?service=alpha").auth("X-Service-Token", TOKEN)
        .expect(200, JSON, r#"{"credentials":[],"service":"alpha","success":true}"#);
    // More than one token in a request is refused (it used to let a request try many guesses).
    w.get("/api/vault/credentials?service=alpha").auth("Authorization", "Bearer wrong-token").auth("X-Service-Token", TOKEN)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid authorization: send exactly one token (Authorization: Bearer or X-Service-Token), not 2","field":"authorization","success":false}"#);
    w.post("/api/vault/credentials", "{not json").no_auth()
        .expect(401, JSON, r#"{"code":"unauthorized","error":"missing service token: send Authorization: Bearer <token> or X-Service-Token","success":false}"#);
    w.call("PUT", "/api/vault/credentials").no_auth()
        .expect(405, JSON, r#"{"code":"method_not_allowed","error":"method not allowed on this endpoint","success":false}"#);
    w.get("/api/vault/nope").no_auth()
        .expect(404, JSON, r#"{"code":"not_found","error":"no such endpoint","success":false}"#);

    // Credentials: create, update, metadata kept when omitted, compare-and-set.
    w.post("/api/vault/credentials", r#"{"key":"API_KEY","service":"alpha","value":"s3cret-1"}"#)
        .expect(200, JSON, r#"{"action":"created","key":"API_KEY","message":"Credential created successfully","service":"alpha","success":true,"version":1}"#);
    w.get("/api/vault/credentials/API_KEY?service=alpha")
        .expect(200, JSON, r#"{"success":true,"key":"API_KEY","service":"alpha","value":"s3cret-1","metadata":{},"version":1,"created_at":"<TS>","updated_at":"<TS>"}"#);
    w.post("/api/vault/credentials", r#"{"key":"API_KEY","service":"alpha","value":"s3cret-2","metadata":{"env":"prod","b":[1,2.5,true,null,1e3],"a":{"z":1,"y":"é"}}}"#)
        .expect(200, JSON, r#"{"action":"updated","key":"API_KEY","message":"Credential updated successfully","service":"alpha","success":true,"version":2}"#);
    w.get("/api/vault/credentials/API_KEY?service=alpha")
        .expect(200, JSON, r#"{"success":true,"key":"API_KEY","service":"alpha","value":"s3cret-2","metadata":{"a":{"y":"é","z":1},"b":[1,2.5,true,null,1000.0],"env":"prod"},"version":2,"created_at":"<TS>","updated_at":"<TS>"}"#);
    w.post("/api/vault/credentials", r#"{"key":"API_KEY","service":"alpha","value":"line1\nline2\t\"q\" \\ é ✓ </script> \u0001 \u2028","expected_version":2}"#)
        .expect(200, JSON, r#"{"action":"updated","key":"API_KEY","message":"Credential updated successfully","service":"alpha","success":true,"version":3}"#);
    w.get("/api/vault/credentials/API_KEY?service=alpha")
        .expect(200, JSON, concat!(r#"{"success":true,"key":"API_KEY","service":"alpha","value":"line1\nline2\t\"q\" \\ é ✓ </script> \u0001 "#, "\u{2028}", r#"","metadata":{"a":{"y":"é","z":1},"b":[1,2.5,true,null,1000.0],"env":"prod"},"version":3,"created_at":"<TS>","updated_at":"<TS>"}"#));
    w.post("/api/vault/credentials", r#"{"key":"API_KEY","service":"alpha","value":"stale","expected_version":1}"#)
        .expect(409, JSON, r#"{"code":"conflict","error":"credential 'API_KEY' of service 'alpha' is at version 3, not the expected version 1","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"API_KEY","service":"alpha","value":"stale","expected_version":0}"#)
        .expect(409, JSON, r#"{"code":"conflict","error":"credential 'API_KEY' of service 'alpha' is at version 3, not the expected version 0","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"NEW_KEY","service":"alpha","value":"n1","expected_version":0}"#)
        .expect(200, JSON, r#"{"action":"created","key":"NEW_KEY","message":"Credential created successfully","service":"alpha","success":true,"version":1}"#);
    w.post("/api/vault/credentials", r#"{"key":"OTHER","service":"alpha","value":"o1","expected_version":5}"#)
        .expect(409, JSON, r#"{"code":"conflict","error":"credential 'OTHER' of service 'alpha' does not exist (expected version 5)","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"API_KEY","service":"alpha","value":"s3cret-4","metadata":{},"expected_version":3}"#)
        .expect(200, JSON, r#"{"action":"updated","key":"API_KEY","message":"Credential updated successfully","service":"alpha","success":true,"version":4}"#);
    w.post("/api/vault/credentials", r#"{"key":"API_KEY","service":"beta","value":"b1","metadata":{"team":"b"}}"#)
        .expect(200, JSON, r#"{"action":"created","key":"API_KEY","message":"Credential created successfully","service":"beta","success":true,"version":1}"#);
    w.call("POST", "/api/vault/credentials").header("Content-Type", "text/plain").body(r#"{"key":"PLAIN","service":"gamma","value":"p1"}"#)
        .expect(200, JSON, r#"{"action":"created","key":"PLAIN","message":"Credential created successfully","service":"gamma","success":true,"version":1}"#);
    w.call("POST", "/api/vault/credentials").body(r#"{"key":"PLAIN","service":"gamma","value":"p2"}"#)
        .expect(200, JSON, r#"{"action":"updated","key":"PLAIN","message":"Credential updated successfully","service":"gamma","success":true,"version":2}"#);

    // Credentials: read.
    w.get("/api/vault/credentials/API_KEY?service=alpha")
        .expect(200, JSON, r#"{"success":true,"key":"API_KEY","service":"alpha","value":"s3cret-4","metadata":{},"version":4,"created_at":"<TS>","updated_at":"<TS>"}"#);
    w.get("/api/vault/credentials/NEW_KEY")
        .expect(200, JSON, r#"{"success":true,"key":"NEW_KEY","service":"alpha","value":"n1","metadata":{},"version":1,"created_at":"<TS>","updated_at":"<TS>"}"#);
    w.get("/api/vault/credentials/API_KEY")
        .expect(409, JSON, r#"{"code":"conflict","error":"Credential 'API_KEY' exists under several services (alpha, beta); pass a service","success":false}"#);
    w.get("/api/vault/credentials/MISSING")
        .expect(404, JSON, r#"{"code":"not_found","error":"Credential 'MISSING' not found","success":false}"#);
    w.get("/api/vault/credentials/MISSING?service=alpha")
        .expect(404, JSON, r#"{"code":"not_found","error":"Credential 'MISSING' not found","success":false}"#);
    w.get("/api/vault/credentials/API_KEY?service=nosuch")
        .expect(404, JSON, r#"{"code":"not_found","error":"Credential 'API_KEY' not found","success":false}"#);
    // `?version=N` reads a kept version (the credential lifecycle); the service resolves as
    // for the current one.
    w.get("/api/vault/credentials/API_KEY?service=alpha&version=1")
        .expect(200, JSON, r#"{"success":true,"key":"API_KEY","service":"alpha","value":"s3cret-1","metadata":{},"version":1,"created_at":"<TS>","updated_at":"<TS>"}"#);
    w.get("/api/vault/credentials/API_KEY?version=1")
        .expect(409, JSON, r#"{"code":"conflict","error":"Credential 'API_KEY' exists under several services (alpha, beta); pass a service","success":false}"#);
    w.get("/api/vault/credentials/API_KEY?service=alpha&version=0")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid version: must be a version number (1 or more)","field":"version","success":false}"#);
    w.get("/api/vault/credentials/API_KEY?service=alpha&service=beta")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: appears more than once","field":"service","success":false}"#);
    w.get("/api/vault/credentials/API_KEY?service=")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: must not be empty","field":"service","success":false}"#);

    // Credentials: list.
    w.get("/api/vault/credentials?service=alpha")
        .expect(200, JSON, r#"{"credentials":[{"created_at":"<TS>","key":"API_KEY","metadata":{},"service":"alpha","updated_at":"<TS>","version":4},{"created_at":"<TS>","key":"NEW_KEY","metadata":{},"service":"alpha","updated_at":"<TS>","version":1}],"service":"alpha","success":true}"#);
    w.get("/api/vault/credentials?service=empty")
        .expect(200, JSON, r#"{"credentials":[],"service":"empty","success":true}"#);
    w.get("/api/vault/credentials")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: is required","field":"service","success":false}"#);
    w.get("/api/vault/credentials?service=")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: must not be empty","field":"service","success":false}"#);
    w.get("/api/vault/credentials?service=..%2Fx")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"service","success":false}"#);
    w.get("/api/vault/credentials?service=alpha&extra=1")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid extra: unknown field","field":"extra","success":false}"#);
    // Credentials: list pages (`limit`, `after`; `next` only when more follow).
    w.get("/api/vault/credentials?service=alpha&limit=1")
        .expect(200, JSON, r#"{"credentials":[{"created_at":"<TS>","key":"API_KEY","metadata":{},"service":"alpha","updated_at":"<TS>","version":4}],"next":"API_KEY","service":"alpha","success":true}"#);
    w.get("/api/vault/credentials?service=alpha&limit=1&after=API_KEY")
        .expect(200, JSON, r#"{"credentials":[{"created_at":"<TS>","key":"NEW_KEY","metadata":{},"service":"alpha","updated_at":"<TS>","version":1}],"service":"alpha","success":true}"#);
    w.get("/api/vault/credentials?service=alpha&after=NEW_KEY")
        .expect(200, JSON, r#"{"credentials":[],"service":"alpha","success":true}"#);
    w.get("/api/vault/credentials?service=alpha&limit=0")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid limit: must be 1 to 1000","field":"limit","success":false}"#);
    w.get("/api/vault/credentials?service=alpha&limit=1001")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid limit: must be 1 to 1000","field":"limit","success":false}"#);
    w.get("/api/vault/credentials?service=alpha&limit=x")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid limit: expected a non-negative integer","field":"limit","success":false}"#);
    w.get("/api/vault/credentials?service=alpha&after=..%2Fx")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid after: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"after","success":false}"#);

    // Credentials: delete.
    w.delete("/api/vault/credentials/NEW_KEY")
        .expect(200, JSON, r#"{"action":"deleted","key":"NEW_KEY","service":"alpha","success":true}"#);
    w.delete("/api/vault/credentials/NEW_KEY")
        .expect(404, JSON, r#"{"code":"not_found","error":"Credential 'NEW_KEY' not found","success":false}"#);
    w.delete("/api/vault/credentials/API_KEY")
        .expect(409, JSON, r#"{"code":"conflict","error":"Credential 'API_KEY' exists under several services (alpha, beta); pass a service","success":false}"#);
    w.delete("/api/vault/credentials/API_KEY?service=beta")
        .expect(200, JSON, r#"{"action":"deleted","key":"API_KEY","service":"beta","success":true}"#);
    w.delete("/api/vault/credentials/API_KEY?service=beta")
        .expect(404, JSON, r#"{"code":"not_found","error":"Credential 'API_KEY' not found","success":false}"#);
    w.delete("/api/vault/credentials/MISSING?service=alpha")
        .expect(404, JSON, r#"{"code":"not_found","error":"Credential 'MISSING' not found","success":false}"#);
    w.delete("/api/vault/credentials/API_KEY?servce=alpha")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid servce: unknown field","field":"servce","success":false}"#);
    w.get("/api/vault/credentials/API_KEY")
        .expect(200, JSON, r#"{"success":true,"key":"API_KEY","service":"alpha","value":"s3cret-4","metadata":{},"version":4,"created_at":"<TS>","updated_at":"<TS>"}"#);
    w.delete("/api/vault/credentials?service=alpha")
        .expect(405, JSON, r#"{"code":"method_not_allowed","error":"method not allowed on this endpoint","success":false}"#);

    // Configs: create, update, partial update keeping fields, compare-and-set, read, list.
    w.get("/api/vault/configs/alpha")
        .expect(200, JSON, r#"{"configs":[],"revision":0,"service":"alpha","success":true}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"momentum","params":{"slow":26,"fast":12},"symbols":["EUR_USD","GBP_USD"],"risk_limits":{"max_units":1000,"stop":0.5}}"#)
        .expect(200, JSON, r#"{"action":"created","service":"alpha","strategy_id":"momentum","success":true,"version":1}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"momentum","enabled":false}"#)
        .expect(200, JSON, r#"{"action":"updated","service":"alpha","strategy_id":"momentum","success":true,"version":2}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"momentum","symbols":[],"expected_version":2}"#)
        .expect(200, JSON, r#"{"action":"updated","service":"alpha","strategy_id":"momentum","success":true,"version":3}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"momentum","enabled":true,"expected_version":1}"#)
        .expect(409, JSON, r#"{"code":"conflict","error":"config 'momentum' of service 'alpha' is at version 3, not the expected version 1","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"momentum","enabled":true,"expected_version":0}"#)
        .expect(409, JSON, r#"{"code":"conflict","error":"config 'momentum' of service 'alpha' is at version 3, not the expected version 0","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"carry","expected_version":0}"#)
        .expect(200, JSON, r#"{"action":"created","service":"alpha","strategy_id":"carry","success":true,"version":1}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"other","expected_version":3}"#)
        .expect(409, JSON, r#"{"code":"conflict","error":"config 'other' of service 'alpha' does not exist (expected version 3)","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum")
        .expect(200, JSON, r#"{"config":{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":[],"updated_at":"<TS>","version":3},"revision":4,"service":"alpha","success":true}"#);
    w.get("/api/vault/configs/alpha/momentum?version=1")
        .expect(200, JSON, r#"{"config":{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":["EUR_USD","GBP_USD"],"updated_at":"<TS>","version":1},"revision":4,"service":"alpha","success":true}"#);
    w.get("/api/vault/configs/alpha/momentum?version=2")
        .expect(200, JSON, r#"{"config":{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":["EUR_USD","GBP_USD"],"updated_at":"<TS>","version":2},"revision":4,"service":"alpha","success":true}"#);
    w.get("/api/vault/configs/alpha/momentum?version=9")
        .expect(404, JSON, r#"{"code":"not_found","error":"Config 'momentum' of service 'alpha' has no version 9","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum?version=0")
        .expect(404, JSON, r#"{"code":"not_found","error":"Config 'momentum' of service 'alpha' has no version 0","success":false}"#);
    w.get("/api/vault/configs/alpha/unknown")
        .expect(404, JSON, r#"{"code":"not_found","error":"Config 'unknown' not found for service 'alpha'","success":false}"#);
    w.get("/api/vault/configs/nosvc/momentum")
        .expect(404, JSON, r#"{"code":"not_found","error":"Config 'momentum' not found for service 'nosvc'","success":false}"#);
    w.get("/api/vault/configs/alpha")
        .expect(200, JSON, r#"{"configs":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{},"risk_limits":{},"service":"alpha","strategy_id":"carry","symbols":[],"updated_at":"<TS>","version":1},{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":[],"updated_at":"<TS>","version":3}],"revision":4,"service":"alpha","success":true}"#);
    w.get("/api/vault/configs/alpha?x=1")
        .expect(200, JSON, r#"{"configs":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{},"risk_limits":{},"service":"alpha","strategy_id":"carry","symbols":[],"updated_at":"<TS>","version":1},{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":[],"updated_at":"<TS>","version":3}],"revision":4,"service":"alpha","success":true}"#);
    w.get("/api/vault/configs/alpha?limit=1")
        .expect(200, JSON, r#"{"configs":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{},"risk_limits":{},"service":"alpha","strategy_id":"carry","symbols":[],"updated_at":"<TS>","version":1}],"next":"carry","revision":4,"service":"alpha","success":true}"#);
    w.get("/api/vault/configs/alpha?limit=1&after=carry")
        .expect(200, JSON, r#"{"configs":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":[],"updated_at":"<TS>","version":3}],"revision":4,"service":"alpha","success":true}"#);
    w.get("/api/vault/configs/alpha?limit=0")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid limit: must be 1 to 1000","field":"limit","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum?version=abc")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid version: expected a non-negative integer","field":"version","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum?version=-1")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid version: expected a non-negative integer","field":"version","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum?version=99999999999999999999999")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid version: expected a non-negative integer","field":"version","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum?verison=1")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid verison: unknown field","field":"verison","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum?version=1&version=2")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid version: appears more than once","field":"version","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum?version=")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid version: has an invalid value","field":"version","success":false}"#);

    // Config history: newest first, paged by `limit` and `after` (`next` only when more).
    w.get("/api/vault/configs/alpha/momentum/history?limit=2")
        .expect(200, JSON, r#"{"next":2,"revision":4,"service":"alpha","strategy_id":"momentum","success":true,"versions":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":[],"updated_at":"<TS>","version":3},{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":["EUR_USD","GBP_USD"],"updated_at":"<TS>","version":2}]}"#);
    w.get("/api/vault/configs/alpha/momentum/history?limit=2&after=2")
        .expect(200, JSON, r#"{"revision":4,"service":"alpha","strategy_id":"momentum","success":true,"versions":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":["EUR_USD","GBP_USD"],"updated_at":"<TS>","version":1}]}"#);
    w.get("/api/vault/configs/alpha/momentum/history")
        .expect(200, JSON, r#"{"revision":4,"service":"alpha","strategy_id":"momentum","success":true,"versions":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":[],"updated_at":"<TS>","version":3},{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":["EUR_USD","GBP_USD"],"updated_at":"<TS>","version":2},{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":["EUR_USD","GBP_USD"],"updated_at":"<TS>","version":1}]}"#);
    w.get("/api/vault/configs/alpha/unknown/history")
        .expect(404, JSON, r#"{"code":"not_found","error":"Config 'unknown' not found for service 'alpha'","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum/history?limit=0")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid limit: must be 1 to 1000","field":"limit","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum/history?limit=1001")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid limit: must be 1 to 1000","field":"limit","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum/history?limit=2&verison=1")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid verison: unknown field","field":"verison","success":false}"#);

    // Request bodies: empty, malformed, wrong shapes and types, limits, invalid names.
    let long = "k".repeat(129);
    w.post("/api/vault/credentials", "")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: expected a JSON object, got an empty body","field":"body","success":false}"#);
    w.post("/api/vault/credentials", " \r\n\t")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: expected a JSON object, got an empty body","field":"body","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key": "K", "#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: malformed JSON at line 1 column 13","field":"body","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":"v"} x"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: malformed JSON at line 1 column 43","field":"body","success":false}"#);
    w.post("/api/vault/credentials", r#"["planted"]"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: expected a JSON object","field":"body","success":false}"#);
    w.post("/api/vault/credentials", "null")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: expected a JSON object","field":"body","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":"v","extra":"planted"}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid extra: unknown field","field":"extra","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","value":"v"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: is required","field":"service","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","key":"L","service":"alpha","value":"v"}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: appears more than once","field":"key","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":12345}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid value: expected a string","field":"value","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":"v","metadata":"planted"}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid metadata: expected a JSON object","field":"metadata","success":false}"#);
    // `"metadata":null` counts as omitted: accepted, K is created.
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":"v","metadata":null}"#)
        .expect(200, JSON, r#"{"action":"created","key":"K","message":"Credential created successfully","service":"alpha","success":true,"version":1}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":"v","expected_version":-1}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid expected_version: expected a non-negative integer","field":"expected_version","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":"v","expected_version":1.5}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid expected_version: expected a non-negative integer","field":"expected_version","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":""}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid value: must not be empty","field":"value","success":false}"#);
    w.post("/api/vault/credentials", format!(r#"{{"key":"K","service":"alpha","value":"{}"}}"#, "v".repeat(64 * 1024 + 1)))
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid value: must be at most 65536 bytes","field":"value","success":false}"#);
    w.post("/api/vault/credentials", format!(r#"{{"key":"K","service":"alpha","value":"v","metadata":{{"m":"{}"}}}}"#, "m".repeat(16 * 1024)))
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid metadata: must be at most 16384 bytes of JSON","field":"metadata","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":"alpha","value":"\ud800"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: malformed JSON at line 1 column 45","field":"body","success":false}"#);
    w.post("/api/vault/credentials", b"{\"key\":\"K\xff\",\"service\":\"alpha\",\"value\":\"v\"}")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: malformed JSON at line 1 column 10","field":"body","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"..","service":"alpha","value":"v"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"a/b","service":"alpha","value":"v"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"","service":"alpha","value":"v"}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: must not be empty","field":"key","success":false}"#);
    w.post("/api/vault/credentials", format!(r#"{{"key":"{long}","service":"alpha","value":"v"}}"#))
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: must be at most 128 characters","field":"key","success":false}"#);
    w.post("/api/vault/credentials", r#"{"key":"K","service":".hidden","value":"v"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"service","success":false}"#);
    w.post("/api/vault/configs/alpha", "")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: expected a JSON object, got an empty body","field":"body","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"s1","enabled":"planted"}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid enabled: expected a boolean","field":"enabled","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"s1","params":"planted"}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid params: expected a JSON object","field":"params","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"s1","risk_limits":[1]}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid risk_limits: expected a JSON object","field":"risk_limits","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"s1","symbols":["EUR_USD",5]}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid symbols[1]: expected a string","field":"symbols[1]","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"s1","symbols":["EUR_USD",""]}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid symbols[1]: must be 1 to 64 printable characters","field":"symbols[1]","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"s1","colour":"planted"}"#,)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid colour: unknown field","field":"colour","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"params":{}}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid strategy_id: is required","field":"strategy_id","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"../x"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid strategy_id: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"strategy_id","success":false}"#);
    w.post("/api/vault/configs/alpha", r#"{"strategy_id":"s1","expected_version":"1"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid expected_version: expected a non-negative integer","field":"expected_version","success":false}"#);
    w.post("/api/vault/configs/alpha", format!(r#"{{"strategy_id":"s1","params":{{"p":"{}"}}}}"#, "p".repeat(512 * 1024)))
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid config: params, symbols and risk_limits together must be at most 524288 bytes of JSON","field":"config","success":false}"#);

    // Path names: traversal, encoded separators, bad UTF-8, too long; unrouted shapes.
    w.get("/api/vault/credentials/..")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.get("/api/vault/credentials/%2E%2E")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.get("/api/vault/credentials/..%2F..%2Fetc")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.get("/api/vault/credentials/..%2F..%2Fetc?service=alpha")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.get("/api/vault/credentials/%FF")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: must be valid UTF-8","field":"key","success":false}"#);
    w.get("/api/vault/credentials/a%00b")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.get("/api/vault/credentials/a%20b")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.get(format!("/api/vault/credentials/{long}"))
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: must be at most 128 characters","field":"key","success":false}"#);
    w.delete("/api/vault/credentials/..%2Fx")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid key: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"key","success":false}"#);
    w.get("/api/vault/configs/..%2Fetc")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"service","success":false}"#);
    w.get("/api/vault/configs/%2E%2E")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"service","success":false}"#);
    w.get(format!("/api/vault/configs/{long}"))
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: must be at most 128 characters","field":"service","success":false}"#);
    w.post("/api/vault/configs/..%2F..%2Fetc", r#"{"strategy_id":"s1"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"service","success":false}"#);
    w.post("/api/vault/configs/..%2F..%2Fetc", "{not json")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid body: malformed JSON at line 1 column 2","field":"body","success":false}"#);
    w.get("/api/vault/configs/alpha/..%2F..")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid strategy_id: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"strategy_id","success":false}"#);
    w.get("/api/vault/configs/alpha/%2E%2E")
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid strategy_id: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"strategy_id","success":false}"#);
    w.get("/api/vault/credentials/../credentials?service=alpha")
        .expect(404, JSON, r#"{"code":"not_found","error":"no such endpoint","success":false}"#);
    w.get("/api/vault/credentials/")
        .expect(404, JSON, r#"{"code":"not_found","error":"no such endpoint","success":false}"#);
    w.get("/api/vault/configs/alpha/momentum/extra")
        .expect(404, JSON, r#"{"code":"not_found","error":"no such endpoint","success":false}"#);
    w.get("//api/vault/health")
        .expect(404, JSON, r#"{"code":"not_found","error":"no such endpoint","success":false}"#);

    // Unknown routes, wrong methods, oversized bodies.
    w.get("/api/vault/nope")
        .expect(404, JSON, r#"{"code":"not_found","error":"no such endpoint","success":false}"#);
    w.get("/")
        .expect(404, JSON, r#"{"code":"not_found","error":"no such endpoint","success":false}"#);
    w.call("PUT", "/api/vault/credentials")
        .expect(405, JSON, r#"{"code":"method_not_allowed","error":"method not allowed on this endpoint","success":false}"#);
    w.call("PATCH", "/api/vault/configs/alpha")
        .expect(405, JSON, r#"{"code":"method_not_allowed","error":"method not allowed on this endpoint","success":false}"#);
    w.call("PUT", "/api/vault/configs/alpha/momentum")
        .expect(405, JSON, r#"{"code":"method_not_allowed","error":"method not allowed on this endpoint","success":false}"#);
    w.call("POST", "/api/vault/health")
        .expect(405, JSON, r#"{"code":"method_not_allowed","error":"method not allowed on this endpoint","success":false}"#);
    w.call("PUT", "/api/vault/credentials/API_KEY")
        .expect(405, JSON, r#"{"code":"method_not_allowed","error":"method not allowed on this endpoint","success":false}"#);
    w.call("OPTIONS", "/api/vault/credentials")
        .expect(405, JSON, r#"{"code":"method_not_allowed","error":"method not allowed on this endpoint","success":false}"#);
    let big = "x".repeat(2 * 1024 * 1024);
    let big = format!(r#"{{"key":"K","service":"alpha","value":"{big}"}}"#);
    w.post("/api/vault/credentials", &big)
        .expect(413, JSON, r#"{"code":"payload_too_large","error":"request body is larger than 1048576 bytes","success":false}"#);
    w.post("/api/vault/configs/alpha", &big)
        .expect(413, JSON, r#"{"code":"payload_too_large","error":"request body is larger than 1048576 bytes","success":false}"#);
    w.post("/api/vault/credentials", "").declare_len(9 * 1024 * 1024)
        .expect(413, JSON, r#"{"code":"payload_too_large","error":"request body is larger than 1048576 bytes","success":false}"#);

    // Nothing rejected above changed the data (K exists: `"metadata":null` was accepted).
    w.get("/api/vault/credentials?service=alpha")
        .expect(200, JSON, r#"{"credentials":[{"created_at":"<TS>","key":"API_KEY","metadata":{},"service":"alpha","updated_at":"<TS>","version":4},{"created_at":"<TS>","key":"K","metadata":{},"service":"alpha","updated_at":"<TS>","version":1}],"service":"alpha","success":true}"#);
    w.get("/api/vault/credentials?service=beta")
        .expect(200, JSON, r#"{"credentials":[],"service":"beta","success":true}"#);
    w.get("/api/vault/credentials?service=gamma")
        .expect(200, JSON, r#"{"credentials":[{"created_at":"<TS>","key":"PLAIN","metadata":{},"service":"gamma","updated_at":"<TS>","version":2}],"service":"gamma","success":true}"#);
    w.get("/api/vault/configs/alpha")
        .expect(200, JSON, r#"{"configs":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{},"risk_limits":{},"service":"alpha","strategy_id":"carry","symbols":[],"updated_at":"<TS>","version":1},{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":false,"params":{"fast":12,"slow":26},"risk_limits":{"max_units":1000,"stop":0.5},"service":"alpha","strategy_id":"momentum","symbols":[],"updated_at":"<TS>","version":3}],"revision":4,"service":"alpha","success":true}"#);

    // Config settings: versions kept per config; a put prunes beyond them, history says where
    // it starts. Nesting deeper than 32 levels is refused.
    w.get("/api/vault/config-settings/delta")
        .expect(200, JSON, r#"{"max_versions":1000,"service":"delta","success":true}"#);
    w.post("/api/vault/config-settings/delta", r#"{"max_versions":2}"#)
        .expect(200, JSON, r#"{"max_versions":2,"service":"delta","success":true}"#);
    w.post("/api/vault/config-settings/delta", r#"{"max_versions":0}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid max_versions: must be 1 to 100000","field":"max_versions","success":false}"#);
    w.post("/api/vault/config-settings/delta", r#"{"max_versions":2,"keep":1}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid keep: unknown field","field":"keep","success":false}"#);
    w.post("/api/vault/config-settings/..%2Fx", r#"{"max_versions":2}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid service: may contain only letters, digits, '_', '-', '.' and ':', and must not start with '.'","field":"service","success":false}"#);
    w.post("/api/vault/configs/delta", r#"{"strategy_id":"s1","params":{"n":1}}"#)
        .expect(200, JSON, r#"{"action":"created","service":"delta","strategy_id":"s1","success":true,"version":1}"#);
    w.post("/api/vault/configs/delta", r#"{"strategy_id":"s1","params":{"n":2}}"#)
        .expect(200, JSON, r#"{"action":"updated","service":"delta","strategy_id":"s1","success":true,"version":2}"#);
    w.post("/api/vault/configs/delta", r#"{"strategy_id":"s1","params":{"n":3}}"#)
        .expect(200, JSON, r#"{"action":"updated","service":"delta","strategy_id":"s1","success":true,"version":3}"#);
    w.get("/api/vault/configs/delta/s1/history")
        .expect(200, JSON, r#"{"oldest_version":2,"revision":3,"service":"delta","strategy_id":"s1","success":true,"versions":[{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{"n":3},"risk_limits":{},"service":"delta","strategy_id":"s1","symbols":[],"updated_at":"<TS>","version":3},{"changed_by":{"id":"root","name":"root"},"created_at":"<TS>","enabled":true,"params":{"n":2},"risk_limits":{},"service":"delta","strategy_id":"s1","symbols":[],"updated_at":"<TS>","version":2}]}"#);
    w.get("/api/vault/configs/delta/s1?version=1")
        .expect(404, JSON, r#"{"code":"not_found","error":"Config 's1' of service 'delta' has no version 1 (versions before 2 were pruned)","success":false}"#);
    w.post("/api/vault/configs/delta", format!(r#"{{"strategy_id":"s1","params":{{"a":{}1{}}}}}"#, "[".repeat(32), "]".repeat(32)))
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid params: must be nested at most 32 levels deep","field":"params","success":false}"#);
    w.post("/api/vault/credentials", format!(r#"{{"key":"K","service":"delta","value":"v","metadata":{{"a":{}1{}}}}}"#, "[".repeat(32), "]".repeat(32)))
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid metadata: must be nested at most 32 levels deep","field":"metadata","success":false}"#);

    // Scheduler jobs: create (201; the same again 200; other settings 409), claim (the lease
    // and token), renew, a stale owner's release refused, release rescheduled, sweep, bad input.
    w.post("/api/vault/guards/acct/jobs", r#"{"job_id":"scan","max_attempts":2}"#)
        .expect(201, JSON, r#"{"account":"acct","created":true,"job":{"attempt":0,"created_at":"<TS>","fencing_token":0,"job_id":"scan","max_attempts":2,"run_at":"<TS>","state":"pending","updated_at":"<TS>"},"success":true}"#);
    w.post("/api/vault/guards/acct/jobs", r#"{"job_id":"scan"}"#)
        .expect(200, JSON, r#"{"account":"acct","created":false,"job":{"attempt":0,"created_at":"<TS>","fencing_token":0,"job_id":"scan","max_attempts":2,"run_at":"<TS>","state":"pending","updated_at":"<TS>"},"success":true}"#);
    w.post("/api/vault/guards/acct/jobs", r#"{"job_id":"scan","max_attempts":3}"#)
        .expect(409, JSON, r#"{"code":"conflict","error":"job 'scan' of account 'acct' exists with max_attempts 2, not 3","success":false}"#);
    w.post("/api/vault/guards/acct/jobs/claim", r#"{"instance":"a","limit":10,"ttl_s":30}"#)
        .expect(200, JSON, r#"{"account":"acct","jobs":[{"attempt":1,"created_at":"<TS>","fencing_token":1,"job_id":"scan","lease_expires_at":"<TS>","max_attempts":2,"owner":"a","run_at":"<TS>","state":"leased","updated_at":"<TS>"}],"success":true}"#);
    w.post("/api/vault/guards/acct/jobs/claim", r#"{"instance":"b"}"#)
        .expect(200, JSON, r#"{"account":"acct","jobs":[],"success":true}"#);
    w.post("/api/vault/guards/acct/jobs/scan/renew", r#"{"instance":"a","fencing_token":1,"ttl_s":30}"#)
        .expect(200, JSON, r#"{"account":"acct","job":{"attempt":1,"created_at":"<TS>","fencing_token":1,"job_id":"scan","lease_expires_at":"<TS>","max_attempts":2,"owner":"a","run_at":"<TS>","state":"leased","updated_at":"<TS>"},"success":true}"#);
    w.post("/api/vault/guards/acct/jobs/scan/release", r#"{"instance":"a","fencing_token":1,"outcome":"failed","reschedule_at":"2020-01-01T00:00:00.000Z"}"#)
        .expect(200, JSON, r#"{"account":"acct","job":{"attempt":1,"created_at":"<TS>","fencing_token":1,"job_id":"scan","last_outcome":"failed","max_attempts":2,"owner":"a","run_at":"<TS>","state":"pending","updated_at":"<TS>"},"success":true}"#);
    w.post("/api/vault/guards/acct/jobs/claim", r#"{"instance":"b","limit":1}"#)
        .expect(200, JSON, r#"{"account":"acct","jobs":[{"attempt":2,"created_at":"<TS>","fencing_token":2,"job_id":"scan","last_outcome":"failed","lease_expires_at":"<TS>","max_attempts":2,"owner":"b","run_at":"<TS>","state":"leased","updated_at":"<TS>"}],"success":true}"#);
    w.post("/api/vault/guards/acct/jobs/scan/release", r#"{"instance":"a","fencing_token":1,"outcome":"done"}"#)
        .expect(409, JSON, r#"{"code":"conflict","error":"job 'scan' of account 'acct': fencing token 1 is stale: the job was claimed again (fencing token 2)","success":false}"#);
    w.post("/api/vault/guards/acct/jobs/scan/release", r#"{"instance":"b","fencing_token":2,"outcome":"failed"}"#)
        .expect(200, JSON, r#"{"account":"acct","job":{"attempt":2,"created_at":"<TS>","fencing_token":2,"job_id":"scan","last_outcome":"failed","max_attempts":2,"owner":"b","run_at":"<TS>","state":"dead","updated_at":"<TS>"},"success":true}"#);
    w.get("/api/vault/guards/acct/jobs")
        .expect(200, JSON, r#"{"account":"acct","jobs":[{"attempt":2,"created_at":"<TS>","fencing_token":2,"job_id":"scan","last_outcome":"failed","max_attempts":2,"owner":"b","run_at":"<TS>","state":"dead","updated_at":"<TS>"}],"success":true}"#);
    w.post("/api/vault/guards/acct/jobs/sweep", "")
        .expect(200, JSON, r#"{"account":"acct","dead":0,"released":0,"success":true}"#);
    w.post("/api/vault/guards/acct/jobs/claim", r#"{"instance":"a","ttl_s":0}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid ttl_s: must be 1 to 3600 seconds","field":"ttl_s","success":false}"#);
    w.post("/api/vault/guards/acct/jobs/claim", r#"{"instance":"a","limit":101}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid limit: must be 1 to 100","field":"limit","success":false}"#);
    w.post("/api/vault/guards/acct/jobs/claim", r#"{"instance":"a","ttl":5}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid ttl: unknown field","field":"ttl","success":false}"#);
    w.post("/api/vault/guards/acct/jobs", r#"{"job_id":"claim"}"#)
        .expect(400, JSON, r#"{"code":"invalid","error":"invalid job_id: `claim` is reserved (it names an endpoint)","field":"job_id","success":false}"#);
    w.get("/api/vault/guards/acct/jobs/nope")
        .expect(404, JSON, r#"{"code":"not_found","error":"job 'nope' not found for account 'acct'","success":false}"#);
}

#[test]
fn only_whole_millisecond_timestamp_strings_are_normalised() {
    assert_eq!(
        normalise(br#"{"a":"2026-01-02T03:04:05.678Z","b":"2026-01-02T03:04:05Z"}"#),
        r#"{"a":"<TS>","b":"2026-01-02T03:04:05Z"}"#
    );
    assert_eq!(
        normalise(br#"{"v":"x2026-01-02T03:04:05.678Z","w":"2026-01-02T03:04:05.678Zx"}"#),
        r#"{"v":"x2026-01-02T03:04:05.678Z","w":"2026-01-02T03:04:05.678Zx"}"#
    );
}
