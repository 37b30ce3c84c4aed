//! Bulk uploads, set-based: a constant number of round trips whatever the
//! number of entries. What is refused and what the executions do is
//! decided by `verdict_store::backend::bulk`; this module does the I/O.
//!
//! 1. idempotency: lock the key, replay a stored answer (pipelined, 1 trip)
//! 2. lock the run row (`FOR UPDATE`): serializes writers of this run's
//!    results and counts, and makes the closed check race-free
//! 3. resolve case → result with one query (an index probe per case,
//!    driven by `unnest`) that also locks the result rows, in case id order
//! 4. one `UPDATE … FROM unnest(…)` for the last execution per result, one
//!    `INSERT … SELECT FROM unnest(…)` for every execution (history ids
//!    increasing in request order), one counts update: pipelined, 1 trip
//! 5. store the answer for the idempotency key (pipelined, 1 trip)
//!
//! Lock order is always: run row, then result rows, so concurrent uploads
//! (and single PATCHes, which follow the same order) never deadlock: the
//! run row serializes them before any result row is locked.

use deadpool_postgres::Transaction;
use verdict_store::backend;
use verdict_store::backend::bulk::{self, Applied, Located, Slot};
use verdict_store::*;

use crate::error::Result;
use crate::idempotency;
use crate::pool::{Param, col, execute, query};
use crate::results::{add_history, any_manual, any_output, flag_bits, status_code, status_of};
use crate::runs::{add_counts, lock_open_run, lock_run};

/// Finds (and locks, in case id order) the run's results for these cases.
///
/// One index probe per case, driven by `unnest` (the `OFFSET 0` keeps the
/// planner from flattening the probe into a join it could reorder). The
/// obvious `case_id = ANY($2)` is a trap with cached statements: once
/// PostgreSQL switches to a generic plan, a table whose statistics are
/// stale (rows just inserted, not yet analyzed) gets an index scan on
/// `run_id` with `= ANY` as a filter, which compares every row with every
/// array element: a 50,000-key case upsert into a 500,000-case project
/// took over a minute that way, and takes 0.2 s as probes. Locks are taken
/// in the order of `cases`, sorted here, the same order every writer uses.
pub(crate) async fn locate(tx: &Transaction<'_>, run: RunId, cases: &[i64]) -> Result<Located> {
    if cases.is_empty() {
        return Ok(Located::new());
    }
    let mut cases = cases.to_vec();
    cases.sort_unstable();
    cases.dedup();
    let rows = query(
        tx,
        "SELECT r.case_id, r.id, r.status, r.elapsed_ms, r.flags FROM unnest($2::bigint[]) AS k(case_id)
         CROSS JOIN LATERAL (SELECT case_id, id, status, elapsed_ms, flags FROM results
             WHERE run_id = $1 AND case_id = k.case_id OFFSET 0 FOR UPDATE) AS r",
        &[&run.get(), &cases],
    )
    .await?;
    let mut located = Located::with_capacity(rows.len());
    for r in &rows {
        located.insert(
            col(r, 0)?,
            Slot {
                id: col(r, 1)?,
                status: status_of(col(r, 2)?)?,
                elapsed_ms: col(r, 3)?,
                flags: i64::from(col::<i16>(r, 4)?),
            },
        );
    }
    Ok(located)
}

