//! Starting and editing runs in the browser: `/projects/:pid/runs/new`
//! (testers, as in the API) with its scope — every case, one section
//! (nested sections included), or cases picked by checkbox from a list
//! filtered like the cases page (the first 500 that match) — and
//! `/runs/:rid/edit` (managers: name, description, where the results come
//! from). Closing a run asks first: `/runs/:rid/close` is a confirmation
//! page, and the close post (in `run`) without its confirmation only leads
//! there.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use verdict_store::{
    CaseId, FieldError, NewRun, Page, ProjectId, Role, Run, RunMeta, RunMetaPatch, RunPatch,
    RunState, Timestamp,
};

use super::layout::{page, respond};
use super::session::{Form, Session, SessionForm};
use super::setup::{as_problems, multiline, problems};
use super::setup_cases::{Filter, tree};
use super::{WebError, WebResult};
use crate::auth::ensure;
use crate::checks::{build_url, commit, meta_text};
use crate::dto::{optional_text, required_text};
use crate::error::ApiError;
use crate::extract::{ProjectPath, RunPath, WebQuery};
use crate::state::AppState;

/// The most cases the selection list shows.
const PICK_LIMIT: u32 = 500;
/// Longest run description, in characters (as the API).
const MAX_DESCRIPTION_CHARS: usize = 64 * 1024;

/// The run form's values as text.
#[derive(Debug, Clone, Default)]
struct RunForm {
    name: String,
    description: String,
    branch: String,
    commit: String,
    build_url: String,
    environment: String,
    /// `all`, `section` or `selection`.
    scope: String,
    section: String,
    picked: Vec<String>,
}

impl RunForm {
    fn posted(form: &Form) -> RunForm {
        RunForm {
            name: form.text("name"),
            description: multiline(&form.text("description")),
            branch: form.text("branch"),
            commit: form.text("commit"),
            build_url: form.text("build_url"),
            environment: form.text("environment"),
            scope: form.text("scope"),
            section: form.text("section"),
            picked: form.all("case_id").map(str::to_string).collect(),
        }
    }

    fn of(run: &Run) -> RunForm {
        RunForm {
            name: run.name.clone(),
            description: run.description.clone().unwrap_or_default(),
            branch: run.meta.branch.clone().unwrap_or_default(),
            commit: run.meta.commit.clone().unwrap_or_default(),
            build_url: run.meta.build_url.clone().unwrap_or_default(),
            environment: run.meta.environment.clone().unwrap_or_default(),
            ..RunForm::default()
        }
    }

    /// Name, description and metadata, checked as the API checks them;
    /// a blank field means none.
    fn checked(&self, errors: &mut Vec<FieldError>) -> (String, Option<String>, RunMeta) {
        let name = required_text("name", &self.name, errors);
        let description = optional_text(
            "description",
            Some(&self.description),
            MAX_DESCRIPTION_CHARS,
            errors,
        );
        let given = |v: &str| Some(v.trim().to_string()).filter(|v| !v.is_empty());
        let meta = RunMeta {
            branch: given(&self.branch).map(|b| meta_text("branch", &b, errors)),
            commit: given(&self.commit).map(|c| commit(&c, errors)),
            build_url: given(&self.build_url).map(|u| build_url(&u, errors)),
            environment: given(&self.environment).map(|e| meta_text("environment", &e, errors)),
        };
        (name, description, meta)
    }
}

fn meta_fields(form: &RunForm) -> Markup {
    html! {
        label for="run-name" { "Name" }
        input #run-name type="text" name="name" required maxlength="1000" value=(form.name);
        label for="run-description" { "Description (optional)" }
        textarea #run-description name="description" rows="3" { (form.description) }
        fieldset.run-meta-fields {
            legend { "What is tested (optional)" }
            label for="run-branch" { "Branch" }
            input #run-branch type="text" name="branch" maxlength="255" value=(form.branch);
            label for="run-commit" { "Commit" }
            input #run-commit type="text" name="commit" maxlength="64" value=(form.commit)
                aria-describedby="run-commit-hint" autocomplete="off" spellcheck="false";
            span.hint #run-commit-hint { "4 to 64 hex digits." }
            label for="run-build-url" { "Build URL" }
            input #run-build-url type="url" name="build_url" maxlength="2048" value=(form.build_url);
            label for="run-environment" { "Environment" }
            input #run-environment type="text" name="environment" maxlength="255" value=(form.environment)
                placeholder="e.g. staging";
        }
    }
}

