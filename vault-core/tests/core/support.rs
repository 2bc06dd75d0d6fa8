//! Helpers shared by the vault-core integration tests.

use std::sync::Arc;

use vault_core::crypto::{KdfParams, KeyMaterial, RootKeySource};
use vault_core::store::{MemoryStore, SharedStore};
use vault_core::{ManualClock, Timestamp, Vault};

/// 2026-11-22T09:00:00.000Z
pub const T0: i64 = 1_795_338_000_000;

pub fn key(b: u8) -> RootKeySource {
    RootKeySource::Key(KeyMaterial::from_slice(&[b; 32]).expect("key"))
}

/// A vault on a fresh memory store with a manual clock at T0.
pub async fn memory_vault() -> (Vault, ManualClock, SharedStore) {
    let store: SharedStore = Arc::new(MemoryStore::new());
    let clock = ManualClock::new(Timestamp::from_millis(T0));
    let vault = Vault::builder()
        .store(store.clone())
        .key(key(1))
        .clock(Arc::new(clock.clone()))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open");
    (vault, clock, store)
}

/// Every key and value in the store, for inspecting what reached it.
pub async fn dump(store: &SharedStore) -> Vec<(Vec<u8>, Vec<u8>)> {
    store.scan(b"", None, usize::MAX).await.expect("scan")
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}
