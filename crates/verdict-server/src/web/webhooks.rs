//! Webhooks in the browser, for a project's managers (as in the API):
//! `/projects/:pid/webhooks` lists them and adds one; `/webhooks/:wid`
//! shows one with its recent delivery attempts, and its forms send a test
//! ping, pause or resume it, redeliver an event, and delete it (after a
//! confirmation page).
//!
//! The secret of a new webhook is shown once, on the page the creating
//! form redirects to (post → redirect → get, so reloading never creates a
//! second webhook). It travels like the account page's new token: a
//! one-time cookie ([`SECRET_COOKIE`]; HttpOnly, SameSite=Strict, scoped to
//! the webhook's own page, a minute's life, Secure when sessions are)
//! cleared by the page that shows it, and shown only when it is the secret
//! of the webhook that page is about.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use verdict_store::{
    DeliveryAttempt, EventType, FieldError, NewWebhook, Page, ProjectId, Role, Timestamp, Webhook,
    WebhookFormat, WebhookId, WebhookPatch,
};

use super::layout::{page, pager_of, respond, time};
use super::projects::page_number;
use super::session::{Session, SessionForm, cookie};
use super::setup::{Notice, notice, notice_markup, problems, redirect_notice, shown};
use super::{WebError, WebResult};
use crate::auth::ensure;
use crate::error::ApiError;
use crate::extract::{DeliveryPath, ProjectPath, WebQuery, WebhookPath};
use crate::routes::webhooks as api_checks;
use crate::state::{AppState, WebConfig};

const MANAGE: &str = "manage webhooks";
/// The cookie carrying a new webhook's secret to its page.
pub const SECRET_COOKIE: &str = "verdict_webhook_secret";
/// Delivery attempts per page of a webhook's page.
const DELIVERIES_PER_PAGE: u32 = 25;

/// What the add form holds when it was refused.
#[derive(Debug, Default)]
struct AddForm {
    url: String,
    events: Vec<String>,
    format: String,
    errors: Vec<FieldError>,
}

/// GET /projects/:pid/webhooks (manager)
pub async fn list(
    State(state): State<AppState>,
    session: Session,
    path: Result<ProjectPath, ApiError>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let ProjectPath { pid } = path?;
    session
        .caller()
        .require(&state, pid, Role::Manager, MANAGE)
        .await?;
    let notice = notice(&headers);
    let form = AddForm {
        events: EventType::SUBSCRIBABLE
            .iter()
            .map(|t| t.name().to_string())
            .collect(),
        format: WebhookFormat::Standard.name().into(),
        ..AddForm::default()
    };
    let response = render_list(&state, &session, pid, &form, notice, StatusCode::OK).await?;
    Ok(shown(response, notice))
}

fn crumbs(pid: ProjectId, project: &str, webhooks: bool) -> Markup {
    html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (pid) } { (project) } " › "
            @if webhooks { a href={ "/projects/" (pid) "/webhooks" } { "Webhooks" } " › " }
        }
    }
}

fn event_words(t: EventType) -> &'static str {
    match t {
        EventType::RunCreated => "a run is created",
        EventType::RunClosed => "a run is closed",
        EventType::ResultsRecorded => "results are recorded (each upload, import or change)",
        EventType::Ping => "a test ping",
    }
}

fn format_words(f: WebhookFormat) -> &'static str {
    match f {
        WebhookFormat::Standard => "Standard Webhooks (JSON: type, timestamp, data)",
        WebhookFormat::Slack => "Slack incoming webhook (a message)",
    }
}

fn events_text(w: &Webhook) -> String {
    w.events
        .iter()
        .map(|e| e.name())
        .collect::<Vec<_>>()
        .join(", ")
}

