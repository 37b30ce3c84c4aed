//! Webhooks (managers of the project only): create (the secret is shown
//! once), list, show, change, delete, send a test ping, list delivery
//! attempts, redeliver an event.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use verdict_api as api;
use verdict_store::{
    EventType, FieldError, NewWebhook, Role, Timestamp, Webhook, WebhookFormat, WebhookId,
    WebhookPatch, Write, Written,
};

use crate::auth::{Caller, ensure};
use crate::dto::done;
use crate::error::ApiResult;
use crate::extract::{
    DeliveryPath, IdempotencyKeyHeader, JsonBody, NoQuery, PageQuery, ProjectPath, Query,
    WebhookPath,
};
use crate::idempotent::{self, Retry};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::routes::{listing, page_of};
use crate::state::AppState;

/// This module's routes, each registered with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(create, list))
        .routes(routes!(get_one, update, delete))
        .routes(routes!(test))
        .routes(routes!(deliveries))
        .routes(routes!(redeliver))
}

/// Longest webhook URL, in bytes.
const MAX_URL_BYTES: usize = 2048;

/// A webhook's URL: absolute http or https, and (unless private targets
/// are allowed) not naming a loopback, link-local, private or unspecified
/// address; names are resolved again at every send.
pub(crate) fn url(state: &AppState, raw: &str, errors: &mut Vec<FieldError>) -> String {
    let raw = raw.trim();
    if raw.len() > MAX_URL_BYTES {
        errors.push(FieldError::new(
            "url",
            format!("must be at most {MAX_URL_BYTES} bytes"),
        ));
        return raw.to_string();
    }
    match reqwest::Url::parse(raw) {
        Ok(u) if (u.scheme() == "http" || u.scheme() == "https") && u.host().is_some() => {
            if let Err(e) =
                crate::webhooks::send::check_url(raw, state.webhooks.config.allow_private)
            {
                errors.push(FieldError::new("url", e));
            }
        }
        _ => errors.push(FieldError::new(
            "url",
            "must be an absolute http or https URL",
        )),
    }
    raw.to_string()
}

pub(crate) fn events(raw: &[String], errors: &mut Vec<FieldError>) -> Vec<EventType> {
    let mut out = Vec::new();
    if raw.is_empty() {
        errors.push(FieldError::new(
            "events",
            "must name at least one of run.created, run.closed, results.recorded",
        ));
    }
    for (i, name) in raw.iter().enumerate() {
        match EventType::from_name(name).filter(|t| EventType::SUBSCRIBABLE.contains(t)) {
            Some(t) if !out.contains(&t) => out.push(t),
            Some(_) => {}
            None => errors.push(FieldError::new(
                format!("events[{i}]"),
                "must be run.created, run.closed or results.recorded",
            )),
        }
    }
    out.sort();
    out
}

pub(crate) fn format(raw: &str, errors: &mut Vec<FieldError>) -> WebhookFormat {
    WebhookFormat::from_name(raw).unwrap_or_else(|| {
        errors.push(FieldError::new("format", "must be standard or slack"));
        WebhookFormat::Standard
    })
}

