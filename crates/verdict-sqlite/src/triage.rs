//! Triage reads: a run compared with its baseline, its failures by
//! signature, the gate's facts, flaky cases, durations, trends and a case
//! across runs. Each reads rows with an index (a run's results by case id
//! through `results_run_case`, a case's results through `results_case`,
//! runs through `runs_branch`) and hands them to
//! `verdict_store::backend::triage`, which decides; titles and notes are
//! read only for the page answered.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, params};
use verdict_store::backend::triage::{self as decide, RunRow, signature};
use verdict_store::*;

use crate::cases::get_case;
use crate::projects::get_project;
use crate::results::status_of;
use crate::runs::get_run;
use crate::{db_err, found, ts};

/// One page of `items`.
fn page_of<T>(items: Vec<T>, page: Page) -> Vec<T> {
    let (limit, offset) = page.bounds();
    items
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect()
}

/// Tested results: every status but `not_tested`.
const TESTED: &str = "passed + failed + blocked + retest > 0";

/// The run's baseline: the named one (another run of its project), or by
/// the baseline rule.
pub(crate) fn baseline_of(
    c: &Connection,
    run: &Run,
    choice: BaselineChoice,
) -> StoreResult<Option<RunId>> {
    match choice {
        BaselineChoice::Run(id) => {
            let project: Option<i64> = c
                .prepare_cached("SELECT project_id FROM runs WHERE id = ?1")
                .and_then(|mut s| s.query_row([id.get()], |r| r.get(0)).optional())
                .map_err(db_err)?;
            match project {
                None => Err(decide::bad_baseline("no such run")),
                Some(p) if p != run.project_id.get() => {
                    Err(decide::bad_baseline("not a run of this project"))
                }
                Some(_) if id == run.id => {
                    Err(decide::bad_baseline("a run is not its own baseline"))
                }
                Some(_) => Ok(Some(id)),
            }
        }
        BaselineChoice::Auto => {
            let sql = format!(
                "SELECT id FROM runs
                 WHERE project_id = ?1 AND branch IS ?2 AND id < ?3
                   AND (?4 IS NULL OR environment = ?4) AND {TESTED}
                 ORDER BY id DESC LIMIT 1"
            );
            let id: Option<i64> = c
                .prepare_cached(&sql)
                .and_then(|mut s| {
                    s.query_row(
                        params![
                            run.project_id.get(),
                            run.meta.branch,
                            run.id.get(),
                            run.meta.environment
                        ],
                        |r| r.get(0),
                    )
                    .optional()
                })
                .map_err(db_err)?;
            Ok(id.map(RunId::from_db))
        }
    }
}

/// A run's tested results as (case id, status, result id), by case id.
fn run_rows(c: &Connection, run: Option<RunId>) -> StoreResult<Vec<RunRow>> {
    let Some(run) = run else {
        return Ok(Vec::new());
    };
    let mut stmt = c
        .prepare_cached(
            "SELECT case_id, status, id FROM results
             WHERE run_id = ?1 AND status <> 0 ORDER BY case_id",
        )
        .map_err(db_err)?;
    stmt.query_map([run.get()], |r| {
        Ok((r.get(0)?, status_of(r.get(1)?)?, r.get(2)?))
    })
    .and_then(|rows| rows.collect())
    .map_err(db_err)
}

/// The run, its baseline and every case either tests, categorised.
fn compared(
    c: &Connection,
    run: RunId,
    baseline: BaselineChoice,
) -> StoreResult<(Run, Option<RunId>, Vec<decide::Compared>)> {
    let run = get_run(c, run)?;
    let base = baseline_of(c, &run, baseline)?;
    let now = run_rows(c, Some(run.id))?;
    let before = run_rows(c, base)?;
    let compared = decide::compare(&now, &before);
    Ok((run, base, compared))
}

/// A case's key and title (deleted cases too: runs keep them).
fn key_and_title(c: &Connection, case: i64) -> StoreResult<(Option<String>, String)> {
    let mut stmt = c
        .prepare_cached("SELECT key, title FROM cases WHERE id = ?1")
        .map_err(db_err)?;
    found(stmt.query_row([case], |r| Ok((r.get(0)?, r.get(1)?))))
}

pub(crate) fn compare_runs(
    c: &Connection,
    run: RunId,
    baseline: BaselineChoice,
    categories: &[Category],
    page: Page,
) -> StoreResult<Comparison> {
    let (run, base, compared) = compared(c, run, baseline)?;
    let summary = decide::summarize(&compared);
    let listed = decide::changes(&compared, categories);
    let total = listed.len() as i64;
    let mut note = c
        .prepare_cached("SELECT note FROM results WHERE id = ?1")
        .map_err(db_err)?;
    let mut items = Vec::new();
    for ch in page_of(listed, page) {
        let (key, title) = key_and_title(c, ch.case_id)?;
        let signature = match (ch.status, ch.result_id) {
            (Some(Status::Failed), Some(id)) => {
                let text: Option<String> = note.query_row([id], |r| r.get(0)).map_err(db_err)?;
                Some(signature::of(text.as_deref()).signature)
            }
            _ => None,
        };
        items.push(Change {
            case_id: CaseId::from_db(ch.case_id),
            key,
            title,
            category: ch.category,
            status: ch.status,
            baseline_status: ch.baseline_status,
            result_id: ch.result_id.map(ResultId::from_db),
            signature,
        });
    }
    Ok(Comparison {
        run_id: run.id,
        baseline_id: base,
        summary,
        changes: Listing { items, total },
    })
}

