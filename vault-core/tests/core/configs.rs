//! Strategy configs through the public `Vault` API.

use std::time::Duration;

use serde_json::json;
use vault_core::configs::{HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT};
use vault_core::prelude::*;
use vault_core::{Action, ConfigPut, ConfigRollback, PageRequest, ServiceName, StrategyId};

use super::support::{T0, dump, interleaved, memory_vault, sid, svc};

fn obj(v: serde_json::Value) -> Option<vault_core::JsonObject> {
    v.as_object().cloned()
}

fn full_put(id: &str) -> ConfigPut {
    ConfigPut {
        strategy_id: sid(id),
        params: obj(json!({"fast": 12, "slow": 26})),
        symbols: Some(vec!["EUR_USD".into(), "GBP_USD".into()]),
        risk_limits: obj(json!({"max_position": 10000})),
        enabled: Some(true),
        expected_version: None,
        comment: None,
    }
}

#[tokio::test]
async fn every_put_is_a_new_version_and_old_versions_stay_readable() {
    let (v, clock, _) = memory_vault().await;
    let w = v
        .configs()
        .put(&svc("fxshinobi"), full_put("default"))
        .await
        .expect("put");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    clock.advance(Duration::from_secs(5));
    let w = v
        .configs()
        .put(
            &svc("fxshinobi"),
            ConfigPut {
                enabled: Some(false),
                ..ConfigPut::new(sid("default"))
            },
        )
        .await
        .expect("update");
    assert_eq!((w.action, w.version), (Action::Updated, 2));

    let latest = v
        .configs()
        .get(&svc("fxshinobi"), &sid("default"), None)
        .await
        .expect("latest");
    assert_eq!(latest.version, 2);
    assert!(!latest.enabled);
    // Omitted fields kept their previous values.
    assert_eq!(latest.params.get("fast"), Some(&json!(12)));
    assert_eq!(latest.symbols, ["EUR_USD", "GBP_USD"]);
    assert_eq!(latest.risk_limits.get("max_position"), Some(&json!(10000)));
    assert_eq!(latest.created_at.as_millis(), T0);
    assert_eq!(latest.updated_at.as_millis(), T0 + 5000);
    assert!(!latest.stale);

    let v1 = v
        .configs()
        .get(&svc("fxshinobi"), &sid("default"), Some(1))
        .await
        .expect("v1");
    assert!(v1.enabled);
    assert_eq!(v1.version, 1);
    let e = v
        .configs()
        .get(&svc("fxshinobi"), &sid("default"), Some(3))
        .await
        .expect_err("v3");
    assert_eq!(e.code(), "not_found");
    let history = v
        .configs()
        .history(&svc("fxshinobi"), &sid("default"), None, None)
        .await
        .expect("history");
    // Newest first.
    assert_eq!(
        history
            .versions
            .iter()
            .map(|c| c.version)
            .collect::<Vec<_>>(),
        [2, 1]
    );
    assert_eq!(history.next, None);
}

#[tokio::test]
async fn new_config_defaults() {
    let (v, _, _) = memory_vault().await;
    let put = ConfigPut::new(sid("bare"));
    v.configs().put(&svc("s"), put).await.expect("put");
    let c = v
        .configs()
        .get(&svc("s"), &sid("bare"), None)
        .await
        .expect("get");
    assert!(c.params.is_empty() && c.symbols.is_empty() && c.risk_limits.is_empty());
    assert!(c.enabled);
}

#[tokio::test]
async fn list_returns_latest_of_each_ordered_and_only_of_that_service() {
    let (v, _, _) = memory_vault().await;
    for id in ["zeta", "alpha", "mid"] {
        v.configs()
            .put(&svc("svc"), full_put(id))
            .await
            .expect("put");
    }
    v.configs()
        .put(&svc("svc"), full_put("alpha"))
        .await
        .expect("alpha v2");
    v.configs()
        .put(&svc("svc-other"), full_put("beta"))
        .await
        .expect("other");
    // Through the `VaultApi` trait object, as the adapters use it.
    let api: &dyn VaultApi = &v;
    let list = api
        .configs()
        .list(&svc("svc"), PageRequest::first())
        .await
        .expect("list");
    let got: Vec<(&str, u64)> = list
        .iter()
        .map(|c| (c.strategy_id.as_str(), c.version))
        .collect();
    assert_eq!(got, [("alpha", 2), ("mid", 1), ("zeta", 1)]);
    assert!(
        api.configs()
            .list(&svc("nobody"), PageRequest::first())
            .await
            .expect("empty")
            .is_empty()
    );
}

