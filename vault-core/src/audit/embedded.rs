//! The audit log of an embedded vault: query, verify and export through the choke point
//! (each needs `read` on `audit` and is itself audited).

use async_trait::async_trait;

use super::chain::{ENTRY_PREFIX, EntryKey, HEAD_PREFIX, Head, WRITERS_KEY, head_key};
use super::verify::{Problem, Verifier};
use super::{AuditApi, AuditEntry, AuditQuery, QUERY_SCAN_BUDGET, VerifyReport};
use crate::context::{Capability, Ctx, Operation};
use crate::error::{Error, Result};
use crate::page::{Page, Unreadable};

/// Entries read from the store per scan.
const BATCH: usize = 500;

/// The audit log of an embedded vault, as seen by one caller.
#[derive(Clone)]
pub struct Audit {
    ctx: Ctx,
}

fn op(name: &'static str) -> Operation {
    Operation::new(name, Capability::Read, "audit".into())
}

impl Audit {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Audit { ctx }
    }

    /// The whole log, newest first, in batches (for an export): `read` on `audit` is checked
    /// (and the export audited) once, here.
    pub async fn export(&self) -> Result<AuditExport> {
        self.commit_queue().await?;
        self.ctx
            .run(op("audit.export"), async {
                Ok(AuditExport {
                    ctx: self.ctx.clone(),
                    after: None,
                    done: false,
                })
            })
            .await
    }

    /// Commits the queued entries first, so the log is complete up to now: for a caller who
    /// may read it (anyone else is refused by the choke point next, and may not cause commits).
    async fn commit_queue(&self) -> Result<()> {
        if self.ctx.allows(Capability::Read, "audit") {
            self.ctx.barrier().commit_audit().await?;
        }
        Ok(())
    }

    async fn query_inner(&self, query: &AuditQuery) -> Result<Page<AuditEntry>> {
        query.check()?;
        let mut c = Collector {
            filter: &query.filter,
            limit: query.checked_limit()?,
            examined: 0,
            page: Page::default(),
        };
        let barrier = self.ctx.barrier();
        let mut after = None;
        if let Some(cursor) = &query.after {
            let (key, index) = EntryKey::parse_cursor(cursor)?;
            if let Some(i) = index {
                // The rest of the record the cursor is inside.
                let opened = barrier
                    .read(&key)
                    .await
                    .and_then(|o| o.map(|o| decode(&o.plain)).transpose());
                if c.record(&key, opened.map(Option::unwrap_or_default), i + 1) {
                    return Ok(c.page);
                }
            }
            after = Some(key);
        }
        loop {
            let records = barrier
                .scan_open(ENTRY_PREFIX, after.as_deref(), BATCH)
                .await?;
            let full = records.len() == BATCH;
            for (key, opened) in records {
                if query
                    .filter
                    .since
                    .is_some_and(|s| EntryKey::older_than(&key, s))
                {
                    return Ok(c.page);
                }
                if c.record(&key, opened.and_then(|plain| decode(&plain)), 0) {
                    return Ok(c.page);
                }
                after = Some(key);
            }
            if !full {
                return Ok(c.page);
            }
            tokio::task::yield_now().await;
        }
    }

    async fn verify_inner(&self) -> Result<VerifyReport> {
        let barrier = self.ctx.barrier();
        // Every writer ever registered must still have its head (a whole chain removed).
        let registered: Vec<String> = match barrier.read(WRITERS_KEY).await? {
            Some(opened) => serde_json::from_slice(&opened.plain).map_err(|_| Error::Integrity)?,
            None => Vec::new(),
        };
        let mut heads = Vec::new();
        let mut broken_head = None;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let keys = barrier
                .scan_keys(HEAD_PREFIX, after.as_deref(), BATCH)
                .await?;
            let full = keys.len() == BATCH;
            for key in keys {
                let writer = String::from_utf8_lossy(&key[HEAD_PREFIX.len()..]).into_owned();
                match read_head(barrier, &writer).await {
                    Ok(Some(head)) => heads.push((writer, head)),
                    Ok(None) => {}
                    Err(Error::Integrity) => {
                        broken_head.get_or_insert((
                            writer.clone(),
                            format!(
                                "writer {writer}'s head is not the one the ledger records: it \
                                 was rolled back, written back or damaged"
                            ),
                        ));
                    }
                    Err(e) => return Err(e),
                }
                after = Some(key);
            }
            if !full {
                break;
            }
        }
        let mut v = Verifier::with_heads(heads);
        if let Some((writer, why)) = broken_head {
            v.chain_problem(&writer, Problem::Changed, why);
        }
        for writer in &registered {
            if !v.knows(writer) {
                v.chain_problem(
                    writer,
                    Problem::Missing,
                    format!("writer {writer}'s head is missing: its chain was removed"),
                );
            }
        }
        let mut after: Option<Vec<u8>> = None;
        loop {
            let batch = barrier
                .scan_open(ENTRY_PREFIX, after.as_deref(), BATCH)
                .await?;
            let full = batch.len() == BATCH;
            for (key, opened) in batch {
                match opened.and_then(|plain| decode(&plain)) {
                    Ok(entries) => {
                        for e in entries {
                            // A writer that started after the heads were read.
                            if !v.knows(&e.writer) {
                                match read_head(barrier, &e.writer).await {
                                    Ok(Some(h)) => v.add_head(e.writer.clone(), h),
                                    Ok(None) => {}
                                    Err(Error::Integrity) => v.chain_problem(
                                        &e.writer,
                                        Problem::Changed,
                                        format!("writer {}'s head does not open", e.writer),
                                    ),
                                    Err(err) => return Err(err),
                                }
                            }
                            if !v.appended_since(&e) {
                                v.push(&e, None)?;
                            }
                        }
                    }
                    Err(_) => {
                        let (writer, seq) = key_parts(&key);
                        v.unreadable(
                            seq,
                            &writer,
                            None,
                            "the entry does not open: it was changed or damaged",
                        );
                    }
                }
                after = Some(key);
            }
            if !full || v.is_bad() {
                break;
            }
            // A long check must not hold a runtime thread (sled reads are synchronous).
            tokio::task::yield_now().await;
        }
        Ok(v.finish())
    }
}

