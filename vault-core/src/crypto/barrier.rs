//! The barrier between typed records and the store: envelope encryption of every record, and
//! the only code that touches the raw store.
//!
//! Layout in the store (see `docs/architecture.md`):
//! - `sys/kdf` (clear): Argon2id salt and cost, present only for passphrase-derived root keys.
//! - `sys/canary` (sealed by the root key): known plaintext; failing to open it means the root
//!   key is wrong, which is told apart from a corrupt record. Its text also says whether the
//!   store has a freshness ledger (`v2`; a `v1` store gets one when it is next unlocked).
//! - `sys/keyring` (sealed by the root key): the versioned data keys.
//! - `sys/ledger/<n>` (sealed by the data key): the freshness ledger (see [`super::ledger`]).
//! - every other record: `0x01 || keyring version (u32 BE) || nonce || ciphertext || tag`, sealed
//!   by that data key with the record's store key as associated data.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::aead::AeadKey;
use super::keyring::Keyring;
use super::ledger::{self, Bucket, Slot};
use super::{KeyMaterial, RootKeySource};
use crate::audit::chain::{self, Chain, Chains, Draft};
use crate::error::{Error, Result};
use crate::store::{Condition, SharedStore, Write};

const SYS_KDF: &[u8] = b"sys/kdf";
const SYS_CANARY: &[u8] = b"sys/canary";
const SYS_KEYRING: &[u8] = b"sys/keyring";
/// Associated data of the keyring of a vault with a freshness ledger: the keyring says
/// "ledger required" in a way only the root key can write, so a pre-ledger canary written back
/// cannot make the vault adopt its ledger again (only a pre-ledger keyring, which opens nothing
/// written since, could).
const KEYRING_AAD_LEDGER: &[u8] = b"sys/keyring ledger";
/// An opened ledger bucket and the sealed bytes it was opened from.
type CachedBucket = (Vec<u8>, Arc<Bucket>);

/// The canary of a store made before the freshness ledger existed.
const CANARY_V1: &[u8] = b"vault canary v1";
/// The canary of a store with a freshness ledger: every tracked record is in it.
const CANARY_V2: &[u8] = b"vault canary v2 ledger";
/// How many times a commit is retried when only a ledger bucket (not the caller's conditions)
/// changed under it, and a read whose record and bucket moved between the two gets.
const LEDGER_ATTEMPTS: usize = 64;

mod group;

/// Argon2id cost for passphrase-derived root keys; stored with the salt so that a vault always
/// reopens with the parameters it was created with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Passes over memory.
    pub iterations: u32,
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Parallel lanes.
    pub lanes: u32,
}

impl Default for KdfParams {
    /// OWASP's first Argon2id recommendation: t=1, m=46 MiB, p=1.
    fn default() -> Self {
        KdfParams {
            iterations: 1,
            memory_kib: 47_104,
            lanes: 1,
        }
    }
}

