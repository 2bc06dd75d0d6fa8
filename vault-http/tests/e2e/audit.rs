//! The audit log through the real server: every request kind audited with its actor, client
//! and outcome (failed authentications included); query filters and bad queries; exports that
//! hold no value and no token, checked offline by `vault-http audit verify --file`; and what
//! a kill -9 keeps.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::support::{Auth, Http, Start, TOKEN, TestDir, assert_error};

/// Creates a token as root; its `(token, id)`.
async fn mint(http: &Http, name: &str, rules: Value) -> (String, String) {
    let body = json!({"name": name, "rules": rules});
    let r = http.post("/api/vault/tokens", &body).await;
    assert_eq!(r.status, 201, "{}", r.text);
    (
        r.body["token"].as_str().expect("token").to_string(),
        r.body["id"].as_str().expect("id").to_string(),
    )
}

/// Every entry, newest first, read as root (following `next`).
async fn entries(http: &Http) -> Vec<Value> {
    let mut out = Vec::new();
    let mut path = "/api/vault/audit?limit=1000".to_string();
    loop {
        let r = http.get(&path).await;
        assert_eq!(r.status, 200, "{}", r.text);
        out.extend(
            r.body["entries"]
                .as_array()
                .expect("entries")
                .iter()
                .cloned(),
        );
        match r.body["next"].as_str() {
            Some(next) => path = format!("/api/vault/audit?limit=1000&after={next}"),
            None => return out,
        }
    }
}

/// `(op, actor_id, outcome)` → count, leaving out the audit's own reads.
fn tally(entries: &[Value]) -> BTreeMap<(String, String, String), usize> {
    let mut t = BTreeMap::new();
    for e in entries {
        let op = e["op"].as_str().unwrap_or_default();
        if op.starts_with("audit.") {
            continue;
        }
        let k = (
            op.to_string(),
            e["actor_id"].as_str().unwrap_or_default().to_string(),
            e["outcome"].as_str().unwrap_or_default().to_string(),
        );
        *t.entry(k).or_insert(0) += 1;
    }
    t
}

fn k(op: &str, actor: &str, outcome: &str) -> (String, String, String) {
    (op.into(), actor.into(), outcome.into())
}

