//! Writing test cases in the browser: a project's cases page
//! (`/projects/:pid/cases`: the section tree, a search, a priority filter,
//! paging), the case form (`/projects/:pid/cases/new`, `/cases/:cid/edit`)
//! and deleting a case after a confirmation page (`/cases/:cid/delete`).
//!
//! Every member reads the cases page; writing cases is for managers (and
//! admins), as in the API. The form checks what it is sent with the API's
//! own checks, so a case written here is a case the API would take.
//!
//! Steps without JavaScript: the form shows a row (action, expected
//! result) per step the case has, and three empty rows. Rows left empty are
//! dropped when saving; "More steps" sends the form back with three more
//! empty rows, saving nothing. Refs are one per line or comma separated.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use maud::{Markup, html};
use verdict_api as api;
use verdict_store::{
    Case, CaseId, CasePatch, CaseQuery, FieldError, NewCase, Page, Priority, ProjectId, Role,
    Section, Timestamp,
};

use super::layout::{page, pager, respond};
use super::projects::page_number;
use super::session::{Session, SessionForm};
use super::setup::{
    Notice, as_problems, multiline, notice, notice_markup, problems, redirect_notice, shown,
    split_list,
};
use super::{WebError, WebResult};
use crate::checks::{Given, case_key, details};
use crate::dto::{MAX_TEXT_CHARS, optional_text, required_text};
use crate::error::ApiError;
use crate::extract::{CasePath, ProjectPath, WebQuery};
use crate::state::AppState;

const CASES_PER_PAGE: u32 = 50;
/// Empty step rows the form offers (and "More steps" adds).
const EMPTY_STEPS: usize = 3;
const EDIT: &str = "edit test cases";

/// What the cases page shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub suite: Option<String>,
    pub q: Option<String>,
    pub priority: Option<Priority>,
    pub page: u32,
}

impl Filter {
    /// The filter of a query; anything unusable is left out (a person
    /// editing a URL deserves a page).
    pub fn from_query(q: &mut WebQuery) -> Filter {
        let mut text = |name: &str| {
            q.take(name)
                .ok()
                .flatten()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
        };
        let suite = text("suite");
        let search = text("q");
        let priority = text("priority").and_then(|p| Priority::parse(&p));
        Filter {
            suite,
            q: search,
            priority,
            page: page_number(q, "page"),
        }
    }

    pub fn query(&self) -> CaseQuery {
        CaseQuery {
            q: self.q.clone(),
            suite: self.suite.clone(),
            priority: self.priority,
            ..CaseQuery::default()
        }
    }

    /// This filter's URL under `base` at page `page`.
    pub fn url(&self, base: &str, page: u32) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &self.suite {
            query.append_pair("suite", s);
        }
        if let Some(q) = &self.q {
            query.append_pair("q", q);
        }
        if let Some(p) = self.priority {
            query.append_pair("priority", p.as_str());
        }
        if page > 1 {
            query.append_pair("page", &page.to_string());
        }
        let query = query.finish();
        if query.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{query}")
        }
    }
}

/// One node of the section tree: its full name, its last part, the cases
/// in it and nested in it, and the sections nested in it.
#[derive(Debug, PartialEq, Eq)]
pub struct Node {
    pub path: String,
    pub name: String,
    pub cases: i64,
    pub children: Vec<Node>,
}

/// The section tree of a project's suites (` / ` nests); a parent no case
/// names itself is there for its children.
pub fn tree(sections: &[Section]) -> Vec<Node> {
    let mut roots: Vec<Node> = Vec::new();
    for s in sections {
        let Some(suite) = &s.suite else { continue };
        let parts: Vec<&str> = suite.split(" / ").collect();
        let mut level = &mut roots;
        for (i, part) in parts.iter().enumerate() {
            let path = parts[..=i].join(" / ");
            let at = match level.iter().position(|n| n.path == path) {
                Some(at) => at,
                None => {
                    level.push(Node {
                        path,
                        name: (*part).to_string(),
                        cases: 0,
                        children: Vec::new(),
                    });
                    level.len() - 1
                }
            };
            level[at].cases += s.cases;
            level = &mut level[at].children;
        }
    }
    roots
}

