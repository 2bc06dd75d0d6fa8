//! The shared [`Store`]: PostgreSQL, for several servers (or embedded workers) on one database.
//!
//! # Client
//!
//! `tokio-postgres` with `deadpool-postgres`'s small pool, not sqlx: measured on the build
//! machine it compiles in half the time with half the crates, has no proc macros and needs no
//! database at compile time (`docs/research` toolchain notes: 26 s / 67 units against 52 s /
//! 127 for sqlx 0.9, which also needs rustc 1.94). The store needs a handful of fixed statements,
//! which is what tokio-postgres is for.
//!
//! # Schema
//!
//! One table, `vault_kv (key bytea PRIMARY KEY, value bytea NOT NULL)`: the ordered byte map.
//! `bytea` compares byte-wise (no collation), which is the order of the store contract, so a
//! scan is one index range: `key >= start AND key < prefix_end ORDER BY key LIMIT n`. The
//! schema is created and migrated by [`PgStore::open`]: numbered migrations recorded in
//! `vault_schema_migrations`, applied under a session advisory lock, so two servers starting
//! together apply each migration once; a database migrated by a newer build is refused.
//!
//! # Atomic commits under concurrency
//!
//! A commit is one READ COMMITTED transaction that first takes a transaction-scoped advisory
//! lock (`pg_advisory_xact_lock`) on a 64-bit hash of every key it checks or writes, in
//! ascending hash order (so two commits never wait on each other in a cycle), then reads its
//! condition keys, and applies its writes only if every condition holds. Any two commits that
//! share a key (checked or written) are so serialised: the second one's lock is granted only
//! after the first has committed, and under READ COMMITTED its condition `SELECT`, a new
//! statement, sees that commit. A hash collision only makes two unrelated commits wait for each
//! other. Chosen over SERIALIZABLE: no retry loop (SERIALIZABLE aborts with 40001 under
//! contention, which the vault's compare-and-set loops would retry a second time on top), no
//! predicate locks for `Absent` conditions, and a conflict costs a short wait instead of a
//! round of work thrown away. The hash is FNV-1a, fixed by definition, so servers of different
//! builds agree on it.
//!
//! # Durability
//!
//! A commit returns once PostgreSQL's `COMMIT` has returned with `synchronous_commit` on: each
//! pooled connection turns it on when the server's or role's setting is `off` (`local`,
//! `remote_write`, `on` and `remote_apply` are kept: each waits at least for the local WAL
//! flush). A server running with `fsync = off` is reported with a warning at open.
//!
//! # Errors
//!
//! Every failure to reach or use the database (connection refused, the connection dropped, the
//! pool exhausted for [`PgOptions::wait_timeout`]) is `backend_unavailable`, which the HTTP
//! layer answers with 503. Messages name what failed, never the URL (it may hold a password) nor
//! a value.
//!
//! # Change feed
//!
//! [`Store::changes`] is LISTEN/NOTIFY: a commit writing a key under a prefix some subscriber of
//! this store asked for calls `pg_notify` in its transaction (delivered at commit, to every
//! server listening on the database), and one dedicated listening connection per store
//! re-broadcasts them in-process; it reconnects by itself and, after each (re)connection, sends
//! the empty key ("anything may have changed") since notifications sent while it was away are
//! lost.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Hook, HookError, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio::sync::{Notify, broadcast};
use tokio_postgres::{AsyncMessage, IsolationLevel, NoTls};

use super::{Condition, Entry, Store, Write, key_after, prefix_end};
use crate::error::{Error, Result};

/// The key of the session advisory lock held while migrations run (arbitrary, fixed).
const MIGRATION_LOCK: i64 = 0x7661_756c_745f_6d67; // "vault_mg"
/// The channel commits notify and listeners listen on.
const CHANNEL: &str = "vault_changes";

/// The schema, one migration per entry, applied in order; never edit a released one.
const MIGRATIONS: &[(i32, &str, &str)] = &[(
    1,
    "the ordered byte map",
    "CREATE TABLE vault_kv (key bytea PRIMARY KEY, value bytea NOT NULL)",
)];

