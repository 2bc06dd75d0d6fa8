//! What every operation receives: who is calling ([`Caller`]), the barrier and the clock, and
//! the one choke point ([`Ctx::run`]) every family operation passes through.
//!
//! The choke point is where a caller's policy is checked before the operation and where its
//! audit entry is written after it. Today every caller may do everything and no audit log
//! exists yet; the tokens/audit family plugs in here (and only here), so no surface checks
//! policy or writes audit itself.

use std::future::Future;
use std::sync::Arc;

use crate::clock::Clock;
use crate::crypto::Barrier;
use crate::error::Result;

/// Who is calling an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Caller {
    /// The process that embeds the vault (a Rust program, or Python/Node in-process).
    Embedded,
    /// The server's root token (`VVAULT_SERVICE_TOKEN`): everything is allowed.
    Root,
    /// A named token (its public id and name).
    Token {
        /// Public id, e.g. `tok_...`.
        id: String,
        /// Human name given at creation.
        name: String,
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

/// What an operation does to its resource, in the terms policies are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
        self.authorize(&op)?;
        let outcome = work.await;
        self.record(&op, outcome.as_ref().err().map(|e| e.code()));
        outcome
    }

    /// Policy check. Every caller may do everything until tokens with rules exist.
    fn authorize(&self, _op: &Operation) -> Result<()> {
        Ok(())
    }

    /// Audit entry (names and outcome, never values). No audit log exists yet: the decision
    /// goes to the debug log only.
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
