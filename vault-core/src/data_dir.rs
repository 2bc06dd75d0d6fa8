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

/// Copies the vault of data directory `dir` into the empty store `to`, every record as the
/// sealed bytes it is, then checks the copy (see [`crate::store::copy_all`]); `progress(done,
/// total)` after each batch. Fails while a process has the directory open (sled's lock).
///
/// Refused (`invalid`, field `from`) for a vault that keeps credential value keys in its
/// directory's key file (`value.keys`, written by every open since crypto-shredding): a store
/// without that file (PostgreSQL) could not open those credentials' values, and moving the keys
/// into the store is not done yet.
#[cfg(feature = "sled")]
pub async fn copy_dir_store(
    dir: &Path,
    to: &dyn crate::store::Store,
    progress: impl FnMut(u64, u64),
) -> Result<crate::store::Copied> {
    use crate::store::Store as _;
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
    let source = crate::store::SledStore::open(&store_dir)?;
    if source.get(VALUE_KEY_FILE_RECORD).await?.is_some() {
        return Err(Error::invalid(
            "from",
            format!(
                "this vault keeps its credential value keys in {} (crypto-shredding), which a \
                 PostgreSQL store cannot reach; moving them into the store is not supported yet",
                dir.join(VALUE_KEYS_FILE).display()
            ),
        ));
    }
    crate::store::copy_all(&source, to, progress).await
}

/// The record of a store written with a value key file (see `vault.rs`).
#[cfg(feature = "sled")]
const VALUE_KEY_FILE_RECORD: &[u8] = b"sys/vk-file";

#[cfg(test)]
mod tests {
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
