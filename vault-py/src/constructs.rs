//! `vault.Constructs` (the `constructs` attribute of a vault) and its records: capsules,
//! identity files, transcript entries and pages, construct summaries and import reports.
//! Every rule is vault-core's; this module converts arguments and results only.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};
use vault_core::{
    ConstructExport, ConstructId, Error, FileName, JsonObject, NewEntry, Order, PageRequest,
    Timestamp, TranscriptQuery,
};

use crate::convert::{dict_of, to_json, to_json_object, to_py};
use crate::error::check;
use crate::page::new_page;
use crate::runtime::block_on;
use crate::vault::{Shared, api};

fn id_of(py: Python<'_>, id: String) -> PyResult<ConstructId> {
    check(py, ConstructId::new(id))
}

fn names(py: Python<'_>, id: String, name: String) -> PyResult<(ConstructId, FileName)> {
    Ok((id_of(py, id)?, check(py, FileName::new(name))?))
}

/// The constructs of a vault (`v.constructs`): AI personas' capsules, identity files and
/// transcripts.
#[pyclass(module = "vault", frozen)]
pub struct Constructs {
    shared: Arc<Shared>,
}

impl Constructs {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Constructs { shared }
    }
}

#[pymethods]
impl Constructs {
    /// Writes a new version of the capsule (a dict) of construct `construct_id`, creating the
    /// construct if needed. `expected_version` makes it a compare-and-set (0: must not exist
    /// yet), else `Conflict`.
    #[pyo3(signature = (construct_id, capsule, *, expected_version=None))]
    fn put_capsule(
        &self,
        py: Python<'_>,
        construct_id: String,
        capsule: &Bound<'_, PyAny>,
        expected_version: Option<u64>,
    ) -> PyResult<CapsuleWritten> {
        let id = id_of(py, construct_id)?;
        let document = to_json_object(capsule, "capsule")?;
        let api = api(py, &self.shared)?;
        let w = block_on(py, async move {
            api.constructs()
                .put_capsule(&id, document, expected_version)
                .await
        })?;
        let w = check(py, w)?;
        Ok(CapsuleWritten {
            construct_id: w.construct_id.into_string(),
            action: w.action.as_str(),
            version: w.version,
        })
    }

    /// The capsule: the latest version, or version `version`. `NotFound` when missing.
    #[pyo3(signature = (construct_id, version=None))]
    fn get_capsule(
        &self,
        py: Python<'_>,
        construct_id: String,
        version: Option<u64>,
    ) -> PyResult<Capsule> {
        let id = id_of(py, construct_id)?;
        let api = api(py, &self.shared)?;
        let c = block_on(py, async move {
            api.constructs().get_capsule(&id, version).await
        })?;
        let c = check(py, c)?;
        Ok(Capsule {
            construct_id: c.construct_id.into_string(),
            version: c.version,
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            document: c.document,
        })
    }

    /// Writes a new version of identity file `name` (`bytes`, at most 10 MiB, else
    /// `InvalidInput` with `.field == "file"`). `expected_version` as for capsules.
    #[pyo3(signature = (construct_id, name, content, *, expected_version=None))]
    fn put_file(
        &self,
        py: Python<'_>,
        construct_id: String,
        name: String,
        content: &[u8],
        expected_version: Option<u64>,
    ) -> PyResult<FileWritten> {
        let (id, name) = names(py, construct_id, name)?;
        let content = content.to_vec();
        let api = api(py, &self.shared)?;
        let w = block_on(py, async move {
            api.constructs()
                .put_file(&id, &name, content, expected_version)
                .await
        })?;
        let w = check(py, w)?;
        Ok(FileWritten {
            construct_id: w.construct_id.into_string(),
            name: w.name.into_string(),
            action: w.action.as_str(),
            version: w.version,
            sha256: w.sha256,
            size: w.size,
        })
    }

    /// An identity file: the latest version, or version `version`. `NotFound` when missing.
    #[pyo3(signature = (construct_id, name, version=None))]
    fn get_file(
        &self,
        py: Python<'_>,
        construct_id: String,
        name: String,
        version: Option<u64>,
    ) -> PyResult<ConstructFile> {
        let (id, name) = names(py, construct_id, name)?;
        let api = api(py, &self.shared)?;
        let f = block_on(py, async move {
            api.constructs().get_file(&id, &name, version).await
        })?;
        let f = check(py, f)?;
        Ok(ConstructFile {
            info: FileInfo::from(f.info),
            content: PyBytes::new(py, &f.content).unbind(),
        })
    }

