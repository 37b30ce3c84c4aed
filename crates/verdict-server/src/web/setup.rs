//! What the setup pages share ([`super::setup_projects`],
//! [`super::setup_cases`], [`super::setup_runs`], [`super::users`]): the
//! list of problems a refused form shows above its fields, the names people
//! read for the API's field names, and the one-time notice a form leaves
//! for the page it redirects to ("Saved.").
//!
//! The notice travels like the account page's flash: a cookie
//! ([`NOTICE_COOKIE`]; HttpOnly, SameSite=Strict, `Path=/`, a minute's
//! life, Secure when sessions are) cleared by the page that shows it. It
//! carries a code from a fixed list ([`Notice`]), never text a user wrote,
//! so nothing posted can be echoed into another page through it.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use verdict_store::FieldError;

use super::layout::field_label;
use super::session::cookie;
use crate::error::ApiError;
use crate::state::WebConfig;

pub const NOTICE_COOKIE: &str = "verdict_notice";

/// What a setup form says after its redirect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Saved,
    ProjectCreated,
    MemberAdded,
    MemberRemoved,
    CaseCreated,
    CaseDeleted,
    RunCreated,
    UserCreated,
    AdminGranted,
    AdminRemoved,
    TokensRevoked,
    FilesAttached,
    FileDeleted,
    PingQueued,
    WebhookPaused,
    WebhookResumed,
    WebhookDeleted,
    RedeliveryQueued,
}

const NOTICES: [(Notice, &str, &str); 18] = [
    (Notice::Saved, "saved", "Saved."),
    (
        Notice::ProjectCreated,
        "project_created",
        "Project created. You are its manager: add members and cases below.",
    ),
    (Notice::MemberAdded, "member_added", "Member saved."),
    (Notice::MemberRemoved, "member_removed", "Member removed."),
    (Notice::CaseCreated, "case_created", "Test case created."),
    (Notice::CaseDeleted, "case_deleted", "Test case deleted."),
    (Notice::RunCreated, "run_created", "Run created."),
    (Notice::UserCreated, "user_created", "User created."),
    (
        Notice::AdminGranted,
        "admin_granted",
        "They are an admin now.",
    ),
    (
        Notice::AdminRemoved,
        "admin_removed",
        "They are no longer an admin.",
    ),
    (
        Notice::TokensRevoked,
        "tokens_revoked",
        "Every token of theirs was revoked; their browsers are signed out.",
    ),
    (Notice::FilesAttached, "files_attached", "Attached."),
    (Notice::FileDeleted, "file_deleted", "File deleted."),
    (
        Notice::PingQueued,
        "ping_queued",
        "A test ping is on its way; its delivery shows below within seconds (reload).",
    ),
    (
        Notice::WebhookPaused,
        "webhook_paused",
        "Paused: nothing new is queued for it until it is resumed.",
    ),
    (Notice::WebhookResumed, "webhook_resumed", "Resumed."),
    (
        Notice::WebhookDeleted,
        "webhook_deleted",
        "Webhook deleted.",
    ),
    (
        Notice::RedeliveryQueued,
        "redelivery_queued",
        "The event is queued again, with the same id and body.",
    ),
];

impl Notice {
    fn code(self) -> &'static str {
        NOTICES
            .iter()
            .find(|(n, _, _)| *n == self)
            .map_or("saved", |(_, c, _)| c)
    }

    pub fn text(self) -> &'static str {
        NOTICES
            .iter()
            .find(|(n, _, _)| *n == self)
            .map_or("Saved.", |(_, _, t)| t)
    }

    fn parse(code: &str) -> Option<Notice> {
        NOTICES
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(n, _, _)| *n)
    }
}

/// A redirect to `to` (a path of ours) that leaves `notice` for it.
pub fn redirect_notice(to: &str, notice: Notice, config: &WebConfig) -> Response {
    let secure = if config.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let value = format!(
        "{NOTICE_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=60{secure}",
        notice.code()
    );
    let mut response = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    response
}

