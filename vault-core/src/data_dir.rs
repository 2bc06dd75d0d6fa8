//! The embedded data directory: its layout, dev-mode root key file, and the one rule that turns
//! the key options every surface accepts (`encryption_key` / `passphrase`) into a root key.

use std::path::{Path, PathBuf};

use crate::crypto::{RootKeySource, SecretString, load_or_create_key_file};
use crate::error::{Error, Result};

/// Name of the dev-mode root key file inside a data directory.
pub const DEV_KEY_FILE: &str = "root.key";
/// Name of the sled database directory inside a data directory.
pub const STORE_DIR: &str = "store";
/// Name of the credential value key file inside a data directory (see `docs/security.md`).
pub const VALUE_KEYS_FILE: &str = "value.keys";

/// Where a dev-mode key lives and whether this start created it.
#[derive(Debug, Clone)]
pub struct DevKey {
    /// The key file.
    pub path: PathBuf,
    /// True when this call generated the key.
    pub created: bool,
}

/// The root key from the options a caller gave: `encryption_key` (32 bytes as hex or base64;
/// any other string is a passphrase) or `passphrase`, not both; `None` when neither (dev mode).
pub fn key_source(
    encryption_key: Option<SecretString>,
    passphrase: Option<SecretString>,
) -> Result<Option<RootKeySource>> {
    match (encryption_key, passphrase) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "encryption_key",
            "give encryption_key or passphrase, not both",
        )),
        (Some(k), None) => RootKeySource::parse(k.expose_secret()).map(Some),
        (None, Some(p)) if p.is_empty() => Err(Error::invalid("passphrase", "must not be empty")),
        (None, Some(p)) => RootKeySource::passphrase(p).map(Some),
        (None, None) => Ok(None),
    }
}

/// The root key for a data directory: the given one, or (dev mode) the key file in the
/// directory, created on first use — but never beside a store that already exists without
/// one (that vault was made with a key the caller must pass; a new dev key would only fail
/// with `wrong_key` and leave a stray key file behind).
pub fn key_for_dir(
    dir: &Path,
    given: Option<RootKeySource>,
) -> Result<(RootKeySource, Option<DevKey>)> {
    match given {
        Some(k) => Ok((k, None)),
        None => {
            create_private_dir(dir)?;
            let path = dir.join(DEV_KEY_FILE);
            if !path.exists() && dir.join(STORE_DIR).exists() {
                // No key is the wrong key for a vault that was created with one.
                return Err(Error::WrongKey);
            }
            let (key, created) = load_or_create_key_file(&path)?;
            Ok((RootKeySource::Key(key), Some(DevKey { path, created })))
        }
    }
}

/// Creates `dir` (and parents) if missing, with mode 0700 for the last component. An existing
/// directory must belong to this user (`invalid` otherwise, field `data_dir`); if it lets its
/// group or others in, it is narrowed to 0700 (sled creates its files with the process umask,
/// so the directory is what keeps them private).
pub fn create_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        b.mode(0o700);
    }
    b.create(dir)
        .map_err(|e| Error::BackendUnavailable(format!("cannot create {}: {e}", dir.display())))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
        let io = |e: std::io::Error| {
            Error::BackendUnavailable(format!("cannot inspect {}: {e}", dir.display()))
        };
        let meta = std::fs::metadata(dir).map_err(io)?;
        if meta.uid() != rustix::process::geteuid().as_raw() {
            return Err(Error::invalid(
                "data_dir",
                format!(
                    "{} belongs to another user (uid {}); use a directory of your own",
                    dir.display(),
                    meta.uid()
                ),
            ));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
            tracing::warn!(
                dir = %dir.display(),
                was = format!("{mode:o}"),
                "data directory was open to group/others; narrowed to 0700"
            );
        }
    }
    Ok(())
}

/// What [`copy_dir_store`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirCopied {
    /// The records copied as they are, and those added (the moved value keys and the mark
    /// saying the store holds them).
    pub copied: crate::store::Copied,
    /// Credential value keys moved from the directory's key file into the store.
    pub value_keys: u64,
    /// Value keys named by a record whose slot in the key file was erased (versions destroyed
    /// before the copy): not moved, so those versions stay destroyed.
    pub erased_value_keys: u64,
}

