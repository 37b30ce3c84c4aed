//! Triage reads: a run against its baseline, its failures by signature,
//! the gate's facts, flaky cases, durations, trends, a case across runs.
//! This module only reads rows; what they mean (categories, signatures,
//! flip scores, percentiles) is decided by
//! `verdict_store::backend::triage`.
//!
//! Every query walks an index made for it: a run's results by case
//! (`results_run_case`), a run's failures (`results_run_status`), a
//! project's or a branch's latest runs (`runs_project`, `runs_branch`),
//! a case across runs (`results_case`). The results of a window of runs
//! are read one run at a time, driven by `unnest` (see `bulk::locate` for
//! why not `run_id = ANY($1)`), and a run's many results come back as a
//! few arrays rather than a row each (decoding 300,000 rows took longer
//! than the query). Trends read only run rows: their counts and elapsed
//! sums are kept at write time.

use std::collections::{HashMap, HashSet};

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;
use verdict_store::backend::triage::{self, Compared, RunRow, signature};
use verdict_store::*;

use crate::cases::get_case;
use crate::error::Result;
use crate::pool::{Param, col, query, query_found, query_opt};
use crate::projects::get_project;
use crate::results::status_of;
use crate::runs::{get_run, striped};

/// A run with at least one tested result (from its counts).
const TESTED: &str = "passed + failed + blocked + retest
    + (SELECT coalesce(sum(s.passed + s.failed + s.blocked + s.retest), 0)
       FROM run_count_stripes s WHERE s.run_id = runs.id) > 0";

/// The filter on a run's branch (`column`), as `$n`: its own statement
/// with a branch and without, so each plan walks the index made for it.
fn branch_filter(column: &str, branch: &BranchFilter, n: u8) -> String {
    if branch.is_some() {
        format!("{column} = ${n}::text")
    } else {
        format!("${n}::text IS NULL")
    }
}

/// `(skip, take)` of a page over a list held in memory.
fn window(page: Page) -> (usize, usize) {
    let (limit, offset) = page.bounds();
    (
        usize::try_from(offset).unwrap_or(usize::MAX),
        usize::try_from(limit).unwrap_or(usize::MAX),
    )
}

fn paged<T>(items: Vec<T>, page: Page) -> Listing<T> {
    let total = items.len() as i64;
    let (skip, take) = window(page);
    Listing {
        items: items.into_iter().skip(skip).take(take).collect(),
        total,
    }
}

/// The run `run` is compared with: the one named (another run of the same
/// project), or by the baseline rule.
async fn baseline<C: GenericClient>(
    c: &C,
    run: &Run,
    choice: BaselineChoice,
) -> Result<Option<RunId>> {
    match choice {
        BaselineChoice::Run(id) => {
            let row =
                query_opt(c, "SELECT project_id FROM runs WHERE id = $1", &[&id.get()]).await?;
            let project = row.map(|r| col::<i64>(&r, 0)).transpose()?;
            // The same words as SQLite's, in the same order.
            match project {
                None => Err(triage::bad_baseline("no such run").into()),
                Some(p) if p != run.project_id.get() => {
                    Err(triage::bad_baseline("not a run of this project").into())
                }
                Some(_) if id == run.id => {
                    Err(triage::bad_baseline("a run is not its own baseline").into())
                }
                Some(_) => Ok(Some(id)),
            }
        }
        BaselineChoice::Auto => {
            let branch = if run.meta.branch.is_some() {
                "branch = $3::text"
            } else {
                "branch IS NULL AND $3::text IS NULL"
            };
            let sql = format!(
                "SELECT id FROM runs WHERE project_id = $1 AND {branch} AND id < $2
                     AND ($4::text IS NULL OR environment = $4::text) AND {TESTED}
                 ORDER BY id DESC LIMIT 1"
            );
            let row = query_opt(
                c,
                &sql,
                &[
                    &run.project_id.get(),
                    &run.id.get(),
                    &run.meta.branch,
                    &run.meta.environment,
                ],
            )
            .await?;
            row.map(|r| Ok(RunId::from_db(col(&r, 0)?))).transpose()
        }
    }
}

