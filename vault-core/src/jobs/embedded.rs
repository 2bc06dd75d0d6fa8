//! The embedded scheduler jobs: storage layout and operations over the barrier.
//!
//! Store layout: one record per job, `job/h/<account>/<job_id>` (a head, so the freshness
//! ledger covers it). Every change is one commit conditioned on each job record it changes
//! being the one read: a claim reads the due jobs and commits all their leases at once, so of
//! two instances that read the same due job only one commit applies; the other reads again
//! and finds the job leased. Due jobs are found by scanning the account's jobs in id order
//! (no due-time index yet: a claim reads up to every job of the account).

use std::time::Duration;

use async_trait::async_trait;

use super::lease::{Claimed, Record};
use super::{
    Job, JobClaim, JobCreate, JobCreated, JobLease, JobRelease, JobState, JobsApi, SweepReport,
    checked_ttl, job_path,
};
use crate::context::{Capability, Ctx, Operation};
use crate::error::{Error, Result};
use crate::names::{AccountId, JobId};
use crate::page::{Page, PageRequest};
use crate::records::{
    Head, MAX_ATTEMPTS, Visible, head_key, head_prefix, read_head, read_page, seal_json,
};
use crate::store::{Condition, Write};

const FAMILY: &str = "job";
/// Job records read per store scan while looking for due or expired jobs.
const SCAN_PAGE: usize = 256;

fn op(name: &'static str, capability: Capability, account: &str, job_id: &str) -> Operation {
    Operation::new(name, capability, job_path(account, job_id))
}

