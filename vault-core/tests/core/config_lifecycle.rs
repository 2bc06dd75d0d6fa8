//! Config lifecycle: who/when/comment per version, typed validation, delete keeping history,
//! and watching a service's configs for changes.

use std::time::Duration;

use serde_json::json;
use vault_core::configs::{MAX_COMMENT_BYTES, WATCH_MAX_CHANGES};
use vault_core::prelude::*;
use vault_core::{
    Action, Capability, ConfigPut, ConfigRollback, PageRequest, Rule, StrategyId, TokenCreate,
    Vault,
};

use super::support::{interleaved, memory_vault, sid, svc};

fn put(id: &str, params: serde_json::Value) -> ConfigPut {
    ConfigPut {
        params: params.as_object().cloned(),
        ..ConfigPut::new(sid(id))
    }
}

async fn token(v: &Vault, name: &str, rules: &[(&str, &[Capability])]) -> (Vault, String) {
    let created = v
        .tokens()
        .create(TokenCreate {
            name: name.into(),
            rules: rules
                .iter()
                .map(|(path, caps)| Rule {
                    path: (*path).into(),
                    capabilities: caps.to_vec(),
                })
                .collect(),
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("token");
    let id = created.info.id.clone();
    (
        v.with_token(created.token.expose_secret())
            .await
            .expect("with_token"),
        id,
    )
}

/// The (strategy id, version) of each change a watch reported, in order.
fn changed(w: &vault_core::ConfigWatch) -> Vec<(&str, u64)> {
    w.changes
        .iter()
        .map(|c| (c.strategy_id.as_str(), c.version))
        .collect()
}

/// A 60 s watch of `fx` by `watcher` from `since`, spawned, returned once `observer` (the same
/// vault, or the one the token was made on) counts it among its waiting watches.
async fn park(
    watcher: &Vault,
    observer: &Vault,
    since: Option<u64>,
) -> tokio::task::JoinHandle<vault_core::Result<vault_core::ConfigWatch>> {
    let before = observer.config_watchers_for_tests();
    let w = watcher.clone();
    let handle = tokio::spawn(async move {
        w.configs()
            .watch(&svc("fx"), since, Duration::from_secs(60))
            .await
    });
    while observer.config_watchers_for_tests() == before {
        tokio::task::yield_now().await;
    }
    handle
}

#[tokio::test]
async fn each_version_records_who_wrote_it_when_and_why() {
    let (v, clock, _) = memory_vault().await;
    let s = svc("fx");
    let mut p = put("x", json!({"fast": 12}));
    p.comment = Some("first cut\n\twith a tab".into());
    v.configs().put(&s, p).await.expect("v1");
    clock.advance(Duration::from_secs(60));
    let (tok, tok_id) = token(
        &v,
        "deployer",
        &[("configs/fx/*", &[Capability::Write, Capability::Read])],
    )
    .await;
    tok.configs()
        .put(&s, put("x", json!({"fast": 10})))
        .await
        .expect("v2");
    v.configs()
        .rollback(&s, &sid("x"), ConfigRollback::to(1))
        .await
        .expect("v3");
    v.configs()
        .rollback(
            &s,
            &sid("x"),
            ConfigRollback {
                comment: Some("back to the faster one".into()),
                ..ConfigRollback::to(2)
            },
        )
        .await
        .expect("v4");

    let history = v
        .configs()
        .history(&s, &sid("x"), None, None)
        .await
        .expect("history");
    let seen: Vec<(u64, String, String, Option<String>)> = history
        .versions
        .iter()
        .map(|c| {
            let by = c.changed_by.clone().expect("who");
            (c.version, by.id, by.name, c.comment.clone())
        })
        .collect();
    assert_eq!(
        seen,
        [
            (
                4,
                "embedded".into(),
                "embedded".into(),
                Some("back to the faster one".into())
            ),
            (
                3,
                "embedded".into(),
                "embedded".into(),
                Some("rollback to version 1".into())
            ),
            (2, tok_id.clone(), "deployer".into(), None),
            (
                1,
                "embedded".into(),
                "embedded".into(),
                Some("first cut\n\twith a tab".into())
            ),
        ]
    );
    let v1 = v.configs().get(&s, &sid("x"), Some(1)).await.expect("v1");
    let v2 = v.configs().get(&s, &sid("x"), Some(2)).await.expect("v2");
    assert_eq!(
        v2.updated_at.as_millis() - v1.updated_at.as_millis(),
        60_000,
        "when: each version's own time"
    );
}

#[tokio::test]
async fn bad_comments_are_refused_and_change_nothing() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    for (comment, why) in [
        ("x".repeat(MAX_COMMENT_BYTES + 1), "at most"),
        ("bell \u{7}".to_string(), "control"),
        ("nul \0".to_string(), "control"),
    ] {
        let mut p = put("x", json!({}));
        p.comment = Some(comment);
        let e = v.configs().put(&s, p).await.expect_err("refused");
        assert_eq!((e.code(), e.field()), ("invalid", Some("comment")), "{e}");
        assert!(e.to_string().contains(why), "{e}");
    }
    let mut p = put("x", json!({}));
    p.comment = Some("x".repeat(MAX_COMMENT_BYTES));
    v.configs().put(&s, p).await.expect("at the limit");
    let e = v
        .configs()
        .rollback(
            &s,
            &sid("x"),
            ConfigRollback {
                comment: Some("\u{1b}[2J".into()),
                ..ConfigRollback::to(1)
            },
        )
        .await
        .expect_err("refused");
    assert_eq!(e.field(), Some("comment"));
    let h = v
        .configs()
        .history(&s, &sid("x"), None, None)
        .await
        .expect("history");
    assert_eq!(h.versions.len(), 1, "nothing written by the refused calls");
}

#[tokio::test]
async fn symbols_must_not_repeat_and_known_risk_limits_are_typed_and_ranged() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    let mut dup = ConfigPut::new(sid("x"));
    dup.symbols = Some(vec!["EUR_USD".into(), "GBP_USD".into(), "EUR_USD".into()]);
    let e = v.configs().put(&s, dup).await.expect_err("duplicate");
    assert_eq!(e.field(), Some("symbols[2]"));
    assert!(e.to_string().contains("symbols[0]"), "{e}");

    let refused = [
        (
            json!({"max_position_size": -1}),
            "risk_limits.max_position_size",
        ),
        (
            json!({"max_position_size": "10"}),
            "risk_limits.max_position_size",
        ),
        (json!({"max_daily_loss": 1.5}), "risk_limits.max_daily_loss"),
        (
            json!({"max_daily_loss": -0.01}),
            "risk_limits.max_daily_loss",
        ),
        (
            json!({"max_daily_loss": null}),
            "risk_limits.max_daily_loss",
        ),
        (
            json!({"max_trades_per_day": 2.5}),
            "risk_limits.max_trades_per_day",
        ),
        (
            json!({"max_trades_per_day": -1}),
            "risk_limits.max_trades_per_day",
        ),
        (
            json!({"max_trades_per_day": "3"}),
            "risk_limits.max_trades_per_day",
        ),
    ];
    for (limits, field) in refused {
        let mut p = ConfigPut::new(sid("x"));
        p.risk_limits = limits.as_object().cloned();
        let e = v.configs().put(&s, p).await.expect_err("refused");
        assert_eq!(
            (e.code(), e.field()),
            ("invalid", Some(field)),
            "{limits}: {e}"
        );
    }
    let e = v
        .configs()
        .get(&s, &sid("x"), None)
        .await
        .expect_err("nothing written");
    assert_eq!(e.code(), "not_found");

    for limits in [
        json!({"max_position_size": 0, "max_daily_loss": 0, "max_trades_per_day": 0}),
        json!({"max_position_size": 1e6, "max_daily_loss": 1, "max_trades_per_day": 40}),
        json!({"max_daily_loss": 0.05, "custom_limit": "anything", "max_leverage": -3}),
    ] {
        let mut p = ConfigPut::new(sid("x"));
        p.risk_limits = limits.as_object().cloned();
        p.symbols = Some(vec!["EUR_USD".into(), "eur_usd".into()]);
        v.configs().put(&s, p).await.expect("accepted");
    }
}

