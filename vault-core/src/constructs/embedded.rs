//! The embedded constructs: store layout, the capsule, the listing, and the trait's dispatch
//! through the choke point (files, transcript and export/import live in their own modules).
//!
//! Store layout (every value sealed; see `docs/architecture.md`):
//! - `con/i/<id>`: the construct's info (when it was created, how many files it has); written
//!   by the first write of any kind, so that listing constructs scans these keys only.
//! - `con/h/<id>/capsule` + `con/v/<id>/capsule/<u64 BE>`: the capsule's head (the latest
//!   version) and its kept versions.
//! - `con/h/<id>/file/<name>` + `con/v/<id>/file/<name>/<u64 BE>`: a file's head (metadata
//!   only) and its kept versions (metadata and content).
//! - `con/h/<id>/transcript` + `con/t/<id>/<u64 BE>`: the transcript's head (the entry count)
//!   and one key per entry, written once: an append writes one entry and the small head, never
//!   a growing record; a page is one scan from a computed key.
//!
//! Heads and info records are tracked by the freshness ledger (`con/h/…`, `con/i/…`); version
//! and entry records are written once and checked against their head when read.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    CAPSULE_VERSIONS_KEPT, Capsule, CapsuleWritten, ConstructExport, ConstructFile,
    ConstructSummary, ConstructsApi, EntryAppended, FileDeleted, FileInfo, FileWritten,
    ImportReport, NewEntry, TranscriptPage, TranscriptQuery,
};
use crate::clock::Timestamp;
use crate::context::{Capability, Ctx, Operation};
use crate::error::{Error, Result};
use crate::names::{ConstructId, FileName};
use crate::page::{Page, PageRequest};
use crate::records::{
    Head, MAX_ATTEMPTS, Visible, check_expected, read_head, read_page, seal_json,
};
use crate::store::{Condition, Write};
use crate::{Action, JsonObject};

/// `con/i/<id>`.
pub(super) fn info_key(id: &str) -> Vec<u8> {
    format!("con/i/{id}").into_bytes()
}

/// `con/i/`: prefix of every construct's info.
const INFO_PREFIX: &[u8] = b"con/i/";

/// `con/h/<id>/capsule`.
pub(super) fn capsule_head_key(id: &str) -> Vec<u8> {
    format!("con/h/{id}/capsule").into_bytes()
}

/// `con/v/<id>/capsule/<version BE>`.
pub(super) fn capsule_version_key(id: &str, version: u64) -> Vec<u8> {
    let mut k = format!("con/v/{id}/capsule/").into_bytes();
    k.extend_from_slice(&version.to_be_bytes());
    k
}

/// The construct's info record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredInfo {
    pub(super) created_at: i64,
    /// How many files the construct has.
    pub(super) files: u64,
}

/// The capsule's head and each kept version.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredCapsule {
    pub(super) document: JsonObject,
    pub(super) version: u64,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
    /// In the head: the oldest version kept.
    pub(super) oldest: u64,
}

impl StoredCapsule {
    fn into_capsule(self, id: &ConstructId) -> Capsule {
        Capsule {
            construct_id: id.clone(),
            document: self.document,
            version: self.version,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        }
    }
}

/// What a write must add so that the construct exists: its info record, when it has none yet
/// (on condition that it still has none). `Ok(None)` when it exists.
pub(super) fn create_if_missing(
    ctx: &Ctx,
    id: &str,
    info: Option<&Head<StoredInfo>>,
    conditions: &mut Vec<Condition>,
    writes: &mut Vec<Write>,
) -> Result<()> {
    if info.is_some() {
        return Ok(());
    }
    let key = info_key(id);
    let record = StoredInfo {
        created_at: ctx.clock().now().as_millis(),
        files: 0,
    };
    writes.push(Write::Put(
        key.clone(),
        seal_json(ctx.barrier(), &key, &record)?,
    ));
    conditions.push(Condition::Absent(key));
    Ok(())
}

/// `conflict` after [`MAX_ATTEMPTS`] lost races.
pub(super) fn busy(what: &str) -> Error {
    Error::Conflict(format!("{what} is under heavy concurrent writes; retry"))
}

pub(super) fn no_construct(id: &ConstructId) -> Error {
    Error::NotFound(format!("Construct '{id}' not found"))
}