pub(crate) fn run_failures(
    c: &Connection,
    run: RunId,
    baseline: BaselineChoice,
    per_group: usize,
    page: Page,
) -> StoreResult<FailureReport> {
    let run = get_run(c, run)?;
    let base = baseline_of(c, &run, baseline)?;
    let mut known = HashSet::new();
    if let Some(base) = base {
        let mut stmt = c
            .prepare_cached("SELECT note FROM results WHERE run_id = ?1 AND status = 2")
            .map_err(db_err)?;
        let notes = stmt
            .query_map([base.get()], |r| r.get::<_, Option<String>>(0))
            .map_err(db_err)?;
        for note in notes {
            known.insert(signature::of(note.map_err(db_err)?.as_deref()).signature);
        }
    }
    let mut stmt = c
        .prepare_cached(
            "SELECT r.id, r.case_id, c.title, r.note
             FROM results r JOIN cases c ON c.id = r.case_id
             WHERE r.run_id = ?1 AND r.status = 2 ORDER BY r.id",
        )
        .map_err(db_err)?;
    let failures = stmt
        .query_map([run.id.get()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    let groups = decide::group_failures(failures, &known, per_group);
    let total = groups.len() as i64;
    Ok(FailureReport {
        run_id: run.id,
        baseline_id: base,
        groups: Listing {
            items: page_of(groups, page),
            total,
        },
    })
}

pub(crate) fn gate_facts(
    c: &Connection,
    run: RunId,
    baseline: BaselineChoice,
    ignore_quarantined: bool,
) -> StoreResult<GateFacts> {
    let (run, base, compared) = compared(c, run, baseline)?;
    let mut quarantined = HashSet::new();
    if ignore_quarantined {
        let mut stmt = c
            .prepare_cached(
                "SELECT id FROM cases WHERE project_id = ?1 AND quarantine_reason IS NOT NULL",
            )
            .map_err(db_err)?;
        let ids = stmt
            .query_map([run.project_id.get()], |r| r.get::<_, i64>(0))
            .map_err(db_err)?;
        for id in ids {
            quarantined.insert(id.map_err(db_err)?);
        }
    }
    Ok(decide::gate_facts(
        base,
        &compared,
        &|case| quarantined.contains(&case),
        ignore_quarantined,
    ))
}

/// The latest `n` runs of the project (of `branch`, when given) that have
/// a tested result, newest first.
fn window_runs(
    c: &Connection,
    project: ProjectId,
    branch: Option<&str>,
    n: u32,
) -> StoreResult<Vec<i64>> {
    let sql = if branch.is_some() {
        format!(
            "SELECT id FROM runs WHERE project_id = ?1 AND branch = ?2 AND {TESTED}
             ORDER BY id DESC LIMIT ?3"
        )
    } else {
        format!(
            "SELECT id FROM runs WHERE project_id = ?1 AND ?2 IS NULL AND {TESTED}
             ORDER BY id DESC LIMIT ?3"
        )
    };
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    stmt.query_map(params![project.get(), branch, n], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .map_err(db_err)
}

pub(crate) fn flaky_cases(
    c: &Connection,
    project: ProjectId,
    query: &FlakyQuery,
    page: Page,
) -> StoreResult<Listing<FlakyCase>> {
    get_project(c, project)?;
    let runs = window_runs(c, project, query.branch.as_deref(), query.window)?;
    let mut stmt = c
        .prepare_cached(
            "SELECT case_id, status, flags FROM results
             WHERE run_id = ?1 AND (status IN (1, 2) OR flags & 2 <> 0)",
        )
        .map_err(db_err)?;
    let mut rows: Vec<decide::FlakyRow> = Vec::new();
    for run in runs {
        let read = stmt
            .query_map([run], |r| {
                Ok((r.get(0)?, run, status_of(r.get(1)?)?, r.get(2)?))
            })
            .map_err(db_err)?;
        for row in read {
            rows.push(row.map_err(db_err)?);
        }
    }
    let flaky = decide::flaky(&rows, query.threshold);
    let total = flaky.len() as i64;
    let mut case = c
        .prepare_cached("SELECT key, title, quarantine_reason IS NOT NULL FROM cases WHERE id = ?1")
        .map_err(db_err)?;
    let mut items = page_of(flaky, page);
    for item in &mut items {
        let (key, title, quarantined) = case
            .query_row([item.case_id.get()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(db_err)?;
        item.key = key;
        item.title = title;
        item.quarantined = quarantined;
    }
    Ok(Listing { items, total })
}

pub(crate) fn durations(
    c: &Connection,
    project: ProjectId,
    query: &DurationQuery,
    page: Page,
) -> StoreResult<Listing<CaseDurations>> {
    get_project(c, project)?;
    // The window and the window before it, by the same rule.
    let runs = window_runs(
        c,
        project,
        query.branch.as_deref(),
        query.window.saturating_mul(2),
    )?;
    let window = usize::try_from(query.window).unwrap_or(usize::MAX);
    let recent: HashSet<i64> = runs.iter().take(window).copied().collect();
    let mut stmt = c
        .prepare_cached(
            "SELECT case_id, elapsed_ms FROM results
             WHERE run_id = ?1 AND elapsed_ms IS NOT NULL",
        )
        .map_err(db_err)?;
    let mut rows: Vec<decide::DurationRow> = Vec::new();
    for run in runs {
        let read = stmt
            .query_map([run], |r| Ok((r.get(0)?, run, r.get(1)?)))
            .map_err(db_err)?;
        for row in read {
            rows.push(row.map_err(db_err)?);
        }
    }
    let mut all = decide::durations(&rows, &|run| recent.contains(&run));
    decide::sort_durations(&mut all, query.sort);
    let total = all.len() as i64;
    let mut items = page_of(all, page);
    for item in &mut items {
        item.title = key_and_title(c, item.case_id.get())?.1;
    }
    Ok(Listing { items, total })
}

pub(crate) fn trends(
    c: &Connection,
    project: ProjectId,
    branch: Option<&str>,
    runs: u32,
) -> StoreResult<Vec<TrendRow>> {
    get_project(c, project)?;
    let columns = "id, name, created_at, branch, passed, failed, blocked, retest, not_tested,
        elapsed_ms";
    let sql = if branch.is_some() {
        format!(
            "SELECT {columns} FROM runs WHERE project_id = ?1 AND branch = ?2
             ORDER BY id DESC LIMIT ?3"
        )
    } else {
        format!(
            "SELECT {columns} FROM runs WHERE project_id = ?1 AND ?2 IS NULL
             ORDER BY id DESC LIMIT ?3"
        )
    };
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let mut rows = stmt
        .query_map(params![project.get(), branch, runs], |r| {
            let counts = Counts {
                passed: r.get(4)?,
                failed: r.get(5)?,
                blocked: r.get(6)?,
                retest: r.get(7)?,
                not_tested: r.get(8)?,
            };
            let tested = counts.total() - counts.not_tested;
            Ok(TrendRow {
                run_id: RunId::from_db(r.get(0)?),
                name: r.get(1)?,
                created_at: Timestamp::from_millis(r.get(2)?),
                branch: r.get(3)?,
                pass_rate: (tested > 0).then(|| counts.passed as f64 / tested as f64),
                counts,
                elapsed_ms: r.get(9)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    rows.reverse();
    Ok(rows)
}

pub(crate) fn case_results(
    c: &Connection,
    case: CaseId,
    branch: Option<&str>,
    page: Page,
) -> StoreResult<Listing<CaseRunResult>> {
    get_case(c, case)?;
    let (limit, offset) = page.bounds();
    // Two shapes: without a branch the count never touches runs.
    let (count, select) = if branch.is_some() {
        (
            "SELECT count(*) FROM results r JOIN runs ru ON ru.id = r.run_id
             WHERE r.case_id = ?1 AND ru.branch = ?2",
            "AND ru.branch = ?2",
        )
    } else {
        (
            "SELECT count(*) FROM results r WHERE r.case_id = ?1 AND ?2 IS NULL",
            "AND ?2 IS NULL",
        )
    };
    let total: i64 = c
        .prepare_cached(count)
        .and_then(|mut s| s.query_row(params![case.get(), branch], |r| r.get(0)))
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT r.run_id, ru.name, ru.branch, ru.\"commit\", r.id, r.status, r.note,
                    r.elapsed_ms, r.tested_by, r.tested_at
             FROM results r JOIN runs ru ON ru.id = r.run_id
             WHERE r.case_id = ?1 {select}
             ORDER BY r.run_id DESC LIMIT ?3 OFFSET ?4"
        ))
        .map_err(db_err)?;
    let items = stmt
        .query_map(params![case.get(), branch, limit, offset], |r| {
            Ok(CaseRunResult {
                run_id: RunId::from_db(r.get(0)?),
                run_name: r.get(1)?,
                branch: r.get(2)?,
                commit: r.get(3)?,
                result_id: ResultId::from_db(r.get(4)?),
                status: status_of(r.get(5)?)?,
                note: r.get(6)?,
                elapsed_ms: r.get(7)?,
                tested_by: r.get::<_, Option<i64>>(8)?.map(UserId::from_db),
                tested_at: ts(r.get(9)?),
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}
