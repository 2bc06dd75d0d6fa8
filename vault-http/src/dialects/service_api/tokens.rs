//! The `/api/vault/tokens` handlers: parse, call the caller's vault through [`TokensApi`],
//! answer with the wire types. Who may do what is decided in vault-core.

use std::borrow::Cow;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vault_client::wire::service_api::{
    TokenCreateBody, TokenCreatedReply, TokenListReply, TokenPageQuery, TokenRevokedReply,
    TokenSelfReply,
};
use vault_core::prelude::*;

use super::{ApiError, Body, CallerVault, Path, Query};
use crate::server::extract::{ApiPath, ApiQuery, JsonBody};

type ApiResult = Result<Response, ApiError>;

/// `POST /api/vault/tokens`: creates a token (201); the token is in this answer only.
pub async fn create_token(
    CallerVault(vault): CallerVault,
    JsonBody(body, ..): Body<TokenCreateBody>,
) -> ApiResult {
    let created = vault.tokens().create(body.into_create()?).await?;
    let info = created.info;
    // The token is borrowed into the body: the only copy outside the wiped secret.
    let reply = TokenCreatedReply {
        created_at: info.created_at,
        expires_at: info.expires_at,
        id: info.id,
        name: info.name,
        rules: info.rules,
        llm: info.llm,
        success: true,
        token: Cow::Borrowed(created.token.expose_secret()),
    };
    Ok((StatusCode::CREATED, Json(reply)).into_response())
}

/// `GET /api/vault/tokens[?limit=&after=]`: one page of tokens, never a token or its hash.
pub async fn list_tokens(
    CallerVault(vault): CallerVault,
    ApiQuery(q, ..): Query<TokenPageQuery>,
) -> ApiResult {
    let page = vault.tokens().list(q.page()).await?;
    Ok(Json(TokenListReply::new(page)).into_response())
}

/// `GET /api/vault/tokens/self`: the calling token's own info.
pub async fn token_self(CallerVault(vault): CallerVault) -> ApiResult {
    let info = vault.tokens().get_self().await?;
    Ok(Json(TokenSelfReply {
        info: info.into(),
        success: true,
    })
    .into_response())
}

/// `DELETE /api/vault/tokens/{id}`: revokes a token, from its next request on.
pub async fn revoke_token(
    CallerVault(vault): CallerVault,
    ApiPath(id, ..): Path<String>,
) -> ApiResult {
    let r = vault.tokens().revoke(&id).await?;
    Ok(Json(TokenRevokedReply {
        action: "revoked".to_string(),
        id: r.id,
        success: true,
    })
    .into_response())
}
