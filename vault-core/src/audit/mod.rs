//! The tamper-evident audit log: one entry per operation on every surface (allowed or denied,
//! read or write, token management, failed authentications), in hash chains.
//!
//! - **What an entry holds**: sequence (per writer), writer, time, request id, actor (token id
//!   and name, never the token), operation, resource path, outcome code, client address (or
//!   `embedded`), the previous entry's hash and its own. Never a value, never a request body.
//! - **Chains**: each writer (one opened vault) has its own chain (`seq` from 1, `prev` of the
//!   first entry is [`GENESIS`]). A vault makes one commit at a time: its concurrent commits
//!   are grouped into one store commit (see the barrier's group commit), whose entries extend
//!   its chain, so commits never race on a head, and two servers on one database never wait on
//!   one global lock. A writer's head (`audit/h/<writer>`: last seq and hash) is a
//!   ledger-tracked record, so a chain cut short and its head rolled back is caught; every
//!   writer is listed in a ledger-tracked registry (`audit/i/writers`) in its first commit, so
//!   a whole chain removed is caught too.
//! - **Storage**: the entries one commit carries are compact sealed records of at most about
//!   6 KiB (see [`record`]), each under the key of its newest entry.
//! - **Durability**: a write's entry is in the same store commit as the write. Every other
//!   entry (reads, denials, failures) is queued and committed with the next write, or by the
//!   vault's flusher within [`FLUSH_EVERY`], or at [`Vault::close`](crate::Vault::close) /
//!   [`Vault::flush`](crate::Vault::flush). A
//!   kill -9 can lose exactly the queued entries: those of operations that were not writes,
//!   made in the last [`FLUSH_EVERY`] before it and after the last write's commit. A loss is a
//!   cut of the chain's newest end, so the chain still verifies.
//! - **Fails closed**: an entry that cannot be written fails its write (same commit); a queued
//!   batch that cannot be written fails the vault closed (every later operation refused).
//! - **Hash**: SHA-256 over the entry's JSON without `hash` (fields in the order of
//!   [`AuditEntry`]), as lowercase hex. An export can be checked offline ([`verify_jsonl`]).

pub(crate) mod chain;
mod embedded;
pub(crate) mod record;
mod verify;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use embedded::{Audit, AuditExport};
pub use verify::{BadEntry, Problem, VerifyReport, verify_jsonl};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::page::Page;

/// The `prev` of a chain's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Longest time an entry of an operation that was not a write waits before it is committed.
pub const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_millis(100);
/// Default page size of a query.
pub const QUERY_DEFAULT_LIMIT: usize = 100;
/// Largest page size of a query.
pub const QUERY_MAX_LIMIT: usize = 1000;
/// Entries a query examines for one page at most: a page of a selective filter can be short
/// (or empty) with `next` set; follow it.
pub const QUERY_SCAN_BUDGET: usize = 10_000;

/// One audit entry. The field order is the hash's: see the module doc.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    /// Position in its writer's chain, from 1.
    pub seq: u64,
    /// The writer (one opened vault) whose chain this is.
    pub writer: String,
    /// When (never earlier than the writer's previous entry).
    pub time: Timestamp,
    /// The request id (HTTP: `X-Request-Id` or one the server made); `None` in-process.
    pub request_id: Option<String>,
    /// Who: `root`, `embedded`, a token id, or `anonymous` (a failed authentication with no
    /// known token).
    pub actor_id: String,
    /// The actor's name (a token's name; `root`, `embedded`, or empty).
    pub actor_name: String,
    /// The operation, e.g. `credentials.get`, `auth`.
    pub op: String,
    /// The resource path, e.g. `credentials/fxshinobi/OANDA_API_KEY`.
    pub path: String,
    /// `ok`, or the error code the operation answered (`forbidden`, `not_found`, ...).
    pub outcome: String,
    /// The client's address (HTTP), or `embedded`.
    pub client: String,
    /// The hash of the writer's previous entry ([`GENESIS`] for its first).
    pub prev: String,
    /// This entry's hash.
    pub hash: String,
}

/// The hashed part of an entry: every field but `hash`, in order.
#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    writer: &'a str,
    time: Timestamp,
    request_id: Option<&'a str>,
    actor_id: &'a str,
    actor_name: &'a str,
    op: &'a str,
    path: &'a str,
    outcome: &'a str,
    client: &'a str,
    prev: &'a str,
}

