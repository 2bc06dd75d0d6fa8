//! The lifecycle vocabulary of credentials and its rules, shared by the embedded vault and the
//! remote client: kept versions (`max_versions`), version states and the operations that change
//! them, rotation periods (`rotate_every`) and the policy of generated values.
//!
//! Every check here is the one rule: the embedded vault applies it, and a remote client applies
//! it before sending, so both answer the same `invalid`.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};

/// Versions kept of a credential (the current one included) unless its `max_versions` says
/// otherwise.
pub const DEFAULT_MAX_VERSIONS: u64 = 10;
/// Largest accepted `max_versions`.
pub const MAX_MAX_VERSIONS: u64 = 100;
/// Shortest accepted `rotate_every`: one hour.
pub const MIN_ROTATE_SECS: u64 = 3600;
/// Longest accepted `rotate_every`: 3650 days.
pub const MAX_ROTATE_SECS: u64 = 3650 * 86_400;
/// Longest accepted `rotate_every` string.
pub const MAX_ROTATE_CHARS: usize = 16;
/// Shortest generated value, in characters.
pub const MIN_GENERATED_LEN: usize = 8;
/// Longest generated value, in characters.
pub const MAX_GENERATED_LEN: usize = 4096;
/// Length of a generated value when none is given.
pub const DEFAULT_GENERATED_LEN: usize = 32;
/// Default page size of a versions listing.
pub const VERSIONS_DEFAULT_LIMIT: usize = 100;
/// Largest page of a versions listing.
pub const VERSIONS_MAX_LIMIT: usize = 1000;

/// `invalid` (field `version`) for version 0: versions start at 1.
pub fn check_version(version: u64) -> Result<()> {
    if version == 0 {
        return Err(Error::invalid(
            "version",
            "must be a version number (1 or more)",
        ));
    }
    Ok(())
}

/// `invalid` (field `max_versions`) outside 1 to [`MAX_MAX_VERSIONS`].
pub fn check_max_versions(max_versions: u64) -> Result<()> {
    if max_versions == 0 || max_versions > MAX_MAX_VERSIONS {
        return Err(Error::invalid(
            "max_versions",
            format!("must be 1 to {MAX_MAX_VERSIONS}"),
        ));
    }
    Ok(())
}

/// The page size of a versions listing: `limit` or the default; `invalid` (field `limit`)
/// outside 1 to [`VERSIONS_MAX_LIMIT`].
pub fn check_versions_limit(limit: Option<usize>) -> Result<usize> {
    let limit = limit.unwrap_or(VERSIONS_DEFAULT_LIMIT);
    if limit == 0 || limit > VERSIONS_MAX_LIMIT {
        return Err(Error::invalid(
            "limit",
            format!("must be 1 to {VERSIONS_MAX_LIMIT}"),
        ));
    }
    Ok(limit)
}

/// How often a credential should get a new value: a whole number of minutes (`m`), hours
/// (`h`), days (`d`) or weeks (`w`), e.g. `12h`, `7d`, `30d`; from 1 hour to 3650 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RotateEvery(u64);

impl RotateEvery {
    /// Parses `s` strictly (`<1 to 6 digits><m|h|d|w>`, no spaces, no leading zero);
    /// `invalid` (field `rotate_every`) otherwise or out of bounds. The message never repeats
    /// the input.
    pub fn parse(s: &str) -> Result<RotateEvery> {
        let bad = |why: &str| Error::invalid("rotate_every", why.to_string());
        if s.len() > MAX_ROTATE_CHARS {
            return Err(bad(&format!(
                "must be at most {MAX_ROTATE_CHARS} characters"
            )));
        }
        let form = "must be a whole number and a unit: m, h, d or w (e.g. 12h, 7d, 30d)";
        // The unit is the last character, whatever its width (never split inside one).
        let Some((cut, unit)) = s.char_indices().next_back() else {
            return Err(bad(form));
        };
        let digits = &s[..cut];
        let unit_secs = match unit {
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad(form)),
        };
        if digits.is_empty()
            || digits.len() > 6
            || digits.starts_with('0')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad(form));
        }
        let n: u64 = digits.parse().map_err(|_| bad(form))?;
        RotateEvery::from_secs(n.saturating_mul(unit_secs))
    }

    /// A period of `secs` seconds; `invalid` (field `rotate_every`) outside 1 hour to 3650
    /// days.
    pub fn from_secs(secs: u64) -> Result<RotateEvery> {
        if !(MIN_ROTATE_SECS..=MAX_ROTATE_SECS).contains(&secs) {
            return Err(Error::invalid("rotate_every", "must be from 1h to 3650d"));
        }
        Ok(RotateEvery(secs))
    }

    /// The period in seconds.
    pub fn as_secs(self) -> u64 {
        self.0
    }

    /// The period in milliseconds.
    pub fn as_millis(self) -> i64 {
        i64::try_from(self.0.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// The canonical form: the largest of `d`, `h`, `m` that divides the period (`1w` → `7d`).
impl std::fmt::Display for RotateEvery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0;
        if s.is_multiple_of(86_400) {
            write!(f, "{}d", s / 86_400)
        } else if s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else {
            write!(f, "{}m", s / 60)
        }
    }
}

