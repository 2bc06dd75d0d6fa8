//! The barrier between typed records and the store: envelope encryption of every record.
//!
//! Layout in the store (see `docs/architecture.md`):
//! - `sys/kdf` (clear): Argon2id salt and cost, present only for passphrase-derived root keys.
//! - `sys/canary` (sealed by the root key): known plaintext; failing to open it means the root
//!   key is wrong, which is told apart from a corrupt record.
//! - `sys/keyring` (sealed by the root key): the versioned data keys.
//! - every other record: `0x01 || keyring version (u32 BE) || nonce || ciphertext || tag`, sealed
//!   by that data key with the record's store key as associated data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::aead::AeadKey;
use super::{KeyMaterial, RootKeySource};
use crate::error::{Error, Result};
use crate::store::{Condition, Entry, SharedStore, Write};

const SYS_KDF: &[u8] = b"sys/kdf";
const SYS_CANARY: &[u8] = b"sys/canary";
const SYS_KEYRING: &[u8] = b"sys/keyring";
const CANARY_PLAINTEXT: &[u8] = b"vault canary v1";
const RECORD_FORMAT_V1: u8 = 1;
const HEADER_LEN: usize = 5;

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

/// The unlocked keyring: opens and seals records.
pub struct Barrier {
    store: SharedStore,
    current: u32,
    keys: BTreeMap<u32, AeadKey>,
}

impl std::fmt::Debug for Barrier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Barrier")
            .field("current_key_version", &self.current)
            .finish_non_exhaustive()
    }
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

fn encode_keyring(current: u32, keys: &[(u32, KeyMaterial)]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(4 + keys.len() * 36));
    out.extend_from_slice(&current.to_be_bytes());
    for (v, k) in keys {
        out.extend_from_slice(&v.to_be_bytes());
        out.extend_from_slice(k.expose());
    }
    out
}

