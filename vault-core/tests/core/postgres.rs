//! The PostgreSQL store: the generic conformance suite, then what only a shared database has —
//! commits racing from two stores (two pools: as two servers), concurrent migrations, the
//! change feed, and what reaches the database (sealed bytes only, checked with `pg_dump`).
//!
//! Each test creates a database of its own and drops it at the end
//! (`store::testing::postgres::TestDb`). Without a PostgreSQL server the tests say loudly that
//! they were skipped and pass, except under `CI=true`, where they fail.

use std::sync::Arc;

use vault_core::crypto::SecretString;
use vault_core::store::testing::postgres::TestDb;
use vault_core::store::{Condition, PgStore, SharedStore, Write};
use vault_core::{CredentialsApi, Vault};

use super::support::{cput, key};

async fn pg(test: &str) -> Option<(TestDb, SharedStore)> {
    let db = TestDb::create(test).await?;
    let store: SharedStore = Arc::new(db.store().await);
    Some((db, store))
}

/// Skips the test (loudly; fails under CI=true) when no server answers.
macro_rules! pg_or_skip {
    ($test:expr) => {
        match pg($test).await {
            Some(x) => x,
            None => return,
        }
    };
}

vault_core::store_conformance_suite!(postgres_backend, pg_or_skip!("conformance"));

/// Two stores (two pools, as two servers would have) on one fresh database.
async fn two_stores(test: &str) -> Option<(TestDb, SharedStore, SharedStore)> {
    let db = TestDb::create(test).await?;
    let a: SharedStore = Arc::new(db.store().await);
    let b: SharedStore = Arc::new(db.store().await);
    Some((db, a, b))
}

fn counter(v: Option<&[u8]>) -> u64 {
    v.map_or(0, |b| u64::from_be_bytes(b.try_into().expect("8 bytes")))
}

/// The worst interleaving: every contender (half on each store) has read the counter before
/// any of them commits, then all commit "if it is still what I read". Exactly one may win; a
/// commit that checked its condition without holding off the others (READ COMMITTED alone)
/// lets them all win.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn read_then_commit_across_two_stores_has_exactly_one_winner() {
    let Some((_db, a, b)) = two_stores("interleaved").await else {
        return;
    };
    for round in 0..5u64 {
        let n = 8;
        let barrier = Arc::new(tokio::sync::Barrier::new(n));
        let mut tasks = Vec::new();
        for i in 0..n {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                let cur = s.get(b"ctr").await.expect("get");
                barrier.wait().await;
                let cond = Condition::unchanged(b"ctr", cur.as_deref());
                let next = counter(cur.as_deref()) + 1;
                let writes = vec![
                    Write::Put(b"ctr".to_vec(), next.to_be_bytes().to_vec()),
                    Write::Put(format!("won/{round}/{i}").into_bytes(), vec![1]),
                ];
                s.commit(vec![cond], writes).await.expect("commit")
            }));
        }
        let mut winners = 0;
        for t in tasks {
            winners += usize::from(t.await.expect("join"));
        }
        assert_eq!(winners, 1, "round {round}");
        assert_eq!(
            counter(a.get(b"ctr").await.expect("get").as_deref()),
            round + 1
        );
        let won = b
            .scan(format!("won/{round}/").as_bytes(), None, 100)
            .await
            .expect("scan");
        assert_eq!(won.len(), 1, "only the winner's other write landed");
    }
    // The same for a key that does not exist yet: exactly one `Absent` claim wins.
    let barrier = Arc::new(tokio::sync::Barrier::new(8));
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            assert_eq!(s.get(b"claim").await.expect("get"), None);
            barrier.wait().await;
            s.commit(
                vec![Condition::Absent(b"claim".to_vec())],
                vec![Write::Put(b"claim".to_vec(), vec![i])],
            )
            .await
            .expect("commit")
        }));
    }
    let mut winners = 0;
    for t in tasks {
        winners += usize::from(t.await.expect("join"));
    }
    assert_eq!(winners, 1);
}

