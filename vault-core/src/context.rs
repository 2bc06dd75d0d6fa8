//! What every operation receives: who is calling ([`Caller`]), the barrier and the clock, and
//! the one choke point ([`Ctx::run`]) every family operation passes through.
//!
//! The choke point is where a caller's policy is checked before the operation and where its
//! audit entry is written after it; no surface checks policy or writes audit itself.

use std::future::Future;
use std::sync::Arc;

use crate::audit::chain::{CURRENT_OP, Draft, OpSlot};
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

    /// The name recorded for this caller: `embedded`, `root`, or the token's name.
    pub fn name(&self) -> &str {
        match self {
            Caller::Embedded => "embedded",
            Caller::Root => "root",
            Caller::Token { name, .. } => name,
        }
    }
}

/// Where a request came from, for its audit entries: the request id and the client's address.
/// In-process callers have none (their entries say `embedded`).
#[derive(Debug, Clone)]
pub struct Origin {
    /// The request id (an HTTP server's `X-Request-Id`).
    pub request_id: Option<String>,
    /// The client's address.
    pub client: String,
    /// Set once an operation of this request made its audit entry (shared by clones).
    recorded: Arc<std::sync::atomic::AtomicBool>,
}

impl Origin {
    /// A request `request_id` from `client`.
    pub fn new(request_id: Option<String>, client: String) -> Origin {
        Origin {
            request_id,
            client,
            recorded: Arc::default(),
        }
    }

    /// Whether an operation of this request (of this origin or a clone) made an audit entry:
    /// when none did, the server records the request's rejection itself.
    pub fn recorded(&self) -> bool {
        self.recorded.load(std::sync::atomic::Ordering::SeqCst)
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
    /// Manage: create and revoke tokens; set guard policies and trading states.
    Admin,
    /// Guards: submit a trade proposal (what a strategy or a model's tool may do).
    Propose,
    /// Guards: decide and claim an execution, report its outcome; run scheduler jobs.
    Execute,
    /// Guards: override a cooldown or anti-flip for one proposal, and propose `risk_exit`s.
    Override,
    /// Inference: call a model (`llm/<model>`) through the gateway.
    Invoke,
}

impl Capability {
    /// Every capability, in the order they are documented.
    pub const ALL: [Capability; 9] = [
        Capability::Read,
        Capability::Write,
        Capability::Delete,
        Capability::List,
        Capability::Admin,
        Capability::Propose,
        Capability::Execute,
        Capability::Override,
        Capability::Invoke,
    ];

    /// The name used in rules: `read`, `write`, `delete`, `list`, `admin`, `propose`,
    /// `execute`, `override`, `invoke`.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Read => "read",
            Capability::Write => "write",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Admin => "admin",
            Capability::Propose => "propose",
            Capability::Execute => "execute",
            Capability::Override => "override",
            Capability::Invoke => "invoke",
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
    pub(crate) barrier: Arc<Barrier>,
    pub(crate) clock: Arc<dyn Clock>,
    /// The audit flusher's stop signal and task (see `Vault::close`).
    pub(crate) flusher:
        std::sync::Mutex<Option<(Arc<tokio::sync::Notify>, tokio::task::JoinHandle<()>)>>,
    /// Config change signals and watch bounds.
    pub(crate) configs: crate::configs::signals::ConfigSignals,
    /// Turns of writers of one contended key (see `crate::locks`).
    pub(crate) turns: crate::locks::Turns,
    /// Where credential versions' value keys live (see `crate::crypto::ValueKeys`).
    pub(crate) value_keys: crate::crypto::ValueKeys,
    /// Policy and asset records the guards opened or wrote (see `crate::guards::cache`).
    pub(crate) guards_opened: crate::guards::cache::Opened,
}

/// An opened vault seen by one caller. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Ctx {
    core: Arc<Core>,
    caller: Arc<Caller>,
    origin: Option<Arc<Origin>>,
}

impl Ctx {
    pub(crate) fn new(core: Arc<Core>, caller: Caller) -> Self {
        Ctx {
            core,
            caller: Arc::new(caller),
            origin: None,
        }
    }

    /// The same vault seen by another caller (from the same origin).
    pub(crate) fn with_caller(&self, caller: Caller) -> Self {
        Ctx {
            core: self.core.clone(),
            caller: Arc::new(caller),
            origin: self.origin.clone(),
        }
    }

    /// The same caller, from `origin`.
    pub(crate) fn with_origin(&self, origin: Origin) -> Self {
        Ctx {
            core: self.core.clone(),
            caller: self.caller.clone(),
            origin: Some(Arc::new(origin)),
        }
    }

    pub(crate) fn caller(&self) -> &Caller {
        &self.caller
    }

    pub(crate) fn core(&self) -> &Core {
        &self.core
    }

