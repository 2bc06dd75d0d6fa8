//! What the server keeps and answers stays bounded: paged listings (`limit`, `after`, `next`),
//! unreadable records reported per item, nesting capped below the client's parse limit, the
//! config version cap and its settings route, and the client's fallback cache age limit.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::store::{SledStore, Store as _, Write};
use vault_core::{ConfigPut, ConfigSettings, PageRequest, ServiceName, StrategyId};

use crate::support::{TOKEN, TestDir, assert_error};

fn client(base: &str, cache_file: Option<PathBuf>, max_age: Option<Duration>) -> RemoteVault {
    let options = ClientOptions {
        token: Some(SecretString::from(TOKEN)),
        cache_file,
        cache_max_age: max_age,
        ..ClientOptions::default()
    };
    RemoteVault::new(base, options).expect("client")
}

fn svc(s: &str) -> ServiceName {
    ServiceName::new(s).expect("service")
}

fn sid(s: &str) -> StrategyId {
    StrategyId::new(s).expect("strategy id")
}

/// `{"a": [[...]]}` nested `levels` deep (the object is level 1).
fn nested(levels: usize) -> Value {
    let mut v = json!(1);
    for _ in 1..levels {
        v = json!([v]);
    }
    json!({ "a": v })
}

#[tokio::test]
async fn lists_are_paged_with_limit_after_and_next() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for k in ["A", "B", "C"] {
        let r = http
            .post(
                "/api/vault/credentials",
                &json!({"key": k, "service": "s", "value": "v"}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        let r = http
            .post("/api/vault/configs/s", &json!({"strategy_id": k}))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = http.get("/api/vault/credentials?service=s&limit=2").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: Vec<&str> = r.body["credentials"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, ["A", "B"]);
    assert_eq!(r.body["next"], "B");
    let r = http
        .get("/api/vault/credentials?service=s&limit=2&after=B")
        .await;
    assert_eq!(r.body["credentials"][0]["key"], "C");
    assert!(r.body.get("next").is_none(), "{}", r.text);

    let r = http.get("/api/vault/configs/s?limit=1&after=A").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["configs"][0]["strategy_id"], "B");
    assert_eq!(r.body["next"], "B");
    let r = http.get("/api/vault/configs/s").await;
    assert_eq!(r.body["configs"].as_array().expect("array").len(), 3);
    assert!(r.body.get("next").is_none());

    for target in [
        "/api/vault/credentials?service=s&limit=0",
        "/api/vault/credentials?service=s&limit=1001",
        "/api/vault/configs/s?limit=0",
    ] {
        let r = http.get(target).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], "limit");
        assert_eq!(r.body["error"], "invalid limit: must be 1 to 1000");
    }
    let r = http.get("/api/vault/configs/s?after=..%2Fx").await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "after");

    // The remote client pages the same way.
    let v = client(&server.base, None, None);
    let p = v
        .credentials()
        .list(&svc("s"), PageRequest::new(Some(2), None))
        .await
        .expect("page");
    assert_eq!((p.len(), p.next.as_deref()), (2, Some("B")));
    let p = v
        .configs()
        .list(&svc("s"), PageRequest::new(Some(2), p.next.clone()))
        .await
        .expect("page 2");
    assert_eq!(
        (p.len(), p[0].strategy_id.as_str(), p.next.as_deref()),
        (1, "C", None)
    );
}

