//! Bounds on what the vault keeps and answers: config versions are capped (per service) and
//! pruned in the put's own commit, listings are paged, a listing never decrypts credential
//! values and reports an unreadable record instead of failing, stored JSON documents are
//! nested at most 32 levels deep, and a passphrase root key has at least 12 characters.

use serde_json::{Value, json};
use vault_core::configs::{DEFAULT_MAX_VERSIONS, MAX_MAX_VERSIONS};
use vault_core::crypto::{MIN_PASSPHRASE_CHARS, RootKeySource, SecretString};
use vault_core::prelude::*;
use vault_core::store::{SharedStore, Write};
use vault_core::{ConfigPut, ConfigSettings, JsonObject, MAX_JSON_DEPTH, PageRequest, Vault};

use super::support::{cput, dump, memory_vault, sid, svc};

fn obj(v: Value) -> JsonObject {
    v.as_object().cloned().expect("object")
}

/// `{"a": [[...[1]...]]}`: an object nested `levels` levels deep.
fn nested(levels: usize) -> JsonObject {
    let mut v = json!(1);
    for _ in 1..levels {
        v = json!([v]);
    }
    obj(json!({ "a": v }))
}

/// How many stored versions of config `id` of service `s` exist.
async fn stored_versions(store: &SharedStore, s: &str, id: &str) -> usize {
    let prefix = format!("cfg/v/{s}/{id}/");
    dump(store)
        .await
        .iter()
        .filter(|(k, _)| k.starts_with(prefix.as_bytes()))
        .count()
}

/// Flips the last byte of the record at `key`: it no longer opens.
async fn corrupt(store: &SharedStore, key: &str) {
    let mut raw = store
        .get(key.as_bytes())
        .await
        .expect("get")
        .expect("record to corrupt");
    let last = raw.len() - 1;
    raw[last] ^= 1;
    store
        .commit(vec![], vec![Write::Put(key.as_bytes().to_vec(), raw)])
        .await
        .expect("corrupt");
}

fn params_put(id: &str, n: usize) -> ConfigPut {
    ConfigPut {
        params: Some(obj(json!({ "n": n }))),
        ..ConfigPut::new(sid(id))
    }
}

#[tokio::test]
async fn config_versions_beyond_the_default_cap_are_pruned_by_the_put() {
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    assert_eq!(
        v.configs().settings(&s).await.expect("settings"),
        ConfigSettings {
            max_versions: DEFAULT_MAX_VERSIONS
        }
    );
    let total = usize::try_from(DEFAULT_MAX_VERSIONS).expect("usize") + 5;
    for n in 1..=total {
        v.configs().put(&s, params_put("x", n)).await.expect("put");
    }
    assert_eq!(
        stored_versions(&store, "s", "x").await,
        usize::try_from(DEFAULT_MAX_VERSIONS).expect("usize")
    );
    let h = v
        .configs()
        .history(&s, &sid("x"), Some(1), None)
        .await
        .expect("history");
    assert_eq!(h.oldest_version, 6);
    let e = v
        .configs()
        .get(&s, &sid("x"), Some(5))
        .await
        .expect_err("pruned");
    assert_eq!(e.code(), "not_found");
    assert!(
        e.to_string().contains("versions before 6 were pruned"),
        "{e}"
    );
    assert_eq!(
        v.configs()
            .get(&s, &sid("x"), Some(6))
            .await
            .expect("oldest kept")
            .params["n"],
        6
    );
}

