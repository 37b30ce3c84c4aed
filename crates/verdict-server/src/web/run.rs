//! The run page: a summary (counts, the status ring, progress), the results
//! as a compact list with a status filter, a title search and paging, and
//! the selected result in detail (`?result=res_N`): its case's steps, and
//! for a tester the form that records it (a result per step, the five
//! statuses as buttons, a new note, elapsed, defects; what it holds now
//! shown read-only) and its assignment. Managers close the run here, after
//! a confirmation page (`setup_runs`); a closed run is read-only. The
//! list's lines are what `app.js` moves through with the keyboard (see the
//! help on the page). What the page shows is in [`super::run_view`], which
//! saving a result (in `results`) renders too.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use verdict_store::Role;

use super::run_view::{View, render};
use super::session::{Session, SessionForm};
use super::{WebError, WebResult};
use crate::auth::ensure;
use crate::error::ApiError;
use crate::extract::{RunPath, WebQuery};
use crate::state::AppState;

/// GET /runs/:rid (`status`, `q`, `page`, `result`, `all`)
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    path: Result<RunPath, ApiError>,
    mut q: WebQuery,
    headers: axum::http::HeaderMap,
) -> WebResult<Response> {
    let RunPath { rid: id } = path?;
    let mut view = View::from_query(&mut q);
    view.notice = super::setup::notice(&headers);
    render(&state, &session, id, &view, None, StatusCode::OK).await
}

/// POST /runs/:rid/close (manager). Afterwards the run is read-only.
pub async fn close(
    State(state): State<AppState>,
    path: Result<RunPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let RunPath { rid: id } = path?;
    let (_, role) = posted.session.caller().run(&state, id).await?;
    ensure(role, Role::Manager, "close runs").map_err(WebError::Page)?;
    // Closing cannot be undone: without the confirmation page's field,
    // the post only leads to that page.
    if posted.form.get("confirm") != Some("yes") {
        return Ok(Redirect::to(&format!("/runs/{id}/close")).into_response());
    }
    state
        .store
        .close_run(id, verdict_store::Timestamp::now())
        .await?;
    Ok(Redirect::to(&format!("/runs/{id}")).into_response())
}

/// GET /runs/:rid/export.csv (viewer): the API's CSV export, for the run
/// page's download link.
pub async fn export_csv(
    State(state): State<AppState>,
    session: Session,
    path: Result<RunPath, ApiError>,
) -> WebResult<Response> {
    export(&state, &session, path?, crate::export::Format::Csv).await
}

/// GET /runs/:rid/export.xml (viewer): the API's JUnit XML export.
pub async fn export_xml(
    State(state): State<AppState>,
    session: Session,
    path: Result<RunPath, ApiError>,
) -> WebResult<Response> {
    export(&state, &session, path?, crate::export::Format::Junit).await
}

async fn export(
    state: &AppState,
    session: &Session,
    RunPath { rid }: RunPath,
    format: crate::export::Format,
) -> WebResult<Response> {
    let (run, _) = session.caller().run(state, rid).await?;
    let export = crate::export::Export::load(state, run).await?;
    Ok(export.response(format))
}
