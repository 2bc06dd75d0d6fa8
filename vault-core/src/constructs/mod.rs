//! Constructs: the identity vault of a chat app's AI personas. Each construct (a
//! [`ConstructId`]) has a **capsule** (a versioned JSON object, compare-and-set like configs),
//! named **identity files** (versioned bytes, each version with its SHA-256 and size) and a
//! **transcript** (append-only entries read in pages, newest or oldest first).
//!
//! This module owns the family's types, its input rules (applied by the embedded vault and by
//! a remote client before it sends) and its interface, [`ConstructsApi`], which the embedded
//! vault ([`Constructs`]) and the remote client both implement. Resource paths:
//! `constructs/<id>` (capsule, export, import), `constructs/<id>/files/<name>` and
//! `constructs/<id>/transcript`.

mod embedded;
mod export;
mod files;
mod transcript;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use embedded::Constructs;
pub use export::{
    ConstructExport, EXPORT_FORMAT, ExportedCapsule, ExportedFile, ImportReport, MAX_EXPORT_BYTES,
};

use crate::api::check_json_depth;
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::names::{ConstructId, FileName, check_name};
use crate::page::{Page, PageRequest};
use crate::{Action, JsonObject};

/// Largest capsule, in bytes of JSON (nested at most [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH)
/// levels deep).
pub const MAX_CAPSULE_BYTES: usize = 512 * 1024;
/// Capsule versions kept (the latest included); a put prunes older ones in its commit.
pub const CAPSULE_VERSIONS_KEPT: u64 = 100;
/// Largest identity file, in bytes.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// Versions kept of each identity file (the latest included).
pub const FILE_VERSIONS_KEPT: u64 = 10;
/// Most identity files one construct may have.
pub const MAX_FILES: u64 = 1000;
/// Largest transcript entry content, in bytes of UTF-8.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024;
/// Default page size of a transcript read.
pub const TRANSCRIPT_DEFAULT_LIMIT: usize = 100;
/// Largest page of a transcript read.
pub const TRANSCRIPT_MAX_LIMIT: usize = 1000;
/// Most entry content one transcript page carries: a page whose entries would exceed it ends
/// early (always with at least one entry), its `next` saying where to continue.
pub const MAX_PAGE_CONTENT_BYTES: usize = 4 * 1024 * 1024;

/// A construct's capsule: one version of its JSON document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capsule {
    /// The construct.
    pub construct_id: ConstructId,
    /// The document.
    pub document: JsonObject,
    /// Version number: 1, 2, 3, ...
    pub version: u64,
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// When this version was written.
    pub updated_at: Timestamp,
}

/// The outcome of a capsule put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapsuleWritten {
    /// The construct.
    pub construct_id: ConstructId,
    /// Created or updated.
    pub action: Action,
    /// The version written.
    pub version: u64,
}

/// `invalid capsule` unless `document` is nested at most
/// [`MAX_JSON_DEPTH`](crate::MAX_JSON_DEPTH) levels and within [`MAX_CAPSULE_BYTES`]; the one
/// rule, also applied by a remote client before it sends.
pub fn check_capsule(document: &JsonObject) -> Result<()> {
    check_json_depth("capsule", document)?;
    let size = serde_json::to_vec(document).map_or(usize::MAX, |b| b.len());
    if size > MAX_CAPSULE_BYTES {
        return Err(Error::invalid(
            "capsule",
            format!("must be at most {MAX_CAPSULE_BYTES} bytes of JSON"),
        ));
    }
    Ok(())
}

/// One version of an identity file, with its content.
#[derive(Clone, PartialEq, Eq)]
pub struct ConstructFile {
    /// What is known of it without the content.
    pub info: FileInfo,
    /// The bytes.
    pub content: Vec<u8>,
}

/// Never the content: a file's bytes are the construct's identity.
impl std::fmt::Debug for ConstructFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConstructFile")
            .field("info", &self.info)
            .field("content", &format_args!("[{} bytes]", self.content.len()))
            .finish()
    }
}

/// An identity file as listed, or one version of it: everything but the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The construct.
    pub construct_id: ConstructId,
    /// The file's name.
    pub name: FileName,
    /// Version number: 1, 2, 3, ... (this version, or the latest in a listing).
    pub version: u64,
    /// SHA-256 of the content, 64 lowercase hex digits.
    pub sha256: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// When version 1 was written.
    pub created_at: Timestamp,
    /// When this version was written.
    pub updated_at: Timestamp,
}