fn tree_markup(nodes: &[Node], pid: ProjectId, filter: &Filter) -> Markup {
    html! {
        ul {
            @for n in nodes {
                li {
                    @let here = Filter { suite: Some(n.path.clone()), page: 1, ..filter.clone() };
                    @let current = filter.suite.as_deref() == Some(n.path.as_str());
                    a href=(here.url(&format!("/projects/{pid}/cases"), 1))
                        aria-current=[current.then_some("true")] { (n.name) }
                    " " span.count { "(" (n.cases) ")" }
                    @if !n.children.is_empty() { (tree_markup(&n.children, pid, filter)) }
                }
            }
        }
    }
}

/// GET /projects/:pid/cases (`suite`, `q`, `priority`, `page`)
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    path: Result<ProjectPath, ApiError>,
    headers: HeaderMap,
    mut q: WebQuery,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    let role = session.caller().role_in(&state, pid).await?;
    let notice = notice(&headers);
    let filter = Filter::from_query(&mut q);
    let project = state.store.get_project(pid).await?;
    let sections = state.store.list_sections(pid).await?;
    let unsectioned = sections
        .iter()
        .find(|s| s.suite.is_none())
        .map_or(0, |s| s.cases);
    let all: i64 = sections.iter().map(|s| s.cases).sum();
    let cases = state
        .store
        .list_cases(
            pid,
            filter.query(),
            Page {
                page: filter.page,
                per_page: CASES_PER_PAGE,
            },
        )
        .await?;
    let base = format!("/projects/{pid}/cases");
    let filtered = filter.suite.is_some() || filter.q.is_some() || filter.priority.is_some();
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (pid) } { (project.name) } " › "
        }
        h1 { "Test cases of " (project.name) }
        (notice_markup(notice))
        @if role >= Role::Manager {
            p { a.button href={ "/projects/" (pid) "/cases/new"
                @if let Some(s) = &filter.suite { "?suite=" (form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()) } }
                { "New case" } }
        }
        div.cases-layout {
            nav.sections aria-labelledby="sections-heading" {
                h2 #sections-heading { "Sections" }
                ul {
                    li {
                        a href=(Filter { suite: None, page: 1, ..filter.clone() }.url(&base, 1))
                            aria-current=[filter.suite.is_none().then_some("true")] { "All cases" }
                        " " span.count { "(" (all) ")" }
                    }
                }
                (tree_markup(&tree(&sections), pid, &filter))
                @if unsectioned > 0 {
                    p.small { (unsectioned) " case" @if unsectioned != 1 { "s" } " in no section." }
                }
            }
            section.case-list aria-labelledby="list-heading" {
                h2 #list-heading {
                    @match &filter.suite { Some(s) => { "Section " (s) }, None => "All cases" }
                    " " span.count { "(" (cases.total) ")" }
                }
                form.filters method="get" action=(base) role="search" {
                    @if let Some(s) = &filter.suite { input type="hidden" name="suite" value=(s); }
                    label for="case-search" { "Title or key contains" }
                    input #case-search type="search" name="q" value=(filter.q.as_deref().unwrap_or(""));
                    label for="case-priority" { "Priority" }
                    select #case-priority name="priority" {
                        option value="" selected[filter.priority.is_none()] { "Any priority" }
                        @for p in PRIORITIES {
                            option value=(p.as_str()) selected[filter.priority == Some(p)] { (p.as_str()) }
                        }
                    }
                    button type="submit" { "Filter" }
                    @if filtered { a href=(base) { "Clear" } }
                }
                @if cases.items.is_empty() {
                    p { @if filtered { "No case matches." } @else { "No test cases yet." } }
                } @else {
                    div.scroll {
                        table.list.cases {
                            caption.sr-only { "Test cases" }
                            thead { tr {
                                th scope="col" { "Title" } th scope="col" { "Key" }
                                th scope="col" { "Section" } th scope="col" { "Priority" }
                            } }
                            tbody {
                                @for c in &cases.items {
                                    tr {
                                        td { a href={ "/cases/" (c.id) } { (c.title) }
                                            @if c.quarantine.is_some() { " " span.badge.quarantined { "Quarantined" } } }
                                        td { @if let Some(k) = &c.key { code { (k) } } }
                                        td { (c.suite.as_deref().unwrap_or("")) }
                                        td { @if let Some(p) = c.details.priority { span.priority { (p.as_str()) } } }
                                    }
                                }
                            }
                        }
                    }
                    (pager(filter.page, CASES_PER_PAGE, cases.total, |n| filter.url(&base, n)))
                }
            }
        }
    };
    let title = format!("Test cases of {}", project.name);
    Ok(shown(
        respond(StatusCode::OK, page(&title, Some(&session), main)),
        notice,
    ))
}