#[tokio::test]
async fn a_delete_keeps_the_history_and_a_put_or_a_rollback_brings_the_config_back() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs()
        .put(&s, put("x", json!({"fast": 12})))
        .await
        .expect("v1");
    v.configs()
        .put(&s, put("x", json!({"fast": 10})))
        .await
        .expect("v2");
    v.configs().put(&s, put("y", json!({}))).await.expect("y");

    let e = v
        .configs()
        .delete(&s, &sid("x"), Some(1))
        .await
        .expect_err("stale");
    assert_eq!(e.code(), "conflict");
    let (writer, _) = token(
        &v,
        "writer",
        &[("configs/fx/*", &[Capability::Write, Capability::Read])],
    )
    .await;
    let e = writer
        .configs()
        .delete(&s, &sid("x"), None)
        .await
        .expect_err("no delete");
    assert_eq!(e.code(), "forbidden");

    let w = v
        .configs()
        .delete(&s, &sid("x"), Some(2))
        .await
        .expect("delete");
    assert_eq!((w.action, w.version), (Action::Deleted, 3));
    let e = v
        .configs()
        .get(&s, &sid("x"), None)
        .await
        .expect_err("deleted");
    assert_eq!(e.code(), "not_found");
    assert!(e.to_string().contains("deleted (version 3)"), "{e}");
    let old = v
        .configs()
        .get(&s, &sid("x"), Some(2))
        .await
        .expect("history readable");
    assert_eq!(
        (old.params["fast"].clone(), old.deleted),
        (json!(10), false)
    );
    let tomb = v
        .configs()
        .get(&s, &sid("x"), Some(3))
        .await
        .expect("the delete");
    assert!(tomb.deleted);
    let listed = v
        .configs()
        .list(&s, PageRequest::first())
        .await
        .expect("list");
    let ids: Vec<&str> = listed.iter().map(|c| c.strategy_id.as_str()).collect();
    assert_eq!(ids, ["y"], "a deleted config leaves the listing");
    let h = v
        .configs()
        .history(&s, &sid("x"), None, None)
        .await
        .expect("history");
    let versions: Vec<(u64, bool)> = h.versions.iter().map(|c| (c.version, c.deleted)).collect();
    assert_eq!(versions, [(3, true), (2, false), (1, false)]);
    let d = v.configs().diff(&s, &sid("x"), 2, 3).await.expect("diff");
    let d = serde_json::to_value(&d.changes).expect("json");
    assert_eq!(
        d,
        json!([{"op": "replace", "path": "/deleted", "old": false, "new": true}])
    );

    let e = v
        .configs()
        .delete(&s, &sid("x"), None)
        .await
        .expect_err("again");
    assert_eq!(e.code(), "not_found");
    // Back by a rollback: version 4 with version 1's content.
    let w = v
        .configs()
        .rollback(&s, &sid("x"), ConfigRollback::to(1))
        .await
        .expect("back");
    assert_eq!((w.action, w.version), (Action::Created, 4));
    let got = v.configs().get(&s, &sid("x"), None).await.expect("back");
    assert_eq!(got.params["fast"], json!(12));

    // Deleted again, then back by a put that expects "absent": from the defaults, not from
    // the content the delete kept.
    v.configs()
        .delete(&s, &sid("x"), None)
        .await
        .expect("delete again");
    let mut p = ConfigPut::new(sid("x"));
    p.expected_version = Some(0);
    let w = v.configs().put(&s, p).await.expect("recreate");
    assert_eq!((w.action, w.version), (Action::Created, 6));
    let got = v
        .configs()
        .get(&s, &sid("x"), None)
        .await
        .expect("recreated");
    assert!(got.params.is_empty() && got.enabled);
}