/// The outcome of a file put.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileWritten {
    /// The construct.
    pub construct_id: ConstructId,
    /// The file's name.
    pub name: FileName,
    /// Created or updated.
    pub action: Action,
    /// The version written.
    pub version: u64,
    /// SHA-256 of the content written.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The outcome of a file delete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileDeleted {
    /// The construct.
    pub construct_id: ConstructId,
    /// The file deleted (every version).
    pub name: FileName,
}

/// `invalid file` when `size` is over [`MAX_FILE_BYTES`]; the one rule, also applied by a
/// remote client before it sends.
pub fn check_file_size(size: usize) -> Result<()> {
    if size > MAX_FILE_BYTES {
        return Err(Error::invalid(
            "file",
            format!("must be at most {MAX_FILE_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// A transcript entry to append.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewEntry {
    /// Who spoke: `user`, `assistant`, `system`, `tool`, ... (a name: letters, digits, `_`,
    /// `-`, `.`, `:`).
    pub role: String,
    /// What was said (at most [`MAX_ENTRY_BYTES`] bytes).
    pub content: String,
    /// When it was said; the vault's clock when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

/// Never the content.
impl std::fmt::Debug for NewEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEntry")
            .field("role", &self.role)
            .field("content", &format_args!("[{} bytes]", self.content.len()))
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

impl NewEntry {
    /// An entry by `role` saying `content`, timestamped by the vault.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        NewEntry {
            role: role.into(),
            content: content.into(),
            timestamp: None,
        }
    }

    /// `invalid role` unless the role is a name, `invalid content` over [`MAX_ENTRY_BYTES`];
    /// the one rule, also applied by a remote client before it sends.
    pub fn check(&self) -> Result<()> {
        check_entry(&self.role, &self.content)
    }
}

fn check_entry(role: &str, content: &str) -> Result<()> {
    check_name("role", role)?;
    if content.len() > MAX_ENTRY_BYTES {
        return Err(Error::invalid(
            "content",
            format!("must be at most {MAX_ENTRY_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// One transcript entry as stored: its sequence number (1, 2, 3, ... in append order), role,
/// content and timestamp.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptEntry {
    /// Position in the transcript, from 1.
    pub seq: u64,
    /// Who spoke.
    pub role: String,
    /// What was said.
    pub content: String,
    /// When it was said.
    pub timestamp: Timestamp,
}

/// Never the content.
impl std::fmt::Debug for TranscriptEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranscriptEntry")
            .field("seq", &self.seq)
            .field("role", &self.role)
            .field("content", &format_args!("[{} bytes]", self.content.len()))
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

/// The outcome of an append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryAppended {
    /// The construct.
    pub construct_id: ConstructId,
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry's timestamp.
    pub timestamp: Timestamp,
}

/// The order of a transcript page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Newest entry first (the default).
    #[default]
    Newest,
    /// Oldest entry first.
    Oldest,
}

impl Order {
    /// `"newest"` or `"oldest"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Newest => "newest",
            Order::Oldest => "oldest",
        }
    }
}

impl std::str::FromStr for Order {
    type Err = Error;

    /// `invalid order` unless `newest` or `oldest`.
    fn from_str(s: &str) -> Result<Order> {
        match s {
            "newest" => Ok(Order::Newest),
            "oldest" => Ok(Order::Oldest),
            _ => Err(Error::invalid("order", "must be 'newest' or 'oldest'")),
        }
    }
}

/// Which page of a transcript to read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TranscriptQuery {
    /// Page size (default [`TRANSCRIPT_DEFAULT_LIMIT`], 1 to [`TRANSCRIPT_MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// Continue after this sequence number (a previous page's `next`): with
    /// [`Order::Newest`] the entries older than it, with [`Order::Oldest`] the newer ones.
    pub after: Option<u64>,
    /// Newest or oldest first.
    pub order: Order,
}

impl TranscriptQuery {
    /// The page size; `invalid limit` outside 1 to [`TRANSCRIPT_MAX_LIMIT`]. The one rule,
    /// also applied by a remote client before it sends.
    pub fn checked_limit(&self) -> Result<usize> {
        let limit = self.limit.unwrap_or(TRANSCRIPT_DEFAULT_LIMIT);
        if limit == 0 || limit > TRANSCRIPT_MAX_LIMIT {
            return Err(Error::invalid(
                "limit",
                format!("must be 1 to {TRANSCRIPT_MAX_LIMIT}"),
            ));
        }
        Ok(limit)
    }
}

/// One page of a transcript: at most `limit` entries and (past the first entry) at most
/// [`MAX_PAGE_CONTENT_BYTES`] of content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptPage {
    /// The entries, in the order asked for.
    pub entries: Vec<TranscriptEntry>,
    /// Present when more entries follow in that order: the `after` of the next page.
    pub next: Option<u64>,
    /// How many entries the transcript has.
    pub total: u64,
}

/// A construct as listed: its id and counts, never content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConstructSummary {
    /// The construct.
    pub construct_id: ConstructId,
    /// The capsule's latest version (0: no capsule yet).
    pub capsule_version: u64,
    /// How many identity files it has.
    pub file_count: u64,
    /// How many transcript entries it has.
    pub transcript_count: u64,
    /// When anything was first written to it.
    pub created_at: Timestamp,
}

