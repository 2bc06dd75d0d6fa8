//! A keyring of versioned 32-byte data keys, and the sealed-record format built on it.
//!
//! The barrier keeps one keyring (sealed by the root key at `sys/keyring`) for every record;
//! transit keys will reuse the same type. A sealed record is
//! `0x01 ‖ key version (u32 BE) ‖ nonce (24) ‖ ciphertext ‖ tag (16)`, sealed with that
//! version's key and the caller's associated data. Old versions keep opening what they sealed;
//! new seals use the current version.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::KeyMaterial;
use super::aead::AeadKey;
use crate::error::{Error, Result};

const RECORD_FORMAT_V1: u8 = 1;
const HEADER_LEN: usize = 5;
const ENTRY_LEN: usize = 4 + 32;

/// Versioned data keys: one current version seals, every version opens.
pub struct Keyring {
    current: u32,
    keys: BTreeMap<u32, AeadKey>,
    /// The raw key material, kept for re-encoding (zeroized on drop).
    material: BTreeMap<u32, KeyMaterial>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current)
            .field("versions", &self.keys.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// A keyring with one fresh random key, version 1.
    pub fn generate() -> Result<Keyring> {
        let mut ring = Keyring {
            current: 0,
            keys: BTreeMap::new(),
            material: BTreeMap::new(),
        };
        ring.rotate()?;
        Ok(ring)
    }

    /// Adds a fresh random key as the new current version and returns its number.
    pub fn rotate(&mut self) -> Result<u32> {
        let next = self
            .current
            .checked_add(1)
            .ok_or_else(|| Error::Internal("keyring version overflow".into()))?;
        self.insert(next, KeyMaterial::generate()?)?;
        self.current = next;
        Ok(next)
    }

    fn insert(&mut self, version: u32, key: KeyMaterial) -> Result<()> {
        self.keys.insert(version, AeadKey::new(&key)?);
        self.material.insert(version, key);
        Ok(())
    }

    /// The version new seals use.
    pub fn current_version(&self) -> u32 {
        self.current
    }

    /// `u32 current ‖ (u32 version ‖ 32-byte key)*`, for sealing under a root key.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::with_capacity(4 + self.material.len() * ENTRY_LEN));
        out.extend_from_slice(&self.current.to_be_bytes());
        for (v, k) in &self.material {
            out.extend_from_slice(&v.to_be_bytes());
            out.extend_from_slice(k.expose());
        }
        out
    }

    /// Parses [`Keyring::encode`]'s output; `integrity` when it is malformed.
    pub fn decode(bytes: &[u8]) -> Result<Keyring> {
        let (head, rest) = bytes.split_at_checked(4).ok_or(Error::Integrity)?;
        let current = u32::from_be_bytes(head.try_into().map_err(|_| Error::Integrity)?);
        if rest.len() % ENTRY_LEN != 0 {
            return Err(Error::Integrity);
        }
        let mut ring = Keyring {
            current,
            keys: BTreeMap::new(),
            material: BTreeMap::new(),
        };
        for chunk in rest.chunks_exact(ENTRY_LEN) {
            let v = u32::from_be_bytes(chunk[..4].try_into().map_err(|_| Error::Integrity)?);
            ring.insert(v, KeyMaterial::from_slice(&chunk[4..])?)?;
        }
        if !ring.keys.contains_key(&current) {
            return Err(Error::Integrity);
        }
        Ok(ring)
    }

    /// Seals `plaintext` with the current key, bound to `aad`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let aead = self
            .keys
            .get(&self.current)
            .ok_or_else(|| Error::Internal("current data key missing".into()))?;
        let sealed = aead.seal(aad, plaintext)?;
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(RECORD_FORMAT_V1);
        out.extend_from_slice(&self.current.to_be_bytes());
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`Keyring::seal`] made with any version of this ring. Wrong `aad`,
    /// tampering, an unknown version or an unknown format are all the same `integrity`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < HEADER_LEN || sealed[0] != RECORD_FORMAT_V1 {
            return Err(Error::Integrity);
        }
        let version = u32::from_be_bytes(
            sealed[1..HEADER_LEN]
                .try_into()
                .map_err(|_| Error::Integrity)?,
        );
        let aead = self.keys.get(&version).ok_or(Error::Integrity)?;
        aead.open(aad, &sealed[HEADER_LEN..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trips_and_rotation_keeps_old_versions() {
        let mut ring = Keyring::generate().expect("ring");
        let old = ring.seal(b"a", b"v1").expect("seal");
        assert_eq!(ring.rotate().expect("rotate"), 2);
        let new = ring.seal(b"a", b"v2").expect("seal");
        assert_eq!(new[1..5], 2u32.to_be_bytes());
        let back = Keyring::decode(&ring.encode()).expect("decode");
        assert_eq!(back.current_version(), 2);
        assert_eq!(back.open(b"a", &old).expect("old").as_slice(), b"v1");
        assert_eq!(back.open(b"a", &new).expect("new").as_slice(), b"v2");
    }

    #[test]
    fn fail_malformed_rings_and_records() {
        assert!(matches!(Keyring::decode(b"abc"), Err(Error::Integrity)));
        assert!(matches!(
            Keyring::decode(&[0, 0, 0, 1, 0]),
            Err(Error::Integrity)
        ));
        // Current version not among the keys.
        let mut bytes = Keyring::generate().expect("ring").encode().to_vec();
        bytes[3] = 9;
        assert!(matches!(Keyring::decode(&bytes), Err(Error::Integrity)));
        let ring = Keyring::generate().expect("ring");
        let sealed = ring.seal(b"a", b"v").expect("seal");
        assert!(matches!(ring.open(b"b", &sealed), Err(Error::Integrity)));
        let mut bad = sealed.clone();
        bad[0] = 9;
        assert!(matches!(ring.open(b"a", &bad), Err(Error::Integrity)));
        let mut bad = sealed;
        bad[4] = 7;
        assert!(matches!(ring.open(b"a", &bad), Err(Error::Integrity)));
        assert!(matches!(ring.open(b"a", &[1, 0]), Err(Error::Integrity)));
    }
}
