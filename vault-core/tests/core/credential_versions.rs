//! Credential versions through the public API, on a memory store (and sled): listing (metadata
//! only, paged), soft delete and undelete, destroy (the ciphertext gone from the store),
//! `max_versions`, bad input, and a destroy racing a put.

use std::time::Duration;

use vault_core::prelude::*;
use vault_core::{
    Charset, CredentialSettings, GeneratePolicy, PageRequest, RotateEvery, Vault, VersionOp,
    VersionState,
};

use super::support::{ckey, contains, cput, dump, memory_vault, svc};

/// The store key of version `v` of `s`/`k`.
fn vkey(s: &str, k: &str, v: u64) -> Vec<u8> {
    let mut key = format!("cred/v/{s}/{k}/").into_bytes();
    key.extend_from_slice(&v.to_be_bytes());
    key
}

async fn put_versions(v: &Vault, n: u64) {
    for i in 1..=n {
        v.credentials()
            .put(cput("s", "K", format!("planted-value-{i}")))
            .await
            .expect("put");
    }
}

#[tokio::test]
async fn cred_versions_list_metadata_newest_first_in_pages() {
    let (v, clock, _) = memory_vault().await;
    for i in 1..=3 {
        v.credentials()
            .put(cput("s", "K", format!("planted-value-{i}")))
            .await
            .expect("put");
        clock.advance(Duration::from_secs(60));
    }
    let (k, s) = (ckey("K"), svc("s"));
    let page = v
        .credentials()
        .versions(&k, &s, Some(2), None)
        .await
        .expect("versions");
    assert_eq!(
        (page.current_version, page.oldest_version, page.max_versions),
        (3, 1, 10)
    );
    let listed: Vec<u64> = page.versions.iter().map(|i| i.version).collect();
    assert_eq!((listed, page.next), (vec![3, 2], Some(2)));
    let t2 = page.versions[1].created_at.expect("time").as_millis();
    assert_eq!(
        page.versions[0].created_at.expect("time").as_millis(),
        t2 + 60_000
    );
    assert!(
        page.versions
            .iter()
            .all(|i| i.state == VersionState::Active)
    );
    let rest = v
        .credentials()
        .versions(&k, &s, Some(2), page.next)
        .await
        .expect("page 2");
    let listed: Vec<u64> = rest.versions.iter().map(|i| i.version).collect();
    assert_eq!((listed, rest.next), (vec![1], None));
    assert!(!format!("{page:?}{rest:?}").contains("planted-value"));
    let e = v
        .credentials()
        .versions(&ckey("NOPE"), &s, None, None)
        .await
        .expect_err("missing");
    assert_eq!(e.code(), "not_found");
}

#[tokio::test]
async fn cred_soft_delete_hides_a_version_until_undeleted() {
    let (v, _, _) = memory_vault().await;
    put_versions(&v, 3).await;
    let (k, s) = (ckey("K"), svc("s"));
    let c = v.credentials();
    let info = c
        .change_version(&k, &s, 1, VersionOp::Delete)
        .await
        .expect("delete v1");
    assert_eq!((info.version, info.state), (1, VersionState::Deleted));
    assert!(info.deleted_at.is_some());
    // Idempotent.
    c.change_version(&k, &s, 1, VersionOp::Delete)
        .await
        .expect("again");
    let e = c.get_version(&k, Some(&s), 1).await.expect_err("hidden");
    assert_eq!(e.code(), "not_found");
    assert_eq!(
        e.to_string(),
        "Credential 'K' version 1 is deleted (undelete it, or put a new value)"
    );
    assert_eq!(
        c.get(&k, Some(&s))
            .await
            .expect("current")
            .value
            .expose_secret(),
        "planted-value-3"
    );
    let info = c
        .change_version(&k, &s, 1, VersionOp::Undelete)
        .await
        .expect("undelete");
    assert_eq!(info.state, VersionState::Active);
    assert_eq!(
        c.get_version(&k, Some(&s), 1)
            .await
            .expect("back")
            .value
            .expose_secret(),
        "planted-value-1"
    );

    // The current version soft-deleted: a plain get is not_found too (no older version is
    // served in its place); a new put serves again.
    c.change_version(&k, &s, 3, VersionOp::Delete)
        .await
        .expect("delete current");
    let e = c.get(&k, None).await.expect_err("current deleted");
    assert_eq!(e.code(), "not_found");
    assert!(e.to_string().contains("version 3 is deleted"), "{e}");
    let listed = c.list(&s, PageRequest::first()).await.expect("list");
    assert_eq!(listed[0].state, VersionState::Deleted);
    c.put(cput("s", "K", "planted-value-4")).await.expect("put");
    assert_eq!(c.get(&k, None).await.expect("v4").version, 4);
    let states: Vec<(u64, VersionState)> = c
        .versions(&k, &s, None, None)
        .await
        .expect("versions")
        .versions
        .iter()
        .map(|i| (i.version, i.state))
        .collect();
    assert_eq!(
        states,
        [
            (4, VersionState::Active),
            (3, VersionState::Deleted),
            (2, VersionState::Active),
            (1, VersionState::Active)
        ]
    );
}

