//! Tokens with scoped policies through the real server: the scanner/executor example, a
//! policy matrix, revocation and expiry, minting limits, listing without secrets, bad bodies,
//! nothing on disk or in the log, the remote client, and the `vault-http token` CLI.

use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::{RootKeySource, SecretString, sha256_hex};
use vault_core::prelude::*;
use vault_core::{
    Capability, ConfigPut, CredentialKey, CredentialPut, Error, ManualClock, PageRequest, Rule,
    ServiceName, StrategyId, Timestamp, TokenCreate, Vault,
};
use vault_http::server::listen::{self, Limits};
use vault_http::{AppState, router};

use crate::support::{
    Auth, Http, KEY_HEX, Reply, Start, TOKEN, TestDir, assert_error, contains_bytes, files_under,
};

const READONLY: &str = "BITVAVO_READONLY_KEY";
const TRADE: &str = "BITVAVO_TRADE_KEY";

fn scanner_rules() -> Value {
    json!([{"path": "credentials/fxshinobi/BITVAVO_READONLY_*", "capabilities": ["read"]}])
}

fn executor_rules() -> Value {
    json!([
        {"path": "credentials/fxshinobi/BITVAVO_TRADE_*", "capabilities": ["read"]},
        {"path": "configs/fxshinobi/*", "capabilities": ["read", "list"]},
    ])
}

/// `POST /api/vault/tokens` as `auth`.
async fn create(http: &Http, auth: Auth<'_>, body: Value) -> Reply {
    http.send(
        "POST",
        "/api/vault/tokens",
        auth,
        Some(body.to_string().into_bytes()),
    )
    .await
}

