//! One test case across runs (`/cases/:cid`): its fields and quarantine
//! state, its status in the latest runs (a strip of squares) and its
//! duration (a sparkline), then its result in every run, newest first,
//! paged. Managers quarantine it with a reason, or release it (after a
//! confirmation page, `/cases/:cid/release`), by a form post
//! (CSRF-checked, answered with a redirect back to the page, so a reload
//! never writes twice). Quarantine changes only what the quality
//! gate counts; the page still shows every result.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use verdict_store::{Case, CaseRunResult, Page, Quarantine, Role, Status, Timestamp};

use super::layout::{elapsed, page, pager, respond, status_badge, time};
use super::projects::page_number;
use super::run_view::tester_names;
use super::session::{Session, SessionForm};
use super::setup::{Notice, notice, notice_markup, shown};
use super::timeline::{Cell, short_ms, sparkline, sparkline_words, status_strip};
use super::{WebError, WebResult};
use crate::auth::ensure;
use crate::error::ApiError;
use crate::extract::{CasePath, WebQuery};
use crate::state::AppState;

const RESULTS_PER_PAGE: u32 = 20;
/// How many of the latest runs the strip and the sparkline show.
const LATEST: u32 = 30;
/// The longest quarantine reason (characters), as the API.
const MAX_REASON: usize = 1000;

/// GET /cases/:cid (`page`)
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    path: Result<CasePath, ApiError>,
    headers: HeaderMap,
    mut q: WebQuery,
) -> WebResult<Response> {
    let CasePath { cid } = path?;
    let page_no = page_number(&mut q, "page");
    let notice = notice(&headers);
    let response = render(&state, &session, cid, page_no, None, notice, StatusCode::OK).await?;
    Ok(shown(response, notice))
}

