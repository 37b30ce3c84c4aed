//! Results and their history: listing without scans, one result, a single
//! execution. Bulk uploads are in [`crate::bulk`].

use rusqlite::{CachedStatement, Connection, Row, params, params_from_iter};
use verdict_store::backend;
use verdict_store::backend::triage::next_flags;
use verdict_store::*;

use crate::runs::{add_counts, get_run};
use crate::{db_err, found, ts};

pub(crate) fn status_of(code: i64) -> rusqlite::Result<Status> {
    Status::from_code(code).ok_or_else(|| rusqlite::Error::IntegralValueOutOfRange(0, code))
}

pub(crate) const COLUMNS: &str =
    "r.id, r.run_id, r.case_id, c.title, r.status, r.note, r.elapsed_ms, r.tested_by, r.tested_at,
     r.step_results, r.defects, r.assigned_to";

/// A stored JSON column this version cannot read.
fn unreadable(column: usize, e: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, e.into())
}

/// Step results and defects from the columns at `at` and `at + 1`.
pub(crate) fn manual_columns(
    r: &Row<'_>,
    at: usize,
) -> rusqlite::Result<(Vec<StepResult>, Vec<String>)> {
    let steps = step_results_from(r.get(at)?).map_err(|e| unreadable(at, e))?;
    let defects = defects_from(r.get(at + 1)?).map_err(|e| unreadable(at + 1, e))?;
    Ok((steps, defects))
}

/// [`COLUMNS`] and the output (column 12) when `output`, NULL otherwise
/// (a page of results does not read its outputs unless asked to).
fn columns(output: bool) -> String {
    let out = if output { "r.output" } else { "NULL" };
    format!("{COLUMNS}, {out}")
}

/// A result from [`columns`].
fn result_with_output(r: &Row<'_>) -> rusqlite::Result<TestResult> {
    let mut result = result_row(r)?;
    result.output = r.get(12)?;
    Ok(result)
}

pub(crate) fn result_row(r: &Row<'_>) -> rusqlite::Result<TestResult> {
    let (step_results, defects) = manual_columns(r, 9)?;
    Ok(TestResult {
        step_results,
        defects,
        assigned_to: r.get::<_, Option<i64>>(11)?.map(UserId::from_db),
        id: ResultId::from_db(r.get(0)?),
        run_id: RunId::from_db(r.get(1)?),
        case_id: CaseId::from_db(r.get(2)?),
        case_title: r.get(3)?,
        status: status_of(r.get(4)?)?,
        note: r.get(5)?,
        elapsed_ms: r.get(6)?,
        tested_by: r.get::<_, Option<i64>>(7)?.map(UserId::from_db),
        tested_at: ts(r.get(8)?),
        output: None,
    })
}

pub(crate) fn list_results(
    c: &Connection,
    run: RunId,
    query: &ResultQuery,
) -> StoreResult<Listing<TestResult>> {
    let counts = get_run(c, run)?.counts;
    let page = query.bounds();
    if query.q.is_some() || query.assignee.is_some() || query.key.is_some() {
        return search_results(c, run, &page, query);
    }
    let total = counts.matching(&page.statuses);
    let ids = backend::ids_by_status(
        &page.statuses,
        "SELECT id FROM results WHERE run_id = ?1 AND id > ?2 ORDER BY id LIMIT ?3 OFFSET ?4",
        |s| {
            format!(
                "SELECT id FROM (SELECT id FROM results WHERE run_id = ?1 AND status = {} AND id > ?2 ORDER BY id LIMIT ?3 + ?4)",
                s.code()
            )
        },
        "ORDER BY id LIMIT ?3 OFFSET ?4",
    );
    let sql = format!(
        "SELECT {} FROM ({ids}) page JOIN results r ON r.id = page.id
         JOIN cases c ON c.id = r.case_id ORDER BY r.id",
        columns(query.output)
    );
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let items = stmt
        .query_map(
            params_from_iter([run.get(), page.after, page.limit, page.offset]),
            result_with_output,
        )
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}

