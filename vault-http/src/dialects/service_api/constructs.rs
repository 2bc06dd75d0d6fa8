//! The `/api/vault/constructs` handlers: parse (names checked here, where they enter), call the
//! caller's vault through [`ConstructsApi`], answer with the wire types. Identity files are
//! raw bytes both ways (at most 10 MiB in, that route only); an import body may be as large as
//! an export document.

use axum::Json;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use vault_client::wire::service_api::{
    CapsulePutBody, CapsuleReply, CapsuleWrittenReply, ConstructListReply, ConstructPageQuery,
    ConstructVersionQuery, EntryAppendedReply, ExportReply, FileDeletedReply, FileListReply,
    FilePutQuery, FileWrittenReply, ImportReply, TranscriptQueryParams, TranscriptReply,
    file_headers,
};
use vault_core::constructs::{MAX_EXPORT_BYTES, MAX_FILE_BYTES};
use vault_core::prelude::*;
use vault_core::{ConstructExport, ConstructId, Error, FileName, NewEntry};

use super::{ApiError, Body, CallerVault, Path, Query, ServiceApi};
use crate::server::extract::{ApiPath, ApiQuery, JsonBody, RawBody};

type ApiResult = Result<Response, ApiError>;

/// An import body: as large as an export document may be, plus room for JSON punctuation.
const MAX_IMPORT_BODY: usize = MAX_EXPORT_BYTES + 1024 * 1024;

fn names(id: String, name: String) -> Result<(ConstructId, FileName), Error> {
    Ok((ConstructId::new(id)?, FileName::new(name)?))
}

/// `GET /api/vault/constructs[?limit=&after=]`: ids and counts, never content.
pub async fn list(
    CallerVault(vault): CallerVault,
    ApiQuery(q, ..): Query<ConstructPageQuery>,
) -> ApiResult {
    let page = vault.constructs().list(q.page()).await?;
    Ok(Json(ConstructListReply::from(page)).into_response())
}

/// `GET /api/vault/constructs/{id}[?version=N]`: the capsule.
pub async fn get_capsule(
    CallerVault(vault): CallerVault,
    ApiPath(id, ..): Path<String>,
    ApiQuery(q, ..): Query<ConstructVersionQuery>,
) -> ApiResult {
    let id = ConstructId::new(id)?;
    let c = vault.constructs().get_capsule(&id, q.version).await?;
    Ok(Json(CapsuleReply::from(c)).into_response())
}

/// `PUT /api/vault/constructs/{id}` `{"capsule": {...}, "expected_version"?: N}`.
pub async fn put_capsule(
    CallerVault(vault): CallerVault,
    ApiPath(id, ..): Path<String>,
    JsonBody(body, ..): Body<CapsulePutBody>,
) -> ApiResult {
    let id = ConstructId::new(id)?;
    let w = vault
        .constructs()
        .put_capsule(&id, body.capsule, body.expected_version)
        .await?;
    Ok(Json(CapsuleWrittenReply::from(w)).into_response())
}

/// `GET /api/vault/constructs/{id}/files[?limit=&after=]`: names, versions, hashes, sizes.
pub async fn list_files(
    CallerVault(vault): CallerVault,
    ApiPath(id, ..): Path<String>,
    ApiQuery(q, ..): Query<ConstructPageQuery>,
) -> ApiResult {
    let id = ConstructId::new(id)?;
    let page = vault.constructs().list_files(&id, q.page()).await?;
    Ok(Json(FileListReply::new(id, page)).into_response())
}

/// `PUT /api/vault/constructs/{id}/files/{name}[?expected_version=N]`, the raw bytes as body.
pub async fn put_file(
    CallerVault(vault): CallerVault,
    ApiPath((id, name), ..): Path<(String, String)>,
    ApiQuery(q, ..): Query<FilePutQuery>,
    RawBody(content, ..): RawBody<ServiceApi, MAX_FILE_BYTES>,
) -> ApiResult {
    let (id, name) = names(id, name)?;
    let w = vault
        .constructs()
        .put_file(&id, &name, content.to_vec(), q.expected_version)
        .await?;
    Ok(Json(FileWrittenReply::from(w)).into_response())
}

