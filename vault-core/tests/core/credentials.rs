//! Credentials through the public `Vault` API, on a memory store with a manual clock.

use std::time::Duration;

use serde_json::json;
use vault_core::credentials::KEPT_VERSIONS;
use vault_core::{Action, CredentialPut, VaultApi};

use super::support::{T0, contains, dump, memory_vault};

fn meta(v: serde_json::Value) -> Option<vault_core::JsonObject> {
    v.as_object().cloned()
}

#[tokio::test]
async fn put_then_get_round_trips_value_metadata_and_times() {
    let (v, clock, _) = memory_vault().await;
    let mut put = CredentialPut::new("fxshinobi", "OANDA_API_KEY", "abc123");
    put.metadata = meta(json!({"account_type": "practice"}));
    let w = v.credentials().put(put).await.expect("put");
    assert_eq!((w.action, w.version), (Action::Created, 1));

    clock.advance(Duration::from_secs(60));
    let w2 = v
        .credentials()
        .put(CredentialPut::new("fxshinobi", "OANDA_API_KEY", "def456"))
        .await
        .expect("update");
    assert_eq!((w2.action, w2.version), (Action::Updated, 2));

    let c = v
        .credentials()
        .get("OANDA_API_KEY", Some("fxshinobi"))
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
        .get_version("OANDA_API_KEY", "fxshinobi", 1)
        .await
        .expect("v1");
    assert_eq!(v1.value.expose_secret(), "abc123");
}

#[tokio::test]
async fn get_without_service_resolves_unique_key_and_refuses_ambiguous_one() {
    let (v, _, _) = memory_vault().await;
    v.credentials()
        .put(CredentialPut::new("svc-a", "SHARED", "1"))
        .await
        .expect("a");
    v.credentials()
        .put(CredentialPut::new("svc-a", "ONLY_A", "2"))
        .await
        .expect("a2");
    v.credentials()
        .put(CredentialPut::new("svc-b", "SHARED", "3"))
        .await
        .expect("b");

    let c = v.credentials().get("ONLY_A", None).await.expect("unique");
    assert_eq!(
        (c.service.as_str(), c.value.expose_secret()),
        ("svc-a", "2")
    );

    let e = v
        .credentials()
        .get("SHARED", None)
        .await
        .expect_err("ambiguous");
    assert_eq!(e.code(), "conflict");
    let msg = e.to_string();
    assert!(msg.contains("svc-a") && msg.contains("svc-b"), "{msg}");

    let e = v
        .credentials()
        .get("MISSING", None)
        .await
        .expect_err("missing");
    assert_eq!(e.code(), "not_found");
    assert_eq!(e.to_string(), "Credential 'MISSING' not found");
    let e = v
        .credentials()
        .get("SHARED", Some("svc-c"))
        .await
        .expect_err("other service");
    assert_eq!(e.code(), "not_found");
}

#[tokio::test]
async fn only_the_last_ten_versions_are_kept() {
    let (v, _, store) = memory_vault().await;
    for i in 1..=13 {
        v.credentials()
            .put(CredentialPut::new("s", "K", format!("value-{i}")))
            .await
            .expect("put");
    }
    let versions = store.scan(b"cred/v/s/K/", None, 100).await.expect("scan");
    assert_eq!(versions.len() as u64, KEPT_VERSIONS);
    for gone in 1..=3 {
        let e = v
            .credentials()
            .get_version("K", "s", gone)
            .await
            .expect_err("pruned");
        assert_eq!(e.code(), "not_found");
    }
    for kept in 4..=13u64 {
        let c = v
            .credentials()
            .get_version("K", "s", kept)
            .await
            .expect("kept");
        assert_eq!(c.value.expose_secret(), format!("value-{kept}"));
    }
}

#[tokio::test]
async fn expected_version_is_compare_and_set() {
    let (v, _, _) = memory_vault().await;
    let mut put = CredentialPut::new("s", "K", "one");
    put.expected_version = Some(0);
    v.credentials()
        .put(put.clone())
        .await
        .expect("create with expected 0");
    let e = v.credentials().put(put).await.expect_err("exists now");
    assert_eq!(e.code(), "conflict");
    let mut put = CredentialPut::new("s", "K", "two");
    put.expected_version = Some(1);
    assert_eq!(v.credentials().put(put).await.expect("cas").version, 2);
    let c = v.credentials().get("K", Some("s")).await.expect("get");
    assert_eq!(c.value.expose_secret(), "two");
}

