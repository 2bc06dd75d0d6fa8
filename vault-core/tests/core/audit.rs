//! The audit log through the embedded API: one entry per operation (allowed, denied, failed,
//! failed authentications) with its actor and outcome; a write's entry in the write's commit;
//! hash chains that catch a changed, missing or reordered entry in the store and in an export;
//! never a value or a token.

use std::collections::BTreeMap;
use std::sync::Arc;

use vault_core::audit::{AuditExport, Problem, verify_jsonl};
use vault_core::crypto::KdfParams;
use vault_core::prelude::*;
use vault_core::store::testing::HoldingStore;
use vault_core::store::{SharedStore, Write};
use vault_core::{
    AuditEntry, AuditFilter, AuditQuery, Capability, ConfigPut, Origin, PageRequest, Rule,
    Timestamp, TokenCreate, Vault,
};

use super::support::{T0, ckey, contains, cput, dump, key, memory_vault, sid, svc};

fn rule(path: &str, caps: &[Capability]) -> Rule {
    Rule {
        path: path.into(),
        capabilities: caps.to_vec(),
    }
}

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

/// `(op, actor_id, outcome)` → count, leaving out the audit's own reads.
fn tally(entries: &[AuditEntry]) -> BTreeMap<(String, String, String), usize> {
    let mut t = BTreeMap::new();
    for e in entries.iter().filter(|e| !e.op.starts_with("audit.")) {
        *t.entry((e.op.clone(), e.actor_id.clone(), e.outcome.clone()))
            .or_insert(0) += 1;
    }
    t
}

fn key3(op: &str, actor: &str, outcome: &str) -> (String, String, String) {
    (op.into(), actor.into(), outcome.into())
}

