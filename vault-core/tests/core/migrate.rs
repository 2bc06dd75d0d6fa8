//! Moving a data directory's vault into a store without one (`data_dir::copy_dir_store`, what
//! `vault-http migrate` runs): the credential value keys of `value.keys` move with the records,
//! sealed, so every version readable before reads after, a destroyed one stays destroyed, and a
//! destroy or delete on the new store erases the moved key. The target here is a memory store;
//! `vault-http/tests/e2e/multi_server.rs` does the same into PostgreSQL through the CLI.

use std::path::Path;
use std::sync::Arc;

use vault_core::data_dir::{VALUE_KEYS_FILE, copy_dir_store};
use vault_core::prelude::*;
use vault_core::store::{MemoryStore, SharedStore};
use vault_core::{Vault, VersionOp};

use super::support::{ckey, contains, cput, dump, key, svc};

/// Opens the vault in data directory `dir` with `key(1)` (waiting out sled's lock, which a
/// vault dropped a moment ago may still hold).
async fn open_dir(dir: &Path) -> Vault {
    for _ in 0..100 {
        match Vault::open_dir(dir, Some(key(1))).await {
            Ok((v, _)) => return v,
            Err(e) if e.to_string().contains("in use") => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("open {}: {e}", dir.display()),
        }
    }
    panic!("{} stayed locked", dir.display())
}

/// `copy_dir_store` of `dir` into `to` with root key `key(k)` (`None`: the dev-mode key file),
/// waiting out sled's lock as [`open_dir`] does.
async fn migrate(
    dir: &Path,
    k: Option<u8>,
    to: &SharedStore,
) -> vault_core::Result<vault_core::data_dir::DirCopied> {
    for _ in 0..100 {
        match copy_dir_store(dir, k.map(key), &**to, |_, _| {}).await {
            Err(e) if e.to_string().contains("in use") => {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            other => return other,
        }
    }
    panic!("{} stayed locked", dir.display())
}

/// The live keys of a key file (every non-zero 32-byte slot after the header).
fn live_keys(dir: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(dir.join(VALUE_KEYS_FILE)).expect("read value.keys");
    bytes
        .chunks_exact(32)
        .skip(1)
        .filter(|s| s.iter().any(|b| *b != 0))
        .map(<[u8]>::to_vec)
        .collect()
}

async fn moved_keys(store: &SharedStore) -> usize {
    store
        .scan(b"sys/vk/f", None, usize::MAX)
        .await
        .expect("scan")
        .len()
}

async fn read(v: &Vault, k: &str, version: u64) -> vault_core::Result<String> {
    v.credentials()
        .get_version(&ckey(k), Some(&svc("s")), version)
        .await
        .map(|c| c.value.expose_secret().to_string())
}

/// Several versions (one destroyed) of credentials kept in a data directory, moved into a store
/// without one: each version readable before reads the same after, the destroyed one stays
/// destroyed, the store holds the live keys sealed (neither the values nor the raw key bytes
/// appear in it), and a destroy or delete on the new store erases the moved key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrating_a_data_directory_moves_its_value_keys_sealed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let v = open_dir(&data).await;
    for n in 1..=3 {
        v.credentials()
            .put(cput("s", "A", format!("PLANTED-a{n}")))
            .await
            .expect("put A");
    }
    v.credentials()
        .put(cput("s", "B", "PLANTED-b1"))
        .await
        .expect("put B");
    v.credentials()
        .change_version(&ckey("A"), &svc("s"), 1, VersionOp::Destroy)
        .await
        .expect("destroy A v1");
    v.close().await.expect("close");
    drop(v);
    let raw = live_keys(&data);
    assert_eq!(
        raw.len(),
        3,
        "A v2, A v3 and B v1 (the pool was freed at close)"
    );

    let target: SharedStore = Arc::new(MemoryStore::new());
    let copied = migrate(&data, Some(1), &target).await.expect("migrate");
    assert_eq!(copied.value_keys, 3);
    assert_eq!(copied.erased_value_keys, 0);
    assert_eq!(copied.copied.added, 4, "three keys and the mark");
    assert_eq!(moved_keys(&target).await, 3);
    let records = dump(&target).await;
    assert_eq!(
        records.len() as u64,
        copied.copied.records + copied.copied.added
    );
    for (k, v) in &records {
        for r in &raw {
            assert!(
                !contains(v, r) && !contains(k, r),
                "a raw value key in the store"
            );
        }
        assert!(
            !contains(v, b"PLANTED"),
            "a value in the clear in the store"
        );
    }

    let v = Vault::builder()
        .store(target.clone())
        .key(key(1))
        .open()
        .await
        .expect("open the copy");
    assert_eq!(read(&v, "A", 2).await.expect("A v2"), "PLANTED-a2");
    assert_eq!(read(&v, "A", 3).await.expect("A v3"), "PLANTED-a3");
    assert_eq!(read(&v, "B", 1).await.expect("B v1"), "PLANTED-b1");
    let gone = read(&v, "A", 1).await.expect_err("A v1 was destroyed");
    assert_eq!(gone.code(), "not_found", "{gone}");
    assert!(gone.to_string().contains("destroyed"), "{gone}");

    // A destroy on the new store erases the moved key; so does a delete.
    v.credentials()
        .change_version(&ckey("A"), &svc("s"), 2, VersionOp::Destroy)
        .await
        .expect("destroy A v2");
    assert_eq!(moved_keys(&target).await, 2);
    assert_eq!(
        read(&v, "A", 2).await.expect_err("gone").code(),
        "not_found"
    );
    assert_eq!(read(&v, "A", 3).await.expect("A v3"), "PLANTED-a3");
    v.credentials()
        .delete(&ckey("B"), Some(&svc("s")))
        .await
        .expect("delete B");
    assert_eq!(moved_keys(&target).await, 1);
    // New versions get in-store keys of their own.
    v.credentials()
        .put(cput("s", "A", "PLANTED-a4"))
        .await
        .expect("put A v4");
    assert_eq!(read(&v, "A", 4).await.expect("A v4"), "PLANTED-a4");
    assert_eq!(read(&v, "A", 3).await.expect("A v3"), "PLANTED-a3");
}