#[tokio::test]
async fn cred_destroy_erases_the_ciphertext_from_the_store() {
    let (v, _, store) = memory_vault().await;
    put_versions(&v, 2).await;
    let (k, s) = (ckey("K"), svc("s"));
    let sealed_v1 = store
        .get(&vkey("s", "K", 1))
        .await
        .expect("get")
        .expect("v1");
    let sealed_v2 = store
        .get(&vkey("s", "K", 2))
        .await
        .expect("get")
        .expect("v2");
    let sealed_head = store.get(b"cred/h/s/K").await.expect("get").expect("head");
    let in_store = |dump: &[(Vec<u8>, Vec<u8>)], needle: &[u8]| {
        dump.iter().any(|(_, val)| contains(val, needle))
    };
    assert!(
        in_store(&dump(&store).await, &sealed_v1),
        "the check can see it"
    );

    let info = v
        .credentials()
        .change_version(&k, &s, 1, VersionOp::Destroy)
        .await
        .expect("destroy v1");
    assert_eq!(info.state, VersionState::Destroyed);
    let after = dump(&store).await;
    assert!(
        !in_store(&after, &sealed_v1),
        "v1's ciphertext is still in the store"
    );
    assert!(after.iter().all(|(key, _)| *key != vkey("s", "K", 1)));
    let e = v
        .credentials()
        .get_version(&k, Some(&s), 1)
        .await
        .expect_err("gone");
    assert_eq!(
        e.to_string(),
        "Credential 'K' version 1 was destroyed (put a new value)"
    );
    let e = v
        .credentials()
        .change_version(&k, &s, 1, VersionOp::Undelete)
        .await
        .expect_err("cannot undelete");
    assert_eq!(e.code(), "not_found");
    // Its old record written back behind the vault's back is still not served: the head
    // (checked against the freshness ledger) says it was destroyed.
    store
        .commit(
            vec![],
            vec![vault_core::store::Write::Put(
                vkey("s", "K", 1),
                sealed_v1.clone(),
            )],
        )
        .await
        .expect("write back");
    let e = v
        .credentials()
        .get_version(&k, Some(&s), 1)
        .await
        .expect_err("not served");
    assert_eq!(e.code(), "not_found");
    store
        .commit(
            vec![],
            vec![vault_core::store::Write::Delete(vkey("s", "K", 1))],
        )
        .await
        .expect("clean up");

    // The current version: its record and the head's copy of the value both go (a 16 KiB
    // value: the head sealed afterwards is far smaller, so the copy is not in it).
    v.credentials()
        .put(cput("s", "K", "planted-value-big-".repeat(1000)))
        .await
        .expect("big v3");
    v.credentials()
        .change_version(&k, &s, 3, VersionOp::Destroy)
        .await
        .expect("destroy v3");
    let head_len = store
        .get(b"cred/h/s/K")
        .await
        .expect("get")
        .expect("head")
        .len();
    assert!(
        head_len < 2048,
        "the head still holds the value: {head_len} bytes"
    );
    v.credentials()
        .change_version(&k, &s, 2, VersionOp::Destroy)
        .await
        .expect("destroy v2");
    let after = dump(&store).await;
    assert!(!in_store(&after, &sealed_v2));
    assert!(!in_store(&after, &sealed_head));
    assert_eq!(
        v.credentials()
            .get(&k, None)
            .await
            .expect_err("destroyed")
            .code(),
        "not_found"
    );
    for (key, val) in &after {
        assert!(!contains(key, b"planted-value") && !contains(val, b"planted-value"));
    }
}