/// Tuning of a [`PgStore`].
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// Most connections of the pool (the listener of the change feed is one more).
    pub max_connections: usize,
    /// How long an operation waits for a connection (connecting included) before it fails with
    /// `backend_unavailable`.
    pub wait_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            wait_timeout: Duration::from_secs(5),
        }
    }
}

/// A store in a PostgreSQL database, shared by every process that opens the same database.
/// Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    config: tokio_postgres::Config,
    feed: Feed,
}

/// The change feed: the prefixes to notify for, the in-process broadcast, the listener.
struct Feed {
    prefixes: Mutex<Vec<Vec<u8>>>,
    tx: broadcast::Sender<Vec<u8>>,
    listening: std::sync::OnceLock<()>,
    stop: Arc<Notify>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.feed.stop.notify_one();
    }
}

fn unavailable(what: &str, e: impl std::fmt::Display) -> Error {
    Error::BackendUnavailable(format!("postgres: {what}: {e}"))
}

fn db(what: &'static str) -> impl Fn(tokio_postgres::Error) -> Error {
    move |e| unavailable(what, e)
}

fn pool_error(e: deadpool_postgres::PoolError) -> Error {
    unavailable("no database connection", e)
}

/// FNV-1a, 64 bits: the advisory lock of a key. Fixed by definition, unlike std's hasher.
fn lock_id(key: &[u8]) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

/// Parses a `postgres://` URL (or a key=value connection string); `invalid` (field `store`)
/// without echoing it, as it may hold a password.
pub fn parse_url(url: &str) -> Result<tokio_postgres::Config> {
    tokio_postgres::Config::from_str(url).map_err(|_| {
        Error::invalid(
            "store",
            "not a PostgreSQL URL (expected postgres://user[:password]@host[:port]/database)",
        )
    })
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://...`), creates or migrates its schema,
    /// and checks that it answers. `backend_unavailable` when it cannot be reached.
    pub async fn open(url: &str) -> Result<PgStore> {
        PgStore::open_with(url, PgOptions::default()).await
    }

    /// [`PgStore::open`] with explicit [`PgOptions`].
    pub async fn open_with(url: &str, options: PgOptions) -> Result<PgStore> {
        let store = PgStore::connect_lazy(url, options)?;
        store.migrate().await?;
        Ok(store)
    }

    /// The store without touching the database: connections are made on first use, the schema
    /// is not checked. For a process that starts while the database is down; call
    /// [`PgStore::migrate`] before use.
    pub fn connect_lazy(url: &str, options: PgOptions) -> Result<PgStore> {
        let mut config = parse_url(url)?;
        if config.get_connect_timeout().is_none() {
            // A database behind a dropped route would otherwise hold each connect for the
            // operating system's TCP timeout (minutes).
            config.connect_timeout(options.wait_timeout);
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.wait_timeout))
            .post_create(Hook::async_fn(|client, _| {
                Box::pin(async move {
                    // Every acknowledged commit durable: only `off` returns before the WAL
                    // flush.
                    let row = client
                        .query_one("SELECT current_setting('synchronous_commit')", &[])
                        .await
                        .map_err(HookError::Backend)?;
                    let setting: String = row.get(0);
                    if setting == "off" {
                        client
                            .batch_execute("SET synchronous_commit = on")
                            .await
                            .map_err(HookError::Backend)?;
                    }
                    Ok(())
                })
            }))
            .build()
            .map_err(|e| Error::Internal(format!("postgres pool: {e}")))?;
        let (tx, _) = broadcast::channel(1024);
        Ok(PgStore {
            inner: Arc::new(Inner {
                pool,
                config,
                feed: Feed {
                    prefixes: Mutex::new(Vec::new()),
                    tx,
                    listening: std::sync::OnceLock::new(),
                    stop: Arc::new(Notify::new()),
                },
            }),
        })
    }

    /// Creates or migrates the schema (idempotent; safe from several processes at once).
    /// `backend_unavailable` when the database cannot be reached; `invalid` when it was
    /// migrated by a newer build.
    pub async fn migrate(&self) -> Result<()> {
        // A connection of its own: the session lock must be released on the same connection,
        // and closing it releases the lock if this process dies half-way.
        let (client, connection) = self
            .inner
            .config
            .connect(NoTls)
            .await
            .map_err(db("connecting for migrations"))?;
        let conn = tokio::spawn(connection);
        let result = migrate_on(&client).await;
        drop(client);
        let _ = conn.await;
        result
    }

    /// The schema version of the database (the last migration applied).
    pub async fn schema_version(&self) -> Result<i32> {
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_one(
                "SELECT coalesce(max(version), 0) FROM vault_schema_migrations",
                &[],
            )
            .await
            .map_err(db("reading the schema version"))?;
        Ok(row.get(0))
    }

    /// The value of server setting `name` as the store's pooled connections see it (e.g.
    /// `synchronous_commit`): for operators and tests.
    pub async fn session_setting(&self, name: &str) -> Result<String> {
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        let row = client
            .query_one("SELECT current_setting($1)", &[&name])
            .await
            .map_err(db("reading a setting"))?;
        Ok(row.get(0))
    }

    /// Closes the pool's connections (the change feed's listener stops too): for tests that
    /// drop the database afterwards.
    pub fn close(&self) {
        self.inner.pool.close();
        self.inner.feed.stop.notify_one();
    }

    fn notify_keys(&self, writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Vec<String> {
        let prefixes = self
            .inner
            .feed
            .prefixes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if prefixes.is_empty() {
            return Vec::new();
        }
        writes
            .keys()
            .filter(|k| prefixes.iter().any(|p| k.starts_with(p)))
            // The payload limit is 8000 bytes: a longer key is sent as "anything changed".
            .map(|k| {
                if k.len() > 3000 {
                    String::new()
                } else {
                    hex::encode(k)
                }
            })
            .collect()
    }
}

