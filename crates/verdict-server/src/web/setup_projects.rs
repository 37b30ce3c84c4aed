//! Setting up projects in the browser: creating one (`POST /projects`, any
//! signed-in user, who becomes its manager, as in the API) and a project's
//! settings page (`/projects/:pid/settings`): its name, its defect link
//! template, and its members (add by email with a role, change a role,
//! remove after a confirmation page).
//!
//! Every member may open the settings page and read it (who else is in the
//! project, and with which role, is no secret among them); only a manager
//! (or an admin) gets the forms, and every post checks the role again (403
//! page otherwise). Someone outside the project gets the "Not found" page.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use verdict_store::{FieldError, Member, NewProject, ProjectId, ProjectPatch, Role, Timestamp};

use super::layout::{page, respond};
use super::session::{Session, SessionForm};
use super::setup::{Notice, notice, notice_markup, problems, redirect_notice, shown};
use super::{WebError, WebResult};
use crate::checks::{MAX_TEMPLATE_CHARS, defect_url_template_field};
use crate::dto::required_text;
use crate::error::ApiError;
use crate::extract::{MemberPath, ProjectPath};
use crate::state::AppState;

const MANAGE: &str = "change this project's settings";

/// What the new-project form holds (empty, or as entered when refused).
#[derive(Debug, Default, Clone)]
pub struct NewProjectForm {
    pub name: String,
    pub template: String,
    pub errors: Vec<FieldError>,
}

/// The form that creates a project (on the projects page).
pub fn new_project_form(session: &Session, form: &NewProjectForm, first: bool) -> Markup {
    html! {
        section.setup aria-labelledby="new-project-heading" {
            h2 #new-project-heading {
                @if first { "Create your first project" } @else { "New project" }
            }
            (problems(&form.errors))
            form.stacked method="post" action="/projects" {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="project-name" { "Name" }
                input #project-name type="text" name="name" required maxlength="1000" value=(form.name);
                label for="project-template" { "Defect link (optional)" }
                input #project-template type="url" name="defect_url_template" maxlength=(MAX_TEMPLATE_CHARS)
                    value=(form.template) placeholder="https://tracker.example.com/browse/{id}"
                    aria-describedby="project-template-hint";
                span.hint #project-template-hint { "Defects recorded on results become links: " code { "{id}" } " is replaced by the defect's id." }
                button.primary type="submit" { "Create project" }
            }
            p.small { "You become the project's manager: you can then add members, test cases and runs." }
        }
    }
}

/// POST /projects (`name`, `defect_url_template`): any signed-in user.
pub async fn create(State(state): State<AppState>, posted: SessionForm) -> WebResult<Response> {
    let form = &posted.form;
    let mut errors = Vec::new();
    let name = required_text("name", &form.text("name"), &mut errors);
    let template = defect_url_template_field(&form.text("defect_url_template"), &mut errors);
    if !errors.is_empty() {
        let entered = NewProjectForm {
            name: form.text("name"),
            template: form.text("defect_url_template"),
            errors,
        };
        return super::projects::render_list(
            &state,
            &posted.session,
            1,
            &entered,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let project = state
        .store
        .create_project(
            NewProject {
                name,
                defect_url_template: template,
            },
            posted.session.user.id,
            Timestamp::now(),
        )
        .await?;
    Ok(redirect_notice(
        &format!("/projects/{}/settings", project.id),
        Notice::ProjectCreated,
        &state.web,
    ))
}

/// What the settings forms hold when one was refused.
#[derive(Debug, Default)]
struct Entered {
    /// The project form: name, template, problems.
    project: Option<(String, String, Vec<FieldError>)>,
    /// The add-member form: email, role, problems.
    member: Option<(String, String, Vec<FieldError>)>,
}

/// GET /projects/:pid/settings
pub async fn settings(
    State(state): State<AppState>,
    session: Session,
    path: Result<ProjectPath, ApiError>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    let notice = notice(&headers);
    let response = render(
        &state,
        &session,
        pid,
        Entered::default(),
        notice,
        StatusCode::OK,
    )
    .await?;
    Ok(shown(response, notice))
}

fn role_select(id: &str, selected: Role) -> Markup {
    html! {
        select #(id) name="role" {
            @for r in [Role::Viewer, Role::Tester, Role::Manager] {
                option value=(r.as_str()) selected[r == selected] { (role_words(r)) }
            }
        }
    }
}

fn role_words(r: Role) -> &'static str {
    match r {
        Role::Viewer => "viewer (sees everything)",
        Role::Tester => "tester (records results, creates runs)",
        Role::Manager => "manager (sets up the project)",
    }
}

