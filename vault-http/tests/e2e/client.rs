//! The remote client (`vault_client::RemoteVault`) against the real binary: every `VaultApi`
//! method, error mapping, config history, and the stale-config fallback (memory and cache file).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{
    Action, ConfigPut, CredentialKey, CredentialPut, Error, HealthStatus, PageRequest, ServiceName,
    StrategyId,
};

use crate::support::{TOKEN, TestDir, contains_bytes};

fn options(token: &str, cache_file: Option<PathBuf>) -> ClientOptions {
    ClientOptions {
        token: Some(SecretString::from(token)),
        timeout: Duration::from_secs(10),
        cache_file,
        ..ClientOptions::default()
    }
}

fn client(base: &str) -> RemoteVault {
    RemoteVault::new(base, options(TOKEN, None)).expect("client")
}

fn obj(v: serde_json::Value) -> vault_core::JsonObject {
    v.as_object().cloned().expect("object")
}

fn svc(name: &str) -> ServiceName {
    ServiceName::new(name).expect("valid service")
}

fn key(name: &str) -> CredentialKey {
    CredentialKey::new(name).expect("valid key")
}

fn sid(name: &str) -> StrategyId {
    StrategyId::new(name).expect("valid strategy id")
}

/// A credential put of `value` under `service`/`name`.
fn cred(service: &str, name: &str, value: &str) -> CredentialPut {
    CredentialPut::new(svc(service), key(name), value)
}

