//! The HashiCorp-Vault-compatible dialect (`/v1/sys/...`, `/v1/auth/token/...`,
//! `/v1/secret/...`) through the real server: the requests of the recorded OpenBao transcripts
//! (`shared/research/vault-api-transcripts.md`) replayed, with the status codes, shapes and
//! fields clients depend on compared (request ids and times legitimately differ); KV v2 and the
//! service API reading each other's secrets; bad input answered in Vault's dialect and changing
//! nothing; token rules; no secret in the log, the audit log or the data directory.

use serde_json::{Value, json};

use crate::support::{Auth, Http, Reply, TOKEN, TestDir, contains_bytes, files_under};

const ROOT: Auth<'static> = Auth::Vault(TOKEN);

/// The wrapper's keys, in Vault's order.
const WRAPPER: [&str; 8] = [
    "request_id",
    "lease_id",
    "renewable",
    "lease_duration",
    "data",
    "wrap_info",
    "warnings",
    "auth",
];

async fn vault(http: &Http, method: &str, path: &str, body: Option<Value>) -> Reply {
    http.send(method, path, ROOT, body.map(|b| b.to_string().into_bytes()))
        .await
}

/// The headers every answer of the dialect carries (hvac compares the content type exactly).
#[track_caller]
fn assert_vault_headers(r: &Reply) {
    assert_eq!(r.content_type, "application/json", "{}", r.text);
    assert_eq!(r.header("cache-control"), Some("no-store"), "{}", r.text);
}

/// A 200 wrapped answer: its keys in order, Vault's lease fields; its `data`.
#[track_caller]
fn wrapped(r: &Reply) -> &Value {
    assert_eq!(r.status, 200, "{}", r.text);
    assert_wrapper(r);
    &r.body["data"]
}

#[track_caller]
fn assert_wrapper(r: &Reply) {
    assert_vault_headers(r);
    let keys: Vec<&String> = r.body.as_object().expect("object").keys().collect();
    let mut want: Vec<&str> = WRAPPER.to_vec();
    want.sort_unstable();
    assert_eq!(keys, want, "{}", r.text);
    let mut at = 0;
    for k in WRAPPER {
        let i = r.text[at..]
            .find(&format!("\"{k}\":"))
            .unwrap_or_else(|| panic!("{k} out of order in {}", r.text));
        at += i;
    }
    assert!(r.body["request_id"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(r.body["lease_id"], "");
    assert_eq!(r.body["renewable"], false);
    assert_eq!(r.body["lease_duration"], 0);
    assert_eq!(r.body["wrap_info"], Value::Null);
    assert_eq!(r.body["auth"], Value::Null);
}

/// An error answer: status and exactly `{"errors": errors}` (`None`: a non-empty message list).
#[track_caller]
fn assert_errors(r: &Reply, status: u16, errors: Option<Value>) {
    assert_eq!(r.status, status, "{}", r.text);
    assert_vault_headers(r);
    let obj = r.body.as_object().expect("object");
    assert_eq!(obj.keys().collect::<Vec<_>>(), vec!["errors"], "{}", r.text);
    match errors {
        Some(e) => assert_eq!(r.body["errors"], e, "{}", r.text),
        None => assert!(
            r.body["errors"]
                .as_array()
                .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)),
            "{}",
            r.text
        ),
    }
}

#[track_caller]
fn assert_204(r: &Reply) {
    assert_eq!(r.status, 204, "{}", r.text);
    assert!(r.bytes.is_empty(), "{}", r.text);
    assert_vault_headers(r);
}