async fn migrate_on(client: &tokio_postgres::Client) -> Result<()> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db("taking the migration lock"))?;
    let result = apply_migrations(client).await;
    let unlocked = client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(db("releasing the migration lock"));
    result?;
    unlocked?;
    if let Ok(row) = client
        .query_one("SELECT current_setting('fsync')", &[])
        .await
    {
        let fsync: String = row.get(0);
        if fsync == "off" {
            tracing::warn!(
                "the PostgreSQL server runs with fsync = off: a crash of its machine can lose \
                 commits the vault acknowledged"
            );
        }
    }
    Ok(())
}

async fn apply_migrations(client: &tokio_postgres::Client) -> Result<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS vault_schema_migrations (
                version integer PRIMARY KEY,
                name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )",
        )
        .await
        .map_err(db("creating the migrations table"))?;
    let row = client
        .query_one(
            "SELECT coalesce(max(version), 0) FROM vault_schema_migrations",
            &[],
        )
        .await
        .map_err(db("reading the schema version"))?;
    let current: i32 = row.get(0);
    let latest = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > latest {
        return Err(Error::invalid(
            "store",
            format!(
                "the database's vault schema is version {current}, newer than this build's \
                 ({latest}): upgrade this server"
            ),
        ));
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        client
            .batch_execute("BEGIN")
            .await
            .map_err(db("starting a migration"))?;
        let applied = async {
            client.batch_execute(sql).await?;
            client
                .execute(
                    "INSERT INTO vault_schema_migrations (version, name) VALUES ($1, $2)",
                    &[version, name],
                )
                .await?;
            client.batch_execute("COMMIT").await
        }
        .await;
        if let Err(e) = applied {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(unavailable("applying a schema migration", e));
        }
        tracing::info!(version, name, "vault schema migration applied");
    }
    Ok(())
}

const GET: &str = "SELECT value FROM vault_kv WHERE key = $1";
const SCAN_TO: &str =
    "SELECT key, value FROM vault_kv WHERE key >= $1 AND key < $2 ORDER BY key LIMIT $3";
