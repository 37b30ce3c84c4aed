//! People: the caller (`/v1/me`), and users, which only admins create and list.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_store::{NewUser, Timestamp, UserId, Write, Written};

use crate::auth::Caller;
use crate::auth::passwords::{check_new_password, hash_password, password_digest};
use crate::checks::check_email;
use crate::dto::{self, done, required_text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdempotencyKeyHeader, JsonBody, NoQuery, PageQuery, Query, UserPath};
use crate::idempotent::{self, Retry, fingerprint};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::routes::listing;
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(me))
        .routes(routes!(create, list))
        .routes(routes!(get_one))
}

#[utoipa::path(
    get, path = "/v1/me", tag = "users", operation_id = "get_me",
    summary = "The caller",
    responses((status = 200, description = "The user holding the token.", body = UserData),
        Unauthorized, Invalid),
)]
pub async fn me(caller: Caller, _: NoQuery) -> ApiResult<Json<api::Data<api::User>>> {
    Ok(Json(api::Data {
        data: dto::user(&caller.user),
    }))
}

#[utoipa::path(
    post, path = "/v1/users", tag = "users", operation_id = "create_user",
    summary = "Create a user (admin)",
    description = "With an `Idempotency-Key`, the request's fingerprint holds a password only as an argon2id digest.",
    params(IdempotencyKeyHeader),
    request_body = api::CreateUser,
    responses((status = 201, description = "Created.", body = UserData),
        Unauthorized, Forbidden, Conflict, JsonErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<api::CreateUser>,
) -> ApiResult<Response> {
    caller.require_admin()?;
    let b = body.value;
    let mut errors = Vec::new();
    let name = required_text("name", &b.name, &mut errors);
    let email = check_email(&b.email, &mut errors);
    if let Some(p) = &b.password {
        check_new_password("password", p, &mut errors);
    }
    done(errors)?;
    let retry = match key.key.as_deref() {
        Some(k) => {
            let fingerprint = without_password(&uri, &b, caller.user.id, k).await?;
            Retry::with_fingerprint(key, fingerprint)
        }
        None => None,
    };
    let password_hash = match b.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let user = NewUser {
        name,
        email,
        password_hash,
        admin: b.admin,
    };
    if let Some(retry) = retry {
        let write = Write::CreateUser { user };
        return idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::User(u) => Some((StatusCode::CREATED, Some(data(u)))),
            _ => None,
        })
        .await;
    }
    let user = state.store.create_user(user, Timestamp::now()).await?;
    Ok((StatusCode::CREATED, Json(data(&user))).into_response())
}

fn data(user: &verdict_store::User) -> api::Data<api::User> {
    api::Data {
        data: dto::user(user),
    }
}

/// The fingerprint of a user's creation under `key`: of the request with
/// its password (if any) replaced by its digest, salted by the caller and
/// the key, so the kept fingerprint never holds the password in clear.
async fn without_password(
    uri: &Uri,
    body: &api::CreateUser,
    actor: UserId,
    key: &str,
) -> ApiResult<[u8; 32]> {
    let mut kept = body.clone();
    if let Some(password) = kept.password.take() {
        let mut h = Sha256::new();
        h.update(b"verdict idempotent user ");
        h.update(actor.get().to_be_bytes());
        h.update(key.as_bytes());
        let mut salt = [0u8; 16];
        salt.copy_from_slice(&h.finalize()[..16]);
        let digest = password_digest(password, salt).await?;
        kept.password = Some(digest.iter().map(|b| format!("{b:02x}")).collect());
    }
    let bytes = serde_json::to_vec(&kept)
        .map_err(|e| ApiError::Internal(format!("cannot fingerprint a user: {e}")))?;
    Ok(fingerprint("POST", uri, &bytes))
}

#[utoipa::path(
    get, path = "/v1/users", tag = "users", operation_id = "list_users",
    summary = "List users (admin), oldest first",
    params(PageQuery),
    responses((status = 200, description = "A page of users.", body = UserPage),
        Unauthorized, Forbidden, Invalid),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(paging): Query<PageQuery>,
) -> ApiResult<Json<api::Page<api::User>>> {
    let page = paging.page();
    caller.require_admin()?;
    let found = state.store.list_users(page).await?;
    Ok(Json(listing(found, page, dto::user)))
}

#[utoipa::path(
    get, path = "/v1/users/{uid}", tag = "users", operation_id = "get_user",
    summary = "One user (admins, and the user themself)",
    params(UserPath),
    responses((status = 200, description = "The user.", body = UserData),
        Unauthorized, NotFound, Invalid),
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    UserPath { uid: id }: UserPath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<api::User>>> {
    // Others' accounts are not there for a non-admin.
    if !caller.user.admin && caller.user.id != id {
        return Err(ApiError::NotFound);
    }
    let user = state.store.get_user(id).await?;
    Ok(Json(api::Data {
        data: dto::user(&user),
    }))
}
