//! Value keys: one random key per credential version, kept apart from the records, so that
//! destroying a version erases its key and with it every copy of its ciphertext
//! (crypto-shredding).
//!
//! Deleting a record from a log-structured store such as sled leaves its sealed bytes in the
//! log until the segment is reused; PostgreSQL leaves dead tuples until a vacuum. The value of
//! a credential version is therefore sealed twice: under its own *value key* inside the record,
//! and the record under the data key as every record is. Erasing the value key leaves nothing
//! that opens the inner ciphertext, wherever its copies are.
//!
//! Where the keys live:
//! - [`ValueKeys::file`]: a slot file in the data directory (`value.keys`), 32 bytes per key,
//!   overwritten with zeros in place and fsynced when a key is erased. Keys are issued from a
//!   pool: one fsync writes [`POOL`] fresh keys into free slots, so a put pays for it once per
//!   [`POOL`] versions. A crash leaves the unused part of the pool allocated (at most
//!   [`POOL`] slots of 32 bytes per crash, protecting nothing); a clean close frees it.
//! - [`ValueKeys::in_store`]: sealed records `sys/vk/<id>` in the store itself, written and
//!   deleted in the same commit as the version that uses them; their erasure is as good as
//!   the store's delete (for stores opened without a data directory).
//!
//! Moving a data directory's vault into a store without one (`vault-http migrate`, see
//! `crate::data_dir::copy_dir_store`) moves its keys too: [`ValueKeys::import_writes`] seals
//! each live key of the file that a record names as an in-store record under the same id
//! (`sys/vk/f<slot>.<tag>`), so the copied records still find it, and marks the store
//! ([`IMPORTED_RECORD`]). An erased slot is not moved: its versions stay destroyed. From then on
//! the in-store keys answer for `f…` ids as for their own, and erase them the same way.

// Without sled (and its data directories) nothing opens a key file.
#![cfg_attr(not(any(feature = "sled", feature = "testing")), allow(dead_code))]

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use zeroize::Zeroizing;

use super::{Barrier, KeyMaterial};
use crate::error::{Error, Result};
use crate::store::Write;

/// Keys written to the slot file by one fsync.
pub(crate) const POOL: usize = 64;

const SLOT: usize = 32;
/// Slot 0 holds this header (zero-padded to one slot).
const MAGIC: &[u8] = b"vault value keys v1";
const STORE_PREFIX: &str = "sys/vk/";
/// The record saying that a store holds the keys of a data directory's key file, moved in by a
/// migration (sealed; its plaintext is the id of that file). Without it an `f…` id is a key in
/// a file the vault was not opened with.
pub(crate) const IMPORTED_RECORD: &[u8] = b"sys/vk-imported";
/// Length of the key file's id in its header (after the magic and a space).
const ID_LEN: usize = SLOT - MAGIC.len() - 1;

/// A key issued for one version: its id (kept in the version's records), the key, and the
/// writes that must be part of the commit that first uses it.
pub(crate) struct IssuedKey {
    pub(crate) id: String,
    pub(crate) key: KeyMaterial,
    pub(crate) writes: Vec<Write>,
}

/// Where the value keys of an open vault live.
#[derive(Clone)]
pub(crate) struct ValueKeys(Kind);

#[derive(Clone)]
enum Kind {
    File(Arc<Mutex<SlotFile>>),
    /// In the store; `imported`: it also holds the keys of a data directory's key file (ids
    /// `f…`), moved in by a migration.
    Store {
        imported: bool,
    },
}

/// What [`ValueKeys::import_writes`] found to move.
pub(crate) struct Import {
    /// The sealed in-store records of the live keys, and the store's mark ([`IMPORTED_RECORD`]).
    pub(crate) records: Vec<(Vec<u8>, Vec<u8>)>,
    /// Live keys moved.
    pub(crate) keys: u64,
    /// Keys named by a record whose slot was erased (or reused): not moved, so their versions
    /// stay destroyed.
    pub(crate) erased: u64,
}