#[tokio::test]
async fn client_covers_every_method() {
    let dir = TestDir::new();
    let server = dir.start();
    let v = client(&server.base);

    let h = v.health().await.expect("health");
    assert_eq!(h.status, HealthStatus::Ok);
    assert_eq!(
        h.components.get("store").map(String::as_str),
        Some("connected")
    );

    let mut put = cred("fxshinobi", "OANDA_API_KEY", "client-secret-1");
    put.metadata = Some(obj(json!({"env": "practice"})));
    let w = v.credentials().put(put).await.expect("put");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    assert_eq!(w.service, "fxshinobi");
    let mut put = cred("fxshinobi", "OANDA_API_KEY", "client-secret-2");
    put.expected_version = Some(1);
    let w = v.credentials().put(put).await.expect("update");
    assert_eq!((w.action, w.version), (Action::Updated, 2));

    let c = v
        .credentials()
        .get(&key("OANDA_API_KEY"), None)
        .await
        .expect("get");
    assert_eq!(c.value.expose_secret(), "client-secret-2");
    assert_eq!(c.metadata, obj(json!({"env": "practice"})));
    assert_eq!((c.service.as_str(), c.version), ("fxshinobi", 2));
    assert!(c.created_at <= c.updated_at);
    let c = v
        .credentials()
        .get(&key("OANDA_API_KEY"), Some(&svc("fxshinobi")))
        .await
        .expect("get with service");
    assert_eq!(c.value.expose_secret(), "client-secret-2");

    let list = v
        .credentials()
        .list(&svc("fxshinobi"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].key.as_str(), list[0].version),
        ("OANDA_API_KEY", 2)
    );

    let w = v
        .configs()
        .put(
            &svc("fxshinobi"),
            ConfigPut {
                params: Some(obj(json!({"fast": 12}))),
                symbols: Some(vec!["EUR_USD".into()]),
                ..ConfigPut::new(sid("momentum"))
            },
        )
        .await
        .expect("put config");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    let w = v
        .configs()
        .put(
            &svc("fxshinobi"),
            ConfigPut {
                enabled: Some(false),
                expected_version: Some(1),
                ..ConfigPut::new(sid("momentum"))
            },
        )
        .await
        .expect("update config");
    assert_eq!((w.action, w.version), (Action::Updated, 2));

    let c = v
        .configs()
        .get(&svc("fxshinobi"), &sid("momentum"), None)
        .await
        .expect("get config");
    assert_eq!(c.version, 2);
    assert!(!c.enabled && !c.stale);
    assert_eq!(c.params, obj(json!({"fast": 12})));
    assert_eq!(c.symbols, ["EUR_USD"]);
    assert_eq!(c.service, "fxshinobi");
    let c1 = v
        .configs()
        .get(&svc("fxshinobi"), &sid("momentum"), Some(1))
        .await
        .expect("get v1");
    assert!(c1.version == 1 && c1.enabled);
    let all = v
        .configs()
        .list(&svc("fxshinobi"), PageRequest::first())
        .await
        .expect("list configs");
    assert_eq!(all, vec![c]);

    let d = v
        .credentials()
        .delete(&key("OANDA_API_KEY"), None)
        .await
        .expect("delete");
    assert_eq!(
        (d.service.as_str(), d.key.as_str()),
        ("fxshinobi", "OANDA_API_KEY")
    );
    assert!(
        v.credentials()
            .list(&svc("fxshinobi"), PageRequest::first())
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn client_maps_server_and_transport_errors() {
    let dir = TestDir::new();
    let server = dir.start();
    let v = client(&server.base);

    let e = v
        .credentials()
        .get(&key("NOPE"), None)
        .await
        .expect_err("missing");
    assert!(
        matches!(e, Error::NotFound(ref m) if m == "Credential 'NOPE' not found"),
        "{e:?}"
    );
    assert_eq!(
        v.credentials()
            .delete(&key("NOPE"), Some(&svc("s")))
            .await
            .expect_err("missing")
            .code(),
        "not_found"
    );
    assert_eq!(
        v.configs()
            .get(&svc("s"), &sid("nope"), None)
            .await
            .expect_err("missing")
            .code(),
        "not_found"
    );

    let mut put = cred("s", "K", "v");
    put.expected_version = Some(3);
    assert_eq!(
        v.credentials().put(put).await.expect_err("cas").code(),
        "conflict"
    );
    for service in ["s1", "s2"] {
        v.credentials()
            .put(cred(service, "DUP", "v"))
            .await
            .expect("put");
    }
    assert_eq!(
        v.credentials()
            .get(&key("DUP"), None)
            .await
            .expect_err("ambiguous")
            .code(),
        "conflict"
    );

    // A name is checked when it is built, with vault-core's rule, before anything can reach
    // a URL path or a body: the same field and reason as embedded. (The server's own check
    // of names sent over raw HTTP is pinned in api.rs and wire.rs.)
    for (e, field) in [
        (
            CredentialKey::new("../../etc").expect_err("path key"),
            "key",
        ),
        (CredentialKey::new("../x").expect_err("body key"), "key"),
        (ServiceName::new("..").expect_err("service"), "service"),
        (
            StrategyId::new("a/b").expect_err("strategy id"),
            "strategy_id",
        ),
    ] {
        assert_eq!(e.code(), "invalid");
        assert_eq!(e.field(), Some(field));
        match e {
            Error::Invalid { field: f, reason } => {
                assert_eq!(f, field);
                assert!(reason.starts_with("may contain only"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
    // A value rejected by the server: the field survives the trip.
    let e = v
        .credentials()
        .put(cred("s", "K", ""))
        .await
        .expect_err("empty value");
    assert_eq!(e.code(), "invalid");
    match e {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "value");
            assert_eq!(reason, "must not be empty");
        }
        other => panic!("{other:?}"),
    }

    let wrong = RemoteVault::new(&server.base, options("not-the-token", None)).expect("client");
    let e = wrong
        .configs()
        .list(&svc("s"), PageRequest::first())
        .await
        .expect_err("unauthorized");
    assert_eq!(e.code(), "unauthorized");
    assert!(!e.to_string().contains("not-the-token"));
    let anonymous = RemoteVault::new(&server.base, ClientOptions::default()).expect("client");
    assert_eq!(
        anonymous
            .credentials()
            .list(&svc("s"), PageRequest::first())
            .await
            .expect_err("no token")
            .code(),
        "unauthorized"
    );
    assert!(anonymous.health().await.is_ok(), "health needs no token");

    let base = server.base.clone();
    server.kill();
    let gone = client(&base);
    let e = gone.health().await.expect_err("down");
    assert_eq!(e.code(), "unavailable", "{e}");
    assert!(!e.to_string().contains(TOKEN));
    let e = gone
        .credentials()
        .put(cred("s", "K", "unsent-secret-value"))
        .await
        .expect_err("down");
    assert_eq!(e.code(), "unavailable");
    assert!(!e.to_string().contains("unsent-secret-value"));
}

#[tokio::test]
async fn client_serves_stale_configs_while_the_server_is_down() {
    let dir = TestDir::new();
    let server = dir.start();
    let v = client(&server.base);
    for id in ["a", "b"] {
        v.configs()
            .put(
                &svc("svc"),
                ConfigPut {
                    params: Some(obj(json!({"id": id}))),
                    ..ConfigPut::new(sid(id))
                },
            )
            .await
            .expect("put config");
    }
    v.credentials()
        .put(cred("svc", "K", "never-cached"))
        .await
        .expect("put credential");
    let fresh = v
        .configs()
        .list(&svc("svc"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!(fresh.len(), 2);
    assert!(fresh.iter().all(|c| !c.stale));
    let one = v
        .configs()
        .get(&svc("svc"), &sid("a"), None)
        .await
        .expect("get");
    let v1 = v
        .configs()
        .get(&svc("svc"), &sid("b"), Some(1))
        .await
        .expect("get v1");
    assert_eq!(
        v.credentials()
            .get(&key("K"), None)
            .await
            .expect("credential")
            .value
            .expose_secret(),
        "never-cached"
    );
    server.kill();

    let stale = v
        .configs()
        .list(&svc("svc"), PageRequest::first())
        .await
        .expect("stale list");
    assert_eq!(stale.len(), 2);
    assert!(stale.iter().all(|c| c.stale));
    let unmark = |mut c: vault_core::StrategyConfig| {
        c.stale = false;
        c
    };
    assert_eq!(stale.into_iter().map(unmark).collect::<Vec<_>>(), fresh);
    let s = v
        .configs()
        .get(&svc("svc"), &sid("a"), None)
        .await
        .expect("stale get");
    assert!(s.stale);
    assert_eq!(unmark(s), one);
    let s = v
        .configs()
        .get(&svc("svc"), &sid("b"), Some(1))
        .await
        .expect("stale v1");
    assert!(s.stale);
    assert_eq!(unmark(s), v1);
    // A clone shares the cache.
    assert!(
        v.clone()
            .configs()
            .list(&svc("svc"), PageRequest::first())
            .await
            .expect("clone")
            .iter()
            .all(|c| c.stale)
    );

    // Nothing cached: unavailable. Credentials are never cached.
    assert_eq!(
        v.configs()
            .list(&svc("other"), PageRequest::first())
            .await
            .expect_err("uncached")
            .code(),
        "unavailable"
    );
    assert_eq!(
        v.configs()
            .get(&svc("svc"), &sid("b"), Some(7))
            .await
            .expect_err("uncached")
            .code(),
        "unavailable"
    );
    assert_eq!(
        v.credentials()
            .get(&key("K"), None)
            .await
            .expect_err("creds")
            .code(),
        "unavailable"
    );
    assert_eq!(
        v.credentials()
            .list(&svc("svc"), PageRequest::first())
            .await
            .expect_err("creds")
            .code(),
        "unavailable"
    );
    assert_eq!(v.health().await.expect_err("health").code(), "unavailable");
}

#[tokio::test]
async fn client_cache_file_lets_a_new_client_serve_stale_configs() {
    const PARAM: &str = "planted-param-4e8b21";
    let dir = TestDir::new();
    let cache = dir.tmp.path().join("client-cache").join("configs.bin");
    std::fs::create_dir_all(cache.parent().expect("parent")).expect("mkdir");
    let server = dir.start();
    let v = RemoteVault::new(&server.base, options(TOKEN, Some(cache.clone()))).expect("client");
    v.configs()
        .put(
            &svc("svc"),
            ConfigPut {
                params: Some(obj(json!({"marker": PARAM}))),
                ..ConfigPut::new(sid("strat"))
            },
        )
        .await
        .expect("put config");
    v.credentials()
        .put(cred("svc", "K", "cache-must-not-hold-this"))
        .await
        .expect("put credential");
    let fresh = v
        .configs()
        .list(&svc("svc"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!(fresh[0].params["marker"], PARAM);
    v.credentials()
        .get(&key("K"), Some(&svc("svc")))
        .await
        .expect("credential");
    let base = server.base.clone();
    server.kill();

    let raw = std::fs::read(&cache).expect("cache file written");
    assert!(
        !contains_bytes(&raw, PARAM.as_bytes()),
        "cache holds plaintext params"
    );
    assert!(!contains_bytes(&raw, b"cache-must-not-hold-this"));
    assert!(!contains_bytes(&raw, b"strat"));
    #[cfg(unix)]
    assert_eq!(crate::support::mode(&cache), 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(cache.parent().expect("parent"))
        .expect("read_dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name() != "configs.bin")
        .collect();
    assert!(leftovers.is_empty(), "temp files left: {leftovers:?}");

    let v2 = RemoteVault::new(&base, options(TOKEN, Some(cache.clone()))).expect("new client");
    let stale = v2
        .configs()
        .list(&svc("svc"), PageRequest::first())
        .await
        .expect("stale from file");
    assert_eq!(stale.len(), 1);
    assert!(stale[0].stale);
    assert_eq!(stale[0].params["marker"], PARAM);
    assert_eq!(stale[0].version, fresh[0].version);
    assert!(
        v2.configs()
            .get(&svc("svc"), &sid("strat"), None)
            .await
            .expect("stale get")
            .stale
    );
    assert_eq!(
        v2.credentials()
            .get(&key("K"), Some(&svc("svc")))
            .await
            .expect_err("creds")
            .code(),
        "unavailable"
    );

    // Another token cannot open the file: nothing to serve.
    let v3 = RemoteVault::new(&base, options("another-token", Some(cache))).expect("client");
    assert_eq!(
        v3.configs()
            .list(&svc("svc"), PageRequest::first())
            .await
            .expect_err("no cache")
            .code(),
        "unavailable"
    );
}

#[tokio::test]
async fn client_keeps_error_fields_and_codes() {
    let dir = TestDir::new();
    let server = dir.start();
    let v = client(&server.base);

    // Oversized metadata: rejected by the server, the field kept through the client.
    let mut put = cred("s", "K", "v");
    put.metadata = Some(obj(json!({"m": "m".repeat(16 * 1024)})));
    let e = v
        .credentials()
        .put(put)
        .await
        .expect_err("metadata too big");
    assert_eq!((e.code(), e.field()), ("invalid", Some("metadata")));
    match &e {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "metadata");
            assert_eq!(reason, "must be at most 16384 bytes of JSON");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        e.to_string(),
        "invalid metadata: must be at most 16384 bytes of JSON"
    );

    // A field the server names from a body path.
    let put = ConfigPut {
        symbols: Some(vec!["EUR_USD".into(), String::new()]),
        ..ConfigPut::new(sid("s1"))
    };
    let e = v
        .configs()
        .put(&svc("s"), put)
        .await
        .expect_err("empty symbol");
    assert_eq!(e.field(), Some("symbols[1]"), "{e:?}");
    assert_eq!(
        e.to_string(),
        "invalid symbols[1]: must be 1 to 64 printable characters"
    );

    // A value over vault-core's limit is refused by the client before it sends, as embedded
    // (not the server's 1 MiB body limit: `payload_too_large` is mapped in the transport's
    // unit tests, and no typed put can reach it).
    let e = v
        .credentials()
        .put(cred("s", "K", &"x".repeat(2 * 1024 * 1024)))
        .await
        .expect_err("too large");
    assert_eq!((e.code(), e.field()), ("invalid", Some("value")), "{e:?}");
    assert_eq!(e.to_string(), "invalid value: must be at most 65536 bytes");

    // Nothing was written.
    assert!(
        v.credentials()
            .list(&svc("s"), PageRequest::first())
            .await
            .expect("list")
            .is_empty()
    );
    assert!(
        v.configs()
            .list(&svc("s"), PageRequest::first())
            .await
            .expect("list")
            .is_empty()
    );
}

#[tokio::test]
async fn client_pages_through_config_history() {
    let dir = TestDir::new();
    let server = dir.start();
    let v = client(&server.base);
    let (s, id) = (svc("fxshinobi"), sid("momentum"));
    for n in 1..=5 {
        let put = ConfigPut {
            params: Some(obj(json!({"n": n}))),
            ..ConfigPut::new(id.clone())
        };
        let w = v.configs().put(&s, put).await.expect("put config");
        assert_eq!(w.version, n);
    }
    let versions = |h: &vault_core::ConfigHistory| -> Vec<u64> {
        h.versions.iter().map(|c| c.version).collect()
    };

    // Everything (the default page holds 100), newest first, equal to the single reads.
    let all = v
        .configs()
        .history(&s, &id, None, None)
        .await
        .expect("history");
    assert_eq!(versions(&all), [5, 4, 3, 2, 1]);
    assert_eq!(all.next, None);
    for c in &all.versions {
        assert_eq!(c.params, obj(json!({"n": c.version})));
        assert_eq!(
            (c.service.as_str(), c.strategy_id.as_str()),
            ("fxshinobi", "momentum")
        );
        assert!(!c.stale);
        let one = v
            .configs()
            .get(&s, &id, Some(c.version))
            .await
            .expect("get version");
        assert_eq!(&one, c);
    }

    // Pages of 2, following `next`.
    let mut pages = Vec::new();
    let mut after = None;
    loop {
        let page = v
            .configs()
            .history(&s, &id, Some(2), after)
            .await
            .expect("page");
        pages.push(versions(&page));
        match page.next {
            Some(n) => {
                assert_eq!(Some(n), page.versions.last().map(|c| c.version));
                after = Some(n);
            }
            None => break,
        }
    }
    assert_eq!(pages, [vec![5, 4], vec![3, 2], vec![1]]);
    // A page that ends exactly at version 1 has no next.
    let h = v
        .configs()
        .history(&s, &id, Some(2), Some(3))
        .await
        .expect("last page");
    assert_eq!((versions(&h), h.next), (vec![2, 1], None));
    let h = v
        .configs()
        .history(&s, &id, Some(1000), Some(1))
        .await
        .expect("past the end");
    assert_eq!((versions(&h), h.next), (vec![], None));

    // Unknown configs and services: not_found; a bad limit: invalid, field limit.
    for (service, strategy) in [("fxshinobi", "unknown"), ("nosvc", "momentum")] {
        let e = v
            .configs()
            .history(&svc(service), &sid(strategy), None, None)
            .await
            .expect_err("missing");
        assert!(matches!(e, Error::NotFound(_)), "{e:?}");
    }
    for limit in [0, 1001] {
        let e = v
            .configs()
            .history(&s, &id, Some(limit), None)
            .await
            .expect_err("bad limit");
        assert_eq!((e.code(), e.field()), ("invalid", Some("limit")), "{e:?}");
    }
}

/// The diff of two config versions through HTTP (JSON shape and bad input) and through the
/// remote client (the same changes).
#[tokio::test]
async fn config_diff_over_http_and_the_remote_client() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for body in [
        json!({"strategy_id": "momentum", "params": {"fast": 12, "slow": 26},
               "symbols": ["EUR_USD", "GBP_USD"]}),
        json!({"strategy_id": "momentum", "params": {"fast": 10, "slow": 26},
               "symbols": ["EUR_USD"], "risk_limits": {"max_daily_loss": 0.02}}),
    ] {
        let r = http.post("/api/vault/configs/fxshinobi", &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = http
        .get("/api/vault/configs/fxshinobi/momentum/diff?from=1&to=2")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let changes = json!([
        {"op": "replace", "path": "/params/fast", "old": 12, "new": 10},
        {"op": "remove", "path": "/symbols/1", "old": "GBP_USD"},
        {"op": "add", "path": "/risk_limits/max_daily_loss", "new": 0.02},
    ]);
    assert_eq!(
        r.body,
        json!({"success": true, "from": 1, "to": 2, "changes": changes})
    );
    let back = http
        .get("/api/vault/configs/fxshinobi/momentum/diff?from=2&to=1")
        .await;
    assert_eq!(
        back.body["changes"][0],
        json!({"op": "replace", "path": "/params/fast", "old": 10, "new": 12})
    );

    // Bad input: each a 400 naming the parameter (or a 404 for a version not kept), in the
    // service API's error shape.
    for (query, status, code, field) in [
        ("from=1", 400, "invalid", None),
        ("from=x&to=2", 400, "invalid", Some("from")),
        ("from=0&to=2", 400, "invalid", Some("from")),
        ("from=1&to=2&extra=1", 400, "invalid", None),
        ("from=1&to=9", 404, "not_found", None),
    ] {
        let r = http
            .get(&format!(
                "/api/vault/configs/fxshinobi/momentum/diff?{query}"
            ))
            .await;
        assert_eq!(r.status, status, "{query}: {}", r.text);
        assert_eq!(r.body["success"], false, "{query}");
        assert_eq!(r.body["code"], code, "{query}: {}", r.text);
        if let Some(field) = field {
            assert_eq!(r.body["field"], field, "{query}: {}", r.text);
        }
    }

    let v = client(&server.base);
    let d = v
        .configs()
        .diff(&svc("fxshinobi"), &sid("momentum"), 1, 2)
        .await
        .expect("diff");
    assert_eq!((d.from, d.to), (1, 2));
    assert_eq!(serde_json::to_value(&d.changes).expect("json"), changes);
    let e = v
        .configs()
        .diff(&svc("fxshinobi"), &sid("momentum"), 0, 2)
        .await
        .expect_err("version 0");
    assert_eq!((e.code(), e.field()), ("invalid", Some("from")));
    let e = v
        .configs()
        .diff(&svc("fxshinobi"), &sid("momentum"), 1, 3)
        .await
        .expect_err("no version 3");
    assert_eq!(e.code(), "not_found");
}

/// Rollback through HTTP (the put's reply, bad bodies refused naming the field, a version not
/// kept 404) and through the remote client.
#[tokio::test]
async fn config_rollback_over_http_and_the_remote_client() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for body in [
        json!({"strategy_id": "momentum", "params": {"fast": 12}, "symbols": ["EUR_USD"]}),
        json!({"strategy_id": "momentum", "params": {"fast": 10}, "enabled": false}),
    ] {
        let r = http.post("/api/vault/configs/fxshinobi", &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let path = "/api/vault/configs/fxshinobi/momentum/rollback";
    let r = http.post(path, &json!({"to_version": 1})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fxshinobi", "strategy_id": "momentum",
               "action": "updated", "version": 3})
    );
    let latest = http.get("/api/vault/configs/fxshinobi/momentum").await;
    assert_eq!(latest.body["config"]["params"], json!({"fast": 12}));
    assert_eq!(latest.body["config"]["enabled"], true);

    for (body, status, code, field) in [
        (json!({}), 400, "invalid", None),
        (
            json!({"to_version": "1"}),
            400,
            "invalid",
            Some("to_version"),
        ),
        (
            json!({"to_version": -1}),
            400,
            "invalid",
            Some("to_version"),
        ),
        (json!({"to_version": 0}), 400, "invalid", Some("to_version")),
        (
            json!({"to_version": 1, "comment": 5, "x": 1}),
            400,
            "invalid",
            None,
        ),
        (json!({"to_version": 9}), 404, "not_found", None),
    ] {
        let r = http.post(path, &body).await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        assert_eq!(r.body["code"], code, "{body}: {}", r.text);
        if let Some(field) = field {
            assert_eq!(r.body["field"], field, "{body}: {}", r.text);
        }
    }
    let still = http.get("/api/vault/configs/fxshinobi/momentum").await;
    assert_eq!(
        still.body["config"]["version"], 3,
        "refused rollbacks wrote nothing"
    );

    let v = client(&server.base);
    let w = v
        .configs()
        .rollback(
            &svc("fxshinobi"),
            &sid("momentum"),
            vault_core::ConfigRollback::to(2),
        )
        .await
        .expect("rollback");
    assert_eq!((w.version, w.action), (4, Action::Updated));
    let c = v
        .configs()
        .get(&svc("fxshinobi"), &sid("momentum"), None)
        .await
        .expect("get");
    assert_eq!((c.params.get("fast"), c.enabled), (Some(&json!(10)), false));
    let e = v
        .configs()
        .rollback(
            &svc("fxshinobi"),
            &sid("momentum"),
            vault_core::ConfigRollback::to(0),
        )
        .await
        .expect_err("0");
    assert_eq!((e.code(), e.field()), ("invalid", Some("to_version")));
}
