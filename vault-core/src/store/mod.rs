//! The storage contract: every durable byte of the vault goes through [`Store`].
//!
//! A store is an ordered map of byte keys to byte values with one atomic primitive,
//! [`Store::commit`]: if every [`Condition`] holds, apply every [`Write`], otherwise apply none
//! (etcd's `Txn`). Versioning, compare-and-set, unique constraints and claims are built on it.
//! When `commit` returns `Ok(true)` the write is durable. Stores only ever see ciphertext of
//! secret values; the crypto barrier sits above them.

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "sled")]
mod sled_store;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use async_trait::async_trait;

pub use memory::MemoryStore;
#[cfg(feature = "postgres")]
pub use postgres::{PgOptions, PgStore};
#[cfg(feature = "sled")]
pub use sled_store::SledStore;

use crate::error::Result;

/// A condition checked atomically by [`Store::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The key has no value.
    Absent(Vec<u8>),
    /// The key has some value.
    Present(Vec<u8>),
    /// The key's value is exactly these bytes.
    Equals(Vec<u8>, Vec<u8>),
}

impl Condition {
    /// Builds the condition "`key` is as `current` says": equal to it, or absent when `None`.
    pub fn unchanged(key: &[u8], current: Option<&[u8]>) -> Condition {
        match current {
            Some(v) => Condition::Equals(key.to_vec(), v.to_vec()),
            None => Condition::Absent(key.to_vec()),
        }
    }

    /// Whether the condition holds given the key's current value.
    pub fn holds(&self, current: Option<&[u8]>) -> bool {
        match self {
            Condition::Absent(_) => current.is_none(),
            Condition::Present(_) => current.is_some(),
            Condition::Equals(_, want) => current == Some(want.as_slice()),
        }
    }

    /// The key this condition is about.
    pub fn key(&self) -> &[u8] {
        match self {
            Condition::Absent(k) | Condition::Present(k) | Condition::Equals(k, _) => k,
        }
    }
}

/// A write applied by [`Store::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    /// Set the key to the value.
    Put(Vec<u8>, Vec<u8>),
    /// Remove the key (no-op when absent).
    Delete(Vec<u8>),
}

/// One key and its value, as returned by [`Store::scan`].
pub type Entry = (Vec<u8>, Vec<u8>);

/// An ordered, durable key-value store with atomic conditional commits.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// The value of `key`; `Ok(None)` when missing.
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Up to `limit` entries whose keys start with `prefix` and sort strictly after `after`
    /// (from the start of the prefix when `None`), in ascending key order.
    async fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>>;

    /// Atomically: if every condition holds, apply every write and return `Ok(true)`; otherwise
    /// apply nothing and return `Ok(false)`. An `Ok(true)` write is durable when this returns.
    async fn commit(&self, conditions: Vec<Condition>, writes: Vec<Write>) -> Result<bool>;

    /// Makes every acknowledged write durable (a no-op where commits already are); used at
    /// shutdown.
    async fn flush(&self) -> Result<()> {
        Ok(())
    }

    /// A short name of the backend, for health output ("memory", "sled", ...).
    fn backend_name(&self) -> &'static str;

    /// Whether the store's answers stay true after a `commit` that returned an error: every
    /// later read returns what is durable, whether that commit applied or not (a database that
    /// commits or aborts as a whole). Then the vault answers that commit's error and goes on
    /// (recovering by itself when the backend comes back). `false` (the default, sled's case:
    /// a failed flush may leave applied but not durable writes) makes the vault fail closed
    /// until it is reopened.
    fn reads_stay_true_after_failed_commit(&self) -> bool {
        false
    }

    /// The keys starting with `prefix` written by any commit to this store from now on,
    /// including commits of other processes sharing it (several servers on one database),
    /// delivered shortly after they commit. The empty key means "anything may have changed"
    /// (the feed was interrupted; re-read). `None` (the default) when the backend has no such
    /// feed: a store only one process opens needs none, as that process knows its own commits.
    fn changes(&self, _prefix: &[u8]) -> Option<tokio::sync::broadcast::Receiver<Vec<u8>>> {
        None
    }
}

/// A shared store handle.
pub type SharedStore = Arc<dyn Store>;

/// What [`copy_all`] copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Records copied (every key of the source).
    pub records: u64,
    /// Bytes of keys and values copied.
    pub bytes: u64,
}

