//! Construct transcript append throughput (one writer and 16 concurrent, memory and durable
//! sled) and the cost of one page deep in a 10,000-entry transcript.
//!
//! Run: `cargo bench -p vault-core --bench constructs` (without the `sled` feature only the
//! memory store is measured).

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use vault_core::crypto::{KeyMaterial, RootKeySource};
use vault_core::prelude::*;
#[cfg(feature = "sled")]
use vault_core::store::SledStore;
use vault_core::store::{MemoryStore, SharedStore};
use vault_core::{ConstructId, NewEntry, Order, TranscriptQuery, Vault};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn vault_on(store: SharedStore) -> Vault {
    let key = RootKeySource::Key(KeyMaterial::generate().expect("key"));
    Vault::builder()
        .store(store)
        .key(key)
        .open()
        .await
        .expect("open")
}

fn id(s: &str) -> ConstructId {
    ConstructId::new(s).expect("id")
}

/// A typical chat message.
fn entry() -> NewEntry {
    NewEntry::new("user", "x".repeat(200))
}

fn bench_append(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, v: &Vault) {
    let mut g = c.benchmark_group("transcript_append");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function(format!("{name}_1_writer"), |b| {
        b.iter(|| {
            rt.block_on(v.constructs().append(&id("one"), entry()))
                .expect("append")
        })
    });
    // 16 appenders of one transcript: each iteration is one batch of 16 appends.
    g.bench_function(format!("{name}_16_writers_batch"), |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(async {
                    let mut tasks = Vec::new();
                    for _ in 0..16 {
                        let v = v.clone();
                        tasks.push(tokio::spawn(async move {
                            v.constructs().append(&id("many"), entry()).await
                        }));
                    }
                    for t in tasks {
                        t.await.expect("join").expect("append");
                    }
                });
            }
            start.elapsed()
        })
    });
    g.finish();
}

fn bench_page(c: &mut Criterion, rt: &tokio::runtime::Runtime, v: &Vault) {
    rt.block_on(async {
        for _ in 0..10_000 {
            v.constructs()
                .append(&id("deep"), entry())
                .await
                .expect("seed");
        }
    });
    let mut g = c.benchmark_group("transcript_page");
    for (name, after) in [
        ("first_100_newest", None),
        ("100_at_9000_newest", Some(1001)),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let q = TranscriptQuery {
                    limit: Some(100),
                    after,
                    order: Order::Newest,
                };
                rt.block_on(v.constructs().transcript(&id("deep"), q))
                    .expect("page")
            })
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mem = rt.block_on(vault_on(Arc::new(MemoryStore::new())));
    bench_append(c, &rt, "memory", &mem);
    bench_page(c, &rt, &mem);
    #[cfg(feature = "sled")]
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let sled = rt.block_on(vault_on(Arc::new(
            SledStore::open(dir.path()).expect("sled"),
        )));
        bench_append(c, &rt, "sled_durable", &sled);
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
