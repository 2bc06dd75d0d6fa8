//! The `/api/vault/*` dialect: the service API the trading engine already uses. Paths and
//! shapes come from `vault_client::wire::service_api` (shared with the remote client); errors
//! render as `{"code","error","field","success":false}`; the token is
//! `Authorization: Bearer <t>` or `X-Service-Token: <t>`; health is open.

mod audit;
mod constructs;
mod error;
mod guards;
mod handlers;
mod jobs;
mod lifecycle;
mod tokens;

use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::{delete, get, post};
use vault_client::wire::service_api as wire;
use vault_core::Vault;

pub use error::{AnsweredError, ApiError, one_line};

use super::Dialect;
use crate::server::token_layer::{self, TokenLayer};
use crate::server::{AppState, auth, extract};

/// The `/api/vault/*` dialect marker.
#[derive(Debug)]
pub struct ServiceApi;

impl Dialect for ServiceApi {
    type Error = ApiError;
}

/// A JSON body; rejections in this dialect's format.
pub type Body<T> = extract::JsonBody<T, ServiceApi>;
/// A query string; rejections in this dialect's format.
pub type Query<T> = extract::ApiQuery<T, ServiceApi>;
/// Path parameters; rejections in this dialect's format.
pub type Path<T> = extract::ApiPath<T, ServiceApi>;

/// The vault as seen by the authenticated caller of this request.
pub struct CallerVault(pub Vault);

impl FromRequestParts<AppState> for CallerVault {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(CallerVault(token_layer::caller_vault(parts, state)?.0))
    }
}

/// Lets the request through only with a valid token (`Authorization: Bearer` or
/// `X-Service-Token`), echoing the request id as `X-Request-Id`; see [`TokenLayer`].
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    const LAYER: TokenLayer = TokenLayer {
        presented: auth::presented_tokens,
        audit_matched_route: true,
        echo_request_id: true,
    };
    LAYER.run::<ServiceApi>(state, req, next).await
}

/// The dialect's routes: health open, everything else behind the token.
pub fn routes(state: AppState) -> Router<AppState> {
    let protected = Router::new()
        .route(
            wire::CONFIGS,
            get(handlers::list_configs).post(handlers::put_config),
        )
        .route(
            wire::CONFIG,
            get(handlers::get_config).delete(handlers::delete_config),
        )
        .route(wire::CONFIG_WATCH, get(handlers::watch_configs))
        .route(wire::CONFIG_HISTORY, get(handlers::config_history))
        .route(wire::CONFIG_DIFF, get(handlers::config_diff))
        .route(wire::CONFIG_ROLLBACK, post(handlers::rollback_config))
        .route(
            wire::CONFIG_SETTINGS,
            get(handlers::get_config_settings).post(handlers::set_config_settings),
        )
        .route(
            wire::CREDENTIALS,
            get(handlers::list_credentials).post(handlers::put_credential),
        )
        .route(
            wire::CREDENTIAL,
            get(handlers::get_credential).delete(handlers::delete_credential),
        )
        .route(wire::CREDENTIAL_VERSIONS, get(lifecycle::versions))
        .route(wire::CREDENTIAL_VERSION_OP, post(lifecycle::change_version))
        .route(wire::CREDENTIAL_ROTATE, post(lifecycle::rotate))
        .route(wire::CREDENTIAL_SETTINGS, post(lifecycle::settings))
        .route(wire::CREDENTIALS_DUE, get(lifecycle::due))
        .route(
            wire::TOKENS,
            get(tokens::list_tokens).post(tokens::create_token),
        )
        .route(wire::TOKEN_SELF, get(tokens::token_self))
        .route(wire::TOKEN, delete(tokens::revoke_token))
        .route(wire::CONSTRUCTS, get(constructs::list))
        .route(
            wire::CONSTRUCT_IMPORT,
            post(constructs::import)
                .get(constructs::get_capsule_of_import)
                .put(constructs::put_capsule_of_import),
        )
        .route(
            wire::CONSTRUCT,
            get(constructs::get_capsule).put(constructs::put_capsule),
        )
        .route(wire::CONSTRUCT_FILES, get(constructs::list_files))
        .route(
            wire::CONSTRUCT_FILE,
            get(constructs::get_file)
                .put(constructs::put_file)
                .delete(constructs::delete_file),
        )
        .route(
            wire::CONSTRUCT_TRANSCRIPT,
            get(constructs::transcript).post(constructs::append),
        )
        .route(wire::CONSTRUCT_EXPORT, get(constructs::export))
        .route(
            wire::GUARD_POLICY,
            get(guards::get_policy).put(guards::put_policy),
        )
        .route(wire::GUARD_POLICY_DIFF, get(guards::policy_diff))
        .route(wire::GUARD_POLICY_ROLLBACK, post(guards::policy_rollback))
        .route(wire::GUARD_DECIDE, post(guards::decide))
        .route(
            wire::GUARD_PROPOSALS,
            get(guards::proposals).post(guards::propose),
        )
        .route(wire::GUARD_PROPOSALS_SWEEP, post(guards::sweep_proposals))
        .route(wire::GUARD_EXECUTIONS, get(guards::executions))
        .route(
            wire::GUARD_EXECUTION,
            get(guards::get_execution).post(guards::update_execution),
        )
        .route(wire::GUARD_DECISIONS, get(guards::decisions))
        .route(
            wire::GUARD_STATE,
            get(guards::get_state).put(guards::set_state),
        )
        .route(wire::GUARD_OVERRIDES, post(guards::create_override))
        .route(
            wire::GUARD_BUDGET_LLM,
            get(guards::llm_budget).post(guards::admit_llm_call),
        )
        .route(wire::JOBS, get(jobs::list).post(jobs::create))
        .route(wire::JOBS_CLAIM, post(jobs::claim))
        .route(wire::JOBS_SWEEP, post(jobs::sweep))
        .route(wire::JOB, get(jobs::get))
        .route(wire::JOB_RENEW, post(jobs::renew))
        .route(wire::JOB_RELEASE, post(jobs::release))
        .route(wire::AUDIT, get(audit::query))
        .route(wire::AUDIT_EXPORT, get(audit::export))
        .route(wire::AUDIT_VERIFY, get(audit::verify))
        .route_layer(axum::middleware::from_fn_with_state(state, require_token));
    Router::new()
        .route(wire::HEALTH, get(handlers::health))
        .merge(protected)
}

/// The answer for a path no route serves.
pub async fn no_route() -> ApiError {
    handlers::no_route().await
}

/// The answer for a known path with an unsupported method.
pub async fn method_not_allowed() -> ApiError {
    handlers::method_not_allowed().await
}
