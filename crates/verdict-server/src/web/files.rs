//! Attachments and output in the web UI: what the result detail shows of
//! them (images as thumbnails, text files and logs as links to a viewer,
//! other files as downloads, each under its execution when the result has
//! several; the latest output in a disclosure), the viewer page
//! (`/attachments/:aid`) and the bytes (`/attachments/:aid/content`,
//! served by [`crate::attachments::content`] with the API's safe headers).
//! Attaching and deleting are in [`super::attach`].
//!
//! Pages stay small whatever the files: the viewer shows the first
//! [`TEXT_SHOWN`] bytes of a text file and the detail the last
//! [`OUTPUT_SHOWN`] bytes of an output, each with a link to the whole.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use verdict_store::{Attachment, AttachmentId, HistoryEntry, Role, UserId};

use super::layout::{page, respond, status_label, time};
use super::session::Session;
use super::{WebError, WebResult};
use crate::error::ApiError;
use crate::extract::ResultPath;
use crate::state::AppState;

/// The bytes of a text file the viewer shows (the rest is a download).
pub const TEXT_SHOWN: u64 = 64 * 1024;
/// The bytes of an output a page shows: its end, where a failure's cause
/// usually is (the whole is a link away).
pub const OUTPUT_SHOWN: usize = 32 * 1024;

/// How a file is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// PNG, JPEG, GIF or WebP: a thumbnail, full size on its page.
    Image,
    /// Plain text or a log: read on its page.
    Text,
    /// Anything else: a download.
    Other,
}

/// The kind of an attachment, by its type (and, for text sent without
/// one, its name: `.log`, `.txt`).
pub fn kind(a: &Attachment) -> Kind {
    let essence = a
        .content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "image/png" | "image/jpeg" | "image/gif" | "image/webp" => Kind::Image,
        "text/plain" => Kind::Text,
        "application/octet-stream" | "" => {
            let name = a.name.to_ascii_lowercase();
            if name.ends_with(".log") || name.ends_with(".txt") {
                Kind::Text
            } else {
                Kind::Other
            }
        }
        _ => Kind::Other,
    }
}

/// A size for people: "512 B", "3.4 KiB", "12.0 MiB".
pub fn size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} B")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    }
}

/// The last `max` bytes of `text` (cut on a character boundary), and
/// whether it was cut.
pub fn tail(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, false);
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    (&text[start..], true)
}

/// The output of an execution, collapsed: its end, and a link to the
/// whole when that is longer (`whole`: the URL of the whole output).
pub fn output(text: &str, whole: &str) -> Markup {
    let (shown, cut) = tail(text, OUTPUT_SHOWN);
    html! {
        details.output {
            summary { "Output " span.small { "(" (size(text.len() as u64)) ")" } }
            @if cut {
                p.small { "The last " (size(OUTPUT_SHOWN as u64)) " of it: "
                    a href=(whole) { "the whole output" } }
            }
            // Focusable, so a keyboard can scroll it.
            pre.output tabindex="0" { code { (shown) } }
        }
    }
}

/// Whether `user` (with `role` in the project) may delete `a`: a manager,
/// or whoever uploaded it.
pub fn can_delete(a: &Attachment, role: Role, user: UserId) -> bool {
    role >= Role::Manager || a.created_by == user
}

/// What an execution is called beside its files: "Execution 2 · Failed ·
/// (time)" when the history shown has it (`history`: newest first, of
/// `total`).
fn execution_label(n: u32, history: &[HistoryEntry], total: i64) -> Markup {
    let entry = usize::try_from(total - i64::from(n))
        .ok()
        .and_then(|i| history.get(i));
    html! {
        @if n == 0 { "Before the first execution" }
        @else {
            "Execution " (n)
            @if let Some(e) = entry { " · " (status_label(e.status)) " · " (time(e.tested_at)) }
        }
    }
}