#[tokio::test]
async fn every_operation_kind_produces_exactly_one_entry_with_its_actor_and_outcome() {
    let (v, _clock, _store) = memory_vault().await;
    let s = svc("fxshinobi");
    let k = ckey("OANDA_API_KEY");
    v.credentials()
        .put(cput("fxshinobi", "OANDA_API_KEY", "planted-value-1"))
        .await
        .expect("put");
    v.credentials().get(&k, Some(&s)).await.expect("get");
    v.credentials()
        .get_version(&k, Some(&s), 1)
        .await
        .expect("get_version");
    v.credentials()
        .list(&s, PageRequest::first())
        .await
        .expect("list");
    v.configs()
        .put(&s, ConfigPut::new(sid("default")))
        .await
        .expect("config put");
    v.configs()
        .get(&s, &sid("default"), None)
        .await
        .expect("config get");
    v.configs()
        .list(&s, PageRequest::first())
        .await
        .expect("config list");
    v.configs()
        .history(&s, &sid("default"), None, None)
        .await
        .expect("history");
    let settings = v.configs().settings(&s).await.expect("settings");
    v.configs()
        .set_settings(&s, settings)
        .await
        .expect("set settings");
    let created = v
        .tokens()
        .create(TokenCreate {
            name: "scanner".into(),
            rules: vec![rule("credentials/fxshinobi/*", &[Capability::Read])],
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
        .get(&k, Some(&s))
        .await
        .expect("allowed read");
    t.tokens().get_self().await.expect("self");
    let denied = t
        .credentials()
        .put(cput("fxshinobi", "OANDA_API_KEY", "planted-value-2"))
        .await
        .expect_err("denied");
    assert_eq!(denied.code(), "forbidden");
    let missing = v
        .credentials()
        .get(&ckey("NOPE"), Some(&s))
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), "not_found");
    v.tokens().list(PageRequest::first()).await.expect("list");
    v.tokens().revoke(&id).await.expect("revoke");
    let refused = t
        .credentials()
        .get(&k, Some(&s))
        .await
        .expect_err("revoked");
    assert_eq!(refused.code(), "unauthorized");
    let revoked_auth = v
        .with_token(created.token.expose_secret())
        .await
        .expect_err("revoked token");
    assert_eq!(revoked_auth.code(), "unauthorized");
    v.with_token(&format!("vault_sk_{}", "x".repeat(48)))
        .await
        .expect_err("unknown token");
    v.credentials().delete(&k, Some(&s)).await.expect("delete");

    let entries = all_entries(&v).await;
    let want: BTreeMap<_, _> = [
        (key3("credentials.put", "embedded", "ok"), 1),
        (key3("credentials.get", "embedded", "ok"), 1),
        (key3("credentials.get_version", "embedded", "ok"), 1),
        (key3("credentials.list", "embedded", "ok"), 1),
        (key3("configs.put", "embedded", "ok"), 1),
        (key3("configs.get", "embedded", "ok"), 1),
        (key3("configs.list", "embedded", "ok"), 1),
        (key3("configs.history", "embedded", "ok"), 1),
        (key3("configs.settings", "embedded", "ok"), 1),
        (key3("configs.set_settings", "embedded", "ok"), 1),
        (key3("tokens.create", "embedded", "ok"), 1),
        (key3("credentials.get", &id, "ok"), 1),
        (key3("tokens.self", &id, "ok"), 1),
        (key3("credentials.put", &id, "forbidden"), 1),
        (key3("credentials.get", "embedded", "not_found"), 1),
        (key3("tokens.list", "embedded", "ok"), 1),
        (key3("tokens.revoke", "embedded", "ok"), 1),
        (key3("credentials.get", &id, "unauthorized"), 1),
        (key3("auth", &id, "unauthorized"), 1),
        (key3("auth", "anonymous", "unauthorized"), 1),
        (key3("credentials.delete", "embedded", "ok"), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(tally(&entries), want);
    for e in &entries {
        assert_eq!(e.client, "embedded");
        assert_eq!(e.request_id, None);
        let name = if e.actor_id == id {
            "scanner"
        } else {
            &e.actor_id
        };
        if e.actor_id != "anonymous" {
            assert_eq!(e.actor_name, name, "{e:?}");
        }
    }
    let put = entries
        .iter()
        .find(|e| e.op == "credentials.put" && e.outcome == "ok")
        .expect("put entry");
    assert_eq!(put.path, "credentials/fxshinobi/OANDA_API_KEY");
    let report = v.audit().verify().await.expect("verify");
    assert!(report.valid, "{report:?}");
    assert!(report.entries >= entries.len() as u64);
}

fn audit_entries_in(commit: &[Vec<u8>]) -> usize {
    commit.iter().filter(|k| k.starts_with(b"audit/e/")).count()
}

#[tokio::test]
async fn a_writes_entry_is_in_its_commit_and_carries_the_queued_reads_with_it() {
    // Records every commit's writes.
    let recording = Arc::new(HoldingStore::new(Arc::new(
        vault_core::store::MemoryStore::new(),
    )));
    let applied = || -> Vec<Vec<Vec<u8>>> {
        recording
            .log()
            .into_iter()
            .filter(|c| c.applied)
            .map(|c| c.keys)
            .collect()
    };
    let v = Vault::builder()
        .store(recording.clone())
        .key(key(1))
        .kdf(KdfParams::dangerously_cheap_for_tests())
        .open()
        .await
        .expect("open");
    let s = svc("svc");
    v.credentials()
        .put(cput("svc", "A", "v1"))
        .await
        .expect("put");
    let last = applied().last().cloned();
    let last = last.expect("a commit");
    assert!(
        last.iter().any(|k| k.starts_with(b"cred/h/svc/A")),
        "{last:?}"
    );
    assert_eq!(audit_entries_in(&last), 1, "the put's own entry");
    assert!(last.iter().any(|k| k.starts_with(b"audit/h/")));

    // Two reads are queued; the next write's commit carries them with its own entry, all in
    // one record (unless the flusher committed the reads first).
    v.credentials()
        .get(&ckey("A"), Some(&s))
        .await
        .expect("get");
    v.credentials()
        .get(&ckey("B"), Some(&s))
        .await
        .expect_err("missing");
    v.credentials()
        .put(cput("svc", "B", "v2"))
        .await
        .expect("put");
    let commits = applied();
    let last = commits.last().expect("a commit");
    assert_eq!(audit_entries_in(last), 1, "one record per commit: {last:?}");
    let entries = all_entries(&v).await;
    let ops: Vec<_> = entries.iter().rev().map(|e| e.op.as_str()).collect();
    assert_eq!(
        ops[..4],
        [
            "credentials.put",
            "credentials.get",
            "credentials.get",
            "credentials.put"
        ],
        "{ops:?}"
    );
    let seqs: Vec<_> = entries.iter().rev().map(|e| e.seq).take(4).collect();
    assert_eq!(seqs, [1, 2, 3, 4], "one chain, in order");
}

#[tokio::test]
async fn a_conflicting_write_has_no_entry_in_a_commit_and_is_recorded_as_a_conflict() {
    let (v, _clock, _store) = memory_vault().await;
    let s = svc("svc");
    v.configs()
        .put(&s, ConfigPut::new(sid("a")))
        .await
        .expect("put");
    let mut stale = ConfigPut::new(sid("a"));
    stale.expected_version = Some(7);
    let e = v.configs().put(&s, stale).await.expect_err("stale");
    assert_eq!(e.code(), "conflict");
    let entries = all_entries(&v).await;
    let t = tally(&entries);
    assert_eq!(t.get(&key3("configs.put", "embedded", "ok")), Some(&1));
    assert_eq!(
        t.get(&key3("configs.put", "embedded", "conflict")),
        Some(&1)
    );
}

#[tokio::test]
async fn no_value_and_no_token_reaches_the_audit_log_or_its_export() {
    let (v, _clock, store) = memory_vault().await;
    v.credentials()
        .put(cput("svc", "K", "planted-secret-8c1f"))
        .await
        .expect("put");
    let created = v
        .tokens()
        .create(TokenCreate {
            name: "reader".into(),
            rules: vec![rule("credentials/**", &[Capability::Read])],
            ttl: None,
            llm: Default::default(),
        })
        .await
        .expect("create");
    let token = created.token.expose_secret().to_string();
    let t = v.with_token(&token).await.expect("token");
    t.credentials()
        .get(&ckey("K"), Some(&svc("svc")))
        .await
        .expect("get");
    v.flush().await.expect("flush");
    let mut text = String::new();
    for e in all_entries(&v).await {
        text.push_str(&e.to_json_line().expect("json"));
        text.push('\n');
    }
    assert!(text.contains(&created.info.id), "the actor is there");
    for planted in ["planted-secret-8c1f", token.as_str(), &token[9..]] {
        assert!(!text.contains(planted), "{planted} in the export");
        for (k, val) in dump(&store).await {
            assert!(!contains(&k, planted.as_bytes()));
            assert!(!contains(&val, planted.as_bytes()));
        }
    }
}

#[tokio::test]
async fn queries_filter_page_newest_first_and_need_read_on_audit() {
    let (v, clock, _store) = memory_vault().await;
    for i in 0..5 {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
        clock.advance(std::time::Duration::from_secs(1));
    }
    v.credentials()
        .get(&ckey("NOPE"), Some(&svc("svc")))
        .await
        .expect_err("missing");
    let q = |filter: AuditFilter, limit: Option<usize>, after: Option<String>| AuditQuery {
        filter,
        limit,
        after,
    };
    let page = v
        .audit()
        .query(q(
            AuditFilter {
                op: Some("credentials.put".into()),
                ..AuditFilter::default()
            },
            Some(2),
            None,
        ))
        .await
        .expect("query");
    let paths: Vec<_> = page.items.iter().map(|e| e.path.clone()).collect();
    assert_eq!(paths, ["credentials/svc/K4", "credentials/svc/K3"]);
    let next = page.next.clone().expect("more");
    let page2 = v
        .audit()
        .query(q(
            AuditFilter {
                op: Some("credentials.put".into()),
                ..AuditFilter::default()
            },
            Some(10),
            Some(next),
        ))
        .await
        .expect("page 2");
    let paths: Vec<_> = page2.items.iter().map(|e| e.path.clone()).collect();
    assert_eq!(
        paths,
        [
            "credentials/svc/K2",
            "credentials/svc/K1",
            "credentials/svc/K0"
        ]
    );
    assert_eq!(page2.next, None);

    let failed = v
        .audit()
        .query(q(
            AuditFilter {
                outcome: Some("not_found".into()),
                actor: Some("embedded".into()),
                path_prefix: Some("credentials/svc/".into()),
                ..AuditFilter::default()
            },
            None,
            None,
        ))
        .await
        .expect("query");
    assert_eq!(failed.items.len(), 1);
    assert_eq!(failed.items[0].path, "credentials/svc/NOPE");

    // since is inclusive, until exclusive: the puts at T0+1s and T0+2s.
    let window = v
        .audit()
        .query(q(
            AuditFilter {
                since: Some(Timestamp::from_millis(T0 + 1000)),
                until: Some(Timestamp::from_millis(T0 + 3000)),
                ..AuditFilter::default()
            },
            None,
            None,
        ))
        .await
        .expect("window");
    let paths: Vec<_> = window.items.iter().map(|e| e.path.clone()).collect();
    assert_eq!(paths, ["credentials/svc/K2", "credentials/svc/K1"]);

    for (bad, field) in [
        (q(AuditFilter::default(), Some(0), None), "limit"),
        (q(AuditFilter::default(), Some(1001), None), "limit"),
        (
            q(AuditFilter::default(), None, Some("../x".into())),
            "after",
        ),
        (
            q(
                AuditFilter {
                    actor: Some(String::new()),
                    ..AuditFilter::default()
                },
                None,
                None,
            ),
            "actor",
        ),
        (
            q(
                AuditFilter {
                    since: Some(Timestamp::from_millis(T0 + 1)),
                    until: Some(Timestamp::from_millis(T0)),
                    ..AuditFilter::default()
                },
                None,
                None,
            ),
            "since",
        ),
    ] {
        let e = v.audit().query(bad).await.expect_err("bad query");
        assert_eq!(e.code(), "invalid");
        assert!(e.to_string().contains(field), "{e}");
    }

    let reader = |rules| {
        let v = v.clone();
        async move {
            let created = v
                .tokens()
                .create(TokenCreate {
                    name: "auditor".into(),
                    rules,
                    ttl: None,
                    llm: Default::default(),
                })
                .await
                .expect("create");
            v.with_token(created.token.expose_secret())
                .await
                .expect("token")
        }
    };
    let no = reader(vec![rule("credentials/**", &[Capability::Read])]).await;
    let e = no
        .audit()
        .query(AuditQuery::default())
        .await
        .expect_err("forbidden");
    assert_eq!(e.code(), "forbidden");
    assert!(e.to_string().contains("read audit"), "{e}");
    assert_eq!(
        no.audit().verify().await.expect_err("verify").code(),
        "forbidden"
    );
    assert_eq!(
        no.audit()
            .export()
            .await
            .err()
            .map(|e| e.code().to_string()),
        Some("forbidden".to_string())
    );
    let yes = reader(vec![rule("audit", &[Capability::Read])]).await;
    assert!(
        !yes.audit()
            .query(AuditQuery::default())
            .await
            .expect("ok")
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn origin_is_recorded_as_the_server_gives_it() {
    let (v, _clock, _store) = memory_vault().await;
    let origin = Origin::new(Some("req-1".into()), "192.0.2.7".into());
    assert!(!origin.recorded());
    let r = v.with_origin(origin.clone());
    r.credentials()
        .put(cput("svc", "K", "v"))
        .await
        .expect("put");
    assert!(
        origin.recorded(),
        "the put's entry is seen by every clone of the origin"
    );
    r.record_failed_auth("unauthorized").await.expect("record");
    let entries = all_entries(&v).await;
    let put = entries
        .iter()
        .find(|e| e.op == "credentials.put")
        .expect("put");
    assert_eq!(put.request_id.as_deref(), Some("req-1"));
    assert_eq!(put.client, "192.0.2.7");
    let auth = entries.iter().find(|e| e.op == "auth").expect("auth");
    assert_eq!(
        (auth.actor_id.as_str(), auth.client.as_str()),
        ("anonymous", "192.0.2.7")
    );
}

/// Writes `n` credentials and returns the vault and its store.
async fn log_of(n: usize) -> (Vault, SharedStore) {
    let (v, _clock, store) = memory_vault().await;
    for i in 0..n {
        v.credentials()
            .put(cput("svc", &format!("K{i}"), "v"))
            .await
            .expect("put");
    }
    v.flush().await.expect("flush");
    (v, store)
}

async fn entry_keys(store: &SharedStore) -> Vec<Vec<u8>> {
    store
        .scan(b"audit/e/", None, usize::MAX)
        .await
        .expect("scan")
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

/// A log of `n` puts whose entries (keys and values, newest first) are then changed in the
/// store by `tamper`; the vault's own check's first bad entry.
async fn tampered(
    n: usize,
    tamper: impl FnOnce(&[Vec<u8>], &[Vec<u8>]) -> Vec<Write>,
) -> vault_core::audit::BadEntry {
    let (v, store) = log_of(n).await;
    let entries = store
        .scan(b"audit/e/", None, usize::MAX)
        .await
        .expect("scan");
    let (keys, values): (Vec<_>, Vec<_>) = entries.into_iter().unzip();
    store
        .commit(vec![], tamper(&keys, &values))
        .await
        .expect("tamper");
    let report = v.audit().verify().await.expect("verify");
    assert!(!report.valid, "{report:?}");
    report.first_bad.expect("a bad entry")
}

#[tokio::test]
async fn the_vaults_own_check_finds_a_removed_or_damaged_entry() {
    // A middle entry removed: found at the entry after the gap.
    let bad = tampered(6, |keys, _| vec![Write::Delete(keys[2].clone())]).await;
    assert_eq!((bad.problem, bad.seq), (Problem::Missing, 4), "{bad:?}");

    // The newest entry removed: the head still records it.
    let bad = tampered(3, |keys, _| vec![Write::Delete(keys[0].clone())]).await;
    assert_eq!((bad.problem, bad.seq), (Problem::Missing, 3), "{bad:?}");

    // Two entries' stored values swapped: neither opens under the other's key.
    let bad = tampered(3, |keys, values| {
        vec![
            Write::Put(keys[0].clone(), values[1].clone()),
            Write::Put(keys[1].clone(), values[0].clone()),
        ]
    })
    .await;
    assert_eq!(bad.problem, Problem::Changed, "{bad:?}");

    // The oldest entry removed.
    let bad = tampered(3, |keys, _| {
        vec![Write::Delete(keys.last().expect("oldest").clone())]
    })
    .await;
    assert_eq!((bad.problem, bad.seq), (Problem::Missing, 1), "{bad:?}");

    // The tail cut and the head written back from before it: the ledger catches the head.
    let (v, store) = log_of(2).await;
    let head_key = store
        .scan(b"audit/h/", None, 10)
        .await
        .expect("scan")
        .remove(0)
        .0;
    let old_head = store.get(&head_key).await.expect("get").expect("head");
    v.credentials()
        .put(cput("svc", "LATER", "v"))
        .await
        .expect("put");
    let newest = entry_keys(&store).await.remove(0);
    store
        .commit(
            vec![],
            vec![Write::Delete(newest), Write::Put(head_key, old_head)],
        )
        .await
        .expect("roll back");
    let bad = v
        .audit()
        .verify()
        .await
        .expect("verify")
        .first_bad
        .expect("rolled back head");
    assert_eq!(bad.problem, Problem::Changed, "{bad:?}");
    assert!(bad.reason.contains("ledger"), "{bad:?}");

    // A whole chain removed, entries and head: the writers' registry still lists it.
    let (v, store) = log_of(2).await;
    let all = store.scan(b"audit/", None, usize::MAX).await.expect("scan");
    let gone: Vec<Write> = all
        .into_iter()
        .filter(|(k, _)| k.starts_with(b"audit/e/") || k.starts_with(b"audit/h/"))
        .map(|(k, _)| Write::Delete(k))
        .collect();
    store.commit(vec![], gone).await.expect("remove the chain");
    let report = v.audit().verify().await.expect("verify");
    let bad = report.first_bad.expect("a removed chain");
    assert_eq!(bad.problem, Problem::Missing, "{bad:?}");
    assert!(bad.reason.contains("chain was removed"), "{bad:?}");
    // And the registry removed too: the ledger still records it.
    store
        .commit(vec![], vec![Write::Delete(b"audit/i/writers".to_vec())])
        .await
        .expect("remove the registry");
    assert_eq!(
        v.audit().verify().await.expect_err("registry").code(),
        "integrity"
    );
}

fn export_lines(entries: &[AuditEntry]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e.to_json_line().expect("line"))
        .collect()
}

fn check(lines: &[String]) -> vault_core::VerifyReport {
    verify_jsonl(lines.join("\n").as_bytes()).expect("verify")
}

#[tokio::test]
async fn an_export_checked_offline_names_the_line_of_a_changed_missing_or_swapped_entry() {
    let (v, _store) = log_of(5).await;
    let lines = export_lines(&all_entries(&v).await);
    let r = check(&lines);
    assert!(r.valid, "{r:?}");
    assert_eq!(r.entries, lines.len() as u64);

    // Changed: an outcome edited on line 3.
    let mut changed = lines.clone();
    changed[2] = changed[2].replace("\"outcome\":\"ok\"", "\"outcome\":\"forbidden\"");
    assert_ne!(changed[2], lines[2]);
    let bad = check(&changed).first_bad.expect("changed");
    assert_eq!(
        (bad.problem, bad.line),
        (Problem::Changed, Some(3)),
        "{bad:?}"
    );

    // Changed with its hash recomputed: the next (newer) entry's prev no longer matches.
    let mut rehashed = lines.clone();
    let mut e: AuditEntry = serde_json::from_str(&rehashed[2]).expect("parse");
    e.path = "credentials/svc/OTHER".into();
    e.hash = e.compute_hash().expect("hash");
    rehashed[2] = e.to_json_line().expect("line");
    let bad = check(&rehashed).first_bad.expect("rehashed");
    assert_eq!(
        (bad.problem, bad.line),
        (Problem::Changed, Some(3)),
        "{bad:?}"
    );

    // Missing: line 3 deleted; found at the line after the gap (the old line 4).
    let mut missing = lines.clone();
    missing.remove(2);
    let bad = check(&missing).first_bad.expect("missing");
    assert_eq!(
        (bad.problem, bad.line),
        (Problem::Missing, Some(3)),
        "{bad:?}"
    );

    // Swapped: lines 2 and 3 exchanged.
    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    let bad = check(&swapped).first_bad.expect("swapped");
    assert_eq!(
        (bad.problem, bad.line),
        (Problem::Reordered, Some(2)),
        "{bad:?}"
    );

    // The oldest line cut: the chain no longer reaches its first entry.
    let mut cut = lines.clone();
    cut.pop();
    let bad = check(&cut).first_bad.expect("cut");
    assert_eq!(bad.problem, Problem::Missing, "{bad:?}");

    // An entry with seq 0 and a hash that fits it: no chain has one.
    let mut zero = lines.clone();
    let mut e: AuditEntry = serde_json::from_str(&zero[0]).expect("parse");
    e.seq = 0;
    e.hash = e.compute_hash().expect("hash");
    zero[0] = e.to_json_line().expect("line");
    let bad = check(&zero).first_bad.expect("seq 0");
    assert_eq!(
        (bad.problem, bad.line),
        (Problem::Changed, Some(1)),
        "{bad:?}"
    );

    // Nothing to check is not a valid log; nor is a line longer than any entry.
    assert!(!check(&[]).valid);
    let long = vec!["x".repeat(100 * 1024)];
    let bad = check(&long).first_bad.expect("long line");
    assert_eq!(bad.line, Some(1), "{bad:?}");

    // Not an entry at all.
    let mut junk = lines.clone();
    junk[1] = "{\"seq\": 1}".into();
    let bad = check(&junk).first_bad.expect("junk");
    assert_eq!(
        (bad.problem, bad.line),
        (Problem::Changed, Some(2)),
        "{bad:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_all_get_their_entries_into_one_valid_chain() {
    // Every contender (a vault of its own, as servers sharing a database) reads before any
    // commits: all are in flight at once, each on its vault's chain; none may be lost, forked
    // or left out of a chain.
    let (v, _clock, store) = memory_vault().await;
    v.credentials()
        .put(cput("svc", "FIRST", "v"))
        .await
        .expect("put");
    let n = 8;
    let racing = super::support::interleaved(&store, n).await;
    let mut tasks = Vec::new();
    for (i, r) in racing.iter().cloned().enumerate() {
        tasks.push(tokio::spawn(async move {
            r.credentials()
                .put(cput("svc", &format!("R{i}"), "v"))
                .await
        }));
    }
    for t in tasks {
        t.await
            .expect("join")
            .expect("every writer of its own record succeeds");
    }
    for r in &racing {
        r.flush().await.expect("flush");
    }
    let report = v.audit().verify().await.expect("verify");
    assert!(report.valid, "{report:?}");
    let puts = all_entries(&v)
        .await
        .into_iter()
        .filter(|e| e.op == "credentials.put" && e.path.starts_with("credentials/svc/R"))
        .count();
    assert_eq!(puts, n);
    // The first vault wrote one chain, and each racing vault one.
    let heads = store
        .scan(b"audit/h/", None, 100)
        .await
        .expect("scan")
        .len();
    assert_eq!(heads, 1 + n, "one chain per vault");
}
