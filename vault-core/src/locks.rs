//! In-process turns for writers that would only lose to each other: writes of one key the
//! store's compare-and-set orders anyway (a service's config revision counter, a transcript's
//! head), taken one at a time within a vault instead of racing until their attempts run out.
//! Across vaults on one store, the commit's conditions still order them.
//!
//! Striped (a fixed number of locks, the key hashed onto them) so memory stays bounded
//! whatever the number of keys; two keys sharing a stripe only take turns.

use std::hash::{Hash, Hasher};

/// Stripes of locks.
const STRIPES: usize = 64;

/// The turns of one vault's writers (see the module doc).
pub(crate) struct Turns {
    stripes: Vec<tokio::sync::Mutex<()>>,
}

impl Turns {
    pub(crate) fn new() -> Self {
        Turns {
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
        }
    }

    /// Waits for the turn of writers of `key`; held until the guard drops.
    pub(crate) async fn take(&self, key: &[u8]) -> tokio::sync::MutexGuard<'_, ()> {
        self.stripes[stripe_of(key)].lock().await
    }
}

/// The stripe `key` hashes onto (also used to stripe other per-key state).
pub(crate) fn stripe_of(key: &[u8]) -> usize {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    // The remainder is below STRIPES: it fits any usize.
    usize::try_from(h.finish() % STRIPES as u64).unwrap_or(0)
}

/// How many stripes [`stripe_of`] spreads keys over.
pub(crate) const fn stripes() -> usize {
    STRIPES
}
