//! Middleware: the service-token check and the one-line-per-request log.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vault_core::crypto::constant_time_eq;

use super::AppState;
use super::error::ApiError;

/// The tokens a request presents: `Authorization: Bearer <t>` and `X-Service-Token: <t>`.
fn presented_tokens(headers: &HeaderMap) -> Vec<&[u8]> {
    let mut out = Vec::new();
    for v in headers.get_all(axum::http::header::AUTHORIZATION) {
        let b = v.as_bytes();
        if b.len() > 7 && b[..7].eq_ignore_ascii_case(b"bearer ") {
            out.push(b[7..].trim_ascii());
        }
    }
    for v in headers.get_all("x-service-token") {
        out.push(v.as_bytes().trim_ascii());
    }
    out
}

/// Lets the request through only with the service token (compared in constant time).
pub async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let expected = state.token().expose_secret().as_bytes();
    let presented = presented_tokens(req.headers());
    if presented.is_empty() {
        return ApiError::unauthorized(
            "missing service token: send Authorization: Bearer <token> or X-Service-Token",
        )
        .into_response();
    }
    // Check every candidate so the time taken does not depend on which one matched.
    let ok = presented
        .iter()
        .fold(false, |acc, t| constant_time_eq(t, expected) | acc);
    if !ok {
        return ApiError::unauthorized("invalid service token").into_response();
    }
    next.run(req).await
}

/// Logs method, path (never the query string), status and latency of every request.
pub async fn log_request(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let mut path = req.uri().path().to_string();
    if path.len() > 256 {
        let mut cut = 256;
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        path.truncate(cut);
        path.push_str("...");
    }
    let resp = next.run(req).await;
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        target: "vault_http::request",
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        latency_ms = (latency_ms * 1000.0).round() / 1000.0,
        "request"
    );
    resp
}
