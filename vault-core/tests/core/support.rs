//! Helpers shared by the vault-core integration tests.

use std::sync::Arc;

use vault_core::crypto::{KdfParams, KeyMaterial, RootKeySource, SecretString};
use vault_core::store::testing::{InterleavingStore, ReadGateStore};
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

/// `n` vaults over the vault in `store` (already initialised with `key(1)`), as `n` servers
/// sharing one database, all over one [`InterleavingStore`]: their next `n` commits wait until
/// all `n` have arrived, so `n` racing writers (one per vault) have all read before any commits
/// — the interleaving that exposes a lost update. (Writers of one vault are committed as one
/// group, so within one vault [`read_gated`] forces the interleaving instead.)
pub async fn interleaved(store: &SharedStore, n: usize) -> Vec<Vault> {
    let shared: SharedStore = Arc::new(InterleavingStore::new(store.clone(), n));
    let mut vaults = Vec::with_capacity(n);
    for _ in 0..n {
        vaults.push(reopen(&shared).await);
    }
    vaults
}

/// The vault in `store` opened again over a [`ReadGateStore`]: its first `n` reads of `key`
/// wait until all `n` have arrived, so `n` writers of this one vault all read `key` before any
/// of them commits.
pub async fn read_gated(store: &SharedStore, key: &[u8], n: usize) -> Vault {
    reopen(&(Arc::new(ReadGateStore::new(store.clone(), key, n)) as SharedStore)).await
}

/// The vault in `store` (initialised with `key(1)`) opened again.
pub async fn reopen(store: &SharedStore) -> Vault {
    Vault::builder()
        .store(store.clone())
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open the vault again")
}
