//! Signing in and out. A sign-in checks the password (argon2id, on the
//! blocking pool), mints a session token and sets it as the cookie; a
//! wrong email and a wrong password get the same answer, after the same
//! work, so the form does not tell which addresses have accounts. The
//! sign-in form has no session yet to carry a CSRF token, so it is refused
//! when the browser says it was posted from another site (Origin, else
//! Referer, naming another host). Failed sign-ins are limited per client
//! address and email (known or not, so the limit tells nothing either),
//! and more loosely per address across emails: past a burst the form
//! answers 429 with Retry-After until the bucket refills. Not per email
//! alone, or anyone could lock a user out by failing in their name; the
//! right password from an address that has not been failing signs in.

use std::net::{IpAddr, Ipv6Addr};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use verdict_store::{StoreError, Timestamp};

use super::layout::{page, respond};
use super::session::{
    SESSION_TOKEN_NAME, Session, SessionForm, clear_cookie, read_form, session_cookie,
};
use super::{WebError, WebResult};
use crate::auth::Secret;
use crate::auth::passwords::{MAX_PASSWORD_BYTES, hash_password, verify_password};
use crate::client;
use crate::extract::WebQuery;
use crate::state::AppState;

/// Whether `next` is a path on this site (not `//evil.example`).
pub fn safe_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control)
}

/// `host[:port]` of a URL.
fn authority(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    rest.split(['/', '?', '#']).next()
}

/// False when the browser says the form came from another site. `Origin:
/// null` (a sandboxed or privacy-stripped origin) counts as another site.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER));
    match source {
        None => true,
        Some(v) => match (v.to_str().ok().and_then(authority), host) {
            (Some(from), Some(host)) => from.eq_ignore_ascii_case(host),
            _ => false,
        },
    }
}

/// What the form shows: a message (error or info), the email typed so far.
struct LoginView<'a> {
    error: Option<&'a str>,
    info: Option<&'a str>,
    email: &'a str,
    next: Option<&'a str>,
    demo: Option<&'a (String, String)>,
}

fn render(view: LoginView<'_>) -> Markup {
    page(
        "Sign in",
        None,
        html! {
            section.login {
                h1 { "Sign in to Verdict" }
                @if let Some(e) = view.error { p.notice.error role="alert" { (e) } }
                @if let Some(i) = view.info { p.notice role="status" { (i) } }
                form method="post" action="/login" {
                    @if let Some(n) = view.next { input type="hidden" name="next" value=(n); }
                    label for="email" { "Email" }
                    input #email type="email" name="email" value=(view.email) required
                        autocomplete="username" autofocus;
                    label for="password" { "Password" }
                    input #password type="password" name="password" required
                        autocomplete="current-password";
                    button.primary type="submit" { "Sign in" }
                }
                @if let Some((email, password)) = view.demo {
                    aside.demo aria-label="Demo data" {
                        p { strong { "Demo server. " } "This server holds sample data. Sign in as "
                            code { (email) } " with the password " code { (password) } "." }
                    }
                }
                p.hint { "No password yet? An admin sets one: " code { "verdict password set" }
                    " (see the README)." }
            }
        },
    )
}

/// GET /login
pub async fn form(
    State(state): State<AppState>,
    session: Option<Session>,
    mut q: WebQuery,
) -> WebResult<Response> {
    let next = q.take("next")?.filter(|n| safe_next(n));
    if session.is_some() {
        return Ok(Redirect::to(next.as_deref().unwrap_or("/projects")).into_response());
    }
    let info = if q.take("expired")?.is_some() {
        Some("Your session has expired. Please sign in again.")
    } else if q.take("signed_out")?.is_some() {
        Some("You have signed out.")
    } else {
        None
    };
    let view = LoginView {
        error: None,
        info,
        email: "",
        next: next.as_deref(),
        demo: state.web.demo_login.as_ref(),
    };
    Ok(respond(StatusCode::OK, render(view)))
}

/// A hash to verify against when there is no user, so a wrong email costs
/// the same time as a wrong password.
static DUMMY_HASH: OnceCell<String> = OnceCell::const_new();

