//! One result: saving it (a plain form post, or the run page's script
//! asking for JSON so the page updates without a reload) and its history;
//! its row on the run page is drawn in [`super::run_view`]. Saving checks
//! the form with the API's own rules ([`execution::check`]) and writes
//! through the store's `record_result`, exactly as
//! `PATCH /v1/runs/:rid/results/:id` does, so history and counts follow.
//!
//! A save records exactly what this tester entered: the note and elapsed
//! fields start empty (the current note and elapsed are shown beside them,
//! read-only, the note in full with its line breaks), so a status click
//! never re-records someone else's note under a new name.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde_json::{Value, json};
use verdict_store::{Page, Role, Status, Timestamp};

use super::layout::{elapsed, page, pager, respond, status_badge, status_label, time};
use super::projects::page_number;
use super::run_view::{Flash, View, current, render, summary, tested, tester_names};
use super::session::{Form, Session, SessionForm};
use super::{WebError, WebResult};
use crate::auth::ensure;
use crate::dto;
use crate::error::ApiError;
use crate::execution::{self, RawEntry};
use crate::extract::{ResultPath, WebQuery};
use crate::state::AppState;

const HISTORY_PER_PAGE: u32 = 50;

/// The form as the API's PATCH body, to be checked by the API's rules.
/// "Not tested" resets a result, so a note or elapsed typed with it is not
/// sent. A note keeps its line breaks (a browser posts a textarea's as
/// CRLF: stored as LF); `elapsed_ms` is what the script's undo sends, to
/// restore a time exactly.
fn as_patch(form: &Form) -> Value {
    let status = form.text("status");
    let mut body = json!({ "status": status });
    if status == Status::NotTested.as_str() {
        return body;
    }
    if let Some(n) = form
        .get("note")
        .map(|n| n.replace("\r\n", "\n"))
        .filter(|n| !n.trim().is_empty())
    {
        body["note"] = json!(n.trim());
    }
    for field in ["elapsed", "elapsed_ms"] {
        if let Some(e) = form.get(field).map(str::trim).filter(|e| !e.is_empty()) {
            // A number stays a number; anything else is refused by the check.
            body[field] = e.parse::<i64>().map(Value::from).unwrap_or(json!(e));
        }
    }
    body
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
    let body = as_patch(form);
    let raw: RawEntry = serde_json::from_value(body)
        .map_err(|e| fail(ApiError::Internal(format!("form as a body: {e}"))))?;
    let checked = execution::check(&raw, String::new, false, state.limits.max_note_bytes);
    let execution = match checked {
        Ok((_, execution)) => execution,
        Err(fields) if !json => {
            let message = fields
                .iter()
                .map(|f| format!("{}: {}", super::layout::field_label(&f.field), f.message))
                .collect::<Vec<_>>()
                .join("; ");
            let flash = Flash {
                result: id,
                message,
            };
            let view = View::from_back(form.get("back").unwrap_or_default());
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
    if !json {
        let back = form
            .get("back")
            .filter(|b| b.starts_with(&format!("/runs/{run_id}")) && super::login::safe_next(b))
            .map(str::to_string)
            .unwrap_or_else(|| format!("/runs/{run_id}"));
        return Ok(Redirect::to(&format!("{back}#r-{id}")).into_response());
    }
    let run = state
        .store
        .get_run(run_id)
        .await
        .map_err(|e| fail(e.into()))?;
    let names = tester_names(&state, result.tested_by.into_iter()).await;
    Ok(Json(json!({ "data": {
        "result": dto::result(&result),
        "status_label": status_label(result.status),
        "status_html": status_badge(result.status).into_string(),
        "tested_html": tested(&result, &names).into_string(),
        "current_html": current(&result).into_string(),
        "previous": previous.as_ref().map(|p| json!({
            "status": p.status.as_str(),
            "note": p.note,
            "elapsed_ms": p.elapsed_ms,
        })),
        "summary_html": summary(&run).into_string(),
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
                        th scope="col" { "Elapsed" } th scope="col" { "By" }
                    } }
                    tbody {
                        @for e in &entries.items {
                            tr {
                                td { (time(e.tested_at)) }
                                td { (status_badge(e.status)) }
                                td.note { (e.note.as_deref().unwrap_or("")) }
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
        p { a href={ "/runs/" (run_id) "#r-" (id) } { "← Back to the run" } }
    };
    Ok(respond(
        StatusCode::OK,
        page(&result.case_title, Some(&session), main),
    ))
}
