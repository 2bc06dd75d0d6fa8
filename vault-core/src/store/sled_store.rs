//! The embedded [`Store`]: sled 0.34, with group commit and an `fdatasync` per batch.
//!
//! # What is guaranteed
//!
//! When [`SledStore::commit`] returns `Ok(true)`, its writes survive a crash of the process and
//! a power cut (assuming a disk that honours cache flushes): they were applied in a sled
//! transaction, then sled's `flush` wrote them to the log, then an `fdatasync` of the files
//! sled wrote them to finished, and all of that started after the transaction returned.
//!
//! sled's own `Db::flush` is not enough. On Linux, sled 0.34.7 writes its log with `pwrite` and
//! `sync_file_range`, which persists neither file metadata (a grown file size) nor the disk's
//! write cache; sled calls a real `fsync` only from a background thread every 500 ms. So after
//! sled's flush the leader of each group-commit batch calls `fdatasync` (`File::sync_data`) on:
//!
//! - `<dir>/db`, sled's log and page store: every record, inline or a pointer to a blob. One
//!   handle on it is kept open from [`SledStore::open`]; an `fdatasync` through any descriptor of
//!   a file flushes that file.
//! - `<dir>/blobs/<lsn>`: a record larger than about 128 KiB (a quarter of sled's 512 KiB
//!   segment: a big value, or a tree node holding several) is written to its own blob file,
//!   which sled never syncs. sled's recovery stops at the first record whose blob is unreadable,
//!   so one lost blob drops every later record, acknowledged or not. So the leader syncs every
//!   blob file not synced yet, then the `blobs` directory, and only then the log. Once sled's
//!   flush has returned, every record it covers has a complete blob (the flush waits for each
//!   reservation made before it, and a reservation writes its blob before completing). A blob
//!   listed before the flush started is then remembered as synced; one that appeared during the
//!   flush may belong to a reservation still writing it, so the next batch syncs it again.
//!
//! - Blobs sled removes. sled deletes a record's blob as soon as the record replacing it is
//!   written (`sync_file_range`), not once it is durable: a crash can keep the deletion and lose
//!   the replacement, leaving the old record, maybe acknowledged, pointing at nothing (sled's
//!   recovery then drops the key or panics; seen under LazyFS). So every synced blob also gets a
//!   hard link in `<dir>/vault-blob-links/`, synced with the blob. A batch drops the links of
//!   the blobs sled removed before its log `fdatasync` started, once that sync has returned (the
//!   replacing records were written before the removal, so they are durable then), and
//!   [`SledStore::open`] first links back every blob whose link is left. A crash can so leave a
//!   few unreferenced blob files: space, never data.
//!
//! At [`SledStore::open`] the `conf` file (written once by sled, never synced by it) is synced,
//! then `vault-blob-links`, `blobs`, the data directory and the parent of every directory the
//! open created, so the directory entries of `db`, `conf` and the two directories are durable.
//! The first batch after an open syncs every blob, as the previous process may not have.
//!
//! sled itself still `fsync`s the log every 500 ms and when it manages segments, which can make
//! durable a record of a commit not yet acknowledged whose blob is not: recovery then stops at
//! that record, after every acknowledged commit.
//!
//! Not synced per batch: `snap.*` snapshots. sled writes them in the background, `fsync`s their
//! contents before renaming them into place and recovers from the log when a snapshot is older or
//! missing; they hold nothing the log does not. Syncing the data directory after each batch would
//! add a second sync per batch for no acknowledged write.
//!
//! If an `fdatasync` fails, the kernel may already have dropped the dirty pages, and a later
//! `fdatasync` could report success without them. The store therefore refuses every later commit
//! with `backend_unavailable` until it is reopened (sled's recovery then reads what is on disk).
//!
//! # Group commit
//!
//! Concurrent commits share flushes: while one flush-and-sync runs, the commits that arrive
//! queue behind it, and the next one covers all of them at once. A single writer pays one
//! `fdatasync` per commit; sixteen writers pay roughly one per batch.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use async_trait::async_trait;
use sled::transaction::{ConflictableTransactionError, TransactionError};

use super::{Condition, Entry, Store, Write, key_after, prefix_end};
use crate::error::{Error, Result};

/// A store kept in a sled database directory; every acknowledged commit is on disk.
#[derive(Clone)]
pub struct SledStore {
    db: sled::Db,
    flush: Arc<GroupFlush>,
}