impl KdfParams {
    /// The cheapest parameters Argon2 accepts. Only for tests: a passphrase vault created with
    /// these is trivial to brute-force.
    pub fn dangerously_cheap_for_tests() -> Self {
        KdfParams {
            iterations: 1,
            memory_kib: 8,
            lanes: 1,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct KdfRecord {
    alg: String,
    salt: String,
    #[serde(flatten)]
    params: KdfParams,
}

fn derive_root(source: &RootKeySource, kdf: Option<&KdfRecord>) -> Result<AeadKey> {
    match source {
        RootKeySource::Key(k) => AeadKey::new(k),
        RootKeySource::Passphrase(p) => {
            let kdf = kdf.ok_or(Error::WrongKey)?;
            let salt = hex::decode(&kdf.salt).map_err(|_| Error::Integrity)?;
            let salt = orion::kdf::Salt::try_from(salt.as_slice()).map_err(|_| Error::Integrity)?;
            let cost = orion::kdf::CostParams::new(
                kdf.params.iterations,
                kdf.params.memory_kib,
                kdf.params.lanes,
            )
            .map_err(|_| Error::invalid("kdf", "Argon2 cost parameters out of range"))?;
            let pw = orion::kdf::Password::try_from(p.expose_secret().as_bytes())
                .map_err(|_| Error::invalid("passphrase", "must not be empty"))?;
            let dk = orion::kdf::derive_key(&pw, &salt, &cost, 32)
                .map_err(|_| Error::Internal("key derivation failed".into()))?;
            AeadKey::new(&KeyMaterial::from_slice(dk.unprotected_as_ref::<[u8]>())?)
        }
    }
}

/// A record as read through the barrier: its sealed bytes (for a commit condition) and its
/// plaintext.
pub struct Opened {
    /// The bytes stored, opaque; compare-and-set conditions use them.
    pub sealed: Vec<u8>,
    /// The decrypted record (zeroized on drop).
    pub plain: Zeroizing<Vec<u8>>,
}

/// The unlocked vault's keyring over its store: seals records on the way down, opens them on
/// the way up. Nothing else reads or writes the store.
pub struct Barrier {
    store: SharedStore,
    keyring: Keyring,
    root: AeadKey,
    /// Set when a store write failed with an unknown outcome: from then on every operation
    /// fails closed (see [`Barrier::commit`]).
    failed: std::sync::OnceLock<String>,
    /// The last opened form of each ledger bucket, by its sealed bytes: a read compares the
    /// bytes it got with these instead of opening the bucket again.
    buckets: Vec<Mutex<Option<CachedBucket>>>,
    /// This opened vault's audit chains and queue: entries go into this barrier's commits.
    chains: Chains,
    /// Commits waiting to be made together (see [`group`]).
    group: group::Group,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier")
            .field("backend", &self.store.backend_name())
            .field("keyring", &self.keyring)
            .finish_non_exhaustive()
    }
}

impl Barrier {
    /// Unlocks the vault in `store` with the root key from `source`, initialising it (new salt,
    /// first data key, canary) when the store is empty. `kdf` is used only at initialisation.
    ///
    /// Errors: `wrong_key` when the root key does not open the canary; `integrity` when the
    /// canary opens but the keyring does not.
    pub async fn unlock(
        store: SharedStore,
        source: &RootKeySource,
        kdf: KdfParams,
    ) -> Result<Arc<Self>> {
        // Two rounds: if another process initialises between our read and our commit, the
        // second round finds its canary and unlocks with it.
        for _ in 0..2 {
            match store.get(SYS_CANARY).await? {
                Some(canary) => {
                    return Self::unlock_existing(store, source, &canary)
                        .await
                        .map(Arc::new);
                }
                None => {
                    if let Some(b) = Self::initialise(&store, source, kdf).await? {
                        return Ok(Arc::new(b));
                    }
                }
            }
        }
        Err(Error::Conflict(
            "the vault was being initialised concurrently; retry".into(),
        ))
    }

    async fn unlock_existing(
        store: SharedStore,
        source: &RootKeySource,
        canary: &[u8],
    ) -> Result<Self> {
        let kdf = match store.get(SYS_KDF).await? {
            Some(b) => Some(serde_json::from_slice::<KdfRecord>(&b).map_err(|_| Error::Integrity)?),
            None => None,
        };
        let root = derive_root(source, kdf.as_ref())?;
        let sealed = store.get(SYS_KEYRING).await?;
        if canary_text(&root, canary).is_none() {
            // The canary did not open. If the keyring does, the key is right and the canary is
            // what is damaged: report corruption, not a wrong key.
            let keyring_opens = sealed
                .as_deref()
                .is_some_and(|s| open_keyring(&root, s).is_some());
            return Err(if keyring_opens {
                Error::Integrity
            } else {
                Error::WrongKey
            });
        }
        let sealed = sealed.ok_or(Error::Integrity)?;
        let (plain, ledger_keyring) = open_keyring(&root, &sealed).ok_or(Error::Integrity)?;
        let mut keyring = Keyring::decode(&plain)?;
        let pre_ledger_canary = canary_text(&root, canary).as_deref() == Some(CANARY_V1);
        if pre_ledger_canary == ledger_keyring {
            // A pre-ledger canary with a ledger keyring, or the reverse: one of them was
            // written back from another time.
            tracing::error!("the canary and the keyring are from different versions of the vault");
            return Err(Error::Integrity);
        }
        if pre_ledger_canary {
            // Adopting the ledger starts a new data key: whoever later writes this store's
            // pre-upgrade `sys/` records back (to be adopted again) gets a keyring that opens
            // nothing written since the upgrade.
            keyring.rotate()?;
            let barrier = Barrier::new(store, keyring, root)?;
            barrier.adopt_ledger(canary, &sealed).await?;
            return Ok(barrier);
        }
        Barrier::new(store, keyring, root)
    }

    fn new(store: SharedStore, keyring: Keyring, root: AeadKey) -> Result<Barrier> {
        Ok(Barrier {
            store,
            keyring,
            root,
            failed: std::sync::OnceLock::new(),
            buckets: (0..ledger::BUCKETS).map(|_| Mutex::new(None)).collect(),
            chains: Chains::new()?,
            group: group::Group::new(),
        })
    }

    /// Gives a store made before the ledger existed its ledger: every tracked record as it is
    /// now is taken as current (there is nothing older to check it against), every bucket is
    /// written (a missing bucket is damage from then on), the rotated keyring is stored and
    /// the canary becomes `v2`, so that from then on the ledger is required. Runs at unlock,
    /// before the vault serves anything.
    async fn adopt_ledger(&self, canary: &[u8], old_keyring: &[u8]) -> Result<()> {
        let mut buckets: BTreeMap<usize, Bucket> = BTreeMap::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.store.scan(b"", after.as_deref(), 1024).await?;
            let Some((last, _)) = page.last() else { break };
            after = Some(last.clone());
            for (key, value) in page.iter().filter(|(k, _)| ledger::tracked(k)) {
                let slot = Slot::of(key);
                buckets
                    .entry(slot.bucket)
                    .or_default()
                    .set(&slot, Some(ledger::digest(value)));
            }
        }
        let mut conditions = vec![
            Condition::Equals(SYS_CANARY.to_vec(), canary.to_vec()),
            Condition::Equals(SYS_KEYRING.to_vec(), old_keyring.to_vec()),
        ];
        let mut writes = vec![
            Write::Put(SYS_CANARY.to_vec(), self.root.seal(SYS_CANARY, CANARY_V2)?),
            Write::Put(
                SYS_KEYRING.to_vec(),
                self.root.seal(KEYRING_AAD_LEDGER, &self.keyring.encode())?,
            ),
        ];
        for n in 0..ledger::BUCKETS {
            let key = ledger::bucket_key(n);
            let bucket = buckets.remove(&n).unwrap_or_default();
            writes.push(Write::Put(key.clone(), self.seal(&key, &bucket.encode())?));
            conditions.push(Condition::Absent(key));
        }
        if !self.store.commit(conditions, writes).await? {
            return Err(Error::Conflict(
                "the vault was being upgraded concurrently; retry".into(),
            ));
        }
        tracing::info!("freshness ledger created for a vault made before it existed");
        Ok(())
    }

    async fn initialise(
        store: &SharedStore,
        source: &RootKeySource,
        kdf: KdfParams,
    ) -> Result<Option<Self>> {
        let mut writes = Vec::with_capacity(3);
        let kdf_record = match source {
            RootKeySource::Key(_) => None,
            RootKeySource::Passphrase(_) => {
                let rec = KdfRecord {
                    alg: "argon2id".into(),
                    salt: hex::encode(super::random_bytes(16)?),
                    params: kdf,
                };
                let json = serde_json::to_vec(&rec).map_err(|e| Error::Internal(e.to_string()))?;
                writes.push(Write::Put(SYS_KDF.to_vec(), json));
                Some(rec)
            }
        };
        let root = derive_root(source, kdf_record.as_ref())?;
        let keyring = Keyring::generate()?;
        writes.push(Write::Put(
            SYS_KEYRING.to_vec(),
            root.seal(KEYRING_AAD_LEDGER, &keyring.encode())?,
        ));
        writes.push(Write::Put(
            SYS_CANARY.to_vec(),
            root.seal(SYS_CANARY, CANARY_V2)?,
        ));
        // Every ledger bucket exists from the start, so that a missing one is damage.
        let empty = Bucket::default().encode();
        for n in 0..ledger::BUCKETS {
            let key = ledger::bucket_key(n);
            writes.push(Write::Put(key.clone(), keyring.seal(&key, &empty)?));
        }
        let applied = store
            .commit(vec![Condition::Absent(SYS_CANARY.to_vec())], writes)
            .await?;
        applied
            .then(|| Barrier::new(store.clone(), keyring, root))
            .transpose()
    }

    /// `backend_unavailable` once a write failed with an unknown outcome.
    fn live(&self) -> Result<&SharedStore> {
        match self.failed.get() {
            None => Ok(&self.store),
            Some(reason) => Err(Error::BackendUnavailable(format!(
                "a store write failed ({reason}); the vault refuses every operation until it \
                 is restarted, so that nothing it cannot keep is served"
            ))),
        }
    }

    /// Seals `plaintext` for the record stored at `key` (the key is the associated data).
    pub fn seal(&self, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        self.keyring.seal(key, plaintext)
    }

    fn open(&self, key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.keyring.open(key, sealed)
    }

    /// Opens what [`Barrier::seal`] sealed for `key` but never stored (a page cursor);
    /// `integrity` when it was not.
    pub(crate) fn open_unstored(&self, key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        self.open(key, sealed)
    }

    /// Reads and opens the record at `key` in one call: its sealed bytes and its plaintext;
    /// `Ok(None)` when missing, `integrity` when it does not open or (for a record the ledger
    /// tracks) is not the record the ledger says is current.
    pub async fn read(&self, key: &[u8]) -> Result<Option<Opened>> {
        match self.read_current(key).await? {
            Some(sealed) => {
                let plain = self.open(key, &sealed)?;
                Ok(Some(Opened { sealed, plain }))
            }
            None => Ok(None),
        }
    }

    /// [`Barrier::read`] for a caller that keeps records it opened: the sealed bytes at `key`
    /// (checked against the ledger as `read` checks them) with `reuse(sealed)` when that gives
    /// something (the caller opened these very bytes of this key before, and the same bytes
    /// open to the same plaintext), else with `decode` of the plaintext they open to.
    pub(crate) async fn read_reusing<R>(
        &self,
        key: &[u8],
        reuse: impl FnOnce(&[u8]) -> Option<R>,
        decode: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<Option<(Vec<u8>, R)>> {
        let Some(sealed) = self.read_current(key).await? else {
            return Ok(None);
        };
        if let Some(r) = reuse(&sealed) {
            return Ok(Some((sealed, r)));
        }
        let r = decode(&self.open(key, &sealed)?)?;
        Ok(Some((sealed, r)))
    }

    /// The stored bytes at `key`, checked against the ledger when it tracks the key.
    async fn read_current(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let store = self.live()?;
        if !ledger::tracked(key) {
            return store.get(key).await;
        }
        let slot = Slot::of(key);
        let bucket_key = ledger::bucket_key(slot.bucket);
        for _ in 0..LEDGER_ATTEMPTS {
            let value = store.get(key).await?;
            let sealed_bucket = store.get(&bucket_key).await?;
            let bucket = self.open_bucket(slot.bucket, sealed_bucket.as_deref())?;
            if bucket.matches(&slot, value.as_deref()) {
                return Ok(value);
            }
            // A commit between the two gets moves the record or its bucket: read again. A
            // mismatch that holds still is a record rolled back, brought back or removed
            // behind the vault's back.
            if store.get(key).await? == value && store.get(&bucket_key).await? == sealed_bucket {
                tracing::error!(
                    key = %String::from_utf8_lossy(key),
                    "record is not the one the freshness ledger records (rolled back, \
                     restored after a delete, or removed outside the vault)"
                );
                return Err(Error::Integrity);
            }
        }
        Err(Error::Conflict(
            "the record is under heavy concurrent writes; retry".into(),
        ))
    }

    /// Bucket `n` from its sealed bytes (`None`, a missing bucket, is `integrity`), opened
    /// once per version and cached.
    fn open_bucket(&self, n: usize, sealed: Option<&[u8]>) -> Result<Arc<Bucket>> {
        let Some(sealed) = sealed else {
            // Every bucket is written when the vault is made (or adopts the ledger).
            tracing::error!(bucket = n, "a freshness ledger bucket is missing");
            return Err(Error::Integrity);
        };
        let slot = &self.buckets[n];
        if let Some((bytes, bucket)) = &*lock(slot)
            && bytes == sealed
        {
            return Ok(bucket.clone());
        }
        let bucket = Arc::new(Bucket::decode(&self.open(&ledger::bucket_key(n), sealed)?)?);
        *lock(slot) = Some((sealed.to_vec(), bucket.clone()));
        Ok(bucket)
    }

    /// The stored bytes at `key`, unopened: for a commit condition on a record that may not
    /// open (deleting a corrupt record), and for clear index entries.
    pub async fn read_sealed(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.live()?.get(key).await
    }

    /// The records under `prefix`, paged like [`Store::scan`](crate::store::Store::scan), each
    /// opened (or the error opening it gave). For records the ledger does not track.
    pub async fn scan_open(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Result<Zeroizing<Vec<u8>>>)>> {
        let entries = self.live()?.scan(prefix, after, limit).await?;
        Ok(entries
            .into_iter()
            .map(|(k, v)| {
                let plain = self.open(&k, &v);
                (k, plain)
            })
            .collect())
    }

    /// The keys under `prefix`, paged like [`Store::scan`](crate::store::Store::scan), opening
    /// nothing.
    pub async fn scan_keys(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let entries = self.live()?.scan(prefix, after, limit).await?;
        Ok(entries.into_iter().map(|(k, _)| k).collect())
    }

    /// Adds `drafts` as the next entries of `chain`: each entry, and the chain's new head on
    /// condition that the head is still the one they follow (this vault holds the chain for
    /// the commit; the condition guards against anything else writing it).
    async fn chain_writes(
        &self,
        chain: &Chain,
        drafts: &[Draft],
        conditions: &mut Vec<Condition>,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        let head_key = chain::head_key(chain.writer());
        let sealed = self.read_current(&head_key).await?;
        let head = chain.head(sealed.as_deref(), |s| {
            self.open(&head_key, s).map(|p| p.to_vec())
        })?;
        if head.is_none() {
            // A new writer: listed in the registry in its first commit, so that removing a
            // whole chain (entries and head) is caught.
            let key = chain::WRITERS_KEY.to_vec();
            let current = self.read_current(&key).await?;
            let mut writers: Vec<String> = match &current {
                Some(sealed) => serde_json::from_slice(&self.open(&key, sealed)?)
                    .map_err(|_| Error::Integrity)?,
                None => Vec::new(),
            };
            writers.push(chain.writer().to_string());
            let json = serde_json::to_vec(&writers).map_err(|e| Error::Internal(e.to_string()))?;
            writes.push(Write::Put(key.clone(), self.seal(&key, &json)?));
            conditions.push(Condition::unchanged(&key, current.as_deref()));
        }
        let (entries, new_head) = chain.extend(head.as_ref(), drafts)?;
        for (key, plain) in crate::audit::record::pack(&entries)? {
            writes.push(Write::Put(key.clone(), self.seal(&key, &plain)?));
        }
        let json = serde_json::to_vec(&new_head).map_err(|e| Error::Internal(e.to_string()))?;
        writes.push(Write::Put(head_key.clone(), self.seal(&head_key, &json)?));
        conditions.push(Condition::unchanged(&head_key, sealed.as_deref()));
        Ok(())
    }

    /// Adds the ledger buckets of the tracked records in `writes`, each on condition that it
    /// is still the one updated.
    async fn ledger_writes(
        &self,
        store: &SharedStore,
        conditions: &mut Vec<Condition>,
        writes: &mut Vec<Write>,
    ) -> Result<()> {
        // Per bucket: each tracked record written, and its new digest (`None`: deleted).
        let mut changes: BTreeMap<usize, Vec<(Slot, Option<ledger::Hash>)>> = BTreeMap::new();
        for write in writes.iter() {
            let (key, digest) = match write {
                Write::Put(k, v) => (k, Some(ledger::digest(v))),
                Write::Delete(k) => (k, None),
            };
            if ledger::tracked(key) {
                let slot = Slot::of(key);
                changes.entry(slot.bucket).or_default().push((slot, digest));
            }
        }
        for (n, updates) in &changes {
            let key = ledger::bucket_key(*n);
            let sealed = store.get(&key).await?;
            let mut bucket = Bucket::clone(&*self.open_bucket(*n, sealed.as_deref())?);
            for (slot, digest) in updates {
                bucket.set(slot, *digest);
            }
            conditions.push(Condition::unchanged(&key, sealed.as_deref()));
            writes.push(Write::Put(key.clone(), self.seal(&key, &bucket.encode())?));
        }
        Ok(())
    }

    /// Queues the entry of an operation that did not write, for the next commit (the
    /// vault's flusher makes one within [`FLUSH_EVERY`](crate::audit::FLUSH_EVERY)). When
    /// the queue is long and no commit is in flight (the next one takes the queue anyway),
    /// commits it now. Fails while the vault is failing closed.
    pub(crate) async fn audit_later(self: &Arc<Self>, draft: Draft) -> Result<()> {
        self.live()?;
        if self.chains.enqueue(draft) >= chain::PENDING_MAX && !self.group.busy() {
            self.commit(Vec::new(), Vec::new()).await?;
        }
        Ok(())
    }

    /// Commits the queued audit entries, if any, after the group commit in flight (which may
    /// carry entries taken from the queue) has finished.
    pub(crate) async fn commit_audit(self: &Arc<Self>) -> Result<()> {
        self.group.settled().await;
        if self.chains.has_pending() {
            self.commit(Vec::new(), Vec::new()).await?;
        }
        Ok(())
    }

    async fn commit_or_fail_closed(
        &self,
        store: &SharedStore,
        conditions: Vec<Condition>,
        writes: Vec<Write>,
    ) -> Result<bool> {
        let result = store.commit(conditions, writes).await;
        if let Err(e) = &result {
            let reason = e.to_string();
            if store.reads_stay_true_after_failed_commit() {
                // The store reads back whatever the outcome was: nothing to fail closed for.
                tracing::warn!(error = %reason, "store write failed");
            } else {
                tracing::error!(error = %reason, "store write failed; failing closed until restart");
                let _ = self.failed.set(reason);
            }
        }
        result
    }

    /// Checks that the store answers and the canary still opens with this vault's root key.
    pub async fn check(&self) -> Result<()> {
        match self.live()?.get(SYS_CANARY).await? {
            Some(c) if canary_text(&self.root, &c).as_deref() == Some(CANARY_V2) => Ok(()),
            _ => Err(Error::Integrity),
        }
    }

    /// Commits the queued audit entries and makes every acknowledged write durable (see
    /// [`Store::flush`](crate::store::Store::flush)).
    pub async fn flush(self: &Arc<Self>) -> Result<()> {
        self.commit_audit().await?;
        self.live()?.flush().await
    }

    /// Whether the vault fails closed (a write with an unknown outcome; until restart).
    pub fn failed_closed(&self) -> bool {
        self.failed.get().is_some()
    }

    /// The store backend's short name.
    pub fn backend_name(&self) -> &'static str {
        self.store.backend_name()
    }
}

/// Test support: makes the vault in `store` look as a version before the freshness ledger
/// left it (a `v1` canary, no ledger buckets), to test the upgrade at the next unlock.
#[cfg(feature = "testing")]
#[doc(hidden)]
pub async fn downgrade_to_pre_ledger_for_tests(
    store: &SharedStore,
    source: &RootKeySource,
) -> Result<()> {
    let kdf = match store.get(SYS_KDF).await? {
        Some(b) => Some(serde_json::from_slice::<KdfRecord>(&b).map_err(|_| Error::Integrity)?),
        None => None,
    };
    let root = derive_root(source, kdf.as_ref())?;
    let ring = store.get(SYS_KEYRING).await?.ok_or(Error::Integrity)?;
    let (plain, _) = open_keyring(&root, &ring).ok_or(Error::WrongKey)?;
    let mut writes = vec![
        Write::Put(SYS_CANARY.to_vec(), root.seal(SYS_CANARY, CANARY_V1)?),
        Write::Put(SYS_KEYRING.to_vec(), root.seal(SYS_KEYRING, &plain)?),
    ];
    writes.extend(
        store
            .scan(b"sys/ledger/", None, usize::MAX)
            .await?
            .into_iter()
            .map(|(k, _)| Write::Delete(k)),
    );
    store.commit(vec![], writes).await.map(drop)
}

/// The keyring's plaintext and whether it is a ledger vault's (see [`KEYRING_AAD_LEDGER`]).
fn open_keyring(root: &AeadKey, sealed: &[u8]) -> Option<(Zeroizing<Vec<u8>>, bool)> {
    if let Ok(plain) = root.open(KEYRING_AAD_LEDGER, sealed) {
        return Some((plain, true));
    }
    root.open(SYS_KEYRING, sealed)
        .ok()
        .map(|plain| (plain, false))
}

/// The canary's text when `root` opens it and it is one this version knows.
fn canary_text(root: &AeadKey, canary: &[u8]) -> Option<Vec<u8>> {
    let text = root.open(SYS_CANARY, canary).ok()?;
    [CANARY_V1, CANARY_V2]
        .contains(&text.as_slice())
        .then(|| text.to_vec())
}

/// A poisoned cache lock only means another reader panicked; the cached value is whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::crypto::SecretString;
    use crate::store::MemoryStore;

