//! The page shell every page shares (head, navigation, sign-out), and the
//! small pieces pages are built from: status labels, times, durations,
//! pagers. A status is always shown by its name, with a symbol, so nothing
//! depends on telling colours apart; colour is only a second cue.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use verdict_store::{Status, Timestamp};

use super::session::Session;

/// The name people read for a status.
pub fn status_label(status: Status) -> &'static str {
    match status {
        Status::Passed => "Passed",
        Status::Failed => "Failed",
        Status::Blocked => "Blocked",
        Status::Retest => "Retest",
        Status::NotTested => "Not tested",
    }
}

/// A symbol per status, so that status survives greyscale and colour
/// blindness; always beside the name, hidden from screen readers.
pub fn status_symbol(status: Status) -> &'static str {
    match status {
        Status::Passed => "✓",
        Status::Failed => "✗",
        Status::Blocked => "⊘",
        Status::Retest => "↻",
        Status::NotTested => "○",
    }
}

/// The keyboard shortcut that marks a result with this status.
pub fn status_key(status: Status) -> char {
    match status {
        Status::Passed => 'p',
        Status::Failed => 'f',
        Status::Blocked => 'b',
        Status::Retest => 'r',
        Status::NotTested => 'n',
    }
}

/// A status as a badge: symbol and name, the colour from the stylesheet.
pub fn status_badge(status: Status) -> Markup {
    html! {
        span class={ "badge st-" (status.as_str()) } {
            span aria-hidden="true" { (status_symbol(status)) " " }
            (status_label(status))
        }
    }
}

/// `2026-03-26 10:15 UTC` in a `<time>` element.
pub fn time(t: Timestamp) -> Markup {
    let iso = t.to_string();
    let shown = format!("{} {} UTC", &iso[..10], &iso[11..16]);
    html! { time datetime=(iso) { (shown) } }
}

/// A duration for people: `45 s`, `2 min 5 s`, `1 h 3 min`.
pub fn elapsed(ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return String::new();
    };
    let s = ms / 1000;
    match s {
        0 if ms > 0 => format!("{ms} ms"),
        0..60 => format!("{s} s"),
        60..3600 if s % 60 == 0 => format!("{} min", s / 60),
        60..3600 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

/// What a form field is called on the page, for error messages that came
/// from the API's checks (which name JSON fields).
pub fn field_label(field: &str) -> &str {
    match field {
        "note" => "Note",
        "elapsed" | "elapsed_ms" => "Elapsed",
        "status" => "Status",
        "name" => "Name",
        "current_password" => "Current password",
        "new_password" => "New password",
        other => other,
    }
}

/// What the page header shows besides the brand.
#[derive(Clone, Copy)]
enum Chrome<'a> {
    /// The sign-in page: nothing to navigate to yet.
    Bare,
    /// An error page without a known session: the way back in.
    Links,
    /// A signed-in user: the navigation, their name, signing out.
    Signed(&'a Session),
}

/// The whole page: head, header with navigation, main content.
pub fn page(title: &str, session: Option<&Session>, main: Markup) -> Markup {
    shell(title, session.map_or(Chrome::Bare, Chrome::Signed), main)
}

fn shell(title: &str, chrome: Chrome<'_>, main: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                // Same-origin form posts then carry a real Origin (not
                // `null`), which the sign-in form checks; other sites still
                // get no Referer.
                meta name="referrer" content="same-origin";
                title { (title) " · Verdict" }
                link rel="icon" type="image/svg+xml" href="/favicon.svg";
                link rel="stylesheet" href=(super::style_url());
                script src=(super::script_url()) defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/" { "Verdict" }
                    @match chrome {
                        Chrome::Bare => {},
                        Chrome::Links => {
                            nav aria-label="Main" {
                                a href="/projects" { "Projects" }
                                a href="/work" { "My work" }
                                a href="/tokens" { "Tokens" }
                            }
                        },
                        Chrome::Signed(s) => {
                            nav aria-label="Main" {
                                a href="/projects" { "Projects" }
                                a href="/work" { "My work" }
                                @if s.user.admin { a href="/users" { "Users" } }
                                a href="/tokens" { "Tokens" }
                            }
                            form.signout method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                span.who { (s.user.name) }
                                button type="submit" { "Sign out" }
                            }
                        },
                    }
                }
                main #main { (main) }
            }
        }
    }
}

/// A rendered page as an answer, with the status given.
pub fn respond(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        markup.into_string(),
    )
        .into_response()
}

/// A page that says what went wrong and where to go from there. It keeps
/// the navigation (the pages it links ask to sign in when needed).
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    error_page_for(None, status, title, message)
}

/// [`error_page`] with the signed-in header when the session is known.
pub fn error_page_for(
    session: Option<&Session>,
    status: StatusCode,
    title: &str,
    message: &str,
) -> Response {
    respond(
        status,
        shell(
            title,
            session.map_or(Chrome::Links, Chrome::Signed),
            html! {
                h1 { (title) }
                p.notice.error role="alert" { (message) }
                p { a href="/projects" { "Back to your projects" } }
            },
        ),
    )
}

/// "Previous / Page 2 of 5 / Next" links; `link(page)` builds each URL.
pub fn pager(page: u32, per_page: u32, total: i64, link: impl Fn(u32) -> String) -> Markup {
    pager_of("Pages", page, per_page, total, link)
}

/// A pager whose navigation landmark is called `label`: a page with more
/// than one pager names each ("Pages of runs").
pub fn pager_of(
    label: &str,
    page: u32,
    per_page: u32,
    total: i64,
    link: impl Fn(u32) -> String,
) -> Markup {
    let pages = u32::try_from((total.max(0) + i64::from(per_page) - 1) / i64::from(per_page))
        .unwrap_or(u32::MAX)
        .max(1);
    html! {
        @if pages > 1 || page > 1 {
            nav.pager aria-label=(label) {
                @if page > 1 {
                    a rel="prev" href=(link(page - 1)) { "← Previous" }
                }
                span { "Page " (page) " of " (pages) }
                @if page < pages {
                    a rel="next" href=(link(page + 1)) { "Next →" }
                }
            }
        }
    }
}

/// `part / whole` as a whole percentage (0 when there is no whole).
pub fn percent(part: i64, whole: i64) -> i64 {
    if whole <= 0 {
        0
    } else {
        (part * 100 + whole / 2) / whole
    }
}