fn no_job(account: &AccountId, job_id: &JobId) -> Error {
    Error::NotFound(format!("job '{job_id}' not found for account '{account}'"))
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

/// A job record read for a change: its key, id and head (raw bytes for the condition).
struct Read {
    key: Vec<u8>,
    id: JobId,
    head: Head<Record>,
}

/// The scheduler jobs of an embedded vault, as seen by one caller.
#[derive(Clone)]
pub struct Jobs {
    ctx: Ctx,
}

impl Jobs {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Jobs { ctx }
    }

    fn now(&self) -> i64 {
        self.ctx.clock().now().as_millis()
    }

    async fn create_inner(&self, account: &AccountId, create: &JobCreate) -> Result<JobCreated> {
        let max_attempts = create.checked_max_attempts()?;
        let barrier = self.ctx.barrier();
        let id = &create.job_id;
        let key = head_key(FAMILY, account, id);
        for lost in 0..MAX_ATTEMPTS {
            let now = self.now();
            if let Some(h) = read_head::<Record>(barrier, &key).await? {
                let r = h.record;
                // Only the settings given are compared: a scheduler that re-creates its jobs
                // at every start without them gets the jobs as they are.
                let other = if create.max_attempts.is_some_and(|n| n != r.max_attempts) {
                    Some(format!(
                        "max_attempts {}, not {max_attempts}",
                        r.max_attempts
                    ))
                } else if create
                    .run_at
                    .is_some_and(|t| t.as_millis() != r.first_run_at)
                {
                    Some(format!(
                        "another run_at (it was created due at {})",
                        crate::clock::Timestamp::from_millis(r.first_run_at)
                    ))
                } else {
                    None
                };
                if let Some(other) = other {
                    return Err(Error::Conflict(format!(
                        "job '{id}' of account '{account}' exists with {other}"
                    )));
                }
                return Ok(JobCreated {
                    job: r.to_job(account, id),
                    created: false,
                });
            }
            let run_at = create.run_at.map_or(now, |t| t.as_millis());
            let record = Record::new(run_at, max_attempts, now);
            let write = Write::Put(key.clone(), seal_json(barrier, &key, &record)?);
            let absent = Condition::Absent(key.clone());
            if barrier
                .commit_after_losses(vec![absent], vec![write], lost)
                .await?
            {
                return Ok(JobCreated {
                    job: record.to_job(account, id),
                    created: true,
                });
            }
        }
        Err(Error::Conflict(format!(
            "job '{id}' of account '{account}' is under heavy concurrent writes; retry"
        )))
    }

    /// The account's jobs the caller may `execute`, in id order, for which `pick` says yes,
    /// until `enough` says the picked ones suffice. A job that does not open is skipped (and
    /// logged): one damaged record does not stop the scheduler.
    async fn scan(
        &self,
        account: &AccountId,
        pick: impl Fn(&Record) -> bool,
        enough: impl Fn(&[Read]) -> bool,
    ) -> Result<Vec<Read>> {
        let barrier = self.ctx.barrier();
        let prefix = head_prefix(FAMILY, account);
        let mut picked = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let keys = barrier
                .scan_keys(&prefix, after.as_deref(), SCAN_PAGE)
                .await?;
            for key in &keys {
                let name = key.get(prefix.len()..).unwrap_or_default();
                let Ok(id) = JobId::new(String::from_utf8_lossy(name)) else {
                    continue;
                };
                if !self
                    .ctx
                    .allows(Capability::Execute, &job_path(account, &id))
                {
                    continue;
                }
                let head = match read_head::<Record>(barrier, key).await {
                    Ok(Some(head)) => head,
                    Ok(None) => continue,
                    Err(Error::Integrity) => {
                        tracing::warn!(%account, job_id = %id, "a job record does not open; skipped");
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if pick(&head.record) {
                    picked.push(Read {
                        key: key.clone(),
                        id,
                        head,
                    });
                    if enough(&picked) {
                        return Ok(picked);
                    }
                }
            }
            if keys.len() < SCAN_PAGE {
                return Ok(picked);
            }
            after = keys.last().cloned();
        }
    }

    /// Commits `changed` (each read record with its new value) on condition that every record
    /// is still the one read; whether it applied.
    async fn commit_changes(&self, changed: Vec<(Read, Record)>, lost: usize) -> Result<bool> {
        let barrier = self.ctx.barrier();
        let mut conditions = Vec::with_capacity(changed.len());
        let mut writes = Vec::with_capacity(changed.len());
        for (read, record) in changed {
            writes.push(Write::Put(
                read.key.clone(),
                seal_json(barrier, &read.key, &record)?,
            ));
            conditions.push(Condition::Equals(read.key, read.head.raw));
        }
        barrier.commit_after_losses(conditions, writes, lost).await
    }

    async fn claim_inner(&self, account: &AccountId, claim: &JobClaim) -> Result<Vec<Job>> {
        let limit = claim.checked_limit()?;
        let ttl = ttl_ms(checked_ttl(claim.ttl)?);
        for lost in 0..MAX_ATTEMPTS {
            let now = self.now();
            // An expired lease on its last attempt dies in this commit and is not handed out,
            // so it does not count towards the limit.
            let leasable =
                |r: &Record| !(r.state == JobState::Leased && r.attempt >= r.max_attempts);
            let due = self
                .scan(
                    account,
                    |r| r.due(now),
                    // Also bounded in all: a backlog of expired last attempts dies a batch
                    // at a time, not in one huge commit.
                    |picked| {
                        picked.len() >= SCAN_PAGE
                            || picked.iter().filter(|p| leasable(&p.head.record)).count() >= limit
                    },
                )
                .await?;
            if due.is_empty() {
                return Ok(Vec::new());
            }
            let mut leased = Vec::new();
            let mut changed = Vec::with_capacity(due.len());
            for read in due {
                let mut record = read.head.record.clone();
                if record.claim(&claim.instance, now, ttl) == Claimed::Leased {
                    leased.push(record.to_job(account, &read.id));
                }
                changed.push((read, record));
            }
            if self.commit_changes(changed, lost).await? {
                return Ok(leased);
            }
            // Another claim (or a renew, release, sweep) changed one of these jobs since they
            // were read: read the due jobs again.
        }
        Err(Error::Conflict(format!(
            "the jobs of account '{account}' are under heavy concurrent claims; retry"
        )))
    }

    /// Reads job `id`, lets `change` check and change it, and commits it on condition that it
    /// is still the record read (a lost race reads it again and checks again).
    async fn change_one(
        &self,
        account: &AccountId,
        id: &JobId,
        change: impl Fn(&mut Record, i64) -> Result<()>,
    ) -> Result<Job> {
        let barrier = self.ctx.barrier();
        let key = head_key(FAMILY, account, id);
        for lost in 0..MAX_ATTEMPTS {
            let now = self.now();
            let head = read_head::<Record>(barrier, &key)
                .await?
                .ok_or_else(|| no_job(account, id))?;
            let mut record = head.record.clone();
            change(&mut record, now)?;
            let job = record.to_job(account, id);
            let read = Read {
                key: key.clone(),
                id: id.clone(),
                head,
            };
            if self.commit_changes(vec![(read, record)], lost).await? {
                return Ok(job);
            }
        }
        Err(Error::Conflict(format!(
            "job '{id}' of account '{account}' is under heavy concurrent writes; retry"
        )))
    }

    async fn sweep_inner(&self, account: &AccountId) -> Result<SweepReport> {
        let mut report = SweepReport::default();
        for lost in 0..MAX_ATTEMPTS {
            let now = self.now();
            let expired = self
                .scan(
                    account,
                    |r| r.clone().sweep(now).is_some(),
                    |p| p.len() >= SCAN_PAGE,
                )
                .await?;
            if expired.is_empty() {
                return Ok(report);
            }
            let mut this = SweepReport::default();
            let mut changed = Vec::with_capacity(expired.len());
            for read in expired {
                let mut record = read.head.record.clone();
                match record.sweep(now) {
                    Some(JobState::Dead) => this.dead += 1,
                    _ => this.released += 1,
                }
                changed.push((read, record));
            }
            if self.commit_changes(changed, lost).await? {
                report.released += this.released;
                report.dead += this.dead;
            }
            // Applied: the next batch (if any); lost: these again, as they are now.
        }
        Ok(report)
    }

    async fn get_inner(&self, account: &AccountId, id: &JobId) -> Result<Job> {
        read_head::<Record>(self.ctx.barrier(), &head_key(FAMILY, account, id))
            .await?
            .map(|h| h.record.to_job(account, id))
            .ok_or_else(|| no_job(account, id))
    }

    async fn list_inner(&self, account: &AccountId, page: &PageRequest) -> Result<Page<Job>> {
        let prefix = head_prefix(FAMILY, account);
        let resource = format!("guards/{account}/jobs");
        let visible = Visible {
            capability: Capability::Read,
            resource: &resource,
        };
        let barrier = self.ctx.barrier();
        read_page(&self.ctx, &prefix, page, visible, |key, name| async move {
            let id = JobId::new(name).map_err(|_| Error::Integrity)?;
            Ok(read_head::<Record>(barrier, &key)
                .await?
                .map(|h| h.record.to_job(account, &id)))
        })
        .await
    }
}

#[async_trait]
impl JobsApi for Jobs {
    async fn create(&self, account: &AccountId, create: JobCreate) -> Result<JobCreated> {
        let operation = op("jobs.create", Capability::Execute, account, &create.job_id);
        self.ctx
            .run(operation, self.create_inner(account, &create))
            .await
    }

    async fn claim_due(&self, account: &AccountId, claim: JobClaim) -> Result<Vec<Job>> {
        let operation = op("jobs.claim_due", Capability::Execute, account, "*");
        self.ctx
            .run(operation, self.claim_inner(account, &claim))
            .await
    }

    async fn renew(
        &self,
        account: &AccountId,
        job_id: &JobId,
        lease: JobLease,
        ttl: Option<Duration>,
    ) -> Result<Job> {
        let operation = op("jobs.renew", Capability::Execute, account, job_id);
        self.ctx
            .run(operation, async {
                let ttl = ttl_ms(checked_ttl(ttl)?);
                self.change_one(account, job_id, |r, now| {
                    r.check_holder(account, job_id, &lease, now)?;
                    r.renew(now, ttl);
                    Ok(())
                })
                .await
            })
            .await
    }

    async fn release(
        &self,
        account: &AccountId,
        job_id: &JobId,
        release: JobRelease,
    ) -> Result<Job> {
        let operation = op("jobs.release", Capability::Execute, account, job_id);
        self.ctx
            .run(
                operation,
                self.change_one(account, job_id, |r, now| {
                    r.check_holder(account, job_id, &release.lease, now)?;
                    let at = release.reschedule_at.map(|t| t.as_millis());
                    r.release(release.outcome, at, now);
                    Ok(())
                }),
            )
            .await
    }

    async fn sweep(&self, account: &AccountId) -> Result<SweepReport> {
        let operation = op("jobs.sweep", Capability::Execute, account, "*");
        self.ctx.run(operation, self.sweep_inner(account)).await
    }

    async fn get(&self, account: &AccountId, job_id: &JobId) -> Result<Job> {
        let operation = op("jobs.get", Capability::Read, account, job_id);
        self.ctx
            .run(operation, self.get_inner(account, job_id))
            .await
    }

    async fn list(&self, account: &AccountId, page: PageRequest) -> Result<Page<Job>> {
        let operation = op("jobs.list", Capability::Read, account, "*");
        self.ctx
            .run(operation, self.list_inner(account, &page))
            .await
    }
}
