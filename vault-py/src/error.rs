//! The Python exception tree: `vault.VaultError` with one subclass per stable vault-core error
//! code ([`vault_core::ErrorCode::ALL`]), and the conversion of a [`vault_core::Error`] into it.
//!
//! Every exception carries `.code`, the stable string. A code this binding does not know (a
//! newer server) becomes a plain `VaultError` with that `.code`. `InvalidInput` (and its
//! `PayloadTooLarge`) also derive from `ValueError`, since that is what bad input is in Python.
//! Messages come from vault-core, which never puts a secret value in one.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use vault_core::ErrorCode;

create_exception!(
    vault,
    VaultError,
    PyException,
    "Base class of every vault error; `.code` is the stable machine code (message text is not API)."
);

/// The class of each code: its Python name, its extra base (besides `VaultError`) and its doc.
/// The one table of the binding; a test checks it covers `ErrorCode::ALL` exactly.
const CLASSES: &[(ErrorCode, &str, Base, &str)] = &[
    (
        ErrorCode::NotFound,
        "NotFound",
        Base::Vault,
        "No such credential, config or version (code `not_found`).",
    ),
    (
        ErrorCode::Conflict,
        "Conflict",
        Base::Vault,
        "A compare-and-set lost (stale `expected_version`), a duplicate, or an ambiguous key (code `conflict`).",
    ),
    (
        ErrorCode::Invalid,
        "InvalidInput",
        Base::Value,
        "Bad input: the message names the field and why; `.field` names it too (code `invalid`).",
    ),
    (
        ErrorCode::Unauthorized,
        "Unauthorized",
        Base::Vault,
        "No token, or a token the vault does not know (code `unauthorized`).",
    ),
    (
        ErrorCode::Forbidden,
        "Forbidden",
        Base::Vault,
        "The token's policy does not allow this operation (code `forbidden`).",
    ),
    (
        ErrorCode::GuardRejected,
        "GuardRejected",
        Base::Vault,
        "A trading guard said no (code `guard_rejected`).",
    ),
    (
        ErrorCode::AlreadyExecuted,
        "AlreadyExecuted",
        Base::Vault,
        "An idempotent claim was already taken (code `already_executed`).",
    ),
    (
        ErrorCode::ProposalMismatch,
        "ProposalMismatch",
        Base::Vault,
        "A proposal id was reused with different trade fields (code `proposal_mismatch`).",
    ),
    (
        ErrorCode::RateLimited,
        "RateLimited",
        Base::Vault,
        "Too many requests; retry later (code `rate_limited`).",
    ),
    (
        ErrorCode::BudgetExhausted,
        "BudgetExhausted",
        Base::Vault,
        "A budget is used up (code `budget_exhausted`).",
    ),
    (
        ErrorCode::WrongKey,
        "WrongKey",
        Base::Vault,
        "The encryption key or passphrase does not open this vault's data (code `wrong_key`).",
    ),
    (
        ErrorCode::Integrity,
        "IntegrityError",
        Base::Vault,
        "A stored record failed its integrity check: tampered or corrupt (code `integrity`).",
    ),
    (
        ErrorCode::PayloadTooLarge,
        "PayloadTooLarge",
        Base::Invalid,
        "A request was larger than the server accepts; an `InvalidInput` (code `payload_too_large`).",
    ),
    (
        ErrorCode::MethodNotAllowed,
        "MethodNotAllowed",
        Base::Vault,
        "The server does not serve this method on this path (code `method_not_allowed`).",
    ),
    (
        ErrorCode::BackendUnavailable,
        "BackendUnavailable",
        Base::Vault,
        "The storage backend failed or cannot be reached (code `backend_unavailable`).",
    ),
    (
        ErrorCode::Unavailable,
        "Unavailable",
        Base::Vault,
        "A remote vault could not be reached: network error, timeout, server gone (code `unavailable`).",
    ),
    (
        ErrorCode::Internal,
        "InternalError",
        Base::Vault,
        "A bug in the vault; the message is safe to show (code `internal`).",
    ),
];

