//! The storage contract's conformance suite: every check a [`Store`] backend must pass, as
//! plain async functions over a [`SharedStore`], and [`store_conformance_suite!`] to run all of
//! them against a backend in one line.
//!
//! ```text
//! vault_core::store_conformance_suite!(my_backend, {
//!     let store: SharedStore = Arc::new(MyStore::new());
//!     ((), store) // (a guard kept alive for the test, e.g. a TempDir; the store)
//! });
//! ```
//!
//! The macro expands to one `#[tokio::test]` per check (multi-thread runtime, 4 workers), so
//! the calling crate needs tokio with the `macros` and `rt-multi-thread` features.

use std::collections::BTreeMap;

use super::{Condition, SharedStore, Write};

fn put(k: &str, v: &str) -> Write {
    Write::Put(k.as_bytes().to_vec(), v.as_bytes().to_vec())
}

fn keys(entries: &[(Vec<u8>, Vec<u8>)]) -> Vec<String> {
    entries
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .collect()
}

/// Check: get missing is none.
pub async fn get_missing_is_none(s: SharedStore) {
    assert_eq!(s.get(b"nope").await.expect("get"), None);
}

/// Check: scan is ordered prefixed and paginated.
pub async fn scan_is_ordered_prefixed_and_paginated(s: SharedStore) {
    let writes = ["b/2", "a/1", "b/10", "b/1", "c/1", "b", "b/3"]
        .iter()
        .map(|k| put(k, k))
        .collect();
    assert!(s.commit(vec![], writes).await.expect("commit"));
    let all = s.scan(b"b/", None, 100).await.expect("scan");
    assert_eq!(keys(&all), ["b/1", "b/10", "b/2", "b/3"]);
    assert_eq!(all[0].1, b"b/1".to_vec());
    // Pagination: pages of 2, each continuing strictly after the last key of the previous.
    let p1 = s.scan(b"b/", None, 2).await.expect("p1");
    assert_eq!(keys(&p1), ["b/1", "b/10"]);
    let p2 = s.scan(b"b/", Some(&p1[1].0), 2).await.expect("p2");
    assert_eq!(keys(&p2), ["b/2", "b/3"]);
    let p3 = s.scan(b"b/", Some(&p2[1].0), 2).await.expect("p3");
    assert!(p3.is_empty());
    // `after` that is not itself a key still works; `after` before the prefix starts at it.
    assert_eq!(
        keys(&s.scan(b"b/", Some(b"b/15"), 10).await.expect("s")),
        ["b/2", "b/3"]
    );
    assert_eq!(
        keys(&s.scan(b"b/", Some(b"a"), 1).await.expect("s")),
        ["b/1"]
    );
    assert_eq!(s.scan(b"b/", None, 0).await.expect("s").len(), 0);
    // Empty prefix scans everything.
    assert_eq!(s.scan(b"", None, 100).await.expect("s").len(), 7);
}

/// Check: prefix with max bytes scans to the end.
pub async fn prefix_with_max_bytes_scans_to_the_end(s: SharedStore) {
    let k1 = vec![0xff, 0xff, 1];
    let k2 = vec![0xff, 0xff, 0xff];
    let writes = vec![
        Write::Put(k1.clone(), b"1".to_vec()),
        Write::Put(k2.clone(), b"2".to_vec()),
        Write::Put(vec![0xff, 0xfe], b"x".to_vec()),
    ];
    assert!(s.commit(vec![], writes).await.expect("commit"));
    let got = s.scan(&[0xff, 0xff], None, 10).await.expect("scan");
    assert_eq!(
        got.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
        vec![k1, k2]
    );
}