/// Writes what [`bulk::apply`] worked out: the results' new state, a
/// history row per execution and the run's counts, pipelined.
pub(crate) async fn write_applied(
    tx: &Transaction<'_>,
    run: RunId,
    applied: &Applied<'_>,
    actor: UserId,
    now: Timestamp,
) -> Result<()> {
    let current = applied.current();
    let ids: Vec<i64> = current.iter().map(|(id, _, _)| *id).collect();
    let statuses: Vec<i16> = current
        .iter()
        .map(|(_, e, _)| status_code(e.status))
        .collect();
    let notes: Vec<Option<&str>> = current.iter().map(|(_, e, _)| e.note.as_deref()).collect();
    let elapsed: Vec<Option<i64>> = current.iter().map(|(_, e, _)| e.elapsed_ms).collect();
    let flags: Vec<i16> = current.iter().map(|(_, _, f)| flag_bits(*f)).collect();
    let tested: Vec<_> = current
        .iter()
        .map(|(_, e, _)| e.tested(actor, now))
        .collect();
    let by: Vec<Option<i64>> = tested.iter().map(|(by, _)| by.map(UserId::get)).collect();
    let at: Vec<Option<i64>> = tested
        .iter()
        .map(|(_, at)| at.map(Timestamp::millis))
        .collect();
    // Step results, defects and output only when some execution has any
    // (never a CI upload's steps; output only from reports that carry it):
    // otherwise the columns are cleared in the statement.
    let manual = any_manual(current.iter().map(|(_, e, _)| *e));
    let steps: Vec<Option<String>> = if manual {
        current
            .iter()
            .map(|(_, e, _)| backend::manual::stored_steps(e))
            .collect()
    } else {
        Vec::new()
    };
    let defects: Vec<Option<String>> = if manual {
        current
            .iter()
            .map(|(_, e, _)| backend::manual::stored_defects(e))
            .collect()
    } else {
        Vec::new()
    };
    let with_output = any_output(current.iter().map(|(_, e, _)| *e));
    let outputs: Vec<Option<&str>> = if with_output {
        current
            .iter()
            .map(|(_, e, _)| e.output.as_deref())
            .collect()
    } else {
        Vec::new()
    };
    let update = async {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut params: Vec<&Param<'_>> = vec![&ids, &statuses, &notes, &elapsed, &by, &at, &flags];
        let (mut arrays, mut names) = (String::new(), String::new());
        let mut set = String::new();
        if manual {
            params.push(&steps);
            params.push(&defects);
            let n = params.len();
            arrays.push_str(&format!(", ${}::text[], ${n}::text[]", n - 1));
            names.push_str(", step_results, defects");
            set.push_str(", step_results = u.step_results, defects = u.defects");
        } else {
            set.push_str(", step_results = NULL, defects = NULL");
        }
        if with_output {
            params.push(&outputs);
            arrays.push_str(&format!(", ${}::text[]", params.len()));
            names.push_str(", output");
            set.push_str(", output = u.output");
        } else {
            set.push_str(", output = NULL");
        }
        execute(
            tx,
            &format!(
                "UPDATE results r SET status = u.status, note = u.note, elapsed_ms = u.elapsed_ms,
                     tested_by = u.tested_by, tested_at = u.tested_at, flags = u.flags{set}
                 FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::bigint[],
                         $6::bigint[], $7::smallint[]{arrays})
                     AS u(id, status, note, elapsed_ms, tested_by, tested_at, flags{names})
                 WHERE r.id = u.id"
            ),
            &params,
        )
        .await
    };
    let counts = async {
        if applied.delta == Counts::default() && applied.elapsed_delta == 0 {
            return Ok(None);
        }
        add_counts(tx, run, &applied.delta, applied.elapsed_delta)
            .await
            .map(Some)
    };
    // Pipelined: three statements, one round trip.
    tokio::try_join!(
        update,
        add_history(tx, &applied.executions, actor, now),
        counts
    )?;
    Ok(())
}

/// The `results.recorded` event of a bulk or an import that applied
/// anything.
pub(crate) async fn recorded(
    tx: &Transaction<'_>,
    run: &Run,
    applied: &Applied<'_>,
    now: Timestamp,
) -> Result<()> {
    if applied.executions.is_empty() {
        return Ok(());
    }
    // The run as read (and, on PostgreSQL, locked with its stripes folded)
    // before this write, plus what it changed.
    let mut counts = run.counts;
    counts.add_all(&applied.delta);
    let facts = RecordedFacts::of(run.id, &applied.executions, counts);
    crate::webhooks::enqueue(tx, run.project_id, EventType::ResultsRecorded, &facts, now).await
}

pub(crate) async fn record_bulk(tx: &Transaction<'_>, req: &BulkRequest) -> Result<BulkOutcome> {
    // A refused request only names what is wrong: no replay, and a closed
    // run does not hide the entries' errors.
    if !req.is_refused()
        && let Some(idem) = &req.idempotency
        && let Some(mut outcome) =
            idempotency::replay::<BulkOutcome>(tx, req.actor, idem, req.now).await?
    {
        outcome.replayed = true;
        return Ok(outcome);
    }
    let run = if req.is_refused() {
        lock_run(tx, req.run).await?
    } else {
        lock_open_run(tx, req.run).await?
    };
    let cases: Vec<i64> = req.entries.iter().map(|e| e.case_id.get()).collect();
    let mut located = locate(tx, run.id, &cases).await?;
    let rejected = bulk::check(req, |case| located.contains_key(&case.get()))?;
    let applied = bulk::apply(&req.entries, &mut located, Counts::default());
    write_applied(tx, run.id, &applied, req.actor, req.now).await?;
    recorded(tx, &run, &applied, req.now).await?;
    let outcome = applied.outcome(rejected);
    if let Some(idem) = &req.idempotency {
        idempotency::remember(tx, req.actor, idem, req.now, &outcome).await?;
    }
    Ok(outcome)
}
