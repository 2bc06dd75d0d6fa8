//! Group commit: concurrent commits of one vault made as one store commit, with each writer's
//! own conditions still deciding its own outcome.

use std::sync::Arc;

use vault_core::prelude::*;
use vault_core::store::SharedStore;
use vault_core::store::testing::{FailingStore, HoldingStore};
use vault_core::{AuditQuery, Vault};

use super::support::{ckey, cput, memory_vault, read_gated, reopen, svc};

/// 16 compare-and-set puts of one new credential in ONE vault, each having read the (absent)
/// head before any commits: exactly one wins, the rest are `conflict`. The group must not let
/// two writers of one key through together.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_vault_racing_compare_and_set_has_exactly_one_winner() {
    let (_, _, store) = memory_vault().await;
    let v = read_gated(&store, b"cred/h/s/ONE", 16).await;
    let tasks: Vec<_> = (0..16)
        .map(|i| spawn_create(&v, "ONE".into(), format!("w{i}")))
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(1) => wins += 1,
            Ok(other) => panic!("version {other}"),
            Err(e) => assert_eq!(e.code(), "conflict", "{e}"),
        }
    }
    assert_eq!(wins, 1);
}

/// 16 plain puts of one credential in ONE vault, all reading the same head first: each lands
/// as a version of its own (losers retry from the new head), none overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_vault_racing_plain_puts_lose_nothing() {
    let (v0, _, store) = memory_vault().await;
    v0.credentials()
        .put(cput("s", "HOT", "first"))
        .await
        .expect("v1");
    let v = read_gated(&store, b"cred/h/s/HOT", 16).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let v = v.clone();
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
    assert_eq!(versions, (2..=17).collect::<Vec<u64>>());
}

/// A vault over a [`HoldingStore`] over the vault in `store`, its flusher stopped (`close`
/// stops it; the vault stays usable) so that its commits cannot take a hold meant for a test's.
async fn holding(store: &SharedStore) -> (Vault, Arc<HoldingStore>) {
    let holding = Arc::new(HoldingStore::new(store.clone()));
    let v = reopen(&(holding.clone() as SharedStore)).await;
    v.close().await.expect("close");
    (v, holding)
}

/// Spawns a put of credential `k` of service `s`.
fn spawn_put(v: &Vault, k: &'static str) -> tokio::task::JoinHandle<vault_core::Result<u64>> {
    let v = v.clone();
    tokio::spawn(async move {
        v.credentials()
            .put(cput("s", k, "x"))
            .await
            .map(|w| w.version)
    })
}

/// Spawns a compare-and-set put creating credential `k` of service `s` (expected version 0).
fn spawn_create(
    v: &Vault,
    k: String,
    value: String,
) -> tokio::task::JoinHandle<vault_core::Result<u64>> {
    let v = v.clone();
    tokio::spawn(async move {
        let mut put = cput("s", &k, value);
        put.expected_version = Some(0);
        v.credentials().put(put).await.map(|w| w.version)
    })
}

/// The version of credential `k` of service `s`, or the error code.
async fn version_of(v: &Vault, k: &str) -> Result<u64, String> {
    v.credentials()
        .get(&ckey(k), Some(&svc("s")))
        .await
        .map(|c| c.version)
        .map_err(|e| e.code().to_string())
}

/// A writer whose caller goes away while its commit waits in the queue: its write is not
/// made later by someone else's commit (a change its caller saw as not done, at a time
/// nobody chose).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_whose_caller_went_away_while_queued_is_not_made_later() {
    let (_, _, store) = memory_vault().await;
    let (v, holding) = holding(&store).await;
    let hold = holding.hold();
    let first = spawn_put(&v, "A");
    hold.arrived().await;
    let b = spawn_put(&v, "B");
    until_queued(&v, 1).await;
    b.abort();
    assert!(b.await.expect_err("aborted").is_cancelled());
    hold.release();
    first.await.expect("join").expect("A");
    v.credentials()
        .put(cput("s", "C", "c"))
        .await
        .expect("a later, unrelated write");
    assert_eq!(version_of(&v, "B").await, Err("not_found".to_string()));
    assert_eq!(v.queued_commits_for_tests(), 0);
}