impl AuditEntry {
    /// What this entry's `hash` must be.
    pub fn compute_hash(&self) -> Result<String> {
        let hashed = Hashed {
            seq: self.seq,
            writer: &self.writer,
            time: self.time,
            request_id: self.request_id.as_deref(),
            actor_id: &self.actor_id,
            actor_name: &self.actor_name,
            op: &self.op,
            path: &self.path,
            outcome: &self.outcome,
            client: &self.client,
            prev: &self.prev,
        };
        let json = serde_json::to_vec(&hashed).map_err(|e| Error::Internal(e.to_string()))?;
        crate::crypto::sha256_hex(&json)
    }

    /// The entry as one line of a JSON Lines export (no newline).
    pub fn to_json_line(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| Error::Internal(e.to_string()))
    }
}

/// Which entries a query returns; every field set narrows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Actor id or name, exactly.
    pub actor: Option<String>,
    /// Operation, exactly (`credentials.get`).
    pub op: Option<String>,
    /// Resource paths starting with this.
    pub path_prefix: Option<String>,
    /// Outcome code, exactly (`ok`, `forbidden`, ...).
    pub outcome: Option<String>,
    /// Entries at or after this time.
    pub since: Option<Timestamp>,
    /// Entries before this time.
    pub until: Option<Timestamp>,
}

/// A query: a filter and a page (newest first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Which entries.
    pub filter: AuditFilter,
    /// Page size (default [`QUERY_DEFAULT_LIMIT`], at most [`QUERY_MAX_LIMIT`]).
    pub limit: Option<usize>,
    /// The previous page's `next`.
    pub after: Option<String>,
}

impl AuditQuery {
    /// The page size; `invalid` (field `limit`) outside 1 to [`QUERY_MAX_LIMIT`].
    pub fn checked_limit(&self) -> Result<usize> {
        let limit = self.limit.unwrap_or(QUERY_DEFAULT_LIMIT);
        if limit == 0 || limit > QUERY_MAX_LIMIT {
            return Err(Error::invalid(
                "limit",
                format!("must be 1 to {QUERY_MAX_LIMIT}"),
            ));
        }
        Ok(limit)
    }

    /// `invalid` naming the field when a filter is longer than any stored value can be.
    pub fn check(&self) -> Result<()> {
        self.checked_limit()?;
        let f = &self.filter;
        for (field, value) in [
            ("actor", &f.actor),
            ("op", &f.op),
            ("path_prefix", &f.path_prefix),
            ("outcome", &f.outcome),
        ] {
            match value {
                Some(v) if v.is_empty() => {
                    return Err(Error::invalid(field, "must not be empty (leave it out)"));
                }
                Some(v) if v.len() > 1024 => {
                    return Err(Error::invalid(field, "must be at most 1024 bytes"));
                }
                _ => {}
            }
        }
        if let (Some(since), Some(until)) = (f.since, f.until)
            && since > until
        {
            return Err(Error::invalid("since", "must not be after until"));
        }
        if let Some(after) = &self.after {
            chain::EntryKey::parse_cursor(after)?;
        }
        Ok(())
    }
}

impl AuditFilter {
    /// Whether `e` passes every field set (time is handled by the scan's range).
    pub(crate) fn matches(&self, e: &AuditEntry) -> bool {
        self.actor
            .as_ref()
            .is_none_or(|a| *a == e.actor_id || *a == e.actor_name)
            && self.op.as_ref().is_none_or(|o| *o == e.op)
            && self
                .path_prefix
                .as_ref()
                .is_none_or(|p| e.path.starts_with(p.as_str()))
            && self.outcome.as_ref().is_none_or(|o| *o == e.outcome)
            && self.since.is_none_or(|s| e.time >= s)
            && self.until.is_none_or(|u| e.time < u)
    }
}

/// The audit log, embedded or remote. Needs `read` on `audit`.
#[async_trait]
pub trait AuditApi: Send + Sync {
    /// Entries matching `query.filter`, newest first, one page.
    async fn query(&self, query: AuditQuery) -> Result<Page<AuditEntry>>;

    /// Checks every chain: each entry matches its hash, follows its predecessor, and each
    /// chain runs from its first entry to its writer's recorded head.
    async fn verify(&self) -> Result<VerifyReport>;
}
