//! The dev-mode root key file: a random key kept beside the data (mode 0600).
//!
//! Convenient for a first start with no configuration; not a production setup, since whoever
//! reads the data directory also reads the key.

use std::io::Write as _;
use std::path::Path;

use zeroize::Zeroizing;

use super::KeyMaterial;
use crate::error::{Error, Result};

/// Reads the hex key in `path`, or creates it (mode 0600) with a fresh random key.
/// Returns the key and whether it was created by this call.
pub fn load_or_create_key_file(path: &Path) -> Result<(KeyMaterial, bool)> {
    check_private_file(path)?;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let text = Zeroizing::new(text);
            let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| {
                Error::invalid(
                    "key_file",
                    format!("{} does not hold a hex key", path.display()),
                )
            })?);
            Ok((KeyMaterial::from_slice(&bytes)?, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = KeyMaterial::generate()?;
            let hex_key = Zeroizing::new(hex::encode(key.expose()));
            write_private_file(path, hex_key.as_bytes())?;
            Ok((key, true))
        }
        Err(e) => Err(Error::BackendUnavailable(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Refuses a secret file (key, token) that its group or others can read or write: `invalid`
/// (field `key_file`) saying how to fix it. A missing file passes (it is created 0600).
pub fn check_private_file(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(Error::invalid(
                    "key_file",
                    format!(
                        "{} is open to group or others (mode {mode:o}); run `chmod 600 {}`",
                        path.display(),
                        path.display()
                    ),
                ));
            }
        }
    }
    let _ = path;
    Ok(())
}

/// Creates `path` with mode 0600 (failing if it exists) and writes `contents` durably (the file
/// and its directory entry are synced).
pub fn write_private_file(path: &Path, contents: &[u8]) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let io = |e: std::io::Error| {
        Error::BackendUnavailable(format!("cannot write {}: {e}", path.display()))
    };
    let mut f = opts.open(path).map_err(io)?;
    f.write_all(contents).map_err(io)?;
    f.write_all(b"\n").map_err(io)?;
    f.sync_all().map_err(io)?;
    write_private_file_sync_dir(path)
}

/// Syncs the directory of `path`: a new (or renamed) name is durable once it is.
pub fn write_private_file_sync_dir(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(parent)
            .and_then(|d| d.sync_all())
            .map_err(|e| {
                Error::BackendUnavailable(format!("cannot sync {}: {e}", parent.display()))
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_with_mode_0600_then_reuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("root.key");
        let (k1, created) = load_or_create_key_file(&p).expect("create");
        assert!(created);
        let (k2, created) = load_or_create_key_file(&p).expect("load");
        assert!(!created);
        assert_eq!(k1.expose(), k2.expose());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            let e = load_or_create_key_file(&p).expect_err("world-readable key file");
            assert_eq!(e.field(), Some("key_file"));
            assert!(e.to_string().contains("chmod 600"), "{e}");
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        std::fs::write(&p, "not hex").expect("write");
        assert_eq!(
            load_or_create_key_file(&p).err().as_ref().map(|e| e.code()),
            Some("invalid")
        );
    }

    /// A key file that is there but cannot be read is reported as such; it is never taken
    /// for a missing one (to be created: the vault would then say it cannot write it).
    #[test]
    fn an_existing_unreadable_key_file_is_a_read_error_and_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("root.key");
        // Not UTF-8 text: reading it as the hex key fails (even as root, unlike a mode).
        let garbage = [0xff, 0xfe, 0x00, 0x80];
        write_private_file(&p, &garbage).expect("write");
        let e = load_or_create_key_file(&p).expect_err("unreadable key file");
        assert_eq!(e.code(), "backend_unavailable");
        assert!(e.to_string().contains("cannot read"), "{e}");
        let mut kept = garbage.to_vec();
        kept.push(b'\n');
        assert_eq!(std::fs::read(&p).expect("read"), kept);
    }
}