/// The notice a request carries, if any (see [`shown`]).
pub fn notice(headers: &HeaderMap) -> Option<Notice> {
    cookie(headers, NOTICE_COOKIE).and_then(|c| Notice::parse(&c))
}

/// Clears the notice once a page has shown it.
pub fn shown(mut response: Response, notice: Option<Notice>) -> Response {
    if notice.is_some() {
        response.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static(
                "verdict_notice=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0",
            ),
        );
    }
    response
}

/// The notice as the top of a page shows it.
pub fn notice_markup(notice: Option<Notice>) -> Markup {
    html! {
        @if let Some(n) = notice { p.notice role="status" { (n.text()) } }
    }
}

/// What a field of a setup form is called on the page: `steps[2].action`
/// is "Step 3: action".
pub fn label(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("steps[")
        && let Some((n, part)) = rest.split_once("].")
        && let Ok(n) = n.parse::<usize>()
    {
        let part = match part {
            "action" => "action",
            "expected" => "expected result",
            other => other,
        };
        return format!("Step {}: {part}", n + 1);
    }
    if let Some(rest) = field.strip_prefix("refs[")
        && let Some(n) = rest.strip_suffix(']')
        && let Ok(n) = n.parse::<usize>()
    {
        return format!("Refs (number {})", n + 1);
    }
    match field {
        "title" => "Title".into(),
        "key" => "Key".into(),
        "suite" => "Section".into(),
        "priority" => "Priority".into(),
        "refs" => "Refs".into(),
        "steps" => "Steps".into(),
        "preconditions" => "Preconditions".into(),
        "email" => "Email".into(),
        "password" => "Password".into(),
        "role" => "Role".into(),
        "defect_url_template" => "Defect link".into(),
        "description" => "Description".into(),
        "branch" => "Branch".into(),
        "commit" => "Commit".into(),
        "build_url" => "Build URL".into(),
        "environment" => "Environment".into(),
        "case_ids" => "Cases".into(),
        "confirm" => "Confirmation".into(),
        other => field_label(other).to_string(),
    }
}

/// The problems of a refused form, above its fields.
pub fn problems(errors: &[FieldError]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.notice.error.problems role="alert" {
                p { "Nothing was saved. Please check:" }
                ul { @for e in errors {
                    li { @if e.field != "form" { (label(&e.field)) ": " } (e.message) }
                } }
            }
        }
    }
}

/// A store or API refusal as the problems of a form: field errors as they
/// are, a conflict as one problem; `None` for what is not the form's fault
/// (the caller answers those with the error page).
pub fn as_problems(e: &ApiError) -> Option<Vec<FieldError>> {
    match e {
        ApiError::Invalid(fields) => Some(fields.clone()),
        ApiError::Conflict { message, .. } => Some(vec![FieldError::new("form", message.clone())]),
        _ => None,
    }
}

/// A line break or comma separated list, each item trimmed, blanks dropped.
pub fn split_list(text: &str) -> Vec<String> {
    text.split([',', '\n'])
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// A textarea's value with `\r\n` line breaks as `\n`.
pub fn multiline(text: &str) -> String {
    text.replace("\r\n", "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_fields_read_as_step_numbers() {
        assert_eq!(label("steps[2].action"), "Step 3: action");
        assert_eq!(label("steps[0].expected"), "Step 1: expected result");
        assert_eq!(label("refs[1]"), "Refs (number 2)");
        assert_eq!(label("defect_url_template"), "Defect link");
    }

    #[test]
    fn notices_round_trip_by_code() {
        for (n, code, _) in NOTICES {
            assert_eq!(Notice::parse(code), Some(n));
            assert_eq!(n.code(), code);
        }
        assert_eq!(Notice::parse("<script>"), None);
    }

    #[test]
    fn lists_split_on_commas_and_lines() {
        assert_eq!(split_list("A-1, A-2\nB-3\n\n ,"), vec!["A-1", "A-2", "B-3"]);
    }
}
