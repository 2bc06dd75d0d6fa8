//! The constructs routes of the `/api/vault/*` dialect: paths, bodies, queries and replies.
//!
//! Identity files travel as raw bytes (`application/octet-stream`) both ways, with their
//! metadata in `X-Vault-*` headers on a read; everything else is JSON in the dialect's
//! `{"success": true, ...}` envelope, fields in alphabetical order. Unknown body and query
//! fields are refused. The export document is vault-core's [`ConstructExport`] as is: `GET`
//! export answers `{"export": <document>, "success": true}`, and `POST` import takes the
//! document itself as its body.

use serde::{Deserialize, Serialize};
use vault_core::{
    Action, Capsule, CapsuleWritten, ConstructExport, ConstructId, ConstructSummary, EntryAppended,
    Error, FileDeleted, FileInfo, FileName, FileWritten, ImportReport, JsonObject, Order, Page,
    PageRequest, Result, Timestamp, TranscriptEntry, TranscriptPage, TranscriptQuery,
};

use super::unreadable;

/// `GET` list constructs (`?limit=&after=`).
pub const CONSTRUCTS: &str = "/api/vault/constructs";
/// `POST` import an exported construct (the body is the document).
pub const CONSTRUCT_IMPORT: &str = "/api/vault/constructs/import";
/// `GET` the capsule (`?version=`), `PUT` a new capsule version.
pub const CONSTRUCT: &str = "/api/vault/constructs/{id}";
/// `GET` list a construct's files (`?limit=&after=`).
pub const CONSTRUCT_FILES: &str = "/api/vault/constructs/{id}/files";
/// `GET` a file's bytes (`?version=`), `PUT` new bytes (`?expected_version=`), `DELETE`.
pub const CONSTRUCT_FILE: &str = "/api/vault/constructs/{id}/files/{name}";
/// `POST` append an entry, `GET` a page (`?limit=&after=&order=newest|oldest`).
pub const CONSTRUCT_TRANSCRIPT: &str = "/api/vault/constructs/{id}/transcript";
/// `GET` the whole construct as one document.
pub const CONSTRUCT_EXPORT: &str = "/api/vault/constructs/{id}/export";

/// Header of a file read: the version served.
pub const FILE_VERSION_HEADER: &str = "x-vault-file-version";
/// Header of a file read: its SHA-256 (64 lowercase hex digits).
pub const FILE_SHA256_HEADER: &str = "x-vault-file-sha256";
/// Header of a file read: when version 1 was written (RFC 3339).
pub const FILE_CREATED_HEADER: &str = "x-vault-file-created-at";
/// Header of a file read: when this version was written (RFC 3339).
pub const FILE_UPDATED_HEADER: &str = "x-vault-file-updated-at";

// ---- requests ----

/// Body of `PUT` [`CONSTRUCT`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapsulePutBody {
    /// The new capsule document (a JSON object).
    pub capsule: JsonObject,
    /// Compare-and-set: applies only if the latest version is this one (0: none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

/// Query of `GET` [`CONSTRUCT`] and [`CONSTRUCT_FILE`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstructVersionQuery {
    /// The version to read; the latest when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
}

/// Query of `PUT` [`CONSTRUCT_FILE`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilePutQuery {
    /// Compare-and-set: applies only if the latest version is this one (0: none yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

/// Query of `GET` [`CONSTRUCTS`] and [`CONSTRUCT_FILES`]: the page.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstructPageQuery {
    /// Page size (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Continue after this name (a previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl ConstructPageQuery {
    /// The query of `page`.
    pub fn new(page: &PageRequest) -> Self {
        ConstructPageQuery {
            limit: page.limit,
            after: page.after.clone(),
        }
    }

    /// The page this query asks for.
    pub fn page(self) -> PageRequest {
        PageRequest::new(self.limit, self.after)
    }
}

/// Query of `GET` [`CONSTRUCT_TRANSCRIPT`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptQueryParams {
    /// Page size (default 100, 1 to 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Continue after this sequence number (a previous page's `next`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u64>,
    /// `newest` (default) or `oldest` first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
}

impl From<&TranscriptQuery> for TranscriptQueryParams {
    fn from(q: &TranscriptQuery) -> Self {
        TranscriptQueryParams {
            limit: q.limit,
            after: q.after,
            order: Some(q.order),
        }
    }
}

