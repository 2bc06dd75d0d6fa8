//! Inference: the mock-echo model with an empty registry, `invoke` on `llm/<model>`, token
//! limits (rpm, hourly/daily calls, daily tokens) admitted atomically at the cap under a forced
//! interleaving, limits a minter cannot exceed, fallback and void, the usage log shared with an
//! account's LLM-call budget, and no prompt in audit or store.

use std::sync::Arc;
use std::time::Duration;

use vault_core::crypto::KdfParams;
use vault_core::inference::mock::{MockFail, MockOptions};
use vault_core::inference::registry::{BackendKind, BackendSpec, ModelSpec, Registry};
use vault_core::inference::{CallStream, ChatMessage, ChatRequest, EmbeddingRequest, Limited};
use vault_core::prelude::*;
use vault_core::{Capability, LlmLimits, Rule, TokenCreate, Vault};

use super::support::{T0, contains, dump, key, memory_vault, svc};

const PROMPT: &str = "the secret plan is PLANTED-PROMPT-7731 tomorrow";

fn chat(model: &str, text: &str) -> ChatRequest {
    ChatRequest {
        model: model.into(),
        messages: vec![ChatMessage {
            role: "user".into(),
            content: text.into(),
        }],
        sampling: Default::default(),
    }
}

fn invoke(path: &str) -> Vec<Rule> {
    vec![Rule {
        path: path.into(),
        capabilities: vec![Capability::Invoke],
    }]
}

/// `v` seen through a new token with `rules` and `llm` limits.
async fn token(v: &Vault, rules: Vec<Rule>, llm: LlmLimits) -> Vault {
    let created = v
        .tokens()
        .create(TokenCreate {
            name: "chat-app".into(),
            rules,
            ttl: None,
            llm,
        })
        .await
        .expect("token");
    v.with_token(created.token.expose_secret())
        .await
        .expect("with_token")
}

async fn admitted(v: &Vault, req: ChatRequest) -> CallStream {
    match v.inference().chat(req).await.expect("chat") {
        Limited::Admitted(s) => s,
        Limited::Refused(r) => panic!("refused: {r:?}"),
    }
}

async fn text_of(mut s: CallStream) -> String {
    let mut out = String::new();
    while let Some(c) =
        std::future::poll_fn(|cx| futures_core::Stream::poll_next(std::pin::Pin::new(&mut s), cx))
            .await
    {
        out.push_str(c.expect("chunk").text.as_deref().unwrap_or(""));
    }
    out
}

/// Waits for queued settles (they run in tasks of their own).
async fn settled(v: &Vault) {
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    v.flush().await.expect("flush");
}

#[tokio::test]
async fn mock_echo_streams_the_last_user_message_with_an_empty_registry() {
    let (v, _, _) = memory_vault().await;
    let models = v.inference().models().await.expect("models");
    assert_eq!(models.len(), 1);
    assert_eq!(models[0].id, "mock-echo");
    let s = admitted(&v, chat("mock-echo", "hello there world")).await;
    assert!(s.info.call_id.starts_with("llm_"));
    assert_eq!(text_of(s).await, "hello there world");
}

#[tokio::test]
async fn a_model_needs_invoke_on_its_path_and_lists_show_only_those() {
    let (v, _, _) = memory_vault().await;
    let none = token(&v, invoke("configs/**"), LlmLimits::default()).await;
    let e = none
        .inference()
        .chat(chat("mock-echo", "hi"))
        .await
        .expect_err("no rule");
    assert_eq!(e.code(), "forbidden");
    assert!(none.inference().models().await.expect("models").is_empty());
    let other = token(&v, invoke("llm/gpt-4o"), LlmLimits::default()).await;
    assert_eq!(
        other
            .inference()
            .chat(chat("mock-echo", "hi"))
            .await
            .expect_err("other")
            .code(),
        "forbidden"
    );
    let all = token(&v, invoke("llm/*"), LlmLimits::default()).await;
    assert_eq!(all.inference().models().await.expect("models").len(), 1);
    let e = all
        .inference()
        .chat(chat("no-such-model", "hi"))
        .await
        .expect_err("unknown");
    assert_eq!(e.code(), "not_found");
    let mut bad = chat("mock-echo", "hi");
    bad.messages.clear();
    assert_eq!(
        all.inference().chat(bad).await.expect_err("empty").field(),
        Some("messages")
    );
}

