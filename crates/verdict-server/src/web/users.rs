//! The users page (`/users`, admins only; anyone else gets a 403 page):
//! every user, creating one (name, email, a password hashed with argon2id
//! as the API does, the admin flag), making someone an admin or removing
//! it (after a confirmation page; never one's own, so an admin cannot
//! lock themselves out), and revoking every token of a user (after a
//! confirmation page; it signs their browsers out too).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use verdict_store::{FieldError, NewUser, Page, Timestamp, User, UserPatch};

use super::layout::{page, pager, respond, time};
use super::projects::page_number;
use super::session::{Session, SessionForm, clear_cookie};
use super::setup::{Notice, as_problems, notice, notice_markup, problems, redirect_notice, shown};
use super::{WebError, WebResult};
use crate::auth::passwords::{check_new_password, hash_password};
use crate::checks::check_email;
use crate::dto::required_text;
use crate::error::ApiError;
use crate::extract::{UserPath, WebQuery};
use crate::state::AppState;

const USERS_PER_PAGE: u32 = 100;

/// The new-user form as entered (never the password).
#[derive(Debug, Default)]
struct Entered {
    name: String,
    email: String,
    admin: bool,
    errors: Vec<FieldError>,
}

fn admin_only(session: &Session) -> WebResult<()> {
    session
        .caller()
        .require_admin()
        .map_err(|_| WebError::Page(ApiError::Forbidden("only an admin manages users".into())))
}

/// GET /users (`page`; admin)
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
    mut q: WebQuery,
) -> WebResult<Response> {
    admin_only(&session)?;
    let page_no = page_number(&mut q, "page");
    let notice = notice(&headers);
    let response = render(
        &state,
        &session,
        page_no,
        &Entered::default(),
        notice,
        StatusCode::OK,
    )
    .await?;
    Ok(shown(response, notice))
}

async fn render(
    state: &AppState,
    session: &Session,
    page_no: u32,
    entered: &Entered,
    notice: Option<Notice>,
    status: StatusCode,
) -> WebResult<Response> {
    let users = state
        .store
        .list_users(Page {
            page: page_no,
            per_page: USERS_PER_PAGE,
        })
        .await?;
    let main = html! {
        h1 { "Users" }
        (notice_markup(notice))
        section aria-labelledby="users-heading" {
            h2 #users-heading { "Everyone " span.count { "(" (users.total) ")" } }
            div.scroll {
                table.list.users {
                    caption.sr-only { "Users, oldest first" }
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Email" }
                        th scope="col" { "Admin" } th scope="col" { "Created" }
                        th scope="col" { span.sr-only { "Actions" } }
                    } }
                    tbody {
                        @for u in &users.items {
                            @let own = u.id == session.user.id;
                            tr {
                                td.name { (u.name) @if own { " (you)" } }
                                td data-label="Email" { (u.email) }
                                td data-label="Admin" { @if u.admin { "Admin" } @else { "No" } }
                                td data-label="Created" { (time(u.created_at)) }
                                td.actions {
                                    @if !u.admin {
                                        form.inline method="post" action={ "/users/" (u.id) "/admin" } {
                                            input type="hidden" name="csrf" value=(session.csrf);
                                            input type="hidden" name="admin" value="yes";
                                            button type="submit" { "Make admin" span.sr-only { ": " (u.name) } }
                                        }
                                    } @else if !own {
                                        a href={ "/users/" (u.id) "/admin" } { "Remove admin…" span.sr-only { " " (u.name) } }
                                    }
                                    " "
                                    a href={ "/users/" (u.id) "/tokens" } { "Revoke tokens…" span.sr-only { " " (u.name) } }
                                }
                            }
                        }
                    }
                }
            }
            (pager(page_no, USERS_PER_PAGE, users.total, |n| format!("/users?page={n}")))
        }
        section.setup aria-labelledby="new-user-heading" {
            h2 #new-user-heading { "New user" }
            (problems(&entered.errors))
            form.stacked method="post" action="/users" {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="user-name" { "Name" }
                input #user-name type="text" name="name" required maxlength="1000" value=(entered.name) autocomplete="off";
                label for="user-email" { "Email" }
                input #user-email type="email" name="email" required maxlength="254" value=(entered.email) autocomplete="off";
                label for="user-password" { "Password (at least 8 characters)" }
                input #user-password type="password" name="password" minlength="8" autocomplete="new-password"
                    aria-describedby="user-password-hint";
                span.hint #user-password-hint { "Tell them in person; they change it on their Tokens page. Leave it empty for an account that only uses API tokens." }
                label.choice {
                    input type="checkbox" name="admin" value="yes" checked[entered.admin];
                    " Admin (manages users and every project)"
                }
                button.primary type="submit" { "Create user" }
            }
            p.small { "Add them to projects on each project's settings page." }
        }
    };
    Ok(respond(status, page("Users", Some(session), main)))
}

