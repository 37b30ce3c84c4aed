//! Passwords, for the web UI's sign-in: the rules a new one meets, hashing
//! and verifying, and the change a user makes to their own. The API's
//! password routes (`routes::passwords`, `routes::users`) and the web pages
//! (sign-in, the account page) all come here.
//!
//! Hashes are argon2id (see [`hash_password`]); verifying runs on the
//! blocking pool like hashing, so a slow hash never stalls the runtime.
//! A changed password ends the user's other web sessions: whoever signed in
//! with the old one is signed out.

use verdict_store::{FieldError, TokenId, User, UserId};

use super::SESSION_TOKEN_NAME;
use crate::dto::done;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The rules every new password meets (at user creation, at a change and
/// at an admin's reset).
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

/// Hashes a password with argon2id (default parameters) on the blocking pool.
pub async fn hash_password(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || {
        use argon2::PasswordHasher;
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt)
            .map_err(|e| ApiError::Internal(format!("no randomness: {e}")))?;
        let salt = argon2::password_hash::SaltString::encode_b64(&salt)
            .map_err(|e| ApiError::Internal(format!("salt: {e}")))?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task failed: {e}")))?
}

/// A password's digest for the fingerprint of a retried request (an
/// `Idempotency-Key` record keeps the fingerprint for a day): argon2id as
/// for stored passwords, with a salt the caller derives from the key, so
/// the same password under the same key digests the same, and the record
/// holds nothing cheaper to guess from than a stored password hash.
pub async fn password_digest(password: String, salt: [u8; 16]) -> ApiResult<[u8; 32]> {
    tokio::task::spawn_blocking(move || {
        let mut out = [0u8; 32];
        argon2::Argon2::default()
            .hash_password_into(password.as_bytes(), &salt, &mut out)
            .map_err(|e| ApiError::Internal(format!("argon2: {e}")))?;
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task failed: {e}")))?
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

/// Hashes and stores a password, then signs out the user's web sessions
/// other than `keep`.
pub async fn store_password(
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
