//! The scheduler jobs routes of the `/api/vault/*` dialect (`/api/vault/guards/{account}/jobs`):
//! paths, request bodies (unknown fields are `invalid`), and replies. Lease lengths travel as
//! whole seconds (`ttl_s`), times as RFC 3339 strings.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use vault_core::jobs::checked_ttl;
use vault_core::{
    AccountId, Error, InstanceId, Job, JobClaim, JobCreate, JobCreated, JobId, JobLease,
    JobOutcome, JobRelease, JobState, Page, Result, SweepReport, Timestamp,
};

/// `POST` create a job, `GET` list the account's jobs (`?limit=&after=`).
pub const JOBS: &str = "/api/vault/guards/{account}/jobs";
/// `POST` claim due jobs.
pub const JOBS_CLAIM: &str = "/api/vault/guards/{account}/jobs/claim";
/// `POST` release every expired lease of the account.
pub const JOBS_SWEEP: &str = "/api/vault/guards/{account}/jobs/sweep";
/// `GET` one job.
pub const JOB: &str = "/api/vault/guards/{account}/jobs/{job_id}";
/// `POST` extend a lease.
pub const JOB_RENEW: &str = "/api/vault/guards/{account}/jobs/{job_id}/renew";
/// `POST` end a run.
pub const JOB_RELEASE: &str = "/api/vault/guards/{account}/jobs/{job_id}/release";

/// A lease length in whole seconds as the core's duration: `invalid` naming `ttl_s` outside
/// the core's bounds (the wire's name for the core's `ttl`).
fn ttl(ttl_s: Option<u64>) -> Result<Option<Duration>> {
    let Some(s) = ttl_s else { return Ok(None) };
    let d = Duration::from_secs(s);
    checked_ttl(Some(d)).map_err(|e| match e {
        Error::Invalid { reason, .. } => Error::invalid("ttl_s", reason),
        other => other,
    })?;
    Ok(Some(d))
}

fn secs(d: Option<Duration>) -> Option<u64> {
    // Sub-second lease lengths are below the core's minimum anyway.
    d.map(|d| d.as_secs())
}

// ---- requests ----

/// Body of `POST` [`JOBS`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobCreateBody {
    /// The job's id.
    pub job_id: String,
    /// When it is first due (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_at: Option<Timestamp>,
    /// Claims before it is `dead` (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
}

impl JobCreateBody {
    /// The body of `create`.
    pub fn from_create(create: &JobCreate) -> Self {
        JobCreateBody {
            job_id: create.job_id.to_string(),
            run_at: create.run_at,
            max_attempts: create.max_attempts,
        }
    }

    /// The core request (the job id checked here; the rest by vault-core).
    pub fn into_create(self) -> Result<JobCreate> {
        Ok(JobCreate {
            job_id: JobId::new(self.job_id)?,
            run_at: self.run_at,
            max_attempts: self.max_attempts,
        })
    }
}

/// Body of `POST` [`JOBS_CLAIM`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobClaimBody {
    /// Who claims.
    pub instance: String,
    /// Most jobs to hand out (1 to 100; default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// Lease length in seconds (1 to 3600; default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_s: Option<u64>,
}

impl JobClaimBody {
    /// The body of `claim`.
    pub fn from_claim(claim: &JobClaim) -> Self {
        JobClaimBody {
            instance: claim.instance.to_string(),
            limit: claim.limit,
            ttl_s: secs(claim.ttl),
        }
    }

    /// The core request (instance and `ttl_s` checked here; the limit by vault-core).
    pub fn into_claim(self) -> Result<JobClaim> {
        Ok(JobClaim {
            instance: InstanceId::new(self.instance)?,
            limit: self.limit,
            ttl: ttl(self.ttl_s)?,
        })
    }
}

/// Body of `POST` [`JOB_RENEW`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRenewBody {
    /// The lease holder.
    pub instance: String,
    /// The token its claim gave.
    pub fencing_token: u64,
    /// New lease length in seconds from now (1 to 3600; default 60).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_s: Option<u64>,
}

