//! Config lifecycle over HTTP and through the remote client: who/when/comment, typed
//! validation, delete keeping history, revisions and the watch long-poll.

use std::time::Duration;

use serde_json::{Value, json};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{ConfigPut, ConfigRollback, ServiceName, StrategyId};

use crate::support::{Auth, Http, TOKEN, TestDir, assert_error};

const CONFIGS: &str = "/api/vault/configs/fx";

fn client(base: &str) -> RemoteVault {
    RemoteVault::new(
        base,
        ClientOptions {
            token: Some(SecretString::from(TOKEN)),
            timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        },
    )
    .expect("client")
}

async fn put(http: &Http, body: Value) -> Value {
    let r = http.post(CONFIGS, &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

#[tokio::test]
async fn versions_carry_who_and_why_and_reads_carry_the_revision() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    put(
        &http,
        json!({"strategy_id": "m", "params": {"fast": 12}, "comment": "first"}),
    )
    .await;
    let r = http
        .send(
            "POST",
            "/api/vault/tokens",
            crate::support::BEARER,
            Some(
                json!({"name": "deployer", "rules": [{"path": "configs/**", "capabilities": ["read", "write"]}]})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let (token, id) = (
        r.body["token"].as_str().expect("token").to_string(),
        r.body["id"].as_str().expect("id").to_string(),
    );
    let r = http
        .send(
            "POST",
            CONFIGS,
            Auth::Bearer(&token),
            Some(
                json!({"strategy_id": "m", "params": {"fast": 10}})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .post(
            &format!("{CONFIGS}/m/rollback"),
            &json!({"to_version": 1, "comment": "undo", "expected_version": 2}),
        )
        .await;
    assert_eq!(r.body["version"], 3, "{}", r.text);

    let h = http.get(&format!("{CONFIGS}/m/history")).await;
    assert_eq!(h.body["revision"], 3, "{}", h.text);
    let seen: Vec<(Value, Value)> = h.body["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|c| (c["changed_by"].clone(), c["comment"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (json!({"id": "root", "name": "root"}), json!("undo")),
            (json!({"id": id, "name": "deployer"}), Value::Null),
            (json!({"id": "root", "name": "root"}), json!("first")),
        ]
    );
    let got = http.get(&format!("{CONFIGS}/m")).await;
    assert_eq!(
        (
            got.body["revision"].clone(),
            got.body["config"]["version"].clone()
        ),
        (json!(3), json!(3))
    );
    let listed = http.get(CONFIGS).await;
    assert_eq!(listed.body["revision"], 3, "{}", listed.text);

    let remote = client(&server.base);
    let c = remote
        .configs()
        .get(
            &ServiceName::new("fx").expect("svc"),
            &StrategyId::new("m").expect("id"),
            Some(2),
        )
        .await
        .expect("get");
    assert_eq!(
        (c.revision, c.changed_by.map(|b| b.name)),
        (3, Some("deployer".to_string()))
    );
    let page = remote
        .configs()
        .list(
            &ServiceName::new("fx").expect("svc"),
            vault_core::PageRequest::first(),
        )
        .await
        .expect("list");
    assert_eq!(page.revision, Some(3));
}

#[tokio::test]
async fn bad_config_input_is_refused_with_the_field_and_changes_nothing() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    put(&http, json!({"strategy_id": "m"})).await;
    for (body, field) in [
        (json!({"strategy_id": "m", "comment": 5}), None),
        (
            json!({"strategy_id": "m", "comment": "x".repeat(1025)}),
            Some("comment"),
        ),
        (
            json!({"strategy_id": "m", "comment": "a\u{0}b"}),
            Some("comment"),
        ),
        (
            json!({"strategy_id": "m", "symbols": ["A", "B", "A"]}),
            Some("symbols[2]"),
        ),
        (
            json!({"strategy_id": "m", "risk_limits": {"max_daily_loss": 1.01}}),
            Some("risk_limits.max_daily_loss"),
        ),
        (
            json!({"strategy_id": "m", "risk_limits": {"max_position_size": -1}}),
            Some("risk_limits.max_position_size"),
        ),
        (
            json!({"strategy_id": "m", "risk_limits": {"max_trades_per_day": 0.5}}),
            Some("risk_limits.max_trades_per_day"),
        ),
    ] {
        let r = http.post(CONFIGS, &body).await;
        assert_error(&r, 400, "invalid");
        if let Some(field) = field {
            assert_eq!(r.body["field"], field, "{}", r.text);
        }
    }
    for (query, field) in [
        ("timeout=61", Some("timeout")),
        ("timeout=abc", None),
        ("since=-1", None),
        ("since=1&bogus=2", None),
    ] {
        let r = http.get(&format!("{CONFIGS}/watch?{query}")).await;
        assert_error(&r, 400, "invalid");
        if let Some(field) = field {
            assert_eq!(r.body["field"], field, "{query}: {}", r.text);
        }
    }
    let r = http
        .delete(&format!("{CONFIGS}/m?expected_version=x"))
        .await;
    assert_error(&r, 400, "invalid");
    let r = http.delete(&format!("{CONFIGS}/m?version=1")).await;
    assert_error(&r, 400, "invalid");
    let r = http.get(&format!("{CONFIGS}/m/history")).await;
    assert_eq!(
        r.body["versions"].as_array().map(Vec::len),
        Some(1),
        "nothing written"
    );
}

#[tokio::test]
async fn delete_keeps_history_over_http_and_the_client() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    put(&http, json!({"strategy_id": "m", "params": {"fast": 12}})).await;
    put(&http, json!({"strategy_id": "n"})).await;
    let r = http
        .delete(&format!("{CONFIGS}/m?expected_version=9"))
        .await;
    assert_error(&r, 409, "conflict");
    let r = http
        .delete(&format!("{CONFIGS}/m?expected_version=1"))
        .await;
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fx", "strategy_id": "m", "action": "deleted", "version": 2})
    );
    assert_error(&http.get(&format!("{CONFIGS}/m")).await, 404, "not_found");
    assert_error(
        &http.delete(&format!("{CONFIGS}/m")).await,
        404,
        "not_found",
    );
    let old = http.get(&format!("{CONFIGS}/m?version=2")).await;
    assert_eq!(old.body["config"]["deleted"], true, "{}", old.text);
    let listed = http.get(CONFIGS).await;
    let ids: Vec<&str> = listed.body["configs"]
        .as_array()
        .expect("configs")
        .iter()
        .filter_map(|c| c["strategy_id"].as_str())
        .collect();
    assert_eq!(ids, ["n"]);

    let remote = client(&server.base);
    let fx = ServiceName::new("fx").expect("svc");
    let n = StrategyId::new("n").expect("id");
    let w = remote
        .configs()
        .delete(&fx, &n, None)
        .await
        .expect("delete n");
    assert_eq!((w.action, w.version), (vault_core::Action::Deleted, 2));
    let w = remote
        .configs()
        .rollback(&fx, &n, ConfigRollback::to(1))
        .await
        .expect("back");
    assert_eq!((w.action, w.version), (vault_core::Action::Created, 3));
    // The delete's own version holds what it deleted: rolling back to it restores that.
    remote
        .configs()
        .delete(&fx, &n, None)
        .await
        .expect("delete n again");
    let w = remote
        .configs()
        .rollback(&fx, &n, ConfigRollback::to(4))
        .await
        .expect("to the delete's version");
    assert_eq!((w.action, w.version), (vault_core::Action::Created, 5));
}

#[tokio::test]
async fn a_watch_answers_changes_at_once_and_times_out_with_the_same_revision() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    put(&http, json!({"strategy_id": "a"})).await;
    put(&http, json!({"strategy_id": "b"})).await;
    put(&http, json!({"strategy_id": "a", "enabled": false})).await;
    let r = http
        .get(&format!("{CONFIGS}/watch?since=1&timeout=5"))
        .await;
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fx", "revision": 3,
               "changes": [{"strategy_id": "b", "version": 1}, {"strategy_id": "a", "version": 2}]}),
        "{}",
        r.text
    );
    let r = http
        .get(&format!("{CONFIGS}/watch?since=3&timeout=1"))
        .await;
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fx", "revision": 3, "changes": []})
    );
    let r = http.get(&format!("{CONFIGS}/watch?timeout=0")).await;
    assert_eq!(r.body["revision"], 3, "{}", r.text);
    // `watch` is the endpoint, never a strategy.
    let r = http.post(CONFIGS, &json!({"strategy_id": "watch"})).await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "strategy_id", "{}", r.text);
}

