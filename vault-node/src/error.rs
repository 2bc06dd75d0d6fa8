//! Maps [`vault_core::Error`] to the error a Promise rejects with, and lists the stable codes.
//!
//! napi's async bridge only carries its own `Status` enum, so the stable code travels in the
//! message: `[vault:<code>] <message>`, or `[vault:invalid field=<field>] <message>` when an
//! `invalid` error names its field (field names never contain whitespace). The JS wrapper strips the prefix and sets `error.code`
//! (a code this build does not know, from a newer server, is kept as sent);
//! `__test__/errors.test.mjs` checks the mapping. vault-core messages never contain a secret
//! value, and nothing is added here.

use napi::Status;
use napi_derive::napi;
use vault_core::ErrorCode;

/// The prefix the JS wrapper looks for: `[vault:` + code + `] `.
pub const CODE_PREFIX: &str = "[vault:";

/// Converts a vault error into a napi error whose message starts with `[vault:<code>] ` (plus
/// ` field=<field>` inside the brackets for an `invalid` error).
pub fn to_napi(err: vault_core::Error) -> napi::Error {
    let field = err
        .field()
        .filter(|f| !f.is_empty() && !f.contains(char::is_whitespace))
        .map(|f| format!(" field={f}"))
        .unwrap_or_default();
    napi::Error::new(
        Status::GenericFailure,
        format!("{CODE_PREFIX}{}{field}] {err}", err.code()),
    )
}

/// Shorthand for results of vault-core calls.
pub trait IntoNapi<T> {
    /// Maps the error with [`to_napi`].
    fn napi(self) -> napi::Result<T>;
}

impl<T> IntoNapi<T> for vault_core::Result<T> {
    fn napi(self) -> napi::Result<T> {
        self.map_err(to_napi)
    }
}

/// Every stable error code ([`ErrorCode::ALL`]), in the order of the design's error table. The
/// wrapper's `ERROR_CODES` must equal this list (checked by `__test__/errors.test.mjs`).
#[napi]
pub fn error_codes() -> Vec<String> {
    ErrorCode::ALL
        .iter()
        .map(|c| c.as_str().to_string())
        .collect()
}
