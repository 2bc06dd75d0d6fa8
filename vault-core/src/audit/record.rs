//! How the entries of one commit are stored: a compact record, sealed by the barrier.
//!
//! An entry's `prev` and `hash` follow from its content and its predecessor, its `writer` and
//! `seq` from the record's, and most of its strings (actor, op, path, outcome, client) repeat
//! from one entry to the next. So a record keeps the writer, the oldest entry's seq, `prev`
//! and time, one table of the distinct strings, and per entry its time step and indices into
//! the table; reading it recomputes every `hash` and `prev`. Nothing is lost: the record is
//! sealed (any change to it fails to open), and the links that tamper evidence rests on
//! (record to record, chain to head) are checked against recomputed hashes, as before.
//!
//! Records are cut at [`RECORD_BYTES`]. sled keeps up to 16 items in a leaf, rewrites a leaf in
//! full every tenth update, and writes a leaf of more than about 128 KiB as a blob file of its
//! own; the audit log's newest leaf is updated by every commit, so its records must stay small
//! (records of 256 full entries, ~100 KiB each, made every write after a burst of reads write
//! 4 to 10 times the bytes, and sync a new blob file every few writes).
//!
//! The encoding is JSON (the rest of the vault's records are), about 45 bytes an entry with a
//! generated request id: about 130 entries a record.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::AuditEntry;
use super::chain::{EntryKey, MAX_BATCH};
use crate::clock::Timestamp;
use crate::error::{Error, Result};

/// Most bytes (about) of one record before sealing; a record holds at least one entry.
pub(crate) const RECORD_BYTES: usize = 6 * 1024;

/// A stored record. Field names are short: they repeat in every record.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Packed {
    /// Format: 2 (1 was a JSON array of whole entries, newest first).
    v: u8,
    /// The writer.
    w: String,
    /// The oldest entry's seq.
    s: u64,
    /// The oldest entry's `prev`.
    p: String,
    /// The oldest entry's time (ms since the epoch).
    t: i64,
    /// The distinct strings the entries name.
    k: Vec<String>,
    /// The entries, oldest first: ms since the previous entry (0 for the oldest), then table
    /// indices of request id (index + 1; 0: none), actor id, actor name, op, path, outcome and
    /// client.
    e: Vec<[u64; 8]>,
}

const FORMAT: u8 = 2;

/// The records `entries` (one writer's, oldest first, consecutive) are stored as: each one's
/// store key and plaintext, newest record first.
pub(crate) fn pack(entries: &[AuditEntry]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut rest = entries;
    while !rest.is_empty() {
        let n = fitting(rest);
        let (chunk, tail) = rest.split_at(n);
        out.push((EntryKey::of(&chunk[n - 1]), encode(chunk)?));
        rest = tail;
    }
    out.reverse();
    Ok(out)
}

/// How many of `entries` fit one record: at least one, at most [`MAX_BATCH`], and no more once
/// the estimate passes [`RECORD_BYTES`].
fn fitting(entries: &[AuditEntry]) -> usize {
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut bytes = 200;
    for (i, e) in entries.iter().take(MAX_BATCH).enumerate() {
        // Eight numbers of a few digits, and each string not in the table yet (JSON-quoted).
        let mut cost = 40;
        for s in strings(e).into_iter().flatten() {
            if seen.insert(s) {
                cost += s.len() + 3;
            }
        }
        bytes += cost;
        if i > 0 && bytes > RECORD_BYTES {
            return i;
        }
    }
    entries.len().min(MAX_BATCH)
}

/// An entry's strings, in the order of [`Packed::e`] after the time step.
fn strings(e: &AuditEntry) -> [Option<&str>; 7] {
    [
        e.request_id.as_deref(),
        Some(&e.actor_id),
        Some(&e.actor_name),
        Some(&e.op),
        Some(&e.path),
        Some(&e.outcome),
        Some(&e.client),
    ]
}

fn encode(chunk: &[AuditEntry]) -> Result<Vec<u8>> {
    let first = &chunk[0];
    let mut index: HashMap<&str, u64> = HashMap::new();
    let mut table: Vec<String> = Vec::new();
    let mut rows = Vec::with_capacity(chunk.len());
    let mut time = first.time.as_millis();
    for e in chunk {
        let mut row = [0u64; 8];
        row[0] = u64::try_from(e.time.as_millis() - time)
            .map_err(|_| Error::Internal("audit entries out of time order".into()))?;
        time = e.time.as_millis();
        for (slot, s) in row[1..].iter_mut().zip(strings(e)) {
            let Some(s) = s else { continue };
            let i = *index.entry(s).or_insert_with(|| {
                table.push(s.to_string());
                table.len() as u64 - 1
            });
            *slot = i;
        }
        // The request id is optional: stored as index + 1, 0 for none.
        if e.request_id.is_some() {
            row[1] += 1;
        }
        rows.push(row);
    }
    let packed = Packed {
        v: FORMAT,
        w: first.writer.clone(),
        s: first.seq,
        p: first.prev.clone(),
        t: first.time.as_millis(),
        k: table,
        e: rows,
    };
    serde_json::to_vec(&packed).map_err(|e| Error::Internal(e.to_string()))
}

