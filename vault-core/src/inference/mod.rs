//! Inference: the [`InferenceBackend`] trait (streaming chat and text completion, embeddings,
//! models, health), its backends ([`mock`], and `openai_compat` with the `openai-compat`
//! feature), the model [`registry`] (a versioned config), and the gateway's operations
//! ([`Inference`]): every call passes the choke point (`invoke` on `llm/<model>`), is admitted
//! against the calling token's limits (and its account's LLM-call budget) in the shared usage
//! log, and settles there with its counts, status and latency. Prompts and completions are
//! never stored, logged or audited.

mod call;
mod embedded;
pub mod mock;
#[cfg(feature = "openai-compat")]
pub mod openai_compat;
pub mod registry;

use std::pin::Pin;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use call::CallStream;
pub use embedded::{CallInfo, Inference, Limited, Refusal};
pub use registry::{BackendSpec, ModelSpec, Registry};

use crate::error::{Error, Result};

/// Most messages in one chat request.
pub const MAX_MESSAGES: usize = 256;
/// Most bytes of text (every message, or the prompt, or the inputs) in one request.
pub const MAX_TEXT_BYTES: usize = 1 << 20;
/// Largest `max_tokens` accepted.
pub const MAX_TOKENS: u32 = 32_768;
/// Most inputs in one embeddings request.
pub const MAX_INPUTS: usize = 256;
/// Most stop sequences.
pub const MAX_STOP: usize = 4;
/// The model served while the registry is empty.
pub const MOCK_ECHO: &str = "mock-echo";

/// A stream of chunks from a backend.
pub type ChunkStream = Pin<Box<dyn futures_core::Stream<Item = Result<Chunk>> + Send>>;

/// One message of a chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    /// Its text.
    pub content: String,
}

/// Sampling options shared by chat and text completion.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    /// Most tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
}

/// A chat completion request (`model` is the registry's id or alias; a backend gets the
/// upstream's name).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The model.
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Sampling options.
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// A text completion request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompletionRequest {
    /// The model.
    pub model: String,
    /// The prompt.
    pub prompt: String,
    /// Sampling options.
    #[serde(flatten)]
    pub sampling: Sampling,
}

/// An embeddings request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingRequest {
    /// The model.
    pub model: String,
    /// The texts to embed.
    pub input: Vec<String>,
}

/// Token counts of a call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Tokens of the prompt.
    pub prompt_tokens: u64,
    /// Tokens generated.
    pub completion_tokens: u64,
}

/// One piece of a streamed completion.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The role, on the first chunk of a chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Text generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Why generation stopped, on the last chunk (`stop`, `length`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// The call's usage, on a final chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// Embedding vectors, one per input, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Embeddings {
    /// The vectors.
    pub vectors: Vec<Vec<f32>>,
    /// Token counts (`completion_tokens` is 0).
    pub usage: Usage,
}

/// A model as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The registry's id.
    pub id: String,
    /// Its backend's name.
    pub owned_by: String,
    /// Other names it answers to.
    pub aliases: Vec<String>,
    /// Its context window, in tokens, when known.
    pub context_window: Option<u32>,
}

/// A backend that serves models: an OpenAI-compatible upstream, or the mock. Object-safe.
#[async_trait]
pub trait InferenceBackend: Send + Sync {
    /// Streams a chat completion. An error before any output is this call's `Err` (the
    /// gateway may then try a fallback); an error after is an `Err` item of the stream.
    /// Dropping the stream cancels the upstream request.
    async fn chat(&self, req: &ChatRequest) -> Result<ChunkStream>;

    /// Streams a text completion (same contract as [`InferenceBackend::chat`]).
    async fn complete(&self, req: &CompletionRequest) -> Result<ChunkStream>;

    /// Embeds every input.
    async fn embed(&self, req: &EmbeddingRequest) -> Result<Embeddings>;

    /// The upstream's model names.
    async fn models(&self) -> Result<Vec<String>>;

    /// `Ok` when the upstream answers.
    async fn health(&self) -> Result<()>;
}