impl From<TranscriptQueryParams> for TranscriptQuery {
    fn from(q: TranscriptQueryParams) -> Self {
        TranscriptQuery {
            limit: q.limit,
            after: q.after,
            order: q.order.unwrap_or_default(),
        }
    }
}

// ---- responses ----

/// Body of a successful `GET` [`CONSTRUCT`].
#[derive(Debug, Serialize, Deserialize)]
pub struct CapsuleReply {
    /// The document.
    pub capsule: JsonObject,
    /// The construct.
    pub construct_id: ConstructId,
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// Always `true`.
    pub success: bool,
    /// When this version was written.
    pub updated_at: Timestamp,
    /// This version.
    pub version: u64,
}

impl From<Capsule> for CapsuleReply {
    fn from(c: Capsule) -> Self {
        CapsuleReply {
            capsule: c.document,
            construct_id: c.construct_id,
            created_at: c.created_at,
            success: true,
            updated_at: c.updated_at,
            version: c.version,
        }
    }
}

impl From<CapsuleReply> for Capsule {
    fn from(r: CapsuleReply) -> Self {
        Capsule {
            construct_id: r.construct_id,
            document: r.capsule,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// Body of a successful `PUT` [`CONSTRUCT`].
#[derive(Debug, Serialize, Deserialize)]
pub struct CapsuleWrittenReply {
    /// Created or updated.
    pub action: Action,
    /// The construct.
    pub construct_id: ConstructId,
    /// Always `true`.
    pub success: bool,
    /// The version written.
    pub version: u64,
}

impl From<CapsuleWritten> for CapsuleWrittenReply {
    fn from(w: CapsuleWritten) -> Self {
        CapsuleWrittenReply {
            action: w.action,
            construct_id: w.construct_id,
            success: true,
            version: w.version,
        }
    }
}

impl From<CapsuleWrittenReply> for CapsuleWritten {
    fn from(r: CapsuleWrittenReply) -> Self {
        CapsuleWritten {
            construct_id: r.construct_id,
            action: r.action,
            version: r.version,
        }
    }
}

/// Body of a successful `PUT` [`CONSTRUCT_FILE`].
#[derive(Debug, Serialize, Deserialize)]
pub struct FileWrittenReply {
    /// Created or updated.
    pub action: Action,
    /// The construct.
    pub construct_id: ConstructId,
    /// The file.
    pub name: FileName,
    /// SHA-256 of the content written.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Always `true`.
    pub success: bool,
    /// The version written.
    pub version: u64,
}

impl From<FileWritten> for FileWrittenReply {
    fn from(w: FileWritten) -> Self {
        FileWrittenReply {
            action: w.action,
            construct_id: w.construct_id,
            name: w.name,
            sha256: w.sha256,
            size: w.size,
            success: true,
            version: w.version,
        }
    }
}

impl From<FileWrittenReply> for FileWritten {
    fn from(r: FileWrittenReply) -> Self {
        FileWritten {
            construct_id: r.construct_id,
            name: r.name,
            action: r.action,
            version: r.version,
            sha256: r.sha256,
            size: r.size,
        }
    }
}

/// Body of a successful `DELETE` [`CONSTRUCT_FILE`].
#[derive(Debug, Serialize, Deserialize)]
pub struct FileDeletedReply {
    /// Always `deleted`.
    pub action: String,
    /// The construct.
    pub construct_id: ConstructId,
    /// The file deleted.
    pub name: FileName,
    /// Always `true`.
    pub success: bool,
}

impl From<FileDeleted> for FileDeletedReply {
    fn from(d: FileDeleted) -> Self {
        FileDeletedReply {
            action: "deleted".to_string(),
            construct_id: d.construct_id,
            name: d.name,
            success: true,
        }
    }
}

/// A file as listed (never its content).
#[derive(Debug, Serialize, Deserialize)]
pub struct FileInfoWire {
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// The file's name.
    pub name: FileName,
    /// SHA-256 of the latest version.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// When the latest version was written.
    pub updated_at: Timestamp,
    /// The latest version.
    pub version: u64,
}

/// An item a listing found but could not read.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConstructUnreadableWire {
    /// The error code reading it gave (`integrity`).
    pub error: String,
    /// Its name (construct id or file name).
    pub name: String,
}

/// Body of a successful `GET` [`CONSTRUCT_FILES`].
#[derive(Debug, Serialize, Deserialize)]
pub struct FileListReply {
    /// The construct.
    pub construct_id: ConstructId,
    /// The files of this page, ordered by name.
    pub files: Vec<FileInfoWire>,
    /// Present when more files follow: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Always `true`.
    pub success: bool,
    /// Files of this page that could not be read; present only when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<ConstructUnreadableWire>,
}

fn unreadable_wire(page_unreadable: Vec<vault_core::Unreadable>) -> Vec<ConstructUnreadableWire> {
    page_unreadable
        .into_iter()
        .map(|u| ConstructUnreadableWire {
            error: u.error.code().to_string(),
            name: u.name,
        })
        .collect()
}

impl FileListReply {
    /// The body answering `page` of construct `id`.
    pub fn new(id: ConstructId, page: Page<FileInfo>) -> Self {
        FileListReply {
            construct_id: id,
            files: page
                .items
                .into_iter()
                .map(|f| FileInfoWire {
                    created_at: f.created_at,
                    name: f.name,
                    sha256: f.sha256,
                    size: f.size,
                    updated_at: f.updated_at,
                    version: f.version,
                })
                .collect(),
            next: page.next,
            success: true,
            unreadable: unreadable_wire(page.unreadable),
        }
    }

    /// The page this body stands for.
    pub fn into_page(self) -> Page<FileInfo> {
        let id = self.construct_id;
        Page {
            items: self
                .files
                .into_iter()
                .map(|f| FileInfo {
                    construct_id: id.clone(),
                    name: f.name,
                    version: f.version,
                    sha256: f.sha256,
                    size: f.size,
                    created_at: f.created_at,
                    updated_at: f.updated_at,
                })
                .collect(),
            unreadable: self
                .unreadable
                .into_iter()
                .map(|u| unreadable(u.name, &u.error))
                .collect(),
            next: self.next,
            revision: None,
        }
    }
}

/// Body of a successful `POST` [`CONSTRUCT_TRANSCRIPT`].
#[derive(Debug, Serialize, Deserialize)]
pub struct EntryAppendedReply {
    /// The construct.
    pub construct_id: ConstructId,
    /// The entry's sequence number.
    pub seq: u64,
    /// Always `true`.
    pub success: bool,
    /// The entry's timestamp.
    pub timestamp: Timestamp,
}

impl From<EntryAppended> for EntryAppendedReply {
    fn from(a: EntryAppended) -> Self {
        EntryAppendedReply {
            construct_id: a.construct_id,
            seq: a.seq,
            success: true,
            timestamp: a.timestamp,
        }
    }
}

impl From<EntryAppendedReply> for EntryAppended {
    fn from(r: EntryAppendedReply) -> Self {
        EntryAppended {
            construct_id: r.construct_id,
            seq: r.seq,
            timestamp: r.timestamp,
        }
    }
}

/// Body of a successful `GET` [`CONSTRUCT_TRANSCRIPT`].
#[derive(Debug, Serialize, Deserialize)]
pub struct TranscriptReply {
    /// The construct.
    pub construct_id: ConstructId,
    /// The entries, in the order asked for.
    pub entries: Vec<TranscriptEntry>,
    /// Present when more entries follow in that order: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
    /// Always `true`.
    pub success: bool,
    /// How many entries the transcript has.
    pub total: u64,
}

impl TranscriptReply {
    /// The body answering `page` of construct `id`.
    pub fn new(id: ConstructId, page: TranscriptPage) -> Self {
        TranscriptReply {
            construct_id: id,
            entries: page.entries,
            next: page.next,
            success: true,
            total: page.total,
        }
    }
}

impl From<TranscriptReply> for TranscriptPage {
    fn from(r: TranscriptReply) -> Self {
        TranscriptPage {
            entries: r.entries,
            next: r.next,
            total: r.total,
        }
    }
}

/// A construct as listed.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConstructSummaryWire {
    /// The capsule's latest version (0: none).
    pub capsule_version: u64,
    /// The construct.
    pub construct_id: ConstructId,
    /// When anything was first written to it.
    pub created_at: Timestamp,
    /// How many identity files it has.
    pub file_count: u64,
    /// How many transcript entries it has.
    pub transcript_count: u64,
}

/// Body of a successful `GET` [`CONSTRUCTS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ConstructListReply {
    /// The constructs of this page, ordered by id.
    pub constructs: Vec<ConstructSummaryWire>,
    /// Present when more constructs follow: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Always `true`.
    pub success: bool,
    /// Constructs of this page that could not be read; present only when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<ConstructUnreadableWire>,
}

