//! Results and their history: listing without scans, one result, a single
//! execution. Bulk uploads are in [`crate::bulk`].

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use verdict_store::backend;
use verdict_store::backend::triage;
use verdict_store::*;

use crate::error::{Result, other};
use crate::pool::{Param, col, execute, query, query_found, query_opt};
use crate::projects;
use crate::runs::get_run;

pub(crate) fn status_of(code: i16) -> Result<Status> {
    Status::from_code(i64::from(code)).ok_or_else(|| other(format!("unknown status code {code}")))
}

pub(crate) fn status_code(status: Status) -> i16 {
    // Codes are 0..=4 (see `Status::code`).
    i16::try_from(status.code()).unwrap_or(i16::MAX)
}

/// Result flags as stored (SMALLINT): `FLAG_FAILED | FLAG_RETRIED_PASS`
/// fit in two bits.
pub(crate) fn flag_bits(flags: i64) -> i16 {
    i16::try_from(flags).unwrap_or(i16::MAX)
}

/// Whether any of these executions stores step results or defects: CI
/// uploads never do, and then the statements that write them leave the
/// columns out (NULL) instead of sending two arrays of NULLs.
pub(crate) fn any_manual<'e>(mut executions: impl Iterator<Item = &'e Execution>) -> bool {
    executions.any(|e| {
        backend::manual::stored_steps(e).is_some() || backend::manual::stored_defects(e).is_some()
    })
}

/// Whether any of these executions carries output: most CI uploads do
/// not, and then the statements that write executions leave the column
/// out (NULL), so the 50,000-result bulk sends nothing more.
pub(crate) fn any_output<'e>(mut executions: impl Iterator<Item = &'e Execution>) -> bool {
    executions.any(|e| e.output.is_some())
}

/// Appends one history row per execution; ids increase in slice order (they
/// are drawn from the sequence, sorted, and the `n`-th goes to the `n`-th
/// execution; see `runs::insert_results_from`). Step results, defects and
/// output are sent only when some execution has them.
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
    let (actor, now) = (actor.get(), now.millis());
    let mut params: Vec<&Param<'_>> = vec![&results, &statuses, &notes, &elapsed, &actor, &now];
    // The optional columns: their unnest arguments and names.
    let (mut arrays, mut names) = (String::new(), String::new());
    let manual = any_manual(executions.iter().map(|(_, e)| *e));
    let steps: Vec<Option<String>>;
    let defects: Vec<Option<String>>;
    if manual {
        steps = executions
            .iter()
            .map(|(_, e)| backend::manual::stored_steps(e))
            .collect();
        defects = executions
            .iter()
            .map(|(_, e)| backend::manual::stored_defects(e))
            .collect();
        params.push(&steps);
        params.push(&defects);
        arrays.push_str(&format!(
            ", ${}::text[], ${}::text[]",
            params.len() - 1,
            params.len()
        ));
        names.push_str(", step_results, defects");
    }
    let outputs: Vec<Option<&str>>;
    if any_output(executions.iter().map(|(_, e)| *e)) {
        outputs = executions
            .iter()
            .map(|(_, e)| e.output.as_deref())
            .collect();
        params.push(&outputs);
        arrays.push_str(&format!(", ${}::text[]", params.len()));
        names.push_str(", output");
    }
    let values = names.replace(", ", ", e.");
    execute(
        tx,
        &format!(
            "WITH e AS (
                 SELECT * FROM unnest($1::bigint[], $2::smallint[], $3::text[], $4::bigint[]{arrays})
                     WITH ORDINALITY AS e(result_id, status, note, elapsed_ms{names}, n)
             ),
             drawn AS (
                 SELECT array_agg(id ORDER BY id) AS ids
                 FROM (SELECT nextval('history_id_seq') AS id FROM e) AS d
             )
             INSERT INTO history (id, result_id, status, note, elapsed_ms, tested_by, tested_at{names})
             OVERRIDING SYSTEM VALUE
             SELECT drawn.ids[e.n], e.result_id, e.status, e.note, e.elapsed_ms, $5, $6{values}
             FROM e CROSS JOIN drawn"
        ),
        &params,
    )
    .await
}

pub(crate) const COLUMNS: &str =
    "r.id, r.run_id, r.case_id, c.title, r.status, r.note, r.elapsed_ms, r.tested_by, r.tested_at,
     r.step_results, r.defects, r.assigned_to";

