//! Every `/api/vault/*` endpoint and every error, over real HTTP.

use serde_json::{Value, json};

use crate::support::{Auth, BEARER, TOKEN, TestDir, assert_error};

#[tokio::test]
async fn health_is_open_and_reports_ok() {
    let dir = TestDir::new();
    let server = dir.start();
    let r = server
        .http()
        .send("GET", "/api/vault/health", Auth::None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("application/json"));
    assert_eq!(r.body["status"], "ok");
    assert_eq!(r.body["service"], "vvault");
    assert_eq!(r.body["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(r.body["components"]["store"], "connected");
    assert_eq!(r.body["components"]["service_api"], "enabled");
    assert!(
        r.body["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    assert!(r.body["message"].as_str().is_some());
}

#[tokio::test]
async fn credentials_round_trip_with_the_documented_shapes() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();

    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "OANDA_API_KEY", "service": "fxshinobi", "value": "v1-secret",
                    "metadata": {"env": "practice"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "key": "OANDA_API_KEY", "service": "fxshinobi",
               "action": "created", "message": "Credential created successfully", "version": 1})
    );

    // Update through the other header style; metadata omitted keeps the previous one.
    let body = json!({"key": "OANDA_API_KEY", "service": "fxshinobi", "value": "v2-secret",
                      "expected_version": 1});
    let r = http
        .send(
            "POST",
            "/api/vault/credentials",
            Auth::Header(TOKEN),
            Some(body.to_string().into_bytes()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["action"], "updated");
    assert_eq!(r.body["message"], "Credential updated successfully");
    assert_eq!(r.body["version"], 2);

    for path in [
        "/api/vault/credentials/OANDA_API_KEY",
        "/api/vault/credentials/OANDA_API_KEY?service=fxshinobi",
    ] {
        let r = http.get(path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["success"], true);
        assert_eq!(r.body["key"], "OANDA_API_KEY");
        assert_eq!(r.body["service"], "fxshinobi");
        assert_eq!(r.body["value"], "v2-secret");
        assert_eq!(r.body["metadata"], json!({"env": "practice"}));
        assert_eq!(r.body["version"], 2);
        assert!(r.body["updated_at"].is_string());
    }

    http.post(
        "/api/vault/credentials",
        &json!({"key": "OPENAI_KEY", "service": "fxshinobi", "value": "sk-other"}),
    )
    .await;
    let r = http.get("/api/vault/credentials?service=fxshinobi").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["service"], "fxshinobi");
    let list = r.body["credentials"].as_array().expect("credentials array");
    let keys: Vec<&str> = list.iter().filter_map(|c| c["key"].as_str()).collect();
    assert_eq!(keys, ["OANDA_API_KEY", "OPENAI_KEY"]);
    for c in list {
        for field in [
            "key",
            "service",
            "metadata",
            "version",
            "created_at",
            "updated_at",
        ] {
            assert!(c.get(field).is_some(), "{field} missing in {c}");
        }
        assert!(c.get("value").is_none(), "list shows a value: {c}");
    }
    assert!(!r.text.contains("v2-secret") && !r.text.contains("sk-other"));

    let r = http.delete("/api/vault/credentials/OPENAI_KEY").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "key": "OPENAI_KEY", "service": "fxshinobi", "action": "deleted"})
    );
    let r = http.get("/api/vault/credentials/OPENAI_KEY").await;
    assert_error(&r, 404, "not_found");
    assert_eq!(
        r.body,
        json!({"success": false, "error": "Credential 'OPENAI_KEY' not found", "code": "not_found"})
    );
    let r = http
        .delete("/api/vault/credentials/OANDA_API_KEY?service=fxshinobi")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.delete("/api/vault/credentials/OANDA_API_KEY").await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn configs_round_trip_with_the_documented_shapes() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();

    let r = http.get("/api/vault/configs/fxshinobi").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fxshinobi", "revision": 0, "configs": []})
    );

    let r = http
        .post(
            "/api/vault/configs/fxshinobi",
            &json!({"strategy_id": "momentum", "params": {"fast": 12, "slow": 26},
                    "symbols": ["EUR_USD"], "risk_limits": {"max_units": 1000}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fxshinobi", "strategy_id": "momentum",
               "action": "created", "version": 1})
    );
    // Omitted fields keep their previous values.
    let r = http
        .post(
            "/api/vault/configs/fxshinobi",
            &json!({"strategy_id": "momentum", "enabled": false, "expected_version": 1}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["action"], "updated");
    assert_eq!(r.body["version"], 2);

    let r = http.get("/api/vault/configs/fxshinobi").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let configs = r.body["configs"].as_array().expect("configs");
    assert_eq!(configs.len(), 1);
    let c = &configs[0];
    assert_eq!(c["strategy_id"], "momentum");
    assert_eq!(c["params"], json!({"fast": 12, "slow": 26}));
    assert_eq!(c["symbols"], json!(["EUR_USD"]));
    assert_eq!(c["risk_limits"], json!({"max_units": 1000}));
    assert_eq!(c["enabled"], false);
    assert_eq!(c["version"], 2);
    assert!(c["updated_at"].is_string());

    let r = http.get("/api/vault/configs/fxshinobi/momentum").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["service"], "fxshinobi");
    assert_eq!(r.body["config"]["version"], 2);
    assert_eq!(r.body["config"]["enabled"], false);

    let r = http
        .get("/api/vault/configs/fxshinobi/momentum?version=1")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["config"]["version"], 1);
    assert_eq!(r.body["config"]["enabled"], true);

    let r = http
        .get("/api/vault/configs/fxshinobi/momentum?version=9")
        .await;
    assert_error(&r, 404, "not_found");
    let r = http.get("/api/vault/configs/fxshinobi/unknown").await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn missing_or_wrong_token_is_401_and_both_header_styles_work() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    // More wrong guesses than the default burst: this test is about the 401s.
    let server = crate::support::Start {
        env: vec![("VAULT_AUTH_FAILURE_BURST", "1000")],
        ..crate::support::Start::new(&data, &log)
    }
    .spawn();
    let http = server.http();
    let routes = [
        ("GET", "/api/vault/credentials/K?service=s"),
        ("GET", "/api/vault/credentials?service=s"),
        ("POST", "/api/vault/credentials"),
        ("DELETE", "/api/vault/credentials/K"),
        ("GET", "/api/vault/configs/s"),
        ("POST", "/api/vault/configs/s"),
        ("GET", "/api/vault/configs/s/x"),
        ("GET", "/api/vault/configs/s/x/history"),
    ];
    for (method, path) in routes {
        for auth in [
            Auth::None,
            Auth::Bearer("wrong-token"),
            Auth::Header("wrong-token"),
            Auth::Bearer(""),
        ] {
            let body = (method == "POST").then(|| b"{}".to_vec());
            let r = http.send(method, path, auth, body).await;
            assert_error(&r, 401, "unauthorized");
            assert!(!r.text.contains("wrong-token"));
        }
    }
    for auth in [Auth::Bearer(TOKEN), Auth::Header(TOKEN)] {
        let r = http
            .send("GET", "/api/vault/credentials?service=s", auth, None)
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
}