impl ValueKeys {
    /// Keys in sealed records of the store (erasure as good as the store's delete), including
    /// those a migration moved in from a data directory's key file when the store says so.
    pub(crate) async fn in_store(barrier: &Barrier) -> Result<ValueKeys> {
        let imported = barrier.read(IMPORTED_RECORD).await?.is_some();
        Ok(ValueKeys(Kind::Store { imported }))
    }

    /// Keys in the slot file at `path`, created (mode 0600) when missing.
    pub(crate) fn file(path: &Path) -> Result<ValueKeys> {
        Ok(ValueKeys(Kind::File(Arc::new(Mutex::new(SlotFile::open(
            path,
        )?)))))
    }

    /// The id of the key file (none for in-store keys).
    pub(crate) fn file_id(&self) -> Option<String> {
        match &self.0 {
            Kind::File(f) => Some(lock(f).file_id.clone()),
            Kind::Store { .. } => None,
        }
    }

    /// A fresh key for a version about to be written. When the commit that would use it does
    /// not happen, give it back with [`ValueKeys::unused`].
    pub(crate) async fn issue(&self, barrier: &Barrier) -> Result<IssuedKey> {
        match &self.0 {
            Kind::Store { .. } => {
                let id = format!("k{}", super::random_base62(22)?);
                let key = KeyMaterial::generate()?;
                let skey = store_key(&id);
                let sealed = barrier.seal(&skey, key.expose())?;
                Ok(IssuedKey {
                    id,
                    key,
                    writes: vec![Write::Put(skey, sealed)],
                })
            }
            Kind::File(file) => {
                if let Some(issued) = lock(file).take_from_pool() {
                    return Ok(issued);
                }
                let file = file.clone();
                blocking(move || lock(&file).refill_and_take()).await
            }
        }
    }

    /// Gives back a key whose commit did not happen (it protects nothing).
    pub(crate) fn unused(&self, issued: IssuedKey) {
        if let Kind::File(file) = &self.0
            && let Some((slot, _)) = parse_file_id(&issued.id)
        {
            lock(file).pool.push(slot);
        }
    }

    /// The key `id`; `Ok(None)` when it was erased.
    pub(crate) async fn get(&self, barrier: &Barrier, id: &str) -> Result<Option<KeyMaterial>> {
        match &self.0 {
            Kind::Store { imported } => {
                // A key moved in from a key file keeps its id, tag included.
                let file_tag = match parse_file_id(id) {
                    Some((_, tag)) => Some(tag),
                    None if id.starts_with('k') => None,
                    None => return Err(wrong_place(id)),
                };
                match barrier.read(&store_key(id)).await? {
                    Some(opened) => {
                        let key =
                            KeyMaterial::from_slice(&opened.plain).map_err(|_| Error::Integrity)?;
                        match file_tag {
                            Some(t) if tag(&key)? != t => Err(Error::Integrity),
                            _ => Ok(Some(key)),
                        }
                    }
                    // Erased, unless it is a key of a file this store never received.
                    None if file_tag.is_some() && !imported => Err(wrong_place(id)),
                    None => Ok(None),
                }
            }
            Kind::File(file) => {
                let (slot, tag) = parse_file_id(id).ok_or_else(|| wrong_place(id))?;
                Ok(lock(file).key_of(slot, tag)?)
            }
        }
    }

    /// The writes that erase keys `ids` in the commit that forgets them (in-store keys; a slot
    /// file's are erased by [`ValueKeys::shred`]).
    pub(crate) fn erase_writes<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> Vec<Write> {
        // An in-store key goes whatever kind this vault is (any vault can delete a record);
        // a key file's key is in the store when a migration moved it there.
        let file_keys_in_store = matches!(self.0, Kind::Store { imported: true });
        ids.into_iter()
            .filter(|id| id.starts_with('k') || (file_keys_in_store && id.starts_with('f')))
            .map(|id| Write::Delete(store_key(id)))
            .collect()
    }

