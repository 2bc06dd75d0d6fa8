//! An admitted call's stream ([`CallStream`]) and its settling: when the stream ends (or is
//! dropped) the call's usage fact gets its status, counts and latency, the settle is audited
//! (`inference.settle`, outcome the status) and one log line records it. Prompts and
//! completions are counted, never kept.

use std::pin::Pin;
use std::task::{Context, Poll};

use super::embedded::CallInfo;
use super::{Chunk, ChunkStream, Usage};
use crate::context::{Ctx, Operation};
use crate::error::Result;
use crate::guards::budget::{self, Settled, UsageLog};

pub(super) fn elapsed_ms(started: std::time::Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Settles a call and records it: the audit entry (`inference.settle`, outcome the status)
/// and one log line with counts and latency. A failure to settle is logged (the call was
/// counted at admission either way).
pub(super) async fn settle_now(
    ctx: &Ctx,
    logs: &[UsageLog],
    suffix: &[u8],
    info: &CallInfo,
    how: &Settled,
) {
    if let Err(e) = budget::settle(ctx.barrier(), ctx.clock(), logs, suffix, how).await {
        tracing::error!(call_id = %info.call_id, error = %e, "cannot settle an LLM call");
    }
    let operation = Operation::new(
        "inference.settle",
        crate::context::Capability::Invoke,
        format!("llm/{}", info.model),
    );
    if let Err(e) = ctx.record(&operation, how.status).await {
        tracing::error!(call_id = %info.call_id, error = %e, "cannot audit an LLM call");
    }
    tracing::info!(
        call_id = %info.call_id,
        token_id = %ctx.caller().id(),
        model = %info.model,
        served_by = %how.served_by.as_deref().unwrap_or(&info.served_by),
        status = how.status,
        prompt_tokens = how.prompt_tokens,
        completion_tokens = how.completion_tokens,
        tokens_estimated = how.tokens_estimated,
        latency_ms = how.latency_ms,
        "llm call"
    );
}

/// What a streaming call has seen so far.
pub(super) struct Tally {
    pub(super) ctx: Ctx,
    pub(super) logs: Vec<UsageLog>,
    pub(super) suffix: Vec<u8>,
    pub(super) started: std::time::Instant,
    pub(super) prompt_estimate: u64,
    pub(super) text_bytes: u64,
    pub(super) usage: Option<Usage>,
    pub(super) info: CallInfo,
}

impl Tally {
    /// Settles the call (in a task of its own: this may run in a drop).
    fn finish(self, status: &'static str) {
        let (prompt_tokens, completion_tokens, tokens_estimated) = match self.usage {
            Some(u) => (u.prompt_tokens, u.completion_tokens, false),
            None => (self.prompt_estimate, self.text_bytes.div_ceil(4), true),
        };
        let how = Settled {
            status,
            prompt_tokens,
            completion_tokens,
            tokens_estimated,
            latency_ms: elapsed_ms(self.started),
            served_by: (self.info.served_by != self.info.model)
                .then(|| self.info.served_by.clone()),
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(async move {
                    settle_now(&self.ctx, &self.logs, &self.suffix, &self.info, &how).await;
                });
            }
            Err(_) => tracing::error!(call_id = %self.info.call_id,
                "an LLM call ended outside a runtime: not settled"),
        }
    }
}

/// An admitted call's stream of chunks. It settles the call when it ends: `completed`,
/// `failed` (an error item), or `cancelled` when dropped before its end (the call counts;
/// dropping it cancels the upstream request).
pub struct CallStream {
    /// The call.
    pub info: CallInfo,
    pub(super) inner: ChunkStream,
    pub(super) done: bool,
    pub(super) state: Option<Tally>,
}

impl std::fmt::Debug for CallStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallStream")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl CallStream {
    fn finish(&mut self, status: &'static str) {
        self.done = true;
        if let Some(t) = self.state.take() {
            t.finish(status);
        }
    }
}

impl futures_core::Stream for CallStream {
    type Item = Result<Chunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.inner.as_mut().poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(t) = self.state.as_mut() {
                    if let Some(u) = chunk.usage {
                        t.usage = Some(u);
                    }
                    if let Some(text) = &chunk.text {
                        t.text_bytes += text.len() as u64;
                    }
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                self.finish("failed");
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                self.finish("completed");
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for CallStream {
    fn drop(&mut self) {
        if !self.done {
            self.finish("cancelled");
        }
    }
}