/// Creates a token as root; its `(token, id)`.
async fn mint(http: &Http, name: &str, rules: Value) -> (String, String) {
    let r = create(
        http,
        crate::support::BEARER,
        json!({"name": name, "rules": rules}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().expect("token").to_string();
    let id = r.body["id"].as_str().expect("id").to_string();
    (token, id)
}

/// Writes the example's two keys and one config as root.
async fn seed(http: &Http) {
    for (key, value) in [(READONLY, "readonly-value"), (TRADE, "trade-value")] {
        let body = json!({"key": key, "service": "fxshinobi", "value": value});
        let r = http.post("/api/vault/credentials", &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let body = json!({"strategy_id": "default", "params": {"fast": 12}});
    let r = http.post("/api/vault/configs/fxshinobi", &body).await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// Asserts a 403 naming the capability and the path, never the rules.
#[track_caller]
fn assert_forbidden(r: &Reply, capability: &str, path: &str) {
    assert_error(r, 403, "forbidden");
    let msg = r.body["error"].as_str().unwrap_or_default();
    assert!(
        msg.contains(&format!("may not {capability} {path}")),
        "{msg}"
    );
    assert!(
        !msg.contains("BITVAVO_READONLY_*") && !msg.contains("BITVAVO_TRADE_*"),
        "{msg}"
    );
}

#[tokio::test]
async fn scanner_and_executor_see_only_their_own_keys_over_http() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    seed(&http).await;
    let (scanner, _) = mint(&http, "scanner", scanner_rules()).await;
    let (executor, _) = mint(&http, "executor", executor_rules()).await;
    let cred = |key: &str| format!("/api/vault/credentials/{key}?service=fxshinobi");
    let write = |key: &str| {
        Some(
            json!({"key": key, "service": "fxshinobi", "value": "overwritten"})
                .to_string()
                .into_bytes(),
        )
    };
    let config_put = || Some(br#"{"strategy_id":"default","enabled":false}"#.to_vec());

    // The scanner reads its key (with or without the service) and nothing else.
    let s = Auth::Bearer(&scanner);
    for path in [cred(READONLY), format!("/api/vault/credentials/{READONLY}")] {
        let r = http.send("GET", &path, s, None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["value"], "readonly-value");
    }
    let r = http.send("GET", &cred(TRADE), s, None).await;
    assert_forbidden(&r, "read", &format!("credentials/fxshinobi/{TRADE}"));
    let r = http
        .send("GET", &format!("/api/vault/credentials/{TRADE}"), s, None)
        .await;
    assert_error(&r, 403, "forbidden");
    for key in [READONLY, TRADE] {
        let r = http
            .send("POST", "/api/vault/credentials", s, write(key))
            .await;
        assert_forbidden(&r, "write", &format!("credentials/fxshinobi/{key}"));
        let r = http.send("DELETE", &cred(key), s, None).await;
        assert_forbidden(&r, "delete", &format!("credentials/fxshinobi/{key}"));
    }
    let r = http
        .send("GET", "/api/vault/credentials?service=fxshinobi", s, None)
        .await;
    assert_forbidden(&r, "list", "credentials/fxshinobi/*");
    let r = http
        .send("GET", "/api/vault/configs/fxshinobi", s, None)
        .await;
    assert_forbidden(&r, "list", "configs/fxshinobi/*");
    let r = http
        .send("GET", "/api/vault/configs/fxshinobi/default", s, None)
        .await;
    assert_forbidden(&r, "read", "configs/fxshinobi/default");
    let r = http
        .send("POST", "/api/vault/configs/fxshinobi", s, config_put())
        .await;
    assert_forbidden(&r, "write", "configs/fxshinobi/default");

    // The executor: the mirror image.
    let e = Auth::Bearer(&executor);
    let r = http.send("GET", &cred(TRADE), e, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["value"], "trade-value");
    let r = http.send("GET", &cred(READONLY), e, None).await;
    assert_forbidden(&r, "read", &format!("credentials/fxshinobi/{READONLY}"));
    for key in [READONLY, TRADE] {
        let r = http
            .send("POST", "/api/vault/credentials", e, write(key))
            .await;
        assert_forbidden(&r, "write", &format!("credentials/fxshinobi/{key}"));
        let r = http.send("DELETE", &cred(key), e, None).await;
        assert_forbidden(&r, "delete", &format!("credentials/fxshinobi/{key}"));
    }
    let r = http
        .send("GET", "/api/vault/configs/fxshinobi", e, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["configs"][0]["strategy_id"], "default");
    let r = http
        .send("GET", "/api/vault/configs/fxshinobi/default", e, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["config"]["params"], json!({"fast": 12}));
    let r = http
        .send("POST", "/api/vault/configs/fxshinobi", e, config_put())
        .await;
    assert_forbidden(&r, "write", "configs/fxshinobi/default");
    let r = http
        .send("GET", "/api/vault/credentials?service=fxshinobi", e, None)
        .await;
    assert_forbidden(&r, "list", "credentials/fxshinobi/*");

    // Nothing the denied requests tried happened.
    for (key, value) in [(READONLY, "readonly-value"), (TRADE, "trade-value")] {
        let r = http.get(&cred(key)).await;
        assert_eq!(
            (r.status, &r.body["value"]),
            (200, &json!(value)),
            "{}",
            r.text
        );
    }
    let r = http.get("/api/vault/configs/fxshinobi/default").await;
    assert_eq!(r.body["config"]["version"], 1, "{}", r.text);
}

#[tokio::test]
async fn policy_matrix_each_capability_allowed_only_on_its_glob() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let body = json!({"key": "MATRIX_KEY", "service": "matrix", "value": "matrix-value"});
    assert_eq!(http.post("/api/vault/credentials", &body).await.status, 200);
    let (_, victim) = mint(&http, "victim", json!([])).await;

    let caps = ["read", "write", "delete", "list", "admin"];
    for granted in caps {
        for matching in [true, false] {
            let rules = if matching {
                json!([
                    {"path": "credentials/matrix/MATRIX_*", "capabilities": [granted]},
                    {"path": "tokens/*", "capabilities": [granted]},
                ])
            } else {
                json!([
                    {"path": "credentials/other/MATRIX_*", "capabilities": [granted]},
                    {"path": "tokens/tok_000000000000", "capabilities": [granted]},
                ])
            };
            let (token, _) = mint(&http, &format!("{granted}-{matching}"), rules).await;
            let auth = Auth::Bearer(&token);
            for op in caps {
                let del = json!({"key": "MATRIX_DEL", "service": "matrix", "value": "v"});
                assert_eq!(http.post("/api/vault/credentials", &del).await.status, 200);
                let (method, path, body, resource) = match op {
                    "read" => (
                        "GET",
                        "/api/vault/credentials/MATRIX_KEY?service=matrix".to_string(),
                        None,
                        "credentials/matrix/MATRIX_KEY".to_string(),
                    ),
                    "write" => (
                        "POST",
                        "/api/vault/credentials".to_string(),
                        Some(
                            br#"{"key":"MATRIX_KEY","service":"matrix","value":"matrix-value"}"#
                                .to_vec(),
                        ),
                        "credentials/matrix/MATRIX_KEY".to_string(),
                    ),
                    "delete" => (
                        "DELETE",
                        "/api/vault/credentials/MATRIX_DEL?service=matrix".to_string(),
                        None,
                        "credentials/matrix/MATRIX_DEL".to_string(),
                    ),
                    "list" => (
                        "GET",
                        "/api/vault/credentials?service=matrix".to_string(),
                        None,
                        "credentials/matrix/*".to_string(),
                    ),
                    _ => (
                        "DELETE",
                        format!("/api/vault/tokens/{victim}"),
                        None,
                        format!("tokens/{victim}"),
                    ),
                };
                let r = http.send(method, &path, auth, body).await;
                let case = format!("granted {granted} (matching: {matching}), doing {op}");
                if granted == op && matching {
                    assert_eq!(r.status, 200, "{case}: {}", r.text);
                } else {
                    assert_eq!(r.status, 403, "{case}: {}", r.text);
                    assert_forbidden(&r, op, &resource);
                    assert!(
                        !r.text.contains("MATRIX_*"),
                        "{case}: names the rules: {}",
                        r.text
                    );
                }
                if op == "list" && r.status == 200 {
                    // Listed items the token may not read are left out.
                    assert_eq!(r.body["credentials"], json!([]), "{case}: {}", r.text);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_revoked_token_is_refused_from_its_next_request() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    seed(&http).await;
    let (scanner, id) = mint(&http, "scanner", scanner_rules()).await;
    let auth = Auth::Bearer(&scanner);
    let read = format!("/api/vault/credentials/{READONLY}?service=fxshinobi");
    assert_eq!(http.send("GET", &read, auth, None).await.status, 200);

    let r = http.delete(&format!("/api/vault/tokens/{id}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"action": "revoked", "id": id, "success": true})
    );

    for path in [read.as_str(), "/api/vault/tokens/self"] {
        let r = http.send("GET", path, auth, None).await;
        assert_error(&r, 401, "unauthorized");
        assert!(
            r.body["error"]
                .as_str()
                .unwrap_or_default()
                .contains("revoked"),
            "{}",
            r.text
        );
        assert!(!r.text.contains(&scanner), "{}", r.text);
    }
    // Listed as revoked; revoking again is not an error; an unknown id is 404.
    let r = http.get("/api/vault/tokens").await;
    assert_eq!(r.body["tokens"][0]["revoked"], true, "{}", r.text);
    assert_eq!(
        http.delete(&format!("/api/vault/tokens/{id}")).await.status,
        200
    );
    let r = http.delete("/api/vault/tokens/tok_000000000000").await;
    assert_error(&r, 404, "not_found");
    let r = http.delete("/api/vault/tokens/not-an-id").await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "id");
}

/// A server in this process on a loopback port, over an in-memory vault whose clock the test
/// moves. Stops when the returned sender is dropped.
pub(crate) async fn server_with_clock(
    clock: &ManualClock,
) -> (Http, tokio::sync::oneshot::Sender<()>) {
    let vault = Vault::builder()
        .store(Arc::new(vault_core::store::MemoryStore::new()))
        .key(RootKeySource::parse(KEY_HEX).expect("key"))
        .clock(Arc::new(clock.clone()))
        .open()
        .await
        .expect("open");
    let state = AppState::new(vault, SecretString::from(TOKEN), 10);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(listen::serve(
        listener,
        router(state),
        Limits::default(),
        async move {
            let _ = stopped.await;
        },
    ));
    (Http { base }, stop)
}

#[tokio::test]
async fn an_expired_token_is_refused_at_its_expiry() {
    let clock = ManualClock::new(Timestamp::from_millis(1_800_000_000_000));
    let (http, _stop) = server_with_clock(&clock).await;
    seed(&http).await;
    let r = create(
        &http,
        crate::support::BEARER,
        json!({"name": "short", "rules": scanner_rules(), "ttl": "1h"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["created_at"], "2027-01-15T08:00:00.000Z",
        "{}",
        r.text
    );
    assert_eq!(
        r.body["expires_at"], "2027-01-15T09:00:00.000Z",
        "{}",
        r.text
    );
    let token = r.body["token"].as_str().expect("token").to_string();
    let read = format!("/api/vault/credentials/{READONLY}?service=fxshinobi");

    clock.advance(Duration::from_secs(3599));
    let r = http.send("GET", &read, Auth::Bearer(&token), None).await;
    assert_eq!(r.status, 200, "one second before its expiry: {}", r.text);
    clock.advance(Duration::from_secs(1));
    let r = http.send("GET", &read, Auth::Bearer(&token), None).await;
    assert_error(&r, 401, "unauthorized");
    assert!(
        r.body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{}",
        r.text
    );

    // A ttl in seconds counts from the clock's now.
    let r = create(
        &http,
        crate::support::BEARER,
        json!({"name": "seconds", "rules": [], "ttl": 90}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        r.body["expires_at"], "2027-01-15T09:01:30.000Z",
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_token_cannot_mint_a_broader_token() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    seed(&http).await;
    let r = create(
        &http,
        crate::support::BEARER,
        json!({"name": "minter", "ttl": "1h", "rules": [
            {"path": "tokens/*", "capabilities": ["admin"]},
            {"path": "credentials/fxshinobi/BITVAVO_*", "capabilities": ["read", "list"]},
        ]}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let minter = r.body["token"].as_str().expect("token").to_string();
    let minter_expiry = r.body["expires_at"].as_str().expect("expiry").to_string();
    let auth = Auth::Bearer(&minter);

    for (rules, named) in [
        (
            json!([{"path": "credentials/fxshinobi/*", "capabilities": ["read"]}]),
            "rules[0] (read on credentials/fxshinobi/*)",
        ),
        (
            json!([
                {"path": "credentials/fxshinobi/BITVAVO_READONLY_*", "capabilities": ["read"]},
                {"path": "credentials/fxshinobi/BITVAVO_KEY", "capabilities": ["read", "write"]},
            ]),
            "rules[1] (write on credentials/fxshinobi/BITVAVO_KEY)",
        ),
        (
            json!([{"path": "tokens/**", "capabilities": ["admin"]}]),
            "rules[0] (admin on tokens/**)",
        ),
        (
            json!([{"path": "**", "capabilities": ["read"]}]),
            "rules[0] (read on **)",
        ),
    ] {
        let r = create(&http, auth, json!({"name": "child", "rules": rules})).await;
        assert_error(&r, 403, "forbidden");
        assert!(
            r.body["error"].as_str().unwrap_or_default().contains(named),
            "{}",
            r.text
        );
    }
    let r = http.get("/api/vault/tokens").await;
    assert_eq!(
        r.body["tokens"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );

    // Within its rules it may; the child does not outlive it.
    let r = create(
        &http,
        auth,
        json!({"name": "child", "ttl": "30d", "rules": scanner_rules()}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["expires_at"], minter_expiry.as_str(), "{}", r.text);
    let child = r.body["token"].as_str().expect("token").to_string();
    let r = http
        .send(
            "GET",
            &format!("/api/vault/credentials/{READONLY}?service=fxshinobi"),
            Auth::Bearer(&child),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

#[tokio::test]
async fn a_token_without_admin_manages_no_tokens_but_sees_itself() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let (scanner, id) = mint(&http, "scanner", scanner_rules()).await;
    let auth = Auth::Bearer(&scanner);
    let r = create(
        &http,
        auth,
        json!({"name": "child", "rules": scanner_rules()}),
    )
    .await;
    assert_error(&r, 403, "forbidden");
    assert!(
        r.body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("may not admin tokens/"),
        "{}",
        r.text
    );
    let r = http.send("GET", "/api/vault/tokens", auth, None).await;
    assert_forbidden(&r, "admin", "tokens/*");
    let r = http
        .send("DELETE", &format!("/api/vault/tokens/{id}"), auth, None)
        .await;
    assert_forbidden(&r, "admin", &format!("tokens/{id}"));

    let r = http.send("GET", "/api/vault/tokens/self", auth, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["id"], id.as_str());
    assert_eq!(r.body["name"], "scanner");
    assert_eq!(r.body["rules"], scanner_rules());
    assert_eq!(
        (r.body["revoked"].clone(), r.body["success"].clone()),
        (json!(false), json!(true))
    );
    assert!(
        r.body.get("token").is_none() && !r.text.contains(&scanner),
        "{}",
        r.text
    );
    let r = http.get("/api/vault/tokens/self").await;
    assert_eq!(
        (r.body["id"].clone(), r.body["name"].clone()),
        (json!("root"), json!("root"))
    );
}

#[tokio::test]
async fn listing_pages_tokens_and_never_shows_one_or_its_hash() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let mut minted = Vec::new();
    for name in ["one", "two", "three"] {
        minted.push(mint(&http, name, scanner_rules()).await);
    }
    let first = http.get("/api/vault/tokens?limit=2").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        first.body["tokens"].as_array().map(Vec::len),
        Some(2),
        "{}",
        first.text
    );
    let next = first.body["next"].as_str().expect("next").to_string();
    let second = http
        .get(&format!("/api/vault/tokens?limit=2&after={next}"))
        .await;
    assert_eq!(
        second.body["tokens"].as_array().map(Vec::len),
        Some(1),
        "{}",
        second.text
    );
    assert!(second.body.get("next").is_none(), "{}", second.text);
    let ids: Vec<String> = [&first, &second]
        .iter()
        .flat_map(|r| r.body["tokens"].as_array().cloned().unwrap_or_default())
        .map(|t| t["id"].as_str().expect("id").to_string())
        .collect();
    let mut want: Vec<String> = minted.iter().map(|(_, id)| id.clone()).collect();
    want.sort();
    assert_eq!(ids, want, "ordered by id");
    let item = &first.body["tokens"][0];
    let mut keys: Vec<&str> = item
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "created_at",
            "expires_at",
            "id",
            "last_used_at",
            "name",
            "revoked",
            "rules"
        ]
    );
    for (token, _) in &minted {
        let hash = sha256_hex(token.as_bytes()).expect("hash");
        let random = token.strip_prefix("vault_sk_").expect("prefix");
        for r in [&first, &second] {
            for secret in [token.as_str(), hash.as_str(), random] {
                assert!(
                    !r.text.contains(secret),
                    "a listing shows a token or hash: {}",
                    r.text
                );
            }
        }
    }
    let r = http.get("/api/vault/tokens?limit=0").await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "limit");
    let r = http.get("/api/vault/tokens?bogus=1").await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "bogus");
}

#[tokio::test]
async fn bad_create_bodies_are_400_naming_the_field() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let ok_rule = json!({"path": "credentials/a/*", "capabilities": ["read"]});
    let cases: Vec<(Vec<u8>, &str)> = [
        (json!({"name": "n", "rules": [], "bogus": 1}), "bogus"),
        (
            json!({"name": "n", "rules": [ok_rule, {"path": "credentials//x", "capabilities": ["read"]}]}),
            "rules[1].path",
        ),
        (
            json!({"name": "n", "rules": [{"path": "a/b**", "capabilities": ["read"]}]}),
            "rules[0].path",
        ),
        (
            json!({"name": "n", "rules": [{"path": "a", "capabilities": ["read"], "deny": true}]}),
            "rules[0].deny",
        ),
        (
            json!({"name": "n", "rules": [ok_rule, {"path": "a", "capabilities": ["read", "sudo"]}]}),
            "rules[1].capabilities[1]",
        ),
        (
            json!({"name": "n", "rules": [{"path": "a", "capabilities": []}]}),
            "rules[0].capabilities",
        ),
        (json!({"name": "n", "rules": [], "ttl": "soon"}), "ttl"),
        (json!({"name": "n", "rules": [], "ttl": -5}), "ttl"),
        (json!({"name": "n", "rules": [], "ttl": 1.5}), "ttl"),
        (json!({"name": "n", "rules": [], "ttl": 0}), "ttl"),
        (json!({"name": "n", "rules": [], "ttl": "3651d"}), "ttl"),
        (json!({"rules": []}), "name"),
        (json!({"name": "n"}), "rules"),
        (json!({"name": "a b", "rules": []}), "name"),
        (json!(["n"]), "body"),
    ]
    .into_iter()
    .map(|(v, f)| (v.to_string().into_bytes(), f))
    .chain([
        (br#"{"name": "n", "rules": ["#.to_vec(), "body"),
        (Vec::new(), "body"),
    ])
    .collect();
    for (body, field) in cases {
        let shown = String::from_utf8_lossy(&body).into_owned();
        let r = http.post_raw("/api/vault/tokens", &body).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{shown}: {}", r.text);
    }
    let r = http.get("/api/vault/tokens").await;
    assert_eq!(
        r.body["tokens"],
        json!([]),
        "nothing was created: {}",
        r.text
    );
}

#[tokio::test]
async fn a_created_token_reaches_neither_disk_nor_log() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start {
        env: vec![("VAULT_LOG", "debug")],
        ..Start::new(&data, &log)
    }
    .spawn();
    let http = server.http();
    seed(&http).await;
    let (token, id) = mint(&http, "scanner", scanner_rules()).await;
    let read = format!("/api/vault/credentials/{READONLY}?service=fxshinobi");
    assert_eq!(
        http.send("GET", &read, Auth::Bearer(&token), None)
            .await
            .status,
        200
    );
    let r = http
        .send(
            "GET",
            &format!("/api/vault/credentials/{TRADE}"),
            Auth::Bearer(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 403);
    // A near miss (one character changed) is unknown, and not logged either.
    let mut near = token.clone().into_bytes();
    near[20] = if near[20] == b'A' { b'B' } else { b'A' };
    let near = String::from_utf8(near).expect("ascii");
    let r = http.send("GET", &read, Auth::Header(&near), None).await;
    assert_error(&r, 401, "unauthorized");
    assert_eq!(
        http.delete(&format!("/api/vault/tokens/{id}")).await.status,
        200
    );
    assert_eq!(
        http.send("GET", &read, Auth::Bearer(&token), None)
            .await
            .status,
        401
    );
    assert!(server.terminate().success());

    let files = files_under(&data);
    assert!(files.len() >= 2, "{files:?}");
    let random = token.strip_prefix("vault_sk_").expect("prefix");
    for f in files {
        let bytes = std::fs::read(&f).expect("read data file");
        assert!(
            !contains_bytes(&bytes, random.as_bytes()),
            "{} holds the token",
            f.display()
        );
    }
    let log = std::fs::read(&log).expect("log");
    let text = String::from_utf8_lossy(&log);
    for secret in [random, &near["vault_sk_".len()..]] {
        assert!(!text.contains(secret), "the log holds a presented token");
    }
    // The log does say who called, by public id, and why a request was refused.
    assert!(text.contains(&format!(r#""caller":"{id}""#)), "{text}");
    assert!(text.contains("the token was revoked"), "{text}");
}

#[tokio::test]
async fn failed_token_authentications_spend_the_address_attempts() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start {
        env: vec![("VAULT_AUTH_FAILURE_BURST", "3")],
        ..Start::new(&data, &log)
    }
    .spawn();
    let http = server.http();
    let (token, id) = mint(&http, "scanner", scanner_rules()).await;
    assert_eq!(
        http.delete(&format!("/api/vault/tokens/{id}")).await.status,
        200
    );
    let unknown = format!("vault_sk_{}", "x".repeat(48));
    for t in [unknown.as_str(), token.as_str(), "vault_sk_short"] {
        let r = http
            .send("GET", "/api/vault/tokens/self", Auth::Bearer(t), None)
            .await;
        assert_error(&r, 401, "unauthorized");
    }
    let r = http.get("/api/vault/tokens/self").await;
    assert_error(&r, 429, "rate_limited");
}

fn remote(base: &str, token: &str) -> RemoteVault {
    RemoteVault::new(
        base,
        ClientOptions {
            token: Some(SecretString::from(token)),
            ..ClientOptions::default()
        },
    )
    .expect("client")
}

fn rule(path: &str, capabilities: &[Capability]) -> Rule {
    Rule {
        path: path.into(),
        capabilities: capabilities.to_vec(),
    }
}

#[tokio::test]
async fn the_example_through_the_remote_client() {
    let dir = TestDir::new();
    let server = dir.start();
    let root = remote(&server.base, TOKEN);
    let fx = ServiceName::new("fxshinobi").expect("name");
    let key = |k: &str| CredentialKey::new(k).expect("key");
    for (k, v) in [(READONLY, "readonly-value"), (TRADE, "trade-value")] {
        root.credentials()
            .put(CredentialPut::new(fx.clone(), key(k), v))
            .await
            .expect("put");
    }
    let sid = StrategyId::new("default").expect("sid");
    root.configs()
        .put(&fx, ConfigPut::new(sid.clone()))
        .await
        .expect("config");

    use Capability::{List, Read};
    let scanner = root
        .tokens()
        .create(TokenCreate {
            name: "scanner".into(),
            rules: vec![rule("credentials/fxshinobi/BITVAVO_READONLY_*", &[Read])],
            ttl: Some(Duration::from_secs(30 * 86_400)),
            llm: Default::default(),
        })
        .await
        .expect("scanner");
    assert!(scanner.token.expose_secret().starts_with("vault_sk_"));
    assert!(scanner.info.expires_at.is_some());
    let executor = root
        .tokens()
        .create(TokenCreate {
            name: "executor".into(),
            rules: vec![
                rule("credentials/fxshinobi/BITVAVO_TRADE_*", &[Read]),
                rule("configs/fxshinobi/*", &[Read, List]),
            ],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("executor");

    let forbidden = |r: vault_core::Result<_>, what: &str| match r {
        Err(Error::Forbidden(m)) => assert!(m.contains("may not"), "{what}: {m}"),
        Err(e) => panic!("{what}: {e}"),
        Ok(_) => panic!("{what}: allowed"),
    };
    let s = remote(&server.base, scanner.token.expose_secret());
    let c = s
        .credentials()
        .get(&key(READONLY), Some(&fx))
        .await
        .expect("read");
    assert_eq!(c.value.expose_secret(), "readonly-value");
    forbidden(
        s.credentials()
            .get(&key(TRADE), Some(&fx))
            .await
            .map(|_| ()),
        "scanner trade",
    );
    forbidden(
        s.credentials()
            .put(CredentialPut::new(fx.clone(), key(READONLY), "x"))
            .await
            .map(|_| ()),
        "scanner write",
    );
    forbidden(
        s.configs().get(&fx, &sid, None).await.map(|_| ()),
        "scanner config",
    );
    forbidden(
        s.configs()
            .list(&fx, PageRequest::first())
            .await
            .map(|_| ()),
        "scanner configs",
    );
    forbidden(
        s.tokens().list(PageRequest::first()).await.map(|_| ()),
        "scanner tokens",
    );
    let me = s.tokens().get_self().await.expect("self");
    assert_eq!(
        (me.id.as_str(), me.name.as_str()),
        (scanner.info.id.as_str(), "scanner")
    );
    assert_eq!(me.rules, scanner.info.rules);

    let e = remote(&server.base, executor.token.expose_secret());
    let c = e
        .credentials()
        .get(&key(TRADE), Some(&fx))
        .await
        .expect("read");
    assert_eq!(c.value.expose_secret(), "trade-value");
    forbidden(
        e.credentials()
            .get(&key(READONLY), Some(&fx))
            .await
            .map(|_| ()),
        "executor ro",
    );
    assert_eq!(
        e.configs()
            .list(&fx, PageRequest::first())
            .await
            .expect("list")
            .len(),
        1
    );
    e.configs().get(&fx, &sid, None).await.expect("config");
    forbidden(
        e.configs()
            .put(&fx, ConfigPut::new(sid.clone()))
            .await
            .map(|_| ()),
        "executor config write",
    );

    let listed = root
        .tokens()
        .list(PageRequest::first())
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|t| !t.revoked));
    let revoked = root
        .tokens()
        .revoke(&scanner.info.id)
        .await
        .expect("revoke");
    assert_eq!(revoked.id, scanner.info.id);
    match s.credentials().get(&key(READONLY), Some(&fx)).await {
        Err(Error::Unauthorized(m)) => assert!(m.contains("revoked"), "{m}"),
        other => panic!("a revoked token read: {other:?}"),
    }
    let e = root.tokens().revoke("tok_bad").await.expect_err("bad id");
    assert_eq!((e.code(), e.field()), ("invalid", Some("id")));
}

/// Runs `vault-http token ...` against `base` with `token` in `VAULT_TOKEN`.
fn cli(base: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vault-http"));
    cmd.arg("token")
        .args(args)
        .env("VAULT_ADDR", base)
        .env_remove("VAULT_TOKEN")
        .env_remove("VVAULT_SERVICE_TOKEN");
    if let Some(t) = token {
        cmd.env("VAULT_TOKEN", t);
    }
    cmd.output().expect("run vault-http token")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The value of the `name: value` line of a command's output.
fn line_value(out: &str, name: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} line in {out}"))
        .to_string()
}

#[tokio::test]
async fn the_cli_creates_lists_and_revokes_tokens() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    seed(&http).await;
    let base = server.base.clone();
    let allow = "read:credentials/fxshinobi/BITVAVO_READONLY_*";
    let o = cli(
        &base,
        Some(TOKEN),
        &[
            "create",
            "--name",
            "scanner",
            "--allow",
            allow,
            "--allow",
            "read,list:configs/fxshinobi/*",
            "--ttl",
            "30d",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let token = line_value(&out, "token");
    let id = line_value(&out, "id");
    assert!(
        token.starts_with("vault_sk_") && id.starts_with("tok_"),
        "{out}"
    );
    assert_ne!(line_value(&out, "expires_at"), "never", "{out}");
    // The token works over plain HTTP with exactly those rules.
    let r = http
        .send(
            "GET",
            &format!("/api/vault/credentials/{READONLY}?service=fxshinobi"),
            Auth::Bearer(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .send(
            "GET",
            "/api/vault/configs/fxshinobi",
            Auth::Bearer(&token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let o = cli(&base, Some(&token), &["whoami"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let who = stdout(&o);
    assert_eq!(line_value(&who, "id"), id);
    assert_eq!(line_value(&who, "name"), "scanner");
    assert!(who.contains(&format!("allow: {allow}\n")), "{who}");
    assert!(
        who.contains("allow: read,list:configs/fxshinobi/*\n"),
        "{who}"
    );

    let o = cli(&base, Some(TOKEN), &["list"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let listed = stdout(&o);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&format!("{id}\tscanner\t"))),
        "{listed}"
    );
    assert!(!listed.contains(&token), "{listed}");

    // The scanner may not manage tokens: one line on stderr, non-zero exit.
    let o = cli(
        &base,
        Some(&token),
        &["create", "--name", "x", "--allow", allow],
    );
    assert!(!o.status.success());
    assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("error: forbidden: "),
        "{}",
        stderr(&o)
    );

    let o = cli(&base, Some(TOKEN), &["revoke", &id]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("revoked {id}\n"));

    let o = cli(&base, Some(&token), &["whoami"]);
    assert!(!o.status.success(), "whoami with a revoked token succeeded");
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("error: unauthorized: "), "{err}");
    assert!(err.contains("revoked") && !err.contains(&token), "{err}");
    assert!(stdout(&o).is_empty());

    // Input errors and a missing token are one line too, before any request.
    for (token, args, start) in [
        (
            Some(TOKEN),
            vec!["create", "--name", "x", "--allow", "sudo:credentials/a"],
            "error: invalid: invalid --allow",
        ),
        (
            Some(TOKEN),
            vec!["create", "--name", "x", "--allow", allow, "--ttl", "soon"],
            "error: invalid: invalid --ttl",
        ),
        (None, vec!["whoami"], "error: invalid: invalid VAULT_TOKEN"),
    ] {
        let o = cli(&base, token, &args);
        assert!(!o.status.success(), "{args:?}");
        assert_eq!(stderr(&o).lines().count(), 1, "{}", stderr(&o));
        assert!(stderr(&o).starts_with(start), "{args:?}: {}", stderr(&o));
    }
}

/// Over HTTP and through the remote client: paging a listing with a token never names a
/// record it may not read (the page's `next` is then a sealed cursor, accepted as `after`).
#[tokio::test]
async fn paging_a_listing_never_names_what_the_token_may_not_read() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for key in ["A_HIDDEN", "B_SHOWN", "C_HIDDEN"] {
        let body = json!({"key": key, "service": "fx", "value": "v"});
        assert_eq!(http.post("/api/vault/credentials", &body).await.status, 200);
    }
    let rules = json!([
        {"path": "credentials/fx/*", "capabilities": ["list"]},
        {"path": "credentials/fx/B_*", "capabilities": ["read"]}
    ]);
    let (token, _) = mint(&http, "pager", rules).await;
    let (mut shown, mut after) = (Vec::new(), String::new());
    loop {
        let r = http
            .send(
                "GET",
                &format!("/api/vault/credentials?service=fx&limit=1{after}"),
                Auth::Bearer(&token),
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert!(!r.text.contains("HIDDEN"), "{}", r.text);
        shown.extend(
            r.body["credentials"]
                .as_array()
                .expect("credentials")
                .iter()
                .map(|c| c["key"].as_str().expect("key").to_string()),
        );
        match r.body["next"].as_str() {
            Some(n) => after = format!("&after={n}"),
            None => break,
        }
    }
    assert_eq!(shown, ["B_SHOWN"]);

    let remote = RemoteVault::new(
        &server.base,
        ClientOptions {
            token: Some(SecretString::from(token.as_str())),
            ..ClientOptions::default()
        },
    )
    .expect("client");
    let fx = vault_core::ServiceName::new("fx").expect("svc");
    let first = remote
        .credentials()
        .list(&fx, vault_core::PageRequest::new(Some(1), None))
        .await
        .expect("list");
    let cursor = first.next.clone().expect("more");
    assert!(cursor.starts_with('~'), "{cursor}");
    let second = remote
        .credentials()
        .list(&fx, vault_core::PageRequest::new(Some(1), Some(cursor)))
        .await
        .expect("list");
    assert_eq!(
        second.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(),
        ["B_SHOWN"]
    );
}
