//! The Python exception tree: `vault.VaultError` with one subclass per stable vault-core error
//! code, and the conversion of a [`vault_core::Error`] into it.
//!
//! Every exception carries `.code`, the stable string. A code this binding does not know yet (a
//! newer vault-core or server) becomes a plain `VaultError` with that `.code`. Messages come from
//! vault-core, which never puts a secret value in one.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyType;

create_exception!(
    vault,
    VaultError,
    PyException,
    "Base class of every vault error; `.code` is the stable machine code (message text is not API)."
);
create_exception!(
    vault,
    NotFound,
    VaultError,
    "No such credential, config or version (code `not_found`)."
);
create_exception!(
    vault,
    Conflict,
    VaultError,
    "A compare-and-set lost (stale `expected_version`), a duplicate, or an ambiguous key (code `conflict`)."
);
create_exception!(
    vault,
    InvalidInput,
    VaultError,
    "Bad input: the message names the field and why (code `invalid`)."
);
create_exception!(
    vault,
    Unauthorized,
    VaultError,
    "No token, or a token the vault does not know (code `unauthorized`)."
);
create_exception!(
    vault,
    Forbidden,
    VaultError,
    "The token's policy does not allow this operation (code `forbidden`)."
);
create_exception!(
    vault,
    WrongKey,
    VaultError,
    "The encryption key or passphrase does not open this vault's data (code `wrong_key`)."
);
create_exception!(
    vault,
    IntegrityError,
    VaultError,
    "A stored record failed its integrity check: tampered or corrupt (code `integrity`)."
);
create_exception!(
    vault,
    BackendUnavailable,
    VaultError,
    "The storage backend failed or cannot be reached (code `backend_unavailable`)."
);
create_exception!(
    vault,
    Unavailable,
    VaultError,
    "A remote vault could not be reached: network error, timeout, server gone (code `unavailable`)."
);
create_exception!(
    vault,
    InternalError,
    VaultError,
    "A bug in the vault; the message is safe to show (code `internal`)."
);

/// Every subclass with its code, in the order of the design's error table.
fn classes(py: Python<'_>) -> [(&'static str, Bound<'_, PyType>); 10] {
    [
        ("not_found", py.get_type::<NotFound>()),
        ("conflict", py.get_type::<Conflict>()),
        ("invalid", py.get_type::<InvalidInput>()),
        ("unauthorized", py.get_type::<Unauthorized>()),
        ("forbidden", py.get_type::<Forbidden>()),
        ("wrong_key", py.get_type::<WrongKey>()),
        ("integrity", py.get_type::<IntegrityError>()),
        ("backend_unavailable", py.get_type::<BackendUnavailable>()),
        ("unavailable", py.get_type::<Unavailable>()),
        ("internal", py.get_type::<InternalError>()),
    ]
}

/// Adds the exception classes to the module and gives each its class-level `code`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let base = py.get_type::<VaultError>();
    base.setattr("code", "error")?;
    m.add("VaultError", base)?;
    for (code, class) in classes(py) {
        class.setattr("code", code)?;
        m.add(class.name()?, class)?;
    }
    Ok(())
}

/// The Python exception for a vault error: the subclass for its code (or `VaultError` for a
/// code unknown here), with the message and `.code` set.
pub(crate) fn to_py_err(py: Python<'_>, e: &vault_core::Error) -> PyErr {
    let code = e.code();
    let message = e.to_string();
    let class = classes(py)
        .into_iter()
        .find(|(c, _)| *c == code)
        .map_or_else(|| py.get_type::<VaultError>(), |(_, class)| class);
    let err = PyErr::from_type(class, (message,));
    // Set on the instance too, so a VaultError for a future code still says which one.
    if let Err(set) = err.value(py).setattr("code", code) {
        return set;
    }
    err
}

/// Converts a vault result into a Python result.
pub(crate) fn check<T>(py: Python<'_>, r: vault_core::Result<T>) -> PyResult<T> {
    r.map_err(|e| to_py_err(py, &e))
}