/// One file in the detail's list.
fn item(a: &Attachment, deletable: bool) -> Markup {
    let id = a.id;
    html! {
        @match kind(a) {
            Kind::Image => li.attachment.image {
                a.thumb href={ "/attachments/" (id) } title={ (a.name) " (full size)" } {
                    img src={ "/attachments/" (id) "/content" } alt=(a.name) loading="lazy" decoding="async";
                }
                span.file-meta.small { (a.name) " · " (size(a.size)) }
                @if deletable { " " (delete_link(a)) }
            },
            Kind::Text => li.attachment.text {
                a href={ "/attachments/" (id) } { (a.name) }
                span.file-meta.small { " · text · " (size(a.size)) }
                @if deletable { " " (delete_link(a)) }
            },
            Kind::Other => li.attachment.other {
                a href={ "/attachments/" (id) "/content" } download { (a.name) }
                span.file-meta.small { " · download · " (size(a.size)) }
                @if deletable { " " (delete_link(a)) }
            },
        }
    }
}

fn delete_link(a: &Attachment) -> Markup {
    html! {
        a.delete-file.small href={ "/attachments/" (a.id) "/delete" } aria-label={ "Delete " (a.name) } { "Delete…" }
    }
}

/// The result's files in the detail, by execution when it has several
/// (`history`: the newest executions, of `total`).
pub fn list(
    files: &[Attachment],
    history: &[HistoryEntry],
    total: i64,
    deletable: impl Fn(&Attachment) -> bool,
) -> Markup {
    let mut executions: Vec<u32> = files.iter().map(|a| a.execution).collect();
    executions.sort_unstable_by(|a, b| b.cmp(a));
    executions.dedup();
    let labelled = total > 1 || executions.len() > 1;
    html! {
        @if files.is_empty() {
            p.hint.no-files { "No files attached." }
        } @else if !labelled {
            ul.attachments { @for a in files { (item(a, deletable(a))) } }
        } @else {
            @for n in &executions {
                p.exec-label.small { (execution_label(*n, history, total)) }
                ul.attachments {
                    @for a in files.iter().filter(|a| a.execution == *n) { (item(a, deletable(a))) }
                }
            }
        }
    }
}

/// The form that attaches files to a result: a plain file input (works
/// without the script), which `app.js` also feeds from a drop or a paste.
pub fn attach_form(run: &str, result: &str, csrf: &str, back: &str, max: u64) -> Markup {
    html! {
        form.attach #{ "attach-" (result) } method="post" enctype="multipart/form-data"
            action={ "/runs/" (run) "/results/" (result) "/attachments" } {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="back" value=(back);
            span.field {
                label for={ "file-" (result) } { "Attach files" }
                input #{ "file-" (result) } type="file" name="file" multiple
                    aria-describedby={ "attach-hint-" (result) };
            }
            button type="submit" { "Attach" }
            p.small.attach-hint #{ "attach-hint-" (result) } {
                "Up to " (size(max)) " at once. "
                span.with-script { "You can also drop files on this result, or paste an image (Ctrl+V)." }
            }
            p.attach-status.small role="status" aria-live="polite" {}
        }
    }
}

/// An attachment id from the path (malformed: 404, like an unknown one).
pub fn attachment_id(
    path: Result<Path<String>, impl std::fmt::Debug>,
) -> Result<AttachmentId, ApiError> {
    path.ok()
        .and_then(|Path(aid)| aid.parse().ok())
        .ok_or(ApiError::NotFound)
}

/// The attachment and the caller's role in its project (404 for a
/// non-member, as for everything of a project).
pub async fn load(
    state: &AppState,
    session: &Session,
    id: AttachmentId,
) -> WebResult<(Attachment, Role)> {
    let a = state.store.get_attachment(id).await?;
    let (_, role) = session.caller().run(state, a.run_id).await?;
    Ok((a, role))
}

/// GET /attachments/:aid/content (viewer): the bytes, with the API's
/// headers (`nosniff`, `sandbox`, inline only for images and plain text).
pub async fn content(
    State(state): State<AppState>,
    session: Session,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let id = attachment_id(path)?;
    let (a, _) = load(&state, &session, id).await?;
    Ok(crate::attachments::content(&state, &a, &headers).await)
}

