//! A construct's identity files in the embedded vault: put (a new version, compare-and-set),
//! get (latest or a kept version), delete (every version), list.
//!
//! A file's head `con/h/<id>/file/<name>` holds its metadata only (version, SHA-256, size), so
//! a listing opens no content; each kept version `con/v/<id>/file/<name>/<u64 BE>` holds its
//! metadata and content in one sealed record: a 4-byte big-endian length, the metadata JSON,
//! then the bytes (no base64 or JSON array inflating a 10 MiB file).

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::embedded::{Constructs, StoredInfo, busy, info_key};
use super::{ConstructFile, FILE_VERSIONS_KEPT, FileDeleted, FileInfo, FileWritten, MAX_FILES};
use crate::Action;
use crate::clock::Timestamp;
use crate::context::Capability;
use crate::crypto::{random_base62, sha256_hex};
use crate::error::{Error, Result};
use crate::names::{ConstructId, FileName};
use crate::page::{Page, PageRequest};
use crate::records::{MAX_ATTEMPTS, Visible, check_expected, read_head, read_page, seal_json};
use crate::store::{Condition, Write};

/// `con/h/<id>/file/`: prefix of a construct's file heads.
pub(super) fn file_heads_prefix(id: &str) -> Vec<u8> {
    format!("con/h/{id}/file/").into_bytes()
}

fn file_head_key(id: &str, name: &str) -> Vec<u8> {
    let mut k = file_heads_prefix(id);
    k.extend_from_slice(name.as_bytes());
    k
}

fn file_versions_prefix(id: &str, name: &str) -> Vec<u8> {
    format!("con/v/{id}/file/{name}/").into_bytes()
}

fn file_version_key(id: &str, name: &str, version: u64) -> Vec<u8> {
    let mut k = file_versions_prefix(id, name);
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// A file's head.
#[derive(Serialize, Deserialize)]
pub(super) struct FileHead {
    pub(super) version: u64,
    pub(super) oldest: u64,
    pub(super) sha256: String,
    pub(super) size: u64,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    /// Random id of this file's life (creation to delete), in the head and every version: a
    /// version of an earlier file of the same name never passes for one of this one.
    pub(super) life: String,
}

/// The metadata part of a version record.
#[derive(Serialize, Deserialize)]
struct VersionMeta {
    version: u64,
    sha256: String,
    size: u64,
    updated_at: i64,
    life: String,
}

fn frame(meta: &VersionMeta, content: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let json = serde_json::to_vec(meta).map_err(|e| Error::Internal(format!("encode: {e}")))?;
    let len = u32::try_from(json.len()).map_err(|_| Error::Internal("metadata size".into()))?;
    let mut out = Zeroizing::new(Vec::with_capacity(4 + json.len() + content.len()));
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(content);
    Ok(out)
}

/// The metadata and content of a version record; anything malformed is `integrity`.
fn unframe(plain: &[u8]) -> Result<(VersionMeta, &[u8])> {
    let (len, rest) = plain.split_first_chunk::<4>().ok_or(Error::Integrity)?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| Error::Integrity)?;
    if rest.len() < len {
        return Err(Error::Integrity);
    }
    let (json, content) = rest.split_at(len);
    let meta: VersionMeta = serde_json::from_slice(json).map_err(|_| Error::Integrity)?;
    if u64::try_from(content.len()).ok() != Some(meta.size) {
        return Err(Error::Integrity);
    }
    Ok((meta, content))
}

impl FileHead {
    pub(super) fn info(&self, id: &ConstructId, name: FileName) -> FileInfo {
        FileInfo {
            construct_id: id.clone(),
            name,
            version: self.version,
            sha256: self.sha256.clone(),
            size: self.size,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        }
    }
}