/// A column of arrays, `NULL` (an aggregate over no row) as empty.
fn array<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, idx: usize) -> Result<Vec<T>> {
    Ok(col::<Option<Vec<T>>>(row, idx)?.unwrap_or_default())
}

/// A run's tested results, `(case id, status, result id)` by case id: a
/// result not tested is as good as absent (and a missing case has no
/// result id in a comparison). Read as three arrays, one row: decoding
/// 100,000 rows cost more than the query. Sorted here: in SQL, a
/// 100,000-result run was sorted on disk (`work_mem`), 35 ms of 75.
async fn run_rows<C: GenericClient>(c: &C, run: RunId) -> Result<Vec<RunRow>> {
    let row = query_found(
        c,
        "SELECT array_agg(case_id), array_agg(status), array_agg(id) FROM results
         WHERE run_id = $1 AND status <> 0",
        &[&run.get()],
    )
    .await?;
    let (cases, statuses, ids) = (
        array::<i64>(&row, 0)?,
        array::<i16>(&row, 1)?,
        array::<i64>(&row, 2)?,
    );
    let mut rows = cases
        .into_iter()
        .zip(statuses)
        .zip(ids)
        .map(|((case, status), id)| Ok((case, status_of(status)?, id)))
        .collect::<Result<Vec<RunRow>>>()?;
    rows.sort_unstable_by_key(|r| r.0);
    Ok(rows)
}

/// The run, its baseline, and every case of either compared.
async fn compared<C: GenericClient>(
    c: &C,
    id: RunId,
    choice: BaselineChoice,
) -> Result<(Run, Option<RunId>, Vec<Compared>)> {
    // Pipelined: the baseline's rows are read while the run's are decoded.
    let baseline_rows = async {
        let run = get_run(c, id).await?;
        let base = baseline(c, &run, choice).await?;
        let rows = match base {
            Some(b) => run_rows(c, b).await?,
            None => Vec::new(),
        };
        Ok((run, base, rows))
    };
    let (now, (run, base, base_rows)) = tokio::try_join!(run_rows(c, id), baseline_rows)?;
    let compared = triage::compare(&now, &base_rows);
    Ok((run, base, compared))
}

/// Key and title of each of these cases, by id (one probe each).
async fn case_labels<C: GenericClient>(
    c: &C,
    ids: &[i64],
) -> Result<HashMap<i64, (Option<String>, String, bool)>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = query(
        c,
        "SELECT c.id, c.key, c.title, c.quarantine_reason IS NOT NULL
         FROM unnest($1::bigint[]) AS k(id)
         CROSS JOIN LATERAL (SELECT id, key, title, quarantine_reason FROM cases
             WHERE id = k.id OFFSET 0) AS c",
        &[&ids],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((col(r, 0)?, (col(r, 1)?, col(r, 2)?, col(r, 3)?))))
        .collect()
}

/// The notes of these results, by id (one probe each).
async fn notes<C: GenericClient>(c: &C, ids: &[i64]) -> Result<HashMap<i64, Option<String>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows = query(
        c,
        "SELECT r.id, r.note FROM unnest($1::bigint[]) AS k(id)
         CROSS JOIN LATERAL (SELECT id, note FROM results WHERE id = k.id OFFSET 0) AS r",
        &[&ids],
    )
    .await?;
    rows.iter().map(|r| Ok((col(r, 0)?, col(r, 1)?))).collect()
}

