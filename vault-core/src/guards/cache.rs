//! The guards' records this process opened or wrote, by store key and sealed bytes.
//!
//! Every decision reads its account's policy and its asset's record. Opening and decoding them
//! each time (a policy's allowlist, an asset's recent executions: kilobytes of JSON) cost more
//! than all its other reads together. A kept record is reused only when the bytes just read
//! from the store (checked against the freshness ledger as every read is) are the very bytes
//! it was opened from or sealed to: the same sealed bytes of one key open to the same
//! plaintext, so a reused record is exactly what opening them would give. Nothing is served
//! that the store no longer holds; the cache only saves the decryption and the decoding.
//!
//! Only policy and asset records are kept (the guards hold no secrets), at most [`MAX`].

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most records kept; past it an arbitrary one makes room.
const MAX: usize = 1024;

struct Entry {
    sealed: Vec<u8>,
    record: Arc<dyn Any + Send + Sync>,
}

/// See the module doc.
#[derive(Default)]
pub(crate) struct Opened {
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
}

impl Opened {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Entry>> {
        // A poisoned lock only means another thread panicked; the map is whole.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The record kept for `key` if it was opened from (or sealed to) exactly `sealed`.
    pub(crate) fn get<T: Any + Send + Sync>(&self, key: &[u8], sealed: &[u8]) -> Option<Arc<T>> {
        let entries = self.lock();
        let e = entries.get(key)?;
        if e.sealed != sealed {
            return None;
        }
        e.record.clone().downcast::<T>().ok()
    }

    /// Keeps `record` as what `sealed` (stored at `key`) opens to.
    pub(crate) fn put<T: Any + Send + Sync>(&self, key: &[u8], sealed: &[u8], record: Arc<T>) {
        let mut entries = self.lock();
        if entries.len() >= MAX
            && !entries.contains_key(key)
            && let Some(k) = entries.keys().next().cloned()
        {
            entries.remove(&k);
        }
        entries.insert(
            key.to_vec(),
            Entry {
                sealed: sealed.to_vec(),
                record,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_is_reused_only_for_the_same_bytes_and_type() {
        let c = Opened::default();
        c.put(b"k", b"sealed-1", Arc::new(7u32));
        assert_eq!(c.get::<u32>(b"k", b"sealed-1").as_deref(), Some(&7));
        assert!(c.get::<u32>(b"k", b"sealed-2").is_none());
        assert!(c.get::<u64>(b"k", b"sealed-1").is_none());
        assert!(c.get::<u32>(b"other", b"sealed-1").is_none());
        c.put(b"k", b"sealed-2", Arc::new(8u32));
        assert!(c.get::<u32>(b"k", b"sealed-1").is_none());
        assert_eq!(c.get::<u32>(b"k", b"sealed-2").as_deref(), Some(&8));
    }

    #[test]
    fn it_keeps_at_most_max_records() {
        let c = Opened::default();
        for i in 0..MAX + 10 {
            c.put(format!("k{i}").as_bytes(), b"s", Arc::new(i));
        }
        assert_eq!(c.lock().len(), MAX);
    }
}
