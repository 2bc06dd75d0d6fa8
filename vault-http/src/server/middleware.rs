//! Middleware shared by every dialect: the one-line-per-request log.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;

/// Logs method, path (never the query string), status, latency and, once authenticated, the
/// caller's public id (`root`, `tok_...`) of every request.
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
    let caller = resp
        .extensions()
        .get::<super::auth::CallerId>()
        .map_or("-", |c| c.0.as_str());
    tracing::info!(
        target: "vault_http::request",
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        latency_ms = (latency_ms * 1000.0).round() / 1000.0,
        caller = %caller,
        "request"
    );
    resp
}