/// Copies the vault of data directory `dir` into the empty store `to`, every record as the
/// sealed bytes it is, then checks the copy (see [`crate::store::copy_all`]); `progress(done,
/// total)` after each batch. Fails while a process has the directory open (sled's lock).
///
/// A vault that keeps its credential value keys in the directory's key file (`value.keys`,
/// written by every open since crypto-shredding) has those keys moved too: each live key that
/// a credential record names becomes a sealed in-store record `sys/vk/<id>` under the same id,
/// sealed by the vault's data key as a store without a data directory seals its own keys. That
/// needs the vault's root key: `key`, or (`None`) the directory's dev-mode key file. Keys
/// erased in the file stay erased (their versions stay destroyed); the file itself is left as
/// it is. `invalid` (field `from`) when the key file is missing or is not the store's.
#[cfg(feature = "sled")]
pub async fn copy_dir_store(
    dir: &Path,
    key: Option<RootKeySource>,
    to: &dyn crate::store::Store,
    progress: impl FnMut(u64, u64),
) -> Result<DirCopied> {
    let store_dir = dir.join(STORE_DIR);
    if !store_dir.is_dir() {
        return Err(Error::invalid(
            "from",
            format!(
                "{} holds no vault (no {STORE_DIR} directory)",
                dir.display()
            ),
        ));
    }
    let source: crate::store::SharedStore =
        std::sync::Arc::new(crate::store::SledStore::open(&store_dir)?);
    let import = match source.get(VALUE_KEY_FILE_RECORD).await? {
        Some(_) => Some(value_keys_to_move(dir, key, &source).await?),
        None => None,
    };
    let (added, value_keys, erased_value_keys) = match import {
        Some(i) => (i.records, i.keys, i.erased),
        None => (Vec::new(), 0, 0),
    };
    let copied = crate::store::copy_all(&*source, to, added, progress).await?;
    Ok(DirCopied {
        copied,
        value_keys,
        erased_value_keys,
    })
}

/// The sealed in-store records of the value keys in `dir`'s key file that the credential
/// records of `source` name (see [`copy_dir_store`]).
#[cfg(feature = "sled")]
async fn value_keys_to_move(
    dir: &Path,
    key: Option<RootKeySource>,
    source: &crate::store::SharedStore,
) -> Result<crate::crypto::ValueKeyImport> {
    let path = dir.join(VALUE_KEYS_FILE);
    if !path.is_file() {
        return Err(Error::invalid(
            "from",
            format!(
                "{} is missing: this vault's credential values are sealed under keys kept \
                 there; put back the file backed up with the store",
                path.display()
            ),
        ));
    }
    let (key, _) = key_for_dir(dir, key)?;
    let barrier =
        crate::crypto::Barrier::unlock(source.clone(), &key, crate::crypto::KdfParams::default())
            .await?;
    let file = crate::crypto::ValueKeys::file(&path)?;
    let recorded = barrier.read(VALUE_KEY_FILE_RECORD).await?;
    if recorded.as_ref().map(|r| r.plain.as_slice()) != file.file_id().as_deref().map(str::as_bytes)
    {
        return Err(Error::invalid(
            "from",
            format!(
                "{} is not the key file this vault's store was written with: put back the one \
                 backed up with the store",
                path.display()
            ),
        ));
    }
    let ids = crate::credentials::value_key_ids(&barrier).await?;
    file.import_writes(&barrier, ids.iter().map(String::as_str))
}

