//! Freshness: whoever can write the store cannot roll a record back, bring a deleted one back
//! or remove one without the vault saying `integrity`. Every attack here writes saved raw
//! records back through the store API, under the barrier, as someone with access to the
//! store (not the key) could.

use std::sync::Arc;
use std::time::Duration;

use vault_core::configs::ConfigSettings;
use vault_core::crypto::{KdfParams, downgrade_to_pre_ledger_for_tests};
use vault_core::prelude::*;
use vault_core::store::testing::InterleavingStore;
use vault_core::store::{SharedStore, Write};
use vault_core::{ConfigPut, PageRequest, Vault};

use super::support::{ckey, cput, dump, interleaved, key, memory_vault, sid, svc};

type Saved = Vec<(Vec<u8>, Vec<u8>)>;

/// The raw store entries whose keys start with one of `prefixes`.
async fn save(store: &SharedStore, prefixes: &[&str]) -> Saved {
    dump(store)
        .await
        .into_iter()
        .filter(|(k, _)| prefixes.iter().any(|p| k.starts_with(p.as_bytes())))
        .collect()
}

/// Writes saved entries back as they were.
async fn write_back(store: &SharedStore, saved: &Saved) {
    let writes = saved
        .iter()
        .map(|(k, v)| Write::Put(k.clone(), v.clone()))
        .collect();
    assert!(store.commit(vec![], writes).await.expect("write back"));
}

async fn reopen(store: &SharedStore) -> Vault {
    Vault::builder()
        .store(store.clone())
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("reopen")
}

#[tokio::test]
async fn a_rotated_credential_written_back_from_an_old_copy_is_integrity() {
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    v.credentials()
        .put(cput("s", "K", "old-value"))
        .await
        .expect("v1");
    // Everything of K at version 1: head, info, version record, index entry.
    let v1 = save(
        &store,
        &["cred/h/s/K", "cred/i/s/K", "cred/v/s/K/", "cred/k/K/"],
    )
    .await;
    assert_eq!(v1.len(), 4);
    v.credentials()
        .put(cput("s", "K", "new-value"))
        .await
        .expect("v2");
    write_back(&store, &v1).await;

    for vault in [v.clone(), reopen(&store).await] {
        let err = vault
            .credentials()
            .get(&ckey("K"), Some(&s))
            .await
            .expect_err("the old head is not served");
        assert_eq!(err.code(), "integrity");
        assert!(!err.to_string().contains("old-value"));
        // The listing reports it instead of showing version 1.
        let page = vault
            .credentials()
            .list(&s, PageRequest::first())
            .await
            .expect("list");
        assert!(page.items.is_empty());
        assert_eq!(page.unreadable.len(), 1);
        assert_eq!(page.unreadable[0].error.code(), "integrity");
    }
    // A put cannot build on a head it cannot trust; deleting it (on sealed bytes) clears the
    // way for a fresh one.
    let err = v
        .credentials()
        .put(cput("s", "K", "newest"))
        .await
        .expect_err("put over the rolled-back head");
    assert_eq!(err.code(), "integrity");
    v.credentials()
        .delete(&ckey("K"), Some(&s))
        .await
        .expect("delete");
    v.credentials()
        .put(cput("s", "K", "newest"))
        .await
        .expect("put");
    let c = v
        .credentials()
        .get(&ckey("K"), Some(&s))
        .await
        .expect("get");
    assert_eq!((c.version, c.value.expose_secret()), (1, "newest"));
}

#[tokio::test]
async fn a_deleted_credential_written_back_is_integrity_and_can_be_deleted_again() {
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    v.credentials()
        .put(cput("s", "GONE", "revoked-value"))
        .await
        .expect("put");
    let saved = save(&store, &["cred/"]).await;
    v.credentials()
        .delete(&ckey("GONE"), Some(&s))
        .await
        .expect("delete");
    write_back(&store, &saved).await;
    let err = v
        .credentials()
        .get(&ckey("GONE"), None)
        .await
        .expect_err("resurrected");
    assert_eq!(err.code(), "integrity");
    let err = v
        .credentials()
        .get_version(&ckey("GONE"), &s, 1)
        .await
        .expect_err("its version record is not served either");
    assert_eq!(err.code(), "integrity");
    // The operator's way out: delete it again (deletion works on sealed bytes).
    v.credentials()
        .delete(&ckey("GONE"), Some(&s))
        .await
        .expect("delete the resurrected record");
    assert_eq!(
        v.credentials()
            .get(&ckey("GONE"), Some(&s))
            .await
            .expect_err("gone")
            .code(),
        "not_found"
    );
}