/// GET /projects/:pid/runs/new (`q`, `suite` filter the cases offered; tester)
pub async fn new_form(
    State(state): State<AppState>,
    session: Session,
    path: Result<ProjectPath, ApiError>,
    mut q: WebQuery,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    session
        .caller()
        .require(&state, pid, Role::Tester, "create runs")
        .await?;
    let filter = Filter::from_query(&mut q);
    let form = RunForm {
        scope: if filter.q.is_some() || filter.suite.is_some() {
            "selection".into()
        } else {
            "all".into()
        },
        ..RunForm::default()
    };
    render_new(&state, &session, pid, &filter, &form, &[], StatusCode::OK).await
}

async fn render_new(
    state: &AppState,
    session: &Session,
    pid: ProjectId,
    filter: &Filter,
    form: &RunForm,
    errors: &[FieldError],
    status: StatusCode,
) -> WebResult<Response> {
    let project = state.store.get_project(pid).await?;
    let sections = state.store.list_sections(pid).await?;
    let all: i64 = sections.iter().map(|s| s.cases).sum();
    let mut names = Vec::new();
    flatten(&tree(&sections), 0, &mut names);
    let offered = state
        .store
        .list_cases(
            pid,
            filter.query(),
            Page {
                page: 1,
                per_page: PICK_LIMIT,
            },
        )
        .await?;
    let base = format!("/projects/{pid}/runs/new");
    let scope = form.scope.as_str();
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (pid) } { (project.name) } " › "
        }
        h1 { "New run" }
        (problems(errors))
        // The filter is its own (GET) form, before the run's form: filtering
        // reloads the page, so fill in the run after choosing the cases.
        section.setup aria-labelledby="pick-filter-heading" {
            h2 #pick-filter-heading { "Find cases to pick" }
            form.filters method="get" action=(base) role="search" {
                label for="pick-search" { "Title or key contains" }
                input #pick-search type="search" name="q" value=(filter.q.as_deref().unwrap_or(""));
                label for="pick-suite" { "Section" }
                select #pick-suite name="suite" {
                    option value="" selected[filter.suite.is_none()] { "Every section" }
                    @for (path, depth, n) in &names {
                        option value=(path) selected[filter.suite.as_deref() == Some(path.as_str())] {
                            (indent(*depth)) (path) " (" (n) ")" }
                    }
                }
                button type="submit" { "Show cases" }
            }
        }
        form.stacked.run-form method="post" action=(base) {
            input type="hidden" name="csrf" value=(session.csrf);
            @if let Some(q) = &filter.q { input type="hidden" name="pick_q" value=(q); }
            @if let Some(s) = &filter.suite { input type="hidden" name="pick_suite" value=(s); }
            (meta_fields(form))
            fieldset.scope {
                legend { "Cases in the run" }
                label.choice {
                    input type="radio" name="scope" value="all" checked[scope != "section" && scope != "selection"];
                    " Every case of the project (" (all) ")"
                }
                label.choice {
                    input type="radio" name="scope" value="section" checked[scope == "section"];
                    " Every case of one section (and the sections inside it)"
                }
                label for="run-section" { "Section" }
                select #run-section name="section" {
                    option value="" { "Choose a section" }
                    @for (path, depth, n) in &names {
                        option value=(path) selected[form.section == *path] { (indent(*depth)) (path) " (" (n) ")" }
                    }
                }
                label.choice {
                    input type="radio" name="scope" value="selection" checked[scope == "selection"];
                    " The cases ticked below"
                }
                @if offered.items.is_empty() {
                    p { "No case matches the search above." }
                } @else {
                    p.small {
                        @if offered.total > i64::from(PICK_LIMIT) {
                            "The first " (PICK_LIMIT) " of " (offered.total) " matching cases; narrow the search above to find others."
                        } @else {
                            (offered.total) " matching case" @if offered.total != 1 { "s" } "."
                        }
                    }
                    ul.pick-list {
                        @for c in &offered.items {
                            @let id = c.id.to_string();
                            li {
                                input #{ "pick-" (id) } type="checkbox" name="case_id" value=(id)
                                    checked[form.picked.contains(&id)];
                                label for={ "pick-" (id) } {
                                    (c.title)
                                    @if let Some(k) = &c.key { " " code { (k) } }
                                    @if let Some(s) = &c.suite { " " span.small { "· " (s) } }
                                }
                            }
                        }
                    }
                }
            }
            div.form-actions {
                button.primary type="submit" { "Create run" }
                " "
                a href={ "/projects/" (pid) } { "Cancel" }
            }
        }
    };
    Ok(respond(status, page("New run", Some(session), main)))
}