/// Check: each condition kind.
pub async fn each_condition_kind(s: SharedStore) {
    assert!(s.commit(vec![], vec![put("k", "v1")]).await.expect("seed"));
    // Absent
    assert!(
        !s.commit(vec![Condition::Absent(b"k".to_vec())], vec![put("x", "1")])
            .await
            .expect("c")
    );
    assert!(
        s.commit(vec![Condition::Absent(b"y".to_vec())], vec![put("y", "1")])
            .await
            .expect("c")
    );
    // Present
    assert!(
        !s.commit(
            vec![Condition::Present(b"zz".to_vec())],
            vec![put("x", "1")]
        )
        .await
        .expect("c")
    );
    assert!(
        s.commit(vec![Condition::Present(b"k".to_vec())], vec![put("p", "1")])
            .await
            .expect("c")
    );
    // Equals
    let eq = |v: &str| Condition::Equals(b"k".to_vec(), v.as_bytes().to_vec());
    assert!(
        !s.commit(vec![eq("other")], vec![put("k", "v2")])
            .await
            .expect("c")
    );
    assert_eq!(s.get(b"k").await.expect("g"), Some(b"v1".to_vec()));
    assert!(
        s.commit(vec![eq("v1")], vec![put("k", "v2")])
            .await
            .expect("c")
    );
    assert_eq!(s.get(b"k").await.expect("g"), Some(b"v2".to_vec()));
    assert!(
        !s.commit(vec![Condition::Equals(b"none".to_vec(), vec![])], vec![])
            .await
            .expect("c")
    );
    // Nothing of the failed commits landed.
    assert_eq!(s.get(b"x").await.expect("g"), None);
    // Delete, and delete of a missing key is a no-op.
    assert!(
        s.commit(
            vec![],
            vec![
                Write::Delete(b"k".to_vec()),
                Write::Delete(b"nokey".to_vec())
            ]
        )
        .await
        .expect("d")
    );
    assert_eq!(s.get(b"k").await.expect("g"), None);
}

/// Check: failed condition applies nothing.
pub async fn failed_condition_applies_nothing(s: SharedStore) {
    assert!(
        s.commit(vec![], vec![put("a", "1"), put("b", "1")])
            .await
            .expect("seed")
    );
    let conditions = vec![
        Condition::Equals(b"a".to_vec(), b"1".to_vec()),
        Condition::Absent(b"b".to_vec()), // fails
    ];
    let writes = vec![put("a", "2"), Write::Delete(b"b".to_vec()), put("c", "new")];
    assert!(!s.commit(conditions, writes).await.expect("commit"));
    assert_eq!(s.get(b"a").await.expect("g"), Some(b"1".to_vec()));
    assert_eq!(s.get(b"b").await.expect("g"), Some(b"1".to_vec()));
    assert_eq!(s.get(b"c").await.expect("g"), None);
}

/// Check: later write to same key wins within a commit.
pub async fn later_write_to_same_key_wins_within_a_commit(s: SharedStore) {
    assert!(
        s.commit(vec![], vec![put("k", "1"), put("k", "2")])
            .await
            .expect("c")
    );
    assert_eq!(s.get(b"k").await.expect("g"), Some(b"2".to_vec()));
    assert!(
        s.commit(vec![], vec![put("k", "3"), Write::Delete(b"k".to_vec())])
            .await
            .expect("c")
    );
    assert_eq!(s.get(b"k").await.expect("g"), None);
}

/// Check: racing absent condition has exactly one winner.
pub async fn racing_absent_condition_has_exactly_one_winner(s: SharedStore) {
    let mut tasks = Vec::new();
    for i in 0..32 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let w = vec![
                put("claim", &format!("task-{i}")),
                put(&format!("log/{i}"), "x"),
            ];
            s.commit(vec![Condition::Absent(b"claim".to_vec())], w)
                .await
                .expect("commit")
        }));
    }
    let mut winners = 0;
    for t in tasks {
        if t.await.expect("join") {
            winners += 1;
        }
    }
    assert_eq!(winners, 1);
    // The winner's two writes landed together; no loser's did.
    let logs = s.scan(b"log/", None, 100).await.expect("scan");
    assert_eq!(logs.len(), 1);
    let claim = s.get(b"claim").await.expect("g").expect("claimed");
    let winner = String::from_utf8(logs[0].0[b"log/".len()..].to_vec()).expect("utf8");
    assert_eq!(claim, format!("task-{winner}").into_bytes());
}