    /// Deletes identity file `name`, every version. `NotFound` when missing.
    fn delete_file(&self, py: Python<'_>, construct_id: String, name: String) -> PyResult<()> {
        let (id, name) = names(py, construct_id, name)?;
        let api = api(py, &self.shared)?;
        let d = block_on(
            py,
            async move { api.constructs().delete_file(&id, &name).await },
        )?;
        check(py, d).map(drop)
    }

    /// One page of the construct's files (latest versions, no content), ordered by name: a
    /// `vault.Page` of `FileInfo`.
    #[pyo3(signature = (construct_id, *, limit=None, after=None))]
    fn list_files<'py>(
        &self,
        py: Python<'py>,
        construct_id: String,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = id_of(py, construct_id)?;
        let api = api(py, &self.shared)?;
        let page = PageRequest::new(limit, after);
        let listed = block_on(
            py,
            async move { api.constructs().list_files(&id, page).await },
        )?;
        new_page(py, None, check(py, listed)?, FileInfo::from)
    }

    /// Appends an entry (`role` a name such as `"user"`, `content` at most 64 KiB,
    /// `timestamp` an RFC 3339 string, the vault's clock when `None`) to the transcript and
    /// returns it with its sequence number.
    #[pyo3(signature = (construct_id, role, content, *, timestamp=None))]
    fn append(
        &self,
        py: Python<'_>,
        construct_id: String,
        role: String,
        content: String,
        timestamp: Option<String>,
    ) -> PyResult<EntryAppended> {
        let id = id_of(py, construct_id)?;
        let timestamp = timestamp
            .map(|t| {
                Timestamp::parse(&t)
                    .ok_or_else(|| Error::invalid("timestamp", "must be an RFC 3339 time"))
            })
            .transpose();
        let entry = NewEntry {
            role,
            content,
            timestamp: check(py, timestamp)?,
        };
        let api = api(py, &self.shared)?;
        let a = block_on(py, async move { api.constructs().append(&id, entry).await })?;
        let a = check(py, a)?;
        Ok(EntryAppended {
            construct_id: a.construct_id.into_string(),
            seq: a.seq,
            timestamp: a.timestamp.to_string(),
        })
    }

    /// One page of the transcript: at most `limit` (default 100, 1 to 1000) entries after
    /// sequence number `after` (a previous page's `next`) in `order` (`"newest"`, the default,
    /// or `"oldest"` first). `NotFound` when the construct has no transcript.
    #[pyo3(signature = (construct_id, *, limit=None, after=None, order="newest"))]
    fn transcript(
        &self,
        py: Python<'_>,
        construct_id: String,
        limit: Option<usize>,
        after: Option<u64>,
        order: &str,
    ) -> PyResult<TranscriptPage> {
        let id = id_of(py, construct_id)?;
        let order: Order = check(py, order.parse())?;
        let query = TranscriptQuery {
            limit,
            after,
            order,
        };
        let api = api(py, &self.shared)?;
        let p = block_on(
            py,
            async move { api.constructs().transcript(&id, query).await },
        )?;
        let p = check(py, p)?;
        let entries = p
            .entries
            .into_iter()
            .map(|e| {
                Py::new(
                    py,
                    TranscriptEntry {
                        seq: e.seq,
                        role: e.role,
                        content: e.content,
                        timestamp: e.timestamp.to_string(),
                    },
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        Ok(TranscriptPage {
            items: entries,
            next: p.next,
            total: p.total,
        })
    }

    /// One page of constructs (ids and counts, never content), ordered by id: a `vault.Page`
    /// of `ConstructSummary`.
    #[pyo3(signature = (*, limit=None, after=None))]
    fn list<'py>(
        &self,
        py: Python<'py>,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let api = api(py, &self.shared)?;
        let page = PageRequest::new(limit, after);
        let listed = block_on(py, async move { api.constructs().list(page).await })?;
        new_page(py, None, check(py, listed)?, |s| ConstructSummary {
            construct_id: s.construct_id.into_string(),
            capsule_version: s.capsule_version,
            file_count: s.file_count,
            transcript_count: s.transcript_count,
            created_at: s.created_at.to_string(),
        })
    }

    /// The whole construct as one JSON-able dict (format `vault.construct.v1`: the capsule,
    /// the files base64 with SHA-256, the transcript), for `import_` into another vault.
    fn export<'py>(&self, py: Python<'py>, construct_id: String) -> PyResult<Bound<'py, PyAny>> {
        let id = id_of(py, construct_id)?;
        let api = api(py, &self.shared)?;
        let doc = block_on(py, async move { api.constructs().export(&id).await })?;
        let doc = check(py, doc)?;
        let value = serde_json::to_value(&doc)
            .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))?;
        to_py(py, &value)
    }

    /// Imports a document made by `export` under its construct id, all or nothing.
    /// `Conflict` (naming the id) when a construct of that id exists; `InvalidInput` naming
    /// the field of a document that is not an export or does not check (base64, SHA-256).
    fn import_(&self, py: Python<'_>, document: &Bound<'_, PyAny>) -> PyResult<ImportReport> {
        let value = to_json(document, "document")?;
        let doc = serde_json::from_value::<ConstructExport>(value).map_err(|_| {
            Error::invalid(
                "document",
                "is not a construct export (the dict `export` returns)",
            )
        });
        let doc = check(py, doc)?;
        let api = api(py, &self.shared)?;
        let r = block_on(py, async move { api.constructs().import(doc).await })?;
        let r = check(py, r)?;
        Ok(ImportReport {
            construct_id: r.construct_id.into_string(),
            capsule_version: r.capsule_version,
            files: r.files,
            transcript_entries: r.transcript_entries,
        })
    }

    fn __repr__(&self) -> &'static str {
        "<vault constructs>"
    }
}