#[tokio::test]
async fn a_service_cap_bounds_what_sixty_big_puts_leave_behind() {
    let (v, _, store) = memory_vault().await;
    let s = svc("big");
    v.configs()
        .set_settings(&s, ConfigSettings { max_versions: 5 })
        .await
        .expect("set");
    assert_eq!(v.configs().settings(&s).await.expect("get").max_versions, 5);
    // 60 puts of ~500 KiB: today's report grew the data directory by 110 MB.
    let blob = "p".repeat(500 * 1024);
    for n in 1..=60 {
        let put = ConfigPut {
            params: Some(obj(json!({ "blob": blob, "n": n }))),
            ..ConfigPut::new(sid("x"))
        };
        v.configs().put(&s, put).await.expect("put");
    }
    assert_eq!(stored_versions(&store, "big", "x").await, 5);
    let bytes: usize = dump(&store)
        .await
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    assert!(bytes < 7 * 512 * 1024, "store holds {bytes} bytes");

    let all = v
        .configs()
        .history(&s, &sid("x"), None, None)
        .await
        .expect("history");
    assert_eq!(
        all.versions.iter().map(|c| c.version).collect::<Vec<_>>(),
        vec![60, 59, 58, 57, 56]
    );
    assert_eq!((all.next, all.oldest_version), (None, 56));
    // Paging stops at the oldest kept version.
    let p = v
        .configs()
        .history(&s, &sid("x"), Some(3), None)
        .await
        .expect("page");
    assert_eq!(p.next, Some(58));
    let p = v
        .configs()
        .history(&s, &sid("x"), Some(3), p.next)
        .await
        .expect("page 2");
    assert_eq!(
        (
            p.versions.iter().map(|c| c.version).collect::<Vec<_>>(),
            p.next
        ),
        (vec![57, 56], None)
    );

    // Raising the cap keeps what is there; lowering it prunes on the next put.
    v.configs()
        .set_settings(&s, ConfigSettings { max_versions: 2 })
        .await
        .expect("lower");
    assert_eq!(stored_versions(&store, "big", "x").await, 5);
    v.configs().put(&s, params_put("x", 61)).await.expect("put");
    assert_eq!(stored_versions(&store, "big", "x").await, 2);
    let h = v
        .configs()
        .history(&s, &sid("x"), None, None)
        .await
        .expect("history");
    assert_eq!(h.oldest_version, 60);
    assert_eq!(h.versions.len(), 2);
    // Another service keeps the default.
    assert_eq!(
        v.configs()
            .settings(&svc("other"))
            .await
            .expect("default")
            .max_versions,
        DEFAULT_MAX_VERSIONS
    );
}

#[tokio::test]
async fn max_versions_must_be_1_to_the_maximum() {
    let (v, _, _) = memory_vault().await;
    for bad in [0, MAX_MAX_VERSIONS + 1] {
        let e = v
            .configs()
            .set_settings(&svc("s"), ConfigSettings { max_versions: bad })
            .await
            .expect_err("out of range");
        assert_eq!(e.field(), Some("max_versions"));
        assert_eq!(
            e.to_string(),
            format!("invalid max_versions: must be 1 to {MAX_MAX_VERSIONS}")
        );
    }
    v.configs()
        .set_settings(&svc("s"), ConfigSettings { max_versions: 1 })
        .await
        .expect("one");
    v.configs()
        .put(&svc("s"), params_put("x", 1))
        .await
        .expect("put");
    v.configs()
        .put(&svc("s"), params_put("x", 2))
        .await
        .expect("put");
    let h = v
        .configs()
        .history(&svc("s"), &sid("x"), None, None)
        .await
        .expect("history");
    assert_eq!(
        (h.versions.len(), h.versions[0].version, h.oldest_version),
        (1, 2, 2)
    );
}

