//! Starting and stopping the server binary, and a small JSON HTTP helper.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

use serde_json::Value;

/// The service token the tests configure.
pub const TOKEN: &str = "e2e-service-token-5b1d0c-0123456789abcdef";
/// A 32-byte root key as 64 hex digits.
pub const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// A different root key.
pub const OTHER_KEY_HEX: &str = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f";

/// A running server process.
pub struct Server {
    child: Option<Child>,
    _stdout: BufReader<ChildStdout>,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
}

/// How to start the server.
pub struct Start<'a> {
    pub data: &'a Path,
    pub log: &'a Path,
    pub token: Option<&'a str>,
    pub key: Option<&'a str>,
    /// `--addr` (default `127.0.0.1:0`).
    pub addr: &'a str,
    /// Extra environment.
    pub env: Vec<(&'a str, &'a str)>,
    /// Run under `ulimit -n <n>` (soft and hard).
    pub fd_limit: Option<u32>,
    /// `--store URL` (a PostgreSQL database) instead of `--data`.
    pub store: Option<&'a str>,
}

impl<'a> Start<'a> {
    /// The usual start: test token and key, JSON logs.
    pub fn new(data: &'a Path, log: &'a Path) -> Self {
        Start {
            data,
            log,
            token: Some(TOKEN),
            key: Some(KEY_HEX),
            addr: "127.0.0.1:0",
            env: Vec::new(),
            fd_limit: None,
            store: None,
        }
    }

    fn command(&self) -> Command {
        let bin = env!("CARGO_BIN_EXE_vault-http");
        let mut cmd = match self.fd_limit {
            Some(n) => {
                let mut c = Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), bin]);
                c
            }
            None => Command::new(bin),
        };
        cmd.args(["serve", "--addr", self.addr]);
        match self.store {
            Some(url) => cmd.args(["--store", url]),
            None => cmd.arg("--data").arg(self.data),
        };
        cmd.env_remove("VVAULT_SERVICE_TOKEN")
            .env_remove("VAULT_STORE_URL")
            .env_remove("VVAULT_ENCRYPTION_KEY")
            .env_remove("VAULT_LOG")
            .env("VAULT_LOG_FORMAT", "json")
            .stdin(Stdio::null())
            .stdout(Stdio::piped());
        if let Some(t) = self.token {
            cmd.env("VVAULT_SERVICE_TOKEN", t);
        }
        if let Some(k) = self.key {
            cmd.env("VVAULT_ENCRYPTION_KEY", k);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log)
            .expect("open log file");
        cmd.stderr(Stdio::from(log));
        cmd
    }

    /// Starts the server and waits for its `listening on` line.
    pub fn spawn(&self) -> Server {
        let mut child = self.command().spawn().expect("spawn vault-http");
        let stdout = child.stdout.take().expect("stdout");
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read stdout");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no listening line (got {line:?}); stderr:\n{}",
                    std::fs::read_to_string(self.log).unwrap_or_default()
                )
            });
        Server {
            base: format!("http://{addr}"),
            child: Some(child),
            _stdout: stdout,
        }
    }

    /// Runs a start that is expected to fail; returns its exit status.
    pub fn run_to_exit(&self) -> ExitStatus {
        let mut child = self.command().spawn().expect("spawn vault-http");
        child.wait().expect("wait")
    }
}

