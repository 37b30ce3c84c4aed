//! The run page's compact list: one line per result (status, title,
//! assignee, the first line of the note), each title a link that selects
//! the result (`?result=res_N`, a plain GET; `app.js` does it without a
//! reload and moves the selection with the keyboard). For a printed report
//! the line also carries who tested it and the whole note. Above the list:
//! the filters, the keyboard help and, for testers, the assignment tools
//! (the checked rows, every unassigned result, or a section, to someone).

use maud::{Markup, html};
use verdict_store::{ResultId, RunId, Status, TestResult};

use super::layout::{status_badge, status_label};
use super::run_view::{RunContext, View};
use crate::state::AppState;

/// What each line needs to know.
pub struct ListContext<'a> {
    pub ctx: &'a RunContext,
    pub view: &'a View,
    pub selected: Option<ResultId>,
}

/// The first line of a note (what the list shows of it).
pub fn first_line(note: Option<&str>) -> &str {
    note.and_then(|n| n.lines().find(|l| !l.trim().is_empty()))
        .map(str::trim)
        .unwrap_or("")
}

/// The note cell of a line: its first line on screen, all of it on paper.
pub fn note_cell(r: &TestResult) -> Markup {
    html! {
        span.first-line { (first_line(r.note.as_deref())) }
        @if let Some(n) = &r.note { span.print-only.full-note { (n) } }
    }
}

/// Who a result is assigned to, in words.
pub fn assignee_cell(r: &TestResult, ctx: &RunContext) -> Markup {
    html! {
        @match r.assigned_to {
            Some(u) => { (ctx.names.get(&u).cloned().unwrap_or_else(|| u.to_string())) }
            None => { span.nobody { span aria-hidden="true" { "—" } span.sr-only { "Nobody" } } }
        }
    }
}

/// Who tested it (only the printed report shows this column).
fn tester_cell(r: &TestResult, ctx: &RunContext) -> Markup {
    html! {
        @if let Some(by) = r.tested_by {
            (ctx.names.get(&by).cloned().unwrap_or_else(|| by.to_string()))
        }
    }
}

/// The list of results as a table.
pub fn table(list: &ListContext<'_>, items: &[TestResult]) -> Markup {
    let ctx = list.ctx;
    html! {
        table #results.compact data-editable=(ctx.can_record) data-run=(ctx.run.id) {
            caption.sr-only { "Results of " (ctx.run.name) }
            thead { tr {
                @if ctx.can_assign { th.c-pick scope="col" { span.sr-only { "Select" } } }
                th.c-status scope="col" { "Status" } th.c-title scope="col" { "Test case" }
                th.c-assignee scope="col" { "Assigned to" }
                th.c-tester.print-only scope="col" { "Tested by" }
                th.c-note scope="col" { "Note" }
            } }
            tbody {
                @for r in items { (row(list, r)) }
            }
        }
    }
}

/// One result as a line of the list.
pub fn row(list: &ListContext<'_>, r: &TestResult) -> Markup {
    let ctx = list.ctx;
    let id = r.id;
    let selected = list.selected == Some(id);
    let href = format!("{}#r-{id}", list.view.selected_url(ctx.run.id, id));
    html! {
        tr.result.selected[selected] #{ "r-" (id) } tabindex="-1" data-status=(r.status.as_str())
            aria-current=[selected.then_some("true")] {
            @if ctx.can_assign {
                td.pick {
                    input type="checkbox" name="result_ids" value=(id) form="assign-selected"
                        id={ "pick-" (id) } aria-label={ "Select " (r.case_title) };
                }
            }
            td.status { (status_badge(r.status)) }
            td.title { a.select href=(href) { (r.case_title) } }
            td.assignee { (assignee_cell(r, ctx)) }
            td.tested.print-only { (tester_cell(r, ctx)) }
            td.note-line { (note_cell(r)) }
        }
    }
}

pub fn filters(id: RunId, view: &View) -> Markup {
    html! {
        form.filters method="get" action={ "/runs/" (id) } role="search" {
            label for="status-filter" { "Status" }
            select #status-filter name="status" {
                option value="" selected[view.status.is_none()] { "All statuses" }
                @for s in Status::ALL {
                    option value=(s.as_str()) selected[view.status == Some(s)] { (status_label(s)) }
                }
            }
            label for="search" { "Title contains" }
            input #search type="search" name="q" value=(view.q.as_deref().unwrap_or(""))
                aria-keyshortcuts="/";
            button type="submit" { "Filter" }
            @if view.status.is_some() || view.q.is_some() {
                a href={ "/runs/" (id) } { "Clear" }
            }
        }
    }
}

