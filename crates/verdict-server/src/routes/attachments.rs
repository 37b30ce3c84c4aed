//! Attachments (API §12): files kept with a result's latest execution —
//! upload (a raw body or multipart), list, one, its bytes, delete. The
//! receiving, storing and safe serving are in [`crate::attachments`],
//! shared with the web UI.

use axum::Json;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;
use verdict_api as api;
use verdict_store::{Role, RunState};

use crate::attachments::{self as files, MULTIPART_OVERHEAD};
use crate::auth::{Caller, ensure};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AttachmentPath, NoQuery, Query, QuerySet, ResultPath};
#[allow(unused_imports)]
use crate::openapi::prelude::*;
use crate::state::AppState;

/// This module's routes. The upload reads its body as a stream within
/// `--max-attachment-bytes`, so axum's default body limit is off for it
/// (and `guard::timeout` leaves it alone; see `guard::UNTIMED`).
pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::default()
        .routes(routes!(upload, list).layer(axum::extract::DefaultBodyLimit::disable()))
        .routes(routes!(get_one, delete))
        .routes(routes!(content))
}

const ATTACH: &str = "attach files";
const DELETE: &str = "delete this attachment (a manager's, or its uploader's)";

/// `?name=` of a raw upload.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// The file's name, for a raw body (required then); a multipart part's `filename` names it instead.
    #[serde(default)]
    #[param(value_type = Option<verdict_api::schema::AttachmentName>)]
    name: Option<String>,
}

impl QuerySet for UploadQuery {}

/// The raw body of an upload, as documented.
pub struct RawFile;

impl utoipa::PartialSchema for RawFile {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        verdict_api::schema::schema(serde_json::json!({
            "type": "string",
            "format": "binary",
            "description": "The file's bytes; its type is the request's `Content-Type`.",
        }))
    }
}

impl utoipa::ToSchema for RawFile {}

/// A multipart upload, as documented.
pub struct UploadForm;

impl utoipa::PartialSchema for UploadForm {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        verdict_api::schema::schema(serde_json::json!({
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "array",
                    "minItems": 1,
                    "items": { "type": "string", "format": "binary" },
                    "description": "One part per file, each with a `filename` (its name) and its own `Content-Type` (default `application/octet-stream`).",
                },
            },
        }))
    }
}

impl utoipa::ToSchema for UploadForm {}

fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("multipart/form-data"))
}

#[utoipa::path(
    post, path = "/v1/runs/{rid}/results/{id}/attachments", tag = "attachments", operation_id = "upload_attachments",
    summary = "Attach files to a result (tester)",
    description = "Attached to the result's latest execution. Either the raw body, with `?name=` and its own `Content-Type` (any MIME type; none is `application/octet-stream`), or `multipart/form-data` with one or more parts named `file`, each with a `filename`. All files of one request together may have at most `--max-attachment-bytes` (256 MiB by default): beyond, 413 and nothing is stored. The same name and bytes already on that execution answer the existing attachment (a retried upload adds nothing). Names: any Unicode, at most 255 bytes, no `/`, `\\` or control characters. A closed run takes no attachments (409 `run_closed`). The upload is streamed to storage (never held in memory) and is not bound by the request timeout, only cut when no byte arrives for as long.",
    params(ResultPath, UploadQuery),
    request_body(description = "The file (raw), or `file` parts (multipart).", content(
        (RawFile = "application/octet-stream"),
        (UploadForm = "multipart/form-data"),
    )),
    responses((status = 201, description = "The attachments, in request order.", body = AttachmentList),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Invalid),
)]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    ResultPath { rid: run, id }: ResultPath,
    Query(UploadQuery { name }): Query<UploadQuery>,
    req: Request,
) -> ApiResult<Response> {
    let (found, role) = caller.run(&state, run).await?;
    ensure(role, Role::Tester, ATTACH)?;
    if found.state == RunState::Closed {
        return Err(ApiError::Conflict {
            code: "run_closed",
            message: "the run is closed: it takes no attachments".into(),
        });
    }
    // An unknown result is a 404 before any byte is read.
    state.store.list_attachments(run, id).await?;
    let headers = req.headers().clone();
    if let Some(encoding) = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|e| !e.eq_ignore_ascii_case("identity"))
    {
        return Err(ApiError::UnsupportedMediaType(format!(
            "content encoding {encoding:?} is not taken for attachments: send the bytes as they are"
        )));
    }
    let incoming = if is_multipart(&headers) {
        if name.is_some() {
            return Err(ApiError::invalid(
                "name",
                "only for a raw body: a multipart part's filename names it",
            ));
        }
        files::check_length(&state, &headers, MULTIPART_OVERHEAD)?;
        let limit = state
            .limits
            .max_attachment_bytes
            .saturating_add(MULTIPART_OVERHEAD);
        let (parts, body) = req.into_parts();
        let limited = axum::body::Body::new(http_body_util::Limited::new(
            body,
            usize::try_from(limit).unwrap_or(usize::MAX),
        ));
        let multipart = Multipart::from_request(Request::from_parts(parts, limited), &state)
            .await
            .map_err(|e| ApiError::Malformed(format!("not a multipart body: {}", e.body_text())))?;
        let received = files::receive_multipart(&state, multipart).await?;
        if let Some((field, _)) = received.fields.first() {
            return Err(ApiError::invalid(
                field.clone(),
                "unknown part: send files as parts named file",
            ));
        }
        if received.files.is_empty() {
            return Err(ApiError::invalid(
                "file",
                "send at least one part named file",
            ));
        }
        received.files
    } else {
        let Some(name) = name else {
            return Err(ApiError::invalid(
                "name",
                "required with a raw body (or send multipart/form-data with file parts)",
            ));
        };
        files::check_length(&state, &headers, 0)?;
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().map(str::to_string))
            .transpose()
            .map_err(|_| ApiError::invalid("Content-Type", "must be a MIME type"))?;
        vec![files::receive_raw(&state, name, content_type, req.into_body()).await?]
    };
    let attached = files::attach(&state, run, id, incoming, caller.user.id).await?;
    Ok((
        StatusCode::CREATED,
        Json(api::Data {
            data: attached.iter().map(dto::attachment).collect::<Vec<_>>(),
        }),
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/v1/runs/{rid}/results/{id}/attachments", tag = "attachments", operation_id = "list_attachments",
    summary = "A result's attachments, by id",
    description = "Every attachment of every execution of the result (`execution` says which).",
    params(ResultPath),
    responses((status = 200, description = "The attachments.", body = AttachmentList),
        Unauthorized, NotFound, Invalid),
)]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ResultPath { rid: run, id }: ResultPath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<Vec<api::Attachment>>>> {
    caller.run(&state, run).await?;
    let found = state.store.list_attachments(run, id).await?;
    Ok(Json(api::Data {
        data: found.iter().map(dto::attachment).collect(),
    }))
}