const PRIORITIES: [Priority; 4] = [
    Priority::Low,
    Priority::Medium,
    Priority::High,
    Priority::Critical,
];

/// The case form's values, as text (what was entered, or the case's).
#[derive(Debug, Clone, Default)]
pub struct CaseForm {
    pub title: String,
    pub key: String,
    pub suite: String,
    pub priority: String,
    pub refs: String,
    pub preconditions: String,
    /// (action, expected), rows left empty dropped.
    pub steps: Vec<(String, String)>,
    /// Empty rows to offer after the steps.
    pub empty_rows: usize,
}

impl CaseForm {
    fn of(case: &Case) -> CaseForm {
        CaseForm {
            title: case.title.clone(),
            key: case.key.clone().unwrap_or_default(),
            suite: case.suite.clone().unwrap_or_default(),
            priority: case
                .details
                .priority
                .map(|p| p.as_str().to_string())
                .unwrap_or_default(),
            refs: case.details.refs.join("\n"),
            preconditions: case.details.preconditions.clone().unwrap_or_default(),
            steps: case
                .details
                .steps
                .iter()
                .map(|s| (s.action.clone(), s.expected.clone().unwrap_or_default()))
                .collect(),
            empty_rows: EMPTY_STEPS,
        }
    }

    fn posted(form: &super::session::Form) -> CaseForm {
        // Rows by their number in the form, empty ones dropped.
        let mut rows: Vec<(usize, String, String)> = Vec::new();
        for i in 0..=api::MAX_STEPS + 50 {
            let action = form.get(&format!("step_action_{i}"));
            let expected = form.get(&format!("step_expected_{i}"));
            if action.is_none() && expected.is_none() {
                continue;
            }
            let action = multiline(action.unwrap_or_default());
            let expected = multiline(expected.unwrap_or_default());
            if action.trim().is_empty() && expected.trim().is_empty() {
                continue;
            }
            rows.push((i, action, expected));
        }
        let more = form.get("more").is_some();
        CaseForm {
            title: form.text("title"),
            key: form.text("key"),
            suite: form.text("suite"),
            priority: form.text("priority"),
            refs: multiline(&form.text("refs")),
            preconditions: multiline(&form.text("preconditions")),
            steps: rows.into_iter().map(|(_, a, e)| (a, e)).collect(),
            empty_rows: if more { EMPTY_STEPS * 2 } else { EMPTY_STEPS },
        }
    }

    /// The case this form describes, checked as the API checks a case.
    fn check(&self) -> Result<NewCase, Vec<FieldError>> {
        let mut errors = Vec::new();
        let title = required_text("title", &self.title, &mut errors);
        let suite = optional_text("suite", Some(&self.suite), MAX_TEXT_CHARS, &mut errors);
        let key = case_key(Some(&self.key));
        let steps: Vec<api::Step> = self
            .steps
            .iter()
            .map(|(a, e)| api::Step {
                action: a.clone(),
                expected: Some(e.clone()),
            })
            .collect();
        let refs = split_list(&self.refs);
        let priority = Some(self.priority.trim()).filter(|p| !p.is_empty());
        let details = details(
            "",
            Given {
                preconditions: Some(Some(&self.preconditions)),
                steps: Some(&steps),
                priority: Some(priority),
                refs: Some(&refs),
            },
            &mut errors,
        );
        if errors.is_empty() {
            Ok(NewCase {
                title,
                key,
                suite,
                details,
            })
        } else {
            Err(errors)
        }
    }
}

/// Where a case form goes, and what it is for.
enum Target {
    New,
    Edit(CaseId),
}

