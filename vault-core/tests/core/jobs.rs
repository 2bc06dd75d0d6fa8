//! Scheduler jobs through the public API: one owner per due job under forced interleavings
//! (two vaults on one store, as two servers on one database; many claimers in one vault),
//! lease expiry and reclaim with the old owner refused, max attempts then dead, sweep, bad
//! input, capabilities and audit.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use vault_core::crypto::KdfParams;
use vault_core::prelude::*;
use vault_core::store::SharedStore;
use vault_core::store::testing::{InterleavingStore, ReadGateStore};
use vault_core::{
    AccountId, AuditQuery, Capability, InstanceId, Job, JobClaim, JobCreate, JobId, JobLease,
    JobOutcome, JobRelease, JobState, ManualClock, PageRequest, Rule, TokenCreate, Vault,
};

use super::support::{dump, key, memory_vault};

fn acct() -> AccountId {
    AccountId::new("acct").expect("name")
}

fn jid(s: &str) -> JobId {
    JobId::new(s).expect("name")
}

fn inst(s: &str) -> InstanceId {
    InstanceId::new(s).expect("name")
}

fn claim(instance: &str, limit: usize, ttl_s: u64) -> JobClaim {
    JobClaim {
        instance: inst(instance),
        limit: Some(limit),
        ttl: Some(Duration::from_secs(ttl_s)),
    }
}

fn lease(instance: &str, fencing_token: u64) -> JobLease {
    JobLease {
        instance: inst(instance),
        fencing_token,
    }
}

fn release(instance: &str, fencing_token: u64, outcome: JobOutcome) -> JobRelease {
    JobRelease {
        lease: lease(instance, fencing_token),
        outcome,
        reschedule_at: None,
    }
}

async fn create_jobs(v: &Vault, ids: &[&str]) {
    for id in ids {
        let c = v
            .jobs()
            .create(&acct(), JobCreate::new(jid(id)))
            .await
            .expect("create");
        assert!(c.created);
    }
}

/// The vault in `store` (initialised with `key(1)`) opened again with `clock`.
async fn open_with(store: SharedStore, clock: &ManualClock) -> Vault {
    Vault::builder()
        .store(store)
        .key(key(1))
        .clock(Arc::new(clock.clone()))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open")
}

/// The job records in the store (what a refused operation must leave as it was).
async fn job_records(store: &SharedStore) -> Vec<(Vec<u8>, Vec<u8>)> {
    dump(store)
        .await
        .into_iter()
        .filter(|(k, _)| k.starts_with(b"job/"))
        .collect()
}

/// Every job handed out, by id, must have been handed out exactly once.
fn assert_each_once(handed: &[Job], expected: &[&str]) {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for j in handed {
        *count.entry(j.job_id.to_string()).or_default() += 1;
        assert_eq!(
            (j.state, j.fencing_token, j.attempt),
            (JobState::Leased, 1, 1)
        );
    }
    let want: BTreeMap<String, usize> = expected.iter().map(|id| (id.to_string(), 1)).collect();
    assert_eq!(count, want, "each due job to exactly one claimer");
}

/// Two instances, two vaults on one store (as two servers sharing a database), over an
/// [`InterleavingStore`]: both claims read the same due jobs before either commits. A claim
/// that checked and then wrote without conditioning its commit on the records it read would
/// hand every job to both, every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_claiming_the_same_due_jobs_each_job_goes_to_one() {
    let ids = ["j1", "j2", "j3", "j4", "j5", "j6"];
    for limit in [3, 10] {
        let (v, clock, store) = memory_vault().await;
        create_jobs(&v, &ids).await;
        let shared: SharedStore = Arc::new(InterleavingStore::new(store.clone(), 2));
        let a = open_with(shared.clone(), &clock).await;
        let b = open_with(shared, &clock).await;
        let ta =
            tokio::spawn(async move { a.jobs().claim_due(&acct(), claim("a", limit, 30)).await });
        let tb =
            tokio::spawn(async move { b.jobs().claim_due(&acct(), claim("b", limit, 30)).await });
        let got_a = ta.await.expect("join").expect("claim a");
        let got_b = tb.await.expect("join").expect("claim b");
        // Both read j1.. first; the loser read again and took what was left.
        assert_eq!(got_a.len() + got_b.len(), 6, "limit {limit}");
        assert!(got_a.iter().all(|j| j.owner == Some(inst("a"))));
        assert!(got_b.iter().all(|j| j.owner == Some(inst("b"))));
        let all: Vec<Job> = got_a.into_iter().chain(got_b).collect();
        assert_each_once(&all, &ids);
        // What the store says agrees with what each was told.
        for j in &all {
            let stored = v.jobs().get(&acct(), &j.job_id).await.expect("get");
            assert_eq!(stored.owner, j.owner);
            assert_eq!(stored.fencing_token, 1);
        }
    }
}

