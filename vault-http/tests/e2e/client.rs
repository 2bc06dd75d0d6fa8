//! The remote client (`vault_http::client`) against the real binary: every `VaultApi` method,
//! error mapping, and the stale-config fallback (memory and cache file).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use vault_core::crypto::SecretString;
use vault_core::{Action, ConfigPut, CredentialPut, Error, HealthStatus, VaultApi};
use vault_http::{ClientOptions, RemoteVault};

use crate::support::{TOKEN, TestDir, contains_bytes};

fn options(token: &str, cache_file: Option<PathBuf>) -> ClientOptions {
    ClientOptions {
        token: Some(SecretString::from(token)),
        timeout: Duration::from_secs(10),
        cache_file,
    }
}

fn client(base: &str) -> RemoteVault {
    RemoteVault::new(base, options(TOKEN, None)).expect("client")
}

fn obj(v: serde_json::Value) -> vault_core::JsonObject {
    v.as_object().cloned().expect("object")
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

    let mut put = CredentialPut::new("fxshinobi", "OANDA_API_KEY", "client-secret-1");
    put.metadata = Some(obj(json!({"env": "practice"})));
    let w = v.put_credential(put).await.expect("put");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    assert_eq!(w.service, "fxshinobi");
    let mut put = CredentialPut::new("fxshinobi", "OANDA_API_KEY", "client-secret-2");
    put.expected_version = Some(1);
    let w = v.put_credential(put).await.expect("update");
    assert_eq!((w.action, w.version), (Action::Updated, 2));

    let c = v.get_credential("OANDA_API_KEY", None).await.expect("get");
    assert_eq!(c.value.expose_secret(), "client-secret-2");
    assert_eq!(c.metadata, obj(json!({"env": "practice"})));
    assert_eq!((c.service.as_str(), c.version), ("fxshinobi", 2));
    assert!(c.created_at <= c.updated_at);
    let c = v
        .get_credential("OANDA_API_KEY", Some("fxshinobi"))
        .await
        .expect("get with service");
    assert_eq!(c.value.expose_secret(), "client-secret-2");

    let list = v.list_credentials("fxshinobi").await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0].key.as_str(), list[0].version),
        ("OANDA_API_KEY", 2)
    );

    let w = v
        .put_config(
            "fxshinobi",
            ConfigPut {
                strategy_id: "momentum".into(),
                params: Some(obj(json!({"fast": 12}))),
                symbols: Some(vec!["EUR_USD".into()]),
                ..ConfigPut::default()
            },
        )
        .await
        .expect("put config");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    let w = v
        .put_config(
            "fxshinobi",
            ConfigPut {
                strategy_id: "momentum".into(),
                enabled: Some(false),
                expected_version: Some(1),
                ..ConfigPut::default()
            },
        )
        .await
        .expect("update config");
    assert_eq!((w.action, w.version), (Action::Updated, 2));

    let c = v
        .get_config("fxshinobi", "momentum", None)
        .await
        .expect("get config");
    assert_eq!(c.version, 2);
    assert!(!c.enabled && !c.stale);
    assert_eq!(c.params, obj(json!({"fast": 12})));
    assert_eq!(c.symbols, ["EUR_USD"]);
    assert_eq!(c.service, "fxshinobi");
    let c1 = v
        .get_config("fxshinobi", "momentum", Some(1))
        .await
        .expect("get v1");
    assert!(c1.version == 1 && c1.enabled);
    let all = v.list_configs("fxshinobi").await.expect("list configs");
    assert_eq!(all, vec![c]);

    v.delete_credential("OANDA_API_KEY", None)
        .await
        .expect("delete");
    assert!(
        v.list_credentials("fxshinobi")
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

    let e = v.get_credential("NOPE", None).await.expect_err("missing");
    assert!(
        matches!(e, Error::NotFound(ref m) if m == "Credential 'NOPE' not found"),
        "{e:?}"
    );
    assert_eq!(
        v.delete_credential("NOPE", Some("s"))
            .await
            .expect_err("missing")
            .code(),
        "not_found"
    );
    assert_eq!(
        v.get_config("s", "nope", None)
            .await
            .expect_err("missing")
            .code(),
        "not_found"
    );

    let mut put = CredentialPut::new("s", "K", "v");
    put.expected_version = Some(3);
    assert_eq!(
        v.put_credential(put).await.expect_err("cas").code(),
        "conflict"
    );
    for service in ["s1", "s2"] {
        v.put_credential(CredentialPut::new(service, "DUP", "v"))
            .await
            .expect("put");
    }
    assert_eq!(
        v.get_credential("DUP", None)
            .await
            .expect_err("ambiguous")
            .code(),
        "conflict"
    );

    // A name that would become a URL path segment is checked before any request, with
    // vault-core's rule: the same field and reason as embedded.
    let e = v
        .get_credential("../../etc", Some("s"))
        .await
        .expect_err("invalid");
    match e {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "key");
            assert!(reason.starts_with("may contain only"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    // A name that travels in the body is rejected by the server; the field survives the trip.
    let e = v
        .put_credential(CredentialPut::new("s", "../x", "v"))
        .await
        .expect_err("invalid body name");
    match e {
        Error::Invalid { field, reason } => {
            assert_eq!(field, "key");
            assert!(reason.starts_with("may contain only"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let e = v
        .put_credential(CredentialPut::new("s", "K", ""))
        .await
        .expect_err("empty value");
    assert_eq!(e.code(), "invalid");

    let wrong = RemoteVault::new(&server.base, options("not-the-token", None)).expect("client");
    let e = wrong.list_configs("s").await.expect_err("unauthorized");
    assert_eq!(e.code(), "unauthorized");
    assert!(!e.to_string().contains("not-the-token"));
    let anonymous = RemoteVault::new(&server.base, ClientOptions::default()).expect("client");
    assert_eq!(
        anonymous
            .list_credentials("s")
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
        .put_credential(CredentialPut::new("s", "K", "unsent-secret-value"))
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
        v.put_config(
            "svc",
            ConfigPut {
                strategy_id: id.into(),
                params: Some(obj(json!({"id": id}))),
                ..ConfigPut::default()
            },
        )
        .await
        .expect("put config");
    }
    v.put_credential(CredentialPut::new("svc", "K", "never-cached"))
        .await
        .expect("put credential");
    let fresh = v.list_configs("svc").await.expect("list");
    assert_eq!(fresh.len(), 2);
    assert!(fresh.iter().all(|c| !c.stale));
    let one = v.get_config("svc", "a", None).await.expect("get");
    let v1 = v.get_config("svc", "b", Some(1)).await.expect("get v1");
    assert_eq!(
        v.get_credential("K", None)
            .await
            .expect("credential")
            .value
            .expose_secret(),
        "never-cached"
    );
    server.kill();

    let stale = v.list_configs("svc").await.expect("stale list");
    assert_eq!(stale.len(), 2);
    assert!(stale.iter().all(|c| c.stale));
    let unmark = |mut c: vault_core::StrategyConfig| {
        c.stale = false;
        c
    };
    assert_eq!(stale.into_iter().map(unmark).collect::<Vec<_>>(), fresh);
    let s = v.get_config("svc", "a", None).await.expect("stale get");
    assert!(s.stale);
    assert_eq!(unmark(s), one);
    let s = v.get_config("svc", "b", Some(1)).await.expect("stale v1");
    assert!(s.stale);
    assert_eq!(unmark(s), v1);
    // A clone shares the cache.
    assert!(
        v.clone()
            .list_configs("svc")
            .await
            .expect("clone")
            .iter()
            .all(|c| c.stale)
    );

    // Nothing cached: unavailable. Credentials are never cached.
    assert_eq!(
        v.list_configs("other").await.expect_err("uncached").code(),
        "unavailable"
    );
    assert_eq!(
        v.get_config("svc", "b", Some(7))
            .await
            .expect_err("uncached")
            .code(),
        "unavailable"
    );
    assert_eq!(
        v.get_credential("K", None).await.expect_err("creds").code(),
        "unavailable"
    );
    assert_eq!(
        v.list_credentials("svc").await.expect_err("creds").code(),
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
    v.put_config(
        "svc",
        ConfigPut {
            strategy_id: "strat".into(),
            params: Some(obj(json!({"marker": PARAM}))),
            ..ConfigPut::default()
        },
    )
    .await
    .expect("put config");
    v.put_credential(CredentialPut::new("svc", "K", "cache-must-not-hold-this"))
        .await
        .expect("put credential");
    let fresh = v.list_configs("svc").await.expect("list");
    assert_eq!(fresh[0].params["marker"], PARAM);
    v.get_credential("K", Some("svc"))
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
    let stale = v2.list_configs("svc").await.expect("stale from file");
    assert_eq!(stale.len(), 1);
    assert!(stale[0].stale);
    assert_eq!(stale[0].params["marker"], PARAM);
    assert_eq!(stale[0].version, fresh[0].version);
    assert!(
        v2.get_config("svc", "strat", None)
            .await
            .expect("stale get")
            .stale
    );
    assert_eq!(
        v2.get_credential("K", Some("svc"))
            .await
            .expect_err("creds")
            .code(),
        "unavailable"
    );

    // Another token cannot open the file: nothing to serve.
    let v3 = RemoteVault::new(&base, options("another-token", Some(cache))).expect("client");
    assert_eq!(
        v3.list_configs("svc").await.expect_err("no cache").code(),
        "unavailable"
    );
}