impl std::str::FromStr for RotateEvery {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        RotateEvery::parse(s)
    }
}

impl Serialize for RotateEvery {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RotateEvery {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RotateEvery::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The characters of a generated value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Charset {
    /// `A-Z a-z 0-9` (62 characters).
    #[default]
    Alphanumeric,
    /// `0-9 a-f` (16 characters).
    Hex,
    /// `A-Z a-z 0-9 - _` (64 characters, URL-safe).
    Base64url,
    /// Every printable ASCII character but space (94 characters, `!` to `~`).
    AsciiPrintable,
}

impl Charset {
    /// Every charset, in the order they are documented.
    pub const ALL: [Charset; 4] = [
        Charset::Alphanumeric,
        Charset::Hex,
        Charset::Base64url,
        Charset::AsciiPrintable,
    ];

    /// `alphanumeric`, `hex`, `base64url` or `ascii_printable`.
    pub fn as_str(self) -> &'static str {
        match self {
            Charset::Alphanumeric => "alphanumeric",
            Charset::Hex => "hex",
            Charset::Base64url => "base64url",
            Charset::AsciiPrintable => "ascii_printable",
        }
    }

    /// The charset named `s`; `invalid` (field `charset`) listing the known ones otherwise.
    pub fn parse(s: &str) -> Result<Charset> {
        Charset::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "charset",
                    format!(
                        "must be one of {}",
                        Charset::ALL.map(Charset::as_str).join(", ")
                    ),
                )
            })
    }

    /// The characters, as bytes.
    pub(crate) fn alphabet(self) -> Vec<u8> {
        match self {
            Charset::Alphanumeric => (b'A'..=b'Z')
                .chain(b'a'..=b'z')
                .chain(b'0'..=b'9')
                .collect(),
            Charset::Hex => (b'0'..=b'9').chain(b'a'..=b'f').collect(),
            Charset::Base64url => (b'A'..=b'Z')
                .chain(b'a'..=b'z')
                .chain(b'0'..=b'9')
                .chain([b'-', b'_'])
                .collect(),
            Charset::AsciiPrintable => (b'!'..=b'~').collect(),
        }
    }
}

/// How [`CredentialsApi::rotate`](super::CredentialsApi::rotate) generates a value: `length`
/// characters (8 to 4096, default 32) drawn uniformly from `charset` (default alphanumeric)
/// with the operating system's CSPRNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GeneratePolicy {
    /// Number of characters.
    pub length: usize,
    /// Which characters.
    pub charset: Charset,
}

impl Default for GeneratePolicy {
    fn default() -> Self {
        GeneratePolicy {
            length: DEFAULT_GENERATED_LEN,
            charset: Charset::default(),
        }
    }
}

impl GeneratePolicy {
    /// `invalid` (field `length`) outside [`MIN_GENERATED_LEN`] to [`MAX_GENERATED_LEN`].
    pub fn check(&self) -> Result<()> {
        if !(MIN_GENERATED_LEN..=MAX_GENERATED_LEN).contains(&self.length) {
            return Err(Error::invalid(
                "length",
                format!("must be {MIN_GENERATED_LEN} to {MAX_GENERATED_LEN}"),
            ));
        }
        Ok(())
    }
}

/// What an operation on one version does (the `{op}` of its HTTP path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionOp {
    /// Soft delete: the version is no longer served, its value is kept (`delete` capability).
    Delete,
    /// Undoes a soft delete (`write` capability).
    Undelete,
    /// Erases the version's value from the store for good (`delete` capability).
    Destroy,
}

impl VersionOp {
    /// Every operation, in the order they are documented.
    pub const ALL: [VersionOp; 3] = [VersionOp::Delete, VersionOp::Undelete, VersionOp::Destroy];

    /// `delete`, `undelete` or `destroy`.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionOp::Delete => "delete",
            VersionOp::Undelete => "undelete",
            VersionOp::Destroy => "destroy",
        }
    }

    /// The operation named `s`; `invalid` (field `op`) otherwise.
    pub fn parse(s: &str) -> Result<VersionOp> {
        VersionOp::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| Error::invalid("op", "must be one of delete, undelete, destroy"))
    }
}

/// The state of one kept version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionState {
    /// Served.
    Active,
    /// Soft-deleted: not served; can be undeleted.
    Deleted,
    /// Destroyed: its value is erased from the store.
    Destroyed,
}