/// Everything the rejection tests below could have touched.
async fn snapshot(http: &crate::support::Http) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/vault/credentials?service=alpha",
        "/api/vault/credentials?service=beta",
        "/api/vault/credentials/K?service=alpha",
        "/api/vault/credentials/K?service=beta",
        "/api/vault/configs/alpha",
    ] {
        let r = http.get(path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
        out.push(r.body);
    }
    out
}

/// An `invalid` error names its field twice: in `field` and as `invalid <field>: ...`.
#[track_caller]
fn assert_invalid_field(r: &crate::support::Reply) {
    let field = r.body["field"]
        .as_str()
        .unwrap_or_else(|| panic!("no field: {}", r.text));
    let error = r.body["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with(&format!("invalid {field}: ")),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn errors_are_json_with_stable_codes_and_change_nothing() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for service in ["alpha", "beta"] {
        let r = http
            .post(
                "/api/vault/credentials",
                &json!({"key": "K", "service": service, "value": format!("{service}-value")}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = http
        .post(
            "/api/vault/configs/alpha",
            &json!({"strategy_id": "s1", "params": {"a": 1}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let before = snapshot(&http).await;
    // The whole store, byte for byte, as it is before the rejected requests.
    assert!(server.terminate().success());
    let store_before = store_dump(&dir.data()).await;
    let server = dir.start();
    let http = server.http();

    // 404: unknown key, unknown route.
    assert_error(
        &http.get("/api/vault/credentials/NOPE").await,
        404,
        "not_found",
    );
    assert_error(&http.get("/api/vault/nope").await, 404, "not_found");
    let r = http.send("GET", "/nowhere", Auth::None, None).await;
    assert_error(&r, 404, "not_found");

    // 409: ambiguous key without service; stale expected_version.
    let r = http.get("/api/vault/credentials/K").await;
    assert_error(&r, 409, "conflict");
    assert_error(
        &http.delete("/api/vault/credentials/K").await,
        409,
        "conflict",
    );
    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "K", "service": "alpha", "value": "stale-write", "expected_version": 0}),
        )
        .await;
    assert_error(&r, 409, "conflict");
    let r = http
        .post(
            "/api/vault/configs/alpha",
            &json!({"strategy_id": "s1", "enabled": false, "expected_version": 7}),
        )
        .await;
    assert_error(&r, 409, "conflict");

    // 400: malformed JSON, wrong types, unknown and missing fields, path tricks, bad queries.
    let r = http
        .post_raw("/api/vault/credentials", b"{\"key\": \"K\", ")
        .await;
    assert_error(&r, 400, "invalid");
    assert!(
        r.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("malformed JSON"))
    );
    let cases: [(&str, Value, &str); 8] = [
        (
            "/api/vault/configs/alpha",
            json!({"strategy_id": "s1", "enabled": "wrong-type-value-1"}),
            "invalid enabled: expected a boolean",
        ),
        (
            "/api/vault/configs/alpha",
            json!({"strategy_id": "s1", "params": "wrong-type-value-2"}),
            "invalid params: expected a JSON object",
        ),
        (
            "/api/vault/configs/alpha",
            json!({"strategy_id": "s1", "symbols": ["EUR_USD", 5]}),
            "invalid symbols[1]: expected a string",
        ),
        (
            "/api/vault/configs/alpha",
            json!({"strategy_id": "s1", "colour": "wrong-type-value-3"}),
            "invalid colour: unknown field",
        ),
        (
            "/api/vault/configs/alpha",
            json!({"params": {}}),
            "invalid strategy_id: is required",
        ),
        (
            "/api/vault/credentials",
            json!({"key": "K", "service": "alpha", "value": 12345}),
            "invalid value: expected a string",
        ),
        (
            "/api/vault/credentials",
            json!({"key": "K", "service": "alpha", "value": "x", "extra": "wrong-type-value-4"}),
            "invalid extra: unknown field",
        ),
        (
            "/api/vault/credentials",
            json!({"key": "K", "value": "wrong-type-value-5"}),
            "invalid service: is required",
        ),
    ];
    for (path, body, want) in cases {
        let r = http.post(path, &body).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["error"], want, "{body}");
        assert_invalid_field(&r);
        assert!(!r.text.contains("wrong-type-value"), "{}", r.text);
    }
    let r = http
        .post_raw("/api/vault/credentials", b"[\"wrong-type-value-6\"]")
        .await;
    assert_error(&r, 400, "invalid");
    assert!(!r.text.contains("wrong-type-value"));
    // Names are checked by the server too, whatever a client checked before sending them.
    for (path, field) in [
        ("/api/vault/credentials/..%2F..%2Fetc", "key"),
        ("/api/vault/credentials/..%2F..%2Fetc?service=alpha", "key"),
        ("/api/vault/configs/..%2Fetc", "service"),
        ("/api/vault/configs/alpha/..%2F..", "strategy_id"),
        ("/api/vault/configs/alpha/..%2F../history", "strategy_id"),
        ("/api/vault/credentials?service=..%2Fx", "service"),
        ("/api/vault/credentials", "service"),
        ("/api/vault/configs/alpha/s1?version=abc", "version"),
        ("/api/vault/configs/alpha/s1?version=-1", "version"),
    ] {
        let r = http.get(path).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{path}: {}", r.text);
        assert_invalid_field(&r);
    }
    let r = http
        .post(
            "/api/vault/configs/..%2F..%2Fetc",
            &json!({"strategy_id": "s1"}),
        )
        .await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "service", "{}", r.text);
    let r = http.delete("/api/vault/credentials/..%2F..%2Fetc").await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "key", "{}", r.text);
    // A misspelt query parameter is refused, never ignored: ignoring `servce` would make this
    // DELETE fall back to "the one service holding K", and `verison` would read the latest.
    let r = http.delete("/api/vault/credentials/K?servce=alpha").await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["error"], "invalid servce: unknown field");
    let r = http.get("/api/vault/configs/alpha/s1?verison=1").await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["error"], "invalid verison: unknown field");
    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "../../etc", "service": "alpha", "value": "x"}),
        )
        .await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "key", "{}", r.text);
    assert!(
        r.body["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("invalid key: may contain only")),
        "{}",
        r.text
    );
    assert_eq!(
        http.get("/api/vault/credentials").await.body["error"],
        "invalid service: is required"
    );

    // 413: a 2 MiB body.
    let big = format!(
        "{{\"key\":\"K\",\"service\":\"alpha\",\"value\":\"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let r = http
        .post_raw("/api/vault/credentials", big.as_bytes())
        .await;
    assert_error(&r, 413, "payload_too_large");

    // 405: known path, wrong method.
    for (method, path) in [
        ("PUT", "/api/vault/credentials"),
        ("PATCH", "/api/vault/configs/alpha"),
        ("PUT", "/api/vault/configs/alpha/s1"),
        ("POST", "/api/vault/health"),
    ] {
        let r = http.send(method, path, BEARER, None).await;
        assert_error(&r, 405, "method_not_allowed");
    }

    assert_eq!(
        snapshot(&http).await,
        before,
        "a rejected request changed data"
    );
    assert!(server.terminate().success());
    assert!(
        store_dump(&dir.data()).await == store_before,
        "a rejected request changed the store"
    );
}

/// Every key and value in the data directory's store (the server must be stopped).
/// Every record of the store but the audit log's (`audit/`: each rejected request is audited)
/// and the ledger buckets (the audit log's head is one of their records).
async fn store_dump(data: &std::path::Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    use vault_core::store::Store as _;
    let store = vault_core::store::SledStore::open(data.join("store")).expect("open the store");
    let mut all = store.scan(b"", None, usize::MAX).await.expect("scan");
    all.retain(|(k, _)| !k.starts_with(b"audit/") && !k.starts_with(b"sys/ledger/"));
    assert!(
        all.iter().any(|(k, _)| k.starts_with(b"cred/")),
        "data is compared"
    );
    all
}

#[tokio::test]
async fn each_request_logs_one_line_without_query_or_headers() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = http
        .get("/api/vault/credentials?service=query-marker-91")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .send(
            "GET",
            "/api/vault/credentials?service=x",
            Auth::Bearer("header-marker-42"),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    // The server logs after answering: stop it so every line is written.
    let status = server.terminate();
    assert!(status.success());
    let log = std::fs::read_to_string(dir.log()).expect("log");
    let requests: Vec<Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "vault_http::request")
        .collect();
    assert_eq!(requests.len(), 2, "{log}");
    let f = &requests[0]["fields"];
    assert_eq!(f["method"], "GET");
    assert_eq!(f["path"], "/api/vault/credentials");
    assert_eq!(f["status"], 200);
    assert!(f["latency_ms"].is_number());
    assert_eq!(requests[1]["fields"]["status"], 401);
    assert!(!log.contains("query-marker-91"));
    assert!(!log.contains("header-marker-42"));
    assert!(!log.contains(TOKEN));
}

