//! The web UI: server-rendered HTML (maud) for people who never touch the
//! API, on the same store calls as the API, with the same roles. Sign-in
//! gives a session cookie that is an API token (see [`session`]), so the
//! server stays stateless. Every asset is embedded in the binary and served
//! under `/assets/`; pages carry no inline script or style (the CSP forbids
//! both), and work without JavaScript: `app.js` only adds saving without a
//! reload and the keyboard shortcuts of the run page. Every form post
//! answers with a redirect to a page (post → redirect → get), so a reload
//! never posts twice; what a post has to say afterwards travels in a
//! one-time cookie (see [`account`]). An unknown path is an HTML page for a
//! browser and the API's JSON for everyone else ([`not_found`]).

pub mod account;
pub mod assign;
pub mod attach;
pub mod case;
pub mod chart;
pub mod compare;
pub mod files;
pub mod layout;
pub mod login;
pub mod projects;
pub mod record_form;
pub mod results;
pub mod run;
pub mod run_detail;
pub mod run_list;
pub mod run_view;
pub mod session;
pub mod setup;
pub mod setup_cases;
pub mod setup_projects;
pub mod setup_runs;
pub mod timeline;
pub mod users;
pub mod webhooks;
pub mod work;

use std::sync::LazyLock;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use sha2::{Digest, Sha256};
use verdict_store::StoreError;

use crate::error::ApiError;
use crate::state::AppState;

/// The UI's routes, merged into the API's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login::form).post(login::submit))
        .route("/logout", post(login::logout))
        .route(
            "/projects",
            get(projects::list).post(setup_projects::create),
        )
        .route("/projects/{pid}", get(projects::show))
        .route(
            "/projects/{pid}/settings",
            get(setup_projects::settings).post(setup_projects::save),
        )
        .route("/projects/{pid}/members", post(setup_projects::add_member))
        .route(
            "/projects/{pid}/members/{uid}",
            post(setup_projects::set_role),
        )
        .route(
            "/projects/{pid}/members/{uid}/remove",
            get(setup_projects::confirm_remove).post(setup_projects::remove),
        )
        .route(
            "/projects/{pid}/webhooks",
            get(webhooks::list).post(webhooks::create),
        )
        .route("/webhooks/{wid}", get(webhooks::show))
        .route("/webhooks/{wid}/test", post(webhooks::test))
        .route("/webhooks/{wid}/active", post(webhooks::set_active))
        .route(
            "/webhooks/{wid}/delete",
            get(webhooks::confirm_delete).post(webhooks::delete),
        )
        .route(
            "/webhooks/{wid}/deliveries/{event_id}/redeliver",
            post(webhooks::redeliver),
        )
        .route("/projects/{pid}/cases", get(setup_cases::list))
        .route(
            "/projects/{pid}/cases/new",
            get(setup_cases::new_form).post(setup_cases::create),
        )
        .route(
            "/cases/{cid}/edit",
            get(setup_cases::edit_form).post(setup_cases::save),
        )
        .route(
            "/cases/{cid}/delete",
            get(setup_cases::confirm_delete).post(setup_cases::delete),
        )
        .route(
            "/projects/{pid}/runs/new",
            get(setup_runs::new_form).post(setup_runs::create),
        )
        .route(
            "/runs/{rid}/edit",
            get(setup_runs::edit_form).post(setup_runs::save),
        )
        .route("/runs/{rid}", get(run::show))
        .route(
            "/runs/{rid}/close",
            get(setup_runs::confirm_close).post(run::close),
        )
        .route("/users", get(users::list).post(users::create))
        .route(
            "/users/{uid}/admin",
            get(users::confirm_admin).post(users::set_admin),
        )
        .route(
            "/users/{uid}/tokens",
            get(users::confirm_revoke).post(users::revoke_tokens),
        )
        .route("/runs/{rid}/export.csv", get(run::export_csv))
        .route("/runs/{rid}/export.xml", get(run::export_xml))
        .route("/runs/{rid}/compare", get(compare::changes))
        .route("/runs/{rid}/failures", get(compare::failures))
        .route("/cases/{cid}", get(case::show))
        .route("/cases/{cid}/quarantine", post(case::quarantine))
        .route(
            "/cases/{cid}/release",
            get(case::confirm_release).post(case::release),
        )
        .route("/runs/{rid}/assign", post(assign::many))
        .route(
            "/runs/{rid}/results/{id}",
            get(results::detail).post(results::save),
        )
        .route("/runs/{rid}/results/{id}/assign", post(assign::one))
        // The body is bounded by `--max-attachment-bytes` as it is read
        // (`attachments::receive_multipart`), not by axum's 2 MB default.
        .route(
            "/runs/{rid}/results/{id}/attachments",
            post(attach::create).layer(DefaultBodyLimit::disable()),
        )
        .route("/runs/{rid}/results/{id}/output", get(files::whole_output))
        .route("/attachments/{aid}", get(files::show))
        .route("/attachments/{aid}/content", get(files::content))
        .route(
            "/attachments/{aid}/delete",
            get(attach::confirm_delete).post(attach::delete),
        )
        .route("/work", get(work::show))
        .route("/runs/{rid}/results/{id}/history", get(results::history))
        .route("/tokens", get(account::show).post(account::create_token))
        .route(
            "/tokens/{tid}/revoke",
            get(account::confirm_revoke_token).post(account::revoke_token),
        )
        .route("/password", post(account::change_password))
        .route("/assets/style.css", get(stylesheet))
        .route("/assets/app.js", get(script))
        .route("/favicon.ico", get(favicon))
        .route("/favicon.svg", get(favicon))
}

