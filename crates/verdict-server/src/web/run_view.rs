//! The run page's view, shared by its rooms: `run` (the page itself,
//! closing the run), `results` (saving a result, which re-renders the
//! page on a bad form or answers the script with fresh fragments) and
//! `assign`. What the list shows ([`View`]), the page ([`render`]) and its
//! summary. The page is a compact list, one line per result
//! ([`super::run_list`]), beside (wide screens) or above (narrow) the
//! selected result's detail ([`super::run_detail`]): `?result=res_N`
//! selects one; without it, the first result on the page nobody has
//! tested yet (where a tester picks up), else the first.

use std::collections::HashMap;

use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use verdict_store::{
    Page, Project, ResultId, ResultQuery, Role, Run, RunId, RunState, Status, TestResult, UserId,
};

use super::WebResult;
use super::chart::{counts_table, pass_rate, ring};
use super::layout::{page, pager, percent, respond, status_label, time};
use super::projects::page_number;
use super::run_detail::{self, Detail};
use super::run_list::{self, ListContext};
use super::session::Session;
use crate::extract::WebQuery;
use crate::state::AppState;

pub const RESULTS_PER_PAGE: u32 = 50;
/// `?all=1` (the printable report) shows up to this many results at once.
pub const RESULTS_ALL: u32 = 10_000;

/// What the results list shows: the filter, the search, the page, and
/// which result is selected.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub status: Option<Status>,
    pub q: Option<String>,
    pub page: u32,
    pub result: Option<ResultId>,
    /// Every result on one page (for printing the report).
    pub all: bool,
    /// What the last form said (from its one-time cookie), shown once.
    pub notice: Option<super::setup::Notice>,
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
        let result = q
            .take("result")
            .ok()
            .flatten()
            .and_then(|r| r.parse::<ResultId>().ok());
        let all = q.take("all").ok().flatten().as_deref() == Some("1");
        View {
            status,
            q: search,
            page: page_number(q, "page"),
            result,
            all,
            notice: None,
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
                "result" => view.result = v.parse().ok(),
                "all" => view.all = v == "1",
                _ => {}
            }
        }
        view
    }

    fn query(&self, page: u32, result: Option<ResultId>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = self.status {
            query.append_pair("status", s.as_str());
        }
        if let Some(q) = &self.q {
            query.append_pair("q", q);
        }
        if self.all {
            query.append_pair("all", "1");
        } else if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        if let Some(r) = result {
            query.append_pair("result", &r.to_string());
        }
        query.finish()
    }

    fn with_query(run: RunId, query: String) -> String {
        if query.is_empty() {
            format!("/runs/{run}")
        } else {
            format!("/runs/{run}?{query}")
        }
    }

    /// This view of `run` at page `page` (no result selected), as a URL.
    pub fn url(&self, run: RunId, page: u32) -> String {
        View::with_query(run, self.query(page, None))
    }

    /// This view of `run` with `result` selected, as a URL.
    pub fn selected_url(&self, run: RunId, result: ResultId) -> String {
        View::with_query(run, self.query(self.page, Some(result)))
    }
}

/// A problem with one result's form, shown on the page and in its detail.
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

/// Names of people (testers, assignees), by id.
pub type Names = HashMap<UserId, String>;

/// The names of these users (their id when a lookup fails: a name is
/// decoration, not worth failing a page for).
pub async fn tester_names(state: &AppState, ids: impl Iterator<Item = UserId>) -> Names {
    let mut names = HashMap::new();
    add_names(state, &mut names, ids).await;
    names
}