async fn render(
    state: &AppState,
    session: &Session,
    pid: ProjectId,
    entered: Entered,
    notice: Option<Notice>,
    status: StatusCode,
) -> WebResult<Response> {
    let role = session.caller().role_in(state, pid).await?;
    let project = state.store.get_project(pid).await?;
    let members = state.store.list_members(pid).await?;
    let manager = role >= Role::Manager;
    let (name, template, project_errors) = entered.project.unwrap_or_else(|| {
        (
            project.name.clone(),
            project.defect_url_template.clone().unwrap_or_default(),
            Vec::new(),
        )
    });
    let (email, new_role, member_errors) = entered
        .member
        .unwrap_or_else(|| (String::new(), Role::Tester.as_str().to_string(), Vec::new()));
    let new_role = Role::parse(&new_role).unwrap_or(Role::Tester);
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (pid) } { (project.name) } " › "
        }
        h1 { "Settings of " (project.name) }
        (notice_markup(notice))
        @if !manager {
            p.notice { "You can read these settings; a manager of the project (or an admin) changes them." }
        }
        section.setup aria-labelledby="project-heading" {
            h2 #project-heading { "Project" }
            @if manager {
                (problems(&project_errors))
                form.stacked method="post" action={ "/projects/" (pid) "/settings" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for="settings-name" { "Name" }
                    input #settings-name type="text" name="name" required maxlength="1000" value=(name);
                    label for="settings-template" { "Defect link (optional)" }
                    input #settings-template type="url" name="defect_url_template" maxlength=(MAX_TEMPLATE_CHARS)
                        value=(template) placeholder="https://tracker.example.com/browse/{id}"
                        aria-describedby="settings-template-hint";
                    span.hint #settings-template-hint { "Defects recorded on results become links: "
                        code { "{id}" } " is replaced by the defect's id. Leave it empty for plain text." }
                    button.primary type="submit" { "Save" }
                }
            } @else {
                dl.case-fields {
                    div { dt { "Name" } dd { (project.name) } }
                    div { dt { "Defect link" } dd { @match &project.defect_url_template {
                        Some(t) => code { (t) }, None => "none" } } }
                }
            }
        }
        section.setup aria-labelledby="members-heading" {
            h2 #members-heading { "Members " span.count { "(" (members.len()) ")" } }
            p.small { "Admins see and manage every project without being members." }
            div.scroll {
                table.list.members {
                    caption.sr-only { "Members of " (project.name) }
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Role" }
                        @if manager { th scope="col" { span.sr-only { "Actions" } } }
                    } }
                    tbody {
                        @for m in &members { (member_row(pid, m, manager, session)) }
                    }
                }
            }
            @if manager {
                h3 { "Add a member" }
                (problems(&member_errors))
                form.stacked method="post" action={ "/projects/" (pid) "/members" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    label for="member-email" { "Email of an existing user" }
                    input #member-email type="email" name="email" required value=(email) autocomplete="off";
                    label for="member-role" { "Role" }
                    (role_select("member-role", new_role))
                    button.primary type="submit" { "Add member" }
                }
                p.small { "Someone without an account yet? An admin creates it on the Users page." }
            }
        }
    };
    Ok(respond(
        status,
        page(
            &format!("Settings of {}", project.name),
            Some(session),
            main,
        ),
    ))
}

fn member_row(pid: ProjectId, m: &Member, manager: bool, session: &Session) -> Markup {
    let uid = m.user.id;
    let select_id = format!("role-{uid}");
    html! {
        tr {
            td.name { (m.user.name) @if uid == session.user.id { " (you)" } }
            td data-label="Email" { (m.user.email) }
            @if manager {
                td data-label="Role" {
                    form.inline method="post" action={ "/projects/" (pid) "/members/" (uid) } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        label.sr-only for=(select_id) { "Role of " (m.user.name) }
                        (role_select(&select_id, m.role))
                        button type="submit" aria-label={ "Change the role of " (m.user.name) } { "Change" }
                    }
                }
                td.actions {
                    a href={ "/projects/" (pid) "/members/" (uid) "/remove" }
                        aria-label={ "Remove " (m.user.name) } { "Remove…" }
                }
            } @else {
                td data-label="Role" { (m.role.as_str()) }
            }
        }
    }
}

/// POST /projects/:pid/settings (`name`, `defect_url_template`; manager)
pub async fn save(
    State(state): State<AppState>,
    path: Result<ProjectPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    let session = &posted.session;
    session
        .caller()
        .require(&state, pid, Role::Manager, MANAGE)
        .await?;
    let form = &posted.form;
    let mut errors = Vec::new();
    let name = required_text("name", &form.text("name"), &mut errors);
    let template = defect_url_template_field(&form.text("defect_url_template"), &mut errors);
    if !errors.is_empty() {
        let entered = Entered {
            project: Some((form.text("name"), form.text("defect_url_template"), errors)),
            member: None,
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&state, session, pid, entered, None, status).await;
    }
    state
        .store
        .update_project(
            pid,
            ProjectPatch {
                name: Some(name),
                defect_url_template: Some(template),
            },
        )
        .await?;
    Ok(redirect_notice(
        &format!("/projects/{pid}/settings"),
        Notice::Saved,
        &state.web,
    ))
}