/// A remote client parked in a long-poll is woken by a write another client makes on the
/// server: the watch comes back with the change, long before its 30 s timeout would have given
/// an empty answer.
#[tokio::test]
async fn a_write_on_the_server_wakes_a_waiting_remote_client() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    put(&http, json!({"strategy_id": "hot", "params": {"n": 1}})).await;
    let fx = ServiceName::new("fx").expect("svc");
    let watcher = client(&server.base);
    let since = watcher
        .configs()
        .get(&fx, &StrategyId::new("hot").expect("id"), None)
        .await
        .expect("get")
        .revision;
    let waiting = {
        let fx = fx.clone();
        tokio::spawn(async move {
            watcher
                .configs()
                .watch(&fx, Some(since), Duration::from_secs(30))
                .await
        })
    };
    // Let the long-poll reach the server (ordering only: the assertion holds either way).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let writer = client(&server.base);
    let mut p = ConfigPut::new(StrategyId::new("hot").expect("id"));
    p.params = json!({"n": 2}).as_object().cloned();
    writer.configs().put(&fx, p).await.expect("put");
    let w = waiting.await.expect("join").expect("watch");
    assert_eq!(w.revision, since + 1);
    let got: Vec<(String, u64)> = w
        .changes
        .iter()
        .map(|c| (c.strategy_id.to_string(), c.version))
        .collect();
    assert_eq!(got, [("hot".to_string(), 2)]);
}

