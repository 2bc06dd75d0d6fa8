//! Export of one construct as a single JSON document, and its import into another vault.
//!
//! The document ([`ConstructExport`]) carries content: the latest capsule, the latest version
//! of every file (base64 with its SHA-256 and size, checked again on import) and the whole
//! transcript. It is bounded by [`MAX_EXPORT_BYTES`]. An import is one commit, all or nothing,
//! on condition that no construct of that id exists: an existing id is `conflict` naming it,
//! and nothing is merged or overwritten.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::embedded::{
    Constructs, StoredCapsule, StoredInfo, capsule_head_key, capsule_version_key, info_key,
    no_construct,
};
use super::{MAX_ENTRY_BYTES, MAX_FILES, TRANSCRIPT_MAX_LIMIT, TranscriptEntry};
use crate::JsonObject;
use crate::clock::Timestamp;
use crate::context::Capability;
use crate::error::{Error, Result};
use crate::names::{ConstructId, FileName, check_name};
use crate::records::seal_json;
use crate::store::{Condition, Write};

/// The `format` of an export document.
pub const EXPORT_FORMAT: &str = "vault.construct.v1";
/// Largest export document, in bytes (content, base64 included, plus a small allowance per
/// item): an export that would be larger is `invalid export`; an import body over it is
/// refused.
pub const MAX_EXPORT_BYTES: usize = 32 * 1024 * 1024;

/// One construct as a document (see the module doc).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstructExport {
    /// Always [`EXPORT_FORMAT`].
    pub format: String,
    /// The construct; an import keeps it.
    pub construct_id: ConstructId,
    /// When the export was made.
    pub exported_at: Timestamp,
    /// The latest capsule, if any.
    #[serde(default)]
    pub capsule: Option<ExportedCapsule>,
    /// The latest version of each file, ordered by name.
    #[serde(default)]
    pub files: Vec<ExportedFile>,
    /// The whole transcript, oldest first, numbered from 1.
    #[serde(default)]
    pub transcript: Vec<TranscriptEntry>,
}

/// Counts only, never content.
impl std::fmt::Debug for ConstructExport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConstructExport")
            .field("construct_id", &self.construct_id)
            .field("capsule", &self.capsule.as_ref().map(|c| c.version))
            .field("files", &self.files.len())
            .field("transcript", &self.transcript.len())
            .finish_non_exhaustive()
    }
}

/// The capsule in an export.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedCapsule {
    /// The document.
    pub document: JsonObject,
    /// Its version in the exporting vault.
    pub version: u64,
}

/// A file in an export.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportedFile {
    /// The file's name.
    pub name: FileName,
    /// Its version in the exporting vault.
    pub version: u64,
    /// SHA-256 of the content (64 lowercase hex digits).
    pub sha256: String,
    /// Size of the content in bytes.
    pub size: u64,
    /// The content, standard base64 with padding.
    pub content_base64: String,
}

/// Never the content.
impl std::fmt::Debug for ExportedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportedFile")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("sha256", &self.sha256)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Never the document.
impl std::fmt::Debug for ExportedCapsule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExportedCapsule")
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    /// The construct created.
    pub construct_id: ConstructId,
    /// 1 when the document had a capsule, 0 otherwise.
    pub capsule_version: u64,
    /// How many files were written (each at version 1).
    pub files: u64,
    /// How many transcript entries were written.
    pub transcript_entries: u64,
}

/// Bytes a document item costs beyond its content (JSON keys, numbers, timestamps).
const ITEM_OVERHEAD: usize = 200;

fn too_large() -> Error {
    Error::invalid(
        "export",
        format!("the construct is larger than {MAX_EXPORT_BYTES} bytes as one document"),
    )
}

impl ConstructExport {
    /// Checks the whole document before anything is written: the format, the capsule, every
    /// file (name unique, base64, size within [`MAX_FILE_BYTES`](super::MAX_FILE_BYTES),
    /// SHA-256 and size matching the content), every transcript entry (numbered 1, 2, 3, ...,
    /// role a name, content within [`MAX_ENTRY_BYTES`]) and the total size. Returns each
    /// file's decoded content. The one rule, also applied by a remote client before it sends.
    pub fn check(&self) -> Result<Vec<Vec<u8>>> {
        if self.format != EXPORT_FORMAT {
            return Err(Error::invalid(
                "format",
                format!("must be '{EXPORT_FORMAT}'"),
            ));
        }
        let mut size = 0usize;
        if let Some(c) = &self.capsule {
            super::check_capsule(&c.document)?;
            size += serde_json::to_vec(&c.document).map_or(usize::MAX, |b| b.len());
        }
        if self.files.len() as u64 > MAX_FILES {
            return Err(Error::invalid(
                "files",
                format!("at most {MAX_FILES} files"),
            ));
        }
        let mut names = std::collections::HashSet::new();
        let mut contents = Vec::with_capacity(self.files.len());
        for (i, f) in self.files.iter().enumerate() {
            if !names.insert(f.name.as_str()) {
                return Err(Error::invalid(
                    format!("files[{i}].name"),
                    "appears more than once",
                ));
            }
            size = size.saturating_add(f.content_base64.len() + ITEM_OVERHEAD);
            if size > MAX_EXPORT_BYTES {
                return Err(too_large());
            }
            let content = base64::engine::general_purpose::STANDARD
                .decode(&f.content_base64)
                .map_err(|_| {
                    Error::invalid(format!("files[{i}].content_base64"), "is not base64")
                })?;
            super::check_file_size(content.len())
                .map_err(|_| Error::invalid(format!("files[{i}]"), "is larger than 10 MiB"))?;
            if content.len() as u64 != f.size {
                return Err(Error::invalid(
                    format!("files[{i}].size"),
                    "does not match the content",
                ));
            }
            if crate::crypto::sha256_hex(&content)? != f.sha256 {
                return Err(Error::invalid(
                    format!("files[{i}].sha256"),
                    "does not match the content",
                ));
            }
            contents.push(content);
        }
        for (i, e) in self.transcript.iter().enumerate() {
            if e.seq != i as u64 + 1 {
                return Err(Error::invalid(
                    format!("transcript[{i}].seq"),
                    "entries must be numbered 1, 2, 3, ... in order",
                ));
            }
            check_name(&format!("transcript[{i}].role"), &e.role)?;
            if e.content.len() > MAX_ENTRY_BYTES {
                return Err(Error::invalid(
                    format!("transcript[{i}].content"),
                    format!("must be at most {MAX_ENTRY_BYTES} bytes"),
                ));
            }
            size = size.saturating_add(e.content.len() + e.role.len() + ITEM_OVERHEAD);
        }
        if size > MAX_EXPORT_BYTES {
            return Err(too_large());
        }
        Ok(contents)
    }
}