/// An attachment the caller may see, with the caller's role in its project.
async fn visible(
    state: &AppState,
    caller: &Caller,
    id: verdict_store::AttachmentId,
) -> ApiResult<(verdict_store::Attachment, Role)> {
    let found = state.store.get_attachment(id).await?;
    let role = caller.role_in_existing(state, found.project_id).await?;
    Ok((found, role))
}

#[utoipa::path(
    get, path = "/v1/attachments/{aid}", tag = "attachments", operation_id = "get_attachment",
    summary = "One attachment",
    params(AttachmentPath),
    responses((status = 200, description = "The attachment.", body = AttachmentData),
        Unauthorized, NotFound, Invalid),
)]
pub async fn get_one(
    State(state): State<AppState>,
    caller: Caller,
    AttachmentPath { aid }: AttachmentPath,
    _: NoQuery,
) -> ApiResult<Json<api::Data<api::Attachment>>> {
    let (found, _) = visible(&state, &caller, aid).await?;
    Ok(Json(api::Data {
        data: dto::attachment(&found),
    }))
}

#[utoipa::path(
    delete, path = "/v1/attachments/{aid}", tag = "attachments", operation_id = "delete_attachment",
    summary = "Delete an attachment (manager, or its uploader)",
    description = "A manager may delete any attachment of the project; a tester their own. Allowed in a closed run (to free space). The bytes are freed by the next prune once no attachment names them.",
    params(AttachmentPath),
    responses((status = 204, description = "Deleted."), Unauthorized, Forbidden, NotFound, Invalid),
)]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    AttachmentPath { aid }: AttachmentPath,
    _: NoQuery,
) -> ApiResult<StatusCode> {
    let (found, role) = visible(&state, &caller, aid).await?;
    let own = found.created_by == caller.user.id && role >= Role::Tester;
    if !own {
        ensure(role, Role::Manager, DELETE)?;
    }
    state.store.delete_attachment(aid).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/v1/attachments/{aid}/content", tag = "attachments", operation_id = "get_attachment_content",
    summary = "An attachment's bytes",
    description = "With its `Content-Type`, `ETag` (the quoted sha256; `If-None-Match` answers 304), and one `Range: bytes=` range (206 with `Content-Range`; outside the file 416; several ranges are answered whole). Always `X-Content-Type-Options: nosniff` and `Content-Security-Policy: sandbox`; `Content-Disposition` is `inline` only for PNG, JPEG, GIF, WebP and plain text, `attachment` for everything else (HTML and SVG included), with the name as `filename*`.",
    params(AttachmentPath,
        ("Range" = Option<String>, Header, description = "One range, `bytes=0-1023`, `bytes=1024-` or `bytes=-500`."),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of a copy the client has.")),
    responses(
        (status = 200, description = "The bytes, with the type they were uploaded with.", content_type = "*/*", body = RawFile,
            headers(("ETag" = String, description = "The quoted sha256."),
                ("Content-Disposition" = String, description = "`inline` or `attachment`, with the name."))),
        (status = 206, description = "The range asked for.", content_type = "*/*", body = RawFile,
            headers(("Content-Range" = String, description = "`bytes first-last/size`."))),
        (status = 304, description = "Not modified: the `If-None-Match` ETag is this file's."),
        RangeNotSatisfiable, Unauthorized, NotFound, Invalid),
)]
pub async fn content(
    State(state): State<AppState>,
    caller: Caller,
    AttachmentPath { aid }: AttachmentPath,
    _: NoQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (found, _) = visible(&state, &caller, aid).await?;
    Ok(files::content(&state, &found, &headers).await)
}
