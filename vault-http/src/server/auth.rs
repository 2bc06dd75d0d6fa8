//! Authentication shared by every dialect: who a request's token says the caller is.

use axum::http::HeaderMap;
use vault_core::crypto::constant_time_eq;
use vault_core::{Caller, Error, Result};

use super::AppState;

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

/// The caller a request's token identifies: the root token (compared in constant time) is
/// [`Caller::Root`]; no token or another one is `unauthorized`.
pub fn authenticate(headers: &HeaderMap, state: &AppState) -> Result<Caller> {
    let expected = state.token().expose_secret().as_bytes();
    let presented = presented_tokens(headers);
    if presented.is_empty() {
        return Err(Error::Unauthorized(
            "missing service token: send Authorization: Bearer <token> or X-Service-Token".into(),
        ));
    }
    // Check every candidate so the time taken does not depend on which one matched.
    let ok = presented
        .iter()
        .fold(false, |acc, t| constant_time_eq(t, expected) | acc);
    if ok {
        Ok(Caller::Root)
    } else {
        Err(Error::Unauthorized("invalid service token".into()))
    }
}