/// A record's entries, newest first, each with its `prev` and `hash` recomputed; `integrity`
/// when it is neither format.
pub(crate) fn unpack(plain: &[u8]) -> Result<Vec<AuditEntry>> {
    if plain.first() == Some(&b'[') {
        // Format 1, written before 2: whole entries, newest first.
        return serde_json::from_slice(plain).map_err(|_| Error::Integrity);
    }
    let p: Packed = serde_json::from_slice(plain).map_err(|_| Error::Integrity)?;
    if p.v != FORMAT || p.e.is_empty() || p.e.len() > MAX_BATCH {
        return Err(Error::Integrity);
    }
    let text = |i: u64| -> Result<String> {
        usize::try_from(i)
            .ok()
            .and_then(|i| p.k.get(i))
            .cloned()
            .ok_or(Error::Integrity)
    };
    let mut entries = Vec::with_capacity(p.e.len());
    let (mut time, mut prev) = (p.t, p.p.clone());
    for (n, row) in p.e.iter().enumerate() {
        let step = i64::try_from(row[0]).map_err(|_| Error::Integrity)?;
        time = time.checked_add(step).ok_or(Error::Integrity)?;
        let mut e = AuditEntry {
            seq: p.s.checked_add(n as u64).ok_or(Error::Integrity)?,
            writer: p.w.clone(),
            time: Timestamp::from_millis(time),
            request_id: match row[1] {
                0 => None,
                i => Some(text(i - 1)?),
            },
            actor_id: text(row[2])?,
            actor_name: text(row[3])?,
            op: text(row[4])?,
            path: text(row[5])?,
            outcome: text(row[6])?,
            client: text(row[7])?,
            prev,
            hash: String::new(),
        };
        e.hash = e.compute_hash()?;
        prev = e.hash.clone();
        entries.push(e);
    }
    entries.reverse();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::GENESIS;

    fn entry(seq: u64, prev: &str, request_id: Option<String>, path: &str) -> AuditEntry {
        let mut e = AuditEntry {
            seq,
            writer: "wAbc".into(),
            time: Timestamp::from_millis(1_700_000_000_000 + seq as i64 * 3),
            request_id,
            actor_id: "tok_abcdefghijkl".into(),
            actor_name: "scanner".into(),
            op: "credentials.get".into(),
            path: path.into(),
            outcome: "ok".into(),
            client: "127.0.0.1".into(),
            prev: prev.into(),
            hash: String::new(),
        };
        e.hash = e.compute_hash().expect("hash");
        e
    }

    fn chain(n: u64, path: impl Fn(u64) -> String) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|s| {
                let rid = (s % 3 != 0).then(|| format!("req_{s:016}"));
                let e = entry(s, &prev, rid, &path(s));
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    fn round_trip(entries: &[AuditEntry]) -> Vec<Vec<AuditEntry>> {
        pack(entries)
            .expect("pack")
            .iter()
            .map(|(key, plain)| {
                let got = unpack(plain).expect("unpack");
                assert_eq!(*key, EntryKey::of(&got[0]), "keyed by its newest entry");
                assert!(plain.len() <= RECORD_BYTES + 512, "{} bytes", plain.len());
                got
            })
            .collect()
    }

    #[test]
    fn records_give_back_the_entries_with_their_hashes() {
        let entries = chain(1000, |s| format!("credentials/svc/KEY_{}", s % 7));
        let records = round_trip(&entries);
        assert!(records.len() > 1, "cut by size");
        let mut back: Vec<AuditEntry> = records.into_iter().flatten().collect();
        back.reverse();
        assert_eq!(back, entries);
    }

    #[test]
    fn records_stay_small_when_every_string_differs() {
        let entries = chain(600, |s| {
            format!("credentials/svc/{}", "K".repeat(100 + s as usize % 20))
        });
        let records = round_trip(&entries);
        assert!(records.iter().all(|r| r.len() < 60), "{:?}", records.len());
        assert_eq!(records.iter().map(Vec::len).sum::<usize>(), 600);
    }

    #[test]
    fn an_entry_bigger_than_a_record_gets_one_of_its_own() {
        let entries = chain(3, |_| "p".repeat(8000));
        let packed = pack(&entries).expect("pack");
        assert_eq!(packed.len(), 3);
        assert_eq!(unpack(&packed[0].1).expect("unpack")[0], entries[2]);
    }

    #[test]
    fn format_1_records_are_still_read() {
        let entries = chain(3, |_| "audit".into());
        let mut newest_first = entries.clone();
        newest_first.reverse();
        let plain = serde_json::to_vec(&newest_first).expect("json");
        assert_eq!(unpack(&plain).expect("unpack"), newest_first);
    }

    #[test]
    fn fail_malformed_records_are_integrity() {
        let good = pack(&chain(2, |_| "audit".into()))
            .expect("pack")
            .remove(0)
            .1;
        let text = String::from_utf8(good).expect("utf8");
        for bad in [
            text.replace("\"v\":2", "\"v\":3"),
            text.replace("\"e\":[[0,", "\"e\":[[0,99,"),
            text.replace("\"e\":[[0,1,", "\"e\":[[0,99,"),
            text.replace("\"e\":[[0,", "\"e\":[[18446744073709551615,"),
            text.replace("\"v\":2", "\"v\":2,\"x\":1"),
            "{}".into(),
            "[{}]".into(),
        ] {
            assert!(
                matches!(unpack(bad.as_bytes()), Err(Error::Integrity)),
                "{bad}"
            );
        }
        let empty = text.split("\"e\":").next().unwrap_or("").to_string() + "\"e\":[]}";
        assert!(matches!(unpack(empty.as_bytes()), Err(Error::Integrity)));
    }
}