/// Eight claimers in one vault (one server), each of which has read every due job before any
/// commits: a [`ReadGateStore`] holds their reads of the last job until all eight have come
/// to it (having read the seven before it). A claim that did not condition its commit on the
/// records it read would hand the first seven jobs to all eight, every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claims_in_one_vault_hand_each_job_to_one() {
    let ids = ["j1", "j2", "j3", "j4", "j5", "j6", "j7", "j8"];
    let (v, clock, store) = memory_vault().await;
    create_jobs(&v, &ids).await;
    let gated: SharedStore = Arc::new(ReadGateStore::new(store.clone(), b"job/h/acct/j8", 8));
    let g = open_with(gated, &clock).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let g = g.clone();
        tasks.push(tokio::spawn(async move {
            g.jobs()
                .claim_due(&acct(), claim(&format!("i{i}"), 100, 30))
                .await
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("join").expect("claim"));
    }
    assert_each_once(&all, &ids);
    // Nothing is left to claim.
    assert!(
        v.jobs()
            .claim_due(&acct(), claim("late", 100, 30))
            .await
            .expect("claim")
            .is_empty()
    );
}

#[tokio::test]
async fn an_expired_lease_is_reclaimed_and_the_old_owner_is_refused() {
    let (v, clock, store) = memory_vault().await;
    create_jobs(&v, &["scan"]).await;
    let a = v
        .jobs()
        .claim_due(&acct(), claim("a", 10, 10))
        .await
        .expect("a");
    assert_eq!(a.len(), 1);
    let t1 = a[0].fencing_token;
    assert_eq!(
        a[0].lease_expires_at.map(|t| t.as_millis()),
        Some(super::support::T0 + 10_000)
    );
    // Renewed while it holds the lease (a renew at TTL/3).
    clock.advance(Duration::from_secs(3));
    let renewed = v
        .jobs()
        .renew(
            &acct(),
            &jid("scan"),
            lease("a", t1),
            Some(Duration::from_secs(10)),
        )
        .await
        .expect("renew");
    assert_eq!(
        renewed.lease_expires_at.map(|t| t.as_millis()),
        Some(super::support::T0 + 13_000)
    );
    // Not due for anyone else while leased.
    assert!(
        v.jobs()
            .claim_due(&acct(), claim("b", 10, 10))
            .await
            .expect("b")
            .is_empty()
    );
    // The lease runs out (A paused); A's renew after expiry is refused, then B reclaims.
    clock.advance(Duration::from_secs(10));
    let e = v
        .jobs()
        .renew(&acct(), &jid("scan"), lease("a", t1), None)
        .await
        .expect_err("expired");
    assert_eq!(e.code(), "conflict");
    assert!(e.to_string().contains("expired"), "{e}");
    let b = v
        .jobs()
        .claim_due(&acct(), claim("b", 10, 10))
        .await
        .expect("b");
    assert_eq!(b.len(), 1);
    assert_eq!((b[0].fencing_token, b[0].attempt), (t1 + 1, 2));
    assert_eq!(b[0].owner, Some(inst("b")));
    let before = job_records(&store).await;
    // A wakes up: its late release and renew are refused, naming the job and why.
    for e in [
        v.jobs()
            .release(&acct(), &jid("scan"), release("a", t1, JobOutcome::Done))
            .await
            .expect_err("late release"),
        v.jobs()
            .renew(&acct(), &jid("scan"), lease("a", t1), None)
            .await
            .expect_err("late renew"),
    ] {
        assert_eq!(e.code(), "conflict");
        let msg = e.to_string();
        assert!(msg.contains("job 'scan' of account 'acct'"), "{msg}");
        assert!(
            msg.contains(&format!("fencing token {t1} is stale")),
            "{msg}"
        );
    }
    // Another instance presenting B's token is refused too.
    let e = v
        .jobs()
        .release(
            &acct(),
            &jid("scan"),
            release("a", t1 + 1, JobOutcome::Done),
        )
        .await
        .expect_err("not a's");
    assert!(e.to_string().contains("another instance"), "{e}");
    assert_eq!(job_records(&store).await, before, "refusals change nothing");
    // B finishes.
    let done = v
        .jobs()
        .release(
            &acct(),
            &jid("scan"),
            release("b", t1 + 1, JobOutcome::Done),
        )
        .await
        .expect("release");
    assert_eq!(
        (done.state, done.last_outcome),
        (JobState::Done, Some(JobOutcome::Done))
    );
    let e = v
        .jobs()
        .release(
            &acct(),
            &jid("scan"),
            release("b", t1 + 1, JobOutcome::Done),
        )
        .await
        .expect_err("twice");
    assert!(e.to_string().contains("has ended (the job is done)"), "{e}");
    clock.advance(Duration::from_secs(3600));
    assert!(
        v.jobs()
            .claim_due(&acct(), claim("c", 10, 10))
            .await
            .expect("c")
            .is_empty()
    );
}

