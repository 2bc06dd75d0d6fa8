//! Constructs over HTTP (`/api/vault/constructs/...`) against the real binary: the shapes of
//! every route, bad input on each, a token scoped to one construct, planted content kept out
//! of the audit log, the server log and the data directory, and the remote client (every
//! method, export from one server and import into another).

use serde_json::{Value, json};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{Action, ConstructId, FileName, NewEntry, Order, PageRequest, TranscriptQuery};

use crate::support::{Auth, Http, TOKEN, TestDir, assert_error, contains_bytes, files_under};

const TEN_MIB: usize = 10 * 1024 * 1024;

fn client(base: &str) -> RemoteVault {
    let options = ClientOptions {
        token: Some(SecretString::from(TOKEN)),
        timeout: std::time::Duration::from_secs(60),
        ..ClientOptions::default()
    };
    RemoteVault::new(base, options).expect("client")
}

fn cid(s: &str) -> ConstructId {
    ConstructId::new(s).expect("construct id")
}

fn fname(s: &str) -> FileName {
    FileName::new(s).expect("file name")
}

async fn put_json(http: &Http, path: &str, body: &Value) -> crate::support::Reply {
    http.send(
        "PUT",
        path,
        crate::support::BEARER,
        Some(body.to_string().into_bytes()),
    )
    .await
}

