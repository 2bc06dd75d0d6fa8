//! Decide-and-claim: the latency of one allowed claim (a durable commit on sled), and claims
//! per second with 64 concurrent clients, each claiming its own proposals on its own asset
//! (cooldown and anti-flip off, so every claim is allowed and is a write).
//!
//! Run: `cargo bench -p vault-core --bench guards`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use vault_core::crypto::{KeyMaterial, RootKeySource};
use vault_core::guards::{Account, Decimal};
use vault_core::prelude::*;
use vault_core::store::{SharedStore, SledStore};
use vault_core::{PolicyPut, Proposal, ProposalOrigin, ServiceName, Side, Vault};

const CLIENTS: usize = 64;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn account() -> Account {
    ServiceName::new("bench").expect("account")
}

static NEXT: AtomicU64 = AtomicU64::new(0);

/// An allowed proposal on client `c`'s asset (alternating sides keeps the position small).
fn proposal(c: usize) -> Proposal {
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    Proposal {
        proposal_id: format!("p{n}"),
        instrument: format!("C{c}/USD"),
        side: if n.is_multiple_of(2) {
            Side::Buy
        } else {
            Side::Sell
        },
        notional: Decimal::from(10),
        confidence: 0.9,
        origin: ProposalOrigin::Discretionary,
        expires_at: None,
    }
}

async fn vault(dir: &std::path::Path) -> Vault {
    let store: SharedStore = Arc::new(SledStore::open(dir).expect("sled"));
    let v = Vault::builder()
        .store(store)
        .key(RootKeySource::Key(KeyMaterial::generate().expect("key")))
        .open()
        .await
        .expect("open");
    let allowlist: Vec<String> = (0..CLIENTS).map(|c| format!("C{c}/*")).collect();
    let policy = serde_json::json!({"allowlist": allowlist, "cooldown_s": 0, "anti_flip_s": 0,
        "max_position_notional": {"default": "1000000"}});
    v.guards()
        .put_policy(
            &account(),
            PolicyPut {
                policy: serde_json::from_value(policy).expect("policy"),
                comment: None,
                expected_version: None,
            },
        )
        .await
        .expect("policy");
    v
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let v = rt.block_on(vault(dir.path()));
    let mut g = c.benchmark_group("guards_decide");
    g.sample_size(30);
    g.measurement_time(Duration::from_secs(8));
    g.bench_function("sled_durable_1_client", |b| {
        b.iter(|| {
            let d = rt
                .block_on(v.guards().decide(&account(), proposal(0)))
                .expect("decide");
            assert!(d.allowed(), "{:?}", d.violations);
        })
    });
    // Each iteration: 64 clients claim one proposal each, at once.
    g.bench_function("sled_durable_64_clients_batch", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            for _ in 0..iters {
                rt.block_on(async {
                    let tasks: Vec<_> = (0..CLIENTS)
                        .map(|c| {
                            let v = v.clone();
                            tokio::spawn(
                                async move { v.guards().decide(&account(), proposal(c)).await },
                            )
                        })
                        .collect();
                    for t in tasks {
                        let d = t.await.expect("join").expect("decide");
                        assert!(d.allowed(), "{:?}", d.violations);
                    }
                });
            }
            start.elapsed()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