#[tokio::test]
async fn failed_runs_retry_until_max_attempts_then_dead() {
    let (v, clock, _) = memory_vault().await;
    let mut c = JobCreate::new(jid("flaky"));
    c.max_attempts = Some(2);
    v.jobs().create(&acct(), c).await.expect("create");
    let first = v
        .jobs()
        .claim_due(&acct(), claim("a", 1, 60))
        .await
        .expect("1st");
    let mut failed = release("a", first[0].fencing_token, JobOutcome::Failed);
    let later = vault_core::Timestamp::from_millis(super::support::T0 + 30_000);
    failed.reschedule_at = Some(later);
    let j = v
        .jobs()
        .release(&acct(), &jid("flaky"), failed)
        .await
        .expect("fail 1");
    assert_eq!(
        (j.state, j.run_at, j.attempt),
        (JobState::Pending, later, 1)
    );
    // Not due before its reschedule time.
    assert!(
        v.jobs()
            .claim_due(&acct(), claim("a", 1, 60))
            .await
            .expect("early")
            .is_empty()
    );
    clock.advance(Duration::from_secs(30));
    let second = v
        .jobs()
        .claim_due(&acct(), claim("b", 1, 60))
        .await
        .expect("2nd");
    assert_eq!(second[0].attempt, 2);
    let j = v
        .jobs()
        .release(
            &acct(),
            &jid("flaky"),
            release("b", second[0].fencing_token, JobOutcome::Failed),
        )
        .await
        .expect("fail 2");
    assert_eq!(j.state, JobState::Dead);
    clock.advance(Duration::from_secs(3600));
    assert!(
        v.jobs()
            .claim_due(&acct(), claim("a", 1, 60))
            .await
            .expect("dead")
            .is_empty()
    );

    // A last attempt whose owner vanished dies when its lease is found expired.
    let mut c = JobCreate::new(jid("once"));
    c.max_attempts = Some(1);
    v.jobs().create(&acct(), c).await.expect("create");
    let got = v
        .jobs()
        .claim_due(&acct(), claim("a", 5, 10))
        .await
        .expect("claim");
    assert_eq!(got.len(), 1);
    clock.advance(Duration::from_secs(10));
    assert!(
        v.jobs()
            .claim_due(&acct(), claim("b", 5, 10))
            .await
            .expect("none")
            .is_empty()
    );
    assert_eq!(
        v.jobs()
            .get(&acct(), &jid("once"))
            .await
            .expect("get")
            .state,
        JobState::Dead
    );
}