#[tokio::test]
async fn config_history_pages_newest_first() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for body in [
        json!({"strategy_id": "momentum", "params": {"fast": 12}, "symbols": ["EUR_USD"]}),
        json!({"strategy_id": "momentum", "enabled": false}),
        json!({"strategy_id": "momentum", "params": {"fast": 9}, "expected_version": 2}),
    ] {
        let r = http.post("/api/vault/configs/fxshinobi", &body).await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    // Each version as the single read shows it.
    let mut by_version = Vec::new();
    for v in 1..=3 {
        let r = http
            .get(&format!(
                "/api/vault/configs/fxshinobi/momentum?version={v}"
            ))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        by_version.push(r.body["config"].clone());
    }
    let [v1, v2, v3] = [&by_version[0], &by_version[1], &by_version[2]];

    let r = http
        .get("/api/vault/configs/fxshinobi/momentum/history")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.content_type.starts_with("application/json"));
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fxshinobi", "strategy_id": "momentum",
               "revision": 3, "versions": [v3, v2, v1]})
    );
    assert_eq!(r.body["versions"][0]["params"], json!({"fast": 9}));
    assert_eq!(r.body["versions"][2]["enabled"], true);

    // Paged: `next` is the last version of a page and only there when more remain.
    let r = http
        .get("/api/vault/configs/fxshinobi/momentum/history?limit=2")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fxshinobi", "strategy_id": "momentum",
               "revision": 3, "versions": [v3, v2], "next": 2})
    );
    let r = http
        .get("/api/vault/configs/fxshinobi/momentum/history?limit=2&after=2")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"success": true, "service": "fxshinobi", "strategy_id": "momentum",
               "revision": 3, "versions": [v1]})
    );
    let r = http
        .get("/api/vault/configs/fxshinobi/momentum/history?limit=1&after=3")
        .await;
    assert_eq!(r.body["versions"], json!([v2]), "{}", r.text);
    assert_eq!(r.body["next"], 2);
    let r = http
        .get("/api/vault/configs/fxshinobi/momentum/history?limit=1000")
        .await;
    assert_eq!(r.body["versions"], json!([v3, v2, v1]), "{}", r.text);
    assert!(r.body.get("next").is_none(), "{}", r.text);

    // 404: unknown config or service.
    for path in [
        "/api/vault/configs/fxshinobi/unknown/history",
        "/api/vault/configs/nosvc/momentum/history",
    ] {
        let r = http.get(path).await;
        assert_error(&r, 404, "not_found");
        assert!(r.body.get("field").is_none(), "{}", r.text);
    }
    // 400: bad limit, bad after, unknown or repeated parameters, bad names.
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("limit=-1", "limit"),
        ("after=x", "after"),
        ("limt=2", "limt"),
        ("limit=2&limit=3", "limit"),
    ] {
        let r = http
            .get(&format!(
                "/api/vault/configs/fxshinobi/momentum/history?{query}"
            ))
            .await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{query}: {}", r.text);
        assert_invalid_field(&r);
    }
    let r = http
        .get("/api/vault/configs/fxshinobi/momentum/history?limit=0")
        .await;
    assert_eq!(r.body["error"], "invalid limit: must be 1 to 1000");
    let r = http
        .get("/api/vault/configs/fxshinobi/momentum/history?limt=2")
        .await;
    assert_eq!(r.body["error"], "invalid limt: unknown field");
    for (path, field) in [
        ("/api/vault/configs/..%2Fetc/momentum/history", "service"),
        ("/api/vault/configs/fxshinobi/%2E%2E/history", "strategy_id"),
    ] {
        let r = http.get(path).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{path}: {}", r.text);
    }
    // 405 and 401.
    let r = http
        .send(
            "POST",
            "/api/vault/configs/fxshinobi/momentum/history",
            BEARER,
            Some(b"{}".to_vec()),
        )
        .await;
    assert_error(&r, 405, "method_not_allowed");
    let r = http
        .send(
            "GET",
            "/api/vault/configs/fxshinobi/momentum/history",
            Auth::None,
            None,
        )
        .await;
    assert_error(&r, 401, "unauthorized");
}
