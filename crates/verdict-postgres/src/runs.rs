//! Runs: creation (find-or-create by key, race-free across instances), the
//! cases they hold, closing. Counts live on the run row and change in the
//! same transaction as the results they count; every write to a run's
//! results locks the run row first, which serializes them per run and
//! makes the closed-run check race-free.

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use verdict_store::*;

use crate::error::{Error, Result};
use crate::pool::{Param, analyze_after_insert, col, query, query_found, query_opt};
use crate::projects::get_project;

/// A run as [`run_row`] reads it, from the row alone: exact only once
/// its stripes are folded in (see [`lock_run`]).
const ROW_COLUMNS: &str = "id, project_id, name, description, key, created_at, closed_at,
    passed, failed, blocked, retest, not_tested, branch, commit, build_url, environment";

/// A run as [`run_row`] reads it, counts exact: the row's plus its
/// stripes' (see [`striped`]). Only in statements on `runs` unaliased.
pub(crate) const COLUMNS: &str = "id, project_id, name, description, key, created_at, closed_at,
    passed + (SELECT coalesce(sum(s.passed), 0)::bigint FROM run_count_stripes s WHERE s.run_id = runs.id),
    failed + (SELECT coalesce(sum(s.failed), 0)::bigint FROM run_count_stripes s WHERE s.run_id = runs.id),
    blocked + (SELECT coalesce(sum(s.blocked), 0)::bigint FROM run_count_stripes s WHERE s.run_id = runs.id),
    retest + (SELECT coalesce(sum(s.retest), 0)::bigint FROM run_count_stripes s WHERE s.run_id = runs.id),
    not_tested + (SELECT coalesce(sum(s.not_tested), 0)::bigint FROM run_count_stripes s WHERE s.run_id = runs.id),
    branch, commit, build_url, environment";

/// A run's counter `column` (or `elapsed_ms`) with what its stripes hold:
/// PATCHes add their deltas to one of 64 stripe rows (`run_count_stripes`,
/// chosen by the connection) instead of the run row, so they never wait
/// for each other; writers that need the counts exact lock the run and
/// fold the stripes into it ([`lock_run`]). In statements on `runs`
/// unaliased.
pub(crate) fn striped(column: &str) -> String {
    format!(
        "({column} + (SELECT coalesce(sum(s.{column}), 0)::bigint FROM run_count_stripes s
          WHERE s.run_id = runs.id))"
    )
}

pub(crate) fn run_row(r: &Row) -> Result<Run> {
    let closed_at = col::<Option<i64>>(r, 6)?.map(Timestamp::from_millis);
    Ok(Run {
        id: RunId::from_db(col(r, 0)?),
        project_id: ProjectId::from_db(col(r, 1)?),
        name: col(r, 2)?,
        description: col(r, 3)?,
        key: col(r, 4)?,
        created_at: Timestamp::from_millis(col(r, 5)?),
        state: RunState::of(closed_at),
        closed_at,
        counts: Counts {
            passed: col(r, 7)?,
            failed: col(r, 8)?,
            blocked: col(r, 9)?,
            retest: col(r, 10)?,
            not_tested: col(r, 11)?,
        },
        meta: RunMeta {
            branch: col(r, 12)?,
            commit: col(r, 13)?,
            build_url: col(r, 14)?,
            environment: col(r, 15)?,
        },
    })
}

pub(crate) async fn get_run<C: GenericClient>(c: &C, id: RunId) -> Result<Run> {
    let sql = format!("SELECT {COLUMNS} FROM runs WHERE id = $1");
    run_row(&query_found(c, &sql, &[&id.get()]).await?)
}