/// On sled: after a destroy and a flush, the version's record is gone from the store and the
/// planted value is in no file of the data directory (it never is in the clear: records are
/// sealed). sled is log-structured: the deleted record's ciphertext bytes stay in its log until
/// sled reclaims the segment (see docs/security.md); what the store serves is erased.
#[cfg(feature = "sled")]
#[tokio::test]
async fn cred_on_sled_destroy_leaves_no_value_in_the_data_directory() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let sled: vault_core::store::SharedStore =
        Arc::new(vault_core::store::SledStore::open(dir.path()).expect("sled"));
    let v = Vault::builder()
        .store(sled.clone())
        .key(super::support::key(1))
        .kdf(vault_core::crypto::KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open");
    let planted = b"planted-sled-destroy-0xfeed";
    v.credentials()
        .put(cput(
            "s",
            "K",
            String::from_utf8_lossy(planted).into_owned(),
        ))
        .await
        .expect("put");
    v.credentials()
        .put(cput("s", "K", "v2"))
        .await
        .expect("put");
    assert!(sled.get(&vkey("s", "K", 1)).await.expect("get").is_some());
    v.credentials()
        .change_version(&ckey("K"), &svc("s"), 1, VersionOp::Destroy)
        .await
        .expect("destroy");
    v.flush().await.expect("flush");
    assert_eq!(sled.get(&vkey("s", "K", 1)).await.expect("get"), None);
    let mut files = vec![dir.path().to_path_buf()];
    let mut read = 0;
    while let Some(p) = files.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).expect("read_dir") {
                files.push(e.expect("entry").path());
            }
        } else if let Ok(bytes) = std::fs::read(&p) {
            read += 1;
            assert!(!contains(&bytes, planted), "{p:?}");
        }
    }
    assert!(read > 0);
}

