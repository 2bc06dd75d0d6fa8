//! The [`Vault`] facade: opens a store behind the crypto barrier and hands out the typed parts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;

use crate::api::{
    ConfigPut, ConfigWritten, Credential, CredentialInfo, CredentialPut, CredentialWritten, Health,
    HealthStatus, StrategyConfig, VaultApi,
};
use crate::clock::{Clock, SystemClock};
use crate::configs::Configs;
use crate::credentials::Credentials;
use crate::crypto::{Barrier, KdfParams, RootKeySource, load_or_create_key_file};
use crate::error::{Error, Result};
use crate::store::{SharedStore, SledStore};

/// Name of the dev-mode root key file inside a data directory.
pub const DEV_KEY_FILE: &str = "root.key";
/// Name of the sled database directory inside a data directory.
pub const STORE_DIR: &str = "store";

/// An open, unlocked vault. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Vault {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) barrier: Barrier,
    pub(crate) clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.inner.barrier.store().backend_name())
            .finish_non_exhaustive()
    }
}

/// Builds a [`Vault`].
///
/// Defaults: no store (required), no key (required), [`SystemClock`], and
/// [`KdfParams::default`] (Argon2id t=1, 46 MiB) for a passphrase vault created by this open.
pub struct VaultBuilder {
    store: Option<SharedStore>,
    key: Option<RootKeySource>,
    clock: Arc<dyn Clock>,
    kdf: KdfParams,
}

impl VaultBuilder {
    /// The store to open.
    pub fn store(mut self, store: SharedStore) -> Self {
        self.store = Some(store);
        self
    }

    /// The root key (or passphrase).
    pub fn key(mut self, key: RootKeySource) -> Self {
        self.key = Some(key);
        self
    }

    /// The clock every timestamp and time rule reads.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Argon2id cost used when this open creates a passphrase vault.
    pub fn kdf(mut self, kdf: KdfParams) -> Self {
        self.kdf = kdf;
        self
    }

    /// Unlocks (or initialises) the vault. `wrong_key` when the key does not open its data.
    pub async fn open(self) -> Result<Vault> {
        let store = self
            .store
            .ok_or_else(|| Error::invalid("store", "a store is required"))?;
        let key = self.key.ok_or_else(|| {
            Error::invalid("encryption_key", "a root key or passphrase is required")
        })?;
        let barrier = Barrier::unlock(store, &key, self.kdf).await?;
        Ok(Vault {
            inner: Arc::new(Inner {
                barrier,
                clock: self.clock,
            }),
        })
    }
}

/// The root key for a data directory: the given one, or (dev mode) the key file in the
/// directory, created on first use. The flag says whether the dev key file was just created.
pub fn key_for_dir(
    dir: &Path,
    given: Option<RootKeySource>,
) -> Result<(RootKeySource, Option<DevKey>)> {
    match given {
        Some(k) => Ok((k, None)),
        None => {
            create_private_dir(dir)?;
            let path = dir.join(DEV_KEY_FILE);
            let (key, created) = load_or_create_key_file(&path)?;
            Ok((RootKeySource::Key(key), Some(DevKey { path, created })))
        }
    }
}

/// Where a dev-mode key lives and whether this start created it.
#[derive(Debug, Clone)]
pub struct DevKey {
    /// The key file.
    pub path: PathBuf,
    /// True when this call generated the key.
    pub created: bool,
}

/// Creates `dir` (and parents) if missing, with mode 0700 for the last component.
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| Error::BackendUnavailable(format!("cannot create {}: {e}", dir.display())))
}

impl Vault {
    /// A builder; see [`VaultBuilder`] for the defaults.
    pub fn builder() -> VaultBuilder {
        VaultBuilder {
            store: None,
            key: None,
            clock: Arc::new(SystemClock),
            kdf: KdfParams::default(),
        }
    }

    /// Opens the embedded vault in data directory `dir` (sled in `dir/store`), creating it when
    /// missing. With `key: None` it runs in dev mode: a random root key in `dir/root.key`.
    pub async fn open_dir(
        dir: impl AsRef<Path>,
        key: Option<RootKeySource>,
    ) -> Result<(Vault, Option<DevKey>)> {
        let dir = dir.as_ref();
        create_private_dir(dir)?;
        let (key, dev) = key_for_dir(dir, key)?;
        let store = SledStore::open(dir.join(STORE_DIR))?;
        let vault = Vault::builder()
            .store(Arc::new(store))
            .key(key)
            .open()
            .await?;
        Ok((vault, dev))
    }

    /// Credentials: encrypted secrets of external services.
    pub fn credentials(&self) -> Credentials<'_> {
        Credentials::new(&self.inner)
    }

    /// Strategy configs: versioned, compare-and-set.
    pub fn configs(&self) -> Configs<'_> {
        Configs::new(&self.inner)
    }

    /// The store under the barrier.
    pub fn store(&self) -> &SharedStore {
        self.inner.barrier.store()
    }

    /// Makes every acknowledged write durable; call at shutdown.
    pub async fn flush(&self) -> Result<()> {
        self.store().flush().await
    }

    /// Health: checks the store answers a read.
    pub async fn health(&self) -> Health {
        let mut components = std::collections::BTreeMap::new();
        let store_ok = self.store().get(b"sys/canary").await.is_ok();
        components.insert(
            "store".to_string(),
            if store_ok { "connected" } else { "error" }.to_string(),
        );
        components.insert(
            "backend".to_string(),
            self.store().backend_name().to_string(),
        );
        components.insert("encryption".to_string(), "unsealed".to_string());
        let (status, message) = if store_ok {
            (HealthStatus::Ok, "vault is healthy")
        } else {
            (HealthStatus::Down, "the store does not answer")
        };
        Health {
            status,
            components,
            message: message.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            timestamp: self.inner.clock.now(),
        }
    }
}

#[async_trait]
impl VaultApi for Vault {
    async fn put_credential(&self, put: CredentialPut) -> Result<CredentialWritten> {
        self.credentials().put(put).await
    }

    async fn get_credential(&self, key: &str, service: Option<&str>) -> Result<Credential> {
        self.credentials().get(key, service).await
    }

    async fn list_credentials(&self, service: &str) -> Result<Vec<CredentialInfo>> {
        self.credentials().list(service).await
    }

    async fn delete_credential(&self, key: &str, service: Option<&str>) -> Result<()> {
        self.credentials().delete(key, service).await
    }

    async fn put_config(&self, service: &str, put: ConfigPut) -> Result<ConfigWritten> {
        self.configs().put(service, put).await
    }

    async fn get_config(
        &self,
        service: &str,
        strategy_id: &str,
        version: Option<u64>,
    ) -> Result<StrategyConfig> {
        self.configs().get(service, strategy_id, version).await
    }

    async fn list_configs(&self, service: &str) -> Result<Vec<StrategyConfig>> {
        self.configs().list(service).await
    }

    async fn health(&self) -> Result<Health> {
        Ok(Vault::health(self).await)
    }
}