#[tokio::test]
async fn a_credential_removed_behind_the_vaults_back_is_integrity_not_not_found() {
    let (v, _, store) = memory_vault().await;
    v.credentials()
        .put(cput("s", "K", "value"))
        .await
        .expect("put");
    assert!(
        store
            .commit(vec![], vec![Write::Delete(b"cred/h/s/K".to_vec())])
            .await
            .expect("raw delete")
    );
    let err = v
        .credentials()
        .get(&ckey("K"), Some(&svc("s")))
        .await
        .expect_err("removed");
    assert_eq!(err.code(), "integrity");
}

#[tokio::test]
async fn a_version_record_of_an_earlier_credential_of_the_same_name_is_not_served() {
    let (v, clock, store) = memory_vault().await;
    let s = svc("s");
    v.credentials()
        .put(cput("s", "K", "first-life"))
        .await
        .expect("put");
    let old_version = save(&store, &["cred/v/s/K/"]).await;
    v.credentials()
        .delete(&ckey("K"), Some(&s))
        .await
        .expect("delete");
    clock.advance(Duration::from_secs(1));
    v.credentials()
        .put(cput("s", "K", "second-life"))
        .await
        .expect("put again");
    write_back(&store, &old_version).await;
    let err = v
        .credentials()
        .get_version(&ckey("K"), &s, 1)
        .await
        .expect_err("version 1 of the first life");
    assert_eq!(err.code(), "integrity");
    // The current head is untouched.
    let c = v
        .credentials()
        .get(&ckey("K"), Some(&s))
        .await
        .expect("get");
    assert_eq!(c.value.expose_secret(), "second-life");
}

#[tokio::test]
async fn a_pruned_credential_version_written_back_is_not_served() {
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    v.credentials().put(cput("s", "K", "v1")).await.expect("v1");
    let first = save(&store, &["cred/v/s/K/"]).await;
    for i in 2..=(vault_core::credentials::KEPT_VERSIONS + 1) {
        v.credentials()
            .put(cput("s", "K", format!("v{i}")))
            .await
            .expect("put");
    }
    assert_eq!(
        v.credentials()
            .get_version(&ckey("K"), &s, 1)
            .await
            .expect_err("pruned")
            .code(),
        "not_found"
    );
    write_back(&store, &first).await;
    assert_eq!(
        v.credentials()
            .get_version(&ckey("K"), &s, 1)
            .await
            .expect_err("still pruned")
            .code(),
        "not_found"
    );
}

#[tokio::test]
async fn a_config_rolled_back_is_integrity_in_get_list_and_history() {
    let (v, _, store) = memory_vault().await;
    let s = svc("fx");
    let mut put = ConfigPut::new(sid("trend"));
    put.enabled = Some(false);
    v.configs().put(&s, put).await.expect("v1: disabled");
    let disabled = save(&store, &["cfg/h/fx/trend"]).await;
    let mut put = ConfigPut::new(sid("trend"));
    put.enabled = Some(true);
    v.configs().put(&s, put).await.expect("v2: enabled");
    // Rolling the head back would silently disable (or, the other way round, enable) a
    // strategy: it is refused instead.
    write_back(&store, &disabled).await;
    let err = v
        .configs()
        .get(&s, &sid("trend"), None)
        .await
        .expect_err("rolled back head");
    assert_eq!(err.code(), "integrity");
    let page = v
        .configs()
        .list(&s, PageRequest::first())
        .await
        .expect("list");
    assert_eq!(
        (page.items.len(), page.unreadable.len()),
        (0, 1),
        "reported, not listed"
    );
    let err = v
        .configs()
        .history(&s, &sid("trend"), None, None)
        .await
        .expect_err("history starts at the head");
    assert_eq!(err.code(), "integrity");
}

#[tokio::test]
async fn a_pruned_config_version_written_back_is_not_served() {
    let (v, _, store) = memory_vault().await;
    let s = svc("fx");
    v.configs()
        .set_settings(&s, ConfigSettings { max_versions: 2 })
        .await
        .expect("settings");
    v.configs()
        .put(&s, ConfigPut::new(sid("a")))
        .await
        .expect("v1");
    let first = save(&store, &["cfg/v/fx/a/"]).await;
    assert_eq!(first.len(), 1);
    for _ in 0..2 {
        v.configs()
            .put(&s, ConfigPut::new(sid("a")))
            .await
            .expect("put");
    }
    write_back(&store, &first).await;
    let err = v
        .configs()
        .get(&s, &sid("a"), Some(1))
        .await
        .expect_err("pruned");
    assert_eq!(err.code(), "not_found");
    let h = v
        .configs()
        .history(&s, &sid("a"), None, None)
        .await
        .expect("history");
    assert_eq!(
        h.versions.iter().map(|c| c.version).collect::<Vec<_>>(),
        [3, 2]
    );
    assert_eq!((h.oldest_version, h.next), (2, None));
}

