//! The records `vault.Constructs` returns: capsules, identity files, transcript entries and
//! pages, construct summaries and import reports (content never in a `repr`).

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use vault_core::JsonObject;

use crate::convert::dict_of;

/// One version of a construct's capsule.
#[pyclass(module = "vault", frozen)]
pub struct Capsule {
    /// The construct.
    #[pyo3(get)]
    pub(crate) construct_id: String,
    /// Version number: 1, 2, 3, ...
    #[pyo3(get)]
    pub(crate) version: u64,
    /// When version 1 was written (RFC 3339 UTC string).
    #[pyo3(get)]
    pub(crate) created_at: String,
    /// When this version was written (RFC 3339 UTC string).
    #[pyo3(get)]
    pub(crate) updated_at: String,
    pub(crate) document: JsonObject,
}

#[pymethods]
impl Capsule {
    /// The capsule document (a new dict on each access).
    #[getter]
    fn document<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        dict_of(py, &self.document)
    }

    /// The document is not shown: it is the persona's identity.
    fn __repr__(&self) -> String {
        format!(
            "Capsule(construct_id='{}', version={}, updated_at='{}')",
            self.construct_id, self.version, self.updated_at
        )
    }
}

/// The outcome of `constructs.put_capsule`.
#[pyclass(module = "vault", frozen)]
pub struct CapsuleWritten {
    /// The construct.
    #[pyo3(get)]
    pub(crate) construct_id: String,
    /// `"created"` or `"updated"`.
    #[pyo3(get)]
    pub(crate) action: &'static str,
    /// The version written.
    #[pyo3(get)]
    pub(crate) version: u64,
}

#[pymethods]
impl CapsuleWritten {
    fn __repr__(&self) -> String {
        format!(
            "CapsuleWritten(construct_id='{}', action='{}', version={})",
            self.construct_id, self.action, self.version
        )
    }
}

/// An identity file as listed (or one version of it): everything but the content.
#[pyclass(module = "vault", frozen)]
pub struct FileInfo {
    /// The construct.
    #[pyo3(get)]
    pub(crate) construct_id: String,
    /// The file's name.
    #[pyo3(get)]
    pub(crate) name: String,
    /// Version number.
    #[pyo3(get)]
    pub(crate) version: u64,
    /// SHA-256 of the content (64 lowercase hex digits).
    #[pyo3(get)]
    pub(crate) sha256: String,
    /// Size in bytes.
    #[pyo3(get)]
    pub(crate) size: u64,
    /// When version 1 was written (RFC 3339 UTC string).
    #[pyo3(get)]
    pub(crate) created_at: String,
    /// When this version was written (RFC 3339 UTC string).
    #[pyo3(get)]
    pub(crate) updated_at: String,
}

impl From<vault_core::FileInfo> for FileInfo {
    fn from(f: vault_core::FileInfo) -> Self {
        FileInfo {
            construct_id: f.construct_id.into_string(),
            name: f.name.into_string(),
            version: f.version,
            sha256: f.sha256,
            size: f.size,
            created_at: f.created_at.to_string(),
            updated_at: f.updated_at.to_string(),
        }
    }
}

#[pymethods]
impl FileInfo {
    fn __repr__(&self) -> String {
        format!(
            "FileInfo(construct_id='{}', name='{}', version={}, size={}, sha256='{}')",
            self.construct_id, self.name, self.version, self.size, self.sha256
        )
    }
}

/// One version of an identity file with its content.
#[pyclass(module = "vault", frozen)]
pub struct ConstructFile {
    pub(crate) info: FileInfo,
    /// The bytes.
    #[pyo3(get)]
    pub(crate) content: Py<PyBytes>,
}

#[pymethods]
impl ConstructFile {
    /// The construct.
    #[getter]
    fn construct_id(&self) -> &str {
        &self.info.construct_id
    }

    /// The file's name.
    #[getter]
    fn name(&self) -> &str {
        &self.info.name
    }

    /// This version.
    #[getter]
    fn version(&self) -> u64 {
        self.info.version
    }

    /// SHA-256 of the content.
    #[getter]
    fn sha256(&self) -> &str {
        &self.info.sha256
    }

    /// Size in bytes.
    #[getter]
    fn size(&self) -> u64 {
        self.info.size
    }

    /// When version 1 was written.
    #[getter]
    fn created_at(&self) -> &str {
        &self.info.created_at
    }

    /// When this version was written.
    #[getter]
    fn updated_at(&self) -> &str {
        &self.info.updated_at
    }

    /// The content is not shown.
    fn __repr__(&self) -> String {
        format!(
            "ConstructFile(construct_id='{}', name='{}', version={}, size={})",
            self.info.construct_id, self.info.name, self.info.version, self.info.size
        )
    }
}