    pub(crate) fn barrier(&self) -> &Arc<Barrier> {
        &self.core.barrier
    }

    pub(crate) fn value_keys(&self) -> &crate::crypto::ValueKeys {
        &self.core.value_keys
    }

    pub(crate) fn clock(&self) -> &dyn Clock {
        self.core.clock.as_ref()
    }

    /// The choke point: checks that the caller may do `op`, runs `work`, and records the
    /// outcome in the audit log. A write's entry goes into the write's own commit (the barrier
    /// takes it from this task); any other outcome (a read, a denial, a failure) is queued for
    /// the next commit. An operation whose entry cannot be written fails.
    pub(crate) async fn run<T, F>(&self, op: Operation, work: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        if let Err(denied) = self.admit(&op).await {
            self.record(&op, denied.code()).await?;
            return Err(denied);
        }
        self.run_recorded(&op, work).await
    }

    /// Runs `work` with `op`'s entry available to its commit, then records the outcome unless
    /// a commit carried the entry.
    async fn run_recorded<T, F>(&self, op: &Operation, work: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        let slot = OpSlot::new(self.draft(op, "ok"));
        let outcome = CURRENT_OP.scope(slot.clone(), work).await;
        if let Some(mut draft) = slot.take() {
            // An answer that is not an error keeps the outcome the work set (a budget's
            // refusal is `budget_exhausted`), `ok` by default.
            if let Err(e) = &outcome {
                draft.outcome = e.code().to_string();
            }
            self.barrier().audit_later(draft).await?;
        }
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
            self.record(&op, e.code()).await?;
            return Err(e);
        }
        self.run_recorded(&op, work).await
    }

    /// `unauthorized` when the caller is a token that was revoked or expired since the
    /// operation was admitted: for an operation that waits (a watch) before it answers.
    pub(crate) async fn check_still_live(&self) -> Result<()> {
        if let Caller::Token { id, .. } = &*self.caller {
            crate::tokens::check_live(self.barrier(), id, self.clock().now().as_millis()).await?;
        }
        Ok(())
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
        Err(self.forbidden(capability, path))
    }

    /// `forbidden`: the caller may not do `capability` on `what` (a path, or words standing
    /// for paths it must not learn).
    pub(crate) fn forbidden(&self, capability: Capability, what: &str) -> Error {
        let who = match &*self.caller {
            Caller::Token { id, name, .. } => format!("token {id} ({name})"),
            other => other.id().to_string(),
        };
        Error::Forbidden(format!("{who} may not {} {what}", capability.as_str()))
    }

    /// Tells the running operation's audit entry the exact resource path it touches, when
    /// that was resolved inside it (a credential's service found from its key).
    pub(crate) fn resolved(&self, path: String) {
        crate::audit::chain::set_current_path(path);
    }

    /// The audit entry of `op` by this caller with `outcome`, not yet in a chain.
    pub(crate) fn draft(&self, op: &Operation, outcome: &str) -> Draft {
        if let Some(o) = &self.origin {
            o.recorded.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        Draft {
            time: self.clock().now(),
            request_id: self.origin.as_ref().and_then(|o| o.request_id.clone()),
            actor_id: self.caller.id().to_string(),
            actor_name: self.caller.name().to_string(),
            op: op.name.to_string(),
            path: op.resource.clone(),
            outcome: outcome.to_string(),
            client: self
                .origin
                .as_ref()
                .map_or_else(|| "embedded".to_string(), |o| o.client.clone()),
        }
    }

    /// Queues the audit entry of a failed authentication: op and path `auth`, the actor the
    /// token's id and name when the token presented is known (revoked, expired), `anonymous`
    /// otherwise.
    pub(crate) async fn record_failed_auth(
        &self,
        actor: Option<(String, String)>,
        outcome: &str,
    ) -> Result<()> {
        let mut draft = self.draft(
            &Operation::new("auth", Capability::Read, "auth".into()),
            outcome,
        );
        (draft.actor_id, draft.actor_name) =
            actor.unwrap_or_else(|| ("anonymous".into(), String::new()));
        self.barrier().audit_later(draft).await
    }

    /// Queues the audit entry of a request a surface refused before it became an operation
    /// (its input did not parse): op `request`, path the route (e.g.
    /// `/api/vault/credentials/{key}`), outcome the error code answered.
    pub(crate) async fn record_rejected(&self, route: &str, outcome: &str) -> Result<()> {
        let op = Operation::new("request", Capability::Read, route.to_string());
        self.record(&op, outcome).await
    }

    /// Queues the audit entry of `op` with `outcome` (names and outcome, never values).
    pub(crate) async fn record(&self, op: &Operation, outcome: &str) -> Result<()> {
        self.barrier().audit_later(self.draft(op, outcome)).await
    }
}
