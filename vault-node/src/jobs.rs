//! Scheduler jobs: `NativeVault` methods over [`JobsApi`](vault_core::JobsApi), and the records
//! they return. `index.js` checks the JS shapes (lease lengths in seconds, fencing tokens as
//! safe integers, times as `Date`s or RFC 3339 strings); names become vault-core names here and
//! every value rule is vault-core's.

use std::time::Duration;

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use vault_core::{
    AccountId, Error, InstanceId, Job, JobClaim, JobCreate, JobId, JobLease, JobRelease,
    PageRequest, Timestamp,
};

use crate::error::IntoNapi;
use crate::vault::{NativeVault, UnreadableRecord, limit_in, uint_in};

/// A scheduler job.
#[napi(object)]
pub struct JobRecord {
    /// The account it belongs to.
    pub account: String,
    /// Its id.
    pub job_id: String,
    /// `pending`, `leased`, `done` or `dead`.
    pub state: String,
    /// When it is next due (RFC 3339).
    pub run_at: String,
    /// Claims it gets before it is dead.
    pub max_attempts: u32,
    /// Claims made since it was created (or last rescheduled after a success).
    pub attempt: u32,
    /// The token of its latest claim (0 before the first).
    pub fencing_token: i64,
    /// The instance holding (or that last held) the lease.
    pub owner: Option<String>,
    /// When the lease ends, while leased (RFC 3339).
    pub lease_expires_at: Option<String>,
    /// `done` or `failed`: the outcome of the last release.
    pub last_outcome: Option<String>,
    /// When it was created (RFC 3339).
    pub created_at: String,
    /// When it last changed (RFC 3339).
    pub updated_at: String,
}

impl From<Job> for JobRecord {
    fn from(j: Job) -> Self {
        JobRecord {
            account: j.account.into_string(),
            job_id: j.job_id.into_string(),
            state: j.state.as_str().to_string(),
            run_at: j.run_at.to_string(),
            max_attempts: j.max_attempts,
            attempt: j.attempt,
            fencing_token: i64::try_from(j.fencing_token).unwrap_or(i64::MAX),
            owner: j.owner.map(InstanceId::into_string),
            lease_expires_at: j.lease_expires_at.map(|t| t.to_string()),
            last_outcome: j.last_outcome.map(|o| o.as_str().to_string()),
            created_at: j.created_at.to_string(),
            updated_at: j.updated_at.to_string(),
        }
    }
}

/// The outcome of a create.
#[napi(object)]
pub struct JobCreatedRecord {
    /// The job as it is now.
    pub job: JobRecord,
    /// False when it existed with the same settings (nothing was written).
    pub created: bool,
}

/// The outcome of a sweep.
#[napi(object)]
pub struct SweepRecord {
    /// Expired leases released (their jobs pending again).
    pub released: i64,
    /// Expired leases of jobs on their last attempt, now dead.
    pub dead: i64,
}

/// One page of jobs (`index.js` makes it an array with `next` and `unreadable`).
#[napi(object)]
pub struct JobPageRecord {
    /// The jobs of this page that could be read, by id.
    pub items: Vec<JobRecord>,
    /// Present when more follow: the `after` of the next page.
    pub next: Option<String>,
    /// The jobs of this page that could not be read (`name` is the job id).
    pub unreadable: Vec<UnreadableRecord>,
}

/// A time from JS (an RFC 3339 string; `index.js` turns a `Date` into one).
fn time_in(field: &str, t: Option<String>) -> vault_core::Result<Option<Timestamp>> {
    t.map(|t| Timestamp::parse(&t).ok_or_else(|| Error::invalid(field, "must be an RFC 3339 time")))
        .transpose()
}

/// A lease length in seconds from JS (`index.js` passes finite non-negative numbers).
fn ttl_in(ttl: Option<f64>) -> vault_core::Result<Option<Duration>> {
    ttl.map(|s| {
        Duration::try_from_secs_f64(s)
            .map_err(|_| Error::invalid("ttl", "must be a number of seconds"))
    })
    .transpose()
}

fn names(account: String, job_id: String) -> vault_core::Result<(AccountId, JobId)> {
    Ok((AccountId::new(account)?, JobId::new(job_id)?))
}

