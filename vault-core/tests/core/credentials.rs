//! Credentials through the public `Vault` API, on a memory store with a manual clock.

use std::time::Duration;

use serde_json::json;
use vault_core::credentials::KEPT_VERSIONS;
use vault_core::prelude::*;
use vault_core::{Action, CredentialDeleted, CredentialKey, PageRequest, ServiceName};

use super::support::{T0, ckey, contains, cput, dump, interleaved, memory_vault, svc};

fn meta(v: serde_json::Value) -> Option<vault_core::JsonObject> {
    v.as_object().cloned()
}

#[tokio::test]
async fn put_then_get_round_trips_value_metadata_and_times() {
    let (v, clock, _) = memory_vault().await;
    let mut put = cput("fxshinobi", "OANDA_API_KEY", "abc123");
    put.metadata = meta(json!({"account_type": "practice"}));
    let w = v.credentials().put(put).await.expect("put");
    assert_eq!((w.action, w.version), (Action::Created, 1));

    clock.advance(Duration::from_secs(60));
    let w2 = v
        .credentials()
        .put(cput("fxshinobi", "OANDA_API_KEY", "def456"))
        .await
        .expect("update");
    assert_eq!((w2.action, w2.version), (Action::Updated, 2));

    let c = v
        .credentials()
        .get(&ckey("OANDA_API_KEY"), Some(&svc("fxshinobi")))
        .await
        .expect("get");
    assert_eq!(c.value.expose_secret(), "def456");
    assert_eq!(c.version, 2);
    // Metadata omitted on update keeps the previous metadata.
    assert_eq!(c.metadata.get("account_type"), Some(&json!("practice")));
    assert_eq!(c.created_at.as_millis(), T0);
    assert_eq!(c.updated_at.as_millis(), T0 + 60_000);
    assert_eq!(c.updated_at.to_string(), "2026-11-22T09:01:00.000Z");
    // Older versions stay readable.
    let v1 = v
        .credentials()
        .get_version(&ckey("OANDA_API_KEY"), Some(&svc("fxshinobi")), 1)
        .await
        .expect("v1");
    assert_eq!(v1.value.expose_secret(), "abc123");
}

#[tokio::test]
async fn get_without_service_resolves_unique_key_and_refuses_ambiguous_one() {
    let (v, _, _) = memory_vault().await;
    v.credentials()
        .put(cput("svc-a", "SHARED", "1"))
        .await
        .expect("a");
    v.credentials()
        .put(cput("svc-a", "ONLY_A", "2"))
        .await
        .expect("a2");
    v.credentials()
        .put(cput("svc-b", "SHARED", "3"))
        .await
        .expect("b");

    let c = v
        .credentials()
        .get(&ckey("ONLY_A"), None)
        .await
        .expect("unique");
    assert_eq!(
        (c.service.as_str(), c.value.expose_secret()),
        ("svc-a", "2")
    );

    let e = v
        .credentials()
        .get(&ckey("SHARED"), None)
        .await
        .expect_err("ambiguous");
    assert_eq!(e.code(), "conflict");
    let msg = e.to_string();
    assert!(msg.contains("svc-a") && msg.contains("svc-b"), "{msg}");

    let e = v
        .credentials()
        .get(&ckey("MISSING"), None)
        .await
        .expect_err("missing");
    assert_eq!(e.code(), "not_found");
    assert_eq!(e.to_string(), "Credential 'MISSING' not found");
    let e = v
        .credentials()
        .get(&ckey("SHARED"), Some(&svc("svc-c")))
        .await
        .expect_err("other service");
    assert_eq!(e.code(), "not_found");
}

#[tokio::test]
async fn only_the_last_ten_versions_are_kept() {
    let (v, _, store) = memory_vault().await;
    for i in 1..=13 {
        v.credentials()
            .put(cput("s", "K", format!("value-{i}")))
            .await
            .expect("put");
    }
    let versions = store.scan(b"cred/v/s/K/", None, 100).await.expect("scan");
    assert_eq!(versions.len() as u64, KEPT_VERSIONS);
    for gone in 1..=3 {
        let e = v
            .credentials()
            .get_version(&ckey("K"), Some(&svc("s")), gone)
            .await
            .expect_err("pruned");
        assert_eq!(e.code(), "not_found");
    }
    for kept in 4..=13u64 {
        let c = v
            .credentials()
            .get_version(&ckey("K"), Some(&svc("s")), kept)
            .await
            .expect("kept");
        assert_eq!(c.value.expose_secret(), format!("value-{kept}"));
    }
}

