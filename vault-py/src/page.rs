//! Paged listings: `vault.Page` (a `list` subclass written in Python, `vault/_page.py`, since
//! a native class cannot subclass `list` under the stable ABI) and `vault.Unreadable`, a record
//! a listing found but could not read (a credential, a config or a token).

use pyo3::prelude::*;
use pyo3::types::PyList;
use vault_core::{Page as CorePage, ServiceName};

/// A record a listing found but could not read (e.g. it failed its integrity check); the
/// listing reports it in `Page.unreadable` instead of failing.
#[pyclass(module = "vault", frozen)]
pub struct Unreadable {
    /// The service listed; `None` in a listing of tokens or an audit query.
    #[pyo3(get)]
    service: Option<String>,
    /// The record's name: the credential key, the strategy id, the token id, or (an audit
    /// query) the position of the entry that does not open.
    #[pyo3(get)]
    name: String,
    /// The stable code of the error reading it (`"integrity"` for a corrupt record).
    #[pyo3(get)]
    code: String,
    /// The error's message.
    #[pyo3(get)]
    message: String,
}

#[pymethods]
impl Unreadable {
    fn __repr__(&self) -> String {
        format!(
            "Unreadable(service={}, name='{}', code='{}')",
            self.service
                .as_deref()
                .map_or_else(|| "None".to_string(), |s| format!("'{s}'")),
            self.name,
            self.code
        )
    }
}

/// A `vault.Page` of `page`'s items, each made a Python object by `item`; `service` is the
/// service listed (`None` for tokens).
pub(crate) fn new_page<'py, T, P>(
    py: Python<'py>,
    service: Option<&ServiceName>,
    page: CorePage<T>,
    item: impl Fn(T) -> P,
) -> PyResult<Bound<'py, PyAny>>
where
    P: Into<PyClassInitializer<P>> + pyo3::PyClass,
{
    let items = page
        .items
        .into_iter()
        .map(|i| Py::new(py, item(i)))
        .collect::<PyResult<Vec<_>>>()?;
    let unreadable = page
        .unreadable
        .into_iter()
        .map(|u| {
            Py::new(
                py,
                Unreadable {
                    service: service.map(ToString::to_string),
                    code: u.error.code().to_string(),
                    message: u.error.to_string(),
                    name: u.name,
                },
            )
        })
        .collect::<PyResult<Vec<_>>>()?;
    let class = py.import("vault._page")?.getattr("Page")?;
    class.call1((
        PyList::new(py, items)?,
        page.next,
        PyList::new(py, unreadable)?,
        page.revision,
    ))
}
