//! The embedded [`Store`]: sled 0.34, with group commit.
//!
//! A commit applies its writes in a sled transaction and then waits until a flush (fsync) that
//! covers them has finished. Concurrent commits share flushes: while one flush runs, the commits
//! that arrive queue behind it, and the next flush covers all of them at once (group commit).
//! A single writer pays one fsync per commit; sixteen writers pay roughly one per batch.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Condition, Entry, Store, Write, key_after, prefix_end};
use crate::error::{Error, Result};

/// A store kept in a sled database directory; every acknowledged commit is on disk.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    flush: Arc<GroupFlush>,
}

/// Sequence numbers of applied and flushed commits, and the lock that elects one flusher.
#[derive(Default)]
struct GroupFlush {
    applied: AtomicU64,
    flushed: AtomicU64,
    flusher: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (creating if needed) the sled database in directory `path`.
    ///
    /// sled locks the directory: a second open of the same path, from this process or another,
    /// fails with `backend_unavailable`. Share the returned store (it is a cheap clone) instead.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let db = sled::Config::new().path(path).open().map_err(|e| {
            let msg = e.to_string();
            if msg.contains("lock") {
                Error::BackendUnavailable(format!(
                    "the data directory {} is in use by another vault process",
                    path.display()
                ))
            } else {
                Error::from(e)
            }
        })?;
        Ok(SledStore {
            db,
            flush: Arc::new(GroupFlush::default()),
        })
    }

    /// Waits until a flush covering every commit applied so far has finished.
    async fn make_durable(&self) -> Result<()> {
        let mine = self.flush.applied.fetch_add(1, Ordering::SeqCst) + 1;
        if self.flush.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        let _elected = self.flush.flusher.lock().await;
        if self.flush.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        // Every commit numbered up to `target` was applied before it took its number, so the
        // flush that starts now covers all of them.
        let target = self.flush.applied.load(Ordering::SeqCst);
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| Error::Internal(format!("flush task failed: {e}")))??;
        self.flush.flushed.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl Store for SledStore {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    async fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>> {
        let start = match after {
            Some(a) if a >= prefix => key_after(a),
            _ => prefix.to_vec(),
        };
        let iter = match prefix_end(prefix) {
            Some(end) => self.db.range(start..end),
            None => self.db.range(start..),
        };
        iter.take(limit)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(Error::from)
            })
            .collect()
    }

    async fn commit(&self, conditions: Vec<Condition>, writes: Vec<Write>) -> Result<bool> {
        let applied = self
            .db
            .transaction(|tx| {
                for c in &conditions {
                    if !c.holds(tx.get(c.key())?.as_deref()) {
                        return Ok(false);
                    }
                }
                for w in &writes {
                    match w {
                        Write::Put(k, v) => {
                            tx.insert(k.as_slice(), v.as_slice())?;
                        }
                        Write::Delete(k) => {
                            tx.remove(k.as_slice())?;
                        }
                    }
                }
                Ok::<bool, ConflictableTransactionError<()>>(true)
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => Error::from(e),
                TransactionError::Abort(()) => Error::Internal("sled transaction aborted".into()),
            })?;
        if applied {
            self.make_durable().await?;
        }
        Ok(applied)
    }

    async fn flush(&self) -> Result<()> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || db.flush())
            .await
            .map_err(|e| Error::Internal(format!("flush task failed: {e}")))??;
        Ok(())
    }

    fn backend_name(&self) -> &'static str {
        "sled"
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::BackendUnavailable(format!("sled: {e}"))
    }
}
