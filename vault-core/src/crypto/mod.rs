//! The crypto barrier: root key, keyring of data keys, and sealing of every record.
//!
//! This module is the only place that touches AEAD, KDF and randomness (orion). Everything below
//! it (the [`Store`](crate::store::Store)) sees ciphertext only; everything above it sees typed
//! plaintext records.

mod aead;
mod barrier;
mod keyfile;
mod keyring;
mod ledger;
mod secret;
mod value_keys;

#[cfg(feature = "testing")]
#[doc(hidden)]
pub use barrier::downgrade_to_pre_ledger_for_tests;
pub use barrier::{Barrier, KdfParams, Opened};
pub use keyfile::{
    check_private_file, load_or_create_key_file, write_private_file, write_private_file_sync_dir,
};
pub use keyring::Keyring;
pub use secret::{KeyMaterial, SecretString};
pub(crate) use value_keys::{Import as ValueKeyImport, IssuedKey, ValueKeys};

use base64::Engine as _;

use crate::error::{Error, Result};

/// Where the root key comes from.
pub enum RootKeySource {
    /// 32 bytes of key material, used as is.
    Key(KeyMaterial),
    /// A passphrase, stretched with Argon2id and a salt kept in the store.
    Passphrase(SecretString),
}

impl std::fmt::Debug for RootKeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RootKeySource::Key(_) => f.write_str("RootKeySource::Key([REDACTED])"),
            RootKeySource::Passphrase(_) => f.write_str("RootKeySource::Passphrase([REDACTED])"),
        }
    }
}

/// Shortest accepted passphrase, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 12;

impl RootKeySource {
    /// A passphrase root key; `invalid` (field `passphrase`) when shorter than
    /// [`MIN_PASSPHRASE_CHARS`] characters.
    pub fn passphrase(p: SecretString) -> Result<RootKeySource> {
        if p.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(Error::invalid(
                "passphrase",
                format!(
                    "must be at least {MIN_PASSPHRASE_CHARS} characters (a placeholder is not \
                     a key); for a random key use 64 hex digits, e.g. `openssl rand -hex 32`"
                ),
            ));
        }
        Ok(RootKeySource::Passphrase(p))
    }

    /// Interprets `VVAULT_ENCRYPTION_KEY`: 32 bytes as hex (64 digits) or base64 (standard or
    /// URL-safe, padded or not) are a key; any other string of at least
    /// [`MIN_PASSPHRASE_CHARS`] characters is a passphrase; anything shorter (a placeholder
    /// such as `...`) is `invalid`.
    pub fn parse(s: &str) -> Result<RootKeySource> {
        let t = s.trim();
        if t.is_empty() {
            return Err(Error::invalid("encryption_key", "must not be empty"));
        }
        if t.len() == 64
            && let Ok(bytes) = hex::decode(t).map(zeroize::Zeroizing::new)
        {
            return Ok(RootKeySource::Key(KeyMaterial::from_slice(&bytes)?));
        }
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        for engine in engines {
            // Decoded key bytes are wiped when dropped, whether or not they are a key.
            if let Ok(bytes) = engine.decode(t).map(zeroize::Zeroizing::new)
                && bytes.len() == 32
            {
                return Ok(RootKeySource::Key(KeyMaterial::from_slice(&bytes)?));
            }
        }
        if s.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(Error::invalid(
                "encryption_key",
                format!(
                    "is neither 32 bytes as 64 hex digits or base64 nor a passphrase of at \
                     least {MIN_PASSPHRASE_CHARS} characters; for a random key use \
                     `openssl rand -hex 32`"
                ),
            ));
        }
        Ok(RootKeySource::Passphrase(SecretString::new(s.to_string())))
    }
}

/// Fills a new buffer with `n` bytes from the operating system's CSPRNG.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    orion::util::secure_rand_bytes(&mut buf)
        .map_err(|_| Error::Internal("the system random generator failed".into()))?;
    Ok(buf)
}

/// `n` random characters of `[0-9A-Za-z]`, uniformly (rejection sampling of random bytes).
pub fn random_base62(n: usize) -> Result<String> {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        for b in random_bytes(n)? {
            // 248 = 4 * 62: bytes above it would bias the first characters.
            if b < 248 && out.len() < n {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

/// `n` characters drawn uniformly from `alphabet` (1 to 256 distinct ASCII bytes) by
/// rejection sampling of random bytes; a secret, wiped on drop.
pub fn random_from(alphabet: &[u8], n: usize) -> Result<SecretString> {
    if alphabet.is_empty() || alphabet.len() > 256 || !alphabet.is_ascii() {
        return Err(Error::Internal("random_from: bad alphabet".into()));
    }
    // Bytes at or above the largest multiple of the alphabet's size would bias the first
    // characters.
    let size = alphabet.len();
    let limit = 256 - 256 % size;
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut bytes = zeroize::Zeroizing::new(random_bytes(n)?);
        for b in bytes.iter_mut() {
            if usize::from(*b) < limit && out.len() < n {
                out.push(char::from(alphabet[usize::from(*b) % size]));
            }
        }
    }
    Ok(SecretString::new(out))
}

/// SHA-256 of `data`, as lowercase hex.
pub fn sha256_hex(data: &[u8]) -> Result<String> {
    orion::hazardous::hash::sha2::sha256::Sha256::digest(data)
        .map(|d| hex::encode(d.as_ref()))
        .map_err(|_| Error::Internal("sha-256 failed".into()))
}

/// A fresh random token: 32 random bytes, URL-safe base64 without padding (43 characters).
pub fn random_token() -> Result<SecretString> {
    let bytes = zeroize::Zeroizing::new(random_bytes(32)?);
    Ok(SecretString::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_slice()),
    ))
}