/// Step results and defects from the columns at `at` and `at + 1`.
fn manual_columns(r: &Row, at: usize) -> Result<(Vec<StepResult>, Vec<String>)> {
    let steps = step_results_from(col(r, at)?).map_err(other)?;
    let defects = defects_from(col(r, at + 1)?).map_err(other)?;
    Ok((steps, defects))
}

/// [`COLUMNS`] and the output (column 12) when `output`, NULL otherwise
/// (a page of results does not read its outputs unless asked to).
fn columns(output: bool) -> String {
    let out = if output { "r.output" } else { "NULL::text" };
    format!("{COLUMNS}, {out}")
}

/// A result from [`columns`].
fn result_with_output(r: &Row) -> Result<TestResult> {
    let mut result = result_row(r)?;
    result.output = col(r, 12)?;
    Ok(result)
}

pub(crate) fn result_row(r: &Row) -> Result<TestResult> {
    let (step_results, defects) = manual_columns(r, 9)?;
    Ok(TestResult {
        step_results,
        defects,
        assigned_to: col::<Option<i64>>(r, 11)?.map(UserId::from_db),
        id: ResultId::from_db(col(r, 0)?),
        run_id: RunId::from_db(col(r, 1)?),
        case_id: CaseId::from_db(col(r, 2)?),
        case_title: col(r, 3)?,
        status: status_of(col(r, 4)?)?,
        note: col(r, 5)?,
        elapsed_ms: col(r, 6)?,
        tested_by: col::<Option<i64>>(r, 7)?.map(UserId::from_db),
        tested_at: col::<Option<i64>>(r, 8)?.map(Timestamp::from_millis),
        output: None,
    })
}

pub(crate) async fn list_results<C: GenericClient>(
    c: &C,
    run: RunId,
    query_: &ResultQuery,
) -> Result<Listing<TestResult>> {
    let counts = get_run(c, run).await?.counts;
    let page = query_.bounds();
    if query_.q.is_some() || query_.assignee.is_some() || query_.key.is_some() {
        return search_results(c, run, &page, query_).await;
    }
    let total = counts.matching(&page.statuses);
    if page.statuses.is_empty() && page.after == 0 {
        return Ok(Listing {
            items: page_by_position(c, run, &page, query_.output).await?,
            total,
        });
    }
    // Merged by id with a Merge Append.
    let ids = backend::ids_by_status(
        &page.statuses,
        "SELECT id FROM results WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3 OFFSET $4",
        |s| {
            let code = status_code(s);
            format!(
                "SELECT id FROM (SELECT id FROM results WHERE run_id = $1 AND status = {code}
                  AND id > $2 ORDER BY id LIMIT $3::bigint + $4::bigint) AS s{code}"
            )
        },
        "ORDER BY id LIMIT $3 OFFSET $4",
    );
    let sql = format!(
        "SELECT {} FROM ({ids}) page JOIN results r ON r.id = page.id
         JOIN cases c ON c.id = r.case_id ORDER BY r.id",
        columns(query_.output)
    );
    let rows = query(
        c,
        &sql,
        &[&run.get(), &page.after, &page.limit, &page.offset],
    )
    .await?;
    Ok(Listing {
        items: rows.iter().map(result_with_output).collect::<Result<_>>()?,
        total,
    })
}

/// An unfiltered page from the start of the run: positions are 1, 2, … in
/// id order, so the page starts right after position `offset` (a range
/// of results_run_pos, as fast at the millionth result as at the first)
/// where an OFFSET would walk every row before it.
async fn page_by_position<C: GenericClient>(
    c: &C,
    run: RunId,
    page: &ResultBounds,
    output: bool,
) -> Result<Vec<TestResult>> {
    let sql = format!(
        "SELECT {} FROM (SELECT id FROM results WHERE run_id = $1 AND pos > $2
             ORDER BY pos LIMIT $3) page
         JOIN results r ON r.id = page.id JOIN cases c ON c.id = r.case_id ORDER BY r.id",
        columns(output)
    );
    let rows = query(c, &sql, &[&run.get(), &page.offset, &page.limit]).await?;
    rows.iter().map(result_with_output).collect()
}

