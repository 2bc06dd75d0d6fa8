//! The `openai_compat` backend: any OpenAI-compatible server (vLLM, a hosted provider) at a
//! base URL, with an API key the vault reads from its own credentials (never the caller's).
//!
//! Chat and text completions are always requested streaming (`stream_options.include_usage`,
//! so the upstream's final chunk carries usage); a task reads the server-sent events and feeds
//! a channel, and stops (dropping the upstream response, which closes its connection) as soon
//! as the stream is dropped. The SSE reader is the few lines below rather than a crate: an
//! OpenAI-compatible upstream sends only `data:` lines, and the maintained crates
//! (`eventsource-stream`, `sse-stream`) would add a parser-combinator or `http-body` layer to
//! the build for what is a line splitter here.
//!
//! Upstream failures become the vault's errors without the upstream's body (it may echo the
//! prompt): 400/413/422 `invalid` (field `upstream`), 429 `rate_limited` with the upstream's
//! `Retry-After`, 401/403/404/5xx and unreachable `backend_unavailable` ([`Error::Upstream`]).

use std::sync::OnceLock;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{
    ChannelStream, ChatRequest, Chunk, ChunkStream, CompletionRequest, EmbeddingRequest,
    Embeddings, InferenceBackend, Sampling, Usage,
};
use crate::crypto::SecretString;
use crate::error::{Error, Result};

/// Longest SSE event accepted from an upstream, in bytes.
pub const MAX_EVENT_BYTES: usize = 1 << 20;
/// Largest non-streamed upstream answer (embeddings, model lists), in bytes.
pub const MAX_ANSWER_BYTES: usize = 64 << 20;

/// An OpenAI-compatible upstream.
pub struct OpenAiCompat {
    base: String,
    key: Option<SecretString>,
    http: reqwest::Client,
}

impl std::fmt::Debug for OpenAiCompat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompat")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// One HTTP client for every upstream (its connection pool is shared).
fn client() -> Result<reqwest::Client> {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    if let Some(c) = CLIENT.get() {
        return Ok(c.clone());
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(Vec::new(), provider.clone())
            .map_err(|_| Error::Internal("cannot use the system's CA certificates".into()))?;
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| Error::Internal("cannot configure TLS".into()))?
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(verifier))
        .with_no_client_auth();
    let c = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(std::time::Duration::from_secs(10))
        .read_timeout(std::time::Duration::from_secs(300))
        .build()
        .map_err(|_| Error::Internal("cannot build the HTTP client".into()))?;
    Ok(CLIENT.get_or_init(|| c).clone())
}

