//! `vault.Audit` (the `audit` attribute of a vault) and its records: `AuditEntry` (one entry of
//! the log), `AuditReport` (what `verify()` found) and `AuditBadEntry` (the first bad entry).
//!
//! Reading the log needs `read` on `audit`; every query and check is itself audited. The
//! filters are vault-core's [`AuditFilter`]; `since` / `until` cross as a `datetime` (timezone
//! aware) or an RFC 3339 string, parsed by the same rule the server applies to its query.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use vault_core::audit::{BadEntry, Problem};
use vault_core::{
    AuditEntry as CoreEntry, AuditFilter, AuditQuery, Error, Timestamp, VerifyReport,
};

use crate::error::check;
use crate::page::new_page;
use crate::runtime::block_on;
use crate::vault::{Shared, api};

/// What `since` / `until` may be, for the error that refuses anything else.
const TIME_EXPECTED: &str = "must be a timezone-aware datetime or an RFC 3339 UTC time such as \
                             '2026-11-23T06:00:00Z'";

/// The audit log of a vault: `v.audit`.
#[pyclass(module = "vault", frozen)]
pub struct Audit {
    shared: Arc<Shared>,
}

impl Audit {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Audit { shared }
    }
}

#[pymethods]
impl Audit {
    /// One page of the entries matching every filter given, newest first: `actor` (a token id
    /// or name, `root`, `embedded`, `anonymous`), `op` (e.g. `"credentials.get"`), `path_prefix`,
    /// `outcome` (`"ok"` or an error code), `since` (inclusive) and `until` (exclusive) as a
    /// timezone-aware `datetime` or an RFC 3339 string; at most `limit` entries (default 100, at
    /// most 1000) after `after` (a previous page's `next`). A page examines at most 10,000
    /// entries: with a selective filter it can come back short, or empty, with a `next`.
    ///
    /// Returns a `vault.Page` of `AuditEntry`. Needs `read` on `audit` (`Forbidden` otherwise).
    #[pyo3(signature = (
        *, actor=None, op=None, path_prefix=None, outcome=None, since=None, until=None,
        limit=None, after=None
    ))]
    #[allow(clippy::too_many_arguments)] // keyword-only filters in Python
    fn query<'py>(
        &self,
        py: Python<'py>,
        actor: Option<String>,
        op: Option<String>,
        path_prefix: Option<String>,
        outcome: Option<String>,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let query = AuditQuery {
            filter: AuditFilter {
                actor,
                op,
                path_prefix,
                outcome,
                since: time_in("since", since)?,
                until: time_in("until", until)?,
            },
            limit,
            after,
        };
        let api = api(py, &self.shared)?;
        let page = block_on(py, async move { api.audit().query(query).await })?;
        new_page(py, None, check(py, page)?, AuditEntry::from)
    }

    /// Checks every writer's chain of the log, from its recorded head down to its first entry:
    /// each entry matches its hash and is the one its successor points at. Returns an
    /// `AuditReport` (`valid`, `entries`, `first_bad`). Needs `read` on `audit`.
    fn verify(&self, py: Python<'_>) -> PyResult<AuditReport> {
        let api = api(py, &self.shared)?;
        let report = block_on(py, async move { api.audit().verify().await })?;
        AuditReport::from_core(py, check(py, report)?)
    }

    fn __repr__(&self) -> &'static str {
        "<vault audit>"
    }
}