#[tokio::test]
async fn nesting_is_capped_so_listing_keeps_working() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    // 125 levels: accepted by the JSON parser, refused by the vault (the list answer would be
    // deeper than any client's parse limit).
    for (field, body) in [
        ("params", json!({"strategy_id": "x", "params": nested(125)})),
        (
            "risk_limits",
            json!({"strategy_id": "x", "risk_limits": nested(33)}),
        ),
    ] {
        let r = http.post("/api/vault/configs/s", &body).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field);
        assert_eq!(
            r.body["error"],
            format!("invalid {field}: must be nested at most 32 levels deep")
        );
    }
    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "K", "service": "s", "value": "v", "metadata": nested(40)}),
        )
        .await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "metadata");

    let r = http
        .post(
            "/api/vault/configs/s",
            &json!({"strategy_id": "x", "params": nested(32), "risk_limits": nested(32)}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let v = client(&server.base, None, None);
    let list = v
        .configs()
        .list(&svc("s"), PageRequest::first())
        .await
        .expect("the client parses the deepest list the server answers");
    assert_eq!(list.len(), 1);
}

#[tokio::test]
async fn an_unreadable_record_is_reported_in_the_list() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for k in ["A", "B"] {
        let r = http
            .post(
                "/api/vault/credentials",
                &json!({"key": k, "service": "s", "value": "v"}),
            )
            .await;
        assert_eq!(r.status, 200);
        let r = http
            .post("/api/vault/configs/s", &json!({"strategy_id": k}))
            .await;
        assert_eq!(r.status, 200);
    }
    assert!(server.terminate().success());
    {
        let store = SledStore::open(dir.data().join("store")).expect("open store");
        for key in ["cred/i/s/B", "cfg/h/s/A"] {
            let mut raw = store
                .get(key.as_bytes())
                .await
                .expect("get")
                .expect("record");
            let last = raw.len() - 1;
            raw[last] ^= 1;
            assert!(
                store
                    .commit(vec![], vec![Write::Put(key.as_bytes().to_vec(), raw)])
                    .await
                    .expect("commit")
            );
        }
        store.flush().await.expect("flush");
    }
    let server = dir.start();
    let http = server.http();
    let r = http.get("/api/vault/credentials?service=s").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["credentials"][0]["key"], "A");
    assert_eq!(
        r.body["unreadable"],
        json!([{"error": "integrity", "key": "B", "service": "s"}])
    );
    let r = http.get("/api/vault/configs/s").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["configs"][0]["strategy_id"], "B");
    assert_eq!(
        r.body["unreadable"],
        json!([{"error": "integrity", "service": "s", "strategy_id": "A"}])
    );

    let v = client(&server.base, None, None);
    let p = v
        .credentials()
        .list(&svc("s"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!(p.len(), 1);
    assert_eq!(
        (p.unreadable[0].name.as_str(), p.unreadable[0].error.code()),
        ("B", "integrity")
    );
    let p = v
        .configs()
        .list(&svc("s"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!(
        (p.unreadable[0].name.as_str(), p.unreadable[0].error.code()),
        ("A", "integrity")
    );
}

#[tokio::test]
async fn config_settings_cap_versions_and_history_says_where_it_starts() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = http.get("/api/vault/config-settings/s").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.text,
        r#"{"max_versions":1000,"service":"s","success":true}"#
    );
    let r = http
        .post("/api/vault/config-settings/s", &json!({"max_versions": 0}))
        .await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["error"], "invalid max_versions: must be 1 to 100000");
    let r = http
        .post("/api/vault/config-settings/s", &json!({"max_versions": 3}))
        .await;
    assert_eq!(r.text, r#"{"max_versions":3,"service":"s","success":true}"#);
    for n in 1..=5 {
        let r = http
            .post(
                "/api/vault/configs/s",
                &json!({"strategy_id": "x", "params": {"n": n}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = http.get("/api/vault/configs/s/x/history").await;
    assert_eq!(r.body["oldest_version"], 3);
    assert_eq!(r.body["versions"].as_array().expect("array").len(), 3);
    let r = http.get("/api/vault/configs/s/x?version=2").await;
    assert_error(&r, 404, "not_found");
    assert_eq!(
        r.body["error"],
        "Config 'x' of service 's' has no version 2 (versions before 3 were pruned)"
    );

    let v = client(&server.base, None, None);
    assert_eq!(
        v.configs().settings(&svc("s")).await.expect("settings"),
        ConfigSettings { max_versions: 3 }
    );
    v.configs()
        .set_settings(&svc("s"), ConfigSettings { max_versions: 10 })
        .await
        .expect("set");
    let h = v
        .configs()
        .history(&svc("s"), &sid("x"), None, None)
        .await
        .expect("history");
    assert_eq!((h.oldest_version, h.versions.len()), (3, 3));
    let e = v
        .configs()
        .set_settings(&svc("s"), ConfigSettings { max_versions: 0 })
        .await
        .expect_err("invalid");
    assert_eq!(e.field(), Some("max_versions"));
}

#[tokio::test]
async fn the_fallback_cache_serves_nothing_older_than_its_maximum_age() {
    let dir = TestDir::new();
    let cache = dir.tmp.path().join("configs.bin");
    let server = dir.start();
    let base = server.base.clone();
    let writer = client(&base, Some(cache.clone()), None);
    writer
        .configs()
        .put(
            &svc("s"),
            ConfigPut {
                enabled: Some(true),
                ..ConfigPut::new(sid("x"))
            },
        )
        .await
        .expect("put");
    assert!(
        writer
            .configs()
            .get(&svc("s"), &sid("x"), None)
            .await
            .expect("read into the cache")
            .enabled
    );
    writer
        .configs()
        .list(&svc("s"), PageRequest::first())
        .await
        .expect("list into the cache");
    // The server turns the strategy off; the cache file still says on.
    let other = client(&base, None, None);
    other
        .configs()
        .put(
            &svc("s"),
            ConfigPut {
                enabled: Some(false),
                ..ConfigPut::new(sid("x"))
            },
        )
        .await
        .expect("disable");
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // Older than the maximum age: not served.
    let aged = client(&base, Some(cache.clone()), Some(Duration::from_millis(200)));
    let e = aged
        .configs()
        .get(&svc("s"), &sid("x"), None)
        .await
        .expect_err("an aged copy is not served");
    assert_eq!(e.code(), "unavailable");
    let e = aged
        .configs()
        .list(&svc("s"), PageRequest::first())
        .await
        .expect_err("an aged list is not served");
    assert_eq!(e.code(), "unavailable");

    // Within the default age (24 h) it is, marked stale; `None` means no limit.
    for age in [ClientOptions::default().cache_max_age, None] {
        let v = client(&base, Some(cache.clone()), age);
        let c = v
            .configs()
            .get(&svc("s"), &sid("x"), None)
            .await
            .expect("served stale");
        assert!(c.stale && c.enabled);
    }
}

/// Large bodies (identity files up to 10 MiB, imports) are buffered whole, so only a few are
/// read at once: with that many uploads held open mid-body, the next one is answered 429 at
/// once, before its body is read, and once they end uploads are taken again.
#[tokio::test]
async fn only_a_few_large_bodies_are_read_at_once() {
    use std::io::{Read as _, Write as _};

    let dir = TestDir::new();
    let server = dir.start();
    let addr = server.base.trim_start_matches("http://").to_string();
    let upload_head = |len: usize| {
        format!(
            "PUT /api/vault/constructs/nova/files/big.bin HTTP/1.1\r\nHost: x\r\n\
             Authorization: Bearer {TOKEN}\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n"
        )
    };
    // Held open: headers and the first bytes of a 5 MiB body.
    let mut held = Vec::new();
    for _ in 0..vault_http::server::extract::LARGE_BODIES_AT_ONCE {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        s.write_all(upload_head(5 << 20).as_bytes()).expect("head");
        s.write_all(&[7; 1024]).expect("part of the body");
        held.push(s);
    }
    // The held uploads take their places as the server gets to them: probe with a small
    // upload until it is refused (one that gets through while places remain is simply
    // stored). Were large bodies not bounded, every probe would be stored.
    let probe = |addr: String, head: String| {
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(&addr).expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(30)))
                .expect("timeout");
            s.write_all(head.as_bytes()).expect("head");
            s.write_all(&[1; 16]).expect("body");
            let mut answer = String::new();
            let _ = s.read_to_string(&mut answer);
            answer
        })
    };
    let mut refused = None;
    for _ in 0..100 {
        let answer = probe(addr.clone(), upload_head(16)).await.expect("join");
        if answer.starts_with("HTTP/1.1 429") {
            refused = Some(answer);
            break;
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = refused.expect("a probe refused while the large bodies are held");
    assert!(answer.contains("rate_limited"), "{answer}");
    let http = server.http();
    drop(held);
    // The places are free again (the server notices the closed uploads when it reads them).
    let mut stored = false;
    for _ in 0..100 {
        let r = http
            .send(
                "PUT",
                "/api/vault/constructs/nova/files/small.bin",
                crate::support::BEARER,
                Some(b"tiny".to_vec()),
            )
            .await;
        if r.status == 200 {
            stored = true;
            break;
        }
        assert_eq!(r.status, 429, "{}", r.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(stored, "uploads are taken again once the held ones ended");
}