impl Constructs {
    pub(super) async fn put_file_inner(
        &self,
        id: &ConstructId,
        name: &FileName,
        content: &[u8],
        expected_version: Option<u64>,
    ) -> Result<FileWritten> {
        super::check_file_size(content.len())?;
        let sha256 = sha256_hex(content)?;
        let size = content.len() as u64;
        let barrier = self.ctx.barrier();
        let head_key = file_head_key(id, name);
        let what = format!("file '{name}' of construct '{id}'");
        for lost in 0..MAX_ATTEMPTS {
            let info = self.info(id).await?;
            let head = read_head::<FileHead>(barrier, &head_key).await?;
            let prev = head.as_ref().map(|h| &h.record);
            let current = prev.map_or(0, |p| p.version);
            check_expected(&what, expected_version, current)?;
            let version = current + 1;
            let now = self.ctx.clock().now().as_millis();
            let life = match prev {
                Some(p) => p.life.clone(),
                None => random_base62(16)?,
            };
            let mut record = FileHead {
                version,
                oldest: prev.map_or(1, |p| p.oldest.clamp(1, version)),
                sha256: sha256.clone(),
                size,
                created_at: prev.map_or(now, |p| p.created_at),
                updated_at: now,
                life: life.clone(),
            };
            let keep_from = version.saturating_sub(FILE_VERSIONS_KEPT - 1).max(1);
            let pruned = record.oldest..keep_from;
            record.oldest = record.oldest.max(keep_from);
            let meta = VersionMeta {
                version,
                sha256: sha256.clone(),
                size,
                updated_at: now,
                life,
            };
            let vkey = file_version_key(id, name, version);
            let mut conditions = vec![Condition::unchanged(
                &head_key,
                head.as_ref().map(|h| h.raw.as_slice()),
            )];
            let mut writes = vec![
                Write::Put(head_key.clone(), seal_json(barrier, &head_key, &record)?),
                Write::Put(vkey.clone(), barrier.seal(&vkey, &frame(&meta, content)?)?),
            ];
            writes.extend(pruned.map(|v| Write::Delete(file_version_key(id, name, v))));
            if prev.is_none() {
                // A new file: the construct's file count goes up in the same commit.
                let files = info.as_ref().map_or(0, |i| i.record.files);
                if files >= MAX_FILES {
                    return Err(Error::invalid(
                        "file_name",
                        format!("construct '{id}' already has {MAX_FILES} files; delete one first"),
                    ));
                }
                let key = info_key(id);
                let updated = StoredInfo {
                    created_at: info.as_ref().map_or(now, |i| i.record.created_at),
                    files: files + 1,
                };
                conditions.push(Condition::unchanged(
                    &key,
                    info.as_ref().map(|i| i.raw.as_slice()),
                ));
                writes.push(Write::Put(key.clone(), seal_json(barrier, &key, &updated)?));
            }
            if barrier
                .commit_after_losses(conditions, writes, lost)
                .await?
            {
                return Ok(FileWritten {
                    construct_id: id.clone(),
                    name: name.clone(),
                    action: if version == 1 {
                        Action::Created
                    } else {
                        Action::Updated
                    },
                    version,
                    sha256,
                    size,
                });
            }
        }
        Err(busy(&what))
    }

    pub(super) async fn get_file_inner(
        &self,
        id: &ConstructId,
        name: &FileName,
        version: Option<u64>,
    ) -> Result<ConstructFile> {
        let barrier = self.ctx.barrier();
        let head = read_head::<FileHead>(barrier, &file_head_key(id, name))
            .await?
            .map(|h| h.record)
            .ok_or_else(|| {
                Error::NotFound(format!("File '{name}' of construct '{id}' not found"))
            })?;
        let v = version.unwrap_or(head.version);
        let missing = || {
            Error::NotFound(format!(
                "File '{name}' of construct '{id}' has no version {v}"
            ))
        };
        if !(head.oldest.max(1)..=head.version).contains(&v) {
            return Err(missing());
        }
        let opened = barrier
            .read(&file_version_key(id, name, v))
            .await?
            .ok_or_else(missing)?;
        let (meta, content) = unframe(&opened.plain)?;
        if meta.version != v || meta.life != head.life {
            return Err(Error::Integrity);
        }
        Ok(ConstructFile {
            info: FileInfo {
                construct_id: id.clone(),
                name: name.clone(),
                version: v,
                sha256: meta.sha256,
                size: meta.size,
                created_at: Timestamp::from_millis(head.created_at),
                updated_at: Timestamp::from_millis(meta.updated_at),
            },
            content: content.to_vec(),
        })
    }

