//! The model registry: which models the gateway serves, on which backend, under which upstream
//! name, with aliases, context windows and fallbacks. It is a versioned config (service
//! `inference`, id `models`: history, diff, rollback and compare-and-set come with it), whose
//! params are this document:
//!
//! ```json
//! {"backends": {"vllm": {"kind": "openai_compat", "base_url": "http://gpu:8000/v1",
//!                        "api_key": {"service": "inference", "key": "VLLM_API_KEY"}}},
//!  "models": {"llama-3-8b": {"backend": "vllm", "upstream": "meta-llama/Meta-Llama-3-8B",
//!                            "aliases": ["llama"], "context_window": 8192,
//!                            "fallback": "mock-echo"}}}
//! ```
//!
//! While it names no model, one model [`MOCK_ECHO`](super::MOCK_ECHO) on the mock backend is
//! served; registering any model replaces it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::mock::MockOptions;
use crate::error::{Error, Result};
use crate::names::{CredentialKey, ServiceName};

/// The config service the registry is kept under.
pub const SERVICE: &str = "inference";
/// The config id of the registry.
pub const CONFIG_ID: &str = "models";
/// Most models in the registry.
pub const MAX_MODELS: usize = 256;
/// Most aliases of one model.
pub const MAX_ALIASES: usize = 16;

/// Which kind of backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// Any OpenAI-compatible server (vLLM, a hosted provider).
    OpenaiCompat,
    /// The deterministic mock.
    Mock,
}

/// Where the vault keeps an upstream's API key: a credential of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// The credential's service.
    pub service: ServiceName,
    /// The credential's key.
    pub key: CredentialKey,
}

/// A backend of the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    /// Its kind.
    pub kind: BackendKind,
    /// `openai_compat`: the base URL (`https://api.openai.com/v1`, `http://gpu:8000/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// `openai_compat`: the credential holding its API key (none: no key sent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<KeyRef>,
    /// `mock`: how it behaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mock: Option<MockOptions>,
}

/// A model of the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The backend serving it.
    pub backend: String,
    /// The upstream's name for it (default: the model's id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// Other names it answers to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Its context window, in tokens (`max_tokens` above it is refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_window: Option<u32>,
    /// A model to answer instead when this one's upstream fails before any output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
}

/// The registry document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registry {
    /// Backends by name.
    #[serde(default)]
    pub backends: BTreeMap<String, BackendSpec>,
    /// Models by id.
    #[serde(default)]
    pub models: BTreeMap<String, ModelSpec>,
}

impl Registry {
    /// What is served while no model is registered: `mock-echo` on the mock backend.
    pub fn mock_echo() -> Registry {
        let mut r = Registry::default();
        r.backends.insert(
            "mock".into(),
            BackendSpec {
                kind: BackendKind::Mock,
                base_url: None,
                api_key: None,
                mock: None,
            },
        );
        r.models.insert(
            super::MOCK_ECHO.into(),
            ModelSpec {
                backend: "mock".into(),
                upstream: None,
                aliases: Vec::new(),
                context_window: Some(8192),
                fallback: None,
            },
        );
        r
    }

    /// Reads the registry from a config's params (`invalid`, field `registry...`).
    pub fn from_params(params: &crate::api::JsonObject) -> Result<Registry> {
        let r: Registry = serde_json::from_value(serde_json::Value::Object(params.clone()))
            .map_err(|e| Error::invalid("registry", e.to_string()))?;
        r.check()?;
        Ok(r)
    }

