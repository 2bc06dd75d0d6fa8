//! The OpenAI-compatible gateway against a real fake upstream started here (an axum server
//! speaking OpenAI's streaming chat): streaming pass-through with the upstream's usage, the
//! upstream key taken from the vault's credentials, upstream 4xx/5xx mapping, fallback to a
//! second model, cancellation of the upstream when the client disconnects mid-stream, limits
//! (429 naming the limit, with headers), model listing by rule; and, on the real binary, no
//! planted prompt in the server log, the audit log or the data directory.

use std::io::{Read as _, Write as _};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::response::IntoResponse;
use serde_json::{Value, json};
use vault_core::crypto::{RootKeySource, SecretString};
use vault_core::inference::registry::{BackendKind, BackendSpec, KeyRef, ModelSpec, Registry};
use vault_core::prelude::*;
use vault_core::{CredentialPut, Vault};
use vault_http::server::listen::{self, Limits};
use vault_http::{AppState, router};

use crate::support::{Auth, BEARER, Http, KEY_HEX, TOKEN, TestDir, contains_bytes, files_under};

const UPSTREAM_KEY: &str = "sk-upstream-1234567890";
const PROMPT: &str = "PLANTED-PROMPT-4411 buy everything";

/// What the fake upstream saw.
#[derive(Default)]
struct Seen {
    /// Chat requests with the right key.
    calls: AtomicUsize,
    /// Streams whose client (the gateway) went away before their end.
    dropped: tokio::sync::Notify,
    dropped_count: AtomicUsize,
}

/// Tells `Seen` when a stream is dropped before its last event (its client went away).
struct DropFlag(Arc<Seen>, bool);

impl Drop for DropFlag {
    fn drop(&mut self) {
        if self.1 {
            self.0.dropped_count.fetch_add(1, Ordering::SeqCst);
            self.0.dropped.notify_one();
        }
    }
}

fn sse(doc: &Value) -> String {
    format!("data: {doc}\n\n")
}

/// The fake upstream's chat completions: words of the last message streamed back with usage
/// (prompt 11, completion = words); model `broken` answers 500, `bad` 400 echoing the prompt,
/// `slow` sends one chunk and then nothing until the connection goes.
async fn upstream_chat(
    axum::extract::State(seen): axum::extract::State<Arc<Seen>>,
    headers: axum::http::HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {UPSTREAM_KEY}")) {
        return (axum::http::StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    seen.calls.fetch_add(1, Ordering::SeqCst);
    let prompt = body["messages"][0]["content"]
        .as_str()
        .unwrap_or("")
        .to_string();
    match body["model"].as_str() {
        Some("broken") => {
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response();
        }
        Some("bad") => {
            let echo = json!({"error": {"message": format!("bad prompt: {prompt}")}});
            return (axum::http::StatusCode::BAD_REQUEST, axum::Json(echo)).into_response();
        }
        _ => {}
    }
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"]["include_usage"], true);
    let slow = body["model"] == "slow";
    let words: Vec<String> = prompt.split_whitespace().map(str::to_string).collect();
    let n = words.len() as u64;
    let mut events: Vec<String> = vec![sse(
        &json!({"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": null}]}),
    )];
    for w in &words {
        events.push(sse(
            &json!({"choices": [{"index": 0, "delta": {"content": format!("{w} ")}, "finish_reason": null}]}),
        ));
    }
    events.push(sse(
        &json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}),
    ));
    // "huge": an upstream reporting absurd usage (the largest counts JSON carries).
    let (p, c) = if body["model"] == "huge" {
        (u64::MAX, u64::MAX)
    } else {
        (11, n)
    };
    events.push(sse(
        &json!({"choices": [], "usage": {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p.saturating_add(c)}}),
    ));
    events.push("data: [DONE]\n\n".into());
    let flag = DropFlag(seen.clone(), true);
    let stream = futures_util::stream::unfold(
        (events.into_iter(), flag, slow, 0),
        |(mut it, mut flag, slow, i)| async move {
            if slow && i == 2 {
                // Nothing more until the gateway goes away (the flag drops with this stream).
                std::future::pending::<()>().await;
            }
            let ev = it.next()?;
            flag.1 = it.len() > 0;
            Some((
                Ok::<_, std::convert::Infallible>(ev),
                (it, flag, slow, i + 1),
            ))
        },
    );
    (
        [("content-type", "text/event-stream")],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

async fn upstream(seen: Arc<Seen>) -> String {
    let app = axum::Router::new()
        .route("/v1/chat/completions", axum::routing::post(upstream_chat))
        .route(
            "/v1/embeddings",
            axum::routing::post(|| async {
                axum::Json(json!({"data": [{"index": 0, "embedding": [0.5, -0.25]}],
                                  "usage": {"prompt_tokens": 3, "total_tokens": 3}}))
            }),
        )
        .with_state(seen);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = axum::Router::new().merge(app);
    tokio::spawn(listen::serve(
        listener,
        router,
        Limits::default(),
        std::future::pending(),
    ));
    format!("http://{addr}/v1")
}

fn model(backend: &str, upstream: &str, fallback: Option<&str>) -> ModelSpec {
    ModelSpec {
        backend: backend.into(),
        upstream: Some(upstream.into()),
        aliases: vec![],
        context_window: None,
        fallback: fallback.map(str::to_string),
    }
}

/// A gateway in this process over a memory vault whose registry points at the fake upstream.
async fn gateway() -> (Http, Vault, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let base = upstream(seen.clone()).await;
    let vault = Vault::builder()
        .store(Arc::new(vault_core::store::MemoryStore::new()))
        .key(RootKeySource::parse(KEY_HEX).expect("key"))
        .open()
        .await
        .expect("open");
    let (svc, key) = (
        "inference".parse().expect("svc"),
        "UPSTREAM_KEY".parse().expect("key"),
    );
    vault
        .credentials()
        .put(CredentialPut::new(svc, key, UPSTREAM_KEY))
        .await
        .expect("key");
    let mut reg = Registry::default();
    reg.backends.insert(
        "up".into(),
        BackendSpec {
            kind: BackendKind::OpenaiCompat,
            base_url: Some(base),
            api_key: Some(KeyRef {
                service: "inference".parse().expect("svc"),
                key: "UPSTREAM_KEY".parse().expect("key"),
            }),
            mock: None,
        },
    );
    reg.models
        .insert("gpt-up".into(), model("up", "real-model", None));
    reg.models
        .insert("broken".into(), model("up", "broken", Some("gpt-up")));
    reg.models
        .insert("broken-alone".into(), model("up", "broken", None));
    reg.models
        .insert("bad".into(), model("up", "bad", Some("gpt-up")));
    reg.models.insert("slow".into(), model("up", "slow", None));
    reg.models.insert("huge".into(), model("up", "huge", None));
    vault
        .inference()
        .put_registry(&reg, None)
        .await
        .expect("registry");
    let state = AppState::new(vault.clone(), SecretString::from(TOKEN), 10);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(listen::serve(
        listener,
        router(state),
        Limits::default(),
        std::future::pending(),
    ));
    (Http { base }, vault, seen)
}

fn chat_body(model: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream, "stream_options": {"include_usage": true},
           "messages": [{"role": "user", "content": "alpha beta gamma"}]})
}

