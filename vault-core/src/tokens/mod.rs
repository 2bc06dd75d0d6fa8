//! Tokens with scoped policies: what a token is, the operations on tokens ([`TokensApi`]),
//! and the policy engine ([`policy`]).
//!
//! A token is `vault_sk_` + 48 random base62 characters, shown once when created and stored
//! only as its SHA-256 (lookup by hash). It has a public id (`tok_` + 12 base62 characters), a
//! name, rules, a creation time, an optional expiry, a last-use time (updated at most once a
//! minute) and a revoked flag. The server's `VVAULT_SERVICE_TOKEN` is not one of these: it is
//! the root token ([`Caller::Root`](crate::Caller::Root)), allowed everything.

mod embedded;
pub mod policy;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use embedded::Tokens;
pub(crate) use embedded::{check_live, llm_limits};
pub use policy::{Policy, Rule};

use crate::clock::Timestamp;
use crate::crypto::SecretString;
use crate::error::{Error, Result};
use crate::names::check_name;
use crate::page::{Page, PageRequest};

/// What every token starts with.
pub const TOKEN_PREFIX: &str = "vault_sk_";
/// Random base62 characters after [`TOKEN_PREFIX`].
pub const TOKEN_RANDOM_CHARS: usize = 48;
/// What every token id starts with.
pub const ID_PREFIX: &str = "tok_";
/// Random base62 characters after [`ID_PREFIX`].
pub const ID_RANDOM_CHARS: usize = 12;
/// Names a token may not take: the actors the audit log names without a token.
pub const RESERVED_NAMES: [&str; 3] = ["root", "embedded", "anonymous"];
/// Longest accepted time to live (10 years).
pub const MAX_TTL: Duration = Duration::from_secs(3650 * 86_400);
/// How often at most a token's `last_used_at` is written.
pub const LAST_USED_EVERY: Duration = Duration::from_secs(60);

/// A request to create a token.
#[derive(Debug, Clone)]
pub struct TokenCreate {
    /// A name for people (the rules of names: 1–128 of `[A-Za-z0-9_.:-]`).
    pub name: String,
    /// What it may do.
    pub rules: Vec<Rule>,
    /// How long it lives; `None`: until revoked (or until its creator's expiry, if earlier).
    pub ttl: Option<Duration>,
    /// Its limits on model calls through the inference gateway (none: unlimited).
    pub llm: LlmLimits,
}

/// A token's limits on model calls (`invoke` on `llm/<model>`), set when it is created. `None`
/// is no cap. Calendar-aligned UTC windows: the minute, the hour, the day. A token created by
/// a token gets at most its creator's limits, and stays bound to its creator's account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmLimits {
    /// Calls per minute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpm: Option<u32>,
    /// Calls per hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hourly: Option<u32>,
    /// Calls per day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<u32>,
    /// Tokens (prompt + completion) per day: a call is admitted while the day's settled calls
    /// used fewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_tokens: Option<u64>,
    /// A guards account whose LLM-call budget the token's calls also count in (one usage
    /// fact, counted in both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<crate::names::ServiceName>,
}

impl LlmLimits {
    /// Whether no limit is set.
    pub fn is_unlimited(&self) -> bool {
        *self == LlmLimits::default()
    }

    /// `forbidden` unless `child` gives no more than these limits: every cap set here is set
    /// there and not higher, and the account is the same.
    pub fn check_covers(&self, child: &LlmLimits) -> Result<()> {
        fn within<T: PartialOrd + Copy + std::fmt::Display>(
            name: &str,
            mine: Option<T>,
            theirs: Option<T>,
        ) -> Result<()> {
            match (mine, theirs) {
                (None, _) => Ok(()),
                (Some(m), Some(t)) if t <= m => Ok(()),
                (Some(m), _) => Err(Error::Forbidden(format!(
                    "llm.{name} must be set and at most the creating token's own ({m})"
                ))),
            }
        }
        within("rpm", self.rpm, child.rpm)?;
        within("hourly", self.hourly, child.hourly)?;
        within("daily", self.daily, child.daily)?;
        within("daily_tokens", self.daily_tokens, child.daily_tokens)?;
        if self.account.is_some() && self.account != child.account {
            return Err(Error::Forbidden(
                "llm.account must be the creating token's own account".into(),
            ));
        }
        Ok(())
    }
}