/// Sequence numbers of applied and flushed commits, the lock that elects one flusher, and the
/// files the flusher syncs.
struct GroupFlush {
    applied: AtomicU64,
    flushed: AtomicU64,
    flusher: tokio::sync::Mutex<()>,
    files: DurableFiles,
    /// Set when a batch's sync failed: nothing written since can be promised durable.
    failed: AtomicBool,
}

/// The files of a sled directory that a batch makes durable after sled's flush.
struct DurableFiles {
    /// `<dir>/db`, sled's log.
    log: File,
    log_path: PathBuf,
    /// `<dir>/blobs`.
    blobs_dir: PathBuf,
    /// `<dir>/vault-blob-links`: a hard link to every synced blob, kept until sled's removal of
    /// the blob is safe (see the module doc).
    links_dir: PathBuf,
    /// Touched only by the elected flusher.
    blobs: Mutex<BlobState>,
    /// Test-only record of flushes, syncs and acknowledgements.
    #[cfg(test)]
    probe: probe::Probe,
}

/// What the flusher knows of `blobs/`.
struct BlobState {
    /// Blobs synced when complete: never synced again.
    synced: HashSet<OsString>,
    /// Blobs with a link in `vault-blob-links` (a superset of `synced`).
    linked: HashSet<OsString>,
}

/// The directory, under sled's, of links that keep removed blobs until their removal is safe.
const LINKS_DIR: &str = "vault-blob-links";

fn io_error(what: &str, path: &Path, e: io::Error) -> Error {
    Error::BackendUnavailable(format!("sled durability: {what} {}: {e}", path.display()))
}

/// `fsync` of a directory, so that the entries created in it are durable.
fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("fsync of directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The directories among `path` and its ancestors that do not exist yet, deepest first.
fn missing_dirs(path: &Path) -> Vec<PathBuf> {
    path.ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .take_while(|p| !p.exists())
        .map(Path::to_path_buf)
        .collect()
}

/// Before sled opens `dir`: puts back every blob that sled removed while the record replacing
/// it was not durable yet (a crash may have kept the removal and lost the replacement). Does
/// nothing while another process has the store open (sled's lock is an `flock` on `db`; sled's
/// open then reports the directory in use).
fn restore_removed_blobs(dir: &Path) -> Result<()> {
    let links_dir = dir.join(LINKS_DIR);
    let links = match std::fs::read_dir(&links_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("listing of", &links_dir, e)),
    };
    let log_path = dir.join("db");
    let log = match File::open(&log_path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("open of", &log_path, e)),
    };
    if fs2::FileExt::try_lock_exclusive(&log).is_err() {
        return Ok(());
    }
    let blobs_dir = dir.join("blobs");
    let mut restored = false;
    for entry in links {
        let name = entry
            .map_err(|e| io_error("listing of", &links_dir, e))?
            .file_name();
        let blob = blobs_dir.join(&name);
        match std::fs::hard_link(links_dir.join(&name), &blob) {
            Ok(()) => restored = true,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("restore of", &blob, e)),
        }
    }
    if restored {
        sync_dir(&blobs_dir)?;
    }
    // Closing `log` releases the lock before sled takes it.
    Ok(())
}