impl From<Page<ConstructSummary>> for ConstructListReply {
    fn from(page: Page<ConstructSummary>) -> Self {
        ConstructListReply {
            constructs: page
                .items
                .into_iter()
                .map(|s| ConstructSummaryWire {
                    capsule_version: s.capsule_version,
                    construct_id: s.construct_id,
                    created_at: s.created_at,
                    file_count: s.file_count,
                    transcript_count: s.transcript_count,
                })
                .collect(),
            next: page.next,
            success: true,
            unreadable: unreadable_wire(page.unreadable),
        }
    }
}

impl From<ConstructListReply> for Page<ConstructSummary> {
    fn from(r: ConstructListReply) -> Self {
        Page {
            items: r
                .constructs
                .into_iter()
                .map(|s| ConstructSummary {
                    construct_id: s.construct_id,
                    capsule_version: s.capsule_version,
                    file_count: s.file_count,
                    transcript_count: s.transcript_count,
                    created_at: s.created_at,
                })
                .collect(),
            unreadable: r
                .unreadable
                .into_iter()
                .map(|u| unreadable(u.name, &u.error))
                .collect(),
            next: r.next,
            revision: None,
        }
    }
}

/// Body of a successful `GET` [`CONSTRUCT_EXPORT`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ExportReply {
    /// The document (the body of an import).
    pub export: ConstructExport,
    /// Always `true`.
    pub success: bool,
}

