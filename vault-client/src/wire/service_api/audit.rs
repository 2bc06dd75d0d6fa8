//! The audit routes of the `/api/vault/*` dialect: the query (filters and page), the export
//! format, and the replies. Entries travel as vault-core's [`AuditEntry`], field for field
//! (their JSON is what the chain hashes).

use serde::{Deserialize, Serialize};
use vault_core::audit::BadEntry;
use vault_core::{AuditEntry, AuditFilter, AuditQuery, Page, Timestamp, VerifyReport};

/// `GET` entries, newest first (`?actor=&op=&path_prefix=&outcome=&since=&until=&limit=&after=`).
pub const AUDIT: &str = "/api/vault/audit";
/// `GET` the whole log, newest first (`?format=jsonl|csv`).
pub const AUDIT_EXPORT: &str = "/api/vault/audit/export";
/// `GET` check every chain.
pub const AUDIT_VERIFY: &str = "/api/vault/audit/verify";

/// Query of `GET` [`AUDIT`]. Unknown parameters are refused (a misspelt filter would
/// otherwise widen the answer silently).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQueryParams {
    /// Actor id or name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// Operation, e.g. `credentials.get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// Resource path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
    /// Outcome code (`ok`, `forbidden`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// RFC 3339; entries at or after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// RFC 3339; entries before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    /// Page size (default 100, at most 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// A previous page's `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
}

impl AuditQueryParams {
    /// The parameters of `q`.
    pub fn new(q: &AuditQuery) -> Self {
        let f = &q.filter;
        AuditQueryParams {
            actor: f.actor.clone(),
            op: f.op.clone(),
            path_prefix: f.path_prefix.clone(),
            outcome: f.outcome.clone(),
            since: f.since,
            until: f.until,
            limit: q.limit,
            after: q.after.clone(),
        }
    }

    /// The core query these parameters ask for.
    pub fn into_query(self) -> AuditQuery {
        AuditQuery {
            filter: AuditFilter {
                actor: self.actor,
                op: self.op,
                path_prefix: self.path_prefix,
                outcome: self.outcome,
                since: self.since,
                until: self.until,
            },
            limit: self.limit,
            after: self.after,
        }
    }
}

/// What an export is written as.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// One JSON entry per line (what `vault-http audit verify --file` checks).
    #[default]
    Jsonl,
    /// Comma-separated, with a header row.
    Csv,
}

/// Query of `GET` [`AUDIT_EXPORT`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportParams {
    /// `jsonl` (default) or `csv`.
    #[serde(default)]
    pub format: ExportFormat,
}

/// An entry a query found but could not read.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditUnreadableWire {
    /// The error code reading it gave (`integrity`).
    pub error: String,
    /// Where it is (a cursor).
    pub at: String,
}

/// Body of a successful `GET` [`AUDIT`].
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditListReply {
    /// The entries of this page, newest first.
    pub entries: Vec<AuditEntry>,
    /// Present when more entries may follow: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Always `true`.
    pub success: bool,
    /// Entries of this page that could not be read; present only when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<AuditUnreadableWire>,
}

impl AuditListReply {
    /// The body answering with `page`.
    pub fn new(page: Page<AuditEntry>) -> Self {
        AuditListReply {
            entries: page.items,
            next: page.next,
            success: true,
            unreadable: page
                .unreadable
                .into_iter()
                .map(|u| AuditUnreadableWire {
                    error: u.error.code().to_string(),
                    at: u.name,
                })
                .collect(),
        }
    }

    /// The page this body stands for.
    pub fn into_page(self) -> Page<AuditEntry> {
        Page {
            items: self.entries,
            unreadable: self
                .unreadable
                .into_iter()
                .map(|u| super::unreadable(u.at, &u.error))
                .collect(),
            next: self.next,
            revision: None,
        }
    }
}

/// Body of a successful `GET` [`AUDIT_VERIFY`]: `{"success": true, "valid": true,
/// "entries": N}`, or `valid: false` with the first bad entry.
#[derive(Debug, Serialize, Deserialize)]
pub struct AuditVerifyReply {
    /// Always `true` (the check ran; `valid` is its result).
    pub success: bool,
    /// Whether every chain is whole.
    pub valid: bool,
    /// Entries examined.
    pub entries: u64,
    /// The first bad entry: its `seq`, `writer`, `problem` (`changed`, `missing`,
    /// `reordered`) and `reason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<BadEntry>,
}

impl From<VerifyReport> for AuditVerifyReply {
    fn from(r: VerifyReport) -> Self {
        AuditVerifyReply {
            success: true,
            valid: r.valid,
            entries: r.entries,
            first_bad: r.first_bad,
        }
    }
}

impl From<AuditVerifyReply> for VerifyReport {
    fn from(r: AuditVerifyReply) -> Self {
        VerifyReport {
            valid: r.valid,
            entries: r.entries,
            first_bad: r.first_bad,
        }
    }
}