#[tokio::test]
async fn constructs_http_routes_answer_their_shapes() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();

    let r = put_json(
        &http,
        "/api/vault/constructs/nova",
        &json!({"capsule": {"name": "Nova"}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"action": "created", "construct_id": "nova", "success": true, "version": 1})
    );
    let r = put_json(
        &http,
        "/api/vault/constructs/nova",
        &json!({"capsule": {"name": "Nova", "tone": "dry"}, "expected_version": 1}),
    )
    .await;
    assert_eq!(r.body["version"], 2, "{}", r.text);
    let r = put_json(
        &http,
        "/api/vault/constructs/nova",
        &json!({"capsule": {}, "expected_version": 1}),
    )
    .await;
    assert_error(&r, 409, "conflict");
    let r = http.get("/api/vault/constructs/nova").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["capsule"], json!({"name": "Nova", "tone": "dry"}));
    assert_eq!(
        (r.body["version"].as_u64(), r.body["success"].as_bool()),
        (Some(2), Some(true))
    );
    let r = http.get("/api/vault/constructs/nova?version=1").await;
    assert_eq!(r.body["capsule"], json!({"name": "Nova"}), "{}", r.text);

    // Files: raw bytes in and out.
    let content: Vec<u8> = (0..=255u8).collect();
    let r = http
        .put_raw("/api/vault/constructs/nova/files/voice.bin", &content)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["action"], "created");
    assert_eq!(r.body["size"], 256);
    assert_eq!(r.body["sha256"].as_str().map(str::len), Some(64));
    let r = http.get("/api/vault/constructs/nova/files/voice.bin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/octet-stream");
    assert_eq!(r.bytes, content);
    let r = http.get("/api/vault/constructs/nova/files").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["files"][0]["name"], "voice.bin");
    assert_eq!(r.body["files"][0]["version"], 1);
    assert!(r.body["files"][0].get("content").is_none());
    let r = http
        .put_raw(
            "/api/vault/constructs/nova/files/voice.bin?expected_version=5",
            b"x",
        )
        .await;
    assert_error(&r, 409, "conflict");
    let r = http
        .delete("/api/vault/constructs/nova/files/voice.bin")
        .await;
    assert_eq!(
        r.body,
        json!({"action": "deleted", "construct_id": "nova", "name": "voice.bin", "success": true})
    );
    let r = http.get("/api/vault/constructs/nova/files/voice.bin").await;
    assert_error(&r, 404, "not_found");

    // Transcript.
    for i in 1..=5 {
        let r = http
            .post(
                "/api/vault/constructs/nova/transcript",
                &json!({"role": "user", "content": format!("m{i}")}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["seq"], i);
    }
    let r = http
        .get("/api/vault/constructs/nova/transcript?limit=2")
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let seqs: Vec<u64> = r.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["seq"].as_u64().expect("seq"))
        .collect();
    assert_eq!(seqs, [5, 4]);
    assert_eq!(
        (r.body["next"].as_u64(), r.body["total"].as_u64()),
        (Some(4), Some(5))
    );
    let r = http
        .get("/api/vault/constructs/nova/transcript?limit=2&after=4&order=oldest")
        .await;
    assert_eq!(r.body["entries"][0]["content"], "m5", "{}", r.text);
    assert!(r.body.get("next").is_none(), "{}", r.text);

    let r = http.get("/api/vault/constructs").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["constructs"][0],
        json!({
            "capsule_version": 2,
            "construct_id": "nova",
            "created_at": r.body["constructs"][0]["created_at"],
            "file_count": 0,
            "transcript_count": 5
        })
    );

    // Export, then import into a second server.
    let r = http.get("/api/vault/constructs/nova/export").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["export"]["format"], "vault.construct.v1");
    let doc = r.body["export"].clone();
    let other_dir = TestDir::new();
    let other = other_dir.start();
    let r = other
        .http()
        .post("/api/vault/constructs/import", &doc)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body,
        json!({"capsule_version": 1, "construct_id": "nova", "files": 0, "success": true,
               "transcript_entries": 5})
    );
    let r = other
        .http()
        .post("/api/vault/constructs/import", &doc)
        .await;
    assert_error(&r, 409, "conflict");
    assert!(
        r.body["error"]
            .as_str()
            .is_some_and(|e| e.contains("'nova'")),
        "{}",
        r.text
    );

    // A construct named `import` is still reachable.
    let r = put_json(
        &http,
        "/api/vault/constructs/import",
        &json!({"capsule": {"a": 1}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.get("/api/vault/constructs/import").await;
    assert_eq!(r.body["capsule"], json!({"a": 1}), "{}", r.text);
}

#[tokio::test]
async fn constructs_bad_input_over_http_is_refused_with_the_field() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let ok = http
        .post(
            "/api/vault/constructs/nova/transcript",
            &json!({"role": "user", "content": "hi"}),
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);

    // One file of exactly 10 MiB fits; one byte more is 413.
    let r = http
        .put_raw(
            "/api/vault/constructs/nova/files/big.bin",
            &vec![1u8; TEN_MIB],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .put_raw(
            "/api/vault/constructs/nova/files/big.bin",
            &vec![1u8; TEN_MIB + 1],
        )
        .await;
    assert_error(&r, 413, "payload_too_large");
    // ... and only that route takes more than 1 MiB.
    let big_entry = json!({"role": "user", "content": "x".repeat(2 * 1024 * 1024)});
    let r = http
        .post("/api/vault/constructs/nova/transcript", &big_entry)
        .await;
    assert_error(&r, 413, "payload_too_large");

    let cases: Vec<(&str, &str, Option<Vec<u8>>, &str)> = vec![
        // Malformed JSON, wrong types, unknown fields.
        (
            "PUT",
            "/api/vault/constructs/nova",
            Some(b"{\"capsule\": ".to_vec()),
            "body",
        ),
        (
            "PUT",
            "/api/vault/constructs/nova",
            Some(br#"{"capsule": [1]}"#.to_vec()),
            "capsule",
        ),
        (
            "PUT",
            "/api/vault/constructs/nova",
            Some(br#"{"capsule": {}, "x": 1}"#.to_vec()),
            "x",
        ),
        (
            "PUT",
            "/api/vault/constructs/nova",
            Some(br#"{"capsule": {}, "expected_version": "one"}"#.to_vec()),
            "expected_version",
        ),
        (
            "POST",
            "/api/vault/constructs/nova/transcript",
            Some(br#"{"role": "user"}"#.to_vec()),
            "content",
        ),
        (
            "POST",
            "/api/vault/constructs/nova/transcript",
            Some(br#"{"role": "user", "content": 7}"#.to_vec()),
            "content",
        ),
        (
            "POST",
            "/api/vault/constructs/nova/transcript",
            Some(br#"{"role": "a b", "content": "x"}"#.to_vec()),
            "role",
        ),
        (
            "POST",
            "/api/vault/constructs/nova/transcript",
            Some(br#"{"role": "user", "content": "x", "seq": 3}"#.to_vec()),
            "seq",
        ),
        (
            "POST",
            "/api/vault/constructs/import",
            Some(br#"{"format": 1}"#.to_vec()),
            "format",
        ),
        // Names and path tricks.
        ("GET", "/api/vault/constructs/%2E%2E", None, "construct_id"),
        ("GET", "/api/vault/constructs/a%2Fb", None, "construct_id"),
        (
            "GET",
            "/api/vault/constructs/nova/files/..%2Fsecret",
            None,
            "file_name",
        ),
        (
            "PUT",
            "/api/vault/constructs/nova/files/.env",
            Some(b"x".to_vec()),
            "file_name",
        ),
        (
            "GET",
            "/api/vault/constructs/nova/files/a%00b",
            None,
            "file_name",
        ),
        // Queries.
        (
            "GET",
            "/api/vault/constructs/nova/transcript?order=sideways",
            None,
            "order",
        ),
        (
            "GET",
            "/api/vault/constructs/nova/transcript?limit=0",
            None,
            "limit",
        ),
        (
            "GET",
            "/api/vault/constructs/nova/transcript?limit=1001",
            None,
            "limit",
        ),
        (
            "GET",
            "/api/vault/constructs/nova/transcript?limit=ten",
            None,
            "limit",
        ),
        (
            "GET",
            "/api/vault/constructs/nova/transcript?after=-1",
            None,
            "after",
        ),
        (
            "GET",
            "/api/vault/constructs/nova/transcript?since=1",
            None,
            "since",
        ),
        ("GET", "/api/vault/constructs?limit=0", None, "limit"),
        ("GET", "/api/vault/constructs?after=..", None, "after"),
        (
            "GET",
            "/api/vault/constructs/nova/files?limit=5000",
            None,
            "limit",
        ),
        (
            "GET",
            "/api/vault/constructs/nova?version=x",
            None,
            "version",
        ),
        (
            "PUT",
            "/api/vault/constructs/nova/files/f?expected=1",
            Some(b"x".to_vec()),
            "expected",
        ),
    ];
    for (method, path, body, field) in cases {
        let r = http.send(method, path, crate::support::BEARER, body).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{method} {path}: {}", r.text);
    }
    let r = http
        .send(
            "PATCH",
            "/api/vault/constructs/nova",
            crate::support::BEARER,
            None,
        )
        .await;
    assert_error(&r, 405, "method_not_allowed");
    let r = http.get("/api/vault/constructs/ghost/transcript").await;
    assert_error(&r, 404, "not_found");
    let r = http.get("/api/vault/constructs/ghost/export").await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn constructs_token_scoped_to_one_construct_cannot_read_another_over_http() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for id in ["alpha", "beta"] {
        let r = put_json(
            &http,
            &format!("/api/vault/constructs/{id}"),
            &json!({"capsule": {"who": id}}),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    let r = http
        .post(
            "/api/vault/tokens",
            &json!({"name": "alpha", "rules": [
                {"path": "constructs/alpha/**", "capabilities": ["read", "write", "list"]}
            ]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().expect("token").to_string();
    let auth = Auth::Bearer(&token);
    let r = http
        .send("GET", "/api/vault/constructs/alpha", auth, None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for path in [
        "/api/vault/constructs/beta",
        "/api/vault/constructs/beta/transcript",
        "/api/vault/constructs/beta/export",
        "/api/vault/constructs/beta/files/x",
    ] {
        let r = http.send("GET", path, auth, None).await;
        assert_error(&r, 403, "forbidden");
    }
    let r = http.send("GET", "/api/vault/constructs", auth, None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["constructs"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn constructs_planted_content_stays_out_of_audit_log_server_log_and_data_dir() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let planted = "planted-construct-c0ffee";
    let r = put_json(
        &http,
        "/api/vault/constructs/nova",
        &json!({"capsule": {"secret": planted}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .put_raw(
            "/api/vault/constructs/nova/files/key.txt",
            planted.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .post(
            "/api/vault/constructs/nova/transcript",
            &json!({"role": "user", "content": planted}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Errors about that content never echo it.
    let r = put_json(
        &http,
        "/api/vault/constructs/nova",
        &json!({"capsule": {"secret": planted}, "expected_version": 9}),
    )
    .await;
    assert_error(&r, 409, "conflict");
    assert!(!r.text.contains(planted), "{}", r.text);
    let r = http
        .post(
            "/api/vault/constructs/nova/transcript",
            &json!({"role": planted, "content": planted, "x": planted}),
        )
        .await;
    assert_error(&r, 400, "invalid");
    assert!(!r.text.contains(planted), "{}", r.text);
    let r = http.get("/api/vault/constructs/nova/export").await;
    assert_eq!(r.status, 200);

    let r = http.get("/api/vault/audit?limit=1000").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("constructs.put_file"), "{}", r.text);
    assert!(!r.text.contains(planted), "{}", r.text);
    server.terminate();
    let log = std::fs::read(dir.log()).expect("log");
    assert!(!log.is_empty());
    assert!(
        !contains_bytes(&log, planted.as_bytes()),
        "planted content in the server log"
    );
    let files = files_under(&dir.data());
    assert!(!files.is_empty());
    for f in files {
        let bytes = std::fs::read(&f).expect("read");
        assert!(
            !contains_bytes(&bytes, planted.as_bytes()),
            "planted content in {}",
            f.display()
        );
    }
}

#[tokio::test]
async fn constructs_client_covers_every_method_and_moves_a_construct_between_servers() {
    let dir = TestDir::new();
    let server = dir.start();
    let v = client(&server.base);
    let c = v.constructs();
    let id = cid("nova");
    let w = c
        .put_capsule(
            &id,
            json!({"name": "Nova"}).as_object().cloned().expect("obj"),
            None,
        )
        .await
        .expect("capsule");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    assert_eq!(
        c.get_capsule(&id, None).await.expect("get").document["name"],
        "Nova"
    );
    let content = vec![9u8; TEN_MIB];
    let w = c
        .put_file(&id, &fname("big.bin"), content.clone(), None)
        .await
        .expect("10 MiB file");
    let f = c
        .get_file(&id, &fname("big.bin"), None)
        .await
        .expect("get file");
    assert_eq!(f.content.len(), TEN_MIB);
    assert!(f.content == content);
    assert_eq!(
        (f.info.sha256.as_str(), f.info.version, f.info.size),
        (w.sha256.as_str(), 1, TEN_MIB as u64)
    );
    let e = c
        .put_file(&id, &fname("big.bin"), vec![0; TEN_MIB + 1], None)
        .await
        .expect_err("too large");
    assert_eq!((e.code(), e.field()), ("invalid", Some("file")));
    c.put_file(&id, &fname("small.txt"), b"hello".to_vec(), None)
        .await
        .expect("small");
    let files = c
        .list_files(&id, PageRequest::first())
        .await
        .expect("files");
    assert_eq!(files.len(), 2);
    c.delete_file(&id, &fname("big.bin")).await.expect("delete");
    let e = c
        .get_file(&id, &fname("big.bin"), None)
        .await
        .expect_err("gone");
    assert_eq!(e.code(), "not_found");
    for i in 1..=3 {
        let a = c
            .append(&id, NewEntry::new("user", format!("m{i}")))
            .await
            .expect("append");
        assert_eq!(a.seq, i);
    }
    let page = c
        .transcript(
            &id,
            TranscriptQuery {
                limit: Some(2),
                after: None,
                order: Order::Oldest,
            },
        )
        .await
        .expect("page");
    assert_eq!(
        page.entries.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!((page.next, page.total), (Some(2), 3));
    let listed = c.list(PageRequest::first()).await.expect("list");
    assert_eq!((listed[0].file_count, listed[0].transcript_count), (1, 3));

    // An import body over the 1 MiB of other routes: a 3 MiB file travels in the document.
    c.put_file(&id, &fname("voice.bin"), vec![7u8; 3 * 1024 * 1024], None)
        .await
        .expect("3 MiB file");
    let doc = c.export(&id).await.expect("export");
    assert_eq!(doc.files.len(), 2);
    let other_dir = TestDir::new();
    let other = other_dir.start();
    let o = client(&other.base);
    let report = o.constructs().import(doc.clone()).await.expect("import");
    assert_eq!((report.files, report.transcript_entries), (2, 3));
    let voice = o
        .constructs()
        .get_file(&id, &fname("voice.bin"), None)
        .await
        .expect("moved 3 MiB file");
    assert_eq!(voice.content.len(), 3 * 1024 * 1024);
    let f = o
        .constructs()
        .get_file(&id, &fname("small.txt"), None)
        .await
        .expect("moved file");
    assert_eq!(f.content, b"hello");
    let e = o.constructs().import(doc).await.expect_err("again");
    assert_eq!(e.code(), "conflict");
}