#[tokio::test]
async fn done_with_a_reschedule_runs_again_with_fresh_attempts() {
    let (v, clock, _) = memory_vault().await;
    create_jobs(&v, &["hourly"]).await;
    let got = v
        .jobs()
        .claim_due(&acct(), claim("a", 1, 60))
        .await
        .expect("claim");
    let next = vault_core::Timestamp::from_millis(super::support::T0 + 3_600_000);
    let mut r = release("a", got[0].fencing_token, JobOutcome::Done);
    r.reschedule_at = Some(next);
    let j = v
        .jobs()
        .release(&acct(), &jid("hourly"), r)
        .await
        .expect("release");
    assert_eq!((j.state, j.run_at, j.attempt), (JobState::Pending, next, 0));
    clock.advance(Duration::from_secs(3600));
    let again = v
        .jobs()
        .claim_due(&acct(), claim("b", 1, 60))
        .await
        .expect("again");
    assert_eq!((again[0].fencing_token, again[0].attempt), (2, 1));
}

#[tokio::test]
async fn sweep_releases_expired_leases_only() {
    let (v, clock, _) = memory_vault().await;
    create_jobs(&v, &["a1", "a2"]).await;
    let mut last = JobCreate::new(jid("a3"));
    last.max_attempts = Some(1);
    v.jobs().create(&acct(), last).await.expect("create");
    v.jobs()
        .claim_due(&acct(), claim("x", 2, 5))
        .await
        .expect("claim a1 a2");
    v.jobs()
        .claim_due(&acct(), claim("x", 1, 60))
        .await
        .expect("claim a3");
    clock.advance(Duration::from_secs(5));
    let report = v.jobs().sweep(&acct()).await.expect("sweep");
    assert_eq!((report.released, report.dead), (2, 0));
    let page = v
        .jobs()
        .list(&acct(), PageRequest::first())
        .await
        .expect("list");
    let states: Vec<(String, JobState)> = page
        .iter()
        .map(|j| (j.job_id.to_string(), j.state))
        .collect();
    assert_eq!(
        states,
        [
            ("a1".to_string(), JobState::Pending),
            ("a2".to_string(), JobState::Pending),
            ("a3".to_string(), JobState::Leased)
        ]
    );
    clock.advance(Duration::from_secs(60));
    let report = v.jobs().sweep(&acct()).await.expect("sweep");
    assert_eq!((report.released, report.dead), (0, 1));
    assert_eq!(
        v.jobs().sweep(&acct()).await.expect("again"),
        Default::default()
    );
    // The released ones are claimable again, with the next token.
    let again = v
        .jobs()
        .claim_due(&acct(), claim("y", 10, 5))
        .await
        .expect("claim");
    assert_eq!(
        again.iter().map(|j| j.fencing_token).collect::<Vec<_>>(),
        [2, 2]
    );
}

#[tokio::test]
async fn create_is_create_if_absent_and_conflicts_on_other_settings() {
    let (v, _, _) = memory_vault().await;
    let at = vault_core::Timestamp::from_millis(super::support::T0 + 1000);
    let mut c = JobCreate::new(jid("j"));
    c.run_at = Some(at);
    let first = v.jobs().create(&acct(), c.clone()).await.expect("create");
    assert!(first.created);
    assert_eq!(
        (first.job.state, first.job.run_at, first.job.max_attempts),
        (JobState::Pending, at, 3)
    );
    let again = v.jobs().create(&acct(), c.clone()).await.expect("same");
    assert!(!again.created);
    assert_eq!(again.job, first.job);
    // Without run_at or max_attempts: the same job (what is not given is not compared).
    assert!(
        !v.jobs()
            .create(&acct(), JobCreate::new(jid("j")))
            .await
            .expect("same")
            .created
    );
    let mut other = c.clone();
    other.max_attempts = Some(5);
    let e = v
        .jobs()
        .create(&acct(), other)
        .await
        .expect_err("other attempts");
    assert_eq!(e.code(), "conflict");
    assert!(
        e.to_string().contains("job 'j' of account 'acct' exists"),
        "{e}"
    );
    let mut other = c;
    other.run_at = Some(vault_core::Timestamp::from_millis(super::support::T0));
    assert_eq!(
        v.jobs()
            .create(&acct(), other)
            .await
            .expect_err("run_at")
            .code(),
        "conflict"
    );
}

