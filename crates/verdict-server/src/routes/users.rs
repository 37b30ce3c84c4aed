//! People: the caller (`/v1/me`), and users, which only admins create and list.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_store::{NewUser, Timestamp};

use crate::auth::Caller;
use crate::auth::passwords::{check_new_password, hash_password};
use crate::checks::check_email;
use crate::dto::{self, done, required_text};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, NoQuery, PageQuery, Query, UserPath};
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
    request_body = api::CreateUser,
    responses((status = 201, description = "Created.", body = UserData),
        Unauthorized, Forbidden, Conflict, JsonErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    _: NoQuery,
    body: JsonBody<api::CreateUser>,
) -> ApiResult<(StatusCode, Json<api::Data<api::User>>)> {
    caller.require_admin()?;
    let b = body.value;
    let mut errors = Vec::new();
    let name = required_text("name", &b.name, &mut errors);
    let email = check_email(&b.email, &mut errors);
    if let Some(p) = &b.password {
        check_new_password("password", p, &mut errors);
    }
    done(errors)?;
    let password_hash = match b.password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    let user = state
        .store
        .create_user(
            NewUser {
                name,
                email,
                password_hash,
                admin: b.admin,
            },
            Timestamp::now(),
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(api::Data {
            data: dto::user(&user),
        }),
    ))
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
