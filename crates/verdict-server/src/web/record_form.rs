//! The result form as an execution: the status, note and elapsed time go
//! through the API's own check ([`execution::check`]); the step results
//! (`step_N_status`, `step_N_actual`, N from 1) and the defects (`defects`,
//! comma separated, or `defect` fields of one defect each, which the
//! script's undo sends) follow the API's rules for `step_results` and
//! `defects`. A bad value is a message naming the field and nothing is
//! written.
//!
//! "Not tested" resets a result, so a note, elapsed time, step results or
//! defects typed with it are not sent (the form keeps what was typed in
//! other fields; a reset is never refused for it).

use serde_json::{Value, json};
use verdict_store::{Execution, FieldError, Status, StepResult};

use super::session::Form;
use crate::execution::{self, RawEntry};

/// At most this many step results per execution.
pub const MAX_STEP_RESULTS: usize = 100;
/// At most this many characters of "actual" per step.
pub const MAX_ACTUAL_CHARS: usize = 10_000;
/// At most this many defects per execution.
pub const MAX_DEFECTS: usize = 50;
/// At most this many characters per defect id.
pub const MAX_DEFECT_CHARS: usize = 255;

/// The form as the API's PATCH body (status, note, elapsed), to be checked
/// by the API's rules. A note keeps its line breaks (a browser posts a
/// textarea's as CRLF: stored as LF); `elapsed_ms` is what the script's
/// undo sends, to restore a time exactly.
fn as_patch(form: &Form) -> Value {
    let status = form.text("status");
    let mut body = json!({ "status": status });
    if status == Status::NotTested.as_str() {
        return body;
    }
    if let Some(n) = form
        .get("note")
        .map(|n| n.replace("\r\n", "\n"))
        .filter(|n| !n.trim().is_empty())
    {
        body["note"] = json!(n.trim());
    }
    for field in ["elapsed", "elapsed_ms"] {
        if let Some(e) = form.get(field).map(str::trim).filter(|e| !e.is_empty()) {
            // A number stays a number; anything else is refused by the check.
            body[field] = e.parse::<i64>().map(Value::from).unwrap_or(json!(e));
        }
    }
    body
}

/// The step number of a field named `step_N_<what>`, if it is one.
fn step_number(name: &str, what: &str) -> Option<Result<usize, ()>> {
    let n = name.strip_prefix("step_")?.strip_suffix(what)?;
    let n = n.strip_suffix('_')?;
    Some(n.parse::<usize>().ok().filter(|n| *n >= 1).ok_or(()))
}

/// The step results of the form, by position: every step up to the last
/// one given a status or an actual result; a step left blank before it is
/// "not tested". None at all: no step results.
fn step_results(form: &Form, errors: &mut Vec<FieldError>) -> Vec<StepResult> {
    let mut statuses: Vec<(usize, &str)> = Vec::new();
    let mut actuals: Vec<(usize, &str)> = Vec::new();
    for (name, value) in form.fields() {
        for (what, into) in [("status", &mut statuses), ("actual", &mut actuals)] {
            match step_number(name, what) {
                None => {}
                Some(Err(())) => errors.push(FieldError::new(
                    "step_results",
                    format!("{name} is not a step field (steps count from 1)"),
                )),
                Some(Ok(n)) if !value.trim().is_empty() => into.push((n, value)),
                Some(Ok(_)) => {}
            }
        }
    }
    let last = statuses
        .iter()
        .chain(&actuals)
        .map(|(n, _)| *n)
        .max()
        .unwrap_or(0);
    if last == 0 {
        return Vec::new();
    }
    if last > MAX_STEP_RESULTS {
        errors.push(FieldError::new(
            "step_results",
            format!("at most {MAX_STEP_RESULTS} step results (step {last} was given)"),
        ));
        return Vec::new();
    }
    let mut steps = vec![
        StepResult {
            status: Status::NotTested,
            actual: None,
        };
        last
    ];
    for (n, value) in statuses {
        match Status::parse(value.trim()) {
            Some(s) => steps[n - 1].status = s,
            None => errors.push(FieldError::new(
                format!("step_results[{}].status", n - 1),
                "must be one of passed, failed, blocked, retest, not_tested",
            )),
        }
    }
    for (n, value) in actuals {
        let text = value.replace("\r\n", "\n");
        let text = text.trim();
        if text.chars().count() > MAX_ACTUAL_CHARS {
            errors.push(FieldError::new(
                format!("step_results[{}].actual", n - 1),
                format!("must be at most {MAX_ACTUAL_CHARS} characters"),
            ));
        } else {
            steps[n - 1].actual = Some(text.to_string());
        }
    }
    steps
}