#[tokio::test]
async fn expected_version_is_compare_and_set() {
    let (v, _, _) = memory_vault().await;
    let mut put = cput("s", "K", "one");
    put.expected_version = Some(0);
    v.credentials()
        .put(put.clone())
        .await
        .expect("create with expected 0");
    let e = v.credentials().put(put).await.expect_err("exists now");
    assert_eq!(e.code(), "conflict");
    let mut put = cput("s", "K", "two");
    put.expected_version = Some(1);
    assert_eq!(v.credentials().put(put).await.expect("cas").version, 2);
    let c = v
        .credentials()
        .get(&ckey("K"), Some(&svc("s")))
        .await
        .expect("get");
    assert_eq!(c.value.expose_secret(), "two");
}

#[tokio::test]
async fn list_shows_names_never_values_and_delete_removes_everything() {
    let (v, _, store) = memory_vault().await;
    for (k, val) in [("B_KEY", "planted-list-b"), ("A_KEY", "planted-list-a")] {
        v.credentials().put(cput("svc", k, val)).await.expect("put");
    }
    v.credentials()
        .put(cput("other", "C_KEY", "c"))
        .await
        .expect("put");
    // Through the `VaultApi` trait object, as the adapters use it.
    let api: &dyn VaultApi = &v;
    let list = api
        .credentials()
        .list(&svc("svc"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!(
        list.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ["A_KEY", "B_KEY"]
    );
    let shown = format!("{list:?}") + &serde_json::to_string(&list.items).expect("json");
    assert!(!shown.contains("planted-list"), "{shown}");

    let deleted = v
        .credentials()
        .delete(&ckey("A_KEY"), None)
        .await
        .expect("delete");
    assert_eq!(
        deleted,
        CredentialDeleted {
            service: svc("svc"),
            key: ckey("A_KEY"),
        }
    );
    assert_eq!(
        v.credentials()
            .get(&ckey("A_KEY"), None)
            .await
            .expect_err("gone")
            .code(),
        "not_found"
    );
    assert_eq!(
        v.credentials()
            .delete(&ckey("A_KEY"), None)
            .await
            .expect_err("again")
            .code(),
        "not_found"
    );
    let left: Vec<String> = dump(&store)
        .await
        .into_iter()
        .map(|(k, _)| String::from_utf8_lossy(&k).into_owned())
        .filter(|k| k.contains("A_KEY"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn planted_value_never_reaches_the_store_in_clear() {
    let (v, _, store) = memory_vault().await;
    let mut put = cput("svc", "K", "planted-secret-0xfeed");
    put.metadata = meta(json!({"note": "meta-visible"}));
    v.credentials().put(put).await.expect("put");
    let c = v.credentials().get(&ckey("K"), None).await.expect("get");
    assert_eq!(c.value.expose_secret(), "planted-secret-0xfeed");
    for (k, val) in dump(&store).await {
        assert!(!contains(&k, b"planted-secret"), "in a key");
        assert!(
            !contains(&val, b"planted-secret"),
            "in the value of {:?}",
            String::from_utf8_lossy(&k)
        );
        // Whole records are sealed, metadata included.
        assert!(!contains(&val, b"meta-visible"));
    }
    assert!(!format!("{c:?}").contains("planted-secret"));
}

#[tokio::test]
async fn bad_input_is_invalid_naming_the_field_and_changes_nothing() {
    let (v, _, store) = memory_vault().await;
    let before = dump(&store).await;
    // Names are checked once, where they are constructed: a bad name cannot reach an operation.
    let bad_names = [
        (ServiceName::new("../etc").map(drop), "service"),
        (CredentialKey::new("a/b").map(drop), "key"),
        (CredentialKey::new("").map(drop), "key"),
    ];
    for (made, field) in bad_names {
        let e = made.expect_err(field);
        assert_eq!(e.code(), "invalid");
        assert_eq!(e.field(), Some(field));
        assert!(
            e.to_string().starts_with(&format!("invalid {field}:")),
            "{e}"
        );
    }
    let cases = [
        (cput("s", "K", ""), "value"),
        (cput("s", "K", "x".repeat(64 * 1024 + 1)), "value"),
    ];
    for (put, field) in cases {
        let e = v.credentials().put(put).await.expect_err(field);
        assert_eq!(e.code(), "invalid");
        assert!(
            e.to_string().starts_with(&format!("invalid {field}:")),
            "{e}"
        );
    }
    let mut big = cput("s", "K", "v");
    big.metadata = meta(json!({"blob": "m".repeat(20_000)}));
    assert_eq!(
        v.credentials().put(big).await.expect_err("meta").code(),
        "invalid"
    );
    // What used to be `get("..", None)`: the key is rejected before any lookup.
    assert_eq!(CredentialKey::new("..").expect_err("get").code(), "invalid");
    assert_eq!(dump(&store).await, before);
}

/// Forced interleaving (every writer reads before any commits): each put still gets its own
/// version.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_each_get_their_own_version() {
    let (_, _, store) = memory_vault().await;
    let racing = interleaved(&store, 16).await;
    let mut tasks = Vec::new();
    for (i, v) in racing.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            v.credentials()
                .put(cput("s", "HOT", format!("w{i}")))
                .await
                .expect("put")
                .version
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await.expect("join"));
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=16).collect::<Vec<u64>>());
}

#[tokio::test]
async fn a_corrupt_record_fails_its_check_but_can_still_be_deleted() {
    let (v, _, store) = memory_vault().await;
    v.credentials()
        .put(cput("s", "K", "v1"))
        .await
        .expect("put");
    let head = b"cred/h/s/K".to_vec();
    let mut raw = store.get(&head).await.expect("get").expect("head");
    let last = raw.len() - 1;
    raw[last] ^= 1;
    store
        .commit(vec![], vec![vault_core::store::Write::Put(head, raw)])
        .await
        .expect("corrupt");
    let e = v
        .credentials()
        .get(&ckey("K"), None)
        .await
        .expect_err("corrupt");
    assert_eq!(e.code(), "integrity");
    let deleted = v
        .credentials()
        .delete(&ckey("K"), None)
        .await
        .expect("delete");
    assert_eq!((deleted.service, deleted.key), (svc("s"), ckey("K")));
    assert_eq!(
        v.credentials()
            .get(&ckey("K"), None)
            .await
            .expect_err("gone")
            .code(),
        "not_found"
    );
    assert!(
        dump(&store)
            .await
            .iter()
            .all(|(k, _)| !String::from_utf8_lossy(k).contains("/K"))
    );
}

/// On sled, with a forced interleaving (every writer reads before any commits, see
/// `support::interleaved`): 16 plain puts of one key each get their own version, and of 16
/// compare-and-set creates exactly one wins. A put whose commit did not depend on what it read
/// fails both halves every time.
#[cfg(feature = "sled")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sled_forced_interleaving_loses_no_put_and_has_one_cas_winner() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let sled: vault_core::store::SharedStore =
        Arc::new(vault_core::store::SledStore::open(dir.path()).expect("sled"));
    vault_core::Vault::builder()
        .store(sled.clone())
        .key(super::support::key(1))
        .open()
        .await
        .expect("initialise");
    for phase in ["plain", "cas"] {
        let racing = interleaved(&sled, 16).await;
        let mut tasks = Vec::new();
        for (i, v) in racing.into_iter().enumerate() {
            tasks.push(tokio::spawn(async move {
                if phase == "plain" {
                    let w = v.credentials().put(cput("s", "HOT", format!("w{i}"))).await;
                    w.map(|w| w.version)
                } else {
                    let mut cas = cput("s", "CAS", format!("c{i}"));
                    cas.expected_version = Some(0);
                    v.credentials().put(cas).await.map(|w| w.version)
                }
            }));
        }
        let mut versions = Vec::new();
        let mut conflicts = 0;
        for t in tasks {
            match t.await.expect("join") {
                Ok(version) => versions.push(version),
                Err(e) => {
                    assert_eq!(e.code(), "conflict");
                    conflicts += 1;
                }
            }
        }
        versions.sort_unstable();
        if phase == "plain" {
            assert_eq!(versions, (1..=16).collect::<Vec<u64>>());
        } else {
            assert_eq!((versions, conflicts), (vec![1], 15));
        }
    }
}
