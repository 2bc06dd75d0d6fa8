//! Remote tokens: [`TokensApi`] over `/api/vault/tokens`. Never cached; the token a create
//! returns is kept only in the [`TokenCreated`] handed back (and the wiped response buffer).

use std::sync::Arc;

use async_trait::async_trait;
use reqwest::Method;
use vault_core::crypto::SecretString;
use vault_core::tokens::check_token_id;
use vault_core::{
    Page, PageRequest, Result, TokenCreate, TokenCreated, TokenInfo, TokenRevoked, TokensApi,
};

use crate::transport::Transport;
use crate::wire::service_api::{
    TOKEN, TOKEN_SELF, TOKENS, TokenCreateBody, TokenCreatedReply, TokenListReply, TokenPageQuery,
    TokenRevokedReply, TokenSelfReply, fill_path,
};

/// The tokens of a remote vault, managed with the client's token.
pub struct RemoteTokens {
    pub(crate) transport: Arc<Transport>,
}

#[async_trait]
impl TokensApi for RemoteTokens {
    async fn create(&self, create: TokenCreate) -> Result<TokenCreated> {
        // vault-core's rules, checked before sending (as embedded; see RemoteCredentials::put).
        create.check()?;
        let url = self.transport.url(TOKENS, &())?;
        let body = TokenCreateBody::from_create(&create);
        let r: TokenCreatedReply<'static> = self
            .transport
            .call_json(Method::POST, url, Some(&body))
            .await?;
        Ok(TokenCreated {
            token: SecretString::new(r.token.into_owned()),
            info: TokenInfo {
                id: r.id,
                name: r.name,
                rules: r.rules,
                created_at: r.created_at,
                expires_at: r.expires_at,
                last_used_at: None,
                revoked: false,
                llm: r.llm,
            },
        })
    }

    async fn list(&self, page: PageRequest) -> Result<Page<TokenInfo>> {
        page.checked_limit()?;
        page.checked_after()?;
        let url = self.transport.url(TOKENS, &TokenPageQuery::new(&page))?;
        let r: TokenListReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.into_page())
    }

    async fn get_self(&self) -> Result<TokenInfo> {
        let url = self.transport.url(TOKEN_SELF, &())?;
        let r: TokenSelfReply = self
            .transport
            .call_json(Method::GET, url, None::<&()>)
            .await?;
        Ok(r.info.into())
    }

    async fn revoke(&self, id: &str) -> Result<TokenRevoked> {
        check_token_id(id)?;
        let url = self.transport.url(&fill_path(TOKEN, &[("id", id)]), &())?;
        let r: TokenRevokedReply = self
            .transport
            .call_json(Method::DELETE, url, None::<&()>)
            .await?;
        Ok(TokenRevoked { id: r.id })
    }
}