/// Locks the run row (`FOR UPDATE`, which waits for every PATCH in
/// flight: they hold it `FOR KEY SHARE`) and folds its count stripes into
/// it, so the row alone is exact until this transaction ends: every write
/// of a run's results but a single PATCH starts here. Two statements: the
/// fold's snapshot must be taken once the lock is held, or it would miss
/// the stripes of PATCHes that committed while it waited.
pub(crate) async fn lock_run(tx: &Transaction<'_>, id: RunId) -> Result<Run> {
    query_found(
        tx,
        "SELECT 1 FROM runs WHERE id = $1 FOR UPDATE",
        &[&id.get()],
    )
    .await?;
    let sql = format!(
        "WITH s AS (
             DELETE FROM run_count_stripes WHERE run_id = $1
             RETURNING passed, failed, blocked, retest, not_tested, elapsed_ms
         ),
         t AS (
             SELECT count(*) AS n, coalesce(sum(passed), 0)::bigint AS passed,
                 coalesce(sum(failed), 0)::bigint AS failed,
                 coalesce(sum(blocked), 0)::bigint AS blocked,
                 coalesce(sum(retest), 0)::bigint AS retest,
                 coalesce(sum(not_tested), 0)::bigint AS not_tested,
                 coalesce(sum(elapsed_ms), 0)::bigint AS elapsed_ms
             FROM s
         ),
         folded AS (
             UPDATE runs SET passed = runs.passed + t.passed, failed = runs.failed + t.failed,
                 blocked = runs.blocked + t.blocked, retest = runs.retest + t.retest,
                 not_tested = runs.not_tested + t.not_tested,
                 elapsed_ms = runs.elapsed_ms + t.elapsed_ms
             FROM t WHERE runs.id = $1 AND t.n > 0
             RETURNING {}
         )
         SELECT * FROM folded
         UNION ALL
         SELECT {ROW_COLUMNS} FROM runs WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM folded)",
        ROW_COLUMNS
            .split(',')
            .map(|c| format!("runs.{}", c.trim()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    run_row(&query_found(tx, &sql, &[&id.get()]).await?)
}

/// Locks the run row (see [`lock_run`]) and checks that the run is open.
pub(crate) async fn lock_open_run(tx: &Transaction<'_>, id: RunId) -> Result<Run> {
    let run = lock_run(tx, id).await?;
    if run.state == RunState::Closed {
        return Err(StoreError::run_closed().into());
    }
    Ok(run)
}

/// Every id must be a live case of the project; the error names each bad
/// one. The cases found are share-locked (in id order) so none is deleted
/// before the results that hold it are written; one probe per id (see
/// `bulk::locate` for why not `= ANY`).
async fn check_cases(tx: &Transaction<'_>, project: ProjectId, ids: &[CaseId]) -> Result<()> {
    let mut wanted: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let rows = query(
        tx,
        "SELECT c.id FROM unnest($1::bigint[]) AS k(id)
         CROSS JOIN LATERAL (SELECT id FROM cases
             WHERE id = k.id AND project_id = $2 AND deleted_at IS NULL
             OFFSET 0 FOR SHARE) AS c",
        &[&wanted, &project.get()],
    )
    .await?;
    let live = rows
        .iter()
        .map(|r| col::<i64>(r, 0))
        .collect::<Result<std::collections::HashSet<_>>>()?;
    let bad: Vec<FieldError> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| !live.contains(&id.get()))
        .map(|(i, id)| {
            FieldError::new(
                format!("case_ids[{i}]"),
                format!("{id} is not a case of this project"),
            )
        })
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(bad).into())
    }
}

/// Adds the given cases (in this order) to a run, skipping those it holds
/// already: one statement, result ids increasing in the given order.
/// Returns `(result id, case id)` of each result added.
pub(crate) async fn insert_results(
    tx: &Transaction<'_>,
    run: RunId,
    cases: &[CaseId],
) -> Result<Vec<(i64, i64)>> {
    let mut seen = std::collections::HashSet::with_capacity(cases.len());
    let ids: Vec<i64> = cases
        .iter()
        .map(|c| c.get())
        .filter(|id| seen.insert(*id))
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let source = "SELECT e.case_id, e.n FROM unnest($2::bigint[]) WITH ORDINALITY AS e(case_id, n)";
    insert_results_from(tx, run, source, &ids).await
}

/// Like [`insert_results`], for every live case of the run's project, in
/// case id order.
async fn insert_all_results(
    tx: &Transaction<'_>,
    run: RunId,
    project: ProjectId,
) -> Result<Vec<(i64, i64)>> {
    let source = "SELECT id, row_number() OVER (ORDER BY id) FROM cases
                  WHERE project_id = $2 AND deleted_at IS NULL";
    insert_results_from(tx, run, source, &project.get()).await
}