#[tokio::test]
async fn stale_expected_version_is_a_conflict_and_changes_nothing() {
    let (v, _, store) = memory_vault().await;
    v.configs().put(&svc("s"), full_put("x")).await.expect("v1");
    v.configs().put(&svc("s"), full_put("x")).await.expect("v2");
    let before = dump(&store).await;
    let mut stale = full_put("x");
    stale.expected_version = Some(1);
    stale.enabled = Some(false);
    let e = v.configs().put(&svc("s"), stale).await.expect_err("stale");
    assert_eq!(e.code(), "conflict");
    assert!(e.to_string().contains("version 2"), "{e}");
    assert_eq!(dump(&store).await, before);
    let mut fresh = full_put("x");
    fresh.expected_version = Some(2);
    assert_eq!(
        v.configs()
            .put(&svc("s"), fresh)
            .await
            .expect("fresh")
            .version,
        3
    );
    let mut create_only = full_put("new");
    create_only.expected_version = Some(0);
    assert_eq!(
        v.configs()
            .put(&svc("s"), create_only.clone())
            .await
            .expect("create")
            .version,
        1
    );
    assert_eq!(
        v.configs()
            .put(&svc("s"), create_only)
            .await
            .expect_err("exists")
            .code(),
        "conflict"
    );
}

/// Forced interleaving: all 16 writers read version 1 before any commits (see
/// `support::interleaved`), so a compare-and-set that did not condition its commit on what it
/// read would let all 16 win.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_compare_and_set_has_exactly_one_winner_under_forced_interleaving() {
    let (v, _, store) = memory_vault().await;
    v.configs().put(&svc("s"), full_put("x")).await.expect("v1");
    let racing = interleaved(&store, 16).await;
    let mut tasks = Vec::new();
    for v in racing {
        tasks.push(tokio::spawn(async move {
            let mut p = full_put("x");
            p.expected_version = Some(1);
            v.configs().put(&svc("s"), p).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.expect("join") {
            Ok(w) => {
                assert_eq!(w.version, 2);
                ok += 1;
            }
            Err(e) => assert_eq!(e.code(), "conflict"),
        }
    }
    assert_eq!(ok, 1);
}

/// Forced interleaving: 16 plain puts all read the same head before any commits; each must
/// still land as its own version (losers retry from the new head), none overwritten.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_plain_puts_lose_nothing_under_forced_interleaving() {
    let (v, _, store) = memory_vault().await;
    v.configs().put(&svc("s"), full_put("x")).await.expect("v1");
    let racing = interleaved(&store, 16).await;
    let mut tasks = Vec::new();
    for (i, v) in racing.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let mut p = full_put("x");
            p.params = obj(json!({ "writer": i }));
            v.configs().put(&svc("s"), p).await.expect("put").version
        }));
    }
    let mut versions = Vec::new();
    for t in tasks {
        versions.push(t.await.expect("join"));
    }
    versions.sort_unstable();
    assert_eq!(versions, (2..=17).collect::<Vec<u64>>());
    let history = v
        .configs()
        .history(&svc("s"), &sid("x"), None, None)
        .await
        .expect("history");
    assert_eq!(history.versions.len(), 17);
    assert_eq!(history.next, None);
    // Every writer's params are in exactly one version.
    let mut writers: Vec<i64> = history.versions[..16]
        .iter()
        .map(|c| c.params["writer"].as_i64().expect("writer"))
        .collect();
    writers.sort_unstable();
    assert_eq!(writers, (0..16).collect::<Vec<i64>>());
    assert_eq!(
        v.configs()
            .get(&svc("s"), &sid("x"), None)
            .await
            .expect("get")
            .version,
        17
    );
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let (v, _, store) = memory_vault().await;
    let before = dump(&store).await;
    let mut bad_symbol = full_put("x");
    bad_symbol.symbols = Some(vec!["EUR_USD".into(), String::new()]);
    let e = v
        .configs()
        .put(&svc("s"), bad_symbol)
        .await
        .expect_err("symbol");
    assert!(e.to_string().starts_with("invalid symbols[1]:"), "{e}");
    // Names are checked where they are constructed.
    let e = ServiceName::new("s/x").expect_err("service");
    assert!(e.to_string().starts_with("invalid service:"), "{e}");
    let e = StrategyId::new("..").expect_err("id");
    assert!(e.to_string().starts_with("invalid strategy_id:"), "{e}");
    let mut huge = full_put("x");
    huge.params = obj(json!({"blob": "p".repeat(600 * 1024)}));
    let e = v.configs().put(&svc("s"), huge).await.expect_err("huge");
    assert!(e.to_string().starts_with("invalid config:"), "{e}");
    assert_eq!(dump(&store).await, before);
}

