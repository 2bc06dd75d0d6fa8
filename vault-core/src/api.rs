//! The vault's interface, [`VaultApi`]: one accessor per family plus health, implemented by the
//! embedded [`Vault`](crate::Vault) and by the remote client (crate `vault-client`), so the
//! Python and Node bindings run one code path whichever way they reach a vault. Also the small
//! types every family shares.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audit::AuditApi;
use crate::clock::Timestamp;
use crate::configs::ConfigsApi;
use crate::constructs::ConstructsApi;
use crate::credentials::CredentialsApi;
use crate::error::Result;
use crate::guards::GuardsApi;
use crate::jobs::JobsApi;
use crate::tokens::TokensApi;

/// A JSON object (params, risk limits, metadata).
pub type JsonObject = Map<String, Value>;

/// Deepest nesting accepted in a stored JSON document (params, risk limits, metadata): the
/// object itself is level 1, each object or array inside adds one. Kept well under the 128
/// levels JSON parsers (serde_json's default included) accept, so a listing that wraps the
/// documents in a few more levels always parses.
pub const MAX_JSON_DEPTH: usize = 32;

/// `invalid` naming `field` when `doc` is nested deeper than [`MAX_JSON_DEPTH`] levels.
pub fn check_json_depth(field: &str, doc: &JsonObject) -> crate::error::Result<()> {
    // Iterative, so a deep document cannot overflow the stack here.
    let mut stack: Vec<(&Value, usize)> = doc.values().map(|v| (v, 2)).collect();
    while let Some((v, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match v {
            Value::Object(m) => Box::new(m.values()),
            Value::Array(a) => Box::new(a.iter()),
            _ => continue,
        };
        if depth > MAX_JSON_DEPTH {
            return Err(crate::error::Error::invalid(
                field,
                format!("must be nested at most {MAX_JSON_DEPTH} levels deep"),
            ));
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    Ok(())
}

/// Whether a put created a record or added a version to an existing one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The record did not exist before.
    Created,
    /// A new version of an existing record.
    Updated,
    /// A delete that keeps history (a config's delete writes a version marking it deleted).
    Deleted,
}

impl Action {
    /// `"created"`, `"updated"` or `"deleted"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Updated => "updated",
            Action::Deleted => "deleted",
        }
    }
}

/// Overall health.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Everything works.
    Ok,
    /// Serving, with a component impaired.
    Degraded,
    /// Not serving.
    Down,
}

impl HealthStatus {
    /// `"ok"`, `"degraded"` or `"down"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthStatus::Ok => "ok",
            HealthStatus::Degraded => "degraded",
            HealthStatus::Down => "down",
        }
    }
}

/// The vault's health report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// Overall status.
    pub status: HealthStatus,
    /// Component name to state, e.g. `"store": "connected"`.
    pub components: std::collections::BTreeMap<String, String>,
    /// A sentence for people.
    pub message: String,
    /// The vault-core version.
    pub version: String,
    /// When the report was made.
    pub timestamp: Timestamp,
    /// Credentials overdue for rotation (`now - updated_at >= rotate_every`), of every
    /// service; any makes the status `degraded`.
    pub overdue_credentials: u64,
}

impl Health {
    /// The health of a vault not opened yet because its store cannot be reached (a server
    /// started while its database is down, and retrying): `degraded`, store `unreachable`.
    pub fn store_unreachable(backend: &str, now: Timestamp, reason: &str) -> Health {
        let mut components = std::collections::BTreeMap::new();
        components.insert("store".to_string(), "unreachable".to_string());
        components.insert("backend".to_string(), backend.to_string());
        components.insert("encryption".to_string(), "sealed".to_string());
        Health {
            status: HealthStatus::Degraded,
            components,
            message: format!(
                "the store is unreachable; operations answer backend_unavailable until it is \
                 back: {reason}"
            ),
            version: env!("CARGO_PKG_VERSION").to_string(),
            timestamp: now,
            overdue_credentials: 0,
        }
    }
}

/// A vault, embedded or remote: its families and its health. Object-safe.
#[async_trait]
pub trait VaultApi: Send + Sync {
    /// Credentials: encrypted, versioned secrets of external services.
    fn credentials(&self) -> &dyn CredentialsApi;

    /// Strategy configs: versioned, compare-and-set, history.
    fn configs(&self) -> &dyn ConfigsApi;

    /// Constructs: capsules, identity files and transcripts of AI personas.
    fn constructs(&self) -> &dyn ConstructsApi;

    /// Tokens with scoped policies: create, list, revoke, and the caller's own.
    fn tokens(&self) -> &dyn TokensApi;

    /// The audit log: query and verify (`read` on `audit`).
    fn audit(&self) -> &dyn AuditApi;

    /// Trading guards: policies, decide-and-claim, executions, trading states, overrides and
    /// the LLM-call budget (`guards/<account>/...`).
    fn guards(&self) -> &dyn GuardsApi;
    /// Scheduler jobs with leases and fencing tokens (`guards/<account>/jobs/...`).
    fn jobs(&self) -> &dyn JobsApi;

    /// Health of the vault and its store.
    async fn health(&self) -> Result<Health>;

    /// Finishes background work and makes queued audit entries durable before the handle is
    /// dropped (an embedded vault; a no-op for a remote one). The bindings call it on close.
    async fn close(&self) -> Result<()> {
        Ok(())
    }
}

/// A closable handle to a vault, as the bindings hold one: every call takes the vault out
/// (cheap `Arc` clone) or fails with `invalid` once [`VaultHandle::close`] ran. Calls already
/// running keep their clone and finish; the vault is dropped when the last one does.
pub struct VaultHandle {
    api: std::sync::RwLock<Option<std::sync::Arc<dyn VaultApi>>>,
}

impl VaultHandle {
    /// A handle to an open vault.
    pub fn new(api: std::sync::Arc<dyn VaultApi>) -> Self {
        VaultHandle {
            api: std::sync::RwLock::new(Some(api)),
        }
    }

    /// The vault; `invalid` (field `vault`) once closed.
    pub fn get(&self) -> Result<std::sync::Arc<dyn VaultApi>> {
        self.api
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                crate::Error::invalid("vault", "the vault is closed; open or connect again")
            })
    }

    /// Closes the handle and returns the vault it held (to drop where convenient), or `None`
    /// when it was already closed.
    pub fn close(&self) -> Option<std::sync::Arc<dyn VaultApi>> {
        self.api
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }

    /// Whether [`VaultHandle::close`] ran.
    pub fn is_closed(&self) -> bool {
        self.api
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> JsonObject {
        let mut v = Value::from(1);
        for _ in 1..levels {
            v = Value::Array(vec![v]);
        }
        let mut m = JsonObject::new();
        m.insert("a".into(), v);
        m
    }

    #[test]
    fn depth_counts_the_object_as_level_one() {
        assert!(check_json_depth("params", &JsonObject::new()).is_ok());
        assert!(check_json_depth("params", &nested(1)).is_ok());
        assert!(check_json_depth("params", &nested(MAX_JSON_DEPTH)).is_ok());
        let e = check_json_depth("params", &nested(MAX_JSON_DEPTH + 1)).expect_err("deep");
        assert_eq!(
            e.to_string(),
            "invalid params: must be nested at most 32 levels deep"
        );
    }
}