async fn render_form(
    state: &AppState,
    session: &Session,
    pid: ProjectId,
    target: Target,
    form: &CaseForm,
    errors: &[FieldError],
    status: StatusCode,
) -> WebResult<Response> {
    let project = state.store.get_project(pid).await?;
    let sections = state.store.list_sections(pid).await?;
    let (heading, action, back) = match &target {
        Target::New => (
            "New test case".to_string(),
            format!("/projects/{pid}/cases/new"),
            format!("/projects/{pid}/cases"),
        ),
        Target::Edit(cid) => (
            format!("Edit {}", form.title),
            format!("/cases/{cid}/edit"),
            format!("/cases/{cid}"),
        ),
    };
    let rows = form.steps.len() + form.empty_rows;
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (pid) } { (project.name) } " › "
            a href={ "/projects/" (pid) "/cases" } { "Test cases" } " › "
        }
        h1 { (heading) }
        (problems(errors))
        form.stacked.case-form method="post" action=(action) {
            input type="hidden" name="csrf" value=(session.csrf);
            label for="case-title" { "Title" }
            input #case-title type="text" name="title" required maxlength="1000" value=(form.title);
            label for="case-key" { "Key (optional)" }
            input #case-key type="text" name="key" maxlength="1000" value=(form.key)
                aria-describedby="case-key-hint";
            span.hint #case-key-hint { "A stable id, e.g. " code { "CHK-12" } " or the name an automated test reports; unique in the project." }
            label for="case-suite" { "Section (optional)" }
            input #case-suite type="text" name="suite" maxlength="1000" value=(form.suite) list="sections"
                aria-describedby="case-suite-hint";
            datalist #sections { @for s in &sections { @if let Some(n) = &s.suite { option value=(n) {} } } }
            span.hint #case-suite-hint { "Sections nest with “ / ”: " code { "Checkout / Payments" } " is inside " code { "Checkout" } "." }
            label for="case-priority" { "Priority" }
            select #case-priority name="priority" {
                option value="" selected[form.priority.is_empty()] { "none" }
                @for p in PRIORITIES {
                    option value=(p.as_str()) selected[form.priority == p.as_str()] { (p.as_str()) }
                }
            }
            label for="case-refs" { "Refs (optional)" }
            textarea #case-refs name="refs" rows="2" aria-describedby="case-refs-hint" { (form.refs) }
            span.hint #case-refs-hint { "Requirements or tickets, one per line or separated by commas." }
            label for="case-preconditions" { "Preconditions (optional)" }
            textarea #case-preconditions name="preconditions" rows="3" { (form.preconditions) }
            fieldset.steps-editor {
                legend { "Steps" }
                p.hint { "Empty rows are left out when saving." }
                ol {
                    @for i in 0..rows {
                        @let (a, e) = form.steps.get(i).cloned().unwrap_or_default();
                        li.step-row {
                            span.field {
                                label for={ "step-action-" (i) } { "Step " (i + 1) ": action" }
                                textarea #{ "step-action-" (i) } name={ "step_action_" (i) } rows="2" { (a) }
                            }
                            span.field {
                                label for={ "step-expected-" (i) } { "Step " (i + 1) ": expected result" }
                                textarea #{ "step-expected-" (i) } name={ "step_expected_" (i) } rows="2" { (e) }
                            }
                        }
                    }
                }
                button type="submit" name="more" value="1" formnovalidate { "More steps" }
            }
            div.form-actions {
                button.primary type="submit" { "Save" }
                " "
                a href=(back) { "Cancel" }
            }
        }
    };
    Ok(respond(status, page(&heading, Some(session), main)))
}

/// GET /projects/:pid/cases/new (`suite` prefills the section; manager)
pub async fn new_form(
    State(state): State<AppState>,
    session: Session,
    path: Result<ProjectPath, ApiError>,
    mut q: WebQuery,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    session
        .caller()
        .require(&state, pid, Role::Manager, EDIT)
        .await?;
    let form = CaseForm {
        suite: q.take("suite").ok().flatten().unwrap_or_default(),
        empty_rows: EMPTY_STEPS,
        ..CaseForm::default()
    };
    let target = Target::New;
    render_form(&state, &session, pid, target, &form, &[], StatusCode::OK).await
}

/// POST /projects/:pid/cases/new (manager)
pub async fn create(
    State(state): State<AppState>,
    path: Result<ProjectPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    let session = &posted.session;
    session
        .caller()
        .require(&state, pid, Role::Manager, EDIT)
        .await?;
    let form = CaseForm::posted(&posted.form);
    let target = Target::New;
    if posted.form.get("more").is_some() {
        return render_form(&state, session, pid, target, &form, &[], StatusCode::OK).await;
    }
    let new = match form.check() {
        Ok(new) => new,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return render_form(&state, session, pid, target, &form, &errors, status).await;
        }
    };
    match state.store.create_case(pid, new, Timestamp::now()).await {
        Ok(case) => Ok(redirect_notice(
            &format!("/cases/{}", case.id),
            Notice::CaseCreated,
            &state.web,
        )),
        Err(e) => refused(&state, session, pid, target, &form, e.into()).await,
    }
}

