//! The OpenAI-compatible gateway: `POST /v1/chat/completions`, `POST /v1/completions`,
//! `POST /v1/embeddings`, `GET /v1/models`, `GET /v1/models/{id}`, authenticated with vault
//! tokens (`Authorization: Bearer`). Request and response shapes are OpenAI's (streams as
//! server-sent events `data: {json}` ... `data: [DONE]`), errors are
//! `{"error": {"message","type","code","param"}}` ([`error`]). Only these five routes are
//! this dialect's: the rest of `/v1/` (the Vault-compatible `/v1/secret/...`, `/v1/sys/...`)
//! belongs to other dialects.
//!
//! Handlers are thin: parse ([`wire`]), call `vault.inference()`, render. A client that goes
//! away mid-stream drops the response body, which drops the call's stream: the upstream
//! request is cancelled and the call settles as `cancelled` (it still counts).

pub mod error;
pub mod wire;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::{Value, json};
use vault_core::Vault;
use vault_core::inference::{CallStream, Chunk, Limited, Usage, estimate_tokens};

pub use error::OpenAiError;

use super::Dialect;
use crate::server::token_layer::{self, TokenLayer};
use crate::server::{AppState, auth, extract};

/// The OpenAI dialect marker.
#[derive(Debug)]
pub struct OpenAi;

impl Dialect for OpenAi {
    type Error = OpenAiError;
}

type Body<T> = extract::JsonBody<T, OpenAi>;
type Answer = Result<Response, OpenAiError>;

/// `POST /v1/chat/completions`.
pub const CHAT: &str = "/v1/chat/completions";
/// `POST /v1/completions`.
pub const COMPLETIONS: &str = "/v1/completions";
/// `POST /v1/embeddings`.
pub const EMBEDDINGS: &str = "/v1/embeddings";
/// `GET /v1/models`.
pub const MODELS: &str = "/v1/models";
/// `GET /v1/models/{id}`.
pub const MODEL: &str = "/v1/models/{id}";

/// The vault as seen by the authenticated caller of this request.
pub struct GatewayVault(pub Vault);

impl FromRequestParts<AppState> for GatewayVault {
    type Rejection = OpenAiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, OpenAiError> {
        Ok(GatewayVault(token_layer::caller_vault(parts, state)?.0))
    }
}

/// Lets the request through only with a valid token (`Authorization: Bearer`), errors in
/// this dialect's shape, echoing the request id as `X-Request-Id`; see [`TokenLayer`].
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    const LAYER: TokenLayer = TokenLayer {
        presented: auth::presented_tokens,
        audit_matched_route: true,
        echo_request_id: true,
    };
    LAYER.run::<OpenAi>(state, req, next).await
}

/// The gateway's routes, all behind a token.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route(CHAT, post(chat))
        .route(COMPLETIONS, post(completions))
        .route(EMBEDDINGS, post(embeddings))
        .route(MODELS, get(models))
        .route(MODEL, get(model))
        .route_layer(axum::middleware::from_fn_with_state(state, require_token))
}

fn model_json(m: &vault_core::inference::ModelInfo) -> Value {
    json!({"id": m.id, "object": "model", "created": 0, "owned_by": m.owned_by})
}

async fn models(GatewayVault(v): GatewayVault) -> Answer {
    let list = v.inference().models().await?;
    let data: Vec<Value> = list.iter().map(model_json).collect();
    Ok(axum::Json(json!({"object": "list", "data": data})).into_response())
}

async fn model(
    GatewayVault(v): GatewayVault,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Answer {
    let m = v.inference().model(&id).await?;
    Ok(axum::Json(model_json(&m)).into_response())
}

/// Chat or text completion.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chat,
    Text,
}

async fn chat(
    GatewayVault(v): GatewayVault,
    extract::JsonBody(body, _): Body<wire::ChatBody>,
) -> Answer {
    let (stream, usage) = (
        body.stream,
        body.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage),
    );
    let req = body.into_core()?;
    let prompt = req.prompt_estimate();
    match v.inference().chat(req).await? {
        Limited::Refused(r) => Err(OpenAiError::Limited(r)),
        Limited::Admitted(call) => answer(call, Kind::Chat, stream, usage, prompt).await,
    }
}

