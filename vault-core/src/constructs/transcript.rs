//! A construct's transcript in the embedded vault: append-only entries, one key each.
//!
//! The head `con/h/<id>/transcript` holds the entry count; entry `n` (from 1) is
//! `con/t/<id>/<n as u64 BE>`, written once. An append writes the next entry and the head in
//! one commit conditioned on the head it read (and on the entry key being free), so two
//! appenders that read the same count cannot both commit: the loser reads again and takes the
//! next number. Nothing grows with the transcript but the number of keys. A page is one
//! ascending scan from a computed key (entries are dense from 1 to the count), reversed for
//! newest-first; an entry missing or out of place inside the count is `integrity`.

use serde::{Deserialize, Serialize};

use super::embedded::{Constructs, busy, create_if_missing};
use super::{
    EntryAppended, MAX_PAGE_CONTENT_BYTES, NewEntry, Order, TranscriptEntry, TranscriptPage,
    TranscriptQuery,
};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::names::ConstructId;
use crate::records::{MAX_ATTEMPTS, decode_json, read_head, seal_json};
use crate::store::{Condition, Write};

/// `con/h/<id>/transcript`.
pub(super) fn transcript_head_key(id: &str) -> Vec<u8> {
    format!("con/h/{id}/transcript").into_bytes()
}

fn entries_prefix(id: &str) -> Vec<u8> {
    format!("con/t/{id}/").into_bytes()
}

