//! The one error type of the vault and the one table of its stable machine codes.
//!
//! Message text is for people and may change; the code ([`Error::code`], [`ErrorCode`]) is the
//! API every adapter exposes (HTTP `code` field, Python exception class, Node `error.code`).
//! [`ErrorCode::ALL`] is the list every adapter's table is checked against. No message ever
//! carries a secret value.

/// Result alias used across vault-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Every stable error code, with its HTTP status. Adapters map from this list and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    /// No such credential, config, version or record.
    NotFound,
    /// A compare-and-set lost, a duplicate, or an ambiguous lookup.
    Conflict,
    /// Bad input, with the field and why.
    Invalid,
    /// No token, or a token the vault does not know.
    Unauthorized,
    /// The token's policy does not allow this operation.
    Forbidden,
    /// A trading guard said no.
    GuardRejected,
    /// An idempotent claim was already taken.
    AlreadyExecuted,
    /// A proposal id was reused with different trade fields.
    ProposalMismatch,
    /// Too many requests; retry later.
    RateLimited,
    /// A budget (LLM calls, spend) is used up.
    BudgetExhausted,
    /// The root key does not open this vault's data.
    WrongKey,
    /// A stored record failed authentication (tampered, rolled back, corrupt).
    Integrity,
    /// A request body over the limit (HTTP only).
    PayloadTooLarge,
    /// A method the endpoint does not serve (HTTP only).
    MethodNotAllowed,
    /// The store or an inference upstream is down.
    BackendUnavailable,
    /// Client side: the server cannot be reached.
    Unavailable,
    /// A bug; never leaks internals or secrets.
    Internal,
}

impl ErrorCode {
    /// Every code, in the order of the design's error table.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::Invalid,
        ErrorCode::Unauthorized,
        ErrorCode::Forbidden,
        ErrorCode::GuardRejected,
        ErrorCode::AlreadyExecuted,
        ErrorCode::ProposalMismatch,
        ErrorCode::RateLimited,
        ErrorCode::BudgetExhausted,
        ErrorCode::WrongKey,
        ErrorCode::Integrity,
        ErrorCode::PayloadTooLarge,
        ErrorCode::MethodNotAllowed,
        ErrorCode::BackendUnavailable,
        ErrorCode::Unavailable,
        ErrorCode::Internal,
    ];

    /// The stable snake_case string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::Invalid => "invalid",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::GuardRejected => "guard_rejected",
            ErrorCode::AlreadyExecuted => "already_executed",
            ErrorCode::ProposalMismatch => "proposal_mismatch",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::BudgetExhausted => "budget_exhausted",
            ErrorCode::WrongKey => "wrong_key",
            ErrorCode::Integrity => "integrity",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::BackendUnavailable => "backend_unavailable",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code named `s`, if this build knows it.
    pub fn parse(s: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// The HTTP status a server answers with. `unavailable` is produced by clients only; a
    /// server that relays it answers 503.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::AlreadyExecuted => 409,
            ErrorCode::Invalid => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::GuardRejected | ErrorCode::ProposalMismatch => 422,
            ErrorCode::RateLimited | ErrorCode::BudgetExhausted => 429,
            ErrorCode::WrongKey | ErrorCode::BackendUnavailable | ErrorCode::Unavailable => 503,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::Integrity | ErrorCode::Internal => 500,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in the vault.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// A trade proposal id was decided before with other trade fields.
    #[error("{0}")]
    ProposalMismatch(String),
    /// Too many requests (or failed attempts); retry after `retry_after_secs` seconds.
    #[error("{message}")]
    RateLimited {
        /// A sentence for people.
        message: String,
        /// Seconds until a retry can succeed.
        retry_after_secs: u64,
    },
    /// A request body over the limit (HTTP only); the message says the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// A method the endpoint does not serve (HTTP only).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The storage backend failed or cannot be reached.
    #[error("storage backend unavailable: {0}")]
    BackendUnavailable(String),
    /// A remote vault could not be reached (network error, timeout, server gone).
    #[error("vault unavailable: {0}")]
    Unavailable(String),
    /// A bug. The message is safe to show; details go to the log.
    #[error("internal error: {0}")]
    Internal(String),
    /// An inference upstream failed or cannot be reached (code `backend_unavailable`; the
    /// OpenAI dialect answers 502). The message names the upstream's status, never its body.
    #[error("inference upstream unavailable: {0}")]
    Upstream(String),
    /// An error received from a server with a code this build has no variant for (a newer
    /// server, or a family built later); the code is kept as sent.
    #[error("{message}")]
    Other {
        /// The code as the server sent it.
        code: String,
        /// The server's message.
        message: String,
    },
}

impl Error {
    /// The stable snake_case code of this error (see `docs/error-codes.md`).
    pub fn code(&self) -> &str {
        match self {
            Error::Other { code, .. } => code,
            _ => self.known_code().map_or("internal", ErrorCode::as_str),
        }
    }