/// POST /projects/:pid/members (`email`, `role`; manager): adds a user
/// (or changes the role of one who is a member already).
pub async fn add_member(
    State(state): State<AppState>,
    path: Result<ProjectPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    let session = &posted.session;
    session
        .caller()
        .require(&state, pid, Role::Manager, "manage members")
        .await?;
    let form = &posted.form;
    let email = form.text("email");
    let role = Role::parse(&form.text("role"));
    let mut errors = Vec::new();
    if role.is_none() {
        errors.push(FieldError::new(
            "role",
            "must be one of viewer, tester, manager",
        ));
    }
    let user = if email.trim().is_empty() {
        errors.push(FieldError::new("email", "must not be empty"));
        None
    } else if email.chars().count() > 254 {
        errors.push(FieldError::new("email", "no user has this email"));
        None
    } else {
        let found = state
            .store
            .login_lookup(email.trim().to_string())
            .await?
            .map(|(u, _)| u);
        if found.is_none() {
            errors.push(FieldError::new(
                "email",
                "no user has this email (an admin creates users on the Users page)",
            ));
        }
        found
    };
    let (Some(user), Some(role), true) = (user, role, errors.is_empty()) else {
        let entered = Entered {
            project: None,
            member: Some((email, form.text("role"), errors)),
        };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&state, session, pid, entered, None, status).await;
    };
    state.store.set_member(pid, user.id, role).await?;
    Ok(redirect_notice(
        &format!("/projects/{pid}/settings"),
        Notice::MemberAdded,
        &state.web,
    ))
}

/// The member a path names, for a manager of the project.
async fn managed_member(
    state: &AppState,
    session: &Session,
    path: Result<MemberPath, ApiError>,
) -> WebResult<(ProjectId, Member)> {
    let MemberPath { pid, uid } = path?;
    session
        .caller()
        .require(state, pid, Role::Manager, "manage members")
        .await?;
    let member = state
        .store
        .list_members(pid)
        .await?
        .into_iter()
        .find(|m| m.user.id == uid)
        .ok_or(WebError::Page(ApiError::NotFound))?;
    Ok((pid, member))
}

/// POST /projects/:pid/members/:uid (`role`; manager)
pub async fn set_role(
    State(state): State<AppState>,
    path: Result<MemberPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let (pid, member) = managed_member(&state, &posted.session, path).await?;
    let Some(role) = Role::parse(&posted.form.text("role")) else {
        return Err(WebError::Page(ApiError::invalid(
            "role",
            "must be one of viewer, tester, manager",
        )));
    };
    state.store.set_member(pid, member.user.id, role).await?;
    Ok(redirect_notice(
        &format!("/projects/{pid}/settings"),
        Notice::Saved,
        &state.web,
    ))
}

/// GET /projects/:pid/members/:uid/remove: the confirmation page.
pub async fn confirm_remove(
    State(state): State<AppState>,
    session: Session,
    path: Result<MemberPath, ApiError>,
) -> WebResult<Response> {
    let (pid, member) = managed_member(&state, &session, path).await?;
    let project = state.store.get_project(pid).await?;
    let own = member.user.id == session.user.id;
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (pid) } { (project.name) } " › "
            a href={ "/projects/" (pid) "/settings" } { "Settings" } " › "
        }
        h1 { "Remove " (member.user.name) "?" }
        p { (member.user.name) " (" (member.user.email) ") will no longer see " strong { (project.name) }
            ". Results they recorded stay, with their name." }
        @if own && !session.user.admin {
            p.notice.error { "This is you: you will lose access to this project." }
        }
        form.confirm method="post" action={ "/projects/" (pid) "/members/" (member.user.id) "/remove" } {
            input type="hidden" name="csrf" value=(session.csrf);
            button.danger type="submit" { "Yes, remove " (member.user.name) }
            " "
            a href={ "/projects/" (pid) "/settings" } { "Cancel" }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page(
            &format!("Remove {}", member.user.name),
            Some(&session),
            main,
        ),
    ))
}

/// POST /projects/:pid/members/:uid/remove (manager)
pub async fn remove(
    State(state): State<AppState>,
    path: Result<MemberPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let session = &posted.session;
    let (pid, member) = managed_member(&state, session, path).await?;
    state.store.remove_member(pid, member.user.id).await?;
    if member.user.id == session.user.id && !session.user.admin {
        // They are no longer in the project: its pages would be 404.
        return Ok(Redirect::to("/projects").into_response());
    }
    Ok(redirect_notice(
        &format!("/projects/{pid}/settings"),
        Notice::MemberRemoved,
        &state.web,
    ))
}
