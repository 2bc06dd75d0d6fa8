//! What every operation receives: who is calling ([`Caller`]), the barrier and the clock, and
//! the one choke point ([`Ctx::run`]) every family operation passes through.
//!
//! The choke point is where a caller's policy is checked before the operation and where its
//! audit entry is written after it; no surface checks policy or writes audit itself.

use std::future::Future;
use std::sync::Arc;

use crate::clock::Clock;
use crate::crypto::Barrier;
use crate::error::{Error, Result};
use crate::tokens::Policy;

/// Who is calling an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Caller {
    /// The process that embeds the vault (a Rust program, or Python/Node in-process).
    Embedded,
    /// The server's root token (`VVAULT_SERVICE_TOKEN`): everything is allowed.
    Root,
    /// A token with rules (its public id, name and policy).
    Token {
        /// Public id, e.g. `tok_...`.
        id: String,
        /// Human name given at creation.
        name: String,
        /// What it may do.
        policy: Arc<Policy>,
    },
}

impl Caller {
    /// The id recorded for this caller: `embedded`, `root`, or the token id.
    pub fn id(&self) -> &str {
        match self {
            Caller::Embedded => "embedded",
            Caller::Root => "root",
            Caller::Token { id, .. } => id,
        }
    }
}

/// What an operation does to its resource, in the terms policies are written in. A family
/// that needs its own capability adds a variant here (and to [`Capability::ALL`]); the policy
/// engine does not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "&'static str")]
#[non_exhaustive]
pub enum Capability {
    /// Read a value.
    Read,
    /// Create or change.
    Write,
    /// Remove.
    Delete,
    /// Enumerate names (never values).
    List,
    /// Manage: create and revoke tokens.
    Admin,
}

impl Capability {
    /// Every capability, in the order they are documented.
    pub const ALL: [Capability; 5] = [
        Capability::Read,
        Capability::Write,
        Capability::Delete,
        Capability::List,
        Capability::Admin,
    ];

    /// The name used in rules: `read`, `write`, `delete`, `list`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::Write => "write",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Admin => "admin",
        }
    }
}

impl From<Capability> for &'static str {
    fn from(c: Capability) -> Self {
        c.as_str()
    }
}

impl std::str::FromStr for Capability {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Capability::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "capabilities",
                    format!(
                        "unknown capability (known: {})",
                        Capability::ALL.map(Capability::as_str).join(", ")
                    ),
                )
            })
    }
}

impl TryFrom<String> for Capability {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

/// One operation as the choke point sees it: its name, what it does, and the resource path
/// it touches (`credentials/<service>/<key>`, `configs/<service>/<strategy_id>`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// Stable operation name, e.g. `credentials.get`.
    pub name: &'static str,
    /// What it does.
    pub capability: Capability,
    /// The resource path.
    pub resource: String,
}

impl Operation {
    /// An operation `name` doing `capability` on `resource`.
    pub fn new(name: &'static str, capability: Capability, resource: String) -> Self {
        Operation {
            name,
            capability,
            resource,
        }
    }
}

/// What an opened vault shares: the barrier over the store and the clock.
pub(crate) struct Core {
    pub(crate) barrier: Barrier,
    pub(crate) clock: Arc<dyn Clock>,
}

/// An opened vault seen by one caller. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Ctx {
    core: Arc<Core>,
    caller: Arc<Caller>,
}

impl Ctx {
    pub(crate) fn new(core: Arc<Core>, caller: Caller) -> Self {
        Ctx {
            core,
            caller: Arc::new(caller),
        }
    }

    /// The same vault seen by another caller.
    pub(crate) fn with_caller(&self, caller: Caller) -> Self {
        Ctx::new(self.core.clone(), caller)
    }

    pub(crate) fn caller(&self) -> &Caller {
        &self.caller
    }

    pub(crate) fn barrier(&self) -> &Barrier {
        &self.core.barrier
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.core.clock.as_ref()
    }

    /// The choke point: checks that the caller may do `op`, runs `work`, and records the
    /// outcome. Every family operation goes through here.
    pub(crate) async fn run<T, F>(&self, op: Operation, work: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        if let Err(denied) = self.admit(&op).await {
            self.record(&op, Some(denied.code()));
            return Err(denied);
        }
        let outcome = work.await;
        self.record(&op, outcome.as_ref().err().map(|e| e.code()));
        outcome
    }

    /// A token caller's token is still live (checked at every operation, so a revocation or
    /// an expiry applies to long-lived handles too) and its policy allows `op`.
    async fn admit(&self, op: &Operation) -> Result<()> {
        if let Caller::Token { id, .. } = &*self.caller {
            crate::tokens::check_live(self.barrier(), id, self.clock().now().as_millis()).await?;
        }
        self.require(op.capability, &op.resource)
    }

    /// [`Ctx::run`] for an operation every caller may do (a token reading its own info):
    /// recorded, not checked.
    pub(crate) async fn run_unchecked<T, F>(&self, op: Operation, work: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        if let Caller::Token { id, .. } = &*self.caller
            && let Err(e) =
                crate::tokens::check_live(self.barrier(), id, self.clock().now().as_millis()).await
        {
            self.record(&op, Some(e.code()));
            return Err(e);
        }
        let outcome = work.await;
        self.record(&op, outcome.as_ref().err().map(|e| e.code()));
        outcome
    }

    /// Whether the caller may do `capability` on `path` (see [`Policy::allows`] for `*`
    /// segments). The process embedding the vault and the root token may do everything.
    pub(crate) fn allows(&self, capability: Capability, path: &str) -> bool {
        match &*self.caller {
            Caller::Embedded | Caller::Root => true,
            Caller::Token { policy, .. } => policy.allows(capability, path),
        }
    }

    /// `forbidden`, naming the capability and path (never the rules), unless the caller may
    /// do `capability` on `path`. Operations whose exact path is known only inside (a
    /// credential's service resolved from its key) call this again with it.
    pub(crate) fn require(&self, capability: Capability, path: &str) -> Result<()> {
        if self.allows(capability, path) {
            return Ok(());
        }
        let who = match &*self.caller {
            Caller::Token { id, name, .. } => format!("token {id} ({name})"),
            other => other.id().to_string(),
        };
        Err(Error::Forbidden(format!(
            "{who} may not {} {path}",
            capability.as_str()
        )))
    }

    /// Audit entry (names and outcome, never values). The audit log comes with its own
    /// change; until then the decision goes to the debug log only.
    fn record(&self, op: &Operation, error_code: Option<&str>) {
        tracing::debug!(
            target: "vault_core::audit",
            caller = self.caller.id(),
            op = op.name,
            resource = %op.resource,
            outcome = error_code.unwrap_or("ok"),
        );
    }
}
