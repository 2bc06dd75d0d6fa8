//! The freshness ledger: what makes a record rolled back or brought back by whoever can write
//! the store an `integrity` error instead of a silently served old value.
//!
//! Sealing binds a record to its store key, not to a moment: a saved copy of a head written
//! back later opens fine. So the barrier keeps, for every *tracked* record (see [`tracked`]),
//! a digest of its current sealed bytes in a ledger, and checks it on every read. The ledger
//! is split into [`BUCKETS`] sealed records `sys/ledger/<n>` (a record lands in the bucket
//! named by its key's hash); each commit that writes tracked records rewrites their buckets in
//! the same atomic commit, so commits to records in different buckets never contend.
//!
//! What it detects: one record (or a few) written back from an older copy, or written back
//! after a delete, or deleted behind the vault's back — the record no longer matches its
//! bucket. What it cannot detect: a record rolled back *together with* its bucket to a copy
//! taken when nothing else in that bucket has changed since, and the whole data directory
//! rolled back to an older copy (no state outside the store says what is current). See
//! `docs/security.md`.

use orion::hazardous::hash::blake2::blake2b::Blake2b;

use crate::error::{Error, Result};

/// Number of ledger buckets. More buckets: smaller ledger records to rewrite and fewer
/// contending commits; fewer: a consistent rollback of a record with its bucket is likelier to
/// be caught by another record of that bucket having changed since.
pub(crate) const BUCKETS: usize = 256;

const BUCKET_PREFIX: &str = "sys/ledger/";
const FORMAT: &[u8] = b"L1";
const HASH_LEN: usize = 16;
const ENTRY_LEN: usize = 2 * HASH_LEN;

/// A 16-byte BLAKE2b hash: of a key, or of a sealed value (a digest).
pub(crate) type Hash = [u8; HASH_LEN];

/// Whether the ledger covers the record at `key`: the mutable sealed records of every family,
/// that is heads (`<family>/h/…`), their info records (`<family>/i/…`) and per-service
/// settings (`<family>/s/…`). Not covered: `sys/…` (the vault's own records, checked at
/// unlock), version records (`<family>/v/…`: written once, never changed; their readers check
/// them against the head) and clear index entries (`<family>/k/…`: empty values).
pub(crate) fn tracked(key: &[u8]) -> bool {
    let mut parts = key.splitn(3, |b| *b == b'/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(family), Some(kind), Some(_)) => {
            family != b"sys" && matches!(kind, b"h" | b"i" | b"s")
        }
        _ => false,
    }
}

fn hash16(data: &[u8]) -> Hash {
    // BLAKE2b with a 16-byte output; `new(16)` and `update` fail only on an invalid size.
    let mut h = Blake2b::new(HASH_LEN).expect("16 is a valid BLAKE2b output size");
    h.update(data)
        .expect("update of an unfinalized BLAKE2b state");
    let digest = h.finalize().expect("finalize once");
    let mut out = [0u8; HASH_LEN];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A tracked record's place in the ledger: its bucket and the hash of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Slot {
    pub(crate) bucket: usize,
    key_hash: Hash,
}

impl Slot {
    pub(crate) fn of(key: &[u8]) -> Slot {
        let key_hash = hash16(key);
        Slot {
            bucket: usize::from(key_hash[0]) % BUCKETS,
            key_hash,
        }
    }
}

/// The store key of bucket `n`.
pub(crate) fn bucket_key(bucket: usize) -> Vec<u8> {
    format!("{BUCKET_PREFIX}{bucket}").into_bytes()
}

/// What the ledger records of a value: its authentication tag (the last 16 bytes of a sealed
/// record). A tag is a MAC under the data key over that one sealing (fresh nonce): an older
/// sealing of the same record has another tag, and nobody without the key can make a record
/// that opens with a given tag. So the tag identifies the sealing as well as a hash of the
/// whole record would, without hashing it on every read. A value shorter than a tag (never a
/// sealed record) is hashed.
pub(crate) fn digest(sealed: &[u8]) -> Hash {
    match sealed.len().checked_sub(HASH_LEN) {
        Some(start) if start > 0 => {
            let mut out = [0u8; HASH_LEN];
            out.copy_from_slice(&sealed[start..]);
            out
        }
        _ => hash16(sealed),
    }
}

