//! A writer's chain: the entries waiting for a commit, the keys entries and heads live under,
//! and how drafts become chained entries. The barrier puts them into its commits (see
//! [`crate::crypto::Barrier::commit`]); nothing else writes the audit log.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::{AuditEntry, GENESIS};
use crate::clock::Timestamp;
use crate::error::{Error, Result};

/// Where entries live, a record per commit (the entries one commit carried, newest first, at
/// most [`MAX_BATCH`]): `audit/e/<inverted time>/<writer>/<inverted seq>` of its newest entry
/// (16 hex digits each), so that an ascending scan reads newest first. One record per commit,
/// not per entry: one seal and one store key for all the reads a commit carries.
pub(crate) const ENTRY_PREFIX: &[u8] = b"audit/e/";
/// Most entries in one record.
pub(crate) const MAX_BATCH: usize = 256;
/// Where each writer's head lives: `audit/h/<writer>` (a ledger-tracked record).
pub(crate) const HEAD_PREFIX: &[u8] = b"audit/h/";
/// The registry of every writer that ever wrote (a ledger-tracked record): a writer is added
/// in its first commit, and the check requires a head for each.
pub(crate) const WRITERS_KEY: &[u8] = b"audit/i/writers";
/// Queued entries above which the operation that queues one commits the queue itself.
pub(crate) const PENDING_MAX: usize = 4096;

/// An operation's entry before it has a place in a chain.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub(crate) time: Timestamp,
    pub(crate) request_id: Option<String>,
    pub(crate) actor_id: String,
    pub(crate) actor_name: String,
    pub(crate) op: String,
    pub(crate) path: String,
    pub(crate) outcome: String,
    pub(crate) client: String,
}

/// A writer's last entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Head {
    pub(crate) seq: u64,
    pub(crate) hash: String,
    pub(crate) time: Timestamp,
}

/// The store key of a record of entries, and cursors: `<key without prefix>` (after the whole
/// record) or `<key without prefix>#<i>` (after its entry `i`, counted from its newest).
pub(crate) struct EntryKey;

impl EntryKey {
    /// The key of the record whose newest entry is `newest`.
    pub(crate) fn of(newest: &AuditEntry) -> Vec<u8> {
        let mut k = ENTRY_PREFIX.to_vec();
        k.extend_from_slice(
            format!(
                "{}/{}/{:016x}",
                time_part(newest.time),
                newest.writer,
                u64::MAX - newest.seq
            )
            .as_bytes(),
        );
        k
    }

    /// Whether every entry of the record at `key` is older than `t`.
    pub(crate) fn older_than(key: &[u8], t: Timestamp) -> bool {
        let start = ENTRY_PREFIX.len();
        key.get(start..start + 16)
            .is_some_and(|part| part > time_part(t).as_bytes())
    }

    /// The cursor after entry `i` of the record at `key`.
    pub(crate) fn cursor(key: &[u8], i: usize) -> String {
        format!("{}#{i}", Self::cursor_after(key))
    }

    /// The cursor after the whole record at `key`.
    pub(crate) fn cursor_after(key: &[u8]) -> String {
        String::from_utf8_lossy(&key[ENTRY_PREFIX.len().min(key.len())..]).into_owned()
    }

    /// The record key and the entry index a cursor names (`None`: after the whole record);
    /// `invalid` (field `after`) unless it is one this log made.
    pub(crate) fn parse_cursor(cursor: &str) -> Result<(Vec<u8>, Option<usize>)> {
        let bad = || Error::invalid("after", "is not a cursor from a previous page's next");
        let (base, index) = match cursor.split_once('#') {
            Some((b, i)) => {
                let i: usize = i.parse().map_err(|_| bad())?;
                if i >= MAX_BATCH {
                    return Err(bad());
                }
                (b, Some(i))
            }
            None => (cursor, None),
        };
        let mut parts = base.split('/');
        let (Some(t), Some(w), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let hex16 = |p: &str| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex16(t)
            || !hex16(s)
            || w.is_empty()
            || w.len() > 64
            || !w.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return Err(bad());
        }
        let mut k = ENTRY_PREFIX.to_vec();
        k.extend_from_slice(base.as_bytes());
        Ok((k, index))
    }
}

fn time_part(t: Timestamp) -> String {
    // Times before 1970 sort as 1970: the clock never says so in practice.
    let ms = u64::try_from(t.as_millis()).unwrap_or(0);
    format!("{:016x}", u64::MAX - ms)
}

pub(crate) fn head_key(writer: &str) -> Vec<u8> {
    let mut k = HEAD_PREFIX.to_vec();
    k.extend_from_slice(writer.as_bytes());
    k
}

/// The chain of one opened vault, and the entries waiting for a commit. A vault makes one
/// commit at a time (concurrent ones are grouped: see the barrier's group commit), so it needs
/// one chain; the lock makes a commit's hold on it explicit.
pub(crate) struct Chains {
    chain: Chain,
    lock: tokio::sync::Mutex<()>,
    pending: Mutex<VecDeque<Draft>>,
}

impl Chains {
    pub(crate) fn new() -> Result<Chains> {
        Ok(Chains {
            chain: Chain::new()?,
            lock: tokio::sync::Mutex::new(()),
            pending: Mutex::new(VecDeque::new()),
        })
    }

