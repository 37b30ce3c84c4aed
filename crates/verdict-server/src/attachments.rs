//! Receiving, storing and serving attachments, shared by the API and the
//! web UI: bodies are spooled to disk while hashed (never held in memory),
//! stored in [`crate::blobs::Blobs`] before their rows are committed, and
//! served with headers that never let a browser render them as a page.

use std::path::Path;

use axum::body::Body;
use axum::extract::Multipart;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use verdict_store::{Attachment, FieldError, NewAttachment, ResultId, RunId, UserId};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The content type of a file sent without one.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The longest text field of a multipart upload (the web UI's CSRF
/// token is 64 characters): a field is never a file in disguise.
const MAX_FIELD_BYTES: usize = 4 * 1024;

/// What a multipart body may hold besides its files' bytes (boundaries,
/// part headers and small fields): the `Content-Length` and the bytes
/// read may exceed `--max-attachment-bytes` by this much.
pub const MULTIPART_OVERHEAD: u64 = 64 * 1024;

/// The spool writer's buffer: few, large writes (each one a blocking
/// call on tokio's pool) whatever the size of the body's chunks.
const SPOOL_BUFFER: usize = 256 * 1024;

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
    if name.trim().is_empty() {
        return Some("must not be blank".into());
    }
    if name.len() > 255 {
        return Some(format!(
            "must be at most 255 bytes of UTF-8 (it has {})",
            name.len()
        ));
    }
    if name.contains(['/', '\\']) {
        return Some("must not contain / or \\ (a name, not a path)".into());
    }
    if name.chars().any(char::is_control) {
        return Some("must not contain control characters".into());
    }
    if name == "." || name == ".." {
        return Some("must not be . or ..".into());
    }
    None
}

