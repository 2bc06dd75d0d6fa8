//! Constructs: `NativeVault` methods over [`ConstructsApi`](vault_core::ConstructsApi), and the
//! records they return. Ids and file names enter Rust here and become typed vault-core names;
//! every rule (sizes, names, limits, the export document) is vault-core's.

use napi::bindgen_prelude::{Buffer, Result};
use napi_derive::napi;
use serde_json::{Map, Value};
use vault_core::{
    ConstructExport, ConstructId, Error, FileInfo, FileName, NewEntry, Order, Page, PageRequest,
    Timestamp, TranscriptQuery,
};

use crate::error::IntoNapi;
use crate::vault::{NativeVault, UnreadableRecord, limit_in, uint_in, version_out};

/// One version of a construct's capsule.
#[napi(object)]
pub struct CapsuleRecord {
    /// The construct.
    pub construct_id: String,
    /// The capsule document.
    pub capsule: Map<String, Value>,
    /// Version number.
    pub version: i64,
    /// When version 1 was written (RFC 3339).
    pub created_at: String,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
}

/// The outcome of a capsule or file put.
#[napi(object)]
pub struct ConstructWrittenRecord {
    /// The construct.
    pub construct_id: String,
    /// The file written (file puts only).
    pub name: Option<String>,
    /// `"created"` or `"updated"`.
    pub action: String,
    /// The version written.
    pub version: i64,
    /// SHA-256 of the content written (file puts only).
    pub sha256: Option<String>,
    /// Its size in bytes (file puts only).
    pub size: Option<i64>,
}

/// An identity file as listed (or read, with `content`).
#[napi(object)]
pub struct ConstructFileRecord {
    /// The construct.
    pub construct_id: String,
    /// The file's name.
    pub name: String,
    /// Version number.
    pub version: i64,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    /// When version 1 was written (RFC 3339).
    pub created_at: String,
    /// When this version was written (RFC 3339).
    pub updated_at: String,
    /// The bytes (reads only).
    pub content: Option<Buffer>,
}

fn file_out(f: FileInfo, content: Option<Vec<u8>>) -> ConstructFileRecord {
    ConstructFileRecord {
        construct_id: f.construct_id.into_string(),
        name: f.name.into_string(),
        version: version_out(f.version),
        sha256: f.sha256,
        size: version_out(f.size),
        created_at: f.created_at.to_string(),
        updated_at: f.updated_at.to_string(),
        content: content.map(Buffer::from),
    }
}

/// One page of a listing (`index.js` makes it an array with `next` and `unreadable`).
#[napi(object)]
pub struct FilePageRecord {
    /// The files of this page, ordered by name.
    pub items: Vec<ConstructFileRecord>,
    /// Present when more follow: the `after` of the next page.
    pub next: Option<String>,
    /// The files of this page that could not be read.
    pub unreadable: Vec<UnreadableRecord>,
}

/// A construct as listed: its id and counts.
#[napi(object)]
pub struct ConstructSummaryRecord {
    /// The construct.
    pub construct_id: String,
    /// The capsule's latest version (0: none).
    pub capsule_version: i64,
    /// How many identity files it has.
    pub file_count: i64,
    /// How many transcript entries it has.
    pub transcript_count: i64,
    /// When anything was first written to it (RFC 3339).
    pub created_at: String,
}

/// One page of constructs.
#[napi(object)]
pub struct ConstructPageRecord {
    /// The constructs of this page, ordered by id.
    pub items: Vec<ConstructSummaryRecord>,
    /// Present when more follow: the `after` of the next page.
    pub next: Option<String>,
    /// The constructs of this page that could not be read.
    pub unreadable: Vec<UnreadableRecord>,
}

/// The outcome of an append.
#[napi(object)]
pub struct EntryAppendedRecord {
    /// The construct.
    pub construct_id: String,
    /// The entry's sequence number.
    pub seq: i64,
    /// The entry's timestamp (RFC 3339).
    pub timestamp: String,
}

/// One transcript entry.
#[napi(object)]
pub struct TranscriptEntryRecord {
    /// Position in the transcript, from 1.
    pub seq: i64,
    /// Who spoke.
    pub role: String,
    /// What was said.
    pub content: String,
    /// When (RFC 3339).
    pub timestamp: String,
}

