//! A run against its baseline, for people: the *Compared with …* strip the
//! run page shows (counts of new failures, fixed, still failing and new
//! tests, each a link), the changes page it links to (`/runs/:rid/compare`,
//! filtered by category) and the failures page (`/runs/:rid/failures`):
//! every failure's message and stack trace in full, grouped by signature,
//! groups the baseline did not have marked "New". The baseline is the
//! store's rule (`BaselineChoice::Auto`), as for `GET /v1/runs/:rid/compare`.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use verdict_store::{
    BaselineChoice, Category, CompareSummary, Comparison, FailureGroup, Page, ResultId, Run, RunId,
    Status,
};

use super::WebResult;
use super::layout::{page, pager, respond, status_badge};
use super::projects::page_number;
use super::session::Session;
use crate::error::ApiError;
use crate::extract::{RunPath, WebQuery};
use crate::state::AppState;

const CHANGES_PER_PAGE: u32 = 50;
const GROUPS_PER_PAGE: u32 = 20;
/// Failures shown per group: all of them, in practice (a run with more
/// failures of one kind than this has the count and the first ones).
const FAILURES_PER_GROUP: usize = 500;

/// The categories the strip shows, in its order.
const STRIP: [Category; 4] = [
    Category::NewFailure,
    Category::Fixed,
    Category::StillFailing,
    Category::NewTest,
];

/// What people call a category, singular and plural.
pub fn category_label(c: Category, n: i64) -> &'static str {
    let one = n == 1;
    match c {
        Category::NewFailure if one => "new failure",
        Category::NewFailure => "new failures",
        Category::StillFailing => "still failing",
        Category::Fixed => "fixed",
        Category::NewTest if one => "new test",
        Category::NewTest => "new tests",
        Category::Missing => "missing",
        Category::Changed => "changed",
        Category::Unchanged => "unchanged",
    }
}

/// A symbol per category, beside its name (never instead of it).
fn category_symbol(c: Category) -> &'static str {
    match c {
        Category::NewFailure => "▲",
        Category::StillFailing => "■",
        Category::Fixed => "✓",
        Category::NewTest => "+",
        Category::Missing => "−",
        Category::Changed => "~",
        Category::Unchanged => "=",
    }
}

/// `main @ 3f2a1c9`, `main`, `@ 3f2a1c9`, or nothing: where a run's results
/// came from.
pub fn source(run: &Run) -> Option<String> {
    let commit = run
        .meta
        .commit
        .as_deref()
        .map(|c| c.chars().take(7).collect::<String>());
    match (run.meta.branch.as_deref(), commit) {
        (Some(b), Some(c)) => Some(format!("{b} @ {c}")),
        (Some(b), None) => Some(b.to_string()),
        (None, Some(c)) => Some(format!("@ {c}")),
        (None, None) => None,
    }
}

/// `/runs/run_007/compare?category=new_failure`
fn changes_url(run: RunId, category: Option<Category>, page: u32) -> String {
    let mut url = format!("/runs/{run}/compare");
    let mut sep = '?';
    if let Some(c) = category {
        url.push_str(&format!("{sep}category={}", c.as_str()));
        sep = '&';
    }
    if page > 1 {
        url.push_str(&format!("{sep}page={page}"));
    }
    url
}

/// The baseline run, when there is one (a lookup that fails shows the id
/// alone: the strip is a summary, not worth failing the page for).
async fn baseline_run(state: &AppState, id: Option<RunId>) -> Option<Run> {
    state.store.get_run(id?).await.ok()
}

/// "Compared with run_041 Nightly (main @ 3f2a1c9)", linked.
fn compared_with(id: Option<RunId>, baseline: Option<&Run>) -> Markup {
    html! {
        @match (id, baseline) {
            (Some(id), Some(b)) => {
                "Compared with " a href={ "/runs/" (id) } { (id) " " (b.name) }
                @if let Some(s) = source(b) { " (" (s) ")" }
            },
            (Some(id), None) => { "Compared with " a href={ "/runs/" (id) } { (id) } },
            _ => "No earlier run to compare with (none of the same branch and environment): every tested case counts as new",
        }
    }
}

/// The run page's strip: the baseline and, per category, its count as a
/// link to the changes of that category.
pub async fn strip(state: &AppState, run: &Run) -> WebResult<Markup> {
    let comparison = state
        .store
        .compare_runs(
            run.id,
            BaselineChoice::Auto,
            Vec::new(),
            Page {
                page: 1,
                per_page: 1,
            },
        )
        .await?;
    let baseline = baseline_run(state, comparison.baseline_id).await;
    let s = &comparison.summary;
    Ok(html! {
        section.compare #compare aria-labelledby="compare-heading" {
            h2 #compare-heading.sr-only { "Compared with the baseline" }
            p.compared { (compared_with(comparison.baseline_id, baseline.as_ref())) }
            ul.compare-counts {
                @for c in STRIP {
                    li class={ "cat cat-" (c.as_str()) } data-category=(c.as_str()) {
                        a href=(changes_url(run.id, Some(c), 1)) {
                            span aria-hidden="true" { (category_symbol(c)) " " }
                            span.n { (s.get(c)) } " "
                            (category_label(c, s.get(c)))
                        }
                    }
                }
                li { a href=(changes_url(run.id, None, 1)) { "All changes" } }
                li { a href={ "/runs/" (run.id) "/failures" } { "Failures by message" } }
            }
        }
    })
}