/// Check: concurrent counter increments lose nothing.
pub async fn concurrent_counter_increments_lose_nothing(s: SharedStore) {
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                loop {
                    let cur = s.get(b"ctr").await.expect("g");
                    let n = cur
                        .as_deref()
                        .map_or(0, |b| u64::from_be_bytes(b.try_into().expect("8 bytes")));
                    let cond = Condition::unchanged(b"ctr", cur.as_deref());
                    let w = vec![Write::Put(b"ctr".to_vec(), (n + 1).to_be_bytes().to_vec())];
                    if s.commit(vec![cond], w).await.expect("c") {
                        break;
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.expect("join");
    }
    let v = s.get(b"ctr").await.expect("g").expect("set");
    assert_eq!(u64::from_be_bytes(v.try_into().expect("8 bytes")), 160);
}

/// Random operations checked against a `BTreeMap` model (a small xorshift PRNG keeps it
/// deterministic without a dependency).
pub async fn random_ops_match_a_model(s: SharedStore) {
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for step in 0..400u32 {
        let k = format!("m/{}", next() % 24).into_bytes();
        let cond_key = format!("m/{}", next() % 24).into_bytes();
        let cond = match next() % 3 {
            0 => Condition::Absent(cond_key),
            1 => Condition::Present(cond_key),
            _ => Condition::Equals(cond_key, format!("v{}", next() % 4).into_bytes()),
        };
        let write = if next() % 4 == 0 {
            Write::Delete(k.clone())
        } else {
            Write::Put(k.clone(), format!("v{}", next() % 4).into_bytes())
        };
        let expect = cond.holds(model.get(cond.key()).map(Vec::as_slice));
        let got = s
            .commit(vec![cond], vec![write.clone()])
            .await
            .expect("commit");
        assert_eq!(got, expect, "step {step}");
        if got {
            match write {
                Write::Put(k, v) => {
                    model.insert(k, v);
                }
                Write::Delete(k) => {
                    model.remove(&k);
                }
            }
        }
    }
    let all = s.scan(b"m/", None, 1000).await.expect("scan");
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
    assert_eq!(all, expected);
}

/// Runs every check of the conformance suite against one backend: `$make` is an expression
/// evaluating to `(guard, SharedStore)`; a fresh store per check.
#[macro_export]
macro_rules! store_conformance_suite {
    ($modname:ident, $make:expr) => {
        $crate::store_conformance_suite!(
            @checks $modname,
            $make,
            [
                get_missing_is_none,
                scan_is_ordered_prefixed_and_paginated,
                prefix_with_max_bytes_scans_to_the_end,
                each_condition_kind,
                failed_condition_applies_nothing,
                later_write_to_same_key_wins_within_a_commit,
                racing_absent_condition_has_exactly_one_winner,
                concurrent_counter_increments_lose_nothing,
                random_ops_match_a_model,
            ]
        );
    };
    (@checks $modname:ident, $make:expr, [$($check:ident),+ $(,)?]) => {
        mod $modname {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $check() {
                    let (_guard, store) = $make;
                    $crate::store::testing::$check(store).await;
                }
            )+
        }
    };
}

/// What a test wrapper does around the calls it passes to the store it wraps ([`Hooked`]);
/// each hook does nothing unless a wrapper says otherwise.
#[async_trait::async_trait]
pub trait Hooks: Send + Sync {
    /// Runs after a `get` of `key` has read the store, before its caller sees the value.
    async fn after_get(&self, _key: &[u8]) {}

    /// Runs after a `scan` of `prefix` has read the store, before its caller sees the entries.
    async fn after_scan(&self, _prefix: &[u8]) {}

    /// Runs before a commit reaches the store.
    async fn before_commit(&self) {}