    /// Overwrites keys `ids` in the slot file with zeros and fsyncs it (nothing for in-store
    /// keys: see [`ValueKeys::erase_writes`]). Ids of no slot, or of a slot that now holds
    /// another key (erased before, then reused), are skipped.
    pub(crate) async fn shred(&self, ids: Vec<String>) -> Result<()> {
        let file = match &self.0 {
            Kind::File(file) => file,
            // Moved into the store: erased by the commit's writes.
            Kind::Store { imported: true } => return Ok(()),
            // A key in a file this vault was not opened with cannot be erased from here.
            Kind::Store { imported: false } => {
                return match ids.iter().find(|id| id.starts_with('f')) {
                    Some(id) => Err(wrong_place(id)),
                    None => Ok(()),
                };
            }
        };
        let file = file.clone();
        blocking(move || {
            let mut f = lock(&file);
            let mut slots = Vec::new();
            for (slot, tag) in ids.iter().filter_map(|id| parse_file_id(id)) {
                if f.key_of(slot, tag)?.is_some() {
                    slots.push(slot);
                }
            }
            if slots.is_empty() {
                return Ok(());
            }
            f.erase(&slots)
        })
        .await
    }

    /// Erases keys whose versions a commit just dropped (prune, delete): in a task of its own,
    /// so a caller that goes away does not stop it; a failure is logged, not returned (the
    /// commit is made: the keys stay in the file, protecting records no longer listed).
    pub(crate) async fn shred_after_commit(&self, ids: Vec<String>) {
        if ids.is_empty() || !matches!(self.0, Kind::File(_)) {
            return;
        }
        let this = self.clone();
        let outcome = tokio::spawn(async move { this.shred(ids).await }).await;
        let error = match outcome {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        tracing::error!(
            %error,
            "value keys of dropped credential versions were not erased; they stay in the key file"
        );
    }

    /// The records moving the keys `ids` of this key file into a store (a migration of its
    /// vault, `barrier` over the vault's store): each live key sealed exactly as
    /// [`ValueKeys::in_store`] seals its own, at `sys/vk/<id>`, and the mark
    /// [`IMPORTED_RECORD`]. Ids of an erased (or reused) slot are counted, not moved; in-store
    /// ids (`k…`) are skipped (their records are in the store already). Only for a key file.
    pub(crate) fn import_writes<'a>(
        &self,
        barrier: &Barrier,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<Import> {
        let Kind::File(file) = &self.0 else {
            return Err(Error::Internal(
                "value keys are imported from a key file only".into(),
            ));
        };
        let f = lock(file);
        let mut import = Import {
            records: Vec::new(),
            keys: 0,
            erased: 0,
        };
        for id in ids {
            if id.starts_with('k') {
                continue;
            }
            let (slot, tag) = parse_file_id(id).ok_or(Error::Integrity)?;
            match f.key_of(slot, tag)? {
                Some(key) => {
                    let skey = store_key(id);
                    let sealed = barrier.seal(&skey, key.expose())?;
                    import.records.push((skey, sealed));
                    import.keys += 1;
                }
                None => import.erased += 1,
            }
        }
        let mark = barrier.seal(IMPORTED_RECORD, f.file_id.as_bytes())?;
        import.records.push((IMPORTED_RECORD.to_vec(), mark));
        Ok(import)
    }

    /// Frees the unused pool (at a clean close).
    pub(crate) async fn close(&self) -> Result<()> {
        let Kind::File(file) = &self.0 else {
            return Ok(());
        };
        let file = file.clone();
        blocking(move || {
            let mut f = lock(&file);
            let pool = std::mem::take(&mut f.pool);
            f.erase(&pool)
        })
        .await
    }
}

fn lock(file: &Mutex<SlotFile>) -> std::sync::MutexGuard<'_, SlotFile> {
    // A panic while holding it left the maps whole (every update is one insert or remove).
    file.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::BackendUnavailable(format!("value key file task failed: {e}")))?
}

fn store_key(id: &str) -> Vec<u8> {
    format!("{STORE_PREFIX}{id}").into_bytes()
}

/// The id of the key in `slot`: `f<slot>.<tag>`, the tag naming the key (so an id never
/// stands for a later key written into the same slot).
fn file_id(slot: u32, key: &KeyMaterial) -> Result<String> {
    Ok(format!("f{slot}.{}", tag(key)?))
}

