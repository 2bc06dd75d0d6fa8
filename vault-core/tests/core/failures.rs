//! Store failures: after a write whose outcome is unknown, the vault fails closed.

use std::sync::Arc;

use vault_core::crypto::KdfParams;
use vault_core::prelude::*;
use vault_core::store::testing::FailingStore;
use vault_core::store::{MemoryStore, SharedStore};
use vault_core::{HealthStatus, Vault};

use super::support::{ckey, cput, key};

async fn open(store: SharedStore) -> Vault {
    Vault::builder()
        .store(store)
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open")
}

#[tokio::test]
async fn a_failed_write_is_never_served_and_the_vault_fails_closed_until_restart() {
    let inner: SharedStore = Arc::new(MemoryStore::new());
    let failing = Arc::new(FailingStore::new(inner.clone()));
    let v = open(failing.clone()).await;
    v.credentials()
        .put(cput("s", "KEPT", "before"))
        .await
        .expect("put");

    failing.fail_commits(true);
    let e = v
        .credentials()
        .put(cput("s", "LOST", "maybe"))
        .await
        .expect_err("the write fails");
    assert_eq!(e.code(), "backend_unavailable");

    // The failed write was applied in memory by the store, but it is not served; nor is
    // anything else, even after the store would accept writes again.
    failing.fail_commits(false);
    for k in ["LOST", "KEPT"] {
        let e = v.credentials().get(&ckey(k), None).await.expect_err(k);
        assert_eq!(e.code(), "backend_unavailable", "{k}");
        assert!(e.to_string().contains("until it is restarted"), "{e}");
    }
    let e = v
        .credentials()
        .put(cput("s", "AFTER", "v"))
        .await
        .expect_err("writes refused too");
    assert_eq!(e.code(), "backend_unavailable");
    let h = v.health().await;
    assert_eq!(h.status, HealthStatus::Down);
    assert!(h.message.contains("disk is full"), "{}", h.message);

    // A restart (a new vault over the same data) serves what was acknowledged.
    let restarted = open(inner).await;
    let kept = restarted
        .credentials()
        .get(&ckey("KEPT"), None)
        .await
        .expect("kept");
    assert_eq!(kept.value.expose_secret(), "before");
    assert_eq!(restarted.health().await.status, HealthStatus::Ok);
}