/// `/`: the projects for someone signed in, the sign-in page otherwise.
async fn home(session: Option<session::Session>) -> Redirect {
    match session {
        Some(_) => Redirect::to("/projects"),
        None => Redirect::to("/login"),
    }
}

const STYLE: &str = include_str!("assets/style.css");
const SCRIPT: &str = include_str!("assets/app.js");
const FAVICON: &str = include_str!("assets/favicon.svg");

/// A short digest of an asset: its URL carries it (`?v=…`), so a new
/// build's asset is a new URL and the old one may be cached for a year.
fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

static STYLE_URL: LazyLock<String> =
    LazyLock::new(|| format!("/assets/style.css?v={}", digest(STYLE)));
static SCRIPT_URL: LazyLock<String> =
    LazyLock::new(|| format!("/assets/app.js?v={}", digest(SCRIPT)));

pub fn style_url() -> &'static str {
    &STYLE_URL
}

pub fn script_url() -> &'static str {
    &SCRIPT_URL
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

/// The icon, an SVG, at `/favicon.svg` (which pages link) and at
/// `/favicon.ico`, where browsers look for one unasked. Cached for a day
/// only: its URLs carry no digest.
async fn favicon() -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("image/svg+xml"),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=86400"),
            ),
        ],
        FAVICON,
    )
        .into_response()
}

/// Whether a request prefers a page to JSON: its `Accept` names
/// `text/html` with a weight at least that of `application/json`. API
/// clients (which send no `Accept`, `*/*` or JSON) keep getting JSON.
pub fn wants_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let weight = |wanted: &str| -> f32 {
        accept
            .split(',')
            .filter_map(|item| {
                let mut parts = item.split(';');
                let kind = parts.next()?.trim();
                if !kind.eq_ignore_ascii_case(wanted) {
                    return None;
                }
                let q = parts
                    .filter_map(|p| p.trim().strip_prefix("q="))
                    .find_map(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                Some(q)
            })
            .fold(0.0, f32::max)
    };
    let html = weight("text/html");
    html > 0.0 && html >= weight("application/json")
}

/// Every path nothing else answers: for a browser, the "Not found" page
/// with the navigation (the signed-in header when there is a session);
/// for an API client, the API's JSON 404.
pub async fn not_found(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if !wants_html(&headers) {
        return ApiError::NotFound.into_response();
    }
    let session = session::current(&headers, &state).await;
    layout::error_page_for(
        session.as_ref(),
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no such page, or it belongs to a project you are not a member of.",
    )
}

/// Why a page could not be shown.
#[derive(Debug)]
pub enum WebError {
    /// No session, or it ended: go and sign in (then come back to `next`).
    SignIn { next: Option<String>, expired: bool },
    /// A form without the session's CSRF token: refused, nothing written.
    Csrf { json: bool },
    /// Shown as an HTML page with the status the API would answer.
    Page(ApiError),
    /// For the run page's script: the API's JSON error envelope.
    Json(ApiError),
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        WebError::Page(e)
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        WebError::Page(e.into())
    }
}

pub type WebResult<T> = Result<T, WebError>;

/// The status, heading and explanation of an error page.
fn describe(e: ApiError) -> (StatusCode, &'static str, String) {
    match e {
        ApiError::NotFound => (
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page, or it belongs to a project you are not a member of.".into(),
        ),
        ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, "Not allowed", m),
        ApiError::Conflict { message, .. } => (StatusCode::CONFLICT, "Cannot do that now", message),
        ApiError::Invalid(fields) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Please check what you entered",
            fields
                .iter()
                .map(|f| format!("{}: {}", layout::field_label(&f.field), f.message))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ApiError::Unavailable | ApiError::Timeout(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again shortly",
            "The database is busy or out of reach; nothing was lost. Try again in a moment.".into(),
        ),
        ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, "Too large", m),
        ApiError::UnsupportedMediaType(m) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "Not a form", m),
        ApiError::Internal(cause) => {
            tracing::error!(%cause, "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "An internal error happened; it has been logged.".into(),
            )
        }
        other => {
            let status = other.into_response().status();
            (status, "Cannot do that", "The request was refused.".into())
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::SignIn { next, expired } => {
                let mut target = String::from("/login");
                let mut sep = '?';
                if expired {
                    target.push_str("?expired=1");
                    sep = '&';
                }
                if let Some(next) = next.filter(|n| login::safe_next(n)) {
                    target.push(sep);
                    target.push_str("next=");
                    target.extend(form_urlencoded::byte_serialize(next.as_bytes()));
                }
                let mut response = Redirect::to(&target).into_response();
                if expired {
                    response
                        .headers_mut()
                        .insert(header::SET_COOKIE, session::clear_cookie());
                }
                response
            }
            WebError::Csrf { json: true } => ApiError::Forbidden(
                "this form did not come from your session; reload the page and try again".into(),
            )
            .into_response(),
            WebError::Csrf { json: false } => layout::error_page(
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form did not come from your current session (it may be from before you \
                 signed in again). Nothing was changed: go back, reload the page and try again.",
            ),
            WebError::Json(e) => e.into_response(),
            WebError::Page(e) => {
                let (status, title, message) = describe(e);
                layout::error_page(status, title, &message)
            }
        }
    }
}
