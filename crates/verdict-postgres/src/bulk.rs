//! Bulk uploads, set-based: a constant number of round trips whatever the
//! number of entries.
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

use std::collections::HashMap;

use deadpool_postgres::Transaction;
use verdict_store::*;

use crate::error::{Result, other};
use crate::idempotency;
use crate::pool::{col, execute, query};
use crate::runs::{add_counts, lock_open_run};

pub(crate) fn status_of(code: i16) -> Result<Status> {
    Status::from_code(i64::from(code)).ok_or_else(|| other(format!("unknown status code {code}")))
}

pub(crate) fn status_code(status: Status) -> i16 {
    // Codes are 0..=4 (see `Status::code`).
    i16::try_from(status.code()).unwrap_or(i16::MAX)
}

/// Where each case lives in the run: case id → (result id, current status).
pub(crate) type Located = HashMap<i64, (i64, Status)>;

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
        "SELECT r.case_id, r.id, r.status FROM unnest($2::bigint[]) AS k(case_id)
         CROSS JOIN LATERAL (SELECT case_id, id, status FROM results
             WHERE run_id = $1 AND case_id = k.case_id OFFSET 0 FOR UPDATE) AS r",
        &[&run.get(), &cases],
    )
    .await?;
    let mut located = Located::with_capacity(rows.len());
    for r in &rows {
        located.insert(col(r, 0)?, (col(r, 1)?, status_of(col(r, 2)?)?));
    }
    Ok(located)
}

/// Appends one history row per execution; ids increase in slice order (they
/// are drawn from the sequence, sorted, and the `n`-th goes to the `n`-th
/// execution; see `runs::insert_results_from`).
pub(crate) async fn add_history(
    tx: &Transaction<'_>,
    executions: &[(i64, &Execution)],
    actor: UserId,
    now: Timestamp,
) -> Result<u64> {
    if executions.is_empty() {
        return Ok(0);
    }
    let results: Vec<i64> = executions.iter().map(|(r, _)| *r).collect();
    let statuses: Vec<i16> = executions
        .iter()
        .map(|(_, e)| status_code(e.status))
        .collect();
    let notes: Vec<Option<&str>> = executions.iter().map(|(_, e)| e.note.as_deref()).collect();
    let elapsed: Vec<Option<i64>> = executions.iter().map(|(_, e)| e.elapsed_ms).collect();
    execute(
        tx,
        "WITH e AS (
             SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[])
                 WITH ORDINALITY AS e(result_id, status, note, elapsed_ms, n)
         ),
         drawn AS (
             SELECT array_agg(id ORDER BY id) AS ids
             FROM (SELECT nextval('history_id_seq') AS id FROM e) AS d
         )
         INSERT INTO history (id, result_id, status, note, elapsed_ms, tested_by, tested_at)
         OVERRIDING SYSTEM VALUE
         SELECT drawn.ids[e.n], e.result_id, e.status, e.note, e.elapsed_ms, $5, $6
         FROM e CROSS JOIN drawn",
        &[
            &results,
            &statuses,
            &notes,
            &elapsed,
            &actor.get(),
            &now.millis(),
        ],
    )
    .await
}

