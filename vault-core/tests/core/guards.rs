//! Trading guards through the public API: policy, decide-and-claim (every guard, every
//! violation), one execution per proposal and one winner per asset under forced interleavings,
//! overrides, trading states (latched, surviving a restart), the daily loss breaker, and a
//! property test over random sequences.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use vault_core::Clock as _;
use vault_core::crypto::KdfParams;
use vault_core::guards::{Account, Decimal, ExecutionUpdate};
use vault_core::prelude::*;
use vault_core::store::SharedStore;
use vault_core::{
    AuditFilter, AuditQuery, Capability, DecisionOutcome, ExecutionState, ManualClock,
    OverrideCreate, PolicyPut, Proposal, ProposalOrigin, Rule, Side, StateChange, Timestamp,
    TokenCreate, TradingState, Vault,
};

use super::support::{T0, key, memory_vault, read_gated, reopen, svc};

fn acct(s: &str) -> Account {
    svc(s)
}

fn policy(doc: serde_json::Value) -> PolicyPut {
    PolicyPut {
        policy: serde_json::from_value(doc).expect("policy document"),
        comment: None,
        expected_version: None,
    }
}

/// The example policy.
fn example() -> PolicyPut {
    policy(
        json!({"allowlist": ["EUR_USD", "BTC/*"], "max_position_notional":
        {"default": "10000", "per_instrument": {"EUR_USD": "5000"}}, "min_confidence": 0.7,
        "cooldown_s": 3600, "anti_flip_s": 14400, "proposal_ttl_s": 300,
        "max_trades_per_day": 20, "max_daily_loss": "500", "llm_calls": {"hourly": 50,
        "daily": 500}, "max_overrides_per_day": 3}),
    )
}

fn proposal(id: &str, instrument: &str, side: Side, notional: i64) -> Proposal {
    Proposal {
        proposal_id: id.into(),
        instrument: instrument.into(),
        side,
        notional: Decimal::from(notional),
        confidence: 0.9,
        origin: ProposalOrigin::Discretionary,
        expires_at: None,
    }
}

fn rules_of(d: &vault_core::Decision) -> Vec<&str> {
    d.violations.iter().map(|v| v.rule.as_str()).collect()
}