/// The keys of a version's metadata, as in the transcripts.
#[track_caller]
fn assert_version_metadata(m: &Value, version: u64, deleted: bool, destroyed: bool) {
    let keys: Vec<&String> = m.as_object().expect("metadata").keys().collect();
    assert_eq!(
        keys,
        vec![
            "created_time",
            "custom_metadata",
            "deletion_time",
            "destroyed",
            "version"
        ]
    );
    assert_eq!(m["version"], version);
    assert_eq!(m["destroyed"], destroyed);
    assert!(m["created_time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(m["deletion_time"] != "", deleted, "{m}");
}

#[tokio::test]
async fn sys_endpoints_and_token_lookup_answer_like_vault() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();

    // sys/health: open, not wrapped; HEAD the same status without a body; code overrides.
    let r = http.send("GET", "/v1/sys/health", Auth::None, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_vault_headers(&r);
    for k in [
        "initialized",
        "sealed",
        "standby",
        "replication_performance_mode",
        "replication_dr_mode",
        "server_time_utc",
        "version",
        "cluster_name",
        "cluster_id",
    ] {
        assert!(r.body.get(k).is_some(), "{k} in {}", r.text);
    }
    assert_eq!(r.body["sealed"], false);
    assert_eq!(r.body["initialized"], true);
    let r = http.send("HEAD", "/v1/sys/health", Auth::None, None).await;
    assert_eq!(r.status, 200);
    assert!(r.bytes.is_empty());
    let r = http
        .send("GET", "/v1/sys/health?activecode=299", Auth::None, None)
        .await;
    assert_eq!(r.status, 299, "{}", r.text);
    let r = http
        .send("HEAD", "/v1/sys/health?activecode=204", Auth::None, None)
        .await;
    assert_eq!(r.status, 204);
    let r = http
        .send("GET", "/v1/sys/health?activecode=abc", Auth::None, None)
        .await;
    assert_errors(&r, 400, None);

    let r = http
        .send("GET", "/v1/sys/seal-status", Auth::None, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_vault_headers(&r);
    assert_eq!(r.body["sealed"], false);
    assert_eq!(r.body["type"], "shamir");
    let r = http.send("GET", "/v1/sys/init", Auth::None, None).await;
    assert_eq!(r.body, json!({"initialized": true}));
    // The dialect's other paths and methods answer in its own format.
    for (method, path, status) in [
        ("GET", "/v1/sys/nope", 404),
        ("GET", "/v1/auth/nope/x", 404),
        ("POST", "/v1/sys/health", 405),
        ("DELETE", "/v1/sys/seal-status", 405),
    ] {
        let r = http.send(method, path, Auth::None, None).await;
        assert_errors(&r, status, Some(json!([])));
    }
    let r = vault(&http, "POST", "/v1/auth/token/lookup-self", None).await;
    assert_errors(&r, 405, Some(json!([])));

    // lookup-self: wrapped; the token itself never in the answer.
    let r = vault(&http, "GET", "/v1/auth/token/lookup-self", None).await;
    let data = wrapped(&r);
    for k in [
        "accessor",
        "creation_time",
        "creation_ttl",
        "display_name",
        "entity_id",
        "expire_time",
        "explicit_max_ttl",
        "id",
        "issue_time",
        "meta",
        "num_uses",
        "orphan",
        "path",
        "policies",
        "renewable",
        "ttl",
        "type",
    ] {
        assert!(data.get(k).is_some(), "{k} in {}", r.text);
    }
    assert_eq!(data["policies"], json!(["root"]));
    assert_eq!(data["ttl"], 0);
    assert!(!r.text.contains(TOKEN));

    // Auth failures: 403 permission denied, whatever went wrong; X-Vault-Token wins.
    let denied = Some(json!(["permission denied"]));
    let path = "/v1/auth/token/lookup-self";
    let r = http.send("GET", path, Auth::None, None).await;
    assert_errors(&r, 403, denied.clone());
    let r = http.send("GET", path, Auth::Vault("bogus"), None).await;
    assert_errors(&r, 403, denied.clone());
    let h = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    let bearer = format!("Bearer {TOKEN}");
    let r = http
        .send_headers(
            "GET",
            path,
            &h(&[("X-Vault-Token", "bogus"), ("Authorization", &bearer)]),
            None,
        )
        .await;
    assert_errors(&r, 403, denied.clone());
    let r = http
        .send_headers(
            "GET",
            path,
            &h(&[("X-Vault-Token", TOKEN), ("Authorization", "Bearer bogus")]),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .send_headers("GET", path, &h(&[("Authorization", &bearer)]), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let lower = format!("bearer {TOKEN}");
    let r = http
        .send_headers("GET", path, &h(&[("Authorization", &lower)]), None)
        .await;
    assert_errors(&r, 403, denied);
    drop(server);
}

#[tokio::test]
async fn kv_v2_replays_the_transcripts() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let cas_mismatch = Some(json!([
        "check-and-set parameter did not match the current version"
    ]));

    // Write v1, then v2 with cas=1; a lost cas and cas=0 on an existing key are 400.
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/db",
        Some(json!({"options": {}, "data": {"user": "admin", "password": "s3cr3t"}})),
    )
    .await;
    assert_version_metadata(wrapped(&r), 1, false, false);
    assert_eq!(r.body["warnings"], Value::Null);
    let r = vault(
        &http,
        "PUT",
        "/v1/secret/data/app/db",
        Some(json!({"options": {"cas": 1}, "data": {"user": "admin", "password": "n3w"}})),
    )
    .await;
    assert_version_metadata(wrapped(&r), 2, false, false);
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/db",
        Some(json!({"options": {"cas": 1}, "data": {"x": "y"}})),
    )
    .await;
    assert_errors(&r, 400, cas_mismatch.clone());
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/db",
        Some(json!({"options": {"cas": 0}, "data": {"x": "y"}})),
    )
    .await;
    assert_errors(&r, 400, cas_mismatch);
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/api",
        Some(json!({"options": {"cas": 0}, "data": {"key": "k1", "n": 7, "o": {"x": [1, null]}}})),
    )
    .await;
    assert_version_metadata(wrapped(&r), 1, false, false);

    // Reads: latest, ?version=1, missing version and key → 404 {"errors":[]}.
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    let data = wrapped(&r);
    assert_eq!(data["data"], json!({"password": "n3w", "user": "admin"}));
    assert_version_metadata(&data["metadata"], 2, false, false);
    let r = vault(&http, "GET", "/v1/secret/data/app/db?version=1", None).await;
    assert_eq!(wrapped(&r)["data"]["password"], "s3cr3t");
    let r = vault(&http, "GET", "/v1/secret/data/app/api", None).await;
    assert_eq!(
        wrapped(&r)["data"],
        json!({"key": "k1", "n": 7, "o": {"x": [1, null]}})
    );
    for missing in [
        "/v1/secret/data/app/db?version=99",
        "/v1/secret/data/app/nope",
        "/v1/secret/metadata/app/nope",
    ] {
        let r = vault(&http, "GET", missing, None).await;
        assert_errors(&r, 404, Some(json!([])));
    }

    // Metadata and lists (the LIST verb and ?list= in every spelling, trailing slash too).
    let r = vault(&http, "GET", "/v1/secret/metadata/app/db", None).await;
    let m = wrapped(&r);
    let keys: Vec<&String> = m.as_object().expect("metadata").keys().collect();
    assert_eq!(
        keys,
        vec![
            "cas_required",
            "created_time",
            "current_metadata_version",
            "current_version",
            "custom_metadata",
            "delete_version_after",
            "max_versions",
            "metadata_cas_required",
            "oldest_version",
            "updated_time",
            "versions"
        ]
    );
    assert_eq!(m["current_version"], 2);
    assert_eq!(m["versions"]["1"]["destroyed"], false);
    assert_eq!(m["versions"]["2"]["deletion_time"], "");
    for (method, path) in [
        ("LIST", "/v1/secret/metadata/app"),
        ("LIST", "/v1/secret/metadata/app/"),
        ("GET", "/v1/secret/metadata/app?list=true"),
        ("GET", "/v1/secret/metadata/app?list=True"),
        ("GET", "/v1/secret/metadata/app?list=1"),
    ] {
        let r = vault(&http, method, path, None).await;
        assert_eq!(wrapped(&r)["keys"], json!(["api", "db"]), "{method} {path}");
    }
    // Lists are paginated: a warning says where the next page starts.
    let r = vault(&http, "LIST", "/v1/secret/metadata/app?limit=1", None).await;
    assert_eq!(wrapped(&r)["keys"], json!(["api"]));
    assert_eq!(
        r.body["warnings"],
        json!(["more keys follow: list again with ?after=api"])
    );
    let r = vault(&http, "LIST", "/v1/secret/metadata/app?after=api", None).await;
    assert_eq!(wrapped(&r)["keys"], json!(["db"]));
    assert_eq!(r.body["warnings"], Value::Null);
    let r = vault(&http, "LIST", "/v1/secret/metadata/nothing-here", None).await;
    assert_errors(&r, 404, Some(json!([])));
    let r = vault(&http, "GET", "/v1/secret/metadata/app?list=maybe", None).await;
    assert_errors(&r, 400, None);

    // max_versions through metadata: 204.
    let r = vault(
        &http,
        "POST",
        "/v1/secret/metadata/app/db",
        Some(json!({"delete_version_after": "0s", "max_versions": 5})),
    )
    .await;
    assert_204(&r);
    let r = vault(&http, "GET", "/v1/secret/metadata/app/db", None).await;
    assert_eq!(wrapped(&r)["max_versions"], 5);

    // Soft delete of the latest: 204; its read is a 404 *with* the wrapper and data null.
    assert_204(&vault(&http, "DELETE", "/v1/secret/data/app/db", None).await);
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_wrapper(&r);
    assert_eq!(r.body["data"]["data"], Value::Null);
    assert_version_metadata(&r.body["data"]["metadata"], 2, true, false);
    // Undelete [2], delete [1], destroy [1]: 204 each.
    let versions = |v: &[u64]| Some(json!({ "versions": v }));
    assert_204(&vault(&http, "POST", "/v1/secret/undelete/app/db", versions(&[2])).await);
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    assert_eq!(wrapped(&r)["data"]["password"], "n3w");
    assert_204(&vault(&http, "POST", "/v1/secret/delete/app/db", versions(&[1])).await);
    assert_204(&vault(&http, "PUT", "/v1/secret/destroy/app/db", versions(&[1])).await);
    let r = vault(&http, "GET", "/v1/secret/data/app/db?version=1", None).await;
    assert_eq!(r.status, 404, "{}", r.text);
    assert_wrapper(&r);
    assert_version_metadata(&r.body["data"]["metadata"], 1, true, true);
    let r = vault(&http, "GET", "/v1/secret/metadata/app/db", None).await;
    assert_eq!(wrapped(&r)["versions"]["1"]["destroyed"], true);
    // No version named: 400; a path that never existed: 204.
    let r = vault(&http, "POST", "/v1/secret/delete/app/db", versions(&[])).await;
    assert_errors(&r, 400, None);
    assert_204(
        &vault(
            &http,
            "POST",
            "/v1/secret/destroy/app/never",
            versions(&[1]),
        )
        .await,
    );

    // Patch: merge-patch content type required (415 otherwise); null removes a field.
    let patch = json!({"data": {"user": null, "extra": "e"}}).to_string();
    let r = http
        .send_headers(
            "PATCH",
            "/v1/secret/data/app/db",
            &[
                ("X-Vault-Token".into(), TOKEN.into()),
                ("Content-Type".into(), "application/json".into()),
            ],
            Some(patch.clone().into_bytes()),
        )
        .await;
    assert_errors(&r, 415, None);
    let r = http
        .send_headers(
            "PATCH",
            "/v1/secret/data/app/db",
            &[
                ("X-Vault-Token".into(), TOKEN.into()),
                ("Content-Type".into(), "application/merge-patch+json".into()),
            ],
            Some(patch.into_bytes()),
        )
        .await;
    assert_version_metadata(wrapped(&r), 3, false, false);
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    assert_eq!(
        wrapped(&r)["data"],
        json!({"extra": "e", "password": "n3w"})
    );
    let r = vault(&http, "GET", "/v1/secret/subkeys/app/api", None).await;
    assert_eq!(
        wrapped(&r)["subkeys"],
        json!({"key": null, "n": null, "o": {"x": null}})
    );

    // Delete metadata and all versions: 204, then reads 404; again (missing): 204.
    assert_204(&vault(&http, "DELETE", "/v1/secret/metadata/app/db", None).await);
    assert_204(&vault(&http, "DELETE", "/v1/secret/metadata/app/db", None).await);
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    assert_errors(&r, 404, Some(json!([])));

    // Bodies are JSON whatever their content type (curl's default form type included); the
    // mount itself lists nothing.
    let r = http
        .send_headers(
            "POST",
            "/v1/secret/data/app/form",
            &[
                ("X-Vault-Token".into(), TOKEN.into()),
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
            ],
            Some(br#"{"data":{"a":"b"}}"#.to_vec()),
        )
        .await;
    assert_version_metadata(wrapped(&r), 1, false, false);
    for path in [
        "/v1/secret",
        "/v1/secret/",
        "/v1/secret/metadata",
        "/v1/secret/metadata/",
    ] {
        let r = vault(&http, "LIST", path, None).await;
        assert_errors(&r, 400, None);
    }

    // Unknown body fields are accepted with Vault's warning.
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/w",
        Some(json!({"data": {"a": "b"}, "bogus": 1})),
    )
    .await;
    wrapped(&r);
    assert_eq!(
        r.body["warnings"],
        json!(["Endpoint ignored these unrecognized parameters: [bogus]"])
    );
    drop(server);
}