/// A title search, an assignee or a key filter: the counters cannot say
/// how many results match, so this path counts and pages over the run's
/// rows joined with their cases (a scan of one run, which is what a search
/// costs; a key's case comes from cases_key), like SQLite's. strpos() on
/// lower() keeps LIKE's wildcards out of user text.
async fn search_results<C: GenericClient>(
    c: &C,
    run: RunId,
    page: &ResultBounds,
    query_: &ResultQuery,
) -> Result<Listing<TestResult>> {
    let (q, assignee) = (query_.q.as_deref(), query_.assignee);
    let codes: Vec<i16> = page.statuses.iter().map(|s| status_code(*s)).collect();
    let all = codes.is_empty();
    // $5: the assignee's id (a user), or NULL.
    let assignee_filter = match assignee {
        Some(Assignee::User(_)) => "AND r.assigned_to = $5::bigint",
        Some(Assignee::Nobody) => "AND $5::bigint IS NULL AND r.assigned_to IS NULL",
        None => "AND $5::bigint IS NULL",
    };
    let user = match assignee {
        Some(Assignee::User(u)) => Some(u.get()),
        _ => None,
    };
    // $6: the key; its case is a live case of the run's project.
    let key_filter = if query_.key.is_some() {
        "AND c.key = $6::text AND c.deleted_at IS NULL
         AND c.project_id = (SELECT project_id FROM runs WHERE id = $1)"
    } else {
        "AND $6::text IS NULL"
    };
    let key = query_.key.as_deref();
    let filter = format!(
        "r.run_id = $1 AND ($2 OR r.status = ANY($3))
        AND ($4::text IS NULL OR strpos(lower(c.title), lower($4::text)) > 0) {assignee_filter}
        {key_filter}"
    );
    let count_sql =
        format!("SELECT count(*) FROM results r JOIN cases c ON c.id = r.case_id WHERE {filter}");
    let total: i64 = col(
        &query_found(c, &count_sql, &[&run.get(), &all, &codes, &q, &user, &key]).await?,
        0,
    )?;
    let sql = format!(
        "SELECT {} FROM results r JOIN cases c ON c.id = r.case_id
         WHERE {filter} AND r.id > $7 ORDER BY r.id LIMIT $8 OFFSET $9",
        columns(query_.output)
    );
    let rows = query(
        c,
        &sql,
        &[
            &run.get(),
            &all,
            &codes,
            &q,
            &user,
            &key,
            &page.after,
            &page.limit,
            &page.offset,
        ],
    )
    .await?;
    Ok(Listing {
        items: rows.iter().map(result_with_output).collect::<Result<_>>()?,
        total,
    })
}

pub(crate) async fn get_result<C: GenericClient>(
    c: &C,
    run: RunId,
    id: ResultId,
) -> Result<TestResult> {
    let sql = format!(
        "SELECT {} FROM results r JOIN cases c ON c.id = r.case_id
         WHERE r.id = $1 AND r.run_id = $2",
        columns(true)
    );
    result_with_output(&query_found(c, &sql, &[&id.get(), &run.get()]).await?)
}

pub(crate) async fn result_run<C: GenericClient>(c: &C, id: ResultId) -> Result<RunId> {
    let row = query_found(c, "SELECT run_id FROM results WHERE id = $1", &[&id.get()]).await?;
    Ok(RunId::from_db(col(&row, 0)?))
}

/// Records one execution of a result in one statement (one round trip,
/// its own transaction when `c` is a plain connection; usable inside a
/// caller's transaction too). In lock order:
///
/// 1. the run `FOR KEY SHARE`, only if open: PATCHes of a run never wait
///    for each other there, and a close, bulk or retention (`FOR UPDATE`,
///    see `runs::lock_run`) waits for them, and they for it;
/// 2. the result `FOR UPDATE`, its state before (the subquery's lock
///    returns the latest committed version, so the counts move from what
///    the result really was);
/// 3. the result's new state, its history row, and the change of the
///    run's counts added to the stripe of this connection (`pg_backend_pid()
///    % 64`), so concurrent PATCHes of one run update different rows.
///
/// Nothing written says why: then one more read tells a missing run or
/// result (404) from a closed run (409).
pub(crate) async fn record_result<C: GenericClient>(
    c: &C,
    run: RunId,
    id: ResultId,
    execution: &Execution,
    actor: UserId,
    now: Timestamp,
) -> Result<TestResult> {
    record_result_as(c, run, id, execution, actor, true, now)
        .await?
        .ok_or_else(|| other("an unchecked write was refused"))
}