/// POST /users (`name`, `email`, `password`, `admin`; admin)
pub async fn create(State(state): State<AppState>, posted: SessionForm) -> WebResult<Response> {
    let session = &posted.session;
    admin_only(session)?;
    let form = &posted.form;
    let mut errors = Vec::new();
    let name = required_text("name", &form.text("name"), &mut errors);
    let email = check_email(&form.text("email"), &mut errors);
    let password = form.text("password");
    if !password.is_empty() {
        check_new_password("password", &password, &mut errors);
    }
    let admin = form.get("admin") == Some("yes");
    let entered = |errors| Entered {
        name: form.text("name"),
        email: form.text("email"),
        admin,
        errors,
    };
    if !errors.is_empty() {
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&state, session, 1, &entered(errors), None, status).await;
    }
    let password_hash = if password.is_empty() {
        None
    } else {
        Some(hash_password(password).await?)
    };
    let created = state
        .store
        .create_user(
            NewUser {
                name,
                email,
                password_hash,
                admin,
            },
            Timestamp::now(),
        )
        .await;
    match created {
        Ok(_) => Ok(redirect_notice("/users", Notice::UserCreated, &state.web)),
        Err(e) => {
            let e: ApiError = e.into();
            let Some(errors) = as_problems(&e) else {
                return Err(WebError::Page(e));
            };
            let status = match e {
                ApiError::Conflict { .. } => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            render(&state, session, 1, &entered(errors), None, status).await
        }
    }
}

/// The user a path names, for an admin.
async fn user_of(
    state: &AppState,
    session: &Session,
    path: Result<UserPath, ApiError>,
) -> WebResult<User> {
    admin_only(session)?;
    let UserPath { uid } = path?;
    Ok(state.store.get_user(uid).await?)
}

fn own_admin() -> WebError {
    WebError::Page(ApiError::Conflict {
        code: "own_admin",
        message: "You cannot remove your own admin rights; ask another admin.".into(),
    })
}

fn confirm_page(session: &Session, title: &str, body: maud::Markup) -> Response {
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/users" { "Users" } " › " }
        h1 { (title) }
        (body)
    };
    respond(StatusCode::OK, page(title, Some(session), main))
}

/// GET /users/:uid/admin: confirms removing someone's admin rights.
pub async fn confirm_admin(
    State(state): State<AppState>,
    session: Session,
    path: Result<UserPath, ApiError>,
) -> WebResult<Response> {
    let user = user_of(&state, &session, path).await?;
    if user.id == session.user.id {
        return Err(own_admin());
    }
    let title = format!("Remove the admin rights of {}?", user.name);
    Ok(confirm_page(
        &session,
        &title,
        html! {
            @if user.admin {
                p { (user.name) " (" (user.email) ") will see only the projects they are a member of, with their role there, and no longer manage users." }
                form.confirm method="post" action={ "/users/" (user.id) "/admin" } {
                    input type="hidden" name="csrf" value=(session.csrf);
                    input type="hidden" name="admin" value="no";
                    button.danger type="submit" { "Yes, remove admin rights" }
                    " " a href="/users" { "Cancel" }
                }
            } @else {
                p { (user.name) " is not an admin." }
                p { a href="/users" { "Back to the users" } }
            }
        },
    ))
}

/// POST /users/:uid/admin (`admin`: `yes` or `no`; admin). Never one's own.
pub async fn set_admin(
    State(state): State<AppState>,
    path: Result<UserPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let session = &posted.session;
    let user = user_of(&state, session, path).await?;
    let admin = match posted.form.get("admin") {
        Some("yes") => true,
        Some("no") => false,
        _ => {
            return Err(WebError::Page(ApiError::invalid(
                "admin",
                "must be yes or no",
            )));
        }
    };
    if !admin && user.id == session.user.id {
        return Err(own_admin());
    }
    state
        .store
        .update_user(
            user.id,
            UserPatch {
                name: None,
                admin: Some(admin),
            },
        )
        .await?;
    let notice = if admin {
        Notice::AdminGranted
    } else {
        Notice::AdminRemoved
    };
    Ok(redirect_notice("/users", notice, &state.web))
}

/// GET /users/:uid/tokens: confirms revoking every token of a user.
pub async fn confirm_revoke(
    State(state): State<AppState>,
    session: Session,
    path: Result<UserPath, ApiError>,
) -> WebResult<Response> {
    let user = user_of(&state, &session, path).await?;
    let tokens = state.store.list_tokens(user.id).await?;
    let own = user.id == session.user.id;
    let title = format!("Revoke every token of {}?", user.name);
    Ok(confirm_page(
        &session,
        &title,
        html! {
            p { (user.name) " has " (tokens.len()) " token" @if tokens.len() != 1 { "s" }
                " (API tokens and signed-in browsers). Whatever uses them stops working, and their browsers are signed out. Their account stays." }
            @if own { p.notice.error { "This is you: this browser is signed out too." } }
            form.confirm method="post" action={ "/users/" (user.id) "/tokens" } {
                input type="hidden" name="csrf" value=(session.csrf);
                button.danger type="submit" { "Yes, revoke every token" }
                " " a href="/users" { "Cancel" }
            }
        },
    ))
}

/// POST /users/:uid/tokens (admin)
pub async fn revoke_tokens(
    State(state): State<AppState>,
    path: Result<UserPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let session = &posted.session;
    let user = user_of(&state, session, path).await?;
    state.store.delete_user_tokens(user.id).await?;
    if user.id == session.user.id {
        let mut response = Redirect::to("/login?signed_out=1").into_response();
        response
            .headers_mut()
            .insert(header::SET_COOKIE, clear_cookie());
        return Ok(response);
    }
    Ok(redirect_notice("/users", Notice::TokensRevoked, &state.web))
}
