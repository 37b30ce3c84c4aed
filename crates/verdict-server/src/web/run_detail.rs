//! The selected result in detail, beside the run page's list: what its
//! case asks (priority, refs, preconditions, steps), what it holds now
//! (the note in full, elapsed, step results, defects as links when the
//! project has a defect link template), the form that records an execution
//! (a status per step with what actually happened, the status buttons, a
//! note, elapsed and defects — every field empty, so a click records only
//! what this tester entered), who it is assigned to, and its latest
//! executions. The run page renders it for the selected result; the
//! script asks for it (`GET /runs/:rid/results/:id` as JSON) when the
//! selection moves, and after each save.

use maud::{Markup, html};
use verdict_store::{Case, Page, ResultId, RunId, Status, StepResult, TestResult, UserId};

use super::layout::{elapsed, status_badge, status_key, status_label, status_symbol, time};
use super::run_list::assignee_select;
use super::run_view::{Names, RunContext, add_names};
use super::session::Session;
use super::{WebError, WebResult, files};
use crate::state::AppState;

/// How many executions the detail lists (the history page has them all).
pub const HISTORY_SHOWN: u32 = 10;

/// What the detail is drawn with.
pub struct Detail<'a> {
    pub ctx: &'a RunContext,
    pub csrf: &'a str,
    /// The page to come back to after a post (the same view, this result).
    pub back: &'a str,
    /// A problem with the last post of this form.
    pub error: Option<&'a str>,
    /// Who looks (an uploader may delete their own files).
    pub user: UserId,
}

/// Percent-encodes everything but the unreserved characters of RFC 3986.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A defect's link, when the project has a template.
pub fn defect_url(template: Option<&str>, defect: &str) -> Option<String> {
    template.map(|t| t.replace("{id}", &percent_encode(defect)))
}

/// Defects as links (or plain text without a template), comma separated.
pub fn defects(template: Option<&str>, list: &[String]) -> Markup {
    html! {
        span.defects {
            @for (i, d) in list.iter().enumerate() {
                @if i > 0 { ", " }
                @match defect_url(template, d) {
                    Some(u) => { a.defect href=(u) rel="noopener noreferrer" { (d) } }
                    None => { span.defect { (d) } }
                }
            }
        }
    }
}

/// What the result holds now, read-only: its note in full (line breaks
/// kept), its elapsed time and its defects.
pub fn current(r: &TestResult, template: Option<&str>) -> Markup {
    html! {
        div.current {
            @if let Some(note) = &r.note {
                p.current-note { span.label { "Note" } span.text { (note) } }
            }
            @if r.elapsed_ms.is_some() {
                p.current-elapsed { span.label { "Elapsed" } " " (elapsed(r.elapsed_ms)) }
            }
            @if !r.defects.is_empty() {
                p.current-defects { span.label { "Defects" } " " (defects(template, &r.defects)) }
            }
        }
    }
}

/// One step result in words: "Passed", "Failed — what happened".
fn step_result(s: &StepResult) -> Markup {
    html! {
        (status_badge(s.status))
        @if let Some(a) = &s.actual { " " span.actual { (a) } }
    }
}

/// Step results as a list (for the history).
fn step_results(list: &[StepResult]) -> Markup {
    html! {
        @if !list.is_empty() {
            ol.step-results {
                @for s in list { li { (step_result(s)) } }
            }
        }
    }
}

/// The result as it is now and its detail, for the run page's script
/// (errors answered as JSON): after a post, or when it selects a result.
pub async fn fresh(
    state: &AppState,
    session: &Session,
    run: RunId,
    id: ResultId,
    back: &str,
) -> WebResult<(TestResult, Markup)> {
    let to_json = |e: WebError| match e {
        WebError::Page(e) => WebError::Json(e),
        other => other,
    };
    let ctx = RunContext::load(state, session, run)
        .await
        .map_err(to_json)?;
    let result = state
        .store
        .get_result(run, id)
        .await
        .map_err(|e| WebError::Json(e.into()))?;
    let d = Detail {
        ctx: &ctx,
        csrf: &session.csrf,
        back,
        error: None,
        user: session.user.id,
    };
    let html = render(state, &d, &result).await.map_err(to_json)?;
    Ok((result, html))
}