fn indent(depth: usize) -> String {
    "\u{a0}\u{a0}".repeat(depth)
}

/// The tree's sections in order, with their depth and case count.
fn flatten(nodes: &[super::setup_cases::Node], depth: usize, out: &mut Vec<(String, usize, i64)>) {
    for n in nodes {
        out.push((n.path.clone(), depth, n.cases));
        flatten(&n.children, depth + 1, out);
    }
}

/// POST /projects/:pid/runs/new (tester)
pub async fn create(
    State(state): State<AppState>,
    path: Result<ProjectPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    let session = &posted.session;
    session
        .caller()
        .require(&state, pid, Role::Tester, "create runs")
        .await?;
    let form = RunForm::posted(&posted.form);
    let mut errors = Vec::new();
    let (name, description, meta) = form.checked(&mut errors);
    let case_ids: Option<Vec<CaseId>> = match form.scope.as_str() {
        "section" => {
            let section = form.section.trim();
            if section.is_empty() {
                errors.push(FieldError::new("suite", "choose a section"));
                None
            } else {
                let ids = state
                    .store
                    .section_case_ids(pid, section.to_string())
                    .await?;
                if ids.is_empty() {
                    errors.push(FieldError::new("suite", "this section has no case"));
                }
                Some(ids)
            }
        }
        "selection" => {
            let mut ids = Vec::new();
            for raw in &form.picked {
                match raw.parse::<CaseId>() {
                    Ok(id) if !ids.contains(&id) => ids.push(id),
                    Ok(_) => {}
                    Err(_) => {
                        errors.push(FieldError::new("case_ids", "an unknown case was picked"));
                        break;
                    }
                }
            }
            if form.picked.is_empty() {
                errors.push(FieldError::new("case_ids", "tick at least one case"));
            }
            Some(ids)
        }
        _ => None,
    };
    // The list the cases were picked from, to show it again.
    let given =
        |name: &str| Some(posted.form.text(name).trim().to_string()).filter(|v| !v.is_empty());
    let filter = Filter {
        q: given("pick_q"),
        suite: given("pick_suite"),
        ..Filter::default()
    };
    if !errors.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_new(&state, session, pid, &filter, &form, &errors, status).await;
    }
    let new = NewRun {
        name,
        description,
        key: None,
        meta,
        case_ids,
    };
    match state.store.create_run(pid, new, Timestamp::now()).await {
        Ok((run, _)) => Ok(Redirect::to(&format!("/runs/{}", run.id)).into_response()),
        Err(e) => {
            let e: ApiError = e.into();
            let Some(mut errors) = as_problems(&e) else {
                return Err(WebError::Page(e));
            };
            // A picked case deleted meanwhile: say so in words.
            for f in &mut errors {
                if f.field.starts_with("case_ids[") {
                    f.field = "case_ids".into();
                }
            }
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render_new(&state, session, pid, &filter, &form, &errors, status).await
        }
    }
}