impl DurableFiles {
    /// After sled opened `dir`: opens a handle on sled's log, drops the links of blobs sled's
    /// recovery removed (records past the recovered end of the log), and makes the files and
    /// directory entries created at open durable: `conf`, then `vault-blob-links/`, `blobs/`,
    /// the data directory and the parents of `created`.
    fn open(dir: &Path, created: &[PathBuf]) -> Result<DurableFiles> {
        #[cfg(test)]
        let probe = probe::Probe::default();
        let log_path = dir.join("db");
        let log = std::fs::OpenOptions::new()
            .write(true)
            .open(&log_path)
            .map_err(|e| io_error("open of", &log_path, e))?;
        log.sync_data()
            .map_err(|e| io_error("fdatasync of", &log_path, e))?;
        let conf = dir.join("conf");
        match std::fs::OpenOptions::new().write(true).open(&conf) {
            Ok(f) => f
                .sync_data()
                .map_err(|e| io_error("fdatasync of", &conf, e))?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("open of", &conf, e)),
        }
        let blobs_dir = dir.join("blobs");
        let links_dir = dir.join(LINKS_DIR);
        std::fs::create_dir_all(&links_dir).map_err(|e| io_error("creation of", &links_dir, e))?;
        let links =
            std::fs::read_dir(&links_dir).map_err(|e| io_error("listing of", &links_dir, e))?;
        let mut linked = HashSet::new();
        for entry in links {
            let name = entry
                .map_err(|e| io_error("listing of", &links_dir, e))?
                .file_name();
            if blobs_dir.join(&name).exists() {
                linked.insert(name);
            } else {
                let link = links_dir.join(&name);
                std::fs::remove_file(&link).map_err(|e| io_error("removal of", &link, e))?;
            }
        }
        let mut dirs = vec![links_dir.clone(), blobs_dir.clone(), dir.to_path_buf()];
        for c in created {
            match c.parent() {
                Some(p) if !p.as_os_str().is_empty() => dirs.push(p.to_path_buf()),
                _ => dirs.push(PathBuf::from(".")),
            }
        }
        dirs.dedup();
        for d in &dirs {
            sync_dir(d)?;
            #[cfg(test)]
            probe.dir_synced(d);
        }
        Ok(DurableFiles {
            log,
            log_path,
            blobs_dir,
            links_dir,
            // Empty: the first batch syncs (and links) every blob, including those a previous
            // process wrote but may not have synced.
            blobs: Mutex::new(BlobState {
                synced: HashSet::new(),
                linked,
            }),
            #[cfg(test)]
            probe,
        })
    }

    /// The names of the files in `blobs/`.
    fn list_blobs(&self) -> Result<Vec<OsString>> {
        let listing_error = |e| io_error("listing of", &self.blobs_dir, e);
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&self.blobs_dir).map_err(listing_error)? {
            names.push(entry.map_err(listing_error)?.file_name());
        }
        Ok(names)
    }

    fn blob_state(&self) -> std::sync::MutexGuard<'_, BlobState> {
        self.blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The blob files not synced yet, listed before sled's flush: each of them is complete once
    /// that flush has returned (see the module doc).
    fn unsynced_blobs(&self) -> Result<Vec<OsString>> {
        let mut names = self.list_blobs()?;
        let state = self.blob_state();
        names.retain(|n| !state.synced.contains(n));
        Ok(names)
    }

    /// After sled's flush: `fdatasync` of every blob file not synced yet and a link to it, then
    /// of `blobs/` and `vault-blob-links/`, then of the log; then removal of the links of the
    /// blobs sled had removed before this sync started. Only the blobs in `complete` (listed
    /// before the flush) are remembered as synced; a blob created since may still be being
    /// written, so the next batch syncs it again.
    fn sync(&self, complete: Vec<OsString>) -> Result<()> {
        #[cfg(test)]
        let started = self.probe.tick();
        let present = self.list_blobs()?;
        let mut state = self.blob_state();
        let mut linked = Vec::new();
        for name in present.iter().filter(|n| !state.synced.contains(*n)) {
            let path = self.blobs_dir.join(name);
            let file = match File::open(&path) {
                Ok(f) => f,
                // Removed by sled since the listing: nothing left to make durable.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("open of", &path, e)),
            };
            let done = file.sync_data();
            #[cfg(test)]
            self.probe.blob_synced(name, &done);
            done.map_err(|e| io_error("fdatasync of", &path, e))?;
            let link = self.links_dir.join(name);
            match std::fs::hard_link(&path, &link) {
                Ok(()) => {}
                // Linked by an earlier batch (this blob was then still being written).
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_error("link of", &link, e)),
            }
            linked.push(name.clone());
        }
        if !linked.is_empty() {
            sync_dir(&self.blobs_dir)?;
            sync_dir(&self.links_dir)?;
            state.linked.extend(linked);
            let complete = complete.into_iter().filter(|n| state.linked.contains(n));
            let complete: Vec<OsString> = complete.collect();
            state.synced.extend(complete);
        }
        // Blobs sled removed: linked, but no longer listed.
        let still_linked = present.iter().filter(|n| state.linked.contains(*n)).count();
        let gone: Vec<OsString> = if still_linked < state.linked.len() {
            let present: HashSet<&OsString> = present.iter().collect();
            state
                .linked
                .iter()
                .filter(|n| !present.contains(n))
                .cloned()
                .collect()
        } else {
            Vec::new()
        };
        drop(state);
        let synced = self.log.sync_data();
        #[cfg(test)]
        self.probe.log_synced(started, &synced);
        synced.map_err(|e| io_error("fdatasync of", &self.log_path, e))?;
        // sled removed these blobs before `present` was listed, after writing the records that
        // replace them; the log is now durable with those records.
        if !gone.is_empty() {
            let mut state = self.blob_state();
            for name in gone {
                let link = self.links_dir.join(&name);
                match std::fs::remove_file(&link) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_error("removal of", &link, e)),
                }
                state.linked.remove(&name);
                state.synced.remove(&name);
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for SledStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStore").finish_non_exhaustive()
    }
}

