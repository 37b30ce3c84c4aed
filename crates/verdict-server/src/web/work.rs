//! *My work* (`/work`): the results assigned to me across the open runs of
//! my projects, untested first (the store's order), grouped by project and
//! run; each line links to the run page with that result selected, where
//! it is recorded. With nothing assigned, the page says how work gets
//! assigned.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use verdict_store::{Page, RunId};

use super::WebResult;
use super::layout::{page, pager, respond, status_badge};
use super::projects::page_number;
use super::run_list::first_line;
use super::session::Session;
use crate::extract::WebQuery;
use crate::state::AppState;

pub const WORK_PER_PAGE: u32 = 100;

/// GET /work (`page`)
pub async fn show(
    State(state): State<AppState>,
    session: Session,
    mut q: WebQuery,
) -> WebResult<Response> {
    let page_no = page_number(&mut q, "page");
    let work = state
        .store
        .my_work(
            session.user.id,
            Page {
                page: page_no,
                per_page: WORK_PER_PAGE,
            },
        )
        .await?;
    let untested = work
        .items
        .iter()
        .filter(|w| w.result.status == verdict_store::Status::NotTested)
        .count();
    // Groups of lines of one run, in the store's order (a run may come
    // back after another: untested first, then the rest).
    let mut groups: Vec<(
        RunId,
        &verdict_store::WorkItem,
        Vec<&verdict_store::WorkItem>,
    )> = Vec::new();
    for w in &work.items {
        match groups.iter_mut().find(|g| g.0 == w.result.run_id) {
            Some(g) => g.2.push(w),
            None => groups.push((w.result.run_id, w, vec![w])),
        }
    }
    let main = html! {
        h1 { "My work" }
        @if work.items.is_empty() && page_no == 1 {
            div.notice.empty-work {
                p { strong { "Nothing is assigned to you in an open run." } }
                p { "Results get assigned on a run's page: open a run from "
                    a href="/projects" { "your projects" }
                    ", tick results (or pick a section) under “Assign results”, and choose who tests them. Assign some to yourself to see them here." }
            }
        } @else {
            p.meta { (work.total) " result" @if work.total != 1 { "s" } " assigned to you in open runs"
                @if untested > 0 { " · " (untested) " on this page not tested yet" } }
            @for (run, head, items) in &groups {
                section.work-run aria-labelledby={ "work-" (run) } {
                    h2 #{ "work-" (run) } {
                        span.project { (head.project_name) } " › "
                        a href={ "/runs/" (run) } { (head.run_name) }
                    }
                    table.list.work {
                        caption.sr-only { "Assigned to you in " (head.run_name) " (" (head.project_name) ")" }
                        thead { tr { th scope="col" { "Status" } th scope="col" { "Test case" } th scope="col" { "Note" } } }
                        tbody {
                            @for w in items {
                                tr data-status=(w.result.status.as_str()) {
                                    td { (status_badge(w.result.status)) }
                                    td { a href={ "/runs/" (run) "?result=" (w.result.id) "#r-" (w.result.id) } { (w.result.case_title) } }
                                    td.note-line { (first_line(w.result.note.as_deref())) }
                                }
                            }
                        }
                    }
                }
            }
            (pager(page_no, WORK_PER_PAGE, work.total, |n| format!("/work?page={n}")))
        }
    };
    Ok(respond(
        StatusCode::OK,
        page("My work", Some(&session), main),
    ))
}