pub(crate) async fn compare_runs<C: GenericClient>(
    c: &C,
    id: RunId,
    choice: BaselineChoice,
    categories: &[Category],
    page: Page,
) -> Result<Comparison> {
    let (_, base, compared) = compared(c, id, choice).await?;
    let summary = triage::summarize(&compared);
    let listed = paged(triage::changes(&compared, categories), page);
    let cases: Vec<i64> = listed.items.iter().map(|x| x.case_id).collect();
    let failed: Vec<i64> = listed
        .items
        .iter()
        .filter(|x| x.status == Some(Status::Failed))
        .filter_map(|x| x.result_id)
        .collect();
    let (labels, notes) = tokio::try_join!(case_labels(c, &cases), notes(c, &failed))?;
    let items = listed
        .items
        .iter()
        .map(|x| {
            let (key, title, _) = labels.get(&x.case_id).cloned().unwrap_or_default();
            let signature = match (x.status, x.result_id) {
                (Some(Status::Failed), Some(r)) => {
                    Some(signature::of(notes.get(&r).and_then(|n| n.as_deref())).signature)
                }
                _ => None,
            };
            Change {
                case_id: CaseId::from_db(x.case_id),
                key,
                title,
                category: x.category,
                status: x.status,
                baseline_status: x.baseline_status,
                result_id: x.result_id.map(ResultId::from_db),
                signature,
            }
        })
        .collect();
    Ok(Comparison {
        run_id: id,
        baseline_id: base,
        summary,
        changes: Listing {
            items,
            total: listed.total,
        },
    })
}

/// A run's failed results, `(result id, case id, title, note)` by result
/// id.
async fn failures<C: GenericClient>(
    c: &C,
    run: RunId,
) -> Result<Vec<(i64, i64, String, Option<String>)>> {
    let rows = query(
        c,
        "SELECT r.id, r.case_id, c.title, r.note FROM results r JOIN cases c ON c.id = r.case_id
         WHERE r.run_id = $1 AND r.status = 2 ORDER BY r.id",
        &[&run.get()],
    )
    .await?;
    rows.iter()
        .map(|r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?, col(r, 3)?)))
        .collect()
}

/// The signatures of a run's failures.
async fn failure_signatures<C: GenericClient>(c: &C, run: RunId) -> Result<HashSet<String>> {
    let rows = query(
        c,
        "SELECT note FROM results WHERE run_id = $1 AND status = 2",
        &[&run.get()],
    )
    .await?;
    rows.iter()
        .map(|r| Ok(signature::of(col::<Option<&str>>(r, 0)?).signature))
        .collect()
}

pub(crate) async fn run_failures<C: GenericClient>(
    c: &C,
    id: RunId,
    choice: BaselineChoice,
    per_group: usize,
    page: Page,
) -> Result<FailureReport> {
    let run = get_run(c, id).await?;
    let base = baseline(c, &run, choice).await?;
    let known = async {
        match base {
            Some(b) => failure_signatures(c, b).await,
            None => Ok(HashSet::new()),
        }
    };
    let (failed, known) = tokio::try_join!(failures(c, id), known)?;
    let groups = triage::group_failures(failed, &known, per_group);
    Ok(FailureReport {
        run_id: id,
        baseline_id: base,
        groups: paged(groups, page),
    })
}

pub(crate) async fn gate_facts<C: GenericClient>(
    c: &C,
    id: RunId,
    choice: BaselineChoice,
    ignore_quarantined: bool,
) -> Result<GateFacts> {
    let (run, base, compared) = compared(c, id, choice).await?;
    let mut quarantined = HashSet::new();
    if ignore_quarantined {
        let rows = query(
            c,
            "SELECT id FROM cases WHERE project_id = $1 AND quarantine_reason IS NOT NULL",
            &[&run.project_id.get()],
        )
        .await?;
        for r in &rows {
            quarantined.insert(col::<i64>(r, 0)?);
        }
    }
    Ok(triage::gate_facts(
        base,
        &compared,
        &|case| quarantined.contains(&case),
        ignore_quarantined,
    ))
}

/// Turns JIT compilation off for the rest of the transaction: a window's
/// results are a plan whose cost passes `jit_above_cost`, and compiling it
/// took 10 to 20 ms of the 100 or so the query itself takes.
async fn no_jit<C: GenericClient>(c: &C) -> Result<()> {
    c.batch_execute("SET LOCAL jit = off")
        .await
        .map_err(crate::error::db_err)
}

