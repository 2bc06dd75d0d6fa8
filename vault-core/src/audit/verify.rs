//! Chain verification, shared by the vault's own check and the offline check of an export.
//!
//! Entries are read newest first per writer (the order of the log and of its export; the
//! chains of different writers interleave by commit). Each must match its hash and be exactly
//! what the newer entry of its writer points at (`prev`, and the seq just below). A writer's chain must run down to seq 1 with
//! [`GENESIS`](super::GENESIS) as `prev`; in the vault, it must also start at the writer's
//! recorded head.

use std::collections::HashMap;
use std::io::{BufRead, Read as _};

use serde::{Deserialize, Serialize};

use super::chain::Head;
use super::{AuditEntry, GENESIS};
use crate::error::Result;

/// What is wrong with the first bad entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Problem {
    /// An entry does not match its hash, or is not the entry its successor points at.
    Changed,
    /// Entries of a chain are not there.
    Missing,
    /// Entries are not in the log's order.
    Reordered,
}

/// The first entry found bad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadEntry {
    /// Its sequence number (for missing entries: the newest one missing).
    pub seq: u64,
    /// Its writer.
    pub writer: String,
    /// Its line in an export file (from 1), when checking one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// What is wrong.
    pub problem: Problem,
    /// Why, in a sentence.
    pub reason: String,
}

/// The outcome of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyReport {
    /// Whether every chain is whole.
    pub valid: bool,
    /// Entries examined.
    pub entries: u64,
    /// The first bad entry, when not valid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<BadEntry>,
}

/// What the next (older) entry of a writer must be.
struct Expect {
    seq: u64,
    prev: String,
    /// The line of the entry that set this (for a missing-entries report).
    line: Option<u64>,
    /// Set from the writer's head, not from an entry.
    from_head: bool,
}

/// Checks entries fed newest first; see the module doc.
#[derive(Default)]
pub(crate) struct Verifier {
    chains: HashMap<String, Expect>,
    /// Whether writers' heads were given (the vault's check): an entry of a writer without
    /// one is then out of any chain.
    heads_known: bool,
    /// Each writer's head seq when it was read.
    heads: HashMap<String, u64>,
    entries: u64,
    bad: Option<BadEntry>,
    /// Entries found missing, held for one entry: when the next entry is the one missing,
    /// the two were swapped (reordered), not lost.
    suspect: Option<BadEntry>,
}

impl Verifier {
    /// A verifier for the vault's own log, whose writers' heads are `heads`.
    pub(crate) fn with_heads(heads: Vec<(String, Head)>) -> Verifier {
        let mut v = Verifier {
            heads_known: true,
            ..Verifier::default()
        };
        for (writer, h) in heads {
            v.add_head(writer, h);
        }
        v
    }

    /// Whether `writer`'s chain has been started (from its head or an entry).
    pub(crate) fn knows(&self, writer: &str) -> bool {
        self.chains.contains_key(writer)
    }

    /// Adds the head of a writer met only while scanning (a writer that started after the
    /// heads were read).
    pub(crate) fn add_head(&mut self, writer: String, h: Head) {
        self.heads.insert(writer.clone(), h.seq);
        self.chains.insert(
            writer,
            Expect {
                seq: h.seq,
                prev: h.hash,
                line: None,
                from_head: true,
            },
        );
    }

    /// Whether `e` was appended after its writer's head was read (the log grows while it is
    /// checked): such entries are left for the next check. They sort before the writer's
    /// older entries (a writer's times never go back), and cannot be forged (each entry is
    /// sealed under its own key), so skipping them hides nothing.
    pub(crate) fn appended_since(&self, e: &AuditEntry) -> bool {
        self.heads.get(&e.writer).is_some_and(|&seq| e.seq > seq)
    }

    pub(crate) fn is_bad(&self) -> bool {
        self.bad.is_some()
    }

    fn fail(
        &mut self,
        seq: u64,
        writer: &str,
        line: Option<u64>,
        problem: Problem,
        reason: String,
    ) {
        if self.bad.is_none() {
            self.bad = Some(BadEntry {
                seq,
                writer: writer.to_string(),
                line,
                problem,
                reason,
            });
        }
    }

    /// A problem of a writer's chain as a whole (its head, or the chain, gone or damaged).
    pub(crate) fn chain_problem(&mut self, writer: &str, problem: Problem, why: String) {
        self.fail(0, writer, None, problem, why);
    }

    /// An entry that could not be read at all (does not open, or is not an entry).
    pub(crate) fn unreadable(&mut self, seq: u64, writer: &str, line: Option<u64>, why: &str) {
        self.entries += 1;
        self.fail(seq, writer, line, Problem::Changed, why.to_string());
    }