/// `source` yields `(case_id, n)` with `n` the order. Ids are drawn from the
/// sequence, sorted, and the `n`-th goes to the `n`-th row, so they increase
/// in that order whatever order the rows are produced in. (An array indexed
/// by rank, not a join on it: the planner has no statistics for CTEs and
/// may pick a quadratic nested loop.)
async fn insert_results_from(
    tx: &Transaction<'_>,
    run: RunId,
    source: &str,
    arg: &(dyn tokio_postgres::types::ToSql + Sync),
) -> Result<Vec<(i64, i64)>> {
    let sql = format!(
        "WITH e AS (
             SELECT s.case_id, row_number() OVER (ORDER BY s.n) AS n
             FROM ({source}) AS s(case_id, n)
             WHERE NOT EXISTS (SELECT 1 FROM results r WHERE r.run_id = $1 AND r.case_id = s.case_id)
         ),
         drawn AS (
             SELECT array_agg(id ORDER BY id) AS ids
             FROM (SELECT nextval('results_id_seq') AS id FROM e) AS d
         )
         INSERT INTO results (id, run_id, case_id, pos) OVERRIDING SYSTEM VALUE
         SELECT drawn.ids[e.n], $1, e.case_id,
             (SELECT coalesce(max(pos), 0) FROM results WHERE run_id = $1) + e.n
         FROM e CROSS JOIN drawn
         ON CONFLICT (run_id, case_id) DO NOTHING
         RETURNING id, case_id"
    );
    let rows = query(tx, &sql, &[&run.get(), arg]).await?;
    analyze_after_insert(tx, "results", rows.len()).await?;
    rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
}

/// Adds to the run's counts and to the sum of its elapsed times, and
/// returns the run as it is now.
pub(crate) async fn add_counts(
    tx: &Transaction<'_>,
    run: RunId,
    delta: &Counts,
    elapsed: i64,
) -> Result<Run> {
    let sql = format!(
        "UPDATE runs SET passed = passed + $2, failed = failed + $3, blocked = blocked + $4,
         retest = retest + $5, not_tested = not_tested + $6, elapsed_ms = elapsed_ms + $7
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let row = query_found(
        tx,
        &sql,
        &[
            &run.get(),
            &delta.passed,
            &delta.failed,
            &delta.blocked,
            &delta.retest,
            &delta.not_tested,
            &elapsed,
        ],
    )
    .await?;
    run_row(&row)
}

async fn find_by_key<C: GenericClient>(
    c: &C,
    project: ProjectId,
    key: &str,
) -> Result<Option<Run>> {
    let sql = format!("SELECT {COLUMNS} FROM runs WHERE project_id = $1 AND key = $2");
    let row = query_opt(c, &sql, &[&project.get(), &key]).await?;
    row.as_ref().map(run_row).transpose()
}

pub(crate) async fn create_run(
    tx: &Transaction<'_>,
    project: ProjectId,
    new: &NewRun,
    now: Timestamp,
) -> Result<(Run, bool)> {
    get_project(tx, project).await?;
    if let Some(key) = &new.key
        && let Some(run) = find_by_key(tx, project, key).await?
    {
        return Ok((run, false));
    }
    if let Some(ids) = &new.case_ids {
        check_cases(tx, project, ids).await?;
    }
    // A concurrent create with the same key may have committed since the
    // look-up: then nothing is inserted, and that run is the answer.
    let inserted = query_opt(
        tx,
        "INSERT INTO runs (project_id, name, description, key, created_at,
             branch, commit, build_url, environment)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (project_id, key) WHERE key IS NOT NULL DO NOTHING RETURNING id",
        &[
            &project.get(),
            &new.name,
            &new.description,
            &new.key,
            &now.millis(),
            &new.meta.branch,
            &new.meta.commit.as_deref().map(str::to_ascii_lowercase),
            &new.meta.build_url,
            &new.meta.environment,
        ],
    )
    .await?;
    let Some(row) = inserted else {
        let key = new.key.as_deref().unwrap_or_default();
        let run = find_by_key(tx, project, key).await?;
        return run
            .map(|run| (run, false))
            .ok_or_else(|| Error::Retry("the run holding this key went away".into()));
    };
    let id = RunId::from_db(col(&row, 0)?);
    let added = match &new.case_ids {
        Some(ids) => insert_results(tx, id, ids).await?,
        None => insert_all_results(tx, id, project).await?,
    };
    let mut delta = Counts::default();
    delta.add(Status::NotTested, added.len() as i64);
    let data = run_facts(id);
    crate::webhooks::enqueue(tx, project, EventType::RunCreated, &data, now).await?;
    Ok((add_counts(tx, id, &delta, 0).await?, true))
}