/// Forced interleaving: two writers of two different configs of one service both read
/// before either commits, each with compare-and-set on its own config. Only the service's
/// revision counter is contended: the loser must retry, not report a conflict on a config
/// nobody else touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compare_and_set_is_not_lost_to_a_write_of_another_config_of_the_service() {
    let (v, _, store) = memory_vault().await;
    let s = svc("fx");
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    v.configs().put(&s, put("y", json!({}))).await.expect("y");
    let racing = interleaved(&store, 2).await;
    let mut tasks = Vec::new();
    for (v, id) in racing.into_iter().zip(["x", "y"]) {
        tasks.push(tokio::spawn(async move {
            let mut p = put(id, json!({"fast": 1}));
            p.expected_version = Some(1);
            v.configs().put(&svc("fx"), p).await
        }));
    }
    for t in tasks {
        let w = t.await.expect("join").expect("both land");
        assert_eq!(w.version, 2);
    }
    let listed = v
        .configs()
        .list(&s, PageRequest::first())
        .await
        .expect("list");
    assert_eq!(listed.revision, Some(4), "one revision per write");
}

#[tokio::test]
async fn every_get_and_list_carries_the_services_revision() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    let empty = v
        .configs()
        .list(&s, PageRequest::first())
        .await
        .expect("list");
    assert_eq!(empty.revision, Some(0));
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    v.configs()
        .put(&svc("other"), put("x", json!({})))
        .await
        .expect("other service");
    v.configs().put(&s, put("y", json!({}))).await.expect("y");
    let got = v.configs().get(&s, &sid("x"), None).await.expect("get");
    assert_eq!(got.revision, 2, "the service's revision, not the config's");
    let old = v
        .configs()
        .get(&s, &sid("x"), Some(1))
        .await
        .expect("get v1");
    assert_eq!(old.revision, 2);
    let listed = v
        .configs()
        .list(&s, PageRequest::first())
        .await
        .expect("list");
    assert_eq!(listed.revision, Some(2));
    assert!(listed.iter().all(|c| c.revision == 2));
}

