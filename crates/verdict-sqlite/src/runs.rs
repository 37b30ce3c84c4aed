//! Runs: creation (find-or-create by key), the cases they hold, closing.
//! Counts live on the run row and change with the results they count.

use rusqlite::{Connection, OptionalExtension, Row, params};
use verdict_store::*;

use crate::projects::get_project;
use crate::{db_err, found, ts};

pub(crate) const COLUMNS: &str = "id, project_id, name, description, key, created_at, closed_at,
    passed, failed, blocked, retest, not_tested, branch, \"commit\", build_url, environment";

pub(crate) fn run_row(r: &Row<'_>) -> rusqlite::Result<Run> {
    let closed_at = ts(r.get(6)?);
    Ok(Run {
        id: RunId::from_db(r.get(0)?),
        project_id: ProjectId::from_db(r.get(1)?),
        name: r.get(2)?,
        description: r.get(3)?,
        key: r.get(4)?,
        created_at: Timestamp::from_millis(r.get(5)?),
        state: RunState::of(closed_at),
        closed_at,
        counts: Counts {
            passed: r.get(7)?,
            failed: r.get(8)?,
            blocked: r.get(9)?,
            retest: r.get(10)?,
            not_tested: r.get(11)?,
        },
        meta: RunMeta {
            branch: r.get(12)?,
            commit: r.get(13)?,
            build_url: r.get(14)?,
            environment: r.get(15)?,
        },
    })
}

pub(crate) fn get_run(c: &Connection, id: RunId) -> StoreResult<Run> {
    let mut stmt = c
        .prepare_cached(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"))
        .map_err(db_err)?;
    found(stmt.query_row([id.get()], run_row))
}

/// The run, which must be open.
pub(crate) fn open_run(c: &Connection, id: RunId) -> StoreResult<Run> {
    let run = get_run(c, id)?;
    if run.state == RunState::Closed {
        return Err(StoreError::run_closed());
    }
    Ok(run)
}

/// Every id must be a live case of the project; the error names each bad one.
fn check_cases(c: &Connection, project: ProjectId, ids: &[CaseId]) -> StoreResult<()> {
    let mut stmt = c
        .prepare_cached(
            "SELECT 1 FROM cases WHERE id = ?1 AND project_id = ?2 AND deleted_at IS NULL",
        )
        .map_err(db_err)?;
    let mut bad = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        if !stmt.exists([id.get(), project.get()]).map_err(db_err)? {
            bad.push(FieldError::new(
                format!("case_ids[{i}]"),
                format!("{id} is not a case of this project"),
            ));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Invalid(bad))
    }
}

/// Adds cases that are not in the run yet; returns how many were added.
fn insert_results(c: &Connection, run: RunId, ids: &[CaseId]) -> StoreResult<i64> {
    let mut stmt = c
        .prepare_cached("INSERT OR IGNORE INTO results (run_id, case_id, pos) VALUES (?1, ?2, (SELECT coalesce(max(pos), 0) + 1 FROM results WHERE run_id = ?1))")
        .map_err(db_err)?;
    let mut added = 0;
    for id in ids {
        added += stmt.execute([run.get(), id.get()]).map_err(db_err)? as i64;
    }
    Ok(added)
}

pub(crate) fn create_run(
    c: &Connection,
    project: ProjectId,
    new: &NewRun,
    now: Timestamp,
) -> StoreResult<(Run, bool)> {
    get_project(c, project)?;
    if let Some(key) = &new.key {
        let existing = c
            .query_row(
                &format!("SELECT {COLUMNS} FROM runs WHERE project_id = ?1 AND key = ?2"),
                params![project.get(), key],
                run_row,
            )
            .optional()
            .map_err(db_err)?;
        if let Some(run) = existing {
            return Ok((run, false));
        }
    }
    if let Some(ids) = &new.case_ids {
        check_cases(c, project, ids)?;
    }
    let meta = &new.meta;
    c.execute(
        "INSERT INTO runs (project_id, name, description, key, created_at,
             branch, \"commit\", build_url, environment)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            project.get(),
            new.name,
            new.description,
            new.key,
            now.millis(),
            meta.branch,
            meta.commit.as_deref().map(str::to_ascii_lowercase),
            meta.build_url,
            meta.environment
        ],
    )
    .map_err(db_err)?;
    let id = RunId::from_db(c.last_insert_rowid());
    let added = match &new.case_ids {
        Some(ids) => insert_results(c, id, ids)?,
        None => c
            .execute(
                "INSERT INTO results (run_id, case_id, pos)
                 SELECT ?1, id, row_number() OVER (ORDER BY id) FROM cases
                 WHERE project_id = ?2 AND deleted_at IS NULL ORDER BY id",
                [id.get(), project.get()],
            )
            .map_err(db_err)? as i64,
    };
    c.execute(
        "UPDATE runs SET not_tested = ?2 WHERE id = ?1",
        [id.get(), added],
    )
    .map_err(db_err)?;
    let data = run_facts(id);
    crate::webhooks::enqueue(c, project, EventType::RunCreated, &data, now)?;
    Ok((get_run(c, id)?, true))
}

