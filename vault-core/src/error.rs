//! The one error type of the vault and its stable machine codes.
//!
//! Message text is for people and may change; [`Error::code`] is the API every adapter exposes
//! (HTTP `code` field, Python exception class, Node `error.code`). No message ever carries a
//! secret value.

/// Result alias used across vault-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No such credential, config, version or record. The message names what was looked for.
    #[error("{0}")]
    NotFound(String),
    /// A compare-and-set lost, a duplicate, or an ambiguous lookup.
    #[error("{0}")]
    Conflict(String),
    /// Bad input: `field` names the offending input, `reason` says why.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// The input field (or path parameter) that was rejected.
        field: String,
        /// Why it was rejected; never contains the submitted value.
        reason: String,
    },
    /// No token, or a token the vault does not know.
    #[error("{0}")]
    Unauthorized(String),
    /// The token is known but its policy does not allow this operation.
    #[error("{0}")]
    Forbidden(String),
    /// The root key does not open this vault's data (the canary failed).
    #[error("the encryption key does not match this vault's data")]
    WrongKey,
    /// A stored record failed its integrity check (tampered or corrupt ciphertext).
    #[error("a stored record failed its integrity check")]
    Integrity,
    /// The storage backend failed or cannot be reached.
    #[error("storage backend unavailable: {0}")]
    BackendUnavailable(String),
    /// A remote vault could not be reached (network error, timeout, server gone).
    #[error("vault unavailable: {0}")]
    Unavailable(String),
    /// A bug. The message is safe to show; details go to the log.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The stable snake_case code of this error (see `docs/error-codes.md`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Invalid { .. } => "invalid",
            Error::Unauthorized(_) => "unauthorized",
            Error::Forbidden(_) => "forbidden",
            Error::WrongKey => "wrong_key",
            Error::Integrity => "integrity",
            Error::BackendUnavailable(_) => "backend_unavailable",
            Error::Unavailable(_) => "unavailable",
            Error::Internal(_) => "internal",
        }
    }

    /// Rebuilds an error from its stable code and message (used by the remote client).
    pub fn from_code(code: &str, message: impl Into<String>) -> Error {
        let message = message.into();
        match code {
            "not_found" => Error::NotFound(message),
            "conflict" => Error::Conflict(message),
            "invalid" => match message
                .strip_prefix("invalid ")
                .and_then(|rest| rest.split_once(": "))
            {
                // The Display form of `Invalid` is "invalid <field>: <reason>": split it back.
                Some((field, reason)) if !field.is_empty() && !field.contains(' ') => {
                    Error::invalid(field, reason)
                }
                _ => Error::invalid("request", message),
            },
            "unauthorized" => Error::Unauthorized(message),
            "forbidden" => Error::Forbidden(message),
            "wrong_key" => Error::WrongKey,
            "integrity" => Error::Integrity,
            "backend_unavailable" => Error::BackendUnavailable(message),
            "unavailable" => Error::Unavailable(message),
            _ => Error::Internal(message),
        }
    }

    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::BackendUnavailable(format!("sled: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_through_from_code() {
        let all = [
            Error::NotFound("x".into()),
            Error::Conflict("x".into()),
            Error::invalid("f", "r"),
            Error::Unauthorized("x".into()),
            Error::Forbidden("x".into()),
            Error::WrongKey,
            Error::Integrity,
            Error::BackendUnavailable("x".into()),
            Error::Unavailable("x".into()),
            Error::Internal("x".into()),
        ];
        for e in all {
            assert_eq!(Error::from_code(e.code(), "x").code(), e.code());
        }
    }

    #[test]
    fn invalid_round_trips_its_field_through_the_message() {
        let e = Error::invalid("symbols[1]", "must be 1 to 64 printable characters");
        match Error::from_code(e.code(), e.to_string()) {
            Error::Invalid { field, reason } => {
                assert_eq!(field, "symbols[1]");
                assert_eq!(reason, "must be 1 to 64 printable characters");
            }
            other => panic!("{other:?}"),
        }
        match Error::from_code("invalid", "request body is not valid JSON") {
            Error::Invalid { field, reason } => {
                assert_eq!(field, "request");
                assert_eq!(reason, "request body is not valid JSON");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invalid_names_field_and_reason() {
        let e = Error::invalid("symbols", "must be an array of strings");
        assert_eq!(
            e.to_string(),
            "invalid symbols: must be an array of strings"
        );
    }
}