#[tokio::test]
async fn a_watch_returns_at_once_what_changed_after_since_and_times_out_empty() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    v.configs().put(&s, put("y", json!({}))).await.expect("y");
    let since = v
        .configs()
        .get(&s, &sid("x"), None)
        .await
        .expect("get")
        .revision;
    v.configs()
        .put(&s, put("y", json!({"a": 1})))
        .await
        .expect("y2");
    v.configs().put(&s, put("z", json!({}))).await.expect("z");
    v.configs()
        .put(&s, put("x", json!({"a": 1})))
        .await
        .expect("x2");
    v.configs()
        .delete(&s, &sid("z"), None)
        .await
        .expect("z deleted");

    let w = v
        .configs()
        .watch(&s, Some(since), Duration::from_secs(60))
        .await
        .expect("watch");
    let got: Vec<(&str, u64, bool)> = w
        .changes
        .iter()
        .map(|c| (c.strategy_id.as_str(), c.version, c.deleted))
        .collect();
    assert_eq!(
        got,
        [("y", 2, false), ("x", 2, false), ("z", 2, true)],
        "in the order of their last change"
    );
    assert_eq!(w.revision, since + 4);

    let quiet = v
        .configs()
        .watch(&s, Some(w.revision), Duration::from_millis(50))
        .await
        .expect("watch");
    assert!(quiet.changes.is_empty());
    assert_eq!(
        quiet.revision, w.revision,
        "the same revision at the timeout"
    );

    // A revision ahead of the vault (e.g. a restored backup): everything, at once.
    let ahead = v
        .configs()
        .watch(&s, Some(w.revision + 100), Duration::from_secs(60))
        .await
        .expect("watch");
    assert_eq!(ahead.changes.len(), 3);
    assert_eq!(ahead.revision, w.revision);

    let e = v
        .configs()
        .watch(&s, None, Duration::from_secs(61))
        .await
        .expect_err("too long");
    assert_eq!((e.code(), e.field()), ("invalid", Some("timeout")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_watch_wakes_at_the_next_write() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    let watcher = park(&v, &v, None).await;
    // A write to another service wakes it, finds nothing, and it waits on.
    v.configs()
        .put(&svc("other"), put("x", json!({})))
        .await
        .expect("other");
    v.configs()
        .put(&s, put("x", json!({"fast": 1})))
        .await
        .expect("x2");
    let w = watcher.await.expect("join").expect("watch");
    let got = changed(&w);
    assert_eq!(got, [("x", 2)]);
    assert_eq!(w.revision, 2);
}

#[tokio::test]
async fn a_watch_reports_only_what_the_token_may_read_and_needs_list() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    v.configs().put(&s, put("y", json!({}))).await.expect("y");
    let (reader, _) = token(
        &v,
        "reader",
        &[
            ("configs/fx/*", &[Capability::List]),
            ("configs/fx/x", &[Capability::Read]),
        ],
    )
    .await;
    let w = reader
        .configs()
        .watch(&s, Some(0), Duration::ZERO)
        .await
        .expect("watch");
    let ids: Vec<&str> = w.changes.iter().map(|c| c.strategy_id.as_str()).collect();
    assert_eq!(ids, ["x"]);
    let (no_list, _) = token(&v, "nolist", &[("configs/fx/*", &[Capability::Read])]).await;
    let e = no_list
        .configs()
        .watch(&s, Some(0), Duration::ZERO)
        .await
        .expect_err("no list");
    assert_eq!(e.code(), "forbidden");
}