/// A shutdown answers the long-polls in flight (503 `unavailable`: retry, on the next server)
/// instead of leaving them to be cut at the shutdown deadline.
#[tokio::test]
async fn a_shutdown_answers_the_long_polls_in_flight() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    put(&http, json!({"strategy_id": "a"})).await;
    let waiting = tokio::spawn(async move {
        http.get(&format!("{CONFIGS}/watch?since=1&timeout=60"))
            .await
    });
    // Let the long-poll reach the server (ordering only).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    let r = waiting.await.expect("join");
    assert_error(&r, 503, "unavailable");
    let log = std::fs::read_to_string(dir.log()).expect("log");
    assert!(!log.contains("shutdown deadline passed"), "{log}");
}

/// A deleted config never comes back from a client's last-known-good cache: neither after this
/// client deleted it nor after it read the 404 of another client's delete.
#[tokio::test]
async fn a_deleted_config_is_not_served_from_the_cache_in_an_outage() {
    let dir = TestDir::new();
    let server = dir.start();
    let fx = ServiceName::new("fx").expect("svc");
    let (mine, theirs) = (
        StrategyId::new("mine").expect("id"),
        StrategyId::new("theirs").expect("id"),
    );
    let a = client(&server.base);
    let b = client(&server.base);
    for id in [&mine, &theirs] {
        a.configs()
            .put(&fx, ConfigPut::new(id.clone()))
            .await
            .expect("put");
        a.configs().get(&fx, id, None).await.expect("cached");
    }
    a.configs().delete(&fx, &mine, None).await.expect("delete");
    b.configs()
        .delete(&fx, &theirs, None)
        .await
        .expect("delete");
    let e = a
        .configs()
        .get(&fx, &theirs, None)
        .await
        .expect_err("deleted");
    assert_eq!(e.code(), "not_found");
    server.kill();
    for id in [&mine, &theirs] {
        let e = a
            .configs()
            .get(&fx, id, None)
            .await
            .expect_err("not from the cache");
        assert_eq!(e.code(), "unavailable", "{id}: {e:?}");
    }
}
