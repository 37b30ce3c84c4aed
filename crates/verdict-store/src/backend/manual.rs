//! Manual testing, what both backends decide alike: what an execution
//! stores besides its status (step results and defects, none for
//! `NotTested`), which result ids of an assignment are not in the run, and
//! how a section becomes a `LIKE` pattern.

use crate::{
    Execution, FieldError, ResultId, Status, StepResult, StoreError, StoreResult, defects_json,
    step_results_json,
};

/// The step results an execution stores (JSON text): none when there are
/// none, and none for `NotTested`, which clears the result like its note.
pub fn stored_steps(e: &Execution) -> Option<String> {
    if e.status == Status::NotTested {
        return None;
    }
    step_results_json(&e.step_results)
}

/// The defects an execution stores (JSON text), like [`stored_steps`].
pub fn stored_defects(e: &Execution) -> Option<String> {
    if e.status == Status::NotTested {
        return None;
    }
    defects_json(&e.defects)
}

/// The step results and defects a result holds after the execution.
pub fn kept(e: &Execution) -> (Vec<StepResult>, Vec<String>) {
    if e.status == Status::NotTested {
        return (Vec::new(), Vec::new());
    }
    (e.step_results.clone(), e.defects.clone())
}

/// `Invalid` naming `result_ids[i]` for every id the run does not hold, or
/// `Ok` when it holds them all.
pub fn check_result_ids(ids: &[ResultId], in_run: impl Fn(ResultId) -> bool) -> StoreResult<()> {
    let bad: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !in_run(**id))
        .map(|(i, id)| {
            FieldError::new(
                format!("result_ids[{i}]"),
                format!("{id} is not in this run"),
            )
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(bad))
    }
}

/// The `LIKE` pattern (escape character `\`) of the suites nested in
/// `section`: `section / %`, with the section's own `%`, `_` and `\` taken
/// literally. With `suite = section`, it is [`crate::in_section`] in SQL.
pub fn nested_pattern(section: &str) -> String {
    let mut p = String::with_capacity(section.len() + 4);
    for ch in section.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push_str(" / %");
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_wildcards() {
        assert_eq!(nested_pattern("Checkout"), "Checkout / %");
        assert_eq!(nested_pattern("50%_a\\b"), "50\\%\\_a\\\\b / %");
    }

    #[test]
    fn not_tested_stores_no_steps() {
        let mut e = Execution::new(Status::NotTested, None, None);
        e.defects = vec!["A-1".into()];
        assert_eq!(stored_defects(&e), None);
        e.status = Status::Failed;
        assert_eq!(stored_defects(&e).as_deref(), Some("[\"A-1\"]"));
        assert_eq!(stored_steps(&e), None);
    }
}
