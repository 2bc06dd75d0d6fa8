//! The embedded tokens: storage layout, authentication and management over the barrier.
//!
//! Store layout: head `tok/h/<id>` (sealed: name, rules, times, revoked flag, the token's
//! SHA-256) and a clear index `tok/x/<sha256 hex>` whose value is the id, to find a presented
//! token's head. The head is tracked by the freshness ledger, so a revocation cannot be rolled
//! back by whoever can write the store.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{
    ID_PREFIX, ID_RANDOM_CHARS, LAST_USED_EVERY, LlmLimits, Policy, Rule, TOKEN_PREFIX,
    TOKEN_RANDOM_CHARS, TokenCreate, TokenCreated, TokenInfo, TokenRevoked, TokensApi,
    check_token_id,
};
use crate::clock::Timestamp;
use crate::context::{Caller, Capability, Ctx, Operation};
use crate::crypto::{SecretString, constant_time_eq, random_base62, sha256_hex};
use crate::error::{Error, Result};
use crate::page::{Page, PageRequest};
use crate::records::{
    Visible, commit_unless_changed, head_key, head_prefix, read_head, read_page, seal_json,
};
use crate::store::{Condition, Write};

const FAMILY: &str = "tok";

#[derive(Clone, Serialize, Deserialize)]
struct Stored {
    name: String,
    rules: Vec<Rule>,
    created_at: i64,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    revoked: bool,
    /// SHA-256 of the token, hex.
    hash: String,
    /// Id of the caller that created it.
    created_by: String,
    /// Its limits on model calls.
    #[serde(default, skip_serializing_if = "LlmLimits::is_unlimited")]
    llm: LlmLimits,
}

impl Stored {
    fn check_live(&self, now: i64) -> Result<()> {
        if self.revoked {
            return Err(Error::Unauthorized("the token was revoked".into()));
        }
        if self.expires_at.is_some_and(|e| now >= e) {
            return Err(Error::Unauthorized("the token expired".into()));
        }
        Ok(())
    }

    fn info(&self, id: &str) -> TokenInfo {
        TokenInfo {
            id: id.to_string(),
            name: self.name.clone(),
            rules: self.rules.clone(),
            created_at: Some(Timestamp::from_millis(self.created_at)),
            expires_at: self.expires_at.map(Timestamp::from_millis),
            last_used_at: self.last_used_at.map(Timestamp::from_millis),
            revoked: self.revoked,
            llm: self.llm.clone(),
        }
    }
}

fn index_key(hash: &str) -> Vec<u8> {
    format!("{FAMILY}/x/{hash}").into_bytes()
}

/// `unauthorized` unless the token `id` exists, is not revoked and has not expired at `now`:
/// checked by the choke point before every operation of a token caller, so that a revocation
/// applies from the next operation of every handle, not only of new requests.
pub(crate) async fn check_live(barrier: &crate::crypto::Barrier, id: &str, now: i64) -> Result<()> {
    let stored = read_head::<Stored>(barrier, &head_key(FAMILY, "all", id))
        .await?
        .ok_or_else(unauthorized)?
        .record;
    stored.check_live(now)
}

/// The LLM limits of the live token `id` (`unauthorized` when it is not live at `now`).
pub(crate) async fn llm_limits(
    barrier: &crate::crypto::Barrier,
    id: &str,
    now: i64,
) -> Result<LlmLimits> {
    let stored = read_head::<Stored>(barrier, &head_key(FAMILY, "all", id))
        .await?
        .ok_or_else(unauthorized)?
        .record;
    stored.check_live(now)?;
    Ok(stored.llm)
}

fn unauthorized() -> Error {
    Error::Unauthorized("Invalid or missing service token".into())
}

/// The tokens of an embedded vault, as seen by one caller.
#[derive(Clone)]
pub struct Tokens {
    ctx: Ctx,
}

impl Tokens {
    pub(crate) fn new(ctx: Ctx) -> Self {
        Tokens { ctx }
    }

