//! The gateway's operations on an embedded vault ([`Inference`]): every call passes the choke
//! point (`invoke` on `llm/<model>`), is admitted in the usage log against the caller's token
//! limits (and the LLM-call budget of the account the token is bound to), calls its backend
//! (or the model's fallback when the upstream fails before any output), and settles its fact
//! when it ends: completed, failed, cancelled (the stream dropped: the call still counts) or
//! void (failed before output: it does not count). The settle is audited (`inference.settle`,
//! outcome the status) and logged with counts and latency; prompts and completions never are.

use std::sync::Arc;

use super::call::{CallStream, Tally, elapsed_ms, settle_now};
use super::mock::MockBackend;
use super::registry::{self, BackendKind, ModelSpec, Registry};
use super::{
    ChatRequest, ChunkStream, CompletionRequest, EmbeddingRequest, Embeddings, InferenceBackend,
    ModelInfo,
};
use crate::clock::Timestamp;
use crate::configs::{ChangedBy, ConfigPut, ConfigWritten, Configs, ConfigsApi};
use crate::context::{Caller, Capability, Ctx, Operation};
use crate::error::{Error, Result};
use crate::guards::BudgetWindow;
use crate::guards::Window;
use crate::guards::budget::{
    self, Admitted, Cap, DAY_MS, Fact, HOUR_MS, MINUTE_MS, Settled, UsageLog,
};

/// A call refused at a limit: which one, and when it frees a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// `token` or `account`: whose limit.
    pub scope: String,
    /// `rpm`, `hourly`, `daily` or `daily_tokens`.
    pub limit: String,
    /// The cap.
    pub cap: u64,
    /// Used in the window.
    pub used: u64,
    /// When the window frees a call.
    pub resets_at: Timestamp,
    /// Seconds until then (at least 1).
    pub retry_after_secs: u64,
}

impl Refusal {
    /// The stable code: `rate_limit_rpm_exceeded`, `llm_budget_hourly_exceeded`,
    /// `llm_budget_daily_exceeded` or `llm_token_budget_daily_exceeded`.
    pub fn code(&self) -> &'static str {
        match self.limit.as_str() {
            "rpm" => "rate_limit_rpm_exceeded",
            "hourly" => "llm_budget_hourly_exceeded",
            "daily_tokens" => "llm_token_budget_daily_exceeded",
            _ => "llm_budget_daily_exceeded",
        }
    }

    /// A sentence naming the limit, its cap and when it resets (never anyone else's numbers).
    pub fn message(&self) -> String {
        let what = match self.limit.as_str() {
            "rpm" => "Requests-per-minute limit",
            "hourly" => "Hourly LLM call budget",
            "daily_tokens" => "Daily LLM token budget",
            _ => "Daily LLM call budget",
        };
        format!(
            "{what} exceeded for this {} (limit {}); resets at {}",
            self.scope, self.cap, self.resets_at
        )
    }
}

/// Admitted, or refused at a limit.
#[derive(Debug)]
pub enum Limited<T> {
    /// The call was admitted (and counts).
    Admitted(T),
    /// Refused: nothing was called.
    Refused(Refusal),
}

/// An admitted call.
#[derive(Debug, Clone)]
pub struct CallInfo {
    /// The call's id (`llm_...`).
    pub call_id: String,
    /// The model asked for (the registry's id).
    pub model: String,
    /// The model that answers (the fallback's id when it does).
    pub served_by: String,
    /// When it was admitted.
    pub created: Timestamp,
    /// The request window with the fewest calls left, this call counted.
    pub requests: Option<BudgetWindow>,
}

/// The gateway's operations, as seen by one caller.
#[derive(Clone)]
pub struct Inference {
    ctx: Ctx,
}

fn config_names() -> Result<(crate::names::ServiceName, crate::names::StrategyId)> {
    Ok((registry::SERVICE.parse()?, registry::CONFIG_ID.parse()?))
}

fn op(name: &'static str, model: &str) -> Operation {
    Operation::new(name, Capability::Invoke, format!("llm/{model}"))
}

