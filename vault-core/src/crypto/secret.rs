//! Secret value types: zeroized on drop, redacted in `Debug` and `Display`, never serialized.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};

/// A secret string (a credential value, a passphrase, a token).
///
/// Prints as `[REDACTED]`; the only way to the plaintext is [`SecretString::expose_secret`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps `s`; the string is wiped when this value is dropped.
    pub fn new(s: String) -> Self {
        SecretString(s)
    }

    /// The plaintext. Every use is a place a secret leaves the vault: keep them few.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Length in bytes of the plaintext.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the plaintext is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        SecretString(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        SecretString(s.to_string())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        super::constant_time_eq(self.0.as_bytes(), other.0.as_bytes())
    }
}

/// 32 bytes of key material, wiped on drop, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct KeyMaterial([u8; 32]);

impl KeyMaterial {
    /// Copies exactly 32 bytes of key material.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| Error::invalid("encryption_key", "a raw key must be exactly 32 bytes"))?;
        Ok(KeyMaterial(arr))
    }

    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        let bytes = Zeroizing::new(super::random_bytes(32)?);
        Self::from_slice(&bytes)
    }

    /// The raw bytes.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let s = SecretString::from("hunter2-planted");
        assert_eq!(format!("{s:?}"), "[REDACTED]");
        assert_eq!(format!("{s}"), "[REDACTED]");
        assert_eq!(s.expose_secret(), "hunter2-planted");
        let k = KeyMaterial::from_slice(&[9u8; 32]).expect("key");
        assert!(!format!("{k:?}").contains('9'));
        assert!(KeyMaterial::from_slice(&[1u8; 16]).is_err());
    }

    #[test]
    fn secrets_are_equal_only_with_the_same_bytes() {
        let s = SecretString::from("hunter2-planted");
        assert!(s == SecretString::from(String::from("hunter2-planted")));
        assert!(s != SecretString::from("hunter2-plantee"));
        assert!(s != SecretString::from("hunter2"));
        assert!(s != SecretString::from(""));
        assert!(SecretString::from("") == SecretString::new(String::new()));
    }
}
