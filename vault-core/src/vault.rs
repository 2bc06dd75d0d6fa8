//! The [`Vault`] facade and its builder: opens a store behind the crypto barrier and hands out
//! the families, each seen by one [`Caller`].

use std::sync::Arc;

use async_trait::async_trait;

use crate::api::{Health, HealthStatus, VaultApi};
use crate::audit::{Audit, AuditApi};
use crate::clock::{Clock, SystemClock};
use crate::configs::{Configs, ConfigsApi};
use crate::constructs::{Constructs, ConstructsApi};
use crate::context::{Caller, Core, Ctx, Origin};
use crate::credentials::{Credentials, CredentialsApi};
use crate::crypto::{Barrier, KdfParams, RootKeySource};
use crate::error::{Error, Result};
use crate::jobs::{Jobs, JobsApi};
use crate::store::SharedStore;
use crate::tokens::{Tokens, TokensApi};

/// An open, unlocked vault seen by one caller ([`Caller::Embedded`] unless
/// [`Vault::with_caller`] says otherwise). Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Vault {
    ctx: Ctx,
    credentials: Credentials,
    configs: Configs,
    constructs: Constructs,
    guards: crate::guards::Guards,
    tokens: Tokens,
    audit: Audit,
    jobs: Jobs,
    inference: crate::inference::Inference,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.ctx.barrier().backend_name())
            .field("caller", self.ctx.caller())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Vault`].
///
/// Defaults: no store (required), no key (required), [`SystemClock`], and
/// [`KdfParams::default`] (Argon2id t=1, 46 MiB) for a passphrase vault created by this open.
pub struct VaultBuilder {
    store: Option<SharedStore>,
    key: Option<RootKeySource>,
    clock: Arc<dyn Clock>,
    kdf: KdfParams,
    value_keys: Option<crate::crypto::ValueKeys>,
}

impl VaultBuilder {
    /// The store to open.
    pub fn store(mut self, store: SharedStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The root key (or passphrase).
    pub fn key(mut self, key: RootKeySource) -> Self {
        self.key = Some(key);
        self
    }

    /// The clock every timestamp and time rule reads.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Argon2id cost used when this open creates a passphrase vault.
    pub fn kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }

    /// Test support: credential value keys in the slot file at `path`, as
    /// `Vault::open_dir` keeps them, over any store.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn value_key_file_for_tests(mut self, path: &std::path::Path) -> Result<Self> {
        self.value_keys = Some(crate::crypto::ValueKeys::file(path)?);
        Ok(self)
    }

    /// Unlocks (or initialises) the vault. `wrong_key` when the key does not open its data.
    pub async fn open(self) -> Result<Vault> {
        let store = self
            .store
            .ok_or_else(|| Error::invalid("store", "a store is required"))?;
        let key = self.key.ok_or_else(|| {
            Error::invalid("encryption_key", "a root key or passphrase is required")
        })?;
        // Subscribed before the unlock: no commit of another process after it is missed.
        let changes = store.changes(crate::configs::embedded::REVISION_PREFIX);
        let barrier = Barrier::unlock(store, &key, self.kdf).await?;
        let value_keys = match self.value_keys {
            Some(vk) => {
                check_value_key_file(&barrier, &vk).await?;
                vk
            }
            None => crate::crypto::ValueKeys::in_store(&barrier).await?,
        };
        let core = Arc::new(Core {
            barrier,
            clock: self.clock,
            flusher: std::sync::Mutex::new(None),
            configs: crate::configs::signals::ConfigSignals::new(),
            turns: crate::locks::Turns::new(),
            value_keys,
            guards_opened: Default::default(),
        });
        spawn_audit_flusher(&core);
        if let Some(changes) = changes {
            spawn_change_follower(&core, changes);
        }
        Ok(Vault::from_ctx(Ctx::new(core, Caller::Embedded)))
    }
}

/// Where the store records the id of its value key file.
const VALUE_KEY_FILE_RECORD: &[u8] = b"sys/vk-file";

/// The value key file `vk` is the one this store was written with: recorded at the first open
/// with a file, refused when it differs (a lost file recreated empty would otherwise turn every
/// value into a "destroyed" one).
async fn check_value_key_file(barrier: &Arc<Barrier>, vk: &crate::crypto::ValueKeys) -> Result<()> {
    let Some(id) = vk.file_id() else {
        return Ok(());
    };
    match barrier.read(VALUE_KEY_FILE_RECORD).await? {
        Some(opened) if opened.plain.as_slice() == id.as_bytes() => Ok(()),
        Some(_) => Err(Error::BackendUnavailable(format!(
            "the value key file ({}) is not the one this vault's store was written with: it \
             was lost or replaced; put back the one backed up with the store",
            crate::data_dir::VALUE_KEYS_FILE
        ))),
        None => {
            let sealed = barrier.seal(VALUE_KEY_FILE_RECORD, id.as_bytes())?;
            let written = barrier
                .commit(
                    vec![crate::store::Condition::Absent(
                        VALUE_KEY_FILE_RECORD.to_vec(),
                    )],
                    vec![crate::store::Write::Put(
                        VALUE_KEY_FILE_RECORD.to_vec(),
                        sealed,
                    )],
                )
                .await?;
            if written {
                Ok(())
            } else {
                Err(Error::Conflict(
                    "the value key file was recorded concurrently; open again".into(),
                ))
            }
        }
    }
}

impl Vault {
    /// A builder; see [`VaultBuilder`] for the defaults.
    pub fn builder() -> VaultBuilder {
        VaultBuilder {
            store: None,
            key: None,
            clock: Arc::new(SystemClock),
            kdf: KdfParams::default(),
            value_keys: None,
        }
    }

    fn from_ctx(ctx: Ctx) -> Vault {
        Vault {
            credentials: Credentials::new(ctx.clone()),
            configs: Configs::new(ctx.clone()),
            constructs: Constructs::new(ctx.clone()),
            guards: crate::guards::Guards::new(ctx.clone()),
            tokens: Tokens::new(ctx.clone()),
            audit: Audit::new(ctx.clone()),
            jobs: Jobs::new(ctx.clone()),
            inference: crate::inference::Inference::new(ctx.clone()),
            ctx,
        }
    }

    /// Opens the embedded vault in data directory `dir` (sled in `dir/store`), creating it when
    /// missing. With `key: None` it runs in dev mode: a random root key in `dir/root.key`.
    #[cfg(feature = "sled")]
    pub async fn open_dir(
        dir: impl AsRef<std::path::Path>,
        key: Option<RootKeySource>,
    ) -> Result<(Vault, Option<crate::data_dir::DevKey>)> {
        use crate::data_dir::{STORE_DIR, VALUE_KEYS_FILE, create_private_dir, key_for_dir};
        let dir = dir.as_ref();
        create_private_dir(dir)?;
        let (key, dev) = key_for_dir(dir, key)?;
        let store = crate::store::SledStore::open(dir.join(STORE_DIR))?;
        // Opened after the store, whose lock keeps a second process out of the directory.
        let value_keys = crate::crypto::ValueKeys::file(&dir.join(VALUE_KEYS_FILE))?;
        let mut builder = Vault::builder().store(Arc::new(store)).key(key);
        builder.value_keys = Some(value_keys);
        let vault = builder.open().await?;
        Ok((vault, dev))
    }

    /// Opens the vault at `location`: a PostgreSQL database when it is a `postgres://` (or
    /// `postgresql://`) URL (see [`Vault::open_postgres`]: the key is required, `invalid`
    /// without it), else the data directory at that path (see [`Vault::open_dir`]: dev mode
    /// without a key). What the bindings' `open` does with the location they are given.
    #[cfg(feature = "sled")]
    pub async fn open_location(
        location: &str,
        key: Option<RootKeySource>,
    ) -> Result<(Vault, Option<crate::data_dir::DevKey>)> {
        if !is_postgres_url(location) {
            return Vault::open_dir(location, key).await;
        }
        let Some(key) = key else {
            return Err(Error::invalid(
                "encryption_key",
                "is required with a PostgreSQL store (no data directory to keep a dev-mode key \
                 in)",
            ));
        };
        #[cfg(feature = "postgres")]
        return Ok((Vault::open_postgres(location, key).await?, None));
        #[cfg(not(feature = "postgres"))]
        {
            drop(key);
            Err(Error::invalid(
                "path",
                "this build has no PostgreSQL store (vault-core's `postgres` feature)",
            ))
        }
    }

    /// Opens the vault in the PostgreSQL database at `url` (`postgres://...`), creating or
    /// migrating its schema; several processes may open the same database at once. There is no
    /// dev mode: the root key is required. `backend_unavailable` when the database cannot be
    /// reached.
    #[cfg(feature = "postgres")]
    pub async fn open_postgres(url: &str, key: RootKeySource) -> Result<Vault> {
        let store = crate::store::PgStore::open(url).await?;
        Vault::builder()
            .store(Arc::new(store))
            .key(key)
            .open()
            .await
    }

    /// The same vault seen by `caller`: every operation through the returned handle is checked
    /// and recorded as that caller's.
    pub fn with_caller(&self, caller: Caller) -> Vault {
        Vault::from_ctx(self.ctx.with_caller(caller))
    }

    /// The same vault seen by the holder of `token` (a `vault_sk_...` token): its rules apply
    /// exactly as they would through the server. `unauthorized` when the token is unknown,
    /// revoked or expired, then and at every later operation of the handle.
    pub async fn with_token(&self, token: &str) -> Result<Vault> {
        let caller = self.tokens.authenticate(token).await?;
        Ok(self.with_caller(caller))
    }

    /// The same vault and caller, with operations recorded as coming from `origin` (a
    /// server's request id and client address) in the audit log.
    pub fn with_origin(&self, origin: Origin) -> Vault {
        Vault::from_ctx(self.ctx.with_origin(origin))
    }

    /// Records a failed authentication a surface decided itself (no token, or one that is not
    /// the vault's): op and path `auth`, actor `anonymous`, outcome `outcome` (an error code).
    /// Failures of `vault_sk_` tokens are recorded by [`Tokens::authenticate`].
    pub async fn record_failed_auth(&self, outcome: &str) -> Result<()> {
        self.ctx.record_failed_auth(None, outcome).await
    }

    /// Records a request a surface refused before it became an operation (a body or query
    /// that did not parse, a bad name in the path): op `request`, path the route template,
    /// outcome the error code, actor this handle's caller. A server calls it when no
    /// operation of the request was recorded (see [`Origin::recorded`]).
    pub async fn record_rejected(&self, route: &str, outcome: &str) -> Result<()> {
        self.ctx.record_rejected(route, outcome).await
    }

    /// The time by this vault's clock (what its time rules read).
    pub fn now(&self) -> crate::clock::Timestamp {
        self.ctx.clock().now()
    }

    /// Who this handle's operations are attributed to.
    pub fn caller(&self) -> &Caller {
        self.ctx.caller()
    }

    /// Credentials: encrypted secrets of external services.
    pub fn credentials(&self) -> &Credentials {
        &self.credentials
    }

    /// Strategy configs: versioned, compare-and-set.
    pub fn configs(&self) -> &Configs {
        &self.configs
    }

    /// Constructs: capsules, identity files and transcripts of AI personas.
    pub fn constructs(&self) -> &Constructs {
        &self.constructs
    }

    /// Trading guards: policies, decide-and-claim, executions, trading states, overrides.
    pub fn guards(&self) -> &crate::guards::Guards {
        &self.guards
    }

    /// Tokens with scoped policies (and [`Tokens::authenticate`] for servers).
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The audit log: query, verify, export.
    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// Scheduler jobs: due jobs handed to one instance at a time under a lease.
    pub fn jobs(&self) -> &Jobs {
        &self.jobs
    }

    /// Inference: the models this caller may call, and the calls (admitted against its token's
    /// limits, counted in the usage log).
    pub fn inference(&self) -> &crate::inference::Inference {
        &self.inference
    }

    /// Test support: commits waiting for the group commit in flight (see the barrier's group
    /// commit), so a test can tell that writers have queued without timing them.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn queued_commits_for_tests(&self) -> usize {
        self.ctx.barrier().queued_commits()
    }

    /// Ends the config watches waiting now and refuses later ones (`unavailable`): for a
    /// server shutting down, so long-polls do not hold it to its deadline. [`Vault::close`]
    /// does it too.
    pub fn end_watches(&self) {
        self.ctx.core().configs.end();
    }

    /// Test support: config watches waiting for a change, so a test can write once a watch is
    /// parked without timing it.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn config_watchers_for_tests(&self) -> usize {
        self.ctx.core().configs.receivers()
    }

    /// Commits the queued audit entries and makes every acknowledged write durable; call at
    /// shutdown (entries of reads since the last commit are otherwise lost with the process).
    pub async fn flush(&self) -> Result<()> {
        self.ctx.barrier().flush().await
    }

    /// Stops the audit flusher (waiting for a commit it is making), then [`Vault::flush`]es. Call
    /// it before dropping the last handle when the data directory is to be reopened at once:
    /// otherwise a flush running at that moment keeps the store open (and its directory
    /// locked) for the few milliseconds it takes. The vault stays usable; its queued entries
    /// are then committed by writes and flushes only.
    pub async fn close(&self) -> Result<()> {
        self.end_watches();
        let flusher = self
            .ctx
            .core()
            .flusher
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        if let Some((stop, task)) = flusher {
            stop.notify_one();
            // A flusher that panicked has nothing left to finish.
            let _ = task.await;
        }
        let flushed = self.flush().await;
        let freed = self.ctx.value_keys().close().await;
        flushed.and(freed)
    }

    /// Health: the store answers and the canary still opens with this vault's key (else
    /// `down`); `degraded` when credentials are overdue for rotation (their count is given).
    pub async fn health(&self) -> Health {
        let barrier = self.ctx.barrier();
        let check = barrier.check().await;
        let mut components = std::collections::BTreeMap::new();
        components.insert(
            "store".to_string(),
            if check.is_ok() { "connected" } else { "error" }.to_string(),
        );
        components.insert("backend".to_string(), barrier.backend_name().to_string());
        components.insert("encryption".to_string(), "unsealed".to_string());
        let now = self.ctx.clock().now();
        let overdue = match &check {
            Ok(()) => crate::credentials::count_overdue(barrier, now).await,
            Err(e) => Err(e.clone()),
        };
        let (status, message) = match (&check, &overdue) {
            // The store cannot be reached now, and the vault goes on once it can.
            (Err(e @ Error::BackendUnavailable(_)), _)
            | (Ok(()), Err(e @ Error::BackendUnavailable(_)))
                if !barrier.failed_closed() =>
            {
                components.insert("store".to_string(), "unreachable".to_string());
                (
                    HealthStatus::Degraded,
                    format!(
                        "the store is unreachable; operations answer backend_unavailable until it is back: {e}"
                    ),
                )
            }
            (Err(e), _) | (Ok(()), Err(e)) => {
                (HealthStatus::Down, format!("the vault is down: {e}"))
            }
            (Ok(()), Ok(0)) => (HealthStatus::Ok, "vault is healthy".to_string()),
            (Ok(()), Ok(n)) => (
                HealthStatus::Degraded,
                format!("{n} credential(s) overdue for rotation"),
            ),
        };
        Health {
            status,
            components,
            message,
            version: env!("CARGO_PKG_VERSION").to_string(),
            timestamp: now,
            overdue_credentials: overdue.unwrap_or(0),
        }
    }
}

