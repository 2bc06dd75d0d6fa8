//! The Vault dialect's error answer: `{"errors": [...]}` with Vault's status codes. Every
//! authentication or authorization failure is 403 `{"errors":["permission denied"]}` (hvac's
//! `is_authenticated` and both clients' error classes depend on it); a missing secret is 404
//! `{"errors":[]}`; bad input is 400 with a safe message (vault-core messages never carry a
//! submitted value).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vault_core::{Error, ErrorCode};

use super::json_response;

use crate::server::token_layer::finish_error;

/// An error answer of the Vault dialect.
#[derive(Debug)]
pub struct VaultError(pub Error);

impl From<Error> for VaultError {
    fn from(e: Error) -> Self {
        VaultError(e)
    }
}

/// The `check-and-set` failure text Vault answers (clients match on it).
pub const CAS_MISMATCH: &str = "check-and-set parameter did not match the current version";

impl VaultError {
    /// The status and the `errors` list of `e`.
    fn parts(e: &Error) -> (StatusCode, Vec<String>) {
        let message = || crate::dialects::service_api::one_line(&e.to_string());
        match e.error_code() {
            Some(ErrorCode::Unauthorized | ErrorCode::Forbidden) => {
                (StatusCode::FORBIDDEN, vec!["permission denied".into()])
            }
            Some(ErrorCode::NotFound) => (StatusCode::NOT_FOUND, vec![]),
            Some(ErrorCode::MethodNotAllowed) => (StatusCode::METHOD_NOT_ALLOWED, vec![]),
            // Vault answers a lost compare-and-set (and every other bad request) with 400.
            Some(ErrorCode::Invalid | ErrorCode::Conflict) => {
                (StatusCode::BAD_REQUEST, vec![message()])
            }
            Some(ErrorCode::Internal) | None => (
                StatusCode::INTERNAL_SERVER_ERROR,
                vec!["internal error; the details are in the server log".into()],
            ),
            Some(_) => (
                StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                vec![message()],
            ),
        }
    }
}

impl IntoResponse for VaultError {
    fn into_response(self) -> Response {
        let e = self.0;
        let (status, errors) = VaultError::parts(&e);
        let resp = json_response(status, &serde_json::json!({ "errors": errors }));
        finish_error(resp, &e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_failures_are_403_and_missing_is_404() {
        for &code in ErrorCode::ALL {
            let e = Error::from_wire(code.as_str(), "planted-msg".into(), Some("f".into()));
            let (status, errors) = VaultError::parts(&e);
            match code {
                ErrorCode::Unauthorized | ErrorCode::Forbidden => {
                    assert_eq!(status, StatusCode::FORBIDDEN);
                    assert_eq!(errors, vec!["permission denied".to_string()]);
                }
                ErrorCode::NotFound => {
                    assert_eq!(status, StatusCode::NOT_FOUND);
                    assert!(errors.is_empty());
                }
                ErrorCode::Invalid | ErrorCode::Conflict => {
                    assert_eq!(status, StatusCode::BAD_REQUEST)
                }
                ErrorCode::Internal => {
                    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
                    assert!(!errors[0].contains("planted-msg"));
                }
                _ => assert_eq!(status.as_u16(), code.http_status(), "{code}"),
            }
        }
    }
}
