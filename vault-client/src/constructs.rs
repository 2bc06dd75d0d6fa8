//! Remote constructs: [`ConstructsApi`] over `/api/vault/constructs`. Identity files travel as
//! raw bytes; the rest as JSON. Input vault-core would refuse is refused here before sending,
//! by vault-core's own rules. Nothing is cached.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use vault_core::constructs::check_capsule;
use vault_core::{
    Capsule, CapsuleWritten, ConstructExport, ConstructFile, ConstructId, ConstructSummary,
    ConstructsApi, EntryAppended, FileDeleted, FileInfo, FileName, FileWritten, ImportReport,
    JsonObject, NewEntry, Page, PageRequest, Result, TranscriptPage, TranscriptQuery,
};

use crate::transport::{Transport, error_from_response};
use crate::wire::service_api::{
    CONSTRUCT, CONSTRUCT_EXPORT, CONSTRUCT_FILE, CONSTRUCT_FILES, CONSTRUCT_IMPORT,
    CONSTRUCT_TRANSCRIPT, CONSTRUCTS, CapsulePutBody, CapsuleReply, CapsuleWrittenReply,
    ConstructListReply, ConstructPageQuery, ConstructVersionQuery, EntryAppendedReply, ExportReply,
    FileDeletedReply, FileListReply, FilePutQuery, FileWrittenReply, ImportReply,
    TranscriptQueryParams, TranscriptReply, file_info_from_headers, fill_path,
};

/// The constructs of a remote vault.
pub struct RemoteConstructs {
    pub(crate) transport: Arc<Transport>,
}

fn path(template: &str, id: &ConstructId) -> String {
    fill_path(template, &[("id", id)])
}

fn file_path(id: &ConstructId, name: &FileName) -> String {
    fill_path(CONSTRUCT_FILE, &[("id", id), ("name", name)])
}

#[async_trait]
impl ConstructsApi for RemoteConstructs {
    async fn put_capsule(
        &self,
        id: &ConstructId,
        document: JsonObject,
        expected_version: Option<u64>,
    ) -> Result<CapsuleWritten> {
        check_capsule(&document)?;
        let url = self.transport.url(&path(CONSTRUCT, id), &())?;
        let body = CapsulePutBody {
            capsule: document,
            expected_version,
        };
        let r: CapsuleWrittenReply = self
            .transport
            .call_json(Method::PUT, url, Some(&body))
            .await?;
        Ok(r.into())
    }

    async fn get_capsule(&self, id: &ConstructId, version: Option<u64>) -> Result<Capsule> {
        let url = self
            .transport
            .url(&path(CONSTRUCT, id), &ConstructVersionQuery { version })?;
        let r: CapsuleReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into())
    }

    async fn put_file(
        &self,
        id: &ConstructId,
        name: &FileName,
        content: Vec<u8>,
        expected_version: Option<u64>,
    ) -> Result<FileWritten> {
        vault_core::constructs::check_file_size(content.len())?;
        let url = self
            .transport
            .url(&file_path(id, name), &FilePutQuery { expected_version })?;
        let (status, _, bytes) = self
            .transport
            .send(
                Method::PUT,
                url,
                Some((content, "application/octet-stream")),
                true,
            )
            .await?;
        if !status.is_success() {
            return Err(error_from_response(status, &bytes));
        }
        crate::transport::decode::<FileWrittenReply>(status, &bytes).map(Into::into)
    }

    async fn get_file(
        &self,
        id: &ConstructId,
        name: &FileName,
        version: Option<u64>,
    ) -> Result<ConstructFile> {
        let url = self
            .transport
            .url(&file_path(id, name), &ConstructVersionQuery { version })?;
        let (status, headers, bytes) = self.transport.send(Method::GET, url, None, true).await?;
        if !status.is_success() {
            return Err(error_from_response(status, &bytes));
        }
        let info = file_info_from_headers(id, name, bytes.len(), |h| {
            headers.get(h).and_then(|v| v.to_str().ok())
        })?;
        Ok(ConstructFile {
            info,
            content: bytes.to_vec(),
        })
    }

    async fn delete_file(&self, id: &ConstructId, name: &FileName) -> Result<FileDeleted> {
        let url = self.transport.url(&file_path(id, name), &())?;
        let r: FileDeletedReply = self
            .transport
            .call_json(Method::DELETE, url, None::<&()>)
            .await?;
        Ok(FileDeleted {
            construct_id: r.construct_id,
            name: r.name,
        })
    }

    async fn list_files(&self, id: &ConstructId, page: PageRequest) -> Result<Page<FileInfo>> {
        page.checked_limit()?;
        page.checked_after()?;
        let url = self
            .transport
            .url(&path(CONSTRUCT_FILES, id), &ConstructPageQuery::new(&page))?;
        let r: FileListReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into_page())
    }

    async fn append(&self, id: &ConstructId, entry: NewEntry) -> Result<EntryAppended> {
        entry.check()?;
        let url = self.transport.url(&path(CONSTRUCT_TRANSCRIPT, id), &())?;
        let r: EntryAppendedReply = self
            .transport
            .call_json(Method::POST, url, Some(&entry))
            .await?;
        Ok(r.into())
    }

    async fn transcript(&self, id: &ConstructId, query: TranscriptQuery) -> Result<TranscriptPage> {
        query.checked_limit()?;
        let url = self.transport.url(
            &path(CONSTRUCT_TRANSCRIPT, id),
            &TranscriptQueryParams::from(&query),
        )?;
        let r: TranscriptReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into())
    }

    async fn list(&self, page: PageRequest) -> Result<Page<ConstructSummary>> {
        page.checked_limit()?;
        page.checked_after()?;
        let url = self
            .transport
            .url(CONSTRUCTS, &ConstructPageQuery::new(&page))?;
        let r: ConstructListReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into())
    }

    async fn export(&self, id: &ConstructId) -> Result<ConstructExport> {
        let url = self.transport.url(&path(CONSTRUCT_EXPORT, id), &())?;
        let r: ExportReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.export)
    }

    async fn import(&self, doc: ConstructExport) -> Result<ImportReport> {
        doc.check()?;
        let url = self.transport.url(CONSTRUCT_IMPORT, &())?;
        let r: ImportReply = self
            .transport
            .call_json(Method::POST, url, Some(&doc))
            .await?;
        Ok(r.into())
    }
}