impl TokenCreate {
    /// Checks the request (`invalid` naming the field), returning its policy.
    pub fn check(&self) -> Result<Policy> {
        check_name("name", &self.name)?;
        // The audit log names actors by id or name: a token must not pass for another actor.
        if RESERVED_NAMES.contains(&self.name.as_str()) || self.name.starts_with(ID_PREFIX) {
            return Err(Error::invalid(
                "name",
                format!(
                    "is reserved ({} and names starting with {ID_PREFIX} name other actors)",
                    RESERVED_NAMES.join(", ")
                ),
            ));
        }
        if let Some(ttl) = self.ttl
            && (ttl.is_zero() || ttl > MAX_TTL)
        {
            return Err(Error::invalid(
                "ttl",
                "must be between 1 second and 3650 days",
            ));
        }
        for (name, v) in [
            ("llm.rpm", self.llm.rpm),
            ("llm.hourly", self.llm.hourly),
            ("llm.daily", self.llm.daily),
        ] {
            if v == Some(0) {
                return Err(Error::invalid(
                    name,
                    "must be at least 1 (leave it out: no cap)",
                ));
            }
        }
        if self.llm.daily_tokens == Some(0) {
            return Err(Error::invalid(
                "llm.daily_tokens",
                "must be at least 1 (leave it out: no cap)",
            ));
        }
        Policy::new(self.rules.clone())
    }
}

/// A token as listed: everything but the token itself (and its hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// Public id (`tok_...`; `root` and `embedded` for those callers).
    pub id: String,
    /// Name given at creation.
    pub name: String,
    /// Its rules.
    pub rules: Vec<Rule>,
    /// When it was created (`None` for root and embedded).
    pub created_at: Option<Timestamp>,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was last used (to the minute).
    pub last_used_at: Option<Timestamp>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Its limits on model calls (none set: unlimited).
    #[serde(default, skip_serializing_if = "LlmLimits::is_unlimited")]
    pub llm: LlmLimits,
}

/// A token just created: the token (shown once) and its info.
#[derive(Debug, Clone)]
pub struct TokenCreated {
    /// The token. It is not stored; lose it and create another.
    pub token: SecretString,
    /// Its public info.
    pub info: TokenInfo,
}

/// The outcome of a revoke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRevoked {
    /// The token revoked.
    pub id: String,
}

/// Checks a token id given as input (`invalid`, field `id`).
pub fn check_token_id(id: &str) -> Result<()> {
    let ok = id.strip_prefix(ID_PREFIX).is_some_and(|r| {
        r.len() == ID_RANDOM_CHARS && r.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "id",
            format!("must be '{ID_PREFIX}' followed by {ID_RANDOM_CHARS} letters or digits"),
        ))
    }
}

/// Token management. Creating, listing and revoking need `admin` on `tokens/...`; a token
/// creates only tokens whose rules are within its own.
#[async_trait]
pub trait TokensApi: Send + Sync {
    /// Creates a token; the token itself is in the result only.
    async fn create(&self, create: TokenCreate) -> Result<TokenCreated>;

    /// One page of tokens, by id (never a token or its hash).
    async fn list(&self, page: PageRequest) -> Result<Page<TokenInfo>>;

    /// The calling token's own info (`root` / `embedded` for those callers).
    async fn get_self(&self) -> Result<TokenInfo>;

    /// Revokes a token: every surface refuses it from its next request. Revoking a revoked
    /// token is not an error.
    async fn revoke(&self, id: &str) -> Result<TokenRevoked>;
}