#[tokio::test]
async fn every_request_kind_is_audited_once_with_its_actor_client_and_outcome() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let put = json!({"key": "K", "service": "svc", "value": "planted-value-3f9a"});
    assert_eq!(http.post("/api/vault/credentials", &put).await.status, 200);
    assert_eq!(
        http.get("/api/vault/credentials/K?service=svc")
            .await
            .status,
        200
    );
    assert_eq!(
        http.get("/api/vault/credentials?service=svc").await.status,
        200
    );
    assert_eq!(
        http.get("/api/vault/credentials/NOPE?service=svc")
            .await
            .status,
        404
    );
    let cfg = json!({"strategy_id": "default", "params": {"fast": 12}});
    assert_eq!(http.post("/api/vault/configs/svc", &cfg).await.status, 200);
    assert_eq!(http.get("/api/vault/configs/svc/default").await.status, 200);
    let (token, id) = mint(
        &http,
        "scanner",
        json!([{"path": "credentials/svc/*", "capabilities": ["read"]}]),
    )
    .await;
    let scanner = Auth::Bearer(&token);
    let r = http
        .send("GET", "/api/vault/credentials/K?service=svc", scanner, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .send("GET", "/api/vault/configs/svc/default", scanner, None)
        .await;
    assert_error(&r, 403, "forbidden");
    let r = http
        .send("GET", "/api/vault/tokens/self", scanner, None)
        .await;
    assert_eq!(r.status, 200);
    let r = http.send("GET", "/api/vault/audit", scanner, None).await;
    assert_error(&r, 403, "forbidden");
    // Failed authentications: none, a wrong one, a revoked one.
    let r = http
        .send(
            "GET",
            "/api/vault/credentials?service=svc",
            Auth::None,
            None,
        )
        .await;
    assert_error(&r, 401, "unauthorized");
    let r = http
        .send(
            "GET",
            "/api/vault/credentials?service=svc",
            Auth::Bearer("wrong-4411"),
            None,
        )
        .await;
    assert_error(&r, 401, "unauthorized");
    assert_eq!(
        http.delete(&format!("/api/vault/tokens/{id}")).await.status,
        200
    );
    let r = http
        .send("GET", "/api/vault/credentials/K?service=svc", scanner, None)
        .await;
    assert_error(&r, 401, "unauthorized");
    assert_eq!(
        http.delete("/api/vault/credentials/K?service=svc")
            .await
            .status,
        200
    );

    let all = entries(&http).await;
    let want: BTreeMap<_, _> = [
        (k("credentials.put", "root", "ok"), 1),
        (k("credentials.get", "root", "ok"), 1),
        (k("credentials.list", "root", "ok"), 1),
        (k("credentials.get", "root", "not_found"), 1),
        (k("configs.put", "root", "ok"), 1),
        (k("configs.get", "root", "ok"), 1),
        (k("tokens.create", "root", "ok"), 1),
        (k("credentials.get", &id, "ok"), 1),
        (k("configs.get", &id, "forbidden"), 1),
        (k("tokens.self", &id, "ok"), 1),
        (k("auth", "anonymous", "unauthorized"), 2),
        (k("tokens.revoke", "root", "ok"), 1),
        (k("auth", &id, "unauthorized"), 1),
        (k("credentials.delete", "root", "ok"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(tally(&all), want);
    let denied_audit = all
        .iter()
        .filter(|e| e["op"] == "audit.query" && e["actor_id"] == id.as_str())
        .count();
    assert_eq!(
        denied_audit, 1,
        "the scanner's refused audit query is audited"
    );
    for e in &all {
        assert_eq!(e["client"], "127.0.0.1", "{e}");
        let rid = e["request_id"].as_str().unwrap_or_default();
        assert!(rid.starts_with("req_") && rid.len() == 20, "{e}");
        if e["actor_id"] == id.as_str() {
            assert_eq!(e["actor_name"], "scanner");
        }
    }
    let text = serde_json::to_string(&all).expect("json");
    for planted in ["planted-value-3f9a", token.as_str(), "wrong-4411", TOKEN] {
        assert!(!text.contains(planted), "{planted} in the audit log");
    }

    // Filters: by actor (id or name), op, outcome, path prefix.
    for (query, n) in [
        ("actor=scanner", 4),
        (&format!("actor={id}") as &str, 4),
        ("op=credentials.get&outcome=ok", 2),
        ("path_prefix=configs/", 3),
        ("outcome=unauthorized&op=auth", 3),
    ] {
        let r = http.get(&format!("/api/vault/audit?{query}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let got = r.body["entries"].as_array().expect("entries");
        let got = got.iter().filter(|e| e["op"] != "audit.query").count();
        assert_eq!(got, n, "{query}: {}", r.text);
    }
    let r = http.get("/api/vault/audit/verify").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["valid"], true, "{}", r.text);
    assert!(r.body["entries"].as_u64().expect("entries") >= all.len() as u64);
}

#[tokio::test]
async fn bad_audit_queries_are_400_naming_the_parameter() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for (query, field) in [
        ("/api/vault/audit?actr=root", "actr"),
        ("/api/vault/audit?since=yesterday", "since"),
        ("/api/vault/audit?limit=0", "limit"),
        ("/api/vault/audit?limit=-3", "limit"),
        ("/api/vault/audit?after=..%2Fsys%2Fcanary", "after"),
        (
            "/api/vault/audit?since=2026-11-02T00:00:00Z&until=2026-11-01T00:00:00Z",
            "since",
        ),
        ("/api/vault/audit/export?format=xml", "format"),
    ] {
        let r = http.get(query).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{query}: {}", r.text);
    }
    // Requests refused before they became an operation (3 of the 6 audit queries above did
    // not parse; the others reached the log's own checks, audited as `audit.query`) are
    // audited as the route they hit.
    let r = http
        .post_raw("/api/vault/credentials", b"{\"key\": planted-body-51")
        .await;
    assert_error(&r, 400, "invalid");
    let big = format!("{{\"value\":\"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let r = http
        .post_raw("/api/vault/credentials", big.as_bytes())
        .await;
    assert_error(&r, 413, "payload_too_large");
    let r = http.get("/api/vault/audit?op=request&limit=1000").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let got: Vec<(String, String)> = r.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .rev()
        .map(|e| {
            assert_eq!(e["actor_id"], "root");
            (
                e["path"].as_str().unwrap_or_default().to_string(),
                e["outcome"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let mut want: Vec<(String, String)> = (0..3)
        .map(|_| ("/api/vault/audit".to_string(), "invalid".to_string()))
        .collect();
    want.push(("/api/vault/audit/export".into(), "invalid".into()));
    want.push(("/api/vault/credentials".into(), "invalid".into()));
    want.push(("/api/vault/credentials".into(), "payload_too_large".into()));
    assert_eq!(got, want);
    assert!(!r.text.contains("planted-body-51"));
}

/// Runs `vault-http audit ...` (against `base` with `token`, or offline).
fn audit_cli(base: &str, token: Option<&str>, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vault-http"));
    cmd.arg("audit")
        .args(args)
        .env("VAULT_ADDR", base)
        .env_remove("VAULT_TOKEN");
    if let Some(t) = token {
        cmd.env("VAULT_TOKEN", t);
    }
    cmd.output().expect("run vault-http audit")
}

fn verify_file(dir: &std::path::Path, name: &str, lines: &[&str]) -> (bool, String) {
    let path = dir.join(name);
    std::fs::write(&path, lines.join("\n") + "\n").expect("write export");
    let o = audit_cli(
        "http://127.0.0.1:9",
        None,
        &["verify", "--file", path.to_str().expect("utf-8 path")],
    );
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[tokio::test]
async fn an_export_holds_no_secret_and_the_cli_names_the_line_of_any_tampering() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for i in 0..4 {
        let body = json!({"key": format!("K{i}"), "service": "svc", "value": "planted-value-77c1"});
        assert_eq!(http.post("/api/vault/credentials", &body).await.status, 200);
    }
    let (token, _) = mint(
        &http,
        "auditor",
        json!([{"path": "audit", "capabilities": ["read"]}]),
    )
    .await;
    let r = http
        .send("GET", "/api/vault/audit/export", Auth::Bearer(&token), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.content_type, "application/x-ndjson");
    for planted in ["planted-value-77c1", token.as_str(), TOKEN] {
        assert!(!r.text.contains(planted), "{planted} in the export");
    }
    let lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(
        lines.len(),
        5,
        "four puts and the token's creation: {}",
        r.text
    );
    let csv = http.get("/api/vault/audit/export?format=csv").await;
    assert_eq!(csv.status, 200);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "{}",
        csv.content_type
    );
    let mut rows = csv.text.lines();
    assert_eq!(
        rows.next(),
        Some("seq,writer,time,request_id,actor_id,actor_name,op,path,outcome,client,prev,hash")
    );
    // The CSV export is the JSON one plus the JSON export's own entry.
    assert_eq!(rows.count(), lines.len() + 1);

    let tmp = dir.tmp.path();
    let (ok, out) = verify_file(tmp, "whole.jsonl", &lines);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("valid: {} entries", lines.len())),
        "{out}"
    );

    let changed_line = lines[2].replace("\"outcome\":\"ok\"", "\"outcome\":\"forbidden\"");
    assert_ne!(changed_line, lines[2]);
    let mut changed = lines.clone();
    changed[2] = &changed_line;
    let (ok, out) = verify_file(tmp, "changed.jsonl", &changed);
    assert!(!ok, "{out}");
    assert!(out.contains("invalid: line 3: changed"), "{out}");

    let mut missing = lines.clone();
    missing.remove(2);
    let (ok, out) = verify_file(tmp, "missing.jsonl", &missing);
    assert!(!ok);
    assert!(out.contains("invalid: line 3: missing"), "{out}");

    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    let (ok, out) = verify_file(tmp, "swapped.jsonl", &swapped);
    assert!(!ok);
    assert!(out.contains("invalid: line 2: reordered"), "{out}");

    // The server checks its own log, for a token allowed to read it.
    let o = audit_cli(&server.base, Some(&token), &["verify"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.starts_with("valid: "), "{out}");
    let (scanner, _) = mint(
        &http,
        "scanner",
        json!([{"path": "credentials/**", "capabilities": ["read"]}]),
    )
    .await;
    let o = audit_cli(&server.base, Some(&scanner), &["verify"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("error: forbidden:"), "{err}");
    let r = http
        .send(
            "GET",
            "/api/vault/audit/export",
            Auth::Bearer(&scanner),
            None,
        )
        .await;
    assert_error(&r, 403, "forbidden");
}

#[tokio::test]
async fn kill_9_keeps_every_write_entry_and_a_clean_stop_keeps_every_read_entry() {
    let dir = TestDir::new();
    let (data, log) = (dir.data(), dir.log());
    let server = Start::new(&data, &log).spawn();
    let http = server.http();
    for i in 0..5 {
        let body = json!({"key": format!("W{i}"), "service": "svc", "value": "v"});
        assert_eq!(http.post("/api/vault/credentials", &body).await.status, 200);
        assert_eq!(
            http.get(&format!("/api/vault/credentials/W{i}?service=svc"))
                .await
                .status,
            200
        );
    }
    server.kill();

    let server = Start::new(&data, &log).spawn();
    let http = server.http();
    let all = entries(&http).await;
    let t = tally(&all);
    assert_eq!(
        t.get(&k("credentials.put", "root", "ok")),
        Some(&5),
        "{t:?}"
    );
    // Each read before a later write was committed with that write; only reads after the
    // last write (here the last one) may be lost to the kill.
    let reads = t
        .get(&k("credentials.get", "root", "ok"))
        .copied()
        .unwrap_or(0);
    assert!((4..=5).contains(&reads), "{t:?}");
    let r = http.get("/api/vault/audit/verify").await;
    assert_eq!(r.body["valid"], true, "{}", r.text);

    for _ in 0..3 {
        assert_eq!(
            http.get("/api/vault/credentials/W0?service=svc")
                .await
                .status,
            200
        );
    }
    assert!(server.terminate().success());
    let stopped = std::fs::read_to_string(&log).expect("log");
    for bad in ["failing closed", "could not be committed"] {
        assert!(
            !stopped.contains(bad),
            "a clean stop logged {bad:?}:\n{stopped}"
        );
    }
    let server = Start::new(&data, &log).spawn();
    let http = server.http();
    let after = tally(&entries(&http).await);
    assert_eq!(
        after
            .get(&k("credentials.get", "root", "ok"))
            .copied()
            .unwrap_or(0),
        reads + 3,
        "a clean stop commits every queued entry: {after:?}"
    );
}

#[tokio::test]
async fn requests_without_a_token_are_rate_limited_before_they_reach_the_audit_log() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let r = http
            .send(
                "GET",
                "/api/vault/credentials?service=svc",
                Auth::None,
                None,
            )
            .await;
        statuses.push(r.status);
    }
    // The burst of failed attempts (10), then 429 (the refill of one a second may add one).
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert!(limited >= 4, "{statuses:?}");
    // The address is limited now (the service token too): read the log from the data dir.
    assert!(server.terminate().success());
    let key = vault_core::crypto::RootKeySource::parse(crate::support::KEY_HEX).expect("key");
    let (v, _) = vault_core::Vault::open_dir(dir.data(), Some(key))
        .await
        .expect("open");
    let query = vault_core::AuditQuery {
        filter: vault_core::AuditFilter {
            op: Some("auth".into()),
            ..Default::default()
        },
        limit: Some(100),
        after: None,
    };
    let page = vault_core::AuditApi::query(v.audit(), query)
        .await
        .expect("query");
    assert!(page.items.iter().all(|e| e.actor_id == "anonymous"));
    assert_eq!(
        page.items.len(),
        15 - limited,
        "only the answered attempts are audited"
    );
}
