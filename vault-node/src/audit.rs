//! The audit log: `NativeVault` methods over [`AuditApi`](vault_core::AuditApi), and the
//! records they return (camelCase in JS, as napi converts the field names).
//!
//! Reading the log needs `read` on `audit`; every query and check is itself audited. `index.js`
//! checks the JS shapes of the query options and turns a `Date` into its RFC 3339 string;
//! `since` / `until` are parsed here by the rule the server applies to its query
//! ([`Timestamp::parse`]), everything else is vault-core's.

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use vault_core::audit::{BadEntry, Problem};
use vault_core::{AuditEntry, AuditFilter, AuditQuery, Error, Timestamp, VerifyReport};

use crate::error::IntoNapi;
use crate::vault::{NativeVault, UnreadableRecord, limit_in, version_out};

/// One entry of the audit log. Never a value, a request body or a token.
#[napi(object)]
pub struct AuditEntryRecord {
    /// Position in its writer's chain, from 1.
    pub seq: i64,
    /// The writer (one opened vault or server) whose chain this entry is in.
    pub writer: String,
    /// When (RFC 3339 UTC, to the millisecond).
    pub time: String,
    /// The HTTP request id; absent for an embedded vault.
    pub request_id: Option<String>,
    /// `root`, `embedded`, a token id, or `anonymous`.
    pub actor_id: String,
    /// The actor's name (empty for `anonymous`).
    pub actor_name: String,
    /// The operation, e.g. `credentials.get`.
    pub op: String,
    /// The resource path, e.g. `credentials/fxshinobi/OANDA_API_KEY`.
    pub path: String,
    /// `ok` or the error code answered.
    pub outcome: String,
    /// The client's address (remote), or `embedded`.
    pub client: String,
    /// The hash of the writer's previous entry.
    pub prev: String,
    /// This entry's hash.
    pub hash: String,
}

impl From<AuditEntry> for AuditEntryRecord {
    fn from(e: AuditEntry) -> Self {
        AuditEntryRecord {
            seq: version_out(e.seq),
            writer: e.writer,
            time: e.time.to_string(),
            request_id: e.request_id,
            actor_id: e.actor_id,
            actor_name: e.actor_name,
            op: e.op,
            path: e.path,
            outcome: e.outcome,
            client: e.client,
            prev: e.prev,
            hash: e.hash,
        }
    }
}

/// One page of audit entries, newest first (`index.js` makes it an array with `next` and
/// `unreadable`).
#[napi(object)]
pub struct AuditPageRecord {
    /// The entries of this page that could be read.
    pub items: Vec<AuditEntryRecord>,
    /// Present when more entries may follow: the `after` of the next page.
    pub next: Option<String>,
    /// Entries of this page that do not open (`name` is the entry's position).
    pub unreadable: Vec<UnreadableRecord>,
}

/// The first entry a verification found bad.
#[napi(object)]
pub struct AuditBadEntryRecord {
    /// Its sequence number (for missing entries: the newest one missing).
    pub seq: i64,
    /// Its writer.
    pub writer: String,
    /// `changed`, `missing` or `reordered`.
    pub problem: String,
    /// Why, in a sentence.
    pub reason: String,
}

impl From<BadEntry> for AuditBadEntryRecord {
    fn from(b: BadEntry) -> Self {
        AuditBadEntryRecord {
            seq: version_out(b.seq),
            writer: b.writer,
            problem: match b.problem {
                Problem::Changed => "changed",
                Problem::Missing => "missing",
                Problem::Reordered => "reordered",
            }
            .to_string(),
            reason: b.reason,
        }
    }
}

/// What a verification found.
#[napi(object)]
pub struct AuditVerifyRecord {
    /// Whether every chain is whole.
    pub valid: bool,
    /// Entries examined.
    pub entries: i64,
    /// The first bad entry; absent when valid.
    pub first_bad: Option<AuditBadEntryRecord>,
}

impl From<VerifyReport> for AuditVerifyRecord {
    fn from(r: VerifyReport) -> Self {
        AuditVerifyRecord {
            valid: r.valid,
            entries: version_out(r.entries),
            first_bad: r.first_bad.map(Into::into),
        }
    }
}

/// The filters and page of an audit query, as `index.js` passes them (`since` / `until` as
/// RFC 3339 strings).
#[napi(object)]
pub struct AuditQueryInput {
    /// Actor id or name, exactly.
    pub actor: Option<String>,
    /// Operation, exactly.
    pub op: Option<String>,
    /// Resource path prefix.
    pub path_prefix: Option<String>,
    /// Outcome code, exactly.
    pub outcome: Option<String>,
    /// Entries at or after this time.
    pub since: Option<String>,
    /// Entries before this time.
    pub until: Option<String>,
    /// Page size.
    pub limit: Option<i64>,
    /// A previous page's `next`.
    pub after: Option<String>,
}

/// An RFC 3339 time of the query; `invalid` naming `field` when it is not one.
fn time_in(field: &str, t: Option<String>) -> vault_core::Result<Option<Timestamp>> {
    t.map(|t| {
        Timestamp::parse(&t).ok_or_else(|| {
            Error::invalid(
                field,
                "must be a Date or an RFC 3339 UTC time such as '2026-11-23T06:00:00Z'",
            )
        })
    })
    .transpose()
}

impl AuditQueryInput {
    fn into_query(self) -> vault_core::Result<AuditQuery> {
        Ok(AuditQuery {
            filter: AuditFilter {
                actor: self.actor,
                op: self.op,
                path_prefix: self.path_prefix,
                outcome: self.outcome,
                since: time_in("since", self.since)?,
                until: time_in("until", self.until)?,
            },
            limit: limit_in(self.limit),
            after: self.after,
        })
    }
}

#[napi]
impl NativeVault {
    /// One page of the audit entries matching the query, newest first.
    #[napi]
    pub async fn query_audit(&self, query: AuditQueryInput) -> Result<AuditPageRecord> {
        let api = self.api()?;
        let query = query.into_query().napi()?;
        let page = api.audit().query(query).await.napi()?;
        Ok(AuditPageRecord {
            items: page.items.into_iter().map(Into::into).collect(),
            next: page.next,
            unreadable: page
                .unreadable
                .into_iter()
                .map(|u| UnreadableRecord {
                    service: None,
                    code: u.error.code().to_string(),
                    message: u.error.to_string(),
                    name: u.name,
                })
                .collect(),
        })
    }

    /// Checks every chain of the audit log.
    #[napi]
    pub async fn verify_audit(&self) -> Result<AuditVerifyRecord> {
        let api = self.api()?;
        Ok(api.audit().verify().await.napi()?.into())
    }
}
