//! The OpenAI dialect's error answer: `{"error": {"message", "type", "code", "param"}}` with the
//! status OpenAI's clients map to their exceptions (400 `BadRequestError`, 401
//! `AuthenticationError`, 403 `PermissionDeniedError`, 404 `NotFoundError`, 429
//! `RateLimitError`, 5xx `InternalServerError`). A refusal at a limit names the limit, with
//! `Retry-After` and `x-ratelimit-*` headers.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vault_core::inference::Refusal;
use vault_core::{Error, ErrorCode};

use crate::dialects::service_api::one_line;
use crate::server::token_layer::finish_error;

/// An error answer of the OpenAI dialect.
#[derive(Debug)]
pub enum OpenAiError {
    /// A core error.
    Core(Error),
    /// A call refused at a limit.
    Limited(Refusal),
}

impl From<Error> for OpenAiError {
    fn from(e: Error) -> Self {
        OpenAiError::Core(e)
    }
}

/// The status, `type` and `code` of a core error in this dialect.
fn shape(e: &Error) -> (u16, &'static str, String) {
    let code = e.error_code();
    let (status, kind) = match code {
        Some(ErrorCode::Invalid) => (400, "invalid_request_error"),
        Some(ErrorCode::Unauthorized) => (401, "invalid_request_error"),
        Some(ErrorCode::Forbidden) => (403, "permission_error"),
        Some(ErrorCode::NotFound) => (404, "invalid_request_error"),
        Some(ErrorCode::PayloadTooLarge) => (413, "invalid_request_error"),
        Some(ErrorCode::MethodNotAllowed) => (405, "invalid_request_error"),
        Some(ErrorCode::RateLimited | ErrorCode::BudgetExhausted) => (429, "rate_limit_exceeded"),
        // An upstream's failure is a bad gateway; the store's, unavailable.
        Some(ErrorCode::BackendUnavailable) if matches!(e, Error::Upstream(_)) => {
            (502, "api_error")
        }
        _ => (e.http_status(), "api_error"),
    };
    let code = match code {
        Some(ErrorCode::Unauthorized) => "invalid_api_key".to_string(),
        Some(ErrorCode::NotFound) => "model_not_found".to_string(),
        Some(ErrorCode::Forbidden) => "model_not_permitted".to_string(),
        Some(ErrorCode::Invalid) => "invalid_value".to_string(),
        _ => e.code().to_string(),
    };
    (status, kind, code)
}

fn body(status: u16, kind: &str, code: &str, message: &str, param: Option<&str>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let doc = json!({"error": {"message": message, "type": kind, "code": code, "param": param}});
    (status, axum::Json(doc)).into_response()
}

/// The `x-ratelimit-*` headers of a window: limit, remaining, reset (seconds, as `12s`).
pub fn ratelimit_headers(
    headers: &mut HeaderMap,
    tokens: bool,
    limit: u64,
    remaining: u64,
    reset_secs: u64,
) {
    let what = if tokens { "tokens" } else { "requests" };
    for (name, value) in [
        (format!("x-ratelimit-limit-{what}"), limit.to_string()),
        (
            format!("x-ratelimit-remaining-{what}"),
            remaining.to_string(),
        ),
        (
            format!("x-ratelimit-reset-{what}"),
            format!("{reset_secs}s"),
        ),
    ] {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::try_from(name),
            HeaderValue::from_str(&value),
        ) {
            headers.insert(n, v);
        }
    }
}

impl IntoResponse for OpenAiError {
    fn into_response(self) -> Response {
        match self {
            OpenAiError::Core(e) => {
                let (status, kind, code) = shape(&e);
                let message = if e.error_code() == Some(ErrorCode::Internal) {
                    "internal error; the details are in the server log".to_string()
                } else {
                    one_line(&e.to_string())
                };
                finish_error(body(status, kind, &code, &message, e.field()), &e)
            }
            OpenAiError::Limited(r) => {
                let mut resp = body(429, "rate_limit_exceeded", r.code(), &r.message(), None);
                let h = resp.headers_mut();
                h.insert(
                    axum::http::header::RETRY_AFTER,
                    HeaderValue::from(r.retry_after_secs),
                );
                ratelimit_headers(
                    h,
                    r.limit == "daily_tokens",
                    r.cap,
                    r.cap.saturating_sub(r.used),
                    r.retry_after_secs,
                );
                resp
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_answers_in_openai_shape_with_the_status_its_clients_expect() {
        for &code in ErrorCode::ALL {
            let e = Error::from_wire(code.as_str(), "m".into(), Some("f".into()));
            let resp = OpenAiError::Core(e).into_response();
            let want = match code {
                ErrorCode::Invalid => 400,
                ErrorCode::GuardRejected | ErrorCode::ProposalMismatch => 422,
                c => c.http_status(),
            };
            assert_eq!(resp.status().as_u16(), want, "{code}");
        }
        let up = OpenAiError::Core(Error::Upstream("x".into())).into_response();
        assert_eq!(up.status().as_u16(), 502);
    }
}