/// The latest `n` runs of the project (of the branch, when one is given)
/// with at least one tested result, newest first.
async fn window_runs<C: GenericClient>(
    c: &C,
    project: ProjectId,
    branch: &BranchFilter,
    n: u32,
) -> Result<Vec<i64>> {
    let sql = format!(
        "SELECT id FROM runs WHERE project_id = $1 AND {} AND {TESTED}
         ORDER BY id DESC LIMIT $3",
        branch_filter("branch", branch, 2)
    );
    let rows = query(c, &sql, &[&project.get(), branch, &i64::from(n)]).await?;
    rows.iter().map(|r| col::<i64>(r, 0)).collect()
}

pub(crate) async fn flaky_cases<C: GenericClient>(
    c: &C,
    project: ProjectId,
    q: &FlakyQuery,
    page: Page,
) -> Result<Listing<FlakyCase>> {
    tokio::try_join!(no_jit(c), get_project(c, project))?;
    let runs = window_runs(c, project, &q.branch, q.window).await?;
    // Passed (1) or failed (2), or a pass after a retry (flag 2).
    // Arrays per run, as `run_rows` reads them.
    let per_run = query(
        c,
        "SELECT k.run_id, r.cases, r.statuses, r.flags FROM unnest($1::bigint[]) AS k(run_id)
         CROSS JOIN LATERAL (SELECT array_agg(case_id) AS cases, array_agg(status) AS statuses,
                 array_agg(flags) AS flags
             FROM results
             WHERE run_id = k.run_id AND (status IN (1, 2) OR (flags & 2) <> 0)) AS r",
        &[&runs],
    )
    .await?;
    let mut rows: Vec<triage::FlakyRow> = Vec::new();
    for r in &per_run {
        let run: i64 = col(r, 0)?;
        let (cases, statuses, flags) = (
            array::<i64>(r, 1)?,
            array::<i16>(r, 2)?,
            array::<i16>(r, 3)?,
        );
        rows.reserve(cases.len());
        for ((case, status), flags) in cases.into_iter().zip(statuses).zip(flags) {
            rows.push((case, run, status_of(status)?, i64::from(flags)));
        }
    }
    let mut listing = paged(triage::flaky(&rows, q.threshold), page);
    let ids: Vec<i64> = listing.items.iter().map(|f| f.case_id.get()).collect();
    let labels = case_labels(c, &ids).await?;
    for f in &mut listing.items {
        if let Some((key, title, quarantined)) = labels.get(&f.case_id.get()) {
            f.key.clone_from(key);
            f.title.clone_from(title);
            f.quarantined = *quarantined;
        }
    }
    Ok(listing)
}

pub(crate) async fn durations<C: GenericClient>(
    c: &C,
    project: ProjectId,
    q: &DurationQuery,
    page: Page,
) -> Result<Listing<CaseDurations>> {
    tokio::try_join!(no_jit(c), get_project(c, project))?;
    // The window and the window before it.
    let runs = window_runs(c, project, &q.branch, q.window.saturating_mul(2)).await?;
    let recent: HashSet<i64> = runs
        .iter()
        .copied()
        .take(usize::try_from(q.window).unwrap_or(usize::MAX))
        .collect();
    let per_run = query(
        c,
        "SELECT k.run_id, r.cases, r.elapsed FROM unnest($1::bigint[]) AS k(run_id)
         CROSS JOIN LATERAL (SELECT array_agg(case_id) AS cases, array_agg(elapsed_ms) AS elapsed
             FROM results WHERE run_id = k.run_id AND elapsed_ms IS NOT NULL) AS r",
        &[&runs],
    )
    .await?;
    let mut rows: Vec<triage::DurationRow> = Vec::new();
    for r in &per_run {
        let run: i64 = col(r, 0)?;
        let (cases, elapsed) = (array::<i64>(r, 1)?, array::<i64>(r, 2)?);
        rows.extend(
            cases
                .into_iter()
                .zip(elapsed)
                .map(|(case, ms)| (case, run, ms)),
        );
    }
    let mut all = triage::durations(&rows, &|run| recent.contains(&run));
    triage::sort_durations(&mut all, q.sort);
    let mut listing = paged(all, page);
    let ids: Vec<i64> = listing.items.iter().map(|d| d.case_id.get()).collect();
    let labels = case_labels(c, &ids).await?;
    for d in &mut listing.items {
        if let Some((_, title, _)) = labels.get(&d.case_id.get()) {
            d.title.clone_from(title);
        }
    }
    Ok(listing)
}