/// The detail of result `r`.
pub async fn render(state: &AppState, d: &Detail<'_>, r: &TestResult) -> WebResult<Markup> {
    let ctx = d.ctx;
    let case = state.store.get_case(r.case_id).await?;
    let history = state
        .store
        .result_history(
            r.run_id,
            r.id,
            Page {
                page: 1,
                per_page: HISTORY_SHOWN,
            },
        )
        .await?;
    let mut names: Names = ctx.names.clone();
    add_names(
        state,
        &mut names,
        history
            .items
            .iter()
            .map(|e| e.tested_by)
            .chain(r.tested_by)
            .chain(r.assigned_to),
    )
    .await;
    let template = ctx.project.defect_url_template.as_deref();
    let name = |u| names.get(&u).cloned().unwrap_or_else(|| u.to_string());
    let id = r.id;
    let rid = r.run_id;
    let files = state.store.list_attachments(rid, id).await?;
    // The latest execution's output: the result's own when it was read,
    // else the newest history entry's (the same execution).
    let output = r
        .output
        .as_deref()
        .or_else(|| history.items.first().and_then(|e| e.output.as_deref()));
    Ok(html! {
        h3 #detail-heading { (r.case_title) }
        p.detail-status {
            span #detail-status { (status_badge(r.status)) }
            @if let (Some(by), Some(at)) = (r.tested_by, r.tested_at) {
                " " span.by { "by " (name(by)) } " " span.at { (time(at)) }
            }
        }
        p.detail-links.small {
            a href={ "/cases/" (r.case_id) } title="This test case across runs" { "Case page" }
            " · " a.history href={ "/runs/" (rid) "/results/" (id) "/history" } { "Full history" }
        }
        (case_fields(&case, r))
        @if let Some(p) = &case.details.preconditions {
            h4 { "Preconditions" }
            p.multiline.preconditions { (p) }
        }
        (current(r, template))
        @if let Some(o) = output {
            (files::output(o, &format!("/runs/{rid}/results/{id}/output")))
        }
        @if d.ctx.can_record {
            (record_form(d, r, &case))
        } @else if !case.details.steps.is_empty() {
            h4 { "Steps" }
            ol.steps {
                @for (i, step) in case.details.steps.iter().enumerate() {
                    li {
                        span.action.multiline { (step.action) }
                        @if let Some(e) = &step.expected { span.expected.multiline { "Expected: " (e) } }
                        @if let Some(s) = r.step_results.get(i) { span.now { "Result: " (step_result(s)) } }
                    }
                }
            }
        }
        section.detail-files #{ "files-" (id) } aria-labelledby={ "files-heading-" (id) } {
            h4 #{ "files-heading-" (id) } { "Attachments" }
            (files::list(&files, &history.items, history.total,
                |a| files::can_delete(a, ctx.role, d.user)))
            @if ctx.can_record {
                (files::attach_form(&rid.to_string(), &id.to_string(), d.csrf, d.back,
                    state.limits.max_attachment_bytes))
            }
        }
        @if ctx.can_assign {
            form.assign-one.inline method="post" action={ "/runs/" (rid) "/results/" (id) "/assign" } {
                input type="hidden" name="csrf" value=(d.csrf);
                input type="hidden" name="back" value=(d.back);
                label for={ "assignee-" (id) } { "Assigned to" }
                (assignee_select(ctx, &format!("assignee-{id}"), r.assigned_to))
                button type="submit" { "Assign" }
            }
        } @else {
            p.assigned { "Assigned to: "
                @match r.assigned_to { Some(u) => { (name(u)) }, None => { "nobody" } } }
        }
        section.detail-history aria-labelledby={ "history-" (id) } {
            h4 #{ "history-" (id) } { "History" }
            @if history.items.is_empty() {
                p.hint { "Nothing has been recorded for this result yet." }
            } @else {
                ol.executions {
                    @for e in &history.items {
                        li {
                            (status_badge(e.status)) " " span.by { (name(e.tested_by)) } " " span.at { (time(e.tested_at)) }
                            @if e.elapsed_ms.is_some() { " · " (elapsed(e.elapsed_ms)) }
                            @if let Some(n) = &e.note { span.note.multiline { (n) } }
                            (step_results(&e.step_results))
                            @if !e.defects.is_empty() { span.exec-defects { "Defects: " (defects(template, &e.defects)) } }
                        }
                    }
                }
                @if history.total > i64::from(HISTORY_SHOWN) {
                    p.small { a href={ "/runs/" (rid) "/results/" (id) "/history" } {
                        "All " (history.total) " executions" } }
                }
            }
        }
    })
}

