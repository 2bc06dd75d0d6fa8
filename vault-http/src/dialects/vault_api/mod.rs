//! The HashiCorp-Vault-compatible dialect under `/v1/`, so existing Vault clients (hvac,
//! node-vault, curl) work unchanged: `sys/health`, `sys/seal-status`,
//! `auth/token/lookup-self` and KV v2 at `secret/` (see `docs/vault-api.md`). Only its own
//! prefixes are routed (`/v1/sys/...`, `/v1/auth/token/...`, `/v1/secret/...`); the rest of
//! `/v1/` belongs to other dialects.
//!
//! The wire rules (research §0): responses are exactly `application/json` with
//! `Cache-Control: no-store`; 200 carries a JSON body and 204 none; secrets-engine answers are
//! wrapped (`request_id, lease_id, renewable, lease_duration, data, wrap_info, warnings, auth`);
//! errors are `{"errors":[...]}` ([`VaultError`]); the token is `X-Vault-Token` (wins) or
//! `Authorization: Bearer`; request bodies are JSON whatever their content type. Every call
//! goes through vault-core's choke point (policy check + audit) as the credential operations.

mod error;
mod kv;
mod sys;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use serde::Serialize;
use vault_core::{Error, JsonObject, Origin, Vault};

pub use error::VaultError;

use super::Dialect;
use crate::server::token_layer::{self, TokenLayer};
use crate::server::{AppState, extract};

/// The Vault dialect marker.
#[derive(Debug)]
pub struct VaultApi;

impl Dialect for VaultApi {
    type Error = VaultError;
}

/// A raw request body (at most [`extract::MAX_BODY_BYTES`]), wiped when dropped.
type Raw = extract::RawBody<VaultApi, { extract::MAX_BODY_BYTES }>;

/// A JSON response with exactly `Content-Type: application/json` and `Cache-Control: no-store`.
pub(crate) fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = match serde_json::to_vec(body) {
        Ok(b) => b,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let mut resp = (status, bytes).into_response();
    set_headers(&mut resp);
    resp
}

/// 204 with no body (Vault still says `application/json`).
pub(crate) fn no_content() -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    set_headers(&mut resp);
    resp
}

fn set_headers(resp: &mut Response) {
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// The wrapper of every secrets-engine and auth answer, keys in Vault's order.
#[derive(Serialize)]
pub(crate) struct Wrapped<T: Serialize> {
    request_id: String,
    lease_id: &'static str,
    renewable: bool,
    lease_duration: u64,
    data: T,
    wrap_info: Option<()>,
    warnings: Option<Vec<String>>,
    auth: Option<()>,
}

/// `data` wrapped for request `origin` (its request id), with `warnings` (`null` when none).
pub(crate) fn wrap<T: Serialize>(origin: &Origin, data: T, warnings: Vec<String>) -> Wrapped<T> {
    Wrapped {
        request_id: origin.request_id.clone().unwrap_or_default(),
        lease_id: "",
        renewable: false,
        lease_duration: 0,
        data,
        wrap_info: None,
        warnings: (!warnings.is_empty()).then_some(warnings),
        auth: None,
    }
}

/// A JSON body parsed as an object: an empty body is `{}` (Vault accepts one); the content type
/// is not looked at. Errors never echo the body.
pub(crate) fn parse_object(body: &[u8]) -> Result<JsonObject, Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(JsonObject::new());
    }
    match extract::parse_json::<serde_json::Value>(body)? {
        serde_json::Value::Object(m) => Ok(m),
        _ => Err(Error::invalid("body", "expected a JSON object")),
    }
}

/// The warning Vault gives for body fields an endpoint does not know (`None` when all known).
pub(crate) fn unknown_fields_warning(body: &JsonObject, known: &[&str]) -> Option<String> {
    let mut unknown: Vec<&str> = body
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    unknown.sort_unstable();
    // Field names are the client's; keep only plain ones in the answer.
    let shown: Vec<&str> = unknown
        .into_iter()
        .map(|k| {
            let plain = k.len() <= 64
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
            if plain { k } else { "(unnamed)" }
        })
        .collect();
    Some(format!(
        "Endpoint ignored these unrecognized parameters: [{}]",
        shown.join(" ")
    ))
}

