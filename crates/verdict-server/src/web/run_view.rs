//! The run page's view, shared by its two rooms: `run` (the page itself,
//! closing the run) and `results` (saving a result, which re-renders the
//! page on a bad form or answers the script with fresh fragments). What the
//! table shows ([`View`]), the page ([`render`]), its summary, and one
//! result's row.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use verdict_store::{
    Page, ResultId, ResultQuery, Role, Run, RunId, RunState, Status, TestResult, UserId,
};

use super::WebResult;
use super::chart::{counts_table, pass_rate, ring};
use super::layout::{
    elapsed, page, pager, percent, respond, status_badge, status_key, status_label, status_symbol,
    time,
};
use super::projects::page_number;
use super::session::Session;
use crate::extract::WebQuery;
use crate::state::AppState;

pub const RESULTS_PER_PAGE: u32 = 50;

/// What the results table shows: the filter, the search, the page.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub status: Option<Status>,
    pub q: Option<String>,
    pub page: u32,
}

impl View {
    pub fn from_query(q: &mut WebQuery) -> View {
        let status = q
            .take("status")
            .ok()
            .flatten()
            .and_then(|s| Status::parse(&s));
        let search = q
            .take("q")
            .ok()
            .flatten()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        View {
            status,
            q: search,
            page: page_number(q, "page"),
        }
    }

    /// The view a form came from (its `back` field, a URL of this page).
    pub fn from_back(back: &str) -> View {
        let query = back.split_once('?').map_or("", |(_, q)| q);
        let query = query.split('#').next().unwrap_or_default();
        let mut view = View {
            page: 1,
            ..View::default()
        };
        for (k, v) in form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "status" => view.status = Status::parse(&v),
                "q" => view.q = Some(v.trim().to_string()).filter(|q| !q.is_empty()),
                "page" => view.page = v.parse().ok().filter(|p| *p >= 1).unwrap_or(1),
                _ => {}
            }
        }
        view
    }

    /// This view of `run` at page `page`, as a URL.
    pub fn url(&self, run: RunId, page: u32) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = self.status {
            query.append_pair("status", s.as_str());
        }
        if let Some(q) = &self.q {
            query.append_pair("q", q);
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            format!("/runs/{run}")
        } else {
            format!("/runs/{run}?{query}")
        }
    }
}

/// A problem with one result's form, shown on the page and at the row.
pub struct Flash {
    pub result: ResultId,
    pub message: String,
}

/// The summary: progress, pass rate, the ring and the counts (also what
/// the script swaps in after each save).
pub fn summary(run: &Run) -> Markup {
    let c = &run.counts;
    let tested = c.total() - c.not_tested;
    html! {
        div.summary-figures {
            p.progress-line {
                label for="progress" { "Progress" }
                progress #progress max=(c.total().max(1)) value=(tested) {}
                span #progress-text { (tested) " of " (c.total()) " tested (" (percent(tested, c.total())) "%)" }
            }
            p { "Pass rate: " strong #pass-rate {
                @match pass_rate(c) { Some(r) => { (r) "% of tested" }, None => "nothing tested yet" }
            } }
        }
        div.summary-chart {
            (ring(c))
            (counts_table(c))
        }
    }
}