const SCAN_ALL: &str = "SELECT key, value FROM vault_kv WHERE key >= $1 ORDER BY key LIMIT $2";
/// One lock per row of the sorted subquery, taken in its order.
const LOCK: &str = "SELECT pg_advisory_xact_lock(id) \
                    FROM (SELECT DISTINCT id FROM unnest($1::int8[]) AS t(id) ORDER BY id) s";
const READ: &str = "SELECT key, value FROM vault_kv WHERE key = ANY($1)";
const PUT: &str = "INSERT INTO vault_kv (key, value) SELECT * FROM unnest($1::bytea[], $2::bytea[]) \
                   ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value";
const DELETE: &str = "DELETE FROM vault_kv WHERE key = ANY($1)";
const NOTIFY: &str = "SELECT pg_notify('vault_changes', k) FROM unnest($1::text[]) AS t(k)";

#[async_trait]
impl Store for PgStore {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        let stmt = client.prepare_cached(GET).await.map_err(db("get"))?;
        let row = client.query_opt(&stmt, &[&key]).await.map_err(db("get"))?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let start = match after {
            Some(a) if a >= prefix => key_after(a),
            _ => prefix.to_vec(),
        };
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.inner.pool.get().await.map_err(pool_error)?;
        let rows = match prefix_end(prefix) {
            Some(end) => {
                let stmt = client.prepare_cached(SCAN_TO).await.map_err(db("scan"))?;
                client.query(&stmt, &[&start, &end, &limit]).await
            }
            None => {
                let stmt = client.prepare_cached(SCAN_ALL).await.map_err(db("scan"))?;
                client.query(&stmt, &[&start, &limit]).await
            }
        }
        .map_err(db("scan"))?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn commit(&self, conditions: Vec<Condition>, writes: Vec<Write>) -> Result<bool> {
        // The end state of each written key (a later write to a key wins), as one upsert and
        // one delete can carry each key once only.
        let mut end: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for w in writes {
            match w {
                Write::Put(k, v) => end.insert(k, Some(v)),
                Write::Delete(k) => end.insert(k, None),
            };
        }
        let mut locks: Vec<i64> = conditions
            .iter()
            .map(|c| lock_id(c.key()))
            .chain(end.keys().map(|k| lock_id(k)))
            .collect();
        locks.sort_unstable();
        locks.dedup();
        let notify = self.notify_keys(&end);

        let mut client = self.inner.pool.get().await.map_err(pool_error)?;
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .await
            .map_err(db("commit: begin"))?;
        if !locks.is_empty() {
            let stmt = tx.prepare_cached(LOCK).await.map_err(db("commit: lock"))?;
            tx.execute(&stmt, &[&locks])
                .await
                .map_err(db("commit: lock"))?;
        }
        if !conditions.is_empty() {
            let keys: Vec<&[u8]> = conditions.iter().map(Condition::key).collect();
            let stmt = tx.prepare_cached(READ).await.map_err(db("commit: read"))?;
            let rows = tx
                .query(&stmt, &[&keys])
                .await
                .map_err(db("commit: read"))?;
            let current: BTreeMap<Vec<u8>, Vec<u8>> =
                rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
            if !conditions
                .iter()
                .all(|c| c.holds(current.get(c.key()).map(Vec::as_slice)))
            {
                // Dropping the transaction rolls it back (and releases the locks).
                tx.rollback().await.map_err(db("commit: rollback"))?;
                return Ok(false);
            }
        }
        let (mut put_keys, mut put_values, mut deletes) = (Vec::new(), Vec::new(), Vec::new());
        for (k, v) in end {
            match v {
                Some(v) => {
                    put_keys.push(k);
                    put_values.push(v);
                }
                None => deletes.push(k),
            }
        }
        if !put_keys.is_empty() {
            let stmt = tx.prepare_cached(PUT).await.map_err(db("commit: put"))?;
            tx.execute(&stmt, &[&put_keys, &put_values])
                .await
                .map_err(db("commit: put"))?;
        }
        if !deletes.is_empty() {
            let stmt = tx
                .prepare_cached(DELETE)
                .await
                .map_err(db("commit: delete"))?;
            tx.execute(&stmt, &[&deletes])
                .await
                .map_err(db("commit: delete"))?;
        }
        if !notify.is_empty() {
            let stmt = tx
                .prepare_cached(NOTIFY)
                .await
                .map_err(db("commit: notify"))?;
            tx.execute(&stmt, &[&notify])
                .await
                .map_err(db("commit: notify"))?;
        }
        tx.commit().await.map_err(db("commit"))?;
        Ok(true)
    }