/// A lone write carrying the queued entries of others' reads: its caller goes away while the
/// commit is in the store, and the reads' entries still reach the log (and `flush` waits for
/// the commit carrying them).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_commit_carrying_others_queued_entries_finishes_when_its_caller_goes_away() {
    let (_, _, store) = memory_vault().await;
    let (v, holding) = holding(&store).await;
    v.credentials().put(cput("s", "R", "r")).await.expect("R");
    assert_eq!(
        version_of(&v, "R").await,
        Ok(1),
        "a read: its entry is queued"
    );
    let hold = holding.hold();
    let w = spawn_put(&v, "W");
    hold.arrived().await;
    w.abort();
    assert!(w.await.expect_err("aborted").is_cancelled());
    hold.release();
    v.flush().await.expect("flush");
    let mut query = AuditQuery::default();
    query.filter.op = Some("credentials.get".into());
    let reads = v.audit().query(query).await.expect("query").items;
    assert_eq!(reads.len(), 1, "the read of R is in the log: {reads:?}");
}

/// A group whose store commit panics: every member gets an error (`internal`), none panics,
/// and the vault goes on committing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_member_of_a_group_that_panics_gets_an_error() {
    let (_, _, store) = memory_vault().await;
    let failing = Arc::new(FailingStore::new(store.clone()));
    let (v, holding) = holding(&(failing.clone() as SharedStore)).await;
    let hold = holding.hold();
    let first = spawn_put(&v, "A");
    hold.arrived().await;
    let members: Vec<_> = ["B", "C", "D"]
        .into_iter()
        .enumerate()
        .map(|(i, k)| (i, spawn_put(&v, k)))
        .collect();
    until_queued(&v, members.len()).await;
    let second = holding.hold();
    hold.release();
    first.await.expect("join").expect("A");
    second.arrived().await;
    failing.panic_commits(true);
    second.release();
    for (i, t) in members {
        let e = t
            .await
            .unwrap_or_else(|e| panic!("member {i} panicked: {e}"))
            .expect_err("the group stopped");
        assert_eq!(e.code(), "internal", "{e}");
    }
    failing.panic_commits(false);
    let after = spawn_put(&v, "E").await.expect("join");
    assert_eq!(after.map_err(|e| e.to_string()), Ok(1));
}

/// A group whose store commit fails (outcome unknown): every member, later rounds included,
/// gets `backend_unavailable`, and the log still verifies after a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_group_commit_fails_every_member_closed() {
    let (_, _, store) = memory_vault().await;
    let failing = Arc::new(FailingStore::new(store.clone()));
    let (v, holding) = holding(&(failing.clone() as SharedStore)).await;
    let hold = holding.hold();
    let first = spawn_put(&v, "A");
    hold.arrived().await;
    let mut members = Vec::new();
    for k in ["K1", "K1", "K2", "K3"] {
        members.push(spawn_put(&v, k));
        until_queued(&v, members.len()).await;
    }
    let second = holding.hold();
    hold.release();
    first.await.expect("join").expect("A");
    second.arrived().await;
    failing.fail_commits(true);
    second.release();
    for t in members {
        let e = t.await.expect("join").expect_err("failing closed");
        assert_eq!(e.code(), "backend_unavailable", "{e}");
    }
    let again = reopen(&store).await;
    let report = again.audit().verify().await.expect("verify");
    assert!(report.valid, "{report:?}");
}

/// Waits (without timing anything) until `n` commits of `v` wait for the next group.
async fn until_queued(v: &Vault, n: usize) {
    while v.queued_commits_for_tests() < n {
        tokio::task::yield_now().await;
    }
}

