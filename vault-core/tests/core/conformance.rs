//! The storage contract, checked the same way against every backend.
//!
//! Each backend gets the whole suite through `conformance_suite!`; durable backends also get
//! the reopen test.

use std::collections::BTreeMap;
use std::sync::Arc;

use vault_core::store::{Condition, MemoryStore, SharedStore, SledStore, Store, Write};

fn put(k: &str, v: &str) -> Write {
    Write::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn keys(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
    entries
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

pub async fn get_missing_is_none(s: SharedStore) {
    assert_eq!(s.get(b"nope").await.expect("get"), None);
}

pub async fn scan_is_ordered_prefixed_and_paginated(s: SharedStore) {
    let writes = ["b/2", "a/1", "b/10", "b/1", "c/1", "b", "b/3"]
        .iter()
        .map(|k| put(k, k))
        .collect();
    assert!(s.commit(vec![], writes).await.expect("commit"));
    let all = s.scan(b"b/", None, 100).await.expect("scan");
    assert_eq!(keys(&all), ["b/1", "b/10", "b/2", "b/3"]);
    assert_eq!(all[0].1, b"b/1".to_vec());
    // Pagination: pages of 2, each continuing strictly after the last key of the previous.
    let p1 = s.scan(b"b/", None, 2).await.expect("p1");
    assert_eq!(keys(&p1), ["b/1", "b/10"]);
    let p2 = s.scan(b"b/", Some(&p1[1].0), 2).await.expect("p2");
    assert_eq!(keys(&p2), ["b/2", "b/3"]);
    let p3 = s.scan(b"b/", Some(&p2[1].0), 2).await.expect("p3");
    assert!(p3.is_empty());
    // `after` that is not itself a key still works; `after` before the prefix starts at it.
    assert_eq!(
        keys(&s.scan(b"b/", Some(b"b/15"), 10).await.expect("s")),
        ["b/2", "b/3"]
    );
    assert_eq!(
        keys(&s.scan(b"b/", Some(b"a"), 1).await.expect("s")),
        ["b/1"]
    );
    assert_eq!(s.scan(b"b/", None, 0).await.expect("s").len(), 0);
    // Empty prefix scans everything.
    assert_eq!(s.scan(b"", None, 100).await.expect("s").len(), 7);
}

pub async fn prefix_with_max_bytes_scans_to_the_end(s: SharedStore) {
    let k1 = vec![0xff, 0xff, 1];
    let k2 = vec![0xff, 0xff, 0xff];
    let writes = vec![
        Write::Put(k1.clone(), b"1".to_vec()),
        Write::Put(k2.clone(), b"2".to_vec()),
        Write::Put(vec![0xff, 0xfe], b"x".to_vec()),
    ];
    assert!(s.commit(vec![], writes).await.expect("commit"));
    let got = s.scan(&[0xff, 0xff], None, 10).await.expect("scan");
    assert_eq!(
        got.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        vec![k1, k2]
    );
}

pub async fn each_condition_kind(s: SharedStore) {
    assert!(s.commit(vec![], vec![put("k", "v1")]).await.expect("seed"));
    // Absent
    assert!(
        !s.commit(vec![Condition::Absent(b"k".to_vec())], vec![put("x", "1")])
            .await
            .expect("c")
    );
    assert!(
        s.commit(vec![Condition::Absent(b"y".to_vec())], vec![put("y", "1")])
            .await
            .expect("c")
    );
    // Present
    assert!(
        !s.commit(
            vec![Condition::Present(b"zz".to_vec())],
            vec![put("x", "1")]
        )
        .await
        .expect("c")
    );
    assert!(
        s.commit(vec![Condition::Present(b"k".to_vec())], vec![put("p", "1")])
            .await
            .expect("c")
    );
    // Equals
    let eq = |v: &str| Condition::Equals(b"k".to_vec(), v.as_bytes().to_vec());
    assert!(
        !s.commit(vec![eq("other")], vec![put("k", "v2")])
            .await
            .expect("c")
    );
    assert_eq!(s.get(b"k").await.expect("g"), Some(b"v1".to_vec()));
    assert!(
        s.commit(vec![eq("v1")], vec![put("k", "v2")])
            .await
            .expect("c")
    );
    assert_eq!(s.get(b"k").await.expect("g"), Some(b"v2".to_vec()));
    assert!(
        !s.commit(vec![Condition::Equals(b"none".to_vec(), vec![])], vec![])
            .await
            .expect("c")
    );
    // Nothing of the failed commits landed.
    assert_eq!(s.get(b"x").await.expect("g"), None);
    // Delete, and delete of a missing key is a no-op.
    assert!(
        s.commit(
            vec![],
            vec![
                Write::Delete(b"k".to_vec()),
                Write::Delete(b"nokey".to_vec())
            ]
        )
        .await
        .expect("d")
    );
    assert_eq!(s.get(b"k").await.expect("g"), None);
}

pub async fn failed_condition_applies_nothing(s: SharedStore) {
    assert!(
        s.commit(vec![], vec![put("a", "1"), put("b", "1")])
            .await
            .expect("seed")
    );
    let conditions = vec![
        Condition::Equals(b"a".to_vec(), b"1".to_vec()),
        Condition::Absent(b"b".to_vec()), // fails
    ];
    let writes = vec![put("a", "2"), Write::Delete(b"b".to_vec()), put("c", "new")];
    assert!(!s.commit(conditions, writes).await.expect("commit"));
    assert_eq!(s.get(b"a").await.expect("g"), Some(b"1".to_vec()));
    assert_eq!(s.get(b"b").await.expect("g"), Some(b"1".to_vec()));
    assert_eq!(s.get(b"c").await.expect("g"), None);
}

pub async fn later_write_to_same_key_wins_within_a_commit(s: SharedStore) {
    assert!(
        s.commit(vec![], vec![put("k", "1"), put("k", "2")])
            .await
            .expect("c")
    );
    assert_eq!(s.get(b"k").await.expect("g"), Some(b"2".to_vec()));
    assert!(
        s.commit(vec![], vec![put("k", "3"), Write::Delete(b"k".to_vec())])
            .await
            .expect("c")
    );
    assert_eq!(s.get(b"k").await.expect("g"), None);
}

pub async fn racing_absent_condition_has_exactly_one_winner(s: SharedStore) {
    let mut tasks = Vec::new();
    for i in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let w = vec![
                put("claim", &format!("task-{i}")),
                put(&format!("log/{i}"), "x"),
            ];
            s.commit(vec![Condition::Absent(b"claim".to_vec())], w)
                .await
                .expect("commit")
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.expect("join") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    // The winner's two writes landed together; no loser's did.
    let logs = s.scan(b"log/", None, 100).await.expect("scan");
    assert_eq!(logs.len(), 1);
    let claim = s.get(b"claim").await.expect("g").expect("claimed");
    let winner = String::from_utf8(logs[0].0[b"log/".len()..].to_vec()).expect("utf8");
    assert_eq!(claim, format!("task-{winner}").into_bytes());
}

pub async fn concurrent_counter_increments_lose_nothing(s: SharedStore) {
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                loop {
                    let cur = s.get(b"ctr").await.expect("g");
                    let n = cur
                        .as_deref()
                        .map_or(0, |b| u64::from_be_bytes(b.try_into().expect("8 bytes")));
                    let cond = Condition::unchanged(b"ctr", cur.as_deref());
                    let w = vec![Write::Put(b"ctr".to_vec(), (n + 1).to_be_bytes().to_vec())];
                    if s.commit(vec![cond], w).await.expect("c") {
                        break;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let v = s.get(b"ctr").await.expect("g").expect("set");
    assert_eq!(u64::from_be_bytes(v.try_into().expect("8 bytes")), 160);
}

/// Random operations checked against a `BTreeMap` model (a small xorshift PRNG keeps it
/// deterministic without a dependency).
pub async fn random_ops_match_a_model(s: SharedStore) {
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for step in 0..400u32 {
        let k = format!("m/{}", next() % 24).into_bytes();
        let cond_key = format!("m/{}", next() % 24).into_bytes();
        let cond = match next() % 3 {
            0 => Condition::Absent(cond_key),
            1 => Condition::Present(cond_key),
            _ => Condition::Equals(cond_key, format!("v{}", next() % 4).into_bytes()),
        };
        let write = if next() % 4 == 0 {
            Write::Delete(k.clone())
        } else {
            Write::Put(k.clone(), format!("v{}", next() % 4).into_bytes())
        };
        let expect = cond.holds(model.get(cond.key()).map(Vec::as_slice));
        let got = s
            .commit(vec![cond], vec![write.clone()])
            .await
            .expect("commit");
        assert_eq!(got, expect, "step {step}");
        if got {
            match write {
                Write::Put(k, v) => {
                    model.insert(k, v);
                }
                Write::Delete(k) => {
                    model.remove(&k);
                }
            }
        }
    }
    let all = s.scan(b"m/", None, 1000).await.expect("scan");
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
    assert_eq!(all, expected);
}

/// Instantiates every listed check of the suite as a test for one backend.
macro_rules! conformance_suite {
    ($modname:ident, $make:expr, [$($check:ident),+ $(,)?]) => {
        mod $modname {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let (_guard, store) = $make;
                    super::$check(store).await;
                }
            )+
        }
    };
}

/// Every check of the suite; each backend runs all of them.
macro_rules! all_checks {
    ($modname:ident, $make:expr) => {
        conformance_suite!(
            $modname,
            $make,
            [
                get_missing_is_none,
                scan_is_ordered_prefixed_and_paginated,
                prefix_with_max_bytes_scans_to_the_end,
                each_condition_kind,
                failed_condition_applies_nothing,
                later_write_to_same_key_wins_within_a_commit,
                racing_absent_condition_has_exactly_one_winner,
                concurrent_counter_increments_lose_nothing,
                random_ops_match_a_model,
            ]
        );
    };
}

fn memory() -> ((), SharedStore) {
    ((), Arc::new(MemoryStore::new()))
}

fn sled() -> (tempfile::TempDir, SharedStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SledStore::open(dir.path().join("db")).expect("open sled");
    (dir, Arc::new(store))
}

all_checks!(memory_backend, memory());
all_checks!(sled_backend, sled());

/// Close and reopen (a clean shutdown); `sled_acknowledged_commits_survive_abort` is the crash
/// case.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sled_commit_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    {
        let s = SledStore::open(&path).expect("open");
        assert!(
            s.commit(vec![], vec![put("durable", "yes")])
                .await
                .expect("commit")
        );
        // Many concurrent commits (group commit path), all acknowledged before the drop.
        let mut tasks = Vec::new();
        for i in 0..16 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.commit(vec![], vec![put(&format!("g/{i:02}"), "v")])
                    .await
                    .expect("commit")
            }));
        }
        for t in tasks {
            assert!(t.await.expect("join"));
        }
    }
    let s = SledStore::open(&path).expect("reopen");
    assert_eq!(s.get(b"durable").await.expect("get"), Some(b"yes".to_vec()));
    assert_eq!(s.scan(b"g/", None, 100).await.expect("scan").len(), 16);
}