    fn key(b: u8) -> RootKeySource {
        RootKeySource::Key(KeyMaterial::from_slice(&[b; 32]).expect("key"))
    }

    fn pass(p: &str) -> RootKeySource {
        RootKeySource::Passphrase(SecretString::from(p))
    }

    fn cheap() -> KdfParams {
        KdfParams::dangerously_cheap_for_tests()
    }

    #[tokio::test]
    async fn initialises_then_reopens_with_the_same_key() {
        let store: SharedStore = Arc::new(MemoryStore::new());
        let b = Barrier::unlock(store.clone(), &key(1), cheap())
            .await
            .expect("init");
        let sealed = b.seal(b"cred/h/s/k", b"secret-value").expect("seal");
        b.commit(vec![], vec![Write::Put(b"cred/h/s/k".to_vec(), sealed)])
            .await
            .expect("commit");
        let b2 = Barrier::unlock(store, &key(1), cheap())
            .await
            .expect("reopen");
        let plain = b2
            .read(b"cred/h/s/k")
            .await
            .expect("read")
            .expect("present");
        assert_eq!(plain.plain.as_slice(), b"secret-value");
    }

    #[tokio::test]
    async fn wrong_key_is_wrong_key_not_garbage() {
        let store: SharedStore = Arc::new(MemoryStore::new());
        Barrier::unlock(store.clone(), &key(1), cheap())
            .await
            .expect("init");
        let err = Barrier::unlock(store.clone(), &key(2), cheap()).await.err();
        assert_eq!(err.as_ref().map(|e| e.code()), Some("wrong_key"));
        // A passphrase against a raw-key vault is wrong too (there is no salt to derive with).
        let err = Barrier::unlock(store, &pass("pw"), cheap()).await.err();
        assert_eq!(err.as_ref().map(|e| e.code()), Some("wrong_key"));
    }

