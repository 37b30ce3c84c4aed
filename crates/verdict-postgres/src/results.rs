//! Results and their history: listing without scans, one result, a single
//! execution. Bulk uploads are in [`crate::bulk`].

use deadpool_postgres::{GenericClient, Transaction};
use tokio_postgres::Row;
use verdict_store::*;

use crate::bulk::{add_history, status_code, status_of};
use crate::error::Result;
use crate::pool::{Param, col, execute, page_bounds, query, query_found};
use crate::runs::{add_counts, get_run, lock_open_run};

const COLUMNS: &str =
    "r.id, r.run_id, r.case_id, c.title, r.status, r.note, r.elapsed_ms, r.tested_by, r.tested_at";

fn result_row(r: &Row) -> Result<TestResult> {
    Ok(TestResult {
        id: ResultId::from_db(col(r, 0)?),
        run_id: RunId::from_db(col(r, 1)?),
        case_id: CaseId::from_db(col(r, 2)?),
        case_title: col(r, 3)?,
        status: status_of(col(r, 4)?)?,
        note: col(r, 5)?,
        elapsed_ms: col(r, 6)?,
        tested_by: col::<Option<i64>>(r, 7)?.map(UserId::from_db),
        tested_at: col::<Option<i64>>(r, 8)?.map(Timestamp::from_millis),
    })
}

pub(crate) async fn list_results<C: GenericClient>(
    c: &C,
    run: RunId,
    query_: &ResultQuery,
) -> Result<Listing<TestResult>> {
    let counts = get_run(c, run).await?.counts;
    let mut statuses = query_.statuses.clone();
    statuses.sort_by_key(|s| s.code());
    statuses.dedup();
    if let Some(q) = &query_.q {
        return search_results(c, run, &statuses, q, query_).await;
    }
    let total = if statuses.is_empty() {
        counts.total()
    } else {
        statuses.iter().map(|s| counts.get(*s)).sum()
    };
    let (limit, offset) = page_bounds(query_.page);
    let after = query_.after.map_or(0, |a| a.get());
    // Each status is its own ordered index range (run_id, status, id); a
    // union of their first offset+limit ids, merged by id (Merge Append),
    // serves any filter without sorting the whole run.
    let ids = if statuses.is_empty() {
        "SELECT id FROM results WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3 OFFSET $4"
            .to_string()
    } else {
        let arms: Vec<String> = statuses
            .iter()
            .map(|s| {
                format!(
                    "SELECT id FROM (SELECT id FROM results WHERE run_id = $1 AND status = {}
                      AND id > $2 ORDER BY id LIMIT $3::bigint + $4::bigint) AS s{}",
                    status_code(*s),
                    status_code(*s)
                )
            })
            .collect();
        format!(
            "{} ORDER BY id LIMIT $3 OFFSET $4",
            arms.join(" UNION ALL ")
        )
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM ({ids}) page JOIN results r ON r.id = page.id
         JOIN cases c ON c.id = r.case_id ORDER BY r.id"
    );
    let rows = query(c, &sql, &[&run.get(), &after, &limit, &offset]).await?;
    Ok(Listing {
        items: rows.iter().map(result_row).collect::<Result<_>>()?,
        total,
    })
}