/// The first `TEXT_SHOWN` bytes of a stored file as text.
async fn first_text(state: &AppState, a: &Attachment) -> Result<(String, bool), ApiError> {
    let end = a.size.min(TEXT_SHOWN);
    let body = state
        .blobs
        .get(&a.sha256, Some(0..end))
        .await
        .map_err(|e| ApiError::Internal(format!("reading attachment {}: {e}", a.id)))?;
    let bytes = axum::body::to_bytes(body, TEXT_SHOWN as usize + 1)
        .await
        .map_err(|e| ApiError::Internal(format!("reading attachment {}: {e}", a.id)))?;
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    let cut = a.size > end;
    if cut {
        // A character split by the cut is not a character of the file.
        while text.ends_with('\u{FFFD}') {
            text.pop();
        }
    }
    Ok((text, cut))
}

/// GET /attachments/:aid (viewer): the file on a page of its own — text
/// read in place (its beginning), an image full size, anything else a
/// download — with the way back to its result.
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    path: Result<Path<String>, axum::extract::rejection::PathRejection>,
) -> WebResult<Response> {
    let id = attachment_id(path)?;
    let (a, role) = load(&state, &session, id).await?;
    let run = state.store.get_run(a.run_id).await?;
    let project = state.store.get_project(run.project_id).await?;
    let result = state.store.get_result(a.run_id, a.result_id).await?;
    let uploader = match state.store.get_user(a.created_by).await {
        Ok(u) => u.name,
        Err(_) => a.created_by.to_string(),
    };
    let kind = kind(&a);
    let text = match kind {
        Kind::Text => Some(first_text(&state, &a).await.map_err(WebError::Page)?),
        _ => None,
    };
    let back = format!(
        "/runs/{}?result={}#r-{}",
        a.run_id, a.result_id, a.result_id
    );
    let content = format!("/attachments/{id}/content");
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href={ "/projects/" (project.id) } { (project.name) } " › "
            a href={ "/runs/" (run.id) } { (run.name) } " › "
            a href=(back) { (result.case_title) } " › "
        }
        h1.file-name { (a.name) }
        p.meta {
            (size(a.size)) " · " code { (a.content_type) }
            @if a.execution > 0 { " · execution " (a.execution) }
            " · attached by " (uploader) " " (time(a.created_at))
        }
        p.file-actions {
            a href=(content) download=(a.name) { "Download" }
            @if can_delete(&a, role, session.user.id) {
                " · " a href={ "/attachments/" (id) "/delete" } { "Delete…" }
            }
            " · " a href=(back) { "← Back to the result" }
        }
        @match (kind, &text) {
            (Kind::Image, _) => {
                p.full-image { a href=(content) { img src=(content) alt=(a.name); } }
            },
            (_, Some((t, cut))) => {
                @if *cut {
                    p.notice { "Showing the first " (size(TEXT_SHOWN)) " of " (size(a.size)) ". "
                        a href=(content) download=(a.name) { "Download the whole file" } "." }
                }
                pre.file-text tabindex="0" role="region" aria-label={ "Contents of " (a.name) } { code { (t) } }
            },
            _ => {
                p { "This file is not shown in the browser. "
                    a href=(content) download=(a.name) { "Download " (a.name) } " (" (size(a.size)) ")." }
            },
        }
    };
    Ok(respond(StatusCode::OK, page(&a.name, Some(&session), main)))
}

/// GET /runs/:rid/results/:id/output (viewer): the latest execution's
/// output in full, as plain text (never rendered as a page).
pub async fn whole_output(
    State(state): State<AppState>,
    session: Session,
    path: Result<ResultPath, ApiError>,
) -> WebResult<Response> {
    let ResultPath { rid, id } = path?;
    session.caller().run(&state, rid).await?;
    let result = state.store.get_result(rid, id).await?;
    let Some(text) = result.output else {
        return Err(WebError::Page(ApiError::NotFound));
    };
    let mut response = text.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1536), "1.5 KiB");
        assert_eq!(size(256 * 1024 * 1024), "256.0 MiB");
    }

    #[test]
    fn a_tail_is_cut_on_a_character_boundary() {
        assert_eq!(tail("abc", 5), ("abc", false));
        assert_eq!(tail("abcdef", 3), ("def", true));
        // "é" is two bytes: a cut inside it starts after it.
        assert_eq!(tail("aé", 1), ("", true));
        assert_eq!(tail("aéb", 2), ("b", true));
    }
}