/// `GET /api/vault/constructs/{id}/files/{name}[?version=N]`: the raw bytes, metadata in the
/// `X-Vault-File-*` headers.
pub async fn get_file(
    CallerVault(vault): CallerVault,
    ApiPath((id, name), ..): Path<(String, String)>,
    ApiQuery(q, ..): Query<ConstructVersionQuery>,
) -> ApiResult {
    let (id, name) = names(id, name)?;
    let f = vault.constructs().get_file(&id, &name, q.version).await?;
    let mut resp = f.content.into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    for (h, v) in file_headers(&f.info) {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(HeaderName::from_static(h), v);
        }
    }
    Ok(resp)
}

/// `DELETE /api/vault/constructs/{id}/files/{name}`: every version.
pub async fn delete_file(
    CallerVault(vault): CallerVault,
    ApiPath((id, name), ..): Path<(String, String)>,
) -> ApiResult {
    let (id, name) = names(id, name)?;
    let d = vault.constructs().delete_file(&id, &name).await?;
    Ok(Json(FileDeletedReply::from(d)).into_response())
}

/// `POST /api/vault/constructs/{id}/transcript` `{"role", "content", "timestamp"?}`.
pub async fn append(
    CallerVault(vault): CallerVault,
    ApiPath(id, ..): Path<String>,
    JsonBody(entry, ..): Body<NewEntry>,
) -> ApiResult {
    let id = ConstructId::new(id)?;
    let a = vault.constructs().append(&id, entry).await?;
    Ok(Json(EntryAppendedReply::from(a)).into_response())
}

/// `GET /api/vault/constructs/{id}/transcript[?limit=&after=&order=newest|oldest]`.
pub async fn transcript(
    CallerVault(vault): CallerVault,
    ApiPath(id, ..): Path<String>,
    ApiQuery(q, ..): Query<TranscriptQueryParams>,
) -> ApiResult {
    let id = ConstructId::new(id)?;
    let page = vault.constructs().transcript(&id, q.into()).await?;
    Ok(Json(TranscriptReply::new(id, page)).into_response())
}

/// `GET /api/vault/constructs/{id}/export`: `{"export": <document>, "success": true}`.
pub async fn export(CallerVault(vault): CallerVault, ApiPath(id, ..): Path<String>) -> ApiResult {
    let id = ConstructId::new(id)?;
    let doc = vault.constructs().export(&id).await?;
    Ok(Json(ExportReply {
        export: doc,
        success: true,
    })
    .into_response())
}

/// `POST /api/vault/constructs/import`, the document as body.
pub async fn import(
    CallerVault(vault): CallerVault,
    JsonBody(doc, ..): JsonBody<ConstructExport, ServiceApi, MAX_IMPORT_BODY>,
) -> ApiResult {
    let r = vault.constructs().import(doc).await?;
    Ok(Json(ImportReply::from(r)).into_response())
}

/// `GET /api/vault/constructs/import`: the capsule of a construct named `import` (the import
/// route's static path takes precedence over `{id}`).
pub async fn get_capsule_of_import(
    vault: CallerVault,
    query: Query<ConstructVersionQuery>,
) -> ApiResult {
    let id = ApiPath("import".to_string(), std::marker::PhantomData);
    get_capsule(vault, id, query).await
}

/// `PUT /api/vault/constructs/import`: the capsule of a construct named `import`.
pub async fn put_capsule_of_import(vault: CallerVault, body: Body<CapsulePutBody>) -> ApiResult {
    let id = ApiPath("import".to_string(), std::marker::PhantomData);
    put_capsule(vault, id, body).await
}