    /// Sees a commit's outcome and the keys it wrote; returns the outcome the caller gets.
    fn after_commit(
        &self,
        _written: Vec<Vec<u8>>,
        outcome: crate::Result<bool>,
    ) -> crate::Result<bool> {
        outcome
    }
}

/// A store that passes every call to `inner`, with `hooks` around them. The wrappers below
/// ([`InterleavingStore`], [`ReadGateStore`], [`HoldingStore`], [`FailingStore`]) are this
/// with their hooks.
pub struct Hooked<H> {
    inner: SharedStore,
    hooks: H,
}

impl<H> std::ops::Deref for Hooked<H> {
    type Target = H;

    fn deref(&self) -> &H {
        &self.hooks
    }
}

#[async_trait::async_trait]
impl<H: Hooks + 'static> super::Store for Hooked<H> {
    async fn get(&self, key: &[u8]) -> crate::Result<Option<Vec<u8>>> {
        let value = self.inner.get(key).await;
        self.hooks.after_get(key).await;
        value
    }

    async fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> crate::Result<Vec<super::Entry>> {
        let entries = self.inner.scan(prefix, after, limit).await;
        self.hooks.after_scan(prefix).await;
        entries
    }

    async fn commit(&self, conditions: Vec<Condition>, writes: Vec<Write>) -> crate::Result<bool> {
        self.hooks.before_commit().await;
        let written = writes
            .iter()
            .map(|w| match w {
                Write::Put(k, _) | Write::Delete(k) => k.clone(),
            })
            .collect();
        let outcome = self.inner.commit(conditions, writes).await;
        self.hooks.after_commit(written, outcome)
    }

    async fn flush(&self) -> crate::Result<()> {
        self.inner.flush().await
    }

    fn backend_name(&self) -> &'static str {
        self.inner.backend_name()
    }

    fn changes(&self, prefix: &[u8]) -> Option<tokio::sync::broadcast::Receiver<Vec<u8>>> {
        self.inner.changes(prefix)
    }

    fn reads_stay_true_after_failed_commit(&self) -> bool {
        self.inner.reads_stay_true_after_failed_commit()
    }
}

/// The first `n` arrivals wait until all `n` have arrived; later ones pass straight through.
pub struct Gate {
    gate: tokio::sync::Barrier,
    arrived: std::sync::atomic::AtomicUsize,
    n: usize,
}

impl Gate {
    fn new(n: usize) -> Gate {
        Gate {
            gate: tokio::sync::Barrier::new(n),
            arrived: std::sync::atomic::AtomicUsize::new(0),
            n,
        }
    }

    async fn pass(&self) {
        let order = self
            .arrived
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if order < self.n {
            self.gate.wait().await;
        }
    }
}

/// A store wrapper that forces the worst interleaving of optimistic writers: the first `n`
/// commits wait until all `n` have arrived, so every contender has done its reads before any
/// of them commits. An implementation that does not make its commit conditional on what it
/// read (a lost update) lets all `n` succeed; a correct compare-and-set lets exactly one.
/// Later commits (retries) pass straight through. One vault makes its commits one group at a
/// time, so the contenders must be `n` vaults (as `n` servers) over one such store.
pub type InterleavingStore = Hooked<CommitGate>;

/// The hooks of an [`InterleavingStore`].
pub struct CommitGate(Gate);

#[async_trait::async_trait]
impl Hooks for CommitGate {
    async fn before_commit(&self) {
        self.0.pass().await;
    }
}

impl InterleavingStore {
    /// Wraps `inner`, holding its first `n` commits until all `n` have arrived.
    pub fn new(inner: SharedStore, n: usize) -> Self {
        Hooked {
            inner,
            hooks: CommitGate(Gate::new(n)),
        }
    }
}

/// A store wrapper that forces every contender of one vault to read before any commits: the
/// first `n` reads of one key (gets of it, or scans with it as the prefix) are held, once they
/// have read the store, until all `n` have (a read released before it reads could still see a
/// commit made meanwhile). A vault commits its concurrent
/// writes as one group (so [`InterleavingStore`], which holds commits, cannot interleave
/// writers of one vault); holding their reads instead gives every writer the same stale view.
pub type ReadGateStore = Hooked<ReadGate>;

