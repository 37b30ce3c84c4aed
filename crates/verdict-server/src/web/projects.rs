//! The projects page (the user's projects; every project for an admin) and
//! one project: its runs, newest first, each with a stacked status bar and
//! its pass rate, and its cases. Someone who is not a member gets the same
//! 404 page as for a project that does not exist.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use verdict_store::{
    CaseQuery, Counts, DurationQuery, DurationSort, FlakyQuery, Page, ProjectId, Role, Run,
    RunFilter, RunState,
};

use super::WebResult;
use super::chart::{pass_rate, stacked_bar};
use super::layout::{page, pager, pager_of, percent, respond, status_label, status_symbol, time};
use super::session::Session;
use super::setup;
use super::setup_projects::{NewProjectForm, new_project_form};
use super::timeline::{short_ms, trend_chart};
use crate::error::ApiError;
use crate::extract::{ProjectPath, WebQuery};
use crate::state::AppState;

const PROJECTS_PER_PAGE: u32 = 50;
const RUNS_PER_PAGE: u32 = 20;
const CASES_PER_PAGE: u32 = 50;
const FLAKY_PER_PAGE: u32 = 10;
const SLOW_PER_PAGE: u32 = 10;
/// The runs the trend, the flaky list and the durations look at.
const WINDOW: u32 = 30;
/// The least flip score that lists a case as flaky.
const FLAKY_THRESHOLD: f64 = 0.1;

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
    headers: HeaderMap,
    mut q: WebQuery,
) -> WebResult<Response> {
    let page_no = page_number(&mut q, "page");
    let notice = setup::notice(&headers);
    let response = render_list(
        &state,
        &session,
        page_no,
        &NewProjectForm::default(),
        notice,
        StatusCode::OK,
    )
    .await?;
    Ok(setup::shown(response, notice))
}

/// The projects page, with the new-project form as given (refused, its
/// values and problems; else empty).
pub async fn render_list(
    state: &AppState,
    session: &Session,
    page_no: u32,
    form: &NewProjectForm,
    notice: Option<setup::Notice>,
    status: StatusCode,
) -> WebResult<Response> {
    let paging = Page {
        page: page_no,
        per_page: PROJECTS_PER_PAGE,
    };
    let member = (!session.user.admin).then_some(session.user.id);
    let projects = state.store.list_projects(member, paging).await?;
    let caller = session.caller();
    let mut rows = Vec::with_capacity(projects.items.len());
    for p in &projects.items {
        rows.push((p, caller.role_in_existing(state, p.id).await?));
    }
    let first = projects.total == 0;
    let main = html! {
        h1 { "Projects" }
        (setup::notice_markup(notice))
        @if rows.is_empty() {
            @if !session.user.admin {
                p.notice { "You are not a member of any project yet. A project's manager (or an admin) can add you, or you can create a project of your own below." }
            }
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
        (new_project_form(session, form, first))
    };
    Ok(respond(status, page("Projects", Some(session), main)))
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
    let branch = q
        .take("branch")
        .ok()
        .flatten()
        .map(|b| b.trim().to_string())
        .filter(|b| !b.is_empty());
    let flaky_page = page_number(&mut q, "flaky_page");
    let slow_page = page_number(&mut q, "slow_page");
    let triage = Triage {
        branch,
        flaky_page,
        slow_page,
        runs_page,
        cases_page,
    };
    let history = history(&state, id, &triage).await?;
    let link = |runs: u32, cases: u32| {
        triage.url(
            id,
            &Triage {
                runs_page: runs,
                cases_page: cases,
                ..triage.clone()
            },
        )
    };
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/projects" { "Projects" } " › " }
        h1 { (project.name) }
        p.meta { "Your role: " strong { (role.as_str()) } }
        nav.project-actions aria-label="Project" {
            a href={ "/projects/" (id) "/cases" } { "Test cases" }
            @if role >= Role::Tester { a href={ "/projects/" (id) "/runs/new" } { "New run" } }
            a href={ "/projects/" (id) "/settings" } { "Settings" }
            @if role >= Role::Manager { a href={ "/projects/" (id) "/webhooks" } { "Webhooks" } }
        }
        (history)
        section aria-labelledby="runs-heading" {
            h2 #runs-heading { "Runs " span.count { "(" (runs.total) ")" } }
            @if runs.items.is_empty() {
                p { "No runs yet. Start one with “New run” above, or through the API or " code { "verdict upload" } "." }
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
                (pager_of("Pages of runs", runs_page, RUNS_PER_PAGE, runs.total, |n| link(n, cases_page)))
            }
        }
        section aria-labelledby="cases-heading" {
            h2 #cases-heading { "Test cases " span.count { "(" (cases.total) ")" } }
            @if cases.items.is_empty() {
                p { "No test cases yet. " a href={ "/projects/" (id) "/cases" } { "Write them on the test cases page" } "." }
            } @else {
                div.scroll {
                    table.list.cases {
                        thead { tr { th scope="col" { "Title" } th scope="col" { "Suite" } th scope="col" { "Key" } } }
                        tbody {
                            @for case in &cases.items {
                                tr {
                                    td {
                                        a href={ "/cases/" (case.id) } { (case.title) }
                                        @if case.quarantine.is_some() { " " span.badge.quarantined { "Quarantined" } }
                                    }
                                    td { (case.suite.as_deref().unwrap_or("")) }
                                    td { @if let Some(k) = &case.key { code { (k) } } }
                                }
                            }
                        }
                    }
                }
                (pager_of("Pages of test cases", cases_page, CASES_PER_PAGE, cases.total, |n| link(runs_page, n)))
            }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(&project.name, Some(&session), main),
    ))
}