/// Compare-and-set increments from many tasks over two stores: none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn increments_across_two_stores_lose_nothing() {
    let Some((_db, a, b)) = two_stores("increments").await else {
        return;
    };
    let (tasks_per_store, each) = (8, 25);
    let mut tasks = Vec::new();
    for i in 0..2 * tasks_per_store {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut lost = 0u64;
            for _ in 0..each {
                loop {
                    let cur = s.get(b"ctr").await.expect("get");
                    let cond = Condition::unchanged(b"ctr", cur.as_deref());
                    let next = (counter(cur.as_deref()) + 1).to_be_bytes().to_vec();
                    if s.commit(vec![cond], vec![Write::Put(b"ctr".to_vec(), next)])
                        .await
                        .expect("commit")
                    {
                        break;
                    }
                    lost += 1;
                }
            }
            lost
        }));
    }
    let mut conflicts = 0;
    for t in tasks {
        conflicts += t.await.expect("join");
    }
    let total = counter(b.get(b"ctr").await.expect("get").as_deref());
    assert_eq!(total, 2 * tasks_per_store * each);
    eprintln!("{total} increments, {conflicts} compare-and-set retries");
}

/// Four stores opening a new database at once: each migration is applied once, all open.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_opens_migrate_once() {
    let Some(db) = TestDb::create("migrations").await else {
        return;
    };
    let opens: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url().to_string();
            tokio::spawn(async move { PgStore::open(&url).await })
        })
        .collect();
    let mut stores = Vec::new();
    for o in opens {
        stores.push(o.await.expect("join").expect("open"));
    }
    assert_eq!(stores[0].schema_version().await.expect("version"), 1);
    let rows = db
        .execute("SELECT count(*)::text FROM vault_schema_migrations")
        .await;
    let count = rows.iter().find_map(|m| match m {
        tokio_postgres::SimpleQueryMessage::Row(r) => r.get(0).map(str::to_string),
        _ => None,
    });
    assert_eq!(count.as_deref(), Some("1"));
    // A database migrated by a newer build is refused, not used.
    db.execute("INSERT INTO vault_schema_migrations (version, name) VALUES (999, 'future')")
        .await;
    let e = PgStore::open(db.url()).await.err().expect("refused");
    assert_eq!(e.code(), "invalid");
    for s in &stores {
        s.close();
    }
}

/// Acknowledged commits are durable even where the database's default is not: a connection of
/// the store turns `synchronous_commit = off` back on.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn connections_commit_synchronously_even_where_the_default_is_off() {
    let Some(db) = TestDb::create("synccommit").await else {
        return;
    };
    db.execute(&format!(
        "ALTER DATABASE {} SET synchronous_commit = off",
        db.name()
    ))
    .await;
    let store = db.store().await;
    assert_eq!(
        store
            .session_setting("synchronous_commit")
            .await
            .expect("setting"),
        "on"
    );
    store.close();
}

/// A commit through one store under a followed prefix reaches the other store's feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn change_feed_carries_commits_of_another_store() {
    let Some((_db, a, b)) = two_stores("feed").await else {
        return;
    };
    let mut on_b = b.changes(b"cfg/r/").expect("postgres has a feed");
    let _on_a = a.changes(b"cfg/r/").expect("postgres has a feed");
    // The listener says "anything may have changed" once it listens.
    assert_eq!(next(&mut on_b).await, Vec::<u8>::new());
    assert!(
        a.commit(
            vec![],
            vec![
                Write::Put(b"other/x".to_vec(), vec![1]),
                Write::Put(b"cfg/r/svc".to_vec(), vec![1]),
            ]
        )
        .await
        .expect("commit")
    );
    assert_eq!(next(&mut on_b).await, b"cfg/r/svc".to_vec());
    // A commit that did not apply notifies nobody; the next one that does is the next heard.
    assert!(
        !a.commit(
            vec![Condition::Absent(b"cfg/r/svc".to_vec())],
            vec![Write::Put(b"cfg/r/lost".to_vec(), vec![1])]
        )
        .await
        .expect("commit")
    );
    assert!(
        b.commit(vec![], vec![Write::Delete(b"cfg/r/gone".to_vec())])
            .await
            .expect("commit")
    );
    assert_eq!(next(&mut on_b).await, b"cfg/r/gone".to_vec());
}

