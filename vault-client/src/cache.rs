//! The remote client's last-known-good cache of strategy configs: the last successfully read
//! configs of each service, in memory and (optionally) in a file sealed under a key derived
//! from the token. Served with `stale: true` when the server is unreachable. Credentials are
//! never cached.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use vault_core::crypto::{KeyMaterial, SecretString, derive_subkey, open_blob, seal_blob};
use vault_core::{Error, Result, StrategyConfig};
use zeroize::Zeroizing;

/// HKDF context of the cache-file key.
const CACHE_KEY_CONTEXT: &str = "vault-http client config cache";
/// Associated-data prefix of the cache file (the base URL follows it).
const CACHE_AAD_PREFIX: &[u8] = b"vault-http config cache v1\0";
/// Most pinned (explicitly versioned) configs kept per service.
const MAX_PINNED_PER_SERVICE: usize = 256;

/// The cache of one client (shared by its clones).
pub(crate) struct ConfigCache {
    data: Mutex<CacheData>,
    file: Option<CacheFile>,
}

struct CacheFile {
    path: PathBuf,
    key: KeyMaterial,
    aad: Vec<u8>,
    /// Serialises file writes so the newest snapshot is the one left on disk.
    write_lock: tokio::sync::Mutex<()>,
}

/// The cached configs of every service read so far.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct CacheData {
    services: BTreeMap<String, ServiceCache>,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
struct ServiceCache {
    /// True once a full list of the service was read.
    listed: bool,
    /// Latest known version of each strategy, by strategy id.
    latest: BTreeMap<String, StrategyConfig>,
    /// Explicitly requested versions, by `"<strategy_id>@<version>"`.
    pinned: BTreeMap<String, StrategyConfig>,
}

impl ConfigCache {
    /// A cache kept in memory and, with `path`, in that file (sealed under a key derived from
    /// `token`, bound to `base_url`). An unreadable or undecryptable file is ignored (and
    /// replaced on the next successful read). `invalid` (field `cache_file`) without a token.
    pub(crate) fn new(
        path: Option<&Path>,
        token: Option<&SecretString>,
        base_url: &str,
    ) -> Result<Arc<ConfigCache>> {
        let mut data = CacheData::default();
        let file = match path {
            None => None,
            Some(path) => {
                let token = token.ok_or_else(|| {
                    Error::invalid(
                        "cache_file",
                        "needs a token: the cache key is derived from it",
                    )
                })?;
                let key = derive_subkey(token.expose_secret().as_bytes(), CACHE_KEY_CONTEXT)?;
                let mut aad = CACHE_AAD_PREFIX.to_vec();
                aad.extend_from_slice(base_url.as_bytes());
                let file = CacheFile {
                    path: path.to_path_buf(),
                    key,
                    aad,
                    write_lock: tokio::sync::Mutex::new(()),
                };
                if let Some(d) = file.load() {
                    data = d;
                }
                Some(file)
            }
        };
        Ok(Arc::new(ConfigCache {
            data: Mutex::new(data),
            file,
        }))
    }

    pub(crate) fn cached_list(&self, service: &str) -> Option<Vec<StrategyConfig>> {
        let cache = self.data.lock().ok()?;
        let s = cache.services.get(service)?;
        if !s.listed {
            return None;
        }
        Some(s.latest.values().cloned().map(mark_stale).collect())
    }

    pub(crate) fn cached_config(
        &self,
        service: &str,
        strategy_id: &str,
        version: Option<u64>,
    ) -> Option<StrategyConfig> {
        let cache = self.data.lock().ok()?;
        let s = cache.services.get(service)?;
        let latest = s.latest.get(strategy_id);
        let found = match version {
            None => latest,
            Some(v) => s
                .pinned
                .get(&pin_key(strategy_id, v))
                .or(latest.filter(|c| c.version == v)),
        };
        found.cloned().map(mark_stale)
    }

    /// Records a successful list of `service`; persists when something changed.
    pub(crate) async fn remember_list(self: &Arc<Self>, service: &str, configs: &[StrategyConfig]) {
        let changed = {
            let Ok(mut cache) = self.data.lock() else {
                return;
            };
            let entry = cache.services.entry(service.to_string()).or_default();
            let before = entry.clone();
            let mut latest = BTreeMap::new();
            for c in configs {
                let keep_old = entry
                    .latest
                    .get(c.strategy_id.as_str())
                    .filter(|old| old.version > c.version)
                    .cloned();
                latest.insert(
                    c.strategy_id.to_string(),
                    keep_old.unwrap_or_else(|| c.clone()),
                );
            }
            entry.latest = latest;
            entry.listed = true;
            *entry != before
        };
        if changed {
            self.persist().await;
        }
    }