/// The run page; `flash` reports a form that could not be saved.
pub async fn render(
    state: &AppState,
    session: &Session,
    id: RunId,
    view: &View,
    flash: Option<Flash>,
    status: StatusCode,
) -> WebResult<Response> {
    let (run, role) = session.caller().run(state, id).await?;
    let project = state.store.get_project(run.project_id).await?;
    let listing = state
        .store
        .list_results(
            id,
            ResultQuery {
                assignee: None,
                statuses: view.status.into_iter().collect(),
                after: None,
                q: view.q.clone(),
                page: Page {
                    page: view.page,
                    per_page: RESULTS_PER_PAGE,
                },
            },
        )
        .await?;
    let names = tester_names(state, listing.items.iter().filter_map(|r| r.tested_by)).await;
    let open = run.state == RunState::Open;
    let can_record = open && role >= Role::Tester;
    let back = view.url(id, view.page);
    let compare = super::compare::strip(state, &run).await?;
    let first = (u64::from(view.page) - 1) * u64::from(RESULTS_PER_PAGE) + 1;
    let last = first + listing.items.len() as u64 - 1;
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
        }
        h1 { (run.name) " " @if !open { span.badge.closed { "Closed" } } }
        @if let Some(d) = &run.description { p.description { (d) } }
        p.meta { "Created " (time(run.created_at))
            @if let Some(at) = run.closed_at { " · closed " (time(at)) }
            " · your role: " strong { (role.as_str()) }
            @if role >= Role::Manager { " · " a href={ "/runs/" (id) "/edit" } { "Edit run" } } }
        (run_meta(&run))
        @if let Some(f) = &flash { p.notice.error role="alert" { (f.message) } }
        @if !open {
            p.notice { "This run is closed: its results can no longer be changed." }
        } @else if role < Role::Tester {
            p.notice { "You are a viewer in this project: you can see results but not record them." }
        }
        section #summary aria-label="Summary" { (summary(&run)) }
        (compare)
        @if open && role >= Role::Manager {
            form.close method="post" action={ "/runs/" (id) "/close" }
                data-confirm="Close this run? Its results can no longer be changed afterwards." {
                input type="hidden" name="csrf" value=(session.csrf);
                button type="submit" { "Close run" }
            }
        }
        section aria-labelledby="results-heading" {
            h2 #results-heading { "Results" }
            (filters(id, view))
            p.showing {
                @if listing.items.is_empty() { "No results match." }
                @else { "Showing " (first) "–" (last) " of " (listing.total) }
            }
            @if can_record { (help()) }
            div.scroll {
                table #results data-editable=(can_record) {
                    caption.sr-only { "Results of " (run.name) }
                    thead { tr {
                        th scope="col" { "Test case" } th scope="col" { "Status" }
                        @if can_record { th scope="col" { "Record" } }
                        @else { th scope="col" { "Note" } th scope="col" { "Elapsed" } }
                        th scope="col" { "Tested" }
                    } }
                    tbody {
                        @for r in &listing.items {
                            (result_row(r, can_record, &session.csrf, &back, &names,
                                flash.as_ref().filter(|f| f.result == r.id).map(|f| f.message.as_str())))
                        }
                    }
                }
            }
            (pager(view.page, RESULTS_PER_PAGE, listing.total, |n| view.url(id, n)))
            div #live.sr-only aria-live="polite" {}
        }
    };
    Ok(respond(status, page(&run.name, Some(session), main)))
}

/// Where the run's results came from (branch, commit, environment, the CI
/// build), when it says.
fn run_meta(run: &Run) -> Markup {
    let m = &run.meta;
    html! {
        @if m.branch.is_some() || m.commit.is_some() || m.environment.is_some() || m.build_url.is_some() {
            dl.run-meta {
                @if let Some(b) = &m.branch { div { dt { "Branch" } dd { code { (b) } } } }
                @if let Some(c) = &m.commit { div { dt { "Commit" } dd { code title=(c) { (c.chars().take(12).collect::<String>()) } } } }
                @if let Some(e) = &m.environment { div { dt { "Environment" } dd { (e) } } }
                @if let Some(u) = &m.build_url { div { dt { "Build" } dd { a href=(u) rel="noopener noreferrer" { (u) } } } }
            }
        }
    }
}

fn filters(id: RunId, view: &View) -> Markup {
    html! {
        form.filters method="get" action={ "/runs/" (id) } role="search" {
            label for="status-filter" { "Status" }
            select #status-filter name="status" {
                option value="" selected[view.status.is_none()] { "All statuses" }
                @for s in Status::ALL {
                    option value=(s.as_str()) selected[view.status == Some(s)] { (status_label(s)) }
                }
            }
            label for="search" { "Title contains" }
            input #search type="search" name="q" value=(view.q.as_deref().unwrap_or(""))
                aria-keyshortcuts="/";
            button type="submit" { "Filter" }
            @if view.status.is_some() || view.q.is_some() {
                a href={ "/runs/" (id) } { "Clear" }
            }
        }
    }
}

fn help() -> Markup {
    html! {
        details #shortcuts.help {
            summary { "Keyboard shortcuts" }
            p { "Work down the list without the mouse. The highlighted row is the current one; each key marks it and moves to the next result nobody has tested yet. Keys do nothing while you type in a field." }
            dl {
                dt { kbd { "p" } " " kbd { "f" } " " kbd { "b" } " " kbd { "r" } " " kbd { "n" } }
                dd { "Mark Passed, Failed, Blocked, Retest, Not tested — and go to the next untested result" }
                dt { kbd { "u" } } dd { "Undo your last mark on this page (the result gets back its status, note and elapsed; history keeps both)" }
                dt { kbd { "j" } " / " kbd { "↓" } ", " kbd { "k" } " / " kbd { "↑" } } dd { "Next / previous result" }
                dt { kbd { "Enter" } } dd { "Write a note for the current result (" kbd { "Ctrl" } "+" kbd { "Enter" } " saves it, " kbd { "Esc" } " goes back)" }
                dt { kbd { "/" } } dd { "Search titles" }
                dt { kbd { "?" } } dd { "Show or hide this help" }
            }
        }
    }
}

