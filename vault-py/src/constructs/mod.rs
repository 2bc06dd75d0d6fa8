//! `vault.Constructs` (the `constructs` attribute of a vault) and its records: capsules,
//! identity files, transcript entries and pages, construct summaries and import reports.
//! Every rule is vault-core's; this module converts arguments and results only.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use vault_core::{
    ConstructExport, ConstructId, Error, FileName, NewEntry, Order, PageRequest, Timestamp,
    TranscriptQuery,
};

use crate::convert::{to_json, to_json_object, to_py};
use crate::error::check;
use crate::page::new_page;
use crate::runtime::block_on;
use crate::vault::{Shared, api};

mod records;

pub use records::{
    Capsule, CapsuleWritten, ConstructFile, ConstructSummary, EntryAppended, FileInfo, FileWritten,
    ImportReport, TranscriptEntry, TranscriptPage,
};

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
