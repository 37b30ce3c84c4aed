//! API tokens: mint (the secret is shown once), list, revoke. An admin may
//! mint a token for another user, e.g. a CI bot.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_store::{Timestamp, UserId, Write, Written};

use crate::auth::{Caller, Secret};
use crate::dto::{self, done, required_text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdempotencyKeyHeader, JsonBody, NoQuery, PageQuery, Query, TokenPath};
use crate::idempotent::{self, Retry};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::routes::page_of;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create, list))
        .routes(routes!(delete))
}

#[utoipa::path(
    post, path = "/v1/tokens", tag = "tokens", operation_id = "create_token",
    summary = "Mint a token (the secret is shown once)",
    description = "For the caller, or (admins only) for the user named by `user_id`, e.g. a CI bot. A non-admin naming another user gets 403; an unknown `user_id` is a 422.",
    params(IdempotencyKeyHeader),
    request_body = api::CreateToken,
    responses((status = 201, description = "Minted: `token` is the secret, shown only now.", body = NewTokenData),
        Unauthorized, Forbidden, JsonErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<api::CreateToken>,
) -> ApiResult<Response> {
    let retry = Retry::of(key, &Method::POST, &uri, &body.raw);
    let b = body.value;
    let mut errors = Vec::new();
    let name = required_text("name", &b.name, &mut errors);
    done(errors)?;
    let owner = match b.user_id {
        None => caller.user.id,
        Some(raw) => {
            let id: UserId = raw
                .parse()
                .map_err(|e: verdict_store::BadId| ApiError::invalid("user_id", e.to_string()))?;
            if id != caller.user.id {
                caller.require_admin()?;
                state.store.get_user(id).await.map_err(|e| match e {
                    verdict_store::StoreError::NotFound => {
                        ApiError::invalid("user_id", format!("{id} is not a user"))
                    }
                    other => other.into(),
                })?;
            }
            id
        }
    };
    let secret = Secret::generate()?;
    if let Some(retry) = retry {
        // The answer (with its secret) is kept for the key's lifetime, so a
        // client that lost it gets the same secret back; a replay's own
        // fresh secret is never stored.
        let hash = secret.hash();
        let secret = secret.expose().to_string();
        let write = Write::CreateToken {
            user: owner,
            name,
            hash,
        };
        return idempotent::write(&state, &caller, retry, write, move |w| match w {
            Written::Token(t) => Some((StatusCode::CREATED, Some(minted(t, &secret)))),
            _ => None,
        })
        .await;
    }
    let token = state
        .store
        .create_token(owner, name, secret.hash(), Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(minted(&token, secret.expose()))).into_response())
}

/// The answer to a minted token: the token, with its secret.
fn minted(token: &verdict_store::Token, secret: &str) -> api::Data<api::NewToken> {
    api::Data {
        data: api::NewToken {
            id: token.id.to_string(),
            name: token.name.clone(),
            user_id: token.user_id.to_string(),
            created_at: token.created_at.to_string(),
            token: secret.to_string(),
        },
    }
}

#[utoipa::path(
    get, path = "/v1/tokens", tag = "tokens", operation_id = "list_tokens",
    summary = "The caller's tokens",
    params(PageQuery),
    responses((status = 200, description = "A page of tokens (never their secrets).", body = TokenPage),
        Unauthorized, Invalid),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(paging): Query<PageQuery>,
) -> ApiResult<Json<api::Page<api::Token>>> {
    let page = paging.page();
    let tokens = state.store.list_tokens(caller.user.id).await?;
    Ok(Json(page_of(tokens.iter().map(dto::token).collect(), page)))
}

#[utoipa::path(
    delete, path = "/v1/tokens/{tid}", tag = "tokens", operation_id = "delete_token",
    summary = "Revoke a token (one's own; admins any)",
    params(TokenPath),
    responses((status = 204, description = "Revoked."), Unauthorized, NotFound, Invalid),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    TokenPath { tid: id }: TokenPath,
    _: NoQuery,
) -> ApiResult<StatusCode> {
    let token = state.store.get_token(id).await?;
    if token.user_id != caller.user.id && !caller.user.admin {
        return Err(ApiError::NotFound);
    }
    state.store.delete_token(id).await?;
    Ok(StatusCode::NO_CONTENT)
}
