//! Receiving, storing and serving attachments, shared by the API and the
//! web UI: bodies are spooled to disk while hashed (never held in memory),
//! stored in [`crate::blobs::Blobs`] before their rows are committed, and
//! served with headers that never let a browser render them as a page.

use axum::body::Body;
use axum::extract::Multipart;
use axum::http::HeaderMap;
use axum::response::Response;
use verdict_store::{Attachment, ResultId, RunId, UserId};

use crate::error::ApiResult;
use crate::state::AppState;

/// A received file: spooled, measured and hashed, not stored yet. The
/// spool file is deleted when this is dropped.
#[derive(Debug)]
pub struct Incoming {
    pub name: String,
    pub content_type: String,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
    pub spooled: tempfile::TempPath,
}

/// What a multipart body held: its `file` parts, and its other (small,
/// text) fields for the caller to judge (the web UI's CSRF token).
#[derive(Debug, Default)]
pub struct Received {
    pub files: Vec<Incoming>,
    pub fields: Vec<(String, String)>,
}

/// Why a name is refused, or `None` for a good one: any Unicode, at most
/// 255 bytes, not blank, no `/`, `\` or control characters.
pub fn name_problem(name: &str) -> Option<String> {
    let _ = name;
    todo!("attachments")
}

/// Spools a raw body (an upload with `?name=`). Over
/// `--max-attachment-bytes`: 413, nothing kept.
pub async fn receive_raw(
    state: &AppState,
    name: String,
    content_type: Option<String>,
    body: Body,
) -> ApiResult<Incoming> {
    let _ = (state, name, content_type, body);
    todo!("attachments")
}

/// Spools every `file` part of a multipart body; other parts are
/// returned as fields. Over the limit: 413, nothing kept.
pub async fn receive_multipart(state: &AppState, multipart: Multipart) -> ApiResult<Received> {
    let _ = (state, multipart);
    todo!("attachments")
}

/// Stores the files' bytes, then their rows (file before row), on the
/// result's latest execution.
pub async fn attach(
    state: &AppState,
    run: RunId,
    result: ResultId,
    files: Vec<Incoming>,
    actor: UserId,
) -> ApiResult<Vec<Attachment>> {
    let _ = (state, run, result, files, actor);
    todo!("attachments")
}

/// Whether a browser may show this type inline (PNG, JPEG, GIF, WebP,
/// plain text); everything else is served as a download.
pub fn is_inline(content_type: &str) -> bool {
    let _ = content_type;
    todo!("attachments")
}

/// The bytes as an answer: `ETag` (the sha256), `Range`, `nosniff`,
/// `Content-Security-Policy: sandbox`, and `Content-Disposition`
/// (`inline` only where [`is_inline`]).
pub async fn content(state: &AppState, attachment: &Attachment, request: &HeaderMap) -> Response {
    let _ = (state, attachment, request);
    todo!("attachments")
}