fn lease_in(instance: String, fencing_token: i64) -> vault_core::Result<JobLease> {
    Ok(JobLease {
        instance: InstanceId::new(instance)?,
        fencing_token: fencing_token.unsigned_abs(),
    })
}

#[napi]
impl NativeVault {
    /// Creates a job (create-if-absent).
    #[napi]
    pub async fn create_job(
        &self,
        account: String,
        job_id: String,
        run_at: Option<String>,
        max_attempts: Option<i64>,
    ) -> Result<JobCreatedRecord> {
        let api = self.api()?;
        let (account, job_id) = names(account, job_id).napi()?;
        let create = JobCreate {
            job_id,
            run_at: time_in("runAt", run_at).napi()?,
            max_attempts: uint_in(max_attempts).map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        };
        let c = api.jobs().create(&account, create).await.napi()?;
        Ok(JobCreatedRecord {
            job: c.job.into(),
            created: c.created,
        })
    }

    /// Hands the due jobs of `account` to `instance` under a lease.
    #[napi]
    pub async fn claim_jobs(
        &self,
        account: String,
        instance: String,
        limit: Option<i64>,
        ttl: Option<f64>,
    ) -> Result<Vec<JobRecord>> {
        let api = self.api()?;
        let account = AccountId::new(account).napi()?;
        let claim = JobClaim {
            instance: InstanceId::new(instance).napi()?,
            limit: limit_in(limit),
            ttl: ttl_in(ttl).napi()?,
        };
        let got = api.jobs().claim_due(&account, claim).await.napi()?;
        Ok(got.into_iter().map(Into::into).collect())
    }

    /// Extends a lease.
    #[napi]
    pub async fn renew_job(
        &self,
        account: String,
        job_id: String,
        instance: String,
        fencing_token: i64,
        ttl: Option<f64>,
    ) -> Result<JobRecord> {
        let api = self.api()?;
        let (account, job_id) = names(account, job_id).napi()?;
        let lease = lease_in(instance, fencing_token).napi()?;
        let ttl = ttl_in(ttl).napi()?;
        let j = api
            .jobs()
            .renew(&account, &job_id, lease, ttl)
            .await
            .napi()?;
        Ok(j.into())
    }

    /// Ends a run (`done` or `failed`).
    #[napi]
    pub async fn release_job(
        &self,
        account: String,
        job_id: String,
        instance: String,
        fencing_token: i64,
        outcome: String,
        reschedule_at: Option<String>,
    ) -> Result<JobRecord> {
        let api = self.api()?;
        let (account, job_id) = names(account, job_id).napi()?;
        let release = JobRelease {
            lease: lease_in(instance, fencing_token).napi()?,
            outcome: outcome.parse().napi()?,
            reschedule_at: time_in("rescheduleAt", reschedule_at).napi()?,
        };
        let j = api
            .jobs()
            .release(&account, &job_id, release)
            .await
            .napi()?;
        Ok(j.into())
    }

    /// Releases every expired lease of `account`.
    #[napi]
    pub async fn sweep_jobs(&self, account: String) -> Result<SweepRecord> {
        let api = self.api()?;
        let account = AccountId::new(account).napi()?;
        let r = api.jobs().sweep(&account).await.napi()?;
        Ok(SweepRecord {
            released: i64::try_from(r.released).unwrap_or(i64::MAX),
            dead: i64::try_from(r.dead).unwrap_or(i64::MAX),
        })
    }

    /// One job.
    #[napi]
    pub async fn get_job(&self, account: String, job_id: String) -> Result<JobRecord> {
        let api = self.api()?;
        let (account, job_id) = names(account, job_id).napi()?;
        Ok(api.jobs().get(&account, &job_id).await.napi()?.into())
    }

    /// One page of the jobs of `account`, by id.
    #[napi]
    pub async fn list_jobs(
        &self,
        account: String,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<JobPageRecord> {
        let api = self.api()?;
        let account = AccountId::new(account).napi()?;
        let list = api
            .jobs()
            .list(&account, PageRequest::new(limit_in(limit), after))
            .await
            .napi()?;
        Ok(JobPageRecord {
            items: list.items.into_iter().map(Into::into).collect(),
            next: list.next,
            unreadable: list
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
}