fn tag(key: &KeyMaterial) -> Result<String> {
    let mut t = super::sha256_hex(key.expose())?;
    t.truncate(16);
    Ok(t)
}

fn parse_file_id(id: &str) -> Option<(u32, &str)> {
    let (slot, tag) = id.strip_prefix('f')?.split_once('.')?;
    let slot = slot.parse().ok().filter(|s| *s > 0)?;
    Some((slot, tag))
}

fn wrong_place(id: &str) -> Error {
    let wanted = if id.starts_with('f') {
        "the value key file of its data directory"
    } else {
        "its store"
    };
    Error::BackendUnavailable(format!(
        "this credential's value key is kept in {wanted}; open the vault from there"
    ))
}

/// The slot file: a header slot, then 32-byte keys; an all-zero slot is free.
struct SlotFile {
    path: PathBuf,
    /// The random id in the header, recorded in the store (`sys/vk-file`) so that a store
    /// never runs with a key file that is not its own (a lost one recreated empty).
    file_id: String,
    file: File,
    /// Every allocated slot's key (issued to a version, or waiting in the pool).
    keys: HashMap<u32, KeyMaterial>,
    /// Allocated slots not yet used by any version.
    pool: Vec<u32>,
    /// Free slots (zero on disk), and the number of slots in the file.
    free: Vec<u32>,
    len: u32,
}