fn decode_keyring(bytes: &[u8]) -> Result<(u32, BTreeMap<u32, AeadKey>)> {
    let (head, rest) = bytes.split_at_checked(4).ok_or(Error::Integrity)?;
    let current = u32::from_be_bytes(head.try_into().map_err(|_| Error::Integrity)?);
    if rest.len() % 36 != 0 {
        return Err(Error::Integrity);
    }
    let mut keys = BTreeMap::new();
    for chunk in rest.chunks_exact(36) {
        let v = u32::from_be_bytes(chunk[..4].try_into().map_err(|_| Error::Integrity)?);
        keys.insert(v, AeadKey::new(&KeyMaterial::from_slice(&chunk[4..])?)?);
    }
    if !keys.contains_key(&current) {
        return Err(Error::Integrity);
    }
    Ok((current, keys))
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
    ) -> Result<Self> {
        // Two rounds: if another process initialises between our read and our commit, the
        // second round finds its canary and unlocks with it.
        for _ in 0..2 {
            match store.get(SYS_CANARY).await? {
                Some(canary) => return Self::unlock_existing(store, source, &canary).await,
                None => {
                    if let Some(b) = Self::initialise(&store, source, kdf).await? {
                        return Ok(b);
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
        let canary_ok = root
            .open(SYS_CANARY, canary)
            .is_ok_and(|c| c.as_slice() == CANARY_PLAINTEXT);
        if !canary_ok {
            // The canary did not open. If the keyring does, the key is right and the canary is
            // what is damaged: report corruption, not a wrong key.
            let keyring_opens = sealed
                .as_deref()
                .is_some_and(|s| root.open(SYS_KEYRING, s).is_ok());
            return Err(if keyring_opens {
                Error::Integrity
            } else {
                Error::WrongKey
            });
        }
        let sealed = sealed.ok_or(Error::Integrity)?;
        let (current, keys) = decode_keyring(&root.open(SYS_KEYRING, &sealed)?)?;
        Ok(Barrier {
            store,
            current,
            keys,
        })
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
        let data_key = KeyMaterial::generate()?;
        let keyring = encode_keyring(1, &[(1, data_key.clone())]);
        writes.push(Write::Put(
            SYS_KEYRING.to_vec(),
            root.seal(SYS_KEYRING, &keyring)?,
        ));
        writes.push(Write::Put(
            SYS_CANARY.to_vec(),
            root.seal(SYS_CANARY, CANARY_PLAINTEXT)?,
        ));
        let applied = store
            .commit(vec![Condition::Absent(SYS_CANARY.to_vec())], writes)
            .await?;
        if !applied {
            return Ok(None);
        }
        let mut keys = BTreeMap::new();
        keys.insert(1, AeadKey::new(&data_key)?);
        Ok(Some(Barrier {
            store: store.clone(),
            current: 1,
            keys,
        }))
    }

    /// The store below the barrier (for conditions and raw writes of sealed bytes).
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// Seals `plaintext` for the record stored at `key`.
    pub fn seal(&self, key: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let aead = self
            .keys
            .get(&self.current)
            .ok_or_else(|| Error::Internal("current data key missing".into()))?;
        let sealed = aead.seal(key, plaintext)?;
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(RECORD_FORMAT_V1);
        out.extend_from_slice(&self.current.to_be_bytes());
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens the sealed record stored at `key`. A record moved from another key, tampered with,
    /// or sealed by an unknown data key fails with `integrity`.
    pub fn open(&self, key: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < HEADER_LEN || sealed[0] != RECORD_FORMAT_V1 {
            return Err(Error::Integrity);
        }
        let version = u32::from_be_bytes(
            sealed[1..HEADER_LEN]
                .try_into()
                .map_err(|_| Error::Integrity)?,
        );
        let aead = self.keys.get(&version).ok_or(Error::Integrity)?;
        aead.open(key, &sealed[HEADER_LEN..])
    }

    /// Reads and opens the record at `key`; `Ok(None)` when missing.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.store.get(key).await? {
            Some(sealed) => self.open(key, &sealed).map(Some),
            None => Ok(None),
        }
    }

    /// Scans like [`Store::scan`](crate::store::Store::scan) and opens every value.
    pub async fn scan(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Zeroizing<Vec<u8>>)>> {
        let entries: Vec<Entry> = self.store.scan(prefix, after, limit).await?;
        entries
            .into_iter()
            .map(|(k, v)| {
                let plain = self.open(&k, &v)?;
                Ok((k, plain))
            })
            .collect()
    }
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
        let b2 = Barrier::unlock(store, &key(1), cheap())
            .await
            .expect("reopen");
        assert_eq!(
            b2.open(b"cred/h/s/k", &sealed).expect("open").as_slice(),
            b"secret-value"
        );
    }

    #[tokio::test]
    async fn wrong_key_is_wrong_key_not_garbage() {
        let store: SharedStore = Arc::new(MemoryStore::new());
        Barrier::unlock(store.clone(), &key(1), cheap())
            .await
            .expect("init");
        let err = Barrier::unlock(store.clone(), &key(2), cheap()).await.err();
        assert_eq!(err.map(|e| e.code()), Some("wrong_key"));
        // A passphrase against a raw-key vault is wrong too (there is no salt to derive with).
        let err = Barrier::unlock(store, &pass("pw"), cheap()).await.err();
        assert_eq!(err.map(|e| e.code()), Some("wrong_key"));
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
        assert_eq!(err.map(|e| e.code()), Some("wrong_key"));
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
        assert_eq!(err.map(|e| e.code()), Some("integrity"));
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
        assert_eq!(err.map(|e| e.code()), Some("integrity"));
        let err = Barrier::unlock(store, &key(2), cheap()).await.err();
        assert_eq!(err.map(|e| e.code()), Some("wrong_key"));
    }

    #[tokio::test]
    async fn records_are_bound_to_their_key_and_checked() {
        let store: SharedStore = Arc::new(MemoryStore::new());
        let b = Barrier::unlock(store, &key(1), cheap())
            .await
            .expect("init");
        let sealed = b.seal(b"a", b"v").expect("seal");
        assert!(matches!(b.open(b"b", &sealed), Err(Error::Integrity)));
        let mut bad = sealed.clone();
        bad[0] = 9;
        assert!(matches!(b.open(b"a", &bad), Err(Error::Integrity)));
        let mut bad = sealed;
        bad[4] = 7; // unknown keyring version
        assert!(matches!(b.open(b"a", &bad), Err(Error::Integrity)));
    }
}
