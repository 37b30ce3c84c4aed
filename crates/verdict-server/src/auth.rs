//! Who is calling and what they may do. Tokens are `vdt_` and 64 hex digits
//! (256 random bits), stored only as SHA-256. Project data is invisible to
//! non-members (404, never 403, so ids leak nothing); members are checked
//! against the role an action needs (403). Passwords, the web UI's way
//! to get a session token, are in [`passwords`].

pub mod passwords;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use verdict_store::{ProjectId, Role, Run, RunId, Timestamp, TokenHash, TokenId, User};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub const TOKEN_PREFIX: &str = "vdt_";

/// The name of the token a web sign-in mints: a session is an API token
/// by this name (see `web::session`).
pub const SESSION_TOKEN_NAME: &str = "web session";

/// Every token written out in README.md (the quick start's): known to the
/// whole world, so never an admin token on a server others can reach. A
/// start that listens beyond loopback with one of these refuses to start,
/// and a start without it revokes it. A test checks that each token
/// literal in the README is listed here: add any new one.
pub const PUBLIC_TOKENS: &[&str] = &["vdt_quickstart_0123456789abcdef"];

/// A token secret. `Debug` prints nothing so it cannot leak into logs.
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    pub fn generate() -> ApiResult<Secret> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::Internal(format!("no randomness for a token: {e}")))?;
        let mut s = String::with_capacity(TOKEN_PREFIX.len() + 64);
        s.push_str(TOKEN_PREFIX);
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        Ok(Secret(s))
    }

    pub fn from_string(s: String) -> Secret {
        Secret(s)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        hash_token(&self.0)
    }
}

pub fn hash_token(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub token: TokenId,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(
                "send an API token as Authorization: Bearer vdt_…",
            ))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| t.starts_with(TOKEN_PREFIX))
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be Bearer vdt_…",
            ))?;
        let found = state
            .store
            .authenticate(hash_token(token), Timestamp::now())
            .await?;
        let (user, token) = found.ok_or(ApiError::Unauthorized("unknown or revoked token"))?;
        Ok(Caller { user, token })
    }
}

impl Caller {
    /// The caller's role in a project: admins act as managers everywhere;
    /// non-members get 404 as if the project did not exist.
    pub async fn role_in(&self, state: &AppState, project: ProjectId) -> ApiResult<Role> {
        if self.user.admin {
            // Only an admin's role says nothing of whether it exists.
            state.store.get_project(project).await?;
        }
        self.role_in_existing(state, project).await
    }

    /// Like [`role_in`](Self::role_in) for a project known to exist: its id
    /// was read from a run, case or listing (projects are never deleted),
    /// so an admin needs no lookup at all.
    pub async fn role_in_existing(&self, state: &AppState, project: ProjectId) -> ApiResult<Role> {
        if self.user.admin {
            return Ok(Role::Manager);
        }
        state
            .store
            .role(project, self.user.id)
            .await?
            .ok_or(ApiError::NotFound)
    }

    /// Like [`role_in`](Self::role_in), and the role must be at least `needed`.
    pub async fn require(
        &self,
        state: &AppState,
        project: ProjectId,
        needed: Role,
        action: &str,
    ) -> ApiResult<Role> {
        let role = self.role_in(state, project).await?;
        if role < needed {
            return Err(ApiError::forbidden(action));
        }
        Ok(role)
    }

    /// A run the caller may see, with the caller's role in its project.
    pub async fn run(&self, state: &AppState, id: RunId) -> ApiResult<(Run, Role)> {
        let run = state.store.get_run(id).await?;
        let role = self.role_in_existing(state, run.project_id).await?;
        Ok((run, role))
    }

    /// The caller's role in a run's project, in one lookup that reads no
    /// counts (what a write of one result needs): 404 when the run does
    /// not exist or the caller may not see it.
    pub async fn run_role(&self, state: &AppState, id: RunId) -> ApiResult<Role> {
        let (_, role) = state.store.run_access(id, self.user.id).await?;
        if self.user.admin {
            return Ok(Role::Manager);
        }
        role.ok_or(ApiError::NotFound)
    }

    pub fn require_admin(&self) -> ApiResult<()> {
        if self.user.admin {
            Ok(())
        } else {
            Err(ApiError::Forbidden("only an admin may do this".into()))
        }
    }
}

/// Fails with 403 unless `role` reaches `needed`.
pub fn ensure(role: Role, needed: Role, action: &str) -> ApiResult<()> {
    if role < needed {
        return Err(ApiError::forbidden(action));
    }
    Ok(())
}