    /// Records a successful single read; persists when something changed.
    pub(crate) async fn remember_one(
        self: &Arc<Self>,
        config: &StrategyConfig,
        version: Option<u64>,
    ) {
        let changed = {
            let Ok(mut cache) = self.data.lock() else {
                return;
            };
            let entry = cache
                .services
                .entry(config.service.to_string())
                .or_default();
            let before = entry.clone();
            match version {
                None => {
                    let newer = entry
                        .latest
                        .get(config.strategy_id.as_str())
                        .is_none_or(|old| old.version <= config.version);
                    if newer {
                        entry
                            .latest
                            .insert(config.strategy_id.to_string(), config.clone());
                    }
                }
                Some(v) => {
                    let key = pin_key(&config.strategy_id, v);
                    if entry.pinned.contains_key(&key)
                        || entry.pinned.len() < MAX_PINNED_PER_SERVICE
                    {
                        entry.pinned.insert(key, config.clone());
                    }
                }
            }
            *entry != before
        };
        if changed {
            self.persist().await;
        }
    }

    /// Writes the current cache snapshot to the cache file, if one is configured. Failures are
    /// logged and otherwise ignored: the cache is an aid, never a reason for a read to fail.
    async fn persist(self: &Arc<Self>) {
        let Some(file) = &self.file else {
            return;
        };
        let _guard = file.write_lock.lock().await;
        let snapshot = match self.data.lock() {
            Ok(c) => c.clone(),
            Err(_) => return,
        };
        let this = self.clone();
        let result = tokio::task::spawn_blocking(move || match &this.file {
            Some(file) => file.store(&snapshot),
            None => Ok(()),
        })
        .await;
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(code = e.code(), error = %e, "config cache not saved"),
            Err(_) => tracing::warn!("config cache not saved: the writer task failed"),
        }
    }
}

impl CacheFile {
    /// Reads and opens the cache file; `None` when missing, unreadable or not openable.
    fn load(&self) -> Option<CacheData> {
        let sealed = std::fs::read(&self.path).ok()?;
        let plain = open_blob(&self.key, &self.aad, &sealed).ok()?;
        let mut data: CacheData = serde_json::from_slice(&plain).ok()?;
        for s in data.services.values_mut() {
            for c in s.latest.values_mut().chain(s.pinned.values_mut()) {
                c.stale = false;
            }
        }
        Some(data)
    }

    /// Seals `data` and replaces the file atomically (temp file, fsync, rename), mode 0600.
    fn store(&self, data: &CacheData) -> Result<()> {
        let plain = Zeroizing::new(
            serde_json::to_vec(data)
                .map_err(|_| Error::Internal("cannot serialise the config cache".into()))?,
        );
        let sealed = seal_blob(&self.key, &self.aad, &plain)?;
        write_atomically(&self.path, &sealed)
    }
}

/// Writes `contents` to a fresh mode-0600 temp file beside `path`, syncs it, and renames it
/// over `path`.
fn write_atomically(path: &Path, contents: &[u8]) -> Result<()> {
    let io = |e: std::io::Error| {
        Error::BackendUnavailable(format!("cannot write {}: {e}", path.display()))
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cache".into());
    let suffix: String = vault_core::crypto::random_bytes(8)?
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let tmp = dir.join(format!(".{name}.tmp-{suffix}"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let written = (|| {
        let mut f = opts.open(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
    // Make the rename itself durable; best effort (not every platform can open a directory).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn pin_key(strategy_id: &str, version: u64) -> String {
    format!("{strategy_id}@{version}")
}

fn mark_stale(mut c: StrategyConfig) -> StrategyConfig {
    c.stale = true;
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_file_round_trips_sealed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("cache.bin");
        let key = derive_subkey(b"token", CACHE_KEY_CONTEXT).expect("key");
        let file = CacheFile {
            path: path.clone(),
            key,
            aad: b"aad".to_vec(),
            write_lock: tokio::sync::Mutex::new(()),
        };
        let mut data = CacheData::default();
        data.services.entry("svc".into()).or_default().listed = true;
        file.store(&data).expect("store");
        assert_eq!(file.load(), Some(data));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let raw = std::fs::read(&path).expect("read");
        assert!(!raw.windows(3).any(|w| w == b"svc"));
        let other = CacheFile {
            key: derive_subkey(b"other-token", CACHE_KEY_CONTEXT).expect("key"),
            path,
            aad: b"aad".to_vec(),
            write_lock: tokio::sync::Mutex::new(()),
        };
        assert_eq!(other.load(), None);
    }
}