#[tokio::test]
async fn a_minter_cannot_give_more_than_it_has() {
    let (v, _, _) = memory_vault().await;
    let mut rules = invoke("llm/*");
    rules.push(Rule {
        path: "tokens/*".into(),
        capabilities: vec![Capability::Admin],
    });
    let parent = token(
        &v,
        rules.clone(),
        LlmLimits {
            rpm: Some(10),
            daily: Some(100),
            ..LlmLimits::default()
        },
    )
    .await;
    let create = |llm| TokenCreate {
        name: "child".into(),
        rules: invoke("llm/*"),
        ttl: None,
        llm,
    };
    for (llm, ok) in [
        (LlmLimits::default(), false),
        (
            LlmLimits {
                rpm: Some(11),
                daily: Some(100),
                ..LlmLimits::default()
            },
            false,
        ),
        (
            LlmLimits {
                rpm: Some(5),
                ..LlmLimits::default()
            },
            false,
        ),
        (
            LlmLimits {
                rpm: Some(5),
                daily: Some(100),
                hourly: Some(3),
                ..LlmLimits::default()
            },
            true,
        ),
    ] {
        let r = parent.tokens().create(create(llm.clone())).await;
        assert_eq!(r.is_ok(), ok, "{llm:?}: {r:?}");
        if let Err(e) = r {
            assert_eq!(e.code(), "forbidden");
        }
    }
    let e = v
        .tokens()
        .create(create(LlmLimits {
            rpm: Some(0),
            ..LlmLimits::default()
        }))
        .await
        .expect_err("zero");
    assert_eq!(e.field(), Some("llm.rpm"));
}