/// Seals `plaintext` under `key` with `aad` bound to it (XChaCha20-Poly1305, random nonce):
/// for blobs kept outside the store, such as a client's encrypted cache file.
pub fn seal_blob(key: &KeyMaterial, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    aead::AeadKey::new(key)?.seal(aad, plaintext)
}

/// Opens a blob made by [`seal_blob`]; `integrity` when the key, `aad` or bytes do not match.
pub fn open_blob(
    key: &KeyMaterial,
    aad: &[u8],
    sealed: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    aead::AeadKey::new(key)?.open(aad, sealed)
}

/// Derives a 32-byte key from high-entropy secret material (a token, a key) for one purpose
/// named by `context` (HKDF-SHA256). Not for passphrases: use a passphrase vault for those.
pub fn derive_subkey(secret: &[u8], context: &str) -> Result<KeyMaterial> {
    let mut out = zeroize::Zeroizing::new([0u8; 32]);
    orion::hazardous::kdf::hkdf::Hkdf::<orion::hazardous::kdf::hkdf::SHA256>::derive_key(
        b"vault-subkey-v1",
        secret,
        Some(context.as_bytes()),
        out.as_mut_slice(),
    )
    .map_err(|_| Error::invalid("secret", "cannot derive a key from empty material"))?;
    KeyMaterial::from_slice(out.as_slice())
}

/// Compares two byte strings in time independent of where they differ: it is orion's
/// `secure_cmp` (a constant-time comparison of equal-length inputs; a length mismatch returns
/// at once, which reveals only the length). Its timing is reviewed, not tested.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    orion::util::secure_cmp(a, b).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_hex_and_base64_keys_and_treats_the_rest_as_passphrase() {
        let raw = [7u8; 32];
        let hex_key = hex::encode(raw);
        let b64 = base64::engine::general_purpose::STANDARD.encode(raw);
        for s in [hex_key.as_str(), b64.as_str()] {
            match RootKeySource::parse(s) {
                Ok(RootKeySource::Key(k)) => assert_eq!(k.expose(), &raw),
                other => panic!("expected a key for {s}, got {other:?}"),
            }
        }
        assert!(matches!(
            RootKeySource::parse("correct horse battery staple"),
            Ok(RootKeySource::Passphrase(_))
        ));
        // 31 bytes of base64 is not a key: it is a passphrase.
        let short = base64::engine::general_purpose::STANDARD.encode([1u8; 31]);
        assert!(matches!(
            RootKeySource::parse(&short),
            Ok(RootKeySource::Passphrase(_))
        ));
        assert_eq!(
            RootKeySource::parse("  ").err().as_ref().map(|e| e.code()),
            Some("invalid")
        );
        // Placeholders and short passphrases are refused, not turned into a vault.
        for short in ["...", "changeme", "eleven char"] {
            let e = RootKeySource::parse(short).expect_err(short);
            assert_eq!(e.field(), Some("encryption_key"));
            assert!(!e.to_string().contains(short), "{e}");
        }
        assert!(RootKeySource::parse("twelve chars").is_ok());
        let e = RootKeySource::passphrase(SecretString::from("short")).expect_err("short");
        assert_eq!(e.field(), Some("passphrase"));
    }

    #[test]
    fn blobs_round_trip_and_subkeys_depend_on_context() {
        let k = derive_subkey(b"token-material", "cache").expect("derive");
        let k2 = derive_subkey(b"token-material", "other").expect("derive");
        assert_ne!(k.expose(), k2.expose());
        let sealed = seal_blob(&k, b"aad", b"configs").expect("seal");
        assert_eq!(
            open_blob(&k, b"aad", &sealed).expect("open").as_slice(),
            b"configs"
        );
        assert!(open_blob(&k2, b"aad", &sealed).is_err());
        assert!(open_blob(&k, b"other", &sealed).is_err());
    }

    #[test]
    fn tokens_are_random_and_constant_time_eq_agrees_with_byte_equality() {
        let a = random_token().expect("token");
        let b = random_token().expect("token");
        assert_eq!(a.expose_secret().len(), 43);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }

    #[test]
    fn base62_strings_have_the_length_asked_and_draw_on_the_whole_alphabet() {
        let s = random_base62(2000).expect("base62");
        assert_eq!(s.len(), 2000);
        assert!(s.bytes().all(|b| b.is_ascii_alphanumeric()), "{s}");
        // Each of the 62 characters turns up in 2000 uniform draws: the chance that one is
        // missing is below 62 * (61/62)^2000, about 5e-13.
        let seen: std::collections::BTreeSet<u8> = s.bytes().collect();
        assert_eq!(seen.len(), 62, "{s}");
        assert_eq!(random_base62(0).expect("empty"), "");
    }

    #[test]
    fn sha256_hex_is_sha256_in_lowercase_hex() {
        // FIPS 180-2 test vectors.
        assert_eq!(
            sha256_hex(b"abc").expect("hash"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha256_hex(b"").expect("hash"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