impl Server {
    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).expect("running")
    }

    /// SIGKILL, then reap.
    pub fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("kill");
            c.wait().expect("wait");
        }
    }

    /// SIGTERM via `kill -TERM`, then wait for the exit status.
    pub fn terminate(mut self) -> ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
        self.child.take().expect("running").wait().expect("wait")
    }

    /// An HTTP helper for this server.
    pub fn http(&self) -> Http {
        Http {
            base: self.base.clone(),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A test directory: `data/` for the vault, `server.log` for stderr.
pub struct TestDir {
    pub tmp: tempfile::TempDir,
}

impl TestDir {
    /// A fresh directory.
    pub fn new() -> Self {
        TestDir {
            tmp: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The data directory.
    pub fn data(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    /// The server log file.
    pub fn log(&self) -> PathBuf {
        self.tmp.path().join("server.log")
    }

    /// Starts the server with the test token and key.
    pub fn start(&self) -> Server {
        Start::new(&self.data(), &self.log()).spawn()
    }
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Header(&'a str),
    /// `X-Vault-Token: <t>` (the Vault-compatible dialect).
    Vault(&'a str),
}

/// The test token as a bearer token.
pub const BEARER: Auth<'static> = Auth::Bearer(TOKEN);

/// A response: status, content type, JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// Every header, names in lowercase.
    pub headers: Vec<(String, String)>,
    pub content_type: String,
    pub body: Value,
    pub text: String,
    pub bytes: Vec<u8>,
}

impl Reply {
    /// The value of header `name` (lowercase), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A JSON HTTP client for one server: HTTP/1.1 written by hand on a fresh loopback connection
/// per request (`Connection: close`), the request target sent exactly as given.
pub struct Http {
    pub base: String,
}

/// The longest a test waits for one answer.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Decodes a `Transfer-Encoding: chunked` body.
fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let line = std::str::from_utf8(&raw[..end]).expect("chunk size");
        let size = usize::from_str_radix(line.split(';').next().unwrap_or("").trim(), 16)
            .expect("hex chunk size");
        raw = &raw[end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// Writes `request` on a fresh connection while reading the answer to the end (the server may
/// answer, e.g. 413, before it has read every byte): the write and read outcomes and the bytes.
fn exchange(addr: &str, request: &[u8]) -> (std::io::Result<()>, std::io::Result<usize>, Vec<u8>) {
    use std::io::{Read as _, Write as _};

    let mut reader = std::net::TcpStream::connect(addr).expect("connect");
    reader
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .expect("read timeout");
    let mut writer = reader.try_clone().expect("clone socket");
    std::thread::scope(|s| {
        let write = s.spawn(move || writer.write_all(request).and_then(|()| writer.flush()));
        let mut raw = Vec::new();
        let read = reader.read_to_end(&mut raw);
        (write.join().expect("writer thread"), read, raw)
    })
}

impl Http {
    /// Sends `method path` with an optional raw body (as `application/json`).
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut headers = Vec::new();
        match auth {
            Auth::None => {}
            Auth::Bearer(t) => headers.push(("Authorization".to_string(), format!("Bearer {t}"))),
            Auth::Header(t) => headers.push(("X-Service-Token".to_string(), t.to_string())),
            Auth::Vault(t) => headers.push(("X-Vault-Token".to_string(), t.to_string())),
        }
        if body.is_some() {
            headers.push(("Content-Type".to_string(), "application/json".to_string()));
        }
        self.send_headers(method, path, &headers, body).await
    }

    /// Sends `method path` with exactly these headers (plus `Host`, `Connection: close`,
    /// `Accept` and the body's `Content-Length`) and an optional raw body.
    pub async fn send_headers(
        &self,
        method: &str,
        path: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let addr = self.base.strip_prefix("http://").expect("http base");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: */*\r\n"
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        if let Some(b) = &body {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
        head.push_str("\r\n");
        let mut request = head.into_bytes();
        request.extend_from_slice(body.as_deref().unwrap_or_default());

        let target = format!("{method} {path}");
        let exchange = tokio::task::spawn_blocking({
            let addr = addr.to_string();
            move || exchange(&addr, &request)
        });
        let (written, read, raw) = tokio::time::timeout(ANSWER_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| panic!("no answer to {target} in time"))
            .expect("exchange thread");
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!("no answer to {target} (write: {written:?}, read: {read:?})")
            });
        let head = std::str::from_utf8(&raw[..split]).expect("ASCII headers");
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut content_type = String::new();
        let mut content_length = None;
        let mut chunked = false;
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("header line");
            let value = value.trim();
            headers.push((name.to_ascii_lowercase(), value.to_string()));
            match name.to_ascii_lowercase().as_str() {
                "content-type" => content_type = value.to_string(),
                "content-length" => content_length = Some(value.parse().expect("length")),
                "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                _ => {}
            }
        }
        let rest = &raw[split + 4..];
        let bytes = match (chunked, content_length) {
            // A HEAD answer has the headers of a GET and no body.
            _ if method == "HEAD" => Vec::new(),
            (true, _) => dechunk(rest),
            (false, Some(n)) => rest
                .get(..n)
                .expect("body shorter than its length")
                .to_vec(),
            (false, None) => rest.to_vec(),
        };
        let text = String::from_utf8_lossy(&bytes).into_owned();
        // Every answer is JSON but an audit export's (JSON Lines or CSV), a construct file's
        // (raw bytes) and a completion's stream (server-sent events), kept as text (and bytes)
        // only.
        let export = [
            "application/x-ndjson",
            "text/csv",
            "application/octet-stream",
            "text/event-stream",
        ]
        .iter()
        .any(|t| content_type.starts_with(t));
        let body = if export || bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|_| panic!("response to {path} is not JSON: {text:?}"))
        };
        Reply {
            status,
            headers,
            content_type,
            body,
            text,
            bytes,
        }
    }

    /// GET with the test token.
    pub async fn get(&self, path: &str) -> Reply {
        self.send("GET", path, BEARER, None).await
    }

    /// POST a JSON value with the test token.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.send("POST", path, BEARER, Some(body.to_string().into_bytes()))
            .await
    }

    /// POST raw bytes with the test token.
    pub async fn post_raw(&self, path: &str, body: &[u8]) -> Reply {
        self.send("POST", path, BEARER, Some(body.to_vec())).await
    }

    /// PUT raw bytes with the test token.
    pub async fn put_raw(&self, path: &str, body: &[u8]) -> Reply {
        self.send("PUT", path, BEARER, Some(body.to_vec())).await
    }

    /// DELETE with the test token.
    pub async fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, BEARER, None).await
    }
}

/// Asserts an error reply: status, code, JSON content type and the `success:false` shape.
#[track_caller]
pub fn assert_error(r: &Reply, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_eq!(r.body["success"], Value::Bool(false), "{}", r.text);
    assert_eq!(r.body["code"], code, "{}", r.text);
    assert!(
        r.body["error"].as_str().is_some_and(|s| !s.is_empty()),
        "{}",
        r.text
    );
    assert!(
        r.content_type.starts_with("application/json"),
        "{}",
        r.content_type
    );
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let p = entry.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Whether `haystack` contains `needle` as raw bytes.
pub fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Unix permission bits of `p`.
#[cfg(unix)]
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
}
