//! `vault.Jobs` (the `jobs` attribute of a vault) and its records: `Job`, `JobCreated` and
//! `SweepReport`. Lease lengths are seconds (int or float); times in are RFC 3339 strings or
//! timezone-aware `datetime`s, times out RFC 3339 strings. The rules are vault-core's.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::PyDict;
use vault_core::{
    AccountId, Error, InstanceId, Job as CoreJob, JobClaim, JobCreate, JobId, JobLease, JobRelease,
    PageRequest,
};

use crate::audit::time_in;
use crate::error::check;
use crate::page::new_page;
use crate::runtime::block_on;
use crate::vault::{Shared, api};

/// `ttl`: `None`, or a number of seconds (`InvalidInput` naming `ttl` when negative or not a
/// number; its range is vault-core's rule).
fn ttl_in(py: Python<'_>, ttl: Option<f64>) -> PyResult<Option<Duration>> {
    ttl.map(|s| {
        check(
            py,
            Duration::try_from_secs_f64(s)
                .map_err(|_| Error::invalid("ttl", "must be a number of seconds")),
        )
    })
    .transpose()
}

fn account_of(py: Python<'_>, account: String) -> PyResult<AccountId> {
    check(py, AccountId::new(account))
}

fn names(py: Python<'_>, account: String, job_id: String) -> PyResult<(AccountId, JobId)> {
    Ok((account_of(py, account)?, check(py, JobId::new(job_id))?))
}

fn lease_of(py: Python<'_>, instance: String, fencing_token: u64) -> PyResult<JobLease> {
    Ok(JobLease {
        instance: check(py, InstanceId::new(instance))?,
        fencing_token,
    })
}

/// The scheduler jobs of a vault: `v.jobs`.
#[pyclass(module = "vault", frozen)]
pub struct Jobs {
    shared: Arc<Shared>,
}

impl Jobs {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Jobs { shared }
    }
}

#[pymethods]
impl Jobs {
    /// Creates job `job_id` of `account`, due from `run_at` (default now), with
    /// `max_attempts` claims (1 to 100, default 3). Create-if-absent: the same job again with
    /// the same settings returns it with `created=False`; other settings are `Conflict`.
    #[pyo3(signature = (account, job_id, *, run_at=None, max_attempts=None))]
    fn create(
        &self,
        py: Python<'_>,
        account: String,
        job_id: String,
        run_at: Option<&Bound<'_, PyAny>>,
        max_attempts: Option<u32>,
    ) -> PyResult<JobCreated> {
        let (account, job_id) = names(py, account, job_id)?;
        let create = JobCreate {
            job_id,
            run_at: time_in("run_at", run_at)?,
            max_attempts,
        };
        let api = api(py, &self.shared)?;
        let c = block_on(py, async move { api.jobs().create(&account, create).await })?;
        let c = check(py, c)?;
        Ok(JobCreated {
            job: Py::new(py, Job::from(c.job))?,
            created: c.created,
        })
    }

    /// Hands the due jobs of `account` (at most `limit`, 1 to 100, default 10) to `instance`
    /// under a lease of `ttl` seconds (1 to 3600, default 60): each to exactly one claimer,
    /// with a new `fencing_token`. An empty list when nothing is due.
    #[pyo3(signature = (account, instance, *, limit=None, ttl=None))]
    fn claim_due(
        &self,
        py: Python<'_>,
        account: String,
        instance: String,
        limit: Option<usize>,
        ttl: Option<f64>,
    ) -> PyResult<Vec<Job>> {
        let account = account_of(py, account)?;
        let claim = JobClaim {
            instance: check(py, InstanceId::new(instance))?,
            limit,
            ttl: ttl_in(py, ttl)?,
        };
        let api = api(py, &self.shared)?;
        let got = block_on(
            py,
            async move { api.jobs().claim_due(&account, claim).await },
        )?;
        Ok(check(py, got)?.into_iter().map(Job::from).collect())
    }

    /// Extends the lease `instance` holds with `fencing_token` to now + `ttl` seconds
    /// (default 60). `Conflict` naming the job and why when that is not the current lease.
    #[pyo3(signature = (account, job_id, instance, fencing_token, *, ttl=None))]
    fn renew(
        &self,
        py: Python<'_>,
        account: String,
        job_id: String,
        instance: String,
        fencing_token: u64,
        ttl: Option<f64>,
    ) -> PyResult<Job> {
        let (account, job_id) = names(py, account, job_id)?;
        let lease = lease_of(py, instance, fencing_token)?;
        let ttl = ttl_in(py, ttl)?;
        let api = api(py, &self.shared)?;
        let j = block_on(py, async move {
            api.jobs().renew(&account, &job_id, lease, ttl).await
        })?;
        Ok(Job::from(check(py, j)?))
    }