impl SledStore {
    /// Opens (creating if needed) the sled database in directory `path`.
    ///
    /// sled locks the directory: a second open of the same path, from this process or another,
    /// fails with `backend_unavailable`. Share the returned store (it is a cheap clone) instead.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let created = missing_dirs(path);
        restore_removed_blobs(path)?;
        let db = sled::Config::new().path(path).open().map_err(|e| {
            let msg = e.to_string();
            if msg.contains("lock") {
                Error::BackendUnavailable(format!(
                    "the data directory {} is in use by another vault process",
                    path.display()
                ))
            } else {
                Error::from(e)
            }
        })?;
        let files = DurableFiles::open(path, &created)?;
        Ok(SledStore {
            db,
            flush: Arc::new(GroupFlush {
                applied: AtomicU64::new(0),
                flushed: AtomicU64::new(0),
                flusher: tokio::sync::Mutex::new(()),
                files,
                failed: AtomicBool::new(false),
            }),
        })
    }

    /// Waits until a flush and sync covering every commit applied so far has finished.
    async fn make_durable(&self) -> Result<()> {
        let mine = self.flush.applied.fetch_add(1, Ordering::SeqCst) + 1;
        if self.flush.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        let _elected = self.flush.flusher.lock().await;
        if self.flush.flushed.load(Ordering::SeqCst) >= mine {
            return Ok(());
        }
        self.flush_and_sync().await
    }

    /// One batch: sled's flush, then `fdatasync` of the files it wrote. The caller holds the
    /// flusher lock.
    async fn flush_and_sync(&self) -> Result<()> {
        if self.flush.failed.load(Ordering::SeqCst) {
            return Err(Error::BackendUnavailable(
                "sled durability: an earlier sync failed; reopen the store".into(),
            ));
        }
        // Every commit numbered up to `target` was applied before it took its number, so the
        // flush that starts now covers all of them.
        let target = self.flush.applied.load(Ordering::SeqCst);
        let db = self.db.clone();
        let group = Arc::clone(&self.flush);
        let done = tokio::task::spawn_blocking(move || -> Result<()> {
            #[cfg(test)]
            let started = group.files.probe.tick();
            let blobs = group.files.unsynced_blobs()?;
            db.flush()?;
            #[cfg(test)]
            group.files.probe.flushed(started);
            let synced = group.files.sync(blobs);
            if synced.is_err() {
                group.failed.store(true, Ordering::SeqCst);
            }
            synced
        })
        .await
        .map_err(|e| Error::Internal(format!("flush task failed: {e}")))?;
        #[cfg(test)]
        self.flush.files.probe.finish_batch();
        done?;
        self.flush.flushed.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }
}

#[async_trait]
impl Store for SledStore {
    async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.db.get(key)?.map(|v| v.to_vec()))
    }

    async fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<Vec<Entry>> {
        let start = match after {
            Some(a) if a >= prefix => key_after(a),
            _ => prefix.to_vec(),
        };
        let iter = match prefix_end(prefix) {
            Some(end) => self.db.range(start..end),
            None => self.db.range(start..),
        };
        iter.take(limit)
            .map(|r| {
                r.map(|(k, v)| (k.to_vec(), v.to_vec()))
                    .map_err(Error::from)
            })
            .collect()
    }

    async fn commit(&self, conditions: Vec<Condition>, writes: Vec<Write>) -> Result<bool> {
        let applied = self
            .db
            .transaction(|tx| {
                for c in &conditions {
                    if !c.holds(tx.get(c.key())?.as_deref()) {
                        return Ok(false);
                    }
                }
                for w in &writes {
                    match w {
                        Write::Put(k, v) => {
                            tx.insert(k.as_slice(), v.as_slice())?;
                        }
                        Write::Delete(k) => {
                            tx.remove(k.as_slice())?;
                        }
                    }
                }
                Ok::<bool, ConflictableTransactionError<()>>(true)
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => Error::from(e),
                TransactionError::Abort(()) => Error::Internal("sled transaction aborted".into()),
            })?;
        if applied {
            #[cfg(test)]
            let applied_at = self.flush.files.probe.applied();
            self.make_durable().await?;
            #[cfg(test)]
            self.flush.files.probe.acked(applied_at);
        }
        Ok(applied)
    }

    async fn flush(&self) -> Result<()> {
        let _elected = self.flush.flusher.lock().await;
        self.flush_and_sync().await
    }

    fn backend_name(&self) -> &'static str {
        "sled"
    }
}

