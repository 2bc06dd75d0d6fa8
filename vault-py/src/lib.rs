//! # vault-py
//!
//! The Python package `vault` (native module `vault._native`): the vault embedded in the
//! process (`vault.open`) or a running `vault-http` server (`vault.connect`), behind one API.
//! Both hold a closable [`vault_core::VaultHandle`] over an `Arc<dyn VaultApi>`; every call runs
//! on a tokio runtime owned by the module with the GIL released. The modules mirror vault-core's: [`credentials`], [`configs`], [`constructs`], [`tokens`],
//! [`guards`], [`jobs`], [`audit`], [`error`], [`vault`].
//!
//! ```python
//! import vault
//! with vault.open("./vault-data", encryption_key="<64 hex digits>") as v:
//!     v.credentials.put("OANDA_API_KEY", "abc123", service="fxshinobi")
//!     print(v.credentials.get("OANDA_API_KEY", service="fxshinobi").value)
//! ```

use pyo3::prelude::*;

pub mod audit;
pub mod configs;
pub mod constructs;
mod convert;
pub mod credentials;
pub mod error;
pub mod guards;
pub mod jobs;
pub mod page;
mod runtime;
pub mod tokens;
pub mod vault;

/// The native module `vault._native`; the pure-Python `vault/__init__.py` re-exports it.
#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(vault::open, m)?)?;
    m.add_function(wrap_pyfunction!(vault::connect, m)?)?;
    m.add_class::<vault::Vault>()?;
    m.add_class::<vault::Health>()?;
    m.add_class::<credentials::Credentials>()?;
    m.add_class::<credentials::Credential>()?;
    m.add_class::<credentials::CredentialInfo>()?;
    m.add_class::<credentials::CredentialWritten>()?;
    m.add_class::<credentials::CredentialDeleted>()?;
    m.add_class::<credentials::CredentialVersions>()?;
    m.add_class::<credentials::VersionInfo>()?;
    m.add_class::<configs::Configs>()?;
    m.add_class::<configs::StrategyConfig>()?;
    m.add_class::<configs::ConfigWritten>()?;
    m.add_class::<configs::ConfigDiff>()?;
    m.add_class::<configs::ConfigWatch>()?;
    m.add_class::<configs::ConfigWatcher>()?;
    m.add_class::<configs::ConfigHistory>()?;
    m.add_class::<configs::ConfigSettings>()?;
    m.add_class::<constructs::Constructs>()?;
    m.add_class::<constructs::Capsule>()?;
    m.add_class::<constructs::CapsuleWritten>()?;
    m.add_class::<constructs::ConstructFile>()?;
    m.add_class::<constructs::FileInfo>()?;
    m.add_class::<constructs::FileWritten>()?;
    m.add_class::<constructs::EntryAppended>()?;
    m.add_class::<constructs::TranscriptEntry>()?;
    m.add_class::<constructs::TranscriptPage>()?;
    m.add_class::<constructs::ConstructSummary>()?;
    m.add_class::<constructs::ImportReport>()?;
    m.add_class::<tokens::Tokens>()?;
    m.add_class::<tokens::TokenCreated>()?;
    m.add_class::<tokens::TokenInfo>()?;
    m.add_class::<tokens::TokenRevoked>()?;
    m.add_class::<guards::Guards>()?;
    m.add_class::<jobs::Jobs>()?;
    m.add_class::<jobs::Job>()?;
    m.add_class::<jobs::JobCreated>()?;
    m.add_class::<jobs::SweepReport>()?;
    m.add_class::<audit::Audit>()?;
    m.add_class::<audit::AuditEntry>()?;
    m.add_class::<audit::AuditReport>()?;
    m.add_class::<audit::AuditBadEntry>()?;
    m.add_class::<page::Unreadable>()?;
    error::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
