//! Writer and checker for `scripts/powerloss/run.sh` (simulated power loss under LazyFS).
//!
//! `powerloss_writer write DIR WRITERS [BIG_EVERY]` opens a `SledStore` in DIR and runs WRITERS
//! concurrent tasks, each committing distinct keys `wNN/NNNNNNNNN` until killed; every key is
//! printed to stdout (one line, flushed) only after `commit` returned `Ok(true)`. With a
//! BIG_EVERY above 0, every BIG_EVERY-th key of a writer gets a 200 KiB value (a sled blob file)
//! and the suffix `/big`.
//!
//! `powerloss_writer check DIR < ACKED` reopens the store and prints
//! `acknowledged=N missing=M wrong=W` for the keys read from stdin.

use std::io::{BufRead, Write as _};

use vault_core::store::{SledStore, Store, Write};

fn value_for(key: &str) -> Vec<u8> {
    let unit = format!("value of {key};");
    let len = if key.ends_with("/big") {
        200 * 1024
    } else {
        64
    };
    unit.bytes().cycle().take(len).collect()
}

fn usage() -> ! {
    eprintln!("usage: powerloss_writer write DIR WRITERS [BIG_EVERY] | check DIR < ACKED");
    std::process::exit(64)
}

async fn write(dir: &str, writers: usize, big_every: u64) {
    let store = match SledStore::open(dir) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("open failed: {e}");
            std::process::exit(3)
        }
    };
    let mut tasks = Vec::with_capacity(writers);
    for w in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0u64.. {
                let mut key = format!("w{w:02}/{i:09}");
                if big_every > 0 && i % big_every == big_every - 1 {
                    key.push_str("/big");
                }
                let value = value_for(&key);
                match store
                    .commit(vec![], vec![Write::Put(key.clone().into_bytes(), value)])
                    .await
                {
                    Ok(true) => {
                        let mut out = std::io::stdout().lock();
                        if writeln!(out, "{key}").and_then(|()| out.flush()).is_err() {
                            return;
                        }
                    }
                    Ok(false) => unreachable!("unconditional commit refused"),
                    Err(e) => {
                        eprintln!("writer {w}: commit failed: {e}");
                        return;
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn check(dir: &str) {
    let store = match SledStore::open(dir) {
        Ok(s) => s,
        Err(e) => {
            println!("open failed: {e}");
            std::process::exit(3)
        }
    };
    let (mut acknowledged, mut missing, mut wrong) = (0u64, 0u64, 0u64);
    for line in std::io::stdin().lock().lines() {
        let Ok(key) = line else { break };
        // A line cut short by the kill was never fully acknowledged.
        if !key.starts_with('w') || !(key.len() == 13 || key.len() == 17 && key.ends_with("/big")) {
            continue;
        }
        acknowledged += 1;
        match store.get(key.as_bytes()).await {
            Ok(Some(v)) if v == value_for(&key) => {}
            Ok(Some(_)) => {
                eprintln!("wrong: {key}");
                wrong += 1;
            }
            Ok(None) => {
                eprintln!("missing: {key}");
                missing += 1;
            }
            Err(e) => {
                eprintln!("get {key}: {e}");
                wrong += 1;
            }
        }
    }
    println!("acknowledged={acknowledged} missing={missing} wrong={wrong}");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    match args.get(1).map(String::as_str) {
        Some("write") if args.len() >= 4 => {
            let writers = args[3].parse().unwrap_or_else(|_| usage());
            let big_every = args
                .get(4)
                .map(|s| s.parse().unwrap_or_else(|_| usage()))
                .unwrap_or(0);
            rt.block_on(write(&args[2], writers, big_every));
        }
        Some("check") if args.len() >= 3 => rt.block_on(check(&args[2])),
        _ => usage(),
    }
}