/// A title search: the counters cannot say how many titles match, so this
/// path counts and pages over the run's rows joined with their cases (a scan
/// of one run, which is what a search costs), like SQLite's. strpos() on
/// lower() keeps LIKE's wildcards out of user text.
async fn search_results<C: GenericClient>(
    c: &C,
    run: RunId,
    statuses: &[Status],
    q: &str,
    query_: &ResultQuery,
) -> Result<Listing<TestResult>> {
    let codes: Vec<i16> = statuses.iter().map(|s| status_code(*s)).collect();
    let all = codes.is_empty();
    let filter = "r.run_id = $1 AND ($2 OR r.status = ANY($3))
        AND strpos(lower(c.title), lower($4)) > 0";
    let count_sql =
        format!("SELECT count(*) FROM results r JOIN cases c ON c.id = r.case_id WHERE {filter}");
    let total: i64 = col(
        &query_found(c, &count_sql, &[&run.get(), &all, &codes, &q]).await?,
        0,
    )?;
    let (limit, offset) = page_bounds(query_.page);
    let after = query_.after.map_or(0, |a| a.get());
    let sql = format!(
        "SELECT {COLUMNS} FROM results r JOIN cases c ON c.id = r.case_id
         WHERE {filter} AND r.id > $5 ORDER BY r.id LIMIT $6 OFFSET $7"
    );
    let rows = query(
        c,
        &sql,
        &[&run.get(), &all, &codes, &q, &after, &limit, &offset],
    )
    .await?;
    Ok(Listing {
        items: rows.iter().map(result_row).collect::<Result<_>>()?,
        total,
    })
}

pub(crate) async fn get_result<C: GenericClient>(
    c: &C,
    run: RunId,
    id: ResultId,
) -> Result<TestResult> {
    let sql = format!(
        "SELECT {COLUMNS} FROM results r JOIN cases c ON c.id = r.case_id
         WHERE r.id = $1 AND r.run_id = $2"
    );
    result_row(&query_found(c, &sql, &[&id.get(), &run.get()]).await?)
}

pub(crate) async fn record_result(
    tx: &Transaction<'_>,
    run: RunId,
    id: ResultId,
    execution: &Execution,
    actor: UserId,
    now: Timestamp,
) -> Result<TestResult> {
    lock_open_run(tx, run).await?;
    let sql = format!(
        "SELECT {COLUMNS} FROM results r JOIN cases c ON c.id = r.case_id
         WHERE r.id = $1 AND r.run_id = $2 FOR UPDATE OF r"
    );
    let mut result = result_row(&query_found(tx, &sql, &[&id.get(), &run.get()]).await?)?;
    let mut delta = Counts::default();
    delta.add(result.status, -1);
    delta.add(execution.status, 1);
    let (by, at) = if execution.status == Status::NotTested {
        (None, None)
    } else {
        (Some(actor), Some(now))
    };
    let (result_id, status) = (id.get(), status_code(execution.status));
    let (by_id, at_ms) = (by.map(|u| u.get()), at.map(|t| t.millis()));
    let params: [&Param<'_>; 6] = [
        &result_id,
        &status,
        &execution.note,
        &execution.elapsed_ms,
        &by_id,
        &at_ms,
    ];
    let update = execute(
        tx,
        "UPDATE results SET status = $2, note = $3, elapsed_ms = $4, tested_by = $5, tested_at = $6
         WHERE id = $1",
        &params,
    );
    let executions = [(result_id, execution)];
    let history = add_history(tx, &executions, actor, now);
    // Pipelined: three statements, one round trip.
    tokio::try_join!(update, history, add_counts(tx, run, &delta))?;
    result.status = execution.status;
    result.note = execution.note.clone();
    result.elapsed_ms = execution.elapsed_ms;
    result.tested_by = by;
    result.tested_at = at;
    Ok(result)
}

pub(crate) async fn result_history<C: GenericClient>(
    c: &C,
    run: RunId,
    id: ResultId,
    page: Page,
) -> Result<Listing<HistoryEntry>> {
    get_result(c, run, id).await?;
    let (limit, offset) = page_bounds(page);
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
            "SELECT status, note, elapsed_ms, tested_by, tested_at FROM history
             WHERE result_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3",
            &params,
        ),
    )?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(HistoryEntry {
                result_id: id,
                status: status_of(col(r, 0)?)?,
                note: col(r, 1)?,
                elapsed_ms: col(r, 2)?,
                tested_by: UserId::from_db(col(r, 3)?),
                tested_at: Timestamp::from_millis(col(r, 4)?),
            })
        })
        .collect::<Result<_>>()?;
    Ok(Listing {
        items,
        total: col(&total, 0)?,
    })
}
