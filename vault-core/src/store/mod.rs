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
    /// Records added beside the copied ones (the `added` of [`copy_all`]).
    pub added: u64,
}

/// The key whose presence makes a store a vault (the canary, sealed by the root key): copied
/// last by [`copy_all`], so that a half-copied target is never taken for a vault.
const CANARY_KEY: &[u8] = b"sys/canary";

/// Records per batch of [`copy_all`].
const COPY_PAGE: usize = 500;

/// Copies every record of `from` into `to` as the bytes they are (still sealed: the target
/// opens with the same root key), writes the records `added` beside them (keys the source does
/// not have: `invalid` otherwise), then checks that `to` holds exactly what `from` does plus
/// `added`, key by key and byte by byte. `progress(done, total)` is called after each batch.
/// `to` must be empty (`invalid` otherwise), and `from` must not change meanwhile (a server
/// must not be using it). The canary goes last, on condition that the target still has none: a
/// server that started on the target meanwhile (and made a vault of its own there) makes the
/// copy fail (`conflict`).
pub async fn copy_all(
    from: &dyn Store,
    to: &dyn Store,
    added: Vec<Entry>,
    mut progress: impl FnMut(u64, u64),
) -> Result<Copied> {
    use crate::error::Error;
    if !to.scan(b"", None, 1).await?.is_empty() {
        return Err(Error::invalid(
            "to",
            "the target store is not empty: migrate into a new, empty database",
        ));
    }
    let added: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = added.into_iter().collect();
    for key in added.keys() {
        if key.as_slice() == CANARY_KEY || from.get(key).await?.is_some() {
            return Err(Error::invalid(
                "from",
                format!(
                    "the source already holds {}, a record the copy was to add",
                    String::from_utf8_lossy(key)
                ),
            ));
        }
    }
    let mut total = added.len() as u64;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = from.scan(b"", after.as_deref(), COPY_PAGE).await?;
        total += page.len() as u64;
        match page.last() {
            Some((k, _)) if page.len() == COPY_PAGE => after = Some(k.clone()),
            _ => break,
        }
    }
    let mut copied = Copied {
        records: 0,
        bytes: 0,
        added: 0,
    };
    let put_all = |writes: Vec<Write>| async move {
        if !writes.is_empty() && !to.commit(Vec::new(), writes).await? {
            return Err(Error::Internal(
                "an unconditional commit did not apply".into(),
            ));
        }
        Ok(())
    };
    let mut canary = None;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = from.scan(b"", after.as_deref(), COPY_PAGE).await?;
        let full = page.len() == COPY_PAGE;
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
        put_all(writes).await?;
        progress(copied.records, total);
        if !full {
            break;
        }
    }
    let added_list: Vec<&Vec<u8>> = added.keys().collect();
    for chunk in added_list.chunks(COPY_PAGE) {
        let writes = chunk
            .iter()
            .map(|k| Write::Put((*k).clone(), added[*k].clone()))
            .collect();
        put_all(writes).await?;
        copied.added += chunk.len() as u64;
        progress(copied.records + copied.added, total);
    }
    if let Some(canary) = canary
        && !to
            .commit(
                vec![Condition::Absent(CANARY_KEY.to_vec())],
                vec![Write::Put(CANARY_KEY.to_vec(), canary)],
            )
            .await?
    {
        return Err(Error::Conflict(
            "a vault was created in the target during the copy (a server started on it?): \
             drop the target database and migrate again with no server on it"
                .into(),
        ));
    }
    to.flush().await?;
    // The check: the target's records, in order, are the source's merged with `added`, the
    // same bytes under the same keys.
    let mut source = Pages::new(from);
    let mut target = Pages::new(to);
    let mut extra = added.iter().peekable();
    let mut next_source = source.next().await?;
    let mut checked = 0u64;
    loop {
        let take_added = match (&next_source, extra.peek()) {
            (Some((sk, _)), Some((ak, _))) => *ak < sk,
            (None, Some(_)) => true,
            _ => false,
        };
        let expected = if take_added {
            extra.next().map(|(k, v)| (k.clone(), v.clone()))
        } else {
            next_source.take()
        };
        let Some(expected) = expected else {
            if target.next().await?.is_some() {
                return Err(Error::Integrity);
            }
            break;
        };
        if target.next().await?.as_ref() != Some(&expected) {
            return Err(Error::Integrity);
        }
        if !take_added {
            checked += 1;
            next_source = source.next().await?;
        }
    }
    if checked != copied.records {
        return Err(Error::Conflict(format!(
            "the source changed during the copy ({} records copied, {checked} there now): stop \
             every server using it and migrate again into a new database",
            copied.records
        )));
    }
    Ok(copied)
}

