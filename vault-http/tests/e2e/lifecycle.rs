//! Process lifecycle: restart, kill -9, SIGTERM, wrong key, dev mode, and no secret on disk or
//! in the log.

use serde_json::json;

use crate::support::{
    Auth, KEY_HEX, OTHER_KEY_HEX, Start, TOKEN, TestDir, contains_bytes, files_under,
};

#[tokio::test]
async fn restart_on_the_same_data_reads_everything_back() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    for (i, key) in ["A_KEY", "B_KEY"].iter().enumerate() {
        let r = http
            .post(
                "/api/vault/credentials",
                &json!({"key": key, "service": "svc", "value": format!("value-{i}"),
                        "metadata": {"i": i}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    for v in 1..=3 {
        let r = http
            .post(
                "/api/vault/configs/svc",
                &json!({"strategy_id": "strat", "params": {"v": v}}),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert!(server.terminate().success());

    let server = dir.start();
    let http = server.http();
    for (i, key) in ["A_KEY", "B_KEY"].iter().enumerate() {
        let r = http.get(&format!("/api/vault/credentials/{key}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["value"], format!("value-{i}"));
        assert_eq!(r.body["metadata"], json!({"i": i}));
    }
    let r = http.get("/api/vault/configs/svc").await;
    assert_eq!(r.body["configs"][0]["version"], 3);
    assert_eq!(r.body["configs"][0]["params"], json!({"v": 3}));
    for v in 1..=3 {
        let r = http
            .get(&format!("/api/vault/configs/svc/strat?version={v}"))
            .await;
        assert_eq!(r.body["config"]["params"], json!({"v": v}), "{}", r.text);
    }
}

#[tokio::test]
async fn kill_9_right_after_an_acknowledged_write_loses_nothing() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = http
        .post(
            "/api/vault/configs/svc",
            &json!({"strategy_id": "s", "params": {"acked": true}}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "ACKED", "service": "svc", "value": "acked-value"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    server.kill();

    let server = dir.start();
    let http = server.http();
    let r = http.get("/api/vault/credentials/ACKED").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["value"], "acked-value");
    let r = http.get("/api/vault/configs/svc/s").await;
    assert_eq!(
        r.body["config"]["params"],
        json!({"acked": true}),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully_with_status_0() {
    let dir = TestDir::new();
    let server = dir.start();
    let r = server.http().get("/api/vault/configs/svc").await;
    assert_eq!(r.status, 200);
    let status = server.terminate();
    assert_eq!(status.code(), Some(0), "{status:?}");
    let log = std::fs::read_to_string(dir.log()).expect("log");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(log.contains("vault-http stopped"), "{log}");
}

#[tokio::test]
async fn a_different_key_is_refused_with_one_wrong_key_line() {
    let dir = TestDir::new();
    let server = dir.start();
    let r = server
        .http()
        .post(
            "/api/vault/credentials",
            &json!({"key": "K", "service": "svc", "value": "v"}),
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(server.terminate().success());

    let log = dir.tmp.path().join("wrong-key.log");
    let data = dir.data();
    let start = Start {
        key: Some(OTHER_KEY_HEX),
        ..Start::new(&data, &log)
    };
    let status = start.run_to_exit();
    assert!(!status.success(), "{status:?}");
    let stderr = std::fs::read_to_string(&log).expect("stderr");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: wrong_key: "), "{stderr}");
    assert!(!stderr.contains(OTHER_KEY_HEX) && !stderr.contains(KEY_HEX));

    // The right key still opens it.
    let server = dir.start();
    let r = server.http().get("/api/vault/credentials/K").await;
    assert_eq!(r.body["value"], "v");
}

#[tokio::test]
async fn dev_mode_creates_private_key_and_token_files() {
    let dir = TestDir::new();
    let data = dir.data();
    let log = dir.log();
    let start = Start {
        token: None,
        key: None,
        ..Start::new(&data, &log)
    };
    let server = start.spawn();
    let token_file = data.join("service.token");
    let key_file = data.join("root.key");
    #[cfg(unix)]
    {
        assert_eq!(crate::support::mode(&token_file), 0o600);
        assert_eq!(crate::support::mode(&key_file), 0o600);
    }
    let token = std::fs::read_to_string(&token_file).expect("token file");
    let token = token.trim();
    assert!(token.len() >= 32);
    let http = server.http();
    let r = http
        .send(
            "GET",
            "/api/vault/credentials?service=s",
            Auth::Bearer(token),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .send(
            "GET",
            "/api/vault/credentials?service=s",
            Auth::Bearer(TOKEN),
            None,
        )
        .await;
    assert_eq!(r.status, 401);
    let r = http
        .send(
            "POST",
            "/api/vault/credentials",
            Auth::Header(token),
            Some(br#"{"key":"K","service":"s","value":"dev-value"}"#.to_vec()),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(server.terminate().success());

    let stderr = std::fs::read_to_string(&log).expect("stderr");
    assert!(stderr.contains("dev mode"), "{stderr}");
    assert!(
        stderr.contains(&token_file.display().to_string()),
        "{stderr}"
    );
    assert!(!stderr.contains(token), "the token reached stderr");
    let key = std::fs::read_to_string(&key_file).expect("key file");
    assert!(!stderr.contains(key.trim()), "the key reached stderr");

    // A second dev start reuses both files.
    let server = start.spawn();
    let r = server
        .http()
        .send("GET", "/api/vault/credentials/K", Auth::Bearer(token), None)
        .await;
    assert_eq!(r.body["value"], "dev-value", "{}", r.text);
}

#[tokio::test]
async fn a_planted_secret_reaches_neither_disk_nor_log() {
    const PLANTED: &str = "planted-secret-7f3a9c";
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "PLANTED", "service": "svc", "value": PLANTED}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .post(
            "/api/vault/credentials",
            &json!({"key": "PLANTED", "service": "svc", "value": format!("{PLANTED}-v2")}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // Rejected requests carrying it must not echo or log it either.
    for body in [
        json!({"key": "PLANTED", "service": "svc", "value": PLANTED, "bogus": PLANTED}),
        json!({"key": "PLANTED", "service": "svc", "value": [PLANTED]}),
        json!({"key": "PLANTED", "service": "svc", "value": PLANTED, "expected_version": 0}),
        json!({"key": "PLANTED", "service": "svc", "value": PLANTED, "metadata": PLANTED}),
    ] {
        let r = http.post("/api/vault/credentials", &body).await;
        assert!(r.status >= 400, "{}", r.text);
        assert!(!r.text.contains(PLANTED), "{}", r.text);
    }
    let r = http.get("/api/vault/credentials/PLANTED").await;
    assert_eq!(
        r.body["value"],
        format!("{PLANTED}-v2"),
        "the secret must be readable"
    );
    let r = http.get("/api/vault/credentials/PLANTED?service=svc").await;
    assert_eq!(r.body["value"], format!("{PLANTED}-v2"));
    assert!(server.terminate().success());

    let files = files_under(&dir.data());
    assert!(files.len() >= 2, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).expect("read data file");
        assert!(
            !contains_bytes(&bytes, PLANTED.as_bytes()),
            "{} holds the secret in the clear",
            f.display()
        );
    }
    let log = std::fs::read(dir.log()).expect("log");
    assert!(!log.is_empty());
    assert!(
        !contains_bytes(&log, PLANTED.as_bytes()),
        "the log holds the secret"
    );
    assert!(
        !contains_bytes(&log, TOKEN.as_bytes()),
        "the log holds the token"
    );
}
