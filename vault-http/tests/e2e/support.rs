//! Starting and stopping the server binary, and a small JSON HTTP helper.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};

use serde_json::Value;

/// The service token the tests configure.
pub const TOKEN: &str = "e2e-service-token-5b1d0c";
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
}

impl<'a> Start<'a> {
    /// The usual start: test token and key, JSON logs.
    pub fn new(data: &'a Path, log: &'a Path) -> Self {
        Start {
            data,
            log,
            token: Some(TOKEN),
            key: Some(KEY_HEX),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vault-http"));
        cmd.args(["serve", "--addr", "127.0.0.1:0", "--data"])
            .arg(self.data)
            .env_remove("VVAULT_SERVICE_TOKEN")
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
            client: reqwest::Client::new(),
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
}

/// The test token as a bearer token.
pub const BEARER: Auth<'static> = Auth::Bearer(TOKEN);

/// A response: status, content type, JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

/// A JSON HTTP client for one server.
pub struct Http {
    pub base: String,
    pub client: reqwest::Client,
}

impl Http {
    /// Sends `method path` with an optional raw body.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        auth: Auth<'_>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        req = match auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Header(t) => req.header("X-Service-Token", t),
        };
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b);
        }
        let resp = req.send().await.expect("send request");
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let text = resp.text().await.expect("read body");
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("response to {path} is not JSON: {text:?}"));
        Reply {
            status,
            content_type,
            body,
            text,
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