/// The case page; `error` is a quarantine form that could not be saved.
async fn render(
    state: &AppState,
    session: &Session,
    cid: verdict_store::CaseId,
    page_no: u32,
    error: Option<String>,
    notice: Option<Notice>,
    status: StatusCode,
) -> WebResult<Response> {
    let case = state.store.get_case(cid).await?;
    let role = session
        .caller()
        .role_in_existing(state, case.project_id)
        .await?;
    let project = state.store.get_project(case.project_id).await?;
    let latest = state
        .store
        .case_results(
            cid,
            None,
            Page {
                page: 1,
                per_page: LATEST,
            },
        )
        .await?;
    let listing = state
        .store
        .case_results(
            cid,
            None,
            Page {
                page: page_no,
                per_page: RESULTS_PER_PAGE,
            },
        )
        .await?;
    let names = tester_names(
        state,
        listing
            .items
            .iter()
            .filter_map(|r| r.tested_by)
            .chain(case.quarantine.as_ref().map(|q| q.by)),
    )
    .await;
    let oldest_first: Vec<&CaseRunResult> = latest.items.iter().rev().collect();
    let cells: Vec<Cell> = oldest_first
        .iter()
        .map(|r| Cell {
            run_id: r.run_id,
            run_name: r.run_name.clone(),
            status: r.status,
        })
        .collect();
    let durations: Vec<Option<i64>> = oldest_first.iter().map(|r| r.elapsed_ms).collect();
    let tally = |s: Status| cells.iter().filter(|c| c.status == s).count();
    let name_of = |id| names.get(&id).cloned().unwrap_or_else(|| format!("{id}"));
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
        }
        h1 { (case.title) " " @if case.quarantine.is_some() { span.badge.quarantined { "Quarantined" } } }
        (notice_markup(notice))
        @if role >= Role::Manager {
            p.case-actions {
                a href={ "/cases/" (case.id) "/edit" } { "Edit" } " "
                a href={ "/cases/" (case.id) "/delete" } { "Delete…" }
            }
        }
        @if let Some(e) = &error { p.notice.error role="alert" { (e) } }
        dl.case-fields {
            div { dt { "Key" } dd { @match &case.key { Some(k) => code { (k) }, None => "none" } } }
            div { dt { "Suite" } dd { (case.suite.as_deref().unwrap_or("none")) } }
            div { dt { "Id" } dd { code { (case.id) } } }
            div { dt { "Created" } dd { (time(case.created_at)) } }
            div { dt { "Quarantine" } dd #quarantine-state {
                @match &case.quarantine {
                    Some(q) => { "Quarantined " (time(q.at)) " by " (name_of(q.by)) ": " span.reason { (q.reason) } },
                    None => "Not quarantined",
                }
            } }
            @if let Some(p) = case.details.priority {
                div { dt { "Priority" } dd #case-priority { span.priority { (p.as_str()) } } }
            }
            @if !case.details.refs.is_empty() {
                div { dt { "Refs" } dd #case-refs {
                    @for (i, r) in case.details.refs.iter().enumerate() {
                        @if i > 0 { ", " }
                        code { (r) }
                    }
                } }
            }
        }
        @if let Some(p) = &case.details.preconditions {
            section #preconditions aria-labelledby="preconditions-heading" {
                h2 #preconditions-heading { "Preconditions" }
                p.multiline { (p) }
            }
        }
        @if !case.details.steps.is_empty() {
            section #steps aria-labelledby="steps-heading" {
                h2 #steps-heading { "Steps" }
                ol.steps {
                    @for step in &case.details.steps {
                        li {
                            span.action.multiline { (step.action) }
                            @if let Some(e) = &step.expected {
                                " → " span.expected.multiline { (e) }
                            }
                        }
                    }
                }
            }
        }
        section #latest aria-labelledby="latest-heading" {
            h2 #latest-heading { "Latest runs " span.count { "(" (cells.len()) ", oldest first)" } }
            @if cells.is_empty() {
                p { "This case has not been in a run yet." }
            } @else {
                div.case-charts {
                    figure {
                        (status_strip(&cells))
                        figcaption.small {
                            (tally(Status::Passed)) " passed, " (tally(Status::Failed)) " failed"
                            @let other = cells.len() - tally(Status::Passed) - tally(Status::Failed);
                            @if other > 0 { ", " (other) " other" }
                            " in the last " (cells.len()) " runs"
                        }
                    }
                    figure {
                        (sparkline(&durations))
                        figcaption.small {
                            (sparkline_words(&durations))
                            @if let Some(last) = durations.iter().rev().flatten().next() {
                                " · latest " (short_ms(*last))
                            }
                        }
                    }
                }
            }
        }
        @if role >= Role::Manager { (quarantine_form(&case, &session.csrf)) }
        @else if case.quarantine.is_none() {
            p.small { "A project manager can quarantine this case: its failures then count for no quality gate rule." }
        }
        section aria-labelledby="results-heading" {
            h2 #results-heading { "Results across runs " span.count { "(" (listing.total) ")" } }
            @if listing.items.is_empty() {
                p { "No results." }
            } @else {
                div.scroll {
                    table.list.case-results {
                        caption.sr-only { "Results of this case, newest run first" }
                        thead { tr {
                            th scope="col" { "Run" } th scope="col" { "Branch" }
                            th scope="col" { "Status" } th scope="col" { "Note" }
                            th scope="col" { "Elapsed" } th scope="col" { "Tested" }
                        } }
                        tbody {
                            @for r in &listing.items {
                                tr data-status=(r.status.as_str()) {
                                    td { a href={ "/runs/" (r.run_id) } { (r.run_name) } }
                                    td {
                                        @if let Some(b) = &r.branch { code { (b) } }
                                        @if let Some(c) = &r.commit { " @ " code { (c.chars().take(7).collect::<String>()) } }
                                    }
                                    td { a href={ "/runs/" (r.run_id) "/results/" (r.result_id) "/history" }
                                        title="History of this result" { (status_badge(r.status)) } }
                                    td.note { (r.note.as_deref().unwrap_or("")) }
                                    td.num { (elapsed(r.elapsed_ms)) }
                                    td.tested {
                                        @if let (Some(by), Some(at)) = (r.tested_by, r.tested_at) {
                                            span.by { (name_of(by)) } " " span.at { (time(at)) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                (pager(page_no, RESULTS_PER_PAGE, listing.total, |n| format!("/cases/{cid}?page={n}")))
            }
        }
    };
    Ok(respond(status, page(&case.title, Some(session), main)))
}

fn quarantine_form(case: &Case, csrf: &str) -> Markup {
    html! {
        section.quarantine aria-labelledby="quarantine-heading" {
            h2 #quarantine-heading { "Quarantine" }
            @if case.quarantine.is_some() {
                form.inline method="post" action={ "/cases/" (case.id) "/release" } {
                    input type="hidden" name="csrf" value=(csrf);
                    p.small { "Its failures count for no quality gate rule while it is quarantined." }
                    button type="submit" { "Release from quarantine…" }
                }
            } @else {
                form.stacked method="post" action={ "/cases/" (case.id) "/quarantine" } {
                    input type="hidden" name="csrf" value=(csrf);
                    label for="reason" { "Reason" }
                    textarea #reason name="reason" rows="2" maxlength=(MAX_REASON) required {}
                    span.hint { "Quarantined cases still show every result; only the quality gate leaves them out." }
                    button type="submit" { "Quarantine this case" }
                }
            }
        }
    }
}

/// The case a form names, if the poster may manage it (404 outside their
/// projects, 403 below manager).
async fn managed(
    state: &AppState,
    posted: &SessionForm,
    path: Result<CasePath, ApiError>,
) -> WebResult<Case> {
    managed_by(state, &posted.session, path, QUARANTINE).await
}

/// What a manager may do to cases here (the 403 page names it).
const QUARANTINE: &str = "quarantine cases";

/// The case in `path`, for a manager of its project (or an admin) about to
/// `action` it; anyone else gets the page the API's answer would be.
pub(super) async fn managed_by(
    state: &AppState,
    session: &Session,
    path: Result<CasePath, ApiError>,
    action: &str,
) -> WebResult<Case> {
    let CasePath { cid } = path?;
    let case = state.store.get_case(cid).await?;
    let role = session
        .caller()
        .role_in_existing(state, case.project_id)
        .await?;
    ensure(role, Role::Manager, action).map_err(WebError::Page)?;
    Ok(case)
}

/// POST /cases/:cid/quarantine (`reason`; manager)
pub async fn quarantine(
    State(state): State<AppState>,
    path: Result<CasePath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let case = managed(&state, &posted, path).await?;
    let reason = posted
        .form
        .get("reason")
        .unwrap_or_default()
        .replace("\r\n", "\n")
        .trim()
        .to_string();
    let problem = if reason.is_empty() {
        Some("Reason: say why the case is quarantined")
    } else if reason.chars().count() > MAX_REASON {
        Some("Reason: at most 1000 characters")
    } else if reason
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        Some("Reason: control characters are not allowed")
    } else {
        None
    };
    if let Some(message) = problem {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(
            &state,
            &posted.session,
            case.id,
            1,
            Some(message.into()),
            None,
            status,
        )
        .await;
    }
    state
        .store
        .set_quarantine(
            case.id,
            Some(Quarantine {
                reason,
                by: posted.session.user.id,
                at: Timestamp::now(),
            }),
        )
        .await?;
    Ok(Redirect::to(&format!("/cases/{}", case.id)).into_response())
}

/// GET /cases/:cid/release: asks first (manager) — the quarantine's
/// reason is not kept, and the case's failures count for the quality gate
/// again.
pub async fn confirm_release(
    State(state): State<AppState>,
    session: Session,
    path: Result<CasePath, ApiError>,
) -> WebResult<Response> {
    let case = managed_by(&state, &session, path, QUARANTINE).await?;
    let project = state.store.get_project(case.project_id).await?;
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
            a href={ "/cases/" (case.id) } { (case.title) } " › "
        }
        @match &case.quarantine {
            None => {
                h1 { (case.title) " is not quarantined" }
                p { a href={ "/cases/" (case.id) } { "Back to the case" } }
            }
            Some(q) => {
                h1 { "Release " (case.title) " from quarantine?" }
                p { "Its failures count for the quality gate again. The reason is not kept:" }
                blockquote { (q.reason) }
                form.confirm method="post" action={ "/cases/" (case.id) "/release" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="confirm" value="yes";
                    button.danger type="submit" { "Yes, release it" }
                    " "
                    a href={ "/cases/" (case.id) } { "Cancel" }
                }
            }
        }
    };
    let title = format!("Release {}", case.title);
    Ok(respond(StatusCode::OK, page(&title, Some(&session), main)))
}

/// POST /cases/:cid/release (`confirm=yes`; manager)
pub async fn release(
    State(state): State<AppState>,
    path: Result<CasePath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let case = managed(&state, &posted, path).await?;
    // The reason is lost: without the confirmation page's field, the
    // post changes nothing and only leads to that page.
    if posted.form.get("confirm") != Some("yes") {
        return Ok(Redirect::to(&format!("/cases/{}/release", case.id)).into_response());
    }
    state.store.set_quarantine(case.id, None).await?;
    Ok(Redirect::to(&format!("/cases/{}", case.id)).into_response())
}
