//! Helpers shared by the vault-core integration tests.

use std::sync::Arc;

use vault_core::crypto::{KdfParams, KeyMaterial, RootKeySource, SecretString};
use vault_core::store::testing::InterleavingStore;
use vault_core::store::{MemoryStore, SharedStore};
use vault_core::{
    CredentialKey, CredentialPut, ManualClock, ServiceName, StrategyId, Timestamp, Vault,
};

/// 2026-11-22T09:00:00.000Z
pub const T0: i64 = 1_795_338_000_000;

pub fn key(b: u8) -> RootKeySource {
    RootKeySource::Key(KeyMaterial::from_slice(&[b; 32]).expect("key"))
}

/// A service name known to be valid.
pub fn svc(s: &str) -> ServiceName {
    ServiceName::new(s).expect("valid service name")
}

/// A credential key known to be valid.
pub fn ckey(s: &str) -> CredentialKey {
    CredentialKey::new(s).expect("valid credential key")
}

/// A strategy id known to be valid.
pub fn sid(s: &str) -> StrategyId {
    StrategyId::new(s).expect("valid strategy id")
}

/// A credential put of `value` under `service`/`key` (both known to be valid).
pub fn cput(service: &str, key: &str, value: impl Into<SecretString>) -> CredentialPut {
    CredentialPut::new(svc(service), ckey(key), value)
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

/// The vault in `store` (already initialised with `key(1)`) opened again over an
/// [`InterleavingStore`]: its next `n` commits wait until all `n` have arrived, so `n` racing
/// writers have all read before any commits — the interleaving that exposes a lost update.
pub async fn interleaved(store: &SharedStore, n: usize) -> Vault {
    Vault::builder()
        .store(Arc::new(InterleavingStore::new(store.clone(), n)))
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open over the interleaving store")
}