/// The construct operations, embedded or remote.
#[async_trait]
pub trait ConstructsApi: Send + Sync {
    /// Writes a new version of a construct's capsule (creating the construct if needed);
    /// `expected_version` is compare-and-set (0: the capsule must not exist), `conflict` when
    /// it does not match. Needs `write` on `constructs/<id>`.
    async fn put_capsule(
        &self,
        id: &ConstructId,
        document: JsonObject,
        expected_version: Option<u64>,
    ) -> Result<CapsuleWritten>;

    /// The capsule: the latest version or version `version`; `not_found` when missing (or
    /// that version is not kept). Needs `read` on `constructs/<id>`.
    async fn get_capsule(&self, id: &ConstructId, version: Option<u64>) -> Result<Capsule>;

    /// Writes a new version of an identity file (at most [`MAX_FILE_BYTES`]; a construct has
    /// at most [`MAX_FILES`]); `expected_version` as for capsules. Needs `write` on
    /// `constructs/<id>/files/<name>`.
    async fn put_file(
        &self,
        id: &ConstructId,
        name: &FileName,
        content: Vec<u8>,
        expected_version: Option<u64>,
    ) -> Result<FileWritten>;

    /// An identity file: the latest version or version `version`; `not_found` when missing.
    /// Needs `read` on `constructs/<id>/files/<name>`.
    async fn get_file(
        &self,
        id: &ConstructId,
        name: &FileName,
        version: Option<u64>,
    ) -> Result<ConstructFile>;

    /// Deletes an identity file, every version; `not_found` when missing. Needs `delete` on
    /// `constructs/<id>/files/<name>`.
    async fn delete_file(&self, id: &ConstructId, name: &FileName) -> Result<FileDeleted>;

    /// One page of a construct's files (latest versions, no content), ordered by name; those
    /// the caller may not `list` are left out. Needs `list` on `constructs/<id>/files/*`.
    async fn list_files(&self, id: &ConstructId, page: PageRequest) -> Result<Page<FileInfo>>;

    /// Appends an entry to a construct's transcript (creating the construct if needed) and
    /// returns its sequence number. Safe under concurrent appenders: each gets its own number,
    /// none is lost. Needs `write` on `constructs/<id>/transcript`.
    async fn append(&self, id: &ConstructId, entry: NewEntry) -> Result<EntryAppended>;

    /// One page of a construct's transcript; `not_found` when the construct has none. Needs
    /// `read` on `constructs/<id>/transcript`.
    async fn transcript(&self, id: &ConstructId, query: TranscriptQuery) -> Result<TranscriptPage>;

    /// One page of constructs (ids and counts), ordered by id; those the caller may not
    /// `list` (on `constructs/<id>`) are left out. Needs `list` on `constructs/*`.
    async fn list(&self, page: PageRequest) -> Result<Page<ConstructSummary>>;

    /// The whole construct as one document: the latest capsule, the latest version of every
    /// file (base64, with SHA-256) and the whole transcript. `invalid export` when it would be
    /// larger than [`MAX_EXPORT_BYTES`]. Needs `read` on `constructs/<id>`, its transcript and
    /// each of its files.
    async fn export(&self, id: &ConstructId) -> Result<ConstructExport>;

    /// Imports an exported construct under its id, all or nothing: `conflict` naming the id
    /// when a construct of that id exists (nothing is merged or overwritten). The capsule and
    /// the files start again at version 1; transcript entries keep their order, role, content
    /// and timestamps. Needs `write` on `constructs/<id>`, its transcript and each file.
    async fn import(&self, doc: ConstructExport) -> Result<ImportReport>;
}