    /// Checks the document (`invalid`, naming the field): model ids and aliases are model
    /// names and unique, every backend and fallback named exists, URLs are http(s).
    pub fn check(&self) -> Result<()> {
        if self.models.len() > MAX_MODELS {
            return Err(Error::invalid(
                "registry.models",
                format!("at most {MAX_MODELS} models"),
            ));
        }
        for (name, b) in &self.backends {
            crate::names::check_name(&format!("registry.backends.{name}"), name)?;
            let field = |f: &str| format!("registry.backends.{name}.{f}");
            match b.kind {
                BackendKind::OpenaiCompat => {
                    let ok = b.base_url.as_deref().is_some_and(|u| {
                        (u.starts_with("http://") || u.starts_with("https://")) && u.len() <= 512
                    });
                    if !ok {
                        return Err(Error::invalid(
                            field("base_url"),
                            "must be an http:// or https:// URL of at most 512 bytes",
                        ));
                    }
                }
                BackendKind::Mock => {
                    if b.base_url.is_some() || b.api_key.is_some() {
                        return Err(Error::invalid(
                            field("kind"),
                            "a mock backend takes no base_url or api_key",
                        ));
                    }
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (id, m) in &self.models {
            let field = |f: &str| format!("registry.models.{id}.{f}");
            crate::guards::budget::check_model(id)
                .map_err(|_| Error::invalid(format!("registry.models.{id}"), "bad model id"))?;
            names.insert(id.as_str());
            if !self.backends.contains_key(&m.backend) {
                return Err(Error::invalid(field("backend"), "names no backend"));
            }
            if let Some(u) = &m.upstream {
                crate::guards::budget::check_model(u)
                    .map_err(|e| Error::invalid(field("upstream"), e.to_string()))?;
            }
            if m.aliases.len() > MAX_ALIASES {
                return Err(Error::invalid(
                    field("aliases"),
                    format!("at most {MAX_ALIASES}"),
                ));
            }
            if m.context_window == Some(0) {
                return Err(Error::invalid(field("context_window"), "must be positive"));
            }
            match &m.fallback {
                Some(f) if f == id || !self.models.contains_key(f) => {
                    return Err(Error::invalid(
                        field("fallback"),
                        "must name another model of the registry",
                    ));
                }
                _ => {}
            }
        }
        for (id, m) in &self.models {
            for a in &m.aliases {
                crate::guards::budget::check_model(a).map_err(|_| {
                    Error::invalid(format!("registry.models.{id}.aliases"), "bad alias")
                })?;
                if !names.insert(a.as_str()) {
                    return Err(Error::invalid(
                        format!("registry.models.{id}.aliases"),
                        format!("'{a}' is already a model id or alias"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The model `name` names (an id or an alias): its id and spec.
    pub fn resolve(&self, name: &str) -> Option<(&str, &ModelSpec)> {
        if let Some((id, m)) = self.models.get_key_value(name) {
            return Some((id.as_str(), m));
        }
        self.models
            .iter()
            .find(|(_, m)| m.aliases.iter().any(|a| a == name))
            .map(|(id, m)| (id.as_str(), m))
    }

    /// The id of the model `name` names, or `name` itself when it names none (what an
    /// operation on it is audited as).
    pub fn id_of(&self, name: &str) -> String {
        self.resolve(name).map_or(name, |(id, _)| id).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(v: serde_json::Value) -> Result<Registry> {
        let serde_json::Value::Object(m) = v else {
            unreachable!("an object")
        };
        Registry::from_params(&m)
    }

    #[test]
    fn resolves_ids_and_aliases_and_refuses_bad_documents() {
        let r = doc(serde_json::json!({
            "backends": {"m": {"kind": "mock"}},
            "models": {"a": {"backend": "m", "aliases": ["x"]}, "b": {"backend": "m", "fallback": "a"}}
        }))
        .expect("valid");
        assert_eq!(r.resolve("x").map(|(id, _)| id), Some("a"));
        assert_eq!(r.resolve("b").map(|(id, _)| id), Some("b"));
        assert!(r.resolve("c").is_none());
        for (bad, field) in [
            (
                serde_json::json!({"models": {"a": {"backend": "nope"}}}),
                "registry.models.a.backend",
            ),
            (
                serde_json::json!({"backends": {"m": {"kind": "mock"}}, "models": {"a": {"backend": "m", "fallback": "a"}}}),
                "registry.models.a.fallback",
            ),
            (
                serde_json::json!({"backends": {"m": {"kind": "mock"}}, "models": {"a": {"backend": "m"}, "b": {"backend": "m", "aliases": ["a"]}}}),
                "registry.models.b.aliases",
            ),
            (
                serde_json::json!({"backends": {"o": {"kind": "openai_compat", "base_url": "ftp://x"}}}),
                "registry.backends.o.base_url",
            ),
            (serde_json::json!({"modles": {}}), "registry"),
        ] {
            assert_eq!(doc(bad).expect_err(field).field(), Some(field));
        }
    }
}
