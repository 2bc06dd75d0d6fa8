//! Crypto-shredded credential values when things fail: commits of unknown outcome, callers
//! that go away, keys kept elsewhere, a lost key file (found by an attack review; each test
//! failed before its fix). They use the slot-file value keys (as `Vault::open_dir` does) over
//! the test stores, through the test-only `VaultBuilder::value_key_file_for_tests`.

use std::path::Path;
use std::sync::Arc;

use vault_core::crypto::KdfParams;
use vault_core::prelude::*;
use vault_core::store::testing::{FailingStore, HoldingStore};
use vault_core::store::{MemoryStore, SharedStore, Write};
use vault_core::{Vault, VersionOp};

use super::support::{ckey, cput, dump, key, memory_vault, svc};

/// The vault in `store` (created with `key(1)` when new), its value keys in the slot file
/// `keys`.
async fn file_vault(store: &SharedStore, keys: &Path) -> Vault {
    Vault::builder()
        .store(store.clone())
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .value_key_file_for_tests(keys)
        .expect("value key file")
        .open()
        .await
        .expect("open")
}

fn spawn_put(
    v: &Vault,
    k: &'static str,
    value: &'static str,
) -> tokio::task::JoinHandle<vault_core::Result<u64>> {
    let v = v.clone();
    tokio::spawn(async move {
        v.credentials()
            .put(cput("s", k, value))
            .await
            .map(|w| w.version)
    })
}

async fn until_queued(v: &Vault, n: usize) {
    while v.queued_commits_for_tests() < n {
        tokio::task::yield_now().await;
    }
}

/// A group commit that applies and then stops (its task panics) answers `internal` to its
/// members: their outcome is unknown and the vault goes on serving. Their value keys must
/// never be issued again: if they were (once, `ValueKeys::unused` gave them back), the next
/// put would share a key with an applied version, and erasing that version (here by deleting
/// its credential) would erase the acknowledged put's value.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_whose_commit_outcome_is_unknown_is_never_issued_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("value.keys");
    let inner: SharedStore = Arc::new(MemoryStore::new());
    let failing = Arc::new(FailingStore::new(inner.clone()));
    let holding = Arc::new(HoldingStore::new(failing.clone() as SharedStore));
    let v = file_vault(&(holding.clone() as SharedStore), &keys).await;
    // Stops the flusher (the vault stays usable) so that its commits take no hold.
    v.close().await.expect("close");

    let hold = holding.hold();
    let first = spawn_put(&v, "A", "a");
    hold.arrived().await;
    let members: Vec<_> = ["B", "C", "D"]
        .into_iter()
        .map(|k| spawn_put(&v, k, "uncertain"))
        .collect();
    until_queued(&v, members.len()).await;
    let second = holding.hold();
    hold.release();
    first.await.expect("join").expect("A");
    second.arrived().await;
    failing.panic_commits(true);
    second.release();
    for t in members {
        let e = t.await.expect("join").expect_err("the group stopped");
        assert_eq!(e.code(), "internal", "{e}");
    }
    failing.panic_commits(false);

    // The vault goes on; an acknowledged put.
    let e = spawn_put(&v, "E", "acknowledged-e").await.expect("join");
    assert_eq!(e.map_err(|e| e.to_string()), Ok(1));
    let got = v.credentials().get(&ckey("E"), None).await.expect("E");
    assert_eq!(got.value.expose_secret(), "acknowledged-e");

    // B, C and D were applied after all: deleting them is an ordinary, legitimate request.
    for k in ["B", "C", "D"] {
        v.credentials()
            .delete(&ckey(k), Some(&svc("s")))
            .await
            .unwrap_or_else(|e| panic!("delete {k}: {e}"));
    }
    let got = v.credentials().get(&ckey("E"), None).await;
    assert_eq!(
        got.map(|c| c.value.expose_secret().to_string())
            .map_err(|e| e.to_string()),
        Ok("acknowledged-e".to_string()),
        "an acknowledged put lost its value to the delete of another credential"
    );
}

/// A put whose commit fails after the store applied it (as sled when its flush fails): the
/// vault fails closed "until restart". Its key must not go back to the pool: the restart's
/// clean `close` (the server's shutdown) frees the pool, and would erase the key of the
/// applied version (whose prune removed the acknowledged old one), leaving no value at all.
#[tokio::test]
async fn a_restart_after_an_unknown_outcome_keeps_the_old_or_the_new_value() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("value.keys");
    let inner: SharedStore = Arc::new(MemoryStore::new());
    let failing = Arc::new(FailingStore::new(inner.clone()));
    let v = file_vault(&(failing.clone() as SharedStore), &keys).await;
    let mut put = cput("s", "K", "acknowledged-v1");
    put.max_versions = Some(1);
    v.credentials().put(put).await.expect("v1");

    failing.fail_commits(true);
    let e = v
        .credentials()
        .put(cput("s", "K", "uncertain-v2"))
        .await
        .expect_err("the write fails");
    assert_eq!(e.code(), "backend_unavailable");
    failing.fail_commits(false);
    // The restart the error asks for: a clean shutdown, then a new process.
    let _ = v.close().await;
    drop(v);

    let restarted = file_vault(&inner, &keys).await;
    let got = restarted.credentials().get(&ckey("K"), None).await;
    let got = got
        .map(|c| c.value.expose_secret().to_string())
        .map_err(|e| e.to_string());
    assert!(
        matches!(got.as_deref(), Ok("acknowledged-v1" | "uncertain-v2")),
        "after a write of unknown outcome the credential must hold the old or the new value: \
         {got:?}"
    );
}

