//! The OpenAI request bodies the gateway accepts, and their translation into vault-core's
//! requests. Fields the gateway does not act on (`seed`, `presence_penalty`, `user`, ...) are
//! accepted and ignored, as OpenAI-compatible servers do; fields it cannot honour (`n` above
//! 1, non-text content parts, token-array prompts) are `invalid` naming the field.

use serde::Deserialize;
use serde_json::Value;
use vault_core::inference::{
    ChatMessage, ChatRequest, CompletionRequest, EmbeddingRequest, MAX_STOP, Sampling,
};
use vault_core::{Error, Result};

/// A string or a list of strings.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One.
    One(String),
    /// Several (a token array fails to parse as this and is refused).
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

/// `stream_options`.
#[derive(Debug, Default, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with the usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// A message's `content`: text, or parts of which only `text` ones are accepted.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Text.
    Text(String),
    /// Parts.
    Parts(Vec<Value>),
}

/// One message.
#[derive(Debug, Deserialize)]
pub struct MessageBody {
    /// Its role.
    pub role: String,
    /// Its content (absent or `null`: empty, as an assistant's tool call).
    #[serde(default)]
    pub content: Option<Content>,
}

/// Sampling fields shared by chat and completions.
#[derive(Debug, Default, Deserialize)]
pub struct SamplingBody {
    /// Most tokens to generate.
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// The newer name of `max_tokens` (chat).
    #[serde(default)]
    pub max_completion_tokens: Option<u32>,
    /// Temperature.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// Stop sequences.
    #[serde(default)]
    pub stop: Option<OneOrMany>,
    /// Choices wanted: only 1.
    #[serde(default)]
    pub n: Option<u32>,
}

impl SamplingBody {
    fn into_core(self) -> Result<Sampling> {
        if self.n.is_some_and(|n| n != 1) {
            return Err(Error::invalid("n", "only 1 choice is supported"));
        }
        let stop = self.stop.map(OneOrMany::into_vec).unwrap_or_default();
        if stop.len() > MAX_STOP {
            return Err(Error::invalid(
                "stop",
                format!("at most {MAX_STOP} sequences"),
            ));
        }
        Ok(Sampling {
            max_tokens: self.max_completion_tokens.or(self.max_tokens),
            temperature: self.temperature,
            top_p: self.top_p,
            stop,
        })
    }
}

/// `POST /v1/chat/completions`.
#[derive(Debug, Deserialize)]
pub struct ChatBody {
    /// The model.
    pub model: String,
    /// The conversation.
    pub messages: Vec<MessageBody>,
    /// Stream chunks as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Sampling.
    #[serde(flatten)]
    pub sampling: SamplingBody,
}

impl ChatBody {
    /// The core request (`invalid` naming the field when a message cannot be taken).
    pub fn into_core(self) -> Result<ChatRequest> {
        let mut messages = Vec::with_capacity(self.messages.len());
        for (i, m) in self.messages.into_iter().enumerate() {
            let content = match m.content {
                None => String::new(),
                Some(Content::Text(t)) => t,
                Some(Content::Parts(parts)) => {
                    let mut text = String::new();
                    for (j, p) in parts.iter().enumerate() {
                        match (p.get("type").and_then(Value::as_str), p.get("text")) {
                            (Some("text"), Some(Value::String(t))) => text.push_str(t),
                            _ => {
                                return Err(Error::invalid(
                                    format!("messages[{i}].content[{j}]"),
                                    "only text parts are supported",
                                ));
                            }
                        }
                    }
                    text
                }
            };
            messages.push(ChatMessage {
                role: m.role,
                content,
            });
        }
        Ok(ChatRequest {
            model: self.model,
            messages,
            sampling: self.sampling.into_core()?,
        })
    }
}

/// `POST /v1/completions`.
#[derive(Debug, Deserialize)]
pub struct CompletionBody {
    /// The model.
    pub model: String,
    /// The prompt: one string (or a list of one).
    pub prompt: OneOrMany,
    /// Stream chunks as server-sent events.
    #[serde(default)]
    pub stream: bool,
    /// Streaming options.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    /// Sampling.
    #[serde(flatten)]
    pub sampling: SamplingBody,
}

impl CompletionBody {
    /// The core request.
    pub fn into_core(self) -> Result<CompletionRequest> {
        let mut prompts = self.prompt.into_vec();
        if prompts.len() != 1 {
            return Err(Error::invalid("prompt", "exactly one prompt is supported"));
        }
        Ok(CompletionRequest {
            model: self.model,
            prompt: prompts.pop().unwrap_or_default(),
            sampling: self.sampling.into_core()?,
        })
    }
}

/// How embeddings are sent back.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// Lists of numbers.
    #[default]
    Float,
    /// Base64 of little-endian 32-bit floats (what the `openai` Python package asks for).
    Base64,
}

/// `POST /v1/embeddings`.
#[derive(Debug, Deserialize)]
pub struct EmbeddingBody {
    /// The model.
    pub model: String,
    /// The text(s).
    pub input: OneOrMany,
    /// `float` (default) or `base64`.
    #[serde(default)]
    pub encoding_format: Option<EncodingFormat>,
}

impl EmbeddingBody {
    /// The core request.
    pub fn into_core(self) -> EmbeddingRequest {
        EmbeddingRequest {
            model: self.model,
            input: self.input.into_vec(),
        }
    }
}