/// One bucket: `(key hash, value digest)` entries sorted by key hash. Encoded as `L1` followed
/// by the 32-byte entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Bucket {
    entries: Vec<(Hash, Hash)>,
}

impl Bucket {
    /// Decodes a bucket; anything else is `integrity`.
    pub(crate) fn decode(plain: &[u8]) -> Result<Bucket> {
        let body = plain.strip_prefix(FORMAT).ok_or(Error::Integrity)?;
        if body.len() % ENTRY_LEN != 0 {
            return Err(Error::Integrity);
        }
        let entries: Vec<(Hash, Hash)> = body
            .chunks_exact(ENTRY_LEN)
            .map(|e| {
                let mut k = [0u8; HASH_LEN];
                let mut d = [0u8; HASH_LEN];
                k.copy_from_slice(&e[..HASH_LEN]);
                d.copy_from_slice(&e[HASH_LEN..]);
                (k, d)
            })
            .collect();
        if entries.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(Error::Integrity);
        }
        Ok(Bucket { entries })
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(FORMAT.len() + self.entries.len() * ENTRY_LEN);
        out.extend_from_slice(FORMAT);
        for (k, d) in &self.entries {
            out.extend_from_slice(k);
            out.extend_from_slice(d);
        }
        out
    }

    /// The digest recorded for `slot`, if the record exists.
    pub(crate) fn get(&self, slot: &Slot) -> Option<Hash> {
        self.entries
            .binary_search_by(|(k, _)| k.cmp(&slot.key_hash))
            .ok()
            .map(|i| self.entries[i].1)
    }

    /// Records `digest` for `slot`, or removes it (`None`: the record was deleted).
    pub(crate) fn set(&mut self, slot: &Slot, digest: Option<Hash>) {
        match (
            self.entries
                .binary_search_by(|(k, _)| k.cmp(&slot.key_hash)),
            digest,
        ) {
            (Ok(i), Some(d)) => self.entries[i].1 = d,
            (Ok(i), None) => {
                self.entries.remove(i);
            }
            (Err(i), Some(d)) => self.entries.insert(i, (slot.key_hash, d)),
            (Err(_), None) => {}
        }
    }

    /// Whether the value read for `slot` (`None`: absent) is the one the bucket records.
    pub(crate) fn matches(&self, slot: &Slot, sealed: Option<&[u8]>) -> bool {
        self.get(slot) == sealed.map(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_heads_info_and_settings_only() {
        for k in ["cred/h/s/k", "cred/i/s/k", "cfg/s/svc", "cfg/h/s/a/b"] {
            assert!(tracked(k.as_bytes()), "{k}");
        }
        for k in [
            "cred/v/s/k/\0\0\0\0\0\0\0\x01",
            "cred/k/k/s",
            "cred/d/s/k\0\0\0\0\0\0\0\0\x01",
            "sys/canary",
            "sys/h/x",
            "sys/ledger/3",
            "cred/h",
            "x",
        ] {
            assert!(!tracked(k.as_bytes()), "{k}");
        }
    }

    #[test]
    fn bucket_sets_gets_removes_and_round_trips() {
        let mut b = Bucket::default();
        let slots: Vec<Slot> = (0..50)
            .map(|i| Slot::of(format!("cred/h/s/{i}").as_bytes()))
            .collect();
        for (i, s) in slots.iter().enumerate() {
            b.set(s, Some(digest(&[i as u8])));
        }
        b.set(&slots[7], Some(digest(b"new")));
        b.set(&slots[9], None);
        b.set(&Slot::of(b"never"), None);
        let back = Bucket::decode(&b.encode()).expect("decode");
        assert_eq!(back, b);
        assert_eq!(back.get(&slots[7]), Some(digest(b"new")));
        assert_eq!(back.get(&slots[9]), None);
        assert_eq!(back.get(&slots[8]), Some(digest(&[8])));
        assert!(back.matches(&slots[8], Some(&[8])));
        assert!(!back.matches(&slots[8], Some(&[9])));
        assert!(!back.matches(&slots[8], None));
        assert!(back.matches(&slots[9], None));
        assert!(!back.matches(&slots[9], Some(&[9])));
        assert_eq!(back.encode().len(), 2 + 49 * 32);
    }

    #[test]
    fn malformed_buckets_are_integrity() {
        let mut b = Bucket::default();
        b.set(&Slot::of(b"a"), Some(digest(b"1")));
        b.set(&Slot::of(b"b"), Some(digest(b"2")));
        let good = b.encode();
        assert!(Bucket::decode(&good).is_ok());
        assert!(Bucket::decode(&good[1..]).is_err(), "no format tag");
        assert!(
            Bucket::decode(&good[..good.len() - 1]).is_err(),
            "cut entry"
        );
        // Entries out of order (swapped) do not decode: lookups rely on the order.
        let mut swapped = FORMAT.to_vec();
        swapped.extend_from_slice(&good[2 + 32..]);
        swapped.extend_from_slice(&good[2..2 + 32]);
        assert!(Bucket::decode(&swapped).is_err(), "unsorted");
    }

    /// A stand-in for a sealed record: longer than a tag, ending in its 16-byte tag.
    fn sealed_record() -> Vec<u8> {
        (0u8..61).collect()
    }

    fn hash_hex(h: &str) -> Hash {
        Hash::try_from(hex::decode(h).expect("hex").as_slice()).expect("16 bytes")
    }

    #[test]
    fn a_bare_tag_written_in_place_of_its_record_does_not_match() {
        // The tag of a record is in the clear in the store: writing those 16 bytes back in
        // place of the record must not match what the ledger recorded (a value no longer than
        // a tag is hashed, not taken as a tag).
        let sealed = sealed_record();
        let slot = Slot::of(b"cred/h/s/K");
        let mut b = Bucket::default();
        b.set(&slot, Some(digest(&sealed)));
        assert!(b.matches(&slot, Some(&sealed)));
        let tag = &sealed[sealed.len() - HASH_LEN..];
        assert!(!b.matches(&slot, Some(tag)));
        assert!(!b.matches(&slot, Some(&tag[1..])));
    }

    #[test]
    fn the_stored_format_of_the_ledger_is_stable() {
        // Buckets written by earlier versions must go on matching their records: a key's
        // bucket and hash, a value's digest and the encoding are all kept in the store.
        // Known answers: BLAKE2b with a 16-byte output.
        let key = b"cred/h/s/K";
        let key_hash = hash_hex("2eefd1201e75d05ba1347b0925ebc3b8");
        let slot = Slot::of(key);
        assert_eq!(
            slot,
            Slot {
                bucket: 0x2e,
                key_hash
            }
        );
        assert_eq!(bucket_key(slot.bucket), b"sys/ledger/46");
        // A sealed record is recorded by its tag: its last 16 bytes.
        let sealed = sealed_record();
        let tag = Hash::try_from(&sealed[sealed.len() - HASH_LEN..]).expect("16 bytes");
        assert_eq!(digest(&sealed), tag);
        assert_eq!(
            digest(&sealed[..HASH_LEN + 1]),
            Hash::try_from(&sealed[1..=HASH_LEN]).expect("16 bytes")
        );
        // Anything no longer than a tag is hashed.
        assert_eq!(digest(b""), hash_hex("cae66941d9efbd404e4d88758ea67670"));
        assert_eq!(digest(b"abc"), hash_hex("cf4ab791c62b8d2b2109c90275287816"));
        assert_eq!(
            digest(&[b'a'; HASH_LEN]),
            hash_hex("a84cf0c4b70bd599463369999f7459e9")
        );
        // `L1`, then (key hash, digest) entries.
        let mut b = Bucket::default();
        b.set(&slot, Some(digest(&sealed)));
        let mut want = b"L1".to_vec();
        want.extend_from_slice(&key_hash);
        want.extend_from_slice(&tag);
        assert_eq!(b.encode(), want);
        assert_eq!(Bucket::decode(&want).expect("decode"), b);
    }

    #[test]
    fn slots_spread_over_buckets() {
        let used: std::collections::BTreeSet<usize> = (0..2000)
            .map(|i| Slot::of(format!("cred/h/s/{i}").as_bytes()).bucket)
            .collect();
        assert!(used.len() > BUCKETS * 9 / 10, "{} buckets used", used.len());
        assert!(used.iter().all(|b| *b < BUCKETS));
    }
}