async fn completions(
    GatewayVault(v): GatewayVault,
    extract::JsonBody(body, _): Body<wire::CompletionBody>,
) -> Answer {
    let (stream, usage) = (
        body.stream,
        body.stream_options
            .as_ref()
            .is_some_and(|o| o.include_usage),
    );
    let req = body.into_core()?;
    let prompt = estimate_tokens(&req.prompt);
    match v.inference().complete(req).await? {
        Limited::Refused(r) => Err(OpenAiError::Limited(r)),
        Limited::Admitted(call) => answer(call, Kind::Text, stream, usage, prompt).await,
    }
}

async fn embeddings(
    GatewayVault(v): GatewayVault,
    extract::JsonBody(body, _): Body<wire::EmbeddingBody>,
) -> Answer {
    let format = body.encoding_format.unwrap_or_default();
    let (info, emb) = match v.inference().embed(body.into_core()).await? {
        Limited::Refused(r) => return Err(OpenAiError::Limited(r)),
        Limited::Admitted(a) => a,
    };
    let data: Vec<Value> = emb
        .vectors
        .iter()
        .enumerate()
        .map(|(i, vec)| {
            let embedding = match format {
                wire::EncodingFormat::Float => json!(vec),
                wire::EncodingFormat::Base64 => {
                    let bytes: Vec<u8> = vec.iter().flat_map(|f| f.to_le_bytes()).collect();
                    json!(base64::engine::general_purpose::STANDARD.encode(bytes))
                }
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    let mut resp = axum::Json(json!({
        "object": "list",
        "data": data,
        "model": info.model,
        "usage": {"prompt_tokens": emb.usage.prompt_tokens, "total_tokens": emb.usage.prompt_tokens},
    }))
    .into_response();
    limits(resp.headers_mut(), &info);
    Ok(resp)
}

/// The `x-ratelimit-*` headers of an admitted call's tightest request window.
fn limits(h: &mut HeaderMap, info: &vault_core::inference::CallInfo) {
    if let Some(w) = &info.requests {
        let reset = (w.resets_at.as_millis() - info.created.as_millis()).max(0);
        let reset = u64::try_from(reset).unwrap_or(0).div_ceil(1000);
        error::ratelimit_headers(h, false, w.limit, w.remaining, reset);
    }
}

/// What a finished completion adds up to.
#[derive(Default)]
struct Total {
    text: String,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

fn usage_json(u: Usage) -> Value {
    json!({"prompt_tokens": u.prompt_tokens, "completion_tokens": u.completion_tokens,
           "total_tokens": u.prompt_tokens.saturating_add(u.completion_tokens)})
}

async fn next(call: &mut CallStream) -> Option<vault_core::Result<Chunk>> {
    std::future::poll_fn(|cx| futures_core::Stream::poll_next(std::pin::Pin::new(&mut *call), cx))
        .await
}

/// The answer of an admitted completion: one JSON document, or a stream of events.
async fn answer(
    mut call: CallStream,
    kind: Kind,
    stream: bool,
    include_usage: bool,
    prompt: u64,
) -> Answer {
    let info = call.info.clone();
    let headers_info = info.clone();
    let created = info.created.as_millis() / 1000;
    let (id, object) = match kind {
        Kind::Chat => (format!("chatcmpl-{}", info.call_id), "chat.completion"),
        Kind::Text => (format!("cmpl-{}", info.call_id), "text_completion"),
    };
    if !stream {
        let mut total = Total::default();
        while let Some(chunk) = next(&mut call).await {
            let chunk = chunk?;
            if let Some(t) = chunk.text {
                total.text.push_str(&t);
            }
            total.finish_reason = chunk.finish_reason.or(total.finish_reason);
            total.usage = chunk.usage.or(total.usage);
        }
        let usage = total.usage.unwrap_or(Usage {
            prompt_tokens: prompt,
            completion_tokens: estimate_tokens(&total.text),
        });
        let finish = total.finish_reason.unwrap_or_else(|| "stop".into());
        let choice = match kind {
            Kind::Chat => {
                json!({"index": 0, "message": {"role": "assistant", "content": total.text},
                                 "finish_reason": finish})
            }
            Kind::Text => json!({"index": 0, "text": total.text, "logprobs": null,
                                 "finish_reason": finish}),
        };
        let mut resp = axum::Json(json!({
            "id": id, "object": object, "created": created, "model": info.model,
            "choices": [choice], "usage": usage_json(usage),
        }))
        .into_response();
        limits(resp.headers_mut(), &info);
        return Ok(resp);
    }
    let object = match kind {
        Kind::Chat => "chat.completion.chunk",
        Kind::Text => "text_completion",
    };
    let frame = move |choices: Value, usage: Option<Usage>| {
        let mut doc = json!({"id": id, "object": object, "created": created,
                             "model": info.model, "choices": choices});
        if let Some(u) = usage {
            doc["usage"] = usage_json(u);
        }
        format!("data: {doc}\n\n")
    };
    struct S<F> {
        call: CallStream,
        frame: F,
        text_bytes: u64,
        usage: Option<Usage>,
        include_usage: bool,
        prompt: u64,
        phase: u8,
    }
    let state = S {
        call,
        frame,
        text_bytes: 0,
        usage: None,
        include_usage,
        prompt,
        phase: 0,
    };
    let events = futures_util::stream::unfold(state, move |mut s| async move {
        loop {
            match s.phase {
                0 => match next(&mut s.call).await {
                    Some(Ok(c)) => {
                        s.usage = c.usage.or(s.usage);
                        if c.text.is_none() && c.role.is_none() && c.finish_reason.is_none() {
                            continue;
                        }
                        s.text_bytes += c.text.as_ref().map_or(0, |t| t.len() as u64);
                        let choice = match kind {
                            Kind::Chat => {
                                let mut delta = serde_json::Map::new();
                                if let Some(r) = c.role {
                                    delta.insert("role".into(), json!(r));
                                }
                                if let Some(t) = c.text {
                                    delta.insert("content".into(), json!(t));
                                }
                                json!({"index": 0, "delta": delta, "finish_reason": c.finish_reason})
                            }
                            Kind::Text => json!({"index": 0, "text": c.text.unwrap_or_default(),
                                                 "logprobs": null, "finish_reason": c.finish_reason}),
                        };
                        let ev = (s.frame)(json!([choice]), None);
                        return Some((Ok::<_, std::convert::Infallible>(ev), s));
                    }
                    Some(Err(e)) => {
                        // The stream cannot continue: an error event, and no [DONE].
                        tracing::warn!(error = %e, "completion failed mid-stream");
                        let message = crate::dialects::service_api::one_line(&e.to_string());
                        let doc = json!({"error": {"message": message, "type": "api_error",
                                                   "code": e.code(), "param": null}});
                        s.phase = 3;
                        return Some((Ok(format!("data: {doc}\n\n")), s));
                    }
                    None => s.phase = 1,
                },
                1 => {
                    s.phase = 2;
                    if s.include_usage {
                        let u = s.usage.unwrap_or(Usage {
                            prompt_tokens: s.prompt,
                            completion_tokens: s.text_bytes.div_ceil(4),
                        });
                        let ev = (s.frame)(json!([]), Some(u));
                        return Some((Ok(ev), s));
                    }
                }
                2 => {
                    s.phase = 3;
                    return Some((Ok("data: [DONE]\n\n".to_string()), s));
                }
                _ => return None,
            }
        }
    });
    let mut resp = (
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::from_stream(events),
    )
        .into_response();
    limits(resp.headers_mut(), &headers_info);
    Ok(resp)
}
