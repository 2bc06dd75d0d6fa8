//! Scheduler jobs with leases: a scheduler that runs on several instances creates jobs with a
//! next-run time, and each due job is handed to exactly one instance at a time, under a lease
//! (`lease_expires_at`) and a fencing token that grows with every claim. The owner renews the
//! lease while it works and releases the job when done (or failed, with a reschedule); a
//! renew or release by a stale owner (an older fencing token, a lease that expired or was taken
//! over) is refused with `conflict`. An expired lease is reclaimed by the next claim (lazily)
//! or by a sweep; after `max_attempts` claims without success a job is `dead`.
//!
//! This module owns the family's types, its input rules and its interface, [`JobsApi`], which
//! the embedded vault ([`Jobs`]) and the remote client both implement. The lease rules are
//! in `lease.rs`, the storage in `embedded.rs`.

mod embedded;
mod lease;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use embedded::Jobs;

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::names::{AccountId, InstanceId, JobId};
use crate::page::{Page, PageRequest};

/// Lease length when a claim or renew gives none.
pub const DEFAULT_TTL: Duration = Duration::from_secs(60);
/// Shortest lease.
pub const MIN_TTL: Duration = Duration::from_secs(1);
/// Longest lease.
pub const MAX_TTL: Duration = Duration::from_secs(60 * 60);
/// Claims a job gets (the first included) when its creation gives no `max_attempts`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Largest accepted `max_attempts`.
pub const MAX_MAX_ATTEMPTS: u32 = 100;
/// Jobs one claim hands out when it gives no `limit`.
pub const CLAIM_DEFAULT_LIMIT: usize = 10;
/// Most jobs one claim hands out.
pub const CLAIM_MAX_LIMIT: usize = 100;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for its `run_at`; claimable from then on.
    Pending,
    /// Claimed by an instance until `lease_expires_at` (claimable again after it).
    Leased,
    /// Released as done without a reschedule.
    Done,
    /// Failed (or its lease expired) on its last allowed attempt; never claimed again.
    Dead,
}

impl JobState {
    /// `"pending"`, `"leased"`, `"done"` or `"dead"`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Pending => "pending",
            JobState::Leased => "leased",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }
}

/// How an owner ends its run of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobOutcome {
    /// The run succeeded: the job is `done`, or `pending` again at `reschedule_at` with its
    /// attempts reset (a recurring job).
    Done,
    /// The run failed: `pending` again at `reschedule_at` (default now), or `dead` when it was
    /// the last allowed attempt.
    Failed,
}

impl JobOutcome {
    /// `"done"` or `"failed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Done => "done",
            JobOutcome::Failed => "failed",
        }
    }
}

impl std::str::FromStr for JobOutcome {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "done" => Ok(JobOutcome::Done),
            "failed" => Ok(JobOutcome::Failed),
            _ => Err(Error::invalid("outcome", "must be `done` or `failed`")),
        }
    }
}

/// A scheduler job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The account it belongs to.
    pub account: AccountId,
    /// Its id within the account.
    pub job_id: JobId,
    /// Where it is in its life.
    pub state: JobState,
    /// When it is next due (while `pending`).
    pub run_at: Timestamp,
    /// Claims it gets before it is `dead`.
    pub max_attempts: u32,
    /// Claims made since it was created (or last rescheduled after a success).
    pub attempt: u32,
    /// The token of its latest claim (0 before the first): raised by every claim, so a
    /// holder's token is current only until the job is claimed again.
    pub fencing_token: u64,
    /// The instance holding (or that last held) the lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<InstanceId>,
    /// When the lease ends, while `leased`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<Timestamp>,
    /// The outcome of the last release, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_outcome: Option<JobOutcome>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A request to create a job (create-if-absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCreate {
    /// Its id.
    pub job_id: JobId,
    /// When it is first due (default: now).
    pub run_at: Option<Timestamp>,
    /// Claims before it is `dead` (1 to [`MAX_MAX_ATTEMPTS`]; default
    /// [`DEFAULT_MAX_ATTEMPTS`]).
    pub max_attempts: Option<u32>,
}

impl JobCreate {
    /// A job `job_id` due now, with the default attempts.
    pub fn new(job_id: JobId) -> Self {
        JobCreate {
            job_id,
            run_at: None,
            max_attempts: None,
        }
    }

    /// The attempts, checked: `invalid` (field `max_attempts`) outside 1 to
    /// [`MAX_MAX_ATTEMPTS`]. The one rule, also applied by a remote client.
    pub fn checked_max_attempts(&self) -> Result<u32> {
        let n = self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if n == 0 || n > MAX_MAX_ATTEMPTS {
            return Err(Error::invalid(
                "max_attempts",
                format!("must be 1 to {MAX_MAX_ATTEMPTS}"),
            ));
        }
        Ok(n)
    }
}

/// What a create did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCreated {
    /// The job as it is now.
    pub job: Job,
    /// False when a job with this id and the same settings already existed (nothing was
    /// written).
    pub created: bool,
}

/// A request for due jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobClaim {
    /// Who claims.
    pub instance: InstanceId,
    /// Most jobs to hand out (1 to [`CLAIM_MAX_LIMIT`]; default [`CLAIM_DEFAULT_LIMIT`]).
    pub limit: Option<usize>,
    /// Lease length ([`MIN_TTL`] to [`MAX_TTL`]; default [`DEFAULT_TTL`]).
    pub ttl: Option<Duration>,
}

impl JobClaim {
    /// A claim by `instance` with the default limit and lease length.
    pub fn new(instance: InstanceId) -> Self {
        JobClaim {
            instance,
            limit: None,
            ttl: None,
        }
    }

