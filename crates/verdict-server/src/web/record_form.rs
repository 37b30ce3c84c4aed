//! The result form as an execution: the status, note and elapsed time go
//! through the API's own check ([`execution::check`]); the step results
//! (`step_N_status`, `step_N_actual`, N from 1) and the defects (`defects`,
//! comma separated, or `defect` fields of one defect each, which the
//! script's undo sends) are gathered into the API's `step_results` and
//! `defects` and checked by the same code. A bad value is a message naming
//! the field and nothing is written.
//!
//! "Not tested" resets a result, so a note, elapsed time, step results or
//! defects typed with it are not sent (the form keeps what was typed in
//! other fields; a reset is never refused for it).

use serde_json::{Value, json};
use verdict_api::MAX_STEP_RESULTS;
use verdict_store::{Execution, FieldError, Status};

use super::session::Form;
use crate::execution::{self, RawEntry};

/// The form as the API's PATCH body, to be checked by the API's rules
/// ([`execution::check`]). A note keeps its line breaks (a browser posts a
/// textarea's as CRLF: stored as LF); `elapsed_ms` is what the script's
/// undo sends, to restore a time exactly. Step results and defects are
/// gathered into the body's arrays as typed (see [`step_results`] and
/// [`defects`]); their values are the check's to judge.
fn as_patch(form: &Form, errors: &mut Vec<FieldError>) -> Value {
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
    let steps = step_results(form, errors);
    if !steps.is_empty() {
        body["step_results"] = Value::Array(steps);
    }
    let defects = defects(form);
    if !defects.is_empty() {
        body["defects"] = json!(defects);
    }
    body
}

/// The step number of a field named `step_N_<what>`, if it is one.
fn step_number(name: &str, what: &str) -> Option<Result<usize, ()>> {
    let n = name.strip_prefix("step_")?.strip_suffix(what)?;
    let n = n.strip_suffix('_')?;
    Some(n.parse::<usize>().ok().filter(|n| *n >= 1).ok_or(()))
}

/// The step results of the form, by position, as the API's
/// `step_results`: every step up to the last one given a status or an
/// actual result; a step left blank before it is "not tested". None at
/// all: no step results. A step number past the API's limit is refused
/// here, before a list that long is built.
fn step_results(form: &Form, errors: &mut Vec<FieldError>) -> Vec<Value> {
    let mut statuses: Vec<(usize, &str)> = Vec::new();
    let mut actuals: Vec<(usize, String)> = Vec::new();
    for (name, value) in form.fields() {
        let (n, actual) = match (step_number(name, "status"), step_number(name, "actual")) {
            (Some(n), _) => (n, false),
            (None, Some(n)) => (n, true),
            (None, None) => continue,
        };
        match n {
            Err(()) => errors.push(FieldError::new(
                "step_results",
                format!("{name} is not a step field (steps count from 1)"),
            )),
            Ok(_) if value.trim().is_empty() => {}
            Ok(n) if actual => actuals.push((n, value.replace("\r\n", "\n"))),
            Ok(n) => statuses.push((n, value.trim())),
        }
    }
    let last = statuses
        .iter()
        .map(|(n, _)| *n)
        .chain(actuals.iter().map(|(n, _)| *n))
        .max()
        .unwrap_or(0);
    if last > MAX_STEP_RESULTS {
        errors.push(FieldError::new(
            "step_results",
            format!("at most {MAX_STEP_RESULTS} step results (step {last} was given)"),
        ));
        return Vec::new();
    }
    let mut steps = vec![json!({ "status": Status::NotTested.as_str() }); last];
    for (n, value) in statuses {
        steps[n - 1]["status"] = json!(value);
    }
    for (n, value) in actuals {
        steps[n - 1]["actual"] = json!(value);
    }
    steps
}

/// The defects of the form: `defects` split at commas, then each `defect`
/// field whole; blanks skipped. Trimming, repeats and limits are the
/// API's rules.
fn defects(form: &Form) -> Vec<String> {
    let mut given: Vec<String> = Vec::new();
    for (name, value) in form.fields() {
        match name {
            "defects" => given.extend(value.split(',').map(str::to_string)),
            "defect" => given.push(value.to_string()),
            _ => {}
        }
    }
    given.retain(|d| !d.trim().is_empty());
    given
}

/// The execution the form asks for, or every problem with it.
pub fn execution(form: &Form, max_note_bytes: usize) -> Result<Execution, Vec<FieldError>> {
    let mut errors = Vec::new();
    let body = as_patch(form, &mut errors);
    let raw: RawEntry = serde_json::from_value(body).map_err(|e| {
        vec![FieldError::new(
            "body",
            format!("cannot read this form: {e}"),
        )]
    })?;
    match execution::check(&raw, String::new, false, max_note_bytes) {
        Ok((_, execution)) if errors.is_empty() => Ok(execution),
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
