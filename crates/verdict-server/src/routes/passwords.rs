//! Passwords, for the web UI's sign-in: a user changes their own
//! (`PUT /v1/me/password`, with the current one when they have one), an
//! admin sets anyone's (`PUT /v1/users/:uid/password`). The rules, the
//! hashing and the change itself are in [`crate::auth::passwords`], shared
//! with the web UI's account page.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;

use crate::auth::Caller;
use crate::auth::passwords::{change_own, check_new_password, store_password};
use crate::dto::done;
use crate::error::ApiResult;
use crate::extract::{JsonBody, NoQuery, UserPath};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::state::AppState;
/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(change_mine))
        .routes(routes!(set_for_user))
}

#[utoipa::path(
    put, path = "/v1/me/password", tag = "users", operation_id = "change_my_password",
    summary = "Change one's own password (for the web UI's sign-in)",
    description = "`current_password` is required when the account has a password and must be left out when it has none; a missing or wrong one is a 422 naming `current_password`, and one sent for an account that has no password yet is a 409 `password_not_set`. The new password has 8 characters to 1024 bytes. The caller's web sessions other than the one making the change are signed out.",
    request_body(content = api::ChangePassword,
        example = json!({"current_password": "old secret words", "new_password": "new secret words"})),
    responses((status = 204, description = "Changed."), Unauthorized, Conflict, JsonErrors),
)]
pub async fn change_mine(
    State(state): State<AppState>,
    caller: Caller,
    _: NoQuery,
    body: JsonBody<api::ChangePassword>,
) -> ApiResult<StatusCode> {
    let b = body.value;
    change_own(
        &state,
        &caller.user,
        b.current_password,
        b.new_password,
        Some(caller.token),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    put, path = "/v1/users/{uid}/password", tag = "users", operation_id = "set_user_password",
    summary = "Set a user's password (admin)",
    description = "No current password is needed: this is an admin's reset. The new password has 8 characters to 1024 bytes. The user's web sessions are signed out (except the caller's own, when an admin sets their own password).",
    params(UserPath),
    request_body(content = api::SetPassword, example = json!({"new_password": "new secret words"})),
    responses((status = 204, description = "Set."), Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn set_for_user(
    State(state): State<AppState>,
    caller: Caller,
    UserPath { uid: id }: UserPath,
    _: NoQuery,
    body: JsonBody<api::SetPassword>,
) -> ApiResult<StatusCode> {
    // Before any lookup, so a non-admin learns nothing about user ids.
    caller.require_admin()?;
    state.store.get_user(id).await?;
    let mut errors = Vec::new();
    check_new_password("new_password", &body.value.new_password, &mut errors);
    done(errors)?;
    store_password(&state, id, body.value.new_password, Some(caller.token)).await?;
    Ok(StatusCode::NO_CONTENT)
}