    /// The code as an [`ErrorCode`], when this build knows it.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            Error::Other { code, .. } => ErrorCode::parse(code),
            _ => self.known_code(),
        }
    }

    fn known_code(&self) -> Option<ErrorCode> {
        Some(match self {
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::Invalid { .. } => ErrorCode::Invalid,
            Error::Unauthorized(_) => ErrorCode::Unauthorized,
            Error::Forbidden(_) => ErrorCode::Forbidden,
            Error::WrongKey => ErrorCode::WrongKey,
            Error::Integrity => ErrorCode::Integrity,
            Error::RateLimited { .. } => ErrorCode::RateLimited,
            Error::ProposalMismatch(_) => ErrorCode::ProposalMismatch,
            Error::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Error::MethodNotAllowed(_) => ErrorCode::MethodNotAllowed,
            Error::BackendUnavailable(_) | Error::Upstream(_) => ErrorCode::BackendUnavailable,
            Error::Unavailable(_) => ErrorCode::Unavailable,
            Error::Internal(_) => ErrorCode::Internal,
            Error::Other { .. } => return None,
        })
    }

    /// The HTTP status of this error's code (500 for a code this build does not know).
    pub fn http_status(&self) -> u16 {
        self.error_code().map_or(500, ErrorCode::http_status)
    }

    /// The input field an `invalid` error names.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// For `rate_limited`: seconds until a retry can succeed.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Error::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// Rebuilds an error from what a server sent: its code, its message and (for `invalid`)
    /// the field. Used by remote clients; never parses the message to find the field.
    pub fn from_wire(code: &str, message: String, field: Option<String>) -> Error {
        match ErrorCode::parse(code) {
            Some(ErrorCode::NotFound) => Error::NotFound(message),
            Some(ErrorCode::Conflict) => Error::Conflict(message),
            Some(ErrorCode::Invalid) => {
                let field = field.unwrap_or_else(|| "request".to_string());
                // The message is "invalid <field>: <reason>" when it came from `Invalid`.
                let prefix = format!("invalid {field}: ");
                let reason = match message.strip_prefix(&prefix) {
                    Some(r) => r.to_string(),
                    None => message,
                };
                Error::Invalid { field, reason }
            }
            Some(ErrorCode::Unauthorized) => Error::Unauthorized(message),
            Some(ErrorCode::Forbidden) => Error::Forbidden(message),
            Some(ErrorCode::WrongKey) => Error::WrongKey,
            Some(ErrorCode::Integrity) => Error::Integrity,
            // The wire body has no retry delay (HTTP sends it as a header): one second.
            Some(ErrorCode::RateLimited) => Error::RateLimited {
                message,
                retry_after_secs: 1,
            },
            Some(ErrorCode::ProposalMismatch) => Error::ProposalMismatch(message),
            Some(ErrorCode::PayloadTooLarge) => Error::PayloadTooLarge(message),
            Some(ErrorCode::MethodNotAllowed) => Error::MethodNotAllowed(message),
            Some(ErrorCode::BackendUnavailable) => Error::BackendUnavailable(message),
            Some(ErrorCode::Unavailable) => Error::Unavailable(message),
            Some(ErrorCode::Internal) => Error::Internal(message),
            _ => Error::Other {
                code: code.to_string(),
                message,
            },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_the_wire() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            let e = Error::from_wire(code.as_str(), "msg".into(), Some("f".into()));
            assert_eq!(e.code(), code.as_str());
            assert_eq!(e.error_code(), Some(code));
            assert_eq!(e.http_status(), code.http_status());
        }
        let strings: std::collections::BTreeSet<_> =
            ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(strings.len(), ErrorCode::ALL.len(), "codes are distinct");
    }

    #[test]
    fn unknown_codes_are_kept() {
        let e = Error::from_wire("shiny_new_code", "m".into(), None);
        assert_eq!(e.code(), "shiny_new_code");
        assert_eq!(e.error_code(), None);
        assert_eq!(e.http_status(), 500);
        assert_eq!(e.to_string(), "m");
    }

    #[test]
    fn invalid_takes_its_field_from_the_wire_not_the_text() {
        let e = Error::invalid("symbols[1]", "must be 1 to 64 printable characters");
        match Error::from_wire(e.code(), e.to_string(), e.field().map(str::to_string)) {
            Error::Invalid { field, reason } => {
                assert_eq!(field, "symbols[1]");
                assert_eq!(reason, "must be 1 to 64 printable characters");
            }
            other => panic!("{other:?}"),
        }
        // Without a field the whole message is the reason and the field is "request".
        match Error::from_wire("invalid", "request body is not valid JSON".into(), None) {
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
        assert_eq!(e.field(), Some("symbols"));
    }
}
