//! Bulk uploads: which entries are refused and why, and what applying the
//! rest does to each result and to the run's counts. A backend locates the
//! entries' cases in the run (and locks what it must), calls [`check`],
//! then [`apply`], and writes what `apply` worked out ([`Applied`]).

use std::collections::HashMap;

use crate::{
    AppliedEntry, BulkEntry, BulkOutcome, BulkRequest, CaseId, Counts, Execution, FieldError,
    Rejection, ResultId, Status, StoreError, StoreResult,
};

/// A result as a bulk finds it: its id and what applying executions
/// changes (status, elapsed time, flags).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub id: i64,
    pub status: Status,
    pub elapsed_ms: Option<i64>,
    /// [`super::triage::FLAG_FAILED`] and friends.
    pub flags: i64,
}

/// Where each case of a bulk lives in its run: case id → its result. Cases
/// the run does not hold are absent.
pub type Located = HashMap<i64, Slot>;

/// The rejections of a bulk, given which cases are in its run, or its
/// error. Refused entries are rejected with code `validation_failed` (their
/// errors joined), entries whose case is not in the run with
/// `case_not_in_run`, all in index order. An atomic request with either
/// kind fails instead with `Invalid` naming every bad field in index order.
pub fn check(req: &BulkRequest, in_run: impl Fn(CaseId) -> bool) -> StoreResult<Vec<Rejection>> {
    let mut errors: Vec<(usize, FieldError)> = Vec::new();
    let mut rejected = Vec::new();
    for refused in &req.refused {
        rejected.push(Rejection {
            index: refused.index,
            test_case_id: refused.test_case_id.clone(),
            code: "validation_failed".into(),
            message: refused
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        });
        errors.extend(refused.errors.iter().map(|e| (refused.index, e.clone())));
    }
    for entry in req.entries.iter().filter(|e| !in_run(e.case_id)) {
        let message = format!("{} is not in this run", entry.case_id);
        errors.push((
            entry.index,
            FieldError::new(
                format!("results[{}].test_case_id", entry.index),
                message.clone(),
            ),
        ));
        rejected.push(Rejection {
            index: entry.index,
            test_case_id: Some(entry.case_id.to_string()),
            code: "case_not_in_run".into(),
            message,
        });
    }
    if !req.partial && !errors.is_empty() {
        // Stable: an entry's own errors keep their order.
        errors.sort_by_key(|(index, _)| *index);
        return Err(StoreError::Invalid(
            errors.into_iter().map(|(_, e)| e).collect(),
        ));
    }
    rejected.sort_by_key(|r| r.index);
    Ok(rejected)
}

/// What applying entries in order does (see [`apply`]).
#[derive(Debug)]
pub struct Applied<'a> {
    /// One per applied entry, in request order.
    pub results: Vec<AppliedEntry>,
    /// (result id, execution) per applied entry, in request order: the
    /// history rows to append, in this order.
    pub executions: Vec<(i64, &'a Execution)>,
    /// How the run's counts change.
    pub delta: Counts,
    /// How the sum of the run's elapsed times changes.
    pub elapsed_delta: i64,
    /// Each written result's flags afterwards, by result id.
    pub flags: HashMap<i64, i64>,
}

impl<'a> Applied<'a> {
    /// The last execution of each result and its flags afterwards, by
    /// result id: what the results hold afterwards.
    pub fn current(&self) -> Vec<(i64, &'a Execution, i64)> {
        let last: HashMap<i64, &Execution> = self.executions.iter().copied().collect();
        let mut current: Vec<(i64, &Execution, i64)> = last
            .into_iter()
            .map(|(id, e)| (id, e, self.flags.get(&id).copied().unwrap_or(0)))
            .collect();
        current.sort_unstable_by_key(|(id, _, _)| *id);
        current
    }
}

/// Applies entries in order, in memory: each is one execution of its case's
/// result, the last one per result current; `located` follows the statuses,
/// and the counts change by `delta` (results added to the run on the way,
/// say) plus the executions' effect. Entries whose case is not located are
/// skipped ([`check`] named them).
pub fn apply<'a>(entries: &'a [BulkEntry], located: &mut Located, delta: Counts) -> Applied<'a> {
    let mut applied = Applied {
        results: Vec::with_capacity(entries.len()),
        executions: Vec::with_capacity(entries.len()),
        delta,
        elapsed_delta: 0,
        flags: HashMap::new(),
    };
    for entry in entries {
        let Some(slot) = located.get_mut(&entry.case_id.get()) else {
            continue;
        };
        applied.delta.add(slot.status, -1);
        applied.delta.add(entry.execution.status, 1);
        applied.elapsed_delta +=
            entry.execution.elapsed_ms.unwrap_or(0) - slot.elapsed_ms.unwrap_or(0);
        slot.status = entry.execution.status;
        slot.elapsed_ms = entry.execution.elapsed_ms;
        slot.flags = super::triage::next_flags(slot.flags, entry.execution.status);
        applied.flags.insert(slot.id, slot.flags);
        applied.executions.push((slot.id, &entry.execution));
        applied.results.push(AppliedEntry {
            id: ResultId::from_db(slot.id),
            test_case_id: entry.case_id,
            status: entry.execution.status,
        });
    }
    applied
}

/// The answer to a bulk that applied `results` and rejected `rejected`.
pub fn outcome(results: Vec<AppliedEntry>, rejected: Vec<Rejection>) -> BulkOutcome {
    BulkOutcome {
        updated: results.len() as u64,
        results,
        rejected,
        replayed: false,
    }
}

impl Applied<'_> {
    /// The answer to a bulk that did this and rejected `rejected`.
    pub fn outcome(self, rejected: Vec<Rejection>) -> BulkOutcome {
        outcome(self.results, rejected)
    }
}
