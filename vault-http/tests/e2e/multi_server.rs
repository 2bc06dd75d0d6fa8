//! Two `vault-http` processes on one PostgreSQL database, as behind a load balancer: writes
//! through either are seen by the other at once, compare-and-set holds across them, a revoked
//! token is refused by both, a config write through one wakes a watcher on the other, each
//! server's audit chain verifies, and trading-guard claims raced over both servers make one
//! execution per proposal and one per asset within its cooldown.
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

const GUARDS: &str = "/api/vault/guards/acct1";

/// Puts a policy through `http` that allows `BTC/*` with the default cooldown (1 h) and
/// anti-flip window (4 h), and a position limit none of the tests reaches.
async fn put_guard_policy(http: &Http) {
    let policy = json!({"allowlist": ["BTC/*"], "max_position_notional": {"default": "1000000"}});
    let r = http
        .send(
            "PUT",
            &format!("{GUARDS}/policy"),
            crate::support::BEARER,
            Some(policy.to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Sends `bodies[i]` as `POST /decide` through server `i % 2`, every request released at once
/// (each task waits at one barrier before it sends); the replies in the order of `bodies`.
async fn decide_at_once(
    servers: [Arc<Http>; 2],
    bodies: Vec<serde_json::Value>,
) -> Vec<crate::support::Reply> {
    let go = Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let tasks: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let http = servers[i % 2].clone();
            let go = go.clone();
            tokio::spawn(async move {
                go.wait().await;
                http.post(&format!("{GUARDS}/decide"), &body).await
            })
        })
        .collect();
    let mut replies = Vec::new();
    for t in tasks {
        replies.push(t.await.expect("join"));
    }
    replies
}

/// The account's executions as each server lists them (one page).
async fn executions_on_both(servers: &[Arc<Http>; 2]) -> [serde_json::Value; 2] {
    let mut out = [json!(null), json!(null)];
    for (slot, http) in out.iter_mut().zip(servers) {
        let r = http.get(&format!("{GUARDS}/executions?limit=100")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        *slot = r.body["executions"].clone();
    }
    out
}

/// 64 concurrent `POST /decide` of one proposal, 32 through each of two servers on one
/// database: exactly one claim (200), and 63 answers of 409 `already_executed`, each carrying
/// that claim's execution unchanged. Within one process, vault-core's forced interleavings prove
/// "exactly one"; across two processes nothing can be forced, so this is a real race (all 64
/// requests released at once, each server grouping its own): it checks that a claim's commit,
/// conditioned on the execution record it read, holds between processes, where only the
/// database orders the two servers' commits. Both servers list the one execution after.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_proposal_decided_64_times_over_two_servers_is_claimed_once() {
    let Some(p) = pair("multiguardonce").await else {
        return;
    };
    let servers = [Arc::new(p.a.http()), Arc::new(p.b.http())];
    put_guard_policy(&servers[0]).await;
    let body = json!({"proposal_id": "once", "instrument": "BTC/USDT", "side": "buy",
        "notional": "10", "confidence": 0.9});
    let replies = decide_at_once(servers.clone(), vec![body; 64]).await;

    let claims: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(claims.len(), 1, "one claim, not {}", claims.len());
    let first = &claims[0].body["execution"];
    assert_eq!(first["state"], "claimed", "{}", claims[0].text);
    for r in replies.iter().filter(|r| r.status != 200) {
        assert_error(r, 409, "already_executed");
        assert_eq!(&r.body["execution"], first, "the first decision, unchanged");
    }
    for listed in executions_on_both(&servers).await {
        assert_eq!(listed, json!([first]), "one execution, on both servers");
    }
}

/// 32 different proposals on one asset (BTC), half buying and half selling, raced at once
/// through two servers on one database: exactly one is allowed; every other is denied by the
/// cooldown the winner's claim started (and those on the other side by the anti-flip window
/// too), since a claim counts from the moment it is made. A real race across processes, as
/// above: the decisions read the asset's record and the winner's commit changes it, so every
/// contender that read it before loses its commit and is judged again on the claim.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proposals_on_one_asset_raced_over_two_servers_let_one_through() {
    let Some(p) = pair("multiguardasset").await else {
        return;
    };
    let servers = [Arc::new(p.a.http()), Arc::new(p.b.http())];
    put_guard_policy(&servers[1]).await;
    let sides = ["buy", "sell"];
    let bodies = (0..32)
        .map(|i| {
            json!({"proposal_id": format!("p{i}"), "instrument": "BTC/USDT",
                "side": sides[(i / 2) % 2], "notional": "10", "confidence": 0.9})
        })
        .collect();
    let replies = decide_at_once(servers.clone(), bodies).await;

    let allowed: Vec<_> = replies.iter().filter(|r| r.status == 200).collect();
    assert_eq!(allowed.len(), 1, "one allowed, not {}", allowed.len());
    let winner = &allowed[0].body["execution"];
    for (i, r) in replies.iter().enumerate().filter(|(_, r)| r.status != 200) {
        assert_error(r, 422, "guard_rejected");
        let rules: BTreeSet<&str> = r.body["violations"]
            .as_array()
            .expect("violations")
            .iter()
            .map(|v| v["rule"].as_str().expect("rule"))
            .collect();
        assert!(rules.contains("COOLDOWN_ACTIVE"), "{}", r.text);
        if winner["side"] != sides[(i / 2) % 2] {
            assert!(rules.contains("ANTI_FLIP_ACTIVE"), "{}", r.text);
        }
    }
    for listed in executions_on_both(&servers).await {
        assert_eq!(listed, json!([winner]), "one execution, on both servers");
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

/// A TCP proxy in front of the PostgreSQL server that the test can cut (refusing new
/// connections and dropping the open ones) and restore: the database "down" and "back".
struct Proxy {
    addr: String,
    up: Arc<std::sync::atomic::AtomicBool>,
    open: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let up = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let open = Arc::new(std::sync::Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let (up, open) = (up.clone(), open.clone());
            async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        return;
                    };
                    if !up.load(std::sync::atomic::Ordering::SeqCst) {
                        continue; // dropped: the connection is refused
                    }
                    let target = target.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    open.lock().expect("lock").push(task.abort_handle());
                }
            }
        });
        Proxy {
            addr,
            up,
            open,
            accept,
        }
    }

    fn up(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// Refuses new connections and drops every open one.
    fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for t in self.open.lock().expect("lock").drain(..) {
            t.abort();
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.down();
    }
}

