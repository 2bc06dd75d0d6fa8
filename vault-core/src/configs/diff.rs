//! The difference between two versions of a config: a list of changes, each at a JSON Pointer
//! (RFC 6901) into the config's content (`/params/...`, `/symbols/<i>`, `/risk_limits/...`,
//! `/enabled`), with the old and the new value.
//!
//! Written here rather than taken from a JSON Patch crate: those produce RFC 6902 patches,
//! which carry the new value only, and a reader of a config's history wants the old one too.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::StrategyConfig;

/// What happened at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    /// The path exists only in the newer version.
    Add,
    /// The path exists only in the older version.
    Remove,
    /// The value at the path differs.
    Replace,
}

/// One change from one version to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigChange {
    /// Add, remove or replace.
    pub op: ChangeOp,
    /// Where: a JSON Pointer into `{"params", "symbols", "risk_limits", "enabled"}`.
    pub path: String,
    /// The value in version `from` (absent for `add`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The value in version `to` (absent for `remove`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// The changes from version `from` to version `to` of a config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigDiff {
    /// The version the changes start from.
    pub from: u64,
    /// The version they lead to.
    pub to: u64,
    /// The changes, in path order (array elements removed from the end first, so the list
    /// also applies in order).
    pub changes: Vec<ConfigChange>,
}

/// The changes from `a` to `b`.
pub(crate) fn changes(a: &StrategyConfig, b: &StrategyConfig) -> Vec<ConfigChange> {
    let mut out = Vec::new();
    let fields: [(&str, Value, Value); 4] = [
        (
            "params",
            Value::Object(a.params.clone()),
            Value::Object(b.params.clone()),
        ),
        (
            "symbols",
            a.symbols.clone().into(),
            b.symbols.clone().into(),
        ),
        (
            "risk_limits",
            Value::Object(a.risk_limits.clone()),
            Value::Object(b.risk_limits.clone()),
        ),
        ("enabled", a.enabled.into(), b.enabled.into()),
    ];
    for (name, old, new) in &fields {
        walk(&format!("/{name}"), old, new, &mut out);
    }
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<ConfigChange>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort_unstable();
            keys.dedup();
            for k in keys {
                let p = format!("{path}/{}", escape(k));
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (Some(x), None) => out.push(change(ChangeOp::Remove, p, Some(x), None)),
                    (None, Some(y)) => out.push(change(ChangeOp::Add, p, None, Some(y))),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                walk(&format!("{path}/{i}"), x, y, out);
            }
            for (i, y) in b.iter().enumerate().skip(a.len()) {
                out.push(change(ChangeOp::Add, format!("{path}/{i}"), None, Some(y)));
            }
            for (i, x) in a.iter().enumerate().skip(b.len()).rev() {
                out.push(change(
                    ChangeOp::Remove,
                    format!("{path}/{i}"),
                    Some(x),
                    None,
                ));
            }
        }
        (x, y) if x != y => out.push(change(
            ChangeOp::Replace,
            path.to_string(),
            Some(x),
            Some(y),
        )),
        _ => {}
    }
}

fn change(op: ChangeOp, path: String, old: Option<&Value>, new: Option<&Value>) -> ConfigChange {
    ConfigChange {
        op,
        path,
        old: old.cloned(),
        new: new.cloned(),
    }
}

/// A key as a JSON Pointer reference token: `~` is `~0`, `/` is `~1`.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::clock::Timestamp;

    fn config(v: Value) -> StrategyConfig {
        let obj = |k: &str| v[k].as_object().cloned().unwrap_or_default();
        StrategyConfig {
            service: "s".parse().expect("name"),
            strategy_id: "x".parse().expect("name"),
            params: obj("params"),
            symbols: serde_json::from_value(v["symbols"].clone()).unwrap_or_default(),
            risk_limits: obj("risk_limits"),
            enabled: v["enabled"].as_bool().unwrap_or(true),
            version: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
            stale: false,
        }
    }

    fn diff(a: Value, b: Value) -> Value {
        serde_json::to_value(changes(&config(a), &config(b))).expect("json")
    }

    #[test]
    fn nested_objects_arrays_and_scalars() {
        let got = diff(
            json!({"params": {"fast": 12, "slow": 26, "gone": true, "deep": {"a": [1, 2]}},
                   "symbols": ["EUR_USD", "GBP_USD", "USD_JPY"], "enabled": true}),
            json!({"params": {"fast": 10, "slow": 26, "new/one~": null, "deep": {"a": [1, 3, 4]}},
                   "symbols": ["EUR_USD"], "risk_limits": {"max_daily_loss": 0.02},
                   "enabled": false}),
        );
        assert_eq!(
            got,
            json!([
                {"op": "replace", "path": "/params/deep/a/1", "old": 2, "new": 3},
                {"op": "add", "path": "/params/deep/a/2", "new": 4},
                {"op": "replace", "path": "/params/fast", "old": 12, "new": 10},
                {"op": "remove", "path": "/params/gone", "old": true},
                {"op": "add", "path": "/params/new~1one~0", "new": null},
                {"op": "remove", "path": "/symbols/2", "old": "USD_JPY"},
                {"op": "remove", "path": "/symbols/1", "old": "GBP_USD"},
                {"op": "add", "path": "/risk_limits/max_daily_loss", "new": 0.02},
                {"op": "replace", "path": "/enabled", "old": true, "new": false},
            ])
        );
    }

    #[test]
    fn equal_versions_have_no_changes_and_a_type_change_is_a_replace() {
        let a = json!({"params": {"x": {"y": 1}}, "symbols": ["A"]});
        assert_eq!(diff(a.clone(), a), json!([]));
        assert_eq!(
            diff(
                json!({"params": {"x": {"y": 1}}}),
                json!({"params": {"x": [1]}})
            ),
            json!([{"op": "replace", "path": "/params/x", "old": {"y": 1}, "new": [1]}])
        );
    }
}