pub(crate) fn list_runs(
    c: &Connection,
    project: ProjectId,
    filter: &RunFilter,
    page: Page,
) -> StoreResult<Listing<Run>> {
    let (limit, offset) = page.bounds();
    let state = filter.state.map(|s| s.as_str());
    let branch = filter.branch.as_deref();
    // Two shapes, so a branch filter uses runs_branch.
    let sql_filter = if branch.is_some() {
        "project_id = ?1 AND (?2 IS NULL OR (?2 = 'open') = (closed_at IS NULL)) AND branch = ?3"
    } else {
        "project_id = ?1 AND (?2 IS NULL OR (?2 = 'open') = (closed_at IS NULL)) AND ?3 IS NULL"
    };
    let total = c
        .prepare_cached(&format!("SELECT count(*) FROM runs WHERE {sql_filter}"))
        .and_then(|mut stmt| stmt.query_row(params![project.get(), state, branch], |r| r.get(0)))
        .map_err(db_err)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM runs WHERE {sql_filter} ORDER BY id DESC LIMIT ?4 OFFSET ?5"
        ))
        .map_err(db_err)?;
    let items = stmt
        .query_map(
            params![project.get(), state, branch, limit, offset],
            run_row,
        )
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}

pub(crate) fn update_run(c: &Connection, id: RunId, patch: &RunPatch) -> StoreResult<Run> {
    let mut run = get_run(c, id)?;
    if let Some(name) = &patch.name {
        run.name = name.clone();
    }
    if let Some(description) = &patch.description {
        run.description = description.clone();
    }
    let meta = &mut run.meta;
    let set = |field: &mut Option<String>, to: &Option<Option<String>>| {
        if let Some(to) = to {
            field.clone_from(to);
        }
    };
    set(&mut meta.branch, &patch.meta.branch);
    set(&mut meta.commit, &patch.meta.commit);
    set(&mut meta.build_url, &patch.meta.build_url);
    set(&mut meta.environment, &patch.meta.environment);
    meta.commit = meta.commit.as_deref().map(str::to_ascii_lowercase);
    c.execute(
        "UPDATE runs SET name = ?2, description = ?3, branch = ?4, \"commit\" = ?5,
             build_url = ?6, environment = ?7
         WHERE id = ?1",
        params![
            id.get(),
            run.name,
            run.description,
            meta.branch,
            meta.commit,
            meta.build_url,
            meta.environment
        ],
    )
    .map_err(db_err)?;
    Ok(run)
}

pub(crate) fn add_cases_to_run(c: &Connection, id: RunId, cases: &[CaseId]) -> StoreResult<Run> {
    let run = open_run(c, id)?;
    check_cases(c, run.project_id, cases)?;
    let added = insert_results(c, id, cases)?;
    c.execute(
        "UPDATE runs SET not_tested = not_tested + ?2 WHERE id = ?1",
        [id.get(), added],
    )
    .map_err(db_err)?;
    get_run(c, id)
}

pub(crate) fn close_run(c: &Connection, id: RunId, now: Timestamp) -> StoreResult<Run> {
    let closed = c
        .execute(
            "UPDATE runs SET closed_at = ?2 WHERE id = ?1 AND closed_at IS NULL",
            [id.get(), now.millis()],
        )
        .map_err(db_err)?;
    let run = get_run(c, id)?;
    if closed > 0 {
        let data = run_facts(id);
        crate::webhooks::enqueue(c, run.project_id, EventType::RunClosed, &data, now)?;
    }
    Ok(run)
}

/// Adds `delta` to the run's counts and `elapsed` to the sum of its
/// results' elapsed times.
pub(crate) fn add_counts(
    c: &Connection,
    run: RunId,
    delta: &Counts,
    elapsed: i64,
) -> StoreResult<()> {
    let mut stmt = c
        .prepare_cached(
            "UPDATE runs SET passed = passed + ?2, failed = failed + ?3, blocked = blocked + ?4,
             retest = retest + ?5, not_tested = not_tested + ?6, elapsed_ms = elapsed_ms + ?7
             WHERE id = ?1",
        )
        .map_err(db_err)?;
    stmt.execute(params![
        run.get(),
        delta.passed,
        delta.failed,
        delta.blocked,
        delta.retest,
        delta.not_tested,
        elapsed
    ])
    .map_err(db_err)?;
    Ok(())
}
