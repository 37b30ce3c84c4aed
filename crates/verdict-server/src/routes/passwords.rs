//! Passwords, for the web UI's sign-in: a user changes their own
//! (`PUT /v1/me/password`, with the current one when they have one), an
//! admin sets anyone's (`PUT /v1/users/:uid/password`). Hashes are argon2id
//! (see [`hash_password`]); verifying runs on the blocking pool like hashing,
//! so a slow hash never stalls the runtime.
//!
//! A changed password ends the user's other web sessions: whoever signed in
//! with the old one is signed out.

use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_store::{FieldError, TokenId, User, UserId};

use crate::auth::Caller;
use crate::dto::done;
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, NoQuery, UserPath};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::routes::users::{MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, hash_password};
use crate::state::AppState;
use crate::web::session::SESSION_TOKEN_NAME;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(change_mine))
        .routes(routes!(set_for_user))
}

/// The rules every new password meets (as at user creation).
pub fn check_new_password(field: &str, password: &str, errors: &mut Vec<FieldError>) {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    } else if password.len() > MAX_PASSWORD_BYTES {
        errors.push(FieldError::new(
            field,
            format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
}

/// Whether `password` matches a stored PHC hash. An unreadable hash
/// matches nothing (and is logged): it cannot have come from us.
pub async fn verify_password(password: String, hash: String) -> ApiResult<bool> {
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordVerifier;
        match argon2::PasswordHash::new(&hash) {
            Ok(parsed) => argon2::Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(e) => {
                tracing::warn!(error = %e, "a stored password hash cannot be read");
                false
            }
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verifying task failed: {e}")))
}

/// Changes `user`'s own password: `current` must match when they have one
/// (a 422 naming it otherwise) and must be absent when they have none (a
/// 409 `password_not_set` otherwise). Ends their web sessions other
/// than `keep` (the one making the change, if it is a session).
pub async fn change_own(
    state: &AppState,
    user: &User,
    current: Option<String>,
    new: String,
    keep: Option<TokenId>,
) -> ApiResult<()> {
    let mut errors = Vec::new();
    check_new_password("new_password", &new, &mut errors);
    let stored = state
        .store
        .login_lookup(user.email.clone())
        .await?
        .filter(|(found, _)| found.id == user.id)
        .and_then(|(_, hash)| hash);
    match (&stored, current) {
        (Some(_), None) => errors.push(FieldError::new(
            "current_password",
            "is required: the account has a password",
        )),
        (None, Some(given)) => {
            if given.len() > MAX_PASSWORD_BYTES {
                errors.push(FieldError::new(
                    "current_password",
                    format!("must be at most {MAX_PASSWORD_BYTES} bytes"),
                ));
            }
            // A well-formed request the account's state contradicts: a
            // 409, once the body itself is valid (a 422 names what is not).
            done(errors)?;
            return Err(ApiError::Conflict {
                code: "password_not_set",
                message:
                    "the account has no password yet: leave current_password out to set a first one"
                        .into(),
            });
        }
        (Some(hash), Some(given)) => {
            if given.len() > MAX_PASSWORD_BYTES || !verify_password(given, hash.clone()).await? {
                errors.push(FieldError::new(
                    "current_password",
                    "is not the account's current password",
                ));
            }
        }
        (None, None) => {}
    }
    done(errors)?;
    store_password(state, user.id, new, keep).await
}

/// Hashes and stores a password, then signs out the user's other sessions.
async fn store_password(
    state: &AppState,
    user: UserId,
    password: String,
    keep: Option<TokenId>,
) -> ApiResult<()> {
    let hash = hash_password(password).await?;
    state.store.set_password(user, Some(hash)).await?;
    for token in state.store.list_tokens(user).await? {
        if token.name == SESSION_TOKEN_NAME && Some(token.id) != keep {
            match state.store.delete_token(token.id).await {
                // Signed out meanwhile: that is what we wanted.
                Ok(()) | Err(verdict_store::StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
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