#[tokio::test]
async fn list_shows_names_never_values_and_delete_removes_everything() {
    let (v, _, store) = memory_vault().await;
    for (k, val) in [("B_KEY", "planted-list-b"), ("A_KEY", "planted-list-a")] {
        v.credentials()
            .put(CredentialPut::new("svc", k, val))
            .await
            .expect("put");
    }
    v.credentials()
        .put(CredentialPut::new("other", "C_KEY", "c"))
        .await
        .expect("put");
    let list = v.list_credentials("svc").await.expect("list");
    assert_eq!(
        list.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ["A_KEY", "B_KEY"]
    );
    let shown = format!("{list:?}") + &serde_json::to_string(&list).expect("json");
    assert!(!shown.contains("planted-list"), "{shown}");

    v.credentials().delete("A_KEY", None).await.expect("delete");
    assert_eq!(
        v.credentials()
            .get("A_KEY", None)
            .await
            .expect_err("gone")
            .code(),
        "not_found"
    );
    assert_eq!(
        v.credentials()
            .delete("A_KEY", None)
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
    let mut put = CredentialPut::new("svc", "K", "planted-secret-0xfeed");
    put.metadata = meta(json!({"note": "meta-visible"}));
    v.credentials().put(put).await.expect("put");
    let c = v.credentials().get("K", None).await.expect("get");
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
    let cases = [
        (CredentialPut::new("../etc", "K", "v"), "service"),
        (CredentialPut::new("s", "a/b", "v"), "key"),
        (CredentialPut::new("s", "", "v"), "key"),
        (CredentialPut::new("s", "K", ""), "value"),
        (
            CredentialPut::new("s", "K", "x".repeat(64 * 1024 + 1)),
            "value",
        ),
    ];
    for (put, field) in cases {
        let e = v.credentials().put(put).await.expect_err(field);
        assert_eq!(e.code(), "invalid");
        assert!(
            e.to_string().starts_with(&format!("invalid {field}:")),
            "{e}"
        );
    }
    let mut big = CredentialPut::new("s", "K", "v");
    big.metadata = meta(json!({"blob": "m".repeat(20_000)}));
    assert_eq!(
        v.credentials().put(big).await.expect_err("meta").code(),
        "invalid"
    );
    assert_eq!(
        v.credentials()
            .get("..", None)
            .await
            .expect_err("get")
            .code(),
        "invalid"
    );
    assert_eq!(dump(&store).await, before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_each_get_their_own_version() {
    let (v, _, _) = memory_vault().await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            v.credentials()
                .put(CredentialPut::new("s", "HOT", format!("w{i}")))
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
        .put(CredentialPut::new("s", "K", "v1"))
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
    let e = v.credentials().get("K", None).await.expect_err("corrupt");
    assert_eq!(e.code(), "integrity");
    v.credentials().delete("K", None).await.expect("delete");
    assert_eq!(
        v.credentials()
            .get("K", None)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn on_sled_concurrent_puts_and_compare_and_set_lose_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (v, dev) = vault_core::Vault::open_dir(dir.path(), Some(super::support::key(3)))
        .await
        .expect("open");
    assert!(dev.is_none());
    let mut tasks = Vec::new();
    for i in 0..16 {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            let plain = v
                .credentials()
                .put(CredentialPut::new("s", "HOT", format!("w{i}")))
                .await
                .expect("put")
                .version;
            let mut cas = CredentialPut::new("s", "CAS", format!("c{i}"));
            cas.expected_version = Some(0);
            (plain, v.credentials().put(cas).await.is_ok())
        }));
    }
    let mut versions = Vec::new();
    let mut cas_wins = 0;
    for t in tasks {
        let (version, won) = t.await.expect("join");
        versions.push(version);
        cas_wins += usize::from(won);
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=16).collect::<Vec<u64>>());
    assert_eq!(cas_wins, 1);
}
