//! Scheduler jobs over HTTP (`/api/vault/guards/{account}/jobs...`) and through the remote
//! client: create, claim, renew, release, sweep, get, list; a stale owner refused; bad input
//! `invalid` naming the field; capabilities. Lease expiry itself is driven by a manual clock in
//! vault-core's tests (the server runs on the system clock, and tests never wait for it).

use std::time::Duration;

use serde_json::{Value, json};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::prelude::*;
use vault_core::{
    AccountId, InstanceId, JobClaim, JobCreate, JobId, JobLease, JobOutcome, JobRelease, JobState,
    PageRequest,
};

use crate::support::{Auth, TOKEN, TestDir, assert_error};

const JOBS: &str = "/api/vault/guards/acct/jobs";

/// A time long past (a failed run rescheduled there is due at once).
const PAST: &str = "2020-01-01T00:00:00.000Z";

#[tokio::test]
async fn a_job_over_http_from_create_to_done_with_the_stale_owner_refused() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = http
        .post(JOBS, &json!({"job_id": "scan", "max_attempts": 3}))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        (
            &r.body["success"],
            &r.body["created"],
            &r.body["account"],
            &r.body["job"]["state"]
        ),
        (
            &json!(true),
            &json!(true),
            &json!("acct"),
            &json!("pending")
        )
    );
    let r = http.post(JOBS, &json!({"job_id": "scan"})).await;
    assert_eq!(
        (r.status, &r.body["created"]),
        (200, &json!(false)),
        "{}",
        r.text
    );
    let r = http
        .post(JOBS, &json!({"job_id": "scan", "max_attempts": 5}))
        .await;
    assert_error(&r, 409, "conflict");

    let claim = |instance: &str| json!({"instance": instance, "limit": 10, "ttl_s": 30});
    let r = http.post(&format!("{JOBS}/claim"), &claim("a")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let job = &r.body["jobs"][0];
    assert_eq!(r.body["jobs"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (
            &job["job_id"],
            &job["fencing_token"],
            &job["attempt"],
            &job["owner"],
            &job["state"]
        ),
        (
            &json!("scan"),
            &json!(1),
            &json!(1),
            &json!("a"),
            &json!("leased")
        )
    );
    assert!(job["lease_expires_at"].is_string(), "{}", r.text);
    // Leased: nothing for b.
    let r = http.post(&format!("{JOBS}/claim"), &claim("b")).await;
    assert_eq!(
        r.body,
        json!({"account": "acct", "jobs": [], "success": true})
    );

    let r = http
        .post(
            &format!("{JOBS}/scan/renew"),
            &json!({"instance": "a", "fencing_token": 1, "ttl_s": 30}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["job"]["fencing_token"]),
        (200, &json!(1)),
        "{}",
        r.text
    );
    // a fails, rescheduled at once; b claims the next attempt.
    let r = http
        .post(
            &format!("{JOBS}/scan/release"),
            &json!({"instance": "a", "fencing_token": 1, "outcome": "failed", "reschedule_at": PAST}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["job"]["state"]),
        (200, &json!("pending")),
        "{}",
        r.text
    );
    let r = http.post(&format!("{JOBS}/claim"), &claim("b")).await;
    assert_eq!(r.body["jobs"][0]["fencing_token"], 2, "{}", r.text);
    // a's late release and renew, with its old token, are refused.
    for (op, body) in [
        (
            "release",
            json!({"instance": "a", "fencing_token": 1, "outcome": "done"}),
        ),
        ("renew", json!({"instance": "a", "fencing_token": 1})),
    ] {
        let r = http.post(&format!("{JOBS}/scan/{op}"), &body).await;
        assert_error(&r, 409, "conflict");
        let msg = r.body["error"].as_str().unwrap_or_default();
        assert!(
            msg.contains("job 'scan' of account 'acct'") && msg.contains("stale"),
            "{msg}"
        );
    }
    let r = http
        .post(
            &format!("{JOBS}/scan/release"),
            &json!({"instance": "b", "fencing_token": 2, "outcome": "done"}),
        )
        .await;
    assert_eq!(r.body["job"]["state"], "done", "{}", r.text);
    let r = http.get(&format!("{JOBS}/scan")).await;
    assert_eq!(
        (
            &r.body["job"]["state"],
            &r.body["job"]["last_outcome"],
            &r.body["job"]["attempt"]
        ),
        (&json!("done"), &json!("done"), &json!(2)),
        "{}",
        r.text
    );
    let r = http.get(&format!("{JOBS}?limit=1")).await;
    assert_eq!(r.body["jobs"][0]["job_id"], "scan", "{}", r.text);
    let r = http.post_raw(&format!("{JOBS}/sweep"), b"").await;
    assert_eq!(
        r.body,
        json!({"account": "acct", "dead": 0, "released": 0, "success": true})
    );
    let r = http.get(&format!("{JOBS}/nope")).await;
    assert_error(&r, 404, "not_found");
}

#[tokio::test]
async fn fail_bad_job_input_over_http_is_invalid_naming_the_field() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = http.post(JOBS, &json!({"job_id": "j"})).await;
    assert_eq!(r.status, 201, "{}", r.text);
    let cases: Vec<(String, Value, &str)> = vec![
        (JOBS.into(), json!({"job_id": "j", "when": 1}), "body"),
        (JOBS.into(), json!({"job_id": "claim"}), "job_id"),
        (JOBS.into(), json!({"job_id": "a/b"}), "job_id"),
        (
            JOBS.into(),
            json!({"job_id": "k", "max_attempts": 0}),
            "max_attempts",
        ),
        (
            "/api/vault/guards/..%2Fx/jobs".into(),
            json!({"job_id": "k"}),
            "account",
        ),
        (
            format!("{JOBS}/claim"),
            json!({"instance": "a", "ttl_s": 0}),
            "ttl_s",
        ),
        (
            format!("{JOBS}/claim"),
            json!({"instance": "a", "ttl_s": 3601}),
            "ttl_s",
        ),
        (
            format!("{JOBS}/claim"),
            json!({"instance": "a", "limit": 0}),
            "limit",
        ),
        (
            format!("{JOBS}/claim"),
            json!({"instance": "a", "limit": 1000}),
            "limit",
        ),
        (
            format!("{JOBS}/claim"),
            json!({"instance": "a b"}),
            "instance",
        ),
        (
            format!("{JOBS}/claim"),
            json!({"instance": "a", "ttl": 5}),
            "body",
        ),
        (
            format!("{JOBS}/j/release"),
            json!({"instance": "a", "fencing_token": 1, "outcome": "maybe"}),
            "outcome",
        ),
        (
            format!("{JOBS}/j/renew"),
            json!({"instance": "a", "fencing_token": 1, "ttl_s": 0}),
            "ttl_s",
        ),
    ];
    for (path, body, field) in cases {
        let r = http.post(&path, &body).await;
        assert_error(&r, 400, "invalid");
        if field != "body" {
            assert_eq!(r.body["field"], field, "{path} {body}: {}", r.text);
        }
    }
    // Nothing changed.
    let r = http.get(&format!("{JOBS}/j")).await;
    assert_eq!(
        (&r.body["job"]["state"], &r.body["job"]["fencing_token"]),
        (&json!("pending"), &json!(0)),
        "{}",
        r.text
    );
    let r = http.get(JOBS).await;
    assert_eq!(
        r.body["jobs"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn a_read_only_token_may_look_but_not_claim() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    http.post(JOBS, &json!({"job_id": "j"})).await;
    let r = http
        .post(
            "/api/vault/tokens",
            &json!({"name": "viewer", "rules": [{"path": "guards/acct/jobs/*", "capabilities": ["read"]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().expect("token").to_string();
    let r = http
        .send(
            "POST",
            &format!("{JOBS}/claim"),
            Auth::Bearer(&token),
            Some(br#"{"instance":"a"}"#.to_vec()),
        )
        .await;
    assert_error(&r, 403, "forbidden");
    let r = http
        .send("GET", &format!("{JOBS}/j"), Auth::Bearer(&token), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

fn client(base: &str) -> RemoteVault {
    let options = ClientOptions {
        token: Some(SecretString::from(TOKEN)),
        timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    RemoteVault::new(base, options).expect("client")
}

#[tokio::test]
async fn the_remote_client_runs_jobs_like_the_embedded_vault() {
    let dir = TestDir::new();
    let server = dir.start();
    let v = client(&server.base);
    let acct = AccountId::new("acct").expect("name");
    let id = JobId::new("scan").expect("name");
    let created = v
        .jobs()
        .create(&acct, JobCreate::new(id.clone()))
        .await
        .expect("create");
    assert!(created.created);
    assert_eq!(
        (created.job.account.as_str(), created.job.state),
        ("acct", JobState::Pending)
    );
    let claim = JobClaim {
        instance: InstanceId::new("a").expect("name"),
        limit: Some(5),
        ttl: Some(Duration::from_secs(30)),
    };
    let got = v
        .jobs()
        .claim_due(&acct, claim.clone())
        .await
        .expect("claim");
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].fencing_token, got[0].state), (1, JobState::Leased));
    assert!(
        v.jobs()
            .claim_due(&acct, claim.clone())
            .await
            .expect("again")
            .is_empty()
    );
    let lease = JobLease {
        instance: InstanceId::new("a").expect("name"),
        fencing_token: 1,
    };
    let renewed = v
        .jobs()
        .renew(&acct, &id, lease.clone(), Some(Duration::from_secs(60)))
        .await
        .expect("renew");
    assert!(renewed.lease_expires_at >= got[0].lease_expires_at);
    let stale = JobLease {
        fencing_token: 7,
        ..lease.clone()
    };
    let e = v
        .jobs()
        .renew(&acct, &id, stale, None)
        .await
        .expect_err("never issued");
    assert_eq!(e.code(), "conflict");
    let done = v
        .jobs()
        .release(
            &acct,
            &id,
            JobRelease {
                lease,
                outcome: JobOutcome::Done,
                reschedule_at: None,
            },
        )
        .await
        .expect("release");
    assert_eq!(done.state, JobState::Done);
    assert_eq!(v.jobs().get(&acct, &id).await.expect("get"), done);
    let page = v
        .jobs()
        .list(&acct, PageRequest::first())
        .await
        .expect("list");
    assert_eq!(page, vec![done]);
    assert_eq!(
        v.jobs().sweep(&acct).await.expect("sweep"),
        Default::default()
    );
    // Input that cannot succeed is refused before it is sent.
    let bad = JobClaim {
        ttl: Some(Duration::ZERO),
        ..claim
    };
    let e = v.jobs().claim_due(&acct, bad).await.expect_err("ttl");
    assert_eq!((e.code(), e.field()), ("invalid", Some("ttl")));
    let e = v
        .jobs()
        .get(&acct, &JobId::new("nope").expect("name"))
        .await
        .expect_err("missing");
    assert_eq!(e.code(), "not_found");
}