/// `since` / `until`: `None`, a timezone-aware `datetime` (to the millisecond, rounded down),
/// or a string parsed as the server parses its query ([`Timestamp::parse`]).
pub(crate) fn time_in(field: &str, t: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Timestamp>> {
    let Some(t) = t.filter(|t| !t.is_none()) else {
        return Ok(None);
    };
    let py = t.py();
    let refuse = || check(py, Err(Error::invalid(field, TIME_EXPECTED)));
    if let Ok(text) = t.cast::<PyString>() {
        return match Timestamp::parse(&text.to_cow()?) {
            Some(ts) => Ok(Some(ts)),
            None => refuse(),
        };
    }
    let datetime = py.import("datetime")?;
    if !t.is_instance(&datetime.getattr("datetime")?)? {
        return Err(PyTypeError::new_err(format!(
            "{field} must be a datetime.datetime or a str, not {}",
            t.get_type()
                .name()
                .map_or_else(|_| "?".to_string(), |n| n.to_string())
        )));
    }
    // A naive datetime is ambiguous (local time? UTC?): refused rather than guessed. The
    // datetime C API is not part of the stable ABI, so the offset from the epoch is computed
    // in Python and read as whole days, seconds and microseconds (exact).
    if t.call_method0("utcoffset")?.is_none() {
        return check(
            py,
            Err(Error::invalid(
                field,
                "must be timezone-aware (e.g. datetime.now(timezone.utc)), not a naive datetime",
            )),
        );
    }
    let utc = datetime.getattr("timezone")?.getattr("utc")?;
    let epoch = datetime
        .getattr("datetime")?
        .call1((1970, 1, 1, 0, 0, 0, 0, utc))?;
    let delta = t.sub(epoch)?;
    let days: i64 = delta.getattr("days")?.extract()?;
    let secs: i64 = delta.getattr("seconds")?.extract()?;
    let micros: i64 = delta.getattr("microseconds")?.extract()?;
    // timedelta keeps seconds and microseconds non-negative, so this rounds down.
    match days
        .checked_mul(86_400_000)
        .and_then(|d| d.checked_add(secs * 1000 + micros / 1000))
    {
        Some(ms) => Ok(Some(Timestamp::from_millis(ms))),
        None => refuse(),
    }
}

/// One entry of the audit log: who did what to which resource, with what outcome. Never a
/// value, a request body or a token.
#[pyclass(module = "vault", frozen)]
pub struct AuditEntry {
    /// Position in its writer's chain, from 1.
    #[pyo3(get)]
    seq: u64,
    /// The writer (one opened vault or server) whose chain this entry is in.
    #[pyo3(get)]
    writer: String,
    /// When (RFC 3339 UTC string, to the millisecond).
    #[pyo3(get)]
    time: String,
    /// The HTTP request id (`X-Request-Id`); `None` for an embedded vault.
    #[pyo3(get)]
    request_id: Option<String>,
    /// Who: `root`, `embedded`, a token id (`tok_...`), or `anonymous` (a failed
    /// authentication with no known token).
    #[pyo3(get)]
    actor_id: String,
    /// The actor's name (a token's name; `root`, `embedded`, or empty for `anonymous`).
    #[pyo3(get)]
    actor_name: String,
    /// The operation, e.g. `credentials.get`, `tokens.create`, `auth`.
    #[pyo3(get)]
    op: String,
    /// The resource path, e.g. `credentials/fxshinobi/OANDA_API_KEY`.
    #[pyo3(get)]
    path: String,
    /// `ok`, or the error code the operation answered (`forbidden`, `not_found`, ...).
    #[pyo3(get)]
    outcome: String,
    /// The client's address (remote), or `embedded`.
    #[pyo3(get)]
    client: String,
    /// The hash of the writer's previous entry (64 zeros for its first).
    #[pyo3(get)]
    prev: String,
    /// This entry's hash (SHA-256, lowercase hex).
    #[pyo3(get)]
    hash: String,
}

impl From<CoreEntry> for AuditEntry {
    fn from(e: CoreEntry) -> Self {
        AuditEntry {
            seq: e.seq,
            writer: e.writer,
            time: e.time.to_string(),
            request_id: e.request_id,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            op: e.op,
            path: e.path,
            outcome: e.outcome,
            client: e.client,
            prev: e.prev,
            hash: e.hash,
        }
    }
}

#[pymethods]
impl AuditEntry {
    /// Every field as a plain, JSON-able dict (the fields of an export line, in its order).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("seq", self.seq)?;
        d.set_item("writer", &self.writer)?;
        d.set_item("time", &self.time)?;
        d.set_item("request_id", &self.request_id)?;
        d.set_item("actor_id", &self.actor_id)?;
        d.set_item("actor_name", &self.actor_name)?;
        d.set_item("op", &self.op)?;
        d.set_item("path", &self.path)?;
        d.set_item("outcome", &self.outcome)?;
        d.set_item("client", &self.client)?;
        d.set_item("prev", &self.prev)?;
        d.set_item("hash", &self.hash)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!(
            "AuditEntry(seq={}, time='{}', actor_id='{}', op='{}', path='{}', outcome='{}', \
             client='{}')",
            self.seq, self.time, self.actor_id, self.op, self.path, self.outcome, self.client
        )
    }
}

/// The first entry `verify()` found bad.
#[pyclass(module = "vault", frozen)]
pub struct AuditBadEntry {
    /// Its sequence number (for missing entries: the newest one missing).
    #[pyo3(get)]
    seq: u64,
    /// The writer whose chain it is in.
    #[pyo3(get)]
    writer: String,
    /// `"changed"`, `"missing"` or `"reordered"`.
    #[pyo3(get)]
    problem: &'static str,
    /// Why, in a sentence.
    #[pyo3(get)]
    reason: String,
}

fn problem_str(p: Problem) -> &'static str {
    match p {
        Problem::Changed => "changed",
        Problem::Missing => "missing",
        Problem::Reordered => "reordered",
    }
}

impl From<BadEntry> for AuditBadEntry {
    fn from(b: BadEntry) -> Self {
        AuditBadEntry {
            seq: b.seq,
            writer: b.writer,
            problem: problem_str(b.problem),
            reason: b.reason,
        }
    }
}

#[pymethods]
impl AuditBadEntry {
    fn __repr__(&self) -> String {
        format!(
            "AuditBadEntry(seq={}, writer='{}', problem='{}', reason='{}')",
            self.seq, self.writer, self.problem, self.reason
        )
    }
}

/// What `audit.verify()` found.
#[pyclass(module = "vault", frozen)]
pub struct AuditReport {
    /// Whether every chain is whole.
    #[pyo3(get)]
    valid: bool,
    /// How many entries were examined.
    #[pyo3(get)]
    entries: u64,
    first_bad: Option<Py<AuditBadEntry>>,
}

impl AuditReport {
    fn from_core(py: Python<'_>, r: VerifyReport) -> PyResult<Self> {
        Ok(AuditReport {
            valid: r.valid,
            entries: r.entries,
            first_bad: r
                .first_bad
                .map(|b| Py::new(py, AuditBadEntry::from(b)))
                .transpose()?,
        })
    }
}

#[pymethods]
impl AuditReport {
    /// The first bad entry (`AuditBadEntry`), or `None` when `valid`.
    #[getter]
    fn first_bad(&self, py: Python<'_>) -> Option<Py<AuditBadEntry>> {
        self.first_bad.as_ref().map(|b| b.clone_ref(py))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let bad = match &self.first_bad {
            Some(b) => b.bind(py).repr()?.to_string(),
            None => "None".to_string(),
        };
        Ok(format!(
            "AuditReport(valid={}, entries={}, first_bad={bad})",
            if self.valid { "True" } else { "False" },
            self.entries
        ))
    }
}