impl SlotFile {
    fn open(path: &Path) -> Result<SlotFile> {
        let io = |what: &str, e: std::io::Error| {
            Error::BackendUnavailable(format!("cannot {what} {}: {e}", path.display()))
        };
        if !path.exists() {
            // Written whole under a temporary name, then renamed: a crash never leaves a
            // short file that would be refused at every later open.
            let mut header = [0u8; SLOT];
            header[..MAGIC.len()].copy_from_slice(MAGIC);
            let id = super::random_base62(ID_LEN)?;
            header[MAGIC.len() + 1..].copy_from_slice(id.as_bytes());
            header[MAGIC.len()] = b' ';
            let tmp = path.with_extension("keys.tmp");
            match std::fs::remove_file(&tmp) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io("remove", e)),
                _ => {}
            }
            super::write_private_file(&tmp, &header)?;
            std::fs::rename(&tmp, path).map_err(|e| io("create", e))?;
            super::write_private_file_sync_dir(path)?;
        }
        super::check_private_file(path)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| io("open", e))?;
        // One process at a time: sled's lock keeps a second opener out of the directory, and
        // this keeps out a late task of an earlier open of the same process.
        fs2::FileExt::try_lock_exclusive(&file).map_err(|_| {
            Error::BackendUnavailable(format!(
                "the data directory {} is in use by another vault process (its value key file \
                 is locked)",
                path.parent().unwrap_or(path).display()
            ))
        })?;
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| io("read", e))?);
        if !bytes.starts_with(MAGIC) || bytes.len() < SLOT {
            return Err(Error::BackendUnavailable(format!(
                "{} is not a value key file",
                path.display()
            )));
        }
        let file_id = String::from_utf8_lossy(&bytes[MAGIC.len() + 1..SLOT]).into_owned();
        // `write_private_file` ends the header with a newline: slots start at the first
        // whole slot after it.
        let mut out = SlotFile {
            path: path.to_path_buf(),
            file_id,
            file,
            keys: HashMap::new(),
            pool: Vec::new(),
            free: Vec::new(),
            len: 1,
        };
        for (i, chunk) in bytes.chunks_exact(SLOT).enumerate().skip(1) {
            let slot = u32::try_from(i).map_err(|_| Error::Integrity)?;
            out.len = slot + 1;
            if chunk.iter().all(|b| *b == 0) {
                out.free.push(slot);
            } else {
                out.keys.insert(slot, KeyMaterial::from_slice(chunk)?);
            }
        }
        // Lowest slots first, so the file stays as small as it can.
        out.free.sort_unstable_by(|a, b| b.cmp(a));
        Ok(out)
    }

    /// The key in `slot` if its tag is `tag`.
    fn key_of(&self, slot: u32, tag: &str) -> Result<Option<KeyMaterial>> {
        match self.keys.get(&slot) {
            Some(k) if self::tag(k)? == tag => Ok(Some(k.clone())),
            _ => Ok(None),
        }
    }

    fn take_from_pool(&mut self) -> Option<IssuedKey> {
        let slot = self.pool.pop()?;
        let key = self.keys.get(&slot)?.clone();
        Some(IssuedKey {
            id: file_id(slot, &key).ok()?,
            key,
            writes: Vec::new(),
        })
    }

    /// Writes [`POOL`] fresh keys into free slots (or new ones at the end) with one fsync, and
    /// takes one.
    fn refill_and_take(&mut self) -> Result<IssuedKey> {
        if let Some(issued) = self.take_from_pool() {
            return Ok(issued);
        }
        let mut fresh = Vec::with_capacity(POOL);
        for _ in 0..POOL {
            let slot = match self.free.pop() {
                Some(s) => s,
                None => {
                    let s = self.len;
                    self.len = self.len.checked_add(1).ok_or_else(|| {
                        Error::BackendUnavailable("the value key file is full".into())
                    })?;
                    s
                }
            };
            let key = KeyMaterial::generate()?;
            self.write_slot(slot, key.expose())?;
            fresh.push((slot, key));
        }
        self.sync()?;
        for (slot, key) in fresh {
            self.keys.insert(slot, key);
            self.pool.push(slot);
        }
        self.take_from_pool()
            .ok_or_else(|| Error::BackendUnavailable("no value key was issued".into()))
    }

    /// Zeros `slots` on disk and syncs, then forgets them: a failed write or sync keeps them
    /// known, so the next erase writes them again.
    fn erase(&mut self, slots: &[u32]) -> Result<()> {
        let slots: Vec<u32> = slots
            .iter()
            .copied()
            .filter(|s| self.keys.contains_key(s))
            .collect();
        for slot in &slots {
            self.write_slot(*slot, &[0u8; SLOT])?;
        }
        self.sync()?;
        for slot in &slots {
            self.keys.remove(slot);
            self.pool.retain(|s| s != slot);
            self.free.push(*slot);
        }
        Ok(())
    }

    fn write_slot(&self, slot: u32, bytes: &[u8; SLOT]) -> Result<()> {
        use std::os::unix::fs::FileExt as _;
        self.file
            .write_all_at(bytes, u64::from(slot) * SLOT as u64)
            .map_err(|e| self.io("write", e))
    }

    fn sync(&self) -> Result<()> {
        self.file.sync_data().map_err(|e| self.io("fsync", e))
    }

    fn io(&self, what: &str, e: std::io::Error) -> Error {
        Error::BackendUnavailable(format!("cannot {what} {}: {e}", self.path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_keys(dir: &Path) -> ValueKeys {
        ValueKeys::file(&dir.join("value.keys")).expect("value keys")
    }

    fn key_in_file(keys: &ValueKeys, id: &str) -> Option<[u8; 32]> {
        let ValueKeys(Kind::File(f)) = keys else {
            panic!("file keys")
        };
        let (slot, tag) = parse_file_id(id).expect("file id");
        lock(f).key_of(slot, tag).expect("tag").map(|k| *k.expose())
    }

    #[tokio::test]
    async fn an_erased_key_is_zeros_on_disk_and_gone_after_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = file_keys(dir.path());
        let ValueKeys(Kind::File(f)) = &keys else {
            panic!("file keys")
        };
        let (a, b) = {
            let mut f = lock(f);
            (
                f.refill_and_take().expect("a"),
                f.take_from_pool().expect("b"),
            )
        };
        assert_ne!(a.key.expose(), b.key.expose());
        let on_disk = std::fs::read(dir.path().join("value.keys")).expect("read");
        assert!(on_disk.windows(32).any(|w| w == a.key.expose()));
        keys.shred(vec![a.id.clone()]).await.expect("shred");
        let on_disk = std::fs::read(dir.path().join("value.keys")).expect("read");
        assert!(!on_disk.windows(32).any(|w| w == a.key.expose()));
        assert!(on_disk.windows(32).any(|w| w == b.key.expose()));
        assert!(key_in_file(&keys, &a.id).is_none());
        drop(keys);
        let again = file_keys(dir.path());
        assert!(key_in_file(&again, &a.id).is_none());
        assert_eq!(key_in_file(&again, &b.id), Some(*b.key.expose()));
    }

    #[tokio::test]
    async fn close_frees_the_unused_pool_and_slots_are_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = file_keys(dir.path());
        let ValueKeys(Kind::File(f)) = &keys else {
            panic!("file keys")
        };
        let used = lock(f).refill_and_take().expect("key");
        keys.close().await.expect("close");
        drop(keys);
        let again = file_keys(dir.path());
        let ValueKeys(Kind::File(g)) = &again else {
            panic!("file keys")
        };
        {
            let g = lock(g);
            assert_eq!(g.keys.len(), 1, "only the used key stays allocated");
            assert!(
                g.keys
                    .contains_key(&parse_file_id(&used.id).expect("slot").0)
            );
            assert_eq!(g.free.len(), POOL - 1);
        }
        let next = lock(g).refill_and_take().expect("key");
        // Header, the first pool, and one slot more: the other 63 came from the freed ones.
        assert_eq!(
            lock(g).len as usize,
            1 + POOL + 1,
            "the freed slots were reused"
        );
        assert_ne!(next.id, used.id);
    }

    /// A slot erased and then reused holds another key: the old id no longer names it, so a
    /// reader of the old id finds nothing and a second shred of the old id spares the new key.
    #[tokio::test]
    async fn an_id_never_stands_for_a_later_key_in_its_slot() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = file_keys(dir.path());
        let ValueKeys(Kind::File(f)) = &keys else {
            panic!("file keys")
        };
        let old = lock(f).refill_and_take().expect("key");
        keys.close().await.expect("close");
        keys.shred(vec![old.id.clone()]).await.expect("shred");
        let (old_slot, _) = parse_file_id(&old.id).expect("id");
        let mut new = lock(f).refill_and_take().expect("key");
        for _ in 0..2 * POOL {
            if parse_file_id(&new.id).expect("id").0 == old_slot {
                break;
            }
            new = lock(f).refill_and_take().expect("key");
        }
        assert_eq!(
            parse_file_id(&new.id).expect("id").0,
            old_slot,
            "slot reused"
        );
        assert!(key_in_file(&keys, &old.id).is_none());
        keys.shred(vec![old.id.clone()]).await.expect("shred again");
        assert_eq!(key_in_file(&keys, &new.id), Some(*new.key.expose()));
    }

    /// An erase whose write (or fsync) fails keeps the key known, so a retry writes it again
    /// (it once forgot it first: the retry found nothing to erase and reported success while
    /// the key was still on disk).
    #[tokio::test]
    async fn a_failed_erase_is_retried_not_forgotten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("value.keys");
        let keys = file_keys(dir.path());
        let ValueKeys(Kind::File(f)) = &keys else {
            panic!("file keys")
        };
        let a = lock(f).refill_and_take().expect("a");
        // The next write fails: a read-only descriptor stands for an I/O error.
        let writable = std::mem::replace(&mut lock(f).file, File::open(&path).expect("read-only"));
        keys.shred(vec![a.id.clone()])
            .await
            .expect_err("the erase fails");
        lock(f).file = writable;
        keys.shred(vec![a.id.clone()]).await.expect("the retry");
        let on_disk = std::fs::read(&path).expect("read");
        assert!(
            !on_disk.windows(32).any(|w| w == a.key.expose()),
            "the retried erase reported success and the key is still on disk"
        );
        drop(keys);
        assert!(key_in_file(&file_keys(dir.path()), &a.id).is_none());
    }

    #[test]
    fn ids_of_no_slot_are_refused() {
        assert_eq!(parse_file_id("f12.ab"), Some((12, "ab")));
        assert_eq!(parse_file_id("f12"), None);
        assert_eq!(parse_file_id("f0.ab"), None);
        assert_eq!(parse_file_id("kabc"), None);
        assert_eq!(parse_file_id("f-1.ab"), None);
    }
}