/// Whether `value` is a MIME type (`type/subtype`, tokens, optional
/// `; key=value` parameters), as RFC 9110 §8.3.1 spells one.
pub fn is_media_type(value: &str) -> bool {
    fn token(s: &str) -> bool {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }
    if value.len() > 255 {
        return false;
    }
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    if !token(kind) || !token(sub) {
        return false;
    }
    parts.all(|p| {
        let Some((k, v)) = p.trim().split_once('=') else {
            return false;
        };
        let v = v.trim();
        let quoted = v.len() >= 2
            && v.starts_with('"')
            && v.ends_with('"')
            && v[1..v.len() - 1]
                .bytes()
                .all(|b| b == b'\t' || (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
        token(k.trim()) && (token(v) || quoted)
    })
}

/// The content type to keep: given and valid, or `application/octet-stream`
/// when none was given. `field` names it in the 422.
fn content_type_of(given: Option<&str>, field: &str) -> ApiResult<String> {
    match given.map(str::trim) {
        None | Some("") => Ok(OCTET_STREAM.into()),
        Some(t) if is_media_type(t) => Ok(t.to_string()),
        Some(_) => Err(ApiError::invalid(
            field,
            "must be a MIME type such as image/png or text/plain; charset=utf-8",
        )),
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::TooLarge(format!(
        "the attachments are larger than the limit of {limit} bytes per request \
         (--max-attachment-bytes); send fewer or smaller files"
    ))
}

fn storage_error(e: impl std::fmt::Display) -> ApiError {
    ApiError::Internal(format!("attachment storage: {e}"))
}

/// Refuses a body whose `Content-Length` already says it is over the
/// limit (with `slack` for a multipart body's own bytes), before reading
/// any of it.
pub fn check_length(state: &AppState, headers: &HeaderMap, slack: u64) -> ApiResult<()> {
    let limit = state.limits.max_attachment_bytes;
    let length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match length {
        Some(n) if n > limit.saturating_add(slack) => Err(too_large(limit)),
        _ => Ok(()),
    }
}

/// A file being written to the spool: counted against what the request
/// may still send, hashed as it goes.
struct Spool {
    file: tokio::io::BufWriter<tokio::fs::File>,
    path: tempfile::TempPath,
    hasher: Sha256,
    size: u64,
}

impl Spool {
    fn create(dir: &Path) -> ApiResult<Spool> {
        let named = tempfile::Builder::new()
            .prefix("upload-")
            .tempfile_in(dir)
            .map_err(|e| storage_error(format!("cannot spool in {}: {e}", dir.display())))?;
        let (file, path) = named.into_parts();
        Ok(Spool {
            file: tokio::io::BufWriter::with_capacity(
                SPOOL_BUFFER,
                tokio::fs::File::from_std(file),
            ),
            path,
            hasher: Sha256::new(),
            size: 0,
        })
    }

    async fn write(&mut self, chunk: &[u8]) -> ApiResult<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        self.file
            .write_all(chunk)
            .await
            .map_err(|e| storage_error(format!("cannot spool: {e}")))
    }

    /// Flushes and syncs the bytes (a file is durable before its row).
    async fn finish(mut self, name: String, content_type: String) -> ApiResult<Incoming> {
        self.file
            .flush()
            .await
            .map_err(|e| storage_error(format!("cannot spool: {e}")))?;
        self.file
            .get_ref()
            .sync_all()
            .await
            .map_err(|e| storage_error(format!("cannot sync the spool: {e}")))?;
        Ok(Incoming {
            name,
            content_type,
            size: self.size,
            sha256: hex(&self.hasher.finalize()),
            spooled: self.path,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Waits for the next chunk, at most the request timeout: a transfer may
/// take as long as it needs, a stalled one is cut.
async fn next_chunk<T>(
    state: &AppState,
    next: impl std::future::Future<Output = T>,
) -> ApiResult<T> {
    let limit = state.limits.request_timeout;
    tokio::time::timeout(limit, next)
        .await
        .map_err(|_| ApiError::Timeout(limit))
}

/// Spools a raw body (an upload with `?name=`). Over
/// `--max-attachment-bytes`: 413, nothing kept.
pub async fn receive_raw(
    state: &AppState,
    name: String,
    content_type: Option<String>,
    body: Body,
) -> ApiResult<Incoming> {
    if let Some(problem) = name_problem(&name) {
        return Err(ApiError::invalid("name", problem));
    }
    let content_type = content_type_of(content_type.as_deref(), "Content-Type")?;
    let limit = state.limits.max_attachment_bytes;
    // A body that says its length (hyper takes it from Content-Length).
    if axum::body::HttpBody::size_hint(&body).lower() > limit {
        return Err(too_large(limit));
    }
    let mut spool = Spool::create(state.blobs.spool_dir())?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = next_chunk(state, stream.next()).await? {
        let chunk = chunk.map_err(|e| {
            ApiError::Malformed(format!("the body could not be read to its end: {e}"))
        })?;
        if spool.size + chunk.len() as u64 > limit {
            return Err(too_large(limit));
        }
        spool.write(&chunk).await?;
    }
    spool.finish(name, content_type).await
}

/// A multipart request's body, bounded by the limit (and
/// [`MULTIPART_OVERHEAD`]): refused at once when its `Content-Length` is
/// over, cut (413) when its bytes are. The route must turn axum's default
/// body limit off (`DefaultBodyLimit::disable()`), which would otherwise
/// cut it at 2 MB, and be listed in `guard::UNTIMED`.
pub async fn multipart(state: &AppState, req: axum::extract::Request) -> ApiResult<Multipart> {
    use axum::extract::FromRequest;
    check_length(state, req.headers(), MULTIPART_OVERHEAD)?;
    let limit = state
        .limits
        .max_attachment_bytes
        .saturating_add(MULTIPART_OVERHEAD);
    let (parts, body) = req.into_parts();
    let limited = Body::new(http_body_util::Limited::new(
        body,
        usize::try_from(limit).unwrap_or(usize::MAX),
    ));
    Multipart::from_request(axum::extract::Request::from_parts(parts, limited), state)
        .await
        .map_err(|e| ApiError::Malformed(format!("not a multipart body: {}", e.body_text())))
}

fn multipart_error(e: axum::extract::multipart::MultipartError, limit: u64) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return too_large(limit);
    }
    ApiError::Malformed(format!(
        "the multipart body cannot be read: {}",
        e.body_text()
    ))
}

/// Spools every `file` part of a multipart body; other parts are
/// returned as fields. Over the limit: 413, nothing kept.
pub async fn receive_multipart(state: &AppState, multipart: Multipart) -> ApiResult<Received> {
    receive_parts(state, multipart, "file").await
}

/// [`receive_multipart`] with files in the parts named `file_part` (a
/// TestRail client names its part `attachment`).
pub async fn receive_parts(
    state: &AppState,
    mut multipart: Multipart,
    file_part: &str,
) -> ApiResult<Received> {
    let limit = state.limits.max_attachment_bytes;
    let mut received = Received::default();
    // Everything the parts carry counts: files and fields.
    let mut total: u64 = 0;
    let mut index = 0;
    while let Some(mut field) = next_chunk(state, multipart.next_field())
        .await?
        .map_err(|e| multipart_error(e, limit))?
    {
        let part = field.name().unwrap_or("").to_string();
        if part != file_part {
            let mut text = Vec::new();
            while let Some(chunk) = next_chunk(state, field.chunk())
                .await?
                .map_err(|e| multipart_error(e, limit))?
            {
                total += chunk.len() as u64;
                if text.len() + chunk.len() > MAX_FIELD_BYTES {
                    return Err(ApiError::invalid(
                        part,
                        format!(
                            "a form field may have at most {MAX_FIELD_BYTES} bytes; send files as parts named file"
                        ),
                    ));
                }
                text.extend_from_slice(&chunk);
            }
            let text = String::from_utf8(text)
                .map_err(|_| ApiError::invalid(part.clone(), "must be UTF-8 text"))?;
            received.fields.push((part, text));
            continue;
        }
        let field_name = format!("{file_part}[{index}]");
        index += 1;
        let name = match field.file_name() {
            Some(n) => n.to_string(),
            None => {
                return Err(ApiError::invalid(
                    format!("{field_name}.filename"),
                    format!(
                        "a file part needs a filename (Content-Disposition: form-data; name=\"{file_part}\"; filename=\"…\")"
                    ),
                ));
            }
        };
        if let Some(problem) = name_problem(&name) {
            return Err(ApiError::Invalid(vec![FieldError::new(
                format!("{field_name}.filename"),
                problem,
            )]));
        }
        // The header as sent: multer drops a type it cannot parse.
        let type_field = format!("{field_name}.content_type");
        let given = match field.headers().get(header::CONTENT_TYPE) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .map_err(|_| ApiError::invalid(type_field.clone(), "must be a MIME type"))?
                    .to_string(),
            ),
        };
        let content_type = content_type_of(given.as_deref(), &type_field)?;
        let mut spool = Spool::create(state.blobs.spool_dir())?;
        while let Some(chunk) = next_chunk(state, field.chunk())
            .await?
            .map_err(|e| multipart_error(e, limit))?
        {
            total += chunk.len() as u64;
            if total > limit {
                return Err(too_large(limit));
            }
            spool.write(&chunk).await?;
        }
        received.files.push(spool.finish(name, content_type).await?);
    }
    Ok(received)
}

/// A second name for a spooled file (a hard link, or a copy where links
/// are not possible), so that storing it — which moves what it is given —
/// leaves the spool for a second store.
async fn second_name(spooled: &Path) -> ApiResult<tempfile::TempPath> {
    let dir = spooled
        .parent()
        .ok_or_else(|| storage_error("a spool file without a folder"))?
        .to_path_buf();
    let source = spooled.to_path_buf();
    tokio::task::spawn_blocking(move || {
        tempfile::Builder::new()
            .prefix("store-")
            .make_in(&dir, |p| {
                std::fs::hard_link(&source, p).or_else(|_| std::fs::copy(&source, p).map(|_| ()))
            })
            .map(tempfile::NamedTempFile::into_temp_path)
    })
    .await
    .map_err(|e| storage_error(format!("spool task: {e}")))?
    .map_err(|e| storage_error(format!("cannot link the spool: {e}")))
}

/// Stores one spooled file, keeping the spool.
async fn store_copy(state: &AppState, file: &Incoming) -> ApiResult<()> {
    let link = second_name(&file.spooled).await?;
    state
        .blobs
        .put(&file.sha256, &link, file.size)
        .await
        .map_err(storage_error)
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
    for file in &files {
        store_copy(state, file).await?;
    }
    let rows = files
        .iter()
        .map(|f| NewAttachment {
            name: f.name.clone(),
            content_type: f.content_type.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
        })
        .collect();
    let attached = state
        .store
        .add_attachments(run, result, rows, actor, verdict_store::Timestamp::now())
        .await?;
    // A prune that ran between the store and the commit may have taken
    // the bytes for an orphan: the spool still has them.
    let mut checked: Vec<&str> = Vec::new();
    for file in &files {
        if checked.contains(&file.sha256.as_str()) {
            continue;
        }
        checked.push(&file.sha256);
        let there = state
            .blobs
            .exists(&file.sha256)
            .await
            .map_err(storage_error)?;
        if !there {
            tracing::warn!(
                sha256 = %file.sha256,
                "an attachment's bytes were pruned while its row was written; storing them again"
            );
            store_copy(state, file).await?;
        }
    }
    Ok(attached)
}

/// Whether a browser may show this type inline (PNG, JPEG, GIF, WebP,
/// plain text); everything else is served as a download.
pub fn is_inline(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" | "text/plain"
    )
}

/// `Content-Disposition` for a name (RFC 6266): an ASCII fallback
/// `filename` and the exact name as `filename*` (RFC 5987 encoding).
pub fn disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != '%' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::with_capacity(name.len() * 3);
    for b in name.bytes() {
        // RFC 5987 `attr-char`.
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range (`a-b`, `a-`, `-n`); several ranges, another unit or
/// a malformed one are answered with the whole file (RFC 9110 §14.2 lets
/// a server ignore a Range it does not support).
fn wanted(range: Option<&str>, size: u64) -> Wanted {
    let Some(spec) = range.and_then(|r| r.trim().strip_prefix("bytes=")) else {
        return Wanted::Whole;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return Wanted::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Wanted::Whole;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    if first.trim().is_empty() {
        // The last `n` bytes.
        return match number(last) {
            None => Wanted::Whole,
            Some(0) => Wanted::Unsatisfiable,
            Some(_) if size == 0 => Wanted::Unsatisfiable,
            Some(n) => Wanted::Part(size.saturating_sub(n), size - 1),
        };
    }
    let Some(start) = number(first) else {
        return Wanted::Whole;
    };
    let end = if last.trim().is_empty() {
        None
    } else {
        match number(last) {
            Some(e) if e >= start => Some(e),
            _ => return Wanted::Whole,
        }
    };
    if start >= size {
        return Wanted::Unsatisfiable;
    }
    Wanted::Part(start, end.map_or(size - 1, |e| e.min(size - 1)))
}

fn etag_matches(header_value: &str, etag: &str) -> bool {
    header_value.split(',').any(|t| {
        let t = t.trim();
        t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag
    })
}

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(name, v);
    }
}

/// The bytes as an answer: `ETag` (the sha256), `Range`, `nosniff`,
/// `Content-Security-Policy: sandbox`, and `Content-Disposition`
/// (`inline` only where [`is_inline`]).
pub async fn content(state: &AppState, attachment: &Attachment, request: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", attachment.sha256);
    let mut headers = HeaderMap::new();
    set(&mut headers, header::ETAG, &etag);
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    // Private (behind a token or a session), and checked with the ETag
    // before reuse.
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    let text = |name: &header::HeaderName| request.get(name).and_then(|v| v.to_str().ok());
    if text(&header::IF_NONE_MATCH).is_some_and(|v| etag_matches(v, &etag)) {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let size = attachment.size;
    // A Range applies only to the version `If-Range` names, if it names one.
    let range = match text(&header::IF_RANGE) {
        Some(v) if v.trim() != etag => None,
        _ => text(&header::RANGE),
    };
    let (status, part) = match wanted(range, size) {
        Wanted::Whole => (StatusCode::OK, None),
        Wanted::Part(a, b) => (StatusCode::PARTIAL_CONTENT, Some((a, b))),
        Wanted::Unsatisfiable => {
            set(
                &mut headers,
                header::CONTENT_RANGE,
                &format!("bytes */{size}"),
            );
            let body = verdict_api::ErrorBody {
                error: verdict_api::ErrorDetail {
                    code: "range_not_satisfiable".into(),
                    message: format!("the range asked for is outside the file's {size} bytes"),
                    details: vec![],
                },
            };
            return (StatusCode::RANGE_NOT_SATISFIABLE, headers, axum::Json(body)).into_response();
        }
    };
    let body = match state
        .blobs
        .get(&attachment.sha256, part.map(|(a, b)| a..b + 1))
        .await
    {
        Ok(body) => body,
        Err(e) => {
            return ApiError::Internal(format!(
                "the bytes of attachment {} cannot be read: {e}",
                attachment.id
            ))
            .into_response();
        }
    };
    set(&mut headers, header::CONTENT_TYPE, &attachment.content_type);
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(OCTET_STREAM));
    }
    set(
        &mut headers,
        header::CONTENT_DISPOSITION,
        &disposition(is_inline(&attachment.content_type), &attachment.name),
    );
    let length = match part {
        Some((a, b)) => {
            set(
                &mut headers,
                header::CONTENT_RANGE,
                &format!("bytes {a}-{b}/{size}"),
            );
            b - a + 1
        }
        None => size,
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    (status, headers, body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(wanted(Some("bytes=0-9"), 100), Wanted::Part(0, 9));
        assert_eq!(wanted(Some("bytes=90-"), 100), Wanted::Part(90, 99));
        assert_eq!(wanted(Some("bytes=90-500"), 100), Wanted::Part(90, 99));
        assert_eq!(wanted(Some("bytes=-10"), 100), Wanted::Part(90, 99));
        assert_eq!(wanted(Some("bytes=-500"), 100), Wanted::Part(0, 99));
        assert_eq!(wanted(Some("bytes=100-"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=-0"), 100), Wanted::Unsatisfiable);
        assert_eq!(wanted(Some("bytes=0-1,5-6"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=5-1"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("items=0-1"), 100), Wanted::Whole);
        assert_eq!(wanted(Some("bytes=x-1"), 100), Wanted::Whole);
        assert_eq!(wanted(None, 100), Wanted::Whole);
    }

    #[test]
    fn media_types() {
        assert!(is_media_type("image/png"));
        assert!(is_media_type("text/plain; charset=utf-8"));
        assert!(is_media_type("text/plain; charset=\"utf-8\""));
        assert!(!is_media_type("png"));
        assert!(!is_media_type("text/"));
        assert!(!is_media_type("text/plain; charset"));
        assert!(!is_media_type("a b/c"));
    }

    #[test]
    fn dispositions() {
        assert_eq!(
            disposition(false, "résumé \"1\".html"),
            "attachment; filename=\"r_sum_ _1_.html\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.html"
        );
        assert_eq!(
            disposition(true, "a.png"),
            "inline; filename=\"a.png\"; filename*=UTF-8''a.png"
        );
    }

    #[test]
    fn names() {
        assert!(name_problem("screenshot.png").is_none());
        assert!(name_problem("日本語 ファイル.txt").is_none());
        for bad in ["", "  ", "a/b", "a\\b", "a\nb", "a\u{7f}b", ".."] {
            assert!(name_problem(bad).is_some(), "{bad:?}");
        }
        assert!(name_problem(&"a".repeat(255)).is_none());
        assert!(name_problem(&"a".repeat(256)).is_some());
    }
}
