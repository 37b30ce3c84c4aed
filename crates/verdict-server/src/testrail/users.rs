//! Users: Verdict's users, with TestRail's role names for their highest
//! standing (admins are TestRail's "Lead" with `is_admin`).

use serde_json::{Value, json};
use verdict_store::{Page, ProjectId, Role, User, UserId};

use super::{TrError, TrRequest, TrResult};
use crate::state::AppState;

/// TestRail's built-in role ids: 1 Guest, 2 Tester, 3 Designer, 4 Lead.
fn role_json(role: Option<Role>, admin: bool) -> (i64, &'static str) {
    match (admin, role) {
        (true, _) | (false, Some(Role::Manager)) => (4, "Lead"),
        (false, Some(Role::Tester)) => (2, "Tester"),
        _ => (1, "Guest"),
    }
}

pub fn render(u: &User, role: Option<Role>) -> Value {
    let (role_id, role_name) = role_json(role, u.admin);
    json!({
        "id": u.id.get(),
        "name": u.name,
        "email": u.email,
        "is_active": true,
        "is_admin": u.admin,
        "role_id": role_id,
        "role": role_name,
        "email_notifications": false,
        "group_ids": [],
        "mfa_required": false,
        "sso_enabled": false,
    })
}

/// `get_users[/{project_id}]`: a project's members (anyone who may see
/// the project may list them); without a project, every user (admins
/// only, as in TestRail).
pub async fn get_users(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let project = match req.ids.first() {
        Some(_) => Some(req.id(0, "project_id")?),
        None => req.param_int("project_id")?,
    };
    if let Some(project) = project {
        let project = ProjectId::from_db(project);
        req.caller.role(state, project).await?;
        let members = state.store.list_members(project).await?;
        let users: Vec<Value> = members
            .iter()
            .map(|m| render(&m.user, Some(m.role)))
            .collect();
        return Ok(Value::Array(users));
    }
    if !req.caller.user.admin {
        return Err(TrError::forbidden(
            "Only an administrator may list every user; add a project_id.",
        ));
    }
    let mut users = Vec::new();
    let mut page = 1;
    loop {
        let listing = state
            .store
            .list_users(Page {
                page,
                per_page: 1000,
            })
            .await?;
        let n = listing.items.len();
        users.extend(listing.items.iter().map(|u| render(u, None)));
        if n < 1000 || users.len() as i64 >= listing.total {
            break;
        }
        page += 1;
    }
    Ok(Value::Array(users))
}

/// `get_user/{user_id}`: the caller, or any user for an admin; others
/// are not "accessible" (Verdict shows users only to admins).
pub async fn get_user(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = UserId::from_db(req.id(0, "user_id")?);
    if id != req.caller.user.id && !req.caller.user.admin {
        return Err(TrError::not_accessible("user_id", "user"));
    }
    let user = state
        .store
        .get_user(id)
        .await
        .map_err(|_| TrError::not_accessible("user_id", "user"))?;
    Ok(render(&user, None))
}

/// `get_user_by_email&email=…`: as [`get_user`].
pub async fn get_user_by_email(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let email = req
        .param("email")
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| TrError::missing("email"))?
        .trim();
    let me = &req.caller.user;
    if me.email.eq_ignore_ascii_case(email) {
        return Ok(render(me, None));
    }
    let unknown = || TrError::invalid("email", "is not a valid or accessible user");
    if !me.admin || email.len() > 254 {
        return Err(unknown());
    }
    let (user, _) = state
        .store
        .login_lookup(email.to_string())
        .await?
        .ok_or_else(unknown)?;
    Ok(render(&user, None))
}

/// `get_current_user`: the caller.
pub async fn get_current_user(_: &AppState, req: &TrRequest) -> TrResult<Value> {
    Ok(render(&req.caller.user, None))
}