/// No secret reaches the database in the clear: a planted credential value and config
/// parameter are nowhere in a `pg_dump` of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_dump_holds_no_planted_value() {
    let Some((db, store)) = pg("pgdump").await else {
        return;
    };
    let vault = Vault::builder()
        .store(store)
        .key(key(7))
        .open()
        .await
        .expect("open");
    let planted = "PLANTED-credential-value-5f3a9c";
    vault
        .credentials()
        .put(cput(
            "svc",
            "API_KEY",
            SecretString::new(planted.to_string()),
        ))
        .await
        .expect("put");
    let got = CredentialsApi::get(
        vault.credentials(),
        &super::support::ckey("API_KEY"),
        Some(&super::support::svc("svc")),
    )
    .await
    .expect("get");
    assert_eq!(got.value.expose_secret(), planted);
    let planted_param = "PLANTED-config-param-91d2e7";
    let mut put = vault_core::ConfigPut::new(super::support::sid("strat"));
    put.params = Some(
        serde_json::json!({"api_secret": planted_param})
            .as_object()
            .expect("object")
            .clone(),
    );
    vault_core::ConfigsApi::put(vault.configs(), &super::support::svc("fx"), put)
        .await
        .expect("config put");
    vault.close().await.expect("close");
    let out = std::process::Command::new("pg_dump")
        .args(["--data-only", "--inserts", "--dbname", db.url()])
        .output()
        .expect("pg_dump runs (PostgreSQL's client tools must be installed)");
    assert!(out.status.success(), "pg_dump failed");
    let dump = String::from_utf8_lossy(&out.stdout);
    assert!(dump.contains("vault_kv"), "the dump has the table");
    // bytea is dumped as hex: look for the value as text and as the hex of its bytes.
    for p in [planted, planted_param] {
        assert!(!dump.contains(p), "{p} in the clear");
        assert!(!dump.contains(&hex_of(p)), "{p} in the clear (bytea)");
    }
    for family in ["cred/", "cfg/"] {
        assert!(
            dump.contains(&hex_of(family)),
            "keys are there in the clear: {family}"
        );
    }
}

fn hex_of(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The next change of a feed. The timeout guards against a hang; it measures nothing.
async fn next(rx: &mut tokio::sync::broadcast::Receiver<Vec<u8>>) -> Vec<u8> {
    tokio::time::timeout(std::time::Duration::from_secs(30), rx.recv())
        .await
        .expect("a change within 30 s")
        .expect("feed open")
}

/// The guards on PostgreSQL: 64 decisions of one proposal spread over two vaults (two servers)
/// on one database, every one reading the asset before any commits, make one execution.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn guard_claims_over_two_servers_on_postgres_make_one_execution() {
    use vault_core::guards::Decimal;
    use vault_core::{DecisionOutcome, GuardsApi, PolicyPut, Proposal, ProposalOrigin, Side};

    let Some((_db, store)) = pg("guards").await else {
        return;
    };
    let open = |s: SharedStore| async move {
        Vault::builder()
            .store(s)
            .key(key(7))
            .kdf(vault_core::crypto::KdfParams::dangerously_cheap_for_tests())
            .open()
            .await
            .expect("open")
    };
    let v = open(store.clone()).await;
    let account = vault_core::ServiceName::new("acct1").expect("account");
    let policy = serde_json::json!({"allowlist": ["BTC/*"],
        "max_position_notional": {"default": "1000000"}});
    v.guards()
        .put_policy(
            &account,
            PolicyPut {
                policy: serde_json::from_value(policy).expect("policy"),
                comment: None,
                expected_version: None,
            },
        )
        .await
        .expect("policy");
    let gate: SharedStore = Arc::new(vault_core::store::testing::ReadGateStore::new(
        store.clone(),
        b"grd/s/acct1/a/BTC",
        64,
    ));
    let servers = [open(gate.clone()).await, open(gate).await];
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let v = servers[i % 2].clone();
            let account = account.clone();
            tokio::spawn(async move {
                let p = Proposal {
                    proposal_id: "once".into(),
                    instrument: "BTC/USDT".into(),
                    side: Side::Buy,
                    notional: Decimal::from(10),
                    confidence: 0.9,
                    origin: ProposalOrigin::Discretionary,
                    expires_at: None,
                };
                v.guards().decide(&account, p).await
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        let d = t.await.expect("join").expect("decide");
        assert_ne!(d.outcome, DecisionOutcome::Denied, "{:?}", d.violations);
        allowed += usize::from(d.outcome == DecisionOutcome::Allowed);
    }
    assert_eq!(allowed, 1);
    let executions = v
        .guards()
        .executions(&account, vault_core::PageRequest::default())
        .await
        .expect("executions");
    assert_eq!(executions.items.len(), 1);
}