#[tokio::test]
async fn fail_bad_input_is_invalid_naming_the_field_and_changes_nothing() {
    let (v, _, store) = memory_vault().await;
    create_jobs(&v, &["j"]).await;
    let before = job_records(&store).await;
    let field = |e: vault_core::Error| (e.code().to_string(), e.field().map(str::to_string));
    let invalid = |f: &str| ("invalid".to_string(), Some(f.to_string()));
    let jobs = v.jobs();
    assert_eq!(
        field(
            jobs.claim_due(&acct(), claim("a", 1, 0))
                .await
                .expect_err("ttl 0")
        ),
        invalid("ttl")
    );
    assert_eq!(
        field(
            jobs.claim_due(&acct(), claim("a", 1, 3601))
                .await
                .expect_err("ttl")
        ),
        invalid("ttl")
    );
    assert_eq!(
        field(
            jobs.claim_due(&acct(), claim("a", 0, 10))
                .await
                .expect_err("0")
        ),
        invalid("limit")
    );
    assert_eq!(
        field(
            jobs.claim_due(&acct(), claim("a", 101, 10))
                .await
                .expect_err("101")
        ),
        invalid("limit")
    );
    let mut c = JobCreate::new(jid("k"));
    c.max_attempts = Some(0);
    assert_eq!(
        field(jobs.create(&acct(), c).await.expect_err("attempts")),
        invalid("max_attempts")
    );
    let e = jobs
        .renew(&acct(), &jid("j"), lease("a", 1), Some(Duration::ZERO))
        .await
        .expect_err("renew ttl");
    assert_eq!(field(e), invalid("ttl"));
    assert_eq!(
        field(AccountId::new("../x").expect_err("account")),
        invalid("account")
    );
    assert_eq!(
        field(JobId::new("claim").expect_err("reserved")),
        invalid("job_id")
    );
    assert_eq!(
        field(JobId::new("a/b").expect_err("slash")),
        invalid("job_id")
    );
    assert_eq!(
        field(InstanceId::new("").expect_err("empty")),
        invalid("instance")
    );
    assert_eq!(job_records(&store).await, before);
    assert_eq!(
        jobs.get(&acct(), &jid("j")).await.expect("get").state,
        JobState::Pending
    );
    let e = jobs.get(&acct(), &jid("nope")).await.expect_err("missing");
    assert_eq!(e.code(), "not_found");
    let e = jobs
        .renew(&acct(), &jid("nope"), lease("a", 1), None)
        .await
        .expect_err("missing");
    assert_eq!(e.code(), "not_found");
}

fn rule(path: &str, caps: &[Capability]) -> Rule {
    Rule {
        path: path.into(),
        capabilities: caps.to_vec(),
    }
}

