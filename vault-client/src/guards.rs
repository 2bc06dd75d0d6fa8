//! Remote trading guards: [`GuardsApi`] over `/api/vault/guards/{account}/...`.

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vault_core::guards::{Account, BudgetAdmission, BudgetWindow};
use vault_core::{
    ConfigDiff, Decision, DecisionRecord, Error, Execution, ExecutionUpdate, GuardsApi,
    OverrideCreate, OverrideRecord, Page, PageRequest, PolicyPut, PolicyRecord, PolicyWritten,
    Proposal, ProposalRecord, Result, StateChange, StateRecord,
};

use crate::transport::{self, Transport};
use crate::wire::service_api::{
    DiffQuery, GUARD_BUDGET_LLM, GUARD_DECIDE, GUARD_DECISIONS, GUARD_EXECUTION, GUARD_EXECUTIONS,
    GUARD_OVERRIDES, GUARD_POLICY, GUARD_POLICY_DIFF, GUARD_POLICY_ROLLBACK, GUARD_PROPOSALS,
    GUARD_PROPOSALS_SWEEP, GUARD_STATE, LlmAdmitBody, PageQuery, PolicyPutQuery,
    PolicyRollbackBody, VersionQuery, decision_from_reply, fill_path,
};

/// The trading guards of a remote vault.
pub struct RemoteGuards {
    pub(crate) transport: Arc<Transport>,
}

fn path(template: &str, account: &Account) -> String {
    fill_path(template, &[("account", account)])
}

/// `field` of a success reply, decoded as `T`.
fn field<T: DeserializeOwned>(mut body: Value, name: &str) -> Result<T> {
    let v = body
        .get_mut(name)
        .map(Value::take)
        .ok_or_else(|| unexpected(name))?;
    serde_json::from_value(v).map_err(|_| unexpected(name))
}

/// A success reply (without its `success`) decoded as `T`.
fn whole<T: DeserializeOwned>(mut body: Value) -> Result<T> {
    if let Some(m) = body.as_object_mut() {
        m.remove("success");
    }
    serde_json::from_value(body).map_err(|_| unexpected("reply"))
}

fn unexpected(at: &str) -> Error {
    Error::Internal(format!(
        "unexpected response from the vault server (at {at})"
    ))
}

fn page_of<T: DeserializeOwned>(body: Value, items: &str) -> Result<Page<T>> {
    let next = body.get("next").and_then(Value::as_str).map(str::to_string);
    Ok(Page {
        items: field(body, items)?,
        next,
        ..Page::default()
    })
}

impl RemoteGuards {
    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &impl serde::Serialize,
        body: Option<&impl serde::Serialize>,
    ) -> Result<Value> {
        let url = self.transport.url(path, query)?;
        self.transport.call_json(method, url, body).await
    }
}

#[async_trait]
impl GuardsApi for RemoteGuards {
    async fn put_policy(&self, account: &Account, put: PolicyPut) -> Result<PolicyWritten> {
        let q = PolicyPutQuery {
            expected_version: put.expected_version,
            comment: put.comment,
        };
        whole(
            self.call(
                Method::PUT,
                &path(GUARD_POLICY, account),
                &q,
                Some(&put.policy),
            )
            .await?,
        )
    }

    async fn get_policy(&self, account: &Account, version: Option<u64>) -> Result<PolicyRecord> {
        let q = VersionQuery { version };
        whole(
            self.call(Method::GET, &path(GUARD_POLICY, account), &q, None::<&()>)
                .await?,
        )
    }

    async fn rollback_policy(
        &self,
        account: &Account,
        to_version: u64,
        comment: Option<String>,
    ) -> Result<PolicyWritten> {
        let body = PolicyRollbackBody {
            to_version,
            comment,
        };
        whole(
            self.call(
                Method::POST,
                &path(GUARD_POLICY_ROLLBACK, account),
                &(),
                Some(&body),
            )
            .await?,
        )
    }

    async fn diff_policy(&self, account: &Account, from: u64, to: u64) -> Result<ConfigDiff> {
        let q = DiffQuery { from, to };
        whole(
            self.call(
                Method::GET,
                &path(GUARD_POLICY_DIFF, account),
                &q,
                None::<&()>,
            )
            .await?,
        )
    }

    async fn decide(&self, account: &Account, proposal: Proposal) -> Result<Decision> {
        let url = self.transport.url(&path(GUARD_DECIDE, account), &())?;
        let body = serde_json::to_vec(&proposal)
            .map_err(|_| Error::Internal("cannot serialise the request".into()))?;
        let (status, bytes) = self
            .transport
            .call(Method::POST, url, Some(body), true)
            .await?;
        // Denied (422) and decided before (409) are decisions, not failures.
        if let Ok(v) = serde_json::from_slice::<Value>(&bytes)
            && let Some(d) = decision_from_reply(status.as_u16(), &v)
        {
            return Ok(d);
        }
        if status.is_success() {
            return Err(unexpected("decision"));
        }
        Err(transport::error_from_response(status, &bytes))
    }

