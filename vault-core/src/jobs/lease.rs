//! The lease rules of one job, as pure transitions of its stored record: what is due, what a
//! claim, renew, release and sweep make of it, and why a stale holder is refused. The
//! embedded store code reads a record, applies one of these, and commits on condition that
//! the record is still the one it read.

use serde::{Deserialize, Serialize};

use super::{Job, JobLease, JobOutcome, JobState};
use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::names::{AccountId, InstanceId, JobId};

/// A job as stored at `job/h/<account>/<job_id>` (sealed like every record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    pub(super) state: JobState,
    pub(super) run_at: i64,
    /// The `run_at` it was created with (what a repeated create is compared with).
    pub(super) first_run_at: i64,
    pub(super) max_attempts: u32,
    pub(super) attempt: u32,
    pub(super) fencing_token: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) owner: Option<InstanceId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) lease_expires_at: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) last_outcome: Option<JobOutcome>,
    pub(super) created_at: i64,
    pub(super) updated_at: i64,
}

/// What a claim makes of a due job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Claimed {
    /// Handed to the claimer.
    Leased,
    /// Its expired lease was its last attempt: `dead`, handed to nobody.
    Dead,
}

impl Record {
    /// A new job, `pending` from `run_at`.
    pub(super) fn new(run_at: i64, max_attempts: u32, now: i64) -> Record {
        Record {
            state: JobState::Pending,
            run_at,
            first_run_at: run_at,
            max_attempts,
            attempt: 0,
            fencing_token: 0,
            owner: None,
            lease_expires_at: None,
            last_outcome: None,
            created_at: now,
            updated_at: now,
        }
    }

    /// The job as callers see it.
    pub(super) fn to_job(&self, account: &AccountId, job_id: &JobId) -> Job {
        Job {
            account: account.clone(),
            job_id: job_id.clone(),
            state: self.state,
            run_at: Timestamp::from_millis(self.run_at),
            max_attempts: self.max_attempts,
            attempt: self.attempt,
            fencing_token: self.fencing_token,
            owner: self.owner.clone(),
            lease_expires_at: self.lease_expires_at.map(Timestamp::from_millis),
            last_outcome: self.last_outcome,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        }
    }

    /// Whether its lease (if leased) has ended at `now`.
    fn lease_expired(&self, now: i64) -> bool {
        self.state == JobState::Leased && self.lease_expires_at.is_none_or(|e| e <= now)
    }

    /// Whether a claim at `now` takes it: `pending` and due, or leased with an expired lease.
    pub(super) fn due(&self, now: i64) -> bool {
        match self.state {
            JobState::Pending => self.run_at <= now,
            JobState::Leased => self.lease_expired(now),
            JobState::Done | JobState::Dead => false,
        }
    }

    /// A claim by `instance` at `now` for `ttl_ms` of a [`Record::due`] job: a new lease, the
    /// next fencing token and attempt; or `dead` when an expired lease was its last attempt.
    pub(super) fn claim(&mut self, instance: &InstanceId, now: i64, ttl_ms: i64) -> Claimed {
        self.updated_at = now;
        if self.state == JobState::Leased && self.attempt >= self.max_attempts {
            self.state = JobState::Dead;
            self.lease_expires_at = None;
            return Claimed::Dead;
        }
        self.state = JobState::Leased;
        self.attempt = self.attempt.saturating_add(1);
        self.fencing_token = self.fencing_token.saturating_add(1);
        self.owner = Some(instance.clone());
        self.lease_expires_at = Some(now.saturating_add(ttl_ms));
        Claimed::Leased
    }

    /// `conflict` naming the job and why, unless `lease` is the job's current lease at `now`:
    /// the latest fencing token, held by that instance, still leased and not expired.
    pub(super) fn check_holder(
        &self,
        account: &AccountId,
        job_id: &JobId,
        lease: &JobLease,
        now: i64,
    ) -> Result<()> {
        let token = lease.fencing_token;
        let why = if token != self.fencing_token {
            if token < self.fencing_token {
                format!(
                    "fencing token {token} is stale: the job was claimed again (fencing token {})",
                    self.fencing_token
                )
            } else {
                format!("fencing token {token} was never issued")
            }
        } else if self.state != JobState::Leased {
            format!(
                "the lease of fencing token {token} has ended (the job is {})",
                self.state.as_str()
            )
        } else if self.owner.as_ref() != Some(&lease.instance) {
            format!(
                "fencing token {token} was issued to another instance, not '{}'",
                lease.instance
            )
        } else if self.lease_expired(now) {
            format!(
                "the lease of fencing token {token} expired at {}; claim the job again",
                Timestamp::from_millis(self.lease_expires_at.unwrap_or(now))
            )
        } else {
            return Ok(());
        };
        Err(Error::Conflict(format!(
            "job '{job_id}' of account '{account}': {why}"
        )))
    }