    /// Who `presented` is: the caller of a live token (not revoked, not expired), with its
    /// policy. `unauthorized` otherwise, saying whether it expired or was revoked but never
    /// echoing it. Updates `last_used_at` at most once a minute. A failed authentication is
    /// audited (op `auth`, actor the token's id when the token is one of the vault's,
    /// `anonymous` otherwise); a successful one is not (the operation that follows is).
    pub async fn authenticate(&self, presented: &str) -> Result<Caller> {
        let mut known = None;
        let outcome = self.authenticate_inner(presented, &mut known).await;
        if let Err(e @ Error::Unauthorized(_)) = &outcome {
            self.ctx.record_failed_auth(known, e.code()).await?;
        }
        outcome
    }

    async fn authenticate_inner(
        &self,
        presented: &str,
        known: &mut Option<(String, String)>,
    ) -> Result<Caller> {
        let well_formed = presented.strip_prefix(TOKEN_PREFIX).is_some_and(|r| {
            r.len() == TOKEN_RANDOM_CHARS && r.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if !well_formed {
            return Err(unauthorized());
        }
        let hash = sha256_hex(presented.as_bytes())?;
        let barrier = self.ctx.barrier();
        let Some(id) = barrier.read_sealed(&index_key(&hash)).await? else {
            return Err(unauthorized());
        };
        let id = String::from_utf8(id).map_err(|_| Error::Integrity)?;
        check_token_id(&id).map_err(|_| Error::Integrity)?;
        let head = head_key(FAMILY, "all", &id);
        let Some(current) = read_head::<Stored>(barrier, &head).await? else {
            return Err(unauthorized());
        };
        let stored = &current.record;
        if !constant_time_eq(stored.hash.as_bytes(), hash.as_bytes()) {
            return Err(unauthorized());
        }
        *known = Some((id.clone(), stored.name.clone()));
        let now = self.ctx.clock().now().as_millis();
        stored.check_live(now)?;
        let every = i64::try_from(LAST_USED_EVERY.as_millis()).unwrap_or(i64::MAX);
        if stored.last_used_at.is_none_or(|t| now - t >= every) {
            let mut used = stored.clone();
            used.last_used_at = Some(now);
            // Best effort: losing this race to another request (or a revoke) changes nothing.
            let write = Write::Put(head.clone(), seal_json(barrier, &head, &used)?);
            barrier
                .commit(
                    vec![Condition::Equals(head.clone(), current.raw.clone())],
                    vec![write],
                )
                .await?;
        }
        Ok(Caller::Token {
            id,
            name: stored.name.clone(),
            policy: Arc::new(Policy::new(stored.rules.clone())?),
        })
    }

    async fn create_inner(&self, create: &TokenCreate, id: &str) -> Result<TokenCreated> {
        let policy = create.check()?;
        let now = self.ctx.clock().now();
        let mut expires_at = create.ttl.map(|ttl| {
            now.as_millis()
                .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX))
        });
        if let Caller::Token {
            policy: mine,
            id: my_id,
            ..
        } = self.ctx.caller()
        {
            mine.check_covers(&policy)?;
            let me = self.stored(my_id).await?;
            if let Some(me) = &me {
                me.llm.check_covers(&create.llm)?;
            }
            // A token's children do not outlive it.
            let my_expiry = me.and_then(|s| s.expires_at);
            if let Some(mine) = my_expiry {
                expires_at = Some(expires_at.map_or(mine, |e| e.min(mine)));
            }
        }
        let token = SecretString::new(format!(
            "{TOKEN_PREFIX}{}",
            random_base62(TOKEN_RANDOM_CHARS)?
        ));
        let hash = sha256_hex(token.expose_secret().as_bytes())?;
        let stored = Stored {
            name: create.name.clone(),
            rules: create.rules.clone(),
            created_at: now.as_millis(),
            expires_at,
            last_used_at: None,
            revoked: false,
            hash: hash.clone(),
            created_by: self.ctx.caller().id().to_string(),
            llm: create.llm.clone(),
        };
        let head = head_key(FAMILY, "all", id);
        let writes = vec![
            Write::Put(head.clone(), seal_json(self.ctx.barrier(), &head, &stored)?),
            Write::Put(index_key(&hash), id.as_bytes().to_vec()),
        ];
        if !self
            .ctx
            .barrier()
            .commit(vec![Condition::Absent(head.clone())], writes)
            .await?
        {
            return Err(Error::Conflict("a token with this id exists; retry".into()));
        }
        Ok(TokenCreated {
            token,
            info: stored.info(id),
        })
    }

