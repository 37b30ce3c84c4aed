//! HTTP Basic auth the way TestRail takes it: the user's email (or name)
//! and an API token, or the user's password. A token must belong to the
//! user named; failed password checks count against the same limits as
//! the web sign-in. Access is then Verdict's: admins are managers
//! everywhere, a project a caller is no member of is "not a valid or
//! accessible project" (400, as for one that does not exist), and a role
//! too low for the action is 403.

use std::time::Instant;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use verdict_store::{Case, CaseId, ProjectId, Role, Run, RunId, Timestamp, User};

use super::error::{OrField, TrError, TrResult};
use crate::auth::passwords::{MAX_PASSWORD_BYTES, verify_password};
use crate::auth::{TOKEN_PREFIX, hash_token};
use crate::state::AppState;

/// The authenticated caller of a TestRail call.
#[derive(Debug, Clone)]
pub struct TrCaller {
    pub user: User,
}

const HOW: &str = "Authentication failed: send HTTP Basic auth with your email and a Verdict API token (or your password).";

/// Reads `Authorization: Basic …` and finds its user.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    address: std::net::IpAddr,
) -> TrResult<TrCaller> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| TrError::unauthorized(HOW))?;
    let encoded = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, rest)| rest.trim())
        .ok_or_else(|| TrError::unauthorized(HOW))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| TrError::unauthorized(HOW))?;
    let (login, secret) = decoded
        .split_once(':')
        .ok_or_else(|| TrError::unauthorized(HOW))?;
    let login = login.trim();
    if secret.starts_with(TOKEN_PREFIX) {
        let found = state
            .store
            .authenticate(hash_token(secret), Timestamp::now())
            .await?;
        match found {
            Some((user, _)) if names(&user, login) => Ok(TrCaller { user }),
            _ => Err(TrError::unauthorized(
                "Authentication failed: invalid or missing user/password or session cookie.",
            )),
        }
    } else {
        with_password(state, login, secret, address).await
    }
}

/// Whether `login` names the user: their email (without case) or name.
fn names(user: &User, login: &str) -> bool {
    user.email.eq_ignore_ascii_case(login) || user.name == login
}

async fn with_password(
    state: &AppState,
    email: &str,
    password: &str,
    address: std::net::IpAddr,
) -> TrResult<TrCaller> {
    let (pair, from) = crate::web::login::sign_in_keys(address, email);
    let now = Instant::now();
    for (allowed, retry) in [
        state.sign_in_limiter.peek(pair, now),
        state.sign_in_address_limiter.peek(from, now),
    ] {
        if !allowed {
            return Err(TrError::rate_limited(retry));
        }
    }
    let found = if email.is_empty() || email.len() > 254 {
        None
    } else {
        state.store.login_lookup(email.to_string()).await?
    };
    if let Some((user, Some(hash))) = found
        && password.len() <= MAX_PASSWORD_BYTES
        && verify_password(password.to_string(), hash).await?
    {
        return Ok(TrCaller { user });
    }
    let now = Instant::now();
    state.sign_in_limiter.charge(pair, now);
    state.sign_in_address_limiter.charge(from, now);
    Err(TrError::unauthorized(
        "Authentication failed: invalid or missing user/password or session cookie.",
    ))
}

impl TrCaller {
    /// The caller's role in a project; 400 naming `project_id` when it
    /// does not exist or the caller is no member.
    pub async fn role(&self, state: &AppState, project: ProjectId) -> TrResult<Role> {
        if self.user.admin {
            state
                .store
                .get_project(project)
                .await
                .or_field("project_id", "project")?;
            return Ok(Role::Manager);
        }
        state
            .store
            .role(project, self.user.id)
            .await?
            .ok_or_else(|| TrError::not_accessible("project_id", "project"))
    }

    /// Like [`role`](Self::role), and the role must reach `needed` (403).
    pub async fn require(
        &self,
        state: &AppState,
        project: ProjectId,
        needed: Role,
        action: &str,
    ) -> TrResult<Role> {
        let role = self.role(state, project).await?;
        ensure(role, needed, action)?;
        Ok(role)
    }

    /// A run the caller may see and their role in its project; 400
    /// naming `run_id` otherwise.
    pub async fn run(&self, state: &AppState, id: RunId) -> TrResult<(Run, Role)> {
        let run = state.store.get_run(id).await.or_field("run_id", "run")?;
        let role = self
            .role(state, run.project_id)
            .await
            .map_err(|_| TrError::not_accessible("run_id", "run"))?;
        Ok((run, role))
    }

    /// A case the caller may see and their role in its project; 400
    /// naming `case_id` otherwise.
    pub async fn case(&self, state: &AppState, id: CaseId) -> TrResult<(Case, Role)> {
        let case = state
            .store
            .get_case(id)
            .await
            .or_field("case_id", "test case")?;
        let role = self
            .role(state, case.project_id)
            .await
            .map_err(|_| TrError::not_accessible("case_id", "test case"))?;
        Ok((case, role))
    }
}

/// 403 unless `role` reaches `needed`.
pub fn ensure(role: Role, needed: Role, action: &str) -> TrResult<()> {
    if role < needed {
        return Err(TrError::forbidden(format!(
            "You are not allowed to {action} (your role in this project is {}; it takes {}).",
            role.as_str(),
            needed.as_str()
        )));
    }
    Ok(())
}