#[tokio::test]
async fn sled_second_open_of_a_locked_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = SledStore::open(dir.path()).expect("open");
    let err = SledStore::open(dir.path()).expect_err("locked");
    assert_eq!(err.code(), "backend_unavailable");
    assert!(err.to_string().contains("in use"), "{err}");
}

/// Set by `sled_acknowledged_commits_survive_abort` for its child process.
const CRASH_CHILD_DIR: &str = "VAULT_CORE_CRASH_CHILD_DIR";

/// The child half of `sled_acknowledged_commits_survive_abort`: commits (one writer, then 16
/// concurrent ones), prints `acked`, and aborts the process so that no destructor (and so no
/// flush on drop) runs. Started any other way it returns at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn crash_child() {
    let Ok(dir) = std::env::var(CRASH_CHILD_DIR) else {
        return;
    };
    let s = SledStore::open(dir).expect("open");
    assert!(
        s.commit(vec![], vec![put("durable", "yes")])
            .await
            .expect("commit")
    );
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.commit(vec![], vec![put(&format!("g/{i:02}"), "v")])
                .await
                .expect("commit")
        }));
    }
    for t in tasks {
        assert!(t.await.expect("join"));
    }
    use std::io::Write as _;
    println!("acked");
    std::io::stdout().flush().expect("flush stdout");
    std::process::abort();
}

#[test]
fn sled_acknowledged_commits_survive_abort() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "core::conformance::crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CRASH_CHILD_DIR, &path)
        .output()
        .expect("run child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("acked"), "child did not commit: {stdout}");
    assert!(!out.status.success(), "child must have aborted");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let s = SledStore::open(&path).expect("reopen");
        assert_eq!(s.get(b"durable").await.expect("get"), Some(b"yes".to_vec()));
        assert_eq!(s.scan(b"g/", None, 100).await.expect("scan").len(), 16);
    });
}