    /// The chain, held for one commit.
    pub(crate) async fn acquire(&self) -> (&Chain, tokio::sync::MutexGuard<'_, ()>) {
        (&self.chain, self.lock.lock().await)
    }

    /// Queues `draft`; returns how many are queued.
    pub(crate) fn enqueue(&self, draft: Draft) -> usize {
        let mut q = lock(&self.pending);
        q.push_back(draft);
        q.len()
    }

    pub(crate) fn take_pending(&self) -> Vec<Draft> {
        lock(&self.pending).drain(..).collect()
    }

    /// Puts drafts taken by a commit that did not apply back at the front, in order.
    pub(crate) fn restore(&self, drafts: Vec<Draft>) {
        let mut q = lock(&self.pending);
        for d in drafts.into_iter().rev() {
            q.push_front(d);
        }
    }

    pub(crate) fn has_pending(&self) -> bool {
        !lock(&self.pending).is_empty()
    }
}

/// One writer's chain: its id and the last head it read.
pub(crate) struct Chain {
    writer: String,
    /// The head as last read, by its sealed bytes, so a commit opens it only when another
    /// commit moved it.
    head: Mutex<Option<(Vec<u8>, Head)>>,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain")
            .field("writer", &self.writer)
            .finish_non_exhaustive()
    }
}

impl Chain {
    /// A new writer: `w` + 12 random base62 characters.
    pub(crate) fn new() -> Result<Chain> {
        Ok(Chain {
            writer: format!("w{}", crate::crypto::random_base62(12)?),
            head: Mutex::new(None),
        })
    }

    pub(crate) fn writer(&self) -> &str {
        &self.writer
    }

    /// The head stored as `sealed`, opened with `open` unless it is the one last seen.
    pub(crate) fn head(
        &self,
        sealed: Option<&[u8]>,
        open: impl FnOnce(&[u8]) -> Result<Vec<u8>>,
    ) -> Result<Option<Head>> {
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        if let Some((bytes, head)) = &*lock(&self.head)
            && bytes == sealed
        {
            return Ok(Some(head.clone()));
        }
        let head: Head = serde_json::from_slice(&open(sealed)?).map_err(|_| Error::Integrity)?;
        *lock(&self.head) = Some((sealed.to_vec(), head.clone()));
        Ok(Some(head))
    }

    /// The entries `drafts` become after `head`, and the head after them.
    pub(crate) fn extend(
        &self,
        head: Option<&Head>,
        drafts: &[Draft],
    ) -> Result<(Vec<AuditEntry>, Head)> {
        let (mut seq, mut prev, mut time) = match head {
            Some(h) => (h.seq, h.hash.clone(), h.time),
            None => (0, GENESIS.to_string(), Timestamp::from_millis(0)),
        };
        let mut entries = Vec::with_capacity(drafts.len());
        for d in drafts {
            seq += 1;
            time = time.max(d.time);
            let mut e = AuditEntry {
                seq,
                writer: self.writer.clone(),
                time,
                request_id: d.request_id.clone(),
                actor_id: d.actor_id.clone(),
                actor_name: d.actor_name.clone(),
                op: d.op.clone(),
                path: d.path.clone(),
                outcome: d.outcome.clone(),
                client: d.client.clone(),
                prev,
                hash: String::new(),
            };
            e.hash = e.compute_hash()?;
            prev = e.hash.clone();
            entries.push(e);
        }
        Ok((
            entries,
            Head {
                seq,
                hash: prev,
                time,
            },
        ))
    }
}

/// The entry of the operation running in this task, for the write commit that carries it.
#[derive(Debug)]
pub(crate) struct OpSlot {
    draft: Mutex<Option<Draft>>,
}

impl OpSlot {
    pub(crate) fn new(draft: Draft) -> Arc<OpSlot> {
        Arc::new(OpSlot {
            draft: Mutex::new(Some(draft)),
        })
    }

    /// The draft, unless a commit already carried it.
    pub(crate) fn take(&self) -> Option<Draft> {
        lock(&self.draft).take()
    }

    /// Gives back a draft whose commit did not apply.
    pub(crate) fn put_back(&self, draft: Draft) {
        *lock(&self.draft) = Some(draft);
    }
}

tokio::task_local! {
    /// Set by the choke point around an operation's work.
    pub(crate) static CURRENT_OP: Arc<OpSlot>;
}

/// Records in the running operation's draft the exact resource it turned out to touch (a
/// credential's service resolved from its key).
pub(crate) fn set_current_path(path: String) {
    let _ = CURRENT_OP.try_with(|slot| {
        if let Some(d) = lock(&slot.draft).as_mut() {
            d.path = path;
        }
    });
}

/// Records in the running operation's draft the outcome its commit stands for (a decision the
/// guards denied is written, and is `guard_rejected`, not `ok`).
pub(crate) fn set_current_outcome(outcome: &str) {
    let _ = CURRENT_OP.try_with(|slot| {
        if let Some(d) = lock(&slot.draft).as_mut() {
            d.outcome = outcome.to_string();
        }
    });
}

/// The running operation's draft, if it has one not yet committed.
pub(crate) fn take_current() -> Option<(Arc<OpSlot>, Draft)> {
    CURRENT_OP
        .try_with(|slot| slot.clone())
        .ok()
        .and_then(|slot| slot.take().map(|d| (slot, d)))
}

/// A poisoned lock only means another thread panicked; the queue itself is whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
