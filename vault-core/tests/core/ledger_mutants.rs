//! The crypto barrier and its freshness ledger as seen through the vault: a reader racing a
//! writer, the health check's canary, flush and the backend name, and the test-only KDF cost.
//! Written against mutants of `crypto/barrier.rs` that the other suites let through.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use vault_core::crypto::{
    KdfParams, RootKeySource, SecretString, downgrade_to_pre_ledger_for_tests,
};
use vault_core::prelude::*;
use vault_core::store::{Condition, Entry, SharedStore, Store, Write};
use vault_core::{HealthStatus, Vault};

use super::support::{ckey, cput, key, memory_vault, svc};

/// A store wrapper for forcing what a test needs of the store under a vault, without timing:
/// - once armed, the first `get` of a key starting with `pause_prefix` waits until the test
///   lets it go;
/// - `flush` is counted, and fails on demand.
struct Probe {
    inner: SharedStore,
    pause_prefix: Vec<u8>,
    armed: AtomicBool,
    reached: tokio::sync::Notify,
    proceed: tokio::sync::Notify,
    flushes: AtomicUsize,
    fail_flush: AtomicBool,
}

impl Probe {
    fn new(inner: SharedStore, pause_prefix: &[u8]) -> Arc<Probe> {
        Arc::new(Probe {
            inner,
            pause_prefix: pause_prefix.to_vec(),
            armed: AtomicBool::new(false),
            reached: tokio::sync::Notify::new(),
            proceed: tokio::sync::Notify::new(),
            flushes: AtomicUsize::new(0),
            fail_flush: AtomicBool::new(false),
        })
    }
}

#[async_trait::async_trait]
impl Store for Probe {
    async fn get(&self, key: &[u8]) -> vault_core::Result<Option<Vec<u8>>> {
        if key.starts_with(&self.pause_prefix) && self.armed.swap(false, Ordering::SeqCst) {
            self.reached.notify_one();
            self.proceed.notified().await;
        }
        self.inner.get(key).await
    }

    async fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> vault_core::Result<Vec<Entry>> {
        self.inner.scan(prefix, after, limit).await
    }

    async fn commit(
        &self,
        conditions: Vec<Condition>,
        writes: Vec<Write>,
    ) -> vault_core::Result<bool> {
        self.inner.commit(conditions, writes).await
    }

    async fn flush(&self) -> vault_core::Result<()> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        if self.fail_flush.load(Ordering::SeqCst) {
            return Err(vault_core::Error::BackendUnavailable(
                "injected: fsync failed".into(),
            ));
        }
        self.inner.flush().await
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}

async fn open_over(store: SharedStore) -> Vault {
    Vault::builder()
        .store(store)
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open")
}

#[tokio::test]
async fn a_record_rewritten_between_a_readers_two_gets_is_read_again_not_integrity() {
    // The reader gets the head, then its ledger bucket; a put lands between the two. The head
    // it holds is older than the bucket: a mismatch that moved (the head changed since) is a
    // race to read again, not tampering.
    let (writer, _, store) = memory_vault().await;
    let s = svc("s");
    writer
        .credentials()
        .put(cput("s", "K", "first"))
        .await
        .expect("v1");
    let probe = Probe::new(store.clone(), b"sys/ledger/");
    let reader = open_over(probe.clone()).await;
    probe.armed.store(true, Ordering::SeqCst);

    let k = ckey("K");
    let creds = reader.credentials();
    let (read, ()) = tokio::join!(creds.get(&k, Some(&s)), async {
        probe.reached.notified().await;
        writer
            .credentials()
            .put(cput("s", "K", "second"))
            .await
            .expect("v2");
        probe.proceed.notify_one();
    });
    assert!(
        !probe.armed.load(Ordering::SeqCst),
        "the reader never paused"
    );
    let c = read.expect("a concurrent put is not tampering");
    assert_eq!((c.version, c.value.expose_secret()), (2, "second"));
}