    fn backend_name(&self) -> &'static str {
        "postgres"
    }

    /// A transaction commits or aborts as a whole, and only a committed one is ever read: after
    /// a failed commit (even one whose `COMMIT` answer was lost) every read is the truth.
    fn reads_stay_true_after_failed_commit(&self) -> bool {
        true
    }

    fn changes(&self, prefix: &[u8]) -> Option<broadcast::Receiver<Vec<u8>>> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        {
            let mut prefixes = self
                .inner
                .feed
                .prefixes
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !prefixes.iter().any(|p| p.as_slice() == prefix) {
                prefixes.push(prefix.to_vec());
            }
        }
        let rx = self.inner.feed.tx.subscribe();
        self.inner.feed.listening.get_or_init(|| {
            runtime.spawn(listen(
                Arc::downgrade(&self.inner),
                self.inner.config.clone(),
                self.inner.feed.stop.clone(),
            ));
        });
        Some(rx)
    }
}

/// The change feed's listener: LISTEN on a connection of its own, re-broadcast each
/// notification's key in-process; reconnect when the connection is lost (then broadcast the
/// empty key: notifications may have been missed). Ends when the store is dropped or closed.
async fn listen(store: Weak<Inner>, config: tokio_postgres::Config, stop: Arc<Notify>) {
    let mut backoff = Duration::from_millis(50);
    loop {
        let stopped = tokio::select! {
            () = stop.notified() => true,
            r = listen_once(&store, &config) => {
                if let Err(e) = r {
                    tracing::warn!(error = %e, "postgres change feed: listener connection lost; reconnecting");
                }
                false
            }
        };
        if stopped || store.upgrade().is_none() {
            return;
        }
        tokio::select! {
            () = stop.notified() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(1));
    }
}

/// One connection's life of the listener; returns when it is lost.
async fn listen_once(store: &Weak<Inner>, config: &tokio_postgres::Config) -> Result<()> {
    let (client, mut connection) = config
        .connect(NoTls)
        .await
        .map_err(db("change feed: connect"))?;
    let listen = client.batch_execute("LISTEN vault_changes");
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        let message = tokio::select! {
            r = &mut listen, if !listening => {
                r.map_err(db("change feed: listen"))?;
                listening = true;
                // Anything written while no connection listened was not heard of.
                send(store, Vec::new());
                continue;
            }
            m = std::future::poll_fn(|cx| connection.poll_message(cx)) => m,
        };
        match message {
            Some(Ok(AsyncMessage::Notification(n))) if n.channel() == CHANNEL => {
                send(store, hex::decode(n.payload()).unwrap_or_default());
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(unavailable("change feed", e)),
            None => {
                return Err(Error::BackendUnavailable(
                    "postgres: change feed closed".into(),
                ));
            }
        }
    }
}

fn send(store: &Weak<Inner>, key: Vec<u8>) {
    if let Some(inner) = store.upgrade() {
        // No receiver is not an error: nobody is watching now.
        let _ = inner.feed.tx.send(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ids_are_fixed_fnv1a() {
        // FNV-1a test vectors: servers of any build must agree.
        assert_eq!(lock_id(b""), 0xcbf2_9ce4_8422_2325_u64 as i64);
        assert_eq!(lock_id(b"a"), 0xaf63_dc4c_8601_ec8c_u64 as i64);
    }

    #[test]
    fn a_bad_url_is_refused_without_echoing_it() {
        let e = parse_url("postgres://u:hunter2@[::1").expect_err("bad");
        assert_eq!(e.field(), Some("store"));
        assert!(!e.to_string().contains("hunter2"));
    }
}