/// A write the store refused: the form again with why, when it is the
/// form's fault (a key taken); the error page otherwise.
async fn refused(
    state: &AppState,
    session: &Session,
    pid: ProjectId,
    target: Target,
    form: &CaseForm,
    e: ApiError,
) -> WebResult<Response> {
    let Some(errors) = as_problems(&e) else {
        return Err(WebError::Page(e));
    };
    let status = match e {
        ApiError::Conflict { .. } => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    render_form(state, session, pid, target, form, &errors, status).await
}

/// The case a path names, for a manager of its project.
async fn managed(
    state: &AppState,
    session: &Session,
    path: Result<CasePath, ApiError>,
) -> WebResult<Case> {
    super::case::managed_by(state, session, path, EDIT).await
}

/// GET /cases/:cid/edit (manager)
pub async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    path: Result<CasePath, ApiError>,
) -> WebResult<Response> {
    let case = managed(&state, &session, path).await?;
    let form = CaseForm::of(&case);
    let target = Target::Edit(case.id);
    render_form(
        &state,
        &session,
        case.project_id,
        target,
        &form,
        &[],
        StatusCode::OK,
    )
    .await
}

/// POST /cases/:cid/edit (manager)
pub async fn save(
    State(state): State<AppState>,
    path: Result<CasePath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let session = &posted.session;
    let case = managed(&state, session, path).await?;
    let pid = case.project_id;
    let form = CaseForm::posted(&posted.form);
    if posted.form.get("more").is_some() {
        let target = Target::Edit(case.id);
        return render_form(&state, session, pid, target, &form, &[], StatusCode::OK).await;
    }
    let new = match form.check() {
        Ok(new) => new,
        Err(errors) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            let target = Target::Edit(case.id);
            return render_form(&state, session, pid, target, &form, &errors, status).await;
        }
    };
    let patch = CasePatch {
        title: Some(new.title),
        key: Some(new.key),
        suite: Some(new.suite),
        details: new.details,
    };
    match state.store.update_case(case.id, patch).await {
        Ok(_) => Ok(redirect_notice(
            &format!("/cases/{}", case.id),
            Notice::Saved,
            &state.web,
        )),
        Err(e) => refused(&state, session, pid, Target::Edit(case.id), &form, e.into()).await,
    }
}

/// GET /cases/:cid/delete: the confirmation page (manager).
pub async fn confirm_delete(
    State(state): State<AppState>,
    session: Session,
    path: Result<CasePath, ApiError>,
) -> WebResult<Response> {
    let case = managed(&state, &session, path).await?;
    let project = state.store.get_project(case.project_id).await?;
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
            a href={ "/cases/" (case.id) } { (case.title) } " › "
        }
        h1 { "Delete " (case.title) "?" }
        p { "The case leaves the project and new runs no longer include it"
            @if case.key.is_some() { "; its key is free again" } ". "
            "Runs that hold it keep its results and their history." }
        form.confirm method="post" action={ "/cases/" (case.id) "/delete" } {
            input type="hidden" name="csrf" value=(session.csrf);
            button.danger type="submit" { "Yes, delete this case" }
            " "
            a href={ "/cases/" (case.id) } { "Cancel" }
        }
    };
    let title = format!("Delete {}", case.title);
    Ok(respond(StatusCode::OK, page(&title, Some(&session), main)))
}

/// POST /cases/:cid/delete (manager)
pub async fn delete(
    State(state): State<AppState>,
    path: Result<CasePath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let case = managed(&state, &posted.session, path).await?;
    state.store.delete_case(case.id).await?;
    Ok(redirect_notice(
        &format!("/projects/{}/cases", case.project_id),
        Notice::CaseDeleted,
        &state.web,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(s: Option<&str>, cases: i64) -> Section {
        Section {
            suite: s.map(str::to_string),
            cases,
        }
    }

    #[test]
    fn sections_make_a_tree_with_nested_counts() {
        let t = tree(&[
            section(None, 4),
            section(Some("Account"), 2),
            section(Some("Checkout"), 3),
            section(Some("Checkout / Payments"), 5),
            section(Some("Search / Filters / Price"), 1),
        ]);
        let names: Vec<(&str, i64)> = t.iter().map(|n| (n.name.as_str(), n.cases)).collect();
        assert_eq!(names, [("Account", 2), ("Checkout", 8), ("Search", 1)]);
        assert_eq!(t[1].children[0].path, "Checkout / Payments");
        assert_eq!(
            t[2].children[0].children[0].path,
            "Search / Filters / Price"
        );
    }
}