/// What the project page's history sections show: a branch (or every run)
/// and their pages, with the run and case lists' pages kept in links.
#[derive(Debug, Clone)]
struct Triage {
    branch: Option<String>,
    flaky_page: u32,
    slow_page: u32,
    runs_page: u32,
    cases_page: u32,
}

impl Triage {
    /// The project page with `to`'s parameters (first pages left out).
    fn url(&self, id: ProjectId, to: &Triage) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(b) = &to.branch {
            query.append_pair("branch", b);
        }
        for (name, n) in [
            ("flaky_page", to.flaky_page),
            ("slow_page", to.slow_page),
            ("runs_page", to.runs_page),
            ("cases_page", to.cases_page),
        ] {
            if n > 1 {
                query.append_pair(name, &n.to_string());
            }
        }
        let query = query.finish();
        if query.is_empty() {
            format!("/projects/{id}")
        } else {
            format!("/projects/{id}?{query}")
        }
    }
}

/// Change of a median as people read it: `+35%`, `−10%`, `same`.
fn change_words(change: Option<f64>) -> String {
    match change {
        None => "–".to_string(),
        Some(c) => {
            let pct = ((c - 1.0) * 100.0).round() as i64;
            match pct {
                0 => "same".to_string(),
                p if p > 0 => format!("▲ +{p}% slower"),
                p => format!("▼ {p}% faster").replace('-', "−"),
            }
        }
    }
}