/// The data of each event of an SSE body.
fn events(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_pass_through_with_the_upstreams_usage_and_the_vaults_key() {
    let (http, _, seen) = gateway().await;
    let r = http
        .send(
            "POST",
            "/v1/chat/completions",
            BEARER,
            Some(chat_body("gpt-up", true).to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("text/event-stream"));
    let ev = events(&r.text);
    assert_eq!(ev.last().map(String::as_str), Some("[DONE]"), "{}", r.text);
    let docs: Vec<Value> = ev[..ev.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).expect("json event"))
        .collect();
    assert!(
        docs.iter()
            .all(|d| d["object"] == "chat.completion.chunk" && d["model"] == "gpt-up")
    );
    let text: String = docs
        .iter()
        .filter_map(|d| d["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert_eq!(text, "alpha beta gamma ");
    let usage = &docs.last().expect("usage chunk")["usage"];
    assert_eq!(
        (
            usage["prompt_tokens"].as_u64(),
            usage["completion_tokens"].as_u64()
        ),
        (Some(11), Some(3))
    );
    assert_eq!(seen.calls.load(Ordering::SeqCst), 1);

    let r = http
        .post("/v1/chat/completions", &chat_body("gpt-up", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["object"], "chat.completion");
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "alpha beta gamma "
    );
    assert_eq!(r.body["usage"]["total_tokens"], 14);

    // Absurd usage from the upstream is answered, not a panic (the sum saturates).
    let r = http
        .post("/v1/chat/completions", &chat_body("huge", false))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["usage"]["total_tokens"], u64::MAX);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_errors_map_and_a_failing_model_falls_back_to_the_second() {
    let (http, _, _) = gateway().await;
    let r = http
        .post("/v1/chat/completions", &chat_body("broken-alone", false))
        .await;
    assert_eq!(r.status, 502, "{}", r.text);
    assert_eq!(r.body["error"]["type"], "api_error");
    assert_eq!(r.body["error"]["code"], "backend_unavailable");
    let r = http
        .post("/v1/chat/completions", &chat_body("broken", false))
        .await;
    assert_eq!(r.status, 200, "fallback: {}", r.text);
    assert_eq!(
        r.body["choices"][0]["message"]["content"],
        "alpha beta gamma "
    );
    let mut bad = chat_body("bad", false);
    bad["messages"][0]["content"] = json!(PROMPT);
    let r = http.post("/v1/chat/completions", &bad).await;
    assert_eq!(
        r.status, 400,
        "a refused request is not retried elsewhere: {}",
        r.text
    );
    assert_eq!(r.body["error"]["param"], "upstream");
    assert!(
        !r.text.contains("PLANTED"),
        "the upstream's echo is not passed on: {}",
        r.text
    );
    let r = http
        .post("/v1/embeddings", &json!({"model": "gpt-up", "input": "x"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["data"][0]["embedding"], json!([0.5, -0.25]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_mid_stream_cancels_the_upstream_and_the_call_still_counts() {
    let (http, vault, seen) = gateway().await;
    let addr = http.base.strip_prefix("http://").expect("base").to_string();
    let body = chat_body("slow", true).to_string();
    let mut sock = std::net::TcpStream::connect(&addr).expect("connect");
    write!(
        sock,
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !contains_bytes(&got, b"alpha") {
        let n = sock.read(&mut buf).expect("read the first chunk");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(seen.dropped_count.load(Ordering::SeqCst), 0);
    drop(sock);
    tokio::time::timeout(Duration::from_secs(20), seen.dropped.notified())
        .await
        .expect("the upstream request was cancelled");
    // The call settles as cancelled (audited), and it counted.
    let mut outcomes = Vec::new();
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        vault.flush().await.expect("flush");
        let mut q = vault_core::AuditQuery::default();
        q.filter.op = Some("inference.settle".into());
        outcomes = vault
            .audit()
            .query(q)
            .await
            .expect("audit")
            .items
            .into_iter()
            .map(|e| (e.path, e.outcome))
            .collect();
        if !outcomes.is_empty() {
            break;
        }
    }
    assert_eq!(
        outcomes,
        [("llm/slow".to_string(), "cancelled".to_string())]
    );
}

async fn token(http: &Http, rules: Value, llm: Value) -> String {
    let r = http
        .post(
            "/api/vault/tokens",
            &json!({"name": "app", "rules": rules, "llm": llm}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["llm"], llm, "{}", r.text);
    r.body["token"].as_str().expect("token").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_429_naming_the_limit_and_models_list_only_what_a_token_may_use() {
    let (http, _, _) = gateway().await;
    let t = token(
        &http,
        json!([{"path": "llm/gpt-up", "capabilities": ["invoke"]}]),
        json!({"rpm": 1}),
    )
    .await;
    let body = Some(chat_body("gpt-up", false).to_string().into_bytes());
    let r = http
        .send(
            "POST",
            "/v1/chat/completions",
            Auth::Bearer(&t),
            body.clone(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.header("x-ratelimit-limit-requests"), Some("1"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("0"));
    let r = http
        .send("POST", "/v1/chat/completions", Auth::Bearer(&t), body)
        .await;
    assert_eq!(r.status, 429, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "rate_limit_rpm_exceeded");
    assert_eq!(r.body["error"]["type"], "rate_limit_exceeded");
    assert!(
        r.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("limit 1")),
        "{}",
        r.text
    );
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("secs");
    assert!((1..=60).contains(&retry));
    assert_eq!(r.header("x-ratelimit-limit-requests"), Some("1"));
    assert_eq!(r.header("x-ratelimit-remaining-requests"), Some("0"));

    let r = http.send("GET", "/v1/models", Auth::Bearer(&t), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );
    assert_eq!(r.body["data"][0]["id"], "gpt-up");
    let r = http
        .send("GET", "/v1/models/slow", Auth::Bearer(&t), None)
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    assert_eq!(r.body["error"]["type"], "permission_error");
    let r = http
        .send("GET", "/v1/models", Auth::Bearer("vault_sk_nope"), None)
        .await;
    assert_eq!(r.status, 401, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "invalid_api_key");
    let r = http.get("/v1/models/nope").await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_eq!(r.body["error"]["code"], "model_not_found");
    let r = http
        .post(
            "/v1/chat/completions",
            &json!({"model": "gpt-up", "messages": []}),
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"]["param"], "messages");
    let r = http
        .post("/v1/chat/completions", &json!({"model": "gpt-up"}))
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.body["error"]["type"], "invalid_request_error");
}

/// The real binary with mock-echo: a planted prompt is in no log line, audit entry or file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_prompt_reaches_no_log_audit_entry_or_file() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let body = json!({"model": "mock-echo", "stream": true,
                      "messages": [{"role": "user", "content": PROMPT}]});
    let r = http.post("/v1/chat/completions", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text.contains("PLANTED-PROMPT-4411"),
        "mock-echo echoes it back"
    );
    let mut plain = body.clone();
    plain["stream"] = json!(false);
    let r = http.post("/v1/chat/completions", &plain).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .post(
            "/v1/embeddings",
            &json!({"model": "mock-echo", "input": [PROMPT]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let audit = http.get("/api/vault/audit?limit=1000").await;
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert!(audit.text.contains("inference.chat"), "{}", audit.text);
    assert!(audit.text.contains("inference.settle"), "{}", audit.text);
    assert!(!audit.text.contains("PLANTED"));
    drop(server);
    let log = std::fs::read_to_string(dir.log()).expect("log");
    assert!(
        log.contains("\"llm call\"") || log.contains("llm call"),
        "the call is logged: {log}"
    );
    assert!(!log.contains("PLANTED"), "{log}");
    for f in files_under(&dir.data()) {
        let bytes = std::fs::read(&f).expect("read");
        assert!(!contains_bytes(&bytes, b"PLANTED"), "{}", f.display());
    }
}
