//! sled-only durability tests: close and reopen, a second opener, and a crash (abort) after
//! acknowledged commits.

use vault_core::store::{SledStore, Store, Write};

fn put(k: &str, v: &str) -> Write {
    Write::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

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
            "core::sled::crash_child",
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