/// The operation `name` doing `capability` on `constructs/<id>` + `rest`.
pub(super) fn op(name: &'static str, capability: Capability, id: &str, rest: &str) -> Operation {
    Operation::new(name, capability, format!("constructs/{id}{rest}"))
}

/// The constructs of an embedded vault, as seen by one caller.
#[derive(Clone)]
pub struct Constructs {
    pub(super) ctx: Ctx,
}

impl Constructs {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Constructs { ctx }
    }

    pub(super) async fn info(&self, id: &str) -> Result<Option<Head<StoredInfo>>> {
        read_head(self.ctx.barrier(), &info_key(id)).await
    }

    async fn put_capsule_inner(
        &self,
        id: &ConstructId,
        document: &JsonObject,
        expected_version: Option<u64>,
    ) -> Result<CapsuleWritten> {
        super::check_capsule(document)?;
        let barrier = self.ctx.barrier();
        let head_key = capsule_head_key(id);
        let what = format!("the capsule of construct '{id}'");
        for lost in 0..MAX_ATTEMPTS {
            let info = self.info(id).await?;
            let head = read_head::<StoredCapsule>(barrier, &head_key).await?;
            let prev = head.as_ref().map(|h| &h.record);
            let current = prev.map_or(0, |p| p.version);
            check_expected(&what, expected_version, current)?;
            let version = current + 1;
            let now = self.ctx.clock().now().as_millis();
            let mut record = StoredCapsule {
                document: document.clone(),
                version,
                created_at: prev.map_or(now, |p| p.created_at),
                updated_at: now,
                oldest: prev.map_or(1, |p| p.oldest.clamp(1, version)),
            };
            let keep_from = version.saturating_sub(CAPSULE_VERSIONS_KEPT - 1).max(1);
            let pruned = record.oldest..keep_from;
            record.oldest = record.oldest.max(keep_from);
            let mut conditions = vec![Condition::unchanged(
                &head_key,
                head.as_ref().map(|h| h.raw.as_slice()),
            )];
            let vkey = capsule_version_key(id, version);
            let mut writes = vec![
                Write::Put(head_key.clone(), seal_json(barrier, &head_key, &record)?),
                Write::Put(vkey.clone(), seal_json(barrier, &vkey, &record)?),
            ];
            writes.extend(pruned.map(|v| Write::Delete(capsule_version_key(id, v))));
            create_if_missing(&self.ctx, id, info.as_ref(), &mut conditions, &mut writes)?;
            if barrier
                .commit_after_losses(conditions, writes, lost)
                .await?
            {
                return Ok(CapsuleWritten {
                    construct_id: id.clone(),
                    action: if version == 1 {
                        Action::Created
                    } else {
                        Action::Updated
                    },
                    version,
                });
            }
        }
        Err(busy(&what))
    }

    async fn get_capsule_inner(&self, id: &ConstructId, version: Option<u64>) -> Result<Capsule> {
        let barrier = self.ctx.barrier();
        let head = read_head::<StoredCapsule>(barrier, &capsule_head_key(id))
            .await?
            .map(|h| h.record)
            .ok_or_else(|| Error::NotFound(format!("Construct '{id}' has no capsule")))?;
        let Some(v) = version.filter(|v| *v != head.version) else {
            return Ok(head.into_capsule(id));
        };
        let missing = || Error::NotFound(format!("Construct '{id}' has no capsule version {v}"));
        if !(head.oldest.max(1)..=head.version).contains(&v) {
            return Err(missing());
        }
        match read_head::<StoredCapsule>(barrier, &capsule_version_key(id, v)).await? {
            // A version record of another capsule life (or out of place) is not served.
            Some(h) if h.record.version == v && h.record.created_at == head.created_at => {
                Ok(h.record.into_capsule(id))
            }
            Some(_) => Err(Error::Integrity),
            None => Err(missing()),
        }
    }

    /// The summary of construct `id` whose info is at `info_key`.
    async fn summary(
        &self,
        info_key: Vec<u8>,
        id: ConstructId,
    ) -> Result<Option<ConstructSummary>> {
        let barrier = self.ctx.barrier();
        let Some(info) = read_head::<StoredInfo>(barrier, &info_key).await? else {
            return Ok(None);
        };
        let capsule_version = read_head::<StoredCapsule>(barrier, &capsule_head_key(&id))
            .await?
            .map_or(0, |h| h.record.version);
        let transcript_count = self.transcript_count(&id).await?;
        Ok(Some(ConstructSummary {
            construct_id: id,
            capsule_version,
            file_count: info.record.files,
            transcript_count,
            created_at: Timestamp::from_millis(info.record.created_at),
        }))
    }

    async fn list_inner(&self, page: &PageRequest) -> Result<Page<ConstructSummary>> {
        let visible = Visible {
            capability: Capability::List,
            resource: "constructs",
        };
        read_page(
            &self.ctx,
            INFO_PREFIX,
            page,
            visible,
            |key, name| async move {
                let id = ConstructId::new(name).map_err(|_| Error::Integrity)?;
                self.summary(key, id).await
            },
        )
        .await
    }
}