/// The run a path names, for a manager of its project.
async fn managed(
    state: &AppState,
    session: &Session,
    path: Result<RunPath, ApiError>,
    action: &str,
) -> WebResult<Run> {
    let RunPath { rid } = path?;
    let (run, role) = session.caller().run(state, rid).await?;
    ensure(role, Role::Manager, action).map_err(WebError::Page)?;
    Ok(run)
}

async fn render_edit(
    state: &AppState,
    session: &Session,
    run: &Run,
    form: &RunForm,
    errors: &[FieldError],
    status: StatusCode,
) -> WebResult<Response> {
    let project = state.store.get_project(run.project_id).await?;
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
            a href={ "/runs/" (run.id) } { (run.name) } " › "
        }
        h1 { "Edit run" }
        (problems(errors))
        form.stacked method="post" action={ "/runs/" (run.id) "/edit" } {
            input type="hidden" name="csrf" value=(session.csrf);
            (meta_fields(form))
            div.form-actions {
                button.primary type="submit" { "Save" }
                " "
                a href={ "/runs/" (run.id) } { "Cancel" }
            }
        }
        p.small { "Which cases a run holds does not change here; results stay as recorded." }
    };
    Ok(respond(status, page("Edit run", Some(session), main)))
}

/// GET /runs/:rid/edit (manager)
pub async fn edit_form(
    State(state): State<AppState>,
    session: Session,
    path: Result<RunPath, ApiError>,
) -> WebResult<Response> {
    let run = managed(&state, &session, path, "edit runs").await?;
    let form = RunForm::of(&run);
    render_edit(&state, &session, &run, &form, &[], StatusCode::OK).await
}

/// POST /runs/:rid/edit (manager): every field as given, blank clears.
pub async fn save(
    State(state): State<AppState>,
    path: Result<RunPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let session = &posted.session;
    let run = managed(&state, session, path, "edit runs").await?;
    let form = RunForm::posted(&posted.form);
    let mut errors = Vec::new();
    let (name, description, meta) = form.checked(&mut errors);
    if !errors.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_edit(&state, session, &run, &form, &errors, status).await;
    }
    let patch = RunPatch {
        name: Some(name),
        description: Some(description),
        meta: RunMetaPatch {
            branch: Some(meta.branch),
            commit: Some(meta.commit),
            build_url: Some(meta.build_url),
            environment: Some(meta.environment),
        },
    };
    state.store.update_run(run.id, patch).await?;
    Ok(Redirect::to(&format!("/runs/{}", run.id)).into_response())
}

/// GET /runs/:rid/close: the confirmation page (manager).
pub async fn confirm_close(
    State(state): State<AppState>,
    session: Session,
    path: Result<RunPath, ApiError>,
) -> WebResult<Response> {
    let run = managed(&state, &session, path, "close runs").await?;
    let project = state.store.get_project(run.project_id).await?;
    let c = &run.counts;
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
            a href={ "/runs/" (run.id) } { (run.name) } " › "
        }
        @if run.state == RunState::Closed {
            h1 { (run.name) " is closed" }
            p { a href={ "/runs/" (run.id) } { "Back to the run" } }
        } @else {
            h1 { "Close " (run.name) "?" }
            p { "Its results can no longer be changed afterwards." }
            @if c.not_tested > 0 {
                p.notice { (c.not_tested) " of " (c.total()) " results are still not tested." }
            }
            form.confirm method="post" action={ "/runs/" (run.id) "/close" } {
                input type="hidden" name="csrf" value=(session.csrf);
                input type="hidden" name="confirm" value="yes";
                button.danger type="submit" { "Yes, close the run" }
                " "
                a href={ "/runs/" (run.id) } { "Cancel" }
            }
        }
    };
    let title = format!("Close {}", run.name);
    Ok(respond(StatusCode::OK, page(&title, Some(&session), main)))
}