pub fn help() -> Markup {
    html! {
        details #shortcuts.help {
            summary { "Keyboard shortcuts" }
            p { "Work down the list without the mouse. The highlighted line is the selected result, shown in detail; each key marks it and moves to the next result nobody has tested yet. Keys do nothing while you type in a field." }
            dl {
                dt { kbd { "p" } " " kbd { "f" } " " kbd { "b" } " " kbd { "r" } " " kbd { "n" } }
                dd { "Mark Passed, Failed, Blocked, Retest, Not tested — and go to the next untested result" }
                dt { kbd { "u" } } dd { "Undo your last mark on this page (the result gets back its status, note, elapsed, step results and defects; history keeps both)" }
                dt { kbd { "j" } " / " kbd { "↓" } ", " kbd { "k" } " / " kbd { "↑" } } dd { "Select the next / previous result" }
                dt { kbd { "Enter" } } dd { "Write a note for the selected result (" kbd { "Ctrl" } "+" kbd { "Enter" } " saves it, " kbd { "Esc" } " goes back)" }
                dt { kbd { "/" } } dd { "Search titles" }
                dt { kbd { "?" } } dd { "Show or hide this help" }
            }
        }
    }
}

/// A select of the people results can be assigned to, and "Nobody".
pub fn assignee_select(
    ctx: &RunContext,
    id: &str,
    chosen: Option<verdict_store::UserId>,
) -> Markup {
    html! {
        select id=(id) name="user_id" {
            option value="" selected[chosen.is_none()] { "Nobody" }
            @for (uid, name) in &ctx.assignable {
                option value=(uid) selected[chosen == Some(*uid)] { (name) }
            }
        }
    }
}

/// Assigning many at once: the lines checked in the list, every result
/// assigned to nobody, or a section. Each is a plain form (no script
/// needed); unassigning (to "Nobody") undoes it.
pub async fn assign_tools(state: &AppState, ctx: &RunContext, csrf: &str, back: &str) -> Markup {
    let id = ctx.run.id;
    // The run's project's sections; a failure to list them only hides
    // that one form.
    let sections: Vec<String> = match state.store.list_sections(ctx.project.id).await {
        Ok(s) => {
            let mut names: Vec<String> = Vec::new();
            for suite in s.into_iter().filter_map(|s| s.suite) {
                // Every level of a nested section is a section too.
                let parts: Vec<&str> = suite.split(" / ").collect();
                for n in 1..=parts.len() {
                    let name = parts[..n].join(" / ");
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            names.sort();
            names
        }
        Err(_) => Vec::new(),
    };
    html! {
        details.assign-tools.no-print {
            summary { "Assign results" }
            form #assign-selected.inline method="post" action={ "/runs/" (id) "/assign" } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="back" value=(back);
                input type="hidden" name="target" value="selected";
                label for="assign-selected-to" { "Assign the selected results to" }
                (assignee_select(ctx, "assign-selected-to", None))
                button type="submit" { "Assign selected" }
            }
            form.inline method="post" action={ "/runs/" (id) "/assign" } {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="back" value=(back);
                input type="hidden" name="target" value="unassigned";
                label for="assign-unassigned-to" { "Assign every unassigned result to" }
                (assignee_select(ctx, "assign-unassigned-to", None))
                button type="submit" { "Assign all unassigned" }
            }
            @if !sections.is_empty() {
                form.inline method="post" action={ "/runs/" (id) "/assign" } {
                    input type="hidden" name="csrf" value=(csrf);
                    input type="hidden" name="back" value=(back);
                    input type="hidden" name="target" value="section";
                    label for="assign-section" { "Assign section" }
                    select #assign-section name="suite" {
                        @for s in &sections { option value=(s) { (s) } }
                    }
                    label for="assign-section-to" { "to" }
                    (assignee_select(ctx, "assign-section-to", None))
                    button type="submit" { "Assign section" }
                }
            }
            p.hint { "Choose “Nobody” to unassign. Assigning changes no status, note or history." }
        }
    }
}