/// While one commit is in the store, 16 more queue; they are made as one store commit, except
/// the second writer of a key, which goes in a round of its own and loses its compare-and-set,
/// and a stale compare-and-set, which loses alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commits_queued_behind_one_in_flight_are_made_together() {
    let (_, _, store) = memory_vault().await;
    let (v, holding) = holding(&store).await;
    let hold = holding.hold();
    let first = spawn_put(&v, "K0");
    hold.arrived().await;
    let tasks: Vec<_> = (1..=14)
        .map(|i| spawn_create(&v, format!("K{i}"), format!("v{i}")))
        .collect();
    until_queued(&v, 14).await;
    // A second compare-and-set of K1 from version 0: it shares K1's keys, so it waits for a
    // round after K1's, where its condition fails.
    let duplicate = spawn_create(&v, "K1".into(), "second".into());
    until_queued(&v, 15).await;
    // A compare-and-set creating K99, which another server creates while this one waits: in
    // the same round as the 14, its condition fails the round's store commit; it alone gets
    // `conflict`, and the 14 go again.
    let stale = spawn_create(&v, "K99".into(), "stale".into());
    until_queued(&v, 16).await;
    reopen(&store)
        .await
        .credentials()
        .put(cput("s", "K99", "other server"))
        .await
        .expect("the other server's put");
    hold.release();
    first.await.expect("join").expect("the held put");
    for t in tasks {
        assert_eq!(t.await.expect("join").map_err(|e| e.to_string()), Ok(1));
    }
    let lost = duplicate.await.expect("join").expect_err("K1 was taken");
    assert_eq!(lost.code(), "conflict");
    let stale = stale
        .await
        .expect("join")
        .expect_err("K99 was created meanwhile");
    assert_eq!(stale.code(), "conflict");
    // After the held put (which may have had to go again: the other server's put can move a
    // ledger bucket under it): round 1 (the 14 and the stale one), which failed on the stale
    // condition; the 14 again, applied as one store commit; round 2 (the duplicate), not
    // applied. Commits of audit entries alone (the vault's flusher) are not counted.
    let credential_commits: Vec<(usize, bool)> = holding
        .log()
        .iter()
        .filter(|c| c.writes_under(b"cred/h/"))
        .map(|c| {
            (
                c.keys.iter().filter(|k| k.starts_with(b"cred/h/")).count(),
                c.applied,
            )
        })
        .skip_while(|&(n, applied)| n == 1 && !applied)
        .collect();
    assert_eq!(
        credential_commits,
        [(1, true), (15, false), (14, true), (1, false)]
    );
    let got = v
        .credentials()
        .get(&ckey("K1"), Some(&svc("s")))
        .await
        .expect("get");
    assert_eq!(got.value.expose_secret(), "v1");
    // Every write's entry made it into the log, chained.
    v.flush().await.expect("flush");
    let report = v.audit().verify().await.expect("verify");
    assert!(report.valid, "{report:?}");
}

/// The caller that leads a group goes away (an HTTP client disconnects) while the group is in
/// the store: the others' commits still finish, and so does its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_finishes_when_its_leader_goes_away() {
    let (_, _, store) = memory_vault().await;
    let (v, holding) = holding(&store).await;
    let hold = holding.hold();
    let first = spawn_put(&v, "A");
    hold.arrived().await;
    let b = spawn_put(&v, "B");
    until_queued(&v, 1).await;
    let c = spawn_put(&v, "C");
    until_queued(&v, 2).await;
    // The group of B and C is held in the store; one of them leads it. Abort both callers'
    // tasks but C's: whichever led, the group must not be cut short.
    let second = holding.hold();
    hold.release();
    first.await.expect("join").expect("A");
    second.arrived().await;
    b.abort();
    second.release();
    c.await.expect("join").expect("C is written");
    let got = v
        .credentials()
        .get(&ckey("B"), Some(&svc("s")))
        .await
        .expect("B's commit was made though its caller went away");
    assert_eq!(got.version, 1);
}

/// 8 writers x 50 puts of one credential in one vault: every put lands (versions 1 to 400,
/// each once), none gives up. A group has one winner per key; a writer that lost must not
/// lose again and again to one that just won (it would give up after 64 attempts).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_hammering_one_key_all_get_through() {
    let (v, _, _) = memory_vault().await;
    let mut tasks = Vec::new();
    for t in 0..8 {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            let mut versions = Vec::new();
            for i in 0..50 {
                let w = v
                    .credentials()
                    .put(cput("s", "HAMMER", format!("t{t}-i{i}")))
                    .await?;
                versions.push(w.version);
            }
            Ok::<_, vault_core::Error>(versions)
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.extend(t.await.expect("join").expect("every put gets through"));
    }
    versions.sort_unstable();
    assert_eq!(versions, (1..=400).collect::<Vec<u64>>());
}