/// Every record of a store, in key order, a page at a time.
struct Pages<'a> {
    store: &'a dyn Store,
    page: std::collections::VecDeque<Entry>,
    after: Option<Vec<u8>>,
    done: bool,
}

impl<'a> Pages<'a> {
    fn new(store: &'a dyn Store) -> Self {
        Pages {
            store,
            page: std::collections::VecDeque::new(),
            after: None,
            done: false,
        }
    }

    async fn next(&mut self) -> Result<Option<Entry>> {
        if self.page.is_empty() && !self.done {
            let page = self
                .store
                .scan(b"", self.after.as_deref(), COPY_PAGE)
                .await?;
            self.done = page.len() < COPY_PAGE;
            self.after = page.last().map(|(k, _)| k.clone());
            self.page = page.into();
        }
        Ok(self.page.pop_front())
    }
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

    /// A target that silently drops the puts under `prefix` (and changes nothing else).
    struct Dropping(MemoryStore, &'static [u8]);

    #[async_trait]
    impl Store for Dropping {
        async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
            self.0.get(key).await
        }
        async fn scan(
            &self,
            prefix: &[u8],
            after: Option<&[u8]>,
            limit: usize,
        ) -> Result<Vec<Entry>> {
            self.0.scan(prefix, after, limit).await
        }
        async fn commit(&self, conditions: Vec<Condition>, writes: Vec<Write>) -> Result<bool> {
            let kept = writes
                .into_iter()
                .filter(|w| !matches!(w, Write::Put(k, _) if k.starts_with(self.1)))
                .collect();
            self.0.commit(conditions, kept).await
        }
        fn backend_name(&self) -> &'static str {
            "dropping"
        }
    }

    fn entry(k: &str, v: &str) -> Entry {
        (k.as_bytes().to_vec(), v.as_bytes().to_vec())
    }

    async fn source() -> MemoryStore {
        let from = MemoryStore::new();
        let writes = ["a/1", "sys/canary", "sys/vk-file", "z/9"]
            .into_iter()
            .map(|k| Write::Put(k.as_bytes().to_vec(), k.as_bytes().to_vec()))
            .collect();
        assert!(from.commit(Vec::new(), writes).await.expect("commit"));
        from
    }

    /// The added records go in beside the copied ones, in key order among them, and the check
    /// covers them: a target that lost one of them fails the copy.
    #[tokio::test]
    async fn copy_all_adds_records_and_checks_them_too() {
        let from = source().await;
        let added = vec![
            entry("sys/vk/f1.ab", "sealed-1"),
            entry("sys/vk-imported", "m"),
        ];
        let to = MemoryStore::new();
        let mut seen = Vec::new();
        let copied = copy_all(&from, &to, added.clone(), |d, t| seen.push((d, t)))
            .await
            .expect("copy");
        assert_eq!((copied.records, copied.added), (4, 2));
        assert_eq!(seen.last(), Some(&(6, 6)));
        let keys: Vec<Vec<u8>> = to
            .scan(b"", None, 100)
            .await
            .expect("scan")
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let want: Vec<&[u8]> = vec![
            b"a/1",
            b"sys/canary",
            b"sys/vk-file",
            b"sys/vk-imported",
            b"sys/vk/f1.ab",
            b"z/9",
        ];
        assert_eq!(keys, want);

        let lossy = Dropping(MemoryStore::new(), b"sys/vk/");
        let e = copy_all(&from, &lossy, added.clone(), |_, _| {})
            .await
            .expect_err("an added record lost on the way");
        assert_eq!(e.code(), "integrity");

        let e = copy_all(
            &from,
            &MemoryStore::new(),
            vec![entry("z/9", "other")],
            |_, _| {},
        )
        .await
        .expect_err("a record the source has");
        assert_eq!(e.field(), Some("from"));
    }
}
