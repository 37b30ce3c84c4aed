//! One result: saving it (a plain form post, or the run page's script
//! asking for JSON so the page updates without a reload) and its history;
//! its detail on the run page is drawn in [`super::run_detail`]. Saving
//! checks the form with the API's own rules (`execution::check`) and writes
//! through the store's `record_result`, exactly as
//! `PATCH /v1/runs/:rid/results/:id` does, so history and counts follow.
//!
//! A save records exactly what this tester entered: the note, elapsed,
//! step result and defect fields start empty (what the result holds now is
//! shown beside them, read-only, the note in full with its line breaks),
//! so a status click never re-records someone else's note under a new
//! name. The form's step results and defects follow the API's rules
//! ([`super::record_form`]). After a post the page comes back to the same
//! view with the same result selected.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde_json::json;
use verdict_store::{Page, ResultId, Role, RunId, Timestamp};

use super::layout::{elapsed, page, pager, respond, status_badge, status_label, time};
use super::projects::page_number;
use super::run_detail::{self, Detail, current, defects};
use super::run_list::note_cell;
use super::run_view::{Flash, RunContext, View, render, summary, tested, tester_names};
use super::session::{Session, SessionForm};
use super::{WebError, WebResult, record_form};
use crate::auth::ensure;
use crate::dto;
use crate::error::ApiError;
use crate::extract::{ResultPath, WebQuery};
use crate::state::AppState;

const HISTORY_PER_PAGE: u32 = 50;

/// Where a form of the run page goes back to: its `back` field when that
/// is a page of this run, else the run page.
pub fn back_to(back: Option<&str>, run: RunId) -> String {
    back.filter(|b| {
        (b == &format!("/runs/{run}") || b.starts_with(&format!("/runs/{run}?")))
            && super::login::safe_next(b)
    })
    .map(|b| b.split('#').next().unwrap_or_default().to_string())
    .unwrap_or_else(|| format!("/runs/{run}"))
}

/// The run page's view a form came from, with `result` selected.
fn back_with(back: Option<&str>, run: RunId, result: ResultId) -> String {
    let view = View::from_back(&back_to(back, run));
    view.selected_url(run, result)
}

/// POST /runs/:rid/results/:id
pub async fn save(
    State(state): State<AppState>,
    path: Result<ResultPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let json = posted.json;
    let fail = |e: ApiError| {
        if json {
            WebError::Json(e)
        } else {
            WebError::Page(e)
        }
    };
    let ResultPath { rid: run_id, id } = path.map_err(fail)?;
    let session = &posted.session;
    let (_, role) = session.caller().run(&state, run_id).await.map_err(fail)?;
    ensure(role, Role::Tester, "record results").map_err(fail)?;
    let form = &posted.form;
    let execution = match record_form::execution(form, state.limits.max_note_bytes) {
        Ok(execution) => execution,
        Err(fields) if !json => {
            let flash = Flash {
                result: id,
                message: record_form::message(&fields),
            };
            let mut view = View::from_back(&back_to(form.get("back"), run_id));
            view.result = Some(id);
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return render(&state, session, run_id, &view, Some(flash), status).await;
        }
        Err(fields) => return Err(WebError::Json(ApiError::Invalid(fields))),
    };
    // What the result held before, for the script's undo (`u`), which
    // records it again as a new execution.
    let previous = if json {
        Some(
            state
                .store
                .get_result(run_id, id)
                .await
                .map_err(|e| fail(e.into()))?,
        )
    } else {
        None
    };
    let result = state
        .store
        .record_result(run_id, id, execution, session.user.id, Timestamp::now())
        .await
        .map_err(|e| fail(e.into()))?;
    state.metrics.results_written(1);
    let back = back_with(form.get("back"), run_id, id);
    if !json {
        return Ok(Redirect::to(&format!("{back}#r-{id}")).into_response());
    }
    let ctx = RunContext::load(&state, session, run_id)
        .await
        .map_err(|e| match e {
            WebError::Page(e) => WebError::Json(e),
            other => other,
        })?;
    let names = tester_names(&state, result.tested_by.into_iter()).await;
    let template = ctx.project.defect_url_template.clone();
    let detail = Detail {
        ctx: &ctx,
        csrf: &session.csrf,
        back: &back,
        error: None,
        user: session.user.id,
    };
    let detail_html = run_detail::render(&state, &detail, &result)
        .await
        .map_err(|e| match e {
            WebError::Page(e) => WebError::Json(e),
            other => other,
        })?;
    Ok(Json(json!({ "data": {
        "result": dto::result(&result),
        "status_label": status_label(result.status),
        "status_html": status_badge(result.status).into_string(),
        "tested_html": tested(&result, &names).into_string(),
        "current_html": current(&result, template.as_deref()).into_string(),
        "note_html": note_cell(&result).into_string(),
        "detail_html": detail_html.into_string(),
        "previous": previous.as_ref().map(|p| json!({
            "status": p.status.as_str(),
            "note": p.note,
            "elapsed_ms": p.elapsed_ms,
            "step_results": p.step_results.iter().map(|s| json!({
                "status": s.status.as_str(),
                "actual": s.actual,
            })).collect::<Vec<_>>(),
            "defects": p.defects,
        })),
        "summary_html": summary(&ctx.run).into_string(),
    } }))
    .into_response())
}