/// The hooks of a [`ReadGateStore`].
pub struct ReadGate {
    key: Vec<u8>,
    gate: Gate,
}

#[async_trait::async_trait]
impl Hooks for ReadGate {
    async fn after_get(&self, key: &[u8]) {
        if key == self.key.as_slice() {
            self.gate.pass().await;
        }
    }

    /// A scan of the key as a prefix is a read of it too (a count over a log).
    async fn after_scan(&self, prefix: &[u8]) {
        if prefix == self.key.as_slice() {
            self.gate.pass().await;
        }
    }
}

impl ReadGateStore {
    /// Wraps `inner`, holding its first `n` reads of `key` until all `n` have arrived.
    pub fn new(inner: SharedStore, key: &[u8], n: usize) -> Self {
        Hooked {
            inner,
            hooks: ReadGate {
                key: key.to_vec(),
                gate: Gate::new(n),
            },
        }
    }

    /// How many reads of the key have arrived (held or passed).
    pub fn arrived(&self) -> usize {
        self.hooks
            .gate
            .arrived
            .load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A store wrapper whose commits fail on demand with `backend_unavailable` — after applying
/// them to the inner store, as sled does when its flush fails (the outcome is unknown to the
/// caller). For fault-injection tests.
pub type FailingStore = Hooked<Failing>;

/// The hooks of a [`FailingStore`].
pub struct Failing(std::sync::atomic::AtomicBool, std::sync::atomic::AtomicBool);

#[async_trait::async_trait]
impl Hooks for Failing {
    fn after_commit(&self, _: Vec<Vec<u8>>, outcome: crate::Result<bool>) -> crate::Result<bool> {
        let applied = outcome?;
        if self.1.load(std::sync::atomic::Ordering::SeqCst) {
            panic!("injected: a store that panics");
        }
        if self.0.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(crate::Error::BackendUnavailable(
                "injected: the disk is full".into(),
            ));
        }
        Ok(applied)
    }
}

impl FailingStore {
    /// Wraps `inner`; commits succeed until [`Failing::fail_commits`] says otherwise.
    pub fn new(inner: SharedStore) -> Self {
        Hooked {
            inner,
            hooks: Failing(
                std::sync::atomic::AtomicBool::new(false),
                std::sync::atomic::AtomicBool::new(false),
            ),
        }
    }
}

impl Failing {
    /// Makes every later commit apply and then fail (`true`), or succeed again (`false`).
    pub fn fail_commits(&self, fail: bool) {
        self.0.store(fail, std::sync::atomic::Ordering::SeqCst);
    }