    /// The next entry, newest first.
    pub(crate) fn push(&mut self, e: &AuditEntry, line: Option<u64>) -> Result<()> {
        self.entries += 1;
        if let Some(s) = self.suspect.take() {
            let swapped = s.writer == e.writer && s.seq == e.seq;
            if swapped {
                let reason = format!(
                    "entry {} of writer {} comes after an older entry of that writer: entries \
                     were swapped",
                    e.seq, e.writer
                );
                self.fail(e.seq, &s.writer, s.line, Problem::Reordered, reason);
            } else {
                self.bad = Some(s);
            }
        }
        if self.bad.is_some() {
            return Ok(());
        }
        let w = e.writer.as_str();
        if e.seq == 0 {
            self.fail(
                0,
                w,
                line,
                Problem::Changed,
                "an entry has seq 0: chains start at 1".into(),
            );
            return Ok(());
        }
        if e.compute_hash()? != e.hash {
            self.fail(
                e.seq,
                w,
                line,
                Problem::Changed,
                format!(
                    "entry {} of writer {w} does not match its hash: it was changed",
                    e.seq
                ),
            );
            return Ok(());
        }
        match self.chains.get(w) {
            Some(exp) if e.seq == exp.seq && e.hash == exp.prev => {}
            Some(exp) if e.seq < exp.seq => {
                let what = if exp.from_head {
                    "the newest entries"
                } else {
                    "entries"
                };
                let reason = format!(
                    "{what} {}..={} of writer {w} are missing",
                    e.seq + 1,
                    exp.seq
                );
                self.suspect = Some(BadEntry {
                    seq: exp.seq,
                    writer: w.to_string(),
                    line,
                    problem: Problem::Missing,
                    reason,
                });
                return Ok(());
            }
            Some(exp) if e.seq == exp.seq => {
                let reason = format!(
                    "entry {} of writer {w} is not the one the next entry points at: it was replaced",
                    e.seq
                );
                self.fail(e.seq, w, line, Problem::Changed, reason);
                return Ok(());
            }
            Some(exp) => {
                let (problem, reason) = if exp.from_head {
                    (
                        Problem::Changed,
                        format!(
                            "entry {} of writer {w} is beyond the writer's recorded head ({})",
                            e.seq, exp.seq
                        ),
                    )
                } else {
                    (
                        Problem::Reordered,
                        format!(
                            "entry {} of writer {w} comes after entry {} of that writer",
                            e.seq,
                            exp.seq + 1
                        ),
                    )
                };
                self.fail(e.seq, w, line, problem, reason);
                return Ok(());
            }
            None if self.heads_known => {
                let reason =
                    format!("writer {w} has entries but no recorded head: its head is missing");
                self.fail(e.seq, w, line, Problem::Missing, reason);
                return Ok(());
            }
            None => {}
        }
        self.chains.insert(
            e.writer.clone(),
            Expect {
                seq: e.seq - 1,
                prev: e.prev.clone(),
                line,
                from_head: false,
            },
        );
        Ok(())
    }

    /// The report, once every entry was pushed: each chain must have reached its first entry.
    pub(crate) fn finish(mut self) -> VerifyReport {
        if let Some(s) = self.suspect.take()
            && self.bad.is_none()
        {
            self.bad = Some(s);
        }
        let mut open: Vec<(String, Expect)> = self.chains.drain().collect();
        open.sort_by(|a, b| a.0.cmp(&b.0));
        for (w, exp) in open {
            if exp.seq > 0 {
                let reason = if exp.from_head {
                    format!(
                        "writer {w}'s head records {} entries but none are there",
                        exp.seq
                    )
                } else {
                    format!(
                        "the oldest entries 1..={} of writer {w} are missing",
                        exp.seq
                    )
                };
                self.fail(exp.seq, &w, exp.line, Problem::Missing, reason);
            } else if exp.prev != GENESIS {
                let reason =
                    format!("entry 1 of writer {w} does not start a chain: it was changed");
                self.fail(1, &w, exp.line, Problem::Changed, reason);
            }
        }
        VerifyReport {
            valid: self.bad.is_none(),
            entries: self.entries,
            first_bad: self.bad,
        }
    }
}

/// Checks a JSON Lines export (newest first, as `GET /api/vault/audit/export` writes it)
/// offline: the same checks as the vault's own, except that an export has no heads, so the
/// newest entries of a writer cut from the top of the file go unnoticed (compare the newest
/// hash with the vault's). A bad entry is named by its line (from 1).
pub fn verify_jsonl(mut reader: impl BufRead) -> Result<VerifyReport> {
    let mut v = Verifier::default();
    let mut buf = Vec::new();
    let mut n = 0u64;
    loop {
        buf.clear();
        n += 1;
        // One line at most MAX_LINE bytes is read into memory (an entry is well under 1 KiB).
        let read = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut buf)
            .map_err(|e| crate::Error::invalid("file", format!("could not be read: {e}")))?;
        if read == 0 {
            break;
        }
        if buf.len() > MAX_LINE {
            v.unreadable(0, "", Some(n), "the line is longer than any audit entry");
            break;
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<AuditEntry>(line) {
            Ok(e) => v.push(&e, Some(n))?,
            Err(_) => v.unreadable(0, "", Some(n), "the line is not an audit entry"),
        }
        if v.is_bad() {
            break;
        }
    }
    if v.entries == 0 {
        v.chain_problem(
            "",
            Problem::Missing,
            "the file holds no audit entries".into(),
        );
    }
    Ok(v.finish())
}

/// Longest line an export can hold (an entry is well under 1 KiB).
const MAX_LINE: usize = 64 * 1024;