impl Constructs {
    pub(super) async fn export_inner(&self, id: &ConstructId) -> Result<ConstructExport> {
        if self.info(id).await?.is_none() {
            return Err(no_construct(id));
        }
        let barrier = self.ctx.barrier();
        let mut size = 0usize;
        let capsule = crate::records::read_head::<StoredCapsule>(barrier, &capsule_head_key(id))
            .await?
            .map(|h| ExportedCapsule {
                document: h.record.document,
                version: h.record.version,
            });
        if let Some(c) = &capsule {
            size += serde_json::to_vec(&c.document).map_or(usize::MAX, |b| b.len());
        }
        let mut files = Vec::new();
        for (name, head) in self.all_file_heads(id).await? {
            // Every file goes out: the caller must be allowed to read each.
            self.ctx
                .require(Capability::Read, &format!("constructs/{id}/files/{name}"))?;
            let encoded_len = (head.size as usize).div_ceil(3) * 4;
            size = size.saturating_add(encoded_len + ITEM_OVERHEAD);
            if size > MAX_EXPORT_BYTES {
                return Err(too_large());
            }
            let file = self.get_file_inner(id, &name, None).await?;
            files.push(ExportedFile {
                name,
                version: file.info.version,
                sha256: file.info.sha256,
                size: file.info.size,
                content_base64: base64::engine::general_purpose::STANDARD.encode(&file.content),
            });
        }
        let total = self.transcript_count(id).await?;
        let mut transcript = Vec::new();
        if total > 0 {
            self.ctx
                .require(Capability::Read, &format!("constructs/{id}/transcript"))?;
        }
        let mut lo = 1;
        while lo <= total {
            let hi = total.min(lo + TRANSCRIPT_MAX_LIMIT as u64 - 1);
            for e in self.entries(id, lo, hi).await? {
                size = size.saturating_add(e.content.len() + e.role.len() + ITEM_OVERHEAD);
                if size > MAX_EXPORT_BYTES {
                    return Err(too_large());
                }
                transcript.push(e);
            }
            lo = hi + 1;
        }
        Ok(ConstructExport {
            format: EXPORT_FORMAT.to_string(),
            construct_id: id.clone(),
            exported_at: self.ctx.clock().now(),
            capsule,
            files,
            transcript,
        })
    }

    pub(super) async fn import_inner(&self, doc: &ConstructExport) -> Result<ImportReport> {
        let contents = doc.check()?;
        let id = &doc.construct_id;
        if !doc.transcript.is_empty() {
            self.ctx
                .require(Capability::Write, &format!("constructs/{id}/transcript"))?;
        }
        for f in &doc.files {
            self.ctx.require(
                Capability::Write,
                &format!("constructs/{id}/files/{}", f.name),
            )?;
        }
        let exists = || {
            Error::Conflict(format!(
                "Construct '{id}' already exists in this vault; an import only creates new \
                 constructs (nothing was written)"
            ))
        };
        if self.info(id).await?.is_some() {
            return Err(exists());
        }
        let barrier = self.ctx.barrier();
        let now = self.ctx.clock().now();
        let ms = now.as_millis();
        let ikey = info_key(id);
        let info = StoredInfo {
            created_at: ms,
            files: doc.files.len() as u64,
        };
        let mut conditions = vec![Condition::Absent(ikey.clone())];
        let mut writes = vec![Write::Put(ikey.clone(), seal_json(barrier, &ikey, &info)?)];
        let head_key = capsule_head_key(id);
        conditions.push(Condition::Absent(head_key.clone()));
        if let Some(c) = &doc.capsule {
            let record = StoredCapsule {
                document: c.document.clone(),
                version: 1,
                created_at: ms,
                updated_at: ms,
                oldest: 1,
            };
            let vkey = capsule_version_key(id, 1);
            writes.push(Write::Put(
                head_key.clone(),
                seal_json(barrier, &head_key, &record)?,
            ));
            writes.push(Write::Put(
                vkey.clone(),
                seal_json(barrier, &vkey, &record)?,
            ));
        }
        for (f, content) in doc.files.iter().zip(&contents) {
            self.new_file_writes(id, &f.name, content, ms, &mut writes, &mut conditions)?;
        }
        self.new_transcript_writes(id, &doc.transcript, now, &mut writes, &mut conditions)?;
        if !barrier.commit(conditions, writes).await? {
            return Err(exists());
        }
        Ok(ImportReport {
            construct_id: id.clone(),
            capsule_version: u64::from(doc.capsule.is_some()),
            files: doc.files.len() as u64,
            transcript_entries: doc.transcript.len() as u64,
        })
    }
}
