//! The `/api/vault/*` error body, `{"success":false,"error":..,"code":..}`, and the mapping of
//! vault-core error codes to HTTP statuses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vault_core::Error;

/// An error answer of the `/api/vault/*` dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine code.
    pub code: &'static str,
    /// A sentence for people; never a secret or a submitted value.
    pub message: String,
}

impl ApiError {
    /// An `invalid` (400) error naming `field`.
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> ApiError {
        Error::invalid(field, reason).into()
    }

    /// 401 `unauthorized`.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        Error::Unauthorized(message.into()).into()
    }

    /// 404 for a path no route serves.
    pub fn no_route() -> ApiError {
        Error::NotFound("no such endpoint".into()).into()
    }

    /// 405 for a route that exists but not with this method.
    pub fn method_not_allowed() -> ApiError {
        ApiError {
            status: StatusCode::METHOD_NOT_ALLOWED,
            code: "method_not_allowed",
            message: "method not allowed on this endpoint".into(),
        }
    }

    /// 413 for a body over the limit.
    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
            message: format!("request body is larger than {limit} bytes"),
        }
    }
}

/// The HTTP status of a vault-core error code.
pub fn status_of(code: &str) -> StatusCode {
    match code {
        "not_found" => StatusCode::NOT_FOUND,
        "conflict" => StatusCode::CONFLICT,
        "invalid" => StatusCode::BAD_REQUEST,
        "unauthorized" => StatusCode::UNAUTHORIZED,
        "forbidden" => StatusCode::FORBIDDEN,
        "wrong_key" | "sealed" | "backend_unavailable" | "unavailable" => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let code = e.code();
        let status = status_of(code);
        if status.is_server_error() {
            // vault-core messages are safe to log: they never carry secret values.
            tracing::error!(code, error = %e, "request failed");
        }
        ApiError {
            status,
            code,
            message: one_line(&e.to_string()),
        }
    }
}

/// Replaces line breaks so a message stays one line.
pub fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "success": false,
            "error": self.message,
            "code": self.code,
        });
        (self.status, axum::Json(body)).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_status() {
        let cases = [
            (Error::NotFound("x".into()), 404),
            (Error::Conflict("x".into()), 409),
            (Error::invalid("f", "r"), 400),
            (Error::Unauthorized("x".into()), 401),
            (Error::Forbidden("x".into()), 403),
            (Error::WrongKey, 503),
            (Error::Integrity, 500),
            (Error::BackendUnavailable("x".into()), 503),
            (Error::Unavailable("x".into()), 503),
            (Error::Internal("x".into()), 500),
        ];
        for (e, status) in cases {
            let code = e.code();
            let api = ApiError::from(e);
            assert_eq!(api.status.as_u16(), status, "{code}");
            assert_eq!(api.code, code);
        }
        assert_eq!(ApiError::method_not_allowed().status.as_u16(), 405);
        assert_eq!(ApiError::payload_too_large(1).status.as_u16(), 413);
    }
}