/// The categories asked for: `category=a,b`; unknown names are ignored (a
/// URL edited by hand gives a page, not an error).
fn categories(q: &mut WebQuery) -> Vec<Category> {
    let mut found: Vec<Category> = q
        .take("category")
        .ok()
        .flatten()
        .unwrap_or_default()
        .split(',')
        .filter_map(|c| Category::parse(c.trim()))
        .filter(|c| *c != Category::Unchanged)
        .collect();
    found.sort();
    found.dedup();
    found
}

fn crumbs(project: &verdict_store::Project, run: &Run) -> Markup {
    html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
            a href={ "/runs/" (run.id) } { (run.name) } " › "
        }
    }
}

fn filter_nav(run: RunId, chosen: &[Category], summary: &CompareSummary) -> Markup {
    let all: i64 = Category::ALL
        .iter()
        .filter(|c| **c != Category::Unchanged)
        .map(|c| summary.get(*c))
        .sum();
    html! {
        nav.categories aria-label="Categories" {
            a href=(changes_url(run, None, 1)) aria-current=[chosen.is_empty().then_some("page")] {
                "All changes (" (all) ")"
            }
            @for c in Category::ALL {
                @if c != Category::Unchanged {
                    a href=(changes_url(run, Some(c), 1))
                        aria-current=[(chosen == [c]).then_some("page")] {
                        span aria-hidden="true" { (category_symbol(c)) " " }
                        (capitalised(category_label(c, 2))) " (" (summary.get(c)) ")"
                    }
                }
            }
        }
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn maybe_status(s: Option<Status>) -> Markup {
    html! {
        @match s { Some(s) => (status_badge(s)), None => span.small { "not in the run" } }
    }
}

/// GET /runs/:rid/compare (`category`, `page`)
pub async fn changes(
    State(state): State<AppState>,
    session: Session,
    path: Result<RunPath, ApiError>,
    mut q: WebQuery,
) -> WebResult<Response> {
    let RunPath { rid: id } = path?;
    let (run, _) = session.caller().run(&state, id).await?;
    let project = state.store.get_project(run.project_id).await?;
    let chosen = categories(&mut q);
    let page_no = page_number(&mut q, "page");
    let Comparison {
        baseline_id,
        summary,
        changes,
        ..
    } = state
        .store
        .compare_runs(
            id,
            BaselineChoice::Auto,
            chosen.clone(),
            Page {
                page: page_no,
                per_page: CHANGES_PER_PAGE,
            },
        )
        .await?;
    let baseline = baseline_run(&state, baseline_id).await;
    let one = match chosen.as_slice() {
        [c] => Some(*c),
        _ => None,
    };
    let title = format!("Changes in {}", run.name);
    let main = html! {
        (crumbs(&project, &run))
        h1 { (title) }
        p.meta { (compared_with(baseline_id, baseline.as_ref())) }
        (filter_nav(id, &chosen, &summary))
        @if changes.items.is_empty() {
            p.notice { "No changes in this category." }
        } @else {
            div.scroll {
                table.list.changes {
                    caption.sr-only { "Changed cases, by category then case" }
                    thead { tr {
                        th scope="col" { "Test case" } th scope="col" { "Change" }
                        th scope="col" { "Before" } th scope="col" { "Now" }
                        th scope="col" { "Failure signature" }
                    } }
                    tbody {
                        @for c in &changes.items {
                            tr data-category=(c.category.as_str()) {
                                td {
                                    a href={ "/cases/" (c.case_id) } { (c.title) }
                                    @if let Some(k) = &c.key { br; code.small { (k) } }
                                }
                                td { span class={ "cat cat-" (c.category.as_str()) } {
                                    span aria-hidden="true" { (category_symbol(c.category)) " " }
                                    (capitalised(category_label(c.category, 1)))
                                } }
                                td { (maybe_status(c.baseline_status)) }
                                td {
                                    @match c.result_id {
                                        Some(r) => a href={ "/runs/" (id) "/results/" (r) "/history" }
                                            title="History of this result" { (maybe_status(c.status)) },
                                        None => (maybe_status(c.status)),
                                    }
                                }
                                td { @if let Some(sig) = &c.signature { code { (sig) } } }
                            }
                        }
                    }
                }
            }
            (pager(page_no, CHANGES_PER_PAGE, changes.total, |n| changes_url(id, one, n)))
        }
    };
    Ok(respond(StatusCode::OK, page(&title, Some(&session), main)))
}

/// The first line of a note (what a failure's summary shows).
fn first_line(note: &str) -> &str {
    note.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

/// How many failures of a page of the failures report show their output
/// (each at most [`super::files::OUTPUT_SHOWN`] bytes): a report page
/// lists up to 20 groups of 500, and a page stays a few megabytes at most.
const OUTPUTS_PER_PAGE: usize = 50;

/// The outputs of the first failures on a page, by result.
async fn outputs(
    state: &AppState,
    run: RunId,
    groups: &[FailureGroup],
) -> HashMap<ResultId, String> {
    let mut out = HashMap::new();
    let shown = groups
        .iter()
        .flat_map(|g| &g.results)
        .take(OUTPUTS_PER_PAGE);
    for f in shown {
        // An output is a help, not worth failing the page for.
        if let Ok(r) = state.store.get_result(run, f.result_id).await
            && let Some(o) = r.output
        {
            out.insert(f.result_id, o);
        }
    }
    out
}

fn group(
    run: RunId,
    g: &FailureGroup,
    index: usize,
    outputs: &HashMap<ResultId, String>,
) -> Markup {
    let shown = g.results.len() as i64;
    html! {
        section.failure-group data-signature=(g.signature) aria-labelledby={ "group-" (index) } {
            h3 #{ "group-" (index) } {
                @if g.new { span.badge.new-group { "New" } " " }
                span.count-of { (g.count) " × " }
                code.message { (g.message) }
            }
            p.small {
                "Signature " code { (g.signature) }
                @if g.new { " · not seen in the baseline's failures" }
                @else { " · the baseline failed like this too" }
                @if shown < g.count { " · showing the first " (shown) }
            }
            ul.failures {
                @for f in &g.results {
                    li {
                        // The case's link before the disclosure, not in its
                        // summary: a link inside a summary is a control
                        // inside a control.
                        a href={ "/cases/" (f.case_id) } { (f.title) }
                        details {
                            @let line = first_line(f.note.as_deref().unwrap_or(""));
                            summary {
                                span.first-line { @if line.is_empty() { "(no message)" } @else { (line) } }
                            }
                            pre.trace tabindex="0" { code { (f.note.as_deref().unwrap_or("(no message)")) } }
                            @if let Some(o) = outputs.get(&f.result_id) {
                                (super::files::output(o, &format!("/runs/{run}/results/{}/output", f.result_id)))
                            }
                            p.small { a href={ "/runs/" (run) "/results/" (f.result_id) "/history" } { "History of this result" } }
                        }
                    }
                }
            }
        }
    }
}

/// GET /runs/:rid/failures (`page`)
pub async fn failures(
    State(state): State<AppState>,
    session: Session,
    path: Result<RunPath, ApiError>,
    mut q: WebQuery,
) -> WebResult<Response> {
    let RunPath { rid: id } = path?;
    let (run, _) = session.caller().run(&state, id).await?;
    let project = state.store.get_project(run.project_id).await?;
    let page_no = page_number(&mut q, "page");
    let report = state
        .store
        .run_failures(
            id,
            BaselineChoice::Auto,
            FAILURES_PER_GROUP,
            Page {
                page: page_no,
                per_page: GROUPS_PER_PAGE,
            },
        )
        .await?;
    let baseline = baseline_run(&state, report.baseline_id).await;
    let groups = &report.groups;
    let outputs = outputs(&state, id, &groups.items).await;
    let new_groups = groups.items.iter().filter(|g| g.new).count();
    let title = format!("Failures in {}", run.name);
    let first = (page_no as usize - 1) * GROUPS_PER_PAGE as usize;
    let main = html! {
        (crumbs(&project, &run))
        h1 { (title) }
        p.meta {
            (run.counts.failed) " failed result" @if run.counts.failed != 1 { "s" }
            " in " (groups.total) " group" @if groups.total != 1 { "s" } " by message"
            @if new_groups > 0 { " · " (new_groups) " new on this page" }
            " · " (compared_with(report.baseline_id, baseline.as_ref()))
        }
        p.hint { "Failures whose first line differs only in numbers, ids, times, paths or quoted values share a group. Open one to read its message and stack trace in full." }
        @if groups.items.is_empty() {
            p.notice { "Nothing failed in this run." }
        } @else {
            h2.sr-only { "Failure groups" }
            @for (i, g) in groups.items.iter().enumerate() { (group(id, g, first + i + 1, &outputs)) }
            (pager(page_no, GROUPS_PER_PAGE, groups.total, |n| format!("/runs/{id}/failures?page={n}")))
        }
    };
    Ok(respond(StatusCode::OK, page(&title, Some(&session), main)))
}