/// The defects of the form: `defects` split at commas, then each `defect`
/// field whole; trimmed, blanks skipped, repeats dropped (the first kept).
fn defects(form: &Form, errors: &mut Vec<FieldError>) -> Vec<String> {
    let mut given: Vec<String> = Vec::new();
    for (name, value) in form.fields() {
        match name {
            "defects" => given.extend(value.split(',').map(|d| d.trim().to_string())),
            "defect" => given.push(value.trim().to_string()),
            _ => {}
        }
    }
    let mut out: Vec<String> = Vec::new();
    for d in given.into_iter().filter(|d| !d.is_empty()) {
        let i = out.len();
        if d.chars().count() > MAX_DEFECT_CHARS {
            errors.push(FieldError::new(
                format!("defects[{i}]"),
                format!("must be at most {MAX_DEFECT_CHARS} characters"),
            ));
        } else if d.chars().any(char::is_control) {
            errors.push(FieldError::new(
                format!("defects[{i}]"),
                "must not contain control characters",
            ));
        } else if !out.contains(&d) {
            out.push(d);
        }
    }
    if out.len() > MAX_DEFECTS {
        errors.push(FieldError::new(
            "defects",
            format!("at most {MAX_DEFECTS} defects ({} given)", out.len()),
        ));
    }
    out
}

/// The execution the form asks for, or every problem with it.
pub fn execution(form: &Form, max_note_bytes: usize) -> Result<Execution, Vec<FieldError>> {
    let body = as_patch(form);
    let raw: RawEntry = serde_json::from_value(body).map_err(|e| {
        vec![FieldError::new(
            "body",
            format!("cannot read this form: {e}"),
        )]
    })?;
    let checked = execution::check(&raw, String::new, false, max_note_bytes);
    let mut errors = Vec::new();
    let resets = form.get("status") == Some(Status::NotTested.as_str());
    let (steps, defects) = if resets {
        (Vec::new(), Vec::new())
    } else {
        (step_results(form, &mut errors), defects(form, &mut errors))
    };
    match checked {
        Ok((_, mut execution)) if errors.is_empty() => {
            execution.step_results = steps;
            execution.defects = defects;
            Ok(execution)
        }
        Ok(_) => Err(errors),
        Err(mut fields) => {
            fields.append(&mut errors);
            Err(fields)
        }
    }
}

/// What a field is called on the page, for a message.
pub fn label(field: &str) -> String {
    if let Some(rest) = field.strip_prefix("step_results[") {
        if let Some((i, what)) = rest.split_once("].") {
            let n = i.parse::<usize>().map(|i| i + 1).unwrap_or(0);
            let what = if what == "actual" {
                "actual result"
            } else {
                "result"
            };
            return format!("Step {n} {what}");
        }
        return "Step results".into();
    }
    if let Some(rest) = field.strip_prefix("defects[") {
        let n = rest
            .trim_end_matches(']')
            .parse::<usize>()
            .map(|i| i + 1)
            .unwrap_or(0);
        return format!("Defect {n}");
    }
    match field {
        "step_results" => "Step results".into(),
        "defects" => "Defects".into(),
        other => super::layout::field_label(other).to_string(),
    }
}

/// Every problem as one sentence for the page.
pub fn message(fields: &[FieldError]) -> String {
    fields
        .iter()
        .map(|f| format!("{}: {}", label(&f.field), f.message))
        .collect::<Vec<_>>()
        .join("; ")
}