/// POST /login
pub async fn submit(State(state): State<AppState>, req: Request) -> WebResult<Response> {
    let demo = state.web.demo_login.as_ref();
    if !same_origin(req.headers()) {
        let view = LoginView {
            error: Some("This sign-in form was sent from another site, so it was refused."),
            info: None,
            email: "",
            next: None,
            demo,
        };
        return Ok(respond(StatusCode::FORBIDDEN, render(view)));
    }
    let address = client::address(
        req.extensions(),
        req.headers(),
        &state.limits.trusted_proxies,
    );
    let form = read_form(req, &state).await?;
    let email = form.text("email").trim().to_string();
    let password = form.text("password");
    let next = form.get("next").filter(|n| safe_next(n));
    // Failed sign-ins are limited per client, so a password cannot be
    // guessed at the speed of the server (nor its CPU spent on hashing).
    let (pair, from) = sign_in_keys(address, &email);
    let now = Instant::now();
    let refused = [
        (state.sign_in_limiter.peek(pair, now), "for this email "),
        (state.sign_in_address_limiter.peek(from, now), ""),
    ]
    .into_iter()
    .filter(|((allowed, _), _)| !allowed)
    .max_by_key(|((_, retry), _)| *retry);
    if let Some(((_, retry_secs), what)) = refused {
        let minutes = retry_secs.div_ceil(60);
        let message = format!(
            "Too many failed sign-ins {what}from your address. Try again in {minutes} minute{}.",
            if minutes == 1 { "" } else { "s" }
        );
        let view = LoginView {
            error: Some(&message),
            info: None,
            email: &email,
            next,
            demo,
        };
        let mut response = respond(StatusCode::TOO_MANY_REQUESTS, render(view));
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(retry_secs));
        return Ok(response);
    }
    let found = if email.is_empty() || email.len() > 254 {
        None
    } else {
        state.store.login_lookup(email.clone()).await?
    };
    let ok = match found.as_ref().map(|(user, hash)| (user, hash.as_ref())) {
        Some((_, Some(hash))) if password.len() <= MAX_PASSWORD_BYTES => {
            verify_password(password, hash.clone()).await?
        }
        _ => {
            let dummy = DUMMY_HASH
                .get_or_try_init(|| hash_password("not anyone's password".into()))
                .await?;
            let _ = verify_password(password, dummy.clone()).await?;
            false
        }
    };
    let user = match (ok, found) {
        (true, Some((user, _))) => user,
        _ => {
            let now = Instant::now();
            state.sign_in_limiter.charge(pair, now);
            state.sign_in_address_limiter.charge(from, now);
            let view = LoginView {
                error: Some("Wrong email or password."),
                info: None,
                email: &email,
                next,
                demo,
            };
            return Ok(respond(StatusCode::UNAUTHORIZED, render(view)));
        }
    };
    let secret = Secret::generate()?;
    state
        .store
        .create_token(
            user.id,
            SESSION_TOKEN_NAME.into(),
            secret.hash(),
            Timestamp::now(),
        )
        .await?;
    let mut response = Redirect::to(next.unwrap_or("/projects")).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        session_cookie(secret.expose(), &state.web),
    );
    Ok(response)
}

/// The limiters' keys: (client address, email), emails compared without
/// case; and the client address alone. An IPv6 client counts by its /64,
/// the block one subscriber gets, or it could take a fresh address for
/// every attempt.
pub(crate) fn sign_in_keys(address: IpAddr, email: &str) -> ([u8; 32], [u8; 32]) {
    let address = match address {
        IpAddr::V6(v6) => format!("{}/64", Ipv6Addr::from(u128::from(v6) & !(u128::MAX >> 64))),
        v4 => v4.to_string(),
    };
    let mut hasher = Sha256::new();
    hasher.update(b"sign-in\0");
    hasher.update(address.as_bytes());
    hasher.update(b"\0");
    hasher.update(email.to_lowercase().as_bytes());
    let pair = hasher.finalize().into();
    let mut hasher = Sha256::new();
    hasher.update(b"sign-in-address\0");
    hasher.update(address.as_bytes());
    (pair, hasher.finalize().into())
}

/// POST /logout: the session's token is deleted, so the cookie is dead
/// even if a copy of it survives somewhere.
pub async fn logout(State(state): State<AppState>, posted: SessionForm) -> WebResult<Response> {
    match state.store.delete_token(posted.session.token).await {
        Ok(()) | Err(StoreError::NotFound) => {}
        Err(e) => return Err(WebError::from(e)),
    }
    let mut response = Redirect::to("/login?signed_out=1").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, clear_cookie());
    Ok(response)
}
