//! Tokens: `NativeVault` methods over [`TokensApi`](vault_core::TokensApi), and the records
//! they return. A rule crosses as `{ path, capabilities }` both ways; `index.js` checks the JS
//! shapes, capability names are checked by the same code the server uses
//! ([`TokenCreateBody::into_create`]), the rest by vault-core.
//!
//! The token a create returns crosses into JS as a plain string field; the JS wrapper moves it
//! into a private field of a `TokenCreated` object that redacts it from `util.inspect` and
//! `toJSON`, as it does a credential's value.

use std::time::Duration;

use napi::bindgen_prelude::Result;
use napi_derive::napi;
use vault_client::wire::service_api::{RuleBody, TokenCreateBody, Ttl};
use vault_core::{Error, PageRequest, Rule, TokenCreated, TokenInfo};

use crate::error::IntoNapi;
use crate::vault::{NativeVault, UnreadableRecord, limit_in, uint_in};

/// One rule of a token: the capabilities it grants on the resource paths its glob matches.
#[napi(object)]
pub struct RuleRecord {
    /// A glob over resource paths (`*` within a segment, `**` across segments).
    pub path: String,
    /// Capability names: `read`, `write`, `delete`, `list`, `admin`.
    pub capabilities: Vec<String>,
}

fn rules_out(rules: Vec<Rule>) -> Vec<RuleRecord> {
    rules
        .into_iter()
        .map(|r| RuleRecord {
            path: r.path,
            capabilities: r
                .capabilities
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
        })
        .collect()
}

fn ts(t: Option<vault_core::Timestamp>) -> Option<String> {
    t.map(|t| t.to_string())
}

/// A token just created: the token (shown this once) and its public info.
#[napi(object)]
pub struct TokenCreatedRecord {
    /// The token, `vault_sk_...` (the wrapper hides it from printing).
    pub token: String,
    /// Public id, `tok_...`.
    pub id: String,
    /// The name it was given.
    pub name: String,
    /// Its rules.
    pub rules: Vec<RuleRecord>,
    /// When it was created (RFC 3339).
    pub created_at: Option<String>,
    /// When it stops working (RFC 3339); absent: never.
    pub expires_at: Option<String>,
}

impl From<TokenCreated> for TokenCreatedRecord {
    fn from(c: TokenCreated) -> Self {
        TokenCreatedRecord {
            token: c.token.expose_secret().to_string(),
            id: c.info.id,
            name: c.info.name,
            rules: rules_out(c.info.rules),
            created_at: ts(c.info.created_at),
            expires_at: ts(c.info.expires_at),
        }
    }
}

/// A token as listed or looked up: never the token or its hash.
#[napi(object)]
pub struct TokenInfoRecord {
    /// Public id: `tok_...`, or `root` / `embedded` for those callers.
    pub id: String,
    /// The name it was given.
    pub name: String,
    /// Its rules.
    pub rules: Vec<RuleRecord>,
    /// When it was created (RFC 3339); absent for root and embedded.
    pub created_at: Option<String>,
    /// When it stops working (RFC 3339); absent: never.
    pub expires_at: Option<String>,
    /// When it was last used, to the minute (RFC 3339); absent: never.
    pub last_used_at: Option<String>,
    /// Whether it was revoked.
    pub revoked: bool,
}

impl From<TokenInfo> for TokenInfoRecord {
    fn from(i: TokenInfo) -> Self {
        TokenInfoRecord {
            id: i.id,
            name: i.name,
            rules: rules_out(i.rules),
            created_at: ts(i.created_at),
            expires_at: ts(i.expires_at),
            last_used_at: ts(i.last_used_at),
            revoked: i.revoked,
        }
    }
}

/// One page of tokens (`index.js` makes it an array with `next` and `unreadable`).
#[napi(object)]
pub struct TokenPageRecord {
    /// The tokens of this page that could be read, ordered by id.
    pub items: Vec<TokenInfoRecord>,
    /// Present when more follow: the `after` of the next page.
    pub next: Option<String>,
    /// The tokens of this page that could not be read (`name` is the token id).
    pub unreadable: Vec<UnreadableRecord>,
}

/// The outcome of a revoke.
#[napi(object)]
pub struct TokenRevokedRecord {
    /// The token revoked.
    pub id: String,
}

/// A time to live given as text (`"30d"`, `"1h 30m"`), parsed as the server parses the HTTP
/// body's `ttl`, or as milliseconds. `index.js` passes at most one of them, the milliseconds
/// as a non-negative safe integer; the range is vault-core's rule.
fn ttl_in(text: Option<String>, ms: Option<i64>) -> vault_core::Result<Option<Duration>> {
    if let Some(text) = text {
        return serde_json::from_value::<Ttl>(serde_json::Value::String(text))
            .map(|t| Some(t.0))
            .map_err(|_| {
                Error::invalid(
                    "ttl",
                    "must be a duration such as '30d' or '1h 30m' (or give ttlMs)",
                )
            });
    }
    Ok(uint_in(ms).map(Duration::from_millis))
}

#[napi]
impl NativeVault {
    /// Creates a token; the token is in the result only.
    #[napi]
    pub async fn create_token(
        &self,
        name: String,
        rules: Vec<RuleRecord>,
        ttl: Option<String>,
        ttl_ms: Option<i64>,
    ) -> Result<TokenCreatedRecord> {
        let api = self.api()?;
        let body = TokenCreateBody {
            name,
            rules: rules
                .into_iter()
                .map(|r| RuleBody {
                    path: r.path,
                    capabilities: r.capabilities,
                })
                .collect(),
            ttl: None,
            llm: Default::default(),
        };
        let mut create = body.into_create().napi()?;
        create.ttl = ttl_in(ttl, ttl_ms).napi()?;
        Ok(api.tokens().create(create).await.napi()?.into())
    }

    /// One page of the tokens the caller may manage, ordered by id.
    #[napi]
    pub async fn list_tokens(
        &self,
        limit: Option<i64>,
        after: Option<String>,
    ) -> Result<TokenPageRecord> {
        let api = self.api()?;
        let page = PageRequest::new(limit_in(limit), after);
        let list = api.tokens().list(page).await.napi()?;
        Ok(TokenPageRecord {
            items: list.items.into_iter().map(Into::into).collect(),
            next: list.next,
            unreadable: list
                .unreadable
                .into_iter()
                .map(|u| UnreadableRecord {
                    service: None,
                    code: u.error.code().to_string(),
                    message: u.error.to_string(),
                    name: u.name,
                })
                .collect(),
        })
    }

    /// Revokes token `id`: refused from its next call, on every surface.
    #[napi]
    pub async fn revoke_token(&self, id: String) -> Result<TokenRevokedRecord> {
        let api = self.api()?;
        let done = api.tokens().revoke(&id).await.napi()?;
        Ok(TokenRevokedRecord { id: done.id })
    }

    /// The caller's own token info (`root` / `embedded` for those callers).
    #[napi]
    pub async fn token_self(&self) -> Result<TokenInfoRecord> {
        let api = self.api()?;
        Ok(api.tokens().get_self().await.napi()?.into())
    }
}
