//! The token layer every dialect puts in front of its protected routes, written once: it
//! authenticates the request (the tokens a dialect reads from its own headers), records the
//! caller and the request's origin as request extensions, audits a request refused before it
//! became an operation (its input did not parse: the response carries [`AnsweredError`]), and
//! renders every failure in the dialect's own error format. [`caller_vault`] is the other
//! half: the vault as the authenticated caller, for a dialect's extractor.

use axum::extract::{ConnectInfo, MatchedPath, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vault_core::{Caller, Error, Origin, Result, Vault};

use super::{AppState, auth};
use crate::dialects::Dialect;

/// The error code a response answered with (a response extension set by each dialect's error
/// rendering, so that the token layer can audit requests refused before they became an
/// operation).
#[derive(Debug, Clone)]
pub struct AnsweredError(pub String);

/// What every dialect's error answer shares, applied to the answer `resp` it rendered for
/// `e`: a server error is logged (vault-core messages never carry secret values), the answer
/// carries its code as [`AnsweredError`] (for the audit of refused requests), and a
/// `Retry-After` header when the error has one.
pub fn finish_error(mut resp: Response, e: &Error) -> Response {
    if resp.status().is_server_error() {
        tracing::error!(code = e.code(), error = %e, "request failed");
    }
    resp.extensions_mut()
        .insert(AnsweredError(e.code().to_string()));
    if let Some(secs) = e.retry_after() {
        resp.headers_mut()
            .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// How a dialect's token layer differs from another's.
pub struct TokenLayer {
    /// The tokens the request presents, from this dialect's headers.
    pub presented: for<'h> fn(&'h HeaderMap) -> Vec<&'h [u8]>,
    /// The route a request refused before it became an operation is audited as: the matched
    /// route pattern, or (`false`) the raw path, bounded (for wildcard routes, where the
    /// pattern says little).
    pub audit_matched_route: bool,
    /// Whether every answer echoes the request id as `X-Request-Id`.
    pub echo_request_id: bool,
}

/// Longest raw path an audit entry names (longer ones end in `...`).
const MAX_AUDITED_PATH: usize = 256;

impl TokenLayer {
    /// Runs `next` for an authenticated request; answers in dialect `D`'s error format
    /// otherwise.
    pub async fn run<D: Dialect>(&self, state: AppState, mut req: Request, next: Next) -> Response {
        let peer = req
            .extensions()
            .get::<ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip());
        let origin = auth::origin(
            req.headers(),
            peer,
            state.token().expose_secret().as_bytes(),
        );
        let request_id = origin.request_id.clone();
        let presented = (self.presented)(req.headers());
        let mut resp = match auth::authenticate_tokens(presented, &state, peer, &origin).await {
            Ok(caller) => {
                let id = auth::CallerId(caller.id().to_string());
                let route = self.route(&req);
                req.extensions_mut().insert(caller.clone());
                req.extensions_mut().insert(origin.clone());
                let mut resp = next.run(req).await;
                if !origin.recorded()
                    && let Some(AnsweredError(code)) = resp.extensions().get().cloned()
                {
                    let recorded = match state.vault() {
                        Ok(vault) => {
                            let vault = vault.with_caller(caller).with_origin(origin);
                            vault.record_rejected(&route, &code).await
                        }
                        Err(e) => Err(e),
                    };
                    if let Err(e) = recorded {
                        resp = D::Error::from(e).into_response();
                    }
                }
                resp.extensions_mut().insert(id);
                resp
            }
            Err(e) => D::Error::from(e).into_response(),
        };
        if self.echo_request_id
            && let Some(v) = request_id.and_then(|id| HeaderValue::from_str(&id).ok())
        {
            resp.headers_mut().insert(auth::REQUEST_ID, v);
        }
        resp
    }

    fn route(&self, req: &Request) -> String {
        if self.audit_matched_route
            && let Some(m) = req.extensions().get::<MatchedPath>()
        {
            return m.as_str().to_string();
        }
        // The raw (still percent-encoded, so ASCII) path.
        let mut route = req.uri().path().to_string();
        if route.len() > MAX_AUDITED_PATH {
            route.truncate(MAX_AUDITED_PATH);
            route.push_str("...");
        }
        route
    }
}

/// The vault as the authenticated caller of this request, with the request's origin (the
/// extensions [`TokenLayer::run`] sets).
pub fn caller_vault(parts: &Parts, state: &AppState) -> Result<(Vault, Option<Origin>)> {
    let caller = parts
        .extensions
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Error::Internal("route is not behind authentication".into()))?;
    let origin = parts.extensions.get::<Origin>().cloned();
    let mut vault = state.vault()?.with_caller(caller);
    if let Some(o) = &origin {
        vault = vault.with_origin(o.clone());
    }
    Ok((vault, origin))
}