async fn render_list(
    state: &AppState,
    session: &Session,
    pid: ProjectId,
    form: &AddForm,
    notice: Option<Notice>,
    status: StatusCode,
) -> WebResult<Response> {
    let project = state.store.get_project(pid).await?;
    let hooks = state.store.list_webhooks(pid).await?;
    let main = html! {
        (crumbs(pid, &project.name, false))
        h1 { "Webhooks of " (project.name) }
        (notice_markup(notice))
        p { "Verdict tells other systems (a chat, a CI, a dashboard) when runs are created or closed and when results are recorded. "
            "Every delivery is signed (Standard Webhooks) with the webhook's secret, and retried for a day until the receiver answers 2xx." }
        section.setup aria-labelledby="webhooks-heading" {
            h2 #webhooks-heading { "Webhooks " span.count { "(" (hooks.len()) ")" } }
            @if hooks.is_empty() {
                p { "No webhook yet: add one below." }
            } @else {
                div.scroll {
                    table.list.webhooks {
                        caption.sr-only { "Webhooks of " (project.name) }
                        thead { tr {
                            th scope="col" { "URL" } th scope="col" { "Events" }
                            th scope="col" { "Format" } th scope="col" { "State" }
                        } }
                        tbody {
                            @for w in &hooks {
                                tr {
                                    td.name { a href={ "/webhooks/" (w.id) } { (w.url) } }
                                    td data-label="Events" { (events_text(w)) }
                                    td data-label="Format" { (w.format.name()) }
                                    td data-label="State" { @if w.active { "active" } @else { "paused" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.setup aria-labelledby="add-webhook-heading" {
            h2 #add-webhook-heading { "Add a webhook" }
            (problems(&form.errors))
            form.stacked method="post" action={ "/projects/" (pid) "/webhooks" } {
                input type="hidden" name="csrf" value=(session.csrf);
                label for="webhook-url" { "URL" }
                input #webhook-url type="url" name="url" required maxlength="2048" value=(form.url)
                    placeholder="https://hooks.example.com/verdict" aria-describedby="webhook-url-hint";
                span.hint #webhook-url-hint { "Where each event is posted (http or https)." }
                fieldset {
                    legend { "Events" }
                    @for t in EventType::SUBSCRIBABLE {
                        label.choice {
                            input type="checkbox" name="events" value=(t.name())
                                checked[form.events.iter().any(|e| e == t.name())];
                            " " code { (t.name()) } ": " (event_words(t))
                        }
                    }
                }
                label for="webhook-format" { "Format" }
                select #webhook-format name="format" {
                    @for f in [WebhookFormat::Standard, WebhookFormat::Slack] {
                        option value=(f.name()) selected[form.format == f.name()] { (format_words(f)) }
                    }
                }
                button.primary type="submit" { "Add webhook" }
            }
            p.small { "Its secret is shown once, on the next page: copy it into the receiver to verify signatures." }
        }
    };
    Ok(respond(
        status,
        page(
            &format!("Webhooks of {}", project.name),
            Some(session),
            main,
        ),
    ))
}

/// POST /projects/:pid/webhooks (`url`, `events` (each), `format`; manager)
pub async fn create(
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
    let entered = AddForm {
        url: form.text("url"),
        events: form.all("events").map(str::to_string).collect(),
        format: form.text("format"),
        errors: Vec::new(),
    };
    let mut errors = Vec::new();
    let new = NewWebhook {
        url: api_checks::url(&state, &entered.url, &mut errors),
        events: api_checks::events(&entered.events, &mut errors),
        format: api_checks::format(&entered.format, &mut errors),
        active: true,
        secret: api_checks::secret()?,
    };
    if !errors.is_empty() {
        let entered = AddForm { errors, ..entered };
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return render_list(&state, session, pid, &entered, None, status).await;
    }
    let w = state
        .store
        .create_webhook(pid, new, Timestamp::now())
        .await?;
    Ok(redirect_secret(&w, &state.web))
}

/// The redirect to a new webhook's page, carrying its secret.
fn redirect_secret(w: &Webhook, config: &WebConfig) -> Response {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let to = format!("/webhooks/{}", w.id);
    let value = format!(
        "{SECRET_COOKIE}={}:{}; Path={to}; HttpOnly; SameSite=Strict; Max-Age=60{secure}",
        w.id, w.secret
    );
    let mut response = Redirect::to(&to).into_response();
    // Secrets are `whsec_` and base64: a valid header value; should one
    // not be, the page just does not show it.
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The secret the cookie carries for this webhook, if any.
fn secret_for(headers: &HeaderMap, w: &Webhook) -> Option<String> {
    let value = cookie(headers, SECRET_COOKIE)?;
    let (id, secret) = value.split_once(':')?;
    (id.parse::<WebhookId>().ok()? == w.id && secret == w.secret).then(|| secret.to_string())
}

/// The webhook a path names, for a manager of its project.
async fn managed(
    state: &AppState,
    session: &Session,
    path: Result<WebhookPath, ApiError>,
) -> WebResult<Webhook> {
    let WebhookPath { wid } = path?;
    let w = state.store.get_webhook(wid).await?;
    let role = session
        .caller()
        .role_in_existing(state, w.project_id)
        .await?;
    ensure(role, Role::Manager, MANAGE).map_err(WebError::Page)?;
    Ok(w)
}

/// GET /webhooks/:wid (`page` of the deliveries; manager)
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    path: Result<WebhookPath, ApiError>,
    headers: HeaderMap,
    mut q: WebQuery,
) -> WebResult<Response> {
    let w = managed(&state, &session, path).await?;
    let page_no = page_number(&mut q, "page");
    let project = state.store.get_project(w.project_id).await?;
    let deliveries = state
        .store
        .list_deliveries(
            w.id,
            Page {
                page: page_no,
                per_page: DELIVERIES_PER_PAGE,
            },
        )
        .await?;
    let notice = notice(&headers);
    let secret = secret_for(&headers, &w);
    let wid = w.id;
    let main = html! {
        (crumbs(w.project_id, &project.name, true))
        h1 { "Webhook " (w.url) }
        (notice_markup(notice))
        @if let Some(s) = &secret {
            div.notice.secret role="status" {
                p { "The webhook was added. Its signing secret — copy it now, it is not shown again:" }
                p { code #webhook-secret { (s) } }
                p.small { "Receivers check each delivery's " code { "webhook-signature" }
                    " with it (any Standard Webhooks library does)." }
            }
        }
        dl.case-fields {
            div { dt { "URL" } dd { code { (w.url) } } }
            div { dt { "Events" } dd { (events_text(&w)) } }
            div { dt { "Format" } dd { (format_words(w.format)) } }
            div { dt { "State" } dd { @if w.active { "active" } @else { "paused: nothing new is queued for it" } } }
            div { dt { "Added" } dd { (time(w.created_at)) } }
        }
        div.form-actions {
            form.inline method="post" action={ "/webhooks/" (wid) "/test" } {
                input type="hidden" name="csrf" value=(session.csrf);
                button type="submit" { "Send a test ping" }
            }
            " "
            form.inline method="post" action={ "/webhooks/" (wid) "/active" } {
                input type="hidden" name="csrf" value=(session.csrf);
                @if w.active {
                    input type="hidden" name="active" value="no";
                    button type="submit" { "Pause" }
                } @else {
                    input type="hidden" name="active" value="yes";
                    button type="submit" { "Resume" }
                }
            }
            " "
            a href={ "/webhooks/" (wid) "/delete" } { "Delete…" }
        }
        section aria-labelledby="deliveries-heading" {
            h2 #deliveries-heading { "Recent deliveries " span.count { "(" (deliveries.total) ")" } }
            @if deliveries.items.is_empty() {
                p { "Nothing sent yet. “Send a test ping” shows here within seconds." }
            } @else {
                div.scroll {
                    table.list.deliveries {
                        caption.sr-only { "Delivery attempts, newest first" }
                        thead { tr {
                            th scope="col" { "Time" } th scope="col" { "Event" } th scope="col" { "Type" }
                            th scope="col" { "Attempt" } th scope="col" { "Answer" } th scope="col" { "Error" }
                            th scope="col" { "Duration" } th scope="col" { span.sr-only { "Actions" } }
                        } }
                        tbody {
                            @for (i, d) in deliveries.items.iter().enumerate() {
                                // One redeliver button per event: on its newest attempt.
                                @let first = !deliveries.items[..i].iter().any(|o| o.event_id == d.event_id);
                                (delivery_row(wid, d, first, &session))
                            }
                        }
                    }
                }
                (pager_of("Pages of deliveries", page_no, DELIVERIES_PER_PAGE, deliveries.total,
                    |p| format!("/webhooks/{wid}?page={p}")))
            }
        }
    };
    let response = respond(
        StatusCode::OK,
        page(&format!("Webhook {}", w.url), Some(&session), main),
    );
    let mut response = shown(response, notice);
    if secret.is_some() {
        let clear =
            format!("{SECRET_COOKIE}=; Path=/webhooks/{wid}; HttpOnly; SameSite=Strict; Max-Age=0");
        if let Ok(v) = HeaderValue::from_str(&clear) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

fn delivery_row(wid: WebhookId, d: &DeliveryAttempt, first: bool, session: &Session) -> Markup {
    html! {
        tr {
            td.name { (time(d.at)) }
            td data-label="Event" { code { (d.event_id) } }
            td data-label="Type" { (d.event_type) }
            td data-label="Attempt" { (d.attempt) }
            td data-label="Answer" { @match d.status_code { Some(c) => (c), None => "none" } }
            td data-label="Error" { (d.error.as_deref().unwrap_or("")) }
            td data-label="Duration" { (d.duration_ms) " ms" }
            td.actions {
                @if first {
                    form.inline method="post" action={ "/webhooks/" (wid) "/deliveries/" (d.event_id) "/redeliver" } {
                        input type="hidden" name="csrf" value=(session.csrf);
                        button type="submit" aria-label={ "Redeliver event " (d.event_id) } { "Redeliver" }
                    }
                }
            }
        }
    }
}

/// POST /webhooks/:wid/test (manager): queues a ping.
pub async fn test(
    State(state): State<AppState>,
    path: Result<WebhookPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let w = managed(&state, &posted.session, path).await?;
    state.store.queue_ping(w.id, Timestamp::now()).await?;
    state.webhooks.wake();
    Ok(redirect_notice(
        &format!("/webhooks/{}", w.id),
        Notice::PingQueued,
        &state.web,
    ))
}

/// POST /webhooks/:wid/active (`active`: `yes` or `no`; manager)
pub async fn set_active(
    State(state): State<AppState>,
    path: Result<WebhookPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let w = managed(&state, &posted.session, path).await?;
    let active = match posted.form.text("active").as_str() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(WebError::Page(ApiError::invalid(
                "active",
                "must be yes or no",
            )));
        }
    };
    let patch = WebhookPatch {
        active: Some(active),
        ..WebhookPatch::default()
    };
    state.store.update_webhook(w.id, patch).await?;
    let notice = if active {
        Notice::WebhookResumed
    } else {
        Notice::WebhookPaused
    };
    Ok(redirect_notice(
        &format!("/webhooks/{}", w.id),
        notice,
        &state.web,
    ))
}

/// POST /webhooks/:wid/deliveries/:event_id/redeliver (manager)
pub async fn redeliver(
    State(state): State<AppState>,
    path: Result<DeliveryPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let DeliveryPath { wid, event_id } = path?;
    let w = managed(&state, &posted.session, Ok(WebhookPath { wid })).await?;
    state
        .store
        .redeliver(w.id, event_id, Timestamp::now())
        .await?;
    state.webhooks.wake();
    Ok(redirect_notice(
        &format!("/webhooks/{}", w.id),
        Notice::RedeliveryQueued,
        &state.web,
    ))
}

/// GET /webhooks/:wid/delete: the confirmation page (manager).
pub async fn confirm_delete(
    State(state): State<AppState>,
    session: Session,
    path: Result<WebhookPath, ApiError>,
) -> WebResult<Response> {
    let w = managed(&state, &session, path).await?;
    let project = state.store.get_project(w.project_id).await?;
    let main = html! {
        (crumbs(w.project_id, &project.name, true))
        h1 { "Delete the webhook " (w.url) "?" }
        p { "Nothing more is sent to it, and its deliveries are forgotten. This cannot be undone; to stop it for a while, pause it instead." }
        form.confirm method="post" action={ "/webhooks/" (w.id) "/delete" } {
            input type="hidden" name="csrf" value=(session.csrf);
            button.danger type="submit" { "Yes, delete the webhook" }
            " "
            a href={ "/webhooks/" (w.id) } { "Cancel" }
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("Delete the webhook", Some(&session), main),
    ))
}

/// POST /webhooks/:wid/delete (manager)
pub async fn delete(
    State(state): State<AppState>,
    path: Result<WebhookPath, ApiError>,
    posted: SessionForm,
) -> WebResult<Response> {
    let w = managed(&state, &posted.session, path).await?;
    state.store.delete_webhook(w.id).await?;
    Ok(redirect_notice(
        &format!("/projects/{}/webhooks", w.project_id),
        Notice::WebhookDeleted,
        &state.web,
    ))
}