/// The key whose presence makes a store a vault (the canary, sealed by the root key): copied
/// last by [`copy_all`], so that a half-copied target is never taken for a vault.
const CANARY_KEY: &[u8] = b"sys/canary";

/// Copies every record of `from` into `to` as the bytes they are (still sealed: the target
/// opens with the same root key), then checks that `to` holds exactly what `from` does.
/// `progress(done, total)` is called after each batch. `to` must be empty (`invalid`
/// otherwise), and `from` must not change meanwhile (a server must not be using it). The
/// canary goes last, on condition that the target still has none: a server that started on the
/// target meanwhile (and made a vault of its own there) makes the copy fail (`conflict`).
pub async fn copy_all(
    from: &dyn Store,
    to: &dyn Store,
    mut progress: impl FnMut(u64, u64),
) -> Result<Copied> {
    const PAGE: usize = 500;
    if !to.scan(b"", None, 1).await?.is_empty() {
        return Err(crate::error::Error::invalid(
            "to",
            "the target store is not empty: migrate into a new, empty database",
        ));
    }
    let mut total = 0u64;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = from.scan(b"", after.as_deref(), PAGE).await?;
        total += page.len() as u64;
        match page.last() {
            Some((k, _)) if page.len() == PAGE => after = Some(k.clone()),
            _ => break,
        }
    }
    let mut copied = Copied {
        records: 0,
        bytes: 0,
    };
    let mut canary = None;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = from.scan(b"", after.as_deref(), PAGE).await?;
        let full = page.len() == PAGE;
        after = page.last().map(|(k, _)| k.clone());
        let mut writes = Vec::with_capacity(page.len());
        for (k, v) in page {
            copied.records += 1;
            copied.bytes += (k.len() + v.len()) as u64;
            if k == CANARY_KEY {
                canary = Some(v);
            } else {
                writes.push(Write::Put(k, v));
            }
        }
        if !writes.is_empty() && !to.commit(Vec::new(), writes).await? {
            return Err(crate::error::Error::Internal(
                "an unconditional commit did not apply".into(),
            ));
        }
        progress(copied.records, total);
        if !full {
            break;
        }
    }
    if let Some(canary) = canary
        && !to
            .commit(
                vec![Condition::Absent(CANARY_KEY.to_vec())],
                vec![Write::Put(CANARY_KEY.to_vec(), canary)],
            )
            .await?
    {
        return Err(crate::error::Error::Conflict(
            "a vault was created in the target during the copy (a server started on it?): \
             drop the target database and migrate again with no server on it"
                .into(),
        ));
    }
    to.flush().await?;
    // The check: the same keys with the same bytes, in the same order.
    let (mut a, mut b): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    let mut checked = 0u64;
    loop {
        let left = from.scan(b"", a.as_deref(), PAGE).await?;
        let right = to.scan(b"", b.as_deref(), PAGE).await?;
        if left != right {
            return Err(crate::error::Error::Integrity);
        }
        checked += left.len() as u64;
        if left.len() < PAGE {
            break;
        }
        a = left.last().map(|(k, _)| k.clone());
        b = a.clone();
    }
    if checked != copied.records {
        return Err(crate::error::Error::Conflict(format!(
            "the source changed during the copy ({} records copied, {checked} there now): stop \
             every server using it and migrate again into a new database",
            copied.records
        )));
    }
    Ok(copied)
}

/// The smallest key strictly greater than every key starting with `prefix`, if any.
#[cfg(any(feature = "sled", feature = "postgres", test))]
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Appends a byte to `after` so that the result is the smallest key strictly after it.
pub(crate) fn key_after(after: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(after.len() + 1);
    k.extend_from_slice(after);
    k.push(0);
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_last_non_max_byte() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 255]), Some(vec![2]));
        assert_eq!(prefix_end(&[255, 255]), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn conditions_hold_as_documented() {
        assert!(Condition::Absent(b"k".to_vec()).holds(None));
        assert!(!Condition::Absent(b"k".to_vec()).holds(Some(b"v")));
        assert!(Condition::Present(b"k".to_vec()).holds(Some(b"")));
        assert!(!Condition::Present(b"k".to_vec()).holds(None));
        let eq = Condition::Equals(b"k".to_vec(), b"v".to_vec());
        assert!(eq.holds(Some(b"v")));
        assert!(!eq.holds(Some(b"w")));
        assert!(!eq.holds(None));
    }
}