#[tokio::test]
async fn kv_secrets_are_credentials_of_the_service_api() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();

    // A lone `value` is the credential's value, both ways.
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/fxshinobi/OANDA_API_KEY",
        Some(json!({"data": {"value": "oanda-from-kv"}})),
    )
    .await;
    wrapped(&r);
    let r = http
        .get("/api/vault/credentials/OANDA_API_KEY?service=fxshinobi")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["value"], "oanda-from-kv");
    assert_eq!(r.body["version"], 1);

    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"service": "fxshinobi", "key": "OANDA_API_KEY", "value": "oanda-from-api",
                    "metadata": {"owner": "team-a"}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = vault(
        &http,
        "GET",
        "/v1/secret/data/fxshinobi/OANDA_API_KEY",
        None,
    )
    .await;
    let data = wrapped(&r);
    assert_eq!(data["data"], json!({"value": "oanda-from-api"}));
    assert_eq!(data["metadata"]["version"], 2);
    assert_eq!(
        data["metadata"]["custom_metadata"],
        json!({"owner": "team-a"})
    );

    // Several fields are stored as their JSON text.
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/fxshinobi/DB",
        Some(json!({"data": {"user": "u", "password": "p"}})),
    )
    .await;
    wrapped(&r);
    let r = http
        .get("/api/vault/credentials/DB?service=fxshinobi")
        .await;
    assert_eq!(r.body["value"], r#"{"password":"p","user":"u"}"#);

    // A version deleted through the service API is a deleted KV version.
    let r = http
        .post(
            "/api/vault/credentials/DB/versions/1/delete?service=fxshinobi",
            &json!({}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = vault(&http, "GET", "/v1/secret/data/fxshinobi/DB", None).await;
    assert_eq!(r.status, 404);
    assert_version_metadata(&r.body["data"]["metadata"], 1, true, false);
    drop(server);
}

#[tokio::test]
async fn fail_kv_bad_input_is_answered_in_vaults_dialect_and_changes_nothing() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let planted = "planted-bad-input-7f3a";
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/db",
        Some(json!({"data": {"password": "kept"}})),
    )
    .await;
    wrapped(&r);

    let bad: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        (
            "POST",
            "/v1/secret/data/app/db",
            format!("{{\"data\":{{\"p\":\"{planted}\"").into_bytes(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/app/db",
            format!("{{\"data\":\"{planted}\"}}").into_bytes(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/app/db",
            format!("{{\"options\":{{}},\"x\":\"{planted}\"}}").into_bytes(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/app/db",
            format!("[\"{planted}\"]").into_bytes(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/app/db",
            format!("{{\"options\":{{\"cas\":\"{planted}\"}},\"data\":{{}}}}").into_bytes(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/app/db",
            br#"{"options":{"cas":-1},"data":{}}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/../db",
            br#"{"data":{"p":"x"}}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/%2e%2e/db",
            br#"{"data":{"p":"x"}}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/app/db/extra",
            br#"{"data":{"p":"x"}}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/app",
            br#"{"data":{"p":"x"}}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/data/app/d%20b",
            br#"{"data":{"p":"x"}}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/metadata/app/db",
            br#"{"max_versions":"lots"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/metadata/app/db",
            br#"{"max_versions":1000}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/metadata/app/db",
            br#"{"custom_metadata":{"a":"b"}}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/destroy/app/db",
            br#"{"versions":"1"}"#.to_vec(),
            400,
        ),
        (
            "POST",
            "/v1/secret/destroy/app/db",
            br#"{"versions":[1,"x"]}"#.to_vec(),
            400,
        ),
        ("GET", "/v1/secret/data/app/db?version=abc", Vec::new(), 400),
        ("DELETE", "/v1/secret/data/app/db/x", Vec::new(), 400),
        ("POST", "/v1/secret/nosuchop/app/db", br#"{}"#.to_vec(), 404),
        ("GET", "/v1/secret/destroy/app/db", Vec::new(), 405),
    ];
    for (method, path, body, status) in bad {
        let r = http.send(method, path, ROOT, Some(body)).await;
        let errors = (status != 400).then(|| json!([]));
        assert_errors(&r, status, errors);
        assert!(!r.text.contains(planted), "{path}: {}", r.text);
    }
    // An oversized body: 413 in Vault's shape.
    let big = format!(
        "{{\"data\":{{\"p\":\"{}\"}}}}",
        "x".repeat(vault_http::server::extract::MAX_BODY_BYTES)
    );
    let r = http
        .send(
            "POST",
            "/v1/secret/data/app/db",
            ROOT,
            Some(big.into_bytes()),
        )
        .await;
    assert_errors(&r, 413, None);
    // A value over the credential limit: 400.
    let big = json!({"data": {"p": "x".repeat(70 * 1024)}});
    let r = vault(&http, "POST", "/v1/secret/data/app/db", Some(big)).await;
    assert_errors(&r, 400, None);

    // Nothing changed.
    let r = vault(&http, "GET", "/v1/secret/metadata/app/db", None).await;
    let m = wrapped(&r);
    assert_eq!(m["current_version"], 1);
    assert_eq!(m["max_versions"], 10);
    assert_eq!(m["versions"]["1"]["deletion_time"], "");
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    assert_eq!(wrapped(&r)["data"], json!({"password": "kept"}));
    drop(server);
}

#[tokio::test]
async fn kv_paths_follow_the_tokens_rules() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/db",
        Some(json!({"data": {"password": "p"}})),
    )
    .await;
    wrapped(&r);
    let r = http
        .post(
            "/api/vault/tokens",
            &json!({"name": "reader", "rules": [
                {"path": "credentials/app/*", "capabilities": ["read", "list"]}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().expect("token").to_string();
    let reader = Auth::Vault(&token);

    let r = http
        .send("GET", "/v1/secret/data/app/db", reader, None)
        .await;
    assert_eq!(wrapped(&r)["data"], json!({"password": "p"}));
    let r = http
        .send("LIST", "/v1/secret/metadata/app", reader, None)
        .await;
    assert_eq!(wrapped(&r)["keys"], json!(["db"]));
    let r = http
        .send("GET", "/v1/auth/token/lookup-self", reader, None)
        .await;
    assert_eq!(wrapped(&r)["policies"], json!(["default"]));
    let denied = Some(json!(["permission denied"]));
    for (method, path, body) in [
        (
            "POST",
            "/v1/secret/data/app/db",
            Some(r#"{"data":{"password":"w"}}"#),
        ),
        ("DELETE", "/v1/secret/data/app/db", None),
        ("DELETE", "/v1/secret/metadata/app/db", None),
        (
            "POST",
            "/v1/secret/destroy/app/db",
            Some(r#"{"versions":[1]}"#),
        ),
        ("GET", "/v1/secret/data/other/db", None),
        ("LIST", "/v1/secret/metadata/other", None),
    ] {
        let body = body.map(|b| b.as_bytes().to_vec());
        let r = http.send(method, path, reader, body).await;
        assert_errors(&r, 403, denied.clone());
    }
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    assert_eq!(wrapped(&r)["data"], json!({"password": "p"}));
    assert_eq!(wrapped(&r)["metadata"]["version"], 1);

    // A token that may write but not read: its write is answered as written (with the
    // version), not refused after it was stored.
    let r = http
        .post(
            "/api/vault/tokens",
            &json!({"name": "writer", "rules": [
                {"path": "credentials/app/*", "capabilities": ["write"]}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().expect("token").to_string();
    let writer = Auth::Vault(&token);
    let body = Some(br#"{"data":{"password":"w2"}}"#.to_vec());
    let r = http
        .send("POST", "/v1/secret/data/app/db", writer, body)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(wrapped(&r)["version"], 2, "{}", r.text);
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    assert_eq!(wrapped(&r)["data"], json!({"password": "w2"}));
    drop(server);
}

#[tokio::test]
async fn a_kv_secret_is_never_in_the_log_the_audit_or_the_data_dir() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let planted = "kv-planted-secret-9c41e7";
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/db",
        Some(json!({"data": {"password": planted, "user": "u"}})),
    )
    .await;
    wrapped(&r);
    let r = vault(&http, "GET", "/v1/secret/data/app/db", None).await;
    assert_eq!(wrapped(&r)["data"]["password"], planted);
    let r = vault(&http, "GET", "/v1/secret/metadata/app/db", None).await;
    wrapped(&r);
    let r = vault(
        &http,
        "POST",
        "/v1/secret/data/app/db",
        Some(json!({"data": planted})),
    )
    .await;
    assert_errors(&r, 400, None);

    // Every call was audited (by operation and path, never a value).
    let r = http.get("/api/vault/audit?limit=1000").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!r.text.contains(planted));
    for op in ["credentials.put", "credentials.get", "credentials.info"] {
        assert!(r.text.contains(op), "{op} not audited: {}", r.text);
    }
    assert!(r.text.contains("/v1/secret/data/app/db"), "{}", r.text);
    let data = dir.data();
    assert!(server.terminate().success());
    for f in files_under(&data) {
        let bytes = std::fs::read(&f).expect("read data file");
        assert!(
            !contains_bytes(&bytes, planted.as_bytes()),
            "{} holds the secret",
            f.display()
        );
    }
    let log = std::fs::read_to_string(dir.log()).expect("log");
    assert!(!log.contains(planted));
    assert!(log.contains("/v1/secret/data/app/db"), "{log}");
}
