//! Config put and history read as one strategy's versions grow: 10, 1,000 and 10,000 versions,
//! on a durable sled store. A put writes the head, one version record and the service's
//! revision whatever the count, and a history page walks down from the head by point reads,
//! so both should stay flat.
//!
//! Run: `cargo bench -p vault-core --bench configs`

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use vault_core::crypto::{KeyMaterial, RootKeySource};
use vault_core::prelude::*;
use vault_core::store::SledStore;
use vault_core::{ConfigPut, ConfigSettings, ServiceName, StrategyId, Vault};

const COUNTS: [u64; 3] = [10, 1_000, 10_000];

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn put_of(id: &StrategyId, n: u64) -> ConfigPut {
    ConfigPut {
        params: serde_json::json!({"fast": n % 50, "slow": 26, "threshold": 0.25})
            .as_object()
            .cloned(),
        symbols: Some(vec!["EUR_USD".into(), "GBP_USD".into()]),
        ..ConfigPut::new(id.clone())
    }
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let svc = ServiceName::new("bench").expect("service");
    let v = rt.block_on(async {
        let v = Vault::builder()
            .store(Arc::new(SledStore::open(dir.path()).expect("sled")))
            .key(RootKeySource::Key(KeyMaterial::generate().expect("key")))
            .open()
            .await
            .expect("open");
        v.configs()
            .set_settings(
                &svc,
                ConfigSettings {
                    max_versions: 100_000,
                },
            )
            .await
            .expect("settings");
        v
    });
    // One strategy per count, filled to that many versions before it is measured.
    let ids: Vec<(u64, StrategyId)> = COUNTS
        .iter()
        .map(|&n| (n, StrategyId::new(format!("s{n}")).expect("id")))
        .collect();
    rt.block_on(async {
        for (n, id) in &ids {
            for i in 0..*n {
                v.configs().put(&svc, put_of(id, i)).await.expect("fill");
            }
        }
    });

    let mut g = c.benchmark_group("config_put_durable");
    g.sample_size(20);
    for (n, id) in &ids {
        g.bench_with_input(BenchmarkId::from_parameter(n), id, |b, id| {
            b.to_async(&rt).iter(|| async {
                v.configs().put(&svc, put_of(id, 7)).await.expect("put");
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("config_history_page_100");
    for (n, id) in &ids {
        g.bench_with_input(BenchmarkId::from_parameter(n), id, |b, id| {
            b.to_async(&rt).iter(|| async {
                let h = v
                    .configs()
                    .history(&svc, id, Some(100), None)
                    .await
                    .expect("history");
                std::hint::black_box(h);
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("config_get_latest");
    for (n, id) in &ids {
        g.bench_with_input(BenchmarkId::from_parameter(n), id, |b, id| {
            b.to_async(&rt).iter(|| async {
                let c = v.configs().get(&svc, id, None).await.expect("get");
                std::hint::black_box(c);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
