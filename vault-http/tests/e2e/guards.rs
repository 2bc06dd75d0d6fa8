//! Trading guards over HTTP and through the remote client: the issue's shapes (policy put and
//! get with its hash, decide allowed / denied / already executed / mismatch), executions,
//! decisions, state, overrides, bad input, scopes, and concurrent claims of one proposal.

use std::time::Duration;

use serde_json::{Value, json};
use vault_client::{ClientOptions, RemoteVault};
use vault_core::crypto::SecretString;
use vault_core::guards::Decimal;
use vault_core::prelude::*;
use vault_core::{
    DecisionOutcome, ExecutionState, ExecutionUpdate, Proposal, ProposalOrigin, ServiceName, Side,
    StateChange, TradingState,
};

use crate::support::{Auth, Http, TOKEN, TestDir, assert_error};

const G: &str = "/api/vault/guards/acct1";

fn example() -> Value {
    json!({"allowlist": ["EUR_USD", "BTC/*"], "max_position_notional":
        {"default": "10000", "per_instrument": {"EUR_USD": "5000"}}, "min_confidence": 0.7,
        "cooldown_s": 3600, "anti_flip_s": 14400, "proposal_ttl_s": 300,
        "max_trades_per_day": 20, "max_daily_loss": "500", "llm_calls": {"hourly": 50,
        "daily": 500}, "max_overrides_per_day": 3})
}

async fn put_policy(http: &Http, body: &Value) -> crate::support::Reply {
    http.send(
        "PUT",
        &format!("{G}/policy"),
        crate::support::BEARER,
        Some(body.to_string().into_bytes()),
    )
    .await
}

fn decide_body(id: &str, instrument: &str, side: &str, notional: &str) -> Value {
    json!({"proposal_id": id, "instrument": instrument, "side": side, "notional": notional,
        "confidence": 0.9})
}