/// Names of the people who tested, for the "Tested" column.
pub type Names = HashMap<UserId, String>;

/// The names of these users (their id when a lookup fails: a name is
/// decoration, not worth failing a page for).
pub async fn tester_names(state: &AppState, ids: impl Iterator<Item = UserId>) -> Names {
    let mut names = HashMap::new();
    for id in ids {
        if names.contains_key(&id) {
            continue;
        }
        let name = match state.store.get_user(id).await {
            Ok(u) => u.name,
            Err(_) => id.to_string(),
        };
        names.insert(id, name);
    }
    names
}

/// Who tested and when, or nothing for an untested result.
pub fn tested(r: &TestResult, names: &Names) -> Markup {
    html! {
        @if let (Some(by), Some(at)) = (r.tested_by, r.tested_at) {
            span.by { (names.get(&by).cloned().unwrap_or_else(|| by.to_string())) }
            " " span.at { (time(at)) }
        }
    }
}

/// What the result holds now, read-only: its note in full (line breaks
/// kept) and its elapsed time. The run page's script swaps it after a save.
pub fn current(r: &TestResult) -> Markup {
    html! {
        div.current {
            @if let Some(note) = &r.note {
                p.current-note { span.label { "Note" } span.text { (note) } }
            }
            @if r.elapsed_ms.is_some() {
                p.current-elapsed { span.label { "Elapsed" } " " (elapsed(r.elapsed_ms)) }
            }
        }
    }
}

/// One result as a table row; with `can_record`, its form.
pub fn result_row(
    r: &TestResult,
    can_record: bool,
    csrf: &str,
    back: &str,
    names: &Names,
    error: Option<&str>,
) -> Markup {
    let id = r.id;
    html! {
        tr.result #{ "r-" (id) } tabindex="-1" data-status=(r.status.as_str()) {
            td.title data-label="Test case" {
                a href={ "/cases/" (r.case_id) } title="This test case across runs" { (r.case_title) }
                " " a.history href={ "/runs/" (r.run_id) "/results/" (id) "/history" } { "history" }
            }
            td.status data-label="Status" { (status_badge(r.status)) }
            @if can_record {
                td.record data-label="Record" {
                    (current(r))
                    form.record method="post" action={ "/runs/" (r.run_id) "/results/" (id) } {
                        input type="hidden" name="csrf" value=(csrf);
                        input type="hidden" name="back" value=(back);
                        // First in the form, so Enter in the elapsed field
                        // saves with the current status (not "Passed").
                        button.save type="submit" name="status" value=(r.status.as_str()) {
                            "Save note" }
                        fieldset.statuses {
                            legend.sr-only { "Mark " (r.case_title) " as" }
                            @for s in Status::ALL {
                                button type="submit" name="status" value=(s.as_str())
                                    class={ "mark st-" (s.as_str()) }
                                    aria-pressed=(s == r.status)
                                    aria-keyshortcuts=(status_key(s))
                                    title={ (status_label(s)) " (key " (status_key(s)) ")" } {
                                    span aria-hidden="true" { (status_symbol(s)) " " }
                                    (status_label(s))
                                }
                            }
                        }
                        span.field.note {
                            label for={ "note-" (id) } { "New note" }
                            textarea #{ "note-" (id) } name="note" rows="1" {}
                        }
                        span.field.elapsed {
                            label for={ "elapsed-" (id) } { "Elapsed (s)" }
                            input #{ "elapsed-" (id) } type="number" name="elapsed" min="0"
                                step="1" inputmode="numeric";
                        }
                        @if let Some(e) = error { p.field-error role="alert" { (e) } }
                    }
                }
            } @else {
                td.note data-label="Note" { (r.note.as_deref().unwrap_or("")) }
                td.num data-label="Elapsed" { (elapsed(r.elapsed_ms)) }
            }
            td.tested data-label="Tested" { (tested(r, names)) }
        }
    }
}