#[tokio::test]
async fn health_is_down_when_the_canary_is_this_vaults_pre_ledger_one() {
    // A vault made before the ledger is adopted at unlock; its old `v1` canary (sealed with
    // the same root key) written back afterwards must not pass the health check.
    let (v, _, store) = memory_vault().await;
    v.credentials().put(cput("s", "K", "v")).await.expect("put");
    downgrade_to_pre_ledger_for_tests(&store, &key(1))
        .await
        .expect("downgrade");
    let canary_v1 = store
        .get(b"sys/canary")
        .await
        .expect("get")
        .expect("canary");
    let v = open_over(store.clone()).await;
    assert_eq!(v.health().await.status, HealthStatus::Ok);

    assert!(
        store
            .commit(vec![], vec![Write::Put(b"sys/canary".to_vec(), canary_v1)])
            .await
            .expect("write back")
    );
    let h = v.health().await;
    assert_eq!(h.status, HealthStatus::Down, "{}", h.message);
    assert_eq!(h.components.get("store").map(String::as_str), Some("error"));
}

#[tokio::test]
async fn health_is_down_when_the_canary_is_another_vaults() {
    let (v, _, store) = memory_vault().await;
    let other: SharedStore = Arc::new(vault_core::store::MemoryStore::new());
    Vault::builder()
        .store(other.clone())
        .key(key(2))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("another vault");
    let foreign = other
        .get(b"sys/canary")
        .await
        .expect("get")
        .expect("canary");
    assert!(
        store
            .commit(vec![], vec![Write::Put(b"sys/canary".to_vec(), foreign)])
            .await
            .expect("overwrite")
    );
    assert_eq!(v.health().await.status, HealthStatus::Down);
}

#[tokio::test]
async fn health_names_the_stores_backend() {
    let (v, _, _) = memory_vault().await;
    let h = v.health().await;
    assert_eq!(
        h.components.get("backend").map(String::as_str),
        Some("memory")
    );
}

#[tokio::test]
async fn flush_asks_the_store_to_flush_and_reports_its_failure() {
    let (_, _, store) = memory_vault().await;
    let probe = Probe::new(store, b"\xff never paused");
    let v = open_over(probe.clone()).await;
    v.credentials().put(cput("s", "K", "v")).await.expect("put");
    let before = probe.flushes.load(Ordering::SeqCst);
    v.flush().await.expect("flush");
    assert_eq!(probe.flushes.load(Ordering::SeqCst), before + 1);

    probe.fail_flush.store(true, Ordering::SeqCst);
    let e = v.flush().await.expect_err("the store's flush failed");
    assert_eq!(e.code(), "backend_unavailable");
    assert!(e.to_string().contains("fsync failed"), "{e}");
}

#[tokio::test]
async fn the_test_kdf_cost_is_the_cheapest_argon2_accepts() {
    // `dangerously_cheap_for_tests` says it is the cheapest cost Argon2 accepts: a vault is
    // made with it, it is what the vault stores, and one step cheaper on any parameter is
    // refused.
    let cheap = KdfParams::dangerously_cheap_for_tests();
    let pass = || RootKeySource::Passphrase(SecretString::from("correct horse battery"));
    let make = |kdf: KdfParams| async move {
        let store: SharedStore = Arc::new(vault_core::store::MemoryStore::new());
        let opened = Vault::builder()
            .store(store.clone())
            .key(pass())
            .kdf(kdf)
            .open()
            .await;
        (opened, store)
    };
    let (opened, store) = make(cheap).await;
    opened.expect("the cheapest cost makes a vault");
    let kdf = store
        .get(b"sys/kdf")
        .await
        .expect("get")
        .expect("kdf record");
    let kdf: serde_json::Value = serde_json::from_slice(&kdf).expect("json");
    assert_eq!(
        (
            kdf["iterations"].as_u64(),
            kdf["memory_kib"].as_u64(),
            kdf["lanes"].as_u64()
        ),
        (
            Some(u64::from(cheap.iterations)),
            Some(u64::from(cheap.memory_kib)),
            Some(u64::from(cheap.lanes))
        )
    );
    for cheaper in [
        KdfParams {
            iterations: cheap.iterations - 1,
            ..cheap
        },
        KdfParams {
            memory_kib: cheap.memory_kib - 1,
            ..cheap
        },
        KdfParams {
            lanes: cheap.lanes - 1,
            ..cheap
        },
    ] {
        let err = make(cheaper)
            .await
            .0
            .expect_err("cheaper than Argon2 accepts");
        assert_eq!(
            (err.code(), err.field()),
            ("invalid", Some("kdf")),
            "{cheaper:?}"
        );
    }
    // It is far below the default, which is what a real vault gets.
    assert!(cheap.memory_kib < KdfParams::default().memory_kib / 1000);
}