/// A title search, an assignee or a key filter: the counters cannot say how
/// many results match, so this path counts and pages over the run's rows
/// joined with their cases (a scan of one run, which is what a search
/// costs; a user's results come from results_assigned, a key's case from
/// cases_key). The statuses are sorted and distinct.
fn search_results(
    c: &Connection,
    run: RunId,
    page: &ResultBounds,
    query: &ResultQuery,
) -> StoreResult<Listing<TestResult>> {
    let (q, assignee) = (query.q.as_deref(), query.assignee);
    // Status codes are our own small integers, safe to inline; the title
    // test is the case search's (`search`).
    let status_filter = if page.statuses.is_empty() {
        String::new()
    } else {
        let codes: Vec<String> = page.statuses.iter().map(|s| s.code().to_string()).collect();
        format!(" AND r.status IN ({})", codes.join(", "))
    };
    // ?5: the folded title text, ?6: the assignee's id; each bound (NULL
    // when unused) and named in every form of the statement.
    let title_filter = if q.is_some() {
        " AND verdict_contains(c.title, ?5)"
    } else {
        " AND ?5 IS NULL"
    };
    let assignee_filter = match assignee {
        Some(Assignee::User(_)) => " AND r.assigned_to = ?6",
        Some(Assignee::Nobody) => " AND ?6 IS NULL AND r.assigned_to IS NULL",
        None => " AND ?6 IS NULL",
    };
    // ?7: the key; its case is a live case of the run's project (a
    // deleted case keeps its results but no longer answers to its key).
    let key_filter = if query.key.is_some() {
        " AND c.key = ?7 AND c.deleted_at IS NULL
          AND c.project_id = (SELECT project_id FROM runs WHERE id = ?1)"
    } else {
        " AND ?7 IS NULL"
    };
    let q = q.map(crate::search::fold);
    let user = match assignee {
        Some(Assignee::User(u)) => Some(u.get()),
        _ => None,
    };
    let key = query.key.as_deref();
    let filter = format!("{status_filter}{title_filter}{assignee_filter}{key_filter}");
    // ?2..?4 are the page's; absent from the count, bound as NULL.
    let total = c
        .prepare_cached(&format!(
            "SELECT count(*) FROM results r JOIN cases c ON c.id = r.case_id
             WHERE r.run_id = ?1{filter}"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    run.get(),
                    None::<i64>,
                    None::<i64>,
                    None::<i64>,
                    q,
                    user,
                    key
                ],
                |r| r.get(0),
            )
        })
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {} FROM results r JOIN cases c ON c.id = r.case_id
             WHERE r.run_id = ?1 AND r.id > ?2{filter}
             ORDER BY r.id LIMIT ?3 OFFSET ?4",
            columns(query.output)
        ))
        .map_err(db_err)?;
    let items = stmt
        .query_map(
            params![run.get(), page.after, page.limit, page.offset, q, user, key],
            result_with_output,
        )
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}

pub(crate) fn get_result(c: &Connection, run: RunId, id: ResultId) -> StoreResult<TestResult> {
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {} FROM results r JOIN cases c ON c.id = r.case_id
             WHERE r.id = ?1 AND r.run_id = ?2",
            columns(true)
        ))
        .map_err(db_err)?;
    found(stmt.query_row([id.get(), run.get()], result_with_output))
}

pub(crate) fn result_run(c: &Connection, id: ResultId) -> StoreResult<RunId> {
    let mut stmt = c
        .prepare_cached("SELECT run_id FROM results WHERE id = ?1")
        .map_err(db_err)?;
    found(
        stmt.query_row([id.get()], |r| r.get::<_, i64>(0))
            .map(RunId::from_db),
    )
}

/// The two statements that write one execution (the result's current
/// state and its history row), looked up in the statement cache once for
/// however many executions follow.
pub(crate) struct Executions<'c> {
    update: CachedStatement<'c>,
    history: CachedStatement<'c>,
}

impl<'c> Executions<'c> {
    pub(crate) fn prepare(c: &'c Connection) -> StoreResult<Self> {
        Ok(Executions {
            update: c
                .prepare_cached(
                    "UPDATE results SET status = ?2, note = ?3, elapsed_ms = ?4, tested_by = ?5, tested_at = ?6,
                         flags = ?7, step_results = ?8, defects = ?9, output = ?10
                     WHERE id = ?1",
                )
                .map_err(db_err)?,
            history: c
                .prepare_cached(
                    "INSERT INTO history (result_id, status, note, elapsed_ms, tested_by, tested_at,
                         step_results, defects, output)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )
                .map_err(db_err)?,
        })
    }

    /// Writes one execution of `result`, which has `flags` afterwards.
    pub(crate) fn apply(
        &mut self,
        result: i64,
        execution: &Execution,
        flags: i64,
        actor: UserId,
        now: Timestamp,
    ) -> StoreResult<()> {
        let (by, at) = execution.tested(actor, now);
        let (by, at) = (by.map(UserId::get), at.map(Timestamp::millis));
        // Both NULL for CI uploads, which carry neither.
        let steps = backend::manual::stored_steps(execution);
        let defects = backend::manual::stored_defects(execution);
        self.update
            .execute(params![
                result,
                execution.status.code(),
                execution.note,
                execution.elapsed_ms,
                by,
                at,
                flags,
                steps,
                defects,
                execution.output
            ])
            .map_err(db_err)?;
        self.history
            .execute(params![
                result,
                execution.status.code(),
                execution.note,
                execution.elapsed_ms,
                actor.get(),
                now.millis(),
                steps,
                defects,
                execution.output
            ])
            .map_err(db_err)?;
        Ok(())
    }
}

