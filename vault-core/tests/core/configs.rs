//! Strategy configs through the public `Vault` API.

use std::time::Duration;

use serde_json::json;
use vault_core::{Action, ConfigPut, VaultApi};

use super::support::{T0, dump, memory_vault};

fn obj(v: serde_json::Value) -> Option<vault_core::JsonObject> {
    v.as_object().cloned()
}

fn full_put(id: &str) -> ConfigPut {
    ConfigPut {
        strategy_id: id.into(),
        params: obj(json!({"fast": 12, "slow": 26})),
        symbols: Some(vec!["EUR_USD".into(), "GBP_USD".into()]),
        risk_limits: obj(json!({"max_position": 10000})),
        enabled: Some(true),
        expected_version: None,
    }
}

#[tokio::test]
async fn every_put_is_a_new_version_and_old_versions_stay_readable() {
    let (v, clock, _) = memory_vault().await;
    let w = v
        .configs()
        .put("fxshinobi", full_put("default"))
        .await
        .expect("put");
    assert_eq!((w.action, w.version), (Action::Created, 1));
    clock.advance(Duration::from_secs(5));
    let w = v
        .configs()
        .put(
            "fxshinobi",
            ConfigPut {
                strategy_id: "default".into(),
                enabled: Some(false),
                ..ConfigPut::default()
            },
        )
        .await
        .expect("update");
    assert_eq!((w.action, w.version), (Action::Updated, 2));

    let latest = v
        .configs()
        .get("fxshinobi", "default", None)
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
        .get("fxshinobi", "default", Some(1))
        .await
        .expect("v1");
    assert!(v1.enabled);
    assert_eq!(v1.version, 1);
    let e = v
        .configs()
        .get("fxshinobi", "default", Some(3))
        .await
        .expect_err("v3");
    assert_eq!(e.code(), "not_found");
    let history = v
        .configs()
        .history("fxshinobi", "default")
        .await
        .expect("history");
    assert_eq!(
        history.iter().map(|c| c.version).collect::<Vec<_>>(),
        [1, 2]
    );
}

#[tokio::test]
async fn new_config_defaults() {
    let (v, _, _) = memory_vault().await;
    let put = ConfigPut {
        strategy_id: "bare".into(),
        ..ConfigPut::default()
    };
    v.configs().put("s", put).await.expect("put");
    let c = v.configs().get("s", "bare", None).await.expect("get");
    assert!(c.params.is_empty() && c.symbols.is_empty() && c.risk_limits.is_empty());
    assert!(c.enabled);
}

#[tokio::test]
async fn list_returns_latest_of_each_ordered_and_only_of_that_service() {
    let (v, _, _) = memory_vault().await;
    for id in ["zeta", "alpha", "mid"] {
        v.configs().put("svc", full_put(id)).await.expect("put");
    }
    v.configs()
        .put("svc", full_put("alpha"))
        .await
        .expect("alpha v2");
    v.configs()
        .put("svc-other", full_put("beta"))
        .await
        .expect("other");
    let list = v.list_configs("svc").await.expect("list");
    let got: Vec<(&str, u64)> = list
        .iter()
        .map(|c| (c.strategy_id.as_str(), c.version))
        .collect();
    assert_eq!(got, [("alpha", 2), ("mid", 1), ("zeta", 1)]);
    assert!(v.list_configs("nobody").await.expect("empty").is_empty());
}

#[tokio::test]
async fn stale_expected_version_is_a_conflict_and_changes_nothing() {
    let (v, _, store) = memory_vault().await;
    v.configs().put("s", full_put("x")).await.expect("v1");
    v.configs().put("s", full_put("x")).await.expect("v2");
    let before = dump(&store).await;
    let mut stale = full_put("x");
    stale.expected_version = Some(1);
    stale.enabled = Some(false);
    let e = v.configs().put("s", stale).await.expect_err("stale");
    assert_eq!(e.code(), "conflict");
    assert!(e.to_string().contains("version 2"), "{e}");
    assert_eq!(dump(&store).await, before);
    let mut fresh = full_put("x");
    fresh.expected_version = Some(2);
    assert_eq!(v.configs().put("s", fresh).await.expect("fresh").version, 3);
    let mut create_only = full_put("new");
    create_only.expected_version = Some(0);
    assert_eq!(
        v.configs()
            .put("s", create_only.clone())
            .await
            .expect("create")
            .version,
        1
    );
    assert_eq!(
        v.configs()
            .put("s", create_only)
            .await
            .expect_err("exists")
            .code(),
        "conflict"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_compare_and_set_has_one_winner_and_plain_puts_lose_nothing() {
    let (v, _, _) = memory_vault().await;
    v.configs().put("s", full_put("x")).await.expect("v1");
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            let mut p = full_put("x");
            p.expected_version = Some(1);
            v.configs().put("s", p).await
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

    let mut tasks = Vec::new();
    for _ in 0..16 {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            v.configs().put("s", full_put("x")).await.expect("put")
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let history = v.configs().history("s", "x").await.expect("history");
    assert_eq!(history.len(), 18);
    assert_eq!(
        v.configs().get("s", "x", None).await.expect("get").version,
        18
    );
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let (v, _, store) = memory_vault().await;
    let before = dump(&store).await;
    let mut bad_symbol = full_put("x");
    bad_symbol.symbols = Some(vec!["EUR_USD".into(), String::new()]);
    let e = v.configs().put("s", bad_symbol).await.expect_err("symbol");
    assert!(e.to_string().starts_with("invalid symbols[1]:"), "{e}");
    let e = v
        .configs()
        .put("s/x", full_put("x"))
        .await
        .expect_err("service");
    assert!(e.to_string().starts_with("invalid service:"), "{e}");
    let e = v.configs().put("s", full_put("..")).await.expect_err("id");
    assert!(e.to_string().starts_with("invalid strategy_id:"), "{e}");
    let mut huge = full_put("x");
    huge.params = obj(json!({"blob": "p".repeat(600 * 1024)}));
    let e = v.configs().put("s", huge).await.expect_err("huge");
    assert!(e.to_string().starts_with("invalid config:"), "{e}");
    assert_eq!(dump(&store).await, before);
}