#[tokio::test]
async fn a_watch_reports_at_most_its_bound_and_the_next_watch_the_rest() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    for i in 0..=WATCH_MAX_CHANGES {
        v.configs()
            .put(&s, put(&format!("c{i:05}"), json!({})))
            .await
            .expect("put");
    }
    let first = v
        .configs()
        .watch(&s, Some(0), Duration::ZERO)
        .await
        .expect("watch");
    assert_eq!(first.changes.len(), WATCH_MAX_CHANGES);
    assert_eq!(first.revision, WATCH_MAX_CHANGES as u64);
    let rest = v
        .configs()
        .watch(&s, Some(first.revision), Duration::ZERO)
        .await
        .expect("watch");
    let ids: Vec<String> = rest
        .changes
        .iter()
        .map(|c| c.strategy_id.to_string())
        .collect();
    assert_eq!(ids, [format!("c{WATCH_MAX_CHANGES:05}")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_watches_refuses_the_parked_ones_and_every_later_one() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    let parked = park(&v, &v, None).await;
    v.end_watches();
    let e = parked.await.expect("join").expect_err("ended");
    assert_eq!(e.code(), "unavailable", "{e}");
    let e = v
        .configs()
        .watch(&s, Some(0), Duration::from_secs(60))
        .await
        .expect_err("ended");
    assert_eq!(
        e.code(),
        "unavailable",
        "a loop of watches does not spin on empty answers"
    );
    v.configs()
        .put(&s, put("x", json!({"still": "writable"})))
        .await
        .expect("writes go on");
}

/// The watcher's scan of the service's heads is held at head `m` (a read gate) while `a`
/// (already scanned) and `z` (not yet) are written: the answer may report `z`, but must not
/// move the caller past `a`'s revision, or `a` is never reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_never_skips_a_change_made_during_its_scan() {
    let (v, _, store) = memory_vault().await;
    let s = svc("fx");
    for id in ["a", "b", "m", "z"] {
        v.configs().put(&s, put(id, json!({}))).await.expect("put");
    }
    let since = v
        .configs()
        .list(&s, PageRequest::first())
        .await
        .expect("list")
        .revision
        .expect("revision");
    let gated = std::sync::Arc::new(vault_core::store::testing::ReadGateStore::new(
        store.clone(),
        b"cfg/h/fx/m",
        2,
    ));
    let g = super::support::reopen(&(gated.clone() as vault_core::store::SharedStore)).await;
    let watch = park(&g, &g, Some(since)).await;
    g.configs()
        .put(&s, put("b", json!({"n": 1})))
        .await
        .expect("wakes the watch: its scan starts");
    while gated.arrived() == 0 {
        tokio::task::yield_now().await;
    }
    g.configs()
        .put(&s, put("a", json!({"n": 1})))
        .await
        .expect("a, behind the scan");
    g.configs()
        .put(&s, put("z", json!({"n": 1})))
        .await
        .expect("z, ahead of it");
    g.configs()
        .get(&s, &sid("m"), None)
        .await
        .expect("the second read of m opens the gate");
    let first = watch.await.expect("join").expect("watch");
    let next = g
        .configs()
        .watch(&s, Some(first.revision), Duration::ZERO)
        .await
        .expect("next");
    let seen: Vec<&str> = first
        .changes
        .iter()
        .chain(&next.changes)
        .map(|c| c.strategy_id.as_str())
        .collect();
    assert!(
        seen.contains(&"a"),
        "the write of `a` was never reported: {first:?} then {next:?}"
    );
}

