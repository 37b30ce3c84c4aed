//! Verdict's HTTP server: the v1 API over any [`Store`]. [`build_router`]
//! is a plain function, so tests drive the real router in-process;
//! [`serve`] runs it on a listener, within [`ConnectionLimits`], with
//! graceful shutdown.

pub mod attachments;
pub mod auth;
pub mod blobs;
mod checks;
pub mod client;
pub mod demo;
mod dto;
pub mod error;
mod execution;
pub mod export;
mod extract;
mod guard;
mod idempotent;
mod listener;
#[doc(hidden)] // public for the registry benchmark (verdict-bench)
pub mod metrics;
pub mod openapi;
pub mod retention;
mod routes;
mod state;
pub mod testrail;
pub mod web;
pub mod webhooks;

use std::future::Future;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa_axum::router::OpenApiRouter;
use verdict_store::{Bootstrap, Store, Timestamp};

pub use auth::{PUBLIC_TOKENS, Secret, TOKEN_PREFIX, hash_token};
pub use client::Cidr;
pub use error::ApiError;
pub use listener::ConnectionLimits;
pub use state::{AppState, Limits, SIGN_IN_ADDRESS_FACTOR, WebConfig};

use routes::{
    assignment, attachments as attachment_routes, cases, export as run_export, health, junit,
    passwords, projects, results, runs, setup, tokens, triage, users, webhooks as webhook_routes,
};

/// The documented routes: each handler registered once, in its resource's
/// module, with the OpenAPI operation it serves (`openapi::document` is
/// built from the same registration).
pub(crate) fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .merge(health::router())
        .merge(openapi::router())
        .merge(users::router())
        .merge(passwords::router())
        .merge(tokens::router())
        .merge(projects::router())
        .merge(cases::router())
        .merge(runs::router())
        .merge(results::router())
        .merge(attachment_routes::router())
        .merge(assignment::router())
        .merge(run_export::router())
        .merge(junit::router())
        .merge(triage::router())
        .merge(setup::router())
        .merge(webhook_routes::router())
}

/// Every route of the API.
pub fn build_router(state: AppState) -> Router {
    let cors = cors_layer(&state.limits.cors_origins);
    let router = Router::from(api_router())
        .merge(web::router())
        // TestRail API v2 (not part of the v1 OpenAPI document).
        .merge(testrail::router())
        .fallback(web::not_found)
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::timeout,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::rate_limit,
        ))
        .layer(middleware::from_fn(guard::security_headers));
    let router = match cors {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                ApiError::Internal("a handler panicked".into()).into_response()
            },
        ))
        .layer(middleware::from_fn_with_state(state.clone(), log_request))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                // `log_request` writes the one line per request.
                .on_request(())
                .on_response(())
                .on_body_chunk(())
                .on_eos(())
                .on_failure(()),
        )
        .with_state(state)
}

/// Browsers may call the API cross-origin only from configured origins.
fn cors_layer(origins: &[String]) -> Option<tower_http::cors::CorsLayer> {
    use axum::http::{HeaderName, HeaderValue, Method, header};
    use tower_http::cors::{AllowOrigin, CorsLayer};
    if origins.is_empty() {
        return None;
    }
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::CONTENT_ENCODING,
                HeaderName::from_static("idempotency-key"),
            ])
            .expose_headers([
                HeaderName::from_static("ratelimit-limit"),
                HeaderName::from_static("ratelimit-remaining"),
                HeaderName::from_static("ratelimit-reset"),
                HeaderName::from_static("idempotent-replayed"),
            ]),
    )
}

/// The matched route of a request (its template, never the raw path,
/// which may hold ids).
fn matched_route(req: &Request) -> &str {
    req.extensions()
        .get::<MatchedPath>()
        .map_or("(no route)", MatchedPath::as_str)
}

/// The span a request runs in, so what it does (store calls, their SQL)
/// nests under it: method and matched route only (never the raw path;
/// never headers, which hold tokens).
fn request_span(req: &Request) -> tracing::Span {
    tracing::info_span!(
        target: "verdict::http",
        "request",
        method = %req.method(),
        route = matched_route(req),
    )
}

