//! Web sessions and form safety.
//!
//! A session is an API token minted at sign-in for the user and named
//! [`SESSION_TOKEN_NAME`]; its secret is the `verdict_session` cookie
//! (HttpOnly, SameSite=Strict, Path=/, Secure when configured). So servers
//! keep nothing in memory, any instance accepts any session, and sessions
//! are listed (and revocable) on the account page. A session lasts a fixed
//! time from sign-in (`WebConfig::session_lifetime`, by the token's
//! `created_at`); an expired one is deleted on sight and the browser sent
//! to the sign-in page. Signing out deletes the token.
//!
//! Every form a page posts carries a hidden `csrf` field derived from the
//! session secret (hex SHA-256 of `"csrf:" + secret`): a page of ours can
//! know it, another site cannot. [`SessionForm`] refuses a form whose field
//! does not match (403, nothing written); SameSite=Strict is the second
//! lock on the same door.

use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use sha2::{Digest, Sha256};
use verdict_store::{StoreError, Timestamp, TokenId, User};

use super::{WebError, WebResult};
use crate::auth::{Caller, TOKEN_PREFIX, hash_token};
use crate::error::ApiError;
use crate::extract::read_body;
use crate::state::{AppState, WebConfig};

pub const SESSION_COOKIE: &str = "verdict_session";
pub use crate::auth::SESSION_TOKEN_NAME;

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// The session's token (marked "this browser" on the account page).
    pub token: TokenId,
    /// What this session's forms carry in their `csrf` field.
    pub csrf: String,
}

impl Session {
    /// The same user as an API caller, for the access checks the API makes.
    pub fn caller(&self) -> Caller {
        Caller {
            user: self.user.clone(),
            token: self.token,
        }
    }
}

/// The CSRF field value for a session secret.
pub fn csrf_for(secret: &str) -> String {
    Sha256::digest(format!("csrf:{secret}").as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(secret: &str, config: &WebConfig) -> HeaderValue {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        config.session_lifetime.as_secs()
    );
    // A token secret is `vdt_` and hex digits: always a valid header value.
    HeaderValue::from_str(&value).unwrap_or_else(|_| clear_cookie())
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("verdict_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// The value of a cookie, from every `Cookie` header.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_string())
}

/// Whether the request wants JSON (the run page's script) over a page.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// The session a request carries: `None` when there is none (or its token
/// is unknown); an expired one is deleted and answered with a sign-in.
async fn resolve(headers: &HeaderMap, state: &AppState) -> WebResult<Option<Session>> {
    let Some(secret) = cookie(headers, SESSION_COOKIE).filter(|s| s.starts_with(TOKEN_PREFIX))
    else {
        return Ok(None);
    };
    let now = Timestamp::now();
    let Some((user, token)) = state.store.authenticate(hash_token(&secret), now).await? else {
        return Ok(None);
    };
    let info = match state.store.get_token(token).await {
        Ok(info) => info,
        // Signed out in between.
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    // API tokens are not cookies: only what a sign-in minted opens pages.
    if info.name != SESSION_TOKEN_NAME {
        return Ok(None);
    }
    let lifetime = i64::try_from(state.web.session_lifetime.as_millis()).unwrap_or(i64::MAX);
    if now.millis().saturating_sub(info.created_at.millis()) >= lifetime {
        match state.store.delete_token(token).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
        return Err(WebError::SignIn {
            next: None,
            expired: true,
        });
    }
    Ok(Some(Session {
        user,
        token,
        csrf: csrf_for(&secret),
    }))
}

/// The session of a request, if it has a live one; for pages shown
/// whatever happens (the "Not found" page), so an error reads as none.
pub async fn current(headers: &HeaderMap, state: &AppState) -> Option<Session> {
    resolve(headers, state).await.ok().flatten()
}

/// Where to come back to after signing in: the page asked for, if a GET.
fn next_of(parts: &Parts) -> Option<String> {
    (parts.method == Method::GET)
        .then(|| parts.uri.path_and_query().map(|p| p.as_str().to_string()))
        .flatten()
}

impl FromRequestParts<AppState> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> WebResult<Self> {
        let json = wants_json(&parts.headers);
        match resolve(&parts.headers, state).await {
            Ok(Some(session)) => Ok(session),
            Ok(None) | Err(WebError::SignIn { .. }) if json => Err(WebError::Json(
                ApiError::Unauthorized("your session has ended: sign in again"),
            )),
            Ok(None) => Err(WebError::SignIn {
                next: next_of(parts),
                expired: false,
            }),
            Err(e) => Err(e),
        }
    }
}

impl OptionalFromRequestParts<AppState> for Session {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> WebResult<Option<Self>> {
        resolve(&parts.headers, state).await
    }
}

/// The fields of a posted form, in order.
#[derive(Debug, Default)]
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn parse(bytes: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(bytes)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a field (checkboxes), in order.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field's value, or empty when absent.
    pub fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_string()
    }

    /// Every field, in order.
    pub fn fields(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// Reads an `application/x-www-form-urlencoded` body within the limit.
pub async fn read_form(req: Request, state: &AppState) -> Result<Form, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ApiError::UnsupportedMediaType(
            "send the form as application/x-www-form-urlencoded".into(),
        ));
    }
    // A note may triple in size when percent-encoded; the rest is small.
    let limit = (state.limits.max_note_bytes * 3 + 64 * 1024).min(state.limits.max_body_bytes);
    let bytes = read_body(req, limit).await?;
    Ok(Form::parse(&bytes))
}

/// Equal in time that does not depend on where two strings differ.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A form posted by a signed-in user from one of our pages: the session,
/// the fields, and whether the poster wants JSON. Its CSRF field has been
/// checked, so a handler that takes this cannot forget to.
pub struct SessionForm {
    pub session: Session,
    pub form: Form,
    pub json: bool,
}

impl FromRequest<AppState> for SessionForm {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> WebResult<Self> {
        let (mut parts, body) = req.into_parts();
        let json = wants_json(&parts.headers);
        let session =
            <Session as FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await?;
        let req = Request::from_parts(parts, body);
        let form = read_form(req, state).await.map_err(|e| {
            if json {
                WebError::Json(e)
            } else {
                WebError::Page(e)
            }
        })?;
        let given = form.get("csrf").unwrap_or_default();
        if !constant_time_eq(given.as_bytes(), session.csrf.as_bytes()) {
            return Err(WebError::Csrf { json });
        }
        Ok(SessionForm {
            session,
            form,
            json,
        })
    }
}