/// One page of a transcript.
#[napi(object)]
pub struct TranscriptPageRecord {
    /// The entries, in the order asked for.
    pub entries: Vec<TranscriptEntryRecord>,
    /// Present when more follow in that order: the `after` of the next page.
    pub next: Option<i64>,
    /// How many entries the transcript has.
    pub total: i64,
}

/// The outcome of an import.
#[napi(object)]
pub struct ImportReportRecord {
    /// The construct created.
    pub construct_id: String,
    /// 1 when the document had a capsule, 0 otherwise.
    pub capsule_version: i64,
    /// How many files were written.
    pub files: i64,
    /// How many transcript entries were written.
    pub transcript_entries: i64,
}

fn unreadable_out(unreadable: Vec<vault_core::Unreadable>) -> Vec<UnreadableRecord> {
    unreadable
        .into_iter()
        .map(|u| UnreadableRecord {
            service: None,
            code: u.error.code().to_string(),
            message: u.error.to_string(),
            name: u.name,
        })
        .collect()
}

fn id_in(id: String) -> Result<ConstructId> {
    ConstructId::new(id).napi()
}

fn names(id: String, name: String) -> Result<(ConstructId, FileName)> {
    Ok((id_in(id)?, FileName::new(name).napi()?))
}

fn page_out<T, R>(
    page: Page<T>,
    item: impl Fn(T) -> R,
) -> (Vec<R>, Option<String>, Vec<UnreadableRecord>) {
    (
        page.items.into_iter().map(item).collect(),
        page.next,
        unreadable_out(page.unreadable),
    )
}

#[napi]
impl NativeVault {
    /// Writes a new capsule version of construct `id`.
    #[napi]
    pub async fn put_capsule(
        &self,
        id: String,
        capsule: Map<String, Value>,
        expected_version: Option<i64>,
    ) -> Result<ConstructWrittenRecord> {
        let api = self.api()?;
        let id = id_in(id)?;
        let w = api
            .constructs()
            .put_capsule(&id, capsule, uint_in(expected_version))
            .await
            .napi()?;
        Ok(ConstructWrittenRecord {
            construct_id: w.construct_id.into_string(),
            name: None,
            action: w.action.as_str().to_string(),
            version: version_out(w.version),
            sha256: None,
            size: None,
        })
    }

    /// The capsule of construct `id`: the latest version or version `version`.
    #[napi]
    pub async fn get_capsule(&self, id: String, version: Option<i64>) -> Result<CapsuleRecord> {
        let api = self.api()?;
        let id = id_in(id)?;
        let c = api
            .constructs()
            .get_capsule(&id, uint_in(version))
            .await
            .napi()?;
        Ok(CapsuleRecord {
            construct_id: c.construct_id.into_string(),
            capsule: c.document,
            version: version_out(c.version),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
        })
    }

    /// Writes a new version of identity file `name` of construct `id`.
    #[napi]
    pub async fn put_construct_file(
        &self,
        id: String,
        name: String,
        content: Buffer,
        expected_version: Option<i64>,
    ) -> Result<ConstructWrittenRecord> {
        let api = self.api()?;
        let (id, name) = names(id, name)?;
        let w = api
            .constructs()
            .put_file(&id, &name, content.to_vec(), uint_in(expected_version))
            .await
            .napi()?;
        Ok(ConstructWrittenRecord {
            construct_id: w.construct_id.into_string(),
            name: Some(w.name.into_string()),
            action: w.action.as_str().to_string(),
            version: version_out(w.version),
            sha256: Some(w.sha256),
            size: Some(version_out(w.size)),
        })
    }

    /// Identity file `name` of construct `id`, with its content.
    #[napi]
    pub async fn get_construct_file(
        &self,
        id: String,
        name: String,
        version: Option<i64>,
    ) -> Result<ConstructFileRecord> {
        let api = self.api()?;
        let (id, name) = names(id, name)?;
        let f = api
            .constructs()
            .get_file(&id, &name, uint_in(version))
            .await
            .napi()?;
        Ok(file_out(f.info, Some(f.content)))
    }