#[async_trait]
impl ConstructsApi for Constructs {
    async fn put_capsule(
        &self,
        id: &ConstructId,
        document: JsonObject,
        expected_version: Option<u64>,
    ) -> Result<CapsuleWritten> {
        let operation = op("constructs.put_capsule", Capability::Write, id, "");
        self.ctx
            .run(
                operation,
                self.put_capsule_inner(id, &document, expected_version),
            )
            .await
    }

    async fn get_capsule(&self, id: &ConstructId, version: Option<u64>) -> Result<Capsule> {
        let operation = op("constructs.get_capsule", Capability::Read, id, "");
        self.ctx
            .run(operation, self.get_capsule_inner(id, version))
            .await
    }

    async fn put_file(
        &self,
        id: &ConstructId,
        name: &FileName,
        content: Vec<u8>,
        expected_version: Option<u64>,
    ) -> Result<FileWritten> {
        let rest = format!("/files/{name}");
        let operation = op("constructs.put_file", Capability::Write, id, &rest);
        self.ctx
            .run(
                operation,
                self.put_file_inner(id, name, &content, expected_version),
            )
            .await
    }

    async fn get_file(
        &self,
        id: &ConstructId,
        name: &FileName,
        version: Option<u64>,
    ) -> Result<ConstructFile> {
        let rest = format!("/files/{name}");
        let operation = op("constructs.get_file", Capability::Read, id, &rest);
        self.ctx
            .run(operation, self.get_file_inner(id, name, version))
            .await
    }

    async fn delete_file(&self, id: &ConstructId, name: &FileName) -> Result<FileDeleted> {
        let rest = format!("/files/{name}");
        let operation = op("constructs.delete_file", Capability::Delete, id, &rest);
        self.ctx
            .run(operation, self.delete_file_inner(id, name))
            .await
    }

    async fn list_files(&self, id: &ConstructId, page: PageRequest) -> Result<Page<FileInfo>> {
        let operation = op("constructs.list_files", Capability::List, id, "/files/*");
        self.ctx
            .run(operation, self.list_files_inner(id, &page))
            .await
    }

    async fn append(&self, id: &ConstructId, entry: NewEntry) -> Result<EntryAppended> {
        let operation = op("constructs.append", Capability::Write, id, "/transcript");
        self.ctx.run(operation, self.append_inner(id, &entry)).await
    }

    async fn transcript(&self, id: &ConstructId, query: TranscriptQuery) -> Result<TranscriptPage> {
        let operation = op("constructs.transcript", Capability::Read, id, "/transcript");
        self.ctx
            .run(operation, self.transcript_inner(id, &query))
            .await
    }

    async fn list(&self, page: PageRequest) -> Result<Page<ConstructSummary>> {
        let operation = Operation::new(
            "constructs.list",
            Capability::List,
            "constructs/*".to_string(),
        );
        self.ctx.run(operation, self.list_inner(&page)).await
    }

    async fn export(&self, id: &ConstructId) -> Result<ConstructExport> {
        let operation = op("constructs.export", Capability::Read, id, "");
        self.ctx.run(operation, self.export_inner(id)).await
    }

    async fn import(&self, doc: ConstructExport) -> Result<ImportReport> {
        let operation = op(
            "constructs.import",
            Capability::Write,
            &doc.construct_id,
            "",
        );
        self.ctx.run(operation, self.import_inner(&doc)).await
    }
}