/// Applies located entries in order (each one execution, the last one per
/// case current) and adds `delta` plus their effect to the run's counts.
/// Entries whose case is not located are skipped; the caller has reported
/// them.
pub(crate) async fn apply_located(
    tx: &Transaction<'_>,
    run: RunId,
    entries: &[BulkEntry],
    located: &mut Located,
    actor: UserId,
    now: Timestamp,
    mut delta: Counts,
) -> Result<Vec<AppliedEntry>> {
    let mut applied = Vec::with_capacity(entries.len());
    let mut history: Vec<(i64, &Execution)> = Vec::with_capacity(entries.len());
    let mut last: HashMap<i64, &Execution> = HashMap::new();
    for entry in entries {
        let Some(slot) = located.get_mut(&entry.case_id.get()) else {
            continue;
        };
        delta.add(slot.1, -1);
        delta.add(entry.execution.status, 1);
        slot.1 = entry.execution.status;
        history.push((slot.0, &entry.execution));
        last.insert(slot.0, &entry.execution);
        applied.push(AppliedEntry {
            id: ResultId::from_db(slot.0),
            test_case_id: entry.case_id,
            status: entry.execution.status,
        });
    }
    let mut current: Vec<(i64, &Execution)> = last.into_iter().collect();
    current.sort_unstable_by_key(|(id, _)| *id);
    let ids: Vec<i64> = current.iter().map(|(id, _)| *id).collect();
    let statuses: Vec<i16> = current.iter().map(|(_, e)| status_code(e.status)).collect();
    let notes: Vec<Option<&str>> = current.iter().map(|(_, e)| e.note.as_deref()).collect();
    let elapsed: Vec<Option<i64>> = current.iter().map(|(_, e)| e.elapsed_ms).collect();
    let tested = |e: &Execution| e.status != Status::NotTested;
    let by: Vec<Option<i64>> = current
        .iter()
        .map(|(_, e)| tested(e).then_some(actor.get()))
        .collect();
    let at: Vec<Option<i64>> = current
        .iter()
        .map(|(_, e)| tested(e).then_some(now.millis()))
        .collect();
    let update = async {
        if ids.is_empty() {
            return Ok(0);
        }
        execute(
            tx,
            "UPDATE results r SET status = u.status, note = u.note, elapsed_ms = u.elapsed_ms,
                 tested_by = u.tested_by, tested_at = u.tested_at
             FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])
                 AS u(id, status, note, elapsed_ms, tested_by, tested_at)
             WHERE r.id = u.id",
            &[&ids, &statuses, &notes, &elapsed, &by, &at],
        )
        .await
    };
    let counts = async {
        if delta == Counts::default() {
            return Ok(None);
        }
        add_counts(tx, run, &delta).await.map(Some)
    };
    // Pipelined: three statements, one round trip.
    tokio::try_join!(update, add_history(tx, &history, actor, now), counts)?;
    Ok(applied)
}

pub(crate) async fn record_bulk(tx: &Transaction<'_>, req: &BulkRequest) -> Result<BulkOutcome> {
    if let Some(idem) = &req.idempotency
        && let Some(mut outcome) =
            idempotency::replay::<BulkOutcome>(tx, req.actor, idem, req.now).await?
    {
        outcome.replayed = true;
        return Ok(outcome);
    }
    let run = lock_open_run(tx, req.run).await?;
    let cases: Vec<i64> = req.entries.iter().map(|e| e.case_id.get()).collect();
    let mut located = locate(tx, run.id, &cases).await?;
    let mut rejected = req.rejected.clone();
    let mut bad = Vec::new();
    for entry in &req.entries {
        if !located.contains_key(&entry.case_id.get()) {
            let message = format!("{} is not in this run", entry.case_id);
            bad.push(FieldError::new(
                format!("results[{}].test_case_id", entry.index),
                message.clone(),
            ));
            rejected.push(Rejection {
                index: entry.index,
                test_case_id: Some(entry.case_id.to_string()),
                code: "case_not_in_run".into(),
                message,
            });
        }
    }
    if !bad.is_empty() && !req.partial {
        return Err(StoreError::Invalid(bad).into());
    }
    rejected.sort_by_key(|r| r.index);
    let results = apply_located(
        tx,
        run.id,
        &req.entries,
        &mut located,
        req.actor,
        req.now,
        Counts::default(),
    )
    .await?;
    let outcome = BulkOutcome {
        updated: results.len() as u64,
        results,
        rejected,
        replayed: false,
    };
    if let Some(idem) = &req.idempotency {
        idempotency::remember(tx, req.actor, idem, req.now, &outcome).await?;
    }
    Ok(outcome)
}