/// Adds the names of these users to `names` (those not there yet).
pub async fn add_names(state: &AppState, names: &mut Names, ids: impl Iterator<Item = UserId>) {
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

/// What the run page needs besides its results: the project, the caller's
/// powers, and the people results can be assigned to.
pub struct RunContext {
    pub run: Run,
    pub role: Role,
    pub project: Project,
    pub can_record: bool,
    pub can_assign: bool,
    /// Testers and managers of the project, by name: who results can be
    /// assigned to.
    pub assignable: Vec<(UserId, String)>,
    pub names: Names,
}

impl RunContext {
    pub async fn load(state: &AppState, session: &Session, id: RunId) -> WebResult<RunContext> {
        let (run, role) = session.caller().run(state, id).await?;
        let project = state.store.get_project(run.project_id).await?;
        let open = run.state == RunState::Open;
        let members = state.store.list_members(run.project_id).await?;
        let mut names = Names::new();
        let mut assignable = Vec::new();
        for m in members {
            names.insert(m.user.id, m.user.name.clone());
            if m.role >= Role::Tester {
                assignable.push((m.user.id, m.user.name));
            }
        }
        assignable.sort_by_key(|a| a.1.to_lowercase());
        Ok(RunContext {
            can_record: open && role >= Role::Tester,
            can_assign: open && role >= Role::Tester,
            run,
            role,
            project,
            assignable,
            names,
        })
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
    let mut ctx = RunContext::load(state, session, id).await?;
    let per_page = if view.all {
        RESULTS_ALL
    } else {
        RESULTS_PER_PAGE
    };
    let page_no = if view.all { 1 } else { view.page };
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
                    page: page_no,
                    per_page,
                },
                key: None,
                output: false,
            },
        )
        .await?;
    // The selected result: asked for (wherever it is), or where a tester
    // picks up on this page.
    let wanted = view.result.or(flash.as_ref().map(|f| f.result));
    let selected = match wanted {
        Some(rid) => match listing.items.iter().find(|r| r.id == rid) {
            Some(r) => Some(r.clone()),
            None => state.store.get_result(id, rid).await.ok(),
        },
        None => listing
            .items
            .iter()
            .find(|r| r.status == Status::NotTested)
            .or(listing.items.first())
            .cloned(),
    };
    add_names(
        state,
        &mut ctx.names,
        listing
            .items
            .iter()
            .flat_map(|r| r.tested_by.into_iter().chain(r.assigned_to)),
    )
    .await;
    let detail = match &selected {
        Some(r) => {
            let back = view.selected_url(id, r.id);
            let error = flash
                .as_ref()
                .filter(|f| f.result == r.id)
                .map(|f| f.message.as_str());
            let d = Detail {
                ctx: &ctx,
                csrf: &session.csrf,
                back: &back,
                error,
                user: session.user.id,
            };
            Some(run_detail::render(state, &d, r).await?)
        }
        None => None,
    };
    let run = &ctx.run;
    let project = &ctx.project;
    let open = run.state == RunState::Open;
    let role = ctx.role;
    let compare = super::compare::strip(state, run).await?;
    let first = (u64::from(page_no) - 1) * u64::from(per_page) + 1;
    let last = first + listing.items.len() as u64 - 1;
    let list = ListContext {
        ctx: &ctx,
        view,
        selected: selected.as_ref().map(|r| r.id),
    };
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
        }
        div.report-head {
            p.print-only.report-project { "Project: " (project.name) }
            h1 { (run.name) " " @if !open { span.badge.closed { "Closed" } } }
            @if let Some(d) = &run.description { p.description { (d) } }
            p.meta { "Created " (time(run.created_at))
                @if let Some(at) = run.closed_at { " · closed " (time(at)) }
                span.no-print { " · your role: " strong { (role.as_str()) }
                    @if role >= Role::Manager { " · " a href={ "/runs/" (id) "/edit" } { "Edit run" } } } }
            (run_meta(run))
        }
        (super::setup::notice_markup(view.notice))
        @if let Some(f) = &flash { p.notice.error role="alert" { (f.message) } }
        @if !open {
            p.notice { "This run is closed: its results can no longer be changed." }
        } @else if role < Role::Tester {
            p.notice { "You are a viewer in this project: you can see results but not record them." }
        }
        section #summary aria-label="Summary" { (summary(run)) }
        div.no-print { (compare) }
        div.run-actions.no-print {
            @if open && role >= Role::Manager {
                // Closing cannot be undone: the link leads to a page that
                // asks first (and posts the close).
                a.button.close href={ "/runs/" (id) "/close" } { "Close run…" }
            }
            nav.export aria-label="Export" {
                "Export: "
                a href={ "/runs/" (id) "/export.csv" } download { "CSV" } " · "
                a href={ "/runs/" (id) "/export.xml" } download { "JUnit XML" }
            }
            p.print-hint {
                button.print type="button" hidden { "Print report" }
                span.print-fallback { "To print a report, use your browser's Print (Ctrl+P or ⌘P)." }
                @if !view.all && listing.total > i64::from(RESULTS_PER_PAGE) {
                    " " a href=(View { all: true, page: 1, result: None, ..view.clone() }.url(id, 1)) {
                        "All " (listing.total) " results on one page" }
                }
            }
        }
        section #results-section aria-labelledby="results-heading" {
            h2 #results-heading { "Results" }
            div.no-print { (run_list::filters(id, view)) }
            p.showing {
                @if listing.items.is_empty() { "No results match." }
                @else { "Showing " (first) "–" (last) " of " (listing.total)
                    @if let Some(s) = view.status { " · " (status_label(s)) } }
            }
            @if ctx.can_record { div.no-print { (run_list::help()) } }
            @if ctx.can_assign && !listing.items.is_empty() {
                (run_list::assign_tools(state, &ctx, &session.csrf, &view.url(id, view.page)).await)
            }
            div.workspace {
                div.list {
                    (run_list::table(&list, &listing.items))
                    @if !view.all {
                        div.no-print { (pager(view.page, RESULTS_PER_PAGE, listing.total, |n| view.url(id, n))) }
                    }
                }
                section #detail.detail.no-print aria-labelledby="detail-heading"
                    data-result=[selected.as_ref().map(|r| r.id.to_string())] {
                    @match detail {
                        Some(d) => { (d) }
                        None => { h3 #detail-heading { "Selected result" }
                            p.hint { "Select a result to see its steps, note and history." } }
                    }
                }
            }
            div #live.sr-only aria-live="polite" {}
        }
    };
    Ok(super::setup::shown(
        respond(status, page(&run.name, Some(session), main)),
        view.notice,
    ))
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