/// One line per request: method, matched route (never the raw path, which
/// may hold ids; never headers, which hold tokens), status and latency;
/// and the per-route metrics. Outside the guards, so their answers (429,
/// 503 `timeout`) and a panic's 500 are logged and counted too.
async fn log_request(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    // A clone of the matched route is a reference count, not a copy.
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let route = matched.as_ref().map_or("(no route)", MatchedPath::as_str);
    let start = Instant::now();
    let writing = (method != axum::http::Method::GET && method != axum::http::Method::HEAD)
        .then(|| state.webhooks.writing());
    let response = next.run(req).await;
    drop(writing);
    let elapsed = start.elapsed();
    // A write may have queued webhook events (run created or closed,
    // results recorded): the delivery worker sends them at once.
    if method != axum::http::Method::GET && response.status().is_success() {
        state.webhooks.wake();
    }
    let latency_us = elapsed.as_micros() as u64;
    state
        .metrics
        .observe(route, method.as_str(), response.status().as_u16(), elapsed);
    tracing::info!(
        target: "verdict::http",
        %method,
        route,
        status = response.status().as_u16(),
        latency_us,
        "request"
    );
    response
}

/// Makes sure the database has an admin (API §5). Returns the secret of
/// a freshly created admin token when one was made for an empty database;
/// the caller prints it once.
///
/// A token given as `admin_token` is valid only while starts give it: a
/// start without it (or with another) revokes it first, and so is any
/// token of [`PUBLIC_TOKENS`] this start does not give. Each revocation is
/// logged.
pub async fn bootstrap(
    store: &dyn Store,
    admin_token: Option<&str>,
) -> Result<Option<Secret>, String> {
    let given = match admin_token {
        Some(t) => {
            if !t.starts_with(TOKEN_PREFIX) || t.len() < TOKEN_PREFIX.len() + 16 {
                return Err(format!(
                    "VERDICT_ADMIN_TOKEN must start with {TOKEN_PREFIX} and have at least 16 characters after it"
                ));
            }
            Some(hash_token(t))
        }
        None => None,
    };
    let public = PUBLIC_TOKENS.iter().map(|t| hash_token(t)).collect();
    let revoked = store
        .revoke_start_tokens(given.clone(), public)
        .await
        .map_err(|e| format!("bootstrap failed: {e}"))?;
    if revoked > 0 {
        let why = if given.is_some() {
            "this start gives another one"
        } else {
            "this start is without it"
        };
        tracing::warn!(
            revoked,
            "revoked the admin token given by VERDICT_ADMIN_TOKEN at an earlier start: {why}"
        );
    }
    let fresh = Secret::generate().map_err(|e| format!("{e:?}"))?;
    let outcome = store
        .bootstrap_admin(given.clone(), fresh.hash(), Timestamp::now())
        .await
        .map_err(|e| format!("bootstrap failed: {e}"))?;
    Ok(match outcome {
        Bootstrap::CreatedAdmin(_) if given.is_none() => Some(fresh),
        _ => None,
    })
}

/// Refuses an admin token published in the README ([`PUBLIC_TOKENS`]) when
/// `listen` (host:port, as `--listen` takes it) reaches beyond loopback:
/// anyone who read the README would be an admin of this server.
pub async fn check_admin_token_exposure(
    admin_token: Option<&str>,
    listen: &str,
) -> Result<(), String> {
    let Some(token) = admin_token.filter(|t| PUBLIC_TOKENS.contains(t)) else {
        return Ok(());
    };
    // An address that does not resolve fails at bind, with its own message.
    let Ok(addrs) = tokio::net::lookup_host(listen).await else {
        return Ok(());
    };
    match addrs.map(|a| a.ip()).all(|ip| ip.is_loopback()) {
        true => Ok(()),
        false => Err(format!(
            "VERDICT_ADMIN_TOKEN is {token}, the README's quick-start token that anyone can read, \
             and --listen {listen} is reachable from other machines; \
             set VERDICT_ADMIN_TOKEN to a secret of your own (or leave it unset for a printed one), \
             or listen on 127.0.0.1"
        )),
    }
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
/// Handlers may extract the client's `ConnectInfo<SocketAddr>`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // The accept loop puts the peer's address on each request
    // (`ConnectInfo`), for the limits kept per client.
    let metrics = std::sync::Arc::clone(&state.metrics);
    listener::run(listener, build_router(state), limits, metrics, shutdown).await
}