/// `whsec_` and the base64 of 32 random bytes.
pub(crate) fn secret() -> ApiResult<String> {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| {
        crate::error::ApiError::Internal(format!("no randomness for a webhook secret: {e}"))
    })?;
    Ok(format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

pub(crate) fn webhook(w: &Webhook) -> api::Webhook {
    api::Webhook {
        id: w.id.to_string(),
        project_id: w.project_id.to_string(),
        url: w.url.clone(),
        events: w.events.iter().map(|e| e.name().to_string()).collect(),
        format: w.format.name().to_string(),
        active: w.active,
        created_at: w.created_at.to_string(),
    }
}

fn created(w: &Webhook) -> api::Data<api::NewWebhook> {
    api::Data {
        data: api::NewWebhook {
            webhook: webhook(w),
            secret: w.secret.clone(),
        },
    }
}

/// The webhook, when the caller manages its project (404 when they cannot
/// see the project, 403 when they can but do not manage it).
async fn managed(
    state: &AppState,
    caller: &Caller,
    id: WebhookId,
    action: &str,
) -> ApiResult<Webhook> {
    let w = state.store.get_webhook(id).await?;
    let role = caller.role_in_existing(state, w.project_id).await?;
    ensure(role, Role::Manager, action)?;
    Ok(w)
}

#[utoipa::path(
    post, path = "/v1/projects/{pid}/webhooks", tag = "webhooks", operation_id = "create_webhook",
    summary = "Add a webhook (manager; the secret is shown once)",
    description = "`url` must be an absolute http or https URL; targets on loopback, link-local, private or unspecified addresses are refused unless the server allows them (`--webhook-allow-private`). `events` names one or more of `run.created`, `run.closed`, `results.recorded`. Each delivery is signed with `secret` (Standard Webhooks), which this answer alone shows.",
    params(ProjectPath, IdempotencyKeyHeader),
    request_body = api::CreateWebhook,
    responses((status = 201, description = "Created; `secret` is shown only now.", body = NewWebhookData),
        Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    _: NoQuery,
    key: IdempotencyKeyHeader,
    OriginalUri(uri): OriginalUri,
    body: JsonBody<api::CreateWebhook>,
) -> ApiResult<Response> {
    caller
        .require(&state, project, Role::Manager, "manage webhooks")
        .await?;
    let retry = Retry::of(key, &Method::POST, &uri, &body.raw);
    let b = body.value;
    let mut errors = Vec::new();
    let new = NewWebhook {
        url: url(&state, &b.url, &mut errors),
        events: events(&b.events, &mut errors),
        format: format(&b.format, &mut errors),
        active: b.active.unwrap_or(true),
        secret: secret()?,
    };
    done(errors)?;
    if let Some(retry) = retry {
        // The answer (with its secret) is kept for the key's lifetime, so
        // a client that lost it gets the same secret back.
        let write = Write::CreateWebhook {
            project,
            webhook: new,
        };
        return idempotent::write(&state, &caller, retry, write, |w| match w {
            Written::Webhook(w) => Some((StatusCode::CREATED, Some(created(w)))),
            _ => None,
        })
        .await;
    }
    let w = state
        .store
        .create_webhook(project, new, Timestamp::now())
        .await?;
    Ok((StatusCode::CREATED, Json(created(&w))).into_response())
}

#[utoipa::path(
    get, path = "/v1/projects/{pid}/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    summary = "A project's webhooks (manager)",
    params(ProjectPath, PageQuery),
    responses((status = 200, description = "A page of webhooks, by id (never their secrets).", body = WebhookPage),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ProjectPath { pid: project }: ProjectPath,
    Query(paging): Query<PageQuery>,
) -> ApiResult<Json<api::Page<api::Webhook>>> {
    let page = paging.page();
    caller
        .require(&state, project, Role::Manager, "manage webhooks")
        .await?;
    let hooks = state.store.list_webhooks(project).await?;
    Ok(Json(page_of(hooks.iter().map(webhook).collect(), page)))
}

#[utoipa::path(
    get, path = "/v1/webhooks/{wid}", tag = "webhooks", operation_id = "get_webhook",
    summary = "One webhook (manager)",
    params(WebhookPath),
    responses((status = 200, description = "The webhook (never its secret).", body = WebhookData),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    WebhookPath { wid }: WebhookPath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<api::Webhook>>> {
    let w = managed(&state, &caller, wid, "manage webhooks").await?;
    Ok(Json(api::Data { data: webhook(&w) }))
}

#[utoipa::path(
    patch, path = "/v1/webhooks/{wid}", tag = "webhooks", operation_id = "update_webhook",
    summary = "Change a webhook's URL, events or format, or pause or resume it (manager)",
    description = "A field not given is left alone. Events already queued are delivered as they were queued; a paused webhook (`active: false`) is queued nothing new.",
    params(WebhookPath),
    request_body = api::UpdateWebhook,
    responses((status = 200, description = "The webhook as it now is.", body = WebhookData),
        Unauthorized, Forbidden, NotFound, JsonErrors),
)]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    WebhookPath { wid }: WebhookPath,
    _: NoQuery,
    body: JsonBody<api::UpdateWebhook>,
) -> ApiResult<Json<api::Data<api::Webhook>>> {
    managed(&state, &caller, wid, "manage webhooks").await?;
    let b = body.value;
    let mut errors = Vec::new();
    let patch = WebhookPatch {
        url: b.url.as_deref().map(|u| url(&state, u, &mut errors)),
        events: b.events.as_deref().map(|e| events(e, &mut errors)),
        format: b.format.as_deref().map(|f| format(f, &mut errors)),
        active: b.active,
    };
    done(errors)?;
    let w = state.store.update_webhook(wid, patch).await?;
    Ok(Json(api::Data { data: webhook(&w) }))
}

