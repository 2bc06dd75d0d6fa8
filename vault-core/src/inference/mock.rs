//! The mock backend: deterministic, no GPU. It streams the last user message (or the prompt)
//! back word by word and reports usage (4 bytes a token); told so by its options it fails
//! before any output, fails after the first word, or stalls after some words (until the
//! stream is dropped). Embeddings are 8 numbers derived from the text's bytes.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    ChannelStream, ChatRequest, Chunk, ChunkStream, CompletionRequest, EmbeddingRequest,
    Embeddings, InferenceBackend, Usage, estimate_tokens,
};
use crate::error::{Error, Result};

/// Dimensions of a mock embedding.
pub const DIMS: usize = 8;

/// When the mock fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MockFail {
    /// Before any output (as an upstream that refuses the request).
    BeforeOutput,
    /// After the first word.
    AfterOutput,
}

/// How the mock behaves.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MockOptions {
    /// Fail, and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail: Option<MockFail>,
    /// Stop producing after this many words, without ending the stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stall_after: Option<u32>,
    /// Wait this long (ms, at most 10000) before each word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// The mock backend.
#[derive(Debug, Clone, Default)]
pub struct MockBackend {
    options: MockOptions,
}

impl MockBackend {
    /// A mock behaving as `options` say.
    pub fn new(options: MockOptions) -> Self {
        MockBackend { options }
    }

    fn stream(
        &self,
        text: &str,
        prompt_tokens: u64,
        max_tokens: Option<u32>,
        chat: bool,
    ) -> Result<ChunkStream> {
        if self.options.fail == Some(MockFail::BeforeOutput) {
            return Err(Error::Upstream("the mock backend was told to fail".into()));
        }
        let words: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        let limit = max_tokens.map_or(usize::MAX, |m| m as usize);
        let options = self.options.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(16);
        tokio::spawn(async move {
            if chat {
                let role = Chunk {
                    role: Some("assistant".into()),
                    ..Chunk::default()
                };
                if tx.send(Ok(role)).await.is_err() {
                    return;
                }
            }
            let mut sent = String::new();
            let n = words.len();
            for (i, w) in words.into_iter().enumerate() {
                if i >= limit {
                    break;
                }
                if options.stall_after.is_some_and(|s| i >= s as usize) {
                    tx.closed().await;
                    return;
                }
                if let Some(d) = options.delay_ms {
                    tokio::select! {
                        () = tokio::time::sleep(std::time::Duration::from_millis(d.min(10_000))) => {}
                        () = tx.closed() => return,
                    }
                }
                let piece = if i + 1 < n.min(limit) {
                    format!("{w} ")
                } else {
                    w
                };
                sent.push_str(&piece);
                let chunk = Chunk {
                    text: Some(piece),
                    ..Chunk::default()
                };
                if tx.send(Ok(chunk)).await.is_err() {
                    return;
                }
                if options.fail == Some(MockFail::AfterOutput) {
                    let _ = tx
                        .send(Err(Error::Upstream(
                            "the mock backend failed mid-stream".into(),
                        )))
                        .await;
                    return;
                }
            }
            let last = Chunk {
                finish_reason: Some(if n > limit { "length" } else { "stop" }.into()),
                usage: Some(Usage {
                    prompt_tokens,
                    completion_tokens: estimate_tokens(&sent),
                }),
                ..Chunk::default()
            };
            let _ = tx.send(Ok(last)).await;
        });
        Ok(Box::pin(ChannelStream(rx)))
    }
}

fn embedding(text: &str) -> Vec<f32> {
    // FNV-1a over the bytes, one seed per dimension: deterministic and cheap.
    (0..DIMS)
        .map(|d| {
            let mut h: u32 = 0x811c_9dc5 ^ (d as u32);
            for b in text.bytes() {
                h = (h ^ u32::from(b)).wrapping_mul(0x0100_0193);
            }
            (h % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

#[async_trait]
impl InferenceBackend for MockBackend {
    async fn chat(&self, req: &ChatRequest) -> Result<ChunkStream> {
        let last_user = req
            .messages
            .iter()
            .rev()
            .find(|m| m.role == "user")
            .map_or("", |m| m.content.as_str());
        self.stream(
            last_user,
            req.prompt_estimate(),
            req.sampling.max_tokens,
            true,
        )
    }

    async fn complete(&self, req: &CompletionRequest) -> Result<ChunkStream> {
        self.stream(
            &req.prompt,
            estimate_tokens(&req.prompt),
            req.sampling.max_tokens,
            false,
        )
    }

    async fn embed(&self, req: &EmbeddingRequest) -> Result<Embeddings> {
        if self.options.fail.is_some() {
            return Err(Error::Upstream("the mock backend was told to fail".into()));
        }
        Ok(Embeddings {
            vectors: req.input.iter().map(|t| embedding(t)).collect(),
            usage: Usage {
                prompt_tokens: req.input.iter().map(|t| estimate_tokens(t)).sum(),
                completion_tokens: 0,
            },
        })
    }

    async fn models(&self) -> Result<Vec<String>> {
        Ok(vec![super::MOCK_ECHO.to_string()])
    }

    async fn health(&self) -> Result<()> {
        Ok(())
    }
}
