//! The remote client's last-known-good cache of strategy configs: the last successfully read
//! configs of each service, in memory and (optionally) in a file sealed under a key derived
//! from the token, each with the time it was read. Served with `stale: true` when the server
//! is unreachable, and only while younger than the client's maximum age. Credentials are never
//! cached.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use vault_core::crypto::{KeyMaterial, SecretString, derive_subkey, open_blob, seal_blob};
use vault_core::{Error, Page, PageRequest, Result, StrategyConfig};
use zeroize::Zeroizing;

/// HKDF context of the cache-file key.
const CACHE_KEY_CONTEXT: &str = "vault-http client config cache";
/// Associated-data prefix of the cache file (the base URL follows it). v2 entries carry the
/// time they were read; a v1 file (no times) does not open and is replaced.
const CACHE_AAD_PREFIX: &[u8] = b"vault-http config cache v2\0";
/// How stale an unchanged entry's read time may get before a read refreshes it (and rewrites
/// the cache file): a tenth of this, or of the maximum age when that is shorter.
const REFRESH_SLACK: Duration = Duration::from_secs(600);
/// Most pinned (explicitly versioned) configs kept per service.
const MAX_PINNED_PER_SERVICE: usize = 256;

/// The cache of one client (shared by its clones).
pub(crate) struct ConfigCache {
    data: Mutex<CacheData>,
    file: Option<CacheFile>,
    /// Oldest entry served; `None`: no limit.
    max_age: Option<Duration>,
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
    /// When a whole list of the service (one page holding every config) was last read, in ms
    /// since the epoch; `None` until one was.
    listed_at: Option<i64>,
    /// Latest known version of each strategy, by strategy id.
    latest: BTreeMap<String, Entry>,
    /// Explicitly requested versions, by `"<strategy_id>@<version>"`.
    pinned: BTreeMap<String, Entry>,
}

/// One cached config and when it was read from the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    config: StrategyConfig,
    /// When it was read, in ms since the epoch.
    read_at: i64,
}

/// Now, in ms since the epoch.
fn now_ms() -> i64 {
    vault_core::clock::Clock::now(&vault_core::SystemClock).as_millis()
}

