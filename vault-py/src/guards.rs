//! `vault.Guards` (the `guards` attribute of a vault): trading guards per account. Thin: every
//! argument becomes the vault-core request (decimals from `str` or `decimal.Decimal` through
//! [`vault_core::guards::parse_decimal`], names through vault-core's name rules, enums and the
//! policy document through their serde forms, as the server parses them), and every record
//! comes back as its JSON form in a `dict` subclass of `vault/_guards.py` (attribute access,
//! decimals as strings). Every rule is vault-core's.

use std::sync::Arc;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyList, PyString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vault_client::wire::service_api::from_document;
use vault_core::guards::{Account, Decimal, parse_decimal};
use vault_core::{
    Error, ExecutionUpdate, OverrideCreate, PageRequest, PolicyPut, Proposal, ServiceName,
    StateChange,
};

use crate::audit::time_in;
use crate::configs::ConfigDiff;
use crate::convert::{to_json_object, to_py};
use crate::error::check;
use crate::runtime::block_on;
use crate::vault::{Shared, api};

/// The account name, `invalid` naming `account`.
fn account_of(py: Python<'_>, name: String) -> PyResult<Account> {
    check(
        py,
        ServiceName::new(name).map_err(|e| match e {
            Error::Invalid { reason, .. } => Error::invalid("account", reason),
            other => other,
        }),
    )
}

/// A string argument decoded as vault-core's enum `T` (`side`, `origin`, `state`).
fn enum_of<T: DeserializeOwned>(py: Python<'_>, field: &str, s: String) -> PyResult<T> {
    check(py, from_document(field, Value::String(s)))
}

/// A decimal argument: a `str` or a `decimal.Decimal` (an `int` too), never a float.
fn decimal_of(field: &str, v: &Bound<'_, PyAny>) -> PyResult<Decimal> {
    let py = v.py();
    let text = if let Ok(s) = v.cast::<PyString>() {
        s.to_cow()?.into_owned()
    } else if v.is_instance(&py.import("decimal")?.getattr("Decimal")?)?
        || (v.is_instance_of::<PyInt>() && !v.is_instance_of::<PyBool>())
    {
        v.str()?.to_cow()?.into_owned()
    } else {
        return Err(PyTypeError::new_err(format!(
            "{field} must be a str or a decimal.Decimal (money is never a float), not {}",
            v.get_type().name()?
        )));
    };
    check(py, parse_decimal(field, &text))
}

fn opt_decimal(field: &str, v: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Decimal>> {
    v.filter(|v| !v.is_none())
        .map(|v| decimal_of(field, v))
        .transpose()
}

/// `value`'s JSON form (what the server sends for it).
fn json_of(value: &impl Serialize) -> PyResult<Value> {
    serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(e.to_string()))
}

/// `vault._guards.<class>` made from `value`'s JSON form.
fn record<'py>(py: Python<'py>, class: &str, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    py.import("vault._guards")?
        .getattr(class)?
        .call1((to_py(py, value)?,))
}

/// A `vault.Page` of records of `class`.
fn page_of<'py, T: Serialize>(
    py: Python<'py>,
    class: &str,
    page: vault_core::Page<T>,
) -> PyResult<Bound<'py, PyAny>> {
    let items = PyList::empty(py);
    for item in &page.items {
        items.append(record(py, class, &json_of(item)?)?)?;
    }
    py.import("vault._page")?.getattr("Page")?.call1((
        items,
        page.next,
        PyList::empty(py),
        Option::<u64>::None,
    ))
}

/// The proposal of `decide` and `propose`, from their arguments.
#[allow(clippy::too_many_arguments)] // the proposal's fields, one argument each
fn proposal_of(
    py: Python<'_>,
    proposal_id: String,
    instrument: String,
    side: String,
    notional: &Bound<'_, PyAny>,
    confidence: f64,
    origin: &str,
    expires_at: Option<&Bound<'_, PyAny>>,
) -> PyResult<Proposal> {
    Ok(Proposal {
        proposal_id,
        instrument,
        side: enum_of(py, "side", side)?,
        notional: decimal_of("notional", notional)?,
        confidence,
        origin: enum_of(py, "origin", origin.to_string())?,
        expires_at: time_in("expires_at", expires_at)?,
    })
}