/// A migration needs the vault's root key and its own key file: a wrong key, a missing file or
/// another vault's file is refused, and nothing reaches the target.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrating_without_the_right_key_or_key_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let other = dir.path().join("other");
    for d in [&data, &other] {
        let v = open_dir(d).await;
        v.credentials()
            .put(cput("s", "A", "a1"))
            .await
            .expect("put");
        v.close().await.expect("close");
    }
    let target: SharedStore = Arc::new(MemoryStore::new());
    let e = migrate(&data, Some(2), &target)
        .await
        .expect_err("wrong key");
    assert_eq!(e.code(), "wrong_key", "{e}");
    // No key given and no dev-mode key file: the key is the wrong one (none).
    let e = migrate(&data, None, &target).await.expect_err("no key");
    assert_eq!(e.code(), "wrong_key", "{e}");

    let file = data.join(VALUE_KEYS_FILE);
    let saved = dir.path().join("saved.keys");
    std::fs::rename(&file, &saved).expect("move the key file away");
    let e = migrate(&data, Some(1), &target)
        .await
        .expect_err("no key file");
    assert_eq!(e.field(), Some("from"), "{e}");
    assert!(e.to_string().contains(VALUE_KEYS_FILE), "{e}");

    std::fs::copy(other.join(VALUE_KEYS_FILE), &file).expect("another vault's key file");
    let e = migrate(&data, Some(1), &target)
        .await
        .expect_err("another key file");
    assert_eq!(e.field(), Some("from"), "{e}");
    assert!(e.to_string().contains("not the key file"), "{e}");
    assert!(dump(&target).await.is_empty(), "nothing was copied");

    std::fs::rename(&saved, &file).expect("put the key file back");
    migrate(&data, Some(1), &target).await.expect("migrate");
    let v = Vault::builder()
        .store(target)
        .key(key(1))
        .open()
        .await
        .expect("open");
    assert_eq!(read(&v, "A", 1).await.expect("A v1"), "a1");
}

/// A data directory's store opened without its key file and without a migration (the bytes
/// copied alone): its versions say where their keys are, never "destroyed", and a destroy is
/// refused rather than leaving the key in the file it cannot reach.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_copied_without_its_key_file_says_where_the_keys_are() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let v = open_dir(&data).await;
    v.credentials()
        .put(cput("s", "A", "a1"))
        .await
        .expect("put");
    v.close().await.expect("close");
    drop(v);
    let mut store = None;
    for _ in 0..100 {
        match vault_core::store::SledStore::open(data.join(vault_core::data_dir::STORE_DIR)) {
            Ok(s) => {
                store = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    let v = Vault::builder()
        .store(Arc::new(store.expect("sled store")))
        .key(key(1))
        .open()
        .await
        .expect("open the store alone");
    let e = read(&v, "A", 1).await.expect_err("its key is in the file");
    assert_eq!(e.code(), "backend_unavailable", "{e}");
    assert!(e.to_string().contains("value key file"), "{e}");
    let e = v
        .credentials()
        .change_version(&ckey("A"), &svc("s"), 1, VersionOp::Destroy)
        .await
        .expect_err("a destroy that cannot reach the key");
    assert!(e.to_string().contains("value key file"), "{e}");
}