impl ConfigCache {
    /// A cache kept in memory and, with `path`, in that file (sealed under a key derived from
    /// `token`, bound to `base_url`). An unreadable or undecryptable file is ignored (and
    /// replaced on the next successful read). `invalid` (field `cache_file`) without a token.
    pub(crate) fn new(
        path: Option<&Path>,
        token: Option<&SecretString>,
        base_url: &str,
        max_age: Option<Duration>,
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
            max_age,
        }))
    }

    /// The entry to keep for `config`, just read at `now`, in place of `old`: `old` itself when
    /// it holds the same config read recently (so that a read of an unchanged config does not
    /// rewrite the cache file each time), else a new entry.
    fn refreshed(&self, old: Option<&Entry>, config: &StrategyConfig, now: i64) -> Entry {
        match old {
            // The same config read at another revision of its service is the same entry.
            Some(e)
                if e.config.version == config.version
                    && e.config
                        == StrategyConfig {
                            revision: e.config.revision,
                            ..config.clone()
                        }
                    && self.recent(e.read_at, now) =>
            {
                e.clone()
            }
            _ => Entry {
                config: config.clone(),
                read_at: now,
            },
        }
    }

    /// Whether `at` is recent enough not to be refreshed (see [`REFRESH_SLACK`]).
    fn recent(&self, at: i64, now: i64) -> bool {
        let slack = self.max_age.map_or(REFRESH_SLACK, |m| m.min(REFRESH_SLACK)) / 10;
        now.saturating_sub(at) <= i64::try_from(slack.as_millis()).unwrap_or(i64::MAX)
    }

    /// Whether something read at `read_at` may still be served.
    fn fresh(&self, read_at: i64, now: i64) -> bool {
        self.max_age.is_none_or(|max| {
            let max = i64::try_from(max.as_millis()).unwrap_or(i64::MAX);
            now.saturating_sub(read_at) <= max
        })
    }

    /// `page` of the cached list of `service`: only when a whole list was read and neither it
    /// nor any config in it is older than the maximum age.
    pub(crate) fn cached_list(
        &self,
        service: &str,
        page: &PageRequest,
    ) -> Option<Page<StrategyConfig>> {
        let limit = page.checked_limit().ok()?;
        let after = page.checked_after().ok()?;
        let cache = self.data.lock().ok()?;
        let s = cache.services.get(service)?;
        let now = now_ms();
        if !s.listed_at.is_some_and(|t| self.fresh(t, now))
            || !s.latest.values().all(|e| self.fresh(e.read_at, now))
        {
            return None;
        }
        let mut rest = s
            .latest
            .iter()
            .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a));
        let items: Vec<StrategyConfig> = rest
            .by_ref()
            .take(limit)
            .map(|(_, e)| mark_stale(e.config.clone()))
            .collect();
        let next = if rest.next().is_some() {
            items.last().map(|c| c.strategy_id.to_string())
        } else {
            None
        };
        Some(Page {
            items,
            unreadable: Vec::new(),
            next,
            revision: None,
        })
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
                .or(latest.filter(|e| e.config.version == v)),
        };
        found
            .filter(|e| self.fresh(e.read_at, now_ms()))
            .map(|e| mark_stale(e.config.clone()))
    }

    /// Records a successful list page of `service`: a page holding the whole list (first page,
    /// no `next`) replaces the service's list; any other page only refreshes its configs.
    /// Persists when something changed.
    pub(crate) async fn remember_list(
        self: &Arc<Self>,
        service: &str,
        request: &PageRequest,
        page: &Page<StrategyConfig>,
    ) {
        let now = now_ms();
        let whole = request.after.is_none() && page.next.is_none();
        let changed = {
            let Ok(mut cache) = self.data.lock() else {
                return;
            };
            let entry = cache.services.entry(service.to_string()).or_default();
            let before = entry.clone();
            let mut latest = if whole {
                BTreeMap::new()
            } else {
                entry.latest.clone()
            };
            for c in &page.items {
                let old = entry.latest.get(c.strategy_id.as_str());
                let kept = match old {
                    // A newer version read before stays.
                    Some(o) if o.config.version > c.version => o.clone(),
                    _ => self.refreshed(old, c, now),
                };
                latest.insert(c.strategy_id.to_string(), kept);
            }
            entry.latest = latest;
            if whole {
                entry.listed_at = entry
                    .listed_at
                    .filter(|&t| self.recent(t, now))
                    .or(Some(now));
            }
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
        let now = now_ms();
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
                    let old = entry.latest.get(config.strategy_id.as_str());
                    if old.is_none_or(|o| o.config.version <= config.version) {
                        let kept = self.refreshed(old, config, now);
                        entry.latest.insert(config.strategy_id.to_string(), kept);
                    }
                }
                Some(v) => {
                    let key = pin_key(&config.strategy_id, v);
                    let old = entry.pinned.get(&key);
                    if old.is_some() || entry.pinned.len() < MAX_PINNED_PER_SERVICE {
                        let kept = self.refreshed(old, config, now);
                        entry.pinned.insert(key, kept);
                    }
                }
            }
            *entry != before
        };
        if changed {
            self.persist().await;
        }
    }

    /// Drops the latest cached version of a config the server deleted (or no longer has), so
    /// that an outage never serves it back; pinned versions stay (they are still readable).
    /// Persists when something changed.
    pub(crate) async fn forget(self: &Arc<Self>, service: &str, strategy_id: &str) {
        let changed = match self.data.lock() {
            Ok(mut cache) => cache
                .services
                .get_mut(service)
                .is_some_and(|s| s.latest.remove(strategy_id).is_some()),
            Err(_) => false,
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
            for e in s.latest.values_mut().chain(s.pinned.values_mut()) {
                e.config.stale = false;
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
        data.services.entry("svc".into()).or_default().listed_at = Some(1);
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
