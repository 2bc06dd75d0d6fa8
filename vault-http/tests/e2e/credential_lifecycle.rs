//! The credential lifecycle through the real server and the remote client: versions listing,
//! read of version N, delete / undelete / destroy, rotation, settings, the due listing and
//! health; bad input refused naming the field and changing nothing; a planted value in neither
//! the audit log, an error, nor the data directory.

use std::time::Duration;

use serde_json::{Value, json};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{
    Charset, CredentialKey, CredentialPut, CredentialSettings, GeneratePolicy, ManualClock,
    PageRequest, RotateEvery, ServiceName, Timestamp, VersionOp, VersionState,
};

use crate::support::{Http, TOKEN, TestDir, assert_error, contains_bytes, files_under};
use crate::tokens::server_with_clock;

const PLANTED: &str = "planted-lifecycle-e2e-0xc0ffee";

async fn put(http: &Http, body: Value) {
    let r = http.post("/api/vault/credentials", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

async fn seed(http: &Http) {
    for i in 1..=3 {
        put(
            http,
            json!({"service": "s", "key": "K", "value": format!("{PLANTED}-{i}")}),
        )
        .await;
    }
}

#[tokio::test]
async fn credential_versions_read_and_version_ops_over_http() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    seed(&http).await;

    let r = http
        .get("/api/vault/credentials/K/versions?service=s")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert_eq!(
        (
            &r.body["current_version"],
            &r.body["oldest_version"],
            &r.body["max_versions"]
        ),
        (&json!(3), &json!(1), &json!(10))
    );
    let versions: Vec<(u64, String)> = r.body["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .map(|v| (v["version"].as_u64().expect("n"), v["state"].to_string()))
        .collect();
    assert_eq!(versions.len(), 3);
    assert_eq!(versions[0], (3, "\"active\"".to_string()));
    assert!(!r.text.contains(PLANTED) && !r.text.contains("\"value\""));
    let r = http
        .get("/api/vault/credentials/K/versions?service=s&limit=1&after=3")
        .await;
    assert_eq!(
        (&r.body["versions"][0]["version"], &r.body["next"]),
        (&json!(2), &json!(2))
    );

    let r = http
        .get("/api/vault/credentials/K?service=s&version=1")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (&r.body["value"], &r.body["version"]),
        (&json!(format!("{PLANTED}-1")), &json!(1))
    );

    let op = |v: &str, op: &str| format!("/api/vault/credentials/K/versions/{v}/{op}?service=s");
    let r = http.post(&op("1", "delete"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            &r.body["success"],
            &r.body["action"],
            &r.body["version"]["state"],
            &r.body["version"]["version"]
        ),
        (&json!(true), &json!("delete"), &json!("deleted"), &json!(1))
    );
    let r = http
        .get("/api/vault/credentials/K?service=s&version=1")
        .await;
    assert_error(&r, 404, "not_found");
    assert!(r.text.contains("version 1 is deleted"), "{}", r.text);
    let r = http.post(&op("1", "undelete"), &json!({})).await;
    assert_eq!(r.body["version"]["state"], "active", "{}", r.text);
    assert_eq!(
        http.get("/api/vault/credentials/K?service=s&version=1")
            .await
            .status,
        200
    );
    // The current version soft-deleted: a plain read is 404 too.
    http.post(&op("3", "delete"), &json!({})).await;
    assert_error(
        &http.get("/api/vault/credentials/K?service=s").await,
        404,
        "not_found",
    );
    http.post(&op("3", "undelete"), &json!({})).await;
    let r = http.post(&op("1", "destroy"), &json!({})).await;
    assert_eq!(r.body["version"]["state"], "destroyed", "{}", r.text);
    let r = http
        .get("/api/vault/credentials/K?service=s&version=1")
        .await;
    assert_error(&r, 404, "not_found");
    assert!(r.text.contains("destroyed"), "{}", r.text);
    assert_error(
        &http.post(&op("1", "undelete"), &json!({})).await,
        404,
        "not_found",
    );
    assert_error(
        &http.post(&op("9", "delete"), &json!({})).await,
        404,
        "not_found",
    );

    // Rotation: the reply of a put, never the value; the value by the policy.
    let r = http
        .post(
            "/api/vault/credentials/K/rotate?service=s",
            &json!({"length": 40, "charset": "hex"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (&r.body["action"], &r.body["version"]),
        (&json!("updated"), &json!(4))
    );
    assert!(r.body.get("value").is_none(), "{}", r.text);
    let r = http.get("/api/vault/credentials/K?service=s").await;
    let value = r.body["value"].as_str().expect("value").to_string();
    assert!(value.len() == 40 && value.bytes().all(|b| b.is_ascii_hexdigit()));

    // Settings: max_versions prunes at once, rotate_every shows in the listing.
    let r = http
        .post(
            "/api/vault/credentials/K/settings?service=s",
            &json!({"max_versions": 2, "rotate_every": "30d"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let c = &r.body["credential"];
    assert_eq!(
        (
            &c["max_versions"],
            &c["oldest_version"],
            &c["rotate_every"],
            &c["due"]
        ),
        (&json!(2), &json!(3), &json!("30d"), &Value::Null),
        "due is sent only when true"
    );
    let r = http.get("/api/vault/credentials?service=s").await;
    assert_eq!(
        r.body["credentials"][0]["rotate_every"], "30d",
        "{}",
        r.text
    );
    assert!(r.body["credentials"][0]["due_at"].is_string(), "{}", r.text);
    let r = http.get("/api/vault/credentials-due?service=s").await;
    assert_eq!(
        (r.status, &r.body["credentials"]),
        (200, &json!([])),
        "{}",
        r.text
    );

    let r = http.get("/api/vault/audit?limit=1000").await;
    assert_eq!(r.status, 200);
    assert!(!r.text.contains(PLANTED), "a value in the audit log");
    for op in [
        "credentials.versions",
        "credentials.destroy_version",
        "credentials.rotate",
    ] {
        assert!(r.text.contains(op), "{op} not audited");
    }
    assert!(server.terminate().success());
    for f in files_under(&dir.data()) {
        let bytes = std::fs::read(&f).expect("read");
        assert!(!contains_bytes(&bytes, PLANTED.as_bytes()), "{f:?}");
    }
    let log = std::fs::read(dir.log()).expect("log");
    assert!(
        !contains_bytes(&log, PLANTED.as_bytes()),
        "a value in the server log"
    );
}

#[tokio::test]
async fn credential_lifecycle_bad_input_is_400_naming_the_field_and_changes_nothing() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    seed(&http).await;
    let before = http
        .get("/api/vault/credentials/K/versions?service=s")
        .await
        .text;
    let posts = [
        (
            "/api/vault/credentials/K/versions/0/delete?service=s",
            json!({}),
            "version",
        ),
        (
            "/api/vault/credentials/K/versions/abc/destroy?service=s",
            json!({}),
            "version",
        ),
        (
            "/api/vault/credentials/K/versions/-1/destroy?service=s",
            json!({}),
            "version",
        ),
        (
            "/api/vault/credentials/K/versions/1/purge?service=s",
            json!({}),
            "op",
        ),
        (
            "/api/vault/credentials/K/versions/1/destroy",
            json!({}),
            "service",
        ),
        (
            "/api/vault/credentials/K/versions/1/destroy?service=s&force=1",
            json!({}),
            "force",
        ),
        (
            "/api/vault/credentials/K/versions/1/destroy?service=s",
            json!({"force": true}),
            "force",
        ),
        (
            "/api/vault/credentials/K/rotate?service=s",
            json!({"charset": "emoji"}),
            "charset",
        ),
        (
            "/api/vault/credentials/K/rotate?service=s",
            json!({"length": 7}),
            "length",
        ),
        (
            "/api/vault/credentials/K/rotate?service=s",
            json!({"length": 4097}),
            "length",
        ),
        (
            "/api/vault/credentials/K/rotate?service=s",
            json!({"size": 9}),
            "size",
        ),
        (
            "/api/vault/credentials/K/settings?service=s",
            json!({"max_versions": 0}),
            "max_versions",
        ),
        (
            "/api/vault/credentials/K/settings?service=s",
            json!({"max_versions": 101}),
            "max_versions",
        ),
        (
            "/api/vault/credentials/K/settings?service=s",
            json!({"rotate_every": "1y"}),
            "rotate_every",
        ),
        (
            "/api/vault/credentials/K/settings?service=s",
            json!({"rotate_every": "7".repeat(40)}),
            "rotate_every",
        ),
        (
            "/api/vault/credentials/K/settings?service=s",
            json!({"rotate_every": "30m"}),
            "rotate_every",
        ),
        (
            "/api/vault/credentials/K/settings?service=s",
            json!({"keep": 3}),
            "keep",
        ),
        (
            "/api/vault/credentials",
            json!({"service": "s", "key": "K", "value": "x", "rotate_every": "soon"}),
            "rotate_every",
        ),
        (
            "/api/vault/credentials",
            json!({"service": "s", "key": "K", "value": "x", "max_versions": 1000}),
            "max_versions",
        ),
    ];
    for (path, body, field) in posts {
        let r = http.post(path, &body).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{path} {body}: {}", r.text);
    }
    for (path, field) in [
        ("/api/vault/credentials/K?service=s&version=0", "version"),
        ("/api/vault/credentials/K?service=s&version=abc", "version"),
        ("/api/vault/credentials/K?service=s&versoin=1", "versoin"),
        ("/api/vault/credentials/K/versions", "service"),
        (
            "/api/vault/credentials/K/versions?service=s&limit=0",
            "limit",
        ),
        (
            "/api/vault/credentials/K/versions?service=s&after=x",
            "after",
        ),
        (
            "/api/vault/credentials/K/versions?service=s&state=1",
            "state",
        ),
        ("/api/vault/credentials-due?service=s&limit=5000", "limit"),
        ("/api/vault/credentials-due", "service"),
    ] {
        let r = http.get(path).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{path}: {}", r.text);
    }
    // An unknown operation segment with a valid version is still `op`; a wrong method 405.
    let r = http
        .get("/api/vault/credentials/K/versions/1/delete?service=s")
        .await;
    assert_error(&r, 405, "method_not_allowed");
    let after = http
        .get("/api/vault/credentials/K/versions?service=s")
        .await
        .text;
    assert_eq!(before, after, "a refused request changed something");
    let r = http.get("/api/vault/credentials/K?service=s").await;
    assert_eq!(r.body["version"], 3);
}

/// In-process server over a manual clock: rotation becomes due, health says `degraded` with
/// the count, the due listing shows it, and a rotation clears it.
#[tokio::test]
async fn health_is_degraded_while_a_credential_is_overdue() {
    let clock = ManualClock::new(Timestamp::from_millis(1_800_000_000_000));
    let (http, _stop) = server_with_clock(&clock).await;
    put(
        &http,
        json!({"service": "s", "key": "K", "value": PLANTED, "rotate_every": "12h"}),
    )
    .await;
    let r = http
        .send("GET", "/api/vault/health", crate::support::Auth::None, None)
        .await;
    assert_eq!(
        (r.status, &r.body["status"]),
        (200, &json!("ok")),
        "{}",
        r.text
    );
    assert!(r.body.get("overdue_credentials").is_none(), "{}", r.text);
    clock.advance(Duration::from_secs(12 * 3600));
    let r = http
        .send("GET", "/api/vault/health", crate::support::Auth::None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        (
            &r.body["status"],
            &r.body["overdue_credentials"],
            &r.body["service"]
        ),
        (&json!("degraded"), &json!(1), &json!("vvault")),
        "{}",
        r.text
    );
    let r = http.get("/api/vault/credentials-due?service=s").await;
    assert_eq!(r.body["credentials"][0]["key"], "K", "{}", r.text);
    assert_eq!(r.body["credentials"][0]["due"], true, "{}", r.text);
    let r = http
        .post("/api/vault/credentials/K/rotate?service=s", &json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .send("GET", "/api/vault/health", crate::support::Auth::None, None)
        .await;
    assert_eq!(r.body["status"], "ok", "{}", r.text);
    let r = http.get("/api/vault/credentials/K?service=s").await;
    assert_eq!(r.body["value"].as_str().map(str::len), Some(32));
}

#[tokio::test]
async fn remote_client_covers_the_lifecycle() {
    let dir = TestDir::new();
    let server = dir.start();
    let v = RemoteVault::new(
        &server.base,
        ClientOptions {
            token: Some(SecretString::from(TOKEN)),
            ..ClientOptions::default()
        },
    )
    .expect("client");
    let (s, k) = (
        ServiceName::new("s").expect("s"),
        CredentialKey::new("K").expect("K"),
    );
    let c = v.credentials();
    let mut first = CredentialPut::new(s.clone(), k.clone(), PLANTED);
    first.max_versions = Some(5);
    first.rotate_every = Some(RotateEvery::parse("7d").expect("7d"));
    c.put(first).await.expect("put");
    c.put(CredentialPut::new(s.clone(), k.clone(), "two"))
        .await
        .expect("put");
    assert_eq!(
        c.get_version(&k, Some(&s), 1)
            .await
            .expect("v1")
            .value
            .expose_secret(),
        PLANTED
    );
    let page = c.versions(&k, &s, None, None).await.expect("versions");
    assert_eq!((page.current_version, page.max_versions), (2, 5));
    let info = c
        .change_version(&k, &s, 1, VersionOp::Delete)
        .await
        .expect("delete");
    assert_eq!(info.state, VersionState::Deleted);
    assert_eq!(
        c.get_version(&k, None, 1)
            .await
            .expect_err("deleted")
            .code(),
        "not_found"
    );
    c.change_version(&k, &s, 1, VersionOp::Destroy)
        .await
        .expect("destroy");
    let w = c
        .rotate(
            &k,
            &s,
            GeneratePolicy {
                length: 12,
                charset: Charset::Base64url,
            },
        )
        .await
        .expect("rotate");
    assert_eq!(w.version, 3);
    assert_eq!(c.get(&k, None).await.expect("get").value.len(), 12);
    let info = c
        .set_settings(
            &k,
            &s,
            CredentialSettings {
                max_versions: Some(2),
                rotate_every: Some(None),
            },
        )
        .await
        .expect("settings");
    assert_eq!(
        (info.max_versions, info.oldest_version, info.rotate_every),
        (2, 2, None)
    );
    assert!(
        c.due(&s, PageRequest::first())
            .await
            .expect("due")
            .is_empty()
    );
    let listed = c.list(&s, PageRequest::first()).await.expect("list");
    assert_eq!(listed[0].max_versions, 2);
    // Checked before sending, the same `invalid` as embedded.
    assert_eq!(
        c.get_version(&k, Some(&s), 0).await.expect_err("0").field(),
        Some("version")
    );
    let e = c
        .change_version(&k, &s, 0, VersionOp::Undelete)
        .await
        .expect_err("0");
    assert_eq!(e.field(), Some("version"));
    let e = c
        .rotate(
            &k,
            &s,
            GeneratePolicy {
                length: 5000,
                charset: Charset::Hex,
            },
        )
        .await
        .expect_err("long");
    assert_eq!(e.field(), Some("length"));
    let e = c
        .set_settings(
            &k,
            &s,
            CredentialSettings {
                max_versions: Some(0),
                rotate_every: None,
            },
        )
        .await
        .expect_err("0");
    assert_eq!(e.field(), Some("max_versions"));
}

/// A token that may only read and list a service's credentials lists versions and the due
/// ones, and is refused (403, nothing changed) every lifecycle change.
#[tokio::test]
async fn lifecycle_changes_need_their_capability_over_http() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    seed(&http).await;
    let r = http
        .post(
            "/api/vault/tokens",
            &json!({"name": "reader", "rules": [
                {"path": "credentials/s/*", "capabilities": ["read", "list"]}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().expect("token").to_string();
    let reader = crate::support::Auth::Bearer(&token);
    let ok = http
        .send(
            "GET",
            "/api/vault/credentials/K/versions?service=s",
            reader,
            None,
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let ok = http
        .send("GET", "/api/vault/credentials-due?service=s", reader, None)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let body = Some(b"{}".to_vec());
    for path in [
        "/api/vault/credentials/K/versions/1/delete?service=s",
        "/api/vault/credentials/K/versions/1/undelete?service=s",
        "/api/vault/credentials/K/versions/1/destroy?service=s",
        "/api/vault/credentials/K/rotate?service=s",
        "/api/vault/credentials/K/settings?service=s",
    ] {
        let r = http.send("POST", path, reader, body.clone()).await;
        assert_error(&r, 403, "forbidden");
    }
    let after = http
        .get("/api/vault/credentials/K/versions?service=s")
        .await;
    assert_eq!(after.body["current_version"], 3);
    assert!(
        after.text.matches("\"active\"").count() == 3,
        "{}",
        after.text
    );
}