#[utoipa::path(
    delete, path = "/v1/webhooks/{wid}", tag = "webhooks", operation_id = "delete_webhook",
    summary = "Delete a webhook and its deliveries (manager)",
    params(WebhookPath),
    responses((status = 204, description = "Deleted; nothing more is sent to it."),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    WebhookPath { wid }: WebhookPath,
    _: NoQuery,
) -> ApiResult<StatusCode> {
    managed(&state, &caller, wid, "manage webhooks").await?;
    state.store.delete_webhook(wid).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn queued(event: verdict_store::EventId) -> Response {
    let body = api::Data {
        data: api::Queued {
            event_id: event.to_string(),
        },
    };
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

#[utoipa::path(
    post, path = "/v1/webhooks/{wid}/test", tag = "webhooks", operation_id = "test_webhook",
    summary = "Send the webhook a ping event (manager)",
    description = "Queues a `ping` event (data `{webhook_id}`) for this webhook only, paused or not; its attempts show in the deliveries.",
    params(WebhookPath),
    responses((status = 202, description = "Queued.", body = QueuedData),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn test(
    State(state): State<AppState>,
    caller: Caller,
    WebhookPath { wid }: WebhookPath,
    _: NoQuery,
) -> ApiResult<Response> {
    managed(&state, &caller, wid, "manage webhooks").await?;
    let event = state.store.queue_ping(wid, Timestamp::now()).await?;
    state.webhooks.wake();
    Ok(queued(event))
}

#[utoipa::path(
    get, path = "/v1/webhooks/{wid}/deliveries", tag = "webhooks", operation_id = "list_deliveries",
    summary = "A webhook's delivery attempts, newest first (manager)",
    params(WebhookPath, PageQuery),
    responses((status = 200, description = "A page of attempts.", body = DeliveryPage),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn deliveries(
    State(state): State<AppState>,
    caller: Caller,
    WebhookPath { wid }: WebhookPath,
    Query(paging): Query<PageQuery>,
) -> ApiResult<Json<api::Page<api::Delivery>>> {
    let page = paging.page();
    managed(&state, &caller, wid, "manage webhooks").await?;
    let found = state.store.list_deliveries(wid, page).await?;
    Ok(Json(listing(found, page, |d| api::Delivery {
        event_id: d.event_id.to_string(),
        event_type: d.event_type.clone(),
        attempt: d.attempt,
        status_code: d.status_code,
        error: d.error.clone(),
        duration_ms: d.duration_ms,
        at: d.at.to_string(),
        state: d.state.name().to_string(),
    })))
}

#[utoipa::path(
    post, path = "/v1/webhooks/{wid}/deliveries/{event_id}/redeliver", tag = "webhooks",
    operation_id = "redeliver_webhook_event",
    summary = "Send an event to the webhook again (manager)",
    description = "Queues the event for the webhook again, due now, delivered or failed or not: it is sent with the same `webhook-id` and body, retried for another 24 hours. An event never queued for this webhook is a 404.",
    params(DeliveryPath),
    responses((status = 202, description = "Queued.", body = QueuedData),
        Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    DeliveryPath { wid, event_id }: DeliveryPath,
    _: NoQuery,
) -> ApiResult<Response> {
    managed(&state, &caller, wid, "manage webhooks").await?;
    state
        .store
        .redeliver(wid, event_id, Timestamp::now())
        .await?;
    state.webhooks.wake();
    Ok(queued(event_id))
}