#[tokio::test]
async fn listings_are_paged_by_limit_and_after() {
    let (v, _, _) = memory_vault().await;
    let s = svc("s");
    for i in 0..250 {
        v.credentials()
            .put(cput("s", &format!("K{i:03}"), "v"))
            .await
            .expect("put");
    }
    for i in 0..3 {
        v.configs()
            .put(&s, params_put(&format!("c{i}"), i))
            .await
            .expect("put");
    }
    let first = v
        .credentials()
        .list(&s, PageRequest::first())
        .await
        .expect("list");
    assert_eq!(first.len(), 100);
    assert_eq!(first.next.as_deref(), Some("K099"));
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = v
            .credentials()
            .list(&s, PageRequest::new(Some(70), after.clone()))
            .await
            .expect("page");
        seen.extend(page.iter().map(|c| c.key.to_string()));
        match page.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(
        seen,
        (0..250).map(|i| format!("K{i:03}")).collect::<Vec<_>>()
    );
    let all = v
        .credentials()
        .list(&s, PageRequest::new(Some(1000), None))
        .await
        .expect("max page");
    assert_eq!((all.len(), all.next.as_deref()), (250, None));

    let c = v
        .configs()
        .list(&s, PageRequest::new(Some(2), None))
        .await
        .expect("configs");
    assert_eq!(
        (
            c.iter().map(|c| c.strategy_id.as_str()).collect::<Vec<_>>(),
            c.next.as_deref()
        ),
        (vec!["c0", "c1"], Some("c1"))
    );
    let c = v
        .configs()
        .list(&s, PageRequest::new(Some(2), c.next.clone()))
        .await
        .expect("configs 2");
    assert_eq!(
        (
            c.iter().map(|c| c.strategy_id.as_str()).collect::<Vec<_>>(),
            c.next.as_deref()
        ),
        (vec!["c2"], None)
    );

    for bad in [0, 1001] {
        let e = v
            .credentials()
            .list(&s, PageRequest::new(Some(bad), None))
            .await
            .expect_err("limit");
        assert_eq!(e.to_string(), "invalid limit: must be 1 to 1000");
        let e = v
            .configs()
            .list(&s, PageRequest::new(Some(bad), None))
            .await
            .expect_err("limit");
        assert_eq!(e.field(), Some("limit"));
    }
    let e = v
        .credentials()
        .list(&s, PageRequest::new(None, Some("../x".into())))
        .await
        .expect_err("after");
    assert_eq!(e.field(), Some("after"));
}