/// A hundred writers of one service at once, each on its own config: none gets a conflict
/// (they all raise the service's revision; within a vault they take turns instead of losing
/// to each other until their attempts run out).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_writers_of_one_service_all_land() {
    let (v, _, _) = memory_vault().await;
    let mut tasks = Vec::new();
    for i in 0..100 {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            let mut p = put(&format!("c{i}"), json!({"i": i}));
            p.expected_version = Some(0);
            v.configs().put(&svc("fx"), p).await
        }));
    }
    for t in tasks {
        t.await.expect("join").expect("no conflict");
    }
    let listed = v
        .configs()
        .list(&svc("fx"), PageRequest::first())
        .await
        .expect("list");
    assert_eq!((listed.len(), listed.revision), (100, Some(100)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_while_its_watch_waits_gets_no_answer() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    let (watcher, id) = token(
        &v,
        "watcher",
        &[("configs/fx/*", &[Capability::List, Capability::Read])],
    )
    .await;
    let parked = park(&watcher, &v, None).await;
    v.tokens().revoke(&id).await.expect("revoke");
    v.configs()
        .put(&s, put("x", json!({"secret_plan": 1})))
        .await
        .expect("x2");
    let e = parked.await.expect("join").expect_err("revoked");
    assert_eq!(e.code(), "unauthorized", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_a_token_may_not_read_do_not_end_its_watch() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    let (reader, _) = token(
        &v,
        "reader",
        &[
            ("configs/fx/*", &[Capability::List]),
            ("configs/fx/x", &[Capability::Read]),
        ],
    )
    .await;
    let parked = park(&reader, &v, None).await;
    v.configs()
        .put(&s, put("hidden", json!({})))
        .await
        .expect("hidden");
    v.configs()
        .put(&s, put("x", json!({"n": 2})))
        .await
        .expect("x2");
    let w = parked.await.expect("join").expect("watch");
    let got = changed(&w);
    assert_eq!(got, [("x", 2)], "woken by x, not by hidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_watches_are_bounded_per_token_and_per_vault() {
    use vault_core::configs::{MAX_WAITING_WATCHES, MAX_WAITING_WATCHES_PER_TOKEN};
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs().put(&s, put("x", json!({}))).await.expect("x");
    let mut parked = Vec::new();
    let mut tokens = Vec::new();
    for t in 0..MAX_WAITING_WATCHES / MAX_WAITING_WATCHES_PER_TOKEN {
        let (tok, _) = token(
            &v,
            &format!("w{t}"),
            &[("configs/fx/*", &[Capability::List, Capability::Read])],
        )
        .await;
        for _ in 0..MAX_WAITING_WATCHES_PER_TOKEN {
            let tok = tok.clone();
            parked.push(tokio::spawn(async move {
                tok.configs()
                    .watch(&svc("fx"), None, Duration::from_secs(60))
                    .await
            }));
        }
        while v.config_watchers_for_tests() < parked.len() {
            tokio::task::yield_now().await;
        }
        if t == 0 {
            let e = tok
                .configs()
                .watch(&s, None, Duration::from_secs(60))
                .await
                .expect_err("one too many");
            assert_eq!(e.code(), "rate_limited", "{e}");
            assert!(e.to_string().contains("for this token"), "{e}");
        }
        tokens.push(tok);
    }
    let (other, _) = token(
        &v,
        "other",
        &[("configs/fx/*", &[Capability::List, Capability::Read])],
    )
    .await;
    let e = other
        .configs()
        .watch(&s, None, Duration::from_secs(60))
        .await
        .expect_err("vault full");
    assert!(e.to_string().contains("on this vault"), "{e}");
    // The process embedding the vault is not counted.
    v.configs()
        .watch(&s, None, Duration::ZERO)
        .await
        .expect("embedded");
    v.configs()
        .put(&s, put("x", json!({"n": 2})))
        .await
        .expect("wakes them all");
    for p in parked {
        assert_eq!(p.await.expect("join").expect("watch").changes.len(), 1);
    }
    // Their places are free again.
    other
        .configs()
        .watch(&s, None, Duration::ZERO)
        .await
        .expect("room again");
}

#[tokio::test]
async fn rolling_back_to_a_deletes_version_restores_what_it_deleted() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    v.configs()
        .set_settings(&s, vault_core::ConfigSettings { max_versions: 1 })
        .await
        .expect("settings");
    v.configs()
        .put(&s, put("x", json!({"fast": 12})))
        .await
        .expect("x");
    v.configs()
        .delete(&s, &sid("x"), None)
        .await
        .expect("delete prunes version 1");
    let e = v
        .configs()
        .get(&s, &sid("x"), Some(1))
        .await
        .expect_err("pruned");
    assert_eq!(e.code(), "not_found");
    let w = v
        .configs()
        .rollback(&s, &sid("x"), ConfigRollback::to(2))
        .await
        .expect("back");
    assert_eq!((w.action, w.version), (Action::Created, 3));
    let got = v.configs().get(&s, &sid("x"), None).await.expect("back");
    assert_eq!(
        (got.params["fast"].clone(), got.deleted),
        (json!(12), false)
    );
}

#[tokio::test]
async fn an_empty_comment_is_no_comment_and_integral_floats_count_as_integers() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fx");
    let mut p = put("x", json!({}));
    p.comment = Some(String::new());
    p.risk_limits = json!({"max_trades_per_day": 5.0}).as_object().cloned();
    v.configs().put(&s, p).await.expect("put");
    assert_eq!(
        v.configs()
            .get(&s, &sid("x"), None)
            .await
            .expect("get")
            .comment,
        None
    );
    let rb = ConfigRollback {
        comment: Some(String::new()),
        ..ConfigRollback::to(1)
    };
    v.configs()
        .rollback(&s, &sid("x"), rb)
        .await
        .expect("rollback");
    let got = v.configs().get(&s, &sid("x"), None).await.expect("get");
    assert_eq!(got.comment.as_deref(), Some("rollback to version 1"));
}

#[test]
fn the_strategy_id_watch_is_reserved_for_the_endpoint() {
    let e = StrategyId::new("watch").expect_err("reserved");
    assert_eq!((e.code(), e.field()), ("invalid", Some("strategy_id")));
    assert!(StrategyId::new("watcher").is_ok() && StrategyId::new("Watch").is_ok());
}