impl OpenAiCompat {
    /// The upstream at `base_url` (e.g. `http://gpu:8000/v1`), sending `key` as its bearer.
    pub fn new(base_url: &str, key: Option<SecretString>) -> Result<Self> {
        Ok(OpenAiCompat {
            base: base_url.trim_end_matches('/').to_string(),
            key,
            http: client()?,
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.key {
            Some(k) => r.bearer_auth(k.expose_secret()),
            None => r,
        }
    }

    /// Sends `body` to `path`; the response when its status is a success.
    async fn send(&self, path: &str, body: Option<&Value>) -> Result<reqwest::Response> {
        let method = if body.is_some() {
            reqwest::Method::POST
        } else {
            reqwest::Method::GET
        };
        let mut r = self.request(method, path);
        if let Some(b) = body {
            r = r.json(b);
        }
        let resp = r.send().await.map_err(|e| {
            Error::Upstream(if e.is_timeout() {
                "the upstream did not answer in time".into()
            } else {
                "the upstream cannot be reached".into()
            })
        })?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(resp);
        }
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        Err(upstream_error(status, retry_after))
    }

    async fn stream(&self, path: &str, body: Value, chat: bool) -> Result<ChunkStream> {
        let mut resp = self.send(path, Some(&body)).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        tokio::spawn(async move {
            let mut sse = SseLines::default();
            loop {
                let next = tokio::select! {
                    c = resp.chunk() => c,
                    () = tx.closed() => return,
                };
                let bytes = match next {
                    Ok(Some(b)) => b,
                    Ok(None) => return,
                    Err(_) => {
                        let _ = tx
                            .send(Err(Error::Upstream("the upstream stream broke".into())))
                            .await;
                        return;
                    }
                };
                let events = match sse.push(&bytes) {
                    Ok(ev) => ev,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                for data in events {
                    if data.trim() == "[DONE]" {
                        return;
                    }
                    match parse_chunk(&data, chat) {
                        Ok(Some(c)) => {
                            if tx.send(Ok(c)).await.is_err() {
                                return;
                            }
                        }
                        Ok(None) => {}
                        Err(e) => {
                            let _ = tx.send(Err(e)).await;
                            return;
                        }
                    }
                }
            }
        });
        Ok(Box::pin(ChannelStream(rx)))
    }
}

fn upstream_error(status: u16, retry_after: Option<u64>) -> Error {
    match status {
        400 | 413 | 422 => Error::invalid(
            "upstream",
            format!("the upstream refused the request ({status})"),
        ),
        401 | 403 => Error::Upstream(format!(
            "the upstream refused the vault's API key ({status})"
        )),
        404 => Error::Upstream("the upstream does not serve this model (404)".into()),
        429 => Error::RateLimited {
            message: "the upstream is rate limiting the vault (429)".into(),
            retry_after_secs: retry_after.unwrap_or(1).clamp(1, 3600),
        },
        s => Error::Upstream(format!("the upstream answered {s}")),
    }
}

fn sampling(body: &mut Value, s: &Sampling) {
    if let Value::Object(m) = body {
        if let Some(v) = s.max_tokens {
            m.insert("max_tokens".into(), json!(v));
        }
        if let Some(v) = s.temperature {
            m.insert("temperature".into(), json!(v));
        }
        if let Some(v) = s.top_p {
            m.insert("top_p".into(), json!(v));
        }
        if !s.stop.is_empty() {
            m.insert("stop".into(), json!(s.stop));
        }
    }
}

fn usage_of(v: &Value) -> Option<Usage> {
    let u = v.get("usage")?;
    Some(Usage {
        prompt_tokens: u.get("prompt_tokens")?.as_u64()?,
        completion_tokens: u
            .get("completion_tokens")
            .and_then(Value::as_u64)
            .unwrap_or(0),
    })
}

/// One upstream chunk as ours; `None` for one that carries nothing.
fn parse_chunk(data: &str, chat: bool) -> Result<Option<Chunk>> {
    let v: Value = serde_json::from_str(data)
        .map_err(|_| Error::Upstream("the upstream sent a chunk that is not JSON".into()))?;
    if v.get("error").is_some() {
        return Err(Error::Upstream("the upstream failed mid-stream".into()));
    }
    let choice = v.get("choices").and_then(|c| c.get(0));
    let str_at = |c: Option<&Value>, k: &str| {
        c.and_then(|c| c.get(k))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let delta = choice.and_then(|c| c.get("delta"));
    let chunk = Chunk {
        role: if chat { str_at(delta, "role") } else { None },
        text: if chat {
            str_at(delta, "content")
        } else {
            str_at(choice, "text")
        }
        .filter(|t| !t.is_empty()),
        finish_reason: str_at(choice, "finish_reason"),
        usage: usage_of(&v),
    };
    Ok((chunk != Chunk::default()).then_some(chunk))
}

/// Server-sent events split from a byte stream: the data of each complete event.
#[derive(Default)]
struct SseLines {
    buf: Vec<u8>,
    data: String,
}

impl SseLines {
    fn push(&mut self, bytes: &[u8]) -> Result<Vec<String>> {
        self.buf.extend_from_slice(bytes);
        let mut events = Vec::new();
        while let Some(nl) = self.buf.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buf.drain(..=nl).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line).map_err(|_| {
                Error::Upstream("the upstream sent an event that is not UTF-8".into())
            })?;
            if line.is_empty() {
                if !self.data.is_empty() {
                    events.push(std::mem::take(&mut self.data));
                }
            } else if let Some(d) = line.strip_prefix("data:") {
                if !self.data.is_empty() {
                    self.data.push('\n');
                }
                self.data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
            // Comments (`:`) and the other fields (`event:`, `id:`, `retry:`) are not used.
        }
        if self.buf.len() + self.data.len() > MAX_EVENT_BYTES {
            return Err(Error::Upstream(
                "the upstream sent an event too large".into(),
            ));
        }
        Ok(events)
    }
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Value> {
    let mut body = Vec::new();
    while let Some(b) = resp
        .chunk()
        .await
        .map_err(|_| Error::Upstream("the upstream answer broke".into()))?
    {
        if body.len() + b.len() > MAX_ANSWER_BYTES {
            return Err(Error::Upstream("the upstream answer is too large".into()));
        }
        body.extend_from_slice(&b);
    }
    serde_json::from_slice(&body)
        .map_err(|_| Error::Upstream("the upstream answer is not JSON".into()))
}

#[async_trait]
impl InferenceBackend for OpenAiCompat {
    async fn chat(&self, req: &ChatRequest) -> Result<ChunkStream> {
        let mut body = json!({
            "model": req.model,
            "messages": req.messages,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        sampling(&mut body, &req.sampling);
        self.stream("/chat/completions", body, true).await
    }

    async fn complete(&self, req: &CompletionRequest) -> Result<ChunkStream> {
        let mut body = json!({
            "model": req.model,
            "prompt": req.prompt,
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        sampling(&mut body, &req.sampling);
        self.stream("/completions", body, false).await
    }

    async fn embed(&self, req: &EmbeddingRequest) -> Result<Embeddings> {
        let body = json!({"model": req.model, "input": req.input});
        let v = read_limited(self.send("/embeddings", Some(&body)).await?).await?;
        let bad = || Error::Upstream("the upstream's embeddings are malformed".into());
        let data = v.get("data").and_then(Value::as_array).ok_or_else(bad)?;
        let mut vectors = vec![Vec::new(); req.input.len()];
        for (i, d) in data.iter().enumerate() {
            let index = d
                .get("index")
                .and_then(Value::as_u64)
                .map_or(i, |x| usize::try_from(x).unwrap_or(usize::MAX));
            let slot = vectors.get_mut(index).ok_or_else(bad)?;
            *slot = d
                .get("embedding")
                .and_then(Value::as_array)
                .ok_or_else(bad)?
                .iter()
                .map(|x| x.as_f64().map(|f| f as f32).ok_or_else(bad))
                .collect::<Result<_>>()?;
        }
        Ok(Embeddings {
            vectors,
            usage: usage_of(&v).unwrap_or_default(),
        })
    }

    async fn models(&self) -> Result<Vec<String>> {
        let v = read_limited(self.send("/models", None).await?).await?;
        Ok(v.get("data")
            .and_then(Value::as_array)
            .map(|d| {
                d.iter()
                    .filter_map(|m| m.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    async fn health(&self) -> Result<()> {
        self.send("/models", None).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_lines_split_events_across_reads_and_skip_comments() {
        let mut s = SseLines::default();
        assert!(
            s.push(b": keep-alive\n\ndata: {\"a\"")
                .expect("ok")
                .is_empty()
        );
        assert_eq!(
            s.push(b":1}\r\n\r\ndata: [DONE]\n\n").expect("ok"),
            vec!["{\"a\":1}".to_string(), "[DONE]".to_string()]
        );
        let chunk = parse_chunk(
            r#"{"choices":[{"delta":{"content":"hi"},"finish_reason":null}]}"#,
            true,
        )
        .expect("json");
        assert_eq!(chunk.and_then(|c| c.text).as_deref(), Some("hi"));
        assert_eq!(upstream_error(503, None).code(), "backend_unavailable");
        assert_eq!(upstream_error(400, None).field(), Some("upstream"));
        assert_eq!(upstream_error(429, Some(7)).retry_after(), Some(7));
    }
}