    /// Ends the run `instance` holds with `fencing_token`: `outcome` `"done"` (with
    /// `reschedule_at`: pending again then, attempts reset) or `"failed"` (pending again at
    /// `reschedule_at`, default now; `dead` after the last attempt). `Conflict` naming the job
    /// and why when that is not the current lease.
    #[pyo3(signature = (account, job_id, instance, fencing_token, outcome, *, reschedule_at=None))]
    #[allow(clippy::too_many_arguments)] // the Python arguments, one each
    fn release(
        &self,
        py: Python<'_>,
        account: String,
        job_id: String,
        instance: String,
        fencing_token: u64,
        outcome: String,
        reschedule_at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Job> {
        let (account, job_id) = names(py, account, job_id)?;
        let release = JobRelease {
            lease: lease_of(py, instance, fencing_token)?,
            outcome: check(py, outcome.parse())?,
            reschedule_at: time_in("reschedule_at", reschedule_at)?,
        };
        let api = api(py, &self.shared)?;
        let j = block_on(py, async move {
            api.jobs().release(&account, &job_id, release).await
        })?;
        Ok(Job::from(check(py, j)?))
    }

    /// Releases every expired lease of `account` (pending again, or `dead` on the last
    /// attempt).
    fn sweep(&self, py: Python<'_>, account: String) -> PyResult<SweepReport> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let r = block_on(py, async move { api.jobs().sweep(&account).await })?;
        let r = check(py, r)?;
        Ok(SweepReport {
            released: r.released,
            dead: r.dead,
        })
    }

    /// Job `job_id` of `account`; `NotFound` when missing.
    fn get(&self, py: Python<'_>, account: String, job_id: String) -> PyResult<Job> {
        let (account, job_id) = names(py, account, job_id)?;
        let api = api(py, &self.shared)?;
        let j = block_on(py, async move { api.jobs().get(&account, &job_id).await })?;
        Ok(Job::from(check(py, j)?))
    }

    /// One page of the jobs of `account`, by id: at most `limit` (default 100, at most 1000)
    /// after `after` (a previous page's `next`). Returns a `vault.Page` of `Job`.
    #[pyo3(signature = (account, *, limit=None, after=None))]
    fn list<'py>(
        &self,
        py: Python<'py>,
        account: String,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let page = PageRequest::new(limit, after);
        let listed = block_on(py, async move { api.jobs().list(&account, page).await })?;
        new_page(py, None, check(py, listed)?, Job::from)
    }

    fn __repr__(&self) -> &'static str {
        "<vault jobs>"
    }
}

/// A scheduler job.
#[pyclass(module = "vault", frozen)]
pub struct Job {
    /// The account it belongs to.
    #[pyo3(get)]
    account: String,
    /// Its id.
    #[pyo3(get)]
    job_id: String,
    /// `"pending"`, `"leased"`, `"done"` or `"dead"`.
    #[pyo3(get)]
    state: &'static str,
    /// When it is next due (RFC 3339 UTC string).
    #[pyo3(get)]
    run_at: String,
    /// Claims it gets before it is dead.
    #[pyo3(get)]
    max_attempts: u32,
    /// Claims made since it was created (or last rescheduled after a success).
    #[pyo3(get)]
    attempt: u32,
    /// The token of its latest claim (0 before the first).
    #[pyo3(get)]
    fencing_token: u64,
    /// The instance holding (or that last held) the lease.
    #[pyo3(get)]
    owner: Option<String>,
    /// When the lease ends, while leased.
    #[pyo3(get)]
    lease_expires_at: Option<String>,
    /// `"done"` or `"failed"`: the outcome of the last release.
    #[pyo3(get)]
    last_outcome: Option<&'static str>,
    /// When it was created.
    #[pyo3(get)]
    created_at: String,
    /// When it last changed.
    #[pyo3(get)]
    updated_at: String,
}

impl From<CoreJob> for Job {
    fn from(j: CoreJob) -> Self {
        Job {
            account: j.account.into_string(),
            job_id: j.job_id.into_string(),
            state: j.state.as_str(),
            run_at: j.run_at.to_string(),
            max_attempts: j.max_attempts,
            attempt: j.attempt,
            fencing_token: j.fencing_token,
            owner: j.owner.map(InstanceId::into_string),
            lease_expires_at: j.lease_expires_at.map(|t| t.to_string()),
            last_outcome: j.last_outcome.map(|o| o.as_str()),
            created_at: j.created_at.to_string(),
            updated_at: j.updated_at.to_string(),
        }
    }
}

#[pymethods]
impl Job {
    /// Every field as a plain dict (JSON-able).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("account", &self.account)?;
        d.set_item("job_id", &self.job_id)?;
        d.set_item("state", self.state)?;
        d.set_item("run_at", &self.run_at)?;
        d.set_item("max_attempts", self.max_attempts)?;
        d.set_item("attempt", self.attempt)?;
        d.set_item("fencing_token", self.fencing_token)?;
        d.set_item("owner", &self.owner)?;
        d.set_item("lease_expires_at", &self.lease_expires_at)?;
        d.set_item("last_outcome", self.last_outcome)?;
        d.set_item("created_at", &self.created_at)?;
        d.set_item("updated_at", &self.updated_at)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let opt = |o: Option<&str>| o.map_or_else(|| "None".to_string(), |s| format!("'{s}'"));
        format!(
            "Job(account='{}', job_id='{}', state='{}', attempt={}, fencing_token={}, owner={}, \
             lease_expires_at={}, run_at='{}')",
            self.account,
            self.job_id,
            self.state,
            self.attempt,
            self.fencing_token,
            opt(self.owner.as_deref()),
            opt(self.lease_expires_at.as_deref()),
            self.run_at,
        )
    }
}

/// The outcome of `jobs.create`.
#[pyclass(module = "vault", frozen)]
pub struct JobCreated {
    /// The job as it is now.
    #[pyo3(get)]
    job: Py<Job>,
    /// False when it existed with the same settings (nothing was written).
    #[pyo3(get)]
    created: bool,
}

#[pymethods]
impl JobCreated {
    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "JobCreated(created={}, job={})",
            if self.created { "True" } else { "False" },
            self.job.borrow(py).__repr__()
        )
    }
}

/// The outcome of `jobs.sweep`.
#[pyclass(module = "vault", frozen)]
pub struct SweepReport {
    /// Expired leases released (their jobs pending again).
    #[pyo3(get)]
    released: u64,
    /// Expired leases of jobs on their last attempt, now dead.
    #[pyo3(get)]
    dead: u64,
}

#[pymethods]
impl SweepReport {
    fn __repr__(&self) -> String {
        format!(
            "SweepReport(released={}, dead={})",
            self.released, self.dead
        )
    }
}