/// The outcome of `constructs.put_file`.
#[pyclass(module = "vault", frozen)]
pub struct FileWritten {
    /// The construct.
    #[pyo3(get)]
    pub(crate) construct_id: String,
    /// The file's name.
    #[pyo3(get)]
    pub(crate) name: String,
    /// `"created"` or `"updated"`.
    #[pyo3(get)]
    pub(crate) action: &'static str,
    /// The version written.
    #[pyo3(get)]
    pub(crate) version: u64,
    /// SHA-256 of the content written.
    #[pyo3(get)]
    pub(crate) sha256: String,
    /// Its size in bytes.
    #[pyo3(get)]
    pub(crate) size: u64,
}

#[pymethods]
impl FileWritten {
    fn __repr__(&self) -> String {
        format!(
            "FileWritten(construct_id='{}', name='{}', action='{}', version={}, size={})",
            self.construct_id, self.name, self.action, self.version, self.size
        )
    }
}

/// The outcome of `constructs.append`.
#[pyclass(module = "vault", frozen)]
pub struct EntryAppended {
    /// The construct.
    #[pyo3(get)]
    pub(crate) construct_id: String,
    /// The entry's sequence number (1, 2, 3, ...).
    #[pyo3(get)]
    pub(crate) seq: u64,
    /// The entry's timestamp (RFC 3339 UTC string).
    #[pyo3(get)]
    pub(crate) timestamp: String,
}

#[pymethods]
impl EntryAppended {
    fn __repr__(&self) -> String {
        format!(
            "EntryAppended(construct_id='{}', seq={}, timestamp='{}')",
            self.construct_id, self.seq, self.timestamp
        )
    }
}

/// One transcript entry.
#[pyclass(module = "vault", frozen)]
pub struct TranscriptEntry {
    /// Position in the transcript, from 1.
    #[pyo3(get)]
    pub(crate) seq: u64,
    /// Who spoke.
    #[pyo3(get)]
    pub(crate) role: String,
    /// What was said.
    #[pyo3(get)]
    pub(crate) content: String,
    /// When (RFC 3339 UTC string).
    #[pyo3(get)]
    pub(crate) timestamp: String,
}

#[pymethods]
impl TranscriptEntry {
    /// The content is not shown.
    fn __repr__(&self) -> String {
        format!(
            "TranscriptEntry(seq={}, role='{}', timestamp='{}')",
            self.seq, self.role, self.timestamp
        )
    }
}

/// One page of `constructs.transcript`: `entries` in the order asked for, `next` (pass it as
/// `after`) when more follow, and `total`.
#[pyclass(module = "vault", frozen)]
pub struct TranscriptPage {
    pub(crate) items: Vec<Py<TranscriptEntry>>,
    /// The `after` of the next page, or `None` when this page is the last.
    #[pyo3(get)]
    pub(crate) next: Option<u64>,
    /// How many entries the transcript has.
    #[pyo3(get)]
    pub(crate) total: u64,
}

#[pymethods]
impl TranscriptPage {
    /// The entries of this page (a new list on each access).
    #[getter]
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.items.iter().map(|e| e.clone_ref(py)))
    }

    fn __len__(&self) -> usize {
        self.items.len()
    }

    fn __repr__(&self) -> String {
        format!(
            "TranscriptPage(entries=<{} entries>, next={}, total={})",
            self.items.len(),
            self.next
                .map_or_else(|| "None".to_string(), |n| n.to_string()),
            self.total
        )
    }
}

/// A construct as listed: its id and counts.
#[pyclass(module = "vault", frozen)]
pub struct ConstructSummary {
    /// The construct.
    #[pyo3(get)]
    pub(crate) construct_id: String,
    /// The capsule's latest version (0: none yet).
    #[pyo3(get)]
    pub(crate) capsule_version: u64,
    /// How many identity files it has.
    #[pyo3(get)]
    pub(crate) file_count: u64,
    /// How many transcript entries it has.
    #[pyo3(get)]
    pub(crate) transcript_count: u64,
    /// When anything was first written to it (RFC 3339 UTC string).
    #[pyo3(get)]
    pub(crate) created_at: String,
}

#[pymethods]
impl ConstructSummary {
    fn __repr__(&self) -> String {
        format!(
            "ConstructSummary(construct_id='{}', capsule_version={}, file_count={}, transcript_count={})",
            self.construct_id, self.capsule_version, self.file_count, self.transcript_count
        )
    }
}

/// The outcome of `constructs.import_`.
#[pyclass(module = "vault", frozen)]
pub struct ImportReport {
    /// The construct created.
    #[pyo3(get)]
    pub(crate) construct_id: String,
    /// 1 when the document had a capsule, 0 otherwise.
    #[pyo3(get)]
    pub(crate) capsule_version: u64,
    /// How many files were written.
    #[pyo3(get)]
    pub(crate) files: u64,
    /// How many transcript entries were written.
    #[pyo3(get)]
    pub(crate) transcript_entries: u64,
}

#[pymethods]
impl ImportReport {
    fn __repr__(&self) -> String {
        format!(
            "ImportReport(construct_id='{}', capsule_version={}, files={}, transcript_entries={})",
            self.construct_id, self.capsule_version, self.files, self.transcript_entries
        )
    }
}