/// 64 calls against a cap of 10, every one reading the token's usage head before any commits:
/// exactly 10 are admitted; the next minute admits again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_calls_against_a_cap_of_ten_admit_exactly_ten() {
    let (v, clock, store) = memory_vault().await;
    let created = v
        .tokens()
        .create(TokenCreate {
            name: "loop".into(),
            rules: invoke("llm/*"),
            ttl: None,
            llm: LlmLimits {
                rpm: Some(10),
                ..LlmLimits::default()
            },
        })
        .await
        .expect("token");
    let id = created.info.id.clone();
    let gated = Vault::builder()
        .store(Arc::new(vault_core::store::testing::ReadGateStore::new(
            store.clone(),
            // The count of the usage log (a scan of the token's facts) is the read every
            // contender must make before any of them commits.
            format!("llm/u/{id}/").as_bytes(),
            64,
        )))
        .key(key(1))
        .clock(Arc::new(clock.clone()))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open")
        .with_token(created.token.expose_secret())
        .await
        .expect("token");
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let v = gated.clone();
            tokio::spawn(async move {
                match v.inference().chat(chat("mock-echo", "hi")).await {
                    Ok(Limited::Admitted(s)) => Ok(Some(s)),
                    Ok(Limited::Refused(r)) => {
                        assert_eq!(r.limit, "rpm");
                        assert_eq!(r.code(), "rate_limit_rpm_exceeded");
                        assert_eq!(r.cap, 10);
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .collect();
    let mut streams = Vec::new();
    let mut refused = 0;
    for t in tasks {
        match t.await.expect("join").expect("no error") {
            Some(s) => streams.push(s),
            None => refused += 1,
        }
    }
    assert_eq!(streams.len(), 10);
    assert_eq!(refused, 54);
    drop(streams);
    let user = v
        .with_token(created.token.expose_secret())
        .await
        .expect("t");
    let Limited::Refused(r) = user
        .inference()
        .chat(chat("mock-echo", "hi"))
        .await
        .expect("r")
    else {
        panic!("the 11th call of the minute was admitted");
    };
    // T0 is 09:00:00.000: the minute resets at 09:01.
    assert_eq!(r.resets_at.as_millis(), T0 + 60_000);
    assert_eq!(r.retry_after_secs, 60);
    clock.advance(Duration::from_secs(60));
    assert!(matches!(
        user.inference()
            .chat(chat("mock-echo", "hi"))
            .await
            .expect("next minute"),
        Limited::Admitted(_)
    ));
}

#[tokio::test]
async fn hourly_daily_and_token_budgets_refuse_naming_the_limit() {
    let (v, clock, _) = memory_vault().await;
    let t = token(
        &v,
        invoke("llm/*"),
        LlmLimits {
            hourly: Some(2),
            daily: Some(3),
            daily_tokens: Some(1000),
            ..LlmLimits::default()
        },
    )
    .await;
    for _ in 0..2 {
        text_of(admitted(&t, chat("mock-echo", "a b c")).await).await;
    }
    let Limited::Refused(r) = t.inference().chat(chat("mock-echo", "x")).await.expect("r") else {
        panic!("third call of the hour admitted");
    };
    assert_eq!((r.limit.as_str(), r.scope.as_str()), ("hourly", "token"));
    assert_eq!(r.code(), "llm_budget_hourly_exceeded");
    assert!(r.message().contains("limit 2"), "{}", r.message());
    clock.advance(Duration::from_secs(3600));
    text_of(admitted(&t, chat("mock-echo", "a")).await).await;
    let Limited::Refused(r) = t.inference().chat(chat("mock-echo", "x")).await.expect("r") else {
        panic!("fourth call of the day admitted");
    };
    assert_eq!(r.limit, "daily");
    // A refusal is audited as one, not as `ok`.
    let mut q = vault_core::AuditQuery::default();
    q.filter.op = Some("inference.chat".into());
    let outcomes: Vec<String> = v
        .audit()
        .query(q)
        .await
        .expect("audit")
        .items
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "budget_exhausted").count(),
        2,
        "{outcomes:?}"
    );

    // Tokens: a call that uses up the day's budget completes; the next is refused.
    let (v, _, _) = memory_vault().await;
    let t = token(
        &v,
        invoke("llm/*"),
        LlmLimits {
            daily_tokens: Some(10),
            ..LlmLimits::default()
        },
    )
    .await;
    let long = "word ".repeat(20);
    text_of(admitted(&t, chat("mock-echo", &long)).await).await;
    settled(&v).await;
    let Limited::Refused(r) = t.inference().chat(chat("mock-echo", "x")).await.expect("r") else {
        panic!("admitted past the daily token budget");
    };
    assert_eq!(r.code(), "llm_token_budget_daily_exceeded");
}

fn registry(fail_first: bool) -> Registry {
    let mut r = Registry::default();
    for (name, fail) in [("flaky", fail_first), ("steady", false)] {
        r.backends.insert(
            name.into(),
            BackendSpec {
                kind: BackendKind::Mock,
                base_url: None,
                api_key: None,
                mock: Some(MockOptions {
                    fail: fail.then_some(MockFail::BeforeOutput),
                    ..MockOptions::default()
                }),
            },
        );
    }
    r.models.insert(
        "primary".into(),
        ModelSpec {
            backend: "flaky".into(),
            upstream: None,
            aliases: vec!["main".into()],
            context_window: Some(100),
            fallback: Some("secondary".into()),
        },
    );
    r.models.insert(
        "secondary".into(),
        ModelSpec {
            backend: "steady".into(),
            upstream: None,
            aliases: vec![],
            context_window: None,
            fallback: None,
        },
    );
    r
}

#[tokio::test]
async fn a_registered_model_replaces_mock_echo_and_falls_back_before_any_output() {
    let (v, _, _) = memory_vault().await;
    v.inference()
        .put_registry(&registry(true), Some("two mocks".into()))
        .await
        .expect("registry");
    let ids: Vec<String> = v
        .inference()
        .models()
        .await
        .expect("models")
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(ids, ["primary", "secondary"]);
    let s = admitted(&v, chat("main", "via the alias")).await;
    assert_eq!(s.info.model, "primary");
    assert_eq!(s.info.served_by, "secondary");
    assert_eq!(text_of(s).await, "via the alias");
    let mut too_long = chat("primary", "x");
    too_long.sampling.max_tokens = Some(101);
    assert_eq!(
        v.inference()
            .chat(too_long)
            .await
            .expect_err("window")
            .field(),
        Some("max_tokens")
    );
}

#[tokio::test]
async fn the_fallback_serves_only_a_caller_allowed_to_invoke_it_within_its_window() {
    let (v, _, _) = memory_vault().await;
    let mut r = registry(true);
    if let Some(m) = r.models.get_mut("secondary") {
        m.context_window = Some(10);
    }
    v.inference()
        .put_registry(&r, None)
        .await
        .expect("registry");
    // A token that may invoke only the primary is not served by the fallback.
    let t = token(&v, invoke("llm/primary"), LlmLimits::default()).await;
    let e = t
        .inference()
        .chat(chat("primary", "x"))
        .await
        .expect_err("no fallback for this caller");
    assert_eq!(e.code(), "backend_unavailable", "{e}");
    // A request over the fallback's context window is not sent to it either.
    let mut long = chat("primary", "x");
    long.sampling.max_tokens = Some(50);
    let e = v
        .inference()
        .chat(long)
        .await
        .expect_err("over the fallback's window");
    assert_eq!(e.code(), "backend_unavailable", "{e}");
    // Within both, the fallback serves.
    let s = admitted(&v, chat("primary", "ok")).await;
    assert_eq!(s.info.served_by, "secondary");
}

#[tokio::test]
async fn a_bad_model_name_is_refused_before_it_is_audited() {
    let (v, _, _) = memory_vault().await;
    let t = token(&v, invoke("llm/mock-echo"), LlmLimits::default()).await;
    for bad in ["A".repeat(5000), "mock-echo\u{0}".into(), String::new()] {
        let e = t
            .inference()
            .chat(chat(&bad, "x"))
            .await
            .expect_err("bad model name");
        assert_eq!(e.field(), Some("model"), "{e}");
        assert!(
            !e.to_string().contains(&"A".repeat(200)),
            "the name is echoed"
        );
    }
    let audit = v
        .audit()
        .query(vault_core::AuditQuery {
            filter: vault_core::AuditFilter::default(),
            limit: Some(100),
            after: None,
        })
        .await
        .expect("audit");
    assert!(
        audit.items.iter().all(|e| e.path.len() < 300),
        "an audit path carries the submitted name"
    );
}

#[tokio::test]
async fn a_call_failing_before_output_without_fallback_is_void_and_does_not_count() {
    let (v, _, _) = memory_vault().await;
    let mut r = registry(true);
    if let Some(m) = r.models.get_mut("primary") {
        m.fallback = None;
    }
    v.inference()
        .put_registry(&r, None)
        .await
        .expect("registry");
    let t = token(
        &v,
        invoke("llm/*"),
        LlmLimits {
            daily: Some(1),
            ..LlmLimits::default()
        },
    )
    .await;
    for _ in 0..3 {
        let e = t
            .inference()
            .chat(chat("primary", "x"))
            .await
            .expect_err("upstream");
        assert_eq!(e.code(), "backend_unavailable");
    }
    // The void calls did not use the one call of the day.
    text_of(admitted(&t, chat("secondary", "ok")).await).await;
    assert!(matches!(
        t.inference()
            .chat(chat("secondary", "again"))
            .await
            .expect("r"),
        Limited::Refused(_)
    ));
}

#[tokio::test]
async fn a_token_bound_to_an_account_counts_in_the_accounts_llm_budget() {
    let (v, _, _) = memory_vault().await;
    let account = svc("acct1");
    let policy: vault_core::PolicyPut = serde_json::from_value(serde_json::json!({
        "policy": {"llm_calls": {"hourly": 3, "daily": 10}}
    }))
    .expect("policy");
    v.guards().put_policy(&account, policy).await.expect("put");
    let t = token(
        &v,
        invoke("llm/*"),
        LlmLimits {
            account: Some(account.clone()),
            ..LlmLimits::default()
        },
    )
    .await;
    text_of(admitted(&t, chat("mock-echo", "one")).await).await;
    assert!(
        v.guards()
            .admit_llm_call(&account, None)
            .await
            .expect("a")
            .admitted
    );
    text_of(admitted(&t, chat("mock-echo", "three")).await).await;
    let windows = v.guards().llm_budget(&account).await.expect("windows");
    assert_eq!(
        windows[0].used, 3,
        "one usage log: gateway and guards calls"
    );
    let Limited::Refused(r) = t.inference().chat(chat("mock-echo", "x")).await.expect("r") else {
        panic!("admitted past the account's hourly budget");
    };
    assert_eq!((r.scope.as_str(), r.limit.as_str()), ("account", "hourly"));
}

#[tokio::test]
async fn prompts_and_completions_reach_neither_audit_nor_store() {
    let (v, _, store) = memory_vault().await;
    let t = token(&v, invoke("llm/*"), LlmLimits::default()).await;
    text_of(admitted(&t, chat("mock-echo", PROMPT)).await).await;
    let emb = t
        .inference()
        .embed(EmbeddingRequest {
            model: "mock-echo".into(),
            input: vec![PROMPT.into()],
        })
        .await
        .expect("embed");
    assert!(matches!(emb, Limited::Admitted(_)));
    // A cancelled stream: dropped after its first chunk.
    drop(admitted(&t, chat("mock-echo", PROMPT)).await);
    settled(&v).await;
    let entries = v
        .audit()
        .query(vault_core::AuditQuery::default())
        .await
        .expect("audit")
        .items;
    let settles: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e.op == "inference.settle")
        .map(|e| (e.path.as_str(), e.outcome.as_str()))
        .collect();
    assert!(
        settles.contains(&("llm/mock-echo", "completed")),
        "{settles:?}"
    );
    assert!(
        settles.contains(&("llm/mock-echo", "cancelled")),
        "{settles:?}"
    );
    let audit = serde_json::to_string(&entries).expect("json");
    assert!(!audit.contains("PLANTED-PROMPT"));
    for (k, val) in dump(&store).await {
        assert!(!contains(&k, b"PLANTED-PROMPT"));
        assert!(!contains(&val, b"PLANTED-PROMPT"));
    }
}