pub(crate) fn record_result(
    c: &Connection,
    run: RunId,
    id: ResultId,
    execution: &Execution,
    actor: UserId,
    now: Timestamp,
) -> StoreResult<TestResult> {
    // One lookup answers, in this order: is there such a run, is it open,
    // is the result in it; and gives what the answer needs besides the
    // execution itself.
    let mut current = c
        .prepare_cached(
            "SELECT ru.closed_at IS NOT NULL, r.status, r.case_id, ca.title, r.elapsed_ms, r.flags,
                 r.assigned_to, ru.project_id,
                 ru.passed, ru.failed, ru.blocked, ru.retest, ru.not_tested
             FROM runs ru
             LEFT JOIN results r ON r.id = ?2 AND r.run_id = ru.id
             LEFT JOIN cases ca ON ca.id = r.case_id
             WHERE ru.id = ?1",
        )
        .map_err(db_err)?;
    let ((closed, old, case, title, old_elapsed, old_flags, assigned), project, mut counts) =
        found(current.query_row([run.get(), id.get()], |r| {
            Ok((
                (
                    r.get::<_, bool>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<i64>>(6)?,
                ),
                ProjectId::from_db(r.get(7)?),
                Counts {
                    passed: r.get(8)?,
                    failed: r.get(9)?,
                    blocked: r.get(10)?,
                    retest: r.get(11)?,
                    not_tested: r.get(12)?,
                },
            ))
        }))?;
    if closed {
        return Err(StoreError::run_closed());
    }
    let (Some(old), Some(case), Some(title)) = (old, case, title) else {
        return Err(StoreError::NotFound);
    };
    let flags = next_flags(old_flags.unwrap_or(0), execution.status);
    Executions::prepare(c)?.apply(id.get(), execution, flags, actor, now)?;
    let (tested_by, tested_at) = execution.tested(actor, now);
    let delta = Counts::moved(status_of(old).map_err(db_err)?, execution.status);
    let elapsed = execution.elapsed_ms.unwrap_or(0) - old_elapsed.unwrap_or(0);
    add_counts(c, run, &delta, elapsed)?;
    counts.add_all(&delta);
    let facts = RecordedFacts::of(run, &[(id.get(), execution)], counts);
    crate::webhooks::enqueue(c, project, EventType::ResultsRecorded, &facts, now)?;
    let (step_results, defects) = backend::manual::kept(execution);
    Ok(TestResult {
        step_results,
        defects,
        assigned_to: assigned.map(UserId::from_db),
        id,
        run_id: run,
        case_id: CaseId::from_db(case),
        case_title: title,
        status: execution.status,
        note: execution.note.clone(),
        elapsed_ms: execution.elapsed_ms,
        tested_by,
        tested_at,
        output: execution.output.clone(),
    })
}

pub(crate) fn result_history(
    c: &Connection,
    run: RunId,
    id: ResultId,
    page: Page,
) -> StoreResult<Listing<HistoryEntry>> {
    get_result(c, run, id)?;
    let (limit, offset) = page.bounds();
    let total = c
        .query_row(
            "SELECT count(*) FROM history WHERE result_id = ?1",
            [id.get()],
            |r| r.get(0),
        )
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(
            "SELECT status, note, elapsed_ms, tested_by, tested_at, step_results, defects, output
             FROM history WHERE result_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
        )
        .map_err(db_err)?;
    let items = stmt
        .query_map([id.get(), limit, offset], |r| {
            let (step_results, defects) = manual_columns(r, 5)?;
            Ok(HistoryEntry {
                step_results,
                defects,
                result_id: id,
                status: status_of(r.get(0)?)?,
                note: r.get(1)?,
                elapsed_ms: r.get(2)?,
                tested_by: UserId::from_db(r.get(3)?),
                tested_at: Timestamp::from_millis(r.get(4)?),
                output: r.get(7)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}