/// Copies directory `from` to `to` (files and subdirectories).
#[cfg(feature = "sled")]
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// In a data directory, `erase` (a destroy, a delete) makes a version's value unrecoverable
/// even by someone holding the root key and **every byte the store ever held**: the sled
/// database copied before the erase (a superset of what its log keeps after it) is put back
/// under the current value key file, and the value does not open. The other version does.
#[cfg(feature = "sled")]
async fn erased_in_a_data_directory_for_good<F, Fut>(erase: F)
where
    F: FnOnce(Vault) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let open = || async {
        Vault::open_dir(&data, Some(super::support::key(7)))
            .await
            .expect("open")
            .0
    };
    let v = open().await;
    let planted = "planted-shredded-0xdead";
    v.credentials()
        .put(cput("s", "K", planted))
        .await
        .expect("put");
    v.credentials()
        .put(cput("s", "K", "kept-value"))
        .await
        .expect("put");
    v.close().await.expect("close");
    drop(v);
    let before = dir.path().join("store-before");
    copy_dir(&data.join("store"), &before);

    let v = open().await;
    erase(v.clone()).await;
    v.close().await.expect("close");
    drop(v);

    std::fs::remove_dir_all(data.join("store")).expect("rm store");
    copy_dir(&before, &data.join("store"));
    let v = open().await;
    let (k, s) = (ckey("K"), svc("s"));
    let e = v
        .credentials()
        .get_version(&k, Some(&s), 1)
        .await
        .expect_err("the erased value opened from the old store");
    assert_eq!(e.code(), "not_found", "{e}");
    assert!(e.to_string().contains("destroyed"), "{e}");
    assert!(!e.to_string().contains(planted));
    v.close().await.expect("close");
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn cred_destroy_in_a_data_directory_erases_the_value_for_good() {
    erased_in_a_data_directory_for_good(|v| async move {
        v.credentials()
            .change_version(&ckey("K"), &svc("s"), 1, VersionOp::Destroy)
            .await
            .expect("destroy");
        // Version 2 is untouched by it.
        let got = v.credentials().get(&ckey("K"), Some(&svc("s"))).await;
        assert_eq!(got.expect("v2").value.expose_secret(), "kept-value");
    })
    .await;
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn cred_delete_in_a_data_directory_erases_every_version_for_good() {
    erased_in_a_data_directory_for_good(|v| async move {
        v.credentials()
            .delete(&ckey("K"), Some(&svc("s")))
            .await
            .expect("delete");
    })
    .await;
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn cred_pruned_versions_in_a_data_directory_are_erased_for_good() {
    erased_in_a_data_directory_for_good(|v| async move {
        let mut put = cput("s", "K", "third");
        put.max_versions = Some(2);
        v.credentials().put(put).await.expect("put prunes v1");
    })
    .await;
}

/// In a store without a data directory the value keys are store records, written and erased
/// in the commits of their versions: a destroy, a prune and a delete each leave exactly the
/// keys of the versions still kept.
#[tokio::test]
async fn cred_value_keys_in_the_store_go_with_their_versions() {
    let (v, _, store) = memory_vault().await;
    let keys = || async { store.scan(b"sys/vk/", None, 100).await.expect("scan").len() };
    put_versions(&v, 3).await;
    assert_eq!(keys().await, 3);
    let (k, s) = (ckey("K"), svc("s"));
    v.credentials()
        .change_version(&k, &s, 2, VersionOp::Destroy)
        .await
        .expect("destroy");
    assert_eq!(keys().await, 2);
    v.credentials()
        .set_settings(
            &k,
            &s,
            CredentialSettings {
                max_versions: Some(1),
                ..CredentialSettings::default()
            },
        )
        .await
        .expect("prune to one");
    assert_eq!(keys().await, 1);
    v.credentials().delete(&k, Some(&s)).await.expect("delete");
    assert_eq!(keys().await, 0);
}

#[tokio::test]
async fn cred_max_versions_is_per_credential_bounded_and_prunes() {
    let (v, _, store) = memory_vault().await;
    let (k, s) = (ckey("K"), svc("s"));
    let mut put = cput("s", "K", "first");
    put.max_versions = Some(3);
    v.credentials().put(put).await.expect("put");
    put_versions(&v, 4).await;
    let kept = store.scan(b"cred/v/s/K/", None, 100).await.expect("scan");
    assert_eq!(kept.len(), 3);
    let page = v
        .credentials()
        .versions(&k, &s, None, None)
        .await
        .expect("versions");
    assert_eq!(
        (page.current_version, page.oldest_version, page.max_versions),
        (5, 3, 3)
    );
    assert_eq!(
        v.credentials()
            .get_version(&k, Some(&s), 2)
            .await
            .expect_err("pruned")
            .code(),
        "not_found"
    );
    // Lowering it prunes at once.
    let info = v
        .credentials()
        .set_settings(
            &k,
            &s,
            CredentialSettings {
                max_versions: Some(1),
                rotate_every: None,
            },
        )
        .await
        .expect("settings");
    assert_eq!((info.max_versions, info.oldest_version), (1, 5));
    // Raising it again brings nothing back, and lists nothing that is gone.
    let info = v
        .credentials()
        .set_settings(
            &k,
            &s,
            CredentialSettings {
                max_versions: Some(10),
                rotate_every: None,
            },
        )
        .await
        .expect("raise");
    assert_eq!((info.max_versions, info.oldest_version), (10, 5));
    let page = v
        .credentials()
        .versions(&k, &s, None, None)
        .await
        .expect("versions");
    assert_eq!(
        page.versions.iter().map(|m| m.version).collect::<Vec<_>>(),
        [5]
    );
    assert_eq!(
        store
            .scan(b"cred/v/s/K/", None, 100)
            .await
            .expect("scan")
            .len(),
        1
    );
    // Out of bounds: invalid naming the field, nothing changed.
    let before = dump(&store).await;
    for bad in [0, 101] {
        let e = v
            .credentials()
            .set_settings(
                &k,
                &s,
                CredentialSettings {
                    max_versions: Some(bad),
                    rotate_every: None,
                },
            )
            .await
            .expect_err("bad");
        assert_eq!(e.field(), Some("max_versions"));
        let mut put = cput("s", "K", "x");
        put.max_versions = Some(bad);
        assert_eq!(
            v.credentials().put(put).await.expect_err("bad").field(),
            Some("max_versions")
        );
    }
    assert_eq!(dump(&store).await, before);
}

#[tokio::test]
async fn cred_lifecycle_bad_input_is_invalid_naming_the_field_and_changes_nothing() {
    let (v, _, store) = memory_vault().await;
    put_versions(&v, 2).await;
    let (k, s) = (ckey("K"), svc("s"));
    let before = dump(&store).await;
    let c = v.credentials();
    let fields = [
        c.get_version(&k, Some(&s), 0).await.map(drop),
        c.change_version(&k, &s, 0, VersionOp::Destroy)
            .await
            .map(drop),
        c.versions(&k, &s, Some(0), None).await.map(drop),
        c.versions(&k, &s, Some(1001), None).await.map(drop),
        c.rotate(
            &k,
            &s,
            GeneratePolicy {
                length: 7,
                charset: Charset::Alphanumeric,
            },
        )
        .await
        .map(drop),
        c.rotate(
            &k,
            &s,
            GeneratePolicy {
                length: 4097,
                charset: Charset::Alphanumeric,
            },
        )
        .await
        .map(drop),
        c.due(&s, PageRequest::new(Some(0), None)).await.map(drop),
        VersionOp::parse("purge").map(drop),
        Charset::parse("emoji").map(drop),
        RotateEvery::parse("1y").map(drop),
        RotateEvery::parse(&"9".repeat(17)).map(drop),
    ]
    .map(|r| r.expect_err("invalid").field().map(str::to_string));
    let want = [
        "version",
        "version",
        "limit",
        "limit",
        "length",
        "length",
        "limit",
        "op",
        "charset",
        "rotate_every",
        "rotate_every",
    ];
    assert_eq!(
        fields.map(|f| f.unwrap_or_default()),
        want.map(str::to_string)
    );
    // A version that is not kept is not_found, and nothing changes either.
    assert_eq!(
        c.change_version(&k, &s, 3, VersionOp::Delete)
            .await
            .expect_err("3")
            .code(),
        "not_found"
    );
    assert_eq!(dump(&store).await, before);
}

/// Forced interleaving (both writers read the head before either commits): a destroy and a put
/// racing on one credential both land; neither loses the other's change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cred_a_destroy_racing_a_put_loses_neither() {
    let (v, _, store) = memory_vault().await;
    put_versions(&v, 2).await;
    let racing = super::support::interleaved(&store, 2).await;
    let mut racing = racing.into_iter();
    let (a, b) = (racing.next().expect("a"), racing.next().expect("b"));
    let destroy = tokio::spawn(async move {
        a.credentials()
            .change_version(&ckey("K"), &svc("s"), 1, VersionOp::Destroy)
            .await
            .map(|i| i.state)
    });
    let put = tokio::spawn(async move {
        b.credentials()
            .put(cput("s", "K", "planted-value-3"))
            .await
            .map(|w| w.version)
    });
    assert_eq!(
        destroy.await.expect("join").expect("destroy"),
        VersionState::Destroyed
    );
    assert_eq!(put.await.expect("join").expect("put"), 3);
    let states: Vec<(u64, VersionState)> = v
        .credentials()
        .versions(&ckey("K"), &svc("s"), None, None)
        .await
        .expect("versions")
        .versions
        .iter()
        .map(|i| (i.version, i.state))
        .collect();
    assert_eq!(
        states,
        [
            (3, VersionState::Active),
            (2, VersionState::Active),
            (1, VersionState::Destroyed)
        ]
    );
    assert_eq!(store.get(&vkey("s", "K", 1)).await.expect("get"), None);
}

/// Lowering `max_versions` erases versions for good, as a destroy does: it needs `delete`, by
/// a put or by the settings; raising it or keeping it needs `write` only.
#[tokio::test]
async fn cred_lowering_max_versions_needs_delete() {
    let (v, _, _) = memory_vault().await;
    let (k, s) = (ckey("K"), svc("s"));
    put_versions(&v, 3).await;
    let created = v
        .tokens()
        .create(vault_core::TokenCreate {
            name: "writer".into(),
            rules: vec![vault_core::Rule {
                path: "credentials/s/K".into(),
                capabilities: vec![vault_core::Capability::Read, vault_core::Capability::Write],
            }],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let w = v
        .with_token(created.token.expose_secret())
        .await
        .expect("with_token");
    let lower = CredentialSettings {
        max_versions: Some(1),
        rotate_every: None,
    };
    let e = w
        .credentials()
        .set_settings(&k, &s, lower)
        .await
        .expect_err("lowering");
    assert_eq!(e.code(), "forbidden", "{e}");
    let mut put = cput("s", "K", "v4");
    put.max_versions = Some(1);
    let e = w
        .credentials()
        .put(put)
        .await
        .expect_err("lowering by a put");
    assert_eq!(e.code(), "forbidden", "{e}");
    let page = v
        .credentials()
        .versions(&k, &s, None, None)
        .await
        .expect("versions");
    assert_eq!(page.versions.len(), 3, "nothing erased");
    let raise = CredentialSettings {
        max_versions: Some(20),
        rotate_every: None,
    };
    w.credentials()
        .set_settings(&k, &s, raise)
        .await
        .expect("raising needs write only");
    v.credentials()
        .set_settings(&k, &s, lower)
        .await
        .expect("the process embedding the vault may");
}
