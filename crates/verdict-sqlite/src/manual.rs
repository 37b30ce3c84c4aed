//! Manual testing: assigning a run's results, a tester's work across open
//! runs, and a run's export. Step results and defects are written with
//! every execution (see [`crate::results::Executions`]).

use std::collections::HashSet;

use rusqlite::{Connection, params};
use verdict_store::backend::manual::check_result_ids;
use verdict_store::*;

use crate::cases::in_section_sql;
use crate::db_err;
use crate::results::{COLUMNS, result_row};
use crate::runs::{get_run, open_run};

pub(crate) fn assign_results(
    c: &Connection,
    run: RunId,
    target: &AssignTarget,
    user: Option<UserId>,
) -> StoreResult<u64> {
    let run = open_run(c, run)?;
    let user = user.map(UserId::get);
    let n = match target {
        AssignTarget::Results(ids) => {
            let mut exists = c
                .prepare_cached("SELECT 1 FROM results WHERE id = ?1 AND run_id = ?2")
                .map_err(db_err)?;
            let mut missing = HashSet::new();
            for id in ids {
                if !exists.exists([id.get(), run.id.get()]).map_err(db_err)? {
                    missing.insert(*id);
                }
            }
            check_result_ids(ids, |id| !missing.contains(&id))?;
            let mut set = c
                .prepare_cached("UPDATE results SET assigned_to = ?2 WHERE id = ?1")
                .map_err(db_err)?;
            let distinct: HashSet<ResultId> = ids.iter().copied().collect();
            let mut n = 0;
            for id in distinct {
                n += set.execute(params![id.get(), user]).map_err(db_err)?;
            }
            n
        }
        AssignTarget::Suite(section) => c
            .prepare_cached(&format!(
                "UPDATE results SET assigned_to = ?3 WHERE run_id = ?1 AND case_id IN (
                     SELECT id FROM cases WHERE project_id = ?4 AND {})",
                in_section_sql("?2")
            ))
            .and_then(|mut stmt| {
                stmt.execute(params![run.id.get(), section, user, run.project_id.get()])
            })
            .map_err(db_err)?,
        AssignTarget::Unassigned => c
            .prepare_cached(
                "UPDATE results SET assigned_to = ?2 WHERE run_id = ?1 AND assigned_to IS NULL",
            )
            .and_then(|mut stmt| stmt.execute(params![run.id.get(), user]))
            .map_err(db_err)?,
    };
    Ok(n as u64)
}

/// Results assigned to the user, in open runs of the projects they are a
/// member of (results_assigned finds them).
const WORK: &str = "FROM results r
     JOIN runs ru ON ru.id = r.run_id AND ru.closed_at IS NULL
     JOIN members m ON m.project_id = ru.project_id AND m.user_id = ?1
     JOIN projects p ON p.id = ru.project_id
     JOIN cases c ON c.id = r.case_id
     WHERE r.assigned_to = ?1";

pub(crate) fn my_work(c: &Connection, user: UserId, page: Page) -> StoreResult<Listing<WorkItem>> {
    let (limit, offset) = page.bounds();
    let total = c
        .prepare_cached(&format!("SELECT count(*) {WORK}"))
        .and_then(|mut stmt| stmt.query_row([user.get()], |r| r.get(0)))
        .map_err(db_err)?;
    let not_tested = Status::NotTested.code();
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, ru.name, p.id, p.name {WORK}
             ORDER BY r.status <> {not_tested}, r.run_id, r.id LIMIT ?2 OFFSET ?3"
        ))
        .map_err(db_err)?;
    let items = stmt
        .query_map([user.get(), limit, offset], |r| {
            Ok(WorkItem {
                result: result_row(r)?,
                run_name: r.get(12)?,
                project_id: ProjectId::from_db(r.get(13)?),
                project_name: r.get(14)?,
            })
        })
        .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
        .map_err(db_err)?;
    Ok(Listing { items, total })
}

pub(crate) fn export_rows(c: &Connection, run: RunId) -> StoreResult<Vec<ExportRow>> {
    get_run(c, run)?;
    let mut stmt = c
        .prepare_cached(&format!(
            "SELECT {COLUMNS}, c.key, c.suite FROM results r JOIN cases c ON c.id = r.case_id
             WHERE r.run_id = ?1 ORDER BY r.id"
        ))
        .map_err(db_err)?;
    stmt.query_map([run.get()], |r| {
        Ok(ExportRow {
            result: result_row(r)?,
            case_key: r.get(12)?,
            suite: r.get(13)?,
        })
    })
    .and_then(|rows| rows.collect())
    .map_err(db_err)
}