/// The trend of the latest runs, the flaky cases and the slowest cases.
async fn history(state: &AppState, id: ProjectId, t: &Triage) -> WebResult<Markup> {
    let store = &state.store;
    let trend = store.trends(id, t.branch.clone(), WINDOW).await?;
    let flaky = store
        .flaky_cases(
            id,
            FlakyQuery {
                branch: t.branch.clone(),
                window: WINDOW,
                threshold: FLAKY_THRESHOLD,
            },
            Page {
                page: t.flaky_page,
                per_page: FLAKY_PER_PAGE,
            },
        )
        .await?;
    let slow = store
        .durations(
            id,
            DurationQuery {
                branch: t.branch.clone(),
                window: WINDOW,
                sort: DurationSort::Slowest,
            },
            Page {
                page: t.slow_page,
                per_page: SLOW_PER_PAGE,
            },
        )
        .await?;
    // The branches of recent runs, offered in the branch field.
    let recent = store
        .list_runs(
            id,
            RunFilter::default(),
            Page {
                page: 1,
                per_page: 100,
            },
        )
        .await?;
    let mut branches: Vec<&str> = recent
        .items
        .iter()
        .filter_map(|r| r.meta.branch.as_deref())
        .collect();
    branches.sort_unstable();
    branches.dedup();
    let scope = match &t.branch {
        Some(b) => format!("runs of branch {b}"),
        None => "runs of every branch".to_string(),
    };
    Ok(html! {
        form.filters method="get" action={ "/projects/" (id) } role="search" {
            label for="branch" { "Branch" }
            input #branch type="text" name="branch" list="branches" value=(t.branch.as_deref().unwrap_or(""))
                placeholder="every branch";
            datalist #branches { @for b in &branches { option value=(b) {} } }
            button type="submit" { "Show" }
            @if t.branch.is_some() { a href={ "/projects/" (id) } { "Every branch" } }
        }
        section #trend aria-labelledby="trend-heading" {
            h2 #trend-heading { "Trend " span.count { "(the latest " (trend.len()) " " (scope) ")" } }
            @if trend.is_empty() {
                p { "No runs yet." }
            } @else {
                div.scroll { (trend_chart(&trend)) }
            }
        }
        div.triage-lists {
            section #flaky aria-labelledby="flaky-heading" {
                h2 #flaky-heading { "Flaky tests " span.count { "(" (flaky.total) ")" } }
                p.hint { "Cases whose status flipped between passed and failed in at least "
                    (format!("{:.0}", FLAKY_THRESHOLD * 100.0)) "% of their last " (WINDOW) " " (scope) ", or that passed on a retry." }
                @if flaky.items.is_empty() {
                    p { "No flaky tests." }
                } @else {
                    div.scroll {
                        table.list.flaky {
                            thead { tr {
                                th scope="col" { "Test case" } th scope="col" { "Flip score" }
                                th scope="col" { "Flips" } th scope="col" { "Recent, oldest first" }
                            } }
                            tbody {
                                @for c in &flaky.items {
                                    tr {
                                        td {
                                            a href={ "/cases/" (c.case_id) } { (c.title) }
                                            @if c.quarantined { " " span.badge.quarantined { "Quarantined" } }
                                            @if c.retried_pass > 0 {
                                                br; span.small { "passed on a retry in " (c.retried_pass) " run" @if c.retried_pass != 1 { "s" } }
                                            }
                                        }
                                        td.num { (format!("{:.0}%", c.score * 100.0)) }
                                        td.num { (c.flips) " in " (c.runs) " runs" }
                                        td {
                                            @let words: Vec<&str> = c.statuses.iter().map(|s| status_label(*s)).collect();
                                            span.flips role="img" aria-label=(words.join(", ")) {
                                                @for s in c.statuses.iter().rev().take(15).collect::<Vec<_>>().into_iter().rev() {
                                                    span class={ "flip st-" (s.as_str()) } aria-hidden="true" { (status_symbol(*s)) }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    (pager_of("Pages of flaky tests", t.flaky_page, FLAKY_PER_PAGE, flaky.total, |n| t.url(id, &Triage { flaky_page: n, ..t.clone() })))
                }
            }
            section #slowest aria-labelledby="slowest-heading" {
                h2 #slowest-heading { "Slowest tests " span.count { "(" (slow.total) ")" } }
                p.hint { "Median (p50) and p95 of each case's elapsed time over its last " (WINDOW) " " (scope) ", and the change from the " (WINDOW) " before." }
                @if slow.items.is_empty() {
                    p { "No elapsed times recorded yet." }
                } @else {
                    div.scroll {
                        table.list.slowest {
                            thead { tr {
                                th scope="col" { "Test case" } th.num scope="col" { "p50" }
                                th.num scope="col" { "p95" } th.num scope="col" { "Latest" }
                                th scope="col" { "Change" }
                            } }
                            tbody {
                                @for d in &slow.items {
                                    tr {
                                        td { a href={ "/cases/" (d.case_id) } { (d.title) } }
                                        td.num { (short_ms(d.p50_ms)) }
                                        td.num { (short_ms(d.p95_ms)) }
                                        td.num { (short_ms(d.last_ms)) }
                                        td { (change_words(d.change)) }
                                    }
                                }
                            }
                        }
                    }
                    (pager_of("Pages of slowest tests", t.slow_page, SLOW_PER_PAGE, slow.total, |n| t.url(id, &Triage { slow_page: n, ..t.clone() })))
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_says_its_direction_in_words() {
        assert_eq!(change_words(Some(1.35)), "▲ +35% slower");
        assert_eq!(change_words(Some(0.9)), "▼ −10% faster");
        assert_eq!(change_words(Some(1.0)), "same");
        assert_eq!(change_words(None), "–");
    }
}