    /// Deletes identity file `name` of construct `id`, every version.
    #[napi]
    pub async fn delete_construct_file(&self, id: String, name: String) -> Result<()> {
        let api = self.api()?;
        let (id, name) = names(id, name)?;
        api.constructs().delete_file(&id, &name).await.napi()?;
        Ok(())
    }

    /// One page of the files of construct `id` (no content).
    #[napi]
    pub async fn list_construct_files(
        &self,
        id: String,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<FilePageRecord> {
        let api = self.api()?;
        let id = id_in(id)?;
        let page = PageRequest::new(limit_in(limit), after);
        let listed = api.constructs().list_files(&id, page).await.napi()?;
        let (items, next, unreadable) = page_out(listed, |f| file_out(f, None));
        Ok(FilePageRecord {
            items,
            next,
            unreadable,
        })
    }

    /// Appends an entry to the transcript of construct `id`.
    #[napi]
    pub async fn append_entry(
        &self,
        id: String,
        role: String,
        content: String,
        timestamp: Option<String>,
    ) -> Result<EntryAppendedRecord> {
        let api = self.api()?;
        let id = id_in(id)?;
        let timestamp = timestamp
            .map(|t| {
                Timestamp::parse(&t)
                    .ok_or_else(|| Error::invalid("timestamp", "must be an RFC 3339 time"))
            })
            .transpose()
            .napi()?;
        let entry = NewEntry {
            role,
            content,
            timestamp,
        };
        let a = api.constructs().append(&id, entry).await.napi()?;
        Ok(EntryAppendedRecord {
            construct_id: a.construct_id.into_string(),
            seq: version_out(a.seq),
            timestamp: a.timestamp.to_string(),
        })
    }

    /// One page of the transcript of construct `id`.
    #[napi]
    pub async fn transcript(
        &self,
        id: String,
        limit: Option<i64>,
        after: Option<i64>,
        order: Option<String>,
    ) -> Result<TranscriptPageRecord> {
        let api = self.api()?;
        let id = id_in(id)?;
        let order: Order = order.as_deref().unwrap_or("newest").parse().napi()?;
        let query = TranscriptQuery {
            limit: limit_in(limit),
            after: uint_in(after),
            order,
        };
        let p = api.constructs().transcript(&id, query).await.napi()?;
        Ok(TranscriptPageRecord {
            entries: p
                .entries
                .into_iter()
                .map(|e| TranscriptEntryRecord {
                    seq: version_out(e.seq),
                    role: e.role,
                    content: e.content,
                    timestamp: e.timestamp.to_string(),
                })
                .collect(),
            next: p.next.map(version_out),
            total: version_out(p.total),
        })
    }

    /// One page of constructs (ids and counts).
    #[napi]
    pub async fn list_constructs(
        &self,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<ConstructPageRecord> {
        let api = self.api()?;
        let page = PageRequest::new(limit_in(limit), after);
        let listed = api.constructs().list(page).await.napi()?;
        let (items, next, unreadable) = page_out(listed, |s| ConstructSummaryRecord {
            construct_id: s.construct_id.into_string(),
            capsule_version: version_out(s.capsule_version),
            file_count: version_out(s.file_count),
            transcript_count: version_out(s.transcript_count),
            created_at: s.created_at.to_string(),
        });
        Ok(ConstructPageRecord {
            items,
            next,
            unreadable,
        })
    }

    /// Construct `id` as one export document (a JSON object).
    #[napi]
    pub async fn export_construct(&self, id: String) -> Result<Value> {
        let api = self.api()?;
        let id = id_in(id)?;
        let doc = api.constructs().export(&id).await.napi()?;
        serde_json::to_value(&doc).map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    /// Imports an export document under its construct id.
    #[napi]
    pub async fn import_construct(&self, document: Value) -> Result<ImportReportRecord> {
        let api = self.api()?;
        let doc = serde_json::from_value::<ConstructExport>(document)
            .map_err(|_| {
                Error::invalid(
                    "document",
                    "is not a construct export (the object `export` resolves to)",
                )
            })
            .napi()?;
        let r = api.constructs().import(doc).await.napi()?;
        Ok(ImportReportRecord {
            construct_id: r.construct_id.into_string(),
            capsule_version: version_out(r.capsule_version),
            files: version_out(r.files),
            transcript_entries: version_out(r.transcript_entries),
        })
    }
}
