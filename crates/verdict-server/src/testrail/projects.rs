//! Projects: each Verdict project is a TestRail project in single-suite
//! mode (`suite_mode` 1); Verdict projects are never completed.

use serde_json::{Value, json};
use verdict_store::{Listing, Project, ProjectId};

use super::wire::unix;
use super::{TrRequest, TrResult};
use crate::state::AppState;

pub fn render(p: &Project, req: &TrRequest) -> Value {
    json!({
        "id": p.id.get(),
        "name": p.name,
        "announcement": null,
        "show_announcement": false,
        "is_completed": false,
        "completed_on": null,
        "suite_mode": 1,
        "default_role_id": null,
        "created_on": unix(p.created_at),
        "url": req.url(&format!("/projects/{}", p.id)),
        "users": [],
        "groups": [],
    })
}

/// `get_projects[&is_completed=0|1]`: the projects the caller is a member
/// of (an admin: all), paged as `projects`.
pub async fn get_projects(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let paging = req.paging()?;
    let member = (!req.caller.user.admin).then_some(req.caller.user.id);
    let listing = if req.param_bool("is_completed")? == Some(true) {
        Listing {
            items: Vec::new(),
            total: 0,
        }
    } else {
        paging
            .fetch(|page| state.store.list_projects(member, page))
            .await?
    };
    Ok(req.paged("projects", listing, paging, |p| render(p, req)))
}

/// `get_project/{project_id}`.
pub async fn get_project(state: &AppState, req: &TrRequest) -> TrResult<Value> {
    let id = ProjectId::from_db(req.id(0, "project_id")?);
    req.caller.role(state, id).await?;
    let project = state.store.get_project(id).await?;
    Ok(render(&project, req))
}