    /// A renew by the current holder: the lease runs until `now + ttl_ms`.
    pub(super) fn renew(&mut self, now: i64, ttl_ms: i64) {
        self.lease_expires_at = Some(now.saturating_add(ttl_ms));
        self.updated_at = now;
    }

    /// A release by the current holder at `now` (see [`JobOutcome`]).
    pub(super) fn release(&mut self, outcome: JobOutcome, reschedule_at: Option<i64>, now: i64) {
        self.lease_expires_at = None;
        self.last_outcome = Some(outcome);
        self.updated_at = now;
        match (outcome, reschedule_at) {
            (JobOutcome::Done, None) => self.state = JobState::Done,
            (JobOutcome::Done, Some(at)) => {
                self.state = JobState::Pending;
                self.run_at = at;
                self.attempt = 0;
            }
            (JobOutcome::Failed, _) if self.attempt >= self.max_attempts => {
                self.state = JobState::Dead;
            }
            (JobOutcome::Failed, at) => {
                self.state = JobState::Pending;
                self.run_at = at.unwrap_or(now);
            }
        }
    }

    /// A sweep at `now`: an expired lease ends (`pending`, due at once, or `dead` on the last
    /// attempt). `None` when there is nothing to sweep.
    pub(super) fn sweep(&mut self, now: i64) -> Option<JobState> {
        if !self.lease_expired(now) {
            return None;
        }
        self.lease_expires_at = None;
        self.updated_at = now;
        self.state = if self.attempt >= self.max_attempts {
            JobState::Dead
        } else {
            self.run_at = self.run_at.min(now);
            JobState::Pending
        };
        Some(self.state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> (AccountId, JobId, InstanceId, InstanceId) {
        (
            AccountId::new("acct").expect("name"),
            JobId::new("scan").expect("name"),
            InstanceId::new("a").expect("name"),
            InstanceId::new("b").expect("name"),
        )
    }

    #[test]
    fn a_claim_raises_token_and_attempt_and_leases() {
        let (_, _, a, _) = names();
        let mut r = Record::new(100, 3, 0);
        assert!(!r.due(99));
        assert!(r.due(100));
        assert_eq!(r.claim(&a, 100, 60_000), Claimed::Leased);
        assert_eq!((r.fencing_token, r.attempt), (1, 1));
        assert_eq!(r.lease_expires_at, Some(60_100));
        assert!(!r.due(60_099));
        assert!(r.due(60_100));
    }

    #[test]
    fn stale_holders_are_refused_with_the_reason() {
        let (acct, job, a, b) = names();
        let mut r = Record::new(0, 3, 0);
        r.claim(&a, 0, 1000);
        let lease_a = JobLease {
            instance: a.clone(),
            fencing_token: 1,
        };
        assert!(r.check_holder(&acct, &job, &lease_a, 999).is_ok());
        let e = r
            .check_holder(&acct, &job, &lease_a, 1000)
            .expect_err("expired");
        assert!(e.to_string().contains("expired"), "{e}");
        let other = JobLease {
            instance: b.clone(),
            fencing_token: 1,
        };
        let e = r.check_holder(&acct, &job, &other, 10).expect_err("other");
        assert!(e.to_string().contains("another instance"), "{e}");
        r.claim(&b, 1000, 1000);
        let e = r
            .check_holder(&acct, &job, &lease_a, 1001)
            .expect_err("stale");
        assert_eq!(e.code(), "conflict");
        assert!(
            e.to_string().contains("job 'scan' of account 'acct'")
                && e.to_string().contains("stale"),
            "{e}"
        );
    }

    #[test]
    fn the_last_failed_attempt_is_dead_and_done_reschedules() {
        let (_, _, a, _) = names();
        let mut r = Record::new(0, 2, 0);
        r.claim(&a, 0, 1000);
        r.release(JobOutcome::Failed, Some(50), 10);
        assert_eq!((r.state, r.run_at), (JobState::Pending, 50));
        r.claim(&a, 50, 1000);
        r.release(JobOutcome::Failed, None, 60);
        assert_eq!(r.state, JobState::Dead);
        let mut r = Record::new(0, 2, 0);
        r.claim(&a, 0, 1000);
        r.release(JobOutcome::Done, Some(5000), 10);
        assert_eq!((r.state, r.run_at, r.attempt), (JobState::Pending, 5000, 0));
        r.claim(&a, 5000, 1000);
        r.release(JobOutcome::Done, None, 5010);
        assert_eq!(r.state, JobState::Done);
        assert!(!r.due(i64::MAX));
    }

    #[test]
    fn an_expired_last_attempt_dies_at_claim_or_sweep() {
        let (_, _, a, b) = names();
        let mut r = Record::new(0, 1, 0);
        r.claim(&a, 0, 1000);
        let mut swept = r.clone();
        assert_eq!(r.claim(&b, 1000, 1000), Claimed::Dead);
        assert_eq!((r.state, r.fencing_token), (JobState::Dead, 1));
        assert_eq!(swept.sweep(999), None);
        assert_eq!(swept.sweep(1000), Some(JobState::Dead));
    }
}