/// A query page being filled.
struct Collector<'a> {
    filter: &'a super::AuditFilter,
    limit: usize,
    examined: usize,
    page: Page<AuditEntry>,
}

impl Collector<'_> {
    /// Takes the entries of the record at `key` from its entry `skip` on; `true` once the page
    /// is full or the scan budget spent (`next` then set).
    fn record(&mut self, key: &[u8], entries: Result<Vec<AuditEntry>>, skip: usize) -> bool {
        let entries = match entries {
            Ok(entries) => entries,
            Err(error) => {
                self.examined += 1;
                self.page.unreadable.push(Unreadable {
                    name: EntryKey::cursor(key, 0),
                    error,
                });
                // A full page goes on after the whole record: it is reported once.
                return self.full(key, None);
            }
        };
        for (i, e) in entries.into_iter().enumerate().skip(skip) {
            self.examined += 1;
            if self.filter.matches(&e) {
                self.page.items.push(e);
            }
            if self.full(key, Some(i)) {
                return true;
            }
        }
        false
    }

    /// Whether the page is full; if so, `next` is set to after entry `i` of the record at
    /// `key` (`None`: after the whole record).
    fn full(&mut self, key: &[u8], i: Option<usize>) -> bool {
        let full = self.page.items.len() + self.page.unreadable.len() >= self.limit
            || self.examined >= QUERY_SCAN_BUDGET;
        if full {
            self.page.next = Some(match i {
                Some(i) => EntryKey::cursor(key, i),
                None => EntryKey::cursor_after(key),
            });
        }
        full
    }
}

/// A writer's head. One that does not open, or is not the one the freshness ledger records,
/// is damage to the log itself: `integrity`, not a report.
async fn read_head(barrier: &crate::crypto::Barrier, writer: &str) -> Result<Option<Head>> {
    match barrier.read(&head_key(writer)).await? {
        Some(opened) => serde_json::from_slice(&opened.plain)
            .map(Some)
            .map_err(|_| Error::Integrity),
        None => Ok(None),
    }
}

/// The writer and seq a key names (for an entry that does not open).
fn key_parts(key: &[u8]) -> (String, u64) {
    let cursor = EntryKey::cursor(key, 0);
    let cursor = cursor.split('#').next().unwrap_or_default();
    let mut parts = cursor.split('/').skip(1);
    let writer = parts.next().unwrap_or("").to_string();
    let seq = parts
        .next()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .map_or(0, |inv| u64::MAX - inv);
    (writer, seq)
}

/// A record's entries, newest first.
fn decode(plain: &[u8]) -> Result<Vec<AuditEntry>> {
    super::record::unpack(plain)
}

/// An export in progress: the log, newest first, a batch at a time.
pub struct AuditExport {
    ctx: Ctx,
    after: Option<Vec<u8>>,
    done: bool,
}

impl AuditExport {
    /// The next entries (empty once the log is exhausted). An entry that does not open is
    /// `integrity`: an export is the whole log or an error.
    pub async fn next_batch(&mut self) -> Result<Vec<AuditEntry>> {
        if self.done {
            return Ok(Vec::new());
        }
        if self.after.is_some() {
            // Between batches, let other requests run (sled reads are synchronous).
            tokio::task::yield_now().await;
        }
        let batch = self
            .ctx
            .barrier()
            .scan_open(ENTRY_PREFIX, self.after.as_deref(), BATCH)
            .await?;
        self.done = batch.len() < BATCH;
        let mut out = Vec::with_capacity(batch.len());
        for (key, opened) in batch {
            out.extend(decode(&opened?)?);
            self.after = Some(key);
        }
        Ok(out)
    }
}

#[async_trait]
impl AuditApi for Audit {
    async fn query(&self, query: AuditQuery) -> Result<Page<AuditEntry>> {
        self.commit_queue().await?;
        self.ctx
            .run(op("audit.query"), self.query_inner(&query))
            .await
    }

    async fn verify(&self) -> Result<VerifyReport> {
        self.commit_queue().await?;
        self.ctx.run(op("audit.verify"), self.verify_inner()).await
    }
}