/// One version of a construct's capsule.
#[pyclass(module = "vault", frozen)]
pub struct Capsule {
    /// The construct.
    #[pyo3(get)]
    construct_id: String,
    /// Version number: 1, 2, 3, ...
    #[pyo3(get)]
    version: u64,
    /// When version 1 was written (RFC 3339 UTC string).
    #[pyo3(get)]
    created_at: String,
    /// When this version was written (RFC 3339 UTC string).
    #[pyo3(get)]
    updated_at: String,
    document: JsonObject,
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
    construct_id: String,
    /// `"created"` or `"updated"`.
    #[pyo3(get)]
    action: &'static str,
    /// The version written.
    #[pyo3(get)]
    version: u64,
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
    construct_id: String,
    /// The file's name.
    #[pyo3(get)]
    name: String,
    /// Version number.
    #[pyo3(get)]
    version: u64,
    /// SHA-256 of the content (64 lowercase hex digits).
    #[pyo3(get)]
    sha256: String,
    /// Size in bytes.
    #[pyo3(get)]
    size: u64,
    /// When version 1 was written (RFC 3339 UTC string).
    #[pyo3(get)]
    created_at: String,
    /// When this version was written (RFC 3339 UTC string).
    #[pyo3(get)]
    updated_at: String,
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
    info: FileInfo,
    /// The bytes.
    #[pyo3(get)]
    content: Py<PyBytes>,
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
    construct_id: String,
    /// The file's name.
    #[pyo3(get)]
    name: String,
    /// `"created"` or `"updated"`.
    #[pyo3(get)]
    action: &'static str,
    /// The version written.
    #[pyo3(get)]
    version: u64,
    /// SHA-256 of the content written.
    #[pyo3(get)]
    sha256: String,
    /// Its size in bytes.
    #[pyo3(get)]
    size: u64,
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
    construct_id: String,
    /// The entry's sequence number (1, 2, 3, ...).
    #[pyo3(get)]
    seq: u64,
    /// The entry's timestamp (RFC 3339 UTC string).
    #[pyo3(get)]
    timestamp: String,
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
    seq: u64,
    /// Who spoke.
    #[pyo3(get)]
    role: String,
    /// What was said.
    #[pyo3(get)]
    content: String,
    /// When (RFC 3339 UTC string).
    #[pyo3(get)]
    timestamp: String,
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
    items: Vec<Py<TranscriptEntry>>,
    /// The `after` of the next page, or `None` when this page is the last.
    #[pyo3(get)]
    next: Option<u64>,
    /// How many entries the transcript has.
    #[pyo3(get)]
    total: u64,
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
    construct_id: String,
    /// The capsule's latest version (0: none yet).
    #[pyo3(get)]
    capsule_version: u64,
    /// How many identity files it has.
    #[pyo3(get)]
    file_count: u64,
    /// How many transcript entries it has.
    #[pyo3(get)]
    transcript_count: u64,
    /// When anything was first written to it (RFC 3339 UTC string).
    #[pyo3(get)]
    created_at: String,
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
    construct_id: String,
    /// 1 when the document had a capsule, 0 otherwise.
    #[pyo3(get)]
    capsule_version: u64,
    /// How many files were written.
    #[pyo3(get)]
    files: u64,
    /// How many transcript entries were written.
    #[pyo3(get)]
    transcript_entries: u64,
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