/// Writes versions 1..=`n` of config `s`/`x`.
async fn versions_of_x(v: &vault_core::Vault, n: u64) {
    for i in 1..=n {
        let w = v
            .configs()
            .put(&svc("s"), full_put("x"))
            .await
            .expect("put");
        assert_eq!(w.version, i);
    }
}

fn numbers(h: &vault_core::ConfigHistory) -> Vec<u64> {
    h.versions.iter().map(|c| c.version).collect()
}

#[tokio::test]
async fn history_pages_newest_first() {
    let (v, _, _) = memory_vault().await;
    versions_of_x(&v, 5).await;
    let (s, x) = (svc("s"), sid("x"));
    let p1 = v
        .configs()
        .history(&s, &x, Some(2), None)
        .await
        .expect("p1");
    assert_eq!((numbers(&p1), p1.next), (vec![5, 4], Some(4)));
    let p2 = v
        .configs()
        .history(&s, &x, Some(2), p1.next)
        .await
        .expect("p2");
    assert_eq!((numbers(&p2), p2.next), (vec![3, 2], Some(2)));
    let p3 = v
        .configs()
        .history(&s, &x, Some(2), p2.next)
        .await
        .expect("p3");
    assert_eq!((numbers(&p3), p3.next), (vec![1], None));
    // Each version is the one `get` returns for its number.
    for c in p1.versions.iter().chain(&p2.versions).chain(&p3.versions) {
        let got = v
            .configs()
            .get(&s, &x, Some(c.version))
            .await
            .expect("get version");
        assert_eq!(&got, c);
    }
    // A page that ends exactly at version 1 says there is nothing more.
    let last = v
        .configs()
        .history(&s, &x, Some(3), Some(4))
        .await
        .expect("last");
    assert_eq!((numbers(&last), last.next), (vec![3, 2, 1], None));
    // The whole history fits the default page.
    let all = v.configs().history(&s, &x, None, None).await.expect("all");
    assert_eq!((numbers(&all), all.next), (vec![5, 4, 3, 2, 1], None));
}

#[tokio::test]
async fn history_after_beyond_latest_starts_at_latest_and_after_one_is_empty() {
    let (v, _, _) = memory_vault().await;
    versions_of_x(&v, 5).await;
    let (s, x) = (svc("s"), sid("x"));
    for after in [6, 7, 1_000, u64::MAX] {
        let h = v
            .configs()
            .history(&s, &x, None, Some(after))
            .await
            .expect("after beyond latest");
        assert_eq!(
            (numbers(&h), h.next),
            (vec![5, 4, 3, 2, 1], None),
            "{after}"
        );
    }
    let h = v
        .configs()
        .history(&s, &x, Some(2), Some(100))
        .await
        .expect("after beyond latest, paged");
    assert_eq!((numbers(&h), h.next), (vec![5, 4], Some(4)));
    // Nothing is older than version 1.
    for after in [0, 1] {
        let h = v
            .configs()
            .history(&s, &x, None, Some(after))
            .await
            .expect("after 1");
        assert_eq!((numbers(&h), h.next), (vec![], None), "{after}");
    }
}

#[tokio::test]
async fn history_limit_must_be_1_to_1000() {
    let (v, _, store) = memory_vault().await;
    versions_of_x(&v, 3).await;
    let (s, x) = (svc("s"), sid("x"));
    assert_eq!((HISTORY_DEFAULT_LIMIT, HISTORY_MAX_LIMIT), (100, 1000));
    let before = dump(&store).await;
    for limit in [0, 1001, usize::MAX] {
        let e = v
            .configs()
            .history(&s, &x, Some(limit), None)
            .await
            .expect_err("bad limit");
        assert_eq!(e.code(), "invalid", "{limit}");
        assert_eq!(e.field(), Some("limit"), "{limit}");
        assert!(e.to_string().starts_with("invalid limit:"), "{e}");
    }
    for limit in [1, 1000] {
        let h = v
            .configs()
            .history(&s, &x, Some(limit), None)
            .await
            .expect("limit in range");
        assert_eq!(h.versions.len(), limit.min(3), "{limit}");
    }
    assert_eq!(dump(&store).await, before);
}