/// A delete whose caller goes away (an HTTP client disconnecting) once its commit is in a
/// group task: the commit is made, and its keys must be erased all the same (a shred after the
/// commit never ran: whoever had the root key and the store's old bytes read the value).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_whose_caller_goes_away_still_erases_its_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("value.keys");
    let inner: SharedStore = Arc::new(MemoryStore::new());
    let holding = Arc::new(HoldingStore::new(inner.clone()));
    let v = file_vault(&(holding.clone() as SharedStore), &keys).await;
    v.close().await.expect("close");
    v.credentials()
        .put(cput("s", "K", "planted-deleted-value"))
        .await
        .expect("put");
    // Every byte the store holds before the delete.
    let before = dump(&inner).await;

    // A read queues its audit entry: the delete's commit then runs in a task of its own.
    v.credentials().get(&ckey("K"), None).await.expect("read");
    let hold = holding.hold();
    let d = {
        let v = v.clone();
        tokio::spawn(async move { v.credentials().delete(&ckey("K"), Some(&svc("s"))).await })
    };
    hold.arrived().await;
    d.abort();
    assert!(d.await.expect_err("aborted").is_cancelled());
    hold.release();
    v.flush().await.expect("flush");
    let e = v
        .credentials()
        .get(&ckey("K"), None)
        .await
        .expect_err("deleted");
    assert_eq!(e.code(), "not_found");
    v.close().await.expect("close");
    drop(v);

    // The old bytes, under the current value key file.
    let old: SharedStore = Arc::new(MemoryStore::new());
    let writes = before.into_iter().map(|(k, b)| Write::Put(k, b)).collect();
    assert!(old.commit(vec![], writes).await.expect("restore"));
    let again = file_vault(&old, &keys).await;
    let got = again.credentials().get(&ckey("K"), None).await;
    assert!(
        got.is_err(),
        "the deleted value opened again: {:?}",
        got.map(|c| c.value.expose_secret().to_string())
    );
}

/// A version whose value key is kept in the store (written by a vault opened without a data
/// directory) destroyed by a vault keeping its keys in a file: the destroy either refuses or
/// erases the key (it once reported success and erased nothing).
#[tokio::test]
async fn a_destroy_of_a_key_kept_elsewhere_is_refused_or_erases_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let keys = dir.path().join("value.keys");
    let (v, _, store) = memory_vault().await;
    v.credentials()
        .put(cput("s", "K", "planted"))
        .await
        .expect("v1");
    v.credentials()
        .put(cput("s", "K", "second"))
        .await
        .expect("v2");
    v.close().await.expect("close");
    drop(v);
    let in_store = || async { store.scan(b"sys/vk/", None, 100).await.expect("scan").len() };
    assert_eq!(in_store().await, 2);

    let f = file_vault(&store, &keys).await;
    let read = f
        .credentials()
        .get_version(&ckey("K"), Some(&svc("s")), 1)
        .await
        .expect_err("kept elsewhere");
    assert!(read.to_string().contains("kept in its store"), "{read}");
    let destroyed = f
        .credentials()
        .change_version(&ckey("K"), &svc("s"), 1, VersionOp::Destroy)
        .await;
    assert!(
        destroyed.is_err() || in_store().await == 1,
        "destroy reported success ({destroyed:?}) but the value key of version 1 is still in \
         the store ({} sys/vk records)",
        in_store().await
    );
}

/// `value.keys` missing beside an existing store (a restore or copy that left it out) must not
/// turn every value into a "destroyed" one (as a new empty file did): the open is refused, as
/// a missing dev-mode `root.key` beside an existing store is (`key_for_dir`).
#[cfg(feature = "sled")]
#[tokio::test]
async fn a_lost_value_key_file_is_refused_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (v, _) = Vault::open_dir(&data, Some(key(7))).await.expect("open");
    v.credentials()
        .put(cput("s", "K", "value"))
        .await
        .expect("put");
    v.close().await.expect("close");
    drop(v);
    std::fs::remove_file(data.join("value.keys")).expect("rm value.keys");
    // sled lets go of its lock shortly after the close: an "in use" answer is tried again.
    let mut opened = Vault::open_dir(&data, Some(key(7))).await;
    for _ in 0..50 {
        match &opened {
            Err(e) if e.to_string().contains("in use") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                opened = Vault::open_dir(&data, Some(key(7))).await;
            }
            _ => break,
        }
    }
    let e = opened
        .map(|_| ())
        .expect_err("opened without its value key file");
    assert_eq!(e.code(), "backend_unavailable", "{e}");
    assert!(e.to_string().contains("value key file"), "{e}");
    assert!(!e.to_string().contains("destroyed"), "{e}");
}