/// Whether `location` names a PostgreSQL database (`postgres://` or `postgresql://`) rather
/// than a data directory.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// Commits queued audit entries every [`FLUSH_EVERY`](crate::audit::FLUSH_EVERY) while the
/// vault is open (on the tokio runtime that opened it; without one, entries are committed by
/// writes and [`Vault::flush`] only).
fn spawn_audit_flusher(core: &Arc<Core>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(core);
    let stop = Arc::new(tokio::sync::Notify::new());
    let stopped = stop.clone();
    let task = runtime.spawn(async move {
        let mut tick = tokio::time::interval(crate::audit::FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = stopped.notified() => break,
            }
            let Some(core) = weak.upgrade() else { break };
            if let Err(e) = core.barrier.commit_audit().await {
                tracing::error!(error = %e, "audit entries could not be committed");
                if core.barrier.failed_closed() {
                    // Failing closed: every later operation is refused and there is nothing
                    // more to commit.
                    break;
                }
                // Otherwise (a transient conflict, or a store unreachable for now) the entries
                // are queued again: next tick.
            }
        }
    });
    *core
        .flusher
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((stop, task));
}

/// Wakes this vault's config watches when another process sharing the store (a server on the
/// same PostgreSQL database) commits a config write: the store's change feed of revision keys.
/// Ends with the store's feed (when the last handle of the vault is dropped).
fn spawn_change_follower(core: &Arc<Core>, mut changes: tokio::sync::broadcast::Receiver<Vec<u8>>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = Arc::downgrade(core);
    runtime.spawn(async move {
        loop {
            let key = match changes.recv().await {
                Ok(key) => Some(key),
                // Missed some: wake every watch, each re-reads its revision.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => None,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let Some(core) = weak.upgrade() else { return };
            let service = key.as_deref().and_then(|k| {
                k.strip_prefix(crate::configs::embedded::REVISION_PREFIX)
                    .and_then(|s| std::str::from_utf8(s).ok())
            });
            match service {
                Some(service) if !service.is_empty() => core.configs.changed(service),
                _ => core.configs.changed_all(),
            }
        }
    });
}

#[async_trait]
impl VaultApi for Vault {
    fn credentials(&self) -> &dyn CredentialsApi {
        &self.credentials
    }

    fn configs(&self) -> &dyn ConfigsApi {
        &self.configs
    }

    fn constructs(&self) -> &dyn ConstructsApi {
        &self.constructs
    }

    fn tokens(&self) -> &dyn TokensApi {
        &self.tokens
    }

    fn audit(&self) -> &dyn AuditApi {
        &self.audit
    }

    fn guards(&self) -> &dyn crate::guards::GuardsApi {
        &self.guards
    }

    fn jobs(&self) -> &dyn JobsApi {
        &self.jobs
    }

    async fn close(&self) -> Result<()> {
        Vault::close(self).await
    }

    async fn health(&self) -> Result<Health> {
        Ok(Vault::health(self).await)
    }
}