    /// Makes every later commit apply and then panic (`true`), or not (`false`).
    pub fn panic_commits(&self, panic: bool) {
        self.1.store(panic, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A store wrapper that logs commits and can hold one: [`Holding::hold`] makes the next
/// commit wait, after telling [`Hold::arrived`], until [`Hold::release`].
pub type HoldingStore = Hooked<Holding>;

/// The hooks of a [`HoldingStore`].
pub struct Holding {
    log: std::sync::Mutex<Vec<LoggedCommit>>,
    hold: std::sync::Mutex<Option<HeldCommit>>,
}

/// One commit a [`HoldingStore`] passed on: the keys it wrote, and whether it applied.
#[derive(Debug, Clone)]
pub struct LoggedCommit {
    /// The keys written (put or deleted).
    pub keys: Vec<Vec<u8>>,
    /// Whether the commit applied.
    pub applied: bool,
}

impl LoggedCommit {
    /// Whether the commit wrote a key starting with `prefix`.
    pub fn writes_under(&self, prefix: &[u8]) -> bool {
        self.keys.iter().any(|k| k.starts_with(prefix))
    }
}

/// The store's end of a held commit: whom to tell it arrived, what to wait for.
type HeldCommit = (
    std::sync::Arc<tokio::sync::Notify>,
    tokio::sync::oneshot::Receiver<()>,
);

/// The two ends of a held commit: wait for it to arrive, then let it go.
pub struct Hold {
    arrived: std::sync::Arc<tokio::sync::Notify>,
    release: tokio::sync::oneshot::Sender<()>,
}

impl Hold {
    /// Waits until the held commit has arrived at the store.
    pub async fn arrived(&self) {
        self.arrived.notified().await;
    }

    /// Lets the held commit go on.
    pub fn release(self) {
        let _ = self.release.send(());
    }
}

impl HoldingStore {
    /// Wraps `inner`.
    pub fn new(inner: SharedStore) -> Self {
        Hooked {
            inner,
            hooks: Holding {
                log: std::sync::Mutex::new(Vec::new()),
                hold: std::sync::Mutex::new(None),
            },
        }
    }
}

impl Holding {
    /// Holds the next commit that arrives.
    pub fn hold(&self) -> Hold {
        let arrived = std::sync::Arc::new(tokio::sync::Notify::new());
        let (release, held) = tokio::sync::oneshot::channel();
        *lock(&self.hold) = Some((arrived.clone(), held));
        Hold { arrived, release }
    }

    /// The commits passed on so far, oldest first.
    pub fn log(&self) -> Vec<LoggedCommit> {
        lock(&self.log).clone()
    }
}

#[async_trait::async_trait]
impl Hooks for Holding {
    async fn before_commit(&self) {
        let held = lock(&self.hold).take();
        if let Some((arrived, release)) = held {
            arrived.notify_one();
            let _ = release.await;
        }
    }

    fn after_commit(
        &self,
        keys: Vec<Vec<u8>>,
        outcome: crate::Result<bool>,
    ) -> crate::Result<bool> {
        if let Ok(applied) = outcome {
            lock(&self.log).push(LoggedCommit { keys, applied });
        }
        outcome
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// PostgreSQL for tests: a database of its own per test, dropped when the guard is.
#[cfg(feature = "postgres")]
pub mod postgres {
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The server the tests use unless `VAULT_TEST_POSTGRES_URL` names another (any database
    /// of it the user may connect to; the tests create their own next to it).
    pub const DEFAULT_URLS: &[&str] = &[
        "postgres://postgres@127.0.0.1:5432/test",
        "postgres://root@127.0.0.1:5432/test",
        "postgres://postgres@127.0.0.1:5432/postgres",
    ];
    /// Names another server (a URL of a database the tests' user may `CREATE DATABASE` from).
    pub const URL_ENV: &str = "VAULT_TEST_POSTGRES_URL";

    /// A database created for one test; dropped (its connections terminated) on drop.
    pub struct TestDb {
        admin: tokio_postgres::Config,
        name: String,
        url: String,
    }

    impl std::fmt::Debug for TestDb {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TestDb").field("name", &self.name).finish()
        }
    }

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    async fn admin_client(
        config: &tokio_postgres::Config,
    ) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        Ok(client)
    }

    impl TestDb {
        /// A new empty database, or `None` when no PostgreSQL server answers: then the test
        /// is skipped with a loud message on stderr, except under `CI=true`, where it panics
        /// (a CI run must not pass without its PostgreSQL tests).
        pub async fn create(test: &str) -> Option<TestDb> {
            let urls: Vec<String> = match std::env::var(URL_ENV) {
                Ok(u) if !u.trim().is_empty() => vec![u],
                _ => DEFAULT_URLS.iter().map(|s| s.to_string()).collect(),
            };
            let mut errors = Vec::new();
            for url in &urls {
                let Ok(admin) = super::super::postgres::parse_url(url) else {
                    errors.push(format!("{URL_ENV} does not parse"));
                    continue;
                };
                let client = match admin_client(&admin).await {
                    Ok(c) => c,
                    Err(e) => {
                        errors.push(format!("{}: {e}", redacted(&admin)));
                        continue;
                    }
                };
                let name = format!(
                    "vault_test_{}_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::SeqCst),
                    test.chars()
                        .filter(char::is_ascii_alphanumeric)
                        .take(24)
                        .collect::<String>()
                        .to_lowercase()
                );
                client
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
                let mut config = admin.clone();
                config.dbname(&name);
                let url = config_url(&config);
                return Some(TestDb { admin, name, url });
            }
            let why = format!(
                "no PostgreSQL server answers ({}); start one on 127.0.0.1:5432 (trust auth) \
                 or set {URL_ENV}",
                errors.join("; ")
            );
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("CI=true and the PostgreSQL tests cannot run: {why}");
            }
            // Straight to the process's stderr: the test harness captures `eprintln!` of a
            // passing test, and this must be seen.
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                format!(
                    "\n!!!!!!!! SKIPPED PostgreSQL test `{test}`: {why}. It passes without \
                     testing anything (under CI=true it would fail).\n\n"
                )
                .as_bytes(),
            );
            None
        }

        /// The database's URL.
        pub fn url(&self) -> &str {
            &self.url
        }

        /// The database's URL with the server's address replaced by `host_port` (for a proxy
        /// in front of the server).
        pub fn url_at(&self, host_port: &str) -> String {
            let (scheme_user, rest) = self.url.split_once('@').expect("URL with a user");
            let (_, path) = rest.split_once('/').expect("URL with a database");
            format!("{scheme_user}@{host_port}/{path}")
        }

        /// The server's `host:port`.
        pub fn host_port(&self) -> String {
            let (_, rest) = self.url.split_once('@').expect("URL with a user");
            rest.split_once('/')
                .expect("URL with a database")
                .0
                .to_string()
        }

        /// Terminates every connection to the database (but the one doing it), as a restart of
        /// the server would; how many were terminated.
        pub async fn terminate_connections(&self) -> usize {
            self.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .await
            .iter()
            .filter(|m| matches!(m, tokio_postgres::SimpleQueryMessage::Row(_)))
            .count()
        }

        /// The database's name.
        pub fn name(&self) -> &str {
            &self.name
        }

        /// A store on the database (migrated).
        pub async fn store(&self) -> super::super::PgStore {
            super::super::PgStore::open(&self.url)
                .await
                .expect("open the test database")
        }

        /// Runs `sql` on the database (its own connection).
        pub async fn execute(&self, sql: &str) -> Vec<tokio_postgres::SimpleQueryMessage> {
            let mut config = self.admin.clone();
            config.dbname(&self.name);
            let client = admin_client(&config).await.expect("connect");
            client.simple_query(sql).await.expect("sql")
        }
    }

    fn redacted(c: &tokio_postgres::Config) -> String {
        format!(
            "postgres://{}@{:?}:{:?}/{}",
            c.get_user().unwrap_or(""),
            c.get_hosts(),
            c.get_ports(),
            c.get_dbname().unwrap_or("")
        )
    }

    /// A URL for `config` (user, first host and port, database; a password is carried over).
    fn config_url(c: &tokio_postgres::Config) -> String {
        let host = match c.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "127.0.0.1".into(),
        };
        let port = c.get_ports().first().copied().unwrap_or(5432);
        let user = c.get_user().unwrap_or("postgres");
        let password = c
            .get_password()
            .map(|p| format!(":{}", String::from_utf8_lossy(p)))
            .unwrap_or_default();
        format!(
            "postgres://{user}{password}@{host}:{port}/{}",
            c.get_dbname().unwrap_or("postgres")
        )
    }

    impl Drop for TestDb {
        fn drop(&mut self) {
            let admin = self.admin.clone();
            let name = self.name.clone();
            // Drop may run inside a runtime: a thread of its own with its own runtime.
            let dropped = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    let client = admin_client(&admin).await?;
                    client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await
                })
            })
            .join();
            if !matches!(dropped, Ok(Ok(()))) {
                eprintln!("could not drop the test database {}", self.name);
            }
        }
    }
}