/// Priority, refs and section of the case.
fn case_fields(case: &Case, r: &TestResult) -> Markup {
    let _ = r;
    html! {
        @if case.details.priority.is_some() || !case.details.refs.is_empty() || case.suite.is_some() {
            dl.case-fields {
                @if let Some(s) = &case.suite { div { dt { "Section" } dd { (s) } } }
                @if let Some(p) = case.details.priority {
                    div { dt { "Priority" } dd.priority { (p.as_str()) } }
                }
                @if !case.details.refs.is_empty() {
                    div { dt { "Refs" } dd.refs { (case.details.refs.join(", ")) } }
                }
            }
        }
    }
}

/// The form that records one execution: a result per step, a status,
/// a note, elapsed and defects, all empty to start with.
fn record_form(d: &Detail<'_>, r: &TestResult, case: &Case) -> Markup {
    let id = r.id;
    html! {
        form.record #{ "record-" (id) } method="post" action={ "/runs/" (r.run_id) "/results/" (id) } {
            input type="hidden" name="csrf" value=(d.csrf);
            input type="hidden" name="back" value=(d.back);
            // First in the form, so Enter in a text field saves with the
            // current status (not "Passed").
            button.save type="submit" name="status" value=(r.status.as_str()) { "Save with status unchanged" }
            @if !case.details.steps.is_empty() {
                fieldset.steps {
                    legend { "Steps" }
                    ol.steps {
                        @for (i, step) in case.details.steps.iter().enumerate() {
                            @let n = i + 1;
                            li.step {
                                span.action.multiline { (step.action) }
                                @if let Some(e) = &step.expected { span.expected.multiline { "Expected: " (e) } }
                                @if let Some(s) = r.step_results.get(i) { span.now { "Now: " (step_result(s)) } }
                                span.step-fields {
                                    span.field {
                                        label for={ "step-" (id) "-" (n) } { "Step " (n) " result" }
                                        select id={ "step-" (id) "-" (n) } name={ "step_" (n) "_status" } {
                                            option value="" selected { "—" }
                                            @for s in Status::ALL {
                                                option value=(s.as_str()) { (status_label(s)) }
                                            }
                                        }
                                    }
                                    span.field.actual {
                                        label for={ "actual-" (id) "-" (n) } { "Step " (n) " actual result" }
                                        input type="text" id={ "actual-" (id) "-" (n) } name={ "step_" (n) "_actual" };
                                    }
                                }
                            }
                        }
                    }
                }
            }
            fieldset.statuses {
                legend { "Mark " span.sr-only { (r.case_title) } " as" }
                @for s in Status::ALL {
                    button type="submit" name="status" value=(s.as_str())
                        class={ "mark st-" (s.as_str()) }
                        aria-pressed=(s == r.status)
                        aria-keyshortcuts=(status_key(s))
                        title={ (status_label(s)) " (key " (status_key(s)) ")" } {
                        span aria-hidden="true" { (status_symbol(s)) " " }
                        (status_label(s))
                    }
                }
            }
            span.field.note {
                label for={ "note-" (id) } { "New note" }
                textarea #{ "note-" (id) } name="note" rows="2" {}
            }
            span.field.elapsed {
                label for={ "elapsed-" (id) } { "Elapsed (s)" }
                input #{ "elapsed-" (id) } type="number" name="elapsed" min="0"
                    step="1" inputmode="numeric";
            }
            span.field.defects-field {
                label for={ "defects-" (id) } { "Defects (comma separated)" }
                input #{ "defects-" (id) } type="text" name="defects" autocomplete="off";
            }
            @if let Some(e) = d.error { p.field-error role="alert" { (e) } }
        }
    }
}
