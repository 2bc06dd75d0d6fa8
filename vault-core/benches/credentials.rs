//! Embedded credential get (decrypt included) and durable put, on sled and memory.
//!
//! Run: `cargo bench -p vault-core --bench credentials` (without the `sled` feature only the
//! memory store is measured).

use std::sync::Arc;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use vault_core::crypto::{KeyMaterial, RootKeySource};
use vault_core::prelude::*;
#[cfg(feature = "sled")]
use vault_core::store::SledStore;
use vault_core::store::{MemoryStore, SharedStore};
use vault_core::{CredentialKey, CredentialPut, ServiceName, Vault};

fn service(s: &str) -> ServiceName {
    ServiceName::new(s).expect("service")
}

fn cred_key(s: &str) -> CredentialKey {
    CredentialKey::new(s).expect("key")
}

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
    let mut put = CredentialPut::new(
        service("fxshinobi"),
        cred_key("OANDA_API_KEY"),
        "abc123-secret-value",
    );
    put.metadata = serde_json::json!({"account_type": "practice"})
        .as_object()
        .cloned();
    v.credentials().put(put).await.expect("seed");
    v
}

fn bench(c: &mut Criterion) {
    let rt = runtime();
    let mem_vault = rt.block_on(vault_on(Arc::new(MemoryStore::new())));
    #[cfg(feature = "sled")]
    let dir = tempfile::tempdir().expect("tempdir");
    #[cfg(feature = "sled")]
    let sled_vault = rt.block_on(vault_on(Arc::new(
        SledStore::open(dir.path()).expect("sled"),
    )));

    let mut g = c.benchmark_group("credential_get");
    #[cfg(feature = "sled")]
    bench_get(&mut g, &rt, "sled", &sled_vault, true);
    bench_get(&mut g, &rt, "memory", &mem_vault, true);
    #[cfg(feature = "sled")]
    bench_get(&mut g, &rt, "sled_no_service", &sled_vault, false);
    g.finish();

    #[cfg(feature = "sled")]
    put_durable(c, &rt, &sled_vault);
}

/// A get of the seeded credential, with its service given or resolved from the key.
fn bench_get(
    g: &mut BenchmarkGroup<'_, WallTime>,
    rt: &tokio::runtime::Runtime,
    name: &str,
    v: &Vault,
    with_service: bool,
) {
    let key = cred_key("OANDA_API_KEY");
    let svc = with_service.then(|| service("fxshinobi"));
    g.bench_function(name, |b| {
        b.to_async(rt).iter(|| async {
            let c = v.credentials().get(&key, svc.as_ref()).await.expect("get");
            std::hint::black_box(c);
        })
    });
}

#[cfg(feature = "sled")]
fn put_durable(c: &mut Criterion, rt: &tokio::runtime::Runtime, sled_vault: &Vault) {
    use criterion::Throughput;

    let bench_svc = service("bench");
    let put_key = cred_key("PUT_KEY");
    let keys: Vec<CredentialKey> = (0..16).map(|i| cred_key(&format!("K{i}"))).collect();

    let mut g = c.benchmark_group("credential_put_durable");
    g.sample_size(20);
    g.bench_function("sled_1_writer", |b| {
        b.to_async(rt).iter(|| async {
            sled_vault
                .credentials()
                .put(CredentialPut::new(
                    bench_svc.clone(),
                    put_key.clone(),
                    "value-1",
                ))
                .await
                .expect("put");
        })
    });
    g.throughput(Throughput::Elements(16));
    g.bench_function("sled_16_writers", |b| {
        b.to_async(rt).iter(|| async {
            let mut tasks = Vec::with_capacity(16);
            for k in &keys {
                let v = sled_vault.clone();
                let put = CredentialPut::new(bench_svc.clone(), k.clone(), "value");
                tasks.push(tokio::spawn(async move {
                    v.credentials().put(put).await.expect("put");
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