impl JobRenewBody {
    /// The body of a renew of `lease` for `ttl`.
    pub fn new(lease: &JobLease, ttl: Option<Duration>) -> Self {
        JobRenewBody {
            instance: lease.instance.to_string(),
            fencing_token: lease.fencing_token,
            ttl_s: secs(ttl),
        }
    }

    /// The lease and lease length this body stands for.
    pub fn into_renew(self) -> Result<(JobLease, Option<Duration>)> {
        Ok((
            JobLease {
                instance: InstanceId::new(self.instance)?,
                fencing_token: self.fencing_token,
            },
            ttl(self.ttl_s)?,
        ))
    }
}

/// Body of `POST` [`JOB_RELEASE`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobReleaseBody {
    /// The lease holder.
    pub instance: String,
    /// The token its claim gave.
    pub fencing_token: u64,
    /// `done` or `failed`.
    pub outcome: String,
    /// When to run the job again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reschedule_at: Option<Timestamp>,
}

impl JobReleaseBody {
    /// The body of `release`.
    pub fn from_release(release: &JobRelease) -> Self {
        JobReleaseBody {
            instance: release.lease.instance.to_string(),
            fencing_token: release.lease.fencing_token,
            outcome: release.outcome.as_str().to_string(),
            reschedule_at: release.reschedule_at,
        }
    }

    /// The core request (`invalid` naming `instance` or `outcome`).
    pub fn into_release(self) -> Result<JobRelease> {
        Ok(JobRelease {
            lease: JobLease {
                instance: InstanceId::new(self.instance)?,
                fencing_token: self.fencing_token,
            },
            outcome: self.outcome.parse()?,
            reschedule_at: self.reschedule_at,
        })
    }
}

// ---- replies ----

/// A job on the wire (fields in alphabetical order, as every object of this dialect).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct JobWire {
    /// Claims made since it was created (or last rescheduled after a success).
    pub attempt: u32,
    /// When it was created.
    pub created_at: Timestamp,
    /// The token of its latest claim (0 before the first).
    pub fencing_token: u64,
    /// Its id.
    pub job_id: JobId,
    /// The outcome of the last release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<JobOutcome>,
    /// When the lease ends, while leased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<Timestamp>,
    /// Claims before it is `dead`.
    pub max_attempts: u32,
    /// The instance holding (or that last held) the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<InstanceId>,
    /// When it is next due.
    pub run_at: Timestamp,
    /// `pending`, `leased`, `done` or `dead`.
    pub state: JobState,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl From<Job> for JobWire {
    fn from(j: Job) -> Self {
        JobWire {
            attempt: j.attempt,
            created_at: j.created_at,
            fencing_token: j.fencing_token,
            job_id: j.job_id,
            last_outcome: j.last_outcome,
            lease_expires_at: j.lease_expires_at,
            max_attempts: j.max_attempts,
            owner: j.owner,
            run_at: j.run_at,
            state: j.state,
            updated_at: j.updated_at,
        }
    }
}