/// The trading guards of a vault: `v.guards`.
#[pyclass(module = "vault", frozen)]
pub struct Guards {
    shared: Arc<Shared>,
}

impl Guards {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Guards { shared }
    }
}

#[pymethods]
impl Guards {
    /// Writes a new version of `account`'s policy (`policy`: the document of docs/guards.md, a
    /// dict; omitted fields take their defaults, decimals are strings). `expected_version`:
    /// compare-and-set on the current version (0: none yet; `Conflict` when stale). Returns a
    /// `PolicyWritten` (`account`, `version`, `policy_hash`). Needs `admin`.
    #[pyo3(signature = (account, policy, comment=None, expected_version=None))]
    fn put_policy<'py>(
        &self,
        py: Python<'py>,
        account: String,
        policy: &Bound<'py, PyAny>,
        comment: Option<String>,
        expected_version: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let put = PolicyPut {
            policy: check(
                py,
                from_document("policy", Value::Object(to_json_object(policy, "policy")?)),
            )?,
            comment,
            expected_version,
        };
        let api = api(py, &self.shared)?;
        let w = block_on(
            py,
            async move { api.guards().put_policy(&account, put).await },
        )?;
        record(py, "PolicyWritten", &json_of(&check(py, w)?)?)
    }

    /// `account`'s policy: the latest version, or `version`. `NotFound` when none is set (every
    /// proposal is then denied). Returns a `PolicyRecord`.
    #[pyo3(signature = (account, version=None))]
    fn get_policy<'py>(
        &self,
        py: Python<'py>,
        account: String,
        version: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let r = block_on(py, async move {
            api.guards().get_policy(&account, version).await
        })?;
        record(py, "PolicyRecord", &json_of(&check(py, r)?)?)
    }

    /// Writes a new version with version `to_version`'s policy. Returns a `PolicyWritten`.
    #[pyo3(signature = (account, to_version, comment=None))]
    fn rollback_policy<'py>(
        &self,
        py: Python<'py>,
        account: String,
        to_version: u64,
        comment: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let w = block_on(py, async move {
            api.guards()
                .rollback_policy(&account, to_version, comment)
                .await
        })?;
        record(py, "PolicyWritten", &json_of(&check(py, w)?)?)
    }

    /// The changes between two versions of `account`'s policy (a `ConfigDiff`).
    fn diff_policy(
        &self,
        py: Python<'_>,
        account: String,
        from_version: u64,
        to_version: u64,
    ) -> PyResult<ConfigDiff> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let d = block_on(py, async move {
            api.guards()
                .diff_policy(&account, from_version, to_version)
                .await
        })?;
        ConfigDiff::new(py, check(py, d)?)
    }

    /// Evaluates every guard for the proposal and, when all pass, claims its execution in the
    /// same commit. Returns a `Decision`: `outcome` `"allowed"` (the claimed `execution`),
    /// `"denied"` (every violation, nothing claimed: a denial is an answer, not an exception)
    /// or `"already_executed"` (the first decision's execution, unchanged). The same id with
    /// other trade fields raises `ProposalMismatch`; bad input `InvalidInput` naming the field.
    /// `notional`: a `str` or `decimal.Decimal`; `expires_at`: an RFC 3339 string or an aware
    /// `datetime`. Needs `execute` (and `override` for `origin="risk_exit"`).
    #[pyo3(signature = (
        account, proposal_id, instrument, side, notional, confidence,
        origin="discretionary", expires_at=None
    ))]
    #[allow(clippy::too_many_arguments)] // the proposal's fields, one argument each
    fn decide<'py>(
        &self,
        py: Python<'py>,
        account: String,
        proposal_id: String,
        instrument: String,
        side: String,
        notional: &Bound<'py, PyAny>,
        confidence: f64,
        origin: &str,
        expires_at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let proposal = proposal_of(
            py,
            proposal_id,
            instrument,
            side,
            notional,
            confidence,
            origin,
            expires_at,
        )?;
        let api = api(py, &self.shared)?;
        let d = block_on(
            py,
            async move { api.guards().decide(&account, proposal).await },
        )?;
        let d = check(py, d)?;
        let mut v = json_of(&d)?;
        if let Value::Object(m) = &mut v {
            m.insert("allowed".into(), Value::Bool(d.allowed()));
        }
        record(py, "Decision", &v)
    }

    /// Reports a change of an execution: `state` (`"submitted"`, `"filled"`, ...), `fill` (the
    /// notional filled so far) and `realized_pnl` (negative: a loss), decimals as `str` or
    /// `decimal.Decimal`. `Conflict` for a move the states do not allow. Returns the
    /// `Execution`.
    #[pyo3(signature = (account, execution_id, state, fill=None, realized_pnl=None))]
    fn update_execution<'py>(
        &self,
        py: Python<'py>,
        account: String,
        execution_id: String,
        state: String,
        fill: Option<&Bound<'py, PyAny>>,
        realized_pnl: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let update = ExecutionUpdate {
            state: enum_of(py, "state", state)?,
            fill: opt_decimal("fill", fill)?,
            realized_pnl: opt_decimal("realized_pnl", realized_pnl)?,
        };
        let api = api(py, &self.shared)?;
        let e = block_on(py, async move {
            api.guards()
                .update_execution(&account, &execution_id, update)
                .await
        })?;
        record(py, "Execution", &json_of(&check(py, e)?)?)
    }

    /// One execution (`NotFound` when missing).
    fn get_execution<'py>(
        &self,
        py: Python<'py>,
        account: String,
        execution_id: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let e = block_on(py, async move {
            api.guards().get_execution(&account, &execution_id).await
        })?;
        record(py, "Execution", &json_of(&check(py, e)?)?)
    }

    /// One page of `account`'s executions, by id: at most `limit` (default 100, at most 1000)
    /// after `after` (a previous page's `next`). Returns a `vault.Page` of `Execution`.
    #[pyo3(signature = (account, *, limit=None, after=None))]
    fn executions<'py>(
        &self,
        py: Python<'py>,
        account: String,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let page = PageRequest::new(limit, after);
        let api = api(py, &self.shared)?;
        let p = block_on(
            py,
            async move { api.guards().executions(&account, page).await },
        )?;
        page_of(py, "Execution", check(py, p)?)
    }

    /// One page of `account`'s decisions (allowed and denied, with their violations), newest
    /// first. Returns a `vault.Page` of `DecisionRecord`.
    #[pyo3(signature = (account, *, limit=None, after=None))]
    fn decisions<'py>(
        &self,
        py: Python<'py>,
        account: String,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let page = PageRequest::new(limit, after);
        let api = api(py, &self.shared)?;
        let p = block_on(
            py,
            async move { api.guards().decisions(&account, page).await },
        )?;
        page_of(py, "DecisionRecord", check(py, p)?)
    }

    /// The trading state of `account` (`"global"`: the global state). Returns a
    /// `StateRecord`.
    fn get_state<'py>(&self, py: Python<'py>, account: String) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let s = block_on(py, async move { api.guards().get_state(&account).await })?;
        record(py, "StateRecord", &json_of(&check(py, s)?)?)
    }

    /// Sets the trading state (`"ACTIVE"`, `"REDUCING"` or `"HALTED"`) with a reason. States
    /// are latched: only this returns to `"ACTIVE"`. Needs `admin`.
    fn set_state<'py>(
        &self,
        py: Python<'py>,
        account: String,
        state: String,
        reason: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let change = StateChange {
            state: enum_of(py, "state", state)?,
            reason,
        };
        let api = api(py, &self.shared)?;
        let s = block_on(
            py,
            async move { api.guards().set_state(&account, change).await },
        )?;
        record(py, "StateRecord", &json_of(&check(py, s)?)?)
    }

    /// Grants an override of `rules` (`"cooldown"`, `"anti_flip"`, or their codes) for one
    /// proposal, used once by the claim it lets through; `reason` at least 10 characters.
    /// Needs `override`. Returns an `OverrideRecord`.
    fn create_override<'py>(
        &self,
        py: Python<'py>,
        account: String,
        proposal_id: String,
        rules: Vec<String>,
        reason: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let create = OverrideCreate {
            proposal_id,
            rules,
            reason,
        };
        let api = api(py, &self.shared)?;
        let o = block_on(py, async move {
            api.guards().create_override(&account, create).await
        })?;
        record(py, "OverrideRecord", &json_of(&check(py, o)?)?)
    }

    /// Stores a proposal to be decided later (`state` `"pending"` until decided or expired),
    /// with its `expires_at` (default: now + the policy's `proposal_ttl_s`). The same proposal
    /// again returns it; the same id with other trade fields raises `ProposalMismatch`. A later
    /// `decide` of the id must carry the same trade fields. Needs `propose`. Returns a
    /// `ProposalRecord`.
    #[pyo3(signature = (
        account, proposal_id, instrument, side, notional, confidence,
        origin="discretionary", expires_at=None
    ))]
    #[allow(clippy::too_many_arguments)] // the proposal's fields, one argument each
    fn propose<'py>(
        &self,
        py: Python<'py>,
        account: String,
        proposal_id: String,
        instrument: String,
        side: String,
        notional: &Bound<'py, PyAny>,
        confidence: f64,
        origin: &str,
        expires_at: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let proposal = proposal_of(
            py,
            proposal_id,
            instrument,
            side,
            notional,
            confidence,
            origin,
            expires_at,
        )?;
        let api = api(py, &self.shared)?;
        let r = block_on(
            py,
            async move { api.guards().propose(&account, proposal).await },
        )?;
        record(py, "ProposalRecord", &json_of(&check(py, r)?)?)
    }

    /// One page of `account`'s stored proposals, by id. Returns a `vault.Page` of
    /// `ProposalRecord`.
    #[pyo3(signature = (account, *, limit=None, after=None))]
    fn proposals<'py>(
        &self,
        py: Python<'py>,
        account: String,
        limit: Option<usize>,
        after: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let page = PageRequest::new(limit, after);
        let api = api(py, &self.shared)?;
        let p = block_on(
            py,
            async move { api.guards().proposals(&account, page).await },
        )?;
        page_of(py, "ProposalRecord", check(py, p)?)
    }

    /// Marks `account`'s pending proposals whose `expires_at` passed as `"expired"` (at most
    /// 1000 per call); returns how many.
    fn expire_proposals(&self, py: Python<'_>, account: String) -> PyResult<u64> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let n = block_on(
            py,
            async move { api.guards().expire_proposals(&account).await },
        )?;
        check(py, n)
    }

    /// Admits one LLM call against `account`'s hourly and daily budgets, counting it. At the
    /// cap it is not admitted: a `BudgetAdmission` with `admitted=False` and `exhausted` naming
    /// the window (`"hourly"` or `"daily"`), not an exception. `model` is recorded with it.
    #[pyo3(signature = (account, model=None))]
    fn admit_llm_call<'py>(
        &self,
        py: Python<'py>,
        account: String,
        model: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let a = block_on(py, async move {
            api.guards().admit_llm_call(&account, model).await
        })?;
        record(py, "BudgetAdmission", &json_of(&check(py, a)?)?)
    }

    /// `account`'s budget windows now, counting nothing: a list of `BudgetWindow`.
    fn llm_budget<'py>(&self, py: Python<'py>, account: String) -> PyResult<Bound<'py, PyList>> {
        let account = account_of(py, account)?;
        let api = api(py, &self.shared)?;
        let w = block_on(py, async move { api.guards().llm_budget(&account).await })?;
        let out = PyList::empty(py);
        for window in &check(py, w)? {
            out.append(record(py, "BudgetWindow", &json_of(window)?)?)?;
        }
        Ok(out)
    }

    fn __repr__(&self) -> &'static str {
        "<vault guards>"
    }
}
