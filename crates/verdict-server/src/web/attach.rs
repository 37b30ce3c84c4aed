//! Attaching files to a result from the run page, and deleting one.
//!
//! The attach form is `multipart/form-data` (a `csrf` field, a `back`
//! field and one or more `file` parts), posted by the browser itself or
//! by `app.js` (a drop or a paste, with `Accept: application/json`). The
//! caller's role is checked before the body is read; the files are spooled
//! by [`crate::attachments::receive_multipart`] (bounded memory, 413 past
//! `--max-attachment-bytes`), the CSRF field is then checked, and only
//! then are they stored ([`crate::attachments::attach`]). A refusal is
//! shown like the result form's: the run page again, the message in the
//! result's detail, nothing stored. Deleting asks on a page of its own,
//! as every destructive action of the UI does.

use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::PathRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::json;
use verdict_store::Role;

use super::files::{self, attachment_id, can_delete, load, size};
use super::layout::{page, respond};
use super::results::back_to;
use super::run_detail;
use super::run_view::{Flash, View, render};
use super::session::{Session, SessionForm, constant_time_eq};
use super::setup::{Notice, redirect_notice};
use super::{WebError, WebResult};
use crate::auth::ensure;
use crate::error::ApiError;
use crate::extract::ResultPath;
use crate::state::AppState;

/// An error as the page (or the script) shows it: 413 says the limit.
fn explain(e: ApiError, max: u64) -> ApiError {
    match e {
        ApiError::TooLarge(_) => ApiError::TooLarge(format!(
            "these files are too large: one upload may hold at most {} in all; nothing was attached",
            size(max)
        )),
        other => other,
    }
}

/// POST /runs/:rid/results/:id/attachments (tester; multipart)
pub async fn create(
    State(state): State<AppState>,
    session: Session,
    path: Result<ResultPath, ApiError>,
    headers: axum::http::HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> WebResult<Response> {
    let json = super::session::wants_json(&headers);
    let max = state.limits.max_attachment_bytes;
    let fail = |e: ApiError| {
        if json {
            WebError::Json(e)
        } else {
            WebError::Page(e)
        }
    };
    let ResultPath { rid, id } = path.map_err(fail)?;
    let (_, role) = session.caller().run(&state, rid).await.map_err(fail)?;
    ensure(role, Role::Tester, "attach files").map_err(fail)?;
    let multipart = multipart.map_err(|_| {
        fail(ApiError::UnsupportedMediaType(
            "send the files as multipart/form-data".into(),
        ))
    })?;
    let received = crate::attachments::receive_multipart(&state, multipart).await;
    // Where the page goes back to (the form's `back`, when it came).
    let field = |r: &crate::attachments::Received, name: &str| {
        r.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let (received, back) = match received {
        Ok(r) => {
            let back = field(&r, "back");
            if !constant_time_eq(
                field(&r, "csrf").unwrap_or_default().as_bytes(),
                session.csrf.as_bytes(),
            ) {
                return Err(WebError::Csrf { json });
            }
            (Ok(r), back)
        }
        Err(e) => (Err(e), None),
    };
    let outcome = match received {
        Ok(r) if r.files.is_empty() => {
            Err(ApiError::Invalid(vec![verdict_store::FieldError::new(
                "file",
                "choose at least one file to attach",
            )]))
        }
        Ok(r) => crate::attachments::attach(&state, rid, id, r.files, session.user.id).await,
        Err(e) => Err(e),
    };
    let mut view = View::from_back(&back_to(back.as_deref(), rid));
    view.result = Some(id);
    let attached = match outcome {
        Ok(attached) => attached,
        Err(e) if json => return Err(WebError::Json(explain(e, max))),
        Err(e) => {
            let e = explain(e, max);
            let (status, message) = match &e {
                ApiError::Invalid(fields) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    fields
                        .iter()
                        .map(|f| {
                            let what = if f.field.starts_with("file") || f.field == "name" {
                                "File"
                            } else {
                                super::layout::field_label(&f.field)
                            };
                            format!("{what}: {}", f.message)
                        })
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                ApiError::TooLarge(m) => (StatusCode::PAYLOAD_TOO_LARGE, capitalised(m)),
                ApiError::Conflict { message, .. } => (StatusCode::CONFLICT, capitalised(message)),
                _ => return Err(WebError::Page(e)),
            };
            let flash = Flash {
                result: id,
                message,
            };
            return render(&state, &session, rid, &view, Some(flash), status).await;
        }
    };
    let back = view.selected_url(rid, id);
    if !json {
        return Ok(redirect_notice(
            &format!("{back}#r-{id}"),
            Notice::FilesAttached,
            &state.web,
        ));
    }
    // For the script: the detail again, with the new files in it.
    let (_, detail) = run_detail::fresh(&state, &session, rid, id, &back).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "data": {
            "attached": attached.iter().map(|a| json!({
                "id": a.id.to_string(),
                "name": a.name,
                "size": a.size,
                "content_type": a.content_type,
            })).collect::<Vec<_>>(),
            "detail_html": detail.into_string(),
        } })),
    )
        .into_response())
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// GET /attachments/:aid/delete (manager or uploader): asks first.
pub async fn confirm_delete(
    State(state): State<AppState>,
    session: Session,
    path: Result<Path<String>, PathRejection>,
) -> WebResult<Response> {
    let id = attachment_id(path)?;
    let (a, role) = load(&state, &session, id).await?;
    if !can_delete(&a, role, session.user.id) {
        return Err(WebError::Page(ApiError::Forbidden(
            "only a manager or the person who attached a file may delete it".into(),
        )));
    }
    let result = state.store.get_result(a.run_id, a.result_id).await?;
    let back = format!(
        "/runs/{}?result={}#r-{}",
        a.run_id, a.result_id, a.result_id
    );
    let main = html! {
        nav.crumbs aria-label="Breadcrumb" {
            a href="/projects" { "Projects" } " › "
            a href=(back) { (result.case_title) } " › "
        }
        h1 { "Delete " (a.name) "?" }
        p { "The file (" (files::size(a.size)) ") is no longer attached to "
            strong { (result.case_title) } ". This cannot be undone." }
        form.confirm method="post" action={ "/attachments/" (id) "/delete" } {
            input type="hidden" name="csrf" value=(session.csrf);
            button.danger type="submit" { "Yes, delete this file" }
            " "
            a href=(back) { "Cancel" }
        }
    };
    let title = format!("Delete {}", a.name);
    Ok(respond(StatusCode::OK, page(&title, Some(&session), main)))
}

/// POST /attachments/:aid/delete (manager or uploader). Allowed in a
/// closed run too: it frees space.
pub async fn delete(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    posted: SessionForm,
) -> WebResult<Response> {
    let id = attachment_id(path)?;
    let session = &posted.session;
    let (a, role) = load(&state, session, id).await?;
    if !can_delete(&a, role, session.user.id) {
        return Err(WebError::Page(ApiError::Forbidden(
            "only a manager or the person who attached a file may delete it".into(),
        )));
    }
    state.store.delete_attachment(id).await?;
    let back = format!(
        "/runs/{}?result={}#r-{}",
        a.run_id, a.result_id, a.result_id
    );
    Ok(redirect_notice(&back, Notice::FileDeleted, &state.web))
}