/// A page that ends on the last record says no more follow: `next` is only for a page that
/// had more records than its limit.
#[tokio::test]
async fn a_page_that_ends_exactly_on_the_last_record_has_no_next() {
    let (v, _, _) = memory_vault().await;
    let s = svc("s");
    for i in 0..3 {
        v.configs()
            .put(&s, params_put(&format!("c{i}"), i))
            .await
            .expect("put");
        v.credentials()
            .put(cput("s", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    let c = v
        .configs()
        .list(&s, PageRequest::new(Some(3), None))
        .await
        .expect("configs");
    assert_eq!((c.len(), c.next.as_deref()), (3, None));
    let c = v
        .configs()
        .list(&s, PageRequest::new(Some(2), Some("c0".into())))
        .await
        .expect("configs after c0");
    assert_eq!((c.len(), c.next.as_deref()), (2, None));
    let k = v
        .credentials()
        .list(&s, PageRequest::new(Some(3), None))
        .await
        .expect("credentials");
    assert_eq!((k.len(), k.next.as_deref()), (3, None));
    // One fewer than there are: the page says where to continue.
    let k = v
        .credentials()
        .list(&s, PageRequest::new(Some(2), None))
        .await
        .expect("credentials");
    assert_eq!((k.len(), k.next.as_deref()), (2, Some("K1")));
}

/// A passphrase root key has at least `MIN_PASSPHRASE_CHARS` (12) characters, counted as
/// characters, not bytes.
#[test]
fn a_passphrase_of_exactly_the_minimum_length_is_accepted() {
    assert_eq!(MIN_PASSPHRASE_CHARS, 12);
    let exactly = "é".repeat(MIN_PASSPHRASE_CHARS);
    assert!(matches!(
        RootKeySource::passphrase(SecretString::from(exactly)),
        Ok(RootKeySource::Passphrase(_))
    ));
    // 11 characters are refused, though their 22 bytes are more than 12.
    let short = "é".repeat(MIN_PASSPHRASE_CHARS - 1);
    let e = RootKeySource::passphrase(SecretString::from(short)).expect_err("11 characters");
    assert_eq!(e.field(), Some("passphrase"));
}

#[tokio::test]
async fn listing_credentials_never_opens_a_value_and_reports_unreadable_ones() {
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    for k in ["A", "B", "C"] {
        let mut put = cput("s", k, format!("value-{k}"));
        put.metadata = Some(obj(json!({ "k": k })));
        v.credentials().put(put).await.expect("put");
    }
    // A's head (the record holding its value) no longer opens: listing does not read it.
    corrupt(&store, "cred/h/s/A").await;
    // B's info record no longer opens: B is reported, the others listed.
    corrupt(&store, "cred/i/s/B").await;
    let page = v
        .credentials()
        .list(&s, PageRequest::first())
        .await
        .expect("a listing survives a corrupt record");
    assert_eq!(
        page.iter()
            .map(|c| (c.key.as_str(), c.metadata["k"].clone()))
            .collect::<Vec<_>>(),
        vec![("A", json!("A")), ("C", json!("C"))]
    );
    assert_eq!(page.unreadable.len(), 1);
    assert_eq!(page.unreadable[0].name, "B");
    assert_eq!(page.unreadable[0].error.code(), "integrity");
    assert_eq!(
        v.credentials()
            .get(&"A".parse().expect("key"), Some(&s))
            .await
            .expect_err("A's value is corrupt")
            .code(),
        "integrity"
    );

    // A credential written before info records existed (no `cred/i/...`, in a vault made
    // before the freshness ledger) is listed from its head.
    store
        .commit(vec![], vec![Write::Delete(b"cred/i/s/C".to_vec())])
        .await
        .expect("drop info");
    vault_core::crypto::downgrade_to_pre_ledger_for_tests(&store, &super::support::key(1))
        .await
        .expect("downgrade");
    let v = Vault::builder()
        .store(store.clone())
        .key(super::support::key(1))
        .kdf(vault_core::crypto::KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("reopen");
    let page = v
        .credentials()
        .list(&s, PageRequest::first())
        .await
        .expect("list");
    let c = page.iter().find(|c| c.key == "C").expect("C listed");
    assert_eq!((c.version, c.metadata["k"].clone()), (1, json!("C")));

    // Delete removes the info record too.
    v.credentials()
        .delete(&"A".parse().expect("key"), Some(&s))
        .await
        .expect("delete");
    assert!(
        dump(&store)
            .await
            .iter()
            .all(|(k, _)| !k.starts_with(b"cred/i/s/A"))
    );
}

#[tokio::test]
async fn a_corrupt_config_is_reported_not_fatal_to_the_listing() {
    let (v, _, store) = memory_vault().await;
    let s = svc("s");
    for id in ["a", "b", "c"] {
        v.configs().put(&s, params_put(id, 1)).await.expect("put");
    }
    corrupt(&store, "cfg/h/s/b").await;
    let page = v
        .configs()
        .list(&s, PageRequest::first())
        .await
        .expect("a listing survives a corrupt record");
    assert_eq!(
        page.iter()
            .map(|c| c.strategy_id.as_str())
            .collect::<Vec<_>>(),
        vec!["a", "c"]
    );
    assert_eq!(
        page.unreadable
            .iter()
            .map(|u| (u.name.as_str(), u.error.code()))
            .collect::<Vec<_>>(),
        vec![("b", "integrity")]
    );
}

#[tokio::test]
async fn stored_documents_are_nested_at_most_32_levels() {
    let (v, _, _) = memory_vault().await;
    let s = svc("s");
    let deep = nested(MAX_JSON_DEPTH + 1);
    for field in ["params", "risk_limits"] {
        let mut put = ConfigPut::new(sid("x"));
        match field {
            "params" => put.params = Some(deep.clone()),
            _ => put.risk_limits = Some(deep.clone()),
        }
        let e = v.configs().put(&s, put).await.expect_err("too deep");
        assert_eq!(e.field(), Some(field));
        assert_eq!(
            e.to_string(),
            format!("invalid {field}: must be nested at most 32 levels deep")
        );
    }
    let mut put = cput("s", "K", "v");
    put.metadata = Some(deep);
    let e = v.credentials().put(put).await.expect_err("too deep");
    assert_eq!(e.field(), Some("metadata"));

    let ok = ConfigPut {
        params: Some(nested(MAX_JSON_DEPTH)),
        risk_limits: Some(nested(MAX_JSON_DEPTH)),
        ..ConfigPut::new(sid("x"))
    };
    v.configs().put(&s, ok).await.expect("32 levels are fine");
    let mut put = cput("s", "K", "v");
    put.metadata = Some(nested(MAX_JSON_DEPTH));
    v.credentials().put(put).await.expect("32 levels are fine");
    // Nothing rejected above was written.
    assert_eq!(
        v.configs()
            .get(&s, &sid("x"), None)
            .await
            .expect("x")
            .version,
        1
    );
}