/// Test-only record of what the group-commit leader did, on one logical clock, and a hook that
/// holds a flush to force interleavings.
#[cfg(test)]
mod probe {
    use std::ffi::{OsStr, OsString};
    use std::io;
    use std::path::{Path, PathBuf};
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Mutex, MutexGuard, mpsc};
    use std::time::Duration;

    /// One batch: sled's flush and the `fdatasync` of the log, as (start, end) ticks.
    #[derive(Debug, Clone, Copy, Default)]
    pub(super) struct Batch {
        pub flush: Option<(u64, u64)>,
        pub sync: Option<(u64, u64)>,
    }

    /// One acknowledged commit: the tick when its transaction had applied, and when `commit`
    /// was about to return `Ok(true)`.
    #[derive(Debug, Clone, Copy)]
    pub(super) struct Ack {
        pub applied: u64,
        pub acked: u64,
    }

    #[derive(Debug, Clone, Default)]
    pub(super) struct Log {
        current: Batch,
        pub batches: Vec<Batch>,
        pub acks: Vec<Ack>,
        pub applied: usize,
        pub blobs: Vec<OsString>,
        pub dirs: Vec<PathBuf>,
    }

    /// Holds the next flush after sled's flush returned and before the sync: signals `entered`,
    /// then waits for `release`.
    struct Hold {
        entered: Arc<tokio::sync::Notify>,
        release: mpsc::Receiver<()>,
    }

    #[derive(Default)]
    pub(super) struct Probe {
        clock: AtomicU64,
        log: Mutex<Log>,
        hold: Mutex<Option<Hold>>,
    }

    impl Probe {
        pub fn tick(&self) -> u64 {
            self.clock.fetch_add(1, Ordering::SeqCst) + 1
        }

        fn log(&self) -> MutexGuard<'_, Log> {
            self.log.lock().expect("probe log")
        }

        /// sled's flush, started at `started`, has returned; holds here if asked to.
        pub fn flushed(&self, started: u64) {
            let end = self.tick();
            self.log().current.flush = Some((started, end));
            let hold = self.hold.lock().expect("probe hold").take();
            if let Some(h) = hold {
                h.entered.notify_one();
                let _ = h.release.recv();
            }
        }

        /// The `fdatasync` of the log started at `started` returned `result`.
        pub fn log_synced(&self, started: u64, result: &io::Result<()>) {
            let end = self.tick();
            if result.is_ok() {
                self.log().current.sync = Some((started, end));
            }
        }

        pub fn finish_batch(&self) {
            let mut log = self.log();
            let batch = std::mem::take(&mut log.current);
            log.batches.push(batch);
        }

        pub fn applied(&self) -> u64 {
            let t = self.tick();
            self.log().applied += 1;
            t
        }

        pub fn acked(&self, applied: u64) {
            let acked = self.tick();
            self.log().acks.push(Ack { applied, acked });
        }

        pub fn blob_synced(&self, name: &OsStr, result: &io::Result<()>) {
            if result.is_ok() {
                self.log().blobs.push(name.to_owned());
            }
        }

        pub fn dir_synced(&self, dir: &Path) {
            self.log().dirs.push(dir.to_path_buf());
        }

        pub fn hold_next_flush(&self, entered: Arc<tokio::sync::Notify>) -> mpsc::Sender<()> {
            let (release_tx, release) = mpsc::channel();
            *self.hold.lock().expect("probe hold") = Some(Hold { entered, release });
            release_tx
        }

        pub fn snapshot(&self) -> Log {
            self.log().clone()
        }

        /// Waits until `n` commits have applied their transaction.
        pub async fn wait_applied(&self, n: usize) {
            for _ in 0..10_000 {
                if self.log().applied >= n {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            panic!("{n} commits never applied");
        }

        /// Every acknowledged commit was covered by one batch whose sled flush started after
        /// the commit applied, whose log `fdatasync` started after that flush returned, and whose
        /// sync finished before the acknowledgement.
        pub fn assert_every_ack_covered(&self) {
            let log = self.snapshot();
            assert!(!log.acks.is_empty(), "no acknowledged commit recorded");
            for ack in &log.acks {
                let covered = log.batches.iter().any(|b| match (b.flush, b.sync) {
                    (Some((fs, fe)), Some((ss, se))) => {
                        ack.applied < fs && fe < ss && se < ack.acked
                    }
                    _ => false,
                });
                assert!(
                    covered,
                    "commit applied at {} acknowledged at {} without a flush and fdatasync \
                     started after it: batches {:?}",
                    ack.applied, ack.acked, log.batches
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(k: &str, v: &[u8]) -> Write {
        Write::Put(k.as_bytes().to_vec(), v.to_vec())
    }

    fn open_temp() -> (tempfile::TempDir, SledStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SledStore::open(dir.path().join("data")).expect("open");
        (dir, store)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_acknowledged_commit_is_covered_by_an_fdatasync_after_its_flush() {
        let (_dir, store) = open_temp();
        for i in 0..10 {
            assert!(
                store
                    .commit(vec![], vec![put(&format!("s/{i}"), b"v")])
                    .await
                    .expect("commit")
            );
        }
        let mut tasks = Vec::new();
        for w in 0..16 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..8 {
                    let k = format!("c/{w}/{i}");
                    assert!(s.commit(vec![], vec![put(&k, b"v")]).await.expect("commit"));
                }
            }));
        }
        for t in tasks {
            t.await.expect("join");
        }
        // A commit whose condition fails applies nothing and is not acknowledged.
        let refused = store
            .commit(
                vec![Condition::Absent(b"s/0".to_vec())],
                vec![put("x", b"v")],
            )
            .await
            .expect("commit");
        assert!(!refused);
        let probe = &store.flush.files.probe;
        assert_eq!(probe.snapshot().acks.len(), 10 + 16 * 8);
        probe.assert_every_ack_covered();

        // The shutdown flush is a full batch too.
        let before = probe.snapshot().batches.len();
        store.flush().await.expect("flush");
        let log = probe.snapshot();
        assert_eq!(log.batches.len(), before + 1);
        assert!(log.batches[before].sync.is_some(), "{:?}", log.batches);
    }

    /// Commit A applies and its leader runs sled's flush; commit B applies while A's batch is
    /// held between that flush and its sync. B must wait for a second flush, started after it
    /// applied, rather than be acknowledged by A's (which may not contain it).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_commit_applied_during_a_running_flush_waits_for_a_later_one() {
        let (_dir, store) = open_temp();
        let probe = &store.flush.files.probe;
        let entered = Arc::new(tokio::sync::Notify::new());
        let release = probe.hold_next_flush(Arc::clone(&entered));

        let a = tokio::spawn({
            let s = store.clone();
            async move { s.commit(vec![], vec![put("a", b"1")]).await }
        });
        entered.notified().await;
        // A's leader is held after sled's flush, before its fdatasync, with the flusher lock.
        let b = tokio::spawn({
            let s = store.clone();
            async move { s.commit(vec![], vec![put("b", b"2")]).await }
        });
        probe.wait_applied(2).await;
        assert!(!a.is_finished() && !b.is_finished());
        release.send(()).expect("release the held flush");

        assert!(a.await.expect("join a").expect("commit a"));
        assert!(b.await.expect("join b").expect("commit b"));
        let log = probe.snapshot();
        assert_eq!(
            log.batches.len(),
            2,
            "B needed its own batch: {:?}",
            log.batches
        );
        probe.assert_every_ack_covered();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn values_over_the_blob_threshold_have_their_blob_file_synced() {
        let (dir, store) = open_temp();
        let big = vec![7u8; 300 * 1024];
        assert!(
            store
                .commit(vec![], vec![put("big", &big)])
                .await
                .expect("commit")
        );
        let on_disk: Vec<OsString> = std::fs::read_dir(dir.path().join("data").join("blobs"))
            .expect("blobs dir")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert!(!on_disk.is_empty(), "a 300 KiB value should be a sled blob");
        let probe = &store.flush.files.probe;
        let synced = probe.snapshot().blobs;
        for name in &on_disk {
            assert!(
                synced.contains(name),
                "blob {name:?} not synced: {synced:?}"
            );
        }
        probe.assert_every_ack_covered();
        assert_eq!(store.get(b"big").await.expect("get"), Some(big));
    }

    fn blob_names(dir: &Path) -> Vec<OsString> {
        let mut names: Vec<OsString> = std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        names
    }

    /// sled deleted a blob and the crash kept the deletion but not the record replacing it: the
    /// link kept by the store puts the blob back before sled's recovery reads it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blob_sled_removed_before_a_crash_is_restored_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let big = vec![9u8; 300 * 1024];
        {
            let store = SledStore::open(&data).expect("open");
            assert!(
                store
                    .commit(vec![], vec![put("big", &big)])
                    .await
                    .expect("commit")
            );
        }
        let blobs = blob_names(&data.join("blobs"));
        assert!(!blobs.is_empty());
        assert_eq!(blob_names(&data.join(LINKS_DIR)), blobs);
        for name in &blobs {
            std::fs::remove_file(data.join("blobs").join(name)).expect("remove blob");
        }
        let store = SledStore::open(&data).expect("reopen");
        assert_eq!(blob_names(&data.join("blobs")), blobs);
        assert_eq!(store.get(b"big").await.expect("get"), Some(big));
    }

    /// Once sled removed a blob, the next batch's log sync makes the replacing records durable;
    /// the link is dropped then, not before.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_link_of_a_removed_blob_is_dropped_after_the_next_sync() {
        let (dir, store) = open_temp();
        let data = dir.path().join("data");
        assert!(
            store
                .commit(vec![], vec![put("big", &vec![1u8; 300 * 1024])])
                .await
                .expect("commit")
        );
        let blobs = blob_names(&data.join("blobs"));
        assert_eq!(blob_names(&data.join(LINKS_DIR)), blobs);
        // As sled does once the node's replacement is written.
        for name in &blobs {
            std::fs::remove_file(data.join("blobs").join(name)).expect("remove blob");
        }
        assert_eq!(blob_names(&data.join(LINKS_DIR)), blobs);
        assert!(
            store
                .commit(vec![], vec![put("small", b"v")])
                .await
                .expect("commit")
        );
        assert!(blob_names(&data.join(LINKS_DIR)).is_empty());
    }

    /// After a clean close every blob is still in place and still linked: the reopen's restore
    /// finds each one there, and the first batch (which syncs every blob again) finds each link
    /// there. Neither is an error.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_holding_a_blob_reopens_and_takes_commits() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let big = vec![5u8; 300 * 1024];
        {
            let store = SledStore::open(&data).expect("open");
            assert!(
                store
                    .commit(vec![], vec![put("big", &big)])
                    .await
                    .expect("commit")
            );
        }
        let blobs = blob_names(&data.join("blobs"));
        assert!(!blobs.is_empty(), "a 300 KiB value should be a sled blob");
        assert_eq!(blob_names(&data.join(LINKS_DIR)), blobs);

        let store = SledStore::open(&data).expect("reopen with every blob in place");
        let on_disk = blob_names(&data.join("blobs"));
        assert!(
            store
                .commit(vec![], vec![put("small", b"v")])
                .await
                .expect("first commit after the reopen")
        );
        let synced = store.flush.files.probe.snapshot().blobs;
        for name in &on_disk {
            assert!(
                synced.contains(name),
                "blob {name:?} not synced: {synced:?}"
            );
        }
        assert_eq!(store.get(b"big").await.expect("get"), Some(big));
    }

    /// A blob synced by a batch that listed it before sled's flush is never synced again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_synced_blob_is_not_synced_again_by_later_batches() {
        let (dir, store) = open_temp();
        let blobs_dir = dir.path().join("data").join("blobs");
        let probe = &store.flush.files.probe;
        let syncs = |name: &OsString| probe.snapshot().blobs.iter().filter(|n| *n == name).count();
        let small = |i: u32| vec![put(&format!("small/{i}"), b"v")];
        assert!(
            store
                .commit(vec![], vec![put("big", &vec![3u8; 300 * 1024])])
                .await
                .expect("commit")
        );
        assert!(store.commit(vec![], small(1)).await.expect("commit"));
        // Present before the next batch lists the blobs: that batch leaves them synced.
        let listed = blob_names(&blobs_dir);
        assert!(!listed.is_empty(), "a 300 KiB value should be a sled blob");
        assert!(store.commit(vec![], small(2)).await.expect("commit"));
        let before: Vec<usize> = listed.iter().map(syncs).collect();
        assert!(before.iter().all(|n| *n >= 1), "{before:?}");
        assert!(store.commit(vec![], small(3)).await.expect("commit"));
        let after: Vec<usize> = listed.iter().map(syncs).collect();
        assert_eq!(after, before, "blobs {listed:?} synced again");
        assert!(blob_names(&blobs_dir).iter().any(|n| listed.contains(n)));
    }

    /// A blob listed but gone when opened (sled removed it meanwhile) has nothing left to make
    /// durable: the batch goes on. One that is there but cannot be opened fails the commit.
    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_vanished_blob_is_skipped_but_an_unopenable_one_fails_the_commit() {
        let (dir, store) = open_temp();
        let blobs_dir = dir.path().join("data").join("blobs");
        // Listed, but opening it finds nothing.
        std::os::unix::fs::symlink(blobs_dir.join("nowhere"), blobs_dir.join("vanished"))
            .expect("symlink");
        assert!(
            store
                .commit(vec![], vec![put("a", b"1")])
                .await
                .expect("a blob gone since the listing is not an error")
        );

        let (dir, store) = open_temp();
        let blobs_dir = dir.path().join("data").join("blobs");
        // There, but opening it fails (a symlink loop: ELOOP, even as root).
        std::os::unix::fs::symlink(blobs_dir.join("loop"), blobs_dir.join("loop"))
            .expect("symlink");
        let e = store
            .commit(vec![], vec![put("a", b"1")])
            .await
            .expect_err("a blob that cannot be synced is not acknowledged");
        assert_eq!(e.code(), "backend_unavailable");
        assert!(e.to_string().contains("open of"), "{e}");
    }

    /// A blob whose link cannot be made is not acknowledged: without the link, sled's removal
    /// of the blob could outlive a crash that loses the record replacing it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_blob_that_cannot_be_linked_fails_the_commit() {
        let (dir, store) = open_temp();
        let links_dir = dir.path().join("data").join(LINKS_DIR);
        std::fs::remove_dir(&links_dir).expect("remove links dir");
        std::fs::write(&links_dir, b"").expect("a file where the links go");
        let e = store
            .commit(vec![], vec![put("big", &vec![4u8; 300 * 1024])])
            .await
            .expect_err("a blob without its link is not acknowledged");
        assert_eq!(e.code(), "backend_unavailable");
        assert!(e.to_string().contains("link of"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_directory_that_cannot_be_synced_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        sync_dir(dir.path()).expect("sync");
        let e = sync_dir(&dir.path().join("missing")).expect_err("no such directory");
        assert_eq!(e.code(), "backend_unavailable");
    }

    /// The restore runs before sled's recovery, which would drop what a missing blob held: if
    /// it cannot list the links or put a blob back, the open fails rather than go on without.
    #[test]
    fn restoring_blobs_fails_closed_but_needs_a_log_to_restore_into() {
        // `vault-blob-links` that cannot be listed.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("db"), b"").expect("db");
        std::fs::write(dir.path().join(LINKS_DIR), b"").expect("not a directory");
        let e = restore_removed_blobs(dir.path()).expect_err("unlistable links");
        assert!(e.to_string().contains("listing of"), "{e}");

        // A link whose blob cannot be put back.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("db"), b"").expect("db");
        std::fs::create_dir(dir.path().join(LINKS_DIR)).expect("links dir");
        std::fs::write(dir.path().join(LINKS_DIR).join("42"), b"blob").expect("link");
        std::fs::write(dir.path().join("blobs"), b"").expect("not a directory");
        let e = restore_removed_blobs(dir.path()).expect_err("blob not restorable");
        assert!(e.to_string().contains("restore of"), "{e}");

        // Links but no log: sled starts a new one, nothing to restore (and no error).
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(LINKS_DIR)).expect("links dir");
        std::fs::write(dir.path().join(LINKS_DIR).join("42"), b"blob").expect("link");
        restore_removed_blobs(dir.path()).expect("nothing to restore");
        assert!(!dir.path().join("blobs").exists());
    }

    /// `conf` is synced at open when sled wrote one (missing: nothing to sync); a `conf` that
    /// cannot be opened for that is an error. A created directory given as a bare relative name
    /// has its entry in the current directory, `.`, synced.
    #[test]
    fn open_syncs_conf_when_present_and_dot_for_a_relative_directory() {
        // What sled leaves in a directory, but no `conf`.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("db"), b"").expect("db");
        std::fs::create_dir(dir.path().join("blobs")).expect("blobs");
        let files =
            DurableFiles::open(dir.path(), &[PathBuf::from("data")]).expect("open without conf");
        let dirs = files.probe.snapshot().dirs;
        assert!(dirs.contains(&PathBuf::from(".")), "{dirs:?}");
        assert!(!dirs.contains(&PathBuf::from("")), "{dirs:?}");

        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("db"), b"").expect("db");
        std::fs::create_dir(dir.path().join("blobs")).expect("blobs");
        std::fs::create_dir(dir.path().join("conf")).expect("conf that cannot be opened");
        let e = DurableFiles::open(dir.path(), &[])
            .err()
            .expect("an unsyncable conf is an error");
        assert!(e.to_string().contains("conf"), "{e}");
    }

    #[test]
    fn open_syncs_the_directories_it_created() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("a").join("b");
        let store = SledStore::open(&data).expect("open");
        let dirs = store.flush.files.probe.snapshot().dirs;
        for d in [
            data.join(LINKS_DIR),
            data.join("blobs"),
            data.clone(),
            dir.path().join("a"),
            dir.path().to_path_buf(),
        ] {
            assert!(dirs.contains(&d), "{d:?} not synced: {dirs:?}");
        }
    }
}

impl From<sled::Error> for Error {
    fn from(e: sled::Error) -> Self {
        Error::BackendUnavailable(format!("sled: {e}"))
    }
}