fn entry_key(id: &str, seq: u64) -> Vec<u8> {
    let mut k = entries_prefix(id);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// The transcript's head.
#[derive(Serialize, Deserialize)]
pub(super) struct StoredTranscript {
    /// How many entries there are (the last one's number).
    pub(super) count: u64,
    pub(super) created_at: i64,
}

impl Constructs {
    /// The writes that store `entry` (numbered already) of construct `id`.
    pub(super) fn entry_write(&self, id: &str, entry: &TranscriptEntry) -> Result<Write> {
        let key = entry_key(id, entry.seq);
        let sealed = seal_json(self.ctx.barrier(), &key, entry)?;
        Ok(Write::Put(key, sealed))
    }

    pub(super) async fn append_inner(
        &self,
        id: &ConstructId,
        entry: &NewEntry,
    ) -> Result<EntryAppended> {
        entry.check()?;
        let barrier = self.ctx.barrier();
        let head_key = transcript_head_key(id);
        let timestamp = entry.timestamp.unwrap_or_else(|| self.ctx.clock().now());
        for lost in 0..MAX_ATTEMPTS {
            let info = self.info(id).await?;
            let head = read_head::<StoredTranscript>(barrier, &head_key).await?;
            let count = head.as_ref().map_or(0, |h| h.record.count);
            let seq = count + 1;
            let record = StoredTranscript {
                count: seq,
                created_at: head.as_ref().map_or_else(
                    || self.ctx.clock().now().as_millis(),
                    |h| h.record.created_at,
                ),
            };
            let stored = TranscriptEntry {
                seq,
                role: entry.role.clone(),
                content: entry.content.clone(),
                timestamp,
            };
            let mut conditions = vec![
                Condition::unchanged(&head_key, head.as_ref().map(|h| h.raw.as_slice())),
                Condition::Absent(entry_key(id, seq)),
            ];
            let mut writes = vec![
                Write::Put(head_key.clone(), seal_json(barrier, &head_key, &record)?),
                self.entry_write(id, &stored)?,
            ];
            create_if_missing(&self.ctx, id, info.as_ref(), &mut conditions, &mut writes)?;
            if barrier
                .commit_after_losses(conditions, writes, lost)
                .await?
            {
                return Ok(EntryAppended {
                    construct_id: id.clone(),
                    seq,
                    timestamp,
                });
            }
        }
        Err(busy(&format!("the transcript of construct '{id}'")))
    }

    /// How many entries the transcript of `id` has (0 when it has none).
    pub(super) async fn transcript_count(&self, id: &str) -> Result<u64> {
        Ok(
            read_head::<StoredTranscript>(self.ctx.barrier(), &transcript_head_key(id))
                .await?
                .map_or(0, |h| h.record.count),
        )
    }

    /// Entries `lo..=hi` (ascending), each checked to be the entry of its number.
    pub(super) async fn entries(&self, id: &str, lo: u64, hi: u64) -> Result<Vec<TranscriptEntry>> {
        if lo == 0 || lo > hi {
            return Ok(Vec::new());
        }
        let want = usize::try_from(hi - lo + 1).map_err(|_| Error::Internal("page size".into()))?;
        let scanned = self
            .ctx
            .barrier()
            .scan_open(&entries_prefix(id), Some(&entry_key(id, lo - 1)), want)
            .await?;
        if scanned.len() != want {
            tracing::error!(construct = %id, "transcript entries are missing");
            return Err(Error::Integrity);
        }
        let mut out = Vec::with_capacity(want);
        for ((key, plain), seq) in scanned.into_iter().zip(lo..=hi) {
            let entry: TranscriptEntry = decode_json(&plain?)?;
            if key != entry_key(id, seq) || entry.seq != seq {
                return Err(Error::Integrity);
            }
            out.push(entry);
        }
        Ok(out)
    }

    pub(super) async fn transcript_inner(
        &self,
        id: &ConstructId,
        query: &TranscriptQuery,
    ) -> Result<TranscriptPage> {
        let limit = query.checked_limit()? as u64;
        let total = read_head::<StoredTranscript>(self.ctx.barrier(), &transcript_head_key(id))
            .await?
            .map(|h| h.record.count)
            .ok_or_else(|| Error::NotFound(format!("Construct '{id}' has no transcript")))?;
        let (lo, hi) = match query.order {
            Order::Oldest => {
                let lo = query.after.unwrap_or(0).saturating_add(1);
                (lo, total.min(lo.saturating_add(limit - 1)))
            }
            Order::Newest => {
                let hi = query
                    .after
                    .map_or(total, |a| a.saturating_sub(1).min(total));
                (hi.saturating_sub(limit - 1).max(1), hi)
            }
        };
        let mut entries = self.entries(id, lo, hi).await?;
        if query.order == Order::Newest {
            entries.reverse();
        }
        // A page carries at most `MAX_PAGE_CONTENT_BYTES` of content (and at least one entry):
        // past that it ends early, with `next` where it stopped.
        let mut bytes = 0usize;
        let fits = entries
            .iter()
            .take_while(|e| {
                bytes = bytes.saturating_add(e.content.len());
                bytes <= MAX_PAGE_CONTENT_BYTES
            })
            .count()
            .max(1);
        let cut = fits < entries.len();
        entries.truncate(fits);
        let more = match query.order {
            Order::Oldest => hi < total,
            Order::Newest => lo > 1,
        };
        let next = if more || cut {
            entries.last().map(|e| e.seq)
        } else {
            None
        };
        Ok(TranscriptPage {
            entries,
            next,
            total,
        })
    }

    /// The writes of a new transcript of construct `id` holding `entries` (numbered 1 to n)
    /// (for an import), with the condition that it has none.
    pub(super) fn new_transcript_writes(
        &self,
        id: &str,
        entries: &[TranscriptEntry],
        now: Timestamp,
        writes: &mut Vec<Write>,
        conditions: &mut Vec<Condition>,
    ) -> Result<()> {
        let head_key = transcript_head_key(id);
        conditions.push(Condition::Absent(head_key.clone()));
        if entries.is_empty() {
            return Ok(());
        }
        let record = StoredTranscript {
            count: entries.len() as u64,
            created_at: now.as_millis(),
        };
        let barrier = self.ctx.barrier();
        writes.push(Write::Put(
            head_key.clone(),
            seal_json(barrier, &head_key, &record)?,
        ));
        for e in entries {
            writes.push(self.entry_write(id, e)?);
        }
        Ok(())
    }
}