/// Polls (a guard of 60 s against a hang, not a measure) until `done` says the answer is the
/// one awaited; returns it.
async fn until(
    http: &Http,
    path: &str,
    done: impl Fn(&crate::support::Reply) -> bool,
) -> crate::support::Reply {
    for _ in 0..300 {
        let r = http.get(path).await;
        if done(&r) {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    panic!("{path} never answered as awaited");
}

/// A server started while its database is unreachable starts anyway: health is `degraded`,
/// operations answer 503 `backend_unavailable`; once the database answers it serves by itself.
/// The same when the database goes away later (its connections dropped) and comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_serves_degraded_while_the_database_is_unreachable_and_recovers() {
    let Some(db) = TestDb::create("degraded").await else {
        return;
    };
    let proxy = Proxy::start(db.host_port()).await;
    let url = db.url_at(&proxy.addr);
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start {
        store: Some(&url),
        ..Start::new(&data, &log)
    }
    .spawn();
    let http = server.http();
    let health = || http.send("GET", "/api/vault/health", Auth::None, None);

    let r = health().await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["status"], "degraded", "{}", r.text);
    assert_eq!(r.body["components"]["store"], "unreachable", "{}", r.text);
    let cred = "/api/vault/credentials/K?service=svc";
    assert_error(&http.get(cred).await, 503, "backend_unavailable");
    let put = json!({"key": "K", "service": "svc", "value": "kept-value"});
    assert_error(
        &http.post("/api/vault/credentials", &put).await,
        503,
        "backend_unavailable",
    );

    proxy.up();
    until(&http, "/api/vault/health", |r| r.body["status"] == "ok").await;
    let r = http.post("/api/vault/credentials", &put).await;
    assert_eq!(r.status, 200, "{}", r.text);

    proxy.down();
    let r = http.get(cred).await;
    assert_error(&r, 503, "backend_unavailable");
    let r = health().await;
    assert_eq!(r.body["status"], "degraded", "{}", r.text);
    assert_eq!(r.body["components"]["store"], "unreachable", "{}", r.text);

    proxy.up();
    let r = until(&http, cred, |r| r.status == 200).await;
    assert_eq!(r.body["value"], "kept-value");
    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "K2", "service": "svc", "value": "after"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.get("/api/vault/audit/verify").await;
    assert_eq!(r.body["valid"], true, "{}", r.text);
}