/// The record of a store written with a value key file (see `vault.rs`).
#[cfg(feature = "sled")]
const VALUE_KEY_FILE_RECORD: &[u8] = b"sys/vk-file";

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[cfg(unix)]
    #[test]
    fn an_open_data_directory_is_narrowed_to_0700() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        create_private_dir(&data).expect("narrowed");
        let mode = std::fs::metadata(&data).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn dev_mode_never_makes_a_key_beside_an_existing_store() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(STORE_DIR)).expect("store dir");
        let e = key_for_dir(dir.path(), None).expect_err("existing store without key file");
        assert_eq!(e.code(), "wrong_key");
        assert!(!dir.path().join(DEV_KEY_FILE).exists());
        // A fresh directory gets its dev key.
        let fresh = tempfile::tempdir().expect("tempdir");
        let (_, dev) = key_for_dir(fresh.path(), None).expect("dev key");
        assert!(dev.expect("dev").created);
    }

    /// A version whose key was erased but which is still named by its records (a destroy whose
    /// commit never happened, after the key went) stays destroyed after a migration: its slot
    /// is not moved, and the copy reads it as destroyed.
    #[cfg(feature = "sled")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_erased_key_named_by_a_record_is_not_moved() {
        use crate::crypto::{KeyMaterial, ValueKeys};
        use crate::store::{MemoryStore, SharedStore, SledStore};
        use crate::{CredentialKey, CredentialPut, CredentialsApi, ServiceName, Vault};
        let root = || RootKeySource::Key(KeyMaterial::from_slice(&[1; 32]).expect("key"));
        let dir = tempfile::tempdir().expect("tempdir");
        let (s, k) = (
            ServiceName::new("s").expect("service"),
            CredentialKey::new("K").expect("key"),
        );
        let put = |v: &str| CredentialPut::new(s.clone(), k.clone(), v);
        // Retries while sled still holds the lock of a vault dropped a moment ago.
        async fn retry<T>(mut f: impl AsyncFnMut() -> Result<T>) -> T {
            for _ in 0..100 {
                match f().await {
                    Err(e) if e.to_string().contains("in use") => {
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                    other => return other.expect("retried"),
                }
            }
            panic!("the data directory stayed locked")
        }

        let (v, _) = retry(async || Vault::open_dir(dir.path(), Some(root())).await).await;
        v.credentials().put(put("one")).await.expect("v1");
        v.close().await.expect("close");
        drop(v);
        {
            // The key of version 1 erased behind the records' back.
            let store: SharedStore =
                Arc::new(retry(async || SledStore::open(dir.path().join(STORE_DIR))).await);
            let barrier =
                crate::crypto::Barrier::unlock(store, &root(), crate::crypto::KdfParams::default())
                    .await
                    .expect("unlock");
            let ids = crate::credentials::value_key_ids(&barrier)
                .await
                .expect("ids");
            assert_eq!(ids.len(), 1);
            let file = ValueKeys::file(&dir.path().join(VALUE_KEYS_FILE)).expect("file");
            file.shred(ids.into_iter().collect()).await.expect("shred");
        }
        let (v, _) = retry(async || Vault::open_dir(dir.path(), Some(root())).await).await;
        v.credentials().put(put("two")).await.expect("v2");
        v.close().await.expect("close");
        drop(v);

        let target: SharedStore = Arc::new(MemoryStore::new());
        let copied =
            retry(async || copy_dir_store(dir.path(), Some(root()), &*target, |_, _| {}).await)
                .await;
        assert_eq!((copied.value_keys, copied.erased_value_keys), (1, 1));
        assert_eq!(
            target
                .scan(b"sys/vk/f", None, 10)
                .await
                .expect("scan")
                .len(),
            1
        );
        let v = Vault::builder()
            .store(target)
            .key(root())
            .open()
            .await
            .expect("open the copy");
        let e = v
            .credentials()
            .get_version(&k, Some(&s), 1)
            .await
            .expect_err("destroyed");
        assert!(e.to_string().contains("destroyed"), "{e}");
        let two = v
            .credentials()
            .get_version(&k, Some(&s), 2)
            .await
            .expect("v2");
        assert_eq!(two.value.expose_secret(), "two");
    }

    #[test]
    fn key_options_follow_one_rule() {
        let s = |v: &str| Some(SecretString::from(v));
        assert!(key_source(None, None).expect("dev").is_none());
        assert!(matches!(
            key_source(s(&"ab".repeat(32)), None),
            Ok(Some(RootKeySource::Key(_)))
        ));
        assert!(matches!(
            key_source(None, s("correct horse")),
            Ok(Some(RootKeySource::Passphrase(_)))
        ));
        let both = key_source(s("a"), s("b")).expect_err("both");
        assert_eq!(both.field(), Some("encryption_key"));
        let empty = key_source(None, s("")).expect_err("empty");
        assert_eq!(empty.field(), Some("passphrase"));
    }
}
