//! The account page: personal API tokens (create — the secret is shown
//! once, on the answer to the form, never in a URL — list, revoke) and the
//! password. Web sessions are tokens too, so signed-in browsers are listed
//! here and can be signed out from anywhere by revoking them.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use verdict_store::{Timestamp, TokenId};

use super::layout::{field_label, page, respond, time};
use super::session::{SESSION_TOKEN_NAME, Session, SessionForm, clear_cookie};
use super::{WebError, WebResult};
use crate::auth::Secret;
use crate::dto::required_text;
use crate::error::ApiError;
use crate::extract::PathIds;
use crate::routes::passwords::change_own;
use crate::state::AppState;

/// What the page says after a form: good news, or what to fix.
enum Message {
    Done(String),
    Problem(String),
}

/// The secret of a token just created, shown once.
struct Minted {
    name: String,
    secret: String,
}

async fn render(
    state: &AppState,
    session: &Session,
    minted: Option<Minted>,
    message: Option<Message>,
    status: StatusCode,
) -> WebResult<Response> {
    let tokens = state.store.list_tokens(session.user.id).await?;
    let main = html! {
        h1 { "Your account" }
        p.meta { (session.user.name) " · " (session.user.email)
            @if session.user.admin { " · admin" } }
        @match &message {
            Some(Message::Done(m)) => p.notice role="status" { (m) },
            Some(Message::Problem(m)) => p.notice.error role="alert" { (m) },
            None => {},
        }
        @if let Some(m) = &minted {
            div.notice.secret role="status" {
                p { "Your new token " strong { (m.name) } " — copy it now, it is not shown again:" }
                p { code #new-token { (m.secret) } }
                p.small { "Use it as " code { "Authorization: Bearer …" } " or as " code { "VERDICT_TOKEN" } " for the CLI." }
            }
        }
        section aria-labelledby="tokens-heading" {
            h2 #tokens-heading { "API tokens" }
            p { "Tokens let scripts and CI act as you. Each signed-in browser is a token named “"
                (SESSION_TOKEN_NAME) "”; revoking it signs that browser out." }
            div.scroll {
                table.list.tokens {
                    thead { tr {
                        th scope="col" { "Name" } th scope="col" { "Created" }
                        th scope="col" { "Last used" } th scope="col" { span.sr-only { "Actions" } }
                    } }
                    tbody {
                        @for t in &tokens {
                            tr {
                                td { (t.name) @if t.id == session.token { " " span.badge.current { "this browser" } } }
                                td { (time(t.created_at)) }
                                td { @match t.last_used_at { Some(at) => (time(at)), None => "never" } }
                                td {
                                    form method="post" action={ "/tokens/" (t.id) "/revoke" }
                                        data-confirm={ "Revoke the token “" (t.name) "”? Whatever uses it stops working." } {
                                        input type="hidden" name="csrf" value=(session.csrf);
                                        button type="submit" aria-label={ "Revoke " (t.name) " (" (t.id) ")" } { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            form.inline method="post" action="/tokens" {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="token-name" { "New token name" }
                input #token-name type="text" name="name" required maxlength="1000" placeholder="e.g. CI on main";
                button.primary type="submit" { "Create token" }
            }
        }
        (password_form(session))
    };
    Ok(respond(status, page("Your account", Some(session), main)))
}

fn password_form(session: &Session) -> Markup {
    html! {
        section aria-labelledby="password-heading" {
            h2 #password-heading { "Password" }
            form.stacked method="post" action="/password" {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="current-password" { "Current password" }
                input #current-password type="password" name="current_password" autocomplete="current-password";
                label for="new-password" { "New password (at least 8 characters)" }
                input #new-password type="password" name="new_password" required minlength="8" autocomplete="new-password";
                label for="confirm-password" { "New password again" }
                input #confirm-password type="password" name="confirm_password" required minlength="8" autocomplete="new-password";
                button type="submit" { "Change password" }
            }
        }
    }
}

/// GET /tokens
pub async fn show(State(state): State<AppState>, session: Session) -> WebResult<Response> {
    render(&state, &session, None, None, StatusCode::OK).await
}

/// POST /tokens: mint one, show its secret on this answer only.
pub async fn create(State(state): State<AppState>, posted: SessionForm) -> WebResult<Response> {
    let session = &posted.session;
    let mut errors = Vec::new();
    let name = required_text("name", &posted.form.text("name"), &mut errors);
    if let Some(e) = errors.first() {
        let message = Message::Problem(format!("{}: {}", field_label(&e.field), e.message));
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&state, session, None, Some(message), status).await;
    }
    let secret = Secret::generate()?;
    let token = state
        .store
        .create_token(session.user.id, name, secret.hash(), Timestamp::now())
        .await?;
    let minted = Minted {
        name: token.name,
        secret: secret.expose().to_string(),
    };
    render(&state, session, Some(minted), None, StatusCode::CREATED).await
}

/// POST /tokens/:tid/revoke: one's own tokens only (as in the API, another
/// user's token is not there). Revoking this browser's signs it out.
pub async fn revoke(
    State(state): State<AppState>,
    path: PathIds,
    posted: SessionForm,
) -> WebResult<Response> {
    let id: TokenId = path.id(0)?;
    let session = &posted.session;
    let token = state.store.get_token(id).await?;
    if token.user_id != session.user.id {
        return Err(WebError::Page(ApiError::NotFound));
    }
    state.store.delete_token(id).await?;
    if id == session.token {
        let mut response = Redirect::to("/login?signed_out=1").into_response();
        response
            .headers_mut()
            .insert(header::SET_COOKIE, clear_cookie());
        return Ok(response);
    }
    Ok(Redirect::to("/tokens").into_response())
}

/// POST /password: the same change as `PUT /v1/me/password`.
pub async fn change_password(
    State(state): State<AppState>,
    posted: SessionForm,
) -> WebResult<Response> {
    let session = &posted.session;
    let form = &posted.form;
    let new = form.text("new_password");
    if new != form.text("confirm_password") {
        let message = Message::Problem("The two new passwords differ; nothing was changed.".into());
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render(&state, session, None, Some(message), status).await;
    }
    let current = form.get("current_password").filter(|c| !c.is_empty());
    let changed = change_own(
        &state,
        &session.user,
        current.map(str::to_string),
        new,
        Some(session.token),
    )
    .await;
    let (message, status) = match changed {
        Ok(()) => (
            Message::Done(
                "Your password was changed. Other browsers signed in as you were signed out."
                    .into(),
            ),
            StatusCode::OK,
        ),
        Err(ApiError::Invalid(fields)) => (
            Message::Problem(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", field_label(&f.field), f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(e) => return Err(e.into()),
    };
    render(&state, session, None, Some(message), status).await
}
