//! Construct transcripts through the public `Vault` API: entry rules, paging at 10,000 entries
//! both ways, the page byte bound, and concurrent appenders under forced interleaving.

use std::collections::HashSet;

use vault_core::constructs::TRANSCRIPT_MAX_LIMIT;
use vault_core::prelude::*;
use vault_core::{ConstructId, NewEntry, Order, PageRequest, TranscriptQuery, Vault};

use super::constructs::cid;
use super::support::{interleaved, memory_vault, read_gated};

#[tokio::test]
async fn fail_construct_entry_bad_role_or_content_and_bad_limits() {
    let (v, _, _) = memory_vault().await;
    let c = v.constructs();
    let e = c
        .append(&cid("n"), NewEntry::new("../user", "hi"))
        .await
        .expect_err("role");
    assert_eq!(e.field(), Some("role"));
    let e = c
        .append(&cid("n"), NewEntry::new("user", "x".repeat(64 * 1024 + 1)))
        .await
        .expect_err("content");
    assert_eq!(e.field(), Some("content"));
    c.append(&cid("n"), NewEntry::new("user", "hi"))
        .await
        .expect("ok");
    for limit in [0, TRANSCRIPT_MAX_LIMIT + 1] {
        let q = TranscriptQuery {
            limit: Some(limit),
            ..TranscriptQuery::default()
        };
        let e = c.transcript(&cid("n"), q).await.expect_err("limit");
        assert_eq!(e.field(), Some("limit"));
    }
    assert_eq!(
        "sideways".parse::<Order>().expect_err("order").field(),
        Some("order")
    );
}

/// Pages through `total` entries in `order` with page size `limit`, returning every seq seen.
async fn page_through(v: &Vault, id: &ConstructId, order: Order, limit: usize) -> Vec<u64> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = v
            .constructs()
            .transcript(
                id,
                TranscriptQuery {
                    limit: Some(limit),
                    after,
                    order,
                },
            )
            .await
            .expect("page");
        assert!(page.entries.len() <= limit);
        for e in &page.entries {
            assert_eq!(
                e.content,
                format!("message {}", e.seq),
                "content of {}",
                e.seq
            );
            seen.push(e.seq);
        }
        match page.next {
            Some(n) => after = Some(n),
            None => return seen,
        }
    }
}

/// 10,000 entries, one key each: read newest-first and oldest-first in pages, every entry is
/// seen exactly once and in order.
#[tokio::test]
async fn construct_transcript_pages_through_ten_thousand_entries_both_ways() {
    let (v, _, _) = memory_vault().await;
    let id = cid("chatty");
    for i in 1..=10_000u64 {
        let a = v
            .constructs()
            .append(
                &id,
                NewEntry::new(
                    if i % 2 == 0 { "assistant" } else { "user" },
                    format!("message {i}"),
                ),
            )
            .await
            .expect("append");
        assert_eq!(a.seq, i);
    }
    let newest = page_through(&v, &id, Order::Newest, 333).await;
    assert_eq!(newest, (1..=10_000).rev().collect::<Vec<u64>>());
    let oldest = page_through(&v, &id, Order::Oldest, 1000).await;
    assert_eq!(oldest, (1..=10_000).collect::<Vec<u64>>());
    let first = v
        .constructs()
        .transcript(&id, TranscriptQuery::default())
        .await
        .expect("default page");
    assert_eq!(first.total, 10_000);
    assert_eq!(first.entries.len(), 100);
    assert_eq!(
        (first.entries[0].seq, first.entries[0].role.as_str()),
        (10_000, "assistant")
    );
    assert_eq!(first.next, Some(9_901));
    let listed = v
        .constructs()
        .list(PageRequest::first())
        .await
        .expect("list");
    assert_eq!(listed[0].transcript_count, 10_000);
}

/// A page ends early once its entries carry 4 MiB of content; `next` continues exactly there.
#[tokio::test]
async fn construct_transcript_page_is_bounded_in_bytes_and_continues_where_it_stopped() {
    let (v, _, _) = memory_vault().await;
    let id = cid("big");
    let big = "x".repeat(64 * 1024);
    for _ in 0..100 {
        v.constructs()
            .append(&id, NewEntry::new("user", big.clone()))
            .await
            .expect("append");
    }
    for order in [Order::Newest, Order::Oldest] {
        let mut seen = Vec::new();
        let mut after = None;
        let mut pages = 0;
        loop {
            let q = TranscriptQuery {
                limit: Some(1000),
                after,
                order,
            };
            let page = v.constructs().transcript(&id, q).await.expect("page");
            let bytes: usize = page.entries.iter().map(|e| e.content.len()).sum();
            assert!(
                bytes <= vault_core::constructs::MAX_PAGE_CONTENT_BYTES,
                "{bytes}"
            );
            seen.extend(page.entries.iter().map(|e| e.seq));
            pages += 1;
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        assert_eq!(pages, 2, "64 entries of 64 KiB fill a page");
        let mut want: Vec<u64> = (1..=100).collect();
        if order == Order::Newest {
            want.reverse();
        }
        assert_eq!(seen, want);
    }
}

/// Forced interleaving across 16 vaults over one store (every appender reads the same count
/// before any commits): each append still gets its own number and none is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn construct_concurrent_appenders_lose_nothing_under_forced_interleaving() {
    let (v, _, store) = memory_vault().await;
    v.constructs()
        .append(&cid("c"), NewEntry::new("system", "message 0"))
        .await
        .expect("first");
    let racing = interleaved(&store, 16).await;
    check_racing_appends(&v, racing).await;
}

/// The same within one vault: its 16 appenders all read the head before any commits.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn construct_concurrent_appenders_of_one_vault_lose_nothing() {
    let (v, _, store) = memory_vault().await;
    v.constructs()
        .append(&cid("c"), NewEntry::new("system", "message 0"))
        .await
        .expect("first");
    let gated = read_gated(&store, b"con/h/c/transcript", 16).await;
    check_racing_appends(&v, vec![gated; 16]).await;
}

async fn check_racing_appends(v: &Vault, racing: Vec<Vault>) {
    let mut tasks = Vec::new();
    for (i, r) in racing.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            r.constructs()
                .append(&cid("c"), NewEntry::new("user", format!("writer {i}")))
                .await
                .expect("append")
                .seq
        }));
    }
    let mut seqs = Vec::new();
    for t in tasks {
        seqs.push(t.await.expect("join"));
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (2..=17).collect::<Vec<u64>>());
    let page = v
        .constructs()
        .transcript(
            &cid("c"),
            TranscriptQuery {
                order: Order::Oldest,
                ..TranscriptQuery::default()
            },
        )
        .await
        .expect("read");
    assert_eq!(page.total, 17);
    let writers: HashSet<String> = page.entries[1..]
        .iter()
        .map(|e| e.content.clone())
        .collect();
    assert_eq!(writers.len(), 16, "every writer's entry is there once");
}