/// [`record_result`] when `actor` may record results in the run's project
/// (`admin`: always), checked in the same statement (the run row is only
/// locked, and so only found, if so): `None` when they may not.
pub(crate) async fn record_result_as<C: GenericClient>(
    c: &C,
    run: RunId,
    id: ResultId,
    execution: &Execution,
    actor: UserId,
    admin: bool,
    now: Timestamp,
) -> Result<Option<TestResult>> {
    let (by, at) = execution.tested(actor, now);
    let (result_id, run_id, status) = (id.get(), run.get(), status_code(execution.status));
    let (by_id, at_ms) = (by.map(|u| u.get()), at.map(|t| t.millis()));
    let steps = backend::manual::stored_steps(execution);
    let defects = backend::manual::stored_defects(execution);
    let (actor_id, now_ms) = (actor.get(), now.millis());
    let params: [&Param<'_>; 13] = [
        &result_id,
        &run_id,
        &status,
        &execution.note,
        &execution.elapsed_ms,
        &by_id,
        &at_ms,
        &steps,
        &defects,
        &execution.output,
        &actor_id,
        &now_ms,
        &admin,
    ];
    let rows = query(c, &RECORD_SQL, &params).await?;
    let Some(row) = rows.first() else {
        return refused(c, run, actor, admin).await;
    };
    let mut result = result_row(row)?;
    (result.step_results, result.defects) = backend::manual::kept(execution);
    result.output = execution.output.clone();
    Ok(Some(result))
}

/// Why a PATCH of a result in `run` wrote nothing: the run or the result
/// is missing (`NotFound`), the actor may not record results in the run's
/// project (`None`), or the run is closed (409).
pub(crate) async fn refused<C: GenericClient>(
    c: &C,
    run: RunId,
    actor: UserId,
    admin: bool,
) -> Result<Option<TestResult>> {
    let sql = format!(
        "SELECT r.closed_at, $3 OR coalesce(m.role >= {}, false) FROM runs r
         LEFT JOIN members m ON m.project_id = r.project_id AND m.user_id = $2
         WHERE r.id = $1",
        projects::role_code(Role::Tester)
    );
    let found = query_opt(c, &sql, &[&run.get(), &actor.get(), &admin]).await?;
    let Some(found) = found else {
        return Err(StoreError::NotFound.into());
    };
    match (col::<Option<i64>>(&found, 0)?, col::<bool>(&found, 1)?) {
        (_, false) => Ok(None),
        (Some(_), true) => Err(StoreError::run_closed().into()),
        (None, true) => Err(StoreError::NotFound.into()),
    }
}

/// [`record_sql`], built once.
pub(crate) static RECORD_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(record_sql);