    async fn stored(&self, id: &str) -> Result<Option<Stored>> {
        Ok(
            read_head::<Stored>(self.ctx.barrier(), &head_key(FAMILY, "all", id))
                .await?
                .map(|h| h.record),
        )
    }

    async fn revoke_inner(&self, id: &str) -> Result<TokenRevoked> {
        let head = head_key(FAMILY, "all", id);
        commit_unless_changed(
            self.ctx.barrier(),
            &head,
            false,
            || format!("token '{id}'"),
            |current: Option<crate::records::Head<Stored>>| {
                let Some(current) = current else {
                    return Err(Error::NotFound(format!("Token '{id}' not found")));
                };
                let mut stored = current.record;
                stored.revoked = true;
                let sealed = seal_json(self.ctx.barrier(), &head, &stored)?;
                Ok((vec![Write::Put(head.clone(), sealed)], ()))
            },
        )
        .await?;
        Ok(TokenRevoked { id: id.to_string() })
    }
}

#[async_trait]
impl TokensApi for Tokens {
    async fn create(&self, create: TokenCreate) -> Result<TokenCreated> {
        let id = format!("{ID_PREFIX}{}", random_base62(ID_RANDOM_CHARS)?);
        let operation = Operation::new("tokens.create", Capability::Admin, format!("tokens/{id}"));
        self.ctx
            .run(operation, self.create_inner(&create, &id))
            .await
    }

    async fn list(&self, page: PageRequest) -> Result<Page<TokenInfo>> {
        let operation = Operation::new("tokens.list", Capability::Admin, "tokens/*".into());
        self.ctx
            .run(operation, async {
                let prefix = head_prefix(FAMILY, "all");
                let visible = Visible {
                    capability: Capability::Admin,
                    resource: "tokens",
                };
                read_page(&self.ctx, &prefix, &page, visible, |head, id| async move {
                    Ok(read_head::<Stored>(self.ctx.barrier(), &head)
                        .await?
                        .map(|h| h.record.info(&id)))
                })
                .await
            })
            .await
    }

    async fn get_self(&self) -> Result<TokenInfo> {
        // Any caller may see itself: no capability needed, but it is still recorded.
        let caller = self.ctx.caller().clone();
        let operation = Operation::new("tokens.self", Capability::Read, "tokens/self".into());
        self.ctx
            .run_unchecked(operation, async {
                match &caller {
                    Caller::Token { id, .. } => self
                        .stored(id)
                        .await?
                        .map(|s| s.info(id))
                        .ok_or_else(unauthorized),
                    other => Ok(TokenInfo {
                        id: other.id().to_string(),
                        name: other.id().to_string(),
                        rules: vec![Rule {
                            path: "**".into(),
                            capabilities: Capability::ALL.to_vec(),
                        }],
                        created_at: None,
                        expires_at: None,
                        last_used_at: None,
                        revoked: false,
                        llm: LlmLimits::default(),
                    }),
                }
            })
            .await
    }

    async fn revoke(&self, id: &str) -> Result<TokenRevoked> {
        check_token_id(id)?;
        let operation = Operation::new("tokens.revoke", Capability::Admin, format!("tokens/{id}"));
        self.ctx.run(operation, self.revoke_inner(id)).await
    }
}