/// Where a class sits in the tree.
#[derive(Clone, Copy)]
enum Base {
    /// `VaultError` only.
    Vault,
    /// `VaultError` and `ValueError`.
    Value,
    /// `InvalidInput`.
    Invalid,
}

/// The classes, built once per interpreter.
static BUILT: PyOnceLock<Vec<(ErrorCode, Py<PyType>)>> = PyOnceLock::new();

fn build(py: Python<'_>) -> PyResult<Vec<(ErrorCode, Py<PyType>)>> {
    let vault_error = py.get_type::<VaultError>();
    let type_fn = py.import("builtins")?.getattr("type")?;
    let mut out: Vec<(ErrorCode, Py<PyType>)> = Vec::with_capacity(CLASSES.len());
    for (code, name, base, doc) in CLASSES {
        let bases = match base {
            Base::Vault => PyTuple::new(py, [vault_error.clone()])?,
            Base::Value => PyTuple::new(py, [vault_error.clone(), py.get_type::<PyValueError>()])?,
            Base::Invalid => {
                let invalid = out
                    .iter()
                    .find(|(c, _)| *c == ErrorCode::Invalid)
                    .map(|(_, t)| t.bind(py).clone())
                    .ok_or_else(|| {
                        PyValueError::new_err("InvalidInput must precede its subclasses")
                    })?;
                PyTuple::new(py, [invalid])?
            }
        };
        let ns = PyDict::new(py);
        ns.set_item("__doc__", *doc)?;
        ns.set_item("__module__", "vault")?;
        ns.set_item("code", code.as_str())?;
        let class = type_fn.call1((*name, bases, ns))?.cast_into::<PyType>()?;
        out.push((*code, class.unbind()));
    }
    Ok(out)
}

fn classes(py: Python<'_>) -> PyResult<&Vec<(ErrorCode, Py<PyType>)>> {
    BUILT.get_or_try_init(py, || build(py))
}

/// Adds the exception classes to the module.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = py.get_type::<VaultError>();
    base.setattr("code", "error")?;
    base.setattr("field", py.None())?;
    m.add("VaultError", base)?;
    for (_, class) in classes(py)? {
        let class = class.bind(py);
        m.add(class.name()?, class)?;
    }
    let codes = PyTuple::new(py, ErrorCode::ALL.iter().map(|c| c.as_str()))?;
    m.add("ERROR_CODES", codes)?;
    Ok(())
}

/// The Python exception for a vault error: the subclass for its code (or `VaultError` for a
/// code unknown here), with the message, `.code` and `.field` set.
pub(crate) fn to_py_err(py: Python<'_>, e: &vault_core::Error) -> PyErr {
    let class = match (e.error_code(), classes(py)) {
        (Some(code), Ok(all)) => all
            .iter()
            .find(|(c, _)| *c == code)
            .map(|(_, class)| class.bind(py).clone()),
        (_, Err(err)) => return err,
        (None, Ok(_)) => None,
    }
    .unwrap_or_else(|| py.get_type::<VaultError>());
    let err = PyErr::from_type(class, (e.to_string(),));
    let value = err.value(py);
    // Set on the instance too, so a VaultError for a future code still says which one.
    if let Err(set) = value
        .setattr("code", e.code())
        .and_then(|()| value.setattr("field", e.field()))
    {
        return set;
    }
    err
}

/// Converts a vault result into a Python result.
pub(crate) fn check<T>(py: Python<'_>, r: vault_core::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_py_err(py, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_covers_every_code_once_in_order() {
        let codes: Vec<ErrorCode> = CLASSES.iter().map(|(c, ..)| *c).collect();
        assert_eq!(codes.as_slice(), ErrorCode::ALL);
    }
}
