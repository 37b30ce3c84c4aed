//! The account page: personal API tokens (create — the secret is shown
//! once, never in a URL — list, revoke) and the password. Web sessions are
//! tokens too, so signed-in browsers are listed here and can be signed out
//! from anywhere by revoking them.
//!
//! Every form here answers with a redirect to `GET /tokens` (post →
//! redirect → get), so reloading the page never creates a second token.
//! What the page then has to say — the new token's secret, "password
//! changed" — travels in a one-time flash cookie ([`FLASH_COOKIE`]):
//! HttpOnly, SameSite=Strict, `Path=/tokens`, a minute's life, Secure when
//! the session cookie is, and cleared by the page that reads it. It keeps
//! the server stateless (any instance can show it) and the secret out of
//! URLs, logs and history. A secret is shown only to the user whose token
//! it is.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use verdict_store::{Timestamp, TokenId};

use super::layout::{field_label, page, respond, time};
use super::session::{SESSION_TOKEN_NAME, Session, SessionForm, clear_cookie, cookie};
use super::{WebError, WebResult};
use crate::auth::Secret;
use crate::auth::passwords::change_own;
use crate::dto::required_text;
use crate::error::ApiError;
use crate::extract::TokenPath;
use crate::state::{AppState, WebConfig};

/// The one-time message of the account page (see the module docs).
pub const FLASH_COOKIE: &str = "verdict_flash";
/// How long a flash waits for the page that shows it: the redirect is
/// followed at once, so a minute is plenty.
const FLASH_SECONDS: u32 = 60;

/// What a form left for the page after its redirect.
enum Flash {
    /// A token was created: its id and secret.
    Minted { token: TokenId, secret: String },
    /// The password was changed.
    PasswordChanged,
}

impl Flash {
    fn encode(&self) -> String {
        match self {
            Flash::Minted { token, secret } => format!("minted:{token}:{secret}"),
            Flash::PasswordChanged => "password_changed".into(),
        }
    }

    fn decode(value: &str) -> Option<Flash> {
        if value == "password_changed" {
            return Some(Flash::PasswordChanged);
        }
        let (token, secret) = value.strip_prefix("minted:")?.split_once(':')?;
        Some(Flash::Minted {
            token: token.parse().ok()?,
            secret: secret.to_string(),
        })
    }
}

/// A redirect to the account page carrying `flash`.
fn redirect_with(flash: &Flash, config: &WebConfig) -> Response {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{FLASH_COOKIE}={}; Path=/tokens; HttpOnly; SameSite=Strict; Max-Age={FLASH_SECONDS}{secure}",
        flash.encode()
    );
    let mut response = Redirect::to("/tokens").into_response();
    // Token ids and secrets are ASCII letters, digits and `_`: a valid
    // header value; should one not be, the page just says nothing.
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The `Set-Cookie` value that clears the flash once it is read.
fn clear_flash() -> HeaderValue {
    HeaderValue::from_static("verdict_flash=; Path=/tokens; HttpOnly; SameSite=Strict; Max-Age=0")
}

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
    flash: Option<Flash>,
    message: Option<Message>,
    status: StatusCode,
) -> WebResult<Response> {
    let tokens = state.store.list_tokens(session.user.id).await?;
    let (minted, message) = match flash {
        // Only the owner of the token sees its secret (another user who
        // signed in on this browser within the minute does not).
        Some(Flash::Minted { token, secret }) => (
            tokens.iter().find(|t| t.id == token).map(|t| Minted {
                name: t.name.clone(),
                secret,
            }),
            message,
        ),
        Some(Flash::PasswordChanged) => (
            None,
            Some(Message::Done(
                "Your password was changed. Other browsers signed in as you were signed out."
                    .into(),
            )),
        ),
        None => (None, message),
    };
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
                                td.name { (t.name) @if t.id == session.token { " " span.badge.current { "this browser" } } }
                                td data-label="Created" { (time(t.created_at)) }
                                td data-label="Last used" { @match t.last_used_at { Some(at) => (time(at)), None => "never" } }
                                td.actions {
                                    a.button.revoke href={ "/tokens/" (t.id) "/revoke" } {
                                        "Revoke…" span.sr-only { " " (t.name) " (" (t.id) ")" }
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

/// GET /tokens; shows (and clears) what the last form left.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    headers: HeaderMap,
) -> WebResult<Response> {
    let flash = cookie(&headers, FLASH_COOKIE);
    let mut response = render(
        &state,
        &session,
        flash.as_deref().and_then(Flash::decode),
        None,
        StatusCode::OK,
    )
    .await?;
    if flash.is_some() {
        response
            .headers_mut()
            .insert(header::SET_COOKIE, clear_flash());
    }
    Ok(response)
}

/// POST /tokens: mint one; the page after the redirect shows its secret,
/// once.
pub async fn create_token(
    State(state): State<AppState>,
    posted: SessionForm,
) -> WebResult<Response> {
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
    let flash = Flash::Minted {
        token: token.id,
        secret: secret.expose().to_string(),
    };
    Ok(redirect_with(&flash, &state.web))
}

/// POST /tokens/:tid/revoke: one's own tokens only (as in the API, another
/// user's token is not there). Revoking this browser's signs it out.
/// GET /tokens/:tid/revoke: asks first — whatever uses the token stops
/// working, and revoking this browser's own signs it out. Someone else's
/// token is "Not found", as on the POST.
pub async fn confirm_revoke_token(
    State(state): State<AppState>,
    session: Session,
    path: Result<TokenPath, ApiError>,
) -> WebResult<Response> {
    let TokenPath { tid: id } = path?;
    let token = state.store.get_token(id).await?;
    if token.user_id != session.user.id {
        return Err(WebError::Page(ApiError::NotFound));
    }
    let title = format!("Revoke the token “{}”?", token.name);
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" { a href="/tokens" { "Your account" } " › " }
        h1 { (title) }
        p { "Whatever uses it stops working at once. This cannot be undone: a new token has a new secret." }
        @if id == session.token {
            p.notice.error { "This is this browser's session: revoking it signs you out here." }
        } @else if token.name == SESSION_TOKEN_NAME {
            p { "It is a signed-in browser: revoking it signs that browser out." }
        }
        form.confirm method="post" action={ "/tokens/" (id) "/revoke" } {
            input type="hidden" name="csrf" value=(session.csrf);
            button.danger type="submit" { "Yes, revoke it" }
            " " a href="/tokens" { "Cancel" }
        }
    };
    Ok(respond(StatusCode::OK, page(&title, Some(&session), main)))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    path: Result<TokenPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let TokenPath { tid: id } = path?;
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
    match changed {
        Ok(()) => Ok(redirect_with(&Flash::PasswordChanged, &state.web)),
        // Nothing was changed: the page again, with what to fix.
        Err(ApiError::Invalid(fields)) => {
            let message = Message::Problem(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", field_label(&f.field), f.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            );
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            render(&state, session, None, Some(message), status).await
        }
        Err(e) => Err(e.into()),
    }
}