    async fn update_execution(
        &self,
        account: &Account,
        execution_id: &str,
        update: ExecutionUpdate,
    ) -> Result<Execution> {
        let p = fill_path(
            GUARD_EXECUTION,
            &[("account", account), ("execution_id", execution_id)],
        );
        field(
            self.call(Method::POST, &p, &(), Some(&update)).await?,
            "execution",
        )
    }

    async fn get_execution(&self, account: &Account, execution_id: &str) -> Result<Execution> {
        let p = fill_path(
            GUARD_EXECUTION,
            &[("account", account), ("execution_id", execution_id)],
        );
        field(
            self.call(Method::GET, &p, &(), None::<&()>).await?,
            "execution",
        )
    }

    async fn executions(&self, account: &Account, page: PageRequest) -> Result<Page<Execution>> {
        let q = PageQuery::new(&page);
        page_of(
            self.call(
                Method::GET,
                &path(GUARD_EXECUTIONS, account),
                &q,
                None::<&()>,
            )
            .await?,
            "executions",
        )
    }

    async fn decisions(
        &self,
        account: &Account,
        page: PageRequest,
    ) -> Result<Page<DecisionRecord>> {
        let q = PageQuery::new(&page);
        page_of(
            self.call(
                Method::GET,
                &path(GUARD_DECISIONS, account),
                &q,
                None::<&()>,
            )
            .await?,
            "decisions",
        )
    }

    async fn get_state(&self, account: &Account) -> Result<StateRecord> {
        whole(
            self.call(Method::GET, &path(GUARD_STATE, account), &(), None::<&()>)
                .await?,
        )
    }

    async fn set_state(&self, account: &Account, change: StateChange) -> Result<StateRecord> {
        whole(
            self.call(Method::PUT, &path(GUARD_STATE, account), &(), Some(&change))
                .await?,
        )
    }

    async fn propose(&self, account: &Account, proposal: Proposal) -> Result<ProposalRecord> {
        field(
            self.call(
                Method::POST,
                &path(GUARD_PROPOSALS, account),
                &(),
                Some(&proposal),
            )
            .await?,
            "proposal",
        )
    }

    async fn proposals(
        &self,
        account: &Account,
        page: PageRequest,
    ) -> Result<Page<ProposalRecord>> {
        let q = PageQuery::new(&page);
        page_of(
            self.call(
                Method::GET,
                &path(GUARD_PROPOSALS, account),
                &q,
                None::<&()>,
            )
            .await?,
            "proposals",
        )
    }

    async fn expire_proposals(&self, account: &Account) -> Result<u64> {
        field(
            self.call(
                Method::POST,
                &path(GUARD_PROPOSALS_SWEEP, account),
                &(),
                None::<&()>,
            )
            .await?,
            "expired",
        )
    }

    async fn admit_llm_call(
        &self,
        account: &Account,
        model: Option<String>,
    ) -> Result<BudgetAdmission> {
        let url = self.transport.url(&path(GUARD_BUDGET_LLM, account), &())?;
        let body = serde_json::to_vec(&LlmAdmitBody { model })
            .map_err(|_| Error::Internal("cannot serialise the request".into()))?;
        let (status, bytes) = self
            .transport
            .call(Method::POST, url, Some(body), true)
            .await?;
        // A refusal at the cap is an answer, not a failure.
        let v: Option<Value> = serde_json::from_slice(&bytes).ok();
        let admitted = status.is_success()
            || v.as_ref()
                .and_then(|v| v.get("code"))
                .is_some_and(|c| c == "budget_exhausted");
        if !admitted {
            return Err(transport::error_from_response(status, &bytes));
        }
        let v = v.ok_or_else(|| unexpected("admission"))?;
        Ok(BudgetAdmission {
            admitted: status.is_success(),
            call_id: v.get("call_id").and_then(Value::as_str).map(str::to_string),
            exhausted: v.get("window").and_then(Value::as_str).map(str::to_string),
            windows: field(v, "windows")?,
        })
    }

    async fn llm_budget(&self, account: &Account) -> Result<Vec<BudgetWindow>> {
        field(
            self.call(
                Method::GET,
                &path(GUARD_BUDGET_LLM, account),
                &(),
                None::<&()>,
            )
            .await?,
            "windows",
        )
    }

    async fn create_override(
        &self,
        account: &Account,
        create: OverrideCreate,
    ) -> Result<OverrideRecord> {
        field(
            self.call(
                Method::POST,
                &path(GUARD_OVERRIDES, account),
                &(),
                Some(&create),
            )
            .await?,
            "override",
        )
    }
}