/// The tokens a Vault request presents: `X-Vault-Token` when there is one (it wins), else
/// `Authorization: Bearer <t>` (the scheme is case-sensitive, as in OpenBao).
fn vault_tokens(headers: &HeaderMap) -> Vec<&[u8]> {
    let vault: Vec<&[u8]> = headers
        .get_all("x-vault-token")
        .iter()
        .map(|v| v.as_bytes().trim_ascii())
        .collect();
    if !vault.is_empty() {
        return vault;
    }
    headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .map(<[u8]>::trim_ascii)
        .collect()
}

/// The authenticated caller's vault and the request's origin (request extensions set by
/// [`require_token`]).
pub(crate) struct CallerVault(pub Vault, pub Origin);

impl axum::extract::FromRequestParts<AppState> for CallerVault {
    type Rejection = VaultError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, VaultError> {
        let (vault, origin) = token_layer::caller_vault(parts, state)?;
        let origin = origin.ok_or_else(|| Error::Internal("route has no origin".into()))?;
        Ok(CallerVault(vault, origin))
    }
}

/// Lets the request through only with a valid token (`X-Vault-Token`, else `Authorization:
/// Bearer`; any failure is 403 `permission denied`); a request refused before it became an
/// operation is audited as its raw path (the routes are wildcards); see [`TokenLayer`].
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    const LAYER: TokenLayer = TokenLayer {
        presented: vault_tokens,
        audit_matched_route: false,
        echo_request_id: false,
    };
    LAYER.run::<VaultApi>(state, req, next).await
}

/// The dialect's routes: `sys/health` and `sys/seal-status` open (as in Vault), the rest
/// behind the token.
pub fn routes(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route(
            "/v1/auth/token/lookup-self",
            get(sys::lookup_self).fallback(method_not_allowed),
        )
        .route("/v1/secret/{*path}", any(kv::dispatch))
        .route("/v1/secret", any(kv::dispatch_root))
        .route("/v1/secret/", any(kv::dispatch_root))
        .route_layer(axum::middleware::from_fn_with_state(state, require_token));
    Router::new()
        .route(
            "/v1/sys/health",
            get(sys::health).fallback(method_not_allowed),
        )
        .route(
            "/v1/sys/seal-status",
            get(sys::seal_status).fallback(method_not_allowed),
        )
        .route("/v1/sys/init", get(sys::init).fallback(method_not_allowed))
        // The rest of this dialect's prefixes answer in its own format, not another dialect's.
        .route("/v1/sys/{*rest}", any(no_route))
        .route("/v1/auth/{*rest}", any(no_route))
        .merge(protected)
}

/// A path under this dialect's prefixes that no route serves: 404 `{"errors":[]}`.
async fn no_route() -> VaultError {
    Error::NotFound("no handler for this route".into()).into()
}

/// A known path of this dialect with another method: 405 `{"errors":[]}`.
async fn method_not_allowed() -> VaultError {
    Error::MethodNotAllowed("method not allowed".into()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_vault_token_wins_and_bearer_is_case_sensitive() {
        let mut h = HeaderMap::new();
        h.insert("authorization", HeaderValue::from_static("Bearer b"));
        assert_eq!(vault_tokens(&h), vec![b"b".as_slice()]);
        h.insert("x-vault-token", HeaderValue::from_static("v"));
        assert_eq!(vault_tokens(&h), vec![b"v".as_slice()]);
        let mut lower = HeaderMap::new();
        lower.insert("authorization", HeaderValue::from_static("bearer b"));
        assert!(vault_tokens(&lower).is_empty());
    }

    #[test]
    fn unknown_fields_are_named_plainly() {
        let body = parse_object(br#"{"data":{},"bogus":1,"we ird":2}"#).expect("object");
        assert_eq!(
            unknown_fields_warning(&body, &["data", "options"]).as_deref(),
            Some("Endpoint ignored these unrecognized parameters: [bogus (unnamed)]")
        );
        assert!(unknown_fields_warning(&body, &["data", "bogus", "we ird"]).is_none());
        assert!(parse_object(b"  ").expect("empty").is_empty());
        assert!(parse_object(b"[1]").is_err());
    }
}