pub(crate) async fn trends<C: GenericClient>(
    c: &C,
    project: ProjectId,
    branch: &BranchFilter,
    runs: u32,
) -> Result<Vec<TrendRow>> {
    get_project(c, project).await?;
    let sql = format!(
        "SELECT id, name, created_at, branch, {}
         FROM runs WHERE project_id = $1 AND {} ORDER BY id DESC LIMIT $3",
        [
            "passed",
            "failed",
            "blocked",
            "retest",
            "not_tested",
            "elapsed_ms"
        ]
        .map(striped)
        .join(", "),
        branch_filter("branch", branch, 2)
    );
    let rows = query(c, &sql, &[&project.get(), branch, &i64::from(runs)]).await?;
    let mut out = rows.iter().map(trend_row).collect::<Result<Vec<_>>>()?;
    out.reverse();
    Ok(out)
}

fn trend_row(r: &Row) -> Result<TrendRow> {
    let counts = Counts {
        passed: col(r, 4)?,
        failed: col(r, 5)?,
        blocked: col(r, 6)?,
        retest: col(r, 7)?,
        not_tested: col(r, 8)?,
    };
    let tested = counts.total() - counts.not_tested;
    Ok(TrendRow {
        run_id: RunId::from_db(col(r, 0)?),
        name: col(r, 1)?,
        created_at: Timestamp::from_millis(col(r, 2)?),
        branch: col(r, 3)?,
        pass_rate: (tested > 0).then(|| counts.passed as f64 / tested as f64),
        counts,
        elapsed_ms: col(r, 9)?,
    })
}

pub(crate) async fn case_results<C: GenericClient>(
    c: &C,
    case: CaseId,
    branch: &BranchFilter,
    page: Page,
) -> Result<Listing<CaseRunResult>> {
    get_case(c, case).await?;
    // `r.case_id > 0` lets the plan use results_case (see migration 4).
    let (limit, offset) = page.bounds();
    let filter = format!(
        "FROM results r JOIN runs ru ON ru.id = r.run_id
         WHERE r.case_id = $1 AND r.case_id > 0 AND {}",
        branch_filter("ru.branch", branch, 2)
    );
    let count = format!("SELECT count(*) {filter}");
    let list = format!(
        "SELECT r.run_id, ru.name, ru.branch, ru.commit, r.id, r.status, r.note, r.elapsed_ms,
             r.tested_by, r.tested_at
         {filter} ORDER BY r.run_id DESC LIMIT $3 OFFSET $4"
    );
    let case = case.get();
    let params: [&Param<'_>; 4] = [&case, branch, &limit, &offset];
    let (total, rows) = tokio::try_join!(
        query_found(c, &count, &params[..2]),
        query(c, &list, &params),
    )?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(CaseRunResult {
                run_id: RunId::from_db(col(r, 0)?),
                run_name: col(r, 1)?,
                branch: col(r, 2)?,
                commit: col(r, 3)?,
                result_id: ResultId::from_db(col(r, 4)?),
                status: status_of(col(r, 5)?)?,
                note: col(r, 6)?,
                elapsed_ms: col(r, 7)?,
                tested_by: col::<Option<i64>>(r, 8)?.map(UserId::from_db),
                tested_at: col::<Option<i64>>(r, 9)?.map(Timestamp::from_millis),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Listing {
        items,
        total: col(&total, 0)?,
    })
}