/// Writers keep putting credentials while every connection to the database is terminated, five
/// times over (as a database restart does): every write the server acknowledged is there after,
/// and the server goes on serving without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_acknowledged_write_is_lost_when_the_database_drops_connections() {
    let Some(p) = pair("terminate").await else {
        return;
    };
    let (a, b) = (Arc::new(p.a.http()), Arc::new(p.b.http()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..6 {
        let http = if w % 2 == 0 { a.clone() } else { b.clone() };
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let (mut acked, mut refused) = (Vec::new(), 0);
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) || i < 10 {
                let key = format!("K_{w}_{i}");
                let r = http
                    .post(
                        "/api/vault/credentials",
                        &json!({"key": key, "service": "load", "value": format!("v-{w}-{i}")}),
                    )
                    .await;
                match r.status {
                    200 => acked.push(key),
                    503 => {
                        assert_eq!(r.body["code"], "backend_unavailable", "{}", r.text);
                        refused += 1;
                    }
                    s => panic!("unexpected {s}: {}", r.text),
                }
                i += 1;
            }
            (acked, refused)
        }));
    }
    let mut terminated = 0;
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(150)).await;
        terminated += p._db.terminate_connections().await;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (mut acked, mut refused) = (Vec::new(), 0);
    for t in writers {
        let (a, r) = t.await.expect("join");
        acked.extend(a);
        refused += r;
    }
    assert!(terminated > 0, "connections were terminated");
    assert!(!acked.is_empty());
    for http in [&a, &b] {
        until(http, "/api/vault/health", |r| r.body["status"] == "ok").await;
    }
    for key in &acked {
        let (w, i) = key["K_".len()..].split_once('_').expect("key");
        let r = b
            .get(&format!("/api/vault/credentials/{key}?service=load"))
            .await;
        assert_eq!(r.status, 200, "acknowledged {key} lost: {}", r.text);
        assert_eq!(r.body["value"], format!("v-{w}-{i}"));
    }
    for http in [&a, &b] {
        let r = http.get("/api/vault/audit/verify").await;
        assert_eq!(r.body["valid"], true, "{}", r.text);
    }
    eprintln!(
        "{} writes acknowledged, {refused} refused with 503, {terminated} connections terminated",
        acked.len()
    );
}

/// Runs `vault-http migrate --from sled:DATA --to URL` with the test root key, retrying while
/// sled still holds the lock of a vault that let go of the directory a moment ago.
async fn migrate(data: &std::path::Path, to: &str) -> std::process::Output {
    migrate_with_key(data, to, Some(crate::support::KEY_HEX)).await
}

/// [`migrate`] with `VVAULT_ENCRYPTION_KEY` set to `key` (`None`: unset, a dev-mode directory).
async fn migrate_with_key(
    data: &std::path::Path,
    to: &str,
    key: Option<&str>,
) -> std::process::Output {
    let run = || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vault-http"));
        cmd.args(["migrate", "--to", to, "--from"])
            .arg(format!("sled:{}", data.display()))
            .env_remove("VAULT_STORE_URL")
            .env_remove("VAULT_ENCRYPTION_KEY")
            .env_remove("VVAULT_ENCRYPTION_KEY");
        if let Some(k) = key {
            cmd.env("VVAULT_ENCRYPTION_KEY", k);
        }
        cmd.output().expect("run migrate")
    };
    let mut out = run();
    for _ in 0..50 {
        if out.status.success() || !String::from_utf8_lossy(&out.stderr).contains("in use") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        out = run();
    }
    out
}

