//! Bulk uploads (atomic or partial, idempotent on request): the run read,
//! each entry's case located in it, then the executions written one by one
//! on the writer, all in one transaction. What is refused and what the
//! executions do is decided by `verdict_store::backend::bulk`.

use rusqlite::{Connection, OptionalExtension};
use verdict_store::backend::bulk::{self, Applied, Located, Slot};
use verdict_store::*;

use crate::db_err;
use crate::idempotency;
use crate::results::{Executions, status_of};
use crate::runs::{add_counts, get_run, open_run};

/// Where each case of a bulk lives in the run.
pub(crate) fn locate(c: &Connection, run: &Run, entries: &[BulkEntry]) -> StoreResult<Located> {
    let mut located = Located::with_capacity(entries.len());
    // A bulk that covers much of its run reads the run once; a small one
    // looks up each case.
    if entries.len() > 256 && (entries.len() as i64) * 8 >= run.counts.total() {
        let mut stmt = c
            .prepare_cached(
                "SELECT case_id, id, status, elapsed_ms, flags FROM results WHERE run_id = ?1",
            )
            .map_err(db_err)?;
        let rows = stmt
            .query_map([run.id.get()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    Slot {
                        id: r.get(1)?,
                        status: status_of(r.get(2)?)?,
                        elapsed_ms: r.get(3)?,
                        flags: r.get(4)?,
                    },
                ))
            })
            .map_err(db_err)?;
        for row in rows {
            let (case, at) = row.map_err(db_err)?;
            located.insert(case, at);
        }
        return Ok(located);
    }
    let mut stmt = c
        .prepare_cached(
            "SELECT id, status, elapsed_ms, flags FROM results WHERE run_id = ?1 AND case_id = ?2",
        )
        .map_err(db_err)?;
    for entry in entries {
        let case = entry.case_id.get();
        if located.contains_key(&case) {
            continue;
        }
        let at = stmt
            .query_row([run.id.get(), case], |r| {
                Ok(Slot {
                    id: r.get(0)?,
                    status: status_of(r.get(1)?)?,
                    elapsed_ms: r.get(2)?,
                    flags: r.get(3)?,
                })
            })
            .optional()
            .map_err(db_err)?;
        if let Some(at) = at {
            located.insert(case, at);
        }
    }
    Ok(located)
}

/// Writes what [`bulk::apply`] worked out: each execution in order (with
/// its result's flags afterwards), then the run's counts and elapsed sum.
pub(crate) fn write_applied(
    c: &Connection,
    run: RunId,
    applied: &Applied<'_>,
    actor: UserId,
    now: Timestamp,
) -> StoreResult<()> {
    let mut executions = Executions::prepare(c)?;
    for (result, execution) in &applied.executions {
        let flags = applied.flags.get(result).copied().unwrap_or(0);
        executions.apply(*result, execution, flags, actor, now)?;
    }
    add_counts(c, run, &applied.delta, applied.elapsed_delta)
}

/// The `results.recorded` event of a bulk or an import that applied
/// anything.
pub(crate) fn recorded(
    c: &Connection,
    run: &Run,
    applied: &Applied<'_>,
    now: Timestamp,
) -> StoreResult<()> {
    if applied.executions.is_empty() {
        return Ok(());
    }
    // The run as read (and, on PostgreSQL, locked with its stripes folded)
    // before this write, plus what it changed.
    let mut counts = run.counts;
    counts.add_all(&applied.delta);
    let facts = RecordedFacts::of(run.id, &applied.executions, counts);
    crate::webhooks::enqueue(c, run.project_id, EventType::ResultsRecorded, &facts, now)
}

pub(crate) fn record_bulk(c: &Connection, req: BulkRequest) -> StoreResult<BulkOutcome> {
    // A refused request only names what is wrong: no replay, and a closed
    // run does not hide the entries' errors.
    if !req.is_refused()
        && let Some(idem) = &req.idempotency
        && let Some(mut outcome) = idempotency::replay::<BulkOutcome>(c, req.actor, idem, req.now)?
    {
        outcome.replayed = true;
        return Ok(outcome);
    }
    let run = if req.is_refused() {
        get_run(c, req.run)?
    } else {
        open_run(c, req.run)?
    };
    let mut located = locate(c, &run, &req.entries)?;
    let rejected = bulk::check(&req, |case| located.contains_key(&case.get()))?;
    let applied = bulk::apply(&req.entries, &mut located, Counts::default());
    write_applied(c, run.id, &applied, req.actor, req.now)?;
    recorded(c, &run, &applied, req.now)?;
    let outcome = applied.outcome(rejected);
    if let Some(idem) = &req.idempotency {
        idempotency::remember(c, req.actor, idem, req.now, &outcome)?;
    }
    Ok(outcome)
}