/// `v` as seen by a new token allowed `capabilities` on `guards/**`.
async fn scoped(v: &Vault, capabilities: Vec<Capability>) -> Vault {
    let created = v
        .tokens()
        .create(TokenCreate {
            name: "trader".into(),
            rules: vec![Rule {
                path: "guards/**".into(),
                capabilities,
            }],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    v.with_token(created.token.expose_secret())
        .await
        .expect("with_token")
}

#[tokio::test]
async fn empty_allowlist_denies_and_an_allowlisted_instrument_is_claimed() {
    let (v, _, _) = memory_vault().await;
    let a = acct("acct1");
    // No policy at all: the empty allowlist.
    let d = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert_eq!(d.outcome, DecisionOutcome::Denied);
    assert_eq!(rules_of(&d), ["NOT_ALLOWLISTED", "POSITION_LIMIT_EXCEEDED"]);
    assert!(d.execution.is_none());
    // An explicit empty allowlist too.
    v.guards()
        .put_policy(&a, policy(json!({"allowlist": []})))
        .await
        .expect("policy");
    let d = v
        .guards()
        .decide(&a, proposal("p2", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(rules_of(&d).contains(&"NOT_ALLOWLISTED"));
    let written = v.guards().put_policy(&a, example()).await.expect("policy");
    let d = v
        .guards()
        .decide(&a, proposal("p3", "eur-usd", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(d.allowed(), "{:?}", d.violations);
    let e = d.execution.expect("execution");
    assert_eq!(e.state, ExecutionState::Claimed);
    assert_eq!(e.instrument, "EUR/USD");
    assert_eq!(e.policy_hash, written.policy_hash);
    assert_eq!(d.policy_hash, written.policy_hash);
    assert!(e.execution_id.starts_with("ex_"));
    // A wildcard admits any quote of its base; nothing else.
    let d = v
        .guards()
        .decide(&a, proposal("p4", "BTC/USDT", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(d.allowed(), "{:?}", d.violations);
    let d = v
        .guards()
        .decide(&a, proposal("p5", "ETH/USDT", Side::Buy, 100))
        .await
        .expect("decide");
    assert_eq!(rules_of(&d), ["NOT_ALLOWLISTED"]);
}

#[tokio::test]
async fn a_second_claim_returns_the_first_decision_and_other_fields_are_a_mismatch() {
    let (v, clock, _) = memory_vault().await;
    let a = acct("acct1");
    v.guards().put_policy(&a, example()).await.expect("policy");
    let first = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(first.allowed());
    clock.advance(Duration::from_secs(10));
    let again = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide again");
    assert_eq!(again.outcome, DecisionOutcome::AlreadyExecuted);
    assert_eq!(again.execution, first.execution);
    let e = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Sell, 100))
        .await
        .expect_err("other side");
    assert_eq!(e.code(), "proposal_mismatch", "{e}");
    assert_eq!(e.http_status(), 422);
    assert_eq!(executions_of(&v).await.len(), 1);
}

/// A vault on a memory store whose account `acct1` may trade `BTC/*` (large limits), and the
/// store.
async fn btc_vault() -> (Vault, SharedStore) {
    let (v, _, store) = memory_vault().await;
    v.guards()
        .put_policy(
            &acct("acct1"),
            policy(
                json!({"allowlist": ["BTC/*"], "max_position_notional": {"default": "1000000"}}),
            ),
        )
        .await
        .expect("policy");
    (v, store)
}

/// Every execution of `acct1`.
async fn executions_of(v: &Vault) -> Vec<vault_core::Execution> {
    v.guards()
        .executions(&acct("acct1"), vault_core::PageRequest::default())
        .await
        .expect("executions")
        .items
}

/// 64 decisions of proposal `once`, spread over `servers` in turn, all at once: how many were
/// allowed (the others must have got the claim back as already executed).
async fn sixty_four_claims_of_one_proposal(servers: &[Vault]) -> usize {
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let v = servers[i % servers.len()].clone();
            tokio::spawn(async move {
                v.guards()
                    .decide(&acct("acct1"), proposal("once", "BTC/USDT", Side::Buy, 10))
                    .await
            })
        })
        .collect();
    let mut allowed = 0;
    for t in tasks {
        let d = t.await.expect("join").expect("decide");
        match d.outcome {
            DecisionOutcome::Allowed => allowed += 1,
            DecisionOutcome::AlreadyExecuted => {}
            DecisionOutcome::Denied => panic!("denied: {:?}", d.violations),
        }
    }
    allowed
}

/// 64 decisions of one proposal in one vault, every one reading before any commits: exactly
/// one claim, the other 63 get it back as already executed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_claims_of_one_proposal_make_one_execution() {
    let (v, store) = btc_vault().await;
    let gated = read_gated(&store, b"grd/s/acct1/a/BTC", 64).await;
    assert_eq!(sixty_four_claims_of_one_proposal(&[gated]).await, 1);
    assert_eq!(executions_of(&v).await.len(), 1);
}

/// The same over two vaults on one store (two servers on one database): 32 on each, all 64
/// reading before any commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn claims_of_one_proposal_spread_over_two_servers_make_one_execution() {
    let (v, store) = btc_vault().await;
    let gate: SharedStore = Arc::new(vault_core::store::testing::ReadGateStore::new(
        store.clone(),
        b"grd/s/acct1/a/BTC",
        64,
    ));
    let servers = [reopen(&gate).await, reopen(&gate).await];
    assert_eq!(sixty_four_claims_of_one_proposal(&servers).await, 1);
    assert_eq!(executions_of(&v).await.len(), 1);
}

/// A vault keeps the policy and asset records it opened or wrote (to save opening them again),
/// but never past a change another vault on the same store made: another server forgetting
/// the claim (rejected) lets the next proposal through the cooldown, and another server's new
/// policy (allowing ETH, which the first did not) is the one in force at the next decision,
/// with its hash.
#[tokio::test]
async fn what_another_server_wrote_is_what_the_next_decision_reads() {
    let store: SharedStore = Arc::new(vault_core::store::MemoryStore::new());
    let (a, b) = (reopen(&store).await, reopen(&store).await);
    let acct1 = acct("acct1");
    a.guards()
        .put_policy(&acct1, example())
        .await
        .expect("policy");
    let first = a
        .guards()
        .decide(&acct1, proposal("p1", "BTC/USDT", Side::Buy, 100))
        .await
        .expect("decide");
    let id = first.execution.expect("claimed").execution_id;
    let update = ExecutionUpdate {
        state: ExecutionState::Rejected,
        fill: None,
        realized_pnl: None,
    };
    b.guards()
        .update_execution(&acct1, &id, update)
        .await
        .expect("rejected through the other server");
    let d = a
        .guards()
        .decide(&acct1, proposal("p2", "BTC/USDT", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(
        d.allowed(),
        "the rejected claim no longer counts: {:?}",
        d.violations
    );

    let eth_only =
        policy(json!({"allowlist": ["ETH/*"], "max_position_notional": {"default": "1000000"}}));
    let written = b
        .guards()
        .put_policy(&acct1, eth_only)
        .await
        .expect("policy");
    let d = a
        .guards()
        .decide(&acct1, proposal("p3", "ETH/USDT", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(
        d.allowed(),
        "the other server's policy allows ETH: {:?}",
        d.violations
    );
    assert_eq!(d.policy_hash, written.policy_hash);
}

/// Two different proposals on one asset, both reading the asset before either commits: one
/// wins, the other is judged on the winner's claim (cooldown), never both.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_proposals_on_one_asset_never_both_pass() {
    let (_, store) = btc_vault().await;
    let gated = read_gated(&store, b"grd/s/acct1/a/BTC", 2).await;
    let tasks: Vec<_> = [("p1", "BTC/USDT"), ("p2", "BTC/USDC")]
        .into_iter()
        .map(|(id, inst)| {
            let v = gated.clone();
            tokio::spawn(async move {
                v.guards()
                    .decide(&acct("acct1"), proposal(id, inst, Side::Buy, 10))
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        let d = t.await.expect("join").expect("decide");
        outcomes.push((d.outcome, rules_of(&d).join(",")));
    }
    outcomes.sort_by_key(|(o, _)| format!("{o:?}"));
    assert_eq!(
        outcomes,
        [
            (DecisionOutcome::Allowed, String::new()),
            (DecisionOutcome::Denied, "COOLDOWN_ACTIVE".to_string())
        ]
    );
}

#[tokio::test]
async fn cooldown_rejects_then_passes_after_the_window_and_anti_flip_guards_the_other_side() {
    let (v, clock, _) = memory_vault().await;
    let a = acct("acct1");
    v.guards().put_policy(&a, example()).await.expect("policy");
    assert!(
        v.guards()
            .decide(&a, proposal("p1", "BTC/USDT", Side::Buy, 100))
            .await
            .expect("decide")
            .allowed()
    );
    clock.advance(Duration::from_secs(600));
    let d = v
        .guards()
        .decide(&a, proposal("p2", "BTC/USDC", Side::Buy, 100))
        .await
        .expect("decide");
    assert_eq!(rules_of(&d), ["COOLDOWN_ACTIVE"]);
    assert_eq!(d.violations[0].details["remaining_s"], 3000);
    // After the cooldown, the same side passes; the other side is still a flip.
    clock.advance(Duration::from_secs(3000));
    let d = v
        .guards()
        .decide(&a, proposal("p3", "BTC/USDT", Side::Sell, 100))
        .await
        .expect("decide");
    assert_eq!(rules_of(&d), ["ANTI_FLIP_ACTIVE"]);
    assert_eq!(d.violations[0].details["last_side"], "buy");
    assert_eq!(d.violations[0].details["remaining_s"], 3 * 3600);
    let d = v
        .guards()
        .decide(&a, proposal("p4", "BTC/USDT", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(d.allowed(), "{:?}", d.violations);
    // A risk exit (reduce-only) passes cooldown and anti-flip, from a caller allowed to say so.
    let exit = Proposal {
        origin: ProposalOrigin::RiskExit,
        confidence: 0.1,
        ..proposal("p5", "BTC/USDT", Side::Sell, 200)
    };
    let trader = scoped(&v, vec![Capability::Execute, Capability::Read]).await;
    let e = trader
        .guards()
        .decide(&a, exit.clone())
        .await
        .expect_err("a risk exit from a plain trader");
    assert_eq!(e.code(), "forbidden", "{e}");
    let d = v.guards().decide(&a, exit).await.expect("risk exit");
    assert!(d.allowed(), "{:?}", d.violations);
}

#[tokio::test]
async fn an_override_lets_one_proposal_through_once_and_is_audited() {
    let (v, clock, _) = memory_vault().await;
    let a = acct("acct1");
    let written = v.guards().put_policy(&a, example()).await.expect("policy");
    v.guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    clock.advance(Duration::from_secs(60));
    let trader = scoped(&v, vec![Capability::Execute, Capability::Read]).await;
    let e = trader
        .guards()
        .create_override(
            &a,
            OverrideCreate {
                proposal_id: "p2".into(),
                rules: vec!["cooldown".into()],
                reason: "operator approved the re-entry".into(),
            },
        )
        .await
        .expect_err("no override capability");
    assert_eq!(e.code(), "forbidden");
    let bad = v
        .guards()
        .create_override(
            &a,
            OverrideCreate {
                proposal_id: "p2".into(),
                rules: vec!["NOT_ALLOWLISTED".into()],
                reason: "operator approved the re-entry".into(),
            },
        )
        .await
        .expect_err("not overridable");
    assert_eq!(bad.field(), Some("rules[0]"));
    let short = v
        .guards()
        .create_override(
            &a,
            OverrideCreate {
                proposal_id: "p2".into(),
                rules: vec!["cooldown".into()],
                reason: "because".into(),
            },
        )
        .await
        .expect_err("short reason");
    assert_eq!(short.field(), Some("reason"));
    let o = v
        .guards()
        .create_override(
            &a,
            OverrideCreate {
                proposal_id: "p2".into(),
                rules: vec!["cooldown".into()],
                reason: "operator approved the re-entry".into(),
            },
        )
        .await
        .expect("override");
    assert_eq!(o.policy_hash, written.policy_hash, "the policy in force");
    let d = trader
        .guards()
        .decide(&a, proposal("p2", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(d.allowed(), "{:?}", d.violations);
    let e = d.execution.expect("execution");
    assert_eq!(e.overrides.len(), 1);
    assert_eq!(e.overrides[0].overridden.rule, "COOLDOWN_ACTIVE");
    assert_eq!(e.overrides[0].reason, "operator approved the re-entry");
    // Single use: another proposal still meets the cooldown.
    let d = trader
        .guards()
        .decide(&a, proposal("p3", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert_eq!(rules_of(&d), ["COOLDOWN_ACTIVE"]);
    let audit = v
        .audit()
        .query(AuditQuery {
            filter: AuditFilter {
                path_prefix: Some("guards/acct1/".into()),
                ..AuditFilter::default()
            },
            limit: Some(100),
            after: None,
        })
        .await
        .expect("audit");
    let seen: Vec<(String, String, String)> = audit
        .items
        .iter()
        .map(|e| (e.op.clone(), e.path.clone(), e.outcome.clone()))
        .collect();
    for want in [
        ("guards.override", "guards/acct1/overrides/p2", "ok"),
        ("guards.override", "guards/acct1/overrides/p2", "forbidden"),
        ("guards.decide", "guards/acct1/decide/p2", "ok"),
        ("guards.decide", "guards/acct1/decide/p3", "guard_rejected"),
    ] {
        assert!(
            seen.iter()
                .any(|(o, p, r)| (o.as_str(), p.as_str(), r.as_str()) == want),
            "{want:?} not in {seen:?}"
        );
    }
}

#[tokio::test]
async fn expired_proposals_and_bad_input_are_refused() {
    let (v, _, _) = memory_vault().await;
    let a = acct("acct1");
    v.guards().put_policy(&a, example()).await.expect("policy");
    let late = Proposal {
        expires_at: Some(Timestamp::from_millis(T0 - 1)),
        ..proposal("p1", "EUR_USD", Side::Buy, 100)
    };
    let d = v.guards().decide(&a, late).await.expect("decide");
    assert_eq!(rules_of(&d), ["PROPOSAL_EXPIRED"]);
    for (p, field) in [
        (proposal("", "EUR_USD", Side::Buy, 1), "proposal_id"),
        (proposal("p/../x", "EUR_USD", Side::Buy, 1), "proposal_id"),
        (proposal("p2", "EUR USD", Side::Buy, 1), "instrument"),
        (proposal("p2", "EUR_USD", Side::Buy, 0), "notional"),
        (
            Proposal {
                confidence: f64::NAN,
                ..proposal("p2", "EUR_USD", Side::Buy, 1)
            },
            "confidence",
        ),
        (
            Proposal {
                expires_at: Some(Timestamp::from_millis(T0 + 3_601_000)),
                ..proposal("p2", "EUR_USD", Side::Buy, 1)
            },
            "expires_at",
        ),
    ] {
        let e = v.guards().decide(&a, p).await.expect_err(field);
        assert_eq!(e.field(), Some(field), "{e}");
    }
    assert!(
        executions_of(&v).await.is_empty(),
        "bad input claimed something"
    );
    let e = v
        .guards()
        .put_policy(&a, policy(json!({"allowlist": ["BTC*"]})))
        .await
        .expect_err("bad policy");
    assert_eq!(e.field(), Some("allowlist[0]"));
    assert_eq!(
        v.guards().get_policy(&a, None).await.expect("kept").version,
        1
    );
}

#[tokio::test]
async fn each_decision_carries_the_hash_of_the_policy_in_force_and_policies_diff_and_roll_back() {
    let (v, clock, _) = memory_vault().await;
    let a = acct("acct1");
    let one = v.guards().put_policy(&a, example()).await.expect("v1");
    let d1 = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert_eq!(d1.policy_hash, one.policy_hash);
    let mut second = example();
    second.policy.cooldown_s = 60;
    let two = v.guards().put_policy(&a, second).await.expect("v2");
    assert_ne!(one.policy_hash, two.policy_hash);
    clock.advance(Duration::from_secs(61));
    let d2 = v
        .guards()
        .decide(&a, proposal("p2", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert!(d2.allowed(), "{:?}", d2.violations);
    assert_eq!(d2.execution.expect("e").policy_hash, two.policy_hash);
    // The first execution keeps the hash it was decided under.
    let first = v
        .guards()
        .get_execution(&a, &d1.execution.expect("e").execution_id)
        .await
        .expect("get");
    assert_eq!(first.policy_hash, one.policy_hash);
    let diff = v.guards().diff_policy(&a, 1, 2).await.expect("diff");
    assert_eq!(diff.changes.len(), 1);
    assert_eq!(diff.changes[0].path, "/cooldown_s");
    assert_eq!(diff.changes[0].old, Some(json!(3600)));
    assert_eq!(diff.changes[0].new, Some(json!(60)));
    let back = v
        .guards()
        .rollback_policy(&a, 1, None)
        .await
        .expect("rollback");
    assert_eq!((back.version, &back.policy_hash), (3, &one.policy_hash));
    let got = v.guards().get_policy(&a, None).await.expect("get");
    assert_eq!(got.comment.as_deref(), Some("rollback to version 1"));
    assert_eq!(got.policy.cooldown_s, 3600);
}

#[cfg(feature = "sled")]
#[tokio::test]
async fn a_halted_state_survives_a_restart_and_only_an_operator_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = acct("acct1");
    {
        let (v, _) = Vault::open_dir(dir.path(), Some(key(3)))
            .await
            .expect("open");
        v.guards().put_policy(&a, example()).await.expect("policy");
        let halted = v
            .guards()
            .set_state(
                &a,
                StateChange {
                    state: TradingState::Halted,
                    reason: "kill switch: venue outage".into(),
                },
            )
            .await
            .expect("halt");
        assert_eq!(halted.state, TradingState::Halted);
        assert_eq!(halted.trigger, "manual");
        v.close().await.expect("close");
    }
    let mut reopened = Vault::open_dir(dir.path(), Some(key(3))).await;
    for _ in 0..50 {
        match &reopened {
            Err(e) if e.to_string().contains("in use") => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                reopened = Vault::open_dir(dir.path(), Some(key(3))).await;
            }
            _ => break,
        }
    }
    let (v, _) = reopened.expect("reopen");
    let d = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert_eq!(rules_of(&d), ["TRADING_HALTED"]);
    let trader = scoped(&v, vec![Capability::Execute, Capability::Read]).await;
    let e = trader
        .guards()
        .set_state(
            &a,
            StateChange {
                state: TradingState::Active,
                reason: "resume".into(),
            },
        )
        .await
        .expect_err("not an operator");
    assert_eq!(e.code(), "forbidden");
    let e = v
        .guards()
        .set_state(
            &a,
            StateChange {
                state: TradingState::Active,
                reason: String::new(),
            },
        )
        .await
        .expect_err("no reason");
    assert_eq!(e.field(), Some("reason"));
    let resumed = v
        .guards()
        .set_state(
            &a,
            StateChange {
                state: TradingState::Active,
                reason: "venue back".into(),
            },
        )
        .await
        .expect("resume");
    assert_eq!(resumed.state, TradingState::Active);
    assert!(
        v.guards()
            .decide(&a, proposal("p2", "EUR_USD", Side::Buy, 100))
            .await
            .expect("decide")
            .allowed()
    );
    v.close().await.expect("close");
}

#[tokio::test]
async fn the_global_halt_stops_every_account() {
    let (v, _, _) = memory_vault().await;
    let a = acct("acct1");
    v.guards().put_policy(&a, example()).await.expect("policy");
    v.guards()
        .set_state(
            &acct("global"),
            StateChange {
                state: TradingState::Halted,
                reason: "exchange-wide halt".into(),
            },
        )
        .await
        .expect("halt all");
    let d = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect("decide");
    assert_eq!(rules_of(&d), ["TRADING_HALTED"]);
    // Setting the current state again is a no-op: same record.
    let again = v
        .guards()
        .set_state(
            &acct("global"),
            StateChange {
                state: TradingState::Halted,
                reason: "a different reason".into(),
            },
        )
        .await
        .expect("again");
    assert_eq!(again.reason.as_deref(), Some("exchange-wide halt"));
}

#[tokio::test]
async fn the_daily_loss_trips_reducing_from_reported_fills() {
    let (v, _, _) = memory_vault().await;
    let a = acct("acct1");
    v.guards().put_policy(&a, example()).await.expect("policy");
    let d = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 1000))
        .await
        .expect("decide");
    let id = d.execution.expect("e").execution_id;
    let update = |state, fill: Option<i64>, pnl: Option<i64>| ExecutionUpdate {
        state,
        fill: fill.map(Decimal::from),
        realized_pnl: pnl.map(Decimal::from),
    };
    v.guards()
        .update_execution(&a, &id, update(ExecutionState::Submitted, None, None))
        .await
        .expect("submitted");
    let e = v
        .guards()
        .update_execution(&a, &id, update(ExecutionState::Claimed, None, None))
        .await
        .expect_err("back to claimed");
    assert_eq!(e.code(), "conflict");
    v.guards()
        .update_execution(
            &a,
            &id,
            update(ExecutionState::Filled, Some(1000), Some(-300)),
        )
        .await
        .expect("filled");
    assert_eq!(
        v.guards().get_state(&a).await.expect("state").state,
        TradingState::Active
    );
    let d = v
        .guards()
        .decide(&a, proposal("p2", "EUR_USD", Side::Sell, 1000))
        .await
        .expect("decide");
    // Anti-flip still guards it; the loss report goes through the first execution.
    assert_eq!(rules_of(&d), ["COOLDOWN_ACTIVE", "ANTI_FLIP_ACTIVE"]);
    v.guards()
        .update_execution(&a, &id, update(ExecutionState::Filled, None, Some(-250)))
        .await
        .expect_err("filled is final");
    // A second execution's loss crosses the line.
    let other = v
        .guards()
        .decide(&a, proposal("p3", "BTC/USDT", Side::Buy, 500))
        .await
        .expect("decide")
        .execution
        .expect("e")
        .execution_id;
    v.guards()
        .update_execution(&a, &other, update(ExecutionState::Submitted, None, None))
        .await
        .expect("submitted");
    v.guards()
        .update_execution(
            &a,
            &other,
            update(ExecutionState::Filled, Some(500), Some(-250)),
        )
        .await
        .expect("filled");
    let state = v.guards().get_state(&a).await.expect("state");
    assert_eq!(state.state, TradingState::Reducing);
    assert_eq!(state.trigger, "daily_loss");
    // REDUCING admits a reducing proposal and refuses an opening one.
    let d = v
        .guards()
        .decide(&a, proposal("p4", "ETH/USDT", Side::Buy, 10))
        .await
        .expect("decide");
    assert!(rules_of(&d).contains(&"TRADING_STATE_REDUCING"));
}

/// A tiny deterministic generator (xorshift64*) for the property test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random sequences of proposals (new and repeated ids), fills, cancels and clock moves never
/// give a proposal two executions, never claim against the policy in force (allowlist,
/// confidence, cooldown between discretionary claims on one asset), and never leave a position
/// over its limit.
#[tokio::test]
async fn random_sequences_keep_every_invariant() {
    for seed in 1..=8u64 {
        let store: SharedStore = Arc::new(vault_core::store::MemoryStore::new());
        let clock = ManualClock::new(Timestamp::from_millis(T0));
        let v = Vault::builder()
            .store(store)
            .key(key(1))
            .clock(Arc::new(clock.clone()))
            .kdf(KdfParams::dangerously_cheap_for_tests())
            .open()
            .await
            .expect("open");
        let a = acct("acct1");
        v.guards()
            .put_policy(
                &a,
                policy(json!({"allowlist": ["BTC/*", "EUR_USD"], "cooldown_s": 300,
                    "anti_flip_s": 900, "max_position_notional": {"default": "1000",
                    "per_instrument": {"EUR_USD": "500"}}})),
            )
            .await
            .expect("policy");
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let instruments = ["BTC/USDT", "BTC/USDC", "EUR_USD", "ETH/USDT"];
        let mut claims: Vec<(String, i64, String)> = Vec::new();
        let mut executions: Vec<String> = Vec::new();
        let mut allowed = 0;
        for step in 0..150 {
            match rng.below(10) {
                0..=5 => {
                    let id = format!("p{}", rng.below(40));
                    let inst = instruments[rng.below(4) as usize];
                    let side = if rng.below(2) == 0 {
                        Side::Buy
                    } else {
                        Side::Sell
                    };
                    let p = Proposal {
                        confidence: [0.5, 0.7, 0.95][rng.below(3) as usize],
                        ..proposal(&id, inst, side, 50 * (1 + rng.below(8) as i64))
                    };
                    match v.guards().decide(&a, p.clone()).await {
                        Ok(d) if d.allowed() => {
                            let e = d.execution.expect("execution");
                            assert!(p.confidence >= 0.7, "seed {seed} step {step}");
                            assert!(inst != "ETH/USDT", "seed {seed} step {step}");
                            let now = clock.now().as_millis();
                            if let Some((_, at, _)) =
                                claims.iter().rev().find(|(_, _, asset)| *asset == e.asset)
                            {
                                assert!(
                                    now - at >= 300_000,
                                    "seed {seed} step {step}: claimed inside the cooldown"
                                );
                            }
                            claims.push((e.execution_id.clone(), now, e.asset.clone()));
                            allowed += 1;
                            executions.push(e.execution_id);
                        }
                        Ok(_) => {}
                        Err(e) => assert_eq!(e.code(), "proposal_mismatch", "{e}"),
                    }
                }
                6 | 7 => {
                    if !executions.is_empty() {
                        let id = executions[rng.below(executions.len() as u64) as usize].clone();
                        let state = [
                            ExecutionState::Submitted,
                            ExecutionState::Filled,
                            ExecutionState::Cancelled,
                            ExecutionState::FailedBeforeSubmit,
                        ][rng.below(4) as usize];
                        let updated = v
                            .guards()
                            .update_execution(
                                &a,
                                &id,
                                ExecutionUpdate {
                                    state,
                                    fill: None,
                                    realized_pnl: None,
                                },
                            )
                            .await;
                        // One that no longer counts no longer starts a cooldown.
                        if updated.is_ok_and(|e| !e.state.counts()) {
                            claims.retain(|(c, _, _)| *c != id);
                        }
                    }
                }
                _ => clock.advance(Duration::from_secs(rng.below(400))),
            }
        }
        assert!(
            allowed >= 5,
            "seed {seed}: only {allowed} claims, the test would prove little"
        );
        // One execution per proposal; positions within their limits.
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = v
                .guards()
                .executions(
                    &a,
                    vault_core::PageRequest {
                        limit: Some(100),
                        after: after.clone(),
                    },
                )
                .await
                .expect("executions");
            all.extend(page.items);
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        let mut proposals: Vec<&str> = all.iter().map(|e| e.proposal_id.as_str()).collect();
        proposals.sort_unstable();
        let n = proposals.len();
        proposals.dedup();
        assert_eq!(proposals.len(), n, "seed {seed}: a proposal executed twice");
        let mut positions = std::collections::BTreeMap::<String, Decimal>::new();
        for e in all.iter().filter(|e| e.state.counts()) {
            let s = match e.side {
                Side::Buy => e.notional,
                Side::Sell => -e.notional,
            };
            *positions.entry(e.instrument.clone()).or_default() += s;
        }
        for (inst, p) in positions {
            let max = if inst == "EUR/USD" { 500 } else { 1000 };
            assert!(p.abs() <= Decimal::from(max), "seed {seed}: {inst} at {p}");
        }
    }
}

fn budget_policy(hourly: u32, daily: u32, window: &str) -> PolicyPut {
    policy(json!({"llm_calls": {"hourly": hourly, "daily": daily, "window": window}}))
}

#[tokio::test]
async fn llm_budgets_refuse_at_the_cap_and_say_which_window_and_when_it_resets() {
    let (v, clock, _) = memory_vault().await;
    let a = acct("acct1");
    v.guards()
        .put_policy(&a, budget_policy(2, 3, "calendar"))
        .await
        .expect("policy");
    // T0 is 09:00:00 UTC: the hour resets at 10:00, the day at midnight.
    for i in 1..=2 {
        let ok = v
            .guards()
            .admit_llm_call(&a, Some("gpt-4o-mini".into()))
            .await
            .expect("admit");
        assert!(ok.admitted);
        assert_eq!(ok.windows[0].used, i);
    }
    let refused = v.guards().admit_llm_call(&a, None).await.expect("refused");
    assert!(!refused.admitted);
    let w = refused.exhausted_window().expect("window");
    assert_eq!((w.window.as_str(), w.limit), ("hourly", 2));
    assert_eq!(w.resets_at, Timestamp::from_millis(T0 + 3_600_000));
    // The next hour admits one more, then the day is spent.
    clock.advance(Duration::from_secs(3600));
    assert!(
        v.guards()
            .admit_llm_call(&a, None)
            .await
            .expect("admit")
            .admitted
    );
    let refused = v.guards().admit_llm_call(&a, None).await.expect("refused");
    let w = refused.exhausted_window().expect("window");
    assert_eq!((w.window.as_str(), w.limit, w.used), ("daily", 3, 3));
    assert_eq!(w.resets_at, Timestamp::from_millis(T0 + 15 * 3_600_000));
    // Raising the cap applies at once to the current window.
    v.guards()
        .put_policy(&a, budget_policy(10, 10, "calendar"))
        .await
        .expect("policy");
    assert!(
        v.guards()
            .admit_llm_call(&a, None)
            .await
            .expect("admit")
            .admitted
    );
    let windows = v.guards().llm_budget(&a).await.expect("windows");
    assert_eq!((windows[0].used, windows[1].used), (2, 4));
    let e = v
        .guards()
        .admit_llm_call(&a, Some("a model".into()))
        .await
        .expect_err("bad model");
    assert_eq!(e.field(), Some("model"));
}

#[tokio::test]
async fn a_rolling_window_frees_its_oldest_call_first() {
    let (v, clock, _) = memory_vault().await;
    let a = acct("acct1");
    v.guards()
        .put_policy(&a, budget_policy(2, 100, "rolling"))
        .await
        .expect("policy");
    assert!(
        v.guards()
            .admit_llm_call(&a, None)
            .await
            .expect("1")
            .admitted
    );
    clock.advance(Duration::from_secs(1800));
    assert!(
        v.guards()
            .admit_llm_call(&a, None)
            .await
            .expect("2")
            .admitted
    );
    let refused = v.guards().admit_llm_call(&a, None).await.expect("3");
    assert!(!refused.admitted);
    assert_eq!(
        refused.exhausted_window().expect("window").resets_at,
        Timestamp::from_millis(T0 + 3_600_000)
    );
    clock.advance(Duration::from_secs(1800));
    assert!(
        v.guards()
            .admit_llm_call(&a, None)
            .await
            .expect("4")
            .admitted
    );
}

/// Eight admissions with one call left, every one counting the usage log before any commits:
/// exactly one is admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_admissions_at_the_cap_admit_exactly_one() {
    let (v, clock, store) = memory_vault().await;
    let a = acct("acct1");
    v.guards()
        .put_policy(&a, budget_policy(3, 100, "calendar"))
        .await
        .expect("policy");
    for _ in 0..2 {
        assert!(
            v.guards()
                .admit_llm_call(&a, None)
                .await
                .expect("admit")
                .admitted
        );
    }
    // The same clock: the windows are the ones the first two calls were counted in.
    let gated = Vault::builder()
        .store(Arc::new(vault_core::store::testing::ReadGateStore::new(
            store.clone(),
            b"grd/u/acct1/",
            8,
        )))
        .key(key(1))
        .clock(Arc::new(clock.clone()))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let v = gated.clone();
            tokio::spawn(async move { v.guards().admit_llm_call(&acct("acct1"), None).await })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        let r = t.await.expect("join").expect("admit");
        eprintln!("DBG {} {:?}", r.admitted, r.windows[0]);
        if r.admitted {
            admitted += 1;
        }
    }
    assert_eq!(admitted, 1);
    assert_eq!(v.guards().llm_budget(&a).await.expect("windows")[0].used, 3);
}

/// Decisions on different assets queued behind one in flight are made as one store commit:
/// they all read (condition on) the account's policy and trading states, which none of them
/// writes, so they commute.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn decisions_on_different_assets_share_one_store_commit() {
    let (v, _, store) = memory_vault().await;
    let a = acct("acct1");
    let allowlist: Vec<String> = (0..9).map(|i| format!("C{i}/*")).collect();
    v.guards()
        .put_policy(
            &a,
            policy(json!({"allowlist": allowlist, "max_position_notional": {"default": "1000"}})),
        )
        .await
        .expect("policy");
    let holding = Arc::new(vault_core::store::testing::HoldingStore::new(store.clone()));
    let held = reopen(&(holding.clone() as SharedStore)).await;
    held.close().await.expect("stop the flusher");
    let spawn = |i: usize| {
        let v = held.clone();
        tokio::spawn(async move {
            v.guards()
                .decide(
                    &acct("acct1"),
                    proposal(&format!("p{i}"), &format!("C{i}/USD"), Side::Buy, 10),
                )
                .await
        })
    };
    let hold = holding.hold();
    let first = spawn(0);
    hold.arrived().await;
    let tasks: Vec<_> = (1..9).map(spawn).collect();
    while held.queued_commits_for_tests() < 8 {
        tokio::task::yield_now().await;
    }
    hold.release();
    assert!(first.await.expect("join").expect("decide").allowed());
    for t in tasks {
        let d = t.await.expect("join").expect("decide");
        assert!(d.allowed(), "{:?}", d.violations);
    }
    let claims: Vec<(usize, bool)> = holding
        .log()
        .iter()
        .filter(|c| c.writes_under(b"grd/s/acct1/e/"))
        .map(|c| {
            let n = c
                .keys
                .iter()
                .filter(|k| k.starts_with(b"grd/s/acct1/e/"))
                .count();
            (n, c.applied)
        })
        .collect();
    assert_eq!(claims, [(1, true), (8, true)]);
}

#[tokio::test]
async fn stored_proposals_are_decided_once_and_the_sweep_expires_the_rest() {
    let (v, clock, _) = memory_vault().await;
    let a = acct("acct1");
    v.guards().put_policy(&a, example()).await.expect("policy");
    let model = scoped(&v, vec![Capability::Propose]).await;
    let p = model
        .guards()
        .propose(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect("propose");
    assert_eq!(p.state, vault_core::ProposalState::Pending);
    assert_eq!(p.instrument, "EUR/USD");
    assert_eq!(p.expires_at, Timestamp::from_millis(T0 + 300_000));
    // Proposing is not deciding: the model's token cannot claim.
    let e = model
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
        .await
        .expect_err("no execute");
    assert_eq!(e.code(), "forbidden");
    let exit = Proposal {
        origin: ProposalOrigin::RiskExit,
        ..proposal("p9", "EUR_USD", Side::Sell, 100)
    };
    let e = model
        .guards()
        .propose(&a, exit)
        .await
        .expect_err("risk exit");
    assert_eq!(e.code(), "forbidden");
    // Decided by the engine with the same fields: claimed, and the proposal is decided.
    let e = v
        .guards()
        .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 200))
        .await
        .expect_err("other notional");
    assert_eq!(e.code(), "proposal_mismatch");
    assert!(
        v.guards()
            .decide(&a, proposal("p1", "EUR_USD", Side::Buy, 100))
            .await
            .expect("decide")
            .allowed()
    );
    // One left pending past its expiry: the sweep marks it, and a decision of it is denied.
    model
        .guards()
        .propose(&a, proposal("p2", "BTC/USDT", Side::Buy, 100))
        .await
        .expect("propose");
    clock.advance(Duration::from_secs(299));
    assert_eq!(v.guards().expire_proposals(&a).await.expect("sweep"), 0);
    clock.advance(Duration::from_secs(1));
    assert_eq!(v.guards().expire_proposals(&a).await.expect("sweep"), 1);
    assert_eq!(v.guards().expire_proposals(&a).await.expect("sweep"), 0);
    let listed = v
        .guards()
        .proposals(&a, vault_core::PageRequest::default())
        .await
        .expect("list")
        .items;
    let states: Vec<(&str, vault_core::ProposalState)> = listed
        .iter()
        .map(|p| (p.proposal_id.as_str(), p.state))
        .collect();
    assert_eq!(
        states,
        [
            ("p1", vault_core::ProposalState::Decided),
            ("p2", vault_core::ProposalState::Expired)
        ]
    );
    let d = v
        .guards()
        .decide(&a, proposal("p2", "BTC/USDT", Side::Buy, 100))
        .await
        .expect("decide");
    assert_eq!(rules_of(&d), ["PROPOSAL_EXPIRED"]);
}