/// A `pg_dump` of the database, as text (bytea values as hex).
fn pg_dump(url: &str) -> String {
    let out = std::process::Command::new("pg_dump")
        .args(["--data-only", "--inserts", "--dbname", url])
        .output()
        .expect("pg_dump runs (PostgreSQL's client tools must be installed)");
    assert!(out.status.success(), "pg_dump failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What `serve --data` writes (credential value keys in `DATA/value.keys`) migrated: the live
/// keys move into the database sealed, so a server on it reads every version readable before,
/// the destroyed one stays destroyed, and a destroy or delete there erases the moved key. A
/// `pg_dump` holds neither a planted value nor the bytes of any value key.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_moves_the_value_keys_of_a_served_vault_into_postgres() {
    let Some(db) = TestDb::create("migratekeys").await else {
        return;
    };
    let dir = TestDir::new();
    let data = dir.data();
    let planted = |n: u32| format!("PLANTED-migrated-value-{n}-7c41e9");
    let cred = |key: &str, service: &str, v: u64| {
        format!("/api/vault/credentials/{key}?service={service}&version={v}")
    };
    let server = dir.start();
    let http = server.http();
    for n in 1..=3 {
        let r = http
            .post(
                "/api/vault/credentials",
                &json!({"key": "API_KEY", "service": "svc", "value": planted(n)}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "OTHER", "service": "svc2", "value": planted(4)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .post(
            "/api/vault/credentials/API_KEY/versions/1/destroy?service=svc",
            &json!({}),
        )
        .await;
    assert_eq!(r.body["version"]["state"], "destroyed", "{}", r.text);
    assert_error(
        &http.get(&cred("API_KEY", "svc", 1)).await,
        404,
        "not_found",
    );
    assert!(server.terminate().success());
    // The live keys in the file: those of API_KEY v2 and v3 and OTHER v1.
    let file = std::fs::read(data.join("value.keys")).expect("value.keys");
    let raw_keys: Vec<&[u8]> = file
        .chunks_exact(32)
        .skip(1)
        .filter(|s| s.iter().any(|b| *b != 0))
        .collect();
    assert_eq!(raw_keys.len(), 3, "three live value keys");

    let out = migrate(&data, db.url()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("moved 3 credential value keys"), "{stdout}");
    assert!(stdout.contains("verified"), "{stdout}");
    for text in [&stdout, &stderr] {
        assert!(!text.contains("PLANTED"), "{text}");
        assert!(!text.contains(crate::support::KEY_HEX), "{text}");
    }

    let log = dir.tmp.path().join("pg.log");
    let server = Start {
        store: Some(db.url()),
        ..Start::new(&data, &log)
    }
    .spawn();
    let http = server.http();
    for (key, service, v, n) in [
        ("API_KEY", "svc", 2, 2),
        ("API_KEY", "svc", 3, 3),
        ("OTHER", "svc2", 1, 4),
    ] {
        let r = http.get(&cred(key, service, v)).await;
        assert_eq!(r.status, 200, "{key} v{v}: {}", r.text);
        assert_eq!(r.body["value"], planted(n), "{}", r.text);
    }
    let r = http.get(&cred("API_KEY", "svc", 1)).await;
    assert_error(&r, 404, "not_found");
    assert!(r.text.contains("destroyed"), "{}", r.text);
    assert_eq!(pg_dump(db.url()).matches(&hex_of(b"sys/vk/f")).count(), 3);

    // A destroy and a delete on the database erase the moved keys.
    let r = http
        .post(
            "/api/vault/credentials/API_KEY/versions/2/destroy?service=svc",
            &json!({}),
        )
        .await;
    assert_eq!(r.body["version"]["state"], "destroyed", "{}", r.text);
    assert_error(
        &http.get(&cred("API_KEY", "svc", 2)).await,
        404,
        "not_found",
    );
    let r = http
        .delete("/api/vault/credentials/OTHER?service=svc2")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.get(&cred("API_KEY", "svc", 3)).await;
    assert_eq!(r.body["value"], planted(3), "{}", r.text);
    let r = http.get("/api/vault/audit/verify").await;
    assert_eq!(r.body["valid"], true, "{}", r.text);
    drop(server);

    let dump = pg_dump(db.url());
    assert!(dump.contains("vault_kv"), "the dump has the table");
    assert_eq!(
        dump.matches(&hex_of(b"sys/vk/f")).count(),
        1,
        "only API_KEY v3's moved key is left"
    );
    for n in 1..=4 {
        let p = planted(n);
        assert!(
            !dump.contains(&p) && !dump.contains(&hex_of(p.as_bytes())),
            "value {n}"
        );
    }
    for (i, k) in raw_keys.iter().enumerate() {
        assert!(!dump.contains(&hex_of(k)), "raw value key {i} in the dump");
    }
}

/// A dev-mode directory (its root key in `DIR/root.key`) migrates without a key in the
/// environment: the moved value keys are sealed under the vault's keys from that file, and a
/// server on the database started with that key reads the value. A directory made with a key
/// given in the environment is refused without it (`wrong_key`), nothing copied.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_of_a_dev_mode_directory_uses_its_key_file() {
    let Some(db) = TestDb::create("migratedev").await else {
        return;
    };
    let keyed = TestDir::new();
    let server = keyed.start();
    let r = server
        .http()
        .post(
            "/api/vault/credentials",
            &json!({"key": "K", "service": "svc", "value": "keyed-value"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(server.terminate().success());
    let out = migrate_with_key(&keyed.data(), db.url(), None).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("wrong_key"), "{stderr}");

    let dev = TestDir::new();
    let data = dev.data();
    let log = dev.log();
    let server = Start {
        key: None,
        ..Start::new(&data, &log)
    }
    .spawn();
    let r = server
        .http()
        .post(
            "/api/vault/credentials",
            &json!({"key": "K", "service": "svc", "value": "dev-mode-value"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(server.terminate().success());
    let out = migrate_with_key(&data, db.url(), None).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("moved 1 credential value keys"), "{stdout}");

    let root_key = std::fs::read_to_string(data.join("root.key")).expect("dev-mode key");
    let pg_log = dev.tmp.path().join("pg.log");
    let server = Start {
        store: Some(db.url()),
        key: Some(root_key.trim()),
        ..Start::new(&data, &pg_log)
    }
    .spawn();
    let r = server
        .http()
        .get("/api/vault/credentials/K?service=svc")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["value"], "dev-mode-value", "{}", r.text);
}

/// `vault-http migrate --from sled:DIR --to URL` copies a stopped vault's store into an empty
/// database; a server on the database then serves the same credentials, configs, tokens and
/// audit log with the same key. A second migration into the now non-empty database is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrate_copies_a_sled_vault_into_postgres() {
    let Some(db) = TestDb::create("migrate").await else {
        return;
    };
    // A vault whose value keys are in its store (written by the library on a sled store).
    let dir = TestDir::new();
    let data = dir.data();
    {
        let store = vault_core::store::SledStore::open(data.join("store")).expect("sled");
        let key = vault_core::crypto::RootKeySource::parse(crate::support::KEY_HEX).expect("key");
        let v = vault_core::Vault::builder()
            .store(Arc::new(store))
            .key(key)
            .open()
            .await
            .expect("open");
        let put = vault_core::CredentialPut::new(
            vault_core::ServiceName::new("svc").expect("svc"),
            vault_core::CredentialKey::new("API_KEY").expect("key"),
            "migrated-secret",
        );
        vault_core::CredentialsApi::put(v.credentials(), put)
            .await
            .expect("put");
        v.close().await.expect("close");
    }
    let out = migrate(&data, db.url()).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("verified"), "{stdout}");
    assert!(stderr.contains("(100%)"), "progress: {stderr}");

    let log = dir.tmp.path().join("pg.log");
    let server = Start {
        store: Some(db.url()),
        ..Start::new(&data, &log)
    }
    .spawn();
    let http = server.http();
    let r = http.get("/api/vault/credentials/API_KEY?service=svc").await;
    assert_eq!(r.body["value"], "migrated-secret", "{}", r.text);
    for v in 0..3 {
        let r = http
            .post(CONFIGS, &json!({"strategy_id": "m", "params": {"v": v}}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let (token, _) = mint(&http, "reader").await;
    let r = http
        .send(
            "GET",
            "/api/vault/credentials/API_KEY?service=svc",
            Auth::Bearer(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.get("/api/vault/audit/verify").await;
    assert_eq!(r.body["valid"], true, "{}", r.text);
    drop(server);

    let out = migrate(&data, db.url()).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