pub(crate) async fn list_runs<C: GenericClient>(
    c: &C,
    project: ProjectId,
    filter: &RunFilter,
    page: Page,
) -> Result<Listing<Run>> {
    let (limit, offset) = page.bounds();
    let open = filter.state.map(|s| s == RunState::Open);
    // A branch filter is its own statement, so its plan walks runs_branch.
    let branch = if filter.branch.is_some() {
        "branch = $3::text"
    } else {
        "$3::text IS NULL"
    };
    let filter_sql = format!(
        "project_id = $1 AND ($2::boolean IS NULL OR $2::boolean = (closed_at IS NULL)) AND {branch}"
    );
    let count = format!("SELECT count(*) FROM runs WHERE {filter_sql}");
    let list = format!(
        "SELECT {COLUMNS} FROM runs WHERE {filter_sql} ORDER BY id DESC LIMIT $4 OFFSET $5"
    );
    let project = project.get();
    let params: [&Param<'_>; 5] = [&project, &open, &filter.branch, &limit, &offset];
    let (total, rows) = tokio::try_join!(
        query_found(c, &count, &params[..3]),
        query(c, &list, &params),
    )?;
    Ok(Listing {
        items: rows.iter().map(run_row).collect::<Result<_>>()?,
        total: col(&total, 0)?,
    })
}

pub(crate) async fn update_run(tx: &Transaction<'_>, id: RunId, patch: &RunPatch) -> Result<Run> {
    let sql = format!(
        "UPDATE runs SET
             name = CASE WHEN $2 THEN $3 ELSE name END,
             description = CASE WHEN $4 THEN $5 ELSE description END,
             branch = CASE WHEN $6 THEN $7 ELSE branch END,
             commit = CASE WHEN $8 THEN $9 ELSE commit END,
             build_url = CASE WHEN $10 THEN $11 ELSE build_url END,
             environment = CASE WHEN $12 THEN $13 ELSE environment END
         WHERE id = $1 RETURNING {COLUMNS}"
    );
    let meta = &patch.meta;
    let row = query_found(
        tx,
        &sql,
        &[
            &id.get(),
            &patch.name.is_some(),
            &patch.name,
            &patch.description.is_some(),
            &patch.description.clone().flatten(),
            &meta.branch.is_some(),
            &meta.branch.clone().flatten(),
            &meta.commit.is_some(),
            &meta
                .commit
                .clone()
                .flatten()
                .map(|c| c.to_ascii_lowercase()),
            &meta.build_url.is_some(),
            &meta.build_url.clone().flatten(),
            &meta.environment.is_some(),
            &meta.environment.clone().flatten(),
        ],
    )
    .await?;
    run_row(&row)
}

pub(crate) async fn add_cases_to_run(
    tx: &Transaction<'_>,
    id: RunId,
    cases: &[CaseId],
) -> Result<Run> {
    let run = lock_open_run(tx, id).await?;
    check_cases(tx, run.project_id, cases).await?;
    let added = insert_results(tx, id, cases).await?;
    let mut delta = Counts::default();
    delta.add(Status::NotTested, added.len() as i64);
    add_counts(tx, id, &delta, 0).await
}

pub(crate) async fn close_run(tx: &Transaction<'_>, id: RunId, now: Timestamp) -> Result<Run> {
    // Locked and folded first: no PATCH is in flight, and none lands after
    // the close, so the counts answered are final.
    let before = lock_run(tx, id).await?;
    // Closing a closed run changes nothing and answers it.
    let sql = format!(
        "UPDATE runs SET closed_at = COALESCE(closed_at, $2) WHERE id = $1 RETURNING {ROW_COLUMNS}"
    );
    let run = run_row(&query_found(tx, &sql, &[&id.get(), &now.millis()]).await?)?;
    if before.state == RunState::Open {
        let data = run_facts(id);
        crate::webhooks::enqueue(tx, run.project_id, EventType::RunClosed, &data, now).await?;
    }
    Ok(run)
}
