//! The `/api/vault/*` error answer: the core error's HTTP status and
//! `{"code":..,"error":..,"field":..,"success":false}` (`field` only for `invalid`).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vault_client::wire::service_api::ErrorBody;
use vault_core::Error;

pub use crate::server::token_layer::AnsweredError;
use crate::server::token_layer::finish_error;

/// An error answer of the `/api/vault/*` dialect.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError(e)
    }
}

/// Replaces line breaks so a message stays one line.
pub fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let e = self.0;
        let status =
            StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        // A bug's details stay in the log: the client gets the code and a pointer to it.
        let message = if e.error_code() == Some(vault_core::ErrorCode::Internal) {
            "internal error; the details are in the server log".to_string()
        } else {
            one_line(&e.to_string())
        };
        let body = ErrorBody {
            code: e.code().to_string(),
            error: message,
            field: e.field().map(str::to_string),
            success: false,
        };
        finish_error((status, axum::Json(body)).into_response(), &e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_core::ErrorCode;

    #[test]
    fn every_code_answers_with_its_status_and_code() {
        for &code in ErrorCode::ALL {
            let e = Error::from_wire(code.as_str(), "m".into(), Some("f".into()));
            let resp = ApiError(e).into_response();
            assert_eq!(resp.status().as_u16(), code.http_status(), "{code}");
        }
    }
}
