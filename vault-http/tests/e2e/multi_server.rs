//! Two `vault-http` processes on one PostgreSQL database, as behind a load balancer: writes
//! through either are seen by the other at once, compare-and-set holds across them, a revoked
//! token is refused by both, a config write through one wakes a watcher on the other, and each
//! server's audit chain verifies.
//!
//! Each test creates its own database and drops it at the end. Without a PostgreSQL server the
//! tests say loudly that they were skipped and pass, except under `CI=true` (they fail).

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::json;
use vault_core::store::testing::postgres::TestDb;

use crate::support::{Auth, Http, Server, Start, TestDir, assert_error};

/// Two servers on one fresh database (and the test directory holding their logs).
struct Pair {
    a: Server,
    b: Server,
    _dirs: (TestDir, TestDir),
    _db: TestDb,
}

async fn pair(test: &str) -> Option<Pair> {
    let db = TestDb::create(test).await?;
    let (da, db_dir) = (TestDir::new(), TestDir::new());
    let start = |dir: &TestDir| {
        let (data, log) = (dir.data(), dir.log());
        Start {
            store: Some(db.url()),
            ..Start::new(&data, &log)
        }
        .spawn()
    };
    let a = start(&da);
    let b = start(&db_dir);
    Some(Pair {
        a,
        b,
        _dirs: (da, db_dir),
        _db: db,
    })
}

const CONFIGS: &str = "/api/vault/configs/fx";

/// 200 writers, each putting the config once with the version it read as `expected_version`
/// (retrying on 409), through the two servers alternately, 20 in flight at any time (all 200 at
/// once retry some 16 000 times, most of a minute, for no more coverage): every write lands
/// exactly once, as one version of 2..=201.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn config_puts_through_two_servers_lose_no_update() {
    let Some(p) = pair("multiconfigs").await else {
        return;
    };
    let (a, b) = (Arc::new(p.a.http()), Arc::new(p.b.http()));
    let r = a
        .post(
            CONFIGS,
            &json!({"strategy_id": "m", "params": {"writer": -1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let writers = 200;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(20));
    let mut tasks = Vec::new();
    for i in 0..writers {
        let http = if i % 2 == 0 { a.clone() } else { b.clone() };
        let in_flight = in_flight.clone();
        tasks.push(tokio::spawn(async move {
            let _turn = in_flight.acquire().await.expect("semaphore");
            let mut conflicts = 0u32;
            loop {
                let r = http.get(&format!("{CONFIGS}/m")).await;
                assert_eq!(r.status, 200, "{}", r.text);
                let read = r.body["config"]["version"].as_u64().expect("version");
                let r = http
                    .post(
                        CONFIGS,
                        &json!({"strategy_id": "m", "params": {"writer": i},
                                "expected_version": read}),
                    )
                    .await;
                match r.status {
                    200 => {
                        let v = r.body["version"].as_u64().expect("version");
                        assert_eq!(v, read + 1, "a put is the next version of what it read");
                        return (v, conflicts);
                    }
                    409 => conflicts += 1,
                    s => panic!("unexpected {s}: {}", r.text),
                }
            }
        }));
    }
    let mut versions = BTreeSet::new();
    let mut conflicts = 0;
    for t in tasks {
        let (v, c) = t.await.expect("join");
        assert!(versions.insert(v), "version {v} acknowledged twice");
        conflicts += c;
    }
    assert_eq!(versions, (2..=writers + 1).collect::<BTreeSet<u64>>());
    for http in [&a, &b] {
        let r = http.get(&format!("{CONFIGS}/m")).await;
        assert_eq!(r.body["config"]["version"], writers + 1, "{}", r.text);
    }
    eprintln!("{writers} puts over two servers, {conflicts} conflicts retried");
}

async fn mint(http: &Http, name: &str) -> (String, String) {
    let r = http
        .post(
            "/api/vault/tokens",
            &json!({"name": name, "rules": [{"path": "credentials/svc/*", "capabilities": ["read"]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    (
        r.body["token"].as_str().expect("token").to_string(),
        r.body["id"].as_str().expect("id").to_string(),
    )
}

/// A credential written through one server is read through the other at once; a token made on
/// one works on the other, and once revoked on one is refused by the other at its next request.
/// Both servers' audit chains (one writer each) verify afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn credentials_and_tokens_are_shared_and_audit_verifies_on_both() {
    let Some(p) = pair("multicreds").await else {
        return;
    };
    let (a, b) = (p.a.http(), p.b.http());
    for n in 1..=3 {
        let value = format!("secret-value-{n}");
        let r = a
            .post(
                "/api/vault/credentials",
                &json!({"key": "API_KEY", "service": "svc", "value": value}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = b.get("/api/vault/credentials/API_KEY?service=svc").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["value"], value.as_str(), "{}", r.text);
        assert_eq!(r.body["version"], n);
    }

    let (token, id) = mint(&a, "reader").await;
    let read = "/api/vault/credentials/API_KEY?service=svc";
    let r = b.send("GET", read, Auth::Bearer(&token), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = a.delete(&format!("/api/vault/tokens/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = b.send("GET", read, Auth::Bearer(&token), None).await;
    assert_error(&r, 401, "unauthorized");

    for http in [&a, &b] {
        let r = http.get("/api/vault/audit/verify").await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["valid"], true, "{}", r.text);
        assert!(r.body["entries"].as_u64().expect("entries") > 0);
    }
}

/// A watcher parked on one server is woken by a config write through the other (the store's
/// LISTEN/NOTIFY feed), and comes back with the change: without the feed it would wait out its
/// 30 s and come back empty.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_through_one_server_wakes_a_watcher_on_the_other() {
    let Some(p) = pair("multiwatch").await else {
        return;
    };
    let (a, b) = (p.a.http(), Arc::new(p.b.http()));
    for round in 1..=3u64 {
        let r = b.get(&format!("{CONFIGS}/watch?timeout=0")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let since = r.body["revision"].as_u64().expect("revision");
        let watch = tokio::spawn({
            let b = b.clone();
            async move {
                b.get(&format!("{CONFIGS}/watch?since={since}&timeout=30"))
                    .await
            }
        });
        // Gives the watch time to park (if it has not, it still sees the write when it reads
        // the revision; the assertion below holds either way).
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let written = std::time::Instant::now();
        let r = a
            .post(CONFIGS, &json!({"strategy_id": format!("s{round}")}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = watch.await.expect("join");
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body["changes"],
            json!([{"strategy_id": format!("s{round}"), "version": 1}]),
            "{}",
            r.text
        );
        assert_eq!(r.body["revision"], since + 1);
        eprintln!(
            "round {round}: the watcher on the other server answered {:?} after the write",
            written.elapsed()
        );
    }
}

/// Without a data directory, a PostgreSQL store needs the root key and the service token:
/// there is nowhere for dev-mode files.
#[tokio::test]
async fn a_postgres_store_without_data_dir_needs_key_and_token() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let url = "postgres://nobody@127.0.0.1:1/none";
    for (token, key, missing) in [
        (None, Some(crate::support::KEY_HEX), "VVAULT_SERVICE_TOKEN"),
        (Some(crate::support::TOKEN), None, "VVAULT_ENCRYPTION_KEY"),
    ] {
        let status = Start {
            store: Some(url),
            token,
            key,
            ..Start::new(&data, &log)
        }
        .run_to_exit();
        assert!(!status.success());
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(text.contains(missing), "{text}");
        assert!(!data.exists(), "no data directory is created");
    }
}
