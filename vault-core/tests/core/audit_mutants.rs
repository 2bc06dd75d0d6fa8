//! The audit log's queries, cursors, chains and checks at the edges the other suites leave
//! open. Written against mutants of `audit/` and `context.rs` that those suites let through.

use std::sync::{Arc, Mutex};

use vault_core::audit::{
    AuditExport, GENESIS, Problem, QUERY_MAX_LIMIT, QUERY_SCAN_BUDGET, verify_jsonl,
};
use vault_core::crypto::KdfParams;
use vault_core::prelude::*;
use vault_core::store::testing::HoldingStore;
use vault_core::store::{Condition, Entry, MemoryStore, SharedStore, Store, Write};
use vault_core::{
    AuditEntry, AuditFilter, AuditQuery, Capability, Rule, Timestamp, TokenCreate, Vault,
};

use super::support::{T0, ckey, cput, dump, key, memory_vault, svc};

async fn all_entries(v: &Vault) -> Vec<AuditEntry> {
    let mut export: AuditExport = v.audit().export().await.expect("export");
    let mut out = Vec::new();
    loop {
        let batch = export.next_batch().await.expect("batch");
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

fn query(filter: AuditFilter, limit: Option<usize>, after: Option<String>) -> AuditQuery {
    AuditQuery {
        filter,
        limit,
        after,
    }
}

fn paths(entries: &[AuditEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.path.as_str()).collect()
}

#[tokio::test]
async fn filter_values_of_up_to_1024_bytes_are_accepted_and_since_may_equal_until() {
    let (v, _clock, _store) = memory_vault().await;
    v.credentials()
        .put(cput("svc", "K", "v"))
        .await
        .expect("put");
    let with = |field: &str, value: String| {
        let mut f = AuditFilter::default();
        match field {
            "actor" => f.actor = Some(value),
            "op" => f.op = Some(value),
            "path_prefix" => f.path_prefix = Some(value),
            _ => f.outcome = Some(value),
        }
        query(f, None, None)
    };
    for field in ["actor", "op", "path_prefix", "outcome"] {
        let page = v
            .audit()
            .query(with(field, "a".repeat(1024)))
            .await
            .unwrap_or_else(|e| panic!("{field} of 1024 bytes: {e}"));
        assert!(page.items.is_empty(), "{field}: nothing matches");
        let e = v
            .audit()
            .query(with(field, "a".repeat(1025)))
            .await
            .expect_err("1025 bytes");
        assert_eq!(e.code(), "invalid", "{field}: {e}");
        assert!(e.to_string().contains(field), "{field}: {e}");
    }

    // An empty window (since == until) is a valid query that finds nothing.
    let at = Timestamp::from_millis(T0);
    let page = v
        .audit()
        .query(query(
            AuditFilter {
                since: Some(at),
                until: Some(at),
                ..AuditFilter::default()
            },
            None,
            None,
        ))
        .await
        .expect("since == until");
    assert!(page.items.is_empty(), "{page:?}");
    assert_eq!(page.next, None);
}

#[tokio::test]
async fn the_actor_filter_matches_a_tokens_id_or_its_name_and_nothing_else() {
    let (v, _clock, _store) = memory_vault().await;
    v.credentials()
        .put(cput("svc", "K", "v"))
        .await
        .expect("put");
    let created = v
        .tokens()
        .create(TokenCreate {
            name: "scanner".into(),
            rules: vec![Rule {
                path: "credentials/**".into(),
                capabilities: vec![Capability::Read],
            }],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("create");
    let id = created.info.id.clone();
    let t = v
        .with_token(created.token.expose_secret())
        .await
        .expect("with_token");
    t.credentials()
        .get(&ckey("K"), Some(&svc("svc")))
        .await
        .expect("get");
    t.credentials()
        .get(&ckey("NOPE"), Some(&svc("svc")))
        .await
        .expect_err("missing");

    let by = |actor: &str| {
        let v = v.clone();
        let actor = actor.to_string();
        async move {
            v.audit()
                .query(query(
                    AuditFilter {
                        actor: Some(actor),
                        ..AuditFilter::default()
                    },
                    Some(QUERY_MAX_LIMIT),
                    None,
                ))
                .await
                .expect("query")
                .items
        }
    };
    for actor in [id.as_str(), "scanner"] {
        let found = by(actor).await;
        let mut ops: Vec<_> = found
            .iter()
            .map(|e| (e.actor_id.as_str(), e.op.as_str(), e.outcome.as_str()))
            .collect();
        ops.sort_unstable();
        assert_eq!(
            ops,
            [
                (id.as_str(), "credentials.get", "not_found"),
                (id.as_str(), "credentials.get", "ok"),
            ],
            "by {actor}"
        );
    }
    let embedded = by("embedded").await;
    assert!(!embedded.is_empty());
    assert!(
        embedded.iter().all(|e| e.actor_id == "embedded"),
        "{embedded:?}"
    );
}

#[tokio::test]
async fn a_request_refused_before_it_became_an_operation_is_recorded() {
    let (v, _clock, _store) = memory_vault().await;
    v.record_rejected("/api/vault/credentials/{key}", "invalid")
        .await
        .expect("record");
    let entries = all_entries(&v).await;
    let rejected: Vec<_> = entries.iter().filter(|e| e.op == "request").collect();
    assert_eq!(rejected.len(), 1, "{entries:?}");
    let e = rejected[0];
    assert_eq!(e.path, "/api/vault/credentials/{key}");
    assert_eq!(e.outcome, "invalid");
    assert_eq!(
        (e.actor_id.as_str(), e.client.as_str()),
        ("embedded", "embedded")
    );
}

#[tokio::test]
async fn only_cursors_of_the_logs_own_form_are_accepted() {
    let (v, _clock, _store) = memory_vault().await;
    for i in 0..3 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    let page = v
        .audit()
        .query(query(AuditFilter::default(), Some(1), None))
        .await
        .expect("page");
    // `<time>/<writer>/<seq>#<entry>`
    let real = page.next.expect("a cursor");
    let (base, _) = real.split_once('#').expect("an entry index");
    let parts: Vec<&str> = base.split('/').collect();
    assert_eq!(parts.len(), 3, "{real}");
    let (t, w, s) = (parts[0], parts[1], parts[2]);
    let hex = "0123456789abcdef";
    let ok = |c: String| {
        let v = v.clone();
        async move {
            v.audit()
                .query(query(AuditFilter::default(), None, Some(c.clone())))
                .await
                .unwrap_or_else(|e| panic!("{c}: {e}"));
        }
    };
    ok(real.clone()).await;
    ok(base.to_string()).await;
    ok(format!("{base}#255")).await;
    // A writer name of 64 characters, letters, digits and `_` (the longest one allowed).
    ok(format!("{t}/{}/{s}", "w_".repeat(32))).await;
    for bad in [
        format!("{}/{w}/{s}", "z".repeat(16)), // time: 16 characters, not hex
        format!("{}/{w}/{s}", &hex[..8]),      // time: hex, too short
        format!("{t}/{w}/{}", "g".repeat(16)), // seq: not hex
        format!("{t}/{w}/{}", &hex[..15]),     // seq: too short
        format!("{t}//{s}"),                   // no writer
        format!("{t}/{}/{s}", "w".repeat(65)), // writer too long
        format!("{t}/w.x/{s}"),                // writer: not a name
        format!("{t}/w-x/{s}"),
        format!("{base}/{s}"), // a part too many
        format!("{base}#256"), // beyond the entries a record holds
        format!("{base}#x"),
    ] {
        let e = v
            .audit()
            .query(query(AuditFilter::default(), None, Some(bad.clone())))
            .await
            .expect_err(&bad);
        assert_eq!(e.code(), "invalid", "{bad}: {e}");
        assert!(e.to_string().contains("after"), "{bad}: {e}");
    }
}

#[tokio::test]
async fn pages_of_a_window_follow_the_cursor_past_its_until() {
    let (v, clock, _store) = memory_vault().await;
    for i in 0..4 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
        clock.advance(std::time::Duration::from_secs(1));
    }
    // K0..K2 are before the window's end; each page of one is the next older one.
    let window = AuditFilter {
        op: Some("credentials.put".into()),
        until: Some(Timestamp::from_millis(T0 + 3000)),
        ..AuditFilter::default()
    };
    let mut seen = Vec::new();
    let mut after = None;
    for _ in 0..5 {
        let page = v
            .audit()
            .query(query(window.clone(), Some(1), after))
            .await
            .expect("page");
        seen.extend(page.items.iter().map(|e| e.path.clone()));
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    assert_eq!(
        seen,
        [
            "credentials/svc/K2",
            "credentials/svc/K1",
            "credentials/svc/K0"
        ]
    );
}

/// A vault with three puts (one audit record each), the two newest records' stored values
/// swapped: neither opens under the other's key.
async fn three_puts_with_the_two_newest_records_swapped() -> Vault {
    let (v, _clock, store) = memory_vault().await;
    for i in 0..3 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    v.flush().await.expect("flush");
    let entries = store
        .scan(b"audit/e/", None, usize::MAX)
        .await
        .expect("scan");
    store
        .commit(
            vec![],
            vec![
                Write::Put(entries[0].0.clone(), entries[1].1.clone()),
                Write::Put(entries[1].0.clone(), entries[0].1.clone()),
            ],
        )
        .await
        .expect("swap");
    v
}

#[tokio::test]
async fn an_entry_that_does_not_open_is_listed_as_unreadable_and_counts_toward_the_limit() {
    let v = three_puts_with_the_two_newest_records_swapped().await;
    let page = v
        .audit()
        .query(query(AuditFilter::default(), Some(2), None))
        .await
        .expect("query");
    assert!(page.items.is_empty(), "{page:?}");
    assert_eq!(page.unreadable.len(), 2, "{page:?}");
    assert!(page.next.is_some(), "the page is full: more may follow");
    let rest = v
        .audit()
        .query(query(AuditFilter::default(), Some(10), page.next))
        .await
        .expect("the rest");
    assert_eq!(
        paths(&rest.items),
        ["credentials/svc/K0"],
        "the oldest entry, after the two that do not open"
    );
}

/// Pages of one entry across records that do not open: each is reported once and the next
/// page starts after it (a cursor inside it would read it again, forever with `limit=1`).
#[tokio::test]
async fn paging_past_records_that_do_not_open_reports_each_once_and_moves_on() {
    let v = three_puts_with_the_two_newest_records_swapped().await;
    let (mut after, mut unreadable, mut items) = (None, Vec::new(), Vec::new());
    for _ in 0..10 {
        let page = v
            .audit()
            .query(query(AuditFilter::default(), Some(1), after.take()))
            .await
            .expect("query");
        unreadable.extend(page.unreadable.into_iter().map(|u| u.name));
        items.extend(page.items.into_iter().map(|e| e.path));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert!(
        after.is_none(),
        "still paging after 10 pages: {unreadable:?}"
    );
    assert_eq!(unreadable.len(), 2, "{unreadable:?}");
    assert_ne!(unreadable[0], unreadable[1], "{unreadable:?}");
    assert_eq!(items, ["credentials/svc/K0"]);
}

/// Records `n` rejected requests on `route` (queued entries; committed as the queue fills).
async fn rejected(v: &Vault, route: &str, n: usize) {
    for _ in 0..n {
        v.record_rejected(route, "invalid").await.expect("record");
    }
}

#[tokio::test]
async fn a_query_stops_at_since_and_a_page_examines_at_most_the_scan_budget() {
    let (v, clock, _store) = memory_vault().await;
    // More entries than the budget before `since`, then one at it.
    rejected(&v, "/old", QUERY_SCAN_BUDGET + 1).await;
    clock.advance(std::time::Duration::from_secs(1));
    v.credentials()
        .put(cput("svc", "MARKER", "v"))
        .await
        .expect("put");
    v.flush().await.expect("flush");

    // The scan stops at the first entry older than `since`: no next page.
    let page = v
        .audit()
        .query(query(
            AuditFilter {
                since: Some(Timestamp::from_millis(T0 + 1000)),
                path_prefix: Some("credentials/".into()),
                ..AuditFilter::default()
            },
            None,
            None,
        ))
        .await
        .expect("since");
    assert_eq!(paths(&page.items), ["credentials/svc/MARKER"]);
    assert_eq!(page.next, None);

    // A filter nothing matches: each page stops after the budget, with a cursor to go on.
    let none = AuditFilter {
        path_prefix: Some("/nothing".into()),
        ..AuditFilter::default()
    };
    let first = v
        .audit()
        .query(query(none.clone(), None, None))
        .await
        .expect("page");
    assert!(first.items.is_empty(), "{:?}", first.items);
    let mut after = Some(first.next.expect("the budget is spent before the log ends"));
    let mut pages = 1;
    while after.is_some() && pages < 10 {
        let page = v
            .audit()
            .query(query(none.clone(), None, after))
            .await
            .expect("page");
        assert!(page.items.is_empty(), "{:?}", page.items);
        pages += 1;
        after = page.next;
    }
    assert_eq!(after, None, "the last page has no next");
    // budget + 1 entries, the put's and the queries' own: two pages.
    assert_eq!(pages, 2);
}

/// A store wrapper that, once given a hook, runs it at the start of the next commit (before
/// the commit reaches the store): a concurrent writer's commit, exactly there.
struct Hook {
    inner: SharedStore,
    hook: Mutex<Option<Pending>>,
    /// Run at the start of the next scan of a key prefix, likewise.
    scan_hook: Mutex<Option<(Vec<u8>, Pending)>>,
}

type Pending = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

impl Hook {
    fn new(inner: SharedStore) -> Arc<Hook> {
        Arc::new(Hook {
            inner,
            hook: Mutex::new(None),
            scan_hook: Mutex::new(None),
        })
    }
}

#[async_trait::async_trait]
impl Store for Hook {
    async fn get(&self, key: &[u8]) -> vault_core::Result<Option<Vec<u8>>> {
        self.inner.get(key).await
    }

    async fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> vault_core::Result<Vec<Entry>> {
        let hook = {
            let mut slot = self.scan_hook.lock().expect("lock");
            match slot.take() {
                Some((p, hook)) if p == prefix => Some(hook),
                other => {
                    *slot = other;
                    None
                }
            }
        };
        if let Some(hook) = hook {
            hook.await;
        }
        self.inner.scan(prefix, after, limit).await
    }

    async fn commit(
        &self,
        conditions: Vec<Condition>,
        writes: Vec<Write>,
    ) -> vault_core::Result<bool> {
        let hook = self.hook.lock().expect("lock").take();
        if let Some(hook) = hook {
            hook.await;
        }
        self.inner.commit(conditions, writes).await
    }

    fn backend_name(&self) -> &'static str {
        "hook"
    }
}

async fn open_over(store: SharedStore) -> Vault {
    let v = Vault::builder()
        .store(store)
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open");
    // No flusher: queued entries stay queued until a write or a flush commits them.
    v.close().await.expect("close");
    v
}

#[tokio::test]
async fn a_write_that_loses_a_race_keeps_its_entry_and_the_queued_ones_for_its_retry() {
    let inner: SharedStore = Arc::new(MemoryStore::new());
    let hook = Hook::new(inner.clone());
    let a = open_over(hook.clone()).await;
    a.credentials()
        .put(cput("svc", "K", "a1"))
        .await
        .expect("put");
    let b = open_over(inner.clone()).await;
    // A read's entry is queued; the next write's commit carries it.
    a.credentials()
        .get(&ckey("K"), Some(&svc("svc")))
        .await
        .expect("get");
    // That commit finds K written by another vault in between: its condition fails, nothing
    // is written, and the put tries again.
    *hook.hook.lock().expect("lock") = Some(Box::pin(async move {
        b.credentials()
            .put(cput("svc", "K", "b1"))
            .await
            .expect("the other vault's put");
    }));
    a.credentials()
        .put(cput("svc", "K", "a2"))
        .await
        .expect("put after a lost race");
    assert!(
        hook.hook.lock().expect("lock").is_none(),
        "the race happened"
    );
    let got = a
        .credentials()
        .get(&ckey("K"), Some(&svc("svc")))
        .await
        .expect("get");
    assert_eq!(got.value.expose_secret(), "a2");
    assert_eq!(got.version, 3);

    a.flush().await.expect("flush");
    let entries = all_entries(&a).await;
    let count = |op: &str| {
        entries
            .iter()
            .filter(|e| e.op == op && e.outcome == "ok")
            .count()
    };
    assert_eq!(count("credentials.put"), 3, "a1, b1, a2: {entries:?}");
    assert_eq!(count("credentials.get"), 2, "{entries:?}");
    let report = a.audit().verify().await.expect("verify");
    assert!(report.valid, "{report:?}");
}

#[tokio::test]
async fn concurrent_commits_of_one_vault_are_one_commit_in_flight_on_one_chain() {
    let inner: SharedStore = Arc::new(MemoryStore::new());
    open_over(inner.clone()).await;
    let holding = Arc::new(HoldingStore::new(inner.clone()));
    let v = open_over(holding.clone()).await;
    v.close()
        .await
        .expect("stop the flusher (the vault stays usable)");
    let hold = holding.hold();
    let n = 260;
    let mut tasks = Vec::new();
    for i in 0..n {
        let v = v.clone();
        tasks.push(tokio::spawn(async move {
            v.credentials()
                .put(cput("svc", &format!("R{i}"), "v"))
                .await
        }));
    }
    // One commit is held in the store; every other one waits for the next group.
    hold.arrived().await;
    while v.queued_commits_for_tests() < n - 1 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        holding.log().len(),
        0,
        "one commit in flight, not yet through"
    );
    hold.release();
    for t in tasks {
        t.await.expect("join").expect("every put succeeds");
    }
    assert_eq!(
        holding.log().len(),
        2,
        "the 259 that queued were made as one commit"
    );
    v.flush().await.expect("flush");
    let report = v.audit().verify().await.expect("verify");
    assert!(report.valid, "{report:?}");
    let mut per_writer = std::collections::BTreeMap::<String, usize>::new();
    for e in all_entries(&v).await {
        if e.op == "credentials.put" && e.path.starts_with("credentials/svc/R") {
            *per_writer.entry(e.writer).or_insert(0) += 1;
        }
    }
    assert_eq!(
        per_writer.values().copied().collect::<Vec<_>>(),
        [n],
        "every entry on one chain"
    );
}

#[tokio::test]
async fn entries_appended_while_the_vault_checks_its_log_are_left_for_the_next_check() {
    let hook = Hook::new(Arc::new(MemoryStore::new()));
    let v = open_over(hook.clone()).await;
    for i in 0..2 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    // After the check has read the heads, and before it reads the entries, a write appends
    // an entry to the same chain (and moves its head).
    let writer = v.clone();
    *hook.scan_hook.lock().expect("lock") = Some((
        b"audit/e/".to_vec(),
        Box::pin(async move {
            tokio::spawn(async move { writer.credentials().put(cput("svc", "K2", "v")).await })
                .await
                .expect("join")
                .expect("put during the check");
        }),
    ));
    let report = v.audit().verify().await.expect("verify");
    assert!(
        hook.scan_hook.lock().expect("lock").is_none(),
        "the write happened"
    );
    assert!(report.valid, "{report:?}");
    assert_eq!(
        report.entries, 2,
        "the entry appended since is not examined"
    );
    let report = v.audit().verify().await.expect("verify again");
    assert!(report.valid, "{report:?}");
    assert!(report.entries >= 3, "{report:?}");
}

#[tokio::test]
async fn the_vaults_own_check_names_the_writer_and_seq_of_an_entry_that_does_not_open() {
    let (v, _clock, store) = memory_vault().await;
    for i in 0..3 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    v.flush().await.expect("flush");
    let newest = all_entries(&v).await.remove(0);
    assert_eq!((newest.op.as_str(), newest.seq), ("credentials.put", 3));
    let entries = store
        .scan(b"audit/e/", None, usize::MAX)
        .await
        .expect("scan");
    store
        .commit(
            vec![],
            vec![
                Write::Put(entries[0].0.clone(), entries[1].1.clone()),
                Write::Put(entries[1].0.clone(), entries[0].1.clone()),
            ],
        )
        .await
        .expect("swap");
    let bad = v
        .audit()
        .verify()
        .await
        .expect("verify")
        .first_bad
        .expect("a bad entry");
    assert_eq!(
        (bad.problem, bad.writer.as_str(), bad.seq),
        (Problem::Changed, newest.writer.as_str(), 3),
        "{bad:?}"
    );
}

#[tokio::test]
async fn an_export_holds_every_entry_across_its_batches() {
    let (v, _clock, _store) = memory_vault().await;
    // More records than a batch of 500: one record per commit.
    for i in 0..501 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    v.flush().await.expect("flush");
    let entries = all_entries(&v).await;
    let puts = entries.iter().filter(|e| e.op == "credentials.put").count();
    assert_eq!(puts, 501);
    let lines: Vec<String> = entries
        .iter()
        .map(|e| e.to_json_line().expect("line"))
        .collect();
    let report = verify_jsonl(lines.join("\n").as_bytes()).expect("verify");
    assert!(report.valid, "{report:?}");
    assert_eq!(report.entries, entries.len() as u64);
}

#[tokio::test]
async fn entries_of_a_writer_without_a_recorded_head_are_reported_by_the_vaults_check() {
    let (v, _clock, store) = memory_vault().await;
    v.close().await.expect("close");
    let made = dump(&store).await;
    v.credentials()
        .put(cput("svc", "K", "v"))
        .await
        .expect("put");
    v.flush().await.expect("flush");
    let writer = all_entries(&v).await.remove(0).writer;
    // Every record (ledger buckets included) rolled back to the vault as it was made, except
    // the audit entries: the writer's head and its place in the registry are gone, and
    // consistently so, yet its entries are there.
    let made: std::collections::BTreeMap<_, _> = made.into_iter().collect();
    let mut writes = Vec::new();
    for (k, val) in dump(&store).await {
        if k.starts_with(b"audit/e/") {
            continue;
        }
        match made.get(&k) {
            Some(old) if *old == val => {}
            Some(old) => writes.push(Write::Put(k, old.clone())),
            None => writes.push(Write::Delete(k)),
        }
    }
    store.commit(vec![], writes).await.expect("roll back");
    let fresh = open_over(store.clone()).await;
    let report = fresh.audit().verify().await.expect("verify");
    let bad = report.first_bad.expect("entries without a head");
    assert_eq!(
        (bad.problem, bad.writer.as_str()),
        (Problem::Missing, writer.as_str()),
        "{bad:?}"
    );
    assert!(bad.reason.contains("no recorded head"), "{bad:?}");
}

#[tokio::test]
async fn the_offline_check_stops_at_the_first_bad_line_and_counts_the_lines_it_read() {
    let (v, _clock, _store) = memory_vault().await;
    for i in 0..5 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    v.flush().await.expect("flush");
    let lines: Vec<String> = all_entries(&v)
        .await
        .iter()
        .map(|e| e.to_json_line().expect("line"))
        .collect();
    assert_eq!(lines.len(), 5);
    let check = |lines: &[String]| verify_jsonl(lines.join("\n").as_bytes()).expect("verify");

    let mut changed = lines.clone();
    changed[2] = changed[2].replace("\"outcome\":\"ok\"", "\"outcome\":\"forbidden\"");
    let r = check(&changed);
    assert_eq!(r.first_bad.expect("changed").line, Some(3));
    assert_eq!(r.entries, 3, "lines 4 and 5 are not read");

    let mut junk = lines.clone();
    junk[1] = "{\"seq\": 1}".into();
    let r = check(&junk);
    assert_eq!(r.first_bad.expect("junk").line, Some(2));
    assert_eq!(r.entries, 2, "the line that is not an entry counts");
}

#[tokio::test]
async fn a_line_repeated_in_an_export_is_out_of_order_not_changed() {
    let (v, _clock, _store) = memory_vault().await;
    for i in 0..3 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    v.flush().await.expect("flush");
    let mut lines: Vec<String> = all_entries(&v)
        .await
        .iter()
        .map(|e| e.to_json_line().expect("line"))
        .collect();
    assert_eq!(lines.len(), 3);
    // Entry 2 again after itself: it matches its hash, but its writer's chain is past it.
    lines.insert(2, lines[1].clone());
    let bad = verify_jsonl(lines.join("\n").as_bytes())
        .expect("verify")
        .first_bad
        .expect("a repeated line");
    assert_eq!(
        (bad.problem, bad.line, bad.seq),
        (Problem::Reordered, Some(3), 2),
        "{bad:?}"
    );
}

/// Longest line an export can hold, its newline included (64 KiB).
const MAX_LINE: usize = 64 * 1024;

/// A one-entry chain whose JSON line (without newline) is `len` bytes long.
fn entry_line_of(len: usize) -> String {
    let mut e = AuditEntry {
        seq: 1,
        writer: "wlongentry01".into(),
        time: Timestamp::from_millis(T0),
        request_id: None,
        actor_id: "embedded".into(),
        actor_name: "embedded".into(),
        op: "credentials.put".into(),
        path: String::new(),
        outcome: "ok".into(),
        client: "embedded".into(),
        prev: GENESIS.into(),
        hash: String::new(),
    };
    e.hash = e.compute_hash().expect("hash");
    let base = e.to_json_line().expect("line").len();
    e.path = "p".repeat(len - base);
    e.hash = e.compute_hash().expect("hash");
    let line = e.to_json_line().expect("line");
    assert_eq!(line.len(), len);
    line
}

#[test]
fn the_offline_check_reads_lines_of_up_to_64_kib_and_refuses_longer_ones_unread() {
    let fits = format!("{}\n", entry_line_of(MAX_LINE - 1));
    assert_eq!(fits.len(), MAX_LINE);
    let r = verify_jsonl(fits.as_bytes()).expect("verify");
    assert!(r.valid, "{:?}", r.first_bad);
    assert_eq!(r.entries, 1);

    let long = format!("{}\n", entry_line_of(MAX_LINE));
    let r = verify_jsonl(long.as_bytes()).expect("verify");
    let bad = r.first_bad.expect("too long");
    assert_eq!(
        (bad.problem, bad.line),
        (Problem::Changed, Some(1)),
        "{bad:?}"
    );
    assert!(
        bad.reason.contains("longer than any audit entry"),
        "{bad:?}"
    );
    assert_eq!(r.entries, 1);
}