/// The statement of [`record_result_as`]: `$1` result, `$2` run,
/// `$3`..`$10` the result's new columns, `$11` actor, `$12` now, `$13`
/// whether the actor is an admin (else they must be a tester or more).
pub(crate) fn record_sql() -> String {
    let code = |s: Status| status_code(s);
    let (failed, passed) = (code(Status::Failed), code(Status::Passed));
    let (flag_failed, flag_retried) = (triage::FLAG_FAILED, triage::FLAG_RETRIED_PASS);
    let tester = projects::role_code(Role::Tester);
    // The `results.recorded` event, written only when a webhook of the
    // project is subscribed to it (see `webhooks::enqueue`).
    let (recorded, bit) = (
        EventType::ResultsRecorded.name(),
        EventType::ResultsRecorded.bit(),
    );
    let moved = |s: Status| {
        let k = code(s);
        format!("($3 = {k})::int - (u.old_status = {k})::int")
    };
    format!(
        "WITH run AS MATERIALIZED (
             SELECT closed_at, project_id, passed, failed, blocked, retest, not_tested
             FROM runs WHERE id = $2
                 AND ($13::boolean OR EXISTS (SELECT 1 FROM members m
                     WHERE m.project_id = runs.project_id AND m.user_id = $11::bigint
                         AND m.role >= {tester}))
             FOR KEY SHARE
         ),
         old AS MATERIALIZED (
             SELECT id, status, elapsed_ms, flags FROM results
             WHERE id = $1 AND run_id = $2 AND (SELECT closed_at IS NULL FROM run)
             FOR UPDATE
         ),
         u AS (
             UPDATE results r SET status = $3::smallint, note = $4::text,
                 elapsed_ms = $5::bigint, tested_by = $6::bigint, tested_at = $7::bigint,
                 flags = CASE WHEN $3 = {failed} THEN old.flags | {flag_failed}
                              WHEN $3 = {passed} AND old.flags & {flag_failed} <> 0
                                  THEN old.flags | {flag_retried}
                              ELSE old.flags END,
                 step_results = $8::text, defects = $9::text, output = $10::text
             FROM old WHERE r.id = old.id
             RETURNING r.id, r.run_id, r.case_id, r.status, r.note, r.elapsed_ms, r.tested_by,
                 r.tested_at, r.step_results, r.defects, r.assigned_to,
                 old.status AS old_status, old.elapsed_ms AS old_elapsed
         ),
         h AS (
             INSERT INTO history (result_id, status, note, elapsed_ms, tested_by, tested_at,
                 step_results, defects, output)
             SELECT u.id, $3, $4, $5, $11::bigint, $12::bigint, $8, $9, $10 FROM u
         ),
         d AS (
             INSERT INTO run_count_stripes AS s
                 (run_id, stripe, passed, failed, blocked, retest, not_tested, elapsed_ms)
             SELECT $2, pg_backend_pid() % 64, {}, {}, {}, {}, {},
                 coalesce($5, 0) - coalesce(u.old_elapsed, 0)
             FROM u
             WHERE u.old_status <> $3 OR coalesce($5, 0) <> coalesce(u.old_elapsed, 0)
             ON CONFLICT (run_id, stripe) DO UPDATE SET
                 passed = s.passed + excluded.passed, failed = s.failed + excluded.failed,
                 blocked = s.blocked + excluded.blocked, retest = s.retest + excluded.retest,
                 not_tested = s.not_tested + excluded.not_tested,
                 elapsed_ms = s.elapsed_ms + excluded.elapsed_ms
         ),
         ev AS (
             INSERT INTO webhook_events (project_id, type, data, rendered, created_at, fanned)
             SELECT run.project_id, '{recorded}',
                 json_build_object('run_id', u.run_id, 'executions', 1, 'failed',
                     CASE WHEN $3 = {failed} THEN json_build_array(u.id)
                          ELSE json_build_array() END,
                     'counts', json_build_object(
                         'passed', run.passed + st.passed + {},
                         'failed', run.failed + st.failed + {},
                         'blocked', run.blocked + st.blocked + {},
                         'retest', run.retest + st.retest + {},
                         'not_tested', run.not_tested + st.not_tested + {}))::text,
                 false, $12::bigint, false
             FROM u, run,
                 -- The counts as this write leaves them: the run's row,
                 -- its stripes as this statement sees them, and the change.
                 LATERAL (SELECT coalesce(sum(passed), 0)::bigint AS passed,
                     coalesce(sum(failed), 0)::bigint AS failed,
                     coalesce(sum(blocked), 0)::bigint AS blocked,
                     coalesce(sum(retest), 0)::bigint AS retest,
                     coalesce(sum(not_tested), 0)::bigint AS not_tested
                     FROM run_count_stripes WHERE run_id = $2) st
             WHERE EXISTS (SELECT 1 FROM webhooks w WHERE w.project_id = run.project_id
                 AND w.active AND w.events & {bit} <> 0)
         )
         SELECT u.id, u.run_id, u.case_id, c.title, u.status, u.note, u.elapsed_ms,
             u.tested_by, u.tested_at, u.step_results, u.defects, u.assigned_to
         FROM u JOIN cases c ON c.id = u.case_id",
        moved(Status::Passed),
        moved(Status::Failed),
        moved(Status::Blocked),
        moved(Status::Retest),
        moved(Status::NotTested),
        moved(Status::Passed),
        moved(Status::Failed),
        moved(Status::Blocked),
        moved(Status::Retest),
        moved(Status::NotTested),
    )
}

pub(crate) async fn result_history<C: GenericClient>(
    c: &C,
    run: RunId,
    id: ResultId,
    page: Page,
) -> Result<Listing<HistoryEntry>> {
    get_result(c, run, id).await?;
    let (limit, offset) = page.bounds();
    let result = id.get();
    let params: [&Param<'_>; 3] = [&result, &limit, &offset];
    let (total, rows) = tokio::try_join!(
        query_found(
            c,
            "SELECT count(*) FROM history WHERE result_id = $1",
            &params[..1],
        ),
        query(
            c,
            "SELECT status, note, elapsed_ms, tested_by, tested_at, step_results, defects, output
             FROM history WHERE result_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
            &params,
        ),
    )?;
    let items = rows
        .iter()
        .map(|r| {
            let (step_results, defects) = manual_columns(r, 5)?;
            Ok(HistoryEntry {
                step_results,
                defects,
                result_id: id,
                status: status_of(col(r, 0)?)?,
                note: col(r, 1)?,
                elapsed_ms: col(r, 2)?,
                tested_by: UserId::from_db(col(r, 3)?),
                tested_at: Timestamp::from_millis(col(r, 4)?),
                output: col(r, 7)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Listing {
        items,
        total: col(&total, 0)?,
    })
}