/// Body of a successful `POST` [`CONSTRUCT_IMPORT`].
#[derive(Debug, Serialize, Deserialize)]
pub struct ImportReply {
    /// 1 when the document had a capsule, 0 otherwise.
    pub capsule_version: u64,
    /// The construct created.
    pub construct_id: ConstructId,
    /// How many files were written.
    pub files: u64,
    /// Always `true`.
    pub success: bool,
    /// How many transcript entries were written.
    pub transcript_entries: u64,
}

impl From<ImportReport> for ImportReply {
    fn from(r: ImportReport) -> Self {
        ImportReply {
            capsule_version: r.capsule_version,
            construct_id: r.construct_id,
            files: r.files,
            success: true,
            transcript_entries: r.transcript_entries,
        }
    }
}

impl From<ImportReply> for ImportReport {
    fn from(r: ImportReply) -> Self {
        ImportReport {
            construct_id: r.construct_id,
            capsule_version: r.capsule_version,
            files: r.files,
            transcript_entries: r.transcript_entries,
        }
    }
}

/// The metadata headers of a file read, as `(name, value)` pairs.
pub fn file_headers(info: &FileInfo) -> [(&'static str, String); 4] {
    [
        (FILE_VERSION_HEADER, info.version.to_string()),
        (FILE_SHA256_HEADER, info.sha256.clone()),
        (FILE_CREATED_HEADER, info.created_at.to_string()),
        (FILE_UPDATED_HEADER, info.updated_at.to_string()),
    ]
}

/// The [`FileInfo`] of a file read from its headers (`header` looks one up) and body size.
pub fn file_info_from_headers<'a>(
    id: &ConstructId,
    name: &FileName,
    size: usize,
    header: impl Fn(&str) -> Option<&'a str>,
) -> Result<FileInfo> {
    let bad = |h: &str| {
        Error::Internal(format!(
            "unexpected response from the vault server (header {h})"
        ))
    };
    let get = |h: &'static str| header(h).ok_or_else(|| bad(h));
    let time = |h: &'static str| get(h).and_then(|v| Timestamp::parse(v).ok_or_else(|| bad(h)));
    Ok(FileInfo {
        construct_id: id.clone(),
        name: name.clone(),
        version: get(FILE_VERSION_HEADER)?
            .parse()
            .map_err(|_| bad(FILE_VERSION_HEADER))?,
        sha256: get(FILE_SHA256_HEADER)?.to_string(),
        size: size as u64,
        created_at: time(FILE_CREATED_HEADER)?,
        updated_at: time(FILE_UPDATED_HEADER)?,
    })
}