impl Inference {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Inference { ctx }
    }

    /// The registry in force: `mock-echo` alone while none names a model.
    async fn registry_in_force(&self) -> Result<Registry> {
        let (service, id) = config_names()?;
        let params = Configs::new(self.ctx.clone())
            .latest_params(&service, &id)
            .await?;
        let reg = match params {
            Some(p) => Registry::from_params(&p)?,
            None => Registry::default(),
        };
        Ok(if reg.models.is_empty() {
            Registry::mock_echo()
        } else {
            reg
        })
    }

    /// The registry as written (`not_found` when never written). Needs `read` on
    /// `configs/inference/models`.
    pub async fn registry(&self) -> Result<(Registry, u64)> {
        let (service, id) = config_names()?;
        let c = Configs::new(self.ctx.clone())
            .get(&service, &id, None)
            .await?;
        Ok((Registry::from_params(&c.params)?, c.version))
    }

    /// Writes a new version of the registry, checked first (`invalid` naming the field).
    /// Needs `write` on `configs/inference/models`.
    pub async fn put_registry(
        &self,
        registry: &Registry,
        comment: Option<String>,
    ) -> Result<ConfigWritten> {
        registry.check()?;
        let (service, id) = config_names()?;
        let serde_json::Value::Object(params) = serde_json::to_value(registry)
            .map_err(|e| Error::Internal(format!("encode registry: {e}")))?
        else {
            return Err(Error::Internal("the registry is not an object".into()));
        };
        let mut put = ConfigPut::new(id);
        put.params = Some(params);
        put.comment = comment;
        Configs::new(self.ctx.clone()).put(&service, put).await
    }

    /// The models the caller may invoke (at most [`registry::MAX_MODELS`]: one page).
    pub async fn models(&self) -> Result<Vec<ModelInfo>> {
        // Every caller may list; the list holds only what its rules let it invoke.
        let operation = Operation::new("inference.models", Capability::Invoke, "llm".into());
        self.ctx
            .run_unchecked(operation, async {
                let reg = self.registry_in_force().await?;
                Ok(reg
                    .models
                    .iter()
                    .filter(|(id, _)| self.ctx.allows(Capability::Invoke, &format!("llm/{id}")))
                    .map(|(id, m)| info(id, m))
                    .collect())
            })
            .await
    }

    /// One model the caller may invoke (`not_found` when the registry has none of that name
    /// or alias).
    pub async fn model(&self, name: &str) -> Result<ModelInfo> {
        budget::check_model(name)?;
        let reg = self.registry_in_force().await?;
        let id = reg.id_of(name);
        self.ctx
            .run(op("inference.model", &id), async {
                reg.resolve(name)
                    .map(|(id, m)| info(id, m))
                    .ok_or_else(|| no_model(name))
            })
            .await
    }

    /// A streamed chat completion: refused at a limit, or admitted (it counts) and streaming.
    pub async fn chat(&self, req: ChatRequest) -> Result<Limited<CallStream>> {
        // Checked before the name reaches the audit log (as its path) or an error.
        budget::check_model(&req.model)?;
        let reg = self.registry_in_force().await?;
        let id = reg.id_of(&req.model);
        self.ctx
            .run(op("inference.chat", &id), async {
                req.check()?;
                let (id, spec) = reg
                    .resolve(&req.model)
                    .ok_or_else(|| no_model(&req.model))?;
                check_window(spec, req.sampling.max_tokens)?;
                let prompt = req.prompt_estimate();
                let max_tokens = req.sampling.max_tokens;
                self.call(&reg, id, spec, prompt, max_tokens, |b, upstream| {
                    let mut r = req.clone();
                    r.model = upstream.to_string();
                    async move { b.chat(&r).await }
                })
                .await
            })
            .await
    }

    /// A streamed text completion (as [`Inference::chat`]).
    pub async fn complete(&self, req: CompletionRequest) -> Result<Limited<CallStream>> {
        // Checked before the name reaches the audit log (as its path) or an error.
        budget::check_model(&req.model)?;
        let reg = self.registry_in_force().await?;
        let id = reg.id_of(&req.model);
        self.ctx
            .run(op("inference.complete", &id), async {
                req.check()?;
                let (id, spec) = reg
                    .resolve(&req.model)
                    .ok_or_else(|| no_model(&req.model))?;
                check_window(spec, req.sampling.max_tokens)?;
                let prompt = super::estimate_tokens(&req.prompt);
                let max_tokens = req.sampling.max_tokens;
                self.call(&reg, id, spec, prompt, max_tokens, |b, upstream| {
                    let mut r = req.clone();
                    r.model = upstream.to_string();
                    async move { b.complete(&r).await }
                })
                .await
            })
            .await
    }

    /// Embeddings of every input: refused at a limit, or admitted and answered.
    pub async fn embed(&self, req: EmbeddingRequest) -> Result<Limited<(CallInfo, Embeddings)>> {
        // Checked before the name reaches the audit log (as its path) or an error.
        budget::check_model(&req.model)?;
        let reg = self.registry_in_force().await?;
        let id = reg.id_of(&req.model);
        self.ctx
            .run(op("inference.embed", &id), async {
                req.check()?;
                let (id, spec) = reg
                    .resolve(&req.model)
                    .ok_or_else(|| no_model(&req.model))?;
                let (logs, info, suffix) = match self.admit(id).await? {
                    Limited::Refused(r) => return Ok(Limited::Refused(r)),
                    Limited::Admitted(a) => a,
                };
                let started = std::time::Instant::now();
                let backend = self.backend(&reg, spec).await?;
                let mut r = req.clone();
                r.model = spec.upstream.clone().unwrap_or_else(|| id.to_string());
                let answer = backend.embed(&r).await;
                let how = Settled {
                    status: if answer.is_ok() { "completed" } else { "void" },
                    prompt_tokens: answer.as_ref().map_or(0, |e| e.usage.prompt_tokens),
                    completion_tokens: 0,
                    tokens_estimated: false,
                    latency_ms: elapsed_ms(started),
                    served_by: None,
                };
                settle_now(&self.ctx, &logs, &suffix, &info, &how).await;
                Ok(Limited::Admitted((info, answer?)))
            })
            .await
    }

    /// The logs a call of this caller counts in: its token's (with the token's limits; the
    /// root and embedded callers' without caps) and the bound account's.
    async fn logs(&self) -> Result<Vec<UsageLog>> {
        let caller = self.ctx.caller();
        let Caller::Token { id, .. } = caller else {
            return Ok(vec![UsageLog::token(caller.id(), Vec::new(), None)]);
        };
        let now = self.ctx.clock().now().as_millis();
        let limits = crate::tokens::llm_limits(self.ctx.barrier(), id, now).await?;
        let cap = |name, len_ms, cap: Option<u32>| {
            cap.map(|c| Cap {
                name,
                len_ms,
                cap: u64::from(c),
                window: Window::Calendar,
            })
        };
        let caps = [
            cap("rpm", MINUTE_MS, limits.rpm),
            cap("hourly", HOUR_MS, limits.hourly),
            cap("daily", DAY_MS, limits.daily),
        ]
        .into_iter()
        .flatten()
        .collect();
        let mut logs = vec![UsageLog::token(id, caps, limits.daily_tokens)];
        if let Some(account) = &limits.account {
            let guards = crate::guards::Guards::new(self.ctx.clone());
            logs.push(guards.account_log(account.as_str()).await?);
        }
        Ok(logs)
    }

    /// Admits one call of model `id` in every log of the caller.
    async fn admit(&self, id: &str) -> Result<Limited<(Vec<UsageLog>, CallInfo, Vec<u8>)>> {
        let logs = self.logs().await?;
        let caller = self.ctx.caller();
        let fact = Fact {
            call_id: String::new(),
            by: ChangedBy {
                id: caller.id().to_string(),
                name: caller.name().to_string(),
            },
            model: Some(id.to_string()),
            admitted_at: 0,
            status: "admitted".into(),
            account: logs
                .iter()
                .find(|l| l.scope == "account")
                .map(|l| l.owner().to_string()),
            token_id: matches!(caller, Caller::Token { .. }).then(|| caller.id().to_string()),
            prompt_tokens: None,
            completion_tokens: None,
            tokens_estimated: false,
            latency_ms: None,
            served_by: None,
        };
        let clock = self.ctx.clock();
        match budget::admit(self.ctx.barrier(), clock, &logs, fact).await? {
            Admitted::No { full, .. } => {
                let outcome = if full.window.window == "rpm" {
                    "rate_limited"
                } else {
                    "budget_exhausted"
                };
                crate::audit::chain::set_current_outcome(outcome);
                let now = clock.now().as_millis();
                let wait_ms = (full.window.resets_at.as_millis() - now).max(1);
                Ok(Limited::Refused(Refusal {
                    scope: full.scope.to_string(),
                    limit: full.window.window.clone(),
                    cap: full.window.limit,
                    used: full.window.used,
                    resets_at: full.window.resets_at,
                    retry_after_secs: u64::try_from(wait_ms).unwrap_or(1).div_ceil(1000),
                }))
            }
            Admitted::Yes {
                call_id,
                suffix,
                windows,
            } => {
                let requests = windows
                    .into_iter()
                    .map(|(_, w)| w)
                    .filter(|w| w.window != "daily_tokens")
                    .min_by_key(|w| w.remaining);
                let info = CallInfo {
                    call_id,
                    model: id.to_string(),
                    served_by: id.to_string(),
                    created: clock.now(),
                    requests,
                };
                Ok(Limited::Admitted((logs, info, suffix)))
            }
        }
    }

    /// Admits a call of `id`, starts it on its backend (or its fallback's, when its upstream
    /// fails before any output), and wraps the stream so that it settles when it ends.
    async fn call<F, Fut>(
        &self,
        reg: &Registry,
        id: &str,
        spec: &ModelSpec,
        prompt_estimate: u64,
        max_tokens: Option<u32>,
        start: F,
    ) -> Result<Limited<CallStream>>
    where
        F: Fn(Arc<dyn InferenceBackend>, &str) -> Fut,
        Fut: std::future::Future<Output = Result<ChunkStream>>,
    {
        let (logs, mut info, suffix) = match self.admit(id).await? {
            Limited::Refused(r) => return Ok(Limited::Refused(r)),
            Limited::Admitted(a) => a,
        };
        let started = std::time::Instant::now();
        let upstream = |s: &ModelSpec, id: &str| s.upstream.clone().unwrap_or_else(|| id.into());
        let mut first = match self.backend(reg, spec).await {
            Ok(b) => start(b, &upstream(spec, id)).await,
            Err(e) => Err(e),
        };
        // A request the upstream refused as invalid would be refused by any other: no
        // fallback for it. The fallback serves only a caller that may invoke it, and only a
        // request within its own context window.
        if let (Err(e), Some(fb)) = (&first, &spec.fallback)
            && !matches!(e, Error::Invalid { .. })
            && let Some((fb_id, fb_spec)) = reg.resolve(fb)
            && self.ctx.allows(Capability::Invoke, &format!("llm/{fb_id}"))
            && check_window(fb_spec, max_tokens).is_ok()
        {
            tracing::warn!(call_id = %info.call_id, model = %id, fallback = %fb_id, error = %e,
                "inference upstream failed before any output; trying the fallback");
            first = match self.backend(reg, fb_spec).await {
                Ok(b) => start(b, &upstream(fb_spec, fb_id)).await,
                Err(e) => Err(e),
            };
            info.served_by = fb_id.to_string();
        }
        match first {
            Ok(inner) => Ok(Limited::Admitted(CallStream {
                info: info.clone(),
                inner,
                done: false,
                state: Some(Tally {
                    ctx: self.ctx.clone(),
                    logs,
                    suffix,
                    started,
                    prompt_estimate,
                    text_bytes: 0,
                    usage: None,
                    info,
                }),
            })),
            Err(e) => {
                let how = Settled {
                    status: "void",
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    tokens_estimated: false,
                    latency_ms: elapsed_ms(started),
                    served_by: None,
                };
                settle_now(&self.ctx, &logs, &suffix, &info, &how).await;
                Err(e)
            }
        }
    }

    /// The backend `spec` names; an upstream's API key is read from the vault's credentials
    /// (as the vault itself: the read is audited, the caller needs no rule for it).
    async fn backend(&self, reg: &Registry, spec: &ModelSpec) -> Result<Arc<dyn InferenceBackend>> {
        let b = reg
            .backends
            .get(&spec.backend)
            .ok_or_else(|| Error::invalid("registry", "a model names no backend"))?;
        match b.kind {
            BackendKind::Mock => Ok(Arc::new(MockBackend::new(
                b.mock.clone().unwrap_or_default(),
            ))),
            BackendKind::OpenaiCompat => self.openai_compat(b).await,
        }
    }

    #[cfg(feature = "openai-compat")]
    async fn openai_compat(
        &self,
        b: &super::registry::BackendSpec,
    ) -> Result<Arc<dyn InferenceBackend>> {
        use crate::credentials::{Credentials, CredentialsApi};
        let key = match &b.api_key {
            Some(k) => Some(
                Credentials::new(self.ctx.with_caller(Caller::Embedded))
                    .get(&k.key, Some(&k.service))
                    .await?
                    .value,
            ),
            None => None,
        };
        let url = b.base_url.clone().unwrap_or_default();
        Ok(Arc::new(super::openai_compat::OpenAiCompat::new(
            &url, key,
        )?))
    }

    #[cfg(not(feature = "openai-compat"))]
    async fn openai_compat(
        &self,
        _b: &super::registry::BackendSpec,
    ) -> Result<Arc<dyn InferenceBackend>> {
        Err(Error::Upstream(
            "this build has no openai_compat backend (feature `openai-compat`)".into(),
        ))
    }
}

fn info(id: &str, m: &ModelSpec) -> ModelInfo {
    ModelInfo {
        id: id.to_string(),
        owned_by: m.backend.clone(),
        aliases: m.aliases.clone(),
        context_window: m.context_window,
    }
}

fn no_model(name: &str) -> Error {
    Error::NotFound(format!("The model '{name}' does not exist"))
}

fn check_window(spec: &ModelSpec, max_tokens: Option<u32>) -> Result<()> {
    if let (Some(w), Some(m)) = (spec.context_window, max_tokens)
        && m > w
    {
        return Err(Error::invalid(
            "max_tokens",
            format!("must be at most the model's context window ({w})"),
        ));
    }
    Ok(())
}