    pub(super) async fn delete_file_inner(
        &self,
        id: &ConstructId,
        name: &FileName,
    ) -> Result<FileDeleted> {
        let barrier = self.ctx.barrier();
        let head_key = file_head_key(id, name);
        let versions = file_versions_prefix(id, name);
        let what = format!("file '{name}' of construct '{id}'");
        for lost in 0..MAX_ATTEMPTS {
            // Works on the head's sealed bytes: a file whose head fails its integrity check
            // can still be deleted.
            let Some(current) = barrier.read_sealed(&head_key).await? else {
                return Err(Error::NotFound(format!(
                    "File '{name}' of construct '{id}' not found"
                )));
            };
            let info = self.info(id).await?.ok_or(Error::Integrity)?;
            let mut writes: Vec<Write> = barrier
                .scan_keys(&versions, None, usize::MAX)
                .await?
                .into_iter()
                .map(Write::Delete)
                .collect();
            writes.push(Write::Delete(head_key.clone()));
            let key = info_key(id);
            let updated = StoredInfo {
                files: info.record.files.saturating_sub(1),
                ..info.record
            };
            writes.push(Write::Put(key.clone(), seal_json(barrier, &key, &updated)?));
            let conditions = vec![
                Condition::Equals(head_key.clone(), current),
                Condition::Equals(key, info.raw),
            ];
            if barrier
                .commit_after_losses(conditions, writes, lost)
                .await?
            {
                return Ok(FileDeleted {
                    construct_id: id.clone(),
                    name: name.clone(),
                });
            }
        }
        Err(busy(&what))
    }

    pub(super) async fn list_files_inner(
        &self,
        id: &ConstructId,
        page: &PageRequest,
    ) -> Result<Page<FileInfo>> {
        let prefix = file_heads_prefix(id);
        let resource = format!("constructs/{id}/files");
        let visible = Visible {
            capability: Capability::List,
            resource: &resource,
        };
        read_page(&self.ctx, &prefix, page, visible, |key, name| async move {
            let name = FileName::new(name).map_err(|_| Error::Integrity)?;
            Ok(read_head::<FileHead>(self.ctx.barrier(), &key)
                .await?
                .map(|h| h.record.info(id, name)))
        })
        .await
    }

    /// Every file head of construct `id` (at most [`MAX_FILES`]), by name.
    pub(super) async fn all_file_heads(
        &self,
        id: &ConstructId,
    ) -> Result<Vec<(FileName, FileHead)>> {
        let prefix = file_heads_prefix(id);
        let keys = self
            .ctx
            .barrier()
            .scan_keys(&prefix, None, MAX_FILES as usize + 1)
            .await?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let name =
                String::from_utf8(key[prefix.len()..].to_vec()).map_err(|_| Error::Integrity)?;
            let name = FileName::new(name).map_err(|_| Error::Integrity)?;
            if let Some(h) = read_head::<FileHead>(self.ctx.barrier(), &key).await? {
                out.push((name, h.record));
            }
        }
        Ok(out)
    }

    /// The writes that create file `name` of construct `id` at version 1 with `content` (for
    /// an import), and its SHA-256.
    pub(super) fn new_file_writes(
        &self,
        id: &ConstructId,
        name: &FileName,
        content: &[u8],
        now: i64,
        writes: &mut Vec<Write>,
        conditions: &mut Vec<Condition>,
    ) -> Result<()> {
        let barrier = self.ctx.barrier();
        let sha256 = sha256_hex(content)?;
        let size = content.len() as u64;
        let life = random_base62(16)?;
        let head = FileHead {
            version: 1,
            oldest: 1,
            sha256: sha256.clone(),
            size,
            created_at: now,
            updated_at: now,
            life: life.clone(),
        };
        let meta = VersionMeta {
            version: 1,
            sha256,
            size,
            updated_at: now,
            life,
        };
        let head_key = file_head_key(id, name);
        let vkey = file_version_key(id, name, 1);
        writes.push(Write::Put(
            head_key.clone(),
            seal_json(barrier, &head_key, &head)?,
        ));
        writes.push(Write::Put(
            vkey.clone(),
            barrier.seal(&vkey, &frame(&meta, content)?)?,
        ));
        conditions.push(Condition::Absent(head_key));
        Ok(())
    }
}