    /// The limit, checked: `invalid` (field `limit`) outside 1 to [`CLAIM_MAX_LIMIT`].
    pub fn checked_limit(&self) -> Result<usize> {
        let limit = self.limit.unwrap_or(CLAIM_DEFAULT_LIMIT);
        if limit == 0 || limit > CLAIM_MAX_LIMIT {
            return Err(Error::invalid(
                "limit",
                format!("must be 1 to {CLAIM_MAX_LIMIT}"),
            ));
        }
        Ok(limit)
    }
}

/// `invalid` (field `ttl`) outside [`MIN_TTL`] to [`MAX_TTL`]; the lease length (default
/// [`DEFAULT_TTL`]). The one rule, also applied by a remote client.
pub fn checked_ttl(ttl: Option<Duration>) -> Result<Duration> {
    let ttl = ttl.unwrap_or(DEFAULT_TTL);
    if ttl < MIN_TTL || ttl > MAX_TTL {
        return Err(Error::invalid(
            "ttl",
            format!(
                "must be {} to {} seconds",
                MIN_TTL.as_secs(),
                MAX_TTL.as_secs()
            ),
        ));
    }
    Ok(ttl)
}

/// A lease as its holder names it: the instance and the fencing token its claim gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLease {
    /// The holder.
    pub instance: InstanceId,
    /// The token of the holder's claim.
    pub fencing_token: u64,
}

/// A request to end a run of a job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRelease {
    /// The lease being released.
    pub lease: JobLease,
    /// How the run ended.
    pub outcome: JobOutcome,
    /// When to run the job again (a failed run: default now; a done run: none means `done`).
    pub reschedule_at: Option<Timestamp>,
}

/// What a sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Expired leases released (their jobs `pending` again).
    pub released: u64,
    /// Expired leases of jobs on their last attempt (now `dead`).
    pub dead: u64,
}

/// The resource path of job `job_id` of `account`: `guards/<account>/jobs/<job_id>`.
pub fn job_path(account: &str, job_id: &str) -> String {
    format!("guards/{account}/jobs/{job_id}")
}

/// The scheduler jobs, embedded or remote. Every operation needs `execute` on the job's path
/// (`guards/<account>/jobs/<job_id>`; claims and sweeps `guards/<account>/jobs/*` and act
/// only on the jobs the caller may execute), except `get` and `list`, which need `read`.
#[async_trait]
pub trait JobsApi: Send + Sync {
    /// Creates a job, `pending` from `run_at`; when one with this id exists with the same
    /// settings (those given: `max_attempts`, and `run_at` compared with its first `run_at`)
    /// it is returned unchanged (`created: false`), with other settings it is `conflict`.
    async fn create(&self, account: &AccountId, create: JobCreate) -> Result<JobCreated>;

    /// Hands each due job (`pending` with `run_at <= now`, or `leased` with an expired lease)
    /// to `claim.instance`, at most `limit` of them, in job id order: each gets a lease until
    /// now + ttl, its attempt count and fencing token raised. One store commit conditioned on
    /// every job it hands out, so two instances never hold one job. An expired lease of a
    /// job on its last attempt makes it `dead` instead. Empty when nothing is due.
    async fn claim_due(&self, account: &AccountId, claim: JobClaim) -> Result<Vec<Job>>;

    /// Extends the lease held as `lease` to now + ttl (default [`DEFAULT_TTL`]); `conflict`
    /// naming the job and why when the lease is not the current one (an older fencing token,
    /// another instance, expired, released), `not_found` when the job does not exist.
    async fn renew(
        &self,
        account: &AccountId,
        job_id: &JobId,
        lease: JobLease,
        ttl: Option<Duration>,
    ) -> Result<Job>;

    /// Ends the run held as `release.lease` (see [`JobOutcome`]); refused like
    /// [`JobsApi::renew`] when the lease is not the current one.
    async fn release(
        &self,
        account: &AccountId,
        job_id: &JobId,
        release: JobRelease,
    ) -> Result<Job>;

    /// Releases every expired lease of the account (`pending` again, or `dead` on the last
    /// attempt).
    async fn sweep(&self, account: &AccountId) -> Result<SweepReport>;

    /// A job; `not_found` when missing.
    async fn get(&self, account: &AccountId, job_id: &JobId) -> Result<Job>;

    /// One page of the account's jobs, by id (default 100, at most 1000), those the caller may
    /// read.
    async fn list(&self, account: &AccountId, page: PageRequest) -> Result<Page<Job>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_name_their_field() {
        let i = InstanceId::new("a").expect("name");
        let mut c = JobClaim::new(i);
        assert_eq!(c.checked_limit().ok(), Some(CLAIM_DEFAULT_LIMIT));
        for bad in [0, CLAIM_MAX_LIMIT + 1] {
            c.limit = Some(bad);
            let e = c.checked_limit().expect_err("limit");
            assert_eq!(e.field(), Some("limit"));
        }
        assert_eq!(checked_ttl(None).ok(), Some(DEFAULT_TTL));
        for bad in [
            Duration::ZERO,
            Duration::from_millis(999),
            MAX_TTL + MIN_TTL,
        ] {
            assert_eq!(
                checked_ttl(Some(bad)).expect_err("ttl").field(),
                Some("ttl")
            );
        }
        assert_eq!(checked_ttl(Some(MAX_TTL)).ok(), Some(MAX_TTL));
        let mut create = JobCreate::new(JobId::new("j").expect("name"));
        assert_eq!(create.checked_max_attempts().ok(), Some(3));
        create.max_attempts = Some(0);
        assert_eq!(
            create.checked_max_attempts().expect_err("0").field(),
            Some("max_attempts")
        );
        assert_eq!(
            "x".parse::<JobOutcome>().expect_err("x").field(),
            Some("outcome")
        );
    }
}