impl VersionState {
    /// `active`, `deleted` or `destroyed`.
    pub fn as_str(self) -> &'static str {
        match self {
            VersionState::Active => "active",
            VersionState::Deleted => "deleted",
            VersionState::Destroyed => "destroyed",
        }
    }
}

/// One kept version of a credential, without its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionInfo {
    /// Version number.
    pub version: u64,
    /// When this version was written (absent only for a version written before version times
    /// were recorded and since destroyed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// Active, deleted or destroyed.
    pub state: VersionState,
    /// When it was soft-deleted or destroyed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<Timestamp>,
}

/// One page of the kept versions of a credential, newest first, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialVersions {
    /// The service.
    pub service: ServiceName,
    /// The credential's name.
    pub key: CredentialKey,
    /// The current (latest) version.
    pub current_version: u64,
    /// The oldest version kept.
    pub oldest_version: u64,
    /// How many versions are kept.
    pub max_versions: u64,
    /// The versions of this page, newest first.
    pub versions: Vec<VersionInfo>,
    /// When older versions follow: the `after` of the next page.
    pub next: Option<u64>,
}

/// A change of a credential's lifecycle settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CredentialSettings {
    /// Versions kept, 1 to [`MAX_MAX_VERSIONS`]. Lowering it prunes the oldest versions at
    /// once.
    pub max_versions: Option<u64>,
    /// `Some(Some(p))` sets the rotation period, `Some(None)` clears it.
    pub rotate_every: Option<Option<RotateEvery>>,
}

impl CredentialSettings {
    /// Checks `max_versions`.
    pub fn check(&self) -> Result<()> {
        if let Some(m) = self.max_versions {
            check_max_versions(m)?;
        }
        Ok(())
    }

    /// The `rotate_every` of a request given as a string: `off` clears it, anything else is
    /// parsed by [`RotateEvery::parse`].
    pub fn parse_rotate_every(s: &str) -> Result<Option<RotateEvery>> {
        if s == "off" {
            return Ok(None);
        }
        RotateEvery::parse(s).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_every_parses_strictly_and_is_bounded() {
        for (s, secs, canon) in [
            ("12h", 12 * 3600, "12h"),
            ("7d", 7 * 86_400, "7d"),
            ("30d", 30 * 86_400, "30d"),
            ("1w", 7 * 86_400, "7d"),
            ("90m", 5400, "90m"),
            ("3650d", MAX_ROTATE_SECS, "3650d"),
        ] {
            let r = RotateEvery::parse(s).expect(s);
            assert_eq!((r.as_secs(), r.to_string()), (secs, canon.to_string()));
        }
        for bad in [
            "",
            "d",
            "7",
            "07d",
            "7 d",
            " 7d",
            "7D",
            "7y",
            "-7d",
            "1.5d",
            "59m",
            "3651d",
            "99999999999999999d",
            // A multi-byte last character (or any) is refused, never split inside.
            "7é",
            "ü",
            "1ü",
            "٣d",
            "7d\u{301}",
        ] {
            let e = RotateEvery::parse(bad).expect_err(bad);
            assert_eq!(e.field(), Some("rotate_every"), "{bad}");
        }
        let e = RotateEvery::parse(&"1".repeat(40)).expect_err("long");
        assert_eq!(
            e.to_string(),
            "invalid rotate_every: must be at most 16 characters"
        );
        assert_eq!(
            CredentialSettings::parse_rotate_every("off").ok(),
            Some(None)
        );
    }

    #[test]
    fn charsets_policies_ops_and_versions_are_checked() {
        assert_eq!(Charset::parse("hex").ok(), Some(Charset::Hex));
        assert_eq!(
            Charset::parse("emoji").expect_err("bad").field(),
            Some("charset")
        );
        for c in Charset::ALL {
            let a = c.alphabet();
            assert!(a.iter().all(|b| b.is_ascii_graphic()), "{c:?}");
            assert_eq!(Charset::parse(c.as_str()).ok(), Some(c));
        }
        assert_eq!(Charset::AsciiPrintable.alphabet().len(), 94);
        assert_eq!(Charset::Base64url.alphabet().len(), 64);
        for bad in [0, 7, 4097] {
            let p = GeneratePolicy {
                length: bad,
                ..GeneratePolicy::default()
            };
            assert_eq!(p.check().expect_err("len").field(), Some("length"));
        }
        assert!(GeneratePolicy::default().check().is_ok());
        assert_eq!(VersionOp::parse("destroy").ok(), Some(VersionOp::Destroy));
        assert_eq!(
            VersionOp::parse("purge").expect_err("op").field(),
            Some("op")
        );
        assert_eq!(check_version(0).expect_err("0").field(), Some("version"));
        assert!(check_version(1).is_ok());
        for bad in [0, 101] {
            assert_eq!(
                check_max_versions(bad).expect_err("max").field(),
                Some("max_versions")
            );
        }
    }
}
