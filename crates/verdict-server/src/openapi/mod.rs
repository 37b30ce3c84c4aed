//! The API described: an OpenAPI 3.1 document generated from the code, at
//! `GET /openapi.json`, and rendered for people at `GET /docs`.
//!
//! Each handler carries a `#[utoipa::path]` (its route, parameters, body,
//! answers and the errors it can return) and is registered once, with
//! `routes!` on an `OpenApiRouter` in its resource's module: that
//! registration makes both the route and the operation here. Its parameters
//! are the extractor types it reads (`crate::extract`), which describe
//! themselves. The wire types in `verdict-api` derive their schemas
//! (feature `openapi`). [`Finish`] adds what the layers
//! around every route do: the bearer scheme on operations that take a token
//! (those that can answer 401), the 429 and 503 of the rate limit and the
//! timeout, and PUT as the twin of PATCH on a result; and the links from
//! each create to the operations on what it created ([`links`]).
//!
//! The document is written for client generators as much as for people:
//! every body is a named component referenced with `$ref` ([`bodies`]), no
//! two schemas share a title, and `servers` is the relative `/`, so the
//! document describes the server that serves it, wherever that is.

pub mod bodies;
pub mod html;
pub mod links;
pub mod responses;
pub mod xml;

use std::sync::LazyLock;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;
use utoipa::openapi::OpenApi as Document;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use verdict_api::schema as s;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// The answer of a JUnit import: what it did, or with `dry_run=true` what
/// it would do.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum JunitAnswer {
    Import(verdict_api::JunitOutcome),
    DryRun(verdict_api::JunitDryRun),
}

/// What a handler's `#[utoipa::path]` needs besides its parameter sets
/// (the extractor types, in `crate::extract` or beside the handler): the
/// named bodies and the error markers.
pub mod prelude {
    pub use super::bodies::*;
    pub use super::responses::{
        BadRequest, Conflict, Forbidden, Invalid, JsonErrors, NotFound, RangeNotSatisfiable,
        TooLarge, Unauthorized, UnsupportedMediaType,
    };
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Verdict",
        description = "A self-hosted test results server. Every answer with a body is `{\"data\": …}` (lists add `meta`); every error is the `ErrorBody` envelope with the status code that fits. Send `Authorization: Bearer vdt_…` on everything but the operations marked as needing no token.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    servers((url = "/", description = "The server this document is served by.")),
    components(schemas(
        verdict_api::ErrorBody, s::UserId, s::TokenId, s::ProjectId, s::CaseId, s::RunId,
        s::ResultId, s::AttachmentId, s::RunState, s::BranchName, s::WebhookId, s::EventId,
    )),
    tags(
        (name = "results", description = "The Test Results API: list, read, record one, record many, import JUnit XML, history."),
        (name = "attachments", description = "Files kept with a result's execution (screenshots, logs): upload, list, download safely, delete."),
        (name = "runs", description = "Runs: one per build, release or manual test cycle, with live counts."),
        (name = "cases", description = "Test cases of a project; `key` is the automation key (`classname.name`)."),
        (name = "triage", description = "What changed since the baseline, failures by signature, the quality gate, flaky cases, durations, trends and a case across runs."),
        (name = "projects", description = "Projects and their members (viewer < tester < manager)."),
        (name = "users", description = "People; admins create them."),
        (name = "tokens", description = "API tokens; the secret is shown once."),
        (name = "webhooks", description = "Signed HTTP callbacks (Standard Webhooks) or Slack messages when runs are created or closed and results recorded; managers of the project only."),
        (name = "operations", description = "Liveness, readiness and metrics; no token needed."),
        (name = "documentation", description = "This document, as JSON and as HTML; no token needed."),
    ),
)]
struct ApiDoc;

/// The document's frame (info, servers, tags, shared schemas), into which
/// the registered routes put their operations.
pub(crate) fn base() -> Document {
    ApiDoc::openapi()
}

/// The documentation's own routes.
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(openapi_json))
        .routes(routes!(html::page))
        .routes(routes!(html::stylesheet))
}

/// The layers' contributions; see the module docs.
struct Finish;

impl utoipa::Modify for Finish {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.responses.extend(responses::components());
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("vdt_ and 64 hex digits")
                    .description(Some("An API token: `Authorization: Bearer vdt_…`."))
                    .build(),
            ),
        );
        for item in doc.paths.paths.values_mut() {
            for op in operations(item) {
                let secured = op.responses.responses.contains_key("401");
                op.security = Some(if secured {
                    vec![utoipa::openapi::security::SecurityRequirement::new::<
                        _,
                        [&str; 0],
                        &str,
                    >("bearer", [])]
                } else {
                    Vec::new()
                });
                for status in ["429", "503"] {
                    if let Some((code, response)) = responses::reference(status) {
                        op.responses.responses.entry(code).or_insert(response);
                    }
                }
                retried(op);
            }
        }
        // Before the PUT twin, which copies PATCH with its links.
        links::add(doc);
        // PUT on a result is accepted as the same as PATCH (API §3).
        if let Some(item) = doc.paths.paths.get_mut("/v1/runs/{rid}/results/{id}")
            && let Some(patch) = item.patch.clone()
        {
            let mut put = patch;
            put.operation_id = Some("replace_result".into());
            put.summary = Some("Record one execution (PUT, the same as PATCH)".into());
            item.put = Some(put);
        }
    }
}

/// A write that takes an `Idempotency-Key`: each success may be a replay
/// (`Idempotent-Replayed`), and a reused key is a 422.
fn retried(op: &mut utoipa::openapi::path::Operation) {
    let takes_key = op
        .parameters
        .iter()
        .flatten()
        .any(|p| matches!(p, utoipa::openapi::RefOr::T(p) if p.name == "Idempotency-Key"));
    if !takes_key {
        return;
    }
    let replayed: Option<utoipa::openapi::header::Header> = serde_json::from_value(serde_json::json!({
        "schema": { "type": "string" },
        "description": "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
    }))
    .ok();
    for (status, response) in op.responses.responses.iter_mut() {
        if let (true, utoipa::openapi::RefOr::T(response), Some(header)) =
            (status.starts_with('2'), response, &replayed)
        {
            response
                .headers
                .entry("Idempotent-Replayed".into())
                .or_insert_with(|| utoipa::openapi::RefOr::T(header.clone()));
        }
    }
    if let Some((code, response)) = responses::reference("422") {
        op.responses.responses.entry(code).or_insert(response);
    }
}

fn operations(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// The document, built once: the operations of the routes `build_router`
/// serves, finished by [`Finish`].
pub fn document() -> &'static Document {
    static DOC: LazyLock<Document> = LazyLock::new(|| {
        let mut doc = crate::api_router().into_openapi();
        utoipa::Modify::modify(&Finish, &mut doc);
        doc
    });
    &DOC
}

/// The document as served: pretty JSON, built once.
pub fn document_json() -> &'static str {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        serde_json::to_string_pretty(document())
            .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
    });
    &JSON
}

/// The OpenAPI document of this API.
#[utoipa::path(
    get, path = "/openapi.json", tag = "documentation", operation_id = "openapi",
    summary = "This document (OpenAPI 3.1)",
    responses((status = 200, description = "The OpenAPI 3.1 document, generated from the code.",
        content_type = "application/json", body = Object)),
)]
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
        .into_response()
}
