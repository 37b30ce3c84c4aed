//! The projects page (the user's projects; every project for an admin) and
//! one project: its runs, newest first, each with a stacked status bar and
//! its pass rate, and its cases. Someone who is not a member gets the same
//! 404 page as for a project that does not exist.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use verdict_store::{CaseQuery, Counts, Page, Run, RunFilter, RunState};

use super::WebResult;
use super::chart::{pass_rate, stacked_bar};
use super::layout::{page, pager, percent, respond, status_label, time};
use super::session::Session;
use crate::error::ApiError;
use crate::extract::{ProjectPath, WebQuery};
use crate::state::AppState;

const PROJECTS_PER_PAGE: u32 = 50;
const RUNS_PER_PAGE: u32 = 20;
const CASES_PER_PAGE: u32 = 50;

/// A page number from the query; anything unusable is the first page
/// (a person editing a URL deserves a page, not an error).
pub fn page_number(q: &mut WebQuery, name: &str) -> u32 {
    q.take(name)
        .ok()
        .flatten()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

/// GET /projects
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    mut q: WebQuery,
) -> WebResult<Response> {
    let page_no = page_number(&mut q, "page");
    let paging = Page {
        page: page_no,
        per_page: PROJECTS_PER_PAGE,
    };
    let member = (!session.user.admin).then_some(session.user.id);
    let projects = state.store.list_projects(member, paging).await?;
    let caller = session.caller();
    let mut rows = Vec::with_capacity(projects.items.len());
    for p in &projects.items {
        rows.push((p, caller.role_in_existing(&state, p.id).await?));
    }
    let main = html! {
        h1 { "Projects" }
        @if rows.is_empty() {
            p.notice { "You are not a member of any project yet. A project's manager (or an admin) can add you." }
        } @else {
            table.list {
                thead { tr { th scope="col" { "Project" } th scope="col" { "Your role" } th scope="col" { "Created" } } }
                tbody {
                    @for (p, role) in &rows {
                        tr {
                            td { a href={ "/projects/" (p.id) } { (p.name) } }
                            td { (role.as_str()) @if session.user.admin { " (admin)" } }
                            td { (time(p.created_at)) }
                        }
                    }
                }
            }
            (pager(page_no, PROJECTS_PER_PAGE, projects.total, |n| format!("/projects?page={n}")))
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("Projects", Some(&session), main),
    ))
}

/// "12 passed, 3 failed, 24 not tested": the statuses a run has, in words.
pub fn counts_in_words(counts: &Counts) -> String {
    let parts: Vec<String> = verdict_store::Status::ALL
        .iter()
        .filter(|s| counts.get(**s) > 0)
        .map(|s| format!("{} {}", counts.get(*s), status_label(*s).to_lowercase()))
        .collect();
    if parts.is_empty() {
        "no results".into()
    } else {
        parts.join(", ")
    }
}

fn run_row(run: &Run) -> Markup {
    let c = &run.counts;
    let tested = c.total() - c.not_tested;
    html! {
        tr {
            td { a href={ "/runs/" (run.id) } { (run.name) } }
            td {
                @match run.state {
                    RunState::Open => "Open",
                    RunState::Closed => "Closed",
                }
            }
            td.results {
                (stacked_bar(c))
                span.small { (counts_in_words(c)) }
            }
            td.num {
                @match pass_rate(c) {
                    Some(rate) => { (rate) "%" },
                    None => "–",
                }
            }
            td.num { (tested) " of " (c.total()) " (" (percent(tested, c.total())) "%)" }
            td { (time(run.created_at)) }
        }
    }
}

/// GET /projects/:pid (`runs_page`, `cases_page`)
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    path: Result<ProjectPath, ApiError>,
    mut q: WebQuery,
) -> WebResult<Response> {
    let ProjectPath { pid: id } = path?;
    let role = session.caller().role_in(&state, id).await?;
    let project = state.store.get_project(id).await?;
    let runs_page = page_number(&mut q, "runs_page");
    let cases_page = page_number(&mut q, "cases_page");
    let runs = state
        .store
        .list_runs(
            id,
            RunFilter::default(),
            Page {
                page: runs_page,
                per_page: RUNS_PER_PAGE,
            },
        )
        .await?;
    let cases = state
        .store
        .list_cases(
            id,
            CaseQuery::default(),
            Page {
                page: cases_page,
                per_page: CASES_PER_PAGE,
            },
        )
        .await?;
    let link =
        |runs: u32, cases: u32| format!("/projects/{id}?runs_page={runs}&cases_page={cases}");
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/projects" { "Projects" } " › " }
        h1 { (project.name) }
        p.meta { "Your role: " strong { (role.as_str()) } }
        section aria-labelledby="runs-heading" {
            h2 #runs-heading { "Runs " span.count { "(" (runs.total) ")" } }
            @if runs.items.is_empty() {
                p { "No runs yet. Runs are created through the API or " code { "verdict upload" } "." }
            } @else {
                div.scroll {
                    table.list.runs {
                        thead { tr {
                            th scope="col" { "Run" } th scope="col" { "State" }
                            th scope="col" { "Results by status" } th scope="col" { "Pass rate" }
                            th scope="col" { "Tested" } th scope="col" { "Created" }
                        } }
                        tbody { @for run in &runs.items { (run_row(run)) } }
                    }
                }
                (pager(runs_page, RUNS_PER_PAGE, runs.total, |n| link(n, cases_page)))
            }
        }
        section aria-labelledby="cases-heading" {
            h2 #cases-heading { "Test cases " span.count { "(" (cases.total) ")" } }
            @if cases.items.is_empty() {
                p { "No test cases yet." }
            } @else {
                div.scroll {
                    table.list.cases {
                        thead { tr { th scope="col" { "Title" } th scope="col" { "Suite" } th scope="col" { "Key" } } }
                        tbody {
                            @for case in &cases.items {
                                tr {
                                    td { (case.title) }
                                    td { (case.suite.as_deref().unwrap_or("")) }
                                    td { @if let Some(k) = &case.key { code { (k) } } }
                                }
                            }
                        }
                    }
                }
                (pager(cases_page, CASES_PER_PAGE, cases.total, |n| link(runs_page, n)))
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(&project.name, Some(&session), main),
    ))
}
