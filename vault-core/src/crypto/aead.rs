//! XChaCha20-Poly1305 with associated data (orion's `hazardous` module: the high-level
//! `orion::aead` has no AAD). Output layout: 24-byte random nonce || ciphertext || 16-byte tag.

use orion::hazardous::aead::xchacha20poly1305::{Nonce, SecretKey, XChaCha20Poly1305};
use zeroize::Zeroizing;

use super::KeyMaterial;
use crate::error::{Error, Result};

const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// A data or root key ready for sealing.
pub(crate) struct AeadKey(SecretKey);

impl AeadKey {
    pub(crate) fn new(k: &KeyMaterial) -> Result<Self> {
        SecretKey::try_from(k.expose())
            .map(AeadKey)
            .map_err(|_| Error::Internal("bad key length".into()))
    }

    /// Encrypts `plaintext`, binding it to `aad`.
    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let nonce = Nonce::generate().map_err(|_| Error::Internal("nonce generation".into()))?;
        let mut out = vec![0u8; NONCE_LEN + plaintext.len() + TAG_LEN];
        out[..NONCE_LEN].copy_from_slice(nonce.as_ref());
        XChaCha20Poly1305::seal(&self.0, &nonce, plaintext, Some(aad), &mut out[NONCE_LEN..])
            .map_err(|_| Error::Internal("seal failed".into()))?;
        Ok(out)
    }

    /// Decrypts `sealed`, checking that it was sealed with this key and this `aad`.
    /// Every failure is the same opaque [`Error::Integrity`].
    pub(crate) fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(Error::Integrity);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| Error::Integrity)?;
        let mut out = Zeroizing::new(vec![0u8; ct.len() - TAG_LEN]);
        XChaCha20Poly1305::open(&self.0, &nonce, ct, Some(aad), &mut out)
            .map_err(|_| Error::Integrity)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> AeadKey {
        AeadKey::new(&KeyMaterial::from_slice(&[b; 32]).expect("key")).expect("aead key")
    }

    #[test]
    fn round_trip() {
        let k = key(1);
        let ct = k.seal(b"cred/h/svc/k", b"plaintext").expect("seal");
        assert_eq!(ct.len(), 24 + 9 + 16);
        assert_eq!(
            k.open(b"cred/h/svc/k", &ct).expect("open").as_slice(),
            b"plaintext"
        );
        // Random nonces: the same plaintext never seals to the same bytes.
        assert_ne!(ct, k.seal(b"cred/h/svc/k", b"plaintext").expect("seal"));
    }

    #[test]
    fn an_empty_plaintext_round_trips() {
        // The shortest sealed value: nonce and tag only.
        let k = key(1);
        let ct = k.seal(b"aad", b"").expect("seal");
        assert_eq!(ct.len(), NONCE_LEN + TAG_LEN);
        assert!(k.open(b"aad", &ct).expect("open").is_empty());
        assert!(matches!(k.open(b"other", &ct), Err(Error::Integrity)));
    }

    #[test]
    fn fail_aad_swap() {
        let k = key(1);
        let ct = k.seal(b"cred/h/svc/a", b"plaintext").expect("seal");
        assert_eq!(
            k.open(b"cred/h/svc/b", &ct)
                .err()
                .as_ref()
                .map(|e| e.code()),
            Some("integrity")
        );
    }

    #[test]
    fn fail_wrong_key() {
        let ct = key(1).seal(b"aad", b"plaintext").expect("seal");
        assert!(matches!(key(2).open(b"aad", &ct), Err(Error::Integrity)));
    }

    #[test]
    fn fail_tampered_ciphertext_nonce_and_tag() {
        let k = key(1);
        let ct = k.seal(b"aad", b"plaintext").expect("seal");
        for i in [0, 24, ct.len() - 1] {
            let mut bad = ct.clone();
            bad[i] ^= 0x01;
            assert!(
                matches!(k.open(b"aad", &bad), Err(Error::Integrity)),
                "byte {i}"
            );
        }
        assert!(matches!(k.open(b"aad", &ct[..30]), Err(Error::Integrity)));
        assert!(matches!(k.open(b"aad", &[]), Err(Error::Integrity)));
    }
}