#[tokio::test]
async fn history_of_a_missing_config_is_not_found() {
    let (v, _, _) = memory_vault().await;
    versions_of_x(&v, 1).await;
    for (service, id) in [("s", "nope"), ("other", "x")] {
        let e = v
            .configs()
            .history(&svc(service), &sid(id), None, None)
            .await
            .expect_err("missing");
        assert_eq!(e.code(), "not_found", "{service}/{id}");
        assert!(e.to_string().contains(id), "{e}");
    }
    let e = v
        .configs()
        .history(&svc("s"), &sid("nope"), Some(2), Some(5))
        .await
        .expect_err("missing, paged");
    assert_eq!(e.code(), "not_found");
}

/// The diff of two versions: the changes both ways, version 0 refused by name, a version not
/// kept `not_found`, `read` on the config needed, and one audit entry per diff.
#[tokio::test]
async fn diff_lists_the_changes_between_two_versions() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fxshinobi");
    let mut p1 = ConfigPut::new(sid("x"));
    p1.params = obj(json!({"fast": 12, "slow": 26}));
    p1.symbols = Some(vec!["EUR_USD".into(), "GBP_USD".into()]);
    v.configs().put(&s, p1).await.expect("v1");
    let mut p2 = ConfigPut::new(sid("x"));
    p2.params = obj(json!({"fast": 10, "slow": 26}));
    p2.enabled = Some(false);
    v.configs().put(&s, p2).await.expect("v2");

    let d = v.configs().diff(&s, &sid("x"), 1, 2).await.expect("diff");
    assert_eq!((d.from, d.to), (1, 2));
    assert_eq!(
        serde_json::to_value(&d.changes).expect("json"),
        json!([
            {"op": "replace", "path": "/params/fast", "old": 12, "new": 10},
            {"op": "replace", "path": "/enabled", "old": true, "new": false},
        ])
    );
    let back = v.configs().diff(&s, &sid("x"), 2, 1).await.expect("diff");
    assert_eq!(
        serde_json::to_value(&back.changes[1]).expect("json"),
        json!({"op": "replace", "path": "/enabled", "old": false, "new": true})
    );
    assert!(
        v.configs()
            .diff(&s, &sid("x"), 2, 2)
            .await
            .expect("same")
            .changes
            .is_empty()
    );

    for (from, to, code, field) in [
        (0, 1, "invalid", Some("from")),
        (1, 0, "invalid", Some("to")),
        (1, 3, "not_found", None),
    ] {
        let e = v
            .configs()
            .diff(&s, &sid("x"), from, to)
            .await
            .expect_err("refused");
        assert_eq!((e.code(), e.field()), (code, field), "{from}..{to}: {e}");
    }
    let e = v
        .configs()
        .diff(&s, &sid("nope"), 1, 2)
        .await
        .expect_err("no config");
    assert_eq!(e.code(), "not_found");

    let scoped = scoped(&v, "configs/fxshinobi/other", vault_core::Capability::Read).await;
    let e = scoped
        .configs()
        .diff(&s, &sid("x"), 1, 2)
        .await
        .expect_err("forbidden");
    assert_eq!(e.code(), "forbidden");

    let mut q = vault_core::AuditQuery::default();
    q.filter.op = Some("configs.diff".into());
    let entries = v.audit().query(q).await.expect("query").items;
    let outcomes: Vec<&str> = entries.iter().map(|e| e.outcome.as_str()).collect();
    assert_eq!(
        outcomes,
        [
            "forbidden",
            "not_found",
            "not_found",
            "invalid",
            "invalid",
            "ok",
            "ok",
            "ok"
        ]
    );
    assert!(
        entries
            .iter()
            .all(|e| e.path.starts_with("configs/fxshinobi/"))
    );
}