#[tokio::test]
async fn policy_and_decisions_keep_the_issue_shapes() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = put_policy(&http, &example()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["version"], 1);
    let hash = r.body["policy_hash"].as_str().expect("hash").to_string();
    assert!(
        hash.starts_with("sha256:") && hash.len() == 7 + 64,
        "{hash}"
    );
    let r = http.get(&format!("{G}/policy")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["policy_hash"], hash.as_str());
    assert_eq!(r.body["policy"]["allowlist"], json!(["BTC/*", "EUR/USD"]));
    assert_eq!(
        r.body["policy"]["max_position_notional"]["per_instrument"]["EUR/USD"],
        "5000"
    );

    // Allowed: 200 with the claim.
    let r = http
        .post(
            &format!("{G}/decide"),
            &decide_body("p1", "EUR_USD", "buy", "100"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["success"], true);
    assert_eq!(r.body["allowed"], true);
    assert_eq!(r.body["state"], "claimed");
    assert_eq!(r.body["policy_hash"], hash.as_str());
    assert_eq!(r.body["violations"], json!([]));
    let execution_id = r.body["execution_id"].as_str().expect("id").to_string();

    // Denied: 422 guard_rejected with every violation and its numbers.
    let r = http
        .post(
            &format!("{G}/decide"),
            &decide_body("p2", "EUR_USD", "sell", "100"),
        )
        .await;
    assert_error(&r, 422, "guard_rejected");
    assert_eq!(r.body["allowed"], false);
    assert_eq!(r.body["policy_hash"], hash.as_str());
    let rules: Vec<&str> = r.body["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| v["rule"].as_str().expect("rule"))
        .collect();
    assert_eq!(rules, ["COOLDOWN_ACTIVE", "ANTI_FLIP_ACTIVE"]);
    assert_eq!(r.body["violations"][0]["remaining_s"], 3600);

    // The same proposal again: 409 already_executed with the first decision.
    let r = http
        .post(
            &format!("{G}/decide"),
            &decide_body("p1", "EUR_USD", "buy", "100"),
        )
        .await;
    assert_error(&r, 409, "already_executed");
    assert_eq!(r.body["execution"]["execution_id"], execution_id.as_str());
    assert_eq!(r.body["execution"]["state"], "claimed");
    // Other trade fields under the same id: 422 proposal_mismatch.
    let r = http
        .post(
            &format!("{G}/decide"),
            &decide_body("p1", "EUR_USD", "buy", "101"),
        )
        .await;
    assert_error(&r, 422, "proposal_mismatch");

    // The execution moves on; listings page.
    let r = http
        .post(
            &format!("{G}/executions/{execution_id}"),
            &json!({"state": "submitted"}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["execution"]["state"], "submitted");
    let r = http
        .post(
            &format!("{G}/executions/{execution_id}"),
            &json!({"state": "claimed"}),
        )
        .await;
    assert_error(&r, 409, "conflict");
    let r = http.get(&format!("{G}/executions")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["executions"].as_array().expect("list").len(), 1);
    let r = http.get(&format!("{G}/decisions?limit=1")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["decisions"][0]["proposal_id"], "p2", "newest first");
    assert_eq!(r.body["decisions"][0]["outcome"], "denied");
    let next = r.body["next"].as_str().expect("next").to_string();
    let r = http
        .get(&format!("{G}/decisions?limit=1&after={next}"))
        .await;
    assert_eq!(r.body["decisions"][0]["proposal_id"], "p1");

    // State: halted, latched, with its reason; global too.
    let r = http
        .send(
            "PUT",
            &format!("{G}/state"),
            crate::support::BEARER,
            Some(
                json!({"state": "HALTED", "reason": "3 a.m. stop"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "HALTED");
    assert_eq!(r.body["policy_hash"], hash.as_str());
    let r = http
        .post(
            &format!("{G}/decide"),
            &decide_body("p3", "BTC/USDT", "buy", "100"),
        )
        .await;
    assert_error(&r, 422, "guard_rejected");
    assert_eq!(r.body["violations"][0]["rule"], "TRADING_HALTED");
    let r = http.get("/api/vault/guards/global/state").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["state"], "ACTIVE");

    // Diff and rollback of the policy.
    let mut second = example();
    second["cooldown_s"] = json!(60);
    let r = put_policy(&http, &second).await;
    assert_eq!(r.body["version"], 2);
    let r = http.get(&format!("{G}/policy/diff?from=1&to=2")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(
        r.body["changes"],
        json!([{"op": "replace", "path": "/cooldown_s", "old": 3600, "new": 60}])
    );
    let r = http
        .post(&format!("{G}/policy/rollback"), &json!({"to_version": 1}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["version"], 3);
    assert_eq!(r.body["policy_hash"], hash.as_str());
}

#[tokio::test]
async fn bad_input_is_refused_with_its_field_and_changes_nothing() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let mut unknown = example();
    unknown["surprise"] = json!(true);
    let r = put_policy(&http, &unknown).await;
    assert_error(&r, 400, "invalid");
    assert!(r.text.contains("surprise"), "{}", r.text);
    let r = put_policy(&http, &json!({"max_daily_loss": 500})).await;
    assert_error(&r, 400, "invalid");
    let r = put_policy(&http, &json!({"allowlist": ["BTC*"]})).await;
    assert_error(&r, 400, "invalid");
    assert_eq!(r.body["field"], "allowlist[0]");
    let r = http
        .send(
            "PUT",
            &format!("{G}/policy"),
            crate::support::BEARER,
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_error(&r, 400, "invalid");
    let r = http.get(&format!("{G}/policy")).await;
    assert_error(&r, 404, "not_found");

    put_policy(&http, &example()).await;
    for (body, field) in [
        (decide_body("p1", "EUR_USD", "buy", "-1"), "notional"),
        (decide_body("p1", "EUR USD", "buy", "1"), "instrument"),
        (decide_body("p/1", "EUR_USD", "buy", "1"), "proposal_id"),
    ] {
        let r = http.post(&format!("{G}/decide"), &body).await;
        assert_error(&r, 400, "invalid");
        assert_eq!(r.body["field"], field, "{}", r.text);
    }
    for body in [
        json!({"proposal_id": "p1", "instrument": "EUR_USD", "side": "buy", "notional": 1,
            "confidence": 0.9}),
        json!({"proposal_id": "p1", "instrument": "EUR_USD", "side": "long", "notional": "1",
            "confidence": 0.9}),
        json!({"proposal_id": "p1", "instrument": "EUR_USD", "side": "buy", "notional": "1",
            "confidence": 0.9, "override": true}),
    ] {
        let r = http.post(&format!("{G}/decide"), &body).await;
        assert_error(&r, 400, "invalid");
    }
    let r = http
        .post(
            "/api/vault/guards/..%2Fx/decide",
            &decide_body("p1", "EUR_USD", "buy", "1"),
        )
        .await;
    assert_error(&r, 400, "invalid");
    let r = http.get(&format!("{G}/executions")).await;
    assert_eq!(
        r.body["executions"],
        json!([]),
        "bad input claimed something"
    );
}

#[tokio::test]
async fn scopes_apply_and_model_output_carries_no_authority() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    put_policy(&http, &example()).await;
    let r = http
        .post(
            "/api/vault/tokens",
            &json!({"name": "agent", "rules": [{"path": "guards/acct1/**",
                "capabilities": ["execute", "read"]}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let token = r.body["token"].as_str().expect("token").to_string();
    let agent = |method: &'static str, path: String, body: Value| {
        let http = &http;
        let token = token.clone();
        async move {
            http.send(
                method,
                &path,
                Auth::Bearer(&token),
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    let mut exit = decide_body("p1", "EUR_USD", "sell", "100");
    exit["origin"] = json!("risk_exit");
    let r = agent("POST", format!("{G}/decide"), exit).await;
    assert_error(&r, 403, "forbidden");
    let r = agent(
        "POST",
        format!("{G}/overrides"),
        json!({"proposal_id": "p2", "rules": ["cooldown"], "reason": "the model says so, trust it"}),
    )
    .await;
    assert_error(&r, 403, "forbidden");
    let r = agent(
        "PUT",
        format!("{G}/state"),
        json!({"state": "ACTIVE", "reason": "resume"}),
    )
    .await;
    assert_error(&r, 403, "forbidden");
    let r = agent("PUT", format!("{G}/policy"), json!({"allowlist": ["*"]})).await;
    assert_error(&r, 403, "forbidden");
    let r = agent(
        "POST",
        "/api/vault/guards/acct2/decide".to_string(),
        decide_body("p1", "EUR_USD", "buy", "100"),
    )
    .await;
    assert_error(&r, 403, "forbidden");
    let r = agent(
        "POST",
        format!("{G}/decide"),
        decide_body("p1", "EUR_USD", "buy", "100"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// 64 concurrent HTTP decisions of one proposal: one claim, 63 answers of `already_executed`
/// carrying it. (The forced interleaving that proves it is in vault-core's tests; this checks
/// the server's answers under real concurrency.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_http_claims_of_one_proposal_make_one_execution() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = std::sync::Arc::new(server.http());
    put_policy(&http, &example()).await;
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let http = http.clone();
            tokio::spawn(async move {
                http.post(
                    &format!("{G}/decide"),
                    &decide_body("once", "BTC/USDT", "buy", "10"),
                )
                .await
            })
        })
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    let mut ids = std::collections::BTreeSet::new();
    for t in tasks {
        let r = t.await.expect("join");
        *statuses.entry(r.status).or_default() += 1;
        let id = if r.status == 200 {
            r.body["execution_id"].clone()
        } else {
            r.body["execution"]["execution_id"].clone()
        };
        ids.insert(id.to_string());
    }
    assert_eq!(statuses, [(200, 1), (409, 63)].into_iter().collect());
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn the_remote_client_decides_like_the_embedded_vault() {
    let dir = TestDir::new();
    let server = dir.start();
    let remote = RemoteVault::new(
        &server.http().base,
        ClientOptions {
            token: Some(SecretString::from(TOKEN)),
            timeout: Duration::from_secs(10),
            ..ClientOptions::default()
        },
    )
    .expect("client");
    let g = remote.guards();
    let a = ServiceName::new("acct1").expect("account");
    let put = vault_core::PolicyPut {
        policy: serde_json::from_value(example()).expect("policy"),
        comment: Some("first".into()),
        expected_version: Some(0),
    };
    let w = g.put_policy(&a, put).await.expect("put");
    assert_eq!(w.version, 1);
    let p = |id: &str, side| Proposal {
        proposal_id: id.into(),
        instrument: "EUR_USD".into(),
        side,
        notional: Decimal::from(100),
        confidence: 0.9,
        origin: ProposalOrigin::Discretionary,
        expires_at: None,
    };
    let d = g.decide(&a, p("p1", Side::Buy)).await.expect("decide");
    assert_eq!(d.outcome, DecisionOutcome::Allowed);
    assert_eq!(d.policy_hash, w.policy_hash);
    let again = g.decide(&a, p("p1", Side::Buy)).await.expect("again");
    assert_eq!(again.outcome, DecisionOutcome::AlreadyExecuted);
    assert_eq!(again.execution, d.execution);
    let denied = g.decide(&a, p("p2", Side::Sell)).await.expect("denied");
    assert_eq!(denied.outcome, DecisionOutcome::Denied);
    assert_eq!(denied.violations.len(), 2);
    let e = g
        .decide(
            &a,
            Proposal {
                notional: Decimal::from(5),
                ..p("p1", Side::Buy)
            },
        )
        .await
        .expect_err("mismatch");
    assert_eq!(e.code(), "proposal_mismatch");
    let id = d.execution.expect("execution").execution_id;
    let e = g
        .update_execution(
            &a,
            &id,
            ExecutionUpdate {
                state: ExecutionState::Submitted,
                fill: None,
                realized_pnl: None,
            },
        )
        .await
        .expect("update");
    assert_eq!(e.state, ExecutionState::Submitted);
    assert_eq!(g.get_execution(&a, &id).await.expect("get"), e);
    let s = g
        .set_state(
            &a,
            StateChange {
                state: TradingState::Reducing,
                reason: "drawdown".into(),
            },
        )
        .await
        .expect("state");
    assert_eq!(s.state, TradingState::Reducing);
    assert_eq!(g.get_state(&a).await.expect("state"), s);
    let got = g.get_policy(&a, Some(1)).await.expect("policy");
    assert_eq!(got.comment.as_deref(), Some("first"));
    let page = g
        .decisions(&a, vault_core::PageRequest::default())
        .await
        .expect("decisions");
    assert_eq!(page.items.len(), 2);
}

#[tokio::test]
async fn an_exhausted_llm_budget_is_429_with_retry_after_and_the_window() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    let r = put_policy(&http, &json!({"llm_calls": {"hourly": 1, "daily": 10}})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http
        .post(&format!("{G}/budget/llm"), &json!({"model": "gpt-4o-mini"}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["admitted"], true);
    assert!(
        r.body["call_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("llm_"))
    );
    let r = http.post(&format!("{G}/budget/llm"), &json!({})).await;
    assert_error(&r, 429, "budget_exhausted");
    assert_eq!(r.body["window"], "hourly");
    assert_eq!(r.body["limit"], 1);
    assert!(r.body["resets_at"].as_str().is_some(), "{}", r.text);
    assert!(
        r.text.contains("Hourly LLM call budget exceeded"),
        "{}",
        r.text
    );
    let r = http
        .send(
            "POST",
            &format!("{G}/budget/llm"),
            crate::support::BEARER,
            Some(b"{}".to_vec()),
        )
        .await;
    assert_eq!(r.status, 429);
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=3600).contains(&retry), "{retry}");
    let r = http.get(&format!("{G}/budget/llm")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["windows"][0]["used"], 1);
    assert_eq!(r.body["windows"][1]["remaining"], 9);
    let r = http
        .post(
            &format!("{G}/budget/llm"),
            &json!({"model": "x", "tokens": 5}),
        )
        .await;
    assert_error(&r, 400, "invalid");
}

#[tokio::test]
async fn proposals_are_stored_listed_and_swept() {
    let dir = TestDir::new();
    let server = dir.start();
    let http = server.http();
    put_policy(&http, &example()).await;
    let r = http
        .post(
            &format!("{G}/proposals"),
            &decide_body("p1", "EUR_USD", "buy", "100"),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.body["proposal"]["state"], "pending");
    assert_eq!(r.body["proposal"]["notional"], "100");
    let r = http
        .post(
            &format!("{G}/proposals"),
            &decide_body("p1", "EUR_USD", "sell", "100"),
        )
        .await;
    assert_error(&r, 422, "proposal_mismatch");
    let r = http.post(&format!("{G}/proposals/sweep"), &json!({})).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["expired"], 0);
    let r = http
        .post(&format!("{G}/proposals/sweep"), &json!({"all": true}))
        .await;
    assert_error(&r, 400, "invalid");
    let r = http
        .post(
            &format!("{G}/decide"),
            &decide_body("p1", "EUR_USD", "buy", "100"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = http.get(&format!("{G}/proposals")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["proposals"][0]["state"], "decided");
}