    #[tokio::test]
    async fn passphrase_vault_stores_salt_and_rejects_another_passphrase() {
        let store: SharedStore = Arc::new(MemoryStore::new());
        Barrier::unlock(store.clone(), &pass("correct horse"), cheap())
            .await
            .expect("init");
        let kdf = store.get(SYS_KDF).await.expect("get").expect("kdf record");
        let rec: KdfRecord = serde_json::from_slice(&kdf).expect("json");
        assert_eq!(rec.alg, "argon2id");
        assert_eq!(rec.params, cheap());
        assert_eq!(hex::decode(&rec.salt).expect("hex").len(), 16);
        Barrier::unlock(store.clone(), &pass("correct horse"), KdfParams::default())
            .await
            .expect("same passphrase reopens with the stored cost");
        let err = Barrier::unlock(store, &pass("wrong horse"), cheap())
            .await
            .err();
        assert_eq!(err.as_ref().map(|e| e.code()), Some("wrong_key"));
    }

    #[tokio::test]
    async fn corrupt_keyring_is_integrity_not_wrong_key() {
        let store: SharedStore = Arc::new(MemoryStore::new());
        Barrier::unlock(store.clone(), &key(1), cheap())
            .await
            .expect("init");
        let mut ring = store.get(SYS_KEYRING).await.expect("get").expect("ring");
        ring[30] ^= 1;
        store
            .commit(vec![], vec![Write::Put(SYS_KEYRING.to_vec(), ring)])
            .await
            .expect("commit");
        let err = Barrier::unlock(store, &key(1), cheap()).await.err();
        assert_eq!(err.as_ref().map(|e| e.code()), Some("integrity"));
    }

