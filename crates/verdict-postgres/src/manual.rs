//! Manual testing: assigning a run's results, a tester's work across open
//! runs, and a run's export. Step results and defects are written with
//! every execution (see [`crate::results`] and [`crate::bulk`]).

use deadpool_postgres::{GenericClient, Transaction};
use verdict_store::backend::manual::{check_result_ids, nested_pattern};
use verdict_store::*;

use crate::cases::in_section_sql;
use crate::error::Result;
use crate::pool::{Param, col, execute, query, query_found};
use crate::results::{COLUMNS, result_row};
use crate::runs::{get_run, lock_open_run};

/// Assigns results of an open run. The run row is locked first, as every
/// writer of its results does, then the named results in id order.
pub(crate) async fn assign_results(
    tx: &Transaction<'_>,
    run: RunId,
    target: &AssignTarget,
    user: Option<UserId>,
) -> Result<u64> {
    let run = lock_open_run(tx, run).await?;
    let user = user.map(UserId::get);
    match target {
        AssignTarget::Results(ids) => {
            let mut sorted: Vec<i64> = ids.iter().map(|id| id.get()).collect();
            sorted.sort_unstable();
            sorted.dedup();
            // One probe per id (see `bulk::locate` for why not `= ANY`).
            let rows = query(
                tx,
                "SELECT r.id FROM unnest($2::bigint[]) AS k(id)
                 CROSS JOIN LATERAL (SELECT id FROM results
                     WHERE id = k.id AND run_id = $1 OFFSET 0 FOR UPDATE) AS r",
                &[&run.id.get(), &sorted],
            )
            .await?;
            let found: std::collections::HashSet<i64> =
                rows.iter().map(|r| col(r, 0)).collect::<Result<_>>()?;
            check_result_ids(ids, |id| found.contains(&id.get()))?;
            execute(
                tx,
                "UPDATE results r SET assigned_to = $2
                 FROM unnest($1::bigint[]) AS u(id) WHERE r.id = u.id",
                &[&sorted, &user],
            )
            .await
        }
        AssignTarget::Suite(section) => {
            let sql = format!(
                "UPDATE results SET assigned_to = $2 WHERE run_id = $1 AND case_id IN (
                     SELECT id FROM cases WHERE project_id = $3 AND {})",
                in_section_sql("$4", "$5")
            );
            let pattern = nested_pattern(section);
            execute(
                tx,
                &sql,
                &[
                    &run.id.get(),
                    &user,
                    &run.project_id.get(),
                    section,
                    &pattern,
                ],
            )
            .await
        }
        AssignTarget::Unassigned => {
            execute(
                tx,
                "UPDATE results SET assigned_to = $2 WHERE run_id = $1 AND assigned_to IS NULL",
                &[&run.id.get(), &user],
            )
            .await
        }
    }
}

/// Results assigned to the user, in open runs of the projects they are a
/// member of (results_assigned finds them).
const WORK: &str = "FROM results r
     JOIN runs ru ON ru.id = r.run_id AND ru.closed_at IS NULL
     JOIN members m ON m.project_id = ru.project_id AND m.user_id = $1
     JOIN projects p ON p.id = ru.project_id
     JOIN cases c ON c.id = r.case_id
     WHERE r.assigned_to = $1";

pub(crate) async fn my_work<C: GenericClient>(
    c: &C,
    user: UserId,
    page: Page,
) -> Result<Listing<WorkItem>> {
    let (limit, offset) = page.bounds();
    let user = user.get();
    let not_tested = Status::NotTested.code();
    let count = format!("SELECT count(*) {WORK}");
    let list = format!(
        "SELECT {COLUMNS}, ru.name, p.id, p.name {WORK}
         ORDER BY r.status <> {not_tested}, r.run_id, r.id LIMIT $2 OFFSET $3"
    );
    let params: [&Param<'_>; 3] = [&user, &limit, &offset];
    let (total, rows) = tokio::try_join!(
        query_found(c, &count, &params[..1]),
        query(c, &list, &params),
    )?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(WorkItem {
                result: result_row(r)?,
                run_name: col(r, 12)?,
                project_id: ProjectId::from_db(col(r, 13)?),
                project_name: col(r, 14)?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Listing {
        items,
        total: col(&total, 0)?,
    })
}

pub(crate) async fn export_rows<C: GenericClient>(c: &C, run: RunId) -> Result<Vec<ExportRow>> {
    get_run(c, run).await?;
    let sql = format!(
        "SELECT {COLUMNS}, c.key, c.suite FROM results r JOIN cases c ON c.id = r.case_id
         WHERE r.run_id = $1 ORDER BY r.id"
    );
    query(c, &sql, &[&run.get()])
        .await?
        .iter()
        .map(|r| {
            Ok(ExportRow {
                result: result_row(r)?,
                case_key: col(r, 12)?,
                suite: col(r, 13)?,
            })
        })
        .collect()
}
