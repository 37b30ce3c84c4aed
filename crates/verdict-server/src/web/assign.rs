//! Assigning results from the run page (testers and above): one result
//! from its detail, or many at once (the lines checked in the list, every
//! unassigned result, or a section) to one of the project's testers or
//! managers, or to nobody, which is the undo. Assignment is not an
//! execution: no status, note or history changes. Each is a plain form
//! post answered by a redirect to the same view of the run page.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use verdict_store::{AssignTarget, ResultId, Role, UserId};

use super::results::back_to;
use super::run_view::View;
use super::session::SessionForm;
use super::{WebError, WebResult};
use crate::auth::ensure;
use crate::error::ApiError;
use crate::extract::{ResultPath, RunPath};
use crate::state::AppState;

/// The assignee a form names: "" is nobody; anyone else must be a tester
/// or manager of the run's project, or an admin.
async fn assignee(
    state: &AppState,
    project: verdict_store::ProjectId,
    value: Option<&str>,
) -> WebResult<Option<UserId>> {
    let value = value.map(str::trim).unwrap_or_default();
    if value.is_empty() {
        return Ok(None);
    }
    let refuse = || {
        WebError::Page(ApiError::invalid(
            "user_id",
            "must be a tester or manager of this project (or nobody)",
        ))
    };
    let user: UserId = value.parse().map_err(|_| refuse())?;
    match state.store.role(project, user).await? {
        Some(role) if role >= Role::Tester => return Ok(Some(user)),
        _ => {}
    }
    match state.store.get_user(user).await {
        Ok(u) if u.admin => Ok(Some(user)),
        _ => Err(refuse()),
    }
}

/// POST /runs/:rid/results/:id/assign (`user_id`, `back`)
pub async fn one(
    State(state): State<AppState>,
    path: Result<ResultPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let ResultPath { rid: run_id, id } = path?;
    let (run, role) = posted.session.caller().run(&state, run_id).await?;
    ensure(role, Role::Tester, "assign results").map_err(WebError::Page)?;
    let user = assignee(&state, run.project_id, posted.form.get("user_id")).await?;
    state
        .store
        .assign_results(run_id, AssignTarget::Results(vec![id]), user)
        .await
        .map_err(|e| match e {
            // The one result of the path: not in the run is "not found".
            verdict_store::StoreError::Invalid(_) => WebError::Page(ApiError::NotFound),
            other => other.into(),
        })?;
    let mut view = View::from_back(&back_to(posted.form.get("back"), run_id));
    view.result = Some(id);
    Ok(Redirect::to(&format!("{}#r-{id}", view.selected_url(run_id, id))).into_response())
}

/// POST /runs/:rid/assign (`user_id`, `target` = `selected` with
/// `result_ids`, `unassigned`, or `section` with `suite`; `back`)
pub async fn many(
    State(state): State<AppState>,
    path: Result<RunPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let RunPath { rid: run_id } = path?;
    let (run, role) = posted.session.caller().run(&state, run_id).await?;
    ensure(role, Role::Tester, "assign results").map_err(WebError::Page)?;
    let form = &posted.form;
    let user = assignee(&state, run.project_id, form.get("user_id")).await?;
    let target = match form.get("target").unwrap_or_default() {
        "selected" => {
            let mut ids: Vec<ResultId> = Vec::new();
            for v in form.all("result_ids") {
                let id: ResultId = v.parse().map_err(|_| {
                    WebError::Page(ApiError::invalid(
                        "result_ids",
                        "is not a result of this run",
                    ))
                })?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            if ids.is_empty() {
                return Err(WebError::Page(ApiError::invalid(
                    "result_ids",
                    "choose at least one result (tick the boxes in the list)",
                )));
            }
            if ids.len() > 10_000 {
                return Err(WebError::Page(ApiError::invalid(
                    "result_ids",
                    "at most 10000 results at once",
                )));
            }
            AssignTarget::Results(ids)
        }
        "unassigned" => AssignTarget::Unassigned,
        "section" => {
            let suite = form.get("suite").map(str::trim).unwrap_or_default();
            if suite.is_empty() {
                return Err(WebError::Page(ApiError::invalid(
                    "suite",
                    "choose a section",
                )));
            }
            AssignTarget::Suite(suite.to_string())
        }
        _ => {
            return Err(WebError::Page(ApiError::invalid(
                "target",
                "must be selected, unassigned or section",
            )));
        }
    };
    state.store.assign_results(run_id, target, user).await?;
    let back = back_to(form.get("back"), run_id);
    Ok(Redirect::to(&back).into_response())
}
