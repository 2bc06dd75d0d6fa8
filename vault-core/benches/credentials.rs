//! Embedded credential get (decrypt included) and durable put, on sled and memory.
//!
//! Run: `cargo bench -p vault-core --bench credentials`

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use vault_core::crypto::{KeyMaterial, RootKeySource};
use vault_core::store::{MemoryStore, SharedStore, SledStore};
use vault_core::{CredentialPut, Vault};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

async fn vault_on(store: SharedStore) -> Vault {
    let key = RootKeySource::Key(KeyMaterial::generate().expect("key"));
    let v = Vault::builder()
        .store(store)
        .key(key)
        .open()
        .await
        .expect("open");
    let mut put = CredentialPut::new("fxshinobi", "OANDA_API_KEY", "abc123-secret-value");
    put.metadata = serde_json::json!({"account_type": "practice"})
        .as_object()
        .cloned();
    v.credentials().put(put).await.expect("seed");
    v
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let sled_vault = rt.block_on(vault_on(Arc::new(
        SledStore::open(dir.path()).expect("sled"),
    )));
    let mem_vault = rt.block_on(vault_on(Arc::new(MemoryStore::new())));

    let mut g = c.benchmark_group("credential_get");
    for (name, v) in [("sled", &sled_vault), ("memory", &mem_vault)] {
        g.bench_function(name, |b| {
            b.to_async(&rt).iter(|| async {
                let c = v
                    .credentials()
                    .get("OANDA_API_KEY", Some("fxshinobi"))
                    .await
                    .expect("get");
                std::hint::black_box(c);
            })
        });
    }
    g.bench_function("sled_no_service", |b| {
        b.to_async(&rt).iter(|| async {
            let c = sled_vault
                .credentials()
                .get("OANDA_API_KEY", None)
                .await
                .expect("get");
            std::hint::black_box(c);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("credential_put_durable");
    g.sample_size(20);
    g.bench_function("sled_1_writer", |b| {
        b.to_async(&rt).iter(|| async {
            sled_vault
                .credentials()
                .put(CredentialPut::new("bench", "PUT_KEY", "value-1"))
                .await
                .expect("put");
        })
    });
    g.throughput(Throughput::Elements(16));
    g.bench_function("sled_16_writers", |b| {
        b.to_async(&rt).iter(|| async {
            let mut tasks = Vec::with_capacity(16);
            for i in 0..16 {
                let v = sled_vault.clone();
                tasks.push(tokio::spawn(async move {
                    v.credentials()
                        .put(CredentialPut::new("bench", format!("K{i}"), "value"))
                        .await
                        .expect("put");
                }));
            }
            for t in tasks {
                t.await.expect("join");
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
