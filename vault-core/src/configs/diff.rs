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
    /// Where: a JSON Pointer into `{"params", "symbols", "risk_limits", "enabled",
    /// "deleted"}`.
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

/// Most bytes of paths one diff may list. Every change carries its whole path, so a long key
/// with many changes under it would repeat in each (a 512 KiB config could make a diff of
/// gigabytes); past this, the diff is given per field instead (see [`changes`]).
pub const MAX_DIFF_PATH_BYTES: usize = 1024 * 1024;

/// The changes from `a` to `b`. When the paths of the changes would pass
/// [`MAX_DIFF_PATH_BYTES`], each field that differs is one `replace` of the whole field
/// instead (still exact, and bounded by the size of the two configs).
pub(crate) fn changes(a: &StrategyConfig, b: &StrategyConfig) -> Vec<ConfigChange> {
    fields_changes(&[
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
        ("deleted", a.deleted.into(), b.deleted.into()),
    ])
}

/// The changes from `a` to `b` (a guard policy's versions), at JSON Pointers from the root;
/// past [`MAX_DIFF_PATH_BYTES`] of paths, one `replace` of the whole document.
pub(crate) fn value_changes(a: &Value, b: &Value) -> Vec<ConfigChange> {
    let mut walk = Walk {
        path: Vec::new(),
        path_len: 0,
        budget: MAX_DIFF_PATH_BYTES,
        out: Vec::new(),
    };
    match walk.walk(a, b) {
        Ok(()) => walk.out,
        Err(OverBudget) => vec![change(ChangeOp::Replace, String::new(), Some(a), Some(b))],
    }
}

fn fields_changes(fields: &[(&str, Value, Value)]) -> Vec<ConfigChange> {
    let mut walk = Walk {
        path: Vec::new(),
        path_len: 0,
        budget: MAX_DIFF_PATH_BYTES,
        out: Vec::new(),
    };
    for (name, old, new) in fields {
        walk.enter(name.to_string());
        let fine = walk.walk(old, new);
        walk.leave();
        if fine.is_err() {
            return fields
                .iter()
                .filter(|(_, old, new)| old != new)
                .map(|(name, old, new)| {
                    change(ChangeOp::Replace, format!("/{name}"), Some(old), Some(new))
                })
                .collect();
        }
    }
    walk.out
}

/// The paths' budget ran out.
struct OverBudget;

/// A walk down two values: the path as escaped segments (made into a string only for a
/// change), and the changes found.
struct Walk {
    path: Vec<String>,
    path_len: usize,
    budget: usize,
    out: Vec<ConfigChange>,
}

impl Walk {
    fn enter(&mut self, segment: String) {
        self.path_len += segment.len() + 1;
        self.path.push(segment);
    }

    fn leave(&mut self) {
        if let Some(s) = self.path.pop() {
            self.path_len -= s.len() + 1;
        }
    }

    fn push(
        &mut self,
        op: ChangeOp,
        old: Option<&Value>,
        new: Option<&Value>,
    ) -> Result<(), OverBudget> {
        self.budget = self.budget.checked_sub(self.path_len).ok_or(OverBudget)?;
        let mut path = String::with_capacity(self.path_len);
        for s in &self.path {
            path.push('/');
            path.push_str(s);
        }
        self.out.push(change(op, path, old, new));
        Ok(())
    }

    fn walk(&mut self, old: &Value, new: &Value) -> Result<(), OverBudget> {
        match (old, new) {
            (Value::Object(a), Value::Object(b)) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort_unstable();
                keys.dedup();
                for k in keys {
                    self.enter(escape(k));
                    let r = match (a.get(k), b.get(k)) {
                        (Some(x), Some(y)) => self.walk(x, y),
                        (Some(x), None) => self.push(ChangeOp::Remove, Some(x), None),
                        (None, Some(y)) => self.push(ChangeOp::Add, None, Some(y)),
                        (None, None) => Ok(()),
                    };
                    self.leave();
                    r?;
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    self.enter(i.to_string());
                    let r = self.walk(x, y);
                    self.leave();
                    r?;
                }
                for (i, y) in b.iter().enumerate().skip(a.len()) {
                    self.enter(i.to_string());
                    let r = self.push(ChangeOp::Add, None, Some(y));
                    self.leave();
                    r?;
                }
                for (i, x) in a.iter().enumerate().skip(b.len()).rev() {
                    self.enter(i.to_string());
                    let r = self.push(ChangeOp::Remove, Some(x), None);
                    self.leave();
                    r?;
                }
            }
            (x, y) if x != y => self.push(ChangeOp::Replace, Some(x), Some(y))?,
            _ => {}
        }
        Ok(())
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
            changed_by: None,
            comment: None,
            deleted: false,
            revision: 0,
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
    fn a_diff_whose_paths_would_pass_the_budget_replaces_whole_fields() {
        let long = "~".repeat(4096);
        let a = json!({"params": {long.clone(): vec![0; 200], "x": 1}, "symbols": ["A"]});
        let b = json!({"params": {long.clone(): vec![1; 200], "x": 1}, "symbols": ["A"],
                       "enabled": false});
        let fine_bytes = 200 * (8 + 2 * 4096 + 4);
        assert!(
            fine_bytes > MAX_DIFF_PATH_BYTES,
            "the fine diff would pass the budget"
        );
        assert_eq!(
            diff(a.clone(), b.clone()),
            json!([
                {"op": "replace", "path": "/params", "old": a["params"], "new": b["params"]},
                {"op": "replace", "path": "/enabled", "old": true, "new": false},
            ])
        );
        // Under the budget, the same shape is listed change by change.
        let short = json!({"params": {"k": vec![0; 200]}});
        let changed = json!({"params": {"k": vec![1; 200]}});
        assert_eq!(diff(short, changed).as_array().map(Vec::len), Some(200));
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