/// GET /runs/:rid/results/:id (`back`): for the run page's script, the
/// result's detail as JSON (`detail_html`); for a browser, the run page
/// with this result selected.
pub async fn detail(
    State(state): State<AppState>,
    session: Session,
    path: Result<ResultPath, ApiError>,
    headers: axum::http::HeaderMap,
    mut q: WebQuery,
) -> WebResult<Response> {
    let json = super::session::wants_json(&headers);
    let to_json = |e: WebError| match e {
        WebError::Page(e) if json => WebError::Json(e),
        other => other,
    };
    let ResultPath { rid: run_id, id } = path.map_err(|e| to_json(e.into()))?;
    let back = q.take("back").ok().flatten();
    let back = back_with(back.as_deref(), run_id, id);
    if !json {
        return Ok(Redirect::to(&format!("{back}#r-{id}")).into_response());
    }
    let (result, html) = run_detail::fresh(&state, &session, run_id, id, &back).await?;
    Ok(Json(json!({ "data": {
        "result": dto::result(&result),
        "detail_html": html.into_string(),
    } }))
    .into_response())
}

/// GET /runs/:rid/results/:id/history (`page`)
pub async fn history(
    State(state): State<AppState>,
    session: Session,
    path: Result<ResultPath, ApiError>,
    mut q: WebQuery,
) -> WebResult<Response> {
    let ResultPath { rid: run_id, id } = path?;
    let page_no = page_number(&mut q, "page");
    let (run, _) = session.caller().run(&state, run_id).await?;
    let project = state.store.get_project(run.project_id).await?;
    let result = state.store.get_result(run_id, id).await?;
    let entries = state
        .store
        .result_history(
            run_id,
            id,
            Page {
                page: page_no,
                per_page: HISTORY_PER_PAGE,
            },
        )
        .await?;
    let names = tester_names(&state, entries.items.iter().map(|e| e.tested_by)).await;
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/runs/" (run_id) } { (run.name) } " › "
        }
        h1 { (result.case_title) }
        p.meta { "Now: " (status_badge(result.status))
            " · " (entries.total) " execution" @if entries.total != 1 { "s" } " recorded" }
        @if entries.items.is_empty() {
            p { "Nothing has been recorded for this result yet." }
        } @else {
            // Focusable, so a keyboard can scroll it when it is wider than
            // a phone's screen.
            div.scroll tabindex="0" role="region" aria-label="Executions" {
                table.list.history {
                    caption.sr-only { "Executions, newest first" }
                    thead { tr {
                        th scope="col" { "When" } th scope="col" { "Status" } th scope="col" { "Note" }
                        th scope="col" { "Steps" } th scope="col" { "Defects" }
                        th scope="col" { "Elapsed" } th scope="col" { "By" }
                    } }
                    tbody {
                        @for e in &entries.items {
                            tr {
                                td { (time(e.tested_at)) }
                                td { (status_badge(e.status)) }
                                td.note { (e.note.as_deref().unwrap_or("")) }
                                td.steps {
                                    @if !e.step_results.is_empty() {
                                        ol.step-results { @for s in &e.step_results {
                                            li { (status_badge(s.status))
                                                @if let Some(a) = &s.actual { " " span.actual { (a) } } }
                                        } }
                                    }
                                }
                                td.defects { (defects(project.defect_url_template.as_deref(), &e.defects)) }
                                td.num { (elapsed(e.elapsed_ms)) }
                                td { (names.get(&e.tested_by).cloned().unwrap_or_else(|| e.tested_by.to_string())) }
                            }
                        }
                    }
                }
            }
            (pager(page_no, HISTORY_PER_PAGE, entries.total,
                |n| format!("/runs/{run_id}/results/{id}/history?page={n}")))
        }
        p { a href={ "/runs/" (run_id) "?result=" (id) "#r-" (id) } { "← Back to the run" } }
    };
    Ok(respond(
        StatusCode::OK,
        page(&result.case_title, Some(&session), main),
    ))
}
