//! Decide-and-claim under load, embedded: the latency of every call (p50, p90, p99, p99.9,
//! max) and claims per second, with N concurrent clients on sled or PostgreSQL. Criterion's
//! `guards` bench reports means; this records each call. For `docs/benchmarks.md`.
//!
//! ```text
//! cargo run --release -p vault-core --features postgres --example guards_load -- \
//!     [--clients 64] [--seconds 10] [--warmup 2] [--postgres URL | --sled DIR]
//! ```
//!
//! Each client claims one proposal after another on its own asset (`C<n>/USD`, sides
//! alternating) under a policy with cooldown and anti-flip off, so every decision is allowed and
//! is a claim: a durable commit (on sled, acknowledged after the batch's `fdatasync`). The
//! process's CPU time per claim (user + system, warm-up included) is printed too: on a shared
//! machine it varies less than the rate. The
//! vault is opened as a server opens it (audit log on). Without `--postgres` or `--sled` the
//! sled store is in a fresh temporary directory. With `--postgres`, the database should be
//! empty (a vault made with another key does not open).

use std::sync::Arc;
use std::time::{Duration, Instant};

use vault_core::crypto::{KeyMaterial, RootKeySource};
use vault_core::guards::{Account, Decimal};
use vault_core::prelude::*;
use vault_core::store::{SharedStore, SledStore};
use vault_core::{PolicyPut, Proposal, ProposalOrigin, ServiceName, Side, Vault};

struct Args {
    clients: usize,
    seconds: f64,
    warmup: f64,
    postgres: Option<String>,
    sled: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: guards_load [--clients N] [--seconds S] [--warmup S] [--postgres URL | --sled DIR]"
    );
    std::process::exit(64)
}

fn args() -> Args {
    let mut a = Args {
        clients: 64,
        seconds: 10.0,
        warmup: 2.0,
        postgres: None,
        sled: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        let number = |v: &str| v.parse::<f64>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--clients" => a.clients = value.parse().unwrap_or_else(|_| usage()),
            "--seconds" => a.seconds = number(&value),
            "--warmup" => a.warmup = number(&value),
            "--postgres" => a.postgres = Some(value),
            "--sled" => a.sled = Some(value),
            _ => usage(),
        }
    }
    if a.clients == 0 || a.seconds <= 0.0 {
        usage()
    }
    a
}

fn account() -> Account {
    ServiceName::new("load").expect("account")
}

fn proposal(client: usize, n: u64) -> Proposal {
    Proposal {
        proposal_id: format!("c{client}-{n}"),
        instrument: format!("C{client}/USD"),
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

async fn store(args: &Args) -> (SharedStore, &'static str, Option<tempfile::TempDir>) {
    if let Some(url) = &args.postgres {
        #[cfg(feature = "postgres")]
        {
            let s = vault_core::store::PgStore::open(url)
                .await
                .expect("postgres");
            return (Arc::new(s), "postgres", None);
        }
        #[cfg(not(feature = "postgres"))]
        {
            let _ = url;
            eprintln!("--postgres needs the `postgres` feature");
            std::process::exit(64)
        }
    }
    let (dir, tmp) = match &args.sled {
        Some(d) => (std::path::PathBuf::from(d), None),
        None => {
            let t = tempfile::tempdir().expect("tempdir");
            (t.path().to_path_buf(), Some(t))
        }
    };
    (Arc::new(SledStore::open(&dir).expect("sled")), "sled", tmp)
}

/// CPU time (user + system) this process used so far, from `/proc/self/stat` (Linux; zero
/// elsewhere).
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // utime and stime are fields 14 and 15 of stat(5); after the `)`, items 11 and 12.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // The usual USER_HZ of Linux.
    Duration::from_millis(ticks * 10)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

async fn run(args: Args) {
    let (store, backend, _tmp) = store(&args).await;
    let vault = Vault::builder()
        .store(store)
        .key(RootKeySource::Key(KeyMaterial::generate().expect("key")))
        .open()
        .await
        .expect("open");
    let allowlist: Vec<String> = (0..args.clients).map(|c| format!("C{c}/*")).collect();
    let policy = serde_json::json!({"allowlist": allowlist, "cooldown_s": 0, "anti_flip_s": 0,
        "max_position_notional": {"default": "1000000"}});
    vault
        .guards()
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

    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let until = measure_from + Duration::from_secs_f64(args.seconds);
    let all_claims = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let cpu_before = cpu_time();
    let tasks: Vec<_> = (0..args.clients)
        .map(|c| {
            let v = vault.clone();
            let all_claims = all_claims.clone();
            tokio::spawn(async move {
                // Per call, in µs (calls that started after the warm-up and ended before the end).
                let mut latencies = Vec::new();
                for n in 0u64.. {
                    let t0 = Instant::now();
                    if t0 >= until {
                        break;
                    }
                    let d = v
                        .guards()
                        .decide(&account(), proposal(c, n))
                        .await
                        .expect("decide");
                    assert!(d.allowed(), "{:?}", d.violations);
                    all_claims.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let t1 = Instant::now();
                    if t0 >= measure_from && t1 <= until {
                        let us = (t1 - t0).as_micros();
                        latencies.push(u32::try_from(us).unwrap_or(u32::MAX));
                    }
                }
                latencies
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("join"));
    }
    let cpu = cpu_time().saturating_sub(cpu_before);
    let claims = all_claims.load(std::sync::atomic::Ordering::Relaxed);
    all.sort_unstable();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "{backend}, {} clients, {:.0} s: {} claims, {:.0} claims/s; latency ms p50 {:.2} p90 {:.2} \
         p99 {:.2} p99.9 {:.2} max {:.2}; CPU {:.0} µs per claim (loadavg {})",
        args.clients,
        args.seconds,
        all.len(),
        all.len() as f64 / args.seconds,
        percentile(&all, 50.0),
        percentile(&all, 90.0),
        percentile(&all, 99.0),
        percentile(&all, 99.9),
        percentile(&all, 100.0),
        cpu.as_secs_f64() * 1e6 / claims.max(1) as f64,
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    vault.close().await.expect("close");
}

fn main() {
    let args = args();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run(args));
}