impl JobWire {
    /// The job of `account` this stands for.
    pub fn into_job(self, account: &AccountId) -> Job {
        Job {
            account: account.clone(),
            job_id: self.job_id,
            state: self.state,
            run_at: self.run_at,
            max_attempts: self.max_attempts,
            attempt: self.attempt,
            fencing_token: self.fencing_token,
            owner: self.owner,
            lease_expires_at: self.lease_expires_at,
            last_outcome: self.last_outcome,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

/// Body of a successful `POST` [`JOBS`] (201 when created, 200 when it existed).
#[derive(Debug, Serialize, Deserialize)]
pub struct JobCreatedReply {
    /// The account.
    pub account: AccountId,
    /// False when it existed with the same settings.
    pub created: bool,
    /// The job as it is now.
    pub job: JobWire,
    /// Always `true`.
    pub success: bool,
}

impl JobCreatedReply {
    /// The body answering `created` of `account`.
    pub fn new(account: AccountId, created: JobCreated) -> Self {
        JobCreatedReply {
            account,
            created: created.created,
            job: created.job.into(),
            success: true,
        }
    }
}

/// Body of a successful `GET` [`JOB`], `POST` [`JOB_RENEW`] or [`JOB_RELEASE`].
#[derive(Debug, Serialize, Deserialize)]
pub struct JobReply {
    /// The account.
    pub account: AccountId,
    /// The job as it is now.
    pub job: JobWire,
    /// Always `true`.
    pub success: bool,
}

impl JobReply {
    /// The body answering `job`.
    pub fn new(job: Job) -> Self {
        JobReply {
            account: job.account.clone(),
            job: job.into(),
            success: true,
        }
    }
}

/// Body of a successful `POST` [`JOBS_CLAIM`].
#[derive(Debug, Serialize, Deserialize)]
pub struct JobsClaimedReply {
    /// The account.
    pub account: AccountId,
    /// The jobs handed to the claimer (empty when nothing is due), each with its lease.
    pub jobs: Vec<JobWire>,
    /// Always `true`.
    pub success: bool,
}

impl JobsClaimedReply {
    /// The body answering a claim that got `jobs`.
    pub fn new(account: AccountId, jobs: Vec<Job>) -> Self {
        JobsClaimedReply {
            account,
            jobs: jobs.into_iter().map(Into::into).collect(),
            success: true,
        }
    }
}

/// A job of a listing that could not be read.
#[derive(Debug, Serialize, Deserialize)]
pub struct JobUnreadableWire {
    /// The error code reading it gave (`integrity`).
    pub error: String,
    /// The job's id.
    pub job_id: String,
}

/// Body of a successful `GET` [`JOBS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct JobListReply {
    /// The account.
    pub account: AccountId,
    /// This page's jobs, by id.
    pub jobs: Vec<JobWire>,
    /// Present when more jobs follow: the `after` of the next page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
    /// Always `true`.
    pub success: bool,
    /// Jobs of this page that could not be read; present only when there are some.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unreadable: Vec<JobUnreadableWire>,
}

impl JobListReply {
    /// The body answering `page` of `account`.
    pub fn new(account: AccountId, page: Page<Job>) -> Self {
        JobListReply {
            account,
            jobs: page.items.into_iter().map(Into::into).collect(),
            next: page.next,
            success: true,
            unreadable: page
                .unreadable
                .into_iter()
                .map(|u| JobUnreadableWire {
                    error: u.error.code().to_string(),
                    job_id: u.name,
                })
                .collect(),
        }
    }

    /// The page this body stands for.
    pub fn into_page(self) -> Page<Job> {
        let account = self.account;
        Page {
            items: self
                .jobs
                .into_iter()
                .map(|j| j.into_job(&account))
                .collect(),
            unreadable: self
                .unreadable
                .into_iter()
                .map(|u| super::unreadable(u.job_id, &u.error))
                .collect(),
            next: self.next,
            revision: None,
        }
    }
}

/// Body of a successful `POST` [`JOBS_SWEEP`].
#[derive(Debug, Serialize, Deserialize)]
pub struct JobsSweptReply {
    /// The account.
    pub account: AccountId,
    /// Expired leases of jobs on their last attempt, now `dead`.
    pub dead: u64,
    /// Expired leases released (their jobs `pending` again).
    pub released: u64,
    /// Always `true`.
    pub success: bool,
}

impl JobsSweptReply {
    /// The body answering `report`.
    pub fn new(account: AccountId, report: SweepReport) -> Self {
        JobsSweptReply {
            account,
            dead: report.dead,
            released: report.released,
            success: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_refuse_unknown_fields_and_name_ttl_s() {
        let e = serde_json::from_str::<JobClaimBody>(r#"{"instance":"a","ttl":5}"#)
            .expect_err("unknown field");
        assert!(e.to_string().contains("unknown field"), "{e}");
        let body: JobClaimBody =
            serde_json::from_str(r#"{"instance":"a","ttl_s":0}"#).expect("parses");
        let e = body.into_claim().expect_err("ttl 0");
        assert_eq!(e.field(), Some("ttl_s"));
        let body: JobReleaseBody =
            serde_json::from_str(r#"{"instance":"a","fencing_token":1,"outcome":"maybe"}"#)
                .expect("parses");
        assert_eq!(
            body.into_release().expect_err("outcome").field(),
            Some("outcome")
        );
    }
}