#[tokio::test]
async fn config_settings_rolled_back_are_integrity() {
    let (v, _, store) = memory_vault().await;
    let s = svc("fx");
    v.configs()
        .set_settings(&s, ConfigSettings { max_versions: 5 })
        .await
        .expect("5");
    let five = save(&store, &["cfg/s/fx"]).await;
    v.configs()
        .set_settings(&s, ConfigSettings { max_versions: 500 })
        .await
        .expect("500");
    write_back(&store, &five).await;
    assert_eq!(
        v.configs()
            .settings(&s)
            .await
            .expect_err("rolled back")
            .code(),
        "integrity"
    );
    // A put prunes by the settings, so it refuses too rather than pruning by old ones.
    assert_eq!(
        v.configs()
            .put(&s, ConfigPut::new(sid("a")))
            .await
            .expect_err("put under rolled-back settings")
            .code(),
        "integrity"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_set_writers_of_different_records_sharing_a_ledger_bucket_all_succeed() {
    // 100 different records, 256 buckets: some share a bucket (a fixed fact for these names).
    // Every writer reads before any commits; a writer whose commit failed only because another
    // record of its bucket was written is not a compare-and-set conflict and must succeed.
    let (_, _, store) = memory_vault().await;
    let n = 100;
    let v = interleaved(&store, n).await;
    let mut tasks = Vec::new();
    for i in 0..n {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            let mut put = cput("s", &format!("K{i}"), format!("value-{i}"));
            put.expected_version = Some(0);
            v.credentials().put(put).await.map(|w| w.version)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").map_err(|e| e.to_string()), Ok(1));
    }
    let page = v
        .credentials()
        .list(&svc("s"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!((page.items.len(), page.unreadable.len()), (n, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_set_on_one_record_still_has_exactly_one_winner() {
    let (_, _, store) = memory_vault().await;
    let v = Vault::builder()
        .store(Arc::new(InterleavingStore::new(store.clone(), 8)))
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            let mut put = cput("s", "ONE", format!("w{i}"));
            put.expected_version = Some(0);
            v.credentials().put(put).await.map(|w| w.version)
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(1) => wins += 1,
            Ok(other) => panic!("version {other}"),
            Err(e) => assert_eq!(e.code(), "conflict"),
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn a_vault_made_before_the_ledger_is_adopted_as_is_then_protected() {
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    v.credentials()
        .put(cput("s", "K", "old-value"))
        .await
        .expect("v1");
    v.configs()
        .put(&s, ConfigPut::new(sid("a")))
        .await
        .expect("config");
    // A credential written before info records existed has no `cred/i/...`.
    assert!(
        store
            .commit(vec![], vec![Write::Delete(b"cred/i/s/K".to_vec())])
            .await
            .expect("drop info")
    );
    downgrade_to_pre_ledger_for_tests(&store, &key(1))
        .await
        .expect("downgrade");
    assert!(
        dump(&store)
            .await
            .iter()
            .all(|(k, _)| !k.starts_with(b"sys/ledger/"))
    );
    let v1 = save(&store, &["cred/h/s/K"]).await;

    let v = reopen(&store).await;
    assert_eq!(v.health().await.status, vault_core::HealthStatus::Ok);
    let c = v
        .credentials()
        .get(&ckey("K"), Some(&s))
        .await
        .expect("get");
    assert_eq!(c.value.expose_secret(), "old-value");
    let page = v
        .credentials()
        .list(&s, PageRequest::first())
        .await
        .expect("listed from its head");
    assert_eq!(page.items.len(), 1);
    v.configs()
        .get(&s, &sid("a"), None)
        .await
        .expect("config adopted");
    // From now on the ledger is required: a rollback is caught, after a restart too.
    v.credentials()
        .put(cput("s", "K", "new-value"))
        .await
        .expect("v2");
    write_back(&store, &v1).await;
    let v = reopen(&store).await;
    assert_eq!(
        v.credentials()
            .get(&ckey("K"), Some(&s))
            .await
            .expect_err("rolled back")
            .code(),
        "integrity"
    );
}