    #[tokio::test]
    async fn corrupt_canary_is_integrity_but_another_key_is_still_wrong_key() {
        let store: SharedStore = Arc::new(MemoryStore::new());
        Barrier::unlock(store.clone(), &key(1), cheap())
            .await
            .expect("init");
        let mut canary = store.get(SYS_CANARY).await.expect("get").expect("canary");
        canary[30] ^= 1;
        store
            .commit(vec![], vec![Write::Put(SYS_CANARY.to_vec(), canary)])
            .await
            .expect("commit");
        let err = Barrier::unlock(store.clone(), &key(1), cheap()).await.err();
        assert_eq!(err.as_ref().map(|e| e.code()), Some("integrity"));
        let err = Barrier::unlock(store, &key(2), cheap()).await.err();
        assert_eq!(err.as_ref().map(|e| e.code()), Some("wrong_key"));
    }

    #[tokio::test]
    async fn records_are_bound_to_their_key_and_checked() {
        let store: SharedStore = Arc::new(MemoryStore::new());
        let b = Barrier::unlock(store, &key(1), cheap())
            .await
            .expect("init");
        let sealed = b.seal(b"a", b"v").expect("seal");
        // Stored under another key it does not open.
        b.commit(vec![], vec![Write::Put(b"b".to_vec(), sealed.clone())])
            .await
            .expect("commit");
        assert!(matches!(b.read(b"b").await, Err(Error::Integrity)));
        b.commit(vec![], vec![Write::Put(b"a".to_vec(), sealed.clone())])
            .await
            .expect("commit");
        let opened = b.read(b"a").await.expect("read").expect("present");
        assert_eq!(opened.plain.as_slice(), b"v");
        assert_eq!(opened.sealed, sealed);
        assert!(b.check().await.is_ok());
    }
}