async fn token(root: &Vault, rules: Vec<Rule>) -> (Vault, String) {
    let created = root
        .tokens()
        .create(TokenCreate {
            name: "scheduler".into(),
            rules,
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let secret = created.token.expose_secret().to_string();
    (root.with_token(&secret).await.expect("with_token"), secret)
}

#[tokio::test]
async fn capabilities_execute_and_read_decide_and_claims_skip_jobs_not_allowed() {
    let (v, _, store) = memory_vault().await;
    create_jobs(&v, &["j1", "j2"]).await;
    let (reader, _) = token(&v, vec![rule("guards/acct/jobs/*", &[Capability::Read])]).await;
    let before = job_records(&store).await;
    for e in [
        reader
            .jobs()
            .claim_due(&acct(), claim("a", 10, 10))
            .await
            .expect_err("claim"),
        reader
            .jobs()
            .create(&acct(), JobCreate::new(jid("j3")))
            .await
            .map(|_| Vec::<Job>::new())
            .expect_err("create"),
        reader
            .jobs()
            .sweep(&acct())
            .await
            .map(|_| Vec::<Job>::new())
            .expect_err("sweep"),
    ] {
        assert_eq!(e.code(), "forbidden");
        assert!(
            e.to_string().contains("may not execute guards/acct/jobs/"),
            "{e}"
        );
    }
    assert_eq!(job_records(&store).await, before);
    assert_eq!(
        reader
            .jobs()
            .list(&acct(), PageRequest::first())
            .await
            .expect("list")
            .len(),
        2
    );
    reader.jobs().get(&acct(), &jid("j1")).await.expect("read");
    // Execute on j1 only: a claim hands out j1 and leaves j2.
    let (runner, _) = token(
        &v,
        vec![rule("guards/acct/jobs/j1", &[Capability::Execute])],
    )
    .await;
    let got = runner
        .jobs()
        .claim_due(&acct(), claim("a", 10, 10))
        .await
        .expect("claim");
    assert_eq!(
        got.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(),
        ["j1"]
    );
    let e = runner
        .jobs()
        .get(&acct(), &jid("j1"))
        .await
        .expect_err("no read");
    assert_eq!(e.code(), "forbidden");
    let e = runner
        .jobs()
        .claim_due(&AccountId::new("other").expect("name"), claim("a", 10, 10))
        .await
        .expect_err("other account");
    assert_eq!(e.code(), "forbidden");
}

#[tokio::test]
async fn every_operation_is_audited_by_job_path_and_names_no_secret() {
    let (v, _, _) = memory_vault().await;
    let (runner, secret) = token(
        &v,
        vec![rule(
            "guards/acct/jobs/**",
            &[Capability::Execute, Capability::Read],
        )],
    )
    .await;
    let jobs = runner.jobs();
    jobs.create(&acct(), JobCreate::new(jid("j1")))
        .await
        .expect("create");
    let got = jobs
        .claim_due(&acct(), claim("a", 10, 10))
        .await
        .expect("claim");
    jobs.renew(&acct(), &jid("j1"), lease("a", got[0].fencing_token), None)
        .await
        .expect("renew");
    jobs.renew(&acct(), &jid("j1"), lease("a", 99), None)
        .await
        .expect_err("stale");
    jobs.release(
        &acct(),
        &jid("j1"),
        release("a", got[0].fencing_token, JobOutcome::Done),
    )
    .await
    .expect("release");
    jobs.sweep(&acct()).await.expect("sweep");
    jobs.get(&acct(), &jid("j1")).await.expect("get");
    jobs.list(&acct(), PageRequest::first())
        .await
        .expect("list");
    v.flush().await.expect("flush");
    let entries = v
        .audit()
        .query(AuditQuery::default())
        .await
        .expect("audit")
        .items;
    let seen: Vec<(String, String, String)> = entries
        .iter()
        .filter(|e| e.op.starts_with("jobs."))
        .map(|e| (e.op.clone(), e.path.clone(), e.outcome.clone()))
        .collect();
    let want = [
        ("jobs.create", "guards/acct/jobs/j1", "ok"),
        ("jobs.claim_due", "guards/acct/jobs/*", "ok"),
        ("jobs.renew", "guards/acct/jobs/j1", "ok"),
        ("jobs.renew", "guards/acct/jobs/j1", "conflict"),
        ("jobs.release", "guards/acct/jobs/j1", "ok"),
        ("jobs.sweep", "guards/acct/jobs/*", "ok"),
        ("jobs.get", "guards/acct/jobs/j1", "ok"),
        ("jobs.list", "guards/acct/jobs/*", "ok"),
    ];
    for w in want {
        assert!(
            seen.contains(&(w.0.to_string(), w.1.to_string(), w.2.to_string())),
            "{w:?} in {seen:?}"
        );
    }
    assert!(
        entries
            .iter()
            .filter(|e| e.op.starts_with("jobs."))
            .all(|e| e.actor_name == "scheduler")
    );
    let text = serde_json::to_string(&entries).expect("json");
    assert!(!text.contains(&secret), "no token in the audit log");
}

#[tokio::test]
async fn list_pages_by_job_id() {
    let (v, _, _) = memory_vault().await;
    create_jobs(&v, &["e", "a", "c", "b", "d"]).await;
    let p1 = v
        .jobs()
        .list(&acct(), PageRequest::new(Some(2), None))
        .await
        .expect("p1");
    assert_eq!(
        p1.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(),
        ["a", "b"]
    );
    let p2 = v
        .jobs()
        .list(&acct(), PageRequest::new(Some(2), p1.next.clone()))
        .await
        .expect("p2");
    assert_eq!(
        p2.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(),
        ["c", "d"]
    );
    let p3 = v
        .jobs()
        .list(&acct(), PageRequest::new(Some(2), p2.next.clone()))
        .await
        .expect("p3");
    assert_eq!(
        p3.iter().map(|j| j.job_id.as_str()).collect::<Vec<_>>(),
        ["e"]
    );
    assert_eq!(p3.next, None);
    let e = v
        .jobs()
        .list(&acct(), PageRequest::new(Some(0), None))
        .await
        .expect_err("0");
    assert_eq!(e.field(), Some("limit"));
}