/// A rough token count of `text` (4 bytes a token, rounded up): for usage an upstream did not
/// report (flagged `tokens_estimated`).
pub fn estimate_tokens(text: &str) -> u64 {
    (text.len() as u64).div_ceil(4)
}

fn check_sampling(s: &Sampling) -> Result<()> {
    if let Some(m) = s.max_tokens
        && (m == 0 || m > MAX_TOKENS)
    {
        return Err(Error::invalid(
            "max_tokens",
            format!("must be 1 to {MAX_TOKENS}"),
        ));
    }
    if let Some(t) = s.temperature
        && !(0.0..=2.0).contains(&t)
    {
        return Err(Error::invalid("temperature", "must be between 0 and 2"));
    }
    if let Some(p) = s.top_p
        && !(0.0..=1.0).contains(&p)
    {
        return Err(Error::invalid("top_p", "must be between 0 and 1"));
    }
    if s.stop.len() > MAX_STOP || s.stop.iter().any(|x| x.is_empty() || x.len() > 256) {
        return Err(Error::invalid(
            "stop",
            format!("at most {MAX_STOP} sequences of 1 to 256 bytes"),
        ));
    }
    Ok(())
}

impl ChatRequest {
    /// Checks the bounds (`invalid` naming the field): 1 to [`MAX_MESSAGES`] messages of a
    /// known role, at most [`MAX_TEXT_BYTES`] of text, sampling in range.
    pub fn check(&self) -> Result<()> {
        crate::guards::budget::check_model(&self.model)?;
        if self.messages.is_empty() || self.messages.len() > MAX_MESSAGES {
            return Err(Error::invalid(
                "messages",
                format!("must hold 1 to {MAX_MESSAGES} messages"),
            ));
        }
        let mut bytes = 0usize;
        for (i, m) in self.messages.iter().enumerate() {
            if !matches!(
                m.role.as_str(),
                "system" | "user" | "assistant" | "tool" | "developer"
            ) {
                return Err(Error::invalid(
                    format!("messages[{i}].role"),
                    "must be system, developer, user, assistant or tool",
                ));
            }
            bytes += m.content.len();
        }
        if bytes > MAX_TEXT_BYTES {
            return Err(Error::invalid(
                "messages",
                format!("at most {MAX_TEXT_BYTES} bytes of text in all"),
            ));
        }
        check_sampling(&self.sampling)
    }

    /// The estimated prompt tokens.
    pub fn prompt_estimate(&self) -> u64 {
        self.messages
            .iter()
            .map(|m| estimate_tokens(&m.content))
            .sum()
    }
}

impl CompletionRequest {
    /// Checks the bounds (`invalid` naming the field).
    pub fn check(&self) -> Result<()> {
        crate::guards::budget::check_model(&self.model)?;
        if self.prompt.len() > MAX_TEXT_BYTES {
            return Err(Error::invalid(
                "prompt",
                format!("at most {MAX_TEXT_BYTES} bytes"),
            ));
        }
        check_sampling(&self.sampling)
    }
}

impl EmbeddingRequest {
    /// Checks the bounds (`invalid` naming the field).
    pub fn check(&self) -> Result<()> {
        crate::guards::budget::check_model(&self.model)?;
        if self.input.is_empty() || self.input.len() > MAX_INPUTS {
            return Err(Error::invalid(
                "input",
                format!("must hold 1 to {MAX_INPUTS} texts"),
            ));
        }
        if self.input.iter().map(String::len).sum::<usize>() > MAX_TEXT_BYTES {
            return Err(Error::invalid(
                "input",
                format!("at most {MAX_TEXT_BYTES} bytes in all"),
            ));
        }
        Ok(())
    }
}

/// A stream fed by a task through a channel: dropping it closes the channel, which the task
/// sees (its sends fail, `closed()` resolves) and stops.
pub(crate) struct ChannelStream(pub(crate) tokio::sync::mpsc::Receiver<Result<Chunk>>);

impl futures_core::Stream for ChannelStream {
    type Item = Result<Chunk>;

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
