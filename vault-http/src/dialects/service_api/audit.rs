//! The `/api/vault/audit` handlers: query, export (streamed, newest first) and verify. Who may
//! read the log (`read` on `audit`) is decided in vault-core, which also audits these reads.

use axum::Json;
use axum::body::Body as HttpBody;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use vault_client::wire::service_api::{
    AuditListReply, AuditQueryParams, AuditVerifyReply, ExportFormat, ExportParams,
};
use vault_core::audit::AuditExport;
use vault_core::prelude::*;
use vault_core::{AuditEntry, Error};

use super::{ApiError, CallerVault, Query};
use crate::server::extract::ApiQuery;

type ApiResult = Result<Response, ApiError>;

/// `GET /api/vault/audit?actor=&op=&path_prefix=&outcome=&since=&until=&limit=&after=`: one
/// page of entries, newest first.
pub async fn query(
    CallerVault(vault): CallerVault,
    ApiQuery(q, ..): Query<AuditQueryParams>,
) -> ApiResult {
    let page = vault.audit().query(q.into_query()).await?;
    Ok(Json(AuditListReply::new(page)).into_response())
}

/// `GET /api/vault/audit/verify`: every chain checked.
pub async fn verify(CallerVault(vault): CallerVault) -> ApiResult {
    let report = vault.audit().verify().await?;
    Ok(Json(AuditVerifyReply::from(report)).into_response())
}

/// The CSV columns, in the entry's order.
const CSV_HEADER: [&str; 12] = [
    "seq",
    "writer",
    "time",
    "request_id",
    "actor_id",
    "actor_name",
    "op",
    "path",
    "outcome",
    "client",
    "prev",
    "hash",
];

/// A cell a spreadsheet will not read as a formula: one starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return gets a leading `'` (OWASP's advice on CSV injection). Only client
/// chosen text (a token's name, a request id) can start so.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// One batch of entries in `format`, with the CSV header first when `header`.
fn render(format: ExportFormat, entries: &[AuditEntry], header: bool) -> Result<Vec<u8>, Error> {
    let internal = |e: &dyn std::fmt::Display| Error::Internal(format!("export: {e}"));
    match format {
        ExportFormat::Jsonl => {
            let mut out = Vec::new();
            for e in entries {
                out.extend_from_slice(e.to_json_line()?.as_bytes());
                out.push(b'\n');
            }
            Ok(out)
        }
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            if header {
                w.write_record(CSV_HEADER).map_err(|e| internal(&e))?;
            }
            for e in entries {
                let seq = e.seq.to_string();
                let time = e.time.to_string();
                w.write_record(
                    [
                        seq.as_str(),
                        &e.writer,
                        &time,
                        e.request_id.as_deref().unwrap_or(""),
                        &e.actor_id,
                        &e.actor_name,
                        &e.op,
                        &e.path,
                        &e.outcome,
                        &e.client,
                        &e.prev,
                        &e.hash,
                    ]
                    .map(|c| inert(c).into_owned()),
                )
                .map_err(|e| internal(&e))?;
            }
            w.into_inner().map_err(|e| internal(&e))
        }
    }
}

/// `GET /api/vault/audit/export?format=jsonl|csv`: the whole log, newest first, streamed in
/// batches. The access is checked (and audited) before the first byte; an entry that cannot
/// be read later cuts the stream short (the client sees an incomplete body, and an offline
/// check of the file reports the chains' oldest entries missing).
pub async fn export(
    CallerVault(vault): CallerVault,
    ApiQuery(q, ..): Query<ExportParams>,
) -> ApiResult {
    let export = vault.audit().export().await?;
    let format = q.format;
    let stream = futures_util::stream::try_unfold(
        (export, true),
        move |(mut export, first): (AuditExport, bool)| async move {
            let batch = export.next_batch().await?;
            if batch.is_empty() {
                return Ok::<_, Error>(None);
            }
            let bytes = render(format, &batch, first)?;
            Ok(Some((bytes, (export, false))))
        },
    );
    let (content_type, file) = match format {
        ExportFormat::Jsonl => ("application/x-ndjson", "audit.jsonl"),
        ExportFormat::Csv => ("text/csv; charset=utf-8", "audit.csv"),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        HttpBody::from_stream(stream),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_a_header_quotes_what_needs_quoting_and_defuses_formulas() {
        let e = AuditEntry {
            seq: 1,
            writer: "w1".into(),
            time: vault_core::Timestamp::from_millis(0),
            request_id: None,
            actor_id: "tok_1".into(),
            actor_name: "-1+1,b".into(),
            op: "credentials.get".into(),
            path: "credentials/s/K".into(),
            outcome: "ok".into(),
            client: "127.0.0.1".into(),
            prev: "p".into(),
            hash: "h".into(),
        };
        let text =
            String::from_utf8(render(ExportFormat::Csv, &[e], true).expect("csv")).expect("utf-8");
        assert_eq!(
            text,
            "seq,writer,time,request_id,actor_id,actor_name,op,path,outcome,client,prev,hash\n\
             1,w1,1970-01-01T00:00:00.000Z,,tok_1,\"'-1+1,b\",credentials.get,credentials/s/K,ok,127.0.0.1,p,h\n"
        );
    }
}
