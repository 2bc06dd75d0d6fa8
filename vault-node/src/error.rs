//! Maps [`vault_core::Error`] to the error a Promise rejects with.
//!
//! napi's async bridge only carries its own `Status` enum, so the stable code travels in the
//! message: `[vault:<code>] <message>`. The JS wrapper strips the prefix and sets `error.code`;
//! `__test__/errors.test.mjs` checks every code it can provoke. vault-core messages never
//! contain a secret value, and nothing is added here.

use napi::Status;

/// The prefix the JS wrapper looks for: `[vault:` + code + `] `.
pub const CODE_PREFIX: &str = "[vault:";

/// Converts a vault error into a napi error whose message starts with `[vault:<code>] `.
pub fn to_napi(err: vault_core::Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, tagged(err.code(), &err.to_string()))
}

/// An `invalid` error raised by the binding itself (bad argument shape).
pub fn invalid(field: &str, reason: &str) -> napi::Error {
    to_napi(vault_core::Error::invalid(field, reason))
}

/// `[vault:<code>] <message>`.
fn tagged(code: &str, message: &str) -> String {
    format!("{CODE_PREFIX}{code}] {message}")
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
