//! Freshness: whoever can write the store cannot roll a record back, bring a deleted one back
//! or remove one without the vault saying `integrity`. Every attack here writes saved raw
//! records back through the store API, under the barrier, as someone with access to the
//! store (not the key) could.

use std::sync::Arc;
use std::time::Duration;

use vault_core::configs::ConfigSettings;
use vault_core::crypto::{KdfParams, downgrade_to_pre_ledger_for_tests};
use vault_core::prelude::*;
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
        .get_version(&ckey("GONE"), Some(&s), 1)
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
        .get_version(&ckey("K"), Some(&s), 1)
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
            .get_version(&ckey("K"), Some(&s), 1)
            .await
            .expect_err("pruned")
            .code(),
        "not_found"
    );
    write_back(&store, &first).await;
    assert_eq!(
        v.credentials()
            .get_version(&ckey("K"), Some(&s), 1)
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
    let racing = interleaved(&store, n).await;
    let mut tasks = Vec::new();
    for (i, v) in racing.iter().cloned().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut put = cput("s", &format!("K{i}"), format!("value-{i}"));
            put.expected_version = Some(0);
            v.credentials().put(put).await.map(|w| w.version)
        }));
    }
    for t in tasks {
        assert_eq!(t.await.expect("join").map_err(|e| e.to_string()), Ok(1));
    }
    let page = racing[0]
        .credentials()
        .list(&svc("s"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!((page.items.len(), page.unreadable.len()), (n, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_and_set_on_one_record_still_has_exactly_one_winner() {
    let (_, _, store) = memory_vault().await;
    let racing = interleaved(&store, 8).await;
    let mut tasks = Vec::new();
    for (i, v) in racing.into_iter().enumerate() {
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

// ---------------------------------------------------------------------------------------------
// Review of the freshness ledger: attacks and races that slip past it.
// ---------------------------------------------------------------------------------------------

/// Deletes raw keys through the store API, as someone who can write the store could.
async fn raw_delete(store: &SharedStore, keys: &[&[u8]]) {
    let writes = keys.iter().map(|k| Write::Delete(k.to_vec())).collect();
    assert!(store.commit(vec![], writes).await.expect("raw delete"));
}

#[tokio::test]
async fn a_credential_removed_together_with_its_ledger_buckets_is_integrity_not_not_found() {
    // No saved copy needed: a bucket's number is an unkeyed hash of the clear record key, and
    // a missing bucket reads as an empty one. In a small vault each record is alone in its
    // bucket, so deleting the record and its buckets leaves nothing that disagrees.
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    v.credentials()
        .put(cput("s", "K", "value"))
        .await
        .expect("put");
    let doomed: Vec<Vec<u8>> = dump(&store)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with(b"cred/") || k.starts_with(b"sys/ledger/"))
        .collect();
    assert!(doomed.iter().any(|k| k.starts_with(b"sys/ledger/")));
    let doomed: Vec<&[u8]> = doomed.iter().map(Vec::as_slice).collect();
    raw_delete(&store, &doomed).await;
    for vault in [v.clone(), reopen(&store).await] {
        let err = vault
            .credentials()
            .get(&ckey("K"), Some(&s))
            .await
            .expect_err("removed");
        assert_eq!(err.code(), "integrity", "silently removed: {err}");
    }
}

#[tokio::test]
async fn a_version_of_an_earlier_credential_created_in_the_same_millisecond_is_not_served() {
    // `created_at` (milliseconds) is all that tells two lives of a name apart. Deleting and
    // creating again within one millisecond is ordinary for a script (the clock does not move
    // here).
    let (v, _, store) = memory_vault().await;
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
    v.credentials()
        .put(cput("s", "K", "second-life"))
        .await
        .expect("put again");
    write_back(&store, &old_version).await;
    match v.credentials().get_version(&ckey("K"), Some(&s), 1).await {
        Ok(c) => assert_eq!(
            c.value.expose_secret(),
            "second-life",
            "version 1 of the first life is served"
        ),
        Err(e) => assert_eq!(e.code(), "integrity"),
    }
}

#[tokio::test]
async fn a_pre_ledger_canary_written_back_does_not_reset_the_ledger() {
    // Any store that was upgraded keeps a forever-valid "reset" token: its old `v1` canary.
    // With it, a single credential can be rolled back to any copy (here one taken after the
    // upgrade), not only the whole directory to a pre-ledger copy.
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    v.credentials().put(cput("s", "K", "v1")).await.expect("v1");
    downgrade_to_pre_ledger_for_tests(&store, &key(1))
        .await
        .expect("downgrade");
    let canary_v1 = save(&store, &["sys/canary"]).await;
    let v = reopen(&store).await; // adopted: the ledger is required from now on
    v.credentials()
        .put(cput("s", "K", "v2-leaked"))
        .await
        .expect("v2");
    let leaked = save(&store, &["cred/h/s/K", "cred/i/s/K"]).await;
    v.credentials()
        .put(cput("s", "K", "v3-rotated"))
        .await
        .expect("v3");
    drop(v);

    let mut attack = canary_v1;
    attack.extend(leaked);
    write_back(&store, &attack).await;
    let buckets: Vec<Vec<u8>> = save(&store, &["sys/ledger/"])
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    let buckets: Vec<&[u8]> = buckets.iter().map(Vec::as_slice).collect();
    raw_delete(&store, &buckets).await;

    // The keyring says "ledger required" (only the root key can write that): the pre-ledger
    // canary next to it is caught at unlock, before anything is served.
    let err = Vault::builder()
        .store(store.clone())
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect_err("a pre-ledger canary next to a ledger keyring");
    assert_eq!(err.code(), "integrity");
    let _ = &s;
}

#[tokio::test]
async fn a_credential_whose_head_was_removed_can_be_deleted_and_written_again() {
    // docs/security.md: "The way out for an operator is to delete the record ... and write it
    // again." With the head gone, delete says not_found and put says integrity: stuck.
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    v.credentials()
        .put(cput("s", "K", "value"))
        .await
        .expect("put");
    raw_delete(&store, &[b"cred/h/s/K"]).await;
    let deleted = v.credentials().delete(&ckey("K"), Some(&s)).await;
    let put = v.credentials().put(cput("s", "K", "fresh")).await;
    assert!(
        deleted.is_ok() || put.is_ok(),
        "no way out: delete {:?}, put {:?}",
        deleted.err().map(|e| e.code().to_string()),
        put.err().map(|e| e.code().to_string())
    );
}

/// Holds the first `get` of one key (once armed) until the test lets it go: a forced
/// interleaving of a reader's gets with other writers, without timing.
struct PauseOnGet {
    inner: SharedStore,
    key: Vec<u8>,
    armed: std::sync::atomic::AtomicBool,
    reached: tokio::sync::Notify,
    proceed: tokio::sync::Notify,
}

#[async_trait::async_trait]
impl vault_core::store::Store for PauseOnGet {
    async fn get(&self, key: &[u8]) -> vault_core::Result<Option<Vec<u8>>> {
        if key == self.key.as_slice() && self.armed.swap(false, std::sync::atomic::Ordering::SeqCst)
        {
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
    ) -> vault_core::Result<Vec<vault_core::store::Entry>> {
        self.inner.scan(prefix, after, limit).await
    }

    async fn commit(
        &self,
        conditions: Vec<vault_core::store::Condition>,
        writes: Vec<Write>,
    ) -> vault_core::Result<bool> {
        self.inner.commit(conditions, writes).await
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }
}

#[tokio::test]
async fn get_version_racing_a_delete_and_create_is_never_integrity() {
    let (v, clock, store) = memory_vault().await;
    let s = svc("s");
    v.credentials()
        .put(cput("s", "K", "first-life"))
        .await
        .expect("put");
    let mut vkey = b"cred/v/s/K/".to_vec();
    vkey.extend_from_slice(&1u64.to_be_bytes());
    let paused = Arc::new(PauseOnGet {
        inner: store.clone(),
        key: vkey,
        armed: false.into(),
        reached: tokio::sync::Notify::new(),
        proceed: tokio::sync::Notify::new(),
    });
    let shared: SharedStore = paused.clone();
    let reader = reopen(&shared).await;
    paused
        .armed
        .store(true, std::sync::atomic::Ordering::SeqCst);
    // The reader has read the head (first life, version 1) and is about to read version 1;
    // meanwhile the credential is deleted and created again.
    let k = ckey("K");
    let creds = reader.credentials();
    let (read, ()) = tokio::join!(creds.get_version(&k, Some(&s), 1), async {
        paused.reached.notified().await;
        v.credentials()
            .delete(&ckey("K"), Some(&s))
            .await
            .expect("delete");
        clock.advance(Duration::from_millis(1));
        v.credentials()
            .put(cput("s", "K", "second-life"))
            .await
            .expect("create again");
        paused.proceed.notify_one();
    });
    match read {
        Ok(_) => {}
        Err(e) => assert_eq!(
            e.code(),
            "not_found",
            "a concurrent writer looks like tampering: {e}"
        ),
    }
}
