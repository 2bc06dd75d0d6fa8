//! Remote scheduler jobs: [`JobsApi`] over `/api/vault/guards/{account}/jobs`. Never cached
//! (a lease is only as good as the server's answer) and never retried (a claim sent twice
//! could hand out jobs twice to this instance). Input that cannot succeed is refused before
//! sending, by vault-core's own checks.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use vault_core::jobs::checked_ttl;
use vault_core::{
    AccountId, Job, JobClaim, JobCreate, JobCreated, JobId, JobLease, JobRelease, JobsApi, Page,
    PageRequest, Result, SweepReport,
};

use crate::transport::Transport;
use crate::wire::service_api::{
    JOB, JOB_RELEASE, JOB_RENEW, JOBS, JOBS_CLAIM, JOBS_SWEEP, JobClaimBody, JobCreateBody,
    JobCreatedReply, JobListReply, JobReleaseBody, JobRenewBody, JobReply, JobsClaimedReply,
    JobsSweptReply, PageQuery, fill_path,
};

/// The scheduler jobs of a remote vault.
pub struct RemoteJobs {
    pub(crate) transport: Arc<Transport>,
}

fn account_path(template: &str, account: &AccountId) -> String {
    fill_path(template, &[("account", account)])
}

fn job_path(template: &str, account: &AccountId, job_id: &JobId) -> String {
    fill_path(template, &[("account", account), ("job_id", job_id)])
}

impl RemoteJobs {
    async fn post<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T> {
        let url = self.transport.url(path, &())?;
        self.transport
            .call_json(Method::POST, url, Some(body))
            .await
    }
}

#[async_trait]
impl JobsApi for RemoteJobs {
    async fn create(&self, account: &AccountId, create: JobCreate) -> Result<JobCreated> {
        create.checked_max_attempts()?;
        let r: JobCreatedReply = self
            .post(
                &account_path(JOBS, account),
                &JobCreateBody::from_create(&create),
            )
            .await?;
        Ok(JobCreated {
            job: r.job.into_job(account),
            created: r.created,
        })
    }

    async fn claim_due(&self, account: &AccountId, claim: JobClaim) -> Result<Vec<Job>> {
        claim.checked_limit()?;
        checked_ttl(claim.ttl)?;
        let r: JobsClaimedReply = self
            .post(
                &account_path(JOBS_CLAIM, account),
                &JobClaimBody::from_claim(&claim),
            )
            .await?;
        Ok(r.jobs.into_iter().map(|j| j.into_job(account)).collect())
    }

    async fn renew(
        &self,
        account: &AccountId,
        job_id: &JobId,
        lease: JobLease,
        ttl: Option<Duration>,
    ) -> Result<Job> {
        checked_ttl(ttl)?;
        let r: JobReply = self
            .post(
                &job_path(JOB_RENEW, account, job_id),
                &JobRenewBody::new(&lease, ttl),
            )
            .await?;
        Ok(r.job.into_job(account))
    }

    async fn release(
        &self,
        account: &AccountId,
        job_id: &JobId,
        release: JobRelease,
    ) -> Result<Job> {
        let r: JobReply = self
            .post(
                &job_path(JOB_RELEASE, account, job_id),
                &JobReleaseBody::from_release(&release),
            )
            .await?;
        Ok(r.job.into_job(account))
    }

    async fn sweep(&self, account: &AccountId) -> Result<SweepReport> {
        let r: JobsSweptReply = self
            .post(&account_path(JOBS_SWEEP, account), &serde_json::json!({}))
            .await?;
        Ok(SweepReport {
            released: r.released,
            dead: r.dead,
        })
    }

    async fn get(&self, account: &AccountId, job_id: &JobId) -> Result<Job> {
        let url = self.transport.url(&job_path(JOB, account, job_id), &())?;
        let r: JobReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.job.into_job(account))
    }

    async fn list(&self, account: &AccountId, page: PageRequest) -> Result<Page<Job>> {
        page.checked_limit()?;
        page.checked_after()?;
        let url = self
            .transport
            .url(&account_path(JOBS, account), &PageQuery::new(&page))?;
        let r: JobListReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into_page())
    }
}