/// Rollback writes a new version with an earlier one's content; history keeps every version;
/// version 0 and versions not kept are refused; `write` is needed; each is audited.
#[tokio::test]
async fn rollback_writes_a_new_version_with_an_earlier_content() {
    let (v, _, _) = memory_vault().await;
    let s = svc("fxshinobi");
    let mut p1 = ConfigPut::new(sid("x"));
    p1.params = obj(json!({"fast": 12}));
    p1.symbols = Some(vec!["EUR_USD".into()]);
    p1.risk_limits = obj(json!({"max_position": 1000}));
    v.configs().put(&s, p1).await.expect("v1");
    let mut p2 = ConfigPut::new(sid("x"));
    p2.params = obj(json!({"fast": 10}));
    p2.symbols = Some(vec![]);
    p2.enabled = Some(false);
    v.configs().put(&s, p2).await.expect("v2");

    let w = v
        .configs()
        .rollback(&s, &sid("x"), ConfigRollback::to(1))
        .await
        .expect("rollback");
    assert_eq!((w.version, w.action), (3, Action::Updated));
    let (c1, c3) = (
        v.configs().get(&s, &sid("x"), Some(1)).await.expect("v1"),
        v.configs().get(&s, &sid("x"), None).await.expect("latest"),
    );
    assert_eq!(
        (&c3.params, &c3.symbols, &c3.risk_limits, c3.enabled),
        (&c1.params, &c1.symbols, &c1.risk_limits, c1.enabled)
    );
    let history = v
        .configs()
        .history(&s, &sid("x"), None, None)
        .await
        .expect("history");
    let versions: Vec<(u64, bool)> = history
        .versions
        .iter()
        .map(|c| (c.version, c.enabled))
        .collect();
    assert_eq!(versions, [(3, true), (2, false), (1, true)], "history kept");
    assert!(
        v.configs()
            .diff(&s, &sid("x"), 1, 3)
            .await
            .expect("diff")
            .changes
            .is_empty()
    );

    for (to, code) in [(0, "invalid"), (9, "not_found")] {
        let e = v
            .configs()
            .rollback(&s, &sid("x"), ConfigRollback::to(to))
            .await
            .expect_err("refused");
        assert_eq!(e.code(), code, "{to}: {e}");
    }
    let e = v
        .configs()
        .rollback(&s, &sid("x"), ConfigRollback::to(0))
        .await
        .expect_err("0");
    assert_eq!(e.field(), Some("to_version"));
    let reader = scoped(&v, "configs/fxshinobi/*", vault_core::Capability::Read).await;
    let e = reader
        .configs()
        .rollback(&s, &sid("x"), ConfigRollback::to(1))
        .await
        .expect_err("forbidden");
    assert_eq!(e.code(), "forbidden");
    // Write alone is not enough: a rollback writes content the caller does not see.
    let writer = scoped(&v, "configs/fxshinobi/*", vault_core::Capability::Write).await;
    let e = writer
        .configs()
        .rollback(&s, &sid("x"), ConfigRollback::to(1))
        .await
        .expect_err("forbidden");
    assert_eq!(e.code(), "forbidden");
    assert!(e.to_string().contains("read"), "{e}");
    assert_eq!(
        v.configs()
            .get(&s, &sid("x"), None)
            .await
            .expect("latest")
            .version,
        3
    );

    let mut q = vault_core::AuditQuery::default();
    q.filter.op = Some("configs.rollback".into());
    let outcomes: Vec<String> = v
        .audit()
        .query(q)
        .await
        .expect("query")
        .items
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    assert_eq!(
        outcomes,
        [
            "forbidden",
            "forbidden",
            "invalid",
            "not_found",
            "invalid",
            "ok"
        ]
    );
}

/// A version written at the size limit can be rolled back to at any later version number
/// (the limit is on the content, not on the record with its version numbers).
#[tokio::test]
async fn a_version_at_the_size_limit_can_be_rolled_back_to() {
    let (v, _, _) = memory_vault().await;
    let s = svc("big");
    let pad =
        vault_core::configs::MAX_CONFIG_BYTES - r#"{"pad":""}"#.len() - "[]".len() - "{}".len();
    let mut p = ConfigPut::new(sid("x"));
    p.params = obj(json!({"pad": "x".repeat(pad)}));
    p.symbols = Some(vec![]);
    p.risk_limits = obj(json!({}));
    v.configs().put(&s, p).await.expect("v1 at the limit");
    for i in 0..9 {
        let mut small = ConfigPut::new(sid("x"));
        small.params = obj(json!({"i": i}));
        v.configs().put(&s, small).await.expect("small");
    }
    let w = v
        .configs()
        .rollback(&s, &sid("x"), ConfigRollback::to(1))
        .await
        .expect("rollback at v10");
    assert_eq!(w.version, 11);
    let mut over = ConfigPut::new(sid("x"));
    over.params = obj(json!({"pad": "x".repeat(pad + 1)}));
    let e = v.configs().put(&s, over).await.expect_err("one byte over");
    assert_eq!(e.field(), Some("config"));
}

/// `v` as seen by a new token allowed only `capability` on `path`.
async fn scoped(
    v: &vault_core::Vault,
    path: &str,
    capability: vault_core::Capability,
) -> vault_core::Vault {
    let created = v
        .tokens()
        .create(vault_core::TokenCreate {
            name: "scoped".into(),
            rules: vec![vault_core::Rule {
                path: path.into(),
                capabilities: vec![capability],
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
